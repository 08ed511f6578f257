package devstack

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.yaml.in/yaml/v3"

	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/workflows"
)

// What TestComposeFile exercises: the compose file as `docker compose`
// would render it (interpolation, anchors), the files it mounts, the
// scripts' shell syntax and the riptide health-check commands, run by bash
// against test HTTP servers. What it cannot: no container engine runs here,
// so no image is pulled or built and no container starts; the Temporal
// images' behaviour is taken from the server's source at the pinned
// version (its embedded config template, when the module cache has it).

const composeFile = "../../docker-compose.temporal.yml"

// composeModel is the part of the compose specification the file uses.
type composeModel struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string                       `yaml:"image"`
	Build       any                          `yaml:"build"`
	Command     []string                     `yaml:"command"`
	Entrypoint  []string                     `yaml:"entrypoint"`
	Environment map[string]string            `yaml:"environment"`
	DependsOn   map[string]composeDependency `yaml:"depends_on"`
	Healthcheck *composeHealthcheck          `yaml:"healthcheck"`
	Restart     string                       `yaml:"restart"`
	Volumes     []string                     `yaml:"volumes"`
	Ports       []string                     `yaml:"ports"`
	StopGrace   string                       `yaml:"stop_grace_period"`
}

type composeDependency struct {
	Condition string `yaml:"condition"`
}

type composeHealthcheck struct {
	Test     []string `yaml:"test"`
	Interval string   `yaml:"interval"`
	Timeout  string   `yaml:"timeout"`
	Retries  int      `yaml:"retries"`
	Start    string   `yaml:"start_period"`
}

// interpolation matches what compose substitutes: $$, ${NAME} and
// ${NAME<op>word} with op one of :- - :? ?.
var interpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate renders s as compose does with the variables env.
func interpolate(s string, env map[string]string) (string, error) {
	var firstErr error
	out := interpolation.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		g := interpolation.FindStringSubmatch(m)
		name, op, word := g[1], g[2], g[3]
		v, set := env[name]
		switch op {
		case "":
			return v
		case ":-":
			if v == "" {
				return word
			}
		case "-":
			if !set {
				return word
			}
		case ":?", "?":
			if (op == ":?" && v == "") || !set {
				if firstErr == nil {
					firstErr = fmt.Errorf("required variable %s is missing: %s", name, word)
				}
			}
		}
		return v
	})
	return out, firstErr
}

func TestInterpolate(t *testing.T) {
	env := map[string]string{"SET": "x", "EMPTY": ""}
	for in, want := range map[string]string{
		"${SET}":             "x",
		"${UNSET}":           "",
		"${UNSET:-d}":        "d",
		"${EMPTY:-d}":        "d",
		"${EMPTY-d}":         "",
		"${UNSET-d}":         "d",
		"${SET:-d}":          "x",
		"a $$HOME ${SET} b":  "a $HOME x b",
		"${SET:?must}":       "x",
		"image:${SET:-1.2}":  "image:x",
		"plain $ sign stays": "plain $ sign stays",
	} {
		got, err := interpolate(in, env)
		if err != nil || got != want {
			t.Errorf("interpolate(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := interpolate("${EMPTY:?set it}", env); err == nil {
		t.Error("${EMPTY:?…} rendered without an error")
	}
}

// loadCompose renders the compose file with env, as a shell with exactly
// those variables would, and parses it.
func loadCompose(t *testing.T, env map[string]string) composeModel {
	t.Helper()
	raw, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := interpolate(string(raw), env)
	if err != nil {
		t.Fatal(err)
	}
	var m composeModel
	dec := yaml.NewDecoder(strings.NewReader(rendered))
	dec.KnownFields(true) // a key this model does not know is a typo or needs a check
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("parsing the rendered compose file: %v", err)
	}
	return m
}

func service(t *testing.T, m composeModel, name string) composeService {
	t.Helper()
	s, ok := m.Services[name]
	if !ok {
		t.Fatalf("service %s missing", name)
	}
	return s
}

// imageTag splits "repo:tag".
func imageTag(image string) (repo, tag string) {
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return image, ""
	}
	return image[:i], image[i+1:]
}

