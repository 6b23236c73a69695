package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTestnetRunRefusesBadManifests: the manifest is checked, with what
// is wrong, before anything is made.
func TestTestnetRunRefusesBadManifests(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "hosts:\n  - {name: a, role: chain-validator, port: 3}\n", []string{"bad.yaml", "field port not found"}},
		{"no such role", "hosts:\n  - {name: a, role: archive}\n", []string{`role "archive" does not exist`}},
		{"address clash", "hosts:\n  - {name: a, role: chain-validator, address: 10.77.0.20}\n  - {name: b, role: miner, address: 10.77.0.20}\n", []string{"address 10.77.0.20 is host a's too"}},
	} {
		path := filepath.Join(dir, "bad.yaml")
		r := agora(t, nil, map[string]string{path: c.yaml}, "testnet", "run", path, "--dir", filepath.Join(dir, "run"))
		if r.code != exitUsage {
			t.Errorf("%s: exit %d, want %d; stderr %q", c.name, r.code, exitUsage, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr %q lacks %q", c.name, r.stderr, w)
			}
		}
	}
	r := agora(t, nil, nil, "testnet", "run")
	if r.code != exitUsage || !strings.Contains(r.stderr, "want one MANIFEST") {
		t.Errorf("no manifest: exit %d, stderr %q", r.code, r.stderr)
	}
	r = agora(t, nil, nil, "testnet", "run", filepath.Join(dir, "missing.yaml"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "missing.yaml: file does not exist") {
		t.Errorf("missing manifest: exit %d, stderr %q", r.code, r.stderr)
	}
}
