package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/seed0ffb8d46/agora/internal/atomicfile"
)

// ErrExists is wrapped by the error of a write that would replace an
// existing key without being asked to.
var ErrExists = errors.New("keys: key already exists")

// ErrNotFound is wrapped by the error of loading a key that is not there.
var ErrNotFound = errors.New("keys: no such key")

// MissingError is the error of naming a wallet, or a wallet's hotkey, that
// is not in the store: it lists the ones that are, so a mistyped name is
// plain. It matches ErrNotFound under errors.Is.
type MissingError struct {
	Dir    string   // the wallets directory
	Wallet string   // the wallet named
	Hotkey string   // the hotkey named, or "" if the wallet itself is missing
	Have   []string // the wallets (or the wallet's hotkeys) there are, sorted
}

func (e *MissingError) Error() string {
	what, where, have := fmt.Sprintf("no wallet %q", e.Wallet), e.Dir, "the wallets there are: "
	if e.Hotkey != "" {
		what, where, have = fmt.Sprintf("no hotkey %q", e.Hotkey), "wallet "+e.Wallet, "its hotkeys are: "
	}
	if len(e.Have) == 0 {
		have = "there are none"
	} else {
		have += strings.Join(e.Have, ", ")
	}
	return fmt.Sprintf("keys: %s in %s; %s", what, where, have)
}

// Is makes a MissingError match ErrNotFound.
func (e *MissingError) Is(target error) bool { return target == ErrNotFound }

// CheckWallet returns nil if the store has a wallet directory named
// wallet (with a coldkey, hotkeys or neither), else a *MissingError that
// lists the wallets it has.
func (s *Store) CheckWallet(wallet string) error {
	if err := CheckName(wallet); err != nil {
		return err
	}
	if fi, err := os.Stat(filepath.Join(s.Dir, wallet)); err == nil && fi.IsDir() {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keys: %w", err)
	}
	ws, err := s.List()
	if err != nil {
		return err
	}
	e := &MissingError{Dir: s.Dir, Wallet: wallet}
	for _, w := range ws {
		e.Have = append(e.Have, w.Name)
	}
	return e
}

// missing explains why path, wallet's coldkey or hotkey (if hotkey is not
// ""), could not be read for the not-found error err: the wallet is not
// there, or it has no such hotkey. Otherwise it returns err.
func (s *Store) missing(wallet, hotkey string, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	if werr := s.CheckWallet(wallet); werr != nil {
		return werr
	}
	if hotkey == "" {
		return err
	}
	e := &MissingError{Dir: s.Dir, Wallet: wallet, Hotkey: hotkey}
	hks, _ := os.ReadDir(filepath.Join(s.Dir, wallet, "hotkeys"))
	for _, h := range hks {
		if !h.IsDir() && CheckName(h.Name()) == nil {
			e.Have = append(e.Have, h.Name())
		}
	}
	return e
}

// PasswordFunc supplies a password when one is needed; Store calls it only
// for encrypted keys, at most once per call.
type PasswordFunc func() ([]byte, error)

// Store is the wallets directory, <home>/wallets: one directory per wallet
// holding its coldkey and a hotkeys directory. Its methods touch only that
// tree. A Store holds no open files; concurrent writers of the same key
// race, but each write is atomic, so a reader sees a whole old or a whole
// new file.
type Store struct {
	// Dir is the wallets directory.
	Dir string
}

// NewStore returns the Store of the data directory home.
func NewStore(home string) *Store { return &Store{Dir: filepath.Join(home, "wallets")} }

// CheckName reports whether name is usable as a wallet or hotkey name: 1
// to 64 letters, digits, '.', '_' or '-', not starting with '.'.
func CheckName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' || strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) {
		return fmt.Errorf("keys: bad name %q: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'", name)
	}
	return nil
}

// ColdkeyPath returns the path of wallet's coldkey file.
func (s *Store) ColdkeyPath(wallet string) string { return filepath.Join(s.Dir, wallet, "coldkey") }

// HotkeyPath returns the path of wallet's hotkey file.
func (s *Store) HotkeyPath(wallet, hotkey string) string {
	return filepath.Join(s.Dir, wallet, "hotkeys", hotkey)
}

// SaveColdkey writes f as wallet's coldkey, creating the wallet. f must be
// an encrypted coldkey. It fails with ErrExists if the wallet has a
// coldkey, unless overwrite.
func (s *Store) SaveColdkey(wallet string, f *Keyfile, overwrite bool) error {
	if err := CheckName(wallet); err != nil {
		return err
	}
	if f.Kind != Coldkey || !f.Encrypted() {
		return errors.New("keys: a coldkey must be an encrypted coldkey keyfile")
	}
	return s.save(s.ColdkeyPath(wallet), f, overwrite)
}

// SaveHotkey writes f as wallet's hotkey named hotkey, creating the wallet
// if need be (a machine may hold a wallet's hotkeys without its coldkey).
// f must be a hotkey keyfile, encrypted or not. It fails with ErrExists if
// the hotkey exists, unless overwrite.
func (s *Store) SaveHotkey(wallet, hotkey string, f *Keyfile, overwrite bool) error {
	if err := CheckName(wallet); err != nil {
		return err
	}
	if err := CheckName(hotkey); err != nil {
		return err
	}
	if f.Kind != Hotkey {
		return errors.New("keys: a hotkey must be a hotkey keyfile")
	}
	return s.save(s.HotkeyPath(wallet, hotkey), f, overwrite)
}

