package chain

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/seed0ffb8d46/agora/weights"
)

// workload generates random blocks of transactions of every kind, mostly
// valid, some invalid in every way, against the state of one app.
type workload struct {
	rng      *rand.Rand
	colds    []ed25519.PrivateKey
	hots     []ed25519.PrivateKey
	coldIDs  []AccountID
	hotIDs   []AccountID
	balances map[AccountID]uint64
	fees     Fees
	// reveals are weight commits the workload made and may reveal.
	reveals  []*RevealWeights
	revealBy []int // the hotkey index of each reveal
	// datasets makes the workload send commit_dataset_root transactions
	// too. Without them it draws exactly the random numbers, and so builds
	// exactly the blocks, that it did before the kind existed.
	datasets bool
	drng     *rand.Rand // the random source of dataset transactions
}

func newWorkload(seed uint64) *workload {
	w := &workload{rng: rand.New(rand.NewPCG(seed, 0x5eed)), balances: map[AccountID]uint64{},
		datasets: true, drng: rand.New(rand.NewPCG(seed, 0xda7a))}
	w.fees = DefaultFees()
	w.fees.CreateSubnet = 5 * Unit
	for i := range 10 {
		priv, id := testKey(200 + i)
		w.colds, w.coldIDs = append(w.colds, priv), append(w.coldIDs, id)
		w.balances[id] = uint64(1+i) * 100 * Unit
	}
	for i := range 30 {
		priv, id := testKey(300 + i)
		w.hots, w.hotIDs = append(w.hots, priv), append(w.hotIDs, id)
		w.balances[id] = Unit
	}
	return w
}

// genesis has the workload's balances and fees, and colds[0] as the
// governance key.
func (w *workload) genesis() []byte {
	var gs GenesisState
	if err := json.Unmarshal(testGenesis(w.balances, w.fees), &gs); err != nil {
		panic(err)
	}
	gs.Governance = w.coldIDs[0].String()
	raw, _ := json.Marshal(gs)
	return raw
}

func (w *workload) params() Hyperparams {
	p := DefaultHyperparams()
	p.MaxUIDs = uint16(2 + w.rng.IntN(6))
	p.MaxValidators = p.MaxUIDs
	p.ImmunityPeriod = uint64(w.rng.IntN(6))
	p.MinBurn = uint64(w.rng.IntN(3)) * Unit / 10
	p.MaxBurn = p.MinBurn + uint64(w.rng.IntN(50))*Unit/10
	p.TargetRegistrations = uint16(1 + w.rng.IntN(3))
	p.AdjustmentInterval = uint64(1 + w.rng.IntN(6))
	p.Tempo = uint64(1 + w.rng.IntN(6))
	p.WeightsRateLimit = uint64(max(1, w.rng.IntN(4)))
	p.ServingRateLimit = 3
	p.CommitReveal = w.rng.IntN(3) == 0
	p.RevealPeriodEpochs = uint64(1 + w.rng.IntN(2))
	p.MinAllowedWeights = uint16(w.rng.IntN(3))
	p.Yuma3 = w.rng.IntN(2) == 0
	if w.rng.IntN(3) == 0 {
		p.MaxWeightLimit = 40000
	}
	if w.rng.IntN(10) == 0 {
		p.Tempo = 0 // invalid
	}
	return p
}

func (w *workload) amount(max uint64) uint64 {
	switch w.rng.IntN(10) {
	case 0:
		return 0
	case 1:
		return max + 1 + uint64(w.rng.IntN(10))
	}
	if max == 0 {
		return 1
	}
	return 1 + w.rng.Uint64N(max)
}

