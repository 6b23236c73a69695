package node

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/seed0ffb8d46/agora/chain"
)

// TestFourValidatorsEpochs: a subnet with a short tempo runs its epochs on
// a 4-validator network; with one validator killed (SIGKILL) the other
// three go on running epochs and minting, and the killed one, restarted,
// catches up with the same app hash at every height.
func TestFourValidatorsEpochs(t *testing.T) {
	owner, val, miner := newAccount("owner"), newAccount("validator"), newAccount("miner")
	dir := t.TempDir()
	err := Testnet(dir, 4, TestnetOptions{
		ChainID:    testChainID,
		Balances:   []chain.GenesisBalance{{Account: owner.hex(), Amount: 1 << 42}},
		Governance: owner.hex(),
		Configure:  func(_ int, c *cmtcfg.Config) { fastConsensus(c) },
	})
	if err != nil {
		t.Fatalf("Testnet: %v", err)
	}
	log := testLog(t)
	// Validators 0-2 run in this process; validator 3 in a child process,
	// so that it can be killed with SIGKILL.
	nodes := make([]*running, 4)
	for i := range 3 {
		nodes[i] = start(t, TestnetHome(dir, i), log)
	}
	child, _ := startChild(t, TestnetHome(dir, 3))
	live := nodes[:3]
	waitHeight(t, 2, live...)
	c := nodes[0].client(t)

	// A subnet with a 3-block tempo, and the validator's weight on the
	// miner.
	subnetWithNeurons(t, c, owner, val, miner, 3)
	sendTx(t, c, val, 0, &chain.SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{65535}})

	epochs := func(n *running) chain.EpochView {
		t.Helper()
		var v chain.EpochView
		queryJSON(t, n.client(t), chain.QueryEpoch+"1", &v)
		return v
	}
	minted := func(n *running) uint64 {
		t.Helper()
		var v chain.SupplyView
		queryJSON(t, n.client(t), chain.QuerySupply, &v)
		return v.Minted
	}
	start0 := epochs(nodes[0]).Epoch
	waitFor(t, "two epochs with weights", func() bool { return epochs(nodes[0]).Epoch >= start0+2 })
	sameAppHashes(t, live)

	// Validator 3 is killed; the others keep running epochs and minting.
	killChild(t, child)
	e, m := epochs(nodes[0]).Epoch, minted(nodes[0])
	waitFor(t, "three more epochs without node3", func() bool { return epochs(nodes[1]).Epoch >= e+3 })
	if got := minted(nodes[1]); got <= m {
		t.Errorf("minted %d after three epochs, %d before", got, m)
	}
	sameAppHashes(t, live)
	if v := epochs(nodes[1]); v.Neurons[1].Incentive != 65535 || v.Neurons[0].Dividends != 65535 {
		t.Errorf("last epoch: %+v, want the miner's incentive and the validator's dividends at 65535", v.Neurons)
	}

	// It restarts (in this process, to compare block stores) and catches
	// up, epochs included.
	nodes[3] = start(t, TestnetHome(dir, 3), log)
	waitHeight(t, maxHeight(live...), nodes[3])
	waitFor(t, "node3 at the others' epoch", func() bool { return epochs(nodes[3]).Epoch >= epochs(nodes[0]).Epoch })
	sameAppHashes(t, nodes)
}

// subnetWithNeurons creates subnet 1 with the given tempo and the whole
// emission (owner holds the governance key), registers val (uid 0) and
// miner (uid 1) paid by owner, and stakes 1000 AGR on val. It returns
// owner's next nonce.
func subnetWithNeurons(t *testing.T, c *rpchttp.HTTP, owner, val, miner account, tempo uint64) uint64 {
	t.Helper()
	params := chain.DefaultHyperparams()
	params.Tempo, params.MinBurn, params.WeightsRateLimit = tempo, chain.Unit, 1
	nonce := uint64(0)
	sendTx(t, c, owner, nonce, &chain.CreateSubnet{Params: params})
	nonce++
	// A new subnet earns nothing until the governance key gives it a share.
	sendTx(t, c, owner, nonce, &chain.SetEmission{PerBlock: chain.DefaultEmissionPerBlock, Shares: []chain.SubnetShare{{Netuid: 1, Share: 1}}})
	nonce++
	for _, hk := range []account{val, miner} {
		reg, err := chain.NewRegister(testChainID, 1, hk.priv, owner.id, 10*chain.Unit)
		if err != nil {
			t.Fatal(err)
		}
		sendTx(t, c, owner, nonce, reg)
		nonce++
	}
	sendTx(t, c, owner, nonce, &chain.AddStake{Hotkey: val.id, Amount: 1000 * chain.Unit})
	return nonce + 1
}

// sendTx signs body as from with nonce and waits until a block includes
// it with code 0.
func sendTx(t *testing.T, c *rpchttp.HTTP, from account, nonce uint64, body chain.Body) {
	t.Helper()
	tx, err := chain.SignTx(from.priv, testChainID, nonce, body)
	if err != nil {
		t.Fatal(err)
	}
	waitIncluded(t, c, tx)
}

// waitIncluded broadcasts tx and waits until a block includes it with code
// 0.
func waitIncluded(t *testing.T, c *rpchttp.HTTP, tx []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	res, err := c.BroadcastTxSync(ctx, tx)
	if err != nil || res.Code != 0 {
		t.Fatalf("broadcast: %v %+v", err, res)
	}
	for ctx.Err() == nil {
		if r, err := c.Tx(ctx, res.Hash, false); err == nil {
			if r.TxResult.Code != 0 {
				t.Fatalf("tx failed in block %d: code %d: %s", r.Height, r.TxResult.Code, r.TxResult.Log)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("tx %X not included within %v", res.Hash, waitTimeout)
}

// queryJSON runs an abci_query and decodes its JSON answer.
func queryJSON(t *testing.T, c *rpchttp.HTTP, path string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.ABCIQuery(ctx, path, nil)
	if err != nil {
		t.Fatalf("abci_query %s: %v", path, err)
	}
	if res.Response.Code != 0 {
		t.Fatalf("abci_query %s: code %d: %s", path, res.Response.Code, res.Response.Log)
	}
	if err := json.Unmarshal(res.Response.Value, out); err != nil {
		t.Fatalf("abci_query %s: %v", path, err)
	}
}
