package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/consensus"
	"github.com/seed0ffb8d46/agora/keys"
)

// queryCmd is "agora query": read the chain's state from a node.
func queryCmd() *Command {
	return &Command{
		Name:  "query",
		Short: "Read accounts, hotkeys, subnets, neurons, metagraphs, the supply, weights, bonds, commits, epochs, the emission and dataset roots",
		Long: `Each command asks the node (--node, else env AGORA_NODE, else node: in
--config FILE, else the localnet running under the home, else
tcp://127.0.0.1:26657) about the state at its last block. Text
output shows amounts in AGR with 9 decimals and proportions (consensus,
incentive, dividends, validator trust, take) as fractions of 1; --output json
shows the chain's own numbers: amounts in base units (1 AGR = 10^9) and
proportions as integers out of 65535. Accounts are bech32m addresses in both;
an account argument may be an agora1... address or a 64-hex-character public
key.`,
		Subcommands: []*Command{
			queryAccountCmd(), queryHotkeyCmd(), querySubnetCmd(), queryNeuronCmd(), queryMetagraphCmd(), querySupplyCmd(),
			queryRowCmd("weights"), queryRowCmd("bonds"), queryCommitsCmd(), queryEpochCmd(), queryEmissionCmd(),
			queryDatasetsCmd(),
		},
	}
}

// queryFlags are the flags every query command has.
type queryFlags struct {
	output  *string
	timeout time.Duration
}

func newQueryFlags(fs *flag.FlagSet) *queryFlags {
	f := &queryFlags{}
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "give up on the node after this long")
	f.output = outputFlag(fs, "text", "text", "json")
	return f
}

// run checks the positional arguments' count, connects and calls do
// within the timeout.
func (f *queryFlags) run(ctx context.Context, rt *Runtime, op string, args []string, want int, do func(ctx context.Context, c *chainclient.Client) error) error {
	if len(args) != want {
		if len(args) > want {
			return usageErrorf("unexpected argument %q", args[want])
		}
		return usageErrorf("want %d argument(s), got %d", want, len(args))
	}
	if f.timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	node := rt.node("")
	c, err := node.client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := do(ctx, c); err != nil {
		return fmt.Errorf("%s: %w", op, node.explain(err))
	}
	return nil
}

// newQueryCmd completes c as a query command: the flags every query
// command has, and a Run that takes want positional arguments, connects
// and calls do (whose errors are prefixed "query <name>: ").
func newQueryCmd(c *Command, want int, do func(ctx context.Context, rt *Runtime, f *queryFlags, cl *chainclient.Client, args []string) error) *Command {
	return newQueryCmdFlags(c, want, nil, do)
}

// newQueryCmdFlags is newQueryCmd for a command with flags of its own,
// which more defines on the command's flag set.
func newQueryCmdFlags(c *Command, want int, more func(fs *flag.FlagSet), do func(ctx context.Context, rt *Runtime, f *queryFlags, cl *chainclient.Client, args []string) error) *Command {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	f := newQueryFlags(fs)
	if more != nil {
		more(fs)
	}
	c.Flags = fs
	c.Run = func(ctx context.Context, rt *Runtime, args []string) error {
		return f.run(ctx, rt, "query "+c.Name, args, want, func(ctx context.Context, cl *chainclient.Client) error {
			return do(ctx, rt, f, cl, args)
		})
	}
	return c
}

