package dashboard

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/node/nodetest"
)

const testChainID = "dashboard-test"

// startNode runs a single-validator node with fast blocks, the balances
// and a governance key (so the test can give its subnet a share of the
// emission), until the test ends, and returns its RPC address.
func startNode(t *testing.T, governance chain.AccountID, balances map[chain.AccountID]uint64) string {
	t.Helper()
	var gb []chain.GenesisBalance
	for id, amount := range balances {
		gb = append(gb, chain.GenesisBalance{Account: id.String(), Amount: amount})
	}
	return nodetest.StartWith(t, nodetest.Options{ChainID: testChainID, Balances: gb, Governance: governance.String()})
}

func testKey(seed byte) (ed25519.PrivateKey, chain.AccountID) {
	priv := ed25519.NewKeyFromSeed(bytesOf(seed, ed25519.SeedSize))
	var id chain.AccountID
	copy(id[:], priv.Public().(ed25519.PublicKey))
	return priv, id
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// sender signs and sends one key's transactions in order.
type sender struct {
	t     *testing.T
	c     *chainclient.Client
	key   ed25519.PrivateKey
	nonce uint64
}

func (s *sender) send(ctx context.Context, body chain.Body) {
	s.t.Helper()
	tx, err := chain.SignTx(s.key, testChainID, s.nonce, body)
	if err != nil {
		s.t.Fatal(err)
	}
	r, err := s.c.BroadcastAndWait(ctx, tx)
	if err != nil || !r.OK() {
		s.t.Fatalf("%s: %+v, %v", body.Kind(), r, err)
	}
	s.nonce++
}

// testNet is a node with subnet 1 (tempo 10, a share of the emission):
// uids 0 and 1 are validators (stakes 50 and 100 AGR) weighting the
// miners, uids 2 and 3; and a dashboard of it with two validator
// endpoints, one of them down. With two mechanisms (split 60/40, named
// "inference" and "labels"), the validators weight both miners on
// mechanism 0 as with one, and only uid 3 on mechanism 1.
type testNet struct {
	client  *chainclient.Client
	hotkeys []string // by uid
	dash    *Dashboard
	srv     *httptest.Server
	goodURL string
	downURL string
}

// The two-mechanism subnet's split: 60% and 40% of 65535.
const (
	split0 = 39321
	split1 = 26214
)

const (
	testTempo = 10
	stake0    = 50 * chain.Unit
	stake1    = 100 * chain.Unit
)

func newTestNet(t *testing.T, mechanisms uint8) *testNet {
	t.Helper()
	alice, aliceID := testKey(1)
	addr := startNode(t, aliceID, map[chain.AccountID]uint64{aliceID: 10_000 * chain.Unit})
	c, err := chainclient.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	hot := make([]ed25519.PrivateKey, 4)
	tn := &testNet{client: c, hotkeys: make([]string, 4)}
	for i := range hot {
		var id chain.AccountID
		hot[i], id = testKey(byte(10 + i))
		tn.hotkeys[i] = id.String()
	}

	// A fake validator status endpoint that scores the miners, and one
	// that is down.
	good := httptest.NewServer(&fakeValidator{scores: api.ValidatorScores{Hotkey: tn.hotkeys[1], UID: 1, Updated: time.Now().UTC(),
		Scores: []api.UIDScore{
			{UID: 2, Hotkey: tn.hotkeys[2], Score: 0.82, ByKind: map[string]float64{"reference": 0.9, "preference": 0.7},
				LastReason: "ok", Reasons: map[string]uint64{"ok": 41, "wrong": 6, "timeout": 2}},
			{UID: 3, Hotkey: tn.hotkeys[3], Score: 0.31, ByKind: map[string]float64{"reference": 0.4},
				LastReason: "copy", Reasons: map[string]uint64{"ok": 12, "copy": 9, "wrong": 3}},
		}}})
	t.Cleanup(good.Close)
	tn.goodURL, tn.downURL = good.URL, downURL(t)

	// The dashboard follows the chain from before the subnet exists.
	var names []string
	if mechanisms > 1 {
		names = []string{"inference", "labels"}
	}
	d, err := New(Config{Client: c, Netuid: 1, Validators: []string{tn.goodURL, tn.downURL}, History: 50, MechanismNames: names,
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), ScoresTimeout: time.Second, Heartbeat: time.Second,
		Metagraph: chainclient.MetagraphOptions{RefreshTimeout: 2 * time.Second, BackoffMin: 20 * time.Millisecond,
			BackoffMax: 200 * time.Millisecond, StallTimeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	tn.dash = d
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	tn.srv = httptest.NewServer(d.Handler())
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return within 10s of cancel")
		}
		tn.srv.Close() // after Run: the event streams have ended
	})

	p := chain.DefaultHyperparams()
	p.Tempo, p.MaxUIDs, p.MaxValidators, p.WeightsRateLimit = testTempo, 16, 2, 1
	if mechanisms > 1 {
		p.MechanismCount, p.MechanismSplit = 2, []uint16{split0, split1}
	}
	owner := &sender{t: t, c: c, key: alice}
	owner.send(ctx, &chain.CreateSubnet{Params: p})
	owner.send(ctx, &chain.SetEmission{PerBlock: chain.DefaultEmissionPerBlock, Shares: []chain.SubnetShare{{Netuid: 1, Share: 1}}})
	for _, h := range hot {
		reg, err := chain.NewRegister(testChainID, 1, h, aliceID, 100*chain.Unit)
		if err != nil {
			t.Fatal(err)
		}
		owner.send(ctx, reg)
	}
	owner.send(ctx, &chain.AddStake{Hotkey: chain.AccountID(hot[0].Public().(ed25519.PublicKey)), Amount: stake0})
	owner.send(ctx, &chain.AddStake{Hotkey: chain.AccountID(hot[1].Public().(ed25519.PublicKey)), Amount: stake1})

	// The next epoch gives the staked uids their permits; then they
	// weight the miners.
	waitFor(t, 30*time.Second, "validator permits", func() bool {
		qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
		defer qcancel()
		mg, err := c.Metagraph(qctx, 1)
		return err == nil && len(mg.Neurons) == 4 && mg.Neurons[0].ValidatorPermit && mg.Neurons[1].ValidatorPermit
	})
	v0, v1 := &sender{t: t, c: c, key: hot[0]}, &sender{t: t, c: c, key: hot[1]}
	v0.send(ctx, &chain.SetWeights{Netuid: 1, UIDs: []uint16{2, 3}, Values: []uint16{65535, 20000}})
	v1.send(ctx, &chain.SetWeights{Netuid: 1, UIDs: []uint16{2, 3}, Values: []uint16{30000, 65535}})
	if mechanisms > 1 {
		v0.send(ctx, &chain.SetWeights{Netuid: 1, UIDs: []uint16{3}, Values: []uint16{65535}, Mechanism: 1})
		v1.send(ctx, &chain.SetWeights{Netuid: 1, UIDs: []uint16{3}, Values: []uint16{65535}, Mechanism: 1})
	}
	return tn
}

