package scoring

import "math/bits"

// SimHash returns the 64-bit Charikar SimHash of text: every word
// 3-shingle (lowercased words, punctuation and spacing ignored) is hashed
// to 64 bits and each output bit is the majority vote of that bit over the
// shingles. Texts with fewer than three words use one shingle of all their
// words; a text with no words hashes to 0. Texts that differ only in case,
// spacing or punctuation hash equal; changing one word of a 60-word answer
// typically moves the hash about 5 bits (3-shingles favour never confusing
// different answers over catching edited ones); unrelated texts are about
// 32 bits apart. Only the first 8192 words count. It does not allocate and is safe for
// concurrent use.
func SimHash(text string) uint64 {
	// Bit-sliced vertical counters: bit b of c[k] is bit k of the number
	// of shingles with bit b set, so one shingle costs a few word
	// operations instead of 64 additions.
	var c [14]uint64 // counts up to 2^14 > ufMaxWords
	add := func(h uint64) {
		for k := 0; h != 0 && k < len(c); k++ {
			c[k], h = c[k]^h, c[k]&h
		}
	}
	it := ufWordIter{s: text}
	var w [3]uint64
	nw, shingles := 0, 0
	for nw < ufMaxWords {
		h, _, ok := it.next()
		if !ok {
			break
		}
		w[0], w[1], w[2] = w[1], w[2], h
		nw++
		if nw >= 3 {
			add(ufShingle(w[:]))
			shingles++
		}
	}
	switch nw {
	case 0:
		return 0
	case 1, 2:
		add(ufShingle(w[3-nw:]))
		shingles = 1
	}
	var out uint64
	for b := 0; b < 64; b++ {
		cnt := 0
		for k := range c {
			cnt |= int(c[k]>>uint(b)&1) << k
		}
		if 2*cnt > shingles { // a strict majority of shingles have bit b
			out |= 1 << uint(b)
		}
	}
	return out
}

// HammingDistance returns the number of differing bits of a and b, in
// [0,64].
func HammingDistance(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// SimHashSimilarity returns 1 - HammingDistance(a,b)/64, in [0,1]: 1 for
// equal hashes, about 0.5 for unrelated texts. It is the similarity that
// [UsefulInput] expects.
func SimHashSimilarity(a, b uint64) float64 {
	return 1 - float64(HammingDistance(a, b))/64
}
