package keys

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	voied25519 "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// PublicKeySize is the length of a public key in bytes.
const PublicKeySize = ed25519.PublicKeySize

// SeedSize is the length of a private key seed in bytes.
const SeedSize = ed25519.SeedSize

// SignatureSize is the length of a signature in bytes.
const SignatureSize = ed25519.SignatureSize

// PublicKey is an ed25519 public key: an account on the chain. It is
// comparable, so it can key a map.
type PublicKey [PublicKeySize]byte

// PublicKeyFromBytes returns b as a PublicKey, or an error if b is not
// PublicKeySize bytes long. It does not check that b is a curve point;
// Verify fails for keys that are not.
func PublicKeyFromBytes(b []byte) (PublicKey, error) {
	var pk PublicKey
	if len(b) != PublicKeySize {
		return pk, fmt.Errorf("keys: public key is %d bytes, want %d", len(b), PublicKeySize)
	}
	copy(pk[:], b)
	return pk, nil
}

// Address returns the printable address of pk (see ParseAddress).
func (pk PublicKey) Address() string { return encodeAddress(pk) }

// String returns the address of pk.
func (pk PublicKey) String() string { return pk.Address() }

// Hex returns pk as 64 lower-case hex digits.
func (pk PublicKey) Hex() string { return hex.EncodeToString(pk[:]) }

// Verify reports whether sig is pk's valid ed25519 signature of msg, with
// exactly crypto/ed25519's rules (RFC 8032, cofactorless, canonical s).
// It runs on curve25519-voi, which CometBFT already uses: about 1.6x the
// speed of crypto/ed25519, which matters on a miner checking every request.
func (pk PublicKey) Verify(msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	return voied25519.VerifyWithOptions(pk[:], msg, sig, stdlibRules)
}

// stdlibRules are crypto/ed25519's verification rules in curve25519-voi.
var stdlibRules = &voied25519.Options{Verify: voied25519.VerifyOptionsStdLib}

// ExpandedPublicKey is a PublicKey decoded and precomputed once for
// checking many signatures: Verify gives exactly PublicKey.Verify's answers
// in about four fifths of its time. It holds about 1.5 KiB and is safe for
// concurrent use; a receiver keeps one per frequent signer.
type ExpandedPublicKey struct {
	pk PublicKey
	x  *voied25519.ExpandedPublicKey
}

// Expand returns pk precomputed for Verify, or an error if pk is not the
// encoding of a curve point (PublicKey.Verify accepts no signature under
// such a key).
func (pk PublicKey) Expand() (*ExpandedPublicKey, error) {
	x, err := voied25519.NewExpandedPublicKey(pk[:])
	if err != nil {
		return nil, fmt.Errorf("keys: expand public key %s: %w", pk.Address(), err)
	}
	return &ExpandedPublicKey{pk: pk, x: x}, nil
}

// PublicKey returns the key k was expanded from.
func (k *ExpandedPublicKey) PublicKey() PublicKey { return k.pk }

// Verify reports whether sig is k's valid ed25519 signature of msg, with
// the same rules and answers as PublicKey.Verify.
func (k *ExpandedPublicKey) Verify(msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	return voied25519.VerifyExpandedWithOptions(k.x, msg, sig, stdlibRules)
}

// PrivateKey is an ed25519 signing key. Its zero value is not usable; get
// one from NewPrivateKeyFromSeed, FromMnemonic or a Keyfile. A PrivateKey
// is safe for concurrent use.
type PrivateKey struct {
	priv ed25519.PrivateKey
	pub  PublicKey
	addr string // pub.Address(), computed once: responses carry it
}

// NewPrivateKeyFromSeed returns the key whose RFC 8032 private seed is seed
// (SeedSize bytes). The key keeps its own copy of seed.
func NewPrivateKeyFromSeed(seed []byte) (*PrivateKey, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("keys: private key seed is %d bytes, want %d", len(seed), SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	k := &PrivateKey{priv: priv}
	copy(k.pub[:], priv[SeedSize:])
	k.addr = k.pub.Address()
	return k, nil
}

// PublicKey returns the public key of k.
func (k *PrivateKey) PublicKey() PublicKey { return k.pub }

// Address returns the address of k's public key.
func (k *PrivateKey) Address() string { return k.addr }

// Seed returns a copy of k's SeedSize-byte private seed, the secret that a
// keyfile stores.
func (k *PrivateKey) Seed() []byte { return append([]byte(nil), k.priv.Seed()...) }

// Sign returns the ed25519 signature of msg by k, SignatureSize bytes.
//
// It signs with curve25519-voi, whose precomputed tables make it about
// twice as fast as crypto/ed25519; ed25519 signatures are deterministic,
// so the bytes are the same.
func (k *PrivateKey) Sign(msg []byte) []byte {
	return voied25519.Sign(voied25519.PrivateKey(k.priv), msg)
}

// Ed25519 returns a copy of k as a crypto/ed25519 private key, for
// libraries that want one.
func (k *PrivateKey) Ed25519() ed25519.PrivateKey { return append(ed25519.PrivateKey(nil), k.priv...) }