// print writes v as JSON, or calls text.
func (f *queryFlags) print(rt *Runtime, v any, text func(w io.Writer)) error {
	if *f.output == "json" {
		return walletWriteJSON(rt.Stdout, v)
	}
	tw := tabwriter.NewWriter(rt.Stdout, 0, 0, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// parseAddressArg parses a positional address (or hex public key; see
// parseAccount).
func parseAddressArg(s string) (chain.AccountID, error) {
	id, err := parseAccount(s)
	if err != nil {
		return chain.AccountID{}, usageErrorf("%v", err)
	}
	return id, nil
}

// parseAccount parses an account as people have it at hand: its agora1...
// address, or the 64 hex characters of its public key (agora wallet show
// prints both). Anything else is an error that says which was meant.
func parseAccount(s string) (chain.AccountID, error) {
	isHex := s != ""
	for i := range len(s) {
		c := s[i] | 0x20 // lower case for letters
		if !(s[i] >= '0' && s[i] <= '9' || c >= 'a' && c <= 'f') {
			isHex = false
			break
		}
	}
	switch {
	case isHex && len(s) == 2*keys.PublicKeySize:
		b, _ := hex.DecodeString(s)
		return chain.AccountID(b), nil
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		what := "a 0x-prefixed hex string"
		if len(s) == 42 {
			what = "an Ethereum-style 0x address (20 bytes)"
		}
		return chain.AccountID{}, fmt.Errorf("%q is %s; Agora takes an agora1... address, or the %d hex characters of an ed25519 public key without 0x (agora wallet show prints both)",
			s, what, 2*keys.PublicKeySize)
	case looksSS58(s):
		return chain.AccountID{}, fmt.Errorf("%q looks like a Bittensor (SS58) address; Agora accounts are agora1... addresses of its own ed25519 keys: make one with agora wallet create, and give its address (agora wallet show prints it)", s)
	case isHex:
		return chain.AccountID{}, fmt.Errorf("%q: a hex public key has %d characters, this has %d; or give its agora1... address (agora wallet show prints both)",
			s, 2*keys.PublicKeySize, len(s))
	case strings.Contains(s, "1"):
		pk, err := keys.ParseAddress(s)
		return chain.AccountID(pk), err
	default:
		return chain.AccountID{}, fmt.Errorf("%q: want an agora1... address or a %d-character hex public key (agora wallet show prints both)", s, 2*keys.PublicKeySize)
	}
}

// looksSS58 says whether s has the form of a Substrate (Bittensor) SS58
// address: 46 to 48 base58 characters.
func looksSS58(s string) bool {
	if len(s) < 46 || len(s) > 48 || strings.HasPrefix(strings.ToLower(s), keys.AddressPrefix+"1") {
		return false
	}
	for i := range len(s) {
		if !strings.ContainsRune("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", rune(s[i])) {
			return false
		}
	}
	return true
}

func parseUint16Arg(what, s string) (uint16, error) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, usageErrorf("%s %q: want an integer from 0 to 65535", what, s)
	}
	return uint16(v), nil
}

// address turns the chain's hex account into its bech32m address; it
// leaves anything else as it is.
func address(hexKey string) string {
	b, err := hex.DecodeString(hexKey)
	if err != nil {
		return hexKey
	}
	pk, err := keys.PublicKeyFromBytes(b)
	if err != nil {
		return hexKey
	}
	return pk.Address()
}

// shortAddress abbreviates an address for tables.
func shortAddress(a string) string {
	if len(a) <= 18 {
		return a
	}
	return a[:12] + "..." + a[len(a)-4:]
}

// proportion shows a u16 proportion of 65535 as a fraction of 1 with 4
// decimals, rounded down, without floats.
func proportion(v uint16) string {
	x := uint64(v) * 10_000 / 65_535
	return fmt.Sprintf("%d.%04d", x/10_000, x%10_000)
}

func queryAccountCmd() *Command {
	return newQueryCmd(&Command{
		Name:  "account",
		Args:  "<address>",
		Short: "Show an account's balance and nonce",
	}, 1, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		id, err := parseAddressArg(args[0])
		if err != nil {
			return err
		}
		var v chain.AccountView
		h, err := c.Query(ctx, chain.QueryAccount+id.String(), &v)
		if err != nil {
			return err
		}
		out := struct {
			Address string `json:"address"`
			chain.AccountView
			Height int64 `json:"height"`
		}{keys.PublicKey(id).Address(), v, h}
		return f.print(rt, out, func(w io.Writer) {
			fmt.Fprintf(w, "address:\t%s\nbalance:\t%s AGR\nnonce:\t%d\nheight:\t%d\n", out.Address, formatAGR(v.Balance), v.Nonce, h)
		})
	})
}

func queryHotkeyCmd() *Command {
	return newQueryCmd(&Command{
		Name:  "hotkey",
		Args:  "<address>",
		Short: "Show a registered hotkey's owner, take and total stake",
	}, 1, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		id, err := parseAddressArg(args[0])
		if err != nil {
			return err
		}
		v, err := c.Hotkey(ctx, id)
		if err != nil {
			return err
		}
		v.Owner = address(v.Owner)
		out := struct {
			Address string `json:"address"`
			chain.HotkeyView
		}{keys.PublicKey(id).Address(), v}
		return f.print(rt, out, func(w io.Writer) {
			fmt.Fprintf(w, "hotkey:\t%s\nowner:\t%s\ntake:\t%s\nstake:\t%s AGR\n", out.Address, v.Owner, proportion(v.Take), formatAGR(v.Stake))
		})
	})
}

