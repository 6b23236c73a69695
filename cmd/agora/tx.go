package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/rlhf"
	"github.com/seed0ffb8d46/agora/weights"
)

// txCmd is "agora tx": sign a transaction with a wallet key, send it to a
// node and wait for its block.
func txCmd() *Command {
	return &Command{
		Name:  "tx",
		Short: "Sign and send transactions: transfer, subnets, registration, axons, stake, weights, emission, dataset roots",
		Long: `Each command signs one transaction with a key of a wallet under <home>/wallets
(the coldkey, asking for its password; serve-axon, weights and dataset sign
with the hotkey),
takes the chain id and the account's next nonce from the node (--node, else
env AGORA_NODE, else node: in --config FILE, else the localnet running under
the home, else tcp://127.0.0.1:26657; the nonce counts the account's
transactions already in the node's mempool, so commands run one after
another with --no-wait need no block in between), sends
it, and waits until a block includes it (--no-wait only sends it). It prints
the result code with its name, the height and the events. A rejected or failed
transaction exits 1 with the node's reason on stderr (accounts in it shown as
addresses); --output json has it as "log" too.

Amounts (--amount, --max-burn, --per-block) are in AGR: a whole number with up to 9
decimals, such as 1, 0.25 or 12.000000001 (1 AGR = 10^9 base units). No
signs, exponents or separators. --output json shows amounts in base units.

Passwords come from --password-file FILE, else AGORA_PASSWORD, else a prompt.`,
		Subcommands: []*Command{
			txTransferCmd(), txSubnetCmd(), txRegisterCmd(), txServeAxonCmd(), txStakeCmd(), txWeightsCmd(), txEmissionCmd(),
			txDatasetCmd(),
		},
	}
}

// txFlags are the flags every tx command has.
type txFlags struct {
	wallet, passwordFile string
	node                 nodeAddr // found by check
	output               *string
	timeout              time.Duration
	noWait               bool
	validFor             uint64
}

func newTxFlags(fs *flag.FlagSet) *txFlags {
	f := &txFlags{}
	fs.StringVar(&f.wallet, "wallet", "", "the wallet `NAME` whose key signs (required)")
	fs.StringVar(&f.passwordFile, "password-file", "", "read the key's password from the first line of `FILE` (else env AGORA_PASSWORD, else a prompt)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up on the node after this long, waiting for the block included")
	fs.BoolVar(&f.noWait, "no-wait", false, "return once the node's mempool accepts the transaction; do not wait for a block")
	fs.Uint64Var(&f.validFor, "valid-for", chainclient.TxValidity, "let blocks include the transaction for at most this many `BLOCKS` after the latest (0: any block); after that it never lands and its nonce is free")
	f.output = outputFlag(fs, "text", "text", "json")
	return f
}

// check validates the flags every tx command has and finds the node.
func (f *txFlags) check(rt *Runtime, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if err := checkNameFlag("wallet", f.wallet, true); err != nil {
		return err
	}
	if f.timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	f.node = rt.node("")
	c, err := f.node.client()
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// password returns the PasswordFunc for the wallet's keys.
func (f *txFlags) password(rt *Runtime, what string) keys.PasswordFunc {
	return func() ([]byte, error) {
		return walletPassword(rt, f.passwordFile, fmt.Sprintf("Password for the %s of wallet %s", what, f.wallet), false)
	}
}

// key unlocks the wallet's coldkey or, if hotkey is not "", its hotkey
// of that name.
func (f *txFlags) key(rt *Runtime, hotkey string) (*keys.PrivateKey, error) {
	store := keys.NewStore(rt.Config.Home)
	var k *keys.PrivateKey
	var err error
	if hotkey == "" {
		k, err = store.LoadColdkey(f.wallet, f.password(rt, "coldkey"))
	} else {
		k, err = store.LoadHotkey(f.wallet, hotkey, f.password(rt, "hotkey "+hotkey))
	}
	if err != nil {
		return nil, fmt.Errorf("wallet %s: %w", f.wallet, err)
	}
	return k, nil
}

// hotkeyFlags name a hotkey: one of the wallet's by name, or any by address.
type hotkeyFlags struct{ name, address string }

func newHotkeyFlags(fs *flag.FlagSet, what string) *hotkeyFlags {
	h := &hotkeyFlags{}
	fs.StringVar(&h.name, "hotkey", "", "the `NAME` of the wallet's hotkey "+what+" (this or --hotkey-address is required)")
	fs.StringVar(&h.address, "hotkey-address", "", "the `ADDRESS` of the hotkey "+what+", for one not in the wallet (instead of --hotkey)")
	return h
}

// check checks that exactly one of the flags is set and well formed.
func (h *hotkeyFlags) check() error {
	switch {
	case h.name == "" && h.address == "":
		return usageErrorf("give --hotkey NAME or --hotkey-address ADDRESS")
	case h.name != "" && h.address != "":
		return usageErrorf("give --hotkey or --hotkey-address, not both")
	case h.name != "":
		return checkNameFlag("hotkey", h.name, true)
	default:
		if _, err := parseAccount(h.address); err != nil {
			return usageErrorf("--hotkey-address: %v", err)
		}
	}
	return nil
}

// account returns the hotkey's account: from its address, or from the
// public part of the wallet's hotkey file (no password needed).
func (h *hotkeyFlags) account(rt *Runtime, wallet string) (chain.AccountID, error) {
	if h.address != "" {
		return parseAccount(h.address)
	}
	kf, err := keys.NewStore(rt.Config.Home).Hotkey(wallet, h.name)
	if err != nil {
		return chain.AccountID{}, fmt.Errorf("wallet %s: %w", wallet, err)
	}
	return chain.AccountID(kf.PublicKey), nil
}

// netuidValue is a --netuid flag: a uint16 that knows whether it was set.
type netuidValue struct {
	v   uint16
	set bool
}

func (n *netuidValue) String() string {
	if n == nil || !n.set {
		return ""
	}
	return strconv.Itoa(int(n.v))
}

func (n *netuidValue) Set(s string) error {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return errors.New("want an integer from 0 to 65535")
	}
	n.v, n.set = uint16(v), true
	return nil
}

