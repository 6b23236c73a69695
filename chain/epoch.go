package chain

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/seed0ffb8d46/agora/consensus"
)

// The epoch.
//
// When: a subnet's epoch runs at the end of block h, after the block's
// transactions, when h − LastEpoch >= tempo (LastEpoch is the subnet's
// creation block before its first epoch). With a fixed tempo that is every
// tempo blocks from creation; a tempo change takes effect from the last
// epoch. Subnets run in netuid order.
//
// Emission: the chain mints EmissionPerBlock per block, split among subnets
// by Share. At its epoch a subnet is paid for the blocks since its last
// epoch: E = floor(EmissionPerBlock · (h − LastEpoch) · Share / Σ Share),
// the shares and per-block amount being those in force at the epoch. The
// owner cut floor(E·11796/65535) goes to the owner's coldkey; the rest R is
// the epoch's emission for consensus.Epoch. Miners' server emission goes to
// their hotkey owner's coldkey; a validator's validator emission d pays its
// take floor(d·take/65535) to its owner's coldkey and the rest to every
// coldkey staking on it (the owner included) pro rata by stake, floored,
// the leftover base units one each in ascending coldkey order (to the owner
// if it has no stake). What consensus's flooring leaves, R − Σ paid, goes
// to the subnet owner's coldkey, as long as it is flooring dust
// (flooringDust); when consensus paid nobody (no stake, or none above the
// stake threshold) it is not minted at all, and E shrinks by it.
// Everything is paid to balances. The amounts credited sum to E exactly;
// Minted and TotalSupply grow by E.
//
// Mechanisms: a subnet with several runs consensus.Epoch once per
// mechanism, on the shared uids, stake and permits and that mechanism's
// weights, bonds, last updates and commits, with R_m of R
// (Hyperparams.mechanismShares: R·split_m/65535, remainder to mechanism
// 0). A uid's server and validator emission are summed over the
// mechanisms and paid as above; the flooring rule applies to each R_m.
// The neuron stores each mechanism's results and bonds, and as its own
// outputs the aggregate: emission summed, consensus, incentive, dividends
// and validator trust floor(Σ_m split_m·x_m / 65535) under the split in
// force (even when unset). With one mechanism all of this is the single
// epoch above.

// endBlock runs the epoch of every subnet whose tempo has elapsed and
// returns the block events.
func (s *State) endBlock(blk Block) []abci.Event {
	var events []abci.Event
	var totalShares uint64
	netuids := s.netuids()
	for _, netuid := range netuids {
		totalShares += uint64(s.subnets[netuid].Share)
	}
	for _, netuid := range netuids {
		sn := s.subnets[netuid]
		if blk.Height-sn.LastEpoch < sn.Params.Tempo {
			continue
		}
		events = append(events, s.runEpoch(netuid, blk, totalShares))
	}
	return events
}

// tempoEmission is E for a subnet's epoch at blk (see above), capped so the
// total supply stays within int64.
func (s *State) tempoEmission(sn Subnet, blk Block, totalShares uint64) uint64 {
	if totalShares == 0 || sn.Share == 0 {
		return 0
	}
	e := new(big.Int).SetUint64(s.global.EmissionPerBlock)
	e.Mul(e, new(big.Int).SetUint64(blk.Height-sn.LastEpoch))
	e.Mul(e, new(big.Int).SetUint64(uint64(sn.Share)))
	e.Quo(e, new(big.Int).SetUint64(totalShares))
	room := uint64(math.MaxInt64) - s.global.TotalSupply
	if !e.IsUint64() || e.Uint64() > room {
		return room
	}
	return e.Uint64()
}

// EpochInput returns the input consensus.Epoch would get if netuid's epoch
// ran at block, on mechanism 0: the stored state, and mechanism 0's share
// of the emission the epoch would pass on after the owner's cut. It
// changes nothing; tools use it to time or check the epoch's math alone.
func (s *State) EpochInput(netuid uint16, block uint64) (*consensus.Input, error) {
	sn, ok := s.subnets[netuid]
	if !ok {
		return nil, fmt.Errorf("chain: no subnet %d", netuid)
	}
	var totalShares uint64
	for _, other := range s.subnets {
		totalShares += uint64(other.Share)
	}
	blk := Block{Height: block}
	e := s.tempoEmission(sn, blk, totalShares)
	in, _ := s.epochInput(netuid, 0, sn, blk, sn.Params.mechanismShares(e - mulDiv(e, OwnerCut, 65535))[0])
	return in, nil
}

