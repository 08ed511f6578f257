package config

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/riptide-dev/riptide/internal/netguard"
)

// DevEnvFile is the file in the data directory where `riptide-dev up`
// writes every setting it gives its children (S3 endpoint and credentials,
// Temporal address, loopback allowance, API key, webhook secret…): the
// one source of truth of the dev configuration. The binaries load it when
// it is present (LoadDevEnv), so a worker or API started by hand beside
// `make dev` joins the same stack. It holds credentials: mode 0600.
const DevEnvFile = "dev.env"

// DevEnvPath is the dev env file of the data directory the environment
// names (RIPTIDE_DATA_DIR, default ./.riptide).
func DevEnvPath() string {
	dir := os.Getenv(Prefix + "_DATA_DIR")
	if dir == "" {
		dir = "./.riptide"
	}
	return filepath.Join(dir, DevEnvFile)
}

// LoadDevEnv sets, from the dev env file of the data directory, every
// variable the environment does not set: a variable set explicitly (even
// empty, which turns a listener off) wins. It returns the file's path
// when there was one, "" when not.
func LoadDevEnv() (string, error) {
	path := DevEnvPath()
	vars, err := ReadEnvFile(path)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	for _, kv := range vars {
		if _, set := os.LookupEnv(kv[0]); !set {
			os.Setenv(kv[0], kv[1])
		}
	}
	return path, nil
}

// WriteEnvFile writes vars (name, value pairs) to path, mode 0600, through
// a temporary file so a reader never sees half of it. Values are single
// quoted, so `set -a; . file` in a shell reads the same values.
func WriteEnvFile(path string, vars [][2]string) error {
	var b bytes.Buffer
	b.WriteString("# Written by riptide-dev up: the settings of the dev stack's children.\n")
	b.WriteString("# riptide's binaries load it from their data directory; set a variable to override it.\n")
	for _, kv := range vars {
		if strings.ContainsAny(kv[0]+kv[1], "\n\r") || !strings.HasPrefix(kv[0], Prefix+"_") {
			return fmt.Errorf("dev env file: cannot write %q", kv[0])
		}
		fmt.Fprintf(&b, "%s='%s'\n", kv[0], strings.ReplaceAll(kv[1], "'", `'\''`))
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return err
	}
	// WriteFile keeps the mode of a file that exists.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadEnvFile reads NAME=VALUE lines as WriteEnvFile writes them (blank
// lines and # comments skipped; a value may be single quoted).
func ReadEnvFile(path string) ([][2]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%s:%d: not NAME=VALUE", path, n)
		}
		v, err := unquote(value)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		out = append(out, [2]string{name, v})
	}
	return out, sc.Err()
}

// unquote undoes WriteEnvFile's quoting: single-quoted runs joined by \'.
func unquote(s string) (string, error) {
	if !strings.HasPrefix(s, "'") {
		return s, nil
	}
	var b strings.Builder
	for s != "" {
		switch {
		case strings.HasPrefix(s, `\'`):
			b.WriteByte('\'')
			s = s[2:]
		case strings.HasPrefix(s, "'"):
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated quote")
			}
			b.WriteString(s[1 : 1+end])
			s = s[2+end:]
		default:
			return "", fmt.Errorf("unexpected %q after a quoted value", s)
		}
	}
	return b.String(), nil
}

// ServingSettings are the settings a worker must share with the rest of a
// deployment to serve its queue's jobs: the same Temporal namespace and
// queues, the same bucket (the API signs links to what workers upload),
// and at least the network allowance the jobs' URLs need. riptide-dev
// writes their effective values to the dev env file; CheckDevStack
// compares a worker's with them.
func ServingSettings(c *Config) [][2]string {
	return [][2]string{
		{Prefix + "_TEMPORAL_ADDRESS", c.Temporal.Address},
		{Prefix + "_TEMPORAL_NAMESPACE", c.Temporal.Namespace},
		{Prefix + "_TEMPORAL_TASK_QUEUE", c.Temporal.TaskQueue},
		{Prefix + "_S3_ENDPOINT", c.S3.Endpoint},
		{Prefix + "_S3_BUCKET", c.S3.Bucket},
		{Prefix + "_ALLOW_PRIVATE_NETWORKS", strings.Join(c.AllowPrivateNetworks, ",")},
	}
}

// CheckDevStack refuses a worker configuration that cannot serve the jobs
// of the dev stack whose env file is in its data directory: one that
// polls the stack's queue but uploads elsewhere, or allows fewer networks
// than the stack's jobs need (make dev's media and webhook receiver are on
// loopback), would take the stack's jobs and fail them. Without a dev env
// file there is nothing to compare with and it returns nil.
func CheckDevStack(c *Config) error {
	path := filepath.Join(c.DataDir, DevEnvFile)
	vars, err := ReadEnvFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	stack := map[string]string{}
	for _, kv := range vars {
		stack[kv[0]] = kv[1]
	}
	for _, kv := range ServingSettings(c) {
		want, ok := stack[kv[0]]
		if !ok {
			continue
		}
		if kv[0] == Prefix+"_ALLOW_PRIVATE_NETWORKS" {
			if missing := uncovered(want, kv[1]); len(missing) > 0 {
				return fmt.Errorf("config: this worker's %s (%q) does not allow %s, which the jobs of the dev stack in %s need (%s); "+
					"it would fail them: unset it or remove that file", kv[0], kv[1], strings.Join(missing, ", "), path, want)
			}
			continue
		}
		if kv[1] != want {
			return fmt.Errorf("config: this worker's %s is %q but the dev stack in %s uses %q: it would take that stack's jobs and fail them; "+
				"unset it to join the stack, or use another %s_DATA_DIR", kv[0], kv[1], path, want, Prefix)
		}
	}
	return nil
}

// uncovered lists the prefixes of need that no prefix of have contains.
func uncovered(need, have string) []string {
	split := func(s string) []netip.Prefix {
		p, _ := netguard.ParsePrefixes(strings.Split(s, ","))
		return p
	}
	haves := split(have)
	var missing []string
	for _, n := range split(need) {
		if !slices.ContainsFunc(haves, func(h netip.Prefix) bool { return h.Bits() <= n.Bits() && h.Contains(n.Addr()) }) {
			missing = append(missing, n.String())
		}
	}
	return missing
}
