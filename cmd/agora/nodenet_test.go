package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/seed0ffb8d46/agora/node"
	"github.com/seed0ffb8d46/agora/node/nodetest"
)

// TestNodeTestnetHosts: agora node testnet --hosts writes one home per
// host and prints each one's addresses, the genesis and the peers.
func TestNodeTestnetHosts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	r := agora(t, nil, nil, "node", "testnet", "--out", dir, "--validators", "2", "--chain-id", "agora-hosts",
		"--hosts", "192.168.1.10,192.168.1.11", "--rpc-port", "36657", "--balance", testKey+"=5",
		"--snapshot-interval", "250", "--snapshot-keep", "3", "--output", "json")
	if r.code != 0 {
		t.Fatalf("node testnet: exit %d, stderr %q", r.code, r.stderr)
	}
	var res struct {
		Homes   []string `json:"homes"`
		Genesis string   `json:"genesis"`
		Peers   string   `json:"peers"`
		RPC     []string `json:"rpc"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	nodes, err := node.TestnetNodes(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantPeers := nodes[0].Peer() + "," + nodes[1].Peer()
	if len(res.Homes) != 2 || res.Homes[1] != node.TestnetHome(dir, 1) || res.Genesis != filepath.Join(dir, "node0", "config", "genesis.json") ||
		res.Peers != wantPeers || strings.Join(res.RPC, " ") != "tcp://192.168.1.10:36657 tcp://192.168.1.11:36657" {
		t.Errorf("json output %+v, want peers %s", res, wantPeers)
	}
	if !strings.HasSuffix(nodes[1].Peer(), "@192.168.1.11:26656") {
		t.Errorf("node1's peer address %s", nodes[1].Peer())
	}
	if c, err := node.LoadAppConfig(res.Homes[0]); err != nil || c.SnapshotInterval != 250 || c.SnapshotKeepRecent != 3 {
		t.Errorf("app.toml: %+v %v", c, err)
	}

	// start's flags override app.toml, checked before anything starts.
	r = agora(t, nil, nil, "node", "start", "--home", res.Homes[0], "--snapshot-keep", "0")
	if r.code != 1 || !strings.Contains(r.stderr, "snapshot_keep_recent 0: want 1 to") {
		t.Errorf("node start --snapshot-keep 0: exit %d, stderr %q", r.code, r.stderr)
	}

	// Text, on loopback.
	r = agora(t, nil, nil, "node", "testnet", "--out", dir, "--validators", "1", "--chain-id", "agora-local", "--force")
	if r.code != 0 || !strings.Contains(r.stdout, "wrote a 1-validator testnet for chain agora-local") ||
		!strings.Contains(r.stdout, "p2p 127.0.0.1:") || !strings.Contains(r.stdout, "peers: ") {
		t.Errorf("node testnet: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--chain-id", "x"}, "--out is required"},
		{[]string{"--out", dir}, "--chain-id is required"},
		{[]string{"--out", dir, "--chain-id", "x", "--validators", "3", "--hosts", "10.0.0.1,10.0.0.2"}, "--hosts has 2 addresses for 3 validators"},
		{[]string{"--out", dir, "--chain-id", "x", "--p2p-port", "30000"}, "--p2p-port and --rpc-port only with --hosts"},
		{[]string{"--out", dir, "--chain-id", "x", "--snapshot-keep", "0"}, "snapshot_keep_recent 0"},
		{[]string{"--out", dir, "--chain-id", "x", "--validators", "1"}, "already holds a node"},
	} {
		r := agora(t, nil, nil, append([]string{"node", "testnet"}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("node testnet %v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestNodeJoin: agora node join fetches the genesis from a running node
// and, with --state-sync, its trust height and hash; bad input gets a
// clear error.
func TestNodeJoin(t *testing.T) {
	addr := nodetest.Start(t, "agora-join", nil)
	c, err := rpchttp.New(addr, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	var st *coretypes.ResultStatus
	for deadline := time.Now().Add(20 * time.Second); st == nil || st.SyncInfo.LatestBlockHeight < 2; time.Sleep(20 * time.Millisecond) {
		if st, err = c.Status(context.Background()); err != nil || time.Now().After(deadline) {
			t.Fatalf("status: %v %+v", err, st)
		}
	}
	peer := string(st.NodeInfo.ID()) + "@" + strings.TrimPrefix(st.NodeInfo.ListenAddr, "tcp://")
	url := "http://" + strings.TrimPrefix(addr, "tcp://")
	home := t.TempDir()
	r := agora(t, nil, nil, "node", "join", "--home", home, "--genesis", url, "--peers", peer,
		"--state-sync", url, "--chain-id", "agora-join", "--output", "json")
	if r.code != 0 {
		t.Fatalf("node join: exit %d, stderr %q", r.code, r.stderr)
	}
	var j node.Joined
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if j.ChainID != "agora-join" || !j.StateSync || j.TrustHeight != 1 || len(j.TrustHash) != 64 ||
		strings.Join(j.RPCServers, ",") != url+","+url || j.Peers != peer {
		t.Errorf("node join wrote %+v", j)
	}
	cfg, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	ss := cfg.StateSync
	if !ss.Enable || ss.TrustHeight != 1 || ss.TrustHash != j.TrustHash || len(ss.RPCServers) != 2 || ss.DiscoveryTime != node.StateSyncDiscoveryTime {
		t.Errorf("[statesync] %+v", ss)
	}

	r = agora(t, nil, nil, "node", "join", "--home", t.TempDir(), "--genesis", url, "--peers", peer)
	if r.code != 0 || !strings.Contains(r.stdout, "wrote a full node for chain agora-join") || !strings.Contains(r.stdout, "replays every block") {
		t.Errorf("node join: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--home", home, "--genesis", url, "--peers", peer}, "already holds a node"},
		{[]string{"--home", t.TempDir(), "--genesis", url, "--peers", "127.0.0.1:26656"}, "want ID@HOST:PORT"},
		{[]string{"--home", t.TempDir(), "--genesis", url}, "--peers is required"},
		{[]string{"--home", t.TempDir(), "--peers", peer}, "--genesis is required"},
		{[]string{"--home", t.TempDir(), "--genesis", url, "--peers", peer, "--chain-id", "other"}, `of chain "agora-join", not "other"`},
		{[]string{"--home", t.TempDir(), "--genesis", url, "--peers", peer, "--state-sync", "http://127.0.0.1:1"}, "state sync server http://127.0.0.1:1"},
		{[]string{"--home", t.TempDir(), "--genesis", url, "--peers", peer, "--external-address", "nowhere"}, "--external-address"},
	} {
		r := agora(t, nil, nil, append([]string{"node", "join"}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("node join %v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
