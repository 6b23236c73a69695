package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/node"
)

// TestEmissionFlow runs the README's dev-chain flow through the CLI: node
// init with --governance and --balance as addresses, node start, a subnet
// with quick epochs, tx emission set giving it a share, a registered and
// weighting hotkey, and an epoch that pays the subnet. On the way: a second
// node start on the running home, and accounts given as hex.
func TestEmissionFlow(t *testing.T) {
	e := &txEnv{t: t, home: t.TempDir(), env: map[string]string{"AGORA_PASSWORD": "correct horse battery"}}
	addr := func(r result) string { return decodeJSON[walletKeyJSON](t, r).Address }
	alice := addr(e.ok(append([]string{"wallet", "create", "--name", "alice", "--output", "json"}, cheapKDFArgs...)...))
	bob := addr(e.ok(append([]string{"wallet", "create", "--name", "bob", "--output", "json"}, cheapKDFArgs...)...))
	e.ok("wallet", "new-hotkey", "--name", "alice", "--hotkey", "miner1")
	bobKey, err := keys.ParseAddress(bob)
	if err != nil {
		t.Fatal(err)
	}

	home := t.TempDir()
	ports, err := node.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	rpc := "127.0.0.1:" + strconv.Itoa(ports[1])
	r := agora(t, nil, nil, "node", "init", "--home", home, "--chain-id", "agora-em", "--block-time", "100ms",
		"--p2p-laddr", "127.0.0.1:"+strconv.Itoa(ports[0]), "--rpc-laddr", rpc,
		"--governance", alice, "--balance", alice+"=1000", "--balance", bobKey.Hex()+"=2.5")
	if r.code != 0 {
		t.Fatalf("node init: exit %d, stderr %q", r.code, r.stderr)
	}
	_, stop := background(t, "node", "start", "--home", home, "--log.level", "warn")
	e.node = "tcp://" + rpc
	waitBlocks(t, e.node, 1)

	// A second node on the same home says so.
	r = agora(t, nil, nil, "node", "start", "--home", home, "--log.level", "error")
	if r.code != 1 || !strings.Contains(r.stderr, "node: the home "+home+" is in use by another running node") {
		t.Errorf("second node start: exit %d, stderr %q", r.code, r.stderr)
	}

	// Balances in AGR; an account by its hex key too.
	if r := e.ok("query", "account", alice); !strings.Contains(r.stdout, "1000.000000000 AGR") {
		t.Errorf("query account alice:\n%s", r.stdout)
	}
	if r := e.ok("query", "account", bobKey.Hex()); !strings.Contains(r.stdout, "2.500000000 AGR") || !strings.Contains(r.stdout, bob) {
		t.Errorf("query account <bob's hex key>:\n%s", r.stdout)
	}
	e.fails(exitUsage, []string{"a hex public key has 64 characters, this has 63"}, "query", "account", bobKey.Hex()[:63])

	params := filepath.Join(t.TempDir(), "dev.json")
	if err := os.WriteFile(params, []byte(`{"tempo": 10, "weights_rate_limit": 2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("tx", "subnet", "create", "--wallet", "alice", "--params", params)
	em := decodeJSON[chain.EmissionView](t, e.ok("query", "emission", "--output", "json"))
	if em.PerBlock != chain.DefaultEmissionPerBlock || em.Governance != alice || len(em.Shares) != 1 || em.Shares[0].Share != 0 {
		t.Errorf("query emission before set: %+v", em)
	}

	e.fails(exitUsage, []string{"give --per-block AGR, --share NETUID=SHARE, or both"}, "tx", "emission", "set", "--wallet", "alice")
	e.fails(exitUsage, []string{"want NETUID=SHARE"}, "tx", "emission", "set", "--wallet", "alice", "--share", "1")
	e.fails(exitUsage, []string{"subnet 1 is given twice"}, "tx", "emission", "set", "--wallet", "alice", "--share", "1=1", "--share", "1=2")
	e.fails(exitUsage, []string{"--per-block: amount"}, "tx", "emission", "set", "--wallet", "alice", "--per-block", "1e3")
	e.fails(1, []string{"not_governance"}, "tx", "emission", "set", "--wallet", "bob", "--share", "1=1")
	r = e.ok("tx", "emission", "set", "--wallet", "alice", "--share", "1=1")
	if !strings.Contains(r.stdout, "set_emission: included") || !strings.Contains(r.stdout, "per_block=1000000000") {
		t.Errorf("tx emission set:\n%s", r.stdout)
	}
	r = e.ok("query", "emission")
	if !strings.Contains(r.stdout, "1.000000000 AGR") || !strings.Contains(r.stdout, "subnet 1: 1") || !strings.Contains(r.stdout, alice) {
		t.Errorf("query emission:\n%s", r.stdout)
	}

	e.ok("tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1")
	e.ok("tx", "weights", "set", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:1")
	start := decodeJSON[chain.EpochView](t, e.ok("query", "epoch", "1", "--output", "json")).Epoch
	if v := e.waitEpoch("1", start+1); v.Emission == 0 {
		t.Errorf("the epoch after the share paid nothing: %+v", v)
	}
	if code := stop(); code != 0 {
		t.Errorf("node start: exit %d after SIGINT, want 0", code)
	}
}
