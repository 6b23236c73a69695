package chain

import (
	cmted "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/oasisprotocol/curve25519-voi/curve"
)

// weakSigner reports whether pub is not the canonical encoding of a point
// of large order. ZIP-215 verification accepts, for such a key, signatures
// that anyone can make (S = 0 with R the identity), so no transaction may
// be signed by one: funds sent to it are burned, not up for grabs.
func weakSigner(pub AccountID) bool {
	var c curve.CompressedEdwardsY
	copy(c[:], pub[:])
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&c); err != nil {
		return true
	}
	var back curve.CompressedEdwardsY
	back.SetEdwardsPoint(&p)
	return back != c || p.IsSmallOrder()
}

// verifySig checks an ed25519 signature with CometBFT's verifier: ZIP-215
// rules (the same on every node and with batch verification, unlike
// implementations that differ on edge-case encodings), and a cache of
// expanded public keys that makes a repeat signer's check about twice as
// fast as crypto/ed25519's.
func verifySig(pub AccountID, msg, sig []byte) bool {
	return cmted.PubKey(pub[:]).VerifySignature(msg, sig)
}

// sigCache remembers the hashes of transactions whose signature verified,
// so that a transaction is verified once per node, in CheckTx, rather than
// again in PrepareProposal and FinalizeBlock (ed25519 verification is most
// of a transfer's cost). The hash covers the signature, so a hit means
// these exact bytes verified before. The cache only skips work: a miss
// verifies again, so eviction cannot change any result.
type sigCache struct {
	c *ristretto.Cache[string, struct{}]
	// keys remembers weakSigner's verdict per key: the check decompresses
	// the point, ~7 us, and signers repeat.
	keys *ristretto.Cache[string, bool]
}

// sigCacheSize is how many verified transactions the cache holds: a few
// full mempools.
const sigCacheSize = 200_000

func newSigCache() (*sigCache, error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, struct{}]{
		NumCounters: 10 * sigCacheSize,
		MaxCost:     sigCacheSize,
		BufferItems: 64,
		// Each entry costs 1: without this ristretto adds its own ~56
		// bytes of overhead to every entry's cost and holds ~3,500
		// transactions instead of sigCacheSize.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	keys, err := ristretto.NewCache(&ristretto.Config[string, bool]{
		NumCounters:        10 * sigCacheSize,
		MaxCost:            sigCacheSize,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return &sigCache{c: c, keys: keys}, nil
}

// weak is weakSigner, remembered per key. A nil cache remembers nothing.
func (s *sigCache) weak(pub AccountID) bool {
	if s == nil {
		return weakSigner(pub)
	}
	if v, ok := s.keys.Get(string(pub[:])); ok {
		return v
	}
	v := weakSigner(pub)
	s.keys.Set(string(pub[:]), v, 1)
	return v
}

// has reports whether hash verified before. A nil cache has nothing.
func (s *sigCache) has(hash [32]byte) bool {
	if s == nil {
		return false
	}
	_, ok := s.c.Get(string(hash[:]))
	return ok
}

func (s *sigCache) add(hash [32]byte) {
	if s != nil {
		s.c.Set(string(hash[:]), struct{}{}, 1)
	}
}

func (s *sigCache) close() {
	if s != nil {
		s.c.Close()
		s.keys.Close()
	}
}
