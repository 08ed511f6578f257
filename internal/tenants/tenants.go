// Package tenants is the operator's configuration of tenants and their API
// keys: RIPTIDE_API_KEYS (every key belongs to the default tenant) and
// RIPTIDE_TENANTS_FILE, a JSON file of tenants, each with keys stored only
// as SHA-256 digests and optional limits. The file is read again, without a
// restart, when its modification time changes and on SIGHUP; a file that
// does not parse keeps the previous configuration.
package tenants

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/riptide-dev/riptide/workflows"
)

// HashPrefix starts a key's digest in the tenants file.
const HashPrefix = "sha256:"

// HashKey is the tenants file's form of an API key: "sha256:" and the hex
// SHA-256 digest of its bytes.
func HashKey(key string) string {
	d := sha256.Sum256([]byte(key))
	return HashPrefix + hex.EncodeToString(d[:])
}

// Tenant is one tenant of the configuration.
type Tenant struct {
	ID     string                 `json:"id"`
	Keys   []string               `json:"keys"`
	Limits workflows.TenantLimits `json:"limits"`
}

// File is the tenants file's document.
type File struct {
	Tenants []Tenant `json:"tenants"`
}

// idPattern: a tenant ID is a short slug, safe in visibility queries,
// object keys and logs.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidID tells whether id may name a tenant.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Set is one configuration: which key digest belongs to which tenant.
type Set struct {
	digests [][sha256.Size]byte
	owners  []string
	limits  map[string]workflows.TenantLimits
}

// Tenants lists the set's tenant IDs, sorted.
func (s *Set) Tenants() []string {
	ids := make([]string, 0, len(s.limits))
	for id := range s.limits {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Keys is how many keys the set holds.
func (s *Set) Keys() int { return len(s.digests) }

// Lookup returns the tenant key belongs to. Every digest is compared in
// constant time, so neither a key's bytes nor its position leak.
func (s *Set) Lookup(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	got := sha256.Sum256([]byte(key))
	found := -1
	for i, d := range s.digests {
		if subtle.ConstantTimeCompare(got[:], d[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return s.owners[found], true
}

// Limits are tenant's limits (zero: none).
func (s *Set) Limits(tenant string) workflows.TenantLimits { return s.limits[tenant] }

// Build makes the set of the default tenant's plain keys (RIPTIDE_API_KEYS)
// and the tenants of f (nil: none). A key may belong to one tenant only.
func Build(plainKeys []string, f *File) (*Set, error) {
	s := &Set{limits: map[string]workflows.TenantLimits{}}
	seen := map[[sha256.Size]byte]string{}
	add := func(d [sha256.Size]byte, tenant string) error {
		if prev, dup := seen[d]; dup {
			if prev == tenant {
				return nil
			}
			return fmt.Errorf("a key belongs to both tenant %q and tenant %q", prev, tenant)
		}
		seen[d] = tenant
		s.digests, s.owners = append(s.digests, d), append(s.owners, tenant)
		return nil
	}
	for _, k := range plainKeys {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		s.limits[workflows.DefaultTenant] = workflows.TenantLimits{}
		if err := add(sha256.Sum256([]byte(k)), workflows.DefaultTenant); err != nil {
			return nil, err
		}
	}
	if f == nil {
		return s, nil
	}
	ids := map[string]bool{}
	for i, t := range f.Tenants {
		if !ValidID(t.ID) {
			return nil, fmt.Errorf("tenants[%d]: id %q is not a tenant ID (1 to 63 of a-z, 0-9, - and _, starting with a letter or digit)", i, t.ID)
		}
		if ids[t.ID] {
			return nil, fmt.Errorf("tenants[%d]: tenant %q is defined twice", i, t.ID)
		}
		ids[t.ID] = true
		if err := checkLimits(t.Limits); err != nil {
			return nil, fmt.Errorf("tenant %q: %w", t.ID, err)
		}
		// RIPTIDE_API_KEYS' keys join a "default" tenant of the file,
		// which gives them its limits.
		s.limits[t.ID] = t.Limits
		for j, h := range t.Keys {
			d, err := parseDigest(h)
			if err != nil {
				// The entry is not echoed: it may be a plain key by mistake.
				return nil, fmt.Errorf("tenant %q: keys[%d]: %w", t.ID, j, err)
			}
			if err := add(d, t.ID); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func checkLimits(l workflows.TenantLimits) error {
	switch {
	case l.StorageBytes < 0:
		return fmt.Errorf("limits.storage_bytes must not be negative")
	case l.MaxFileSizeBytes < 0:
		return fmt.Errorf("limits.max_file_size_bytes must not be negative")
	case l.MaxResolution < 0:
		return fmt.Errorf("limits.max_resolution must not be negative")
	case l.MaxDurationSeconds < 0:
		return fmt.Errorf("limits.max_duration_seconds must not be negative")
	case l.ConcurrentJobs < 0:
		return fmt.Errorf("limits.concurrent_jobs must not be negative")
	case l.StorageUsedBytes != 0:
		return fmt.Errorf("limits.storage_used_bytes is not a setting")
	}
	return nil
}

func parseDigest(h string) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	hexPart, ok := strings.CutPrefix(h, HashPrefix)
	if !ok {
		return d, fmt.Errorf(`not a key digest: want "sha256:" and 64 hex digits (riptide-api hash-key makes one)`)
	}
	b, err := hex.DecodeString(hexPart)
	if err != nil || len(b) != sha256.Size {
		return d, fmt.Errorf(`not a key digest: want "sha256:" and 64 hex digits (riptide-api hash-key makes one)`)
	}
	copy(d[:], b)
	return d, nil
}

// Parse decodes a tenants file. Unknown fields are refused, so a
// misspelt limit does not go unnoticed.
func Parse(data []byte) (*File, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode tenants file: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode tenants file: data after the document")
	}
	return &f, nil
}
