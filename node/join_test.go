package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
)

func TestAppConfig(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A home from before app.toml runs with the defaults.
	c, err := LoadAppConfig(home)
	if err != nil || c != DefaultAppConfig() {
		t.Fatalf("no app.toml: %+v %v, want the defaults", c, err)
	}
	if err := writeAppConfig(home, AppConfig{SnapshotInterval: 7, SnapshotKeepRecent: 3}); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadAppConfig(home); err != nil || c != (AppConfig{SnapshotInterval: 7, SnapshotKeepRecent: 3}) {
		t.Fatalf("written and read back: %+v %v", c, err)
	}
	for _, tc := range []struct{ body, want string }{
		{"snapshot_interval = 10\nsnapshot_keep = 2\n", "unknown key"},
		{"snapshot_interval = -1\n", "snapshot_interval -1"},
		{"snapshot_keep_recent = 0\n", "snapshot_keep_recent 0"},
		{"snapshot_interval = \"often\"\n", "app.toml"},
		{"snapshot_interval = \n", "app.toml"},
	} {
		if err := os.WriteFile(AppConfigFile(home), []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadAppConfig(home); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.body, err, tc.want)
		}
	}
	// Only the keys set change the defaults.
	if err := os.WriteFile(AppConfigFile(home), []byte("snapshot_interval = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadAppConfig(home); err != nil || c != (AppConfig{SnapshotInterval: 0, SnapshotKeepRecent: DefaultSnapshotKeepRecent}) {
		t.Fatalf("interval 0: %+v %v", c, err)
	}
}

