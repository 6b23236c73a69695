package keys

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// KeyfileVersion is the version of the keyfile format that Encode writes
// and Decode reads.
const KeyfileVersion = 1

// Kind says what a key is for.
type Kind string

// The kinds of key.
const (
	Coldkey Kind = "coldkey" // holds balance, owns hotkeys and stake
	Hotkey  Kind = "hotkey"  // a neuron's identity on a subnet
)

// KDFParams are the argon2id parameters that stretch a password into the
// keyfile's encryption key. They are stored in each file, so they can be
// raised for new files without breaking old ones.
type KDFParams struct {
	Time      uint32 // passes over the memory, >= 1
	MemoryKiB uint32 // memory in KiB, >= 8 × Threads
	Threads   uint8  // lanes, >= 1
}

// DefaultKDF is the argon2id cost for keys a person unlocks interactively:
// 3 passes over 64 MiB with 2 lanes, a few hundred milliseconds on a
// laptop. It is RFC 9106's second recommended option (64 MiB, 3 passes)
// with 2 lanes instead of 4.
func DefaultKDF() KDFParams { return KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 2} }

// Limits on the KDF parameters a keyfile may ask for, so that a hostile
// file cannot make Decrypt use unbounded time or memory.
const (
	MaxKDFTime      = 64
	MaxKDFMemoryKiB = 4 * 1024 * 1024 // 4 GiB
)

// Validate reports whether p is usable and within the limits Decode
// accepts.
func (p KDFParams) Validate() error {
	switch {
	case p.Time < 1 || p.Time > MaxKDFTime:
		return fmt.Errorf("keys: argon2id time %d is outside [1, %d]", p.Time, MaxKDFTime)
	case p.Threads < 1:
		return errors.New("keys: argon2id threads must be at least 1")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > MaxKDFMemoryKiB:
		return fmt.Errorf("keys: argon2id memory %d KiB is outside [%d, %d]", p.MemoryKiB, 8*uint32(p.Threads), MaxKDFMemoryKiB)
	}
	return nil
}

const (
	cipherNone    = "none"
	cipherXChaCha = "xchacha20-poly1305"
	kdfArgon2id   = "argon2id"
	saltSize      = 16
)

// ErrDecrypt is wrapped by Decrypt's error when the password is wrong or
// the sealed part of the file was changed: the two cannot be told apart.
var ErrDecrypt = errors.New("keys: wrong password or corrupted keyfile")

// ErrBadKeyfile is wrapped by Decode's errors for files that are not
// well-formed keyfiles.
var ErrBadKeyfile = errors.New("keys: bad keyfile")

// Keyfile is one key as stored on disk: its public part in clear, its
// secret sealed (or, for an unencrypted hotkey, in clear). The JSON form,
// version 1:
//
//	{
//	  "version": 1,
//	  "kind": "coldkey" | "hotkey",
//	  "address": "agora1…",                 // bech32m of public_key; checked on decode
//	  "public_key": "<64 hex>",
//	  "cipher": "xchacha20-poly1305" | "none",
//	  "kdf": {"name": "argon2id", "time": 3, "memory_kib": 65536, "threads": 2, "salt": "<32 hex>"},
//	  "nonce": "<48 hex>",                  // 24 random bytes
//	  "ciphertext": "<96 hex>",             // the 32-byte ed25519 seed + 16-byte tag
//	  "seed": "<64 hex>"                    // only with cipher "none", instead of kdf/nonce/ciphertext
//	}
//
// The encryption key is argon2id(password, salt, time, memory, threads,
// 32 bytes); the associated data is the string returned by aad, which binds
// the version, kind, public key, KDF parameters and salt, so none of the
// clear fields can be changed without Decrypt failing. Decrypt also checks
// that the seed yields the stored public key.
type Keyfile struct {
	Kind      Kind
	PublicKey PublicKey
	// KDF is the argon2id cost of an encrypted file; zero if unencrypted.
	KDF KDFParams

	salt, nonce, ciphertext []byte
	seed                    []byte // unencrypted files only
}

