package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
)

// This file holds the commands that ask a node about a wallet: wallet
// overview, wallet balance and stake list. They take the query commands'
// flags (--node, --timeout, --output) and --wallet.

// walletTarget is the coldkey a wallet query is about, and the wallet's
// hotkeys by address (empty for a bare address).
type walletTarget struct {
	wallet  string
	coldkey chain.AccountID
	hotkeys map[string]string // address → the wallet's name for it
	names   []string          // the wallet's hotkey names, sorted
}

// resolveWallet reads the public part of the wallet's coldkey and the
// names of its hotkeys; no password is needed. A wallet that is not there
// is an error listing those that are.
func resolveWallet(rt *Runtime, wallet string) (*walletTarget, error) {
	store := keys.NewStore(rt.Config.Home)
	kf, err := store.Coldkey(wallet)
	var me *keys.MissingError
	switch {
	case errors.As(err, &me):
		return nil, err
	case errors.Is(err, keys.ErrNotFound):
		return nil, fmt.Errorf("wallet %s has no coldkey on this machine (%w); give the coldkey's address instead", wallet, err)
	case err != nil:
		return nil, fmt.Errorf("wallet %s: %w", wallet, err)
	}
	t := &walletTarget{wallet: wallet, coldkey: chain.AccountID(kf.PublicKey), hotkeys: map[string]string{}}
	ws, err := store.List()
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		if w.Name != wallet {
			continue
		}
		for _, h := range w.Hotkeys {
			if h.Err == nil {
				t.hotkeys[h.Address] = h.Name
				t.names = append(t.names, h.Name)
			}
		}
	}
	return t, nil
}

// walletOrAddress resolves --wallet or the one positional ADDRESS.
func walletOrAddress(rt *Runtime, wallet string, args []string) (*walletTarget, error) {
	switch {
	case len(args) > 1:
		return nil, usageErrorf("unexpected argument %q", args[1])
	case wallet != "" && len(args) == 1:
		return nil, usageErrorf("give --wallet NAME or an ADDRESS, not both")
	case len(args) == 1:
		id, err := parseAddressArg(args[0])
		if err != nil {
			return nil, err
		}
		return &walletTarget{coldkey: id, hotkeys: map[string]string{}}, nil
	case wallet == "":
		return nil, usageErrorf("give --wallet NAME or an ADDRESS")
	}
	if err := checkNameFlag("wallet", wallet, true); err != nil {
		return nil, err
	}
	return resolveWallet(rt, wallet)
}

// newWalletQueryCmd completes c as a command that asks the node about one
// coldkey: --wallet NAME or a positional ADDRESS, and the query flags.
func newWalletQueryCmd(c *Command, op string, do func(ctx context.Context, rt *Runtime, f *queryFlags, cl *chainclient.Client, t *walletTarget) error) *Command {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	f := newQueryFlags(fs)
	var wallet string
	fs.StringVar(&wallet, "wallet", "", "the wallet `NAME` whose coldkey to show (or give its ADDRESS as the argument)")
	c.Args = "[ADDRESS]"
	c.Flags = fs
	c.Run = func(ctx context.Context, rt *Runtime, args []string) error {
		t, err := walletOrAddress(rt, wallet, args)
		if err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return err
			}
			return fmt.Errorf("%s: %w", op, err)
		}
		return f.run(ctx, rt, op, nil, 0, func(ctx context.Context, cl *chainclient.Client) error {
			return do(ctx, rt, f, cl, t)
		})
	}
	return c
}

