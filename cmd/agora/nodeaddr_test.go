package main

import (
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/localnet"
)

// TestFindNode checks the order in which commands find their node: the
// daemon's own key, then the node setting (flag, env or file, layered by
// the config package), then a live localnet record, then the default, and
// that a record not used says why.
func TestFindNode(t *testing.T) {
	live := localnet.Record{RPC: "tcp://127.0.0.1:40001", PID: 101}
	dead := localnet.Record{RPC: "tcp://127.0.0.1:40002", PID: 102}
	mute := localnet.Record{RPC: "tcp://127.0.0.1:40003", PID: 101}
	alive := func(r localnet.Record) bool { return r.PID == 101 }
	answers := func(addr string) error {
		if addr == live.RPC {
			return nil
		}
		return errors.New("connection refused")
	}
	tests := []struct {
		name    string
		src     nodeSources
		record  any // written to <home>/localnet/localnet.json; nil: none
		want    nodeAddr
		skipped string // a substring of want.Skipped
	}{
		{name: "flag", src: nodeSources{Node: "tcp://f:1", NodeFrom: "flag --node"}, record: live,
			want: nodeAddr{Addr: "tcp://f:1", From: "flag --node"}},
		{name: "env", src: nodeSources{Node: "tcp://e:1", NodeFrom: "env AGORA_NODE"}, record: live,
			want: nodeAddr{Addr: "tcp://e:1", From: "env AGORA_NODE"}},
		{name: "config file", src: nodeSources{Node: "tcp://c:1", NodeFrom: "agora.yml:2"}, record: live,
			want: nodeAddr{Addr: "tcp://c:1", From: "config file agora.yml:2"}},
		{name: "daemon's own key first", src: nodeSources{Section: "tcp://m:1", SectionFrom: "flag --miner.node", Node: "tcp://e:1", NodeFrom: "env AGORA_NODE"},
			want: nodeAddr{Addr: "tcp://m:1", From: "flag --miner.node"}},
		{name: "live localnet record", record: live,
			want: nodeAddr{Addr: live.RPC, From: "the localnet record HOME/localnet/localnet.json"}},
		{name: "no record: the default",
			want: nodeAddr{Addr: "tcp://default:1", From: "the default"}},
		{name: "record of a process gone", record: dead,
			want: nodeAddr{Addr: "tcp://default:1", From: "the default"}, skipped: "its process 102 is gone"},
		{name: "record whose address does not answer", record: mute,
			want: nodeAddr{Addr: "tcp://default:1", From: "the default"}, skipped: "nothing answers at tcp://127.0.0.1:40003: connection refused"},
		{name: "broken record", record: "{",
			want: nodeAddr{Addr: "tcp://default:1", From: "the default"}, skipped: "ignored the localnet record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			if tt.record != nil {
				dir := filepath.Join(home, "localnet")
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if r, ok := tt.record.(localnet.Record); ok {
					if _, err := localnet.WriteRecord(dir, r); err != nil {
						t.Fatal(err)
					}
				} else if err := os.WriteFile(filepath.Join(dir, localnet.RecordFile), []byte(tt.record.(string)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			src := tt.src
			src.Home, src.Default, src.Alive, src.Answers = home, "tcp://default:1", alive, answers
			got := findNode(src)
			got.From = strings.ReplaceAll(got.From, home, "HOME")
			skipped := got.Skipped
			got.Skipped = ""
			if got != tt.want {
				t.Errorf("findNode = %+v, want %+v", got, tt.want)
			}
			if (tt.skipped == "") != (skipped == "") || !strings.Contains(skipped, tt.skipped) {
				t.Errorf("skipped %q, want it to contain %q", skipped, tt.skipped)
			}
		})
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "tcp://" + addr
}

// TestNodeSettingLayers runs agora query against addresses where no node
// answers, given by each layer, and checks that the error names the
// address that won and where it came from, and says what to do.
func TestNodeSettingLayers(t *testing.T) {
	flagAddr, envAddr, fileAddr := closedPort(t), closedPort(t), closedPort(t)
	file := map[string]string{"agora.yml": "node: " + fileAddr + "\n"}
	env := map[string]string{"AGORA_NODE": envAddr}
	query := []string{"query", "supply", "--home", t.TempDir(), "--timeout", "2s"}
	tests := []struct {
		name  string
		env   map[string]string
		files map[string]string
		args  []string
		want  []string
	}{
		{name: "flag over env and file", env: env, files: file, args: []string{"--config", "agora.yml", "--node", flagAddr},
			want: []string{"no node answers at " + flagAddr + " (from flag --node)", "check --node"}},
		{name: "env over file", env: env, files: file, args: []string{"--config", "agora.yml"},
			want: []string{"no node answers at " + envAddr + " (from env AGORA_NODE)", "check AGORA_NODE (or unset it)"}},
		{name: "config file", files: file, args: []string{"--config", "agora.yml"},
			want: []string{"no node answers at " + fileAddr + " (from config file agora.yml:1)", "check the node setting in the config file"}},
		{name: "malformed address", env: map[string]string{"AGORA_NODE": "ftp://x"},
			want: []string{`node "ftp://x" (from env AGORA_NODE)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := agora(t, tt.env, tt.files, append(query, tt.args...)...)
			if r.code == 0 {
				t.Fatalf("exit 0 with no node, stdout %q", r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// TestNodeExplainDefault checks the advice when the default (after a
// stale localnet record) does not answer.
func TestNodeExplainDefault(t *testing.T) {
	n := nodeAddr{Addr: closedPort(t), From: "the default", Skipped: "ignored the localnet record R: its process 7 is gone"}
	err := n.explain(errors.New("dial refused"))
	for _, w := range []string{"no node answers at " + n.Addr + " (from the default; ignored the localnet record R: its process 7 is gone): dial refused",
		"start a node (agora localnet, or agora node start), or give its address with --node ADDRESS, env AGORA_NODE or node: in --config FILE"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("explain = %v, want it to contain %q", err, w)
		}
	}
}

// TestLocalnetFindAndFund runs a chain-only localnet under a home, then
// agora query without --node (which finds it by its record) and agora
// localnet fund; then resumes it with --balance, which funds by transfer.
func TestLocalnetFindAndFund(t *testing.T) {
	home := t.TempDir()
	pub, _ := hex.DecodeString(testKey)
	pk, err := keys.PublicKeyFromBytes(pub)
	if err != nil {
		t.Fatal(err)
	}
	addr := pk.Address()
	args := []string{"localnet", "--chain-only", "--validators", "1", "--home", home, "--base-port", "0",
		"--block-time", "100ms", "--log.level", "warn"}
	stdout, stop := background(t, args...)
	rpc := waitExport(t, stdout)
	rec, err := localnet.ReadRecord(filepath.Join(home, "localnet"))
	if err != nil || rec.RPC != rpc || rec.PID != os.Getpid() {
		t.Fatalf("record %+v, %v; want rpc %s and this process", rec, err, rpc)
	}

	balance := func() uint64 {
		t.Helper()
		r := agora(t, nil, nil, "query", "account", addr, "--home", home, "--output", "json")
		if r.code != 0 {
			t.Fatalf("query account without --node: exit %d, stderr %q", r.code, r.stderr)
		}
		return decodeJSON[chain.AccountView](t, r).Balance
	}
	if b := balance(); b != 0 {
		t.Fatalf("balance before funding %d, want 0", b)
	}
	r := agora(t, nil, nil, "localnet", "fund", addr, "12.5", "--home", home)
	if r.code != 0 || !strings.Contains(r.stdout, "funded "+addr+" with 12.500000000 AGR at height ") {
		t.Fatalf("localnet fund: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if b := balance(); b != 12_500_000_000 {
		t.Errorf("balance after fund %d, want 12.5 AGR", b)
	}
	if r := agora(t, nil, nil, "localnet", "fund", addr, "0", "--home", home); r.code != 2 || !strings.Contains(r.stderr, "want more than 0 AGR") {
		t.Errorf("fund 0: exit %d, stderr %q", r.code, r.stderr)
	}
	if code := stop(); code != 0 {
		t.Fatalf("localnet: exit %d after SIGINT", code)
	}
	if _, err := localnet.ReadRecord(filepath.Join(home, "localnet")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record after stop: %v, want none", err)
	}

	// Resumed, --balance is a transfer once the chain runs.
	stdout, stop = background(t, append(args, "--balance", addr+"=1")...)
	waitExport(t, stdout)
	if !strings.Contains(stdout.String(), "funded "+addr+" with 1.000000000 AGR") {
		t.Errorf("resumed localnet with --balance printed %q", stdout.String())
	}
	if b := balance(); b != 13_500_000_000 {
		t.Errorf("balance after a resumed --balance %d, want 13.5 AGR", b)
	}
	if code := stop(); code != 0 {
		t.Fatalf("resumed localnet: exit %d", code)
	}
}

// waitExport waits for the localnet's export AGORA_NODE= line and returns
// its address.
func waitExport(t *testing.T, stdout *lockedBuffer) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for line := range strings.SplitSeq(stdout.String(), "\n") {
			if _, rest, ok := strings.Cut(line, "export AGORA_NODE="); ok {
				addr, _, _ := strings.Cut(rest, " ")
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("localnet printed no export line: %q", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
