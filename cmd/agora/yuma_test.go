package main

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/consensus"
)

// runWith executes args in-process with stdin and real files readable.
func runWith(t *testing.T, stdin string, args ...string) (result, map[string]string) {
	t.Helper()
	files := map[string]string{}
	e, stdout, stderr := testEnv(stdin, nil, files)
	e.ReadFile = os.ReadFile
	code := execute(context.Background(), e, newRoot("test"), args)
	return result{code, stdout.String(), stderr.String()}, files
}

// The shipped example is subtensor's test_active_stake, epoch 2: only uid 0
// refreshed its weights, so uid 1's bonds decay.
func TestYumaEpochExample(t *testing.T) {
	for _, args := range [][]string{
		{"yuma", "epoch", "--input", "../../consensus/testdata/active_stake_epoch2.json"},
		{"yuma", "epoch"},
	} {
		stdin := ""
		if len(args) == 2 {
			b, err := os.ReadFile("../../consensus/testdata/active_stake_epoch2.json")
			if err != nil {
				t.Fatal(err)
			}
			stdin = string(b)
		}
		r, _ := runWith(t, stdin, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d, stderr %s", args, r.code, r.stderr)
		}
		var out consensus.Output
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("%v: output is not JSON: %v\n%s", args, err, r.stdout)
		}
		if got, want := out.Dividends[:2], []uint16{36044, 29490}; !slices.Equal(got, want) {
			t.Errorf("%v: dividends = %v, want %v", args, got, want)
		}
		if got, want := out.Emission[:2], []uint64{274999999, 224999999}; !slices.Equal(got, want) {
			t.Errorf("%v: emission = %v, want %v", args, got, want)
		}
		if got, want := out.Bonds[1], []consensus.Entry{{UID: 2, Value: 53619}, {UID: 3, Value: 53619}}; !slices.Equal(got, want) {
			t.Errorf("%v: bonds[1] = %v, want %v", args, got, want)
		}
		// The contract's output keys are all there.
		var keys map[string]json.RawMessage
		_ = json.Unmarshal([]byte(r.stdout), &keys)
		for _, k := range []string{"consensus", "incentive", "dividends", "validator_trust", "server_emission", "validator_emission", "emission", "validator_permits", "bonds"} {
			if _, ok := keys[k]; !ok {
				t.Errorf("output lacks %q", k)
			}
		}
	}
}

// Bad input exits non-zero with a message that names the field.
func TestYumaEpochBadInput(t *testing.T) {
	for _, tc := range []struct{ stdin, want string }{
		{``, "empty input"},
		{`{"n":2,`, "malformed JSON"},
		{`{"n":2,"block":1,"last_epoch_block":0,"emission":1}`, "stake: missing"},
		{`{"n":2,"last_epoch_block":0,"emission":1,"stake":[1,2]}`, "block: missing"},
		{`{"n":2,"block":1,"last_epoch_block":0,"emission":1,"stake":[1],"permits":[true,true],"last_update":[0,0],"block_at_registration":[0,0]}`, "stake: has 1 entries, want n = 2"},
		{`{"n":2,"block":1,"last_epoch_block":0,"emission":1,"stake":[1,2],"permits":[true,true],"last_update":[0,0],"block_at_registration":[0,0],"weights":[[[5,1]],[]]}`, "weights[0]: uid 5 is out of range (n = 2)"},
		{`{"n":1,"block":1,"last_epoch_block":0,"emission":1,"stake":[1],"permits":[true],"last_update":[0],"block_at_registration":[0],"weights":[[[0,70000]]]}`, "weights[0][0]: value 70000 is not an integer in [0, 65535]"},
		{`{"n":1,"block":1,"last_epoch_block":0,"emission":1,"stake":[1],"permits":[true],"last_update":[0],"block_at_registration":[0],"bonds":[[[0]]]}`, "bonds[0][0]: want [uid, value]"},
		{`{"n":2,"bogus":1}`, `unknown key "bogus"`},
		{`{"n":1,"params":{"kapa":1}}`, `params: unknown key "kapa"`},
		{`{"n":2,"block":1,"last_epoch_block":0,"emission":1,"stake":[1,-1],"permits":[true,true],"last_update":[0,0],"block_at_registration":[0,0]}`, "stake[1]: -1 is not an integer"},
		{`{"n":2,"block":1,"last_epoch_block":0,"emission":1,"stake":[1,"2"],"permits":[true,true],"last_update":[0,0],"block_at_registration":[0,0]}`, `stake[1]: "2" is not an integer`},
		{`{"n":2,"block":1,"last_epoch_block":0,"emission":1,"stake":[1,2],"permits":[true,1],"last_update":[0,0],"block_at_registration":[0,0]}`, "permits[1]: 1 is not true or false"},
		{`{"stake":[]}`, "n: missing"},
		{`{"n":1,"block":1,"last_epoch_block":0,"emission":1,"owner_uid":3,"stake":[1],"permits":[true],"last_update":[0],"block_at_registration":[0]}`, "owner_uid: 3 is not a uid"},
		{`{"n":0} {}`, "trailing data"},
	} {
		r, _ := runWith(t, tc.stdin, "yuma", "epoch")
		if r.code != exitError || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("input %s: exit %d, stderr %q; want exit 1 and %q", tc.stdin, r.code, r.stderr, tc.want)
		}
	}
}