// coldkeyQuery asks the node what t's coldkey holds, with addresses in
// bech32m.
func coldkeyQuery(ctx context.Context, cl *chainclient.Client, t *walletTarget) (chain.ColdkeyView, int64, error) {
	var v chain.ColdkeyView
	h, err := cl.Query(ctx, chain.QueryColdkey+t.coldkey.String(), &v)
	if err != nil {
		return v, 0, err
	}
	v.Coldkey = address(v.Coldkey)
	for i := range v.Stakes {
		v.Stakes[i].Hotkey, v.Stakes[i].Owner = address(v.Stakes[i].Hotkey), address(v.Stakes[i].Owner)
	}
	for i := range v.Hotkeys {
		o := &v.Hotkeys[i]
		o.Hotkey = address(o.Hotkey)
		for j := range o.Nominators {
			o.Nominators[j].Coldkey = address(o.Nominators[j].Coldkey)
		}
	}
	return v, h, nil
}

func walletBalanceCmd() *Command {
	return newWalletQueryCmd(&Command{
		Name:  "balance",
		Short: "Show a wallet's (or an address's) free balance, stake and total",
		Long: `Asks the node (--node) for the coldkey's free balance and the stake it has
on hotkeys; the total is their sum. Give the wallet with --wallet NAME, or
any coldkey's agora1... ADDRESS as the argument. Text shows AGR; --output
json shows base units (1 AGR = 10^9).`,
	}, "wallet balance", func(ctx context.Context, rt *Runtime, f *queryFlags, cl *chainclient.Client, t *walletTarget) error {
		v, h, err := coldkeyQuery(ctx, cl, t)
		if err != nil {
			return err
		}
		var staked uint64
		for _, s := range v.Stakes {
			staked += s.Stake
		}
		out := struct {
			Wallet  string `json:"wallet,omitempty"`
			Address string `json:"address"`
			Balance uint64 `json:"balance"`
			Staked  uint64 `json:"staked"`
			Total   uint64 `json:"total"`
			Height  int64  `json:"height"`
		}{t.wallet, v.Coldkey, v.Balance, staked, v.Balance + staked, h}
		return f.print(rt, out, func(w io.Writer) {
			if t.wallet != "" {
				fmt.Fprintf(w, "wallet:\t%s\n", t.wallet)
			}
			fmt.Fprintf(w, "address:\t%s\nfree:\t%s AGR\nstaked:\t%s AGR\ntotal:\t%s AGR\nheight:\t%d\n",
				out.Address, formatAGR(out.Balance), formatAGR(out.Staked), formatAGR(out.Total), h)
		})
	})
}

// stakeJSON is one of a coldkey's stakes, as stake list and overview show
// it.
type stakeJSON struct {
	Hotkey string `json:"hotkey"`
	Name   string `json:"name,omitempty"` // the wallet's name for the hotkey
	Owner  string `json:"owner"`
	Stake  uint64 `json:"stake"`
}

func stakeRows(t *walletTarget, v chain.ColdkeyView) (rows []stakeJSON, total uint64) {
	rows = []stakeJSON{}
	for _, s := range v.Stakes {
		rows = append(rows, stakeJSON{Hotkey: s.Hotkey, Name: t.hotkeys[s.Hotkey], Owner: s.Owner, Stake: s.Stake})
		total += s.Stake
	}
	return rows, total
}

// ownerLabel names a hotkey's owner for text output.
func ownerLabel(owner, coldkey string) string {
	switch owner {
	case "":
		return "(none)"
	case coldkey:
		return "this coldkey"
	}
	return owner
}

func stakeCmd() *Command {
	return &Command{
		Name:        "stake",
		Short:       "Show where a coldkey's stake is (to add or remove stake: agora tx stake)",
		Subcommands: []*Command{stakeListCmd()},
	}
}

