package chain

import (
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/consensus"
	"github.com/seed0ffb8d46/agora/weights"
)

// mutateStaged is mutate, with the change staged into the app hash at
// once, so a snapshot taken before the next block sees it.
func (c *testChain) mutateStaged(f func(s *State)) {
	c.mutate(f)
	c.app.appHash = c.app.stage()
}

// setParams changes a subnet's hyperparameters outside any transaction.
func (c *testChain) setParams(netuid uint16, mut func(p *Hyperparams)) {
	c.mutateStaged(func(s *State) {
		sn := s.subnets[netuid]
		mut(&sn.Params)
		s.setSubnet(netuid, sn)
	})
}

// setPermit gives or takes a uid's validator permit, as an epoch would.
func (c *testChain) setPermit(netuid, uid uint16, permit bool) {
	c.mutateStaged(func(s *State) {
		n, _ := s.Neuron(netuid, uid)
		n.Permit = permit
		s.setNeuron(netuid, uid, &n)
	})
}

// toEpoch runs empty blocks until netuid's next epoch has run.
func (c *testChain) toEpoch(netuid uint16) {
	c.t.Helper()
	e := c.subnet(netuid).Epochs
	for c.subnet(netuid).Epochs == e {
		c.block()
	}
}

func (c *testChain) neuron(netuid, uid uint16) Neuron {
	n, _ := c.app.State().Neuron(netuid, uid)
	return n
}

// crFixture is the fixture with commit-reveal on subnet 1, tempo 10, no
// rate limit, and a permit for hka (uid 0).
func crFixture(f *fixture) {
	f.setParams(1, func(p *Hyperparams) { p.CommitReveal, p.Tempo, p.WeightsRateLimit = true, 10, 0 })
	f.setPermit(1, 0, true)
}

var testSalt = []uint16{7, 42}

func commitOf(f *fixture, hk string, uids, values, salt []uint16, version uint64) *CommitWeights {
	id := f.id[hk]
	return &CommitWeights{Netuid: 1, Hash: weights.CommitHash(id[:], 1, uids, values, salt, version)}
}

