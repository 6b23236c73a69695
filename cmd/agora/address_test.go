package main

import (
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
)

// TestParseAccountForeign: addresses from other chains get an error that
// says what they are and what Agora takes; Agora's own forms parse.
func TestParseAccountForeign(t *testing.T) {
	pk := make([]byte, keys.PublicKeySize)
	pk[0] = 7
	addr := keys.PublicKey(pk).Address()
	for _, c := range []struct{ in, want string }{
		{"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "looks like a Bittensor (SS58) address"},
		{"0x71C7656EC7ab88b098defB751B7401B5f6d8976F", "an Ethereum-style 0x address (20 bytes)"},
		{"0x" + strings.Repeat("ab", 32), "without 0x"},
		{addr[:47], "agora1"}, // a truncated address is not taken for SS58
	} {
		_, err := parseAccount(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseAccount(%q) = %v, want an error saying %q", c.in, err, c.want)
		}
		if c.in == addr[:47] && strings.Contains(err.Error(), "SS58") {
			t.Errorf("a truncated agora address taken for SS58: %v", err)
		}
	}
	if id, err := parseAccount(addr); err != nil || id[0] != 7 {
		t.Errorf("parseAccount(%s) = %x, %v", addr, id, err)
	}
}

// TestTxTextHashes: a commit's hash in a transaction's events is printed
// as hex, an account as its address.
func TestTxTextHashes(t *testing.T) {
	pk := make([]byte, keys.PublicKeySize)
	pk[0] = 9
	acct := keys.PublicKey(pk).Hex()
	hash := strings.Repeat("ab", 32)
	out := &txOutput{Kind: "commit_weights", Status: "included", Result: &chainclient.Result{Height: 5, Events: []abci.Event{{Type: "commit_weights",
		Attributes: []abci.EventAttribute{{Key: "signer", Value: acct}, {Key: "hash", Value: hash}}}}}}
	var b strings.Builder
	printTxText(&b, out)
	if !strings.Contains(b.String(), "hash="+hash) || !strings.Contains(b.String(), "signer="+keys.PublicKey(pk).Address()) {
		t.Errorf("printed:\n%s", b.String())
	}
}