func stakeListCmd() *Command {
	return newWalletQueryCmd(&Command{
		Name:  "list",
		Short: "List every hotkey a wallet's coldkey (or an address) stakes on, and how much",
		Long: `Asks the node (--node) for the coldkey's stake on each hotkey: the hotkeys
of its own and those it nominates. Give the wallet with --wallet NAME, or
any coldkey's agora1... ADDRESS as the argument.`,
	}, "stake list", func(ctx context.Context, rt *Runtime, f *queryFlags, cl *chainclient.Client, t *walletTarget) error {
		v, h, err := coldkeyQuery(ctx, cl, t)
		if err != nil {
			return err
		}
		rows, total := stakeRows(t, v)
		out := struct {
			Wallet  string      `json:"wallet,omitempty"`
			Coldkey string      `json:"coldkey"`
			Stakes  []stakeJSON `json:"stakes"`
			Total   uint64      `json:"total"`
			Height  int64       `json:"height"`
		}{t.wallet, v.Coldkey, rows, total, h}
		return f.print(rt, out, func(w io.Writer) {
			fmt.Fprintf(w, "coldkey:\t%s\n", v.Coldkey)
			if len(rows) == 0 {
				fmt.Fprintf(w, "\nNo stake on any hotkey at height %d (add some with: agora tx stake add).\n", h)
				return
			}
			fmt.Fprintf(w, "\nHOTKEY\tNAME\tOWNER\tSTAKE (AGR)\n")
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Hotkey, orDash(r.Name), ownerLabel(r.Owner, v.Coldkey), formatAGR(r.Stake))
			}
			fmt.Fprintf(w, "\ntotal:\t%s AGR on %d hotkey(s)\nheight:\t%d\n", formatAGR(total), len(rows), h)
		})
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// overviewHotkeyJSON is one hotkey in wallet overview's JSON: one the
// coldkey owns on chain, or one of the wallet's files that it does not.
type overviewHotkeyJSON struct {
	Name           string                   `json:"name,omitempty"`
	Address        string                   `json:"address"`
	Owner          string                   `json:"owner,omitempty"` // "" if not registered
	Take           uint16                   `json:"take"`
	Stake          uint64                   `json:"stake"`
	OwnerStake     uint64                   `json:"owner_stake"`
	NominatorStake uint64                   `json:"nominator_stake"`
	Nominators     []chain.NominatorView    `json:"nominators"`
	Registrations  []chain.RegistrationView `json:"registrations"`
}

func walletOverviewCmd() *Command {
	return newWalletQueryCmd(&Command{
		Name:  "overview",
		Short: "Show a wallet's balance, hotkeys, registrations (netuid and uid) and stake",
		Long: `Asks the node (--node) about the wallet's coldkey: its free balance and
stake, every hotkey it owns (and every hotkey file of the wallet) with its
uid on each subnet it is registered on, and each hotkey's stake split into
the owner's own and its nominators' (other coldkeys'), which are listed.
Give the wallet with --wallet NAME, or any coldkey's agora1... ADDRESS.`,
	}, "wallet overview", func(ctx context.Context, rt *Runtime, f *queryFlags, cl *chainclient.Client, t *walletTarget) error {
		v, h, err := coldkeyQuery(ctx, cl, t)
		if err != nil {
			return err
		}
		stakes, staked := stakeRows(t, v)
		hks := []overviewHotkeyJSON{}
		owned := map[string]bool{}
		for _, o := range v.Hotkeys {
			owned[o.Hotkey] = true
			hks = append(hks, overviewHotkeyJSON{Name: t.hotkeys[o.Hotkey], Address: o.Hotkey, Owner: v.Coldkey, Take: o.Take,
				Stake: o.Stake, OwnerStake: o.OwnerStake, NominatorStake: o.NominatorStake, Nominators: o.Nominators, Registrations: o.Registrations})
		}
		// The wallet's hotkeys this coldkey does not own: not registered,
		// or registered by another coldkey.
		for addr, name := range t.hotkeys {
			if owned[addr] {
				continue
			}
			j := overviewHotkeyJSON{Name: name, Address: addr, Nominators: []chain.NominatorView{}, Registrations: []chain.RegistrationView{}}
			pk, _ := keys.ParseAddress(addr)
			hv, err := cl.Hotkey(ctx, chain.AccountID(pk))
			var qe *chainclient.QueryError
			switch {
			case errors.As(err, &qe): // not registered
			case err != nil:
				return err
			default:
				j.Owner, j.Take, j.Stake = address(hv.Owner), hv.Take, hv.Stake
			}
			hks = append(hks, j)
		}
		sortOverviewHotkeys(hks)
		out := struct {
			Wallet  string               `json:"wallet,omitempty"`
			Coldkey string               `json:"coldkey"`
			Balance uint64               `json:"balance"`
			Staked  uint64               `json:"staked"`
			Total   uint64               `json:"total"`
			Hotkeys []overviewHotkeyJSON `json:"hotkeys"`
			Stakes  []stakeJSON          `json:"stakes"`
			Height  int64                `json:"height"`
		}{t.wallet, v.Coldkey, v.Balance, staked, v.Balance + staked, hks, stakes, h}
		return f.print(rt, out, func(w io.Writer) {
			if t.wallet != "" {
				fmt.Fprintf(w, "wallet:\t%s\n", t.wallet)
			}
			fmt.Fprintf(w, "coldkey:\t%s\nfree:\t%s AGR\nstaked:\t%s AGR\ntotal:\t%s AGR\nheight:\t%d\n",
				v.Coldkey, formatAGR(v.Balance), formatAGR(staked), formatAGR(v.Balance+staked), h)
			if len(hks) == 0 {
				fmt.Fprintf(w, "\nNo hotkeys (make one with: agora wallet new-hotkey).\n")
			} else {
				fmt.Fprintf(w, "\nHOTKEY\tADDRESS\tNETUID\tUID\tSTAKE (AGR)\tOWNER'S\tNOMINATORS'\tTAKE\n")
				for _, j := range hks {
					printOverviewHotkey(w, j, v.Coldkey)
				}
				for _, j := range hks {
					if len(j.Nominators) == 0 {
						continue
					}
					fmt.Fprintf(w, "\nnominators of %s:\n", orDash(j.Name)+" "+j.Address)
					for _, n := range j.Nominators {
						fmt.Fprintf(w, "  %s\t%s AGR\n", n.Coldkey, formatAGR(n.Stake))
					}
				}
			}
			if len(stakes) > 0 {
				fmt.Fprintf(w, "\nSTAKED ON\tNAME\tOWNER\tSTAKE (AGR)\n")
				for _, s := range stakes {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Hotkey, orDash(s.Name), ownerLabel(s.Owner, v.Coldkey), formatAGR(s.Stake))
				}
			}
		})
	})
}

