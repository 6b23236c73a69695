//go:build !race

// The race detector makes the built-in model an order of magnitude slower:
// with eighteen miners and two validators that verify every answer on two
// cores, a validator then judges each miner a handful of times in the
// test's time, too few to measure pay. This test runs without it (make
// test does so); the packages it wires (chain, node, miner, validator,
// rlhf, dashboard) are race-tested on their own, with real networks of
// their own.

package localnet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/miner"
)

const model = "../../shared/models/babyllama105/babyllama105.bin"

// The whole network with its adversaries, for a bounded number of epochs,
// on a subnet with two mechanisms. Inference (mechanism 0): every honest
// miner is paid, every cheating miner earns at most a fifth of the honest
// mean and the five sybils together at most one honest miner's mean.
// Labels (mechanism 1): the honest miners' careful labelers are paid, and a
// random clicker, an always-left labeler, a longer-side labeler and a trap
// spotter (random where the gap is not clear) each earn at most a third of
// their mean. The weight copier earns less than the validator it copies,
// and every minted unit is accounted for.
func TestLocalnetHonestWorkWins(t *testing.T) {
	if _, err := os.Stat(model); err != nil {
		t.Fatalf("the demo model is missing: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	infoc := make(chan Info, 1)
	done := make(chan error, 1)
	start := time.Now()
	dir := t.TempDir()
	// Epochs of 6 s: room for a commit and its reveal even when the
	// machine is busy with other tests.
	tempo, queryTimeout := uint64(30), 5*time.Second
	go func() {
		done <- Run(ctx, Config{
			Dir: dir, Model: model, Adversaries: true, Dashboard: "127.0.0.1:0",
			Tempo: tempo, BlockTime: 200 * time.Millisecond, StepInterval: time.Second, QueryTimeout: queryTimeout,
			OnReady: func(i Info) { infoc <- i },
		})
	}()
	var info Info
	select {
	case info = <-infoc:
	case err := <-done:
		t.Fatalf("localnet stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("localnet not ready within 2 minutes")
	}
	t.Logf("ready after %s", time.Since(start).Round(time.Millisecond))
	client, err := chainclient.New(info.RPC)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	// Let the network run for a number of epochs, then sum the incentive
	// and dividends over the last few.
	const warmup, measured = 7, 6
	byName := map[uint16]string{}
	role := map[string]uint16{}
	for _, p := range append(append([]Participant(nil), info.Miners...), info.Validators...) {
		byName[p.UID], role[p.Name] = p.Name, p.UID
	}
	incentive := map[uint16]float64{}
	// byMech[m][uid] sums mechanism m's incentive: 0 pays inference, 1
	// labels.
	byMech := [2]map[uint16]float64{{}, {}}
	dividends := map[uint16]float64{}
	var lastEpoch uint64
	seen := 0
	deadline := time.Now().Add(6 * time.Minute)
	// The warm-up lasts warmup epochs and, however slow the machine, until
	// every validator has judged the careful labelers' labels, plus two
	// epochs for those weights to be committed, revealed and bonded: the
	// test waits for that event, not for a number of seconds.
	warmEnd, labelled := uint64(warmup), false
	for seen < int(warmEnd)+measured {
		if time.Now().After(deadline) {
			t.Fatalf("only %d epochs within the deadline (labels judged by every validator: %v)", seen, labelled)
		}
		var ep chain.EpochView
		if _, err := client.Query(ctx, chain.QueryEpoch+"1", &ep); err != nil {
			t.Fatal(err)
		}
		if ep.Epoch == lastEpoch {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		lastEpoch = ep.Epoch
		seen++
		if !labelled && seen >= warmup {
			if labelled = carefulLabelsJudged(t, info); labelled {
				warmEnd = uint64(seen) + 2
			} else {
				warmEnd = uint64(seen) + 1
			}
		}
		if seen <= int(warmEnd) {
			continue
		}
		mg, err := client.Metagraph(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if mg.Subnet.Params.MechanismCount != 2 {
			t.Fatalf("subnet 1 has %d mechanisms, want 2 (inference and labels)", mg.Subnet.Params.MechanismCount)
		}
		for _, n := range mg.Neurons {
			incentive[n.UID] += float64(n.Incentive) / 65535
			dividends[n.UID] += float64(n.Dividends) / 65535
			for _, mv := range n.Mechanisms {
				byMech[mv.Mechanism][n.UID] += float64(mv.Incentive) / 65535
			}
		}
	}
	t.Logf("%d epochs in %s, %d of them warm-up", seen, time.Since(start).Round(time.Second), warmEnd)

	// What each validator saw of each miner: every one queried, and why
	// its answers scored as they did.
	reports := validatorReports(t, info)

	// The tables of what was observed, one per mechanism: pay is the
	// mechanism's incentive over the honest miners' mean (their labelers
	// are the careful ones).
	var honest []string
	for _, p := range info.Miners {
		if p.Role == "honest" {
			honest = append(honest, p.Name)
		}
	}
	roleOf := map[uint16]string{}
	for _, p := range append(append([]Participant(nil), info.Miners...), info.Validators...) {
		roleOf[p.UID] = p.Role
	}
	// Each validator's label score of each uid, for the labels table.
	labelScores := map[uint16][]string{}
	for _, vn := range []string{"validator0", "validator1"} {
		got := map[uint16]float64{}
		for _, s := range reports[vn].Scores {
			got[s.UID] = s.ByKind["preference"]
		}
		for uid := range uint16(len(byName)) {
			labelScores[uid] = append(labelScores[uid], fmt.Sprintf("%.2f", got[uid]))
		}
	}
	reasons := map[uint16]map[string]uint64{}
	labelers := map[uint16][]api.LabelerScore{}
	for _, s := range reports["validator0"].Scores {
		reasons[s.UID] = s.Reasons
		labelers[s.UID] = s.Labelers
	}
	var honestMean [2]float64
	for m, inc := range byMech {
		var total, honestSum float64
		for _, v := range inc {
			total += v
		}
		for _, name := range honest {
			honestSum += inc[role[name]]
		}
		honestMean[m] = honestSum / float64(max(len(honest), 1))
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		what := "reasons (validator0)"
		if m == 1 {
			what = "label score (validator0/1); labelers (validator0)"
		}
		fmt.Fprintf(tw, "uid\tname\trole\tincentive share\tpay vs honest\tdividends (all)\t%s\n", what)
		for uid := range uint16(len(byName)) {
			var why any = reasons[uid]
			if m == 1 {
				why = strings.Join(labelScores[uid], "/") + "; " + labelerSummary(labelers[uid])
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%.2f\t%.3f\t%v\n", uid, byName[uid], roleOf[uid], inc[uid]/max(total, 1e-9),
				inc[uid]/max(honestMean[m], 1e-12), dividends[uid]/measured, why)
		}
		tw.Flush()
		t.Logf("mechanism %d (%s), incentive over %d epochs (honest mean share %.3f):\n%s", m, []string{"inference", "labels"}[m], measured, honestMean[m]/max(total, 1e-9), b.String())
	}

	for _, name := range honest {
		if byMech[0][role[name]] <= 0 || byMech[1][role[name]] <= 0 {
			t.Errorf("honest %s with its careful labeler is not paid on both mechanisms: inference %.3f, labels %.3f", name, byMech[0][role[name]], byMech[1][role[name]])
		}
	}
	for _, cheat := range []string{"junk", "lazy", "copier", "wrong_model", "canned", "truncate", "short_copier", "paraphraser", "greedy"} {
		if pay := byMech[0][role[cheat]] / max(honestMean[0], 1e-12); pay > 0.2 {
			t.Errorf("%s earns %.2f of the honest mean for inference; a cheat may earn at most 0.2", cheat, pay)
		}
	}
	var sybils float64
	for i := range 5 {
		sybils += byMech[0][role["sybil"+strconv.Itoa(i)]]
	}
	if pay := sybils / max(honestMean[0], 1e-12); pay > 1 {
		t.Errorf("the five sybils, sharing one model run, earn %.2f of the honest mean together; at most one honest miner's", pay)
	}
	// The labels market pays careful labelers: a random clicker, an
	// always-left one, one that picks the longer side and one that labels
	// only where the gap is clear (traps) each earn at most a third of a
	// careful labeler's miner.
	for _, cheat := range []string{"random_labeler", "left_labeler", "longer_labeler", "trap_spotter"} {
		if pay := byMech[1][role[cheat]] / max(honestMean[1], 1e-12); pay > 1.0/3 {
			t.Errorf("%s earns %.2f of the careful labelers' mean for labels; at most 1/3", cheat, pay)
		}
	}
	if dividends[role["weight_copier"]] >= dividends[role["validator0"]] {
		t.Errorf("weight copier's dividends %.3f are not below those of validator0, which it copies (%.3f)", dividends[role["weight_copier"]], dividends[role["validator0"]])
	}

	// Every validator queried every miner at every step: the sample
	// leaves nobody out, and however slow the machine, there were steps.
	for vname, rep := range reports {
		asked := map[uint16]uint64{}
		var most uint64
		for _, s := range rep.Scores {
			for _, n := range s.Reasons {
				asked[s.UID] += n
			}
			most = max(most, asked[s.UID])
		}
		t.Logf("%s scored up to %d answers of each miner", vname, most)
		for _, p := range info.Miners {
			if asked[p.UID] < max(3, most*3/4) {
				t.Errorf("%s scored %s %d times, another miner %d; every miner is queried at every step", vname, p.Name, asked[p.UID], most)
			}
		}
	}

	// A miner finds what each validator thinks of it from the chain
	// (agora miner status): both validators announced their signed
	// /scores once they held a permit, and both scored miner0.
	mg, err := client.Metagraph(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	roster, err := loadRoster(filepath.Join(dir, "keys.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	verdicts := miner.ValidatorVerdicts(ctx, http.DefaultClient, &mg, keyOf(roster.Hotkeys["miner0"]), 10*time.Second)
	found := 0
	for _, v := range verdicts {
		switch {
		case v.UID == role["weight_copier"]:
		case v.Error != "" || !v.Scored || v.Score == nil:
			t.Errorf("miner status: validator uid %d: %+v", v.UID, v)
		default:
			found++
		}
	}
	if found != 2 {
		t.Errorf("miner status found %d validators' scores of miner0, want 2: %+v", found, verdicts)
	}

	// Every unit minted is somewhere: the ledger adds up, and the
	// balances and stakes of every account the network has add up to it.
	sup, err := client.Supply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sup.Total != sup.Genesis+sup.Minted-sup.Burned || sup.Minted == 0 {
		t.Fatalf("supply %+v does not add up", sup)
	}
	ros, err := loadRoster(filepath.Join(dir, "keys.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Balances and stakes, read at one height: the queries run
	// concurrently, and again if a block landed in between.
	ids := []chain.AccountID{}
	for _, seed := range append([]string{ros.Owner, ros.Governance}, values(ros.Hotkeys)...) {
		ids = append(ids, chain.AccountID(keyOf(seed).PublicKey()))
	}
	consistent := false
	for deadline := time.Now().Add(time.Minute); !consistent && time.Now().Before(deadline); {
		h0, _ := client.Query(ctx, chain.QuerySupply, &sup)
		held := make([]uint64, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() {
				a, err := client.Account(ctx, id)
				if err != nil {
					t.Error(err)
					return
				}
				held[i] = a.Balance
				if hk, err := client.Hotkey(ctx, id); err == nil {
					held[i] += hk.Stake
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		h1, _ := client.Query(ctx, chain.QuerySupply, &sup)
		if h0 != h1 {
			continue
		}
		consistent = true
		var sum uint64
		for _, v := range held {
			sum += v
		}
		if sum != sup.Total {
			t.Fatalf("balances and stakes add up to %d at height %d, the supply is %d (minted %d, burned %d)", sum, h0, sup.Total, sup.Minted, sup.Burned)
		}
	}
	if !consistent {
		t.Fatal("could not read every balance and stake between two blocks for a minute")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("localnet stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("localnet did not stop within 30s of cancel")
	}
}

// validatorReports is each validator's /scores, by name, for the
// validators that serve one.
func validatorReports(t *testing.T, info Info) map[string]api.ValidatorScores {
	t.Helper()
	reports := map[string]api.ValidatorScores{}
	for _, v := range info.Validators {
		if v.URL == "" {
			continue
		}
		resp, err := http.Get(v.URL + "/scores")
		if err != nil {
			t.Fatal(err)
		}
		var rep api.ValidatorScores
		err = json.NewDecoder(resp.Body).Decode(&rep)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		reports[v.Name] = rep
	}
	return reports
}

// carefulLabelsJudged says whether every validator that serves /scores has
// a label score above 0 for every honest miner (whose labelers are the
// careful ones).
func carefulLabelsJudged(t *testing.T, info Info) bool {
	t.Helper()
	for _, rep := range validatorReports(t, info) {
		pref := map[uint16]float64{}
		for _, s := range rep.Scores {
			pref[s.UID] = s.ByKind["preference"]
		}
		for _, p := range info.Miners {
			if p.Role == "honest" && pref[p.UID] <= 0 {
				return false
			}
		}
	}
	return true
}

// labelerSummary is a miner's labelers as a validator judged them: each
// one's score and what held it down.
func labelerSummary(ls []api.LabelerScore) string {
	var parts []string
	for _, l := range ls {
		p := fmt.Sprintf("%s %.2f", l.Labeler, l.Score)
		if len(l.Reasons) > 0 {
			p += " (" + strings.Join(l.Reasons, "; ") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
