package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
)

// waitEpoch polls "query epoch" until the subnet's epoch index is at
// least want, and returns it.
func (e *txEnv) waitEpoch(netuid string, want uint64) chain.EpochView {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v := decodeJSON[chain.EpochView](e.t, e.ok("query", "epoch", netuid, "--output", "json"))
		if v.Epoch >= want {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("subnet %s stuck at epoch %d, want %d", netuid, v.Epoch, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tempWriter returns a function that writes a file into a fresh temporary
// folder and returns its path.
func tempWriter(t *testing.T) func(name, body string) string {
	dir := t.TempDir()
	return func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// TestTxWeights drives set, commit and reveal through the CLI against a
// node, and reads the results back with query weights, commits and epoch.
func TestTxWeights(t *testing.T) {
	e, _, _, miner := newTxEnv(t)
	write := tempWriter(t)
	e.ok("tx", "subnet", "create", "--wallet", "alice", "--params",
		write("p.json", `{"tempo": 3, "min_burn": 1000000000, "max_uids": 4, "max_validators": 4, "weights_rate_limit": 1}`))
	e.ok("tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1")
	e.ok("tx", "stake", "add", "--wallet", "alice", "--hotkey", "miner1", "--amount", "10")
	v := e.waitEpoch("1", 1)
	start := v.Epoch
	v = e.waitEpoch("1", start+1) // an epoch with the stake: a permit
	if len(v.Neurons) != 1 || !v.Neurons[0].ValidatorPermit {
		t.Fatalf("epoch view %+v", v)
	}

	r := e.ok("tx", "weights", "set", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:5")
	if !strings.Contains(r.stdout, "set_weights: included") {
		t.Errorf("tx weights set:\n%s", r.stdout)
	}
	row := decodeJSON[chain.RowView](t, e.ok("query", "weights", "1", "0", "--output", "json"))
	if len(row.Row) != 1 || row.Row[0].Value != 65535 || row.Hotkey != miner {
		t.Errorf("query weights: %+v", row)
	}
	if r := e.ok("query", "bonds", "1", "0"); !strings.Contains(r.stdout, "bonds:") {
		t.Errorf("query bonds:\n%s", r.stdout)
	}
	e.fails(1, []string{"bad_weights", "2 uids but the subnet has 1 uid"},
		"tx", "weights", "set", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:1,3:1")
	e.fails(2, []string{"--weights"}, "tx", "weights", "set", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:x")
	e.fails(2, []string{"--salt is required"}, "tx", "weights", "reveal", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:1")

	// Commit-reveal on, with a longer tempo so the reveal window is wide.
	e.ok("tx", "subnet", "set-params", "--wallet", "alice", "--netuid", "1", "--params", write("cr.json", `{"commit_reveal": true, "tempo": 20}`))
	e.fails(1, []string{"commit_reveal_on", "uses commit-reveal"},
		"tx", "weights", "set", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:5")
	j := decodeJSON[txJSON](t, e.ok("tx", "weights", "commit", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:7", "--output", "json"))
	salt, _ := j.Extra["salt"].(string)
	hash, _ := j.Extra["hash"].(string)
	if j.Status != "included" || len(strings.Split(salt, ",")) != 8 || len(hash) != 64 || !strings.Contains(j.Extra["reveal_with"].(string), "--salt "+salt) {
		t.Fatalf("tx weights commit: %+v", j)
	}
	cm := decodeJSON[chain.CommitsView](t, e.ok("query", "commits", "1", miner, "--output", "json"))
	if len(cm.Commits) != 1 || cm.Commits[0].Hash != hash {
		t.Fatalf("query commits: %+v", cm)
	}
	reveal := []string{"tx", "weights", "reveal", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:7", "--salt", salt}
	// Before its reveal epoch the reveal is refused; unless that epoch
	// began between the query and the reveal, which then lands.
	due := cm.Commits[0].RevealEpoch
	revealed := false
	if cm.Epoch < due {
		r := e.run(reveal...)
		switch {
		case r.code == 1 && strings.Contains(r.stderr, "reveal_too_early") && strings.Contains(r.stderr, "too early: reveal in epoch"):
		case r.code == 0 && e.waitEpoch("1", 0).Epoch >= due:
			revealed = true
		default:
			t.Errorf("reveal before epoch %d: exit %d\n%s%s", due, r.code, r.stdout, r.stderr)
		}
	}
	e.waitEpoch("1", due)
	e.fails(1, []string{"no_matching_commit"}, "tx", "weights", "reveal", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:7", "--salt", "1,2")
	if !revealed {
		r = e.ok(reveal...)
		if !strings.Contains(r.stdout, "reveal_weights: included") {
			t.Errorf("tx weights reveal:\n%s", r.stdout)
		}
	}
	if cm := decodeJSON[chain.CommitsView](t, e.ok("query", "commits", "1", miner, "--output", "json")); len(cm.Commits) != 0 {
		t.Errorf("after reveal: %+v", cm)
	}
	if r := e.ok("query", "epoch", "1"); !strings.Contains(r.stdout, "next_epoch_block:") {
		t.Errorf("query epoch:\n%s", r.stdout)
	}
}
