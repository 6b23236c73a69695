package consensus

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Epoch vectors from subtensor's tests/epoch_logs.rs and tests/epoch.rs at
// 14bc6f9f (research/yuma.md sections 6.3 and 6.5–6.8), replayed through
// Epoch with the mock runtime's state reproduced by hand:
//
//   - direct SubtensorModule::epoch() calls leave LastMechansimStepBlock at
//     0, so LastEpochBlock is 0 and the bond mask uses block − tempo;
//   - the activity cutoff is HEAD's get_activity_cutoff_blocks, the default
//     13_889 per mille of tempo (at least 1), not the deprecated
//     ActivityCutoff (5000) that some test comments still print;
//   - registration (register, append_neuron, replace_neuron) sets
//     block_at_registration and last_update to its block, and a new uid has
//     no validator permit until an epoch grants one;
//   - set_weights stores the max-upscaled values, zero entries included, and
//     sets last_update to the current block;
//   - the mock has no subnet owner hotkey (get_owner_uid is None), tao weight
//     0 (stake = alpha), stake threshold 0 and max_allowed_validators 100.
//
// Subtensor's Rank and Trust assertions (test_1_graph, test_10_graph) are on
// outputs HEAD's epoch no longer computes; their values there are 0 and are
// not part of Output.

// vxCutoff is get_activity_cutoff_blocks at the default factor.
func vxCutoff(tempo uint64) uint64 { return max(13_889*tempo/1000, 1) }

// vxMockParams are the mock runtime's hyperparameters at the given tempo.
func vxMockParams(tempo uint64) Params {
	p := DefaultParams()
	p.MaxAllowedValidators = 100
	p.Tempo = tempo
	p.ActivityCutoff = vxCutoff(tempo)
	return p
}

// vxSetWeights stores uid's weights as set_weights does at block.
func vxSetWeights(in *Input, uid int, block uint64, uids []uint16, vals ...uint16) {
	up := vxMaxUpscale(vals...)
	row := make([]Entry, len(uids))
	for k, u := range uids {
		row[k] = Entry{u, up[k]}
	}
	in.Weights[uid] = row
	in.LastUpdate[uid] = block
}

// vxReplace is replace_neuron (with clear_neuron) of uid at block by a new
// hotkey without stake: its own weights and bonds are removed, weights
// pointing at it are set to 0 (the entries stay), its permit is cleared and
// its registration and last update move to block.
func vxReplace(in *Input, uid int, block uint64) {
	in.Weights[uid], in.Bonds[uid] = nil, nil
	for _, row := range in.Weights {
		for k := range row {
			if int(row[k].UID) == uid {
				row[k].Value = 0
			}
		}
	}
	in.Permits[uid] = false
	in.BlockAtRegistration[uid] = block
	in.LastUpdate[uid] = block
	in.Stake[uid] = 0
}

func vxRange(lo, hi int) []uint16 {
	out := make([]uint16, 0, hi-lo)
	for u := lo; u < hi; u++ {
		out = append(out, uint16(u))
	}
	return out
}

