package chain

import "testing"

// TestJustInTimeStakeEarnsNothing: stake added in an epoch's block and
// removed right after earns none of that epoch's dividends, and the
// nominators who held their stake through the tempo are paid as if it had
// not been there. Stake earns from the first epoch it was held through the
// whole tempo before.
func TestJustInTimeStakeEarnsNothing(t *testing.T) {
	p := DefaultHyperparams()
	p.Tempo, p.MaxUIDs, p.MaxValidators, p.WeightsRateLimit = 10, 4, 2, 1
	nt := newNet(t, p, []uint64{100 * Unit, 50 * Unit}, 2)
	funderPriv, funder := testKey(501) // the miners' coldkey, 1000 units less two burns
	nomPriv, nom := testKey(600)
	jitPriv, jit := testKey(601)
	latePriv, late := testKey(602)
	v0 := nt.hotID[0]
	nt.run(
		sign(t, funderPriv, nt.nonce(funder), &Transfer{To: nom, Amount: 150 * Unit}),
		sign(t, funderPriv, nt.nonce(funder)+1, &Transfer{To: jit, Amount: 450 * Unit}),
		sign(t, funderPriv, nt.nonce(funder)+2, &Transfer{To: late, Amount: 150 * Unit}),
	)
	nt.run(sign(t, nomPriv, 0, &AddStake{Hotkey: v0, Amount: 100 * Unit}))
	nt.toEpoch(1) // permits
	nt.run(
		nt.hotTx(0, &SetWeights{Netuid: 1, UIDs: []uint16{2, 3}, Values: []uint16{1, 1}}),
		nt.hotTx(1, &SetWeights{Netuid: 1, UIDs: []uint16{2, 3}, Values: []uint16{1, 1}}),
	)
	nt.toEpoch(1)
	nt.toEpoch(1) // bonds built: validators earn dividends from here

	// The block in which the next epoch runs.
	for nt.height+1 < int64(nt.subnet(1).LastEpoch+p.Tempo) {
		nt.run()
	}
	fees := DefaultFees()
	cold0, nomBefore, jitBefore := nt.cold[0], nt.balance(nom), nt.balance(jit)
	cold0Before := nt.balance(cold0)
	epochs := nt.subnet(1).Epochs
	nt.run(sign(t, jitPriv, 0, &AddStake{Hotkey: v0, Amount: 400 * Unit}))
	if nt.subnet(1).Epochs != epochs+1 {
		t.Fatal("the epoch did not run in the block with the stake")
	}
	nt.run(sign(t, jitPriv, 1, &RemoveStake{Hotkey: v0, Amount: 400 * Unit}))
	if got, want := nt.balance(jit), jitBefore-fees.AddStake-fees.RemoveStake; got != want {
		t.Errorf("just-in-time staker ends with %d, want %d (its stake back, less two fees)", got, want)
	}
	// Validator 0's dividends: its take to its owner (cold0), the rest
	// split between cold0's 100 and the nominator's 100, not the 400.
	d := nt.neuron(1, 0).Emission
	if d == 0 {
		t.Fatal("validator 0 earned nothing: the test shows nothing")
	}
	rest := d - mulDiv(d, DefaultTake, 65535)
	share := mulDiv(rest, 100*Unit, 200*Unit)
	if got := nt.balance(nom) - nomBefore; got < share || got > share+1 {
		t.Errorf("nominator earned %d, want %d (half the rest of %d)", got, share, d)
	}
	if got := nt.balance(cold0) - cold0Before; got < d-share-1 || got > d-share {
		t.Errorf("validator's owner earned %d, want %d", got, d-share)
	}

	// Stake added after an epoch earns nothing at the next (it was not
	// there for the whole tempo), and pro rata from the one after.
	nt.run(sign(t, latePriv, 0, &AddStake{Hotkey: v0, Amount: 100 * Unit}))
	nomBefore, lateBefore := nt.balance(nom), nt.balance(late)
	nt.toEpoch(1)
	d = nt.neuron(1, 0).Emission
	rest = d - mulDiv(d, DefaultTake, 65535)
	if got, want := nt.balance(nom)-nomBefore, mulDiv(rest, 100*Unit, 200*Unit); got < want || got > want+1 {
		t.Errorf("nominator earned %d, want %d (half the rest of %d)", got, want, d)
	}
	if got := nt.balance(late) - lateBefore; got != 0 {
		t.Errorf("stake added during the tempo earned %d at its end", got)
	}
	nomBefore, lateBefore = nt.balance(nom), nt.balance(late)
	nt.toEpoch(1)
	d = nt.neuron(1, 0).Emission
	rest = d - mulDiv(d, DefaultTake, 65535)
	share = mulDiv(rest, 100*Unit, 300*Unit)
	for _, c := range []struct {
		who    string
		id     AccountID
		before uint64
	}{{"nominator", nom, nomBefore}, {"staker from the tempo before", late, lateBefore}} {
		if got := nt.balance(c.id) - c.before; got < share || got > share+1 {
			t.Errorf("%s earned %d, want %d (a third of the rest of %d)", c.who, got, share, d)
		}
	}
}