// block returns n transactions against s, as of height. It applies each to
// s as it goes, so that nonces and balances follow the block, and undoes
// them all at the end, as PrepareProposal does.
func (w *workload) block(s *State, height int64, n int) [][]byte {
	m := s.mark()
	defer s.revert(m)
	blk := Block{Height: uint64(height)}
	s.beginBlock(blk)
	var txs [][]byte
	netuid := func() uint16 {
		if len(s.subnets) == 0 || w.rng.IntN(15) == 0 {
			return uint16(w.rng.IntN(5))
		}
		return s.netuids()[w.rng.IntN(len(s.subnets))]
	}
	hot := func() AccountID { return w.hotIDs[w.rng.IntN(len(w.hotIDs))] }
	for range n {
		var priv ed25519.PrivateKey
		var signer AccountID
		var body Body
		if k := w.rng.IntN(12); k < 3 {
			// A hotkey sets, commits or reveals weights.
			priv, signer, body = w.weightsTx(s, netuid())
		} else if k == 3 {
			// The governance key (or another) sets the emission.
			i := 0
			if w.rng.IntN(4) == 0 {
				i = w.rng.IntN(len(w.colds))
			}
			priv, signer = w.colds[i], w.coldIDs[i]
			b := &SetEmission{PerBlock: uint64(w.rng.IntN(3)) * Unit / 2}
			for _, nu := range s.netuids() {
				if w.rng.IntN(3) == 0 {
					b.Shares = append(b.Shares, SubnetShare{Netuid: nu, Share: uint32(w.rng.IntN(4))})
				}
			}
			body = b
		} else if w.rng.IntN(6) == 0 {
			// A hotkey serves its axon (or tries to).
			i := w.rng.IntN(len(w.hots))
			nu := netuid()
			if sn, ok := s.subnets[nu]; ok && sn.N > 0 && w.rng.IntN(4) != 0 {
				// Mostly a registered hotkey.
				hk := s.neurons[neuronKey{nu, uint16(w.rng.IntN(int(sn.N)))}].Hotkey
				i = slices.Index(w.hotIDs, hk)
			}
			priv, signer = w.hots[i], w.hotIDs[i]
			b := &ServeAxon{Netuid: nu, Port: uint16(w.rng.IntN(3) * 4000), Protocol: uint8(w.rng.IntN(5))}
			if w.rng.IntN(8) != 0 {
				b.IP = ipv4(10, 0, byte(w.rng.IntN(3)), byte(w.rng.IntN(256)))
			}
			body = b
		} else {
			i := w.rng.IntN(len(w.colds))
			priv, signer = w.colds[i], w.coldIDs[i]
			bal := s.accounts[signer].Balance
			switch k := w.rng.IntN(20); {
			case k < 5:
				to := w.coldIDs[w.rng.IntN(len(w.coldIDs))]
				if w.rng.IntN(3) == 0 {
					to = hot()
				}
				body = &Transfer{To: to, Amount: w.amount(bal / 4)}
			case k < 6:
				body = &CreateSubnet{Params: w.params()}
			case k < 7:
				nu := netuid()
				if j := slices.Index(w.coldIDs, s.subnets[nu].Owner); j >= 0 && w.rng.IntN(3) != 0 {
					priv, signer = w.colds[j], w.coldIDs[j]
				}
				body = &SetHyperparams{Netuid: nu, Params: w.params()}
			case k < 12:
				nu := netuid()
				sn := s.subnets[nu]
				maxBurn := sn.Burn + uint64(w.rng.IntN(3))*Unit/10
				if w.rng.IntN(8) == 0 {
					maxBurn = sn.Burn / 2
				}
				body = &Register{Netuid: nu, Hotkey: hot(), MaxBurn: maxBurn}
			case k < 17:
				body = &AddStake{Hotkey: hot(), Amount: w.amount(bal / 3)}
			default:
				hk := hot()
				for _, h := range w.hotIDs[w.rng.IntN(len(w.hotIDs)):] {
					if s.stakes[stakeKey{h, signer}].Amount > 0 {
						hk = h
						break
					}
				}
				body = &RemoveStake{Hotkey: hk, Amount: w.amount(s.stakes[stakeKey{hk, signer}].Amount)}
			}
		}
		txs = append(txs, w.signApply(w.rng, s, blk, priv, signer, body))
		if w.datasets && w.drng.IntN(8) == 0 {
			// A hotkey, mostly a validator's, commits a dataset root. Its
			// own random source leaves the rest of the block as it was.
			priv, signer, body := w.datasetTx(s)
			txs = append(txs, w.signApply(w.drng, s, blk, priv, signer, body))
		}
	}
	return txs
}

