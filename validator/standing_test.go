package validator

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/miner"
)

// httpGet returns the body of a GET of url, failing the test on an error.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitLog waits for a log line whose message contains msg.
func waitLog(t *testing.T, logs *observer.ObservedLogs, msg string, within time.Duration) observer.LoggedEntry {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		if l := logs.FilterMessageSnippet(msg).All(); len(l) > 0 {
			return l[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log %q within %v; logs: %v", msg, within, logs.All())
		}
	}
}

// Daemons say what the network thinks of them each epoch, in one log line
// and on /metrics (per mechanism too); a validator whose stake is too low
// for the subnet's full permits says so once an epoch, with the stake it
// needs, and sets no weights, while /readyz stays ready with a note.
func TestDaemonsReportTheirStanding(t *testing.T) {
	tn := startTestnet(t, func(p *chain.Hyperparams) {
		p.Tempo, p.MaxValidators, p.MechanismCount = 40, 1, 2
	}, "honest")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cold := testKey(t, 1)
	weak := testKey(t, 3)
	if _, err := tn.client.Register(ctx, cold, weak, 1, 100*chain.Unit); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.client.SendTx(ctx, cold, &chain.AddStake{Hotkey: chain.AccountID(weak.PublicKey()), Amount: chain.Unit}); err != nil {
		t.Fatal(err)
	}
	node := tn.client.Address()

	// A miner, run as the daemon, with its metrics and log.
	mcore, mlogs := observer.New(zapcore.InfoLevel)
	mreg := prometheus.NewRegistry()
	mkey := testKey(t, 4)
	if _, err := tn.client.Register(ctx, cold, mkey, 1, 100*chain.Unit); err != nil {
		t.Fatal(err)
	}
	maddr := make(chan string, 1)
	rctx, stop := context.WithCancel(context.Background())
	defer stop()
	mdone := make(chan error, 1)
	go func() {
		mdone <- miner.Run(rctx, miner.RunConfig{Config: miner.Config{Key: mkey, Backend: miner.NewBuiltin(tn.verifier, "babyllama105"), Registry: mreg, Logger: zap.New(mcore)},
			Node: node, Netuid: 1, Listen: "127.0.0.1:0", OnListen: func(a net.Addr) { maddr <- a.String() }})
	}()

	// The weak validator, run as the daemon.
	vcore, vlogs := observer.New(zapcore.InfoLevel)
	vaddr := make(chan string, 1)
	vdone := make(chan error, 1)
	go func() {
		vdone <- Run(rctx, RunConfig{
			Config: Config{Key: weak, Netuid: 1, StatePath: filepath.Join(t.TempDir(), "s.json"), Logger: zap.New(vcore),
				Exact: tn.verifier, VerifyModel: "babyllama105", Policy: testPolicy(), AllowPrivateAxons: true,
				QueryTimeout: queryTimeout, StepInterval: time.Second},
			Node: node, Listen: "127.0.0.1:0", OnListen: func(a net.Addr) { vaddr <- a.String() },
		})
	}()
	defer func() {
		stop()
		for _, done := range []chan error{mdone, vdone} {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}()
	mURL, vURL := "http://"+<-maddr, "http://"+<-vaddr

	// The no-permit warning, with the stake to beat: uid 0's.
	warn := waitLog(t, vlogs, "no validator permit", 30*time.Second)
	view, _, _ := tn.meta.Snapshot()
	f := warn.ContextMap()
	if f["stake"] != chain.FormatAGR(chain.Unit) || f["max_validators"] != int64(1) || f["permits"] != int64(1) ||
		!strings.Contains(warn.Message, "will not set weights") || !strings.Contains(warn.Message, "permits (max_validators) are taken") {
		t.Errorf("no-permit warning: %s %v", warn.Message, f)
	}
	if need := chain.FormatAGR(view.Neurons[0].Stake + 1); f["stake_needed"] != need {
		t.Errorf("stake needed %v, want %s: above uid 0's", f["stake_needed"], need)
	}
	line := waitLog(t, vlogs, "epoch", time.Second)
	if lf := line.ContextMap(); lf["uid"] != uint16(2) || lf["validator_permit"] != false || lf["dividends"] == nil || lf["validator_trust"] == nil || lf["rank"] == nil || lf["mechanism1_dividends"] == nil {
		t.Errorf("the validator's epoch line: %v", lf)
	}

	// /readyz: ready, and says why no weights.
	code, body := httpGet(t, vURL+"/readyz")
	var ready map[string]any
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusOK || ready["ready"] != true || !strings.Contains(ready["note"].(string), "no validator permit") {
		t.Errorf("readyz: %d %s", code, body)
	}

	// The miner's line and gauges, per mechanism too.
	mline := waitLog(t, mlogs, "epoch", 10*time.Second)
	if mf := mline.ContextMap(); mf["uid"] != uint16(3) || mf["incentive"] == nil || mf["consensus"] == nil || mf["mechanism0_incentive"] == nil {
		t.Errorf("the miner's epoch line: %v", mf)
	}
	_, metrics := httpGet(t, mURL+"/metrics")
	for _, want := range []string{`agora_miner_uid{netuid="1"} 3`, `agora_miner_validator_permit{netuid="1"} 0`, `agora_miner_incentive{netuid="1"}`,
		`agora_miner_consensus{netuid="1"}`, `agora_miner_rank{netuid="1"}`, `agora_miner_mechanism_incentive{mechanism="1",netuid="1"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("miner /metrics lacks %s", want)
		}
	}
	_, metrics = httpGet(t, vURL+"/metrics")
	for _, want := range []string{`agora_validator_uid{netuid="1"} 2`, `agora_validator_validator_permit{netuid="1"} 0`, `agora_validator_dividends{netuid="1"}`,
		`agora_validator_validator_trust{netuid="1"}`, `agora_validator_rank{netuid="1"}`, `agora_validator_stake{netuid="1"} 1e+09`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("validator /metrics lacks %s:\n%s", want, metrics)
		}
	}

	// Once an epoch, not every second: by the next epoch's line there is
	// one warning per epoch seen, and weights were never attempted.
	epoch := line.ContextMap()["epoch"].(uint64)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if v, _, ok := tn.meta.Snapshot(); ok && v.Subnet.Epoch > epoch+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no two further epochs within 20s")
		}
	}
	time.Sleep(1500 * time.Millisecond) // the validator's poll
	seen := map[uint64]int{}
	for _, l := range vlogs.FilterMessageSnippet("no validator permit").All() {
		seen[l.ContextMap()["epoch"].(uint64)]++
	}
	for e, n := range seen {
		if n != 1 {
			t.Errorf("epoch %d: %d no-permit warnings, want 1", e, n)
		}
	}
	if len(seen) < 3 {
		t.Errorf("no-permit warnings in epochs %v, want one in each of 3", seen)
	}
	if n := vlogs.FilterMessageSnippet("no miner has scored").Len(); n > 0 {
		t.Errorf("%d lines say no miner has scored: the reason is the permit", n)
	}
	if n := vlogs.FilterMessage("set weights").Len() + vlogs.FilterMessage("commit weights").Len(); n > 0 {
		t.Errorf("%d weights transactions without a permit", n)
	}
}
