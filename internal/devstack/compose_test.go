package devstack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposeFileValidates runs `docker compose config` on the compose
// file, which checks its syntax, references and interpolation without
// pulling or building anything. It skips without the docker CLI and its
// compose plugin.
func TestComposeFileValidates(t *testing.T) {
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		t.Skip("docker compose not available: ", err)
	}
	file := filepath.Join("..", "..", "docker-compose.temporal.yml")
	cmd := exec.Command("docker", "compose", "-f", file, "config", "--quiet")
	// Validate as a fresh shell would see it, with nothing set.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
	out, err := exec.Command("docker", "compose", "-f", file, "config", "--services").Output()
	if err != nil {
		t.Fatal(err)
	}
	services := strings.Fields(string(out))
	for _, want := range []string{"postgresql", "temporal", "temporal-ui", "temporal-admin-tools", "riptide-search-attributes", "riptide-worker", "riptide-api"} {
		if !contains(services, want) {
			t.Errorf("service %s missing from %v", want, services)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