// netuidFlag defines a required --netuid.
func netuidFlag(fs *flag.FlagSet) *netuidValue {
	n := &netuidValue{}
	fs.Var(n, "netuid", "the subnet's `NETUID` (required)")
	return n
}

// checkHotkeyNetuid is check for a transaction a hotkey signs on a
// subnet: the common flags, --hotkey, and --netuid, which it returns.
func (f *txFlags) checkHotkeyNetuid(rt *Runtime, args []string, hotkey string, netuid *netuidValue) (uint16, error) {
	if err := f.check(rt, args); err != nil {
		return 0, err
	}
	if err := checkNameFlag("hotkey", hotkey, true); err != nil {
		return 0, err
	}
	return checkNetuid(netuid)
}

func checkNetuid(n *netuidValue) (uint16, error) {
	if !n.set {
		return 0, usageErrorf("--netuid is required")
	}
	return n.v, nil
}

// parseAGR parses an amount of AGR: digits, optionally a point and 1 to 9
// more digits, exactly, into base units. It uses no floats.
func parseAGR(s string) (uint64, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	digits := func(p string) bool {
		for i := range len(p) {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
		return p != ""
	}
	switch {
	case s == "":
		return 0, errors.New("empty amount; want AGR such as 1.5")
	case !digits(whole) || hasPoint && !digits(frac):
		return 0, fmt.Errorf("amount %q: want AGR as digits with an optional point and up to 9 decimals, such as 1.5", s)
	case len(frac) > 9:
		return 0, fmt.Errorf("amount %q: more than 9 decimals (1 AGR = 10^9 base units)", s)
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || w > (1<<64-1)/chain.Unit {
		return 0, fmt.Errorf("amount %q: too large", s)
	}
	var f uint64
	if hasPoint {
		f, _ = strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	total := w*chain.Unit + f
	if total < w*chain.Unit {
		return 0, fmt.Errorf("amount %q: too large", s)
	}
	return total, nil
}

// formatAGR shows base units as AGR with all 9 decimals.
func formatAGR(v uint64) string { return chain.FormatAGR(v) }

// amountFlag is a required AGR amount flag, parsed in Run.
func checkAmount(name, s string, required bool) (uint64, bool, error) {
	if s == "" {
		if required {
			return 0, false, usageErrorf("--%s is required (AGR, such as 1.5)", name)
		}
		return 0, false, nil
	}
	v, err := parseAGR(s)
	if err != nil {
		return 0, false, usageErrorf("--%s: %v", name, err)
	}
	return v, true, nil
}

// txOutput is how --output json shows a sent transaction.
type txOutput struct {
	Kind    string `json:"kind"`
	ChainID string `json:"chain_id"`
	Signer  string `json:"signer"`
	Nonce   uint64 `json:"nonce"`
	// ValidUntil is the last block that may include it; 0: any.
	ValidUntil uint64 `json:"valid_until"`
	// Status is "included" (applied in a block), "failed" (in a block
	// with a non-zero code), "rejected" (by the node's CheckTx) or
	// "pending" (accepted, not waited for).
	Status string `json:"status"`
	*chainclient.Result
	// Extra holds what the command adds, such as the register's burn.
	Extra map[string]any `json:"extra,omitempty"`
}

// txSend is one transaction on its way: the client, the chain id and the
// signer's next nonce.
type txSend struct {
	f       *txFlags
	op      string
	client  *chainclient.Client
	chainID string
	height  int64           // the latest block when connected
	signer  chain.AccountID // the account whose key signs
	ctx     context.Context
	cancel  context.CancelFunc
	extra   map[string]any
}

// connect starts the command's time budget and checks that the node
// answers.
func (f *txFlags) connect(ctx context.Context, op string) (*txSend, error) {
	c, err := f.node.client()
	if err != nil {
		return nil, err
	}
	s := &txSend{f: f, op: op, client: c}
	s.ctx, s.cancel = context.WithTimeout(ctx, f.timeout)
	if s.chainID, s.height, err = c.Latest(s.ctx); err != nil {
		s.close()
		return nil, fmt.Errorf("%s: %w", op, f.node.explain(err))
	}
	return s, nil
}

func (s *txSend) close() {
	s.cancel()
	s.client.Close()
}

// send signs body with key at the signer's next nonce, broadcasts it,
// waits unless --no-wait, and prints the result. A rejected transaction
// is an error after the result is printed.
func (s *txSend) send(rt *Runtime, key *keys.PrivateKey, body chain.Body) error {
	signer := chain.AccountID(key.PublicKey())
	nonce, err := s.client.NextNonce(s.ctx, signer)
	if err != nil {
		return fmt.Errorf("%s: %w", s.op, err)
	}
	var until uint64
	if s.f.validFor > 0 {
		until = uint64(max(s.height, 0)) + s.f.validFor
	}
	tx, err := chain.SignTxUntil(key.Ed25519(), s.chainID, nonce, until, body)
	if err != nil {
		return fmt.Errorf("%s: %w", s.op, err)
	}
	var r *chainclient.Result
	if s.f.noWait {
		r, err = s.client.Broadcast(s.ctx, tx)
	} else {
		r, err = s.client.BroadcastAndWait(s.ctx, tx)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.op, err)
	}
	out := txOutput{Kind: body.Kind().String(), ChainID: s.chainID, Signer: key.Address(), Nonce: nonce, ValidUntil: until, Result: r, Extra: s.extra}
	switch {
	case !r.OK() && r.Included():
		out.Status = "failed"
	case !r.OK():
		out.Status = "rejected"
	case r.Included():
		out.Status = "included"
	default:
		out.Status = "pending"
	}
	if *s.f.output == "json" {
		if err := walletWriteJSON(rt.Stdout, out); err != nil {
			return err
		}
	} else {
		printTxText(rt.Stdout, &out)
	}
	if !r.OK() {
		where := "the node rejected it"
		if r.Included() {
			where = fmt.Sprintf("it failed in block %d", r.Height)
		}
		// The text above leaves the node's log to this error, so the
		// reason is printed once; --output json keeps it too.
		return fmt.Errorf("%s: %s: code %d (%s): %s", s.op, where, r.Code, r.CodeName, logAddresses(r.Log))
	}
	return nil
}

// hexAccount matches a word of 64 lower-case hex digits: how the chain's
// messages show an account (chain.AccountID.String).
var hexAccount = regexp.MustCompile(`\b[0-9a-f]{64}\b`)

// logAddresses rewrites the accounts in a node's log as addresses, as the
// CLI shows accounts everywhere else ("stake on agora1... is 0"). Every
// 64-hex word in the chain's rejection messages is an account: they show
// no hashes or roots.
func logAddresses(log string) string {
	return hexAccount.ReplaceAllStringFunc(log, address)
}

func printTxText(w io.Writer, out *txOutput) {
	var status string
	switch out.Status {
	case "included":
		status = fmt.Sprintf("included in block %d", out.Height)
	case "failed":
		status = fmt.Sprintf("failed in block %d", out.Height)
	case "rejected":
		status = "rejected by the node (not in any block)"
	default:
		status = "accepted into the mempool (not waited for; see agora query account)"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %s\n", out.Kind, status)
	fmt.Fprintf(&b, "hash:   %s\n", out.Hash)
	fmt.Fprintf(&b, "signer: %s (nonce %d)\n", out.Signer, out.Nonce)
	if out.ValidUntil > 0 && !out.Included() {
		fmt.Fprintf(&b, "valid:  until block %d\n", out.ValidUntil)
	}
	fmt.Fprintf(&b, "code:   %d (%s)\n", out.Code, out.CodeName)
	if out.Height > 0 {
		fmt.Fprintf(&b, "height: %d\n", out.Height)
	}
	if out.Log != "" && out.OK() { // a failure's log is the command's error, on stderr
		fmt.Fprintf(&b, "log:    %s\n", logAddresses(out.Log))
	}
	for _, k := range sortedKeys(out.Extra) {
		fmt.Fprintf(&b, "%s: %v\n", k, out.Extra[k])
	}
	for _, ev := range out.Events {
		fmt.Fprintf(&b, "event:  %s", ev.Type)
		for _, a := range ev.Attributes {
			v := a.Value
			if len(v) == 2*keys.PublicKeySize && a.Key != "root" && a.Key != "hash" { // roots and commit hashes are no accounts
				v = address(v) // accounts as addresses, as everywhere else
			}
			fmt.Fprintf(&b, " %s=%s", a.Key, v)
		}
		b.WriteByte('\n')
	}
	_, _ = w.Write(b.Bytes())
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// runTx is the shape of every tx command: unlock the key that signs (the
// coldkey, or the wallet's hotkey of that name if hotkey is not ""),
// connect, build the body (which may query the node), send.
func runTx(ctx context.Context, rt *Runtime, f *txFlags, op, hotkey string, body func(s *txSend) (chain.Body, error)) error {
	key, err := f.key(rt, hotkey)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	s, err := f.connect(ctx, op)
	if err != nil {
		return err
	}
	defer s.close()
	s.signer = chain.AccountID(key.PublicKey())
	b, err := body(s)
	if err != nil {
		return err
	}
	return s.send(rt, key, b)
}

func txTransferCmd() *Command {
	fs := flag.NewFlagSet("transfer", flag.ContinueOnError)
	f := newTxFlags(fs)
	to := fs.String("to", "", "the recipient's `ADDRESS` (required)")
	amount := fs.String("amount", "", "how much to send, in `AGR` (required; up to 9 decimals)")
	return &Command{
		Name:  "transfer",
		Short: "Send AGR from a wallet's coldkey to an address",
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := f.check(rt, args); err != nil {
				return err
			}
			if *to == "" {
				return usageErrorf("--to is required")
			}
			dest, err := parseAccount(*to)
			if err != nil {
				return usageErrorf("--to: %v", err)
			}
			amt, _, err := checkAmount("amount", *amount, true)
			if err != nil {
				return err
			}
			return runTx(ctx, rt, f, "tx transfer", "", func(*txSend) (chain.Body, error) {
				return &chain.Transfer{To: dest, Amount: amt}, nil
			})
		},
	}
}

func txSubnetCmd() *Command {
	return &Command{
		Name:        "subnet",
		Short:       "Create a subnet, or change its hyperparameters",
		Subcommands: []*Command{txSubnetCreateCmd(), txSubnetHyperparamsCmd("hyperparams"), txSubnetHyperparamsCmd("set-params")},
	}
}

// readParams decodes a hyperparameters JSON file strictly over base: keys
// it leaves out keep base's values; unknown keys are errors.
func readParams(rt *Runtime, file string, base chain.Hyperparams) (chain.Hyperparams, error) {
	data, err := rt.ReadFile(file)
	if err != nil {
		return base, fmt.Errorf("--params: %w", err)
	}
	return applyParams(base, data, "--params "+file)
}

// applyParams applies the JSON object data (from where, for errors) over
// base: unknown keys are errors, a new mechanism count without a split
// resets the split to even, and the result must validate.
func applyParams(base chain.Hyperparams, data []byte, where string) (chain.Hyperparams, error) {
	p := base
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return base, fmt.Errorf("%s: %w", where, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return base, fmt.Errorf("%s: more than one JSON value", where)
	}
	if p.MechanismCount != base.MechanismCount && slices.Equal(p.MechanismSplit, base.MechanismSplit) {
		// A new count with the old split (one entry per old mechanism):
		// the split goes back to even, as the chain does when the count
		// drops, unless the file gives one for the new count.
		p.MechanismSplit = nil
	}
	if err := p.Validate(); err != nil {
		return base, fmt.Errorf("%s: %w", where, err)
	}
	return p, nil
}

// setParams is the --set KEY=VALUE pairs of tx subnet hyperparams, as one
// JSON object: a value is JSON (a number, true, false, null, an array),
// and a comma-separated list of numbers is an array, so
// mechanism_emission_split=39321,26214 works as it reads.
type setParams []string

func (s *setParams) String() string { return strings.Join(*s, " ") }
func (s *setParams) Set(v string) error {
	key, val, ok := strings.Cut(v, "=")
	if !ok || key == "" || val == "" {
		return fmt.Errorf("%q: want KEY=VALUE, such as tempo=360 or mechanism_emission_split=39321,26214", v)
	}
	*s = append(*s, v)
	return nil
}

// object encodes the pairs as a JSON object; a later key wins.
func (s setParams) object() ([]byte, error) {
	obj := map[string]json.RawMessage{}
	for _, kv := range s {
		key, val, _ := strings.Cut(kv, "=")
		if strings.Contains(val, ",") && !strings.HasPrefix(strings.TrimSpace(val), "[") {
			val = "[" + val + "]"
		}
		if !json.Valid([]byte(val)) {
			return nil, fmt.Errorf("--set %s: %q is not a number, true, false, null or a list of numbers", key, val)
		}
		obj[key] = json.RawMessage(val)
	}
	return json.Marshal(obj)
}

func txSubnetCreateCmd() *Command {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	f := newTxFlags(fs)
	params := fs.String("params", "", "hyperparameters as a JSON `FILE` (keys as in agora query subnet --output json; missing keys take the defaults)")
	return &Command{
		Name:  "create",
		Short: "Create a subnet owned by the wallet's coldkey (costs the create_subnet fee)",
		Long: `Creates a subnet with the default hyperparameters, or those in --params FILE:
a JSON object whose keys are the hyperparameters' names (tempo, kappa,
max_uids, immunity_period, min_burn, ...); keys left out keep their defaults,
unknown keys are errors. The new subnet's netuid is in the event printed.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := f.check(rt, args); err != nil {
				return err
			}
			p := chain.DefaultHyperparams()
			if *params != "" {
				var err error
				if p, err = readParams(rt, *params, p); err != nil {
					return fmt.Errorf("tx subnet create: %w", err)
				}
			}
			return runTx(ctx, rt, f, "tx subnet create", "", func(*txSend) (chain.Body, error) {
				return &chain.CreateSubnet{Params: p}, nil
			})
		},
	}
}

// txSubnetHyperparamsCmd is tx subnet hyperparams, also known by its
// first name, set-params.
func txSubnetHyperparamsCmd(name string) *Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	f := newTxFlags(fs)
	netuid := netuidFlag(fs)
	params := fs.String("params", "", "hyperparameters as a JSON `FILE` (missing keys keep the subnet's current values)")
	var set setParams
	fs.Var(&set, "set", "set one hyperparameter, `KEY=VALUE` (repeat it; applied after --params), e.g. --set mechanism_count=2 --set mechanism_emission_split=39321,26214")
	return &Command{
		Name:  name,
		Short: "Change a subnet's hyperparameters (its owner's coldkey only)",
		Long: `Reads the subnet's current hyperparameters from the node, applies the keys in
--params FILE and then each --set KEY=VALUE over them (unknown keys are
errors), and sends the result. Keys are as in agora query subnet --output json.

Incentive mechanisms: "mechanism_count" (1 to 8) sets how many the subnet
runs on its uids, and "mechanism_emission_split" how the epoch's emission is
shared among them, as integers out of 65535, one per mechanism, summing to
65535 (null or [] for an even split), e.g.
  agora tx subnet hyperparams --wallet owner --netuid 1 \
      --set mechanism_count=2 --set mechanism_emission_split=39321,26214
or {"mechanism_count": 2, "mechanism_emission_split": [45875, 19660]} in a file.
A new count without a split resets the split to even. Lowering the count
clears the removed mechanisms' weights, bonds, commits and results.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := f.check(rt, args); err != nil {
				return err
			}
			n, err := checkNetuid(netuid)
			if err != nil {
				return err
			}
			if *params == "" && len(set) == 0 {
				return usageErrorf("nothing to change: give --params FILE or --set KEY=VALUE")
			}
			inline, err := set.object()
			if err != nil {
				return usageErrorf("%v", err)
			}
			op := "tx subnet " + name
			return runTx(ctx, rt, f, op, "", func(s *txSend) (chain.Body, error) {
				sn, err := s.client.Subnet(s.ctx, n)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", op, err)
				}
				p := sn.Params
				if *params != "" {
					if p, err = readParams(rt, *params, p); err != nil {
						return nil, fmt.Errorf("%s: %w", op, err)
					}
				}
				if len(set) > 0 {
					if p, err = applyParams(p, inline, "--set"); err != nil {
						return nil, fmt.Errorf("%s: %w", op, err)
					}
				}
				return &chain.SetHyperparams{Netuid: n, Params: p}, nil
			})
		},
	}
}

