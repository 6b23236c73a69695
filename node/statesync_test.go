package node

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/seed0ffb8d46/agora/chain"
)

// syncBlocks is the length of TestStateSyncJoin's chain: 2000 in make
// test; longer chains show state sync's lead over replay growing
// (go test -run TestStateSyncJoin ./node -args -statesync.blocks=10000, a
// multiple of syncSnapshotInterval).
var syncBlocks = flag.Int64("statesync.blocks", 2000, "TestStateSyncJoin: the chain's length in blocks, a multiple of 500")

// Sizes of TestStateSyncJoin's chain.
const (
	syncSnapshotInterval = 500
	// syncBuildTimeout bounds building 2000 blocks of the chain; only reached when
	// something is broken or the machine is far too busy.
	syncBuildTimeout = 3 * time.Minute
)

// TestStateSyncJoin builds a one-validator chain of 2000 blocks with
// transfers and a subnet running epochs, snapshots every 500 blocks; a
// node that joins with state sync restores a snapshot and block-syncs to
// the tip without replaying the early blocks, a node that joins without
// replays from genesis, and all three agree on the app hash. It logs the
// two join times.
func TestStateSyncJoin(t *testing.T) {
	syncChainBlocks := *syncBlocks
	if syncChainBlocks < syncSnapshotInterval || syncChainBlocks%syncSnapshotInterval != 0 {
		t.Fatalf("-statesync.blocks %d: want a multiple of %d", syncChainBlocks, syncSnapshotInterval)
	}
	owner, val, miner, bob := newAccount("owner"), newAccount("validator"), newAccount("miner"), newAccount("bob")
	dir := t.TempDir()
	err := Testnet(dir, 1, TestnetOptions{
		ChainID:    testChainID,
		Balances:   []chain.GenesisBalance{{Account: owner.hex(), Amount: 1 << 42}},
		Governance: owner.hex(),
		App:        &AppConfig{SnapshotInterval: syncSnapshotInterval, SnapshotKeepRecent: 2},
		Configure: func(_ int, c *cmtcfg.Config) {
			fastConsensus(c)
			c.Consensus.TimeoutCommit = 5 * time.Millisecond
		},
	})
	if err != nil {
		t.Fatalf("Testnet: %v", err)
	}
	log := testLog(t)
	home := TestnetHome(dir, 0)
	v := start(t, home, log)
	c := v.client(t)

	// A subnet with a 50-block tempo and the whole emission, a validator
	// with stake and a miner: every tempo changes neurons, stakes and
	// supply.
	const tempo = 50
	nonce := subnetWithNeurons(t, c, owner, val, miner, tempo)

	// Build the chain: a transfer every few blocks, and the validator's
	// weight on the miner once an epoch has given it a permit.
	built := time.Now()
	deadline := built.Add(time.Duration(syncChainBlocks+1999) / 2000 * syncBuildTimeout)
	weighted := false
	for last := v.height(); v.height() < syncChainBlocks+2; {
		if time.Now().After(deadline) {
			t.Fatalf("built only %d blocks in %v", v.height(), syncBuildTimeout)
		}
		h := v.height()
		if !weighted && h > 3*tempo {
			sendTx(t, c, val, 0, &chain.SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{65535}})
			weighted = true
		}
		if h >= last+20 {
			transfer(t, c, owner, nonce, bob, 1)
			nonce++
			last = h
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("built %d blocks in %v", v.height(), time.Since(built).Round(time.Millisecond))
	// The snapshot at syncChainBlocks may still be being written.
	waitFor(t, "the snapshot at the last interval", func() bool {
		_, err := os.Stat(filepath.Join(SnapshotDir(home), fmt.Sprint(syncChainBlocks), "snapshot.json"))
		return err == nil
	})
	if entries, _ := os.ReadDir(SnapshotDir(home)); len(entries) != 2 {
		t.Errorf("%d entries in the validator's snapshot directory, want the 2 kept", len(entries))
	}

	// Restart the validator at a block time the joiners can catch up with.
	v.stop(t)
	cfg, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Consensus.TimeoutCommit = 100 * time.Millisecond
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	v = start(t, home, log)
	nodes, err := TestnetNodes(dir, 1)
	if err != nil {
		t.Fatal(err)
	}

	joinNode := func(name string, stateSync bool) (*running, time.Duration) {
		t.Helper()
		ports, err := FreePorts(2)
		if err != nil {
			t.Fatal(err)
		}
		opts := JoinOptions{
			Genesis:    v.RPCURL(),
			ChainID:    testChainID,
			Peers:      []string{nodes[0].Peer()},
			Moniker:    name,
			P2PAddress: fmt.Sprintf("127.0.0.1:%d", ports[0]),
			RPCAddress: fmt.Sprintf("127.0.0.1:%d", ports[1]),
			App:        &AppConfig{SnapshotInterval: 0, SnapshotKeepRecent: 2},
			Configure:  fastConsensus,
		}
		if stateSync {
			opts.StateSync = []string{v.RPCURL()}
		}
		jhome := filepath.Join(dir, name)
		j, err := Join(context.Background(), jhome, opts)
		if err != nil {
			t.Fatalf("Join %s: %v", name, err)
		}
		if stateSync && (!j.StateSync || j.TrustHeight < 1 || j.TrustHash == "" || len(j.RPCServers) != 2) {
			t.Fatalf("Join with state sync wrote %+v", j)
		}
		target := v.height()
		began := time.Now()
		n := start(t, jhome, log)
		// The first block stored: right after the restore, for the
		// state-synced node.
		waitHeightWithin(t, n, 1, syncBuildTimeout)
		first := time.Since(began)
		waitHeightWithin(t, n, target, syncBuildTimeout)
		took := time.Since(began)
		t.Logf("%s: first block (%d) stored after %v, at the tip (%d) after %v", name, n.Comet().BlockStore().Base(),
			first.Round(time.Millisecond), target, took.Round(time.Millisecond))
		return n, took
	}
	synced, syncTime := joinNode("statesync", true)
	replayed, replayTime := joinNode("replay", false)
	t.Logf("join to the tip of %d blocks: state sync %v (of which %v is CometBFT's snapshot discovery time), replay from genesis %v, ratio %.2f",
		syncChainBlocks, syncTime.Round(time.Millisecond), StateSyncDiscoveryTime, replayTime.Round(time.Millisecond), float64(replayTime)/float64(syncTime))

	if base := synced.Comet().BlockStore().Base(); base <= syncSnapshotInterval {
		t.Errorf("state-synced node's block store starts at %d: it replayed early blocks", base)
	} else if (base-1)%syncSnapshotInterval != 0 {
		t.Errorf("state-synced node's block store starts at %d, not right after a snapshot height", base)
	}
	if base := replayed.Comet().BlockStore().Base(); base != 1 {
		t.Errorf("replayed node's block store starts at %d, want 1", base)
	}

	// All three at one height with one app hash and block.
	all := []*running{v, synced, replayed}
	h := maxHeight(all...)
	for _, n := range all {
		waitHeightWithin(t, n, h+1, waitTimeout)
	}
	want := v.Comet().BlockStore().LoadBlockMeta(h + 1)
	for _, n := range all[1:] {
		got := n.Comet().BlockStore().LoadBlockMeta(h + 1)
		if got == nil || !bytes.Equal(got.Header.AppHash, want.Header.AppHash) || !bytes.Equal(got.BlockID.Hash, want.BlockID.Hash) {
			t.Fatalf("%s: block %d differs from the validator's", n.Home(), h+1)
		}
	}
}

// waitHeightWithin waits for n to reach height h, for up to d.
func waitHeightWithin(t *testing.T, n *running, h int64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for n.height() < h {
		if time.Now().After(deadline) {
			t.Fatalf("%s at height %d after %v, want %d", n.Home(), n.height(), d, h)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
