package rlhf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTokensT(t *testing.T, path string) *Tokens {
	t.Helper()
	tk, err := OpenTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func addLabelerT(t *testing.T, tk *Tokens, name string) string {
	t.Helper()
	tok, err := tk.Add(name)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokensLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "labelers.json")
	tk := openTokensT(t, path)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenTokens created the file before the first Add: %v", err)
	}
	if name, ok := tk.Check("agl_anything"); ok {
		t.Fatalf("empty set accepted a token as %q", name)
	}
	alice := addLabelerT(t, tk, "alice")
	bob := addLabelerT(t, tk, "bob.smith-2")
	if !strings.HasPrefix(alice, TokenPrefix) || len(alice) != len(TokenPrefix)+43 || alice == bob {
		t.Fatalf("tokens %q, %q: want %s and 43 base64url characters (256 bits), distinct", alice, bob, TokenPrefix)
	}
	for tok, want := range map[string]string{alice: "alice", bob: "bob.smith-2"} {
		if name, ok := tk.Check(tok); !ok || name != want {
			t.Errorf("Check = %q %v, want %q", name, ok, want)
		}
	}
	for _, bad := range []string{"", alice[:len(alice)-1], alice + "x", strings.ToUpper(alice), " " + alice} {
		if name, ok := tk.Check(bad); ok {
			t.Errorf("Check(%q) accepted as %q", bad, name)
		}
	}

	// The file: mode 0600, the hashes only.
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("tokens file mode %v, want 0600", st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), alice[len(TokenPrefix):]) || strings.Contains(string(data), bob[len(TokenPrefix):]) {
		t.Fatal("the tokens file contains a token")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	if _, err := tk.Add("alice"); !errors.Is(err, ErrLabelerExists) {
		t.Errorf("Add of an existing name: %v", err)
	}
	// Another process (the CLI) revokes bob: a running miner's Tokens sees
	// it without being told.
	cli := openTokensT(t, path)
	if err := cli.Revoke("bob.smith-2"); err != nil {
		t.Fatal(err)
	}
	if _, ok := tk.Check(bob); ok {
		t.Error("a revoked token still checks")
	}
	if tk.Active("bob.smith-2") || !tk.Active("alice") || tk.Active("nobody") {
		t.Error("Active is wrong after the revocation")
	}
	if err := cli.Revoke("bob.smith-2"); err != nil {
		t.Errorf("second Revoke: %v", err)
	}
	if err := cli.Revoke("nobody"); !errors.Is(err, ErrNoSuchLabeler) {
		t.Errorf("Revoke of an unknown name: %v", err)
	}
	if _, err := tk.Add("bob.smith-2"); !errors.Is(err, ErrLabelerExists) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("Add of a revoked name: %v", err)
	}
	list, err := tk.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alice" || list[0].Revoked() || list[1].Name != "bob.smith-2" || !list[1].Revoked() {
		t.Fatalf("List = %+v", list)
	}
	if time.Since(list[0].CreatedAt) > time.Minute {
		t.Errorf("CreatedAt %v", list[0].CreatedAt)
	}

	// Rotation: the old token stops working, the new one works, the name
	// is kept (and re-activated).
	bob2, err := tk.Rotate("bob.smith-2")
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := cli.Check(bob2); !ok || name != "bob.smith-2" {
		t.Errorf("rotated token: %q %v", name, ok)
	}
	if _, ok := cli.Check(bob); ok {
		t.Error("the old token works after a rotation")
	}
	if _, err := tk.Rotate("nobody"); !errors.Is(err, ErrNoSuchLabeler) {
		t.Errorf("Rotate of an unknown name: %v", err)
	}

	// Reopening reads it all back.
	again := openTokensT(t, path)
	if name, ok := again.Check(alice); !ok || name != "alice" {
		t.Errorf("after reopen Check(alice) = %q %v", name, ok)
	}
}

func TestValidateLabelerName(t *testing.T) {
	for _, c := range []struct {
		name string
		want string // "" = valid
	}{
		{"alice", ""},
		{"Bob_2.x-y", ""},
		{"7", ""},
		{strings.Repeat("a", MaxLabelerNameBytes), ""},
		{"", "empty"},
		{strings.Repeat("a", MaxLabelerNameBytes+1), "more than 64"},
		{"-alice", "must start with a letter or a digit"},
		{".x", "must start"},
		{"al ice", `' ' at byte 2`},
		{"al/ice", "'/'"},
		{"ålice", "must start"},
		{"alicé", "use letters, digits"},
	} {
		err := ValidateLabelerName(c.name)
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	tk := openTokensT(t, filepath.Join(t.TempDir(), "l.json"))
	if _, err := tk.Add("bad name"); err == nil || !strings.HasPrefix(err.Error(), `rlhf: add labeler "bad name": `) {
		t.Errorf("Add with a bad name: %v", err)
	}
}

func TestOpenTokensBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"notjson": "hello",
		"version": `{"version":2,"labelers":[]}`,
		"unknown": `{"version":1,"labelers":[],"extra":1}`,
		"badname": `{"version":1,"labelers":[{"name":"a b","token_sha256":"` + strings.Repeat("0", 64) + `","created_at":"2026-01-01T00:00:00Z"}]}`,
		"badhash": `{"version":1,"labelers":[{"name":"a","token_sha256":"xyz","created_at":"2026-01-01T00:00:00Z"}]}`,
		"twice":   `{"version":1,"labelers":[{"name":"a","token_sha256":"` + strings.Repeat("0", 64) + `","created_at":"2026-01-01T00:00:00Z"},{"name":"a","token_sha256":"` + strings.Repeat("1", 64) + `","created_at":"2026-01-01T00:00:00Z"}]}`,
	} {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenTokens(path); err == nil || !strings.HasPrefix(err.Error(), "rlhf: open labeler tokens: ") {
			t.Errorf("%s: OpenTokens error %v", name, err)
		}
	}
}