func TestYumaSimulate(t *testing.T) {
	scenario := "../../yumasim/testdata/kappa_moves_first.json"
	r, _ := runWith(t, "", "yuma", "simulate", scenario)
	if r.code != 0 || !strings.Contains(r.stdout, "epoch 5") || !strings.Contains(r.stdout, "dividends") {
		t.Fatalf("table: exit %d, stderr %s, stdout %.300s", r.code, r.stderr, r.stdout)
	}
	// The flags column's legend follows the first table, once; --help has it too.
	if n := strings.Count(r.stdout, "flags: P = validator permit"); n != 1 || strings.Index(r.stdout, "flags: P =") > strings.Index(r.stdout, "epoch 1 ") {
		t.Errorf("table: %d legends, want 1 after the first table:\n%.1500s", n, r.stdout)
	}
	if h, _ := runWith(t, "", "yuma", "simulate", "--help"); !strings.Contains(h.stdout, "P for a\nvalidator permit") {
		t.Errorf("yuma simulate --help does not explain the flags column:\n%s", h.stdout)
	}
	// Flags may follow the scenario; JSON carries every epoch.
	r, files := runWith(t, "", "yuma", "simulate", scenario, "--output", "json", "--plot", "out.png")
	if r.code != 0 {
		t.Fatalf("json: exit %d, stderr %s", r.code, r.stderr)
	}
	var doc struct {
		Epochs []json.RawMessage `json:"epochs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Epochs) == 0 {
		t.Fatalf("json output: %v (%d epochs)", err, len(doc.Epochs))
	}
	if _, err := png.Decode(strings.NewReader(files["out.png"])); err != nil {
		t.Errorf("--plot out.png: %v", err)
	}
	r, files = runWith(t, "", "yuma", "simulate", "--plot", "out.svg", scenario)
	if r.code != 0 || !strings.HasPrefix(strings.TrimSpace(files["out.svg"]), "<") {
		t.Errorf("--plot out.svg: exit %d, stderr %s", r.code, r.stderr)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"yuma", "simulate"}, exitUsage, "want one scenario file"},
		{[]string{"yuma", "simulate", scenario, "--plot", "x.gif"}, exitUsage, "want a .svg or .png file"},
		{[]string{"yuma", "simulate", "missing.json"}, exitError, "missing.json"},
		{[]string{"yuma", "simulate", "--output", "xml", scenario}, exitUsage, "xml"},
	} {
		r, _ := runWith(t, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// TestYumaSimulateMechanisms: a scenario with two mechanisms prints the
// aggregate table, and its JSON carries each mechanism's output per epoch.
func TestYumaSimulateMechanisms(t *testing.T) {
	scenario := "../../yumasim/testdata/two_mechanisms.json"
	r, _ := runWith(t, "", "yuma", "simulate", scenario)
	if r.code != 0 || !strings.Contains(r.stdout, "epoch 11") || !strings.Contains(r.stdout, "Copier") {
		t.Fatalf("table: exit %d, stderr %s, stdout %.300s", r.code, r.stderr, r.stdout)
	}
	r, _ = runWith(t, "", "yuma", "simulate", scenario, "--output", "json")
	var doc struct {
		Epochs []struct {
			Mechanisms []struct {
				Mechanism int    `json:"mechanism"`
				Emission  uint64 `json:"emission"`
			} `json:"mechanisms"`
		} `json:"epochs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Epochs) != 12 {
		t.Fatalf("json output: %v (%d epochs)", err, len(doc.Epochs))
	}
	if m := doc.Epochs[0].Mechanisms; len(m) != 2 || m[1].Mechanism != 1 || m[0].Emission+m[1].Emission != 1_000_000_000 || m[1].Emission != 299_992_370 {
		t.Errorf("epoch 0's mechanisms: %+v", m)
	}
}