func querySubnetCmd() *Command {
	return newQueryCmd(&Command{
		Name:  "subnet",
		Args:  "<netuid>",
		Short: "Show a subnet's owner, registration cost, size and hyperparameters",
	}, 1, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		netuid, err := parseUint16Arg("netuid", args[0])
		if err != nil {
			return err
		}
		v, err := c.Subnet(ctx, netuid)
		if err != nil {
			return err
		}
		v.Owner = address(v.Owner)
		return f.print(rt, v, func(w io.Writer) { printSubnet(w, &v) })
	})
}

func printSubnet(w io.Writer, v *chain.SubnetView) {
	p := v.Params
	fmt.Fprintf(w, "netuid:\t%d\nowner:\t%s\nneurons:\t%d of %d\nburn:\t%s AGR\ncreated:\tblock %d\n",
		v.Netuid, v.Owner, v.N, p.MaxUIDs, formatAGR(v.Burn), v.Created)
	fmt.Fprintf(w, "hyperparameters:\t\n")
	rows := []struct {
		k string
		v any
	}{
		{"tempo", p.Tempo}, {"kappa", p.Kappa}, {"bonds_penalty", p.BondsPenalty},
		{"bonds_moving_average", p.BondsMovingAverage}, {"yuma3", p.Yuma3}, {"liquid_alpha", p.LiquidAlpha},
		{"alpha_low", p.AlphaLow}, {"alpha_high", p.AlphaHigh}, {"alpha_sigmoid_steepness", p.AlphaSigmoidSteepness},
		{"activity_cutoff", p.ActivityCutoff}, {"stake_threshold", formatAGR(p.StakeThreshold) + " AGR"},
		{"max_uids", p.MaxUIDs}, {"max_validators", p.MaxValidators}, {"immunity_period", p.ImmunityPeriod},
		{"serving_rate_limit", p.ServingRateLimit}, {"weights_rate_limit", p.WeightsRateLimit}, {"min_allowed_weights", p.MinAllowedWeights},
		{"max_weight_limit", p.MaxWeightLimit}, {"commit_reveal", p.CommitReveal},
		{"reveal_period_epochs", p.RevealPeriodEpochs}, {"min_burn", formatAGR(p.MinBurn) + " AGR"},
		{"max_burn", formatAGR(p.MaxBurn) + " AGR"}, {"target_registrations", p.TargetRegistrations},
		{"adjustment_interval", p.AdjustmentInterval}, {"mechanism_count", p.MechanismCount},
		{"mechanism_emission_split", splitString(p)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %s:\t%v\n", r.k, r.v)
	}
}

// splitString shows a subnet's mechanism emission split as proportions
// of 65535, "even" when unset.
func splitString(p chain.Hyperparams) string {
	if len(p.MechanismSplit) == 0 {
		return "even"
	}
	parts := make([]string, len(p.MechanismSplit))
	for i, v := range p.MechanismSplit {
		parts[i] = strconv.Itoa(int(v))
	}
	return strings.Join(parts, "/")
}

// mechanismValue is a --mechanism flag: a subnet's incentive mechanism,
// 0 to chain.MaxMechanisms−1, that knows whether it was set.
type mechanismValue struct {
	v   uint8
	set bool
}

func (m *mechanismValue) String() string {
	if m == nil || !m.set {
		return ""
	}
	return strconv.Itoa(int(m.v))
}

func (m *mechanismValue) Set(s string) error {
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil || v >= chain.MaxMechanisms {
		return fmt.Errorf("want an integer from 0 to %d", chain.MaxMechanisms-1)
	}
	m.v, m.set = uint8(v), true
	return nil
}

// mechanismFlag defines --mechanism with usage text that follows "the
// subnet's incentive MECHANISM ".
func mechanismFlag(fs *flag.FlagSet, usage string) *mechanismValue {
	m := &mechanismValue{}
	fs.Var(m, "mechanism", "the subnet's incentive `MECHANISM` "+usage)
	return m
}

// neuronAddresses rewrites a neuron's accounts as addresses.
func neuronAddresses(n *chain.NeuronView) {
	n.Hotkey, n.Coldkey = address(n.Hotkey), address(n.Coldkey)
}

var protocolNames = map[uint8]string{0: "http", 1: "https", 2: "grpc", 3: "ws"}

func axonString(a *chain.AxonView) string {
	if a == nil {
		return "-"
	}
	p, ok := protocolNames[a.Protocol]
	if !ok {
		p = strconv.Itoa(int(a.Protocol))
	}
	return p + "://" + a.Addr
}

func queryNeuronCmd() *Command {
	return newQueryCmd(&Command{
		Name:  "neuron",
		Args:  "<netuid> <uid>",
		Short: "Show one neuron of a subnet, with its weights and bonds",
	}, 2, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		netuid, err := parseUint16Arg("netuid", args[0])
		if err != nil {
			return err
		}
		uid, err := parseUint16Arg("uid", args[1])
		if err != nil {
			return err
		}
		v, err := c.Neuron(ctx, netuid, uid)
		if err != nil {
			return err
		}
		neuronAddresses(&v)
		return f.print(rt, v, func(w io.Writer) {
			fmt.Fprintf(w, "netuid:\t%d\nuid:\t%d\nhotkey:\t%s\ncoldkey:\t%s\nstake:\t%s AGR\n", netuid, v.UID, v.Hotkey, v.Coldkey, formatAGR(v.Stake))
			fmt.Fprintf(w, "consensus:\t%s\nincentive:\t%s\ndividends:\t%s\nemission:\t%s AGR\n",
				proportion(v.Consensus), proportion(v.Incentive), proportion(v.Dividends), formatAGR(v.Emission))
			fmt.Fprintf(w, "validator_trust:\t%s\nvalidator_permit:\t%t\npruning_score:\t%s\n",
				proportion(v.ValidatorTrust), v.ValidatorPermit, proportion(v.PruningScore))
			fmt.Fprintf(w, "registered_at:\tblock %d\nlast_update:\tblock %d\naxon:\t%s\n", v.RegisteredAt, v.LastUpdate, axonString(v.Axon))
			if v.Axon != nil {
				fmt.Fprintf(w, "axon_block:\t%d\n", v.Axon.Block)
			}
			fmt.Fprintf(w, "weights:\t%s\nbonds:\t%s\n", entries(v.Weights), entries(v.Bonds))
		})
	})
}