// signApply signs body at signer's next nonce, sometimes spoiling the
// nonce, chain id or bytes (drawing from rng), and applies it to s.
func (w *workload) signApply(rng *rand.Rand, s *State, blk Block, priv ed25519.PrivateKey, signer AccountID, body Body) []byte {
	nonce := s.accounts[signer].Nonce
	chainID := testChainID
	switch rng.IntN(40) {
	case 0:
		nonce++
	case 1:
		if nonce > 0 {
			nonce--
		}
	case 2:
		chainID = "other"
	}
	raw, err := SignTx(priv, chainID, nonce, proved(body, chainID, priv))
	if err != nil {
		panic(err)
	}
	switch rng.IntN(40) {
	case 0:
		raw[rng.IntN(len(raw))] ^= byte(1 + rng.IntN(255))
	case 1:
		raw = raw[:rng.IntN(len(raw))]
	case 2:
		raw = append(raw, 0)
	}
	if tx, err := DecodeTx(raw); err == nil {
		s.apply(tx, blk)
	}
	return raw
}

// weightsTx is a set_weights, commit_weights or reveal_weights by a hotkey,
// mostly one registered on netuid.
func (w *workload) weightsTx(s *State, netuid uint16) (ed25519.PrivateKey, AccountID, Body) {
	if len(w.reveals) > 0 && w.rng.IntN(3) == 0 {
		j := w.rng.IntN(len(w.reveals))
		b, i := w.reveals[j], w.revealBy[j]
		if w.rng.IntN(2) == 0 {
			w.reveals = slices.Delete(w.reveals, j, j+1)
			w.revealBy = slices.Delete(w.revealBy, j, j+1)
		}
		return w.hots[i], w.hotIDs[i], b
	}
	i := w.rng.IntN(len(w.hots))
	sn, ok := s.subnets[netuid]
	if ok && sn.N > 0 && w.rng.IntN(5) != 0 {
		i = slices.Index(w.hotIDs, s.neurons[neuronKey{netuid, uint16(w.rng.IntN(int(sn.N)))}].Hotkey)
	}
	n := max(int(sn.N), 1)
	var uids, values []uint16
	for _, u := range w.rng.Perm(n)[:w.rng.IntN(n+1)] {
		uids = append(uids, uint16(u))
		values = append(values, uint16(w.rng.IntN(65536)))
	}
	if w.rng.IntN(4) == 0 {
		if uid, ok := s.UID(netuid, w.hotIDs[i]); ok {
			uids, values = []uint16{uid}, []uint16{1} // a self-weight
		}
	}
	if w.rng.IntN(20) == 0 {
		uids = append(uids, uint16(n)) // out of range
		values = append(values, 1)
	}
	version := uint64(w.rng.IntN(2))
	if !sn.Params.CommitReveal || w.rng.IntN(8) == 0 {
		return w.hots[i], w.hotIDs[i], &SetWeights{Netuid: netuid, UIDs: uids, Values: values, VersionKey: version}
	}
	salt := []uint16{uint16(w.rng.IntN(65536)), uint16(w.rng.IntN(65536))}
	r := &RevealWeights{Netuid: netuid, UIDs: uids, Values: values, Salt: salt, VersionKey: version}
	w.reveals, w.revealBy = append(w.reveals, r), append(w.revealBy, i)
	return w.hots[i], w.hotIDs[i], &CommitWeights{Netuid: netuid, Hash: weights.CommitHash(w.hotIDs[i][:], netuid, uids, values, salt, version)}
}

