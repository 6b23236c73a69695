package miner

import (
	"fmt"
	"sync"
	"time"

	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/protocol"
)

// rateLimiter is a token bucket per caller: rate requests a second, up to
// burst at once. Only callers that passed the signature and permission
// checks reach it, so its map holds at most the subnet's permitted
// validators (plus those with the minimum stake), a few thousand at most.
type rateLimiter struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	b     map[keys.PublicKey]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate, burst int) *rateLimiter {
	return &rateLimiter{rate: float64(rate), burst: float64(burst), b: make(map[keys.PublicKey]*bucket)}
}

// allow takes one token of caller's bucket at now. When there is none it
// returns false and how long until there is one.
func (l *rateLimiter) allow(caller keys.PublicKey, now time.Time) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.b[caller]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.b[caller] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// admit is the verifier's Admit: the caller's rate limit, checked once its
// request passed every other check and before its uuid is remembered, so
// that one caller cannot fill the replay cache.
func (m *Miner) admit(caller keys.PublicKey) error {
	if ok, wait := m.limiter.allow(caller, m.now()); !ok {
		return protocol.RateLimited(fmt.Sprintf("rate limited: at most %d requests a second (burst %d) per caller; retry in %s",
			m.cfg.RateLimit, m.cfg.RateBurst, wait.Round(time.Millisecond)), wait)
	}
	return nil
}