func (s *Store) save(path string, f *Keyfile, overwrite bool) error {
	// Make each directory of the wallet tree ours alone; leave home as it is.
	for _, dir := range []string{s.Dir, filepath.Dir(path)} {
		if err := ensureDir(dir); err != nil {
			return err
		}
	}
	if err := WriteFileAtomic(path, f.Encode(), overwrite); err != nil {
		return err
	}
	return nil
}

// ensureDir creates dir and its parents (mode 0700) and makes dir itself
// 0700.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}

// Coldkey reads wallet's coldkey file; no password is needed for its
// public part. If the wallet is not there the error is a *MissingError.
func (s *Store) Coldkey(wallet string) (*Keyfile, error) {
	if err := CheckName(wallet); err != nil {
		return nil, err
	}
	f, err := readKeyfile(s.ColdkeyPath(wallet), Coldkey)
	if err != nil {
		return nil, s.missing(wallet, "", err)
	}
	return f, nil
}

// Hotkey reads wallet's hotkey file named hotkey. If the wallet or the
// hotkey is not there the error is a *MissingError.
func (s *Store) Hotkey(wallet, hotkey string) (*Keyfile, error) {
	if err := CheckName(wallet); err != nil {
		return nil, err
	}
	if err := CheckName(hotkey); err != nil {
		return nil, err
	}
	f, err := readKeyfile(s.HotkeyPath(wallet, hotkey), Hotkey)
	if err != nil {
		return nil, s.missing(wallet, hotkey, err)
	}
	return f, nil
}

// LoadColdkey reads and decrypts wallet's coldkey with the password from
// password.
func (s *Store) LoadColdkey(wallet string, password PasswordFunc) (*PrivateKey, error) {
	f, err := s.Coldkey(wallet)
	if err != nil {
		return nil, err
	}
	return unlock(f, s.ColdkeyPath(wallet), password)
}

// LoadHotkey reads wallet's hotkey, decrypting it with the password from
// password if it is encrypted (password is not called otherwise and may be
// nil then). This is what a daemon calls at start.
func (s *Store) LoadHotkey(wallet, hotkey string, password PasswordFunc) (*PrivateKey, error) {
	f, err := s.Hotkey(wallet, hotkey)
	if err != nil {
		return nil, err
	}
	return unlock(f, s.HotkeyPath(wallet, hotkey), password)
}

func unlock(f *Keyfile, path string, password PasswordFunc) (*PrivateKey, error) {
	var pw []byte
	if f.Encrypted() {
		if password == nil {
			return nil, fmt.Errorf("keys: %s is encrypted and no password was given", path)
		}
		var err error
		if pw, err = password(); err != nil {
			return nil, err
		}
		defer clear(pw)
	}
	k, err := f.Decrypt(pw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, path)
	}
	return k, nil
}

func readKeyfile(path string, kind Kind) (*Keyfile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNotFound, path)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	f, err := DecodeKeyfile(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, path)
	}
	if f.Kind != kind {
		return nil, fmt.Errorf("%w: %s holds a %s, want a %s", ErrBadKeyfile, path, f.Kind, kind)
	}
	return f, nil
}

// KeyInfo is the public part of one key, as List reports it.
type KeyInfo struct {
	Name      string // the hotkey name; "coldkey" for a coldkey
	Kind      Kind
	Path      string
	Address   string // empty if Err is set
	PublicKey string // hex; empty if Err is set
	Encrypted bool
	Err       error // why the file could not be read, or nil
}

// WalletInfo is one wallet as List reports it.
type WalletInfo struct {
	Name    string
	Coldkey *KeyInfo // nil if the wallet has no coldkey file
	Hotkeys []KeyInfo
}

// List returns every wallet in the store with its keys' public parts,
// sorted by name, without any password. A key file that cannot be read is
// reported in its KeyInfo.Err rather than failing the listing. A missing
// wallets directory is an empty list.
func (s *Store) List() ([]WalletInfo, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	var out []WalletInfo
	for _, e := range entries {
		if !e.IsDir() || CheckName(e.Name()) != nil {
			continue
		}
		w := WalletInfo{Name: e.Name()}
		if _, err := os.Stat(s.ColdkeyPath(w.Name)); !errors.Is(err, fs.ErrNotExist) {
			ki := info("coldkey", Coldkey, s.ColdkeyPath(w.Name))
			w.Coldkey = &ki
		}
		hks, err := os.ReadDir(filepath.Join(s.Dir, w.Name, "hotkeys"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("keys: %w", err)
		}
		for _, h := range hks {
			if h.IsDir() || CheckName(h.Name()) != nil { // skips temp files, which start with '.'
				continue
			}
			w.Hotkeys = append(w.Hotkeys, info(h.Name(), Hotkey, s.HotkeyPath(w.Name, h.Name())))
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b WalletInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func info(name string, kind Kind, path string) KeyInfo {
	ki := KeyInfo{Name: name, Kind: kind, Path: path}
	f, err := readKeyfile(path, kind)
	if err != nil {
		ki.Err = err
		return ki
	}
	ki.Address, ki.PublicKey, ki.Encrypted = f.Address(), f.PublicKey.Hex(), f.Encrypted()
	return ki
}

// WriteFileAtomic writes data to path so that path holds either its old
// content or all of data, even across a crash: it writes a temporary file
// (mode 0600) in the same directory, syncs it, moves it into place and
// syncs the directory. Without overwrite it fails with ErrExists if path
// exists, and never replaces a file that appears meanwhile. The directory
// must exist. No temporary file is left behind on error.
func WriteFileAtomic(path string, data []byte, overwrite bool) error {
	write := atomicfile.WriteNew
	if overwrite {
		write = atomicfile.WriteFile
	}
	err := write(path, data, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, path)
	}
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}