func weightsRejectCases() []txCase {
	set := func(uids, values []uint16) *SetWeights { return &SetWeights{Netuid: 1, UIDs: uids, Values: values} }
	permit := func(f *fixture) { f.setPermit(1, 0, true) }
	return []txCase{
		{"set: unknown subnet", func(f *fixture) []byte {
			return f.tx("hka", &SetWeights{Netuid: 9, UIDs: []uint16{0}, Values: []uint16{1}})
		},
			CodeUnknownSubnet, []string{"no subnet 9"}},
		{"set: unregistered hotkey", func(f *fixture) []byte { return f.tx("hkb", set([]uint16{0}, []uint16{1})) },
			CodeNotRegistered, []string{"is not registered on subnet 1"}},
		{"set: commit-reveal on", func(f *fixture) []byte {
			crFixture(f)
			return f.tx("hka", set([]uint16{1}, []uint16{1}))
		}, CodeCommitRevealOn, []string{"subnet 1 uses commit-reveal", "commit_weights"}},
		{"set: outdated version key", func(f *fixture) []byte {
			permit(f)
			f.setParams(1, func(p *Hyperparams) { p.WeightsVersion = 5 })
			return f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, VersionKey: 4})
		}, CodeOutdatedVersion, []string{"version key 4 is below subnet 1's weights_version 5"}},
		{"set: below the stake threshold", func(f *fixture) []byte {
			permit(f)
			f.setParams(1, func(p *Hyperparams) { p.StakeThreshold = 6 * Unit })
			return f.tx("hka", set([]uint16{1}, []uint16{1}))
		}, CodeInsufficientStake, []string{"hotkey stake 5.000000000 AGR (5000000000 base units) is below subnet 1's stake_threshold 6.000000000 AGR (6000000000 base units)"}},
		{"set: rate limited", func(f *fixture) []byte {
			permit(f)
			f.mustBlock(f.tx("hka", set([]uint16{1}, []uint16{1})))
			return f.tx("hka", set([]uint16{0, 1}, []uint16{1, 1}))
		}, CodeRateLimited, []string{"weights last updated at block 3", "one update every 100 blocks, the next at block 103"}},
		{"set: no validator permit", func(f *fixture) []byte { return f.tx("hka", set([]uint16{1}, []uint16{1})) },
			CodeNoPermit, []string{"uid 0 has no validator permit on subnet 1"}},
		{"set: self-weight without permit but out of range uid", func(f *fixture) []byte { return f.tx("hka", set([]uint16{0, 5}, []uint16{1, 1})) },
			CodeNoPermit, []string{"no validator permit"}},
		{"set: length mismatch", func(f *fixture) []byte { permit(f); return f.tx("hka", set([]uint16{0, 1}, []uint16{1})) },
			CodeBadWeights, []string{"2 uids but 1 value"}},
		{"set: duplicate uid", func(f *fixture) []byte { permit(f); return f.tx("hka", set([]uint16{1, 1}, []uint16{1, 2})) },
			CodeBadWeights, []string{"uid 1 appears twice"}},
		{"set: uid out of range", func(f *fixture) []byte { permit(f); return f.tx("hka", set([]uint16{1, 3}, []uint16{1, 2})) },
			CodeBadWeights, []string{"uid 3 out of range: subnet has 2 uids"}},
		{"set: too many uids", func(f *fixture) []byte { permit(f); return f.tx("hka", set([]uint16{0, 1, 2}, []uint16{1, 2, 3})) },
			CodeBadWeights, []string{"3 uids but the subnet has 2 uids"}},
		{"set: too few weights", func(f *fixture) []byte {
			permit(f)
			f.setParams(1, func(p *Hyperparams) { p.MinAllowedWeights = 2 })
			return f.tx("hka", set([]uint16{1}, []uint16{1}))
		}, CodeBadWeights, []string{"1 weight set but the subnet requires at least 2"}},
		{"set: max weight exceeded", func(f *fixture) []byte {
			permit(f)
			f.setParams(1, func(p *Hyperparams) { p.MaxWeightLimit = 40000 })
			return f.tx("hka", set([]uint16{0, 1}, []uint16{100, 1}))
		}, CodeBadWeights, []string{"largest weight is", "at most 61.0%"}},
		{"commit: commit-reveal off", func(f *fixture) []byte {
			return f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0))
		}, CodeCommitRevealOff, []string{"subnet 1 does not use commit-reveal"}},
		{"commit: unregistered hotkey", func(f *fixture) []byte {
			crFixture(f)
			return f.tx("hkb", commitOf(f, "hkb", []uint16{1}, []uint16{1}, testSalt, 0))
		}, CodeNotRegistered, []string{"not registered on subnet 1"}},
		{"commit: rate limited", func(f *fixture) []byte {
			crFixture(f)
			f.setParams(1, func(p *Hyperparams) { p.WeightsRateLimit = 5 })
			f.mustBlock(f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0)))
			return f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{2}, testSalt, 0))
		}, CodeRateLimited, []string{"the next at block 8"}},
		{"commit: too many pending", func(f *fixture) []byte {
			crFixture(f)
			var txs [][]byte
			for i := range uint16(MaxPendingCommits) {
				txs = append(txs, f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{i + 1}, testSalt, 0)))
			}
			f.mustBlock(txs...)
			return f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{99}, testSalt, 0))
		}, CodeTooManyCommits, []string{"has 10 unrevealed commits on subnet 1"}},
		{"reveal: commit-reveal off", func(f *fixture) []byte {
			return f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Salt: testSalt})
		}, CodeCommitRevealOff, []string{"does not use commit-reveal"}},
		{"reveal: wrong salt", func(f *fixture) []byte {
			crFixture(f)
			f.mustBlock(f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0)))
			f.toEpoch(1)
			return f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Salt: []uint16{7, 43}})
		}, CodeNoMatchingCommit, []string{"no pending commit", "matches these uids, values, salt and version key"}},
		{"reveal: too early", func(f *fixture) []byte {
			crFixture(f)
			f.mustBlock(f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0)))
			return f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Salt: testSalt})
		}, CodeRevealTooEarly, []string{"too early: reveal in epoch 1 (the commit is from epoch 0); subnet 1 is in epoch 0, which ends at block 11"}},
		{"reveal: expired", func(f *fixture) []byte {
			crFixture(f)
			f.setParams(1, func(p *Hyperparams) { p.RevealPeriodEpochs = 2 })
			f.mustBlock(f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0)))
			f.toEpoch(1)
			f.toEpoch(1)
			f.toEpoch(1) // epoch 3: the commit (epoch 0, period 2) expired; pruning keeps it out
			return f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Salt: testSalt})
		}, CodeNoMatchingCommit, []string{"no pending commit"}},
		{"reveal: expired but not yet pruned", func(f *fixture) []byte {
			crFixture(f)
			f.mustBlock(f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0)))
			f.toEpoch(1)
			f.toEpoch(1)
			// Put the expired commit back, as if pruning had not run.
			f.mutateStaged(func(s *State) {
				s.setCommits(mechKey{1, 0}, f.id["hka"], []Commit{{Hash: commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0).Hash, Epoch: 0, Block: 4}})
			})
			return f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Salt: testSalt})
		}, CodeRevealExpired, []string{"expired: the commit of epoch 0 could be revealed only in epoch 1; subnet 1 is in epoch 2"}},
		{"reveal: matching commit but no permit", func(f *fixture) []byte {
			crFixture(f)
			f.setPermit(1, 0, false)
			f.mustBlock(f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0)))
			f.toEpoch(1)
			f.setPermit(1, 0, false) // the epoch may have granted one
			return f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Salt: testSalt})
		}, CodeNoPermit, []string{"no validator permit"}},
		{"set_emission: not the governance key", func(f *fixture) []byte {
			return f.tx("alice", &SetEmission{PerBlock: 1})
		}, CodeNotGovernance, []string{"only the governance key may set the emission"}},
	}
}