// datasetTx is a commit_dataset_root by a hotkey, mostly one with a
// validator permit on a subnet, mostly of a well-formed export. It draws
// from w.drng only.
func (w *workload) datasetTx(s *State) (ed25519.PrivateKey, AccountID, Body) {
	netuid := uint16(w.drng.IntN(5))
	if len(s.subnets) > 0 && w.drng.IntN(15) != 0 {
		netuid = s.netuids()[w.drng.IntN(len(s.subnets))]
	}
	i := w.drng.IntN(len(w.hots))
	var permitted []int
	for uid := range s.subnets[netuid].N {
		if n := s.neurons[neuronKey{netuid, uid}]; n.Permit {
			permitted = append(permitted, slices.Index(w.hotIDs, n.Hotkey))
		}
	}
	if len(permitted) > 0 && w.drng.IntN(5) != 0 {
		i = permitted[w.drng.IntN(len(permitted))]
	}
	b := &CommitDatasetRoot{Netuid: netuid, Records: 1 + w.drng.Uint64N(5000)}
	b.Chunks = uint32(1 + w.drng.Uint64N(min(b.Records, 20)))
	for j := range b.Root {
		b.Root[j] = byte(w.drng.IntN(256))
	}
	switch w.drng.IntN(12) {
	case 0:
		b.Records, b.Chunks = 0, 0
	case 1:
		b.Chunks = uint32(b.Records) + 1
	}
	return w.hots[i], w.hotIDs[i], b
}

// ledgerFromEvents checks that what a block burned is what its events say
// it burned: the fees of its successful transactions and their burns.
func ledgerFromEvents(t testing.TB, results []*abci.ExecTxResult) uint64 {
	t.Helper()
	var sum uint64
	for _, r := range results {
		if r.Code != 0 {
			continue
		}
		for _, e := range r.Events {
			for _, a := range e.Attributes {
				if a.Key == "fee" || a.Key == "burn" {
					v, err := strconv.ParseUint(a.Value, 10, 64)
					if err != nil {
						t.Fatalf("event %s %s=%q", e.Type, a.Key, a.Value)
					}
					sum += v
				}
			}
		}
	}
	return sum
}

// epochEmission checks each epoch event's parts add up to its emission
// and returns the sum of the emissions.
func epochEmission(t testing.TB, events []abci.Event) uint64 {
	t.Helper()
	var sum uint64
	for _, e := range events {
		v := map[string]uint64{}
		for _, a := range e.Attributes {
			v[a.Key], _ = strconv.ParseUint(a.Value, 10, 64)
		}
		if e.Type != "epoch" || v["owner_cut"]+v["server"]+v["validator"]+v["remainder"] != v["emission"] {
			t.Fatalf("epoch event %v: parts do not add up", e)
		}
		sum += v["emission"]
	}
	return sum
}