// entries shows a sparse row as uid:value pairs.
func entries(row []consensus.Entry) string {
	if len(row) == 0 {
		return "-"
	}
	parts := make([]string, len(row))
	for i, e := range row {
		parts[i] = fmt.Sprintf("%d:%d", e.UID, e.Value)
	}
	return strings.Join(parts, " ")
}

func queryMetagraphCmd() *Command {
	var mech *mechanismValue
	return newQueryCmdFlags(&Command{
		Name:  "metagraph",
		Args:  "<netuid>",
		Short: "Show a subnet's metagraph: every uid with its stake, scores and axon",
		Long: `Prints one row per uid: the hotkey (abbreviated; --output json has every field
in full), stake and emission in AGR, consensus, incentive, dividends and
validator trust as fractions of 1, the validator permit, and the axon.

On a subnet with several incentive mechanisms the scores are their aggregate
(emission summed, the rest weighted by the mechanism emission split), and
--output json lists each mechanism's under "mechanisms". With --mechanism N
the scores, emission and last update are mechanism N's alone.`,
	}, 1, func(fs *flag.FlagSet) {
		mech = mechanismFlag(fs, "whose scores to show (default: the aggregate over all of them)")
	}, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		netuid, err := parseUint16Arg("netuid", args[0])
		if err != nil {
			return err
		}
		v, err := c.Metagraph(ctx, netuid)
		if err != nil {
			return err
		}
		v.Subnet.Owner = address(v.Subnet.Owner)
		for i := range v.Neurons {
			neuronAddresses(&v.Neurons[i])
		}
		s := v.Subnet
		what := ""
		var out any = v
		if mech.set {
			if err := mechanismColumns(&v, mech.v); err != nil {
				return err
			}
			what = fmt.Sprintf(", mechanism %d of %d (split %s)", mech.v, s.Params.MechanismCount, splitString(s.Params))
			out = struct {
				Mechanism uint8 `json:"mechanism"`
				chain.MetagraphView
			}{mech.v, v}
		} else if s.Params.MechanismCount > 1 {
			what = fmt.Sprintf(", %d mechanisms aggregated (split %s)", s.Params.MechanismCount, splitString(s.Params))
		}
		return f.print(rt, out, func(w io.Writer) {
			fmt.Fprintf(w, "subnet %d: %d of %d uids, owner %s, burn %s AGR%s\n\n", s.Netuid, s.N, s.Params.MaxUIDs, s.Owner, formatAGR(s.Burn), what)
			fmt.Fprintf(w, "UID\tHOTKEY\tSTAKE\tCONSENSUS\tINCENTIVE\tDIVIDENDS\tEMISSION\tVTRUST\tPERMIT\tAXON\n")
			for _, n := range v.Neurons {
				permit := "-"
				if n.ValidatorPermit {
					permit = "yes"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.UID, shortAddress(n.Hotkey), formatAGR(n.Stake),
					proportion(n.Consensus), proportion(n.Incentive), proportion(n.Dividends), formatAGR(n.Emission),
					proportion(n.ValidatorTrust), permit, axonString(n.Axon))
			}
		})
	})
}