// oneShot says whether a service is a job that runs to completion (a
// setup script) rather than a long-running process.
func oneShot(s composeService) bool { return strings.HasPrefix(s.Restart, "on-failure") }

func TestComposeFile(t *testing.T) {
	m := loadCompose(t, map[string]string{})
	wantServices := []string{"postgresql", "temporal-schema", "temporal", "temporal-admin-tools",
		"riptide-setup", "temporal-ui", "riptide-worker", "riptide-api"}
	for _, name := range wantServices {
		service(t, m, name)
	}
	if len(m.Services) != len(wantServices) {
		t.Errorf("services %v, want exactly %v (a new one needs its checks here)", keysOf(m.Services), wantServices)
	}

	t.Run("images are pinned and current", func(t *testing.T) {
		for name, s := range m.Services {
			repo, tag := imageTag(s.Image)
			switch {
			case strings.Contains(s.Image, "auto-setup"):
				t.Errorf("%s: %s is the deprecated auto-setup image", name, s.Image)
			case s.Build != nil:
				if repo != "riptide" || tag == "" {
					t.Errorf("%s: built image %q, want riptide:<version>", name, s.Image)
				}
			case !regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`).MatchString(tag):
				t.Errorf("%s: image %q is not pinned to a release (major.minor[.patch])", name, s.Image)
			}
		}
		for name, want := range map[string]string{
			"temporal":             "temporalio/server:" + TemporalServerVersion,
			"temporal-schema":      "temporalio/admin-tools:" + TemporalServerVersion,
			"temporal-admin-tools": "temporalio/admin-tools:" + TemporalServerVersion,
			"riptide-setup":        "temporalio/admin-tools:" + TemporalServerVersion,
			"temporal-ui":          "temporalio/ui:" + TemporalUIVersion,
		} {
			if got := m.Services[name].Image; got != want {
				t.Errorf("%s: image %s, want %s", name, got, want)
			}
		}
		// PostgreSQL 15 or 16, pinned to a minor release (the tests run
		// Debian's 15).
		if !regexp.MustCompile(`^postgres:1[56]\.\d+$`).MatchString(m.Services["postgresql"].Image) {
			t.Errorf("postgresql: image %s, want postgres:15.N or postgres:16.N", m.Services["postgresql"].Image)
		}
	})

	t.Run("server version is the tests' server version", func(t *testing.T) {
		// The Makefile's TEMPORAL_SERVER_VERSION is what make test builds
		// and runs on PostgreSQL (scripts/install-tools.sh).
		mk, err := os.ReadFile("../../Makefile")
		if err != nil {
			t.Fatal(err)
		}
		g := regexp.MustCompile(`(?m)^TEMPORAL_SERVER_VERSION\s*:?=\s*(\S+)`).FindSubmatch(mk)
		if g == nil {
			t.Skip("the Makefile sets no TEMPORAL_SERVER_VERSION (the PostgreSQL-backed tests are not merged)")
		}
		if got := strings.TrimPrefix(string(g[1]), "v"); got != TemporalServerVersion {
			t.Errorf("Makefile runs the tests on Temporal %s, the compose file deploys %s", got, TemporalServerVersion)
		}
	})

	t.Run("health checks and dependency conditions", func(t *testing.T) {
		for name, s := range m.Services {
			if oneShot(s) {
				if s.Healthcheck != nil {
					t.Errorf("%s: a one-shot job has a health check", name)
				}
				if len(s.Entrypoint) == 0 {
					t.Errorf("%s: a one-shot job without an entrypoint script", name)
				}
			} else {
				if s.Restart != "unless-stopped" {
					t.Errorf("%s: restart %q, want unless-stopped", name, s.Restart)
				}
				if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 || s.Healthcheck.Test[0] != "CMD" {
					t.Errorf("%s: no health check (want test: [CMD, …])", name)
				}
			}
			for dep, d := range s.DependsOn {
				ds, ok := m.Services[dep]
				switch {
				case !ok:
					t.Errorf("%s depends on unknown service %s", name, dep)
				case oneShot(ds) && d.Condition != "service_completed_successfully":
					t.Errorf("%s: depends on job %s with %q, want service_completed_successfully", name, dep, d.Condition)
				case !oneShot(ds) && d.Condition != "service_healthy":
					t.Errorf("%s: depends on %s with %q, want service_healthy", name, dep, d.Condition)
				}
			}
		}
		// The order that makes it work: schema before server, namespace
		// and search attributes before riptide.
		for name, deps := range map[string][]string{
			"temporal-schema": {"postgresql"},
			"temporal":        {"postgresql", "temporal-schema"},
			"riptide-setup":   {"temporal"},
			"temporal-ui":     {"temporal"},
			"riptide-worker":  {"temporal", "riptide-setup"},
			"riptide-api":     {"temporal", "riptide-setup"},
		} {
			for _, dep := range deps {
				if _, ok := m.Services[name].DependsOn[dep]; !ok {
					t.Errorf("%s does not depend on %s", name, dep)
				}
			}
		}
	})

	t.Run("setup jobs run the scripts in deploy/temporal", func(t *testing.T) {
		for _, name := range []string{"temporal-schema", "riptide-setup"} {
			s := m.Services[name]
			host := mountSource(t, s, "/etc/riptide-deploy")
			if host != "./deploy/temporal" {
				t.Fatalf("%s mounts %q at /etc/riptide-deploy, want ./deploy/temporal", name, host)
			}
			if len(s.Entrypoint) != 2 || s.Entrypoint[0] != "/bin/sh" {
				t.Fatalf("%s: entrypoint %v, want [/bin/sh <script>]", name, s.Entrypoint)
			}
			script := filepath.Join("../..", host, strings.TrimPrefix(s.Entrypoint[1], "/etc/riptide-deploy/"))
			// The admin-tools image is Alpine: POSIX sh, no bash.
			if out, err := exec.Command("sh", "-n", script).CombinedOutput(); err != nil {
				t.Errorf("%s: sh -n %s: %v\n%s", name, script, err, out)
			}
		}
		schema, err := os.ReadFile("../../deploy/temporal/setup-schema.sh")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"postgresql/v12/temporal", "postgresql/v12/visibility", "setup-schema -v 0.0", "update-schema --schema-name", "create-database"} {
			if !strings.Contains(string(schema), want) {
				t.Errorf("setup-schema.sh lacks %q", want)
			}
		}
		if regexp.MustCompile(`temporal-sql-tool[^\n]*\s-q\b`).Match(schema) {
			t.Error("setup-schema.sh passes -q to temporal-sql-tool, which makes it exit 0 on errors")
		}
		env := m.Services["temporal-schema"].Environment
		server := m.Services["temporal"].Environment
		if env["SQL_PLUGIN"] != server["DB"] || env["SQL_HOST"] != server["POSTGRES_SEEDS"] ||
			env["SQL_PORT"] != server["DB_PORT"] || env["SQL_USER"] != server["POSTGRES_USER"] ||
			env["SQL_PASSWORD"] != server["POSTGRES_PWD"] || env["DBNAME"] != server["DBNAME"] ||
			env["VISIBILITY_DBNAME"] != server["VISIBILITY_DBNAME"] {
			t.Errorf("the schema job's database settings %v differ from the server's %v", env, server)
		}
	})

	t.Run("search attributes are the ones riptide registers", func(t *testing.T) {
		got := strings.Fields(m.Services["riptide-setup"].Environment["SEARCH_ATTRIBUTES"])
		want := slices.Clone(workflows.SearchAttributes)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("riptide-setup creates %v, riptide needs %v (workflows.SearchAttributes)", got, want)
		}
		script, err := os.ReadFile("../../deploy/temporal/setup-riptide.sh")
		if err != nil {
			t.Fatal(err)
		}
		// riptide's attributes are all Keyword (workflows: NewSearchAttributeKeyKeyword).
		if !strings.Contains(string(script), "--type Keyword") {
			t.Error("setup-riptide.sh does not create the attributes as Keyword")
		}
	})

	t.Run("server configuration", func(t *testing.T) {
		s := m.Services["temporal"]
		env := s.Environment
		// postgres12 for both stores: SQL visibility, where custom
		// Keyword search attributes work.
		if env["DB"] != "postgres12" || env["POSTGRES_SEEDS"] != "postgresql" {
			t.Errorf("DB=%q POSTGRES_SEEDS=%q, want postgres12 on the postgresql service", env["DB"], env["POSTGRES_SEEDS"])
		}
		for k, v := range env {
			if strings.HasSuffix(k, "_MEMBERSHIP_PORT") {
				if p, err := strconv.Atoi(v); err != nil || p > 32767 {
					t.Errorf("%s=%s: membership ports must be at most 32767 (SMALLINT column)", k, v)
				}
			}
		}
		if env["DYNAMIC_CONFIG_FILE_PATH"] == "" ||
			mountSource(t, s, env["DYNAMIC_CONFIG_FILE_PATH"]) != "./deploy/temporal/dynamicconfig.yaml" {
			t.Errorf("DYNAMIC_CONFIG_FILE_PATH=%q is not where ./deploy/temporal/dynamicconfig.yaml is mounted", env["DYNAMIC_CONFIG_FILE_PATH"])
		}
		if env["BIND_ON_IP"] != "0.0.0.0" {
			t.Errorf("BIND_ON_IP=%q: the other containers and the health check need the frontend on every interface", env["BIND_ON_IP"])
		}
		if !slices.Contains(s.Ports, "127.0.0.1:7233:7233") {
			t.Errorf("frontend published as %v, want 127.0.0.1:7233:7233", s.Ports)
		}
		// Every variable set is one the image reads: its embedded config
		// template (temporal-server start without flags uses it) or the
		// server's own flags.
		tmpl := moduleFile(t, "go.temporal.io/server@v"+TemporalServerVersion, "common/config/config_template_embedded.yaml")
		if tmpl == nil {
			t.Skipf("go.temporal.io/server@v%s is not in the module cache: the variables are not checked against its template", TemporalServerVersion)
		}
		for k := range env {
			if k == "TEMPORAL_ALLOW_NO_AUTH" { // cmd/server's --allow-no-auth
				continue
			}
			if !bytes.Contains(tmpl, []byte(`env "`+k+`"`)) {
				t.Errorf("temporal: %s is not read by the v%s server's config template", k, TemporalServerVersion)
			}
		}
		sqlTool := moduleFile(t, "go.temporal.io/server@v"+TemporalServerVersion, "tools/sql/main.go")
		for k := range m.Services["temporal-schema"].Environment {
			if strings.HasPrefix(k, "SQL_") && !bytes.Contains(sqlTool, []byte(`EnvVar: "`+k+`"`)) {
				t.Errorf("temporal-schema: temporal-sql-tool v%s reads no %s", TemporalServerVersion, k)
			}
		}
	})

	t.Run("dynamic config", func(t *testing.T) {
		dyn := readDynamicConfig(t, "../../deploy/temporal/dynamicconfig.yaml")
		// What riptide relies on (README: An existing Temporal cluster).
		for k, want := range map[string]string{
			"frontend.enableUpdateWorkflowExecution": "true", // the batch's listed update, update-with-start
			"frontend.namespaceRPS.visibility":       "100",  // GET /jobs, the dashboard
		} {
			if got := dyn[k]; got != want {
				t.Errorf("dynamic config %s = %q, want %q", k, got, want)
			}
		}
		// The server ignores a key it does not know: each must be one of
		// the pinned version's settings.
		if consts := moduleFile(t, "go.temporal.io/server@v"+TemporalServerVersion, "common/dynamicconfig/constants.go"); consts != nil {
			for k := range dyn {
				if !bytes.Contains(consts, []byte(strconv.Quote(k))) {
					t.Errorf("dynamic config %s is not a setting of Temporal v%s", k, TemporalServerVersion)
				}
			}
		} else {
			t.Logf("go.temporal.io/server@v%s is not in the module cache: the key names are not checked", TemporalServerVersion)
		}
		// The same keys and values as the PostgreSQL-backed tests' server
		// (internal/pgtemporal), but for the ones that only suit a test
		// machine.
		testOnly := map[string]string{
			"system.forceSearchAttributesCacheRefreshOnRead": "Temporal: development only; setup-riptide.sh waits until the attributes are listed",
			"frontend.persistenceMaxQPS":                     "raised to the dev server's for test throughput; production keeps Temporal's default",
			"history.persistenceMaxQPS":                      "likewise",
			"history.hostLevelCacheMaxSize":                  "lowered to spare a test machine's memory; production keeps the default",
		}
		tests, ok := pgtemporalDynamicConfig(t)
		if !ok {
			t.Skip("internal/pgtemporal is not merged: the dynamic config is not compared with the PostgreSQL tests'")
		}
		for k, v := range tests {
			if _, skip := testOnly[k]; skip {
				continue
			}
			if got, ok := dyn[k]; !ok || got != v {
				t.Errorf("the PostgreSQL tests set %s = %s, the compose file %q", k, v, got)
			}
		}
		for k := range dyn {
			if _, ok := tests[k]; !ok {
				t.Errorf("the compose file sets %s, which the PostgreSQL tests do not run with", k)
			}
		}
	})

	t.Run("riptide settings", func(t *testing.T) {
		worker, api := m.Services["riptide-worker"], m.Services["riptide-api"]
		if !maps.Equal(worker.Environment, api.Environment) {
			t.Errorf("worker and API settings differ:\nworker %v\napi    %v", worker.Environment, api.Environment)
		}
		if !slices.Equal(worker.Command, []string{"riptide-worker"}) || !slices.Equal(api.Command, []string{"riptide-api"}) {
			t.Errorf("commands %v and %v", worker.Command, api.Command)
		}
		read := settingNames(t)
		env := worker.Environment
		for k := range env {
			if !slices.Contains(read, k) {
				t.Errorf("%s is not a riptide setting", k)
			}
		}
		// A container reaches Temporal by its service name, not the
		// default loopback; the namespace is the one riptide-setup made.
		if env["RIPTIDE_TEMPORAL_ADDRESS"] != "temporal:7233" {
			t.Errorf("RIPTIDE_TEMPORAL_ADDRESS=%q, want temporal:7233", env["RIPTIDE_TEMPORAL_ADDRESS"])
		}
		ns := env["RIPTIDE_TEMPORAL_NAMESPACE"]
		if ns == "" || ns != m.Services["riptide-setup"].Environment["NAMESPACE"] ||
			ns != m.Services["temporal-admin-tools"].Environment["TEMPORAL_NAMESPACE"] {
			t.Errorf("namespace %q for riptide, %q made by riptide-setup", ns, m.Services["riptide-setup"].Environment["NAMESPACE"])
		}
		if ui := env["RIPTIDE_TEMPORAL_UI_URL"]; !slices.Contains(m.Services["temporal-ui"].Ports, strings.TrimPrefix(ui, "http://")+":8080") {
			t.Errorf("RIPTIDE_TEMPORAL_UI_URL=%s is not where the UI is published (%v)", ui, m.Services["temporal-ui"].Ports)
		}
		// Settings that must come from the operator's environment.
		set := loadCompose(t, map[string]string{
			"RIPTIDE_API_KEYS": "sk_a,sk_b", "RIPTIDE_S3_BUCKET": "media", "RIPTIDE_S3_REGION": "eu-west-1",
			"RIPTIDE_S3_ENDPOINT": "https://s3.example", "RIPTIDE_S3_ACCESS_KEY_ID": "id",
			"RIPTIDE_S3_SECRET_ACCESS_KEY": "secret", "RIPTIDE_S3_PATH_STYLE": "true", "RIPTIDE_TEMPORAL_NAMESPACE": "media",
			"RIPTIDE_METRICS_TOKEN": "tok",
		})
		for k, want := range map[string]string{
			"RIPTIDE_API_KEYS": "sk_a,sk_b", "RIPTIDE_S3_BUCKET": "media", "RIPTIDE_S3_REGION": "eu-west-1",
			"RIPTIDE_S3_ENDPOINT": "https://s3.example", "RIPTIDE_S3_ACCESS_KEY_ID": "id",
			"RIPTIDE_S3_SECRET_ACCESS_KEY": "secret", "RIPTIDE_S3_PATH_STYLE": "true", "RIPTIDE_TEMPORAL_NAMESPACE": "media",
			"RIPTIDE_METRICS_TOKEN": "tok",
		} {
			for _, name := range []string{"riptide-worker", "riptide-api"} {
				if got := set.Services[name].Environment[k]; got != want {
					t.Errorf("%s: %s=%q from the environment's %q", name, k, got, want)
				}
			}
		}
		if got := set.Services["riptide-setup"].Environment["NAMESPACE"]; got != "media" {
			t.Errorf("riptide-setup makes namespace %q for RIPTIDE_TEMPORAL_NAMESPACE=media", got)
		}
		// The ports published and probed are the image's listeners.
		image := dockerfileEnv(t)
		for _, c := range []struct {
			svc, setting, port string
		}{
			{"riptide-api", "RIPTIDE_API_ADDR", "8080"},
			{"riptide-api", "RIPTIDE_API_METRICS_ADDR", "9465"},
			{"riptide-worker", "RIPTIDE_WORKER_METRICS_ADDR", "9464"},
		} {
			if image[c.setting] != "0.0.0.0:"+c.port {
				t.Errorf("Dockerfile sets %s=%s, compose expects port %s", c.setting, image[c.setting], c.port)
			}
			if !slices.Contains(m.Services[c.svc].Ports, "127.0.0.1:"+c.port+":"+c.port) {
				t.Errorf("%s does not publish %s on the host's loopback", c.svc, c.port)
			}
		}
		if !strings.Contains(strings.Join(worker.Healthcheck.Test, " "), "/dev/tcp/127.0.0.1/9464") ||
			!strings.Contains(strings.Join(api.Healthcheck.Test, " "), "/dev/tcp/127.0.0.1/8080") {
			t.Error("the health checks do not probe the ports the image listens on")
		}
		if len(worker.Volumes) != 1 || !strings.HasSuffix(worker.Volumes[0], ":"+image["RIPTIDE_DATA_DIR"]) {
			t.Errorf("worker volumes %v, want one volume at the image's RIPTIDE_DATA_DIR %s", worker.Volumes, image["RIPTIDE_DATA_DIR"])
		}
	})
}

// TestComposeRiptideHealthChecks runs the worker's and the API's health
// check commands, as compose renders them, with bash against HTTP servers
// that answer as the real listeners do.
func TestComposeRiptideHealthChecks(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash: ", err)
	}
	m := loadCompose(t, map[string]string{})
	for _, c := range []struct {
		svc, port, path, token string
	}{
		{"riptide-api", "8080", "/healthz", ""},
		{"riptide-worker", "9464", "/metrics", ""},
		{"riptide-worker", "9464", "/metrics", "s3cret"},
	} {
		var status atomic.Int32 // the handler runs on the server's goroutines
		status.Store(http.StatusOK)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != c.path {
				http.NotFound(w, r)
				return
			}
			if c.token != "" && r.Header.Get("Authorization") != "Bearer "+c.token {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(int(status.Load()))
		}))
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		test := m.Services[c.svc].Healthcheck.Test
		if len(test) != 4 || test[1] != "bash" || test[2] != "-c" {
			t.Fatalf("%s: health check %v, want [CMD bash -c <script>]", c.svc, test)
		}
		script := strings.ReplaceAll(test[3], "/dev/tcp/127.0.0.1/"+c.port, "/dev/tcp/127.0.0.1/"+port)
		run := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", script)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "RIPTIDE_METRICS_TOKEN=" + c.token}
			return cmd.Run()
		}
		if err := run(); err != nil {
			t.Errorf("%s (token %q): health check fails against a healthy listener: %v", c.svc, c.token, err)
		}
		status.Store(http.StatusServiceUnavailable)
		if err := run(); err == nil {
			t.Errorf("%s: health check passes on a 503", c.svc)
		}
		srv.Close()
		if err := run(); err == nil {
			t.Errorf("%s: health check passes with nothing listening", c.svc)
		}
	}
}

// TestComposeFileValidates runs `docker compose config` on the compose
// file, which checks its syntax, references and interpolation without
// pulling or building anything. It skips without the docker CLI and its
// compose plugin.
func TestComposeFileValidates(t *testing.T) {
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		t.Skip("docker compose not available: ", err)
	}
	cmd := exec.Command("docker", "compose", "-f", composeFile, "config", "--quiet")
	// Validate as a fresh shell would see it, with nothing set.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
	out, err := exec.Command("docker", "compose", "-f", composeFile, "config", "--services").Output()
	if err != nil {
		t.Fatal(err)
	}
	services := strings.Fields(string(out))
	m := loadCompose(t, map[string]string{})
	if got, want := slices.Sorted(slices.Values(services)), keysOf(m.Services); !slices.Equal(got, want) {
		t.Errorf("docker compose lists %v, this test's parse %v", got, want)
	}
}

// mountSource is the host side of the service's volume mounted at target.
func mountSource(t *testing.T, s composeService, target string) string {
	t.Helper()
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return parts[0]
		}
	}
	return ""
}

// readDynamicConfig maps each key of a Temporal dynamic config file to its
// one unconstrained value, as text.
func readDynamicConfig(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string][]struct {
		Value       any            `yaml:"value"`
		Constraints map[string]any `yaml:"constraints"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for k, vs := range doc {
		if len(vs) != 1 || len(vs[0].Constraints) != 0 {
			t.Errorf("%s: %s should have one value without constraints", path, k)
			continue
		}
		out[k] = fmt.Sprint(vs[0].Value)
	}
	return out
}

// pgtemporalDynamicConfig reads the keys and literal values of
// internal/pgtemporal's DefaultDynamicConfig from its source: the dynamic
// config the PostgreSQL-backed tests run the server with. It reports false
// when that package does not exist.
func pgtemporalDynamicConfig(t *testing.T) (map[string]string, bool) {
	t.Helper()
	files, _ := filepath.Glob("../pgtemporal/*.go")
	if len(files) == 0 {
		return nil, false
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var lit *ast.CompositeLit
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || lit != nil {
				return lit == nil
			}
			for i, name := range vs.Names {
				if name.Name == "DefaultDynamicConfig" && i < len(vs.Values) {
					lit, _ = vs.Values[i].(*ast.CompositeLit)
				}
			}
			return false
		})
		if lit == nil {
			continue
		}
		out := map[string]string{}
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				t.Fatalf("%s: DefaultDynamicConfig: unexpected element", f)
			}
			k, err1 := strconv.Unquote(exprText(kv.Key))
			if err1 != nil {
				t.Fatalf("%s: DefaultDynamicConfig key %s is not a string literal", f, exprText(kv.Key))
			}
			out[k] = exprText(kv.Value)
		}
		return out, true
	}
	t.Fatal("internal/pgtemporal exists but declares no DefaultDynamicConfig map literal: update pgtemporalDynamicConfig")
	return nil, false
}

func exprText(e ast.Expr) string {
	switch v := e.(type) {
	case *ast.BasicLit:
		return v.Value
	case *ast.Ident:
		return v.Name
	}
	return fmt.Sprintf("%T", e)
}

// moduleFile reads a file of a module in the module cache, or nil.
func moduleFile(t *testing.T, module, path string) []byte {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), module, path))
	if err != nil {
		return nil
	}
	return b
}

// settingNames lists every RIPTIDE_* variable riptide reads.
func settingNames(t *testing.T) []string {
	t.Helper()
	var b strings.Builder
	if err := envconfig.Usagef(config.Prefix, &config.Config{}, &b, "{{range .}}{{usage_key .}}\n{{end}}"); err != nil {
		t.Fatal(err)
	}
	return strings.Fields(b.String())
}

// dockerfileEnv reads the ENV settings of the Dockerfile's final stage.
func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			for _, kv := range strings.Fields(rest) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					out[k] = v
				}
			}
		}
	}
	return out
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
