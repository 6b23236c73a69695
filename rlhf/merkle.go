package rlhf

import (
	"crypto/sha256"
	"errors"
	"fmt"
)

// Merkle trees as RFC 6962 (Certificate Transparency) section 2.1 defines
// them, with SHA-256:
//
//	MTH({})     = SHA-256()
//	MTH({d0})   = SHA-256(0x00 || d0)                      leaf hash
//	MTH(D[n])   = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  node hash, k the largest power of two < n
//
// The 0x00 and 0x01 prefixes keep a leaf from ever passing for a node. The
// split at the largest power of two is the same tree as building it bottom
// up and promoting an odd last node unchanged to the next level, which is
// how MerkleTree builds it.

// LeafHash returns the RFC 6962 hash of a leaf: SHA-256(0x00 || data).
func LeafHash(data []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// NodeHash returns the RFC 6962 hash of an inner node: SHA-256(0x01 || l || r).
func NodeHash(l, r [32]byte) [32]byte {
	var b [65]byte
	b[0] = 1
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// MerkleTree is an RFC 6962 Merkle tree over a fixed list of leaves. It is
// immutable after NewMerkleTree and safe for concurrent use.
type MerkleTree struct {
	levels [][][32]byte // levels[0] are the leaf hashes, the last level is the root (if any leaves)
}

// NewMerkleTree builds the tree over leaves (the leaf data, hashed with
// LeafHash). It keeps every level: 64 bytes per leaf.
func NewMerkleTree(leaves [][]byte) *MerkleTree {
	level := make([][32]byte, len(leaves))
	for i, d := range leaves {
		level[i] = LeafHash(d)
	}
	t := &MerkleTree{levels: [][][32]byte{level}}
	for len(level) > 1 {
		next := make([][32]byte, (len(level)+1)/2)
		for i := range next {
			if 2*i+1 < len(level) {
				next[i] = NodeHash(level[2*i], level[2*i+1])
			} else {
				next[i] = level[2*i] // an odd last node is promoted
			}
		}
		t.levels = append(t.levels, next)
		level = next
	}
	return t
}

// MerkleRoot returns the RFC 6962 root over leaves: NewMerkleTree(leaves).Root().
func MerkleRoot(leaves [][]byte) [32]byte { return NewMerkleTree(leaves).Root() }

// Size returns the number of leaves.
func (t *MerkleTree) Size() int { return len(t.levels[0]) }

// Root returns the tree's root hash; for no leaves, SHA-256 of nothing.
func (t *MerkleTree) Root() [32]byte {
	top := t.levels[len(t.levels)-1]
	if len(top) == 0 {
		return sha256.Sum256(nil)
	}
	return top[0]
}

// Proof returns the inclusion proof of leaf i (RFC 6962 section 2.1.1's
// audit path, RFC 9162's inclusion proof): the sibling hashes from the
// leaf up to the root, which VerifyProof checks.
func (t *MerkleTree) Proof(i int) ([][32]byte, error) {
	if i < 0 || i >= t.Size() {
		return nil, fmt.Errorf("rlhf: merkle proof: leaf %d of a tree of %d", i, t.Size())
	}
	var proof [][32]byte
	for _, level := range t.levels[:len(t.levels)-1] {
		if s := i ^ 1; s < len(level) {
			proof = append(proof, level[s])
		} // else i is an odd last node, promoted with no sibling
		i /= 2
	}
	return proof, nil
}

// VerifyProof checks that leaf (the leaf data, not its hash) is leaf index
// of a tree of size leaves with the given root, using the algorithm of
// RFC 9162 section 2.1.3.2. It returns nil if and only if the proof holds.
func VerifyProof(leaf []byte, index, size int, proof [][32]byte, root [32]byte) error {
	if index < 0 || index >= size {
		return fmt.Errorf("rlhf: merkle proof: index %d out of a tree of %d", index, size)
	}
	fn, sn := uint64(index), uint64(size-1)
	r := LeafHash(leaf)
	for _, p := range proof {
		if sn == 0 {
			return errors.New("rlhf: merkle proof: longer than the tree is deep")
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return errors.New("rlhf: merkle proof: shorter than the tree is deep")
	}
	if r != root {
		return errors.New("rlhf: merkle proof: does not lead to the root")
	}
	return nil
}
