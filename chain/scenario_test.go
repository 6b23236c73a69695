package chain

import (
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"testing"

	"github.com/seed0ffb8d46/agora/weights"
	"github.com/seed0ffb8d46/agora/yumasim"
)

// net is a subnet of validators and miners on a test chain: uids 0..v-1
// are validators (each hotkey owned by its own coldkey, which stakes on
// it), the rest miners (owned by one miner coldkey).
type net struct {
	*testChain
	hot   []ed25519.PrivateKey
	hotID []AccountID
	cold  []AccountID
	sent  map[AccountID]uint64 // nonces used in the block being built
}

func newNet(t *testing.T, p Hyperparams, stakes []uint64, miners int) *net {
	t.Helper()
	ownerPriv, owner := testKey(500)
	minerPriv, miner := testKey(501)
	balances := map[AccountID]uint64{owner: 1000 * Unit, miner: 1000 * Unit}
	nt := &net{sent: map[AccountID]uint64{}}
	colds := []ed25519.PrivateKey{}
	for i, st := range stakes {
		priv, id := testKey(510 + i)
		balances[id] = st + 100*Unit
		colds = append(colds, priv)
		nt.cold = append(nt.cold, id)
	}
	nt.testChain = newTestChain(t, balances)
	nt.mustBlock(sign(t, ownerPriv, 0, &CreateSubnet{Params: p}))
	nt.mutateStaged(func(s *State) { sn := s.subnets[1]; sn.Share = 1; s.setSubnet(1, sn) }) // governance's share
	var txs [][]byte
	for i := range len(stakes) + miners {
		priv, id := testKey(520 + i)
		nt.hot, nt.hotID = append(nt.hot, priv), append(nt.hotID, id)
		if i < len(stakes) {
			txs = append(txs,
				sign(t, colds[i], 0, &Register{Netuid: 1, Hotkey: id, MaxBurn: p.MaxBurn}),
				sign(t, colds[i], 1, &AddStake{Hotkey: id, Amount: stakes[i]}))
		} else {
			txs = append(txs, sign(t, minerPriv, uint64(i-len(stakes)), &Register{Netuid: 1, Hotkey: id, MaxBurn: p.MaxBurn}))
		}
	}
	nt.mustBlock(txs...)
	return nt
}

// hotTx signs body by hotkey uid, at its next nonce in the block.
func (nt *net) hotTx(uid int, body Body) []byte {
	id := nt.hotID[uid]
	raw := sign(nt.t, nt.hot[uid], nt.nonce(id)+nt.sent[id], body)
	nt.sent[id]++
	return raw
}

func (nt *net) run(txs ...[]byte) {
	nt.t.Helper()
	nt.mustBlock(txs...)
	clear(nt.sent)
}

