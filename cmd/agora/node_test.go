package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/node"
)

const testKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

func TestNodeInit(t *testing.T) {
	home := t.TempDir()
	r := agora(t, nil, nil, "node", "init", "--home", home, "--chain-id", "agora-t", "--balance", testKey+"=0.000005")
	if r.code != 0 || !strings.Contains(r.stdout, "wrote a node for chain agora-t") {
		t.Fatalf("node init: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	gen, err := types.GenesisDocFromFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	gs, err := chain.ParseGenesisState(gen.AppState)
	if err != nil || gen.ChainID != "agora-t" || len(gen.Validators) != 1 ||
		len(gs.Balances) != 1 || gs.Balances[0] != (chain.GenesisBalance{Account: testKey, Amount: 5000}) {
		t.Errorf("genesis: chain %q, %d validators, app state %+v, %v", gen.ChainID, len(gen.Validators), gs, err)
	}
	r = agora(t, nil, nil, "node", "init", "--home", home, "--chain-id", "agora-t")
	if r.code != 1 || !strings.Contains(r.stderr, "already holds a node") || !strings.Contains(r.stderr, "pass --force") {
		t.Errorf("node init over a node: exit %d, stderr %q", r.code, r.stderr)
	}
	r = agora(t, nil, nil, "node", "init", "--home", home, "--chain-id", "agora-t2", "--force", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"chain_id":"agora-t2"`) {
		t.Errorf("node init --force: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestNodeInitAddresses checks that --balance and --governance take
// addresses and AGR, as every other command does, and hex keys too.
func TestNodeInitAddresses(t *testing.T) {
	home := t.TempDir()
	pk, err := keys.PublicKeyFromBytes(mustHex(t, testKey))
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("ab", 32)
	r := agora(t, nil, nil, "node", "init", "--home", home, "--chain-id", "agora-t",
		"--balance", pk.Address()+"=1000", "--balance", strings.ToUpper(other)+"=0.5", "--governance", pk.Address())
	if r.code != 0 || !strings.Contains(r.stdout, "(2 genesis balances)") {
		t.Fatalf("node init: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	gen, err := types.GenesisDocFromFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	gs, err := chain.ParseGenesisState(gen.AppState)
	want := []chain.GenesisBalance{{Account: testKey, Amount: 1000 * chain.Unit}, {Account: other, Amount: chain.Unit / 2}}
	if err != nil || !slices.Equal(gs.Balances, want) || gs.Governance != testKey {
		t.Errorf("genesis app state %+v, %v; want balances %+v and governance %s", gs, err, want, testKey)
	}
	// The same account as an address and as hex is one account.
	r = agora(t, nil, nil, "node", "init", "--home", t.TempDir(), "--chain-id", "c", "--balance", pk.Address()+"=1", "--balance", testKey+"=2")
	if r.code != 2 || !strings.Contains(r.stderr, "account "+pk.Address()+" is given twice") {
		t.Errorf("an account twice: exit %d, stderr %q", r.code, r.stderr)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNodeBadFlags(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"node", "init", "--home", home}, "--chain-id is required"},
		{[]string{"node", "init", "--home", home, "--chain-id", "c", "--balance", "abc"}, `invalid value "abc" for flag --balance: "abc": want ADDRESS=AGR`},
		{[]string{"node", "init", "--home", home, "--chain-id", "c", "--balance", "zz=5"}, `"zz=5": "zz": want an agora1... address or a 64-character hex public key`},
		{[]string{"node", "init", "--home", home, "--chain-id", "c", "--balance", testKey + "=-1"}, `amount "-1": want AGR as digits`},
		{[]string{"node", "init", "--home", home, "--chain-id", "c", "--balance", testKey + "=1", "--balance", testKey + "=2"}, "given twice"},
		{[]string{"node", "init", "--home", home, "--chain-id", "c", "--balance", testKey + "=1.0000000001"}, "more than 9 decimals"},
		{[]string{"node", "init", "--home", home, "--chain-id", "c", "--balance", testKey[:10] + "=1"}, "a hex public key has 64 characters, this has 10"},
		{[]string{"node", "init", "--home", home, "--chain-id", "c", "--balance", "agora1qqqq=1"}, "keys: bad address"},
		{[]string{"node", "init", "--home", home, "--chain-id", "c", "--governance", "alice"}, `--governance: "alice": want an agora1... address`},
		{[]string{"localnet", "--home", home, "--chain-only", "--balance", testKey + "=x"}, `amount "x"`},
		{[]string{"localnet", "--home", home, "--chain-only", "--governance", "zz"}, "--governance:"},
		{[]string{"node", "init", "--home", home, "--chain-id", "c", "--rpc-laddr", "localhost"}, `--rpc-laddr "localhost": want HOST:PORT`},
		{[]string{"localnet", "--home", home, "--miners", "0"}, "--miners 0: want 1 to 32"},
		{[]string{"localnet", "--home", home, "--model", "/nonexistent.bin"}, "--model /nonexistent.bin: no such file"},
		{[]string{"localnet", "--home", home, "--governance", testKey}, "--governance is for --chain-only"},
		{[]string{"localnet", "--home", home, "--chain-only", "--adversaries"}, "--adversaries is not for --chain-only"},
		{[]string{"localnet", "--home", home, "--chain-only", "--validators", "0"}, "--validators 0: want 1 to 64"},
		{[]string{"localnet", "--home", home, "--chain-only", "--base-port", "80"}, "--base-port 80: want 0 or 1024"},
	} {
		r := agora(t, nil, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want exit 2 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "config")); err == nil {
		t.Errorf("a rejected command wrote %s/config", home)
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// background runs a long-running command until the returned stop is
// called; stop returns its exit code.
func background(t *testing.T, args ...string) (stdout *lockedBuffer, stop func() int) {
	t.Helper()
	e, _, _ := testEnv("", nil, nil)
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	e.Stdout, e.Stderr = stdout, stderr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- execute(ctx, e, newRoot("test"), args) }()
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("%s did not stop", strings.Join(args, " "))
			}
			if t.Failed() {
				t.Logf("stderr of %s:\n%s", strings.Join(args, " "), stderr.String())
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return stdout, stop
}

// waitBlocks polls the RPC server at addr until it reports height >= h.
func waitBlocks(t *testing.T, addr string, h int64) {
	t.Helper()
	c, err := rpchttp.New(addr, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.Status(context.Background())
		if err == nil && st.SyncInfo.LatestBlockHeight >= h {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach height %d: %v", addr, h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNodeStart(t *testing.T) {
	home := t.TempDir()
	ports, err := node.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	rpc := "127.0.0.1:" + strconv.Itoa(ports[1])
	r := agora(t, nil, nil, "node", "init", "--home", home, "--chain-id", "agora-t", "--block-time", "100ms",
		"--p2p-laddr", "127.0.0.1:"+strconv.Itoa(ports[0]), "--rpc-laddr", rpc)
	if r.code != 0 {
		t.Fatalf("node init: exit %d, stderr %q", r.code, r.stderr)
	}
	out, stop := background(t, "node", "start", "--home", home, "--log.level", "warn", "--dashboard", "127.0.0.1:0")
	waitBlocks(t, "tcp://"+rpc, 2)
	// The dashboard, when asked: its page and its API answer.
	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" && time.Now().Before(deadline) {
		if _, rest, ok := strings.Cut(out.String(), "dashboard of subnet 1: "); ok {
			url = strings.TrimSpace(rest)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, path := range []string{"", "healthz"} {
		resp, err := http.Get(url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("dashboard %s%s: %v %v", url, path, resp, err)
		}
		resp.Body.Close()
	}
	if code := stop(); code != 0 {
		t.Errorf("node start: exit %d after SIGINT, want 0", code)
	}
	r = agora(t, nil, nil, "node", "start", "--home", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "no node here (run agora node init)") {
		t.Errorf("node start in an empty home: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestLocalnet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	args := []string{"localnet", "--chain-only", "--validators", "2", "--dir", dir, "--base-port", "0",
		"--block-time", "100ms", "--log.level", "warn"}
	stdout, stop := background(t, args...)
	var addrs []string
	deadline := time.Now().Add(30 * time.Second)
	for len(addrs) < 2 {
		addrs = addrs[:0]
		for line := range strings.SplitSeq(stdout.String(), "\n") {
			if _, addr, ok := strings.Cut(line, " rpc "); ok {
				addrs = append(addrs, strings.TrimSpace(addr))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("localnet printed no RPC addresses: %q", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, a := range addrs {
		waitBlocks(t, a, 2)
	}
	if code := stop(); code != 0 {
		t.Fatalf("localnet: exit %d after SIGINT", code)
	}
	// It resumes the same chain; a different size is refused.
	r := agora(t, nil, nil, "localnet", "--chain-only", "--validators", "3", "--dir", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "has a 2-validator chain, not 3") {
		t.Errorf("localnet with another size: exit %d, stderr %q", r.code, r.stderr)
	}
	stdout, stop = background(t, args...)
	deadline = time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "node1  rpc ") {
		if time.Now().After(deadline) {
			t.Fatalf("resumed localnet printed %q", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitBlocks(t, addrs[0], 4)
	if code := stop(); code != 0 {
		t.Fatalf("resumed localnet: exit %d", code)
	}
}