// TestSupplyInvariant runs a seeded random workload and checks after
// every block: Σ balances + Σ stakes == total supply == genesis + minted −
// burned; burned grows by exactly what the events say; the incremental app
// hash equals a full rehash; the database holds exactly the state.
func TestSupplyInvariant(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		w := newWorkload(seed)
		c := newTestChainOn(t, dbm.NewMemDB(), w.genesis())
		ok, failed, epochs := 0, 0, 0
		kinds := map[string]int{}
		for h := range 60 {
			if h%4 == 3 && h < 20 {
				// An epoch would set pruning scores; make them matter.
				c.mutate(func(s *State) {
					for _, nu := range s.netuids() {
						for uid := range s.subnets[nu].N {
							n := *s.neurons[neuronKey{nu, uid}]
							n.PruningScore = uint16(w.rng.IntN(4))
							s.setNeuron(nu, uid, &n)
						}
					}
				})
			}
			g0 := c.global()
			resp := c.finalize(w.block(c.app.State(), c.height+1, 20)...)
			c.commit()
			res := resp.TxResults
			g := c.global()
			if got, want := g.Burned-g0.Burned, ledgerFromEvents(t, res); got != want {
				t.Fatalf("seed %d height %d: burned %d, events say %d", seed, c.height, got, want)
			}
			if got, want := g.Minted-g0.Minted, epochEmission(t, resp.Events); got != want {
				t.Fatalf("seed %d height %d: minted %d, epoch events say %d", seed, c.height, got, want)
			}
			epochs += len(resp.Events)
			supplyInvariant(t, c.app.State())
			c.checkConsistency(true)
			for _, r := range res {
				if r.Code == 0 {
					ok++
					kinds[r.Events[0].Type]++
				} else {
					failed++
					kinds[Code(r.Code).String()]++
					if r.Log == "" {
						t.Errorf("a rejection without a log: code %d", r.Code)
					}
				}
			}
		}
		for k := KindTransfer; k < kindEnd; k++ {
			if kinds[k.String()] == 0 {
				t.Errorf("seed %d: no successful %s", seed, k)
			}
		}
		if ok < 200 || failed < 100 {
			t.Errorf("seed %d: workload too narrow: %d ok %v, %d failed", seed, ok, kinds, failed)
		}
		if epochs < 20 || c.global().Minted == 0 {
			t.Errorf("seed %d: %d epochs, minted %d", seed, epochs, c.global().Minted)
		}
		t.Logf("seed %d: %d ok %v, %d failed; %d subnets, %d epochs, burned %d, minted %d", seed, ok, kinds, failed, len(c.app.State().subnets), epochs, c.global().Burned, c.global().Minted)
	}
}

// TestDeterminism applies the same blocks to two fresh apps: the second
// also sees every transaction through CheckTx and every block through
// PrepareProposal and ProcessProposal first, as a validator's mempool and
// proposer would. Results, events and app hashes agree at every height.
func TestDeterminism(t *testing.T) {
	w := newWorkload(42)
	a := newTestChainOn(t, dbm.NewMemDB(), w.genesis())
	b := newTestChainOn(t, dbm.NewMemDB(), w.genesis())
	if !bytes.Equal(a.app.appHash, b.app.appHash) {
		t.Fatalf("genesis app hashes differ")
	}
	ctx := context.Background()
	total := 0
	for h := 1; h <= 25; h++ {
		txs := w.block(a.app.State(), a.height+1, 5+h%3*10)
		total += len(txs)
		before := b.snap()
		for _, raw := range txs {
			b.checkTx(raw, abci.CheckTxType_New)
		}
		prepared := b.prepare(1<<20, txs...)
		pp, err := b.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: prepared, Height: b.height + 1})
		if err != nil || pp.Status != abci.ResponseProcessProposal_ACCEPT {
			t.Fatalf("ProcessProposal: %v %v", pp, err)
		}
		sameSnapshot(t, "CheckTx and PrepareProposal", before, b.snap())
		ra, rb := a.finalize(txs...), b.finalize(txs...)
		if !reflect.DeepEqual(ra, rb) {
			for i := range ra.TxResults {
				if !reflect.DeepEqual(ra.TxResults[i], rb.TxResults[i]) {
					t.Errorf("height %d tx %d: %v vs %v", h, i, ra.TxResults[i], rb.TxResults[i])
				}
			}
			t.Fatalf("height %d: responses differ (app hash %X vs %X)", h, ra.AppHash, rb.AppHash)
		}
		// What PrepareProposal kept is exactly what succeeds, in order.
		var succeeded [][]byte
		for i, r := range ra.TxResults {
			if r.Code == 0 {
				succeeded = append(succeeded, txs[i])
			}
		}
		if !reflect.DeepEqual(prepared, succeeded) {
			t.Errorf("height %d: PrepareProposal kept %d, %d succeed", h, len(prepared), len(succeeded))
		}
		a.commit()
		b.commit()
		if d := changedKeys(dumpState(t, a.app.State()), dumpState(t, b.app.State())); len(d) > 0 {
			t.Fatalf("height %d: states differ in %v", h, d)
		}
	}
	if total < 300 {
		t.Errorf("only %d transactions", total)
	}
}