// TestScenarioMatchesSimulator: 3 validators weight 3 miners over several
// epochs (one changes its weights midway); the incentive, dividends and
// emission stored on chain at every epoch equal yumasim's for the same
// stakes, weights and hyperparameters.
func TestScenarioMatchesSimulator(t *testing.T) {
	p := DefaultHyperparams()
	p.Tempo, p.MaxUIDs, p.MaxValidators, p.WeightsRateLimit = 10, 6, 3, 1
	stakes := []uint64{100 * Unit, 50 * Unit, 25 * Unit}
	nt := newNet(t, p, stakes, 3)
	nt.toEpoch(1) // epoch 0: no weights yet; it grants the validators their permits
	for v := range 3 {
		if !nt.neuron(1, uint16(v)).Permit {
			t.Fatalf("validator %d has no permit", v)
		}
	}
	rows := [][]uint16{{1, 2, 3}, {1, 1, 1}, {3, 0, 1}}
	changed := []uint16{0, 5, 1}
	var txs [][]byte
	for v, vals := range rows {
		txs = append(txs, nt.hotTx(v, &SetWeights{Netuid: 1, UIDs: []uint16{3, 4, 5}, Values: vals}))
	}
	nt.run(txs...)
	const epochs = 6
	var got [][3][]uint64 // per epoch: incentive, dividends, emission
	record := func() {
		var e [3][]uint64
		for uid := range uint16(6) {
			n := nt.neuron(1, uid)
			e[0] = append(e[0], uint64(n.Incentive))
			e[1] = append(e[1], uint64(n.Dividends))
			e[2] = append(e[2], n.Emission)
		}
		got = append(got, e)
	}
	for ep := range epochs {
		if ep == 3 {
			nt.run(nt.hotTx(2, &SetWeights{Netuid: 1, UIDs: []uint16{3, 4, 5}, Values: changed}))
		}
		nt.toEpoch(1)
		record()
	}

	sn := nt.subnet(1)
	e := 10 * DefaultEmissionPerBlock
	r := e - e*OwnerCut/65535
	firstRun := sn.LastEpoch - (epochs-1)*p.Tempo
	scenario := map[string]any{
		"n": 6, "epochs": epochs, "emission": r, "start_block": firstRun,
		"params": map[string]any{"tempo": p.Tempo, "max_allowed_validators": 3, "kappa": p.Kappa,
			"bonds_moving_average": p.BondsMovingAverage, "bonds_penalty": p.BondsPenalty, "activity_cutoff": p.ActivityCutoff},
		"stake":        []uint64{stakes[0], stakes[1], stakes[2], 0, 0, 0},
		"registration": []uint64{2, 2, 2, 2, 2, 2},
		"permits":      []bool{true, true, true, false, false, false},
		"weights": [][][2]uint16{
			{{3, 1}, {4, 2}, {5, 3}}, {{3, 1}, {4, 1}, {5, 1}}, {{3, 3}, {4, 0}, {5, 1}}, {}, {}, {},
		},
		"changes": []map[string]any{{"epoch": 3, "weights": map[string]any{"2": [][2]uint16{{3, 0}, {4, 5}, {5, 1}}}}},
	}
	raw, _ := json.Marshal(scenario)
	sc, err := yumasim.ParseScenario(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, err := yumasim.Run(sc)
	if err != nil {
		t.Fatal(err)
	}
	for ep, rr := range res {
		o := rr.Output
		toU64 := func(v []uint16) []uint64 {
			out := make([]uint64, len(v))
			for i, x := range v {
				out[i] = uint64(x)
			}
			return out
		}
		want := [3][]uint64{toU64(o.Incentive), toU64(o.Dividends), o.Emission}
		for k, name := range []string{"incentive", "dividends", "emission"} {
			if !slices.Equal(got[ep][k], want[k]) {
				t.Errorf("epoch %d %s: chain %v, yumasim %v", ep, name, got[ep][k], want[k])
			}
		}
	}
	last := got[len(got)-1]
	t.Logf("last epoch: miners' incentive %v, validators' dividends %v", last[0][3:], last[1][:3])
	supplyInvariant(t, nt.app.State())
}

// TestCopierEarnsLess: with commit-reveal on, two honest validators commit
// each epoch's weights (a shifting view of three miners) and reveal them
// one epoch later; a copier, with the same stake, commits in every epoch
// the weights the first honest validator has just revealed, so its weights
// on chain always lag the honest ones by an epoch. Over the epochs the
// copier's dividends are lower than the honest validator's.
//
// Observed (u16 dividends summed over epochs 3..11; see the log):
// honest 0: 271328, honest 1: 271328, copier: 47147, i.e. the copier earns
// about 83% less: its stale weights are clipped away from consensus and its
// bonds sit on last epoch's best miner.
func TestCopierEarnsLess(t *testing.T) {
	p := DefaultHyperparams()
	p.Tempo, p.MaxUIDs, p.MaxValidators, p.WeightsRateLimit = 10, 6, 3, 1
	p.CommitReveal, p.RevealPeriodEpochs = true, 1
	nt := newNet(t, p, []uint64{100 * Unit, 100 * Unit, 100 * Unit}, 3)
	miners := []uint16{3, 4, 5}
	// truth is the honest view in epoch k: the best miner rotates.
	truth := func(k uint64) []uint16 {
		v := []uint16{1, 1, 1}
		v[k%3] = 20
		return v
	}
	salt := func(uid int, k uint64) []uint16 { return []uint16{uint16(uid), uint16(k)} }
	commit := func(uid int, vals []uint16, k uint64) []byte {
		id := nt.hotID[uid]
		return nt.hotTx(uid, &CommitWeights{Netuid: 1, Hash: weights.CommitHash(id[:], 1, miners, vals, salt(uid, k), 0)})
	}
	reveal := func(uid int, vals []uint16, k uint64) []byte {
		return nt.hotTx(uid, &RevealWeights{Netuid: 1, UIDs: miners, Values: vals, Salt: salt(uid, k)})
	}
	nt.toEpoch(1)         // epoch 0: permits
	var copied [][]uint16 // what the copier committed, by epoch
	var divs [3]uint64
	const epochs = 12
	for k := uint64(1); k < epochs; k++ {
		if got := nt.subnet(1).Epochs; got != k {
			t.Fatalf("in epoch %d, want %d", got, k)
		}
		// Block 1 of the epoch: the honest commit this epoch's weights and
		// reveal last epoch's (commit first: a reveal updates the neuron,
		// and weights_rate_limit would refuse a commit after it).
		var txs [][]byte
		for uid := range 2 {
			txs = append(txs, commit(uid, truth(k), k))
			if k > 1 {
				txs = append(txs, reveal(uid, truth(k-1), k-1))
			}
		}
		nt.run(txs...)
		// Block 2: the copier reads honest 0's row from chain, commits
		// a copy and reveals last epoch's.
		var seen []uint16
		for _, e := range nt.neuron(1, 0).Weights {
			seen = append(seen, e.Value)
		}
		txs = nil
		copied = append(copied, seen)
		if seen != nil {
			txs = append(txs, commit(2, seen, k))
		}
		if k > 1 && copied[k-2] != nil {
			txs = append(txs, reveal(2, copied[k-2], k-1))
		}
		nt.run(txs...)
		nt.toEpoch(1)
		if k >= 3 {
			for uid := range 3 {
				divs[uid] += uint64(nt.neuron(1, uint16(uid)).Dividends)
			}
		}
	}
	t.Logf("dividends summed over epochs 3..%d: honest %d, %d, copier %d", epochs-1, divs[0], divs[1], divs[2])
	if divs[2] >= divs[0] || divs[2] >= divs[1] {
		t.Errorf("the copier earns %d, the honest %d and %d", divs[2], divs[0], divs[1])
	}
	supplyInvariant(t, nt.app.State())
	nt.checkConsistency(true)
}
