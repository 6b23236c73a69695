package localnet

import (
	"context"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/rlhf"
	"github.com/seed0ffb8d46/agora/scoring"
	"github.com/seed0ffb8d46/agora/weights"
)

// The weight-copying validator of --adversaries; the cheating miners are
// in package miner/cheat.

// copyWeights is the weight-copying validator: it sets the weights that
// the validator it copies last set on chain, without scoring anyone. On a
// subnet with commit-reveal it can only copy revealed weights, and must
// commit and reveal them itself, an epoch later: the lag Yuma's bonds
// punish.
func copyWeights(ctx context.Context, client *chainclient.Client, key *keys.PrivateKey, netuid, from uint16, every time.Duration, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last []uint16
	var pending *chain.RevealWeights
	var pendingEpoch uint64
	pk := key.PublicKey()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := func() error {
			qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			sn, err := client.Subnet(qctx, netuid)
			if err != nil {
				return err
			}
			var ep chain.EpochView
			if _, err := client.Query(qctx, chain.QueryEpoch+strconv.Itoa(int(netuid)), &ep); err != nil {
				return err
			}
			if pending != nil {
				switch due := pendingEpoch + sn.Params.RevealPeriodEpochs; {
				case ep.Epoch < due:
					return nil
				case ep.Epoch == due:
					_, err := client.SendTx(qctx, key, pending)
					pending = nil
					return err
				default:
					pending = nil // expired
				}
			}
			n, err := client.Neuron(qctx, netuid, from)
			if err != nil || len(n.Weights) == 0 {
				return err
			}
			uids := make([]uint16, len(n.Weights))
			values := make([]uint16, len(n.Weights))
			for i, e := range n.Weights {
				uids[i], values[i] = e.UID, e.Value
			}
			if slices.Equal(last, values) {
				return nil
			}
			if !sn.Params.CommitReveal {
				_, err = client.SendTx(qctx, key, &chain.SetWeights{Netuid: netuid, UIDs: uids, Values: values, VersionKey: sn.Params.WeightsVersion})
			} else {
				salt := []uint16{uint16(ep.Epoch), 7, 7, 7}
				h := weights.CommitHash(pk[:], netuid, uids, values, salt, sn.Params.WeightsVersion)
				if _, err = client.SendTx(qctx, key, &chain.CommitWeights{Netuid: netuid, Hash: h}); err == nil {
					pending = &chain.RevealWeights{Netuid: netuid, UIDs: uids, Values: values, Salt: salt, VersionKey: sn.Params.WeightsVersion}
					pendingEpoch = ep.Epoch
				}
			}
			if err == nil {
				last = values
			}
			return err
		}()
		if err != nil && ctx.Err() == nil {
			log.Debug("weight copier", zap.Error(err))
		}
	}
}

// spotGap is the difference in mean log-probability per token above which
// the trap spotter takes a pair for a trap: the validators' own trap
// margin, which anyone can read in the code.
var spotGap = scoring.DefaultPolicy().TrapMargin

// spotGaps is the trap spotter's test: a pair whose sides differ clearly in
// how well they read is a trap, answered with the better side; anything
// closer is not worth its labeler's time (and is clicked at random). It is
// what a labeler that learnt what traps look like would do: work only
// where it is checked.
func spotGaps(quality func(prompt, completion string) float64) func(rlhf.WireTask) (rlhf.Verdict, bool) {
	return func(t rlhf.WireTask) (rlhf.Verdict, bool) {
		l, r := quality(t.Prompt, t.Left), quality(t.Prompt, t.Right)
		switch {
		case l-r > spotGap:
			return rlhf.VerdictLeft, true
		case r-l > spotGap:
			return rlhf.VerdictRight, true
		}
		return "", false
	}
}