// TestRejectedWeights: every bad set, commit and reveal is rejected in
// CheckTx, PrepareProposal and FinalizeBlock with its code and a message
// saying what was wrong, and changes nothing.
func TestRejectedWeights(t *testing.T) {
	for _, tc := range weightsRejectCases() {
		t.Run(tc.name, func(t *testing.T) { checkRejected(t, tc) })
	}
}

// TestSetWeightsStoresRow: a valid set stores the max-upscaled row sorted
// by uid and the block as last_update; the first set after registration
// is not rate limited, the next one is.
func TestSetWeightsStoresRow(t *testing.T) {
	f := newFixture(t)
	f.setPermit(1, 0, true)
	hka := f.id["hka"]
	applyValid(t, f, f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1, 0}, Values: []uint16{300, 100}}), 0,
		[]string{"account/" + key4(hka), "neuron/1/0"},
		ev(KindSetWeights, hka, 0, attr("netuid", "1", true), attr("uid", "0", false), attr("weights", "2", false)))
	n := f.neuron(1, 0)
	want := []consensus.Entry{{UID: 0, Value: 21845}, {UID: 1, Value: 65535}}
	if !reflect.DeepEqual(n.Weights, want) || n.LastUpdate != uint64(f.height) || !n.WeightsSet {
		t.Errorf("neuron %+v, want weights %v at %d", n, want, f.height)
	}
	// A self-weight needs no permit.
	applyValid(t, f, f.tx("hke", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{0}}), 0,
		[]string{"account/" + key4(f.id["hke"]), "neuron/1/1"},
		ev(KindSetWeights, f.id["hke"], 0, attr("netuid", "1", true), attr("uid", "1", false), attr("weights", "1", false)))
	// With a rate limit of 3, hka may set again 3 blocks after its last set.
	f.setParams(1, func(p *Hyperparams) { p.WeightsRateLimit = 3 })
	if r := f.block(f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}})); Code(r[0].Code) != CodeRateLimited {
		t.Fatalf("second set: %s %s", Code(r[0].Code), r[0].Log)
	}
	f.block()
	f.mustBlock(f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}}))
}

