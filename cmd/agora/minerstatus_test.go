package main

import (
	"strings"
	"testing"
)

// agora miner status on a subnet where no validator announces its scores:
// the miner's standing, and a line that says why there is nothing more;
// --output json has the same.
func TestMinerStatusWithoutValidators(t *testing.T) {
	e, _, _, miner := newTxEnv(t)
	e.ok("tx", "subnet", "create", "--wallet", "alice")
	e.ok("tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1")
	r := e.ok("miner", "status", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--node", e.node)
	for _, want := range []string{"miner " + miner + ": uid 0 on subnet 1", "no validator with a permit announces its scores on chain"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("miner status: no %q in:\n%s", want, r.stdout)
		}
	}
	j := decodeJSON[map[string]any](t, e.ok("miner", "status", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--node", e.node, "--output", "json"))
	if j["registered"] != true || j["uid"] != float64(0) || j["hotkey"] != miner {
		t.Errorf("miner status --output json: %v", j)
	}
	if v, ok := j["validators"].([]any); !ok || len(v) != 0 {
		t.Errorf("validators: %v, want an empty list", j["validators"])
	}
}
