package validator

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed0ffb8d46/agora/chain"
)

// commitsChain answers the commits query with cv; nothing else.
type commitsChain struct {
	noChain
	mu sync.Mutex
	cv chain.CommitsView
}

func (c *commitsChain) set(cv chain.CommitsView) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cv = cv
}

func (c *commitsChain) Query(_ context.Context, path string, out any) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !strings.HasPrefix(path, chain.QueryCommits) {
		return 0, errors.New("not served")
	}
	*out.(*chain.CommitsView) = c.cv
	return 1, nil
}

// TestRevealSaysWhatHappened: a pending commit that the chain does not
// hold is reported as what it is. One that never reached a block (sent
// just before a shutdown) is "not on chain", and only after a grace period
// that a restart starts afresh (it may still be in the mempool); one seen
// on chain that outlived its reveal epoch "expired"; one lost before this
// validator saw it, and now past any reveal epoch, may be either.
func TestRevealSaysWhatHappened(t *testing.T) {
	const hash = "ab01"
	pending := func() *pendingCommit {
		return &pendingCommit{Epoch: 11, UIDs: []uint16{1}, Values: []uint16{65535}, Salt: []uint16{1}, Hash: hash}
	}
	// newValidator is a validator restarted with a pending commit of
	// epoch 11 in its state, and its warnings.
	newValidator := func(t *testing.T, ch *commitsChain) (*Validator, *observer.ObservedLogs) {
		t.Helper()
		state := filepath.Join(t.TempDir(), "state.json")
		cfg := Config{Key: testKey(t, 2), Netuid: 1, Metagraph: fixedView{view: &chain.MetagraphView{}}, Chain: ch, StatePath: state, Seed: 1, Exact: demoModel(t), VerifyModel: "babyllama105"}
		v, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		v.st.Pending = pending()
		if err := v.save(); err != nil {
			t.Fatal(err)
		}
		v.Close()
		core, logs := observer.New(zapcore.WarnLevel)
		cfg.Logger = zap.New(core)
		if v, err = New(cfg); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		return v, logs
	}
	reveal := func(v *Validator) {
		v.mu.Lock()
		p := v.st.Pending
		v.mu.Unlock()
		v.reveal(context.Background(), chain.SubnetView{}, p)
	}
	// warned returns the one warning logged since the last call.
	warned := func(t *testing.T, logs *observer.ObservedLogs) string {
		t.Helper()
		all := logs.TakeAll()
		if len(all) != 1 {
			t.Fatalf("%d warnings %v, want one", len(all), all)
		}
		return all[0].Message
	}

	t.Run("never included", func(t *testing.T) {
		ch := &commitsChain{cv: chain.CommitsView{Epoch: 11, RevealPeriod: 1, Commits: []chain.CommitView{}}}
		v, logs := newValidator(t, ch)
		reveal(v)
		if logs.Len() != 0 || v.st.Pending == nil {
			t.Fatalf("just after a restart: warnings %v, pending %v; want it waited for", logs.All(), v.st.Pending)
		}
		v.committedAt[0] = time.Now().Add(-2 * time.Minute)
		reveal(v)
		if msg := warned(t, logs); strings.Contains(msg, "expired") || !strings.Contains(msg, "never") {
			t.Fatalf("a commit that never reached the chain: %q", msg)
		}
		if v.st.Pending != nil {
			t.Fatal("the lost commit is still pending")
		}
	})

	t.Run("expired after it was seen", func(t *testing.T) {
		ch := &commitsChain{cv: chain.CommitsView{Epoch: 11, RevealPeriod: 1, Commits: []chain.CommitView{{Hash: hash, Epoch: 11, RevealEpoch: 12}}}}
		v, logs := newValidator(t, ch)
		reveal(v) // on chain, before its reveal epoch
		if logs.Len() != 0 || v.st.Pending == nil {
			t.Fatalf("before its reveal epoch: warnings %v, pending %v", logs.All(), v.st.Pending)
		}
		// The validator was away during epoch 12; the chain pruned the
		// commit.
		ch.set(chain.CommitsView{Epoch: 13, RevealPeriod: 1, Commits: []chain.CommitView{}})
		v.committedAt[0] = time.Now().Add(-2 * time.Minute)
		reveal(v)
		if msg := warned(t, logs); !strings.Contains(msg, "expired") {
			t.Fatalf("a commit seen on chain, gone after its reveal epoch: %q", msg)
		}
		if v.st.Pending != nil {
			t.Fatal("the expired commit is still pending")
		}
	})

	t.Run("expired on chain", func(t *testing.T) {
		ch := &commitsChain{cv: chain.CommitsView{Epoch: 13, RevealPeriod: 1, Commits: []chain.CommitView{{Hash: hash, Epoch: 11, RevealEpoch: 12}}}}
		v, logs := newValidator(t, ch)
		reveal(v)
		if msg := warned(t, logs); !strings.Contains(msg, "expired") {
			t.Fatalf("a commit on chain past its reveal epoch: %q", msg)
		}
	})

	t.Run("unseen, past any reveal epoch", func(t *testing.T) {
		ch := &commitsChain{cv: chain.CommitsView{Epoch: 20, RevealPeriod: 1, Commits: []chain.CommitView{}}}
		v, logs := newValidator(t, ch)
		v.committedAt[0] = time.Now().Add(-2 * time.Minute)
		reveal(v)
		if msg := warned(t, logs); !strings.Contains(msg, "never") || !strings.Contains(msg, "expired") {
			t.Fatalf("a commit never seen, its reveal epoch long past: %q", msg)
		}
	})
}
