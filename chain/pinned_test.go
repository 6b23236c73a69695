package chain

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"testing"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/seed0ffb8d46/agora/weights"
)

// pinnedAppHash is the app hash at the end of pinnedScenario, computed on
// the chain before subnets had mechanisms (commit 921416c). A subnet with
// one mechanism must hash exactly as then: a change to this literal is a
// change to the state a running chain agrees on.
const pinnedAppHash = "553775da99632da41d1ed919e2c66161a408081658dded7bb8b59527b3aee57b"

// pinnedScenario drives a chain through transactions alone: three subnets
// (the third with commit-reveal), governance shares, registrations,
// stakes, weights, commits and reveals over several epochs. It returns the
// chain after its last block.
func pinnedScenario(t *testing.T) *testChain {
	t.Helper()
	govPriv, gov := testKey(900)
	ownerPriv, owner := testKey(901)
	balances := map[AccountID]uint64{gov: 10 * Unit, owner: 1000 * Unit}
	var colds []AccountID
	for i := range 4 {
		_, id := testKey(910 + i)
		colds = append(colds, id)
		balances[id] = 500 * Unit
	}
	var gs GenesisState
	if err := json.Unmarshal(testGenesis(balances, DefaultFees()), &gs); err != nil {
		t.Fatal(err)
	}
	gs.Governance = hex.EncodeToString(gov[:])
	raw, _ := json.Marshal(gs)
	c := newTestChainOn(t, dbm.NewMemDB(), raw)

	nonces := map[AccountID]uint64{}
	tx := func(priv ed25519.PrivateKey, body Body) []byte {
		id := AccountID(priv.Public().(ed25519.PublicKey))
		n := c.nonce(id) + nonces[id]
		nonces[id]++
		return sign(t, priv, n, body)
	}
	run := func(txs ...[]byte) {
		t.Helper()
		c.mustBlock(txs...)
		clear(nonces)
	}

	p := DefaultHyperparams()
	p.Tempo, p.MaxUIDs, p.MaxValidators, p.WeightsRateLimit = 7, 8, 3, 1
	p2 := p
	p2.Tempo, p2.Yuma3, p2.LiquidAlpha = 5, true, true
	p3 := p
	p3.Tempo, p3.CommitReveal, p3.RevealPeriodEpochs = 6, true, 1
	run(tx(ownerPriv, &CreateSubnet{Params: p}), tx(ownerPriv, &CreateSubnet{Params: p2}), tx(ownerPriv, &CreateSubnet{Params: p3}))
	run(tx(govPriv, &SetEmission{PerBlock: Unit, Shares: []SubnetShare{{1, 3}, {2, 2}, {3, 1}}}))

	// Per subnet: validators are uids 0..2 (hotkeys staked by their own
	// coldkeys), miners uids 3..5 (owned by the last coldkey).
	hot := map[uint16][]testAccount{}
	var txs [][]byte
	for netuid := uint16(1); netuid <= 3; netuid++ {
		for i := range 6 {
			priv, id := testKey(1000 + 10*int(netuid) + i)
			hot[netuid] = append(hot[netuid], testAccount{priv, id})
			coldPriv, _ := testKey(910 + min(i, 3))
			txs = append(txs, tx(coldPriv, &Register{Netuid: netuid, Hotkey: id, MaxBurn: p.MaxBurn}))
			if i < 3 {
				txs = append(txs, tx(coldPriv, &AddStake{Hotkey: id, Amount: uint64(30*(i+1)) * Unit}))
			}
		}
	}
	run(txs...)
	for netuid := uint16(1); netuid <= 3; netuid++ {
		c.toEpoch(netuid) // permits
	}
	miners := []uint16{3, 4, 5}
	view := func(v int, k uint64) []uint16 {
		w := []uint16{1, 2, 3}
		w[(v+int(k))%3] = 9
		return w
	}
	salt := func(v int, k uint64) []uint16 { return []uint16{uint16(v), uint16(k), 77} }
	for k := uint64(0); k < 6; k++ {
		txs = nil
		for v := range 3 {
			for _, netuid := range []uint16{1, 2} {
				txs = append(txs, tx(hot[netuid][v].priv, &SetWeights{Netuid: netuid, UIDs: miners, Values: view(v, k)}))
			}
			h := hot[3][v]
			ep := c.subnet(3).Epochs
			txs = append(txs, tx(h.priv, &CommitWeights{Netuid: 3, Hash: weights.CommitHash(h.id[:], 3, miners, view(v, ep), salt(v, ep), 0)}))
		}
		run(txs...)
		c.toEpoch(3)
		txs = nil
		for v := range 3 {
			h := hot[3][v]
			ep := c.subnet(3).Epochs - 1
			txs = append(txs, tx(h.priv, &RevealWeights{Netuid: 3, UIDs: miners, Values: view(v, ep), Salt: salt(v, ep)}))
		}
		run(txs...)
		c.toEpoch(1)
		c.toEpoch(2)
	}
	for netuid := uint16(1); netuid <= 3; netuid++ {
		for _, uid := range miners {
			if c.neuron(netuid, uid).Incentive == 0 {
				t.Fatalf("subnet %d uid %d has no incentive: the scenario does not exercise the epoch", netuid, uid)
			}
		}
	}
	supplyInvariant(t, c.app.State())
	c.checkConsistency(true)
	return c
}

// testAccount is a test key and its account.
type testAccount struct {
	priv ed25519.PrivateKey
	id   AccountID
}

// TestPinnedAppHash: a deterministic scenario on one-mechanism subnets
// ends at the app hash the chain computed before mechanisms existed.
func TestPinnedAppHash(t *testing.T) {
	c := pinnedScenario(t)
	if got := hex.EncodeToString(c.app.appHash); got != pinnedAppHash {
		t.Fatalf("app hash at height %d: %s, pinned %s", c.height, got, pinnedAppHash)
	}
}
