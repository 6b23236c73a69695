package validator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/protocol"
	"github.com/seed0ffb8d46/agora/scoring"
)

// storyAnswer passes the hard rules as an answer to a story prompt.
const storyAnswer = "The little dog ran to the park with his best friend. They played with a red ball under the big green tree until the sun went down, and then they walked home happy and tired."

// fakeMiner is a miner on loopback: it signs whatever answer is set, or,
// with block set, holds every request until the validator gives up on it.
type fakeMiner struct {
	key     *keys.PrivateKey
	srv     *httptest.Server
	block   bool
	arrived chan struct{} // one value per request received
}

func startFakeMiner(t *testing.T, key, validator *keys.PrivateKey, block bool) *fakeMiner {
	t.Helper()
	m := &fakeMiner{key: key, block: block, arrived: make(chan struct{}, 64)}
	done := make(chan struct{})
	ids, lps := make([]string, 12), make([]float64, 12)
	for i := range ids {
		ids[i], lps[i] = fmt.Sprintf("token_id:%d", i+1), -1
	}
	body, _ := json.Marshal(map[string]any{"model": "verified-model", "choices": []any{map[string]any{
		"text": storyAnswer, "finish_reason": "stop", "logprobs": map[string]any{"tokens": ids, "token_logprobs": lps},
	}}})
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		m.arrived <- struct{}{}
		if m.block {
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		if err := protocol.SignResponse(w, body, key, validator.PublicKey(), r.Header.Get("Epistula-Uuid"), time.Now()); err != nil {
			t.Error(err)
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(func() { close(done); m.srv.Close() })
	return m
}

// blockingVerifier is the validator's own model server: it spells any
// tokens as storyAnswer and scores them only when ctx ends (it signals
// started).
type blockingVerifier struct{ started chan struct{} }

func (b blockingVerifier) Text(context.Context, string, []int) (string, error) {
	return storyAnswer, nil
}
func (b blockingVerifier) TopK(ctx context.Context, _ string, _ []int, _ int) ([]scoring.TopK, scoring.TopK, error) {
	b.started <- struct{}{}
	<-ctx.Done()
	return nil, scoring.TopK{}, ctx.Err()
}
func (b blockingVerifier) StopTokens() []int { return []int{2} }

// shutdownFixture is a validator with one absent uid (no axon) and the
// miners given, every uid's scores built up to 1 in every kind.
func shutdownFixture(t *testing.T, miners []*fakeMiner, mod func(*Config)) (*Validator, string, *observer.ObservedLogs) {
	t.Helper()
	vkey := testKey(t, 2)
	view := &chain.MetagraphView{Neurons: []chain.NeuronView{{UID: 0, Hotkey: chain.AccountID(vkey.PublicKey()).String()}, {UID: 1, Hotkey: testKey(t, 9).PublicKey().Hex()}}}
	for i, m := range miners {
		view.Neurons = append(view.Neurons, chain.NeuronView{UID: uint16(2 + i), Hotkey: m.key.PublicKey().Hex(), Axon: &chain.AxonView{Addr: strings.TrimPrefix(m.srv.URL, "http://")}})
	}
	meta := fixedView{view: view}
	state := filepath.Join(t.TempDir(), "state.json")
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := Config{Key: vkey, Netuid: 1, Metagraph: meta, Chain: meta, StatePath: state, Seed: 5, AllowPrivateAxons: true,
		QueryTimeout: 5 * time.Second, Logger: zap.New(core), Exact: demoModel(t), VerifyModel: "babyllama105"}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	hotkeys := make([]string, len(view.Neurons))
	for i, n := range view.Neurons {
		hotkeys[i] = n.Hotkey
	}
	v.st.Scores.Realign(hotkeys)
	for kind := range v.cfg.Policy.KindWeights {
		for uid := 1; uid < len(hotkeys); uid++ {
			for range 200 {
				_ = v.st.Scores.Update(kind, uid, 1)
			}
		}
	}
	if err := v.save(); err != nil {
		t.Fatal(err)
	}
	return v, state, logs
}

// scoresOf is every kind's scores, in memory and as saved.
func scoresOf(t *testing.T, v *Validator, state string) (mem, saved string) {
	t.Helper()
	v.mu.Lock()
	m, _ := json.Marshal(v.st.Scores.Kinds)
	v.mu.Unlock()
	st, err := loadState(state)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := json.Marshal(st.Scores.Kinds)
	return string(m), string(s)
}

// TestShutdownScoresNothing: a step cut short by the validator's own
// shutdown (its context cancelled) scores nobody: not the miners whose
// requests it abandoned, not the miner whose answer it was verifying,
// not the uids that do not serve; the state saved holds the scores of
// completed steps only, and the abandoned verification logs no warning.
// A miner that does not answer within the query deadline still scores 0.
func TestShutdownScoresNothing(t *testing.T) {
	vkey := testKey(t, 2)
	inference := func(c *Config) { c.ReferenceShare, c.PreferenceShare = 0, 0 }

	t.Run("queries abandoned", func(t *testing.T) {
		miners := []*fakeMiner{startFakeMiner(t, testKey(t, 20), vkey, true), startFakeMiner(t, testKey(t, 21), vkey, true)}
		v, state, _ := shutdownFixture(t, miners, inference)
		memBefore, _ := scoresOf(t, v, state)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- v.Step(ctx) }()
		for _, m := range miners {
			<-m.arrived
		}
		cancel()
		<-done
		mem, saved := scoresOf(t, v, state)
		if mem != memBefore || saved != memBefore {
			t.Fatalf("scores changed by a step cut short by shutdown:\n before %s\n after  %s\n saved  %s", memBefore, mem, saved)
		}
	})

	t.Run("verification abandoned", func(t *testing.T) {
		ver := blockingVerifier{started: make(chan struct{}, 8)}
		miners := []*fakeMiner{startFakeMiner(t, testKey(t, 20), vkey, false)}
		v, state, logs := shutdownFixture(t, miners, func(c *Config) {
			inference(c)
			c.Exact, c.Stat, c.VerifyModel = nil, ver, "verified-model"
		})
		memBefore, _ := scoresOf(t, v, state)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- v.Step(ctx) }()
		<-ver.started
		cancel()
		<-done
		mem, saved := scoresOf(t, v, state)
		if mem != memBefore || saved != memBefore {
			t.Fatalf("scores changed by a verification cut short by shutdown:\n before %s\n after  %s\n saved  %s", memBefore, mem, saved)
		}
		if w := logs.FilterLevelExact(zapcore.WarnLevel).All(); len(w) > 0 {
			t.Fatalf("shutdown logged warnings: %v", w)
		}
	})

	t.Run("miner timeout still fails", func(t *testing.T) {
		miners := []*fakeMiner{startFakeMiner(t, testKey(t, 20), vkey, true)}
		v, state, _ := shutdownFixture(t, miners, func(c *Config) {
			inference(c)
			c.QueryTimeout = 200 * time.Millisecond
		})
		// The caller's context has a deadline of its own, far off: only
		// the miner's deadline passes.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := v.Step(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := loadState(state)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Scores.Kinds[KindInference][2]; got > 0.95 {
			t.Fatalf("a miner past its deadline kept inference score %.3f, want it lowered", got)
		}
		if r := v.Report(); !strings.Contains(fmt.Sprint(r.Scores), "timeout") {
			t.Fatalf("report %+v does not say timeout", r.Scores)
		}
	})
}
