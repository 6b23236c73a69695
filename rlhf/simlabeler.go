package rlhf

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// A SimPolicy decides a simulated labeler's verdict on a task, and how
// long it pretends to have looked at it.
type SimPolicy func(t WireTask, r *rand.Rand) (Verdict, time.Duration)

// QualityEpsilon is the difference in quality under which QualityPolicy
// calls a tie.
const QualityEpsilon = 1e-3

// readingTime is how long a careful reader takes over a task: 20 ms a
// character (50 characters a second, the fastest reading a validator finds
// plausible) plus up to 2 s to decide.
func readingTime(t WireTask, r *rand.Rand) time.Duration {
	read := time.Duration(len(t.Prompt)+len(t.Left)+len(t.Right)) * 20 * time.Millisecond
	return read + time.Duration(r.IntN(2000))*time.Millisecond
}

// QualityPolicy is a careful labeler: it reads both completions (taking
// readingTime) and picks the one quality rates higher, a tie when the two
// are within QualityEpsilon. quality(prompt, completion) is any real
// signal of how good completion is as an answer to prompt, higher being
// better (the local network passes the declared model's mean
// log-probability per token); it is called from the labeler's goroutine
// and must be safe for that. Length is not a quality: a quality that
// grows with length makes a length-biased labeler, which validators
// penalise.
func QualityPolicy(quality func(prompt, completion string) float64) SimPolicy {
	return func(t WireTask, r *rand.Rand) (Verdict, time.Duration) {
		read := readingTime(t, r)
		l, rt := quality(t.Prompt, t.Left), quality(t.Prompt, t.Right)
		switch {
		case l > rt+QualityEpsilon:
			return VerdictLeft, read
		case rt > l+QualityEpsilon:
			return VerdictRight, read
		}
		return VerdictTie, read
	}
}

// HumanPolicy is a careful but fallible labeler, as people are: it reads
// both completions (taking readingTime) and picks the left one with
// probability σ((quality(left) − quality(right))/noise), Bradley–Terry's
// choice model, so a clear difference is judged right nearly always and a
// slight one not much better than a coin. Independent people disagree on
// close calls; simulated labelers that never did would look to a
// validator like one labeler copied across miners. noise must be above 0.
func HumanPolicy(quality func(prompt, completion string) float64, noise float64) SimPolicy {
	return func(t WireTask, r *rand.Rand) (Verdict, time.Duration) {
		read := readingTime(t, r)
		d := (quality(t.Prompt, t.Left) - quality(t.Prompt, t.Right)) / noise
		if math.IsNaN(d) {
			return VerdictTie, read
		}
		if r.Float64() < 1/(1+math.Exp(-d)) {
			return VerdictLeft, read
		}
		return VerdictRight, read
	}
}

// RandomPolicy clicks at random, fast: the labeler validators must catch.
func RandomPolicy(_ WireTask, r *rand.Rand) (Verdict, time.Duration) {
	vs := []Verdict{VerdictLeft, VerdictRight, VerdictTie, VerdictBothBad}
	return vs[r.IntN(len(vs))], time.Duration(200+r.IntN(400)) * time.Millisecond
}

// AlwaysLeftPolicy always picks the left completion, taking a careful
// reader's time so that only its position bias gives it away.
func AlwaysLeftPolicy(t WireTask, r *rand.Rand) (Verdict, time.Duration) {
	return VerdictLeft, readingTime(t, r)
}

// LongerPolicy picks the longer completion (in bytes; a tie when equal),
// taking a careful reader's time: the cheapest labeler that looks like it
// judges content, caught by its length bias.
func LongerPolicy(t WireTask, r *rand.Rand) (Verdict, time.Duration) {
	read := readingTime(t, r)
	switch {
	case len(t.Left) > len(t.Right):
		return VerdictLeft, read
	case len(t.Right) > len(t.Left):
		return VerdictRight, read
	}
	return VerdictTie, read
}

// TrapSpotterPolicy answers what spot says when spot recognises the task
// as a trap (true), taking a careful reader's time, and otherwise clicks
// at random like RandomPolicy: the labeler that games traps without doing
// the work, which validators catch by its disagreement with other miners
// on real comparisons.
func TrapSpotterPolicy(spot func(t WireTask) (Verdict, bool)) SimPolicy {
	return func(t WireTask, r *rand.Rand) (Verdict, time.Duration) {
		if v, ok := spot(t); ok {
			return v, readingTime(t, r)
		}
		return RandomPolicy(t, r)
	}
}

// SimLabeler is a program that labels on a miner's page over its
// websocket as a person would, for tests and the local network. It
// reports the time it "spent" without spending it (Pace scales the real
// wait), so a demo labels quickly with plausible times.
type SimLabeler struct {
	// URL is the hub's websocket, such as ws://127.0.0.1:8091/label/ws.
	URL string
	// Token is the labeler's token.
	Token string
	// Policy decides the verdicts.
	Policy SimPolicy
	// Seed seeds the policy's randomness.
	Seed uint64
	// Pace is the fraction of the reported time on task actually waited,
	// 0 for none.
	Pace float64
}

// Run labels until ctx ends, reconnecting with a short backoff when the
// connection drops. It returns nil when ctx ends.
func (s *SimLabeler) Run(ctx context.Context) error {
	r := rand.New(rand.NewPCG(s.Seed, 0x1abe1))
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.session(ctx, r)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && strings.Contains(err.Error(), "auth_failed") {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

// session is one connection: sign in, resume, label every task sent.
func (s *SimLabeler) session(ctx context.Context, r *rand.Rand) error {
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, s.URL, http.Header{})
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	send := func(m ClientMessage) error {
		m.V = WireVersion
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return conn.WriteJSON(m)
	}
	if err := send(ClientMessage{Type: MsgAuth, Token: s.Token}); err != nil {
		return err
	}
	if err := send(ClientMessage{Type: MsgResume}); err != nil {
		return err
	}
	for {
		var m ServerMessage
		if err := conn.ReadJSON(&m); err != nil {
			return err
		}
		switch m.Type {
		case MsgError:
			if m.Code == CodeAuthFailed {
				return fmt.Errorf("rlhf: simulated labeler: %s: %s", m.Code, m.Message)
			}
		case MsgTask:
			if m.Task == nil {
				continue
			}
			v, took := s.Policy(*m.Task, r)
			if s.Pace > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Duration(float64(took) * s.Pace)):
				}
			}
			if err := send(ClientMessage{Type: MsgLabel, TaskID: m.Task.ID, Choice: v, TimeOnTaskMs: took.Milliseconds()}); err != nil {
				return err
			}
		}
	}
}