// mechanismColumns replaces each neuron's scores, emission and last update
// in v by mechanism m's, or says why the subnet has no mechanism m. On a
// subnet with one mechanism, mechanism 0's are the neurons' own.
func mechanismColumns(v *chain.MetagraphView, m uint8) error {
	if c := v.Subnet.Params.MechanismCount; m >= c {
		return fmt.Errorf("subnet %d has no mechanism %d: its mechanism_count is %d", v.Subnet.Netuid, m, c)
	}
	for i := range v.Neurons {
		n := &v.Neurons[i]
		if len(n.Mechanisms) > int(m) {
			r := n.Mechanisms[m]
			n.Consensus, n.Incentive, n.Dividends, n.ValidatorTrust = r.Consensus, r.Incentive, r.Dividends, r.ValidatorTrust
			n.Emission, n.LastUpdate = r.Emission, r.LastUpdate
		}
		n.Mechanisms = nil
	}
	return nil
}

func querySupplyCmd() *Command {
	return newQueryCmd(&Command{
		Name:  "supply",
		Short: "Show the total supply: genesis + minted − burned",
	}, 0, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		v, err := c.Supply(ctx)
		if err != nil {
			return err
		}
		return f.print(rt, v, func(w io.Writer) {
			fmt.Fprintf(w, "total:\t%s AGR\ngenesis:\t%s AGR\nminted:\t%s AGR\nburned:\t%s AGR\n",
				formatAGR(v.Total), formatAGR(v.Genesis), formatAGR(v.Minted), formatAGR(v.Burned))
		})
	})
}

// queryRowCmd is "agora query weights" or "agora query bonds".
func queryRowCmd(kind string) *Command {
	var mech *mechanismValue
	return newQueryCmdFlags(&Command{
		Name:  kind,
		Args:  "<netuid> <uid>",
		Short: "Show a uid's " + kind + " row: uid:value pairs, values out of 65535",
	}, 2, func(fs *flag.FlagSet) {
		mech = mechanismFlag(fs, "whose row to show (default 0)")
	}, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		netuid, err := parseUint16Arg("netuid", args[0])
		if err != nil {
			return err
		}
		uid, err := parseUint16Arg("uid", args[1])
		if err != nil {
			return err
		}
		var v chain.RowView
		if _, err := c.Query(ctx, chain.RowPath(kind == "bonds", netuid, uid, mech.v), &v); err != nil {
			return err
		}
		v.Hotkey = address(v.Hotkey)
		return f.print(rt, v, func(w io.Writer) {
			fmt.Fprintf(w, "netuid:\t%d\n%suid:\t%d\nhotkey:\t%s\nlast_update:\tblock %d\n%s:\t%s\n", v.Netuid, mechanismLine(mech), v.UID, v.Hotkey, v.LastUpdate, kind, entries(v.Row))
		})
	})
}

func queryCommitsCmd() *Command {
	var mech *mechanismValue
	return newQueryCmdFlags(&Command{
		Name:  "commits",
		Args:  "<netuid> <hotkey address>",
		Short: "Show a hotkey's pending weight commits and the epoch each reveals in",
	}, 2, func(fs *flag.FlagSet) {
		mech = mechanismFlag(fs, "whose commits to show (default 0)")
	}, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		netuid, err := parseUint16Arg("netuid", args[0])
		if err != nil {
			return err
		}
		hk, err := parseAddressArg(args[1])
		if err != nil {
			return err
		}
		v, err := c.Commits(ctx, netuid, mech.v, hk)
		if err != nil {
			return err
		}
		v.Hotkey = address(v.Hotkey)
		return f.print(rt, v, func(w io.Writer) {
			fmt.Fprintf(w, "netuid:\t%d\n%shotkey:\t%s\nepoch:\t%d\nreveal_period_epochs:\t%d\n", v.Netuid, mechanismLine(mech), v.Hotkey, v.Epoch, v.RevealPeriod)
			if len(v.Commits) == 0 {
				fmt.Fprintf(w, "commits:\tnone\n")
			}
			for _, cm := range v.Commits {
				fmt.Fprintf(w, "commit:\t%s epoch %d block %d, reveal in epoch %d\n", cm.Hash, cm.Epoch, cm.Block, cm.RevealEpoch)
			}
		})
	})
}