func txRegisterCmd() *Command {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	f := newTxFlags(fs)
	hk := newHotkeyFlags(fs, "to register")
	proofHex := fs.String("hotkey-proof", "", "with --hotkey-address: the hotkey's `PROOF` that the coldkey may own it, from 'agora wallet prove-hotkey' where the hotkey is")
	netuid := netuidFlag(fs)
	maxBurn := fs.String("max-burn", "", "the most `AGR` to burn; the registration fails if it costs more (default: the current cost)")
	return &Command{
		Name:  "register",
		Short: "Register a hotkey on a subnet, burning the registration cost from the coldkey",
		Long: `Burns the subnet's current registration cost from the wallet's coldkey and
registers the hotkey, which the coldkey then owns. The cost moves with demand;
the transaction fails (burn_too_high) rather than pay more than --max-burn,
which defaults to the cost when the command reads it. The uid is in the event
printed.

The hotkey must agree to the coldkey owning it: a registration carries the
hotkey's signature of that, so that nobody who sees it in the mempool can
register the same hotkey first under their own coldkey. With --hotkey the
wallet's hotkey file signs it. For a hotkey kept on another machine, run
'agora wallet prove-hotkey' there and pass --hotkey-address and
--hotkey-proof.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := f.check(rt, args); err != nil {
				return err
			}
			if err := hk.check(); err != nil {
				return err
			}
			var proof [ed25519.SignatureSize]byte
			switch {
			case hk.name != "" && *proofHex != "":
				return usageErrorf("--hotkey-proof goes with --hotkey-address; with --hotkey the wallet's hotkey signs the proof")
			case hk.address != "" && *proofHex == "":
				return usageErrorf("--hotkey-address needs --hotkey-proof: the hotkey must agree to the coldkey owning it (run 'agora wallet prove-hotkey' where the hotkey is)")
			case *proofHex != "":
				b, err := hex.DecodeString(*proofHex)
				if err != nil || len(b) != len(proof) {
					return usageErrorf("--hotkey-proof: want %d hex digits, as 'agora wallet prove-hotkey' prints", 2*len(proof))
				}
				copy(proof[:], b)
			}
			n, err := checkNetuid(netuid)
			if err != nil {
				return err
			}
			limit, hasLimit, err := checkAmount("max-burn", *maxBurn, false)
			if err != nil {
				return err
			}
			const op = "tx register"
			var hotkey chain.AccountID
			var hotPriv *keys.PrivateKey
			if hk.name != "" {
				if hotPriv, err = f.key(rt, hk.name); err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				hotkey = chain.AccountID(hotPriv.PublicKey())
			} else if hotkey, err = hk.account(rt, f.wallet); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			return runTx(ctx, rt, f, op, "", func(s *txSend) (chain.Body, error) {
				if hotPriv != nil {
					if proof, err = chain.ProveHotkey(hotPriv.Ed25519(), s.chainID, s.signer); err != nil {
						return nil, fmt.Errorf("%s: %w", op, err)
					}
				} else if !chain.VerifyHotkeyProof(hotkey, s.chainID, s.signer, proof) {
					return nil, fmt.Errorf("%s: --hotkey-proof is not hotkey %s's proof that coldkey %s may own it on chain %s; make it with 'agora wallet prove-hotkey --coldkey-address %s --chain-id %s'",
						op, hk.address, keys.PublicKey(s.signer).Address(), s.chainID, keys.PublicKey(s.signer).Address(), s.chainID)
				}
				sn, err := s.client.Subnet(s.ctx, n)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", op, err)
				}
				if !hasLimit {
					limit = sn.Burn
				}
				s.extra = map[string]any{"burn": sn.Burn, "max_burn": limit, "hotkey": keys.PublicKey(hotkey).Address()}
				if *f.output != "json" {
					s.extra = map[string]any{"burn": formatAGR(sn.Burn) + " AGR", "max_burn": formatAGR(limit) + " AGR", "hotkey": keys.PublicKey(hotkey).Address()}
				}
				return &chain.Register{Netuid: n, Hotkey: hotkey, MaxBurn: limit, Proof: proof}, nil
			})
		},
	}
}

// axonProtocols are serve-axon's --protocol choices, by their code.
var axonProtocols = []string{"http", "https", "grpc", "ws"}

func txServeAxonCmd() *Command {
	fs := flag.NewFlagSet("serve-axon", flag.ContinueOnError)
	f := newTxFlags(fs)
	hotkey := fs.String("hotkey", "", "the `NAME` of the wallet's hotkey that serves (required; it signs: serve_axon has no fee)")
	netuid := netuidFlag(fs)
	ip := fs.String("ip", "", "the axon's public `IP` address, IPv4 or IPv6 (required)")
	port := fs.Int("port", 0, "the axon's `PORT` (required)")
	proto := choiceFlag(fs, "protocol", "http", "the axon's protocol", axonProtocols...)
	return &Command{
		Name:  "serve-axon",
		Short: "Publish where a registered hotkey serves (signed by the hotkey)",
		Long: `Publishes the axon (ip, port, protocol) of a hotkey registered on the subnet.
The hotkey signs; serve_axon has no fee, so a new hotkey needs no balance.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			n, err := f.checkHotkeyNetuid(rt, args, *hotkey, netuid)
			if err != nil {
				return err
			}
			addr, err := netip.ParseAddr(*ip)
			switch {
			case *ip == "":
				return usageErrorf("--ip is required")
			case err != nil:
				return usageErrorf("--ip %s: not an IPv4 or IPv6 address", *ip)
			case addr.Zone() != "" || addr.IsUnspecified():
				return usageErrorf("--ip %s: want a specific address without a zone", *ip)
			case *port < 1 || *port > 65535:
				return usageErrorf("--port %d: want 1 to 65535", *port)
			}
			var code uint8
			for i, p := range axonProtocols {
				if p == *proto {
					code = uint8(i)
				}
			}
			return runTx(ctx, rt, f, "tx serve-axon", *hotkey, func(*txSend) (chain.Body, error) {
				return &chain.ServeAxon{Netuid: n, IP: addr.As16(), Port: uint16(*port), Protocol: code}, nil
			})
		},
	}
}