// Encrypted reports whether the secret is sealed under a password.
func (f *Keyfile) Encrypted() bool { return f.seed == nil }

// Address returns the address of the key.
func (f *Keyfile) Address() string { return f.PublicKey.Address() }

// EncryptKey seals k under password with the argon2id cost p, a fresh
// random salt and nonce. password must not be empty.
func EncryptKey(k *PrivateKey, kind Kind, password []byte, p KDFParams) (*Keyfile, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	if len(password) == 0 {
		return nil, errors.New("keys: empty password")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	f := &Keyfile{Kind: kind, PublicKey: k.PublicKey(), KDF: p,
		salt: make([]byte, saltSize), nonce: make([]byte, chacha20poly1305.NonceSizeX)}
	if _, err := io.ReadFull(rand.Reader, f.salt); err != nil {
		return nil, fmt.Errorf("keys: random salt: %w", err)
	}
	if _, err := io.ReadFull(rand.Reader, f.nonce); err != nil {
		return nil, fmt.Errorf("keys: random nonce: %w", err)
	}
	aead, err := chacha20poly1305.NewX(f.stretch(password))
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	seed := k.Seed()
	f.ciphertext = aead.Seal(nil, f.nonce, seed, f.aad())
	clear(seed)
	return f, nil
}

// PlainKey wraps k in an unencrypted keyfile: the file mode is its only
// protection. Meant for hotkeys that daemons load unattended.
func PlainKey(k *PrivateKey, kind Kind) (*Keyfile, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	return &Keyfile{Kind: kind, PublicKey: k.PublicKey(), seed: k.Seed()}, nil
}

// Decrypt returns the private key of f. password is ignored for an
// unencrypted file. A wrong password, or any change to the file, gives an
// error wrapping ErrDecrypt.
func (f *Keyfile) Decrypt(password []byte) (*PrivateKey, error) {
	seed := f.seed
	if f.Encrypted() {
		aead, err := chacha20poly1305.NewX(f.stretch(password))
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		seed, err = aead.Open(nil, f.nonce, f.ciphertext, f.aad())
		if err != nil {
			return nil, fmt.Errorf("%w (authentication failed)", ErrDecrypt)
		}
		defer clear(seed)
	}
	k, err := NewPrivateKeyFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	if k.PublicKey() != f.PublicKey {
		return nil, fmt.Errorf("%w (the secret does not match the public key)", ErrDecrypt)
	}
	return k, nil
}

func (f *Keyfile) stretch(password []byte) []byte {
	return argon2.IDKey(password, f.salt, f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads, chacha20poly1305.KeySize)
}

// aad is the associated data of the seal: every clear field that matters.
func (f *Keyfile) aad() []byte {
	return fmt.Appendf(nil, "agora keyfile v%d\nkind=%s\npublic_key=%x\ncipher=%s\nkdf=%s t=%d m=%d p=%d salt=%x\n",
		KeyfileVersion, f.Kind, f.PublicKey[:], cipherXChaCha, kdfArgon2id, f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads, f.salt)
}

func checkKind(k Kind) error {
	if k != Coldkey && k != Hotkey {
		return fmt.Errorf("keys: unknown key kind %q", k)
	}
	return nil
}

type keyfileJSON struct {
	Version    int      `json:"version"`
	Kind       Kind     `json:"kind"`
	Address    string   `json:"address"`
	PublicKey  string   `json:"public_key"`
	Cipher     string   `json:"cipher"`
	KDF        *kdfJSON `json:"kdf,omitempty"`
	Nonce      string   `json:"nonce,omitempty"`
	Ciphertext string   `json:"ciphertext,omitempty"`
	Seed       string   `json:"seed,omitempty"`
}

type kdfJSON struct {
	Name      string `json:"name"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      string `json:"salt"`
}

// Encode returns f in the JSON keyfile format, ending in a newline.
func (f *Keyfile) Encode() []byte {
	j := keyfileJSON{Version: KeyfileVersion, Kind: f.Kind, Address: f.Address(), PublicKey: f.PublicKey.Hex()}
	if f.Encrypted() {
		j.Cipher = cipherXChaCha
		j.KDF = &kdfJSON{Name: kdfArgon2id, Time: f.KDF.Time, MemoryKiB: f.KDF.MemoryKiB, Threads: f.KDF.Threads, Salt: hex.EncodeToString(f.salt)}
		j.Nonce = hex.EncodeToString(f.nonce)
		j.Ciphertext = hex.EncodeToString(f.ciphertext)
	} else {
		j.Cipher = cipherNone
		j.Seed = hex.EncodeToString(f.seed)
	}
	b, _ := json.MarshalIndent(j, "", "  ") // plain strings and numbers: cannot fail
	return append(b, '\n')
}

// DecodeKeyfile parses a keyfile. It checks the structure (version, kind,
// lengths, KDF limits, that the address matches the public key) but not
// the password; Decrypt does that. Errors wrap ErrBadKeyfile. It never
// panics, whatever data holds.
func DecodeKeyfile(data []byte) (*Keyfile, error) {
	bad := func(format string, args ...any) (*Keyfile, error) {
		return nil, fmt.Errorf("%w: %s", ErrBadKeyfile, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var j keyfileJSON
	if err := dec.Decode(&j); err != nil {
		return bad("not keyfile JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("trailing data after the JSON object")
	}
	if j.Version != KeyfileVersion {
		if j.Version > KeyfileVersion {
			return bad("version %d is newer than this program reads (%d); upgrade agora", j.Version, KeyfileVersion)
		}
		return bad("version %d, want %d", j.Version, KeyfileVersion)
	}
	if err := checkKind(j.Kind); err != nil {
		return bad("kind %q, want %q or %q", j.Kind, Coldkey, Hotkey)
	}
	f := &Keyfile{Kind: j.Kind}
	pk, err := decodeHex("public_key", j.PublicKey, PublicKeySize)
	if err != nil {
		return bad("%v", err)
	}
	copy(f.PublicKey[:], pk)
	if j.Address != f.Address() {
		return bad("address %q does not match public key %s", j.Address, j.PublicKey)
	}
	switch j.Cipher {
	case cipherNone:
		if j.KDF != nil || j.Nonce != "" || j.Ciphertext != "" {
			return bad(`cipher "none" with kdf, nonce or ciphertext`)
		}
		if f.seed, err = decodeHex("seed", j.Seed, SeedSize); err != nil {
			return bad("%v", err)
		}
	case cipherXChaCha:
		if j.Seed != "" {
			return bad("an encrypted keyfile with a clear seed")
		}
		if j.KDF == nil || j.KDF.Name != kdfArgon2id {
			return bad("kdf must be %q", kdfArgon2id)
		}
		f.KDF = KDFParams{Time: j.KDF.Time, MemoryKiB: j.KDF.MemoryKiB, Threads: j.KDF.Threads}
		if err := f.KDF.Validate(); err != nil {
			return bad("%v", err)
		}
		if f.salt, err = decodeHex("kdf.salt", j.KDF.Salt, saltSize); err != nil {
			return bad("%v", err)
		}
		if f.nonce, err = decodeHex("nonce", j.Nonce, chacha20poly1305.NonceSizeX); err != nil {
			return bad("%v", err)
		}
		if f.ciphertext, err = decodeHex("ciphertext", j.Ciphertext, SeedSize+chacha20poly1305.Overhead); err != nil {
			return bad("%v", err)
		}
	default:
		return bad("cipher %q, want %q or %q", j.Cipher, cipherXChaCha, cipherNone)
	}
	return f, nil
}

func decodeHex(field, s string, n int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not hex", field)
	}
	if len(b) != n {
		return nil, fmt.Errorf("%s is %d bytes, want %d", field, len(b), n)
	}
	return b, nil
}
