package main

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
)

// writeSecret writes a mnemonic or seed file in a temporary directory.
func writeSecret(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWalletImport(t *testing.T) {
	e := &txEnv{t: t, home: t.TempDir(), env: map[string]string{"AGORA_PASSWORD": "correct horse battery"}}
	cheap := func(args ...string) []string { return append(args, cheapKDFArgs...) }

	// --words 12 gives 12 words, which restore the same key elsewhere.
	alice := decodeJSON[walletKeyJSON](t, e.ok(cheap("wallet", "create", "--wallet", "alice", "--words", "12", "--output", "json")...))
	if n := len(strings.Fields(alice.Mnemonic)); n != 12 {
		t.Fatalf("create --words 12: %d words", n)
	}
	if r := e.ok(cheap("wallet", "create", "--wallet", "long")...); !strings.Contains(r.stdout, "the 24 words below") ||
		!strings.Contains(r.stdout, "shown only this once") || !strings.Contains(r.stdout, "agora wallet import --wallet long --mnemonic-file FILE") {
		t.Errorf("create: the warning:\n%s", r.stdout)
	}
	words := writeSecret(t, "  "+strings.ToUpper(alice.Mnemonic)+"\n")
	got := decodeJSON[walletKeyJSON](t, e.ok(cheap("wallet", "import", "--wallet", "copy", "--mnemonic-file", words, "--output", "json")...))
	if got.Address != alice.Address || got.Kind != "coldkey" || !got.Encrypted || got.Mnemonic != "" {
		t.Errorf("import --mnemonic-file: %+v, want address %s", got, alice.Address)
	}

	// The coldkey's words are refused as a hotkey, saying why, and nothing
	// is written.
	e.fails(exitError, []string{"the mnemonic in " + words, alice.Address, "the coldkey of wallet alice",
		"refusing to store a coldkey as a hotkey", "restore the hotkey from its own mnemonic or seed"},
		"wallet", "import", "--wallet", "alice", "--hotkey", "h1", "--mnemonic-file", words)
	if _, err := os.Stat(filepath.Join(e.home, "wallets", "alice", "hotkeys", "h1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused hotkey was written: %v", err)
	}
	// regen from standard input has the same guard.
	r := walletRun(t, e.home, nil, alice.Mnemonic, nil, "wallet", "regen", "--wallet", "alice", "--hotkey", "h1")
	if r.code != exitError || !strings.Contains(r.stderr, "the coldkey of wallet alice") {
		t.Errorf("regen --hotkey from the coldkey's words: exit %d, %s", r.code, r.stderr)
	}

	// A hotkey from a hex seed: the key of exactly that seed.
	seed := strings.Repeat("07", 32)
	b, _ := hex.DecodeString(seed)
	want, _ := keys.NewPrivateKeyFromSeed(b)
	seedFile := writeSecret(t, "0x"+seed+"\n")
	hot := decodeJSON[walletKeyJSON](t, e.ok("wallet", "import", "--wallet", "alice", "--hotkey", "h1", "--seed-file", seedFile, "--output", "json"))
	if hot.Address != want.PublicKey().Address() || hot.Kind != "hotkey" || hot.Encrypted {
		t.Errorf("import --seed-file: %+v, want %s", hot, want.PublicKey().Address())
	}
	// ...and that hotkey is refused as a coldkey.
	e.fails(exitError, []string{"the hotkey h1 of wallet alice", "refusing to store a hotkey as a coldkey"},
		cheap("wallet", "import", "--wallet", "other", "--seed-file", seedFile)...)
	// No overwriting without --force.
	other := writeSecret(t, strings.Repeat("08", 32))
	e.fails(exitError, []string{"already exists; pass --force"}, "wallet", "import", "--wallet", "alice", "--hotkey", "h1", "--seed-file", other)
	if kf, _ := keys.NewStore(e.home).Hotkey("alice", "h1"); kf.Address() != hot.Address {
		t.Error("h1 was replaced without --force")
	}
	if r := e.ok("wallet", "import", "--wallet", "alice", "--hotkey", "h1", "--seed-file", other, "--force"); !strings.Contains(r.stdout, "Restored the hotkey h1 of wallet alice") {
		t.Errorf("import --force:\n%s", r.stdout)
	}

	// Bad input names what is wrong.
	for _, tc := range []struct {
		file string
		want []string
	}{
		{writeSecret(t, strings.Repeat("ab", 31)), []string{"want a 32-byte ed25519 seed as 64 hex digits, got 62 characters"}},
		{writeSecret(t, strings.Repeat("ab", 31)+"zz"), []string{`the seed has 'z' at character 63`}},
	} {
		e.fails(exitError, append(tc.want, tc.file), "wallet", "import", "--wallet", "alice", "--hotkey", "h2", "--seed-file", tc.file)
	}
	mistyped := strings.Fields(alice.Mnemonic)
	mistyped[4] += "x"
	e.fails(exitError, []string{`word 5, "` + mistyped[4] + `", is not in the BIP-39 English word list`},
		"wallet", "import", "--wallet", "alice", "--hotkey", "h2", "--mnemonic-file", writeSecret(t, strings.Join(mistyped, " ")))
	e.fails(exitUsage, []string{"give one of --mnemonic-file FILE or --seed-file FILE"}, "wallet", "import", "--wallet", "alice", "--hotkey", "h2")
	e.fails(exitUsage, []string{"give one of"}, "wallet", "import", "--wallet", "alice", "--seed-file", other, "--mnemonic-file", words)
	e.fails(exitUsage, []string{"--words"}, "wallet", "create", "--wallet", "x", "--words", "18")

	// A hotkey into a wallet that is not there: refused, listing the
	// wallets, unless --new-wallet.
	e.fails(exitError, []string{`no wallet "alcie"`, "the wallets there are: alice, copy, long", "--new-wallet"},
		"wallet", "import", "--wallet", "alcie", "--hotkey", "h2", "--seed-file", other)
	e.ok("wallet", "import", "--wallet", "far", "--hotkey", "h2", "--seed-file", writeSecret(t, strings.Repeat("09", 32)), "--new-wallet")
}

// Every command that takes --wallet refuses a wallet that is not there,
// lists those that are, and creates nothing.
func TestWalletMistypedName(t *testing.T) {
	e := &txEnv{t: t, home: t.TempDir(), env: map[string]string{"AGORA_PASSWORD": "correct horse battery"}, node: "tcp://127.0.0.1:1"}
	e.ok(append([]string{"wallet", "create", "--wallet", "alice"}, cheapKDFArgs...)...)
	e.ok("wallet", "new-hotkey", "--wallet", "alice", "--hotkey", "m1")
	seed := writeSecret(t, strings.Repeat("01", 32))
	for _, args := range [][]string{
		{"wallet", "show", "--wallet", "alcie"},
		{"wallet", "show", "--name", "alcie", "--hotkey", "m1"},
		{"wallet", "new-hotkey", "--wallet", "alcie", "--hotkey", "m2"},
		{"wallet", "regen", "--wallet", "alcie", "--hotkey", "m2"},
		{"wallet", "import", "--wallet", "alcie", "--hotkey", "m2", "--seed-file", seed},
		{"wallet", "prove-hotkey", "--wallet", "alcie", "--hotkey", "m1", "--coldkey-address", "agora1zu0j8axjhzzwruvzjgzn44lxkjt4jtuc4ccdfdaell460tux6h5qy2h7d3", "--chain-id", "x"},
		{"wallet", "overview", "--wallet", "alcie"},
		{"wallet", "balance", "--wallet", "alcie"},
		{"stake", "list", "--wallet", "alcie"},
		{"tx", "transfer", "--wallet", "alcie", "--to", "agora1zu0j8axjhzzwruvzjgzn44lxkjt4jtuc4ccdfdaell460tux6h5qy2h7d3", "--amount", "1"},
		{"tx", "register", "--wallet", "alcie", "--hotkey", "m1", "--netuid", "1"},
	} {
		e.fails(exitError, []string{`no wallet "alcie" in ` + filepath.Join(e.home, "wallets") + "; the wallets there are: alice"}, args...)
	}
	// A mistyped hotkey lists the wallet's hotkeys.
	e.fails(exitError, []string{`no hotkey "m2" in wallet alice; its hotkeys are: m1`}, "wallet", "show", "--wallet", "alice", "--hotkey", "m2")
	if _, err := os.Stat(filepath.Join(e.home, "wallets", "alcie")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a mistyped name made a wallet: %v", err)
	}
}

func TestWalletOverviewBalanceStakeList(t *testing.T) {
	e := &txEnv{t: t, home: t.TempDir(), env: map[string]string{"AGORA_PASSWORD": "correct horse battery"}}
	addr := func(r result) string { return decodeJSON[walletKeyJSON](t, r).Address }
	alice := addr(e.ok(append([]string{"wallet", "create", "--wallet", "alice", "--output", "json"}, cheapKDFArgs...)...))
	bob := addr(e.ok(append([]string{"wallet", "create", "--wallet", "bob", "--output", "json"}, cheapKDFArgs...)...))
	miner := addr(e.ok("wallet", "new-hotkey", "--wallet", "alice", "--hotkey", "miner1", "--output", "json"))
	idle := addr(e.ok("wallet", "new-hotkey", "--wallet", "alice", "--hotkey", "idle", "--output", "json"))
	e.node = startTxNode(t, map[string]uint64{alice: 1000 * chain.Unit, bob: 100 * chain.Unit})
	q := func(args ...string) result { return e.ok(append(args, "--node", e.node)...) }

	// Before anything: balance only.
	bal := decodeJSON[map[string]any](t, q("wallet", "balance", "--wallet", "bob", "--output", "json"))
	if bal["address"] != bob || bal["balance"] != float64(100*chain.Unit) || bal["staked"] != float64(0) || bal["wallet"] != "bob" {
		t.Errorf("wallet balance bob: %v", bal)
	}

	e.ok("tx", "subnet", "create", "--wallet", "alice")
	e.ok("tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1")
	e.ok("tx", "stake", "add", "--wallet", "alice", "--hotkey", "miner1", "--amount", "10")
	e.ok("tx", "stake", "add", "--wallet", "bob", "--hotkey-address", miner, "--amount", "3")

	type overview struct {
		Wallet, Coldkey        string
		Balance, Staked, Total uint64
		Hotkeys                []overviewHotkeyJSON
		Stakes                 []stakeJSON
		Height                 int64
	}
	o := decodeJSON[overview](t, q("wallet", "overview", "--wallet", "alice", "--output", "json"))
	if o.Wallet != "alice" || o.Coldkey != alice || o.Staked != 10*chain.Unit || o.Total != o.Balance+o.Staked || o.Height == 0 || len(o.Hotkeys) != 2 {
		t.Fatalf("wallet overview: %+v", o)
	}
	if h := o.Hotkeys[0]; h.Name != "idle" || h.Address != idle || h.Owner != "" || len(h.Registrations) != 0 {
		t.Errorf("overview: the unregistered hotkey: %+v", h)
	}
	h := o.Hotkeys[1]
	if h.Name != "miner1" || h.Address != miner || h.Owner != alice || len(h.Registrations) != 1 || h.Registrations[0] != (chain.RegistrationView{Netuid: 1, UID: 0}) ||
		h.Stake != 13*chain.Unit || h.OwnerStake != 10*chain.Unit || h.NominatorStake != 3*chain.Unit ||
		len(h.Nominators) != 1 || h.Nominators[0] != (chain.NominatorView{Coldkey: bob, Stake: 3 * chain.Unit}) {
		t.Errorf("overview: miner1: %+v", h)
	}
	if len(o.Stakes) != 1 || o.Stakes[0] != (stakeJSON{Hotkey: miner, Name: "miner1", Owner: alice, Stake: 10 * chain.Unit}) {
		t.Errorf("overview: stakes %+v", o.Stakes)
	}
	r := q("wallet", "overview", "--wallet", "alice")
	for _, w := range []string{"wallet:   alice", "coldkey:  " + alice, "staked:   10.000000000 AGR", "NETUID", "OWNER'S", "NOMINATORS'",
		"nominators of miner1 " + miner + ":", bob + "  3.000000000 AGR", "STAKED ON"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("wallet overview: no %q:\n%s", w, r.stdout)
		}
	}
	for _, want := range []string{
		"idle " + idle + " - - not registered",
		"miner1 " + miner + " 1 0 13.000000000 10.000000000 3.000000000 0.1799",
	} {
		if !hasRow(r.stdout, want) {
			t.Errorf("wallet overview: no row %q:\n%s", want, r.stdout)
		}
	}

	// Bob's stake, from the nominator's side, by wallet and by address.
	type list struct {
		Wallet, Coldkey string
		Stakes          []stakeJSON
		Total           uint64
	}
	l := decodeJSON[list](t, q("stake", "list", "--wallet", "bob", "--output", "json"))
	if l.Wallet != "bob" || l.Coldkey != bob || l.Total != 3*chain.Unit || len(l.Stakes) != 1 || l.Stakes[0] != (stakeJSON{Hotkey: miner, Owner: alice, Stake: 3 * chain.Unit}) {
		t.Errorf("stake list bob: %+v", l)
	}
	r = q("stake", "list", bob)
	for _, w := range []string{"coldkey: " + bob, miner + " - " + alice + " 3.000000000", "total: 3.000000000 AGR on 1 hotkey(s)"} {
		if !hasRow(r.stdout, w) {
			t.Errorf("stake list ADDRESS: no row %q:\n%s", w, r.stdout)
		}
	}
	if r := q("stake", "list", "--wallet", "alice"); !strings.Contains(r.stdout, "miner1") || !strings.Contains(r.stdout, "this coldkey") {
		t.Errorf("stake list alice:\n%s", r.stdout)
	}
	r = q("wallet", "balance", "--wallet", "bob")
	for _, w := range []string{"staked:   3.000000000 AGR", "wallet:   bob"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("wallet balance: no %q:\n%s", w, r.stdout)
		}
	}
	e.fails(exitUsage, []string{"not both"}, "wallet", "balance", "--wallet", "bob", bob, "--node", e.node)
	e.fails(exitUsage, []string{"give --wallet NAME or an ADDRESS"}, "stake", "list", "--node", e.node)
	// The last character changed to another of the alphabet's (never to itself).
	typo := bob[:len(bob)-1] + "q"
	if bob[len(bob)-1] == 'q' {
		typo = bob[:len(bob)-1] + "p"
	}
	e.fails(exitUsage, []string{"checksum"}, "wallet", "balance", typo, "--node", e.node)
}

// hasRow reports whether out has a line whose fields are want's.
func hasRow(out, want string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == want {
			return true
		}
	}
	return false
}
