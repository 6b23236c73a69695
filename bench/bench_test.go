package bench

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/seed0ffb8d46/agora/chain"
)

// kvstore transactions are as long as Agora's transfers, unique, and
// accepted by kvstore's CheckTx.
func TestKVTxMatchesTransferSize(t *testing.T) {
	priv := key("sender", 0)
	var to chain.AccountID
	copy(to[:], key("sender", 1).Public().(ed25519.PublicKey))
	tx, err := chain.SignTx(priv, ChainID, 123456, &chain.Transfer{To: to, Amount: 1})
	if err != nil {
		t.Fatal(err)
	}
	app := kvstore.NewInMemoryApplication()
	seen := map[string]bool{}
	for s := range 3 {
		for n := range 1000 {
			kv := kvTx(s, n, len(tx))
			if len(kv) != len(tx) {
				t.Fatalf("kvTx(%d, %d) has %d bytes, want %d", s, n, len(kv), len(tx))
			}
			if seen[string(kv)] {
				t.Fatalf("kvTx(%d, %d) repeats", s, n)
			}
			seen[string(kv)] = true
			if n%100 == 0 {
				r, err := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: kv})
				if err != nil || r.Code != 0 {
					t.Fatalf("kvstore rejects %q: %v %v", kv, r, err)
				}
			}
		}
	}
}

func TestSettingsApply(t *testing.T) {
	s := settingsFor(50_000, 0)
	c := cmtcfg.DefaultConfig()
	s.apply(c)
	if c.Mempool.Size < 50_000 || c.Mempool.CacheSize < 50_000 || c.TxIndex.Indexer != "null" || !c.Mempool.Recheck {
		t.Errorf("config after apply: mempool %+v, indexer %q", *c.Mempool, c.TxIndex.Indexer)
	}
	if err := c.ValidateBasic(); err != nil {
		t.Error(err)
	}
}

func TestFinalizeAtScaleSmall(t *testing.T) {
	res, err := FinalizeAtScale(context.Background(), ScaleOptions{Neurons: 40, Validators: 5, BlockTxs: 16, Rounds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Neurons != 40 || res.Validators != 5 || res.TotalMS <= 0 || res.BaselineTotalMS <= 0 || res.WarmTotalMS <= 0 {
		t.Errorf("result %+v", res)
	}
	// The tempo fits the 6 timed transfer blocks between two epochs; each
	// validator weights the 35 miners; the epoch blocks and the epoch
	// alone are timed.
	if res.Tempo != 7 || res.WeightsPerValidator != 35 || res.EpochTotalMS <= 0 || res.EpochFinalizeMS <= 0 ||
		res.ConsensusEpochMS <= 0 || res.SetupBlocks < 2*int(res.Tempo)+1 {
		t.Errorf("epoch result %+v", res)
	}
	// Every neuron a validator: the weights are over every uid.
	res, err = FinalizeAtScale(context.Background(), ScaleOptions{Neurons: 3, Validators: 3, BlockTxs: 2, Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.WeightsPerValidator != 3 || res.EpochTotalMS <= 0 {
		t.Errorf("all validators: result %+v", res)
	}
	if _, err := FinalizeAtScale(context.Background(), ScaleOptions{Neurons: 10, Validators: 11}); err == nil {
		t.Error("more validators than neurons: no error")
	}
}