// TestCommitReveal: commits in epoch k reveal in epoch k+1; a reveal pops
// its commit and every earlier one; the epoch masks nothing it should not
// and prunes what expired.
func TestCommitReveal(t *testing.T) {
	f := newFixture(t)
	crFixture(f)
	hka := f.id["hka"]
	c1 := commitOf(f, "hka", []uint16{1}, []uint16{5}, testSalt, 0)
	c2 := commitOf(f, "hka", []uint16{0, 1}, []uint16{1, 2}, testSalt, 0)
	c3 := commitOf(f, "hka", []uint16{1}, []uint16{9}, testSalt, 0)
	f.mustBlock(f.tx("hka", c1), f.tx("hka", c2), f.tx("hka", c3))
	h := uint64(f.height)
	cs := f.app.State().Commits(1, hka)
	if len(cs) != 3 || cs[0].Hash != c1.Hash || cs[2].Epoch != 0 || cs[2].Block != h {
		t.Fatalf("commits %+v", cs)
	}
	if n := f.neuron(1, 0); n.LastUpdate != h || n.Weights != nil {
		t.Errorf("after commit: %+v", n)
	}
	f.toEpoch(1)
	f.setPermit(1, 0, true)
	// Revealing the second pops the first two.
	f.mustBlock(f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{0, 1}, Values: []uint16{1, 2}, Salt: testSalt}))
	if cs := f.app.State().Commits(1, hka); len(cs) != 1 || cs[0].Hash != c3.Hash {
		t.Errorf("after reveal: %+v", cs)
	}
	if n := f.neuron(1, 0); !reflect.DeepEqual(n.Weights, []consensus.Entry{{UID: 0, Value: 32768}, {UID: 1, Value: 65535}}) || n.LastUpdate != uint64(f.height) {
		t.Errorf("revealed row %+v", n)
	}
	// The first can no longer be revealed.
	if r := f.block(f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{5}, Salt: testSalt})); Code(r[0].Code) != CodeNoMatchingCommit {
		t.Errorf("popped commit: %s %s", Code(r[0].Code), r[0].Log)
	}
	// The third, unrevealed, is pruned at the end of epoch 1.
	f.toEpoch(1)
	if cs := f.app.State().Commits(1, hka); len(cs) != 0 {
		t.Errorf("after epoch 2: %+v", cs)
	}
	f.checkConsistency(true)
	supplyInvariant(t, f.app.State())
}

// TestCommitBlocksMask: with commit-reveal on, the epoch input carries each
// uid's earliest unexpired commit block.
func TestCommitBlocksMask(t *testing.T) {
	f := newFixture(t)
	crFixture(f)
	f.mustBlock(f.tx("hke", commitOf(f, "hke", []uint16{1}, []uint16{1}, testSalt, 0)))
	h := uint64(f.height)
	f.block(f.tx("hke", commitOf(f, "hke", []uint16{1}, []uint16{2}, testSalt, 0)))
	s := f.app.State()
	sn, _ := s.Subnet(1)
	in, _ := s.epochInput(1, 0, sn, Block{Height: uint64(f.height)}, 0)
	if want := []uint64{^uint64(0), h}; !slices.Equal(in.CommitBlocks, want) {
		t.Errorf("commit blocks %v, want %v", in.CommitBlocks, want)
	}
}

// TestSetEmission: the governance key sets the emission per block and
// shares; the next epochs pay accordingly.
func TestSetEmission(t *testing.T) {
	_, gov := testKey(1) // alice
	f := newFixture(t)
	f.mutateStaged(func(s *State) { g := s.global; g.Governance = gov; s.setGlobal(g) })
	f.setParams(1, func(p *Hyperparams) { p.Tempo = 5 })
	f.setParams(2, func(p *Hyperparams) { p.Tempo = 5 })
	f.mustBlock(f.tx("alice", &SetEmission{PerBlock: 3000, Shares: []SubnetShare{{Netuid: 1, Share: 2}}}))
	if g := f.global(); g.EmissionPerBlock != 3000 || f.subnet(1).Share != 2 || f.subnet(2).Share != 1 {
		t.Fatalf("global %+v, shares %d %d", g, f.subnet(1).Share, f.subnet(2).Share)
	}
	m0 := f.global().Minted
	f.toEpoch(1) // both subnets were created at block 1: same epoch blocks
	if got := f.subnet(1).LastEmission; got != 3000*5*2/3 {
		t.Errorf("subnet 1 got %d", got)
	}
	// Subnet 2 has no neurons: consensus pays nobody, so its owner gets
	// the owner cut and the rest of its share is not minted.
	if got := f.subnet(2).LastEmission; got != 3000*5/3*OwnerCut/65535 {
		t.Errorf("subnet 2 got %d", got)
	}
	if got := f.global().Minted - m0; got != 3000*5*2/3+3000*5/3*OwnerCut/65535 {
		t.Errorf("minted %d", got)
	}
	supplyInvariant(t, f.app.State())
	r := f.block(f.tx("alice", &SetEmission{PerBlock: 1, Shares: []SubnetShare{{Netuid: 1, Share: 1}, {Netuid: 1, Share: 2}}}))
	if Code(r[0].Code) != CodeBadParams {
		t.Errorf("duplicate share: %s %s", Code(r[0].Code), r[0].Log)
	}
}

