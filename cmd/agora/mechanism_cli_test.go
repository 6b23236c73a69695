package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/chain"
)

// TestTxMechanisms drives a subnet with two incentive mechanisms through
// the CLI against a node: the hyperparameters set them, weights go to
// mechanism 1 with --mechanism, and the weights, commits and metagraph
// queries read each mechanism back, in text and JSON.
func TestTxMechanisms(t *testing.T) {
	e, _, _, miner := newTxEnv(t)
	write := tempWriter(t)
	e.fails(1, []string{"mechanism_emission_split [40000 20000] sums to 60000, want 65535"},
		"tx", "subnet", "create", "--wallet", "alice", "--params", write("bad.json", `{"mechanism_count": 2, "mechanism_emission_split": [40000, 20000]}`))
	e.ok("tx", "subnet", "create", "--wallet", "alice", "--params", write("p.json",
		`{"tempo": 3, "min_burn": 1000000000, "max_uids": 4, "max_validators": 4, "weights_rate_limit": 1, "mechanism_count": 2, "mechanism_emission_split": [45875, 19660]}`))
	sn := decodeJSON[chain.SubnetView](t, e.ok("query", "subnet", "1", "--output", "json"))
	if sn.Params.MechanismCount != 2 || len(sn.Params.MechanismSplit) != 2 || sn.Params.MechanismSplit[1] != 19660 {
		t.Fatalf("query subnet: %+v", sn.Params)
	}
	if r := e.ok("query", "subnet", "1"); !strings.Contains(r.stdout, "mechanism_count:") || !strings.Contains(r.stdout, "45875/19660") {
		t.Errorf("query subnet:\n%s", r.stdout)
	}
	e.ok("tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1")
	e.ok("tx", "stake", "add", "--wallet", "alice", "--hotkey", "miner1", "--amount", "10")
	v := e.waitEpoch("1", 1)
	e.waitEpoch("1", v.Epoch+1) // an epoch with the stake: a permit

	set := []string{"tx", "weights", "set", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:5"}
	e.ok(append(set, "--mechanism", "1")...)
	row := decodeJSON[chain.RowView](t, e.ok("query", "weights", "1", "0", "--mechanism", "1", "--output", "json"))
	if row.Mechanism != 1 || len(row.Row) != 1 || row.Row[0].Value != 65535 {
		t.Errorf("query weights --mechanism 1: %+v", row)
	}
	if row := decodeJSON[chain.RowView](t, e.ok("query", "weights", "1", "0", "--output", "json")); len(row.Row) != 0 {
		t.Errorf("query weights on mechanism 0: %+v", row)
	}
	if r := e.ok("query", "bonds", "1", "0", "--mechanism", "1"); !strings.Contains(r.stdout, "mechanism:") || !strings.Contains(r.stdout, "bonds:") {
		t.Errorf("query bonds --mechanism 1:\n%s", r.stdout)
	}
	e.fails(1, []string{"unknown_mechanism", "subnet 1 has no mechanism 2: its mechanism_count is 2"}, append(set, "--mechanism", "2")...)
	e.fails(2, []string{"--mechanism", "want an integer from 0 to 7"}, append(set, "--mechanism", "8")...)

	v = e.waitEpoch("1", v.Epoch+3)
	mg := decodeJSON[chain.MetagraphView](t, e.ok("query", "metagraph", "1", "--output", "json"))
	if len(mg.Neurons) != 1 || len(mg.Neurons[0].Mechanisms) != 2 {
		t.Fatalf("query metagraph: %+v", mg)
	}
	n := mg.Neurons[0]
	// The uid weights itself on mechanism 1 only: all of that mechanism's
	// incentive, and its share of the split in the aggregate. (The subnet
	// has no emission share, so nothing is emitted.)
	if n.Mechanisms[1].Incentive != 65535 || n.Mechanisms[0].Incentive != 0 || n.Incentive != 19660 {
		t.Errorf("aggregate incentive %d, mechanisms %+v", n.Incentive, n.Mechanisms)
	}
	one := decodeJSON[struct {
		Mechanism uint8 `json:"mechanism"`
		chain.MetagraphView
	}](t, e.ok("query", "metagraph", "1", "--mechanism", "1", "--output", "json"))
	if m := one.Neurons; one.Mechanism != 1 || len(m) != 1 || m[0].Mechanisms != nil || m[0].Incentive != n.Mechanisms[1].Incentive || m[0].LastUpdate != n.Mechanisms[1].LastUpdate {
		t.Errorf("query metagraph --mechanism 1: %+v, aggregate's entry %+v", one, n.Mechanisms[1])
	}
	if r := e.ok("query", "metagraph", "1"); !strings.Contains(r.stdout, "2 mechanisms aggregated (split 45875/19660)") {
		t.Errorf("query metagraph:\n%s", r.stdout)
	}
	if r := e.ok("query", "metagraph", "1", "--mechanism", "0"); !strings.Contains(r.stdout, "mechanism 0 of 2") {
		t.Errorf("query metagraph --mechanism 0:\n%s", r.stdout)
	}
	e.fails(1, []string{"subnet 1 has no mechanism 3"}, "query", "metagraph", "1", "--mechanism", "3")

	// Commit-reveal: a commit for mechanism 1 is listed there alone and
	// its reveal command names the mechanism.
	e.ok("tx", "subnet", "set-params", "--wallet", "alice", "--netuid", "1", "--params", write("cr.json", `{"commit_reveal": true, "tempo": 20}`))
	j := decodeJSON[txJSON](t, e.ok("tx", "weights", "commit", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--weights", "0:7", "--mechanism", "1", "--output", "json"))
	if !strings.HasSuffix(j.Extra["reveal_with"].(string), " --mechanism 1") {
		t.Errorf("tx weights commit --mechanism 1: %+v", j)
	}
	cm := decodeJSON[chain.CommitsView](t, e.ok("query", "commits", "1", miner, "--mechanism", "1", "--output", "json"))
	if cm.Mechanism != 1 || len(cm.Commits) != 1 || cm.Commits[0].Hash != j.Extra["hash"] {
		t.Errorf("query commits --mechanism 1: %+v", cm)
	}
	if cm := decodeJSON[chain.CommitsView](t, e.ok("query", "commits", "1", miner, "--output", "json")); len(cm.Commits) != 0 {
		t.Errorf("query commits on mechanism 0: %+v", cm)
	}

	// A new count without a split goes back to an even split.
	e.ok("tx", "subnet", "set-params", "--wallet", "alice", "--netuid", "1", "--params", write("three.json", `{"mechanism_count": 3}`))
	if sn := decodeJSON[chain.SubnetView](t, e.ok("query", "subnet", "1", "--output", "json")); sn.Params.MechanismCount != 3 || sn.Params.MechanismSplit != nil {
		t.Errorf("after mechanism_count 3: %+v", sn.Params)
	}
	if cm := decodeJSON[chain.CommitsView](t, e.ok("query", "commits", "1", miner, "--mechanism", "1", "--output", "json")); len(cm.Commits) != 1 {
		t.Errorf("raising the count dropped mechanism 1's commit: %+v", cm)
	}

	// tx subnet hyperparams sets them inline; bad values say what is wrong
	// and send nothing.
	e.ok("tx", "subnet", "hyperparams", "--wallet", "alice", "--netuid", "1", "--set", "mechanism_count=2", "--set", "mechanism_emission_split=39321,26214")
	if sn := decodeJSON[chain.SubnetView](t, e.ok("query", "subnet", "1", "--output", "json")); sn.Params.MechanismCount != 2 || !slices.Equal(sn.Params.MechanismSplit, []uint16{39321, 26214}) {
		t.Errorf("after hyperparams --set: %+v", sn.Params)
	}
	e.fails(1, []string{"mechanism_emission_split [39321 26213] sums to 65534, want 65535"},
		"tx", "subnet", "hyperparams", "--wallet", "alice", "--netuid", "1", "--set", "mechanism_emission_split=39321,26213")
	e.fails(1, []string{"unknown field \"mechanism_cnt\""}, "tx", "subnet", "hyperparams", "--wallet", "alice", "--netuid", "1", "--set", "mechanism_cnt=2")
	e.fails(2, []string{"give --params FILE or --set KEY=VALUE"}, "tx", "subnet", "hyperparams", "--wallet", "alice", "--netuid", "1")
	e.fails(2, []string{"want KEY=VALUE"}, "tx", "subnet", "hyperparams", "--wallet", "alice", "--netuid", "1", "--set", "tempo")
}