// mulDiv is floor(a·b/c) for c > 0 and a·b/c < 2^64 (b <= c).
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// epochInput builds the consensus input of mechanism m of netuid's epoch at
// blk from the stored state, with emission r: the uids, stake and permits
// the mechanisms share, and mechanism m's weights, bonds, last updates and
// commits.
func (s *State) epochInput(netuid uint16, m uint8, sn Subnet, blk Block, r uint64) (*consensus.Input, []*Neuron) {
	n := int(sn.N)
	in := &consensus.Input{
		N: n, Block: blk.Height, Emission: r, Params: sn.Params.Consensus(),
		Stake: make([]uint64, n), Permits: make([]bool, n), LastUpdate: make([]uint64, n),
		BlockAtRegistration: make([]uint64, n), Weights: make([][]consensus.Entry, n), Bonds: make([][]consensus.Entry, n),
	}
	if sn.Epochs > 0 {
		in.LastEpochBlock = sn.LastEpoch
	}
	cr := sn.Params.CommitReveal
	if cr {
		in.CommitBlocks = make([]uint64, n)
	}
	commits := s.commits[mechKey{netuid, m}]
	neurons := make([]*Neuron, n)
	for uid := range n {
		nr := s.neurons[neuronKey{netuid, uint16(uid)}]
		neurons[uid] = nr
		hk := s.hotkeys[nr.Hotkey]
		in.Stake[uid] = hk.Stake
		in.Permits[uid] = nr.Permit
		st := nr.Mechanism(m)
		in.LastUpdate[uid] = st.LastUpdate
		in.BlockAtRegistration[uid] = nr.RegisteredAt
		in.Weights[uid] = st.Weights
		in.Bonds[uid] = st.Bonds
		if in.OwnerUID == nil && hk.Owner == sn.Owner {
			o := uint16(uid)
			in.OwnerUID = &o
		}
		if cr {
			in.CommitBlocks[uid] = math.MaxUint64
			for _, c := range commits[nr.Hotkey] {
				if c.Epoch+sn.Params.RevealPeriodEpochs >= sn.Epochs {
					in.CommitBlocks[uid] = c.Block
					break
				}
			}
		}
	}
	return in, neurons
}

// pruningScores max-upscales the combined emission to u16, rounding half
// up: the largest gets 65535, all zero if every emission is zero.
func pruningScores(em []uint64) []uint16 {
	var top uint64
	for _, e := range em {
		top = max(top, e)
	}
	out := make([]uint16, len(em))
	if top == 0 {
		return out
	}
	for i, e := range em {
		// round(e·65535/top) = floor((2·e·65535 + top) / (2·top)), in 128 bits.
		hi, lo := bits.Mul64(e, 2*65535)
		lo, c := bits.Add64(lo, top, 0)
		hi += c
		q, _ := bits.Div64(hi>>1, hi<<63|lo>>1, top) // (hi:lo)/2 / top
		out[i] = uint16(min(q, 65535))
	}
	return out
}