func TestPrepareProposal(t *testing.T) {
	f := newFixture(t)
	garbage := []byte("not a transaction")
	v1 := f.tx("alice", &Transfer{To: f.id["carol"], Amount: Unit})
	v2 := f.tx("alice", &Register{Netuid: 1, Hotkey: f.id["hkb"], MaxBurn: Unit})
	dup := f.txAt("alice", f.nonce(f.id["alice"])+1, &Transfer{To: f.id["carol"], Amount: 2})
	v3 := f.tx("carol", &AddStake{Hotkey: f.id["hkb"], Amount: Unit}) // needs v2 first
	tooMuch := f.tx("scant", &Transfer{To: f.id["bob"], Amount: Unit})
	v4 := f.txAt("scant", 0, &Transfer{To: f.id["bob"], Amount: Unit / 4})
	early := f.txAt("bob", f.nonce(f.id["bob"])+1, &Transfer{To: f.id["carol"], Amount: 1})
	v5 := f.txAt("bob", f.nonce(f.id["bob"]), &Transfer{To: f.id["carol"], Amount: 1})
	in := [][]byte{v1, garbage, v2, dup, v3, tooMuch, v4, early, v5}
	before := f.snap()
	got := f.prepare(1<<20, in...)
	want := [][]byte{v1, v2, v3, v4, v5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kept %d transactions, want %d in order", len(got), len(want))
	}
	sameSnapshot(t, "PrepareProposal", before, f.snap())
	// Reversed, the stake comes before the registration it needs.
	got = f.prepare(1<<20, v1, v3, v2)
	if !reflect.DeepEqual(got, [][]byte{v1, v2}) {
		t.Errorf("reversed: kept %d", len(got))
	}
	// The block's transactions fit max_tx_bytes as CometBFT counts them
	// (protobuf framing included), however many are offered.
	for _, limit := range []int64{0, 200, int64(len(v1)), int64(len(v1) + len(v2)), 500, 1000} {
		got := f.prepare(limit, in...)
		if err := cmttypes.ToTxs(got).Validate(limit); err != nil {
			t.Errorf("max_tx_bytes %d: %v (kept %d)", limit, err, len(got))
		}
		if len(got) > 0 && !bytes.Equal(got[0], v1) {
			t.Errorf("max_tx_bytes %d: order changed", limit)
		}
	}
	sameSnapshot(t, "PrepareProposal", before, f.snap())
	// And the block commits with all of them succeeding.
	for i, r := range f.block(want...) {
		if r.Code != 0 {
			t.Errorf("tx %d: %s", i, r.Log)
		}
	}
}

// TestPrepareProposalSeesBurnAdjustment: a proposal at an adjustment
// height prices registrations at the adjusted burn, as FinalizeBlock will.
func TestPrepareProposalSeesBurnAdjustment(t *testing.T) {
	p := regParams(64, 0)
	p.TargetRegistrations, p.AdjustmentInterval = 1, 3
	c := newRegChain(t, p)
	c.mustBlock(c.register(0, Unit), c.register(1, Unit), c.register(2, Unit))
	c.block()
	raw := c.register(3, Unit) // the burn doubles at height 4
	if got := c.prepare(1<<20, raw); len(got) != 0 {
		t.Errorf("PrepareProposal kept a registration the adjusted burn rejects")
	}
}