// TestWeightsQueries checks /weights, /bonds, /commits, /epoch and
// /emission against the state.
func TestWeightsQueries(t *testing.T) {
	f := newFixture(t)
	crFixture(f)
	c := commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0)
	f.mustBlock(f.tx("hka", c))
	f.toEpoch(1)
	f.mutateStaged(func(s *State) {
		n, _ := s.Neuron(1, 0)
		n.Weights = []consensus.Entry{{UID: 1, Value: 65535}}
		n.Bonds = []consensus.Entry{{UID: 1, Value: 7}}
		s.setNeuron(1, 0, &n)
	})
	sn := f.subnet(1)
	hka := f.id["hka"]
	for path, want := range map[string]string{
		"/weights/1/0":                       `{"netuid":1,"uid":0,"hotkey":"` + hka.String() + `","last_update":3,"row":[[1,65535]]}`,
		"/bonds/1/0":                         `"row":[[1,7]]`,
		"/weights/1/1":                       `"row":[]`,
		"/commits/1/" + hka.String():         `{"netuid":1,"hotkey":"` + hka.String() + `","epoch":1,"reveal_period_epochs":1,"commits":[{"hash":"` + hexOf(c.Hash[:]) + `","epoch":0,"block":3,"reveal_epoch":1}]}`,
		"/commits/1/" + f.id["hke"].String(): `"commits":[]`,
		"/epoch/1":                           `{"netuid":1,"epoch":1,"last_epoch_block":11,"next_epoch_block":21,"emission":` + u64s(sn.LastEmission) + `,"neurons":[{"uid":0,`,
		"/emission":                          `{"per_block":1000000000,"shares":[{"netuid":1,"share":1},{"netuid":2,"share":1}]}`,
	} {
		v, err := f.app.State().query(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		raw, _ := json.Marshal(v)
		if !strings.Contains(string(raw), want) {
			t.Errorf("%s: %s, want %s", path, raw, want)
		}
	}
	for _, path := range []string{"/weights/1/9", "/weights/1", "/bonds/x/0", "/commits/9/" + hka.String(), "/commits/1/zz", "/commits/1", "/epoch/9"} {
		if _, err := f.app.State().query(path); err == nil {
			t.Errorf("%s: no error", path)
		}
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// TestNewSubnetEarnsNothingUntilShared: anyone may create a subnet, so a
// new one has no share of the emission (or an owner could create empty
// subnets and collect their whole emission): its epochs run and mint
// nothing until the governance key gives it a share.
func TestNewSubnetEarnsNothingUntilShared(t *testing.T) {
	_, gov := testKey(1) // alice
	f := newFixture(t)
	f.mutateStaged(func(s *State) { g := s.global; g.Governance = gov; s.setGlobal(g) })
	p := subnet1Params()
	p.Tempo = 3
	f.mustBlock(f.tx("alice", &CreateSubnet{Params: p}))
	if sn := f.subnet(3); sn.Share != 0 {
		t.Fatalf("new subnet's share = %d, want 0", sn.Share)
	}
	f.toEpoch(3)
	f.toEpoch(3)
	if sn := f.subnet(3); sn.LastEmission != 0 || sn.Epochs < 2 {
		t.Errorf("unshared subnet's epoch minted %d, want 0", sn.LastEmission)
	}
	f.mustBlock(f.tx("alice", &SetEmission{PerBlock: f.global().EmissionPerBlock, Shares: []SubnetShare{{Netuid: 3, Share: 1}}}))
	f.toEpoch(3)
	if got := f.subnet(3).LastEmission; got == 0 {
		t.Errorf("subnet with a share minted nothing at its epoch")
	}
}
