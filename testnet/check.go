package testnet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/consensus"
)

// perturb applies p, waits until the network has recovered, and checks
// every invariant.
func (r *run) perturb(ctx context.Context, i int, p Perturbation) error {
	r.say("perturbation %d: %s", i+1, p)
	t0, h0 := time.Now(), r.height(ctx)
	var checks []string
	var err error
	switch {
	case p.Kill != "":
		checks, err = r.kill(ctx, r.m.Host(p.Kill), p.Down.Std())
	case p.Join != "":
		checks, err = r.join(ctx, r.m.Host(p.Join))
	default:
		checks, err = r.partition(ctx, p)
	}
	if err != nil {
		return err
	}
	more, err := r.checkChain(ctx)
	if err != nil {
		return err
	}
	checks = append(checks, more...)
	took := time.Since(t0)
	produced := r.height(ctx) - h0
	expected := int64(took / r.interval)
	rep := StepReport{Perturbation: p.String(), Took: took, Expected: expected, Produced: produced, Lost: max(0, expected-produced), Checks: checks}
	r.rep.Steps = append(r.rep.Steps, rep)
	r.say("  recovered in %.1fs: %d blocks made, %d expected at the undisturbed pace, %d lost", took.Seconds(), produced, expected, rep.Lost)
	for _, c := range checks {
		r.say("  ok: %s", c)
	}
	return nil
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// kill kills host's process with SIGKILL, restarts it after down, and
// checks what its role must keep.
func (r *run) kill(ctx context.Context, h *Host, down time.Duration) ([]string, error) {
	var before map[uint16]api.UIDScore
	if h.Role == RoleValidator {
		s, err := retry(ctx, r, h.Name+"'s /scores", func(ctx context.Context) (api.ValidatorScores, error) { return r.scores(ctx, h.Name) })
		if err != nil {
			return nil, err
		}
		before = map[uint16]api.UIDScore{}
		for _, u := range s.Scores {
			before[u.UID] = u
		}
	}
	var scoredBefore map[string]uint64
	if h.Role == RoleMiner {
		var err error
		if scoredBefore, err = retry(ctx, r, "the validators' /scores", func(ctx context.Context) (map[string]uint64, error) { return r.scoredCounts(ctx, h) }); err != nil {
			return nil, err
		}
	}
	if err := r.procs[h.Name].kill9(); err != nil {
		return nil, err
	}
	if err := pause(ctx, down); err != nil {
		return nil, err
	}
	restartHeight := r.height(ctx)
	if err := r.restart(h.Name); err != nil {
		return nil, err
	}
	switch h.Role {
	case RoleFullNode:
		if err := r.caughtUp(ctx, h.Name, 60*time.Second); err != nil {
			return nil, err
		}
		return []string{h.Name + " restarted, replayed what it missed and follows the tip"}, nil
	case RoleChainValidator:
		if err := r.signing(ctx, h.Name, restartHeight, 60*time.Second); err != nil {
			return nil, err
		}
		return []string{h.Name + " restarted, caught up and signs blocks again"}, nil
	case RoleMiner:
		var checked int
		// Until the page is back, verify fails to connect (and is tried
		// again); a lost label is fatal at once: trying again would
		// store it anew.
		err := r.waitFor(ctx, h.Name+"'s labelling page back", 60*time.Second, func(ctx context.Context) (bool, error) {
			n, err := r.labels[h.Name].verify(ctx)
			checked = n
			return err == nil, err
		})
		if err != nil {
			return nil, err
		}
		err = r.waitFor(ctx, "every validator scores "+h.Name+" again", 60*time.Second, func(ctx context.Context) (bool, error) {
			now, err := r.scoredCounts(ctx, h)
			if err != nil {
				return false, err
			}
			for v, n := range now {
				if n <= scoredBefore[v] {
					return false, fmt.Errorf("validator %s has not scored it since", v)
				}
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		return []string{
			fmt.Sprintf("every label %s acknowledged before kill -9 is stored after it (%d re-sent, each acknowledged as stored)", h.Name, checked),
			"every validator scored " + h.Name + " again after its restart",
		}, nil
	default: // a validator
		// The first /scores after the restart must hold what the state
		// file kept: every uid scored before, with the count of answers
		// its averages rest on (less at most the steps in flight when it
		// was killed).
		after, err := retry(ctx, r, h.Name+"'s /scores back", func(ctx context.Context) (api.ValidatorScores, error) { return r.scores(ctx, h.Name) })
		if err != nil {
			return nil, err
		}
		got := map[uint16]api.UIDScore{}
		for _, u := range after.Scores {
			got[u.UID] = u
		}
		const inFlight = 3
		for uid, b := range before {
			a := got[uid]
			if b.Score > 0 && a.Score == 0 || a.Scored+inFlight < b.Scored {
				return nil, fmt.Errorf("validator %s: uid %d scored %.3f over %d answers before kill -9, %.3f over %d after its restart: its scores were lost",
					h.Name, uid, b.Score, b.Scored, a.Score, a.Scored)
			}
		}
		uid, err := r.uidOf(ctx, h)
		if err != nil {
			return nil, err
		}
		err = r.waitFor(ctx, h.Name+" sets weights again", 90*time.Second, func(ctx context.Context) (bool, error) {
			c := r.anyNode()
			row, err := c.Weights(ctx, netuid, uid, 0)
			if err != nil {
				return false, err
			}
			if int64(row.LastUpdate) <= restartHeight {
				return false, fmt.Errorf("last weights at block %d, restarted at %d", row.LastUpdate, restartHeight)
			}
			return r.weighsEveryMiner(ctx, row.Row)
		})
		if err != nil {
			return nil, err
		}
		return []string{
			fmt.Sprintf("%s kept its scores of %d uids across kill -9", h.Name, len(before)),
			h.Name + " set weights again after its restart, to every miner",
		}, nil
	}
}

// scoredCounts is, per validator, how many of miner host's answers it
// has scored.
func (r *run) scoredCounts(ctx context.Context, h *Host) (map[string]uint64, error) {
	uid, err := r.uidOf(ctx, h)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, v := range r.m.HostsWith(RoleValidator) {
		if p := r.procs[v.Name]; p == nil || p.expectExit {
			continue
		}
		s, err := r.scores(ctx, v.Name)
		if err != nil {
			return nil, fmt.Errorf("validator %s: %w", v.Name, err)
		}
		out[v.Name] = 0
		for _, u := range s.Scores {
			if u.UID == uid {
				out[v.Name] = u.Reasons["scored"]
			}
		}
	}
	return out, nil
}

// uids maps each registered miner and validator host to its uid, from
// one metagraph.
func (r *run) uids(ctx context.Context) (map[string]uint16, error) {
	mg, err := r.metagraph(ctx)
	if err != nil {
		return nil, err
	}
	host := map[string]string{}
	for h, hk := range r.hotkey {
		host[hk] = h
	}
	out := map[string]uint16{}
	for _, n := range mg.Neurons {
		if h, ok := host[n.Hotkey]; ok {
			out[h] = n.UID
		}
	}
	return out, nil
}

func (r *run) uidOf(ctx context.Context, h *Host) (uint16, error) {
	uids, err := r.uids(ctx)
	if err != nil {
		return 0, err
	}
	uid, ok := uids[h.Name]
	if !ok {
		return 0, fmt.Errorf("%s is not registered", h.Name)
	}
	return uid, nil
}

// weighsEveryMiner holds when row gives every miner a weight above 0.
func (r *run) weighsEveryMiner(ctx context.Context, row []consensus.Entry) (bool, error) {
	w := map[uint16]uint16{}
	for _, e := range row {
		w[e.UID] = e.Value
	}
	uids, err := r.uids(ctx)
	if err != nil {
		return false, err
	}
	for _, m := range r.m.HostsWith(RoleMiner) {
		uid, ok := uids[m.Name]
		if !ok {
			return false, fmt.Errorf("%s is not registered", m.Name)
		}
		if w[uid] == 0 {
			return false, fmt.Errorf("no weight for miner %s (uid %d)", m.Name, uid)
		}
	}
	return true, nil
}

// caughtUp waits until host's node is no longer catching up and is at
// the others' height.
func (r *run) caughtUp(ctx context.Context, host string, timeout time.Duration) error {
	return r.waitFor(ctx, host+" catches up", timeout, func(ctx context.Context) (bool, error) {
		hs, err := r.heights(ctx)
		if err != nil {
			return false, err
		}
		st, err := r.nodes[host].Status(ctx)
		if err != nil {
			return false, err
		}
		best := slices.Max(slices.Collect(maps.Values(hs)))
		if st.SyncInfo.CatchingUp || st.SyncInfo.LatestBlockHeight < best-1 {
			return false, fmt.Errorf("%s at %d, the chain at %d", host, st.SyncInfo.LatestBlockHeight, best)
		}
		return true, nil
	})
}

// signing waits until chain validator host has caught up and its vote
// is in the commit of a block above height: it takes part in consensus
// again, not only follows it.
func (r *run) signing(ctx context.Context, host string, height int64, timeout time.Duration) error {
	return r.waitFor(ctx, host+" signs blocks again", timeout, func(ctx context.Context) (bool, error) {
		st, err := r.nodes[host].Status(ctx)
		if err != nil {
			return false, err
		}
		// The commit of the block at h is in the block at h+1.
		latest := st.SyncInfo.LatestBlockHeight - 1
		if st.SyncInfo.CatchingUp || latest <= height {
			return false, fmt.Errorf("%s at %d, catching up %v", host, st.SyncInfo.LatestBlockHeight, st.SyncInfo.CatchingUp)
		}
		signers, err := r.nodes[host].Signers(ctx, latest)
		if err != nil {
			return false, err
		}
		if !slices.Contains(signers, st.ValidatorInfo.Address.String()) {
			return false, fmt.Errorf("%s's vote is not in the commit of block %d", host, latest)
		}
		return true, nil
	})
}

// join starts a late full node and reports how long it took to reach the
// chain's tip.
func (r *run) join(ctx context.Context, h *Host) ([]string, error) {
	tip := r.height(ctx)
	t0 := time.Now()
	if err := r.joinNode(ctx, h); err != nil {
		return nil, err
	}
	var base int64
	err := r.waitFor(ctx, h.Name+" joins", 120*time.Second, func(ctx context.Context) (bool, error) {
		st, err := r.nodes[h.Name].Status(ctx)
		if err != nil {
			return false, err
		}
		base = st.SyncInfo.EarliestBlockHeight
		if st.SyncInfo.CatchingUp || st.SyncInfo.LatestBlockHeight < tip {
			return false, fmt.Errorf("at %d, catching up %v", st.SyncInfo.LatestBlockHeight, st.SyncInfo.CatchingUp)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	took := time.Since(t0)
	r.rep.Joins = append(r.rep.Joins, JoinReport{Host: h.Name, StateSync: h.StateSync, Took: took, Height: tip, Base: base})
	how := "by replaying every block"
	if h.StateSync {
		if base <= 1 {
			return nil, fmt.Errorf("%s was to join by state sync but holds every block from %d: it replayed", h.Name, base)
		}
		how = fmt.Sprintf("by state sync (its first block is %d)", base)
	}
	return []string{fmt.Sprintf("%s joined a chain of %d blocks %s in %.1fs", h.Name, tip, how, took.Seconds())}, nil
}

// partition splits the network for p.For, checks that the chain halts
// or goes on as it must, heals it, and waits until every node is back at
// the tip.
func (r *run) partition(ctx context.Context, p Perturbation) ([]string, error) {
	groups := r.m.Groups(p.Partition)
	if err := r.net.Partition(groups); err != nil {
		return nil, err
	}
	healed := false
	defer func() {
		if !healed {
			_ = r.net.Heal()
		}
	}()
	// Votes already on the wire may still commit one block.
	if err := pause(ctx, 2*r.interval); err != nil {
		return nil, err
	}
	h0, err := retry(ctx, r, "every node's height", r.heights)
	if err != nil {
		return nil, err
	}
	if err := pause(ctx, p.For.Std()); err != nil {
		return nil, err
	}
	if !p.Halts {
		// The side with more than 2/3 of the power goes on: three blocks,
		// however slow the machine (a cut-off proposer costs a round).
		err := r.waitFor(ctx, "the side holding more than 2/3 of the power makes blocks", 90*time.Second, func(ctx context.Context) (bool, error) {
			hs, err := r.heights(ctx)
			if err != nil {
				return false, err
			}
			for host, h := range hs {
				if h >= h0[host]+3 {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return nil, err
		}
	}
	h1, err := retry(ctx, r, "every node's height", r.heights)
	if err != nil {
		return nil, err
	}
	var checks []string
	if p.Halts {
		// No new block anywhere (one whose votes were on the wire may
		// land); a node behind may still fetch blocks from its side.
		before, after := slices.Max(slices.Collect(maps.Values(h0))), slices.Max(slices.Collect(maps.Values(h1)))
		if after > before+1 {
			return nil, fmt.Errorf("the chain should halt with no group above 2/3 of the power, but went from height %d to %d", before, after)
		}
		checks = append(checks, fmt.Sprintf("no node made a block while partitioned %v (halted, not forked)", p.For.Std()))
	} else {
		var best int64
		for host, h := range h1 {
			best = max(best, h-h0[host])
		}
		checks = append(checks, fmt.Sprintf("the group holding more than 2/3 of the power went on (%d blocks while partitioned)", best))
	}
	healed = true
	if err := r.net.Heal(); err != nil {
		return nil, err
	}
	top := slices.Max(slices.Collect(maps.Values(h1)))
	if err := r.waitHeight(ctx, top+2, 90*time.Second); err != nil {
		return nil, errors.Join(errors.New("after healing"), err)
	}
	for _, v := range r.m.HostsWith(RoleChainValidator) {
		if err := r.signing(ctx, v.Name, top, 60*time.Second); err != nil {
			return nil, errors.Join(errors.New("after healing"), err)
		}
	}
	return append(checks, "healed: every node is at the tip and every chain validator signs blocks again"), nil
}

// checkChain checks, for every running node, that each block it has
// that was not checked yet is the block (hash, and so app hash) that
// every other node has at that height, and that its supply ledger adds
// up.
func (r *run) checkChain(ctx context.Context) ([]string, error) {
	var newBlocks int
	for host, c := range r.nodes {
		if r.procs[host].expectExit {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		st, err := c.Status(ctx)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("%s: %w", host, err)
		}
		latest := st.SyncInfo.LatestBlockHeight
		for from := max(r.checked[host]+1, st.SyncInfo.EarliestBlockHeight); from <= latest; from += 20 {
			metas, err := c.BlockMetas(ctx, from, min(from+19, latest))
			if err != nil {
				cancel()
				return nil, fmt.Errorf("%s: %w", host, err)
			}
			for _, m := range metas {
				id := blockID{m.BlockID.Hash.String(), m.Header.AppHash.String()}
				h := m.Header.Height
				if seen, ok := r.canon[h]; ok && seen != id {
					cancel()
					return nil, fmt.Errorf("fork at height %d: %s has block %s (app hash %s), another node %s (app hash %s)", h, host, id.hash, id.appHash, seen.hash, seen.appHash)
				}
				if _, ok := r.canon[h]; !ok {
					r.canon[h] = id
				}
				newBlocks++
			}
		}
		r.checked[host] = latest
		s, err := c.Supply(ctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", host, err)
		}
		if s.Total != s.Genesis+s.Minted-s.Burned {
			return nil, fmt.Errorf("%s: supply %d != genesis %d + minted %d - burned %d", host, s.Total, s.Genesis, s.Minted, s.Burned)
		}
	}
	r.rep.Height = int64(len(r.canon))
	return []string{
		fmt.Sprintf("%d nodes agree on the block and app hash at every height they hold (%d blocks compared)", r.running(), newBlocks),
		"supply = genesis + minted - burned on every node",
	}, nil
}

func (r *run) running() int {
	n := 0
	for host := range r.nodes {
		if !r.procs[host].expectExit {
			n++
		}
	}
	return n
}

// finish checks that the miners are still paid and every label ever
// acknowledged is stored, then stops every process cleanly.
func (r *run) finish(ctx context.Context) error {
	if err := r.waitFor(ctx, "every miner paid at the end", 90*time.Second, r.paid); err != nil {
		return err
	}
	total := 0
	for _, h := range r.m.HostsWith(RoleMiner) {
		n, err := r.labels[h.Name].verify(ctx)
		if err != nil {
			return err
		}
		total += n
	}
	if total == 0 {
		return errors.New("no miner acknowledged a label: the labels check had nothing to check")
	}
	if _, err := r.checkChain(ctx); err != nil {
		return err
	}
	r.say("at the end: every miner paid, %d acknowledged labels all stored, every node's blocks identical to the others' at every height to %d", total, r.rep.Height)
	r.cancel()
	if err := r.stopAll(); err != nil {
		return err
	}
	r.say("every process stopped cleanly")
	return nil
}