// runEpoch runs netuid's epoch at blk, once per mechanism, and pays its
// emission.
func (s *State) runEpoch(netuid uint16, blk Block, totalShares uint64) abci.Event {
	sn := s.subnets[netuid]
	ev := abci.Event{Type: "epoch", Attributes: []abci.EventAttribute{
		{Key: "netuid", Value: u64s(uint64(netuid)), Index: true},
		{Key: "epoch", Value: u64s(sn.Epochs)},
		{Key: "block", Value: u64s(blk.Height)},
	}}
	e := s.tempoEmission(sn, blk, totalShares)
	cut := mulDiv(e, OwnerCut, 65535)
	r := e - cut
	shares := sn.Params.mechanismShares(r)
	outs := make([]*consensus.Output, len(shares))
	var neurons []*Neuron
	for m, rm := range shares {
		in, ns := s.epochInput(netuid, uint8(m), sn, blk, rm)
		out, err := consensus.Epoch(in)
		if err != nil {
			// Stored state always makes a valid input; should it not, the
			// epoch mints nothing rather than halt the chain.
			e, cut, r = 0, 0, 0
			outs = nil
			ev.Attributes = append(ev.Attributes, abci.EventAttribute{Key: "error", Value: err.Error()})
			break
		}
		outs[m], neurons = out, ns
	}
	credits := map[AccountID]uint64{}
	var server, validator, rem, unminted uint64
	if outs != nil {
		server, validator = s.storeEpoch(netuid, sn, outs, neurons, credits)
		// What flooring left of each mechanism's share goes to the owner;
		// a share consensus paid nobody of is not minted (see above).
		for m, out := range outs {
			left := shares[m]
			for uid := range neurons {
				left -= out.ServerEmission[uid] + out.ValidatorEmission[uid]
			}
			if left > flooringDust(shares[m], sn.N) {
				unminted += left
			} else {
				rem += left
			}
		}
		e -= unminted
	}
	credits[sn.Owner] += cut + rem
	var paid uint64
	for _, id := range slices.SortedFunc(maps.Keys(credits), func(a, b AccountID) int { return bytes.Compare(a[:], b[:]) }) {
		if v := credits[id]; v > 0 {
			s.credit(id, v)
			paid += v
		}
	}
	if paid != e { // cannot happen: every share above is part of e
		panic(sprintf("chain: epoch of subnet %d paid %d of %d", netuid, paid, e))
	}
	if e > 0 {
		g := s.global
		g.Minted += e
		g.TotalSupply += e
		s.setGlobal(g)
	}
	sn.LastEpoch, sn.LastEmission = blk.Height, e
	sn.Epochs++
	s.setSubnet(netuid, sn)
	s.pruneCommits(netuid, sn)
	ev = appendAttrs(ev,
		"n", uint64(sn.N), "emission", e, "owner_cut", cut, "server", server,
		"validator", validator, "remainder", rem, "unminted", unminted)
	if len(shares) > 1 {
		for m, rm := range shares {
			ev = appendAttrs(ev, sprintf("mechanism_%d_emission", m), rm)
		}
	}
	return ev
}

// storeEpoch stores each mechanism's outputs on the neurons (bonds per
// mechanism; the aggregate in the neuron's own fields, and each
// mechanism's results when there is more than one) and adds the emission
// to credits: each uid's server and validator emission summed over the
// mechanisms, paid as one. It returns the server and validator totals.
func (s *State) storeEpoch(netuid uint16, sn Subnet, outs []*consensus.Output, neurons []*Neuron, credits map[AccountID]uint64) (server, validator uint64) {
	em := slices.Clone(outs[0].Emission)
	for _, out := range outs[1:] {
		for uid, v := range out.Emission {
			em[uid] += v
		}
	}
	scores := pruningScores(em)
	split := sn.Params.effectiveSplit()
	for uid, nr := range neurons {
		nn := *nr
		o := outs[0]
		nn.Consensus, nn.Incentive, nn.Dividends = o.Consensus[uid], o.Incentive[uid], o.Dividends[uid]
		nn.ValidatorTrust, nn.Emission, nn.Permit = o.ValidatorTrust[uid], o.Emission[uid], o.ValidatorPermits[uid]
		nn.Bonds, nn.PruningScore = o.Bonds[uid], scores[uid]
		sv, dv := o.ServerEmission[uid], o.ValidatorEmission[uid]
		if len(outs) > 1 {
			nn.Mechanisms = slices.Clone(nn.Mechanisms)
			nn.Results = make([]MechanismResult, len(outs))
			var c, i, d, t uint64
			for m, out := range outs {
				r := MechanismResult{Consensus: out.Consensus[uid], Incentive: out.Incentive[uid], Dividends: out.Dividends[uid],
					ValidatorTrust: out.ValidatorTrust[uid], Emission: out.Emission[uid]}
				nn.Results[m] = r
				w := uint64(split[m])
				c, i, d, t = c+w*uint64(r.Consensus), i+w*uint64(r.Incentive), d+w*uint64(r.Dividends), t+w*uint64(r.ValidatorTrust)
				if m > 0 {
					nn.Mechanisms[m-1].Bonds = out.Bonds[uid]
					sv += out.ServerEmission[uid]
					dv += out.ValidatorEmission[uid]
				}
			}
			// The split sums to 65535, so each weighted mean is a u16.
			nn.Consensus, nn.Incentive, nn.Dividends = uint16(c/65535), uint16(i/65535), uint16(d/65535)
			nn.ValidatorTrust, nn.Emission = uint16(t/65535), em[uid]
		}
		s.setNeuron(netuid, uint16(uid), &nn)

		hk := s.hotkeys[nr.Hotkey]
		if sv > 0 {
			credits[hk.Owner] += sv
			server += sv
		}
		if dv > 0 {
			validator += dv
			s.payDividends(credits, nr.Hotkey, hk, dv, sn.LastEpoch)
		}
	}
	return server, validator
}

