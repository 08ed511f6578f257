// Package deploy holds the tests of riptide's deployment files
// (Dockerfile, docker-compose.temporal.yml); it has no code.
package deploy