// TestStakeRecordEarning: what a stake earns on, across additions and
// removals, against the epoch before it.
func TestStakeRecordEarning(t *testing.T) {
	r := stakeRec{}.added(100, 10, 0) // first stake at block 10
	for _, c := range []struct {
		last uint64
		want uint64
	}{{9, 0}, {10, 100}, {50, 100}} {
		if got := r.earning(c.last); got != c.want {
			t.Errorf("staked 100 at 10, epoch after %d: earns on %d, want %d", c.last, got, c.want)
		}
	}
	r = r.added(50, 20, 5) // a second addition before every subnet's epoch keeps the base
	if r.earning(15) != 0 || r.earning(20) != 150 {
		t.Errorf("after +50 at 20: %+v", r)
	}
	r = r.added(30, 20+MaxTempo, 5) // long after: the 150 held since 20 is the base
	if r.Base != 150 || r.earning(20+MaxTempo-1) != 150 || r.earning(20+MaxTempo) != 180 {
		t.Errorf("after +30 at %d: %+v", 20+MaxTempo, r)
	}
	r = r.removed(100) // removals lower both
	if r.Amount != 80 || r.Base != 80 {
		t.Errorf("after -100: %+v", r)
	}
	// A staker who tops up often: once every subnet has had an epoch since
	// its last addition, that addition is settled, whatever MaxTempo says.
	r = stakeRec{}.added(1000, 10, 0)
	r = r.added(1, 10+MaxTempo-1, 500) // every subnet's last epoch (500) came after block 10
	if r.Base != 1000 || r.earning(500) != 1000 || r.earning(10+MaxTempo-1) != 1001 {
		t.Errorf("top-up after a settled addition: %+v", r)
	}
}

// TestDividendsWithNoSettledStake: when none of a hotkey's stake was held
// through the tempo, its stakers' part goes to the hotkey's owner, so
// stake added in the epoch's block takes nothing even with no one to share
// with.
func TestDividendsWithNoSettledStake(t *testing.T) {
	s := NewState()
	_, hot := testKey(700)
	_, owner := testKey(701)
	_, early := testKey(702)
	_, jit := testKey(703)
	s.setHotkey(hot, Hotkey{Owner: owner, Take: DefaultTake, Stake: 10_000})
	s.setStake(hot, early, stakeRec{}.added(1000, 101, 0)) // after the epoch at 100
	s.setStake(hot, jit, stakeRec{}.added(9000, 110, 0))   // in the epoch block
	credits := map[AccountID]uint64{}
	const d = 1_000_000
	s.payDividends(credits, hot, s.hotkeys[hot], d, 100)
	if credits[owner] != d || credits[early] != 0 || credits[jit] != 0 {
		t.Errorf("credits %v, want all %d to the owner", credits, d)
	}
}
