package main

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
)

// A miner listening on every interface (0.0.0.0) without
// --miner.external_ip publishes, on a real chain, an address its peers
// reach (here the route to the node on loopback gives 127.0.0.1), never
// 0.0.0.0, and logs how it found it.
func TestMinerOnEveryInterfaceAdvertisesAReachableAddress(t *testing.T) {
	e, _, _, _ := newTxEnv(t)
	e.ok("tx", "subnet", "create", "--wallet", "alice")
	e.ok("tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1")
	_, stderr := runMiner(t, e, "--log.level", "info", "--miner.listen", "0.0.0.0:0")
	var axon string
	waitUntil(t, 60*time.Second, "the miner's axon on chain", func() bool {
		n := decodeJSON[chain.NeuronView](t, e.ok("query", "neuron", "1", "0", "--output", "json"))
		if n.Axon != nil {
			axon = n.Axon.Addr
		}
		return n.Axon != nil
	})
	ap, err := netip.ParseAddrPort(axon)
	if err != nil || ap.Addr() != netip.MustParseAddr("127.0.0.1") || ap.Port() == 0 {
		t.Fatalf("axon on chain %q (%v); want 127.0.0.1:PORT, the route to the node on loopback", axon, err)
	}
	resp, err := http.Get("http://" + axon + "/healthz")
	if err != nil {
		t.Fatalf("the published axon does not answer: %v", err)
	}
	resp.Body.Close()
	log := stderr.String()
	i := strings.Index(log, "advertising axon")
	if i < 0 {
		t.Fatalf("no \"advertising axon\" line in the log:\n%s", log)
	}
	line := log[i:]
	line = line[:strings.IndexByte(line, '\n')]
	nodeHost := strings.TrimPrefix(strings.TrimPrefix(e.node, "tcp://"), "http://")
	if !strings.Contains(line, axon) || !strings.Contains(line, "detected via route to node "+nodeHost) {
		t.Fatalf("log line %q; want the axon %s and \"detected via route to node %s\"", line, axon, nodeHost)
	}
}

// TestParsePublicAddr: --validator.public_addr is IP:PORT, or a port with
// an unspecified (or no) IP that the validator detects.
func TestParsePublicAddr(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7:9091": "203.0.113.7:9091",
		":9091":            "0.0.0.0:9091",
		"0.0.0.0:9091":     "0.0.0.0:9091",
		"[::]:9091":        "[::]:9091",
		"[fd00::5]:0":      "[fd00::5]:0",
	} {
		got, err := parsePublicAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("parsePublicAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"validator.lan:9091", "10.0.0.5", ":", "10.0.0.5:99999"} {
		if got, err := parsePublicAddr(in); err == nil {
			t.Errorf("parsePublicAddr(%q) = %v, want an error", in, got)
		}
	}
}