// TestDashboardAgainstNode runs the dashboard against a real node and
// checks its API, its event stream and (in a real browser) its page.
func TestDashboardAgainstNode(t *testing.T) {
	tn := newTestNet(t, 1)
	base := tn.srv.URL

	// The history fills as epochs run: wait for two epochs that paid the
	// miners by the validators' weights.
	var hist History
	waitFor(t, 60*time.Second, "two epochs paying the miners", func() bool {
		hist = tn.dash.HistorySnapshot()
		paid := 0
		for _, r := range hist.Epochs {
			if len(r.UIDs) == 4 && r.UIDs[2].Incentive > 0 && r.UIDs[3].Incentive > 0 {
				paid++
			}
		}
		return paid >= 2
	})

	t.Run("metagraph", func(t *testing.T) {
		st := getJSON[Status](t, base+"/api/metagraph")
		if st.Netuid != 1 || st.Subnet.Netuid != 1 || st.Subnet.Params.Tempo != testTempo || len(st.Neurons) != 4 {
			t.Fatalf("status: %+v", st)
		}
		for uid, n := range st.Neurons {
			if int(n.UID) != uid || n.Hotkey != tn.hotkeys[uid] {
				t.Errorf("uid %d: %d %s, want %s", uid, n.UID, n.Hotkey, tn.hotkeys[uid])
			}
		}
		if st.Neurons[0].Stake != stake0 || st.Neurons[1].Stake != stake1 || st.Neurons[2].Stake != 0 {
			t.Errorf("stakes: %d %d %d", st.Neurons[0].Stake, st.Neurons[1].Stake, st.Neurons[2].Stake)
		}
		if !st.Neurons[1].ValidatorPermit || st.Neurons[2].Incentive == 0 || st.Neurons[1].Dividends == 0 {
			t.Errorf("after epochs with weights: %+v", st.Neurons)
		}
		s := st.Supply
		if st.Height <= 0 || st.Epoch < 2 || st.NextEpochBlock <= st.LastEpochBlock || s.Total != s.Genesis+s.Minted-s.Burned || s.Minted == 0 {
			t.Errorf("status: height %d epoch %d (%d → %d), supply %+v", st.Height, st.Epoch, st.LastEpochBlock, st.NextEpochBlock, s)
		}
		if st.Stale || st.Error != "" || st.Recorded < 2 || st.Updated.IsZero() {
			t.Errorf("status: stale %v, error %q, recorded %d, updated %v", st.Stale, st.Error, st.Recorded, st.Updated)
		}
		if len(st.Mechanisms) != 1 || st.Mechanisms[0] != (Mechanism{0, "mechanism 0", 65535}) || st.Neurons[2].Mechanisms != nil {
			t.Errorf("one mechanism: %+v, uid 2's %+v", st.Mechanisms, st.Neurons[2].Mechanisms)
		}
		if code, _, b := get(t, base+"/readyz"); code != http.StatusOK {
			t.Errorf("/readyz: %d %s", code, b)
		}
	})

	t.Run("history", func(t *testing.T) {
		h := getJSON[History](t, base+"/api/history")
		if h.Netuid != 1 || h.Capacity != 50 || len(h.Epochs) < 2 {
			t.Fatalf("history: %d epochs, capacity %d", len(h.Epochs), h.Capacity)
		}
		for i, r := range h.Epochs {
			if i > 0 && (r.Epoch <= h.Epochs[i-1].Epoch || r.Block <= h.Epochs[i-1].Block) {
				t.Errorf("epochs out of order: %d (block %d) after %d (block %d)", r.Epoch, r.Block, h.Epochs[i-1].Epoch, h.Epochs[i-1].Block)
			}
			if r.Height < int64(r.Block) || r.Time.IsZero() {
				t.Errorf("epoch %d: height %d, block %d, time %v", r.Epoch, r.Height, r.Block, r.Time)
			}
		}
		last := h.Epochs[len(h.Epochs)-1]
		var sum uint64
		for uid, u := range last.UIDs {
			if int(u.UID) != uid || u.Hotkey != tn.hotkeys[uid] {
				t.Errorf("epoch %d uid %d: %+v", last.Epoch, uid, u)
			}
			sum += u.Emission
		}
		u := last.UIDs
		if last.Emission == 0 || sum == 0 || sum > last.Emission {
			t.Errorf("epoch %d: emission %d, paid to uids %d", last.Epoch, last.Emission, sum)
		}
		if u[1].Stake != stake1 || u[2].Incentive == 0 || u[3].Incentive == 0 || u[0].Dividends+u[1].Dividends == 0 ||
			u[2].Emission == 0 || u[1].ValidatorTrust == 0 || u[2].Dividends != 0 {
			t.Errorf("epoch %d: %+v", last.Epoch, u)
		}
	})

	t.Run("events", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		newest := tn.dash.HistorySnapshot()
		after := newest.Epochs[len(newest.Epochs)-1].Epoch
		_, events := openEvents(t, ctx, base)
		var first Status
		if err := json.Unmarshal([]byte(nextEvent(t, events, "metagraph", 10*time.Second).data), &first); err != nil || len(first.Neurons) != 4 {
			t.Fatalf("first metagraph event: %v", err)
		}
		var rec EpochRecord
		for rec.Epoch <= after {
			if err := json.Unmarshal([]byte(nextEvent(t, events, "epoch", 20*time.Second).data), &rec); err != nil {
				t.Fatal(err)
			}
		}
		if len(rec.UIDs) != 4 || rec.UIDs[2].Incentive == 0 || rec.Emission == 0 {
			t.Errorf("epoch event: %+v", rec)
		}
		var later Status
		if err := json.Unmarshal([]byte(nextEvent(t, events, "metagraph", 10*time.Second).data), &later); err != nil ||
			later.Height <= first.Height || later.Epoch < rec.Epoch {
			t.Errorf("metagraph after epoch %d: height %d (first %d), epoch %d, %v", rec.Epoch, later.Height, first.Height, later.Epoch, err)
		}
	})

	t.Run("scores", func(t *testing.T) {
		var v []ValidatorReport
		waitFor(t, 10*time.Second, "both validators asked", func() bool {
			v = getJSON[ScoresView](t, base+"/api/scores").Validators
			return len(v) == 2 && v[0].State != StatePending && v[1].State != StatePending
		})
		if v[0].URL != tn.goodURL || v[0].State != StateOK || v[0].Scores == nil || len(v[0].Scores.Scores) != 2 ||
			v[0].Scores.Scores[1].Reasons["copy"] != 9 || v[0].Scores.Hotkey != tn.hotkeys[1] {
			t.Errorf("good validator: %+v", v[0])
		}
		if v[1].URL != tn.downURL || v[1].State != StateError || !strings.Contains(v[1].Error, "connection refused") || v[1].Scores != nil {
			t.Errorf("down validator: %+v", v[1])
		}
	})

	t.Run("browser", func(t *testing.T) { testBrowser(t, tn) })
}