func txStakeCmd() *Command {
	return &Command{
		Name:        "stake",
		Short:       "Add or remove the coldkey's stake on a hotkey",
		Subcommands: []*Command{txStakeOpCmd(true), txStakeOpCmd(false)},
	}
}

func txStakeOpCmd(add bool) *Command {
	name, short := "add", "Stake AGR from the coldkey's balance on a hotkey (any registered hotkey: delegation)"
	if !add {
		name, short = "remove", "Return AGR of the coldkey's stake on a hotkey to its balance"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	f := newTxFlags(fs)
	what := "to stake on"
	if !add {
		what = "to unstake from"
	}
	hk := newHotkeyFlags(fs, what)
	amount := fs.String("amount", "", "how much, in `AGR` (required; up to 9 decimals)")
	return &Command{
		Name:  name,
		Short: short,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := f.check(rt, args); err != nil {
				return err
			}
			if err := hk.check(); err != nil {
				return err
			}
			amt, _, err := checkAmount("amount", *amount, true)
			if err != nil {
				return err
			}
			op := "tx stake " + name
			hotkey, err := hk.account(rt, f.wallet)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			return runTx(ctx, rt, f, op, "", func(*txSend) (chain.Body, error) {
				if add {
					return &chain.AddStake{Hotkey: hotkey, Amount: amt}, nil
				}
				return &chain.RemoveStake{Hotkey: hotkey, Amount: amt}, nil
			})
		},
	}
}