// TestTestnetHosts: a testnet across machines listens on each host's own
// address, advertises it, and dials the others there.
func TestTestnetHosts(t *testing.T) {
	dir := t.TempDir()
	hosts := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}
	err := Testnet(dir, 3, TestnetOptions{ChainID: testChainID, Hosts: hosts, RPCPort: 36657,
		App: &AppConfig{SnapshotInterval: 100, SnapshotKeepRecent: 4}})
	if err != nil {
		t.Fatalf("Testnet: %v", err)
	}
	nodes, err := TestnetNodes(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 {
		t.Fatalf("%d nodes listed, want 3", len(nodes))
	}
	for i, n := range nodes {
		c, err := LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		p2pAddr := hosts[i] + ":26656"
		if c.P2P.ListenAddress != "tcp://"+p2pAddr || c.P2P.ExternalAddress != p2pAddr || c.RPC.ListenAddress != "tcp://"+hosts[i]+":36657" {
			t.Errorf("node %d: p2p %s external %s rpc %s", i, c.P2P.ListenAddress, c.P2P.ExternalAddress, c.RPC.ListenAddress)
		}
		if n.P2P != p2pAddr || n.RPC != "tcp://"+hosts[i]+":36657" {
			t.Errorf("node %d listed as %+v", i, n)
		}
		if c.P2P.AllowDuplicateIP {
			t.Errorf("node %d allows duplicate IPs", i)
		}
		for j, m := range nodes {
			if has := strings.Contains(c.P2P.PersistentPeers, m.Peer()); has != (i != j) {
				t.Errorf("node %d peers %q: %s listed %v", i, c.P2P.PersistentPeers, m.Peer(), has)
			}
		}
		if a, err := LoadAppConfig(n.Home); err != nil || a.SnapshotInterval != 100 || a.SnapshotKeepRecent != 4 {
			t.Errorf("node %d app.toml: %+v %v", i, a, err)
		}
	}

	for _, tc := range []struct {
		name string
		opts TestnetOptions
		want string
	}{
		{"too few hosts", TestnetOptions{Hosts: hosts[:2]}, "2 hosts for 3 validators"},
		{"not an IP", TestnetOptions{Hosts: []string{"10.0.0.1", "box", "10.0.0.3"}}, `host 1 "box"`},
		{"twice", TestnetOptions{Hosts: []string{"10.0.0.1", "10.0.0.2", "10.0.0.1"}}, "both 10.0.0.1"},
		{"unspecified", TestnetOptions{Hosts: []string{"10.0.0.1", "0.0.0.0", "10.0.0.3"}}, "unspecified"},
		{"base port", TestnetOptions{Hosts: hosts, BasePort: 30000}, "base port"},
		{"same ports", TestnetOptions{Hosts: hosts, P2PPort: 30000, RPCPort: 30000}, "both on port 30000"},
		{"ports without hosts", TestnetOptions{P2PPort: 30000}, "without hosts"},
	} {
		tc.opts.ChainID = testChainID
		err := Testnet(t.TempDir(), 3, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// TestJoinFromFile: a node joining from a genesis file gets the genesis,
// its peers, its own keys and no voting power; bad input is refused with
// a clear error.
func TestJoinFromFile(t *testing.T) {
	dir := t.TempDir()
	if err := Testnet(dir, 2, TestnetOptions{ChainID: testChainID}); err != nil {
		t.Fatal(err)
	}
	nodes, err := TestnetNodes(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	genesis := filepath.Join(nodes[0].Home, "config", "genesis.json")
	peers := []string{nodes[0].Peer(), nodes[1].Peer()}
	home := filepath.Join(dir, "full")
	j, err := Join(context.Background(), home, JoinOptions{Genesis: genesis, Peers: peers, ChainID: testChainID})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if j.ChainID != testChainID || j.StateSync || j.NodeID == "" || j.Peers != strings.Join(peers, ",") {
		t.Fatalf("Join wrote %+v", j)
	}
	c, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if c.P2P.PersistentPeers != j.Peers || c.StateSync.Enable || !c.P2P.AllowDuplicateIP {
		t.Errorf("config: peers %q statesync %v duplicate IPs %v", c.P2P.PersistentPeers, c.StateSync.Enable, c.P2P.AllowDuplicateIP)
	}
	gen, err := types.GenesisDocFromFile(c.GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	pv := loadValidatorKey(t, c.PrivValidatorKeyFile())
	for _, v := range gen.Validators {
		if v.Address.String() == pv {
			t.Errorf("the joined node's validator key %s is in the genesis", pv)
		}
	}
	if _, err := os.Stat(AppConfigFile(home)); err != nil {
		t.Errorf("no app.toml: %v", err)
	}

	other := filepath.Join(t.TempDir(), "genesis.json")
	gen.ChainID = "another-chain"
	if err := gen.SaveAs(other); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		home string
		opts JoinOptions
		want string
	}{
		{"existing home", home, JoinOptions{Genesis: genesis, Peers: peers}, "already holds a node"},
		{"peer without an ID", "", JoinOptions{Genesis: genesis, Peers: []string{"127.0.0.1:26656"}}, `peer "127.0.0.1:26656": want ID@HOST:PORT`},
		{"no peers", "", JoinOptions{Genesis: genesis}, "no peers"},
		{"no genesis", "", JoinOptions{Peers: peers}, "no genesis"},
		{"missing genesis", "", JoinOptions{Genesis: genesis + ".gone", Peers: peers}, "no such file"},
		{"another chain", "", JoinOptions{Genesis: other, Peers: peers, ChainID: testChainID}, `of chain "another-chain", not "agora-test-1"`},
		{"unreachable genesis RPC", "", JoinOptions{Genesis: "http://127.0.0.1:1", Peers: peers}, "fetch the genesis from http://127.0.0.1:1"},
		{"unreachable state sync", "", JoinOptions{Genesis: genesis, Peers: peers, StateSync: []string{"127.0.0.1:1"}}, "state sync server http://127.0.0.1:1"},
		{"bad state sync address", "", JoinOptions{Genesis: genesis, Peers: peers, StateSync: []string{"nowhere"}}, `RPC address "nowhere"`},
		{"bad listen address", "", JoinOptions{Genesis: genesis, Peers: peers, P2PAddress: "0.0.0.0"}, `P2P address "0.0.0.0"`},
	} {
		h := tc.home
		if h == "" {
			h = filepath.Join(t.TempDir(), "node")
		}
		_, err := Join(context.Background(), h, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if _, err := Join(context.Background(), home, JoinOptions{Genesis: genesis, Peers: peers, Force: true}); err != nil {
		t.Errorf("Join --force over the home: %v", err)
	}
}

// loadValidatorKey is the address of the validator key in file.
func loadValidatorKey(t *testing.T, file string) string {
	t.Helper()
	var k privval.FilePVKey
	if err := checkJSONFile(file, &k); err != nil {
		t.Fatal(err)
	}
	return k.PubKey.Address().String()
}