// sortOverviewHotkeys orders the wallet's named hotkeys first by name,
// then the rest by address.
func sortOverviewHotkeys(hks []overviewHotkeyJSON) {
	key := func(j overviewHotkeyJSON) string {
		if j.Name != "" {
			return "0" + j.Name
		}
		return "1" + j.Address
	}
	slices.SortFunc(hks, func(a, b overviewHotkeyJSON) int { return strings.Compare(key(a), key(b)) })
}

// printOverviewHotkey writes j's rows: one per subnet it is registered
// on, or one saying why it is on none.
func printOverviewHotkey(w io.Writer, j overviewHotkeyJSON, coldkey string) {
	name := orDash(j.Name)
	switch {
	case j.Owner == "":
		fmt.Fprintf(w, "%s\t%s\t-\t-\tnot registered\t\t\t\n", name, j.Address)
		return
	case j.Owner != coldkey:
		fmt.Fprintf(w, "%s\t%s\t-\t-\towned by %s\t\t\t\n", name, j.Address, j.Owner)
		return
	}
	amounts := fmt.Sprintf("%s\t%s\t%s\t%s", formatAGR(j.Stake), formatAGR(j.OwnerStake), formatAGR(j.NominatorStake), proportion(j.Take))
	if len(j.Registrations) == 0 {
		fmt.Fprintf(w, "%s\t%s\t-\t-\t%s\n", name, j.Address, amounts)
		return
	}
	for _, r := range j.Registrations {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\n", name, j.Address, r.Netuid, r.UID, amounts)
	}
}
