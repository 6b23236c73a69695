package protocol

import (
	"hash/maphash"
	"sync"

	"github.com/seed0ffb8d46/agora/keys"
)

// replayShards is the number of independently locked parts of a
// replayCache: enough that 64 cores rarely contend, few enough that a
// bounded cache still holds thousands of entries per shard.
const replayShards = 64

// replayKey identifies one signed request: its signer and its uuid.
type replayKey struct {
	signer keys.PublicKey
	uuid   [16]byte
}

// replayCache remembers the (signer, uuid) pairs of accepted requests until
// their timestamps leave the window, so each pair is accepted at most once.
//
// It is a fixed number of mutex-guarded maps rather than a ristretto cache:
// a replay check must never forget an entry that is still inside the window,
// and ristretto may (its Set is buffered and applied later, so two
// concurrent Get-then-Set callers both see a miss; a Set can be dropped when
// its buffer is contended; its TinyLFU admission can refuse a new key and
// its sampled eviction can remove a live one when full). Each of those is a
// replay that gets through. Here insert-if-absent is one critical section,
// entries leave only by expiry, and a full cache refuses new requests
// (replay_cache_full, 503) instead of forgetting old ones: it fails closed.
// Only requests with a valid signature from an allowed signer are ever
// inserted, so filling it takes an allowed signer's sustained traffic, which
// the caller's per-signer rate limits bound.
type replayCache struct {
	seed     maphash.Seed
	perShard int
	shards   [replayShards]replayShard
}

// replayShard is one locked part of a replayCache.
type replayShard struct {
	mu sync.Mutex
	// m maps a key to the Unix millisecond after which it may be forgotten.
	m map[replayKey]int64
	// minExpiry is a lower bound on every expiry in m, or 0 when unknown:
	// sweeping before then cannot free anything.
	minExpiry int64
	_         [40]byte // keep shards on separate cache lines
}

// newReplayCache returns a cache of about maxEntries entries in all.
func newReplayCache(maxEntries int) *replayCache {
	c := &replayCache{seed: maphash.MakeSeed(), perShard: max(1, maxEntries/replayShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[replayKey]int64)
	}
	return c
}

// shard returns the shard of k.
func (c *replayCache) shard(k *replayKey) *replayShard {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.Write(k.signer[:])
	h.Write(k.uuid[:])
	return &c.shards[h.Sum64()%replayShards]
}

// seen reports whether k was added and has not expired at nowMs.
func (c *replayCache) seen(k replayKey, nowMs int64) bool {
	s := c.shard(&k)
	s.mu.Lock()
	exp, ok := s.m[k]
	s.mu.Unlock()
	return ok && exp >= nowMs
}

// add records k until expiryMs unless it is already there: insert-if-absent
// under one lock, so of any number of concurrent adds of k exactly one
// succeeds. It returns replayed_uuid if k is present and live, and
// replay_cache_full if k's shard holds perShard live entries.
func (c *replayCache) add(k replayKey, expiryMs, nowMs int64) *Error {
	s := c.shard(&k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.m[k]; ok && exp >= nowMs {
		return reject(CodeReplayedUUID, "")
	}
	if len(s.m) >= c.perShard {
		s.sweep(nowMs)
		if len(s.m) >= c.perShard {
			return reject(CodeReplayCacheFull, "")
		}
	}
	s.m[k] = expiryMs
	if s.minExpiry == 0 || expiryMs < s.minExpiry {
		s.minExpiry = expiryMs
	}
	return nil
}

// sweep deletes the entries that expired before nowMs. It runs only when the
// shard is full, and does nothing until the earliest entry can have
// expired, so a shard full of live entries costs O(1) per refused add, not a
// scan.
func (s *replayShard) sweep(nowMs int64) {
	if s.minExpiry != 0 && nowMs <= s.minExpiry {
		return
	}
	var least int64
	for k, exp := range s.m {
		if exp < nowMs {
			delete(s.m, k)
		} else if least == 0 || exp < least {
			least = exp
		}
	}
	s.minExpiry = least
}

// len returns the number of entries held, live or not yet swept.
func (c *replayCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