func TestCheckTxMempoolSemantics(t *testing.T) {
	f := newFixture(t)
	alice := f.id["alice"]
	n := f.nonce(alice)
	tx := func(nonce uint64) []byte { return f.txAt("alice", nonce, &Transfer{To: f.id["carol"], Amount: Unit}) }
	before := f.snap()
	expect := func(raw []byte, typ abci.CheckTxType, code Code, what string) {
		t.Helper()
		r := f.checkTx(raw, typ)
		if Code(r.Code) != code {
			t.Errorf("%s: code %s (%s), want %s", what, Code(r.Code), r.Log, code)
		}
	}
	// A run of consecutive nonces is admitted before any commit.
	for i := range uint64(5) {
		expect(tx(n+i), abci.CheckTxType_New, CodeOK, "consecutive nonce")
	}
	expect(tx(n+6), abci.CheckTxType_New, CodeBadNonce, "gap")
	expect(tx(n+2), abci.CheckTxType_New, CodeBadNonce, "already admitted")
	expect(tx(n+5), abci.CheckTxType_New, CodeOK, "next")
	// Another sender is independent.
	expect(f.txAt("bob", f.nonce(f.id["bob"]), &Transfer{To: alice, Amount: 1}), abci.CheckTxType_New, CodeOK, "bob")
	// A failing transaction does not take the nonce.
	expect(f.txAt("alice", n+6, &Transfer{To: f.id["carol"]}), abci.CheckTxType_New, CodeBadAmount, "zero amount")
	expect(tx(n+6), abci.CheckTxType_New, CodeOK, "after a failure")
	sameSnapshot(t, "CheckTx", before, f.snap())

	// Commit a block with the first two: CheckTx state resets and the
	// mempool's recheck readmits the rest in order.
	f.mustBlock(tx(n), tx(n+1))
	expect(tx(n+1), abci.CheckTxType_Recheck, CodeBadNonce, "recheck of a committed tx")
	for i := uint64(2); i <= 6; i++ {
		expect(tx(n+i), abci.CheckTxType_Recheck, CodeOK, "recheck "+strconv.Itoa(int(i)))
	}
	expect(tx(n+7), abci.CheckTxType_New, CodeOK, "new after recheck")
	// With no recheck, the committed nonce is what counts.
	f.mustBlock()
	expect(tx(n+3), abci.CheckTxType_New, CodeBadNonce, "after a commit, n+3")
	expect(tx(n+2), abci.CheckTxType_New, CodeOK, "after a commit, n+2")

	// The balance carries forward too: hkb holds 10 AGR and each transfer
	// takes 3 AGR and the fee, so three are admitted and the fourth is
	// refused, though each alone would apply to the committed balance.
	hkb, carol := f.id["hkb"], f.id["carol"]
	fee := DefaultFees().Transfer
	m := f.nonce(hkb)
	pay := func(nonce, amount uint64) []byte { return f.txAt("hkb", nonce, &Transfer{To: carol, Amount: amount}) }
	before = f.snap()
	for i := range uint64(3) {
		expect(pay(m+i, 3*Unit), abci.CheckTxType_New, CodeOK, "affordable "+strconv.Itoa(int(i)))
	}
	left := 10*Unit - 3*(3*Unit+fee)
	expect(pay(m+3, 3*Unit), abci.CheckTxType_New, CodeInsufficientBalance, "beyond the balance")
	expect(pay(m+3, left), abci.CheckTxType_New, CodeInsufficientBalance, "the rest, without the fee")
	expect(pay(m+3, left-fee), abci.CheckTxType_New, CodeOK, "the rest, less the fee")
	expect(pay(m+4, 1), abci.CheckTxType_New, CodeInsufficientBalance, "nothing left")
	sameSnapshot(t, "CheckTx with spending", before, f.snap())
	if got := f.balance(hkb); got != 10*Unit {
		t.Errorf("hkb's committed balance %d, want 10 AGR", got)
	}

	// A block with the first two: recheck rebuilds the spending from the
	// new committed balance, and the admitted rest still fit.
	f.mustBlock(pay(m, 3*Unit), pay(m+1, 3*Unit))
	expect(pay(m+2, 3*Unit), abci.CheckTxType_Recheck, CodeOK, "recheck of the third")
	expect(pay(m+3, left-fee), abci.CheckTxType_Recheck, CodeOK, "recheck of the rest")
	expect(pay(m+4, 1), abci.CheckTxType_New, CodeInsufficientBalance, "still nothing left")
	// Without a recheck, the committed balance is all that counts.
	f.mustBlock()
	expect(pay(m+2, 3*Unit), abci.CheckTxType_New, CodeOK, "after a commit, the committed balance")

	// The over-admission the review found: an account holding one
	// transfer's worth gets one transfer admitted, not a run of them.
	_, dave := testKey(40)
	davePriv, _ := testKey(40)
	f.mustBlock(f.tx("alice", &Transfer{To: dave, Amount: Unit + fee}))
	for i := range uint64(50) {
		code := CodeOK
		if i > 0 {
			code = CodeInsufficientBalance
		}
		expect(sign(t, davePriv, min(i, 1), &Transfer{To: carol, Amount: Unit}), abci.CheckTxType_New, code, "dave's transfer "+strconv.Itoa(int(i)))
	}

	// A sender may have at most MaxPendingTxs in the mempool.
	f.mustBlock()
	n = f.nonce(alice)
	small := func(nonce uint64) []byte { return f.txAt("alice", nonce, &Transfer{To: carol, Amount: 1}) }
	for i := range uint64(MaxPendingTxs) {
		if r := f.checkTx(small(n+i), abci.CheckTxType_New); r.Code != 0 {
			t.Fatalf("pending %d: code %s (%s)", i, Code(r.Code), r.Log)
		}
	}
	r := f.checkTx(small(n+MaxPendingTxs), abci.CheckTxType_New)
	if Code(r.Code) != CodeTooManyPending || !strings.Contains(r.Log, "already has 1000 transactions in the mempool") {
		t.Errorf("beyond the cap: code %s (%s), want too_many_pending", Code(r.Code), r.Log)
	}
	// Once a block includes one, there is room for one more.
	f.mustBlock(small(n))
	for i := uint64(1); i < MaxPendingTxs; i++ {
		if r := f.checkTx(small(n+i), abci.CheckTxType_Recheck); r.Code != 0 {
			t.Fatalf("recheck %d: code %s (%s)", i, Code(r.Code), r.Log)
		}
	}
	expect(small(n+MaxPendingTxs), abci.CheckTxType_New, CodeOK, "room after a block")
	expect(small(n+MaxPendingTxs+1), abci.CheckTxType_New, CodeTooManyPending, "full again")
}

