package main

import (
	"context"
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/bench"
)

// TestBenchChainQuick runs "agora bench chain" with tiny numbers and
// checks the shape of its JSON output; no timing is asserted beyond rates
// being positive.
func TestBenchChainQuick(t *testing.T) {
	e, stdout, stderr := testEnv("", nil, nil)
	code := execute(context.Background(), e, newRoot("test"), []string{
		"bench", "chain", "--txs", "200", "--senders", "4", "--workers", "2", "--duration", "60s",
		"--neurons", "64", "--validators", "8", "--block-txs", "50", "--rounds", "2",
		"--log.level", "warn", "--output", "json",
	})
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var out struct {
		Throughput struct {
			Txs      int     `json:"txs"`
			TxBytes  int     `json:"tx_bytes"`
			Ratio    float64 `json:"ratio"`
			CPURatio float64 `json:"cpu_ratio"`
			Verify   float64 `json:"verify_us"`
			Bound    float64 `json:"verify_bound_ratio"`
			Settings struct {
				Indexer string `json:"indexer"`
				Recheck *bool  `json:"recheck"`
			} `json:"settings"`
			Agora   *benchLoad `json:"agora"`
			KVStore *benchLoad `json:"kvstore"`
		} `json:"throughput"`
		Finalize *struct {
			Neurons         int      `json:"neurons"`
			Validators      int      `json:"validators"`
			TotalMS         float64  `json:"total_ms"`
			FinalizeMS      float64  `json:"finalize_ms"`
			CommitMS        float64  `json:"commit_ms"`
			BaselineTotalMS float64  `json:"baseline_total_ms"`
			WarmTotalMS     float64  `json:"warm_total_ms"`
			Tempo           uint64   `json:"tempo"`
			Weights         int      `json:"weights_per_validator"`
			EpochTotalMS    float64  `json:"epoch_total_ms"`
			EpochFinalizeMS float64  `json:"epoch_finalize_ms"`
			ConsensusMS     float64  `json:"consensus_epoch_ms"`
			EpochRatio      *float64 `json:"epoch_ratio"`
		} `json:"finalize"`
		Note string `json:"note"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	tp := out.Throughput
	if tp.Txs != 200 || tp.TxBytes < 100 || tp.Settings.Indexer == "" || tp.Settings.Recheck == nil {
		t.Errorf("throughput header = %+v", tp)
	}
	for name, r := range map[string]*benchLoad{"agora": tp.Agora, "kvstore": tp.KVStore} {
		if r == nil {
			t.Fatalf("no %s result:\n%s", name, stdout)
		}
		if r.App != name || r.Committed != 200 || r.Accepted != 200 || r.Failed != 0 || r.Rejected != 0 || r.TimedOut {
			t.Errorf("%s: %+v", name, *r)
		}
		if r.TxPerSec <= 0 || r.WallTxPerSec <= 0 || r.Blocks < 1 || r.FirstHeight < 2 || r.LastHeight < r.FirstHeight {
			t.Errorf("%s: rates and heights %+v", name, *r)
		}
		if runtime.GOOS == "linux" && (r.CPUSeconds <= 0 || r.CPUMicrosPerTx <= 0) {
			t.Errorf("%s: CPU time %+v", name, *r)
		}
		if perTx := r.CPUSeconds * 1e6 / float64(r.Committed); math.Abs(perTx-r.CPUMicrosPerTx) > 1+perTx/100 {
			t.Errorf("%s: %v CPU us/tx for %v s over %d transactions", name, r.CPUMicrosPerTx, r.CPUSeconds, r.Committed)
		}
	}
	if tp.Ratio <= 0 {
		t.Errorf("ratio %v", tp.Ratio)
	}
	if runtime.GOOS == "linux" && tp.CPURatio <= 0 {
		t.Errorf("cpu ratio %v", tp.CPURatio)
	}
	if tp.Verify <= 0 || (runtime.GOOS == "linux" && (tp.Bound <= 0 || tp.Bound >= 1)) {
		t.Errorf("verify %v us, bound ratio %v", tp.Verify, tp.Bound)
	}
	f := out.Finalize
	if f == nil || f.Neurons != 64 || f.Validators != 8 || f.TotalMS <= 0 || f.FinalizeMS <= 0 || f.CommitMS < 0 ||
		f.BaselineTotalMS <= 0 || f.WarmTotalMS <= 0 || f.Tempo < 5 || f.Weights != 56 || f.EpochTotalMS <= 0 ||
		f.EpochFinalizeMS <= 0 || f.ConsensusMS <= 0 || f.EpochRatio == nil {
		t.Errorf("finalize = %+v", f)
	}
	if !strings.Contains(out.Note, "kvstore verifies no signatures") {
		t.Errorf("note = %q", out.Note)
	}
}

type benchLoad struct {
	App          string  `json:"app"`
	Accepted     int     `json:"accepted"`
	Rejected     int     `json:"rejected"`
	Committed    int     `json:"committed"`
	Failed       int     `json:"failed"`
	FirstHeight  int64   `json:"first_height"`
	LastHeight   int64   `json:"last_height"`
	Blocks       int     `json:"blocks"`
	TxPerSec     float64 `json:"tx_per_sec"`
	WallTxPerSec float64 `json:"wall_tx_per_sec"`
	TimedOut     bool    `json:"timed_out"`
	// CPUSeconds and CPUMicrosPerTx are the whole process's.
	CPUSeconds     float64 `json:"cpu_seconds"`
	CPUMicrosPerTx float64 `json:"cpu_us_per_tx"`
}

// The text output names both apps, the ratio and the kvstore caveat.
func TestBenchChainText(t *testing.T) {
	e, stdout, stderr := testEnv("", nil, nil)
	code := execute(context.Background(), e, newRoot("test"), []string{
		"bench", "chain", "--txs", "40", "--senders", "2", "--neurons", "0", "--log.level", "error",
	})
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"agora ", "kvstore ", "ratio agora/kvstore: ", "cpu us/tx", "(CPU time per transaction, kvstore/agora)", "one signature check per transfer: ", "kvstore verifies no signatures"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout.String(), "FinalizeBlock+Commit") {
		t.Errorf("--neurons 0 still timed FinalizeBlock:\n%s", stdout)
	}
}

func TestBenchChainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "chain", "--txs", "0"},
		{"bench", "chain", "--workers", "-1"},
		{"bench", "chain", "extra"},
		{"bench", "chain", "--output", "yaml"},
	} {
		e, _, stderr := testEnv("", nil, nil)
		if code := execute(context.Background(), e, newRoot("test"), args); code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %s", args, code, exitUsage, stderr)
		}
	}
}

// The text output of the finalize figures names the weights, the tempo,
// the epoch block and consensus.Epoch alone.
func TestPrintBenchChainFinalize(t *testing.T) {
	var b strings.Builder
	printBenchChain(&b, &benchChainOutput{
		Throughput: &bench.ChainResult{Agora: &bench.LoadResult{App: "agora"}, KVStore: &bench.LoadResult{App: "kvstore"}},
		Finalize: &bench.ScaleResult{Neurons: 4096, Validators: 256, BlockTxs: 1000, Rounds: 5, Tempo: 11,
			WeightsPerValidator: 3840, TotalMS: 60, EpochTotalMS: 400, EpochExtraMS: 340, ConsensusEpochMS: 250, EpochRatio: 1.36},
		Note: benchNote,
	})
	for _, want := range []string{"validators weighting 3840 uids each", "tempo 11", "no epoch, cold",
		"epoch block, cold (the tempo elapses: the transfers, then the epoch): 400.0 ms", "consensus.Epoch alone on the same input: 250.0 ms (ratio 1.36x)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "cannot be set") || strings.Contains(b.String(), "without epoch") {
		t.Errorf("output still says there is no epoch:\n%s", b.String())
	}
}
