package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/miner"
)

// minerStatusCmd is "agora miner status": what each validator says of the
// miner, from the validators' signed /scores.
func minerStatusCmd() *Command {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	wallet := fs.String("wallet", "", "the wallet `NAME` holding the miner's hotkey (default: miner.wallet)")
	hotkey := fs.String("hotkey", "", "the miner's hotkey `NAME` (default: miner.hotkey)")
	netuid := fs.Int("netuid", -1, "the subnet (default: miner.netuid)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long each validator has to answer")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name: "status", ConfigSection: "miner", Flags: fs,
		Short: "Show what each validator says of the miner: score, reasons, labelers",
		Long: `Reads the subnet's metagraph, finds every validator with a permit that
announces its /scores on chain (agora validator run --validator.public_addr),
asks each for its scores with a request signed by the miner's hotkey, checks
that each answer is signed by that validator's hotkey for this request, and
prints what it says of this miner: its score, score by kind of task, whether a
hard failure holds it at 0 this epoch, the last reason with counts by reason
(see "Reasons on /scores" in the README) and its labelers' judgements. A
validator that cannot be reached, or whose answer is not signed by its
hotkey, is a line saying so.`,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			c := rt.Config.Miner
			w, h, nu := cmp.Or(*wallet, c.Wallet), cmp.Or(*hotkey, c.Hotkey), int(c.Netuid)
			if *netuid >= 0 {
				nu = *netuid
			}
			if w == "" {
				return usageErrorf("--wallet is required (the wallet holding the miner's hotkey)")
			}
			if nu > 65535 {
				return usageErrorf("--netuid %d: want 0 to 65535", nu)
			}
			key, err := keys.NewStore(rt.Config.Home).LoadHotkey(w, h, func() ([]byte, error) {
				return walletPassword(rt, c.PasswordFile, fmt.Sprintf("Password for hotkey %s of wallet %s", h, w), false)
			})
			if err != nil {
				return fmt.Errorf("miner status: %w", err)
			}
			node := rt.node("miner")
			client, err := chainclient.New(node.Addr)
			if err != nil {
				return fmt.Errorf("miner status: %w", err)
			}
			defer client.Close()
			view, err := client.Metagraph(ctx, uint16(nu))
			if err != nil {
				return node.explain(fmt.Errorf("miner status: %w", err))
			}
			s := chainclient.StandingOf(&view, chain.AccountID(key.PublicKey()), chainclient.RoleMiner)
			verdicts := miner.ValidatorVerdicts(ctx, http.DefaultClient, &view, key, *timeout)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if *output == "json" {
				out := struct {
					Hotkey     string                   `json:"hotkey"`
					Netuid     uint16                   `json:"netuid"`
					Registered bool                     `json:"registered"`
					UID        *uint16                  `json:"uid,omitempty"`
					Incentive  float64                  `json:"incentive"`
					Consensus  float64                  `json:"consensus"`
					Validators []miner.ValidatorVerdict `json:"validators"`
				}{Hotkey: key.Address(), Netuid: uint16(nu), Registered: s.Registered, Incentive: s.Figure, Consensus: s.Trust, Validators: verdicts}
				if s.Registered {
					out.UID = &s.UID
				}
				if out.Validators == nil {
					out.Validators = []miner.ValidatorVerdict{}
				}
				return walletWriteJSON(rt.Stdout, out)
			}
			return printVerdicts(rt.Stdout, key.Address(), uint16(nu), s, verdicts)
		},
	}
}

// printVerdicts writes what each validator says of the miner, one block
// per validator.
func printVerdicts(out io.Writer, hotkey string, netuid uint16, s chainclient.Standing, vs []miner.ValidatorVerdict) error {
	if !s.Registered {
		fmt.Fprintf(out, "miner %s is not registered on subnet %d\n", hotkey, netuid)
	} else {
		fmt.Fprintf(out, "miner %s: uid %d on subnet %d, incentive %.4f, consensus %.4f, rank %d/%d\n", hotkey, s.UID, netuid, s.Figure, s.Trust, s.Rank, s.N)
	}
	if len(vs) == 0 {
		fmt.Fprintln(out, "no validator with a permit announces its scores on chain (validators do with --validator.public_addr)")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, v := range vs {
		fmt.Fprintf(tw, "\nvalidator uid %d\tstake %s AGR\t%s\n", v.UID, chain.FormatAGR(v.Stake), v.Axon)
		switch {
		case v.Error != "":
			fmt.Fprintf(tw, "  cannot read its scores: %s\n", v.Error)
			continue
		case !v.Scored:
			fmt.Fprintln(tw, "  has not scored this miner yet")
			continue
		}
		sc := v.Score
		fmt.Fprintf(tw, "  score\t%.4f\n", sc.Score)
		for _, k := range slices.Sorted(maps.Keys(sc.ByKind)) {
			fmt.Fprintf(tw, "  %s\t%.4f\n", k, sc.ByKind[k])
		}
		fmt.Fprintf(tw, "  failed_epoch\t%t\n", sc.FailedEpoch)
		fmt.Fprintf(tw, "  last reason\t%s\n", sc.LastReason)
		var counts []string
		for _, r := range slices.Sorted(maps.Keys(sc.Reasons)) {
			counts = append(counts, fmt.Sprintf("%s %d", r, sc.Reasons[r]))
		}
		fmt.Fprintf(tw, "  reasons\t%s\n", strings.Join(counts, ", "))
		for _, l := range sc.Labelers {
			why := strings.Join(l.Reasons, "; ")
			if why == "" {
				why = "careful"
			}
			fmt.Fprintf(tw, "  labeler %s\t%.3f over %d labels (%s)\n", l.Labeler, l.Score, l.Labels, why)
		}
	}
	return tw.Flush()
}