// TestDashboardMechanismsAgainstNode runs the dashboard against a real
// node whose subnet has two mechanisms with weights on both, and checks
// that /api/metagraph and the page show each mechanism's incentive and
// the split.
func TestDashboardMechanismsAgainstNode(t *testing.T) {
	tn := newTestNet(t, 2)
	base := tn.srv.URL

	// Wait for epochs of both mechanisms that paid by the weights.
	var st Status
	waitFor(t, 60*time.Second, "both mechanisms paying the miners", func() bool {
		code, _, b := get(t, base+"/api/metagraph")
		if code != http.StatusOK {
			return false
		}
		st = Status{}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("/api/metagraph: %v: %s", err, b)
		}
		if len(st.Neurons) != 4 {
			return false
		}
		m2, m3 := st.Neurons[2].Mechanisms, st.Neurons[3].Mechanisms
		return len(m2) == 2 && len(m3) == 2 && m2[0].Incentive > 0 && m3[0].Incentive > 0 && m3[1].Incentive > 0
	})

	want := []Mechanism{{0, "inference", split0}, {1, "labels", split1}}
	if !slices.Equal(st.Mechanisms, want) || st.Subnet.Params.MechanismCount != 2 {
		t.Errorf("mechanisms: %+v (count %d), want %+v", st.Mechanisms, st.Subnet.Params.MechanismCount, want)
	}
	for uid, n := range st.Neurons {
		if len(n.Mechanisms) != 2 || n.Mechanisms[0].Mechanism != 0 || n.Mechanisms[1].Mechanism != 1 {
			t.Fatalf("uid %d: mechanisms %+v", uid, n.Mechanisms)
		}
		// The top-level incentive is the aggregate: each mechanism's
		// weighed by its split.
		agg := (uint64(split0)*uint64(n.Mechanisms[0].Incentive) + uint64(split1)*uint64(n.Mechanisms[1].Incentive)) / 65535
		if uint64(n.Incentive) != agg {
			t.Errorf("uid %d: incentive %d, want %d from mechanisms %+v", uid, n.Incentive, agg, n.Mechanisms)
		}
	}
	// Mechanism 1's weights name only uid 3.
	if m := st.Neurons[2].Mechanisms[1]; m.Incentive != 0 {
		t.Errorf("uid 2 on mechanism 1 (no weight): %+v", m)
	}
	if m := st.Neurons[3].Mechanisms[1]; m.Incentive != 65535 {
		t.Errorf("uid 3 on mechanism 1 (all the weight): %+v", m)
	}

	// The raw JSON has the names a script reads.
	_, _, b := get(t, base+"/api/metagraph")
	for _, key := range []string{`"mechanisms":[{"mechanism":0,"name":"inference","split":39321},{"mechanism":1,"name":"labels","split":26214}]`,
		`"mechanism_emission_split":[39321,26214]`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("/api/metagraph lacks %s", key)
		}
	}

	t.Run("browser", func(t *testing.T) { testBrowserMechanisms(t, tn) })
}
