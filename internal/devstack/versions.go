package devstack

// Versions of the production-shaped Temporal deployment in
// docker-compose.temporal.yml (TestComposeFile checks the images against
// them): the multi-service server and its admin tools, the version the
// PostgreSQL-backed tests build and run (the Makefile's
// TEMPORAL_SERVER_VERSION), and the Web UI.
const (
	TemporalServerVersion = "1.32.1"
	TemporalUIVersion     = "2.55.0"
)