// txWeightsCmd is "agora tx weights": set, commit and reveal weights,
// signed by the validator's hotkey.
func txWeightsCmd() *Command {
	return &Command{
		Name:  "weights",
		Short: "Set, commit or reveal a hotkey's weights on a subnet (signed by the hotkey)",
		Long: `Weights are given as --weights UID:VALUE,UID:VALUE,... with u16 values (0 to
65535); only their ratios matter, the chain stores them scaled so the largest
is 65535. The hotkey signs; weights transactions have no fee.

On a subnet with commit_reveal off, use "set". With it on, "commit" sends only
the hash of the weights, a salt and the version key, and "reveal" sends the
weights themselves in the commit's reveal epoch (the commit's epoch plus the
subnet's reveal_period_epochs; see "agora query commits"). commit draws a
random salt unless --salt is given, and prints it with the hash; keep it:
reveal needs the same --weights, --salt and --version-key.`,
		Subcommands: []*Command{txWeightsOpCmd("set"), txWeightsOpCmd("commit"), txWeightsOpCmd("reveal")},
	}
}

// parseWeights parses "uid:value,uid:value".
func parseWeights(s string) (uids, values []uint16, err error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		u, v, ok := strings.Cut(strings.TrimSpace(part), ":")
		uid, err1 := strconv.ParseUint(u, 10, 16)
		val, err2 := strconv.ParseUint(v, 10, 16)
		if !ok || err1 != nil || err2 != nil {
			return nil, nil, usageErrorf("--weights: %q: want UID:VALUE with both from 0 to 65535", part)
		}
		uids, values = append(uids, uint16(uid)), append(values, uint16(val))
	}
	return uids, values, nil
}

