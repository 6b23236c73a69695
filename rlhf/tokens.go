package rlhf

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seed0ffb8d46/agora/internal/atomicfile"
)

// MaxLabelerNameBytes bounds a labeler's name (its Label.LabelerID).
const MaxLabelerNameBytes = 64

// TokenPrefix starts every labeler token, so that a token pasted into the
// wrong place is recognisable (and secret scanners can find it).
const TokenPrefix = "agl_"

// Token errors that callers test for with errors.Is.
var (
	// ErrLabelerExists is returned by Tokens.Add for a name that is
	// taken, revoked names included.
	ErrLabelerExists = errors.New("labeler already exists")
	// ErrNoSuchLabeler is returned by Tokens.Revoke and Tokens.Rotate for
	// a name that was never added.
	ErrNoSuchLabeler = errors.New("no such labeler")
)

// Labeler describes one labeler in a Tokens file, without its token.
type Labeler struct {
	// Name is the labeler's name, recorded as Label.LabelerID.
	Name string `json:"name"`
	// CreatedAt is when the labeler was added (or its token last rotated).
	CreatedAt time.Time `json:"created_at"`
	// RevokedAt is when the labeler was revoked; zero while it is active.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Revoked reports whether the labeler's token was revoked.
func (l Labeler) Revoked() bool { return !l.RevokedAt.IsZero() }

// tokenEntry is a Labeler as stored: with the SHA-256 of its token.
type tokenEntry struct {
	Labeler
	TokenSHA256 string `json:"token_sha256"`
}

// tokensFile is the JSON document of a Tokens file.
type tokensFile struct {
	Version  int          `json:"version"`
	Labelers []tokenEntry `json:"labelers"`
}

// Tokens is the set of labelers allowed to sign in to a miner's labelling
// page, kept in a JSON file. A labeler's token is 256 random bits, shown
// once by Add (or Rotate); the file keeps only its SHA-256, so reading the
// file does not let anyone sign in.
//
// The file is replaced atomically on every change (temporary file, fsync,
// rename, fsync of the directory) with mode 0600. Another process (the
// `agora miner labelers` command) may change the file while a miner runs:
// Check and Active reread it when its size, time or identity changed, so a
// revocation reaches a running hub, and Add, Revoke and Rotate reread it
// before they change it. Two processes changing the file at the same
// instant can lose one change; the commands that change it are run by
// hand, one at a time.
//
// All methods are safe for concurrent use.
type Tokens struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	entries []tokenEntry
	hashes  [][sha256.Size]byte // of entries, same order
	stat    fs.FileInfo         // of the file when last read; nil if it did not exist
}

// OpenTokens opens the labeler tokens file at path. A file that does not
// exist is an empty set, written on the first Add.
func OpenTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path, now: time.Now}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reloadLocked(true); err != nil {
		return nil, fmt.Errorf("rlhf: open labeler tokens: %w", err)
	}
	return t, nil
}

// ValidateLabelerName returns an error unless name can name a labeler: 1
// to MaxLabelerNameBytes bytes of ASCII letters, digits, '.', '_' and '-',
// starting with a letter or a digit.
func ValidateLabelerName(name string) error {
	if name == "" {
		return errors.New("labeler name is empty")
	}
	if len(name) > MaxLabelerNameBytes {
		return fmt.Errorf("labeler name is %d bytes, more than %d", len(name), MaxLabelerNameBytes)
	}
	for i, c := range []byte(name) {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if i == 0 && !alnum {
			return fmt.Errorf("labeler name %q must start with a letter or a digit", name)
		}
		if !alnum && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("labeler name %q has %q at byte %d: use letters, digits, '.', '_' and '-'", name, rune(c), i)
		}
	}
	return nil
}

// reloadLocked reads the file if it changed since it was last read (or
// always, if force). A missing file is an empty set.
func (t *Tokens) reloadLocked(force bool) error {
	st, err := os.Stat(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		t.entries, t.hashes, t.stat = nil, nil, nil
		return nil
	}
	if err != nil {
		return err
	}
	if !force && t.stat != nil && os.SameFile(st, t.stat) && st.Size() == t.stat.Size() && st.ModTime().Equal(t.stat.ModTime()) {
		return nil
	}
	data, err := os.ReadFile(t.path)
	if err != nil {
		return err
	}
	var doc tokensFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("%s: %w", t.path, err)
	}
	if doc.Version != 1 {
		return fmt.Errorf("%s: version %d, want 1", t.path, doc.Version)
	}
	hashes := make([][sha256.Size]byte, len(doc.Labelers))
	seen := map[string]bool{}
	for i, e := range doc.Labelers {
		if err := ValidateLabelerName(e.Name); err != nil {
			return fmt.Errorf("%s: labeler %d: %w", t.path, i, err)
		}
		if seen[e.Name] {
			return fmt.Errorf("%s: labeler %q is listed twice", t.path, e.Name)
		}
		seen[e.Name] = true
		h, err := hex.DecodeString(e.TokenSHA256)
		if err != nil || len(h) != sha256.Size {
			return fmt.Errorf("%s: labeler %q: token_sha256 is not 64 hex digits", t.path, e.Name)
		}
		copy(hashes[i][:], h)
	}
	t.entries, t.hashes, t.stat = doc.Labelers, hashes, st
	return nil
}