// mechanismLine is the "mechanism:" line of a query's text output, when
// --mechanism was given.
func mechanismLine(m *mechanismValue) string {
	if !m.set {
		return ""
	}
	return fmt.Sprintf("mechanism:\t%d\n", m.v)
}

func queryEpochCmd() *Command {
	return newQueryCmd(&Command{
		Name:  "epoch",
		Args:  "<netuid>",
		Short: "Show a subnet's epoch index, next epoch block and the last epoch's outputs",
	}, 1, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		netuid, err := parseUint16Arg("netuid", args[0])
		if err != nil {
			return err
		}
		var v chain.EpochView
		if _, err := c.Query(ctx, fmt.Sprintf("%s%d", chain.QueryEpoch, netuid), &v); err != nil {
			return err
		}
		return f.print(rt, v, func(w io.Writer) {
			fmt.Fprintf(w, "netuid:\t%d\nepoch:\t%d\nlast_epoch_block:\t%d\nnext_epoch_block:\t%d\nemission:\t%s AGR\n",
				v.Netuid, v.Epoch, v.LastEpochBlock, v.NextEpochBlock, formatAGR(v.Emission))
			fmt.Fprintf(w, "UID\tCONSENSUS\tINCENTIVE\tDIVIDENDS\tVTRUST\tEMISSION\tPERMIT\n")
			for _, n := range v.Neurons {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%t\n", n.UID, proportion(n.Consensus), proportion(n.Incentive),
					proportion(n.Dividends), proportion(n.ValidatorTrust), formatAGR(n.Emission), n.ValidatorPermit)
			}
		})
	})
}

func queryEmissionCmd() *Command {
	return newQueryCmd(&Command{
		Name:  "emission",
		Short: "Show the emission per block, the governance key and each subnet's share",
	}, 0, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		var v chain.EmissionView
		if _, err := c.Query(ctx, chain.QueryEmission, &v); err != nil {
			return err
		}
		v.Governance = address(v.Governance)
		return f.print(rt, v, func(w io.Writer) {
			gov := v.Governance
			if gov == "" {
				gov = "none (nobody may change the emission)"
			}
			fmt.Fprintf(w, "per_block:\t%s AGR\ngovernance:\t%s\n", formatAGR(v.PerBlock), gov)
			for _, sh := range v.Shares {
				fmt.Fprintf(w, "share:\tsubnet %d: %d\n", sh.Netuid, sh.Share)
			}
		})
	})
}

func queryDatasetsCmd() *Command {
	return newQueryCmd(&Command{
		Name:  "datasets",
		Args:  "<netuid>",
		Short: "Show the dataset roots committed on a subnet, newest last",
		Long: `Lists the preference dataset roots validators committed on the subnet with
agora tx dataset commit: the chain keeps the latest 64, oldest first. Each has
the export's Merkle root (as in its manifest.json), its records and chunks, the
hotkey that committed it and the block. agora labels verify DIR --netuid
NETUID checks an export against them.`,
	}, 1, func(ctx context.Context, rt *Runtime, f *queryFlags, c *chainclient.Client, args []string) error {
		netuid, err := parseUint16Arg("netuid", args[0])
		if err != nil {
			return err
		}
		var v chain.DatasetsView
		h, err := c.Query(ctx, fmt.Sprintf("%s%d", chain.QueryDatasets, netuid), &v)
		if err != nil {
			return err
		}
		for i := range v.Roots {
			v.Roots[i].Hotkey = address(v.Roots[i].Hotkey)
		}
		out := struct {
			chain.DatasetsView
			Height int64 `json:"height"`
		}{v, h}
		return f.print(rt, out, func(w io.Writer) {
			fmt.Fprintf(w, "subnet %d: %d dataset roots (the chain keeps the latest %d), at height %d\n", v.Netuid, len(v.Roots), v.Max, h)
			if len(v.Roots) == 0 {
				return
			}
			fmt.Fprintf(w, "\nBLOCK\tROOT\tRECORDS\tCHUNKS\tHOTKEY\n")
			for _, r := range v.Roots {
				fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%s\n", r.Block, r.Root, r.Records, r.Chunks, r.Hotkey)
			}
		})
	})
}