func vxEqual[T comparable](t *testing.T, name string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

// --- 6.3 tests/epoch_logs.rs ---------------------------------------------

type vxNeuron struct {
	validator bool
	stake     uint64
	reg, upd  uint64
}

// vxLogsInput is epoch_logs.rs's setup_epoch: tempo 10, permits, stakes,
// registration and last-update blocks written directly to storage.
func vxLogsInput(block uint64, ns ...vxNeuron) *Input {
	n := len(ns)
	in := &Input{
		N:                   n,
		Block:               block,
		Emission:            1_000_000_000,
		Stake:               make([]uint64, n),
		Permits:             make([]bool, n),
		LastUpdate:          make([]uint64, n),
		BlockAtRegistration: make([]uint64, n),
		Weights:             make([][]Entry, n),
		Bonds:               make([][]Entry, n),
		Params:              vxMockParams(10),
	}
	for i, nr := range ns {
		in.Stake[i], in.Permits[i] = nr.stake, nr.validator
		in.BlockAtRegistration[i], in.LastUpdate[i] = nr.reg, nr.upd
	}
	return in
}

func vxRun(t *testing.T, in *Input) *Output {
	t.Helper()
	out, err := Epoch(in)
	if err != nil {
		t.Fatalf("epoch: %v", err)
	}
	return out
}

func TestEpochLogsVectors(t *testing.T) {
	val := func(stake, upd uint64) vxNeuron { return vxNeuron{true, stake, 0, upd} }
	srv := vxNeuron{false, 0, 0, 1}
	const e9 = 1_000_000_000

	t.Run("test_simple", func(t *testing.T) {
		out := vxRun(t, vxLogsInput(1, val(e9, 1), val(e9, 1)))
		vxEqual(t, "Active", out.Active, []bool{true, true})
		vxEqual(t, "StakeWeight (0.5)", out.StakeWeight, []uint16{32767, 32767})
		vxEqual(t, "new_validator_permits", out.ValidatorPermits, []bool{true, true})
		vxEqual(t, "Consensus", out.Consensus, []uint16{0, 0})
		vxEqual(t, "ValidatorEmission", out.ValidatorEmission, []uint64{500000000, 500000000})
		vxEqual(t, "Emission", out.Emission, []uint64{500000000, 500000000})
	})
	// test_bad_permit_vector is left out: it stores a permit vector shorter
	// than n, which Input.Validate rejects; subtensor logs a math error and
	// then pays the whole validator emission to uid 0.
	t.Run("test_bad_permit_vector (rejected)", func(t *testing.T) {
		in := vxLogsInput(1, val(e9, 1), val(e9, 1))
		in.Permits = []bool{true}
		if _, err := Epoch(in); err == nil {
			t.Error("a permit vector shorter than n was accepted")
		}
	})
	t.Run("test_inactive_mask_zeroes_active_stake", func(t *testing.T) {
		out := vxRun(t, vxLogsInput(1_000_000, val(e9, 0), val(e9, 0)))
		vxEqual(t, "Active", out.Active, []bool{false, false})
		// Active stake [0, 0]: the fallback pays the full stake.
		vxEqual(t, "Emission", out.Emission, []uint64{500000000, 500000000})
	})
	t.Run("test_validator_permit_masks_active_stake", func(t *testing.T) {
		in := vxLogsInput(1, val(e9, 1), val(e9, 1))
		in.Permits = []bool{true, false}
		out := vxRun(t, in)
		// Active stake [1, 0], which the no-weights fallback pays out.
		vxEqual(t, "ValidatorEmission", out.ValidatorEmission, []uint64{e9, 0})
		vxEqual(t, "Emission", out.Emission, []uint64{e9, 0})
	})
	t.Run("yuma_emergency_mode", func(t *testing.T) {
		out := vxRun(t, vxLogsInput(1_000_000, val(e9, 0), val(e9, 0)))
		vxEqual(t, "Active", out.Active, []bool{false, false})
		vxEqual(t, "Emission (nCE = S = [0.5, 0.5])", out.Emission, []uint64{500000000, 500000000})
	})
	t.Run("epoch_uses_active_stake_when_nonzero_active", func(t *testing.T) {
		out := vxRun(t, vxLogsInput(1000, val(e9, 999), val(e9, 1)))
		vxEqual(t, "Active", out.Active, []bool{true, false})
		vxEqual(t, "Emission (nCE = [1, 0])", out.Emission, []uint64{e9, 0})
	})
	t.Run("epoch_topk_validator_permits", func(t *testing.T) {
		in := vxLogsInput(1, val(2*e9, 1), val(e9, 1))
		in.Params.MaxAllowedValidators = 1
		out := vxRun(t, in)
		// "Normalised Stake: [0.666": S_0 = floor(2^32·2/3) = 0.6666666665,
		// stored as floor(S_0·65535) = 43689.
		if s0 := normStake(2*e9, 3*e9); 1000*s0 < 666*one || 1000*s0 >= 667*one {
			t.Errorf("S_0 = %.10f, want 0.666…", vxFloat(s0))
		}
		if got := out.StakeWeight[0]; got != 43689 {
			t.Errorf("StakeWeight[0] = %d, want 43689", got)
		}
		vxEqual(t, "new_validator_permits", out.ValidatorPermits, []bool{true, false})
	})
	for _, yuma3 := range []bool{true, false} {
		name := "epoch_original_yuma_bonds_pipeline"
		if yuma3 {
			name = "epoch_yuma3_bonds_pipeline"
		}
		// These assert only that the branch's log lines appear; here the
		// branch runs and the no-weights fallback pays the stake.
		t.Run(name, func(t *testing.T) {
			in := vxLogsInput(1, val(e9, 1), val(e9, 1))
			in.Params.Yuma3 = yuma3
			out := vxRun(t, in)
			vxEqual(t, "Emission", out.Emission, []uint64{500000000, 500000000})
		})
	}
	servers := []uint16{3, 4}
	t.Run("test_validators_weight_two_distinct_servers", func(t *testing.T) {
		in := vxLogsInput(1, val(e9, 1), val(e9, 1), val(e9, 1), srv, srv)
		vxSetWeights(in, 0, 1, servers, max16, 0)
		vxSetWeights(in, 1, 1, servers, 0, max16)
		vxSetWeights(in, 2, 1, servers, max16, 0)
		for i, want := range [][]Entry{{{3, 65535}, {4, 0}}, {{3, 0}, {4, 65535}}, {{3, 65535}, {4, 0}}} {
			vxEqual(t, "Weights", in.Weights[i], want)
		}
		out := vxRun(t, in)
		vxEqual(t, "Consensus", out.Consensus, []uint16{0, 0, 0, 65535, 0})
		vxEqual(t, "ValidatorTrust", out.ValidatorTrust, []uint16{65535, 0, 65535, 0, 0})
		vxEqual(t, "Dividends", out.Dividends, []uint16{32767, 0, 32767, 0, 0})
		vxEqual(t, "Emission", out.Emission, []uint64{250000000, 0, 250000000, 500000000, 0})
	})
	t.Run("test_validator_splits_weight_across_two_servers", func(t *testing.T) {
		in := vxLogsInput(1, val(e9, 1), val(e9, 1), val(e9, 1), srv, srv)
		vxSetWeights(in, 0, 1, servers, max16, 0)
		vxSetWeights(in, 1, 1, servers, 0, max16)
		vxSetWeights(in, 2, 1, servers, max16, max16)
		out := vxRun(t, in)
		vxEqual(t, "Dividends", out.Dividends, []uint16{16383, 16383, 32767, 0, 0})
		vxEqual(t, "Emission", out.Emission, []uint64{125000000, 125000000, 250000000, 250000000, 250000000})
	})
	// Mechanism tests: epoch_mechanism reads one mechanism's weights, written
	// straight to storage (no set_weights: last_update stays 1), emission 1000.
	mech := func(t *testing.T, ns []vxNeuron, rows map[int][]Entry) *Output {
		in := vxLogsInput(1, ns...)
		in.Emission = 1000
		for i, r := range rows {
			in.Weights[i] = r
		}
		return vxRun(t, in)
	}
	five := []vxNeuron{val(e9, 1), val(e9, 1), val(e9, 1), srv, srv}
	t.Run("epoch_mechanism_reads_weights_per_mechanism", func(t *testing.T) {
		m0 := mech(t, five, map[int][]Entry{0: {{3, max16}}, 1: {{4, max16}}, 2: {{3, max16}}})
		vxEqual(t, "mech 0 Emission", m0.Emission, []uint64{250, 0, 250, 500, 0})
		m1 := mech(t, five, map[int][]Entry{0: {{4, max16}}, 1: {{3, max16}}, 2: {{4, max16}}})
		vxEqual(t, "mech 1 Emission", m1.Emission, []uint64{250, 0, 250, 0, 500})
	})
	t.Run("epoch_mechanism_three_mechanisms_separate_state", func(t *testing.T) {
		four := []vxNeuron{val(e9, 1), val(e9, 1), srv, srv}
		l0 := mech(t, four, map[int][]Entry{0: {{2, max16}}, 1: {{2, max16}}})
		vxEqual(t, "mech 0 Emission", l0.Emission, []uint64{250, 250, 500, 0})
		l1 := mech(t, four, map[int][]Entry{0: {{2, max16}, {3, max16}}, 1: {{2, max16}, {3, max16}}})
		vxEqual(t, "mech 1 Emission", l1.Emission, []uint64{250, 250, 250, 250})
		l2 := mech(t, four, map[int][]Entry{0: {{3, max16}}, 1: {{3, max16}}})
		vxEqual(t, "mech 2 Emission", l2.Emission, []uint64{250, 250, 0, 500})
	})
}

// --- 6.5 test_active_stake -------------------------------------------------

func TestActiveStakeVector(t *testing.T) {
	// n = 4 registered at block 0 with stake 1 each, tempo 1, max 4 validators.
	p := vxMockParams(1)
	p.MaxAllowedValidators = 4
	c := newChain(t, 4, []uint64{1, 1, 1, 1}, p)
	c.epoch(0) // permits
	srvs := vxRange(2, 4)
	for uid := range 2 {
		vxSetWeights(&c.in, uid, 1, srvs, max16/2, max16/2)
	}
	vxEqual(t, "stored weights", c.in.Weights[0], []Entry{{2, 65535}, {3, 65535}})

	out := c.epoch(1)
	vxEqual(t, "epoch 1 Dividends[0:2]", out.Dividends[:2], []uint16{32767, 32767})
	vxEqual(t, "epoch 1 Emission", out.Emission, []uint64{250000000, 250000000, 250000000, 250000000})
	for v := range 2 {
		vxEqual(t, "epoch 1 bonds on validators", c.bondsCol(v, 0, 1), []uint16{0, 0})
		vxEqual(t, "epoch 1 bonds on servers", []uint16{c.bond(v, 2), c.bond(v, 3)}, []uint16{65535, 65535})
	}

	// Block 5002 (the deprecated ActivityCutoff 5000 + 2): only uid 0
	// refreshes; uid 1's weights are older than the cutoff.
	vxSetWeights(&c.in, 0, 5002, srvs, max16/2, max16/2)
	out = c.epoch(5002)
	vxEqual(t, "epoch 2 Dividends[0:2]", out.Dividends[:2], []uint16{36044, 29490})
	vxEqual(t, "epoch 2 Emission[0:2]", out.Emission[:2], []uint64{274999999, 224999999})
	vxEqual(t, "epoch 2 bonds[0][2:4]", []uint16{c.bond(0, 2), c.bond(0, 3)}, []uint16{65535, 65535})
	vxEqual(t, "epoch 2 bonds[1][2:4]", []uint16{c.bond(1, 2), c.bond(1, 3)}, []uint16{53619, 53619})

	// uid 1 refreshes at 5002 too; epoch at 5003.
	vxSetWeights(&c.in, 1, 5002, srvs, max16/2, max16/2)
	out = c.epoch(5003)
	vxEqual(t, "epoch 3 Dividends[0:2]", out.Dividends[:2], []uint16{35716, 29818})
	vxEqual(t, "epoch 3 Emission[0:2]", out.Emission[:2], []uint64{272501132, 227498866})
	vxEqual(t, "epoch 3 bonds[0][2:4]", []uint16{c.bond(0, 2), c.bond(0, 3)}, []uint16{65535, 65535})
	vxEqual(t, "epoch 3 bonds[1][2:4]", []uint16{c.bond(1, 2), c.bond(1, 3)}, []uint16{54712, 54712})
}

// --- 6.6 test_outdated_weights --------------------------------------------

func TestOutdatedWeightsVector(t *testing.T) {
	// n = 4 registered at block 1 with stake 1 each, tempo 0 (cutoff 1).
	p := vxMockParams(0)
	p.MaxAllowedValidators = 4
	c := newChain(t, 4, []uint64{1, 1, 1, 1}, p)
	for i := range 4 {
		c.in.BlockAtRegistration[i], c.in.LastUpdate[i] = 1, 1
	}
	c.epoch(1) // permits
	srvs := vxRange(2, 4)
	for uid := range 2 {
		vxSetWeights(&c.in, uid, 2, srvs, 2*(max16/3), max16/3)
	}
	for uid := 2; uid < 4; uid++ {
		vxSetWeights(&c.in, uid, 2, []uint16{uint16(uid)}, max16) // server self-weight
	}
	vxEqual(t, "stored weights", c.in.Weights[0], []Entry{{2, 65535}, {3, 32768}})
	out := c.epoch(2)
	vxEqual(t, "epoch 1 Emission", out.Emission, []uint64{250000000, 250000000, 333331637, 166668361})

	// A new key replaces uid 3 (least emission) at block 2; uid 0 alone
	// re-weights at block 3.
	vxReplace(&c.in, 3, 2)
	vxSetWeights(&c.in, 0, 3, srvs, 2*(max16/3), max16/3)
	out = c.epoch(3)
	if got := out.Dividends[0]; got != 32767 {
		t.Errorf("Dividends[0] = %d, want 32767", got)
	}
	if got := out.Emission[0]; got != 250000000 {
		t.Errorf("Emission[0] = %d, want 250000000", got)
	}
	vxEqual(t, "bonds[0][2:4]", []uint16{c.bond(0, 2), c.bond(0, 3)}, []uint16{65535, 65535})
	// Not asserted by subtensor; yuma.md's emulator gives these.
	vxEqual(t, "Emission (emulated)", out.Emission, []uint64{250000000, 250000000, 500000000, 0})
	vxEqual(t, "Incentive (emulated)", out.Incentive, []uint16{0, 0, 65535, 0})
}

// --- 6.7 fallback cases ----------------------------------------------------

func TestFallbackVectors(t *testing.T) {
	const highTempo = max16 - 1 // "high tempo to skip automatic epochs"

	t.Run("test_10_graph", func(t *testing.T) {
		// 10 uids appended at block 0 with stake 1 and no permit, self-weights
		// set at block 1, epoch at block 1.
		c := newChain(t, 10, slices.Repeat([]uint64{1}, 10), vxMockParams(highTempo))
		for i := range 10 {
			vxSetWeights(&c.in, i, 1, []uint16{uint16(i)}, max16)
		}
		out := c.epoch(1)
		vxEqual(t, "Consensus", out.Consensus, make([]uint16, 10))
		vxEqual(t, "Incentive", out.Incentive, make([]uint16, 10))
		vxEqual(t, "Dividends", out.Dividends, make([]uint16, 10))
		vxEqual(t, "Emission", out.Emission, slices.Repeat([]uint64{99999999}, 10))
	})

	t.Run("test_1_graph", func(t *testing.T) {
		// One uid registered at block 1 with 1e9 stake, self-weight at block 1.
		c := newChain(t, 1, []uint64{1_000_000_000}, vxMockParams(highTempo))
		c.in.BlockAtRegistration[0], c.in.LastUpdate[0] = 1, 1
		vxSetWeights(&c.in, 0, 1, []uint16{0}, max16)
		out := c.epoch(1)
		vxEqual(t, "Consensus", out.Consensus, []uint16{0})
		vxEqual(t, "Incentive", out.Incentive, []uint16{0})
		vxEqual(t, "Dividends", out.Dividends, []uint16{0})
	})

	t.Run("test_zero_weights", func(t *testing.T) {
		// Validator (stake 1) and server (stake 0) registered at block 1.
		c := newChain(t, 2, []uint64{1, 0}, vxMockParams(highTempo))
		for i := range 2 {
			c.in.BlockAtRegistration[i], c.in.LastUpdate[i] = 1, 1
		}
		want := []uint64{1_000_000_000, 0}
		// No weights.
		vxEqual(t, "no weights: Emission", c.epoch(1).Emission, want)
		// Server self-weight only.
		vxSetWeights(&c.in, 1, 1, []uint16{1}, max16)
		vxEqual(t, "self-weights: Emission", c.epoch(1).Emission, want)
		// Block 2: the validator weights the server, then a new key replaces
		// the server, which outdates the weight.
		vxSetWeights(&c.in, 0, 2, []uint16{1}, max16)
		vxReplace(&c.in, 1, 2)
		vxEqual(t, "outdated weights: Emission", c.epoch(2).Emission, want)
		// Block 3: fresh weights.
		vxSetWeights(&c.in, 0, 3, []uint16{1}, max16)
		vxEqual(t, "fresh weights: Emission", c.epoch(3).Emission, []uint64{500_000_000, 500_000_000})
	})

	t.Run("test_epoch_outputs_single_staker_registered_no_weights", func(t *testing.T) {
		c := newChain(t, 1, []uint64{1}, vxMockParams(highTempo))
		c.in.BlockAtRegistration[0], c.in.LastUpdate[0] = 1, 1
		out := c.epoch(1)
		total := out.ServerEmission[0] + out.ValidatorEmission[0]
		if d := max(total, 1_000_000_000) - min(total, 1_000_000_000); d > 1000 {
			t.Errorf("incentive + dividend emission = %d, want 1e9 within 1000", total)
		}
	})
}

// --- 6.8 test_512_graph ----------------------------------------------------

// vxDistribute is distribute_nodes: blockwise, regular or random
// interleaving of validators among the uids (random with a fixed seed here;
// subtensor's is unseeded).
func vxDistribute(validatorsN, n, interleave int) (validators, servers []uint16) {
	switch interleave {
	case 0:
		return vxRange(0, validatorsN), vxRange(validatorsN, n)
	case 1:
		for u := range n {
			if u%(n/validatorsN) == 0 {
				validators = append(validators, uint16(u))
			} else {
				servers = append(servers, uint16(u))
			}
		}
		return validators, servers
	default:
		perm := rand.New(rand.NewPCG(512, 64)).Perm(n)
		for k, u := range perm {
			if k < validatorsN {
				validators = append(validators, uint16(u))
			} else {
				servers = append(servers, uint16(u))
			}
		}
		return validators, servers
	}
}

// TestGraph512 is test_512_graph: 64 validators with 328_125_000_000_000
// each weight all 448 servers at MAX/512 (stored 65535), optionally with
// server self-weights, 3 epochs at block 1 (init_run_epochs). Subtensor runs
// it through epoch_dense; for this graph (no owner, no zero-stake voters)
// the sparse epoch gives the same numbers.
func TestGraph512(t *testing.T) {
	const n, validatorsN = 512, 64
	for interleave := range 3 {
		for _, serverSelf := range []bool{false, true} {
			validators, servers := vxDistribute(validatorsN, n, interleave)
			stake := make([]uint64, n)
			for _, v := range validators {
				stake[v] = 328_125_000_000_000
			}
			p := vxMockParams(max16 - 1)
			p.MaxAllowedValidators = validatorsN
			c := newChain(t, n, stake, p)
			c.epoch(1) // permits
			weights := slices.Repeat([]uint16{max16 / n}, len(servers))
			for _, v := range validators {
				vxSetWeights(&c.in, int(v), 1, servers, weights...)
			}
			if serverSelf {
				for _, s := range servers {
					vxSetWeights(&c.in, int(s), 1, []uint16{s}, max16)
				}
			}
			var out *Output
			for range 3 {
				out = c.epoch(1)
			}
			v0, s0 := int(validators[0]), int(servers[0])
			bad := 0
			check := func(what string, uid int, got, want uint64) {
				if got != want && bad < 10 {
					bad++
					t.Errorf("interleave %d self %v: uid %d %s = %d, want %d", interleave, serverSelf, uid, what, got, want)
				}
			}
			for _, u := range validators {
				uid := int(u)
				check("consensus", uid, uint64(out.Consensus[uid]), 0)
				check("incentive", uid, uint64(out.Incentive[uid]), 0)
				check("dividend", uid, uint64(out.Dividends[uid]), 1023)
				check("emission", uid, out.Emission[uid], 7812500)
				check("bond on validator", uid, uint64(c.bond(uid, v0)), 0)
				check("bond on server", uid, uint64(c.bond(uid, s0)), 65535)
			}
			for _, u := range servers {
				uid := int(u)
				check("consensus", uid, uint64(out.Consensus[uid]), 146)
				check("incentive", uid, uint64(out.Incentive[uid]), 146)
				check("dividend", uid, uint64(out.Dividends[uid]), 0)
				check("emission", uid, out.Emission[uid], 1116071)
				check("bond on validator", uid, uint64(c.bond(uid, v0)), 0)
				check("bond on server", uid, uint64(c.bond(uid, s0)), 0)
			}
		}
	}
}