// saveLocked writes entries to the file atomically and makes them current.
func (t *Tokens) saveLocked(entries []tokenEntry) error {
	slices.SortFunc(entries, func(a, b tokenEntry) int { return strings.Compare(a.Name, b.Name) })
	data, err := json.MarshalIndent(tokensFile{Version: 1, Labelers: entries}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(t.path, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return t.reloadLocked(true)
}

// newToken returns a fresh token and its SHA-256.
func newToken() (string, [sha256.Size]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", [sha256.Size]byte{}, err
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return tok, sha256.Sum256([]byte(tok)), nil
}

// Add adds a labeler and returns its new token. The token is not stored
// (only its SHA-256 is) and cannot be shown again: print it once. Names
// are never reused, because labels are keyed by name: Add fails with
// ErrLabelerExists for a name that is active or was revoked.
func (t *Tokens) Add(name string) (string, error) {
	fail := func(err error) (string, error) { return "", fmt.Errorf("rlhf: add labeler %q: %w", name, err) }
	if err := ValidateLabelerName(name); err != nil {
		return fail(err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reloadLocked(false); err != nil {
		return fail(err)
	}
	for _, e := range t.entries {
		if e.Name == name {
			if e.Revoked() {
				return fail(fmt.Errorf("%w (revoked %s; names are not reused because labels are keyed by name)", ErrLabelerExists, e.RevokedAt.Format(time.RFC3339)))
			}
			return fail(ErrLabelerExists)
		}
	}
	tok, h, err := newToken()
	if err != nil {
		return fail(err)
	}
	entries := append(slices.Clone(t.entries), tokenEntry{
		Labeler:     Labeler{Name: name, CreatedAt: t.now().UTC().Truncate(time.Second)},
		TokenSHA256: hex.EncodeToString(h[:]),
	})
	if err := t.saveLocked(entries); err != nil {
		return fail(err)
	}
	return tok, nil
}

// Rotate gives an existing labeler a new token and returns it; the old one
// stops working. It re-activates a revoked labeler under the same name.
func (t *Tokens) Rotate(name string) (string, error) {
	fail := func(err error) (string, error) { return "", fmt.Errorf("rlhf: rotate labeler token %q: %w", name, err) }
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reloadLocked(false); err != nil {
		return fail(err)
	}
	i := slices.IndexFunc(t.entries, func(e tokenEntry) bool { return e.Name == name })
	if i < 0 {
		return fail(ErrNoSuchLabeler)
	}
	tok, h, err := newToken()
	if err != nil {
		return fail(err)
	}
	entries := slices.Clone(t.entries)
	entries[i].TokenSHA256 = hex.EncodeToString(h[:])
	entries[i].CreatedAt = t.now().UTC().Truncate(time.Second)
	entries[i].RevokedAt = time.Time{}
	if err := t.saveLocked(entries); err != nil {
		return fail(err)
	}
	return tok, nil
}

// Revoke revokes a labeler's token: Check refuses it from then on, and a
// hub disconnects the labeler's open pages within a tick. The name stays
// in the file, revoked, so it is not reused. Revoking a revoked labeler
// does nothing.
func (t *Tokens) Revoke(name string) error {
	fail := func(err error) error { return fmt.Errorf("rlhf: revoke labeler %q: %w", name, err) }
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reloadLocked(false); err != nil {
		return fail(err)
	}
	i := slices.IndexFunc(t.entries, func(e tokenEntry) bool { return e.Name == name })
	if i < 0 {
		return fail(ErrNoSuchLabeler)
	}
	if t.entries[i].Revoked() {
		return nil
	}
	entries := slices.Clone(t.entries)
	entries[i].RevokedAt = t.now().UTC().Truncate(time.Second)
	if err := t.saveLocked(entries); err != nil {
		return fail(err)
	}
	return nil
}

// List returns every labeler, revoked ones included, sorted by name. It
// rereads the file if it changed; if that fails, it returns what it last
// read and the error.
func (t *Tokens) List() ([]Labeler, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.reloadLocked(false)
	if err != nil {
		err = fmt.Errorf("rlhf: list labelers: %w", err)
	}
	out := make([]Labeler, len(t.entries))
	for i, e := range t.entries {
		out[i] = e.Labeler
	}
	slices.SortFunc(out, func(a, b Labeler) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// Check returns the name of the active labeler whose token is token. It
// compares the token's SHA-256 with every stored hash in constant time,
// without stopping at a match, so its timing says nothing about which
// hash matched or how close a guess came. If the file changed, Check
// rereads it first; if that fails, it answers from what it last read.
func (t *Tokens) Check(token string) (labeler string, ok bool) {
	h := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.reloadLocked(false)
	match := -1
	for i := range t.hashes {
		if subtle.ConstantTimeCompare(h[:], t.hashes[i][:]) == 1 {
			match = i
		}
	}
	if match < 0 || t.entries[match].Revoked() {
		return "", false
	}
	return t.entries[match].Name, true
}

// Active reports whether name is a labeler that is not revoked, rereading
// the file if it changed. A hub calls it to disconnect revoked labelers.
func (t *Tokens) Active(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.reloadLocked(false)
	for _, e := range t.entries {
		if e.Name == name {
			return !e.Revoked()
		}
	}
	return false
}

// Path returns the tokens file name.
func (t *Tokens) Path() string { return t.path }
