package validator

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/consensus"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/miner/cheat"
	"github.com/seed0ffb8d46/agora/node/nodetest"
	"github.com/seed0ffb8d46/agora/rlhf"
	"github.com/seed0ffb8d46/agora/scoring"
)

const modelDir = "../../shared/models/babyllama105"

// demoModel is the demo's model, loaded once for every test that needs a
// validator's own copy (a *llm.Llama is read-only, safe to share).
var demoModel = func() func(testing.TB) *llm.Llama {
	var once sync.Once
	var m *llm.Llama
	var err error
	return func(tb testing.TB) *llm.Llama {
		tb.Helper()
		once.Do(func() {
			var tok *llm.Tokenizer
			if tok, err = llm.LoadTokenizer(filepath.Join(modelDir, "tok105.model")); err == nil {
				m, err = llm.LoadLlama(filepath.Join(modelDir, "babyllama105.bin"), tok)
			}
		})
		if err != nil {
			tb.Fatal(err)
		}
		return m
	}
}()

// testPolicy is the default policy with a stronger moving average, so a
// few steps tell the miners apart.
func testPolicy() scoring.Policy {
	p := scoring.DefaultPolicy()
	p.Alpha = 0.3
	return p
}

func loadModel(t *testing.T, perturb bool) *llm.Llama {
	t.Helper()
	tok, err := llm.LoadTokenizer(filepath.Join(modelDir, "tok105.model"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(modelDir, "babyllama105.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if perturb { // a different checkpoint of the same shape
		data = cheat.Perturb(data)
	}
	m, err := llm.ParseLlama(data, tok)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testKey(t testing.TB, b byte) *keys.PrivateKey {
	t.Helper()
	k, err := keys.NewPrivateKeyFromSeed(bytes.Repeat([]byte{b}, keys.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The miners of known behaviour (package cheat). Every one of them
// claims to run babyllama105.

// queryTimeout is the validator's deadline per miner in these tests: long
// enough for the built-in engine under the race detector while other
// packages' tests share the machine.
const queryTimeout = 6 * time.Second

// prefQueryTimeout is the deadline of the preference test's queries: its
// story prompts only supply the pairs to label, so it waits for them as
// long as a machine busy with other work needs, rather than scoring
// timeouts.
const prefQueryTimeout = 60 * time.Second

// slowDelay is how long the slow miner waits before it answers.
const slowDelay = queryTimeout + time.Second

// slow is honest but answers after the validator's deadline.
type slow struct{ miner.Backend }

func (s slow) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	select {
	case <-time.After(slowDelay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Backend.Generate(ctx, req, fn)
}

// testnet is a chain with subnet 1, a validator hotkey with stake and a
// permit, and the miners serving on it.
type testnet struct {
	client   *chainclient.Client
	meta     *chainclient.MetagraphCache
	val      *keys.PrivateKey
	uids     map[string]uint16 // miner name → uid
	verifier *llm.Llama
	// labelDirs are the label folders of the miners that take labels.
	labelDirs map[string]string
}

// namedMiner is a miner of a testnet: its name and its backend.
type namedMiner struct {
	name    string
	backend miner.Backend
}

// startTestnet starts the chain and the miners named (all when none).
func startTestnet(t *testing.T, params func(*chain.Hyperparams), names ...string) *testnet {
	t.Helper()
	return startTestnetWith(t, params, func(verifier *llm.Llama) []namedMiner {
		honest := cheat.NewRecorder(miner.NewBuiltin(verifier, "babyllama105"))
		builtin := miner.NewBuiltin(verifier, "babyllama105")
		miners := []namedMiner{
			{"honest", honest},
			{"junk", cheat.Junk{Backend: builtin}},
			{"lazy", cheat.Lazy{Backend: builtin}},
			{"copier", &cheat.Copier{Backend: builtin, From: honest}},
			{"slow", slow{builtin}},
			{"wrong_model", miner.NewBuiltin(loadModel(t, true), "babyllama105")},
			{"canned", &cheat.Canned{Backend: builtin, LM: verifier}},
			{"truncate", &cheat.Truncate{Backend: builtin}},
			// Honest models whose labelers differ: careful and random.
			{"careful_labels", miner.NewBuiltin(verifier, "babyllama105")},
			{"careful2_labels", miner.NewBuiltin(verifier, "babyllama105")},
			{"random_labels", miner.NewBuiltin(verifier, "babyllama105")},
		}
		if len(names) > 0 {
			miners = slices.DeleteFunc(miners, func(m namedMiner) bool { return !slices.Contains(names, m.name) })
		}
		return miners
	})
}

// startTestnetWith starts the chain and the miners that miners returns
// (given the validator's model), registered in order: the i-th has uid
// i+1.
func startTestnetWith(t *testing.T, params func(*chain.Hyperparams), miners func(verifier *llm.Llama) []namedMiner) *testnet {
	t.Helper()
	cold := testKey(t, 1)
	addr := nodetest.Start(t, "validator-test", []chain.GenesisBalance{{Account: cold.PublicKey().Hex(), Amount: 10_000 * chain.Unit}})
	client, err := chainclient.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := chain.DefaultHyperparams()
	p.Tempo, p.WeightsRateLimit, p.MaxUIDs, p.MaxValidators, p.MinBurn, p.ActivityCutoff = 10, 5, 16, 2, chain.Unit/10, 5000
	p.TargetRegistrations = 16 // every neuron registers at once
	if params != nil {
		params(&p)
	}
	send := func(body chain.Body) {
		t.Helper()
		if _, err := client.SendTx(ctx, cold, body); err != nil {
			t.Fatal(err)
		}
	}
	send(&chain.CreateSubnet{Params: p})
	tn := &testnet{client: client, val: testKey(t, 2), uids: map[string]uint16{}, verifier: loadModel(t, false), labelDirs: map[string]string{}}
	if _, err := client.Register(ctx, cold, tn.val, 1, 100*chain.Unit); err != nil {
		t.Fatal(err)
	}
	send(&chain.AddStake{Hotkey: chain.AccountID(tn.val.PublicKey()), Amount: 1000 * chain.Unit})

	ms := miners(tn.verifier)
	mctx, stopMiners := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stopMiners(); wg.Wait() })
	for i, m := range ms {
		k := testKey(t, byte(10+i))
		if _, err := client.Register(ctx, cold, k, 1, 100*chain.Unit); err != nil {
			t.Fatal(err)
		}
		tn.uids[m.name] = uint16(i + 1)
		var labels string
		if strings.HasSuffix(m.name, "_labels") {
			labels = t.TempDir()
			tn.labelDirs[m.name] = labels
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := miner.Run(mctx, miner.RunConfig{Config: miner.Config{Key: k, Backend: m.backend, RateLimit: 0}, Node: addr, Netuid: 1, Listen: "127.0.0.1:0", LabelsDir: labels})
			if err != nil && mctx.Err() == nil {
				t.Errorf("miner %s: %v", m.name, err)
			}
		}()
	}
	tn.meta = chainclient.NewMetagraphCache(client, 1, chainclient.MetagraphOptions{})
	go func() { _ = tn.meta.Run(mctx) }()
	// Every miner serves, and the validator has its permit.
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, _, ok := tn.meta.Snapshot()
		ready := ok && len(v.Neurons) == 1+len(ms) && v.Neurons[0].ValidatorPermit
		for i := 1; ready && i < len(v.Neurons); i++ {
			ready = v.Neurons[i].Axon != nil
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("miners not serving or no permit within 60s: %+v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return tn
}

func (tn *testnet) validator(t *testing.T, state string) *Validator {
	t.Helper()
	v, err := New(Config{
		Key: tn.val, Netuid: 1, Metagraph: tn.meta, Chain: tn.client, StatePath: state,
		Exact: tn.verifier, VerifyModel: "babyllama105", Policy: testPolicy(),
		Logger:     zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel)),
		SampleSize: 16, QueryTimeout: queryTimeout, ReferenceShare: 0.2, Seed: 42,
		AllowPrivateAxons: true, // the miners are on loopback
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A validator against miners of known behaviour on a real chain: the
// honest miner scores above every cheat, the weights set on chain follow
// the scores, and a restart changes neither the scores nor the next
// weights.
func TestValidatorRanksMinersAndSetsWeights(t *testing.T) {
	// The cheats that need no model run of their own, or a short one: the
	// rest (short copier, paraphraser, greedy, sybils) are judged in
	// TestJudgeForgeries and in the localnet's test, where the machine is
	// not shared with the race detector and the other packages' tests.
	cheats := []string{"junk", "lazy", "copier", "slow", "wrong_model", "canned", "truncate"}
	tn := startTestnet(t, nil, append([]string{"honest"}, cheats...)...)
	state := filepath.Join(t.TempDir(), "validator.json")
	v := tn.validator(t, state)
	ctx := context.Background()
	for i := range 7 {
		// The last step is a reference task, whatever the seed draws:
		// its results train p(useful), which must survive the restart.
		if i == 6 {
			v.cfg.ReferenceShare = 1
		}
		if err := v.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	v.cfg.ReferenceShare = 0.2
	_, scores := v.Scores()
	t.Logf("scores by uid: %.3f", scores)
	honest := scores[tn.uids["honest"]]
	for name, uid := range tn.uids {
		if name != "honest" && scores[uid] >= honest/5 {
			t.Errorf("%s (uid %d) scores %.3f, want under a fifth of the honest miner's %.3f", name, uid, scores[uid], honest)
		}
	}
	if honest < 0.1 {
		t.Errorf("honest miner scores %.3f", honest)
	}

	// The report the dashboard reads says why.
	rep := v.Report()
	if rep.UID != 0 || len(rep.Scores) != 1+len(cheats) {
		t.Fatalf("report: uid %d, %d scores", rep.UID, len(rep.Scores))
	}
	want := map[string]string{
		"junk": "sample_no_tokens", "lazy": "sample_no_tokens", "copier": "sample_not_sampled", "slow": "timeout",
		"wrong_model": "sample_not_sampled", "canned": "sample_not_sampled", "truncate": "sample_early_stop",
	}
	for _, u := range rep.Scores {
		for name, reason := range want {
			if u.UID == tn.uids[name] && u.Reasons[reason] == 0 {
				t.Errorf("%s's reasons %v (last %q) lack %s", name, u.Reasons, u.LastReason, reason)
			}
		}
	}

	// The weights on chain follow the scores.
	n, err := tn.client.Neuron(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Weights) == 0 {
		t.Fatal("no weights set on chain")
	}
	best := slices.MaxFunc(n.Weights, func(a, b consensus.Entry) int { return int(a.Value) - int(b.Value) })
	if best.UID != tn.uids["honest"] || best.Value != 65535 {
		t.Fatalf("weights on chain %+v: want the honest miner (uid %d) at 65535", n.Weights, tn.uids["honest"])
	}

	// Restart: the same scores, so the same next weights.
	hotkeys, before := v.Scores()
	v.Close()
	v2 := tn.validator(t, state)
	defer v2.Close()
	hotkeys2, after := v2.Scores()
	if !slices.Equal(before, after) || !slices.Equal(hotkeys, hotkeys2) {
		t.Fatalf("scores changed across a restart:\n before %v\n after  %v", before, after)
	}
	u1, w1 := weightVector(v.cfg.Policy.Weights(before), 65535)
	u2, w2 := weightVector(v2.cfg.Policy.Weights(after), 65535)
	if !slices.Equal(u1, u2) || !slices.Equal(w1, w2) || len(u1) == 0 {
		t.Fatalf("next weights changed across a restart: %v %v vs %v %v", u1, w1, u2, w2)
	}
	if v2.useful.Trained() != v.useful.Trained() || v2.useful.Trained() == 0 {
		t.Fatalf("classifier trained on %d examples before, %d after the restart", v.useful.Trained(), v2.useful.Trained())
	}
}

// With commit-reveal on, the validator commits, keeps the commit across a
// restart, and reveals it in its reveal epoch: the weights reach the chain.
func TestValidatorCommitReveal(t *testing.T) {
	// A longer tempo than the other test: an epoch must outlast a step (about
	// a second here) for the reveal to find its epoch.
	tn := startTestnet(t, func(p *chain.Hyperparams) { p.CommitReveal, p.RevealPeriodEpochs, p.Tempo = true, 1, 120 }, "honest", "lazy")
	state := filepath.Join(t.TempDir(), "validator.json")
	v := tn.validator(t, state)
	ctx := context.Background()
	for v.st.Pending == nil {
		if err := v.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	committed := *v.st.Pending
	v.Close()
	// Restart: the pending commit is loaded from the state file.
	v = tn.validator(t, state)
	defer v.Close()
	if v.st.Pending == nil || v.st.Pending.Hash != committed.Hash {
		t.Fatalf("pending commit lost across a restart: %+v", v.st.Pending)
	}
	deadline := time.Now().Add(60 * time.Second)
	for v.st.Pending != nil {
		if time.Now().After(deadline) {
			t.Fatal("commit not revealed within 60s")
		}
		if err := v.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	n, err := tn.client.Neuron(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]consensus.Entry, len(committed.UIDs))
	for i := range want {
		want[i] = consensus.Entry{UID: committed.UIDs[i], Value: committed.Values[i]}
	}
	if !slices.Equal(n.Weights, want) || n.Weights[0].UID != tn.uids["honest"] {
		t.Fatalf("weights on chain %+v, committed %+v", n.Weights, want)
	}
}

// Preference tasks, on a subnet whose labels are their own mechanism: the
// validator sends pairs (traps among them, sampled hotter by its own
// model) to miners whose labelers label them on the miners' hubs; it
// collects the signed labels, and each miner with a careful labeler (who
// judges by how well a side reads to the model) earns more than three
// times the label score of the one with a random clicker, and its weight
// on mechanism 1. Accepted labels reach the dataset, which exports.
func TestValidatorPreferenceLabels(t *testing.T) {
	tn := startTestnet(t, func(p *chain.Hyperparams) { p.MechanismCount = 2 }, "careful_labels", "careful2_labels", "random_labels")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Careful labelers, each erring independently on close calls.
	careful := rlhf.HumanPolicy(tn.verifier.AnswerQuality, 0.05)
	for name, policy := range map[string]rlhf.SimPolicy{"careful_labels": careful, "careful2_labels": careful, "random_labels": rlhf.RandomPolicy} {
		tokens, err := rlhf.OpenTokens(filepath.Join(tn.labelDirs[name], miner.LabelersFile))
		if err != nil {
			t.Fatal(err)
		}
		token, err := tokens.Add("sim")
		if err != nil {
			t.Fatal(err)
		}
		v, _, _ := tn.meta.Snapshot()
		// Pace: the labelers take a twentieth of the time they report, as
		// the demo's do, and the validator reads at program speed.
		sim := &rlhf.SimLabeler{URL: "ws://" + v.Neurons[tn.uids[name]].Axon.Addr + "/label/ws", Token: token, Policy: policy, Seed: uint64(tn.uids[name]), Pace: 0.05}
		go func() { _ = sim.Run(ctx) }()
	}
	fast := scoring.DefaultLabelOptions()
	fast.MaxCharsPerSec, fast.MinTimeMs = 2000, 100
	dir := t.TempDir()
	v, err := New(Config{
		Key: tn.val, Netuid: 1, Metagraph: tn.meta, Chain: tn.client, StatePath: filepath.Join(dir, "state.json"), DatasetDir: filepath.Join(dir, "dataset"), DatasetEvery: 1,
		Exact: tn.verifier, VerifyModel: "babyllama105", Logger: zaptest.NewLogger(t), Policy: testPolicy(),
		SampleSize: 10, QueryTimeout: prefQueryTimeout, Seed: 7, LabelOptions: fast, PreferenceShare: 0.2,
		AllowPrivateAxons: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	// Story prompts first, until there are good answers (the miners' to
	// the same prompts) to build tasks from: however slow the machine, the
	// test waits for them, not for a number of steps.
	for deadline := time.Now().Add(3 * time.Minute); ; {
		if err := v.Step(ctx); err != nil {
			t.Fatal(err)
		}
		v.mu.Lock()
		answers := len(v.recent)
		v.mu.Unlock()
		if answers >= 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d verified answers to build preference tasks from within 3 minutes", answers)
		}
	}
	// Half the steps go on sending story prompts: new prompts give new
	// pairs, among them traps (pairs the model rates far apart).
	v.cfg.PreferenceShare = 0.5
	deadline := time.Now().Add(3 * time.Minute)
	pref := make([]float64, 4)
	for {
		if err := v.Step(ctx); err != nil {
			t.Fatal(err)
		}
		v.mu.Lock()
		n := len(v.st.LabelObs)
		if row := v.st.Scores.Kinds[KindPreference]; len(row) == len(pref) {
			copy(pref, row)
		}
		v.mu.Unlock()
		c1, c2, r := pref[tn.uids["careful_labels"]], pref[tn.uids["careful2_labels"]], pref[tn.uids["random_labels"]]
		if n >= 90 && c1 > 0 && c2 > 0 && r < min(c1, c2)/3 {
			break
		}
		if time.Now().After(deadline) {
			for _, s := range v.Report().Scores {
				t.Logf("uid %d labelers %+v", s.UID, s.Labelers)
			}
			t.Fatalf("after %d labels: label scores careful %.3f and %.3f, random %.3f: want random under a third of each careful one", n, c1, c2, r)
		}
	}
	t.Logf("label scores: careful %.3f and %.3f, random %.3f", pref[tn.uids["careful_labels"]], pref[tn.uids["careful2_labels"]], pref[tn.uids["random_labels"]])
	rep := v.Report()
	for _, s := range rep.Scores {
		if s.UID == tn.uids["random_labels"] && (len(s.Labelers) != 1 || len(s.Labelers[0].Reasons) == 0) {
			t.Errorf("/scores says nothing of why the random labeler scores low: %+v", s.Labelers)
		}
	}

	// Mechanism 1's weights are the label scores: the careful labelers'
	// miners above the random one's.
	var row chain.RowView
	for deadline := time.Now().Add(60 * time.Second); ; {
		if _, err := tn.client.Query(ctx, chain.RowPath(false, 1, 0, 1), &row); err != nil {
			t.Fatal(err)
		}
		if len(row.Row) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no weights on mechanism 1 within 60s")
		}
		if err := v.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w := map[uint16]uint16{}
	for _, e := range row.Row {
		w[e.UID] = e.Value
	}
	if c, r := min(w[tn.uids["careful_labels"]], w[tn.uids["careful2_labels"]]), w[tn.uids["random_labels"]]; c == 0 || r >= c/3 {
		t.Errorf("mechanism 1 weights %v: careful labelers' miners %d, random %d", row.Row, c, r)
	}

	// The careful labelers' real comparisons are in the dataset.
	v.dataset.mu.Lock()
	tasks := len(v.dataset.have)
	v.dataset.mu.Unlock()
	if v.dataset.store.Len() == 0 || tasks == 0 {
		t.Fatalf("dataset: %d labels, %d tasks", v.dataset.store.Len(), tasks)
	}
	// None of the random labeler's labels is: it is below the bar.
	random := testKey(t, byte(10+tn.uids["random_labels"]-1)).PublicKey().Hex()[:16]
	for _, l := range v.dataset.store.Labels() {
		if !strings.Contains(l.LabelerID, "/sim") || strings.HasPrefix(l.LabelerID, tn.val.PublicKey().Hex()[:16]) {
			t.Fatalf("dataset label %+v", l)
		}
		if strings.HasPrefix(l.LabelerID, random) {
			t.Fatalf("a label of the random labeler is in the dataset: %+v", l)
		}
	}

	// The validator exports the dataset and commits its root on chain: a
	// copy checks out against the chain.
	var roots chain.DatasetsView
	for deadline := time.Now().Add(60 * time.Second); len(roots.Roots) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no dataset root on chain within 60s")
		}
		if err := v.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := tn.client.Query(ctx, chain.QueryDatasets+"1", &roots); err != nil {
			t.Fatal(err)
		}
	}
	exports, _ := filepath.Glob(filepath.Join(dir, "dataset", "exports", "*"))
	found := false
	for _, e := range exports {
		m, err := rlhf.Verify(e)
		if err != nil {
			t.Fatalf("export %s: %v", e, err)
		}
		found = found || (m.MerkleRoot == roots.Roots[0].Root && uint64(m.Records) == roots.Roots[0].Records)
	}
	if !found {
		t.Fatalf("no export in %v has the committed root %+v", exports, roots.Roots[0])
	}
}

// A tasks line that a crash cut short (no newline: its label was never
// stored) is cut off when the dataset opens; whole lines are kept.
func TestDatasetTornTasksLine(t *testing.T) {
	dir := t.TempDir()
	d, err := openDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	task := rlhf.Task{ID: "v:t1", Prompt: "p", CompletionA: "a", CompletionB: "b", Validator: strings.Repeat("ab", 32), Deadline: at, CreatedAt: at}
	if err := d.add(task, rlhf.Label{TaskID: "v:t1", LabelerID: "m/l", Choice: rlhf.ChoiceA, TimeOnTaskMs: 1000, Miner: "m", ReceivedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DatasetTasks)
	whole, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(append([]byte(nil), whole...), `{"id":"v:t2","pro`...), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err = openDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if got, _ := os.ReadFile(path); string(got) != string(whole) || !d.have["v:t1"] || d.have["v:t2"] {
		t.Fatalf("after reopening: file %q, tasks %v", got, d.have)
	}
	tasks, err := d.tasksByID(dir)
	if err != nil || len(tasks) != 1 || d.store.Len() != 1 {
		t.Fatalf("tasks %v (%v), %d labels", tasks, err, d.store.Len())
	}
}

// TestJudgeForgeries: the validator's judgement of answers to one story
// prompt, on the demo's model, built the way each cheat builds them: only
// the honest sample under the miner's own seed passes; every forgery is a
// hard failure with a reason that says what it is, whatever its length.
func TestJudgeForgeries(t *testing.T) {
	m := demoModel(t)
	v, _, _ := shutdownFixture(t, nil, nil)
	pol := v.cfg.Policy
	ctx := context.Background()
	prompt := scoring.StoryPrompt(11)
	params := func(seed uint64) scoring.SamplingParams {
		return scoring.SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, Seed: seed, MaxTokens: pol.MaxTokens}
	}
	gen := func(o llm.GenOptions) answer {
		t.Helper()
		g, err := m.Generate(ctx, prompt, o)
		if err != nil {
			t.Fatal(err)
		}
		return answerOf(g)
	}
	sampled := func(seed uint64) answer {
		return gen(llm.GenOptions{MaxTokens: pol.MaxTokens, Temperature: float32(pol.Temperature), TopP: float32(pol.TopP), Seed: seed})
	}
	cut := func(a answer, n int, finish string) answer {
		a.IDs = a.IDs[:n]
		text, err := m.Text(prompt, a.IDs)
		if err != nil {
			t.Fatal(err)
		}
		a.Text, a.Finish = text, finish
		return a
	}
	spell := func(text string) answer {
		ids, err := m.Tokenizer().Encode(prompt+text, true)
		if err != nil {
			t.Fatal(err)
		}
		pids, _ := m.Tokenizer().Encode(prompt, true)
		a := answer{Model: "babyllama105", Finish: llm.FinishLength, IDs: ids[len(pids):]}
		a.IDs = a.IDs[:min(len(a.IDs), pol.MaxTokens)] // as many as asked, as a forger would
		if a.Text, err = m.Text(prompt, a.IDs); err != nil {
			t.Fatal(err)
		}
		return a
	}
	const mine, other = 101, 202
	honest := sampled(mine)
	if honest.Finish != llm.FinishLength || len(honest.IDs) != pol.MaxTokens {
		t.Fatalf("the honest sample is %d tokens, finished %q: pick a seed that runs to max_tokens", len(honest.IDs), honest.Finish)
	}
	wrongModel := honest
	wrongModel.Model = "llama-3"
	textLie := honest
	textLie.Text = strings.ToUpper(honest.Text)
	noIDs := honest
	noIDs.IDs = nil
	badID := honest
	badID.IDs = append([]int{999}, honest.IDs[1:]...)
	for _, tc := range []struct {
		name   string
		a      answer
		reason string
	}{
		{"honest", honest, scoring.ReasonScored},
		{"another miner's sample (a copy, a sybil's shared run)", sampled(other), "sample_not_sampled"},
		{"a copy cut to 12 tokens", cut(sampled(other), 12, llm.FinishStop), "sample_not_sampled"},
		{"the honest sample cut to 10 tokens, claiming a stop", cut(honest, 10, llm.FinishStop), "sample_early_stop"},
		{"the honest sample cut to 10 tokens, claiming the length", cut(honest, 10, llm.FinishLength), "sample_short"},
		{"greedy when sampling was asked", gen(llm.GenOptions{MaxTokens: pol.MaxTokens}), "sample_not_sampled"},
		{"canned text with the model's tokens", spell(" The dog and the cat went to the park to play with a big red ball in the sun."), "sample_not_sampled"},
		{"a paraphrase of the honest sample", spell(paraphrase(honest.Text)), "sample_not_sampled"},
		{"another model", wrongModel, scoring.ReasonUndeclared},
		{"text the tokens do not spell", textLie, "sample_tokens_mismatch"},
		{"no token ids", noIDs, "sample_no_tokens"},
		{"a token outside the vocabulary", badID, "sample_bad_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verdict, detail, err := v.judge(ctx, KindInference, prompt, params(mine), tc.a, &prefixes{m: m}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if verdict.Reason != tc.reason || verdict.Hard != (tc.reason != scoring.ReasonScored) {
				t.Fatalf("verdict %+v (%s), want %s", verdict, detail, tc.reason)
			}
			if verdict.Hard && detail == "" {
				t.Fatal("a hard failure without a detail")
			}
			if !verdict.Hard && verdict.Score < pol.QualityBase {
				t.Fatalf("the honest answer scores %.3f", verdict.Score)
			}
		})
	}
}

// paraphrase swaps two words of text, from the middle on.
func paraphrase(text string) string {
	w := strings.Fields(text)
	i := len(w) / 2
	w[i], w[i+1] = w[i+1], w[i]
	return " " + strings.Join(w, " ")
}

// datasetChain answers the epoch query with epoch and records the dataset
// roots committed.
type datasetChain struct {
	noChain
	epoch uint64
	roots []chain.CommitDatasetRoot
}

func (c *datasetChain) Query(_ context.Context, path string, out any) (int64, error) {
	if ep, ok := out.(*chain.EpochView); ok && strings.HasPrefix(path, chain.QueryEpoch) {
		ep.Epoch = c.epoch
		return 1, nil
	}
	return 0, fmt.Errorf("no %s", path)
}

func (c *datasetChain) SendTx(_ context.Context, _ *keys.PrivateKey, body chain.Body) (*chainclient.Result, error) {
	c.roots = append(c.roots, *body.(*chain.CommitDatasetRoot))
	return &chainclient.Result{}, nil
}

// TestDatasetRootCommittedOnce: labels the export leaves out (a trap's)
// make the dataset grow but not its export: the same root is not
// committed again, and its export is not kept; a new preference is.
func TestDatasetRootCommittedOnce(t *testing.T) {
	key := testKey(t, 2)
	dir := t.TempDir()
	view := &chain.MetagraphView{Neurons: []chain.NeuronView{{UID: 0, Hotkey: chain.AccountID(key.PublicKey()).String(), ValidatorPermit: true}}}
	c := &datasetChain{}
	v, err := New(Config{Key: key, Netuid: 1, Metagraph: fixedView{view: view}, Chain: c, StatePath: filepath.Join(t.TempDir(), "s.json"),
		Exact: demoModel(t), VerifyModel: "babyllama105", Seed: 1, DatasetDir: dir, DatasetEvery: 1, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	at := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	label := func(id string, trap bool) {
		t.Helper()
		task := rlhf.Task{ID: id, Prompt: "p " + id, CompletionA: "a " + id, CompletionB: "b " + id, Validator: strings.Repeat("ab", 32), Deadline: at, CreatedAt: at}
		if trap {
			task.Trap, task.TrapAnswer = true, rlhf.ChoiceA
		}
		if err := v.dataset.add(task, rlhf.Label{TaskID: id, LabelerID: "m/l", Choice: rlhf.ChoiceA, TimeOnTaskMs: 1000, Miner: "m", ReceivedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(epoch uint64) {
		c.epoch = epoch
		v.publishDataset(context.Background(), view, 0)
	}
	label("v:t1", false)
	publish(1)
	label("v:t2", true)
	publish(2)
	if len(c.roots) != 1 {
		t.Fatalf("%d roots committed after a trap label, want the first only: %+v", len(c.roots), c.roots)
	}
	if _, err := os.Stat(filepath.Join(dir, "exports", "epoch-2")); !os.IsNotExist(err) {
		t.Errorf("the unchanged export of epoch 2 was kept (%v)", err)
	}
	label("v:t3", false)
	publish(3)
	if len(c.roots) != 2 || c.roots[1].Root == c.roots[0].Root || c.roots[1].Records != 2 {
		t.Fatalf("after a new preference: roots %+v, want a second one of 2 records", c.roots)
	}
}
