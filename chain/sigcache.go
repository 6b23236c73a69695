package chain

import (
	"sync"

	"github.com/oasisprotocol/curve25519-voi/curve"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
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

// zip215 are the verification rules of every signature on the chain:
// ZIP-215's, as CometBFT's own ed25519 verification, the same on every
// node and in batch verification (implementations that check the
// cofactorless equation differ on edge-case encodings).
var zip215 = &voied.Options{Verify: voied.VerifyOptionsZIP_215}

// expandSigner returns pub expanded for verification (its point
// decompressed and a table of its multiples computed, which makes each
// verification ~20% cheaper), or nil if pub may not sign: weakSigner.
func expandSigner(pub AccountID) *voied.ExpandedPublicKey {
	if weakSigner(pub) {
		return nil
	}
	k, err := voied.NewExpandedPublicKey(pub[:])
	if err != nil {
		return nil // not reached: weakSigner decoded pub
	}
	return k
}

// sigCache remembers the hashes of transactions whose signature verified,
// so that a transaction is verified once per node, in CheckTx, rather than
// again in PrepareProposal and FinalizeBlock (ed25519 verification is most
// of a transfer's cost). The hash covers the signature, so a hit means
// these exact bytes verified before. The cache only skips work: a miss
// verifies again, so forgetting an entry cannot change any result.
//
// It is safe for concurrent use, and an entry added is there for the next
// lookup: PreCheckTx fills it outside the ABCI lock and CheckTx reads it
// right after. (A ristretto cache buffers its Sets and applies them later,
// so it may not be.)
type sigCache struct {
	txs *recent[[32]byte, struct{}]
	// keys remembers expandSigner per key, nil for a weak one: the weak
	// check and the expansion cost ~13 us, and signers repeat.
	keys *recent[AccountID, *voied.ExpandedPublicKey]
}

// sigCacheSize is about how many verified transactions the cache holds: a
// few full mempools.
const sigCacheSize = 200_000

// signerCacheSize is about how many signers' expanded keys the cache
// holds, ~1.5 KiB each.
const signerCacheSize = 8192

func newSigCache() *sigCache {
	return &sigCache{txs: newRecent[[32]byte, struct{}](sigCacheSize), keys: newRecent[AccountID, *voied.ExpandedPublicKey](signerCacheSize)}
}

// signer is expandSigner, remembered per key. A nil cache remembers
// nothing.
func (s *sigCache) signer(pub AccountID) *voied.ExpandedPublicKey {
	if s == nil {
		return expandSigner(pub)
	}
	if k, ok := s.keys.get(pub); ok {
		return k
	}
	k := expandSigner(pub)
	s.keys.put(pub, k)
	return k
}

// has reports whether hash verified before. A nil cache has nothing.
func (s *sigCache) has(hash [32]byte) bool {
	if s == nil {
		return false
	}
	_, ok := s.txs.get(hash)
	return ok
}

func (s *sigCache) add(hash [32]byte) {
	if s != nil {
		s.txs.put(hash, struct{}{})
	}
}

// recent is a map that keeps the last entries put into it: between size/2
// and size of them. New entries go into a young generation; when it holds
// size/2 it becomes the old one and the old one is dropped. It is safe for
// concurrent use.
type recent[K comparable, V any] struct {
	mu         sync.Mutex
	half       int
	young, old map[K]V
}

func newRecent[K comparable, V any](size int) *recent[K, V] {
	return &recent[K, V]{half: max(size/2, 1), young: map[K]V{}}
}

func (r *recent[K, V]) get(k K) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.young[k]; ok {
		return v, true
	}
	v, ok := r.old[k]
	return v, ok
}

func (r *recent[K, V]) put(k K, v V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.young) >= r.half {
		r.old, r.young = r.young, map[K]V{}
	}
	r.young[k] = v
}