// parseSalt parses "n,n,..." of u16s.
func parseSalt(s string) ([]uint16, error) {
	var out []uint16
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(part), 10, 16)
		if err != nil {
			return nil, usageErrorf("--salt: %q: want comma-separated integers from 0 to 65535", part)
		}
		out = append(out, uint16(v))
	}
	return out, nil
}

// formatSalt is parseSalt's inverse.
func formatSalt(salt []uint16) string {
	parts := make([]string, len(salt))
	for i, v := range salt {
		parts[i] = strconv.Itoa(int(v))
	}
	return strings.Join(parts, ",")
}

func txWeightsOpCmd(op string) *Command {
	fs := flag.NewFlagSet(op, flag.ContinueOnError)
	f := newTxFlags(fs)
	hotkey := fs.String("hotkey", "", "the `NAME` of the wallet's hotkey that signs (required; weights transactions have no fee)")
	netuid := netuidFlag(fs)
	ws := fs.String("weights", "", "the weights, `UID:VALUE,...` (required)")
	version := fs.Uint64("version-key", 0, "the validator's weights version `KEY` (at least the subnet's weights_version)")
	mech := mechanismFlag(fs, map[string]string{
		"set":    "the weights are for (default 0)",
		"commit": "the weights are for (default 0); the reveal must name the same",
		"reveal": "the commit was for (default 0)",
	}[op])
	var salt *string
	if op != "set" {
		salt = fs.String("salt", "", "the commit's salt, comma-separated u16 `VALUES` (commit: default 8 random values, printed; reveal: required)")
	}
	short := map[string]string{
		"set":    "Set a hotkey's weights (subnets without commit-reveal)",
		"commit": "Commit to weights by their hash (subnets with commit-reveal)",
		"reveal": "Reveal committed weights in the commit's reveal epoch",
	}[op]
	return &Command{
		Name:  op,
		Short: short,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			n, err := f.checkHotkeyNetuid(rt, args, *hotkey, netuid)
			if err != nil {
				return err
			}
			if *ws == "" {
				return usageErrorf("--weights is required")
			}
			uids, values, err := parseWeights(*ws)
			if err != nil {
				return err
			}
			var sl []uint16
			switch {
			case op == "set":
			case *salt != "":
				if sl, err = parseSalt(*salt); err != nil {
					return err
				}
			case op == "reveal":
				return usageErrorf("--salt is required: the salt the commit printed")
			default:
				var b [16]byte
				if _, err := rand.Read(b[:]); err != nil {
					return err
				}
				for i := 0; i < len(b); i += 2 {
					sl = append(sl, uint16(b[i])<<8|uint16(b[i+1]))
				}
			}
			name := "tx weights " + op
			return runTx(ctx, rt, f, name, *hotkey, func(s *txSend) (chain.Body, error) {
				switch op {
				case "set":
					return &chain.SetWeights{Netuid: n, UIDs: uids, Values: values, VersionKey: *version, Mechanism: mech.v}, nil
				case "reveal":
					return &chain.RevealWeights{Netuid: n, UIDs: uids, Values: values, Salt: sl, VersionKey: *version, Mechanism: mech.v}, nil
				}
				kf, err := keys.NewStore(rt.Config.Home).Hotkey(f.wallet, *hotkey)
				if err != nil {
					return nil, fmt.Errorf("%s: wallet %s: %w", name, f.wallet, err)
				}
				hash := weights.CommitHashMechanism(kf.PublicKey[:], n, mech.v, uids, values, sl, *version)
				revealWith := fmt.Sprintf("agora tx weights reveal --wallet %s --hotkey %s --netuid %d --weights %s --salt %s --version-key %d",
					f.wallet, *hotkey, n, *ws, formatSalt(sl), *version)
				if mech.v != 0 {
					revealWith += fmt.Sprintf(" --mechanism %d", mech.v)
				}
				s.extra = map[string]any{"salt": formatSalt(sl), "hash": hex.EncodeToString(hash[:]), "reveal_with": revealWith}
				return &chain.CommitWeights{Netuid: n, Hash: hash, Mechanism: mech.v}, nil
			})
		},
	}
}