// TestQueries checks every query path against the state.
func TestQueries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	q := func(path string) (*abci.ResponseQuery, string) {
		r, err := f.app.Query(ctx, &abci.RequestQuery{Path: path})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return r, string(r.Value)
	}
	hka := f.id["hka"]
	for path, want := range map[string]string{
		"/account/" + f.id["bob"].String(): `{"balance":994999900000,"nonce":1}`,
		"/account/" + f.id["hkd"].String(): `{"balance":0,"nonce":0}`,
		"/hotkey/" + hka.String():          `{"owner":"` + f.id["alice"].String() + `","take":11796,"stake":5000000000}`,
		"/supply":                          `{"total":`,
		"/subnet/1":                        `{"netuid":1,"owner":"` + f.id["alice"].String() + `"`,
		"/neuron/1/0":                      `"hotkey":"` + hka.String() + `","coldkey":"` + f.id["alice"].String() + `","stake":5000000000`,
		"/metagraph/1":                     `"n":2`,
	} {
		r, v := q(path)
		if r.Code != 0 || !bytes.Contains([]byte(v), []byte(want)) || r.Height != f.height {
			t.Errorf("%s: code %d height %d %s, want %s", path, r.Code, r.Height, v, want)
		}
	}
	for _, path := range []string{"/account/zz", "/hotkey/" + f.id["hkb"].String(), "/subnet/9", "/subnet/x", "/neuron/1/5", "/neuron/1", "/metagraph/7", "/nothing"} {
		if r, v := q(path); r.Code == 0 || r.Log == "" {
			t.Errorf("%s: code %d %s", path, r.Code, v)
		}
	}
}
