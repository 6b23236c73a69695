package keys

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStore(t *testing.T) {
	home := t.TempDir()
	s := NewStore(home)
	cold, hot := mustSeed(t, 1), mustSeed(t, 2)
	cf, _ := EncryptKey(cold, Coldkey, []byte("pw"), cheapKDF)
	if err := s.SaveColdkey("alice", cf, false); err != nil {
		t.Fatal(err)
	}
	hf, _ := PlainKey(hot, Hotkey)
	if err := s.SaveHotkey("alice", "default", hf, false); err != nil {
		t.Fatal(err)
	}

	// Modes: files 0600, the wallet tree 0700.
	for path, want := range map[string]fs.FileMode{
		s.Dir:                                    0o700 | fs.ModeDir,
		filepath.Join(s.Dir, "alice"):            0o700 | fs.ModeDir,
		filepath.Join(s.Dir, "alice", "hotkeys"): 0o700 | fs.ModeDir,
		s.ColdkeyPath("alice"):                   0o600,
		s.HotkeyPath("alice", "default"):         0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode(), err, want)
		}
	}
	// No temporary files are left.
	_ = filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, _ error) error {
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})

	// Load.
	k, err := s.LoadColdkey("alice", func() ([]byte, error) { return []byte("pw"), nil })
	if err != nil || k.PublicKey() != cold.PublicKey() {
		t.Fatalf("LoadColdkey: %v", err)
	}
	_, err = s.LoadColdkey("alice", func() ([]byte, error) { return []byte("nope"), nil })
	if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), s.ColdkeyPath("alice")) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := s.LoadColdkey("alice", nil); err == nil {
		t.Error("no password: loaded")
	}
	k, err = s.LoadHotkey("alice", "default", nil) // unattended: no password
	if err != nil || k.PublicKey() != hot.PublicKey() {
		t.Fatalf("LoadHotkey: %v", err)
	}
	if _, err := s.LoadHotkey("alice", "nope", nil); !errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), `no hotkey "nope" in wallet alice; its hotkeys are: default`) {
		t.Errorf("missing hotkey: %v", err)
	}
	// A mistyped wallet name lists the wallets there are.
	for _, load := range []func() error{
		func() error { _, err := s.Coldkey("alcie"); return err },
		func() error { _, err := s.LoadHotkey("alcie", "default", nil); return err },
		func() error { return s.CheckWallet("alcie") },
	} {
		err := load()
		var me *MissingError
		if !errors.Is(err, ErrNotFound) || !errors.As(err, &me) || me.Wallet != "alcie" ||
			!strings.Contains(err.Error(), `no wallet "alcie" in `+s.Dir+"; the wallets there are: alice") {
			t.Errorf("mistyped wallet: %v", err)
		}
	}
	if err := s.CheckWallet("alice"); err != nil {
		t.Errorf("CheckWallet(alice): %v", err)
	}
	if err := NewStore(t.TempDir()).CheckWallet("x"); err == nil || !strings.Contains(err.Error(), "there are none") {
		t.Errorf("CheckWallet in an empty store: %v", err)
	}

	// No overwriting unless asked.
	cf2, _ := EncryptKey(mustSeed(t, 3), Coldkey, []byte("pw"), cheapKDF)
	if err := s.SaveColdkey("alice", cf2, false); !errors.Is(err, ErrExists) {
		t.Errorf("overwrite: %v", err)
	}
	if f, _ := s.Coldkey("alice"); f.PublicKey != cold.PublicKey() {
		t.Error("coldkey replaced")
	}
	if err := s.SaveColdkey("alice", cf2, true); err != nil {
		t.Errorf("overwrite asked: %v", err)
	}
	if f, _ := s.Coldkey("alice"); f.PublicKey != mustSeed(t, 3).PublicKey() {
		t.Error("coldkey not replaced")
	}

	// Wrong kinds and names.
	if err := s.SaveColdkey("bob", hf, false); err == nil {
		t.Error("hotkey saved as coldkey")
	}
	for _, name := range []string{"", "..", "../x", "a/b", ".hidden", strings.Repeat("x", 65), "a b"} {
		if err := s.SaveHotkey("alice", name, hf, false); err == nil || !strings.Contains(err.Error(), "bad name") {
			t.Errorf("hotkey name %q: %v", name, err)
		}
	}
	// A hotkey-only wallet (the machine that runs the daemon).
	if err := s.SaveHotkey("server", "hk", hf, false); err != nil {
		t.Fatal(err)
	}
	// A broken keyfile shows up in the listing instead of failing it.
	if err := os.WriteFile(s.HotkeyPath("alice", "broken"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}

	ws, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].Name != "alice" || ws[1].Name != "server" || ws[1].Coldkey != nil {
		t.Fatalf("List = %+v", ws)
	}
	a := ws[0]
	if a.Coldkey == nil || a.Coldkey.Address != mustSeed(t, 3).Address() || !a.Coldkey.Encrypted {
		t.Errorf("coldkey info %+v", a.Coldkey)
	}
	if len(a.Hotkeys) != 2 || a.Hotkeys[0].Name != "broken" || a.Hotkeys[0].Err == nil ||
		a.Hotkeys[1].Name != "default" || a.Hotkeys[1].Address != hot.Address() || a.Hotkeys[1].Encrypted {
		t.Errorf("hotkeys %+v", a.Hotkeys)
	}
	if ws, err := NewStore(filepath.Join(home, "none")).List(); err != nil || ws != nil {
		t.Errorf("empty store: %v, %v", ws, err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFileAtomic(p, []byte("one"), false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two"), false); !errors.Is(err, ErrExists) {
		t.Errorf("no overwrite: %v", err)
	}
	if err := WriteFileAtomic(p, []byte("three"), true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Errorf("content %q", b)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, false); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1 (temporary files left?)", len(entries))
	}
	if fi, _ := os.Stat(p); fi.Mode() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
}
