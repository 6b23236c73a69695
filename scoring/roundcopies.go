package scoring

import (
	"slices"
	"sync"
)

// RoundCopies finds near-duplicates among the answers to one round's
// prompt, on their words: a copy of another miner's answer cut short, a
// few words swapped, or one model run shared by several hotkeys. It is the
// copy check of the statistical path, where another miner's sample is a
// sample of the declared model too; exact replay needs none (a copy does
// not replay under the copier's own seed). There is no length floor: an
// answer of one word is compared like any other. Not safe for concurrent
// use; one per round.
type RoundCopies struct {
	threshold float64
	sets      []map[uint64]struct{}
	words     [][]uint64
}

// CopyShingle is the length, in words, of the runs answers are compared
// on. Words, not model tokens: the demo's near character-level tokens give
// honest samples of one prompt half their 4-token runs in common.
const CopyShingle = 3

// maxCopyWords bounds the words of an answer that are compared.
const maxCopyWords = 4096

// NewRoundCopies compares answers at threshold: the fraction of an
// answer's word runs found in an earlier answer that makes it a copy, in
// (0, 1].
func NewRoundCopies(threshold float64) *RoundCopies {
	return &RoundCopies{threshold: threshold}
}

// Add adds the next answer's text, in the order the answers were
// received, and returns the index (in the order added) of an earlier
// answer that contains at least threshold of its word runs, with that
// fraction; -1 and the highest fraction seen when there is none. An answer
// shorter than one run copies an earlier answer it begins (similarity 1).
func (rc *RoundCopies) Add(text string) (int, float64) {
	words := ufWordHashes(nil, text, maxCopyWords)
	defer func() { rc.words = append(rc.words, words) }()
	if len(words) > 0 && len(words) < CopyShingle {
		rc.sets = append(rc.sets, nil)
		for j, other := range rc.words {
			if len(other) >= len(words) && slices.Equal(other[:len(words)], words) {
				return j, 1
			}
		}
		return -1, 0
	}
	set := shingles(words)
	best, bestSim := -1, 0.0
	for j, other := range rc.sets {
		if len(set) == 0 {
			break
		}
		in := 0
		for h := range set {
			if _, ok := other[h]; ok {
				in++
			}
		}
		if sim := float64(in) / float64(len(set)); sim > bestSim {
			best, bestSim = j, sim
		}
	}
	rc.sets = append(rc.sets, set)
	if bestSim >= rc.threshold && best >= 0 {
		return best, bestSim
	}
	return -1, bestSim
}

// shingles is the set of hashes of words' runs of CopyShingle words.
func shingles(words []uint64) map[uint64]struct{} {
	set := make(map[uint64]struct{}, len(words))
	for i := 0; i+CopyShingle <= len(words); i++ {
		h := uint64(CopyShingle)
		for _, w := range words[i : i+CopyShingle] {
			h = ufMix64(h ^ w)
		}
		set[h] = struct{}{}
	}
	return set
}

// AnswerMemory remembers the last answers it was shown, by the hash of
// their words, so an answer handed in again (to another task, by the same
// miner or another) is told from a new one. Answers shorter than
// CopyShingle words are not remembered: short answers recur honestly. Safe
// for concurrent use.
type AnswerMemory struct {
	mu   sync.Mutex
	seen map[uint64]struct{}
	ring []uint64
	next int
}

// NewAnswerMemory remembers the last n answers (n > 0).
func NewAnswerMemory(n int) *AnswerMemory {
	return &AnswerMemory{seen: make(map[uint64]struct{}, n), ring: make([]uint64, 0, n)}
}

// Seen reports whether text's words were seen before, and remembers them.
func (m *AnswerMemory) Seen(text string) bool {
	words := ufWordHashes(nil, text, maxCopyWords)
	if len(words) < CopyShingle {
		return false
	}
	h := uint64(len(words))
	for _, w := range words {
		h = ufMix64(h ^ w)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.seen[h]; ok {
		return true
	}
	if len(m.ring) < cap(m.ring) {
		m.ring = append(m.ring, h)
	} else {
		delete(m.seen, m.ring[m.next])
		m.ring[m.next] = h
		m.next = (m.next + 1) % len(m.ring)
	}
	m.seen[h] = struct{}{}
	return false
}
