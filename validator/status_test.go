package validator

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/miner"
)

// A validator announces its /scores on chain and signs it; a miner finds it
// from the metagraph and reads what the validator says of it
// (miner.ValidatorVerdicts, behind `agora miner status`), refusing an
// answer signed by another key and telling an unreachable validator apart.
// The validator listens on every interface and leaves its public IP to be
// detected (public_addr 0.0.0.0:0): with the node on loopback, the route
// to it gives 127.0.0.1, and the bound port is announced.
func TestMinerReadsSignedScoresFromTheChain(t *testing.T) {
	tn := startTestnet(t, nil, "honest")
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunConfig{
			Config: Config{Key: tn.val, Netuid: 1, StatePath: filepath.Join(t.TempDir(), "s.json"),
				Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)), Exact: tn.verifier, VerifyModel: "babyllama105",
				Policy: testPolicy(), AllowPrivateAxons: true, QueryTimeout: queryTimeout, StepInterval: time.Second},
			Node: tn.client.Address(), Listen: "0.0.0.0:0", PublicAddr: netip.MustParseAddrPort("0.0.0.0:0"),
			OnListen: func(a net.Addr) { addr <- a.String() },
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	_, port, err := net.SplitHostPort(<-addr)
	if err != nil {
		t.Fatal(err)
	}
	bound := "127.0.0.1:" + port
	minerKey := testKey(t, 10) // the honest miner, uid 1
	self := chain.AccountID(minerKey.PublicKey()).String()
	var verdicts []miner.ValidatorVerdict
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		view, _, _ := tn.meta.Snapshot()
		if view.Neurons[0].Axon != nil {
			verdicts = miner.ValidatorVerdicts(context.Background(), http.DefaultClient, view, minerKey, 5*time.Second)
			if len(verdicts) == 1 && verdicts[0].Scored && len(verdicts[0].Score.Reasons) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verdict on the honest miner within 30s: %+v (axon %v)", verdicts, view.Neurons[0].Axon)
		}
	}
	v := verdicts[0]
	if v.UID != 0 || v.Axon != bound || v.Stake != 1000*chain.Unit || v.Error != "" || v.Score.Hotkey != self || v.Score.LastReason == "" || v.Score.ByKind == nil {
		t.Errorf("verdict: %+v %+v", v, *v.Score)
	}

	// The same answer, expected from another key: refused.
	view, _, _ := tn.meta.Snapshot()
	forged := *view
	forged.Neurons = append([]chain.NeuronView(nil), view.Neurons...)
	forged.Neurons[0].Hotkey = chain.AccountID(testKey(t, 99).PublicKey()).String()
	if got := miner.ValidatorVerdicts(context.Background(), http.DefaultClient, &forged, minerKey, 5*time.Second); len(got) != 1 || got[0].Scored || !strings.Contains(got[0].Error, "refused") || !strings.Contains(got[0].Error, "wrong signer") {
		t.Errorf("an answer signed by another key: %+v", got)
	}
	// A validator that cannot be reached is a verdict saying so.
	forged.Neurons[0] = view.Neurons[0]
	forged.Neurons[0].Axon = &chain.AxonView{Addr: "127.0.0.1:1"}
	if got := miner.ValidatorVerdicts(context.Background(), http.DefaultClient, &forged, minerKey, 5*time.Second); len(got) != 1 || !strings.Contains(got[0].Error, "unreachable") {
		t.Errorf("an unreachable validator: %+v", got)
	}
}