// txEmissionCmd is "agora tx emission": the governance key's settings.
func txEmissionCmd() *Command {
	return &Command{
		Name:        "emission",
		Short:       "Set the emission per block and subnets' shares (the governance key only)",
		Subcommands: []*Command{txEmissionSetCmd()},
	}
}

// sharesValue is the repeatable --share NETUID=SHARE flag.
type sharesValue struct {
	list []chain.SubnetShare
}

func (v *sharesValue) String() string {
	if v == nil {
		return ""
	}
	parts := make([]string, len(v.list))
	for i, sh := range v.list {
		parts[i] = fmt.Sprintf("%d=%d", sh.Netuid, sh.Share)
	}
	return strings.Join(parts, ",")
}

func (v *sharesValue) Get() any { return v.list }

func (v *sharesValue) Set(s string) error {
	n, sh, ok := strings.Cut(s, "=")
	netuid, err1 := strconv.ParseUint(n, 10, 16)
	share, err2 := strconv.ParseUint(sh, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("%q: want NETUID=SHARE, a netuid from 0 to 65535 and a share from 0 to 4294967295", s)
	}
	for _, e := range v.list {
		if e.Netuid == uint16(netuid) {
			return fmt.Errorf("%q: subnet %d is given twice", s, netuid)
		}
	}
	v.list = append(v.list, chain.SubnetShare{Netuid: uint16(netuid), Share: uint32(share)})
	return nil
}

