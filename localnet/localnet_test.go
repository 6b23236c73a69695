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
)

const model = "../../shared/models/babyllama105/babyllama105.bin"

// The whole network with its adversaries, for a bounded number of epochs:
// every honest miner is paid, every cheating miner earns at most a fifth of
// the honest mean and the five sybils together at most one honest miner's
// mean, the careful labeler out-scores the random one, the weight copier
// earns less than the validator it copies, and every minted unit is
// accounted for.
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
	dividends := map[uint16]float64{}
	var lastEpoch uint64
	seen := 0
	deadline := time.Now().Add(8 * time.Minute)
	for seen < warmup+measured {
		if time.Now().After(deadline) {
			t.Fatalf("only %d epochs within the deadline", seen)
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
		if seen <= warmup {
			continue
		}
		mg, err := client.Metagraph(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range mg.Neurons {
			incentive[n.UID] += float64(n.Incentive) / 65535
			dividends[n.UID] += float64(n.Dividends) / 65535
		}
	}
	t.Logf("%d epochs in %s", seen, time.Since(start).Round(time.Second))

	// What each validator saw of each miner: every one queried, and why
	// its answers scored as they did.
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

	// The table of what was observed: pay is the incentive over the
	// honest miners' mean.
	var total, honestSum float64
	var honest []string
	for _, v := range incentive {
		total += v
	}
	for _, p := range info.Miners {
		if p.Role == "honest" {
			honest = append(honest, p.Name)
			honestSum += incentive[p.UID]
		}
	}
	honestMean := honestSum / float64(max(len(honest), 1))
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "uid\tname\trole\tincentive share\tpay vs honest\tdividends\treasons (validator0)")
	roleOf := map[uint16]string{}
	for _, p := range append(append([]Participant(nil), info.Miners...), info.Validators...) {
		roleOf[p.UID] = p.Role
	}
	reasons := map[uint16]map[string]uint64{}
	for _, s := range reports["validator0"].Scores {
		reasons[s.UID] = s.Reasons
	}
	for uid := range uint16(len(byName)) {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%.2f\t%.3f\t%v\n", uid, byName[uid], roleOf[uid], incentive[uid]/max(total, 1e-9),
			incentive[uid]/max(honestMean, 1e-12), dividends[uid]/measured, reasons[uid])
	}
	tw.Flush()
	t.Logf("incentive over %d epochs (honest mean share %.3f):\n%s", measured, honestMean/max(total, 1e-9), b.String())

	for _, name := range honest {
		if incentive[role[name]] <= 0 {
			t.Errorf("honest %s is not paid", name)
		}
	}
	for _, cheat := range []string{"junk", "lazy", "copier", "wrong_model", "canned", "truncate", "short_copier", "paraphraser", "greedy"} {
		if pay := incentive[role[cheat]] / max(honestMean, 1e-12); pay > 0.2 {
			t.Errorf("%s earns %.2f of the honest mean; a cheat may earn at most 0.2", cheat, pay)
		}
	}
	var sybils float64
	for i := range 5 {
		sybils += incentive[role["sybil"+strconv.Itoa(i)]]
	}
	if pay := sybils / max(honestMean, 1e-12); pay > 1 {
		t.Errorf("the five sybils, sharing one model run, earn %.2f of the honest mean together; at most one honest miner's", pay)
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

	// The random labeler's miner scores under a third of a careful one's
	// for labels, by every validator that has scored labels yet (preference
	// steps are a fifth of the steps, drawn at random).
	judged := 0
	for vname, rep := range reports {
		pref := map[string]float64{}
		for _, s := range rep.Scores {
			pref[byName[s.UID]] = s.ByKind["preference"]
		}
		careful := 0.0
		for _, name := range honest {
			careful = max(careful, pref[name])
		}
		t.Logf("%s: preference scores %v", vname, pref)
		if careful == 0 && pref["random_labeler"] == 0 {
			continue
		}
		judged++
		if pref["random_labeler"]*3 >= careful {
			t.Errorf("%s: random labeler's miner scores %.3f for labels, careful ones up to %.3f", vname, pref["random_labeler"], careful)
		}
	}
	if judged == 0 {
		t.Error("no validator has scored any labels")
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

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
