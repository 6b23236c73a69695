package rlhf

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// A SimPolicy decides a simulated labeler's verdict on a task, and how
// long it pretends to have looked at it.
type SimPolicy func(t WireTask, r *rand.Rand) (Verdict, time.Duration)

// CarefulPolicy reads both completions and picks the better one by
// plain signs of quality (the one with more distinct words in order that
// form sentences), with a reading time that fits the texts' length.
func CarefulPolicy(t WireTask, r *rand.Rand) (Verdict, time.Duration) {
	read := time.Duration(len(t.Prompt)+len(t.Left)+len(t.Right)) * 20 * time.Millisecond // 50 chars/s
	read += time.Duration(r.IntN(2000)) * time.Millisecond
	l, rt := fluency(t.Left), fluency(t.Right)
	switch {
	case l > rt:
		return VerdictLeft, read
	case rt > l:
		return VerdictRight, read
	}
	return VerdictTie, read
}

// fluency is a crude quality score: words that end sentences well, ordered
// as written, and length.
func fluency(s string) float64 {
	words := strings.Fields(s)
	score := float64(len(words))
	for i, w := range words {
		if strings.HasSuffix(w, ".") && i+1 < len(words) && len(words[i+1]) > 0 && words[i+1][0] >= 'A' && words[i+1][0] <= 'Z' {
			score += 3 // a sentence boundary where one belongs
		}
	}
	return score
}

// RandomPolicy clicks at random, fast: the labeler validators must catch.
func RandomPolicy(_ WireTask, r *rand.Rand) (Verdict, time.Duration) {
	vs := []Verdict{VerdictLeft, VerdictRight, VerdictTie, VerdictBothBad}
	return vs[r.IntN(len(vs))], time.Duration(200+r.IntN(400)) * time.Millisecond
}

// AlwaysLeftPolicy always picks the left completion.
func AlwaysLeftPolicy(t WireTask, r *rand.Rand) (Verdict, time.Duration) {
	_, d := CarefulPolicy(t, r)
	return VerdictLeft, d
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
