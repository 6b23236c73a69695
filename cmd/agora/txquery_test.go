package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/node"
	"github.com/seed0ffb8d46/agora/node/nodetest"
)

// startTxNode runs a single-validator node with fast blocks and the given
// genesis balances (address → base units) until the test ends, and
// returns its RPC address once it answers.
func startTxNode(t *testing.T, balances map[string]uint64) string {
	t.Helper()
	var gb []chain.GenesisBalance
	for addr, amount := range balances {
		pk, err := keys.ParseAddress(addr)
		if err != nil {
			t.Fatal(err)
		}
		gb = append(gb, chain.GenesisBalance{Account: pk.Hex(), Amount: amount})
	}
	return nodetest.Start(t, "txquery-test", gb)
}

// txEnv is a wallet home and a node to run agora tx and query against.
type txEnv struct {
	t    *testing.T
	home string
	node string
	env  map[string]string
}

// run runs agora with args and the node's --node flag (for tx and query).
func (e *txEnv) run(args ...string) result {
	e.t.Helper()
	if len(args) > 0 && (args[0] == "tx" || args[0] == "query") {
		args = append(args, "--node", e.node)
	}
	return walletRun(e.t, e.home, e.env, "", nil, args...)
}

// ok runs args and fails the test unless it exits 0.
func (e *txEnv) ok(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("agora %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// fails runs args and fails the test unless it exits with code and its
// stderr contains every one of want.
func (e *txEnv) fails(code int, want []string, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != code {
		e.t.Errorf("agora %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
		return r
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			e.t.Errorf("agora %s: stderr does not contain %q:\n%s", strings.Join(args, " "), w, r.stderr)
		}
	}
	return r
}

func decodeJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return v
}

// txJSON is the part of tx --output json the tests read.
type txJSON struct {
	Status   string `json:"status"`
	Code     int    `json:"code"`
	CodeName string `json:"code_name"`
	Height   int64  `json:"height"`
	Log      string `json:"log"`
	Hash     string `json:"hash"`
	Signer   string `json:"signer"`
	Nonce    uint64 `json:"nonce"`
	Until    uint64 `json:"valid_until"`
	Events   []struct {
		Type       string `json:"type"`
		Attributes []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"attributes"`
	} `json:"events"`
	Extra map[string]any `json:"extra"`
}

func (j txJSON) attr(key string) string {
	for _, ev := range j.Events {
		for _, a := range ev.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	return ""
}

// newTxEnv makes wallets alice (funded with 1000 AGR in genesis, with
// hotkey miner1) and bob (unfunded), and starts a node.
func newTxEnv(t *testing.T) (e *txEnv, alice, bob, miner string) {
	e = &txEnv{t: t, home: t.TempDir(), env: map[string]string{"AGORA_PASSWORD": "correct horse battery"}}
	addr := func(r result) string { return decodeJSON[walletKeyJSON](t, r).Address }
	alice = addr(e.ok(append([]string{"wallet", "create", "--name", "alice", "--output", "json"}, cheapKDFArgs...)...))
	bob = addr(e.ok(append([]string{"wallet", "create", "--name", "bob", "--output", "json"}, cheapKDFArgs...)...))
	miner = addr(e.ok("wallet", "new-hotkey", "--name", "alice", "--hotkey", "miner1", "--output", "json"))
	e.node = startTxNode(t, map[string]uint64{alice: 1000 * chain.Unit})
	return e, alice, bob, miner
}

func TestTxAndQuery(t *testing.T) {
	e, alice, bob, miner := newTxEnv(t)

	// Transfer, then the recipient's balance shows it.
	r := e.ok("tx", "transfer", "--wallet", "alice", "--to", bob, "--amount", "1.5")
	for _, w := range []string{"transfer: included in block ", "code:   0 (ok)", "signer: " + alice + " (nonce 0)", "event:  transfer"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("tx transfer: stdout does not contain %q:\n%s", w, r.stdout)
		}
	}
	r = e.ok("query", "account", bob)
	if !strings.Contains(r.stdout, "1.500000000 AGR") || !strings.Contains(r.stdout, bob) {
		t.Errorf("query account bob:\n%s", r.stdout)
	}
	acct := decodeJSON[map[string]any](t, e.ok("query", "account", bob, "--output", "json"))
	if acct["balance"] != float64(1_500_000_000) || acct["nonce"] != float64(0) || acct["address"] != bob {
		t.Errorf("query account bob --output json: %v", acct)
	}

	// A subnet from a params file: given keys set, the rest default.
	params := filepath.Join(t.TempDir(), "params.json")
	if err := os.WriteFile(params, []byte(`{"tempo": 120, "min_burn": 1000000000, "max_uids": 16, "max_validators": 8}`), 0o600); err != nil {
		t.Fatal(err)
	}
	j := decodeJSON[txJSON](t, e.ok("tx", "subnet", "create", "--wallet", "alice", "--params", params, "--output", "json"))
	if j.Status != "included" || j.Code != 0 || j.attr("netuid") != "1" || j.Height == 0 {
		t.Fatalf("tx subnet create: %+v", j)
	}
	// Valid for 300 blocks after the latest when it was signed, by default.
	if j.Until < uint64(j.Height) || j.Until > uint64(j.Height)+chainclient.TxValidity {
		t.Errorf("tx subnet create: valid until %d, included at %d", j.Until, j.Height)
	}
	sn := decodeJSON[chain.SubnetView](t, e.ok("query", "subnet", "1", "--output", "json"))
	want := chain.DefaultHyperparams()
	want.Tempo, want.MinBurn, want.MaxUIDs, want.MaxValidators = 120, chain.Unit, 16, 8
	if sn.Owner != alice || !reflect.DeepEqual(sn.Params, want) || sn.Burn != chain.Unit {
		t.Errorf("query subnet 1: %+v", sn)
	}

	// Register the hotkey (at the current burn) and serve its axon: the
	// hotkey has no balance, and serve_axon needs none.
	j = decodeJSON[txJSON](t, e.ok("tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--output", "json"))
	if j.Status != "included" || j.attr("uid") != "0" || j.Extra["burn"] != float64(chain.Unit) || j.Extra["hotkey"] != miner {
		t.Fatalf("tx register: %+v", j)
	}
	r = e.ok("tx", "serve-axon", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--ip", "10.0.0.7", "--port", "8091", "--protocol", "grpc")
	if !strings.Contains(r.stdout, "serve_axon: included") || !strings.Contains(r.stdout, "signer: "+miner) {
		t.Errorf("tx serve-axon:\n%s", r.stdout)
	}
	r = e.ok("query", "metagraph", "1")
	lines := strings.Split(r.stdout, "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[2], "UID") || !strings.HasPrefix(lines[3], "0 ") ||
		!strings.Contains(lines[3], shortAddress(miner)) || !strings.Contains(lines[3], "grpc://10.0.0.7:8091") {
		t.Errorf("query metagraph 1:\n%s", r.stdout)
	}
	mg := decodeJSON[chain.MetagraphView](t, e.ok("query", "metagraph", "1", "--output", "json"))
	if len(mg.Neurons) != 1 || mg.Neurons[0].Hotkey != miner || mg.Neurons[0].Coldkey != alice ||
		mg.Neurons[0].Axon == nil || mg.Neurons[0].Axon.Addr != "10.0.0.7:8091" || mg.Neurons[0].Axon.Protocol != 2 {
		t.Errorf("query metagraph 1 --output json: %+v", mg)
	}

	// Stake by hotkey name, unstake by address.
	e.ok("tx", "stake", "add", "--wallet", "alice", "--hotkey", "miner1", "--amount", "10")
	e.ok("tx", "stake", "remove", "--wallet", "alice", "--hotkey-address", miner, "--amount", "2.5")
	hk := decodeJSON[chain.HotkeyView](t, e.ok("query", "hotkey", miner, "--output", "json"))
	if hk.Owner != alice || hk.Stake != 7_500_000_000 {
		t.Errorf("query hotkey: %+v", hk)
	}
	r = e.ok("query", "neuron", "1", "0")
	for _, w := range []string{"stake:", "7.500000000 AGR", "axon:", "grpc://10.0.0.7:8091", miner} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("query neuron 1 0: no %q:\n%s", w, r.stdout)
		}
	}

	// set-params keeps what the file leaves out.
	if err := os.WriteFile(params, []byte(`{"tempo": 99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("tx", "subnet", "set-params", "--wallet", "alice", "--netuid", "1", "--params", params)
	sn = decodeJSON[chain.SubnetView](t, e.ok("query", "subnet", "1", "--output", "json"))
	want.Tempo = 99
	if !reflect.DeepEqual(sn.Params, want) {
		t.Errorf("after set-params: %+v, want %+v", sn.Params, want)
	}
	r = e.ok("query", "subnet", "1")
	if !strings.Contains(r.stdout, "tempo:") || !strings.Contains(r.stdout, "99") || !strings.Contains(r.stdout, "neurons:") {
		t.Errorf("query subnet 1:\n%s", r.stdout)
	}

	// --no-wait returns after CheckTx.
	// --valid-for 0 lets any block include it.
	j = decodeJSON[txJSON](t, e.ok("tx", "transfer", "--wallet", "alice", "--to", bob, "--amount", "1", "--no-wait", "--valid-for", "0", "--output", "json"))
	if j.Status != "pending" || j.Height != 0 || len(j.Hash) != 64 || j.Until != 0 {
		t.Errorf("--no-wait --valid-for 0: %+v", j)
	}

	// The supply shows what fees and burns took.
	sup := decodeJSON[chain.SupplyView](t, e.ok("query", "supply", "--output", "json"))
	if sup.Genesis != 1000*chain.Unit || sup.Burned == 0 || sup.Total != sup.Genesis+sup.Minted-sup.Burned {
		t.Errorf("query supply: %+v", sup)
	}
	if r := e.ok("query", "supply"); !strings.Contains(r.stdout, "genesis:  1000.000000000 AGR") {
		t.Errorf("query supply:\n%s", r.stdout)
	}

	t.Run("errors", func(t *testing.T) {
		e.t = t
		typo := []byte(bob)
		typo[20] = 'q'
		if bob[20] == 'q' {
			typo[20] = 'p'
		}
		e.fails(exitError, []string{"tx transfer: wallet nobody:", `no wallet "nobody"`, "the wallets there are: alice, bob"},
			"tx", "transfer", "--wallet", "nobody", "--to", bob, "--amount", "1")
		e.fails(exitUsage, []string{"--to: keys: bad address", "checksum is wrong"},
			"tx", "transfer", "--wallet", "alice", "--to", string(typo), "--amount", "1")
		e.fails(exitUsage, []string{"keys: bad address", "checksum is wrong"}, "query", "account", string(typo))
		// A last character mistyped as "1" (not in the alphabet) too.
		e.fails(exitUsage, []string{"--to: keys: bad address", "checksum is wrong"},
			"tx", "transfer", "--wallet", "alice", "--to", bob[:len(bob)-1]+"1", "--amount", "1")

		// Bob has 1.5 AGR (2.5 if the --no-wait one landed): the node's
		// CheckTx rejects 100 with its code and words.
		r := e.fails(exitError, []string{"tx transfer: the node rejected it: code 5 (insufficient_balance): balance"},
			"tx", "transfer", "--wallet", "bob", "--to", alice, "--amount", "100")
		if !strings.Contains(r.stdout, "rejected by the node") || !strings.Contains(r.stdout, "code:   5 (insufficient_balance)") {
			t.Errorf("insufficient balance stdout:\n%s", r.stdout)
		}
		// The reason is printed once, on stderr, with accounts as
		// addresses; --output json keeps the node's log as it is.
		r = e.fails(exitError, []string{"agora: tx subnet set-params: ", "code 9 (not_owner): subnet 1 is owned by " + alice + ", not " + bob + "\n"},
			"tx", "subnet", "set-params", "--wallet", "bob", "--netuid", "1", "--params", params)
		if strings.Contains(r.stdout, "owned by") || strings.Contains(r.stdout, "log:") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("a rejection printed twice:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
		alicePK, _ := keys.ParseAddress(alice)
		j := decodeJSON[txJSON](t, e.run("tx", "subnet", "set-params", "--wallet", "bob", "--netuid", "1", "--params", params, "--output", "json"))
		if j.Status != "rejected" || j.Code != 9 || !strings.Contains(j.Log, "subnet 1 is owned by "+alicePK.Hex()) {
			t.Errorf("a rejection --output json: %+v", j)
		}
		// A hotkey kept elsewhere proves itself there; the proof names
		// the coldkey and chain, so only bob can use it here.
		far := decodeJSON[walletKeyJSON](t, e.ok("wallet", "new-hotkey", "--name", "bob", "--hotkey", "far", "--output", "json")).Address
		pj := decodeJSON[map[string]string](t, e.ok("wallet", "prove-hotkey", "--name", "bob", "--hotkey", "far", "--coldkey-address", bob, "--node", e.node, "--output", "json"))
		if pj["hotkey"] != far || pj["coldkey"] != bob || pj["chain_id"] != "txquery-test" || len(pj["proof"]) != 128 {
			t.Errorf("wallet prove-hotkey: %v", pj)
		}
		if offline := e.ok("wallet", "prove-hotkey", "--name", "bob", "--hotkey", "far", "--coldkey-address", bob, "--chain-id", "txquery-test"); !strings.Contains(offline.stdout, "proof:   "+pj["proof"]) {
			t.Errorf("wallet prove-hotkey --chain-id: not the proof the node's chain id gave:\n%s", offline.stdout)
		}
		e.fails(exitError, []string{"code 13 (burn_too_high)", "above the 0.100000000 AGR (100000000 base units) you allowed"},
			"tx", "register", "--wallet", "bob", "--hotkey-address", far, "--hotkey-proof", pj["proof"], "--netuid", "1", "--max-burn", "0.1")
		e.fails(exitError, []string{"--hotkey-proof is not hotkey " + far + "'s proof that coldkey " + alice + " may own it on chain txquery-test",
			"agora wallet prove-hotkey --coldkey-address " + alice + " --chain-id txquery-test"},
			"tx", "register", "--wallet", "alice", "--hotkey-address", far, "--hotkey-proof", pj["proof"], "--netuid", "1")
		e.fails(exitUsage, []string{"--hotkey-address needs --hotkey-proof", "agora wallet prove-hotkey"},
			"tx", "register", "--wallet", "bob", "--hotkey-address", far, "--netuid", "1")
		e.fails(exitUsage, []string{"--hotkey-proof goes with --hotkey-address"},
			"tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--hotkey-proof", pj["proof"], "--netuid", "1")
		e.fails(exitUsage, []string{"--ip 999.1.1.1: not an IPv4 or IPv6 address"},
			"tx", "serve-axon", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--ip", "999.1.1.1", "--port", "8091")
		e.fails(exitUsage, []string{"--hotkey-proof: want 128 hex digits"},
			"tx", "register", "--wallet", "bob", "--hotkey-address", far, "--hotkey-proof", "abc", "--netuid", "1")
		e.fails(exitUsage, []string{"--coldkey-address is required"}, "wallet", "prove-hotkey", "--name", "bob", "--hotkey", "far")
		e.fails(exitUsage, []string{"--hotkey is required"}, "wallet", "prove-hotkey", "--name", "bob", "--coldkey-address", bob)
		e.fails(exitError, []string{"query subnet: query /subnet/9: no subnet 9"}, "query", "subnet", "9")
		e.fails(exitError, []string{"tx register: query /subnet/9: no subnet 9"}, "tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "9", "--max-burn", "1")
		e.fails(exitError, []string{`--params`, `unknown field "tempoo"`}, "tx", "subnet", "create", "--wallet", "alice", "--params", writeTemp(t, `{"tempoo": 1}`))
		e.fails(exitError, []string{"max_validators 300"}, "tx", "subnet", "create", "--wallet", "alice", "--params", writeTemp(t, `{"max_validators": 300}`))

		// Nothing listens: a clear error, well within the timeout.
		ports, err := node.FreePorts(1)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		args := []string{"tx", "transfer", "--wallet", "alice", "--to", bob, "--amount", "1", "--timeout", "3s", "--node", fmt.Sprintf("tcp://127.0.0.1:%d", ports[0])}
		r = walletRun(t, e.home, e.env, "", nil, args...)
		if r.code != exitError || !strings.Contains(r.stderr, "is unreachable (is it running?)") || time.Since(start) > 3*time.Second {
			t.Errorf("unreachable node: exit %d after %v: %s", r.code, time.Since(start), r.stderr)
		}
		r = walletRun(t, e.home, e.env, "", nil, "query", "supply", "--node", "udp://x:1")
		if r.code != exitUsage || !strings.Contains(r.stderr, `scheme "udp" is not tcp, http or https`) {
			t.Errorf("bad --node: exit %d: %s", r.code, r.stderr)
		}
	})
}

// writeTemp writes a file in a temporary directory and returns its name.
func writeTemp(t *testing.T, data string) string {
	name := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestParseAGR(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		err  string
	}{
		{in: "1", want: chain.Unit},
		{in: "1.5", want: 1_500_000_000},
		{in: "0.000000001", want: 1},
		{in: "12.000000001", want: 12_000_000_001},
		{in: "007.10", want: 7_100_000_000},
		{in: "0", want: 0},
		{in: "18446744073.709551615", want: 1<<64 - 1},
		{in: "18446744073.709551616", err: "too large"},
		{in: "18446744074", err: "too large"},
		{in: "99999999999999999999999", err: "too large"},
		{in: "", err: "empty"},
		{in: "1.0000000001", err: "more than 9 decimals"},
		{in: "-1", err: "want AGR as digits"},
		{in: "+1", err: "want AGR as digits"},
		{in: "1e9", err: "want AGR as digits"},
		{in: "1.", err: "want AGR as digits"},
		{in: ".5", err: "want AGR as digits"},
		{in: "1,5", err: "want AGR as digits"},
		{in: "1.2.3", err: "want AGR as digits"},
		{in: " 1", err: "want AGR as digits"},
		{in: "1_000", err: "want AGR as digits"},
		{in: "NaN", err: "want AGR as digits"},
	} {
		got, err := parseAGR(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseAGR(%q) = %d, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseAGR(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		if back, err := parseAGR(formatAGR(got)); err != nil || back != got {
			t.Errorf("formatAGR(%d) = %q does not parse back: %d, %v", got, formatAGR(got), back, err)
		}
	}
}

// TestTxUsageErrors checks what is wrong with a command line before any
// key or node is touched.
func TestTxUsageErrors(t *testing.T) {
	home := t.TempDir()
	addr := keys.PublicKey{1}.Address()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tx", "transfer", "--to", addr, "--amount", "1"}, "--wallet is required"},
		{[]string{"tx", "transfer", "--wallet", "a", "--amount", "1"}, "--to is required"},
		{[]string{"tx", "transfer", "--wallet", "a", "--to", addr}, "--amount is required"},
		{[]string{"tx", "transfer", "--wallet", "a", "--to", addr, "--amount", "1.5.0"}, `--amount: amount "1.5.0": want AGR`},
		{[]string{"tx", "transfer", "--wallet", "a", "--to", addr, "--amount", "-2"}, `--amount: amount "-2"`},
		{[]string{"tx", "transfer", "--wallet", "a", "--to", addr, "--amount", "0.0000000001"}, "more than 9 decimals"},
		{[]string{"tx", "transfer", "--wallet", "a", "--to", "agora1xyz", "--amount", "1"}, "--to: keys: bad address"},
		{[]string{"tx", "transfer", "--wallet", "a", "--to", addr, "--amount", "1", "--node", "127.0.0.1"}, "--node: chainclient: node address"},
		{[]string{"tx", "transfer", "--wallet", "a", "--to", addr, "--amount", "1", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"tx", "stake", "add", "--wallet", "a", "--amount", "1"}, "give --hotkey NAME or --hotkey-address ADDRESS"},
		{[]string{"tx", "stake", "add", "--wallet", "a", "--amount", "1", "--hotkey", "h", "--hotkey-address", addr}, "not both"},
		{[]string{"tx", "register", "--wallet", "a", "--hotkey", "h"}, "--netuid is required"},
		{[]string{"tx", "register", "--wallet", "a", "--hotkey", "h", "--netuid", "70000"}, `invalid value "70000" for flag --netuid: want an integer from 0 to 65535`},
		{[]string{"tx", "register", "--wallet", "a", "--hotkey", "h", "--netuid", "1", "--max-burn", "x"}, "--max-burn: amount"},
		{[]string{"tx", "serve-axon", "--wallet", "a", "--hotkey", "h", "--netuid", "1", "--port", "1"}, "--ip is required"},
		{[]string{"tx", "serve-axon", "--wallet", "a", "--hotkey", "h", "--netuid", "1", "--ip", "1.2.3", "--port", "1"}, "--ip 1.2.3: not an IPv4 or IPv6 address"},
		{[]string{"tx", "serve-axon", "--wallet", "a", "--hotkey", "h", "--netuid", "1", "--ip", "0.0.0.0", "--port", "1"}, "want a specific address"},
		{[]string{"tx", "serve-axon", "--wallet", "a", "--hotkey", "h", "--netuid", "1", "--ip", "1.2.3.4"}, "--port 0: want 1 to 65535"},
		{[]string{"tx", "serve-axon", "--wallet", "a", "--hotkey", "h", "--netuid", "1", "--ip", "1.2.3.4", "--port", "1", "--protocol", "udp"}, `"udp" is not one of http, https, grpc, ws`},
		{[]string{"tx", "subnet", "set-params", "--wallet", "a", "--netuid", "1"}, "nothing to change: give --params FILE or --set KEY=VALUE"},
		{[]string{"query", "account"}, "want 1 argument(s), got 0"},
		{[]string{"query", "neuron", "1", "x"}, `uid "x": want an integer`},
		{[]string{"query", "metagraph", "1", "2"}, `unexpected argument "2"`},
		{[]string{"query", "subnet", "70000"}, `netuid "70000"`},
	} {
		r := walletRun(t, home, nil, "", nil, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("agora %s: exit %d, stderr %q; want exit 2 with %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}