// flooringDust bounds what an epoch that pays its emission r over n uids
// leaves unpaid by flooring: each of the 2n shares loses less than 2^-32
// of r when consensus divides in I32F32, and less than a base unit when it
// is paid out.
func flooringDust(r uint64, n uint16) uint64 {
	return mulDiv(r, 2*uint64(n)+1, 1<<32) + 2*uint64(n) + 1
}

// payDividends splits a validator's emission d: its take to its owner, the
// rest to its stakers pro rata to what each earns on at an epoch whose
// previous epoch was at block last (stakeRec), leftover units one each by
// ascending coldkey. If none of the stake was held since then, the rest
// goes to the hotkey's owner, as when it has no stakers: paying it by the
// stake there is would hand stake added in this very block a share.
func (s *State) payDividends(credits map[AccountID]uint64, hotkey AccountID, hk Hotkey, d, last uint64) {
	take := mulDiv(d, uint64(hk.Take), 65535)
	credits[hk.Owner] += take
	rest := d - take
	stakers := slices.SortedFunc(maps.Keys(s.stakers[hotkey]), func(a, b AccountID) int { return bytes.Compare(a[:], b[:]) })
	if hk.Stake == 0 || len(stakers) == 0 {
		credits[hk.Owner] += rest
		return
	}
	weights := make([]uint64, len(stakers))
	var total uint64
	for i, c := range stakers {
		weights[i] = s.stakes[stakeKey{hotkey, c}].earning(last)
		total += weights[i]
	}
	if total == 0 {
		credits[hk.Owner] += rest
		return
	}
	var paid uint64
	earners := stakers[:0:0]
	for i, c := range stakers {
		v := mulDiv(rest, weights[i], total)
		credits[c] += v
		paid += v
		if weights[i] > 0 {
			earners = append(earners, c)
		}
	}
	for i := 0; paid < rest; i++ {
		credits[earners[i%len(earners)]]++
		paid++
	}
}

// pruneCommits drops netuid's commits that can no longer be revealed, on
// every mechanism.
func (s *State) pruneCommits(netuid uint16, sn Subnet) {
	for m := range sn.Params.MechanismCount {
		mk := mechKey{netuid, m}
		for _, hk := range s.commitHotkeys(mk) {
			cs := s.commits[mk][hk]
			if kept := unexpired(cs, sn.Epochs, sn.Params.RevealPeriodEpochs); len(kept) != len(cs) {
				s.setCommits(mk, hk, kept)
			}
		}
	}
}

// commitHotkeys lists the hotkeys with pending commits on mk, in order.
func (s *State) commitHotkeys(mk mechKey) []AccountID {
	return slices.SortedFunc(maps.Keys(s.commits[mk]), func(a, b AccountID) int { return bytes.Compare(a[:], b[:]) })
}

func appendAttrs(ev abci.Event, kv ...any) abci.Event {
	for i := 0; i < len(kv); i += 2 {
		ev.Attributes = append(ev.Attributes, abci.EventAttribute{Key: kv[i].(string), Value: u64s(kv[i+1].(uint64))})
	}
	return ev
}
