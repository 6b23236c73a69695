package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// hashBuckets is how many buckets the app hash spreads records over.
const hashBuckets = 256

// hasher keeps the app hash incrementally: every record has a leaf hash,
// sha256(len(key) ‖ key ‖ value); records fall into buckets by the first
// byte of sha256(key); a bucket's hash covers its leaves in key order; the
// app hash is sha256 of the bucket hashes. A block rehashes only the
// records it changed and the buckets they fall in.
type hasher struct {
	leaves  [hashBuckets]map[string][32]byte
	buckets [hashBuckets][32]byte
	touched [hashBuckets]bool
}

func newHasher() *hasher {
	h := &hasher{}
	for i := range h.leaves {
		h.leaves[i] = map[string][32]byte{}
	}
	for i := range h.buckets {
		h.buckets[i] = h.bucketHash(i)
	}
	return h
}

func bucketOf(key string) int {
	sum := sha256.Sum256([]byte(key))
	return int(sum[0])
}

// set records the value of key (nil: deleted).
func (h *hasher) set(key string, value []byte) {
	b := bucketOf(key)
	h.touched[b] = true
	if value == nil {
		delete(h.leaves[b], key)
		return
	}
	d := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(key)))
	d.Write(n[:])
	d.Write([]byte(key))
	d.Write(value)
	var leaf [32]byte
	d.Sum(leaf[:0])
	h.leaves[b][key] = leaf
}

func (h *hasher) bucketHash(b int) [32]byte {
	keys := make([]string, 0, len(h.leaves[b]))
	for k := range h.leaves[b] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	d := sha256.New()
	for _, k := range keys {
		leaf := h.leaves[b][k]
		d.Write(leaf[:])
	}
	var out [32]byte
	d.Sum(out[:0])
	return out
}

// root rehashes the touched buckets and returns the app hash.
func (h *hasher) root() []byte {
	d := sha256.New()
	for b := range h.buckets {
		if h.touched[b] {
			h.buckets[b] = h.bucketHash(b)
			h.touched[b] = false
		}
		d.Write(h.buckets[b][:])
	}
	return d.Sum(nil)
}