func txEmissionSetCmd() *Command {
	fs := flag.NewFlagSet("set", flag.ContinueOnError)
	f := newTxFlags(fs)
	perBlock := fs.String("per-block", "", "the `AGR` minted per block (default: keep the chain's current emission)")
	shares := &sharesValue{}
	fs.Var(shares, "share", "a subnet's emission share, `NETUID=SHARE` (a weight: a subnet gets its share over the sum of all shares); repeat for more")
	return &Command{
		Name:  "set",
		Short: "Set the emission per block and subnets' shares (signed by the governance coldkey)",
		Long: `Sends set_emission, signed by the wallet's coldkey, which must be the chain's
governance key (agora node init --governance ADDRESS). --per-block sets the
AGR minted per block (at most 1000000); without it the command reads the
current value from the node and keeps it. Each --share NETUID=SHARE sets that
subnet's share; subnets not listed keep theirs. A subnet is paid
per_block x blocks x share / (sum of all subnets' shares) at its epoch, so a
new subnet, created with share 0, earns nothing until it is given one.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := f.check(rt, args); err != nil {
				return err
			}
			pb, hasPB, err := checkAmount("per-block", *perBlock, false)
			if err != nil {
				return err
			}
			if !hasPB && len(shares.list) == 0 {
				return usageErrorf("give --per-block AGR, --share NETUID=SHARE, or both")
			}
			const op = "tx emission set"
			return runTx(ctx, rt, f, op, "", func(s *txSend) (chain.Body, error) {
				if !hasPB {
					var v chain.EmissionView
					if _, err := s.client.Query(s.ctx, chain.QueryEmission, &v); err != nil {
						return nil, fmt.Errorf("%s: %w", op, err)
					}
					pb = v.PerBlock
				}
				return &chain.SetEmission{PerBlock: pb, Shares: slices.Clone(shares.list)}, nil
			})
		},
	}
}

// txDatasetCmd is "agora tx dataset": commit a preference dataset export's
// Merkle root, signed by a validator's hotkey.
func txDatasetCmd() *Command {
	return &Command{
		Name:        "dataset",
		Short:       "Commit a preference dataset export's Merkle root on chain (signed by a validator hotkey)",
		Subcommands: []*Command{txDatasetCommitCmd()},
	}
}

func txDatasetCommitCmd() *Command {
	fs := flag.NewFlagSet("commit", flag.ContinueOnError)
	f := newTxFlags(fs)
	hotkey := fs.String("hotkey", "", "the `NAME` of the wallet's hotkey that signs (required; it needs a validator permit on the subnet, and pays no fee unless the genesis sets one)")
	netuid := netuidFlag(fs)
	dir := fs.String("dir", "", "the export `DIR` that agora labels export wrote (required)")
	return &Command{
		Name:  "commit",
		Short: "Commit the Merkle root of an export (agora labels export) on a subnet",
		Long: `Verifies the export in --dir first (as agora labels verify does; nothing is
sent if it fails), then sends commit_dataset_root with its manifest's Merkle
root, number of records and number of chunks, signed by the hotkey. The hotkey
must be registered on the subnet with a validator permit; it may commit once
per weights_rate_limit blocks. The transaction has no fee unless the chain's
genesis sets one. The subnet keeps the latest 64 roots: see
"agora query datasets NETUID", and "agora labels verify DIR --netuid NETUID"
to check a copy against them.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			n, err := f.checkHotkeyNetuid(rt, args, *hotkey, netuid)
			if err != nil {
				return err
			}
			if *dir == "" {
				return usageErrorf("--dir is required")
			}
			const op = "tx dataset commit"
			m, err := rlhf.Verify(*dir)
			if err != nil {
				return fmt.Errorf("%s: not sent: %w", op, err)
			}
			body, err := datasetCommitBody(n, m)
			if err != nil {
				return fmt.Errorf("%s: not sent: %s: %w", op, *dir, err)
			}
			return runTx(ctx, rt, f, op, *hotkey, func(s *txSend) (chain.Body, error) {
				s.extra = map[string]any{"dir": *dir, "merkle_root": m.MerkleRoot}
				return body, nil
			})
		},
	}
}
