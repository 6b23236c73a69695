package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/keys"
)

// cheap makes argon2id fast for tests; the file format is the same.
var cheapKDFArgs = []string{"--kdf-time", "1", "--kdf-memory", "1"}

// walletRun runs agora with args against home, the environment env, stdin
// and, if prompts is not nil, a terminal that answers with prompts in turn.
func walletRun(t *testing.T, home string, env map[string]string, stdin string, prompts []string, args ...string) result {
	t.Helper()
	e, stdout, stderr := testEnv(stdin, env, nil)
	e.ReadFile = os.ReadFile
	if prompts != nil {
		e.ReadPassword = func(string) ([]byte, error) {
			if len(prompts) == 0 {
				return nil, errors.New("no more input")
			}
			p := prompts[0]
			prompts = prompts[1:]
			return []byte(p), nil
		}
	}
	args = append(args, "--home", home)
	code := execute(context.Background(), e, newRoot("test"), args)
	return result{code, stdout.String(), stderr.String()}
}

func decodeWalletJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return v
}

func TestWalletFlow(t *testing.T) {
	home := t.TempDir()
	pw := map[string]string{"AGORA_PASSWORD": "correct horse battery"}

	// create prints the mnemonic once, with a warning.
	r := walletRun(t, home, pw, "", nil, append([]string{"wallet", "create", "--name", "alice", "--output", "json"}, cheapKDFArgs...)...)
	if r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	created := decodeWalletJSON[walletKeyJSON](t, r)
	if len(strings.Fields(created.Mnemonic)) != 24 || !strings.HasPrefix(created.Address, "agora1") || !created.Encrypted {
		t.Fatalf("create: %+v", created)
	}
	if !strings.Contains(r.stderr, "IMPORTANT") {
		t.Errorf("create: no warning on stderr: %q", r.stderr)
	}
	// Text output shows the mnemonic and the address too.
	r = walletRun(t, home, pw, "", nil, append([]string{"wallet", "create", "--name", "bob"}, cheapKDFArgs...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "IMPORTANT") || !strings.Contains(r.stdout, "address: agora1") {
		t.Fatalf("create text: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	// No overwriting.
	r = walletRun(t, home, pw, "", nil, append([]string{"wallet", "create", "--name", "alice"}, cheapKDFArgs...)...)
	if r.code != exitError || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("create again: exit %d: %s", r.code, r.stderr)
	}

	// new-hotkey: unencrypted by default, so no password is needed.
	r = walletRun(t, home, nil, "", nil, "wallet", "new-hotkey", "--name", "alice", "--hotkey", "miner1", "--output", "json")
	if r.code != 0 {
		t.Fatalf("new-hotkey: exit %d: %s", r.code, r.stderr)
	}
	hot := decodeWalletJSON[walletKeyJSON](t, r)
	if hot.Encrypted || hot.Name != "miner1" || len(strings.Fields(hot.Mnemonic)) != 24 {
		t.Fatalf("new-hotkey: %+v", hot)
	}
	fi, err := os.Stat(filepath.Join(home, "wallets", "alice", "hotkeys", "miner1"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("hotkey file: %v, %v", fi, err)
	}
	// An encrypted hotkey, password from a file.
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from a file 123\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = walletRun(t, home, nil, "", nil, append([]string{"wallet", "new-hotkey", "--name", "alice", "--hotkey", "val", "--encrypt", "--password-file", pwFile}, cheapKDFArgs...)...)
	if r.code != 0 {
		t.Fatalf("new-hotkey --encrypt: exit %d: %s", r.code, r.stderr)
	}
	k, err := keys.NewStore(home).LoadHotkey("alice", "val", func() ([]byte, error) { return []byte("from a file 123"), nil })
	if err != nil {
		t.Fatalf("load encrypted hotkey: %v", err)
	}

	// list shows everything without a password.
	r = walletRun(t, home, nil, "", nil, "wallet", "list", "--output", "json")
	if r.code != 0 {
		t.Fatalf("list: exit %d: %s", r.code, r.stderr)
	}
	type listed struct {
		Wallets []struct {
			Name    string
			Coldkey *walletKeyJSON
			Hotkeys []walletKeyJSON
		}
	}
	l := decodeWalletJSON[listed](t, r)
	if len(l.Wallets) != 2 || l.Wallets[0].Name != "alice" || l.Wallets[0].Coldkey.Address != created.Address ||
		len(l.Wallets[0].Hotkeys) != 2 || l.Wallets[0].Hotkeys[0].Address != hot.Address ||
		l.Wallets[0].Hotkeys[1].Address != k.Address() || !l.Wallets[0].Hotkeys[1].Encrypted {
		t.Fatalf("list: %s", r.stdout)
	}
	r = walletRun(t, home, nil, "", nil, "wallet", "list")
	if r.code != 0 || !strings.Contains(r.stdout, created.Address) || !strings.Contains(r.stdout, "hotkey miner1") {
		t.Fatalf("list text: %s", r.stdout)
	}

	// show.
	r = walletRun(t, home, nil, "", nil, "wallet", "show", "--name", "alice", "--output", "json")
	if s := decodeWalletJSON[walletKeyJSON](t, r); r.code != 0 || s.Address != created.Address || s.PublicKey != created.PublicKey || s.Mnemonic != "" {
		t.Fatalf("show: %s", r.stdout)
	}
	r = walletRun(t, home, nil, "", nil, "wallet", "show", "--name", "alice", "--hotkey", "miner1")
	if r.code != 0 || !strings.Contains(r.stdout, hot.Address) || !strings.Contains(r.stdout, hot.PublicKey) {
		t.Fatalf("show --hotkey: %s", r.stdout)
	}

	// regen refuses to overwrite without --force ...
	r = walletRun(t, home, pw, created.Mnemonic, nil, append([]string{"wallet", "regen", "--name", "alice"}, cheapKDFArgs...)...)
	if r.code != exitError || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("regen without --force: exit %d: %s", r.code, r.stderr)
	}
	// ... restores the same address into a new wallet ...
	r = walletRun(t, home, pw, created.Mnemonic+"\n", nil, append([]string{"wallet", "regen", "--name", "restored", "--output", "json"}, cheapKDFArgs...)...)
	if got := decodeWalletJSON[walletKeyJSON](t, r); r.code != 0 || got.Address != created.Address {
		t.Fatalf("regen: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
	// ... and decrypts with the new password.
	if k, err := keys.NewStore(home).LoadColdkey("restored", func() ([]byte, error) { return []byte(pw["AGORA_PASSWORD"]), nil }); err != nil || k.Address() != created.Address {
		t.Fatalf("load restored coldkey: %v", err)
	}
	// A hotkey from a prompt, over the existing one with --force.
	r = walletRun(t, home, nil, "", []string{hot.Mnemonic}, "wallet", "regen", "--name", "alice", "--hotkey", "miner1", "--force")
	if r.code != 0 || !strings.Contains(r.stdout, hot.Address) {
		t.Fatalf("regen --hotkey --force: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestWalletRegenBadMnemonic(t *testing.T) {
	home := t.TempDir()
	pw := map[string]string{"AGORA_PASSWORD": "correct horse battery"}
	good := strings.Repeat("abandon ", 23) + "art"
	for _, tc := range []struct{ stdin, want string }{
		{"", "it has 0 words, want 12 or 24"},
		{strings.Repeat("abandon ", 14) + "about", "it has 15 words, want 12 or 24"},
		{strings.Replace(good, "art", "arte", 1), `word 24, "arte", is not in the BIP-39 English word list; did you mean "art" or "artefact" or "rate"?`},
		{strings.Replace(good, "art", "zoo", 1), "checksum does not match"},
		{strings.Repeat("abandon ", 11) + "abut", `word 12, "abut", is not in the BIP-39 English word list; did you mean "about"?`},
	} {
		r := walletRun(t, home, pw, tc.stdin, nil, append([]string{"wallet", "regen", "--name", "w"}, cheapKDFArgs...)...)
		if r.code != exitError || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("mnemonic %.30q: exit %d, stderr %q; want exit 1 and %q", tc.stdin, r.code, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "wallets", "w")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed regen left %v", err)
	}
}

func TestWalletPasswords(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		name    string
		env     map[string]string
		prompts []string
		code    int
		want    string
	}{
		{"no source", nil, nil, exitError, "no password: give --password-file FILE or set AGORA_PASSWORD"},
		{"short", map[string]string{"AGORA_PASSWORD": "short"}, nil, exitError, "want at least 8"},
		{"empty env", map[string]string{"AGORA_PASSWORD": ""}, nil, exitError, "AGORA_PASSWORD is set but empty"},
		{"prompts differ", nil, []string{"password one", "password two"}, exitError, "the passwords do not match"},
		{"prompts agree", nil, []string{"password one", "password one"}, 0, "Created the coldkey"},
	} {
		r := walletRun(t, home, tc.env, "", tc.prompts, append([]string{"wallet", "create", "--name", strings.ReplaceAll(tc.name, " ", "-")}, cheapKDFArgs...)...)
		if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
			t.Errorf("%s: exit %d, %s%s; want exit %d and %q", tc.name, r.code, r.stdout, r.stderr, tc.code, tc.want)
		}
	}
	// A wrong password gives the clear error.
	if _, err := keys.NewStore(home).LoadColdkey("prompts-agree", func() ([]byte, error) { return []byte("password two"), nil }); err == nil ||
		!strings.Contains(err.Error(), "wrong password or corrupted keyfile") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestWalletUsage(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{
		{"wallet", "create"},
		{"wallet", "create", "--name", "../evil"},
		{"wallet", "new-hotkey", "--name", "a"},
		{"wallet", "show", "--name", "a", "--hotkey", "a/b"},
		{"wallet", "list", "extra"},
		{"wallet", "list", "--output", "yaml"},
		{"wallet", "create", "--name", "a", "--kdf-memory", "0"},
	} {
		r := walletRun(t, home, map[string]string{"AGORA_PASSWORD": "long enough"}, "", nil, args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2; stderr %s", args, r.code, r.stderr)
		}
	}
	r := walletRun(t, home, nil, "", nil, "wallet", "show", "--name", "nobody")
	if r.code != exitError || !strings.Contains(r.stderr, `no wallet "nobody" in `) {
		t.Errorf("show missing: exit %d, %s", r.code, r.stderr)
	}
	r = walletRun(t, home, nil, "", nil, "wallet", "list", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"wallets": []`) {
		t.Errorf("empty list: %s", r.stdout)
	}
}

// A KDF flag out of range names itself, its unit and its range.
func TestWalletKDFFlagRanges(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"AGORA_PASSWORD": "correct horse battery"}
	for _, c := range []struct {
		flag, value, want string
	}{
		{"--kdf-memory", "0", "--kdf-memory 0: want 1 to 4096 MiB"},
		{"--kdf-memory", "5000", "--kdf-memory 5000: want 1 to 4096 MiB"},
		{"--kdf-time", "65", "--kdf-time 65: want 1 to 64 passes"},
		{"--kdf-threads", "0", "--kdf-threads 0: want 1 to 255"},
	} {
		r := walletRun(t, home, env, "", nil, "wallet", "create", "--name", "w", c.flag, c.value)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s %s: exit %d, stderr %q, want %q", c.flag, c.value, r.code, r.stderr, c.want)
		}
	}
}
