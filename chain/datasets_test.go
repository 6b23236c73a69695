package chain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"go.uber.org/zap"
)

// permit gives the named hotkeys of the fixture a validator permit on
// netuid, as an epoch would.
func (f *fixture) permit(netuid uint16, names ...string) {
	f.t.Helper()
	f.mutateStaged(func(s *State) {
		for _, name := range names {
			uid, ok := s.UID(netuid, f.id[name])
			if !ok {
				f.t.Fatalf("%s is not registered on subnet %d", name, netuid)
			}
			n := *s.neurons[neuronKey{netuid, uid}]
			n.Permit = true
			s.setNeuron(netuid, uid, &n)
		}
	})
}

// root is a distinct dataset root per i.
func root(i int) [32]byte { return sha256.Sum256([]byte(fmt.Sprintf("dataset %d", i))) }

func datasetEvents(signer AccountID, fee uint64, netuid, uid string, b *CommitDatasetRoot) []abci.Event {
	return []abci.Event{
		ev(KindCommitDatasetRoot, signer, fee, attr("netuid", netuid, true), attr("uid", uid, false)),
		{Type: DatasetRootEvent, Attributes: []abci.EventAttribute{
			attr("netuid", netuid, true),
			attr("root", hex.EncodeToString(b.Root[:]), true),
			attr("records", u64s(b.Records), false),
			attr("chunks", u64s(uint64(b.Chunks)), false),
			attr("hotkey", signer.String(), true),
		}},
	}
}

func TestValidCommitDatasetRoot(t *testing.T) {
	fee := DefaultFees().CommitDatasetRoot
	if fee != 0 {
		t.Fatalf("commit_dataset_root fee is %d: a validator's hotkey usually has no balance to pay it", fee)
	}
	f := newFixture(t)
	f.permit(1, "hka", "hke")
	hka, hke := f.id["hka"], f.id["hke"]

	// The first root of the subnet creates its record.
	b1 := &CommitDatasetRoot{Netuid: 1, Root: root(1), Records: 2500, Chunks: 3}
	applyValid(t, f, f.tx("hka", b1), fee, []string{"account/" + key4(hka), "datasets/1"},
		datasetEvents(hka, fee, "1", "0", b1)...)
	h1 := uint64(f.height)
	// A second, by a zero-balance validator hotkey, goes after it.
	b2 := &CommitDatasetRoot{Netuid: 1, Root: root(2), Records: 1, Chunks: 1}
	applyValid(t, f, f.tx("hke", b2), fee, sortedNames("account/"+key4(hke), "datasets/1"),
		datasetEvents(hke, fee, "1", "1", b2)...)
	h2 := uint64(f.height)

	want := []DatasetRoot{
		{Root: root(1), Records: 2500, Chunks: 3, Hotkey: hka, Block: h1},
		{Root: root(2), Records: 1, Chunks: 1, Hotkey: hke, Block: h2},
	}
	if got := f.app.State().DatasetRoots(1); !reflect.DeepEqual(got, want) {
		t.Errorf("roots %+v\nwant %+v", got, want)
	}
	if got := f.app.State().DatasetRoots(2); len(got) != 0 {
		t.Errorf("subnet 2 has roots %+v", got)
	}

	// The query shows them, newest last, as JSON with hex roots.
	q, err := f.app.Query(context.Background(), &abci.RequestQuery{Path: QueryDatasets + "1"})
	if err != nil || q.Code != 0 {
		t.Fatalf("query: %v %+v", err, q)
	}
	wantJSON := fmt.Sprintf(`{"netuid":1,"max":64,"roots":[`+
		`{"root":"%x","records":2500,"chunks":3,"hotkey":"%s","block":%d},`+
		`{"root":"%x","records":1,"chunks":1,"hotkey":"%s","block":%d}]}`,
		root(1), hka, h1, root(2), hke, h2)
	if string(q.Value) != wantJSON {
		t.Errorf("query /datasets/1:\n%s\nwant\n%s", q.Value, wantJSON)
	}
	for path, want := range map[string]string{
		"/datasets/2":     `{"netuid":2,"max":64,"roots":[]}`,
		"/datasets/9":     "no subnet 9",
		"/datasets/x":     `netuid "x": want an integer`,
		"/datasets/1/2":   `netuid "1/2"`,
		"/datasets/70000": `netuid "70000"`,
	} {
		q, _ := f.app.Query(context.Background(), &abci.RequestQuery{Path: path})
		if got := string(q.Value) + q.Log; !strings.Contains(got, want) {
			t.Errorf("query %s: %q, want %q", path, got, want)
		}
	}
}

func TestRejectedCommitDatasetRoot(t *testing.T) {
	good := func(netuid uint16) *CommitDatasetRoot {
		return &CommitDatasetRoot{Netuid: netuid, Root: root(1), Records: 10, Chunks: 2}
	}
	for _, tc := range []txCase{
		{"unknown subnet", func(f *fixture) []byte { return f.tx("hka", good(9)) },
			CodeUnknownSubnet, []string{"no subnet 9"}},
		{"unregistered hotkey", func(f *fixture) []byte { return f.tx("hkb", good(1)) },
			CodeNotRegistered, []string{"hotkey " + f0id("hkb") + " is not registered on subnet 1"}},
		{"hotkey registered on another subnet", func(f *fixture) []byte {
			f.permit(1, "hka")
			return f.tx("hka", good(2))
		}, CodeNotRegistered, []string{"is not registered on subnet 2"}},
		{"a coldkey", func(f *fixture) []byte { return f.tx("alice", good(1)) },
			CodeNotRegistered, []string{"is not registered on subnet 1"}},
		{"no validator permit", func(f *fixture) []byte { return f.tx("hke", good(1)) },
			CodeNoPermit, []string{"uid 1 (hotkey " + f0id("hke") + ") has no validator permit on subnet 1", "only validators with a permit"}},
		{"permit on another subnet only", func(f *fixture) []byte {
			f.permit(2, "hkc")
			f.permit(1, "hka")
			f.mutateStaged(func(s *State) { // hkc registers on subnet 1 too, without a permit there
				sn := s.subnets[1]
				s.setNeuron(1, sn.N, &Neuron{Hotkey: f.id["hkc"], RegisteredAt: 1})
				sn.N++
				s.setSubnet(1, sn)
			})
			return f.tx("hkc", good(1))
		}, CodeNoPermit, []string{"uid 2", "no validator permit on subnet 1"}},
		{"empty export", func(f *fixture) []byte {
			f.permit(1, "hka")
			return f.tx("hka", &CommitDatasetRoot{Netuid: 1, Root: root(1)})
		}, CodeBadDataset, []string{"dataset of 0 records in 0 chunks: an empty export has nothing to commit"}},
		{"records but no chunks", func(f *fixture) []byte {
			f.permit(1, "hka")
			return f.tx("hka", &CommitDatasetRoot{Netuid: 1, Root: root(1), Records: 5})
		}, CodeBadDataset, []string{"dataset of 5 records in 0 chunks"}},
		{"more chunks than records", func(f *fixture) []byte {
			f.permit(1, "hka")
			return f.tx("hka", &CommitDatasetRoot{Netuid: 1, Root: root(1), Records: 2, Chunks: 3})
		}, CodeBadDataset, []string{"dataset of 2 records in 3 chunks: every chunk of an export holds at least one record"}},
		{"again within weights_rate_limit", func(f *fixture) []byte {
			f.permit(1, "hka")
			f.mustBlock(f.tx("hka", good(1)))
			return f.tx("hka", &CommitDatasetRoot{Netuid: 1, Root: root(2), Records: 10, Chunks: 2})
		}, CodeDatasetRateLimited, []string{"committed a dataset root at block 3", "subnet 1 allows one every 100 blocks (weights_rate_limit), the next at block 103"}},
		{"truncated body, signed", func(f *fixture) []byte {
			u := unsigned(f.tx("hka", good(1)))
			return signRaw(f.priv["hka"], u[:len(u)-1])
		}, CodeMalformed, []string{"commit_dataset_root body: input ends early"}},
		{"trailing byte, signed", func(f *fixture) []byte {
			u := unsigned(f.tx("hka", good(1)))
			return signRaw(f.priv["hka"], append(u, 0))
		}, CodeMalformed, []string{"commit_dataset_root body: 1 trailing bytes"}},
		{"wrong nonce", func(f *fixture) []byte {
			f.permit(1, "hka")
			return f.txAt("hka", 7, good(1))
		}, CodeBadNonce, []string{"nonce 7, want 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkRejected(t, tc) })
	}
}

// f0id is the hex key of a fixture account, for expected messages.
func f0id(name string) string {
	for _, a := range fixtureAccounts {
		if a.name == name {
			_, id := testKey(a.key)
			return id.String()
		}
	}
	panic("no fixture account " + name)
}

// TestDatasetRateLimit: a hotkey may commit again exactly weights_rate_limit
// blocks after its last commit; other hotkeys are not held back by it.
func TestDatasetRateLimit(t *testing.T) {
	f := newFixture(t)
	f.permit(1, "hka", "hke")
	f.setParams(1, func(p *Hyperparams) { p.WeightsRateLimit = 3 })
	commit := func(name string, i int) []byte {
		return f.tx(name, &CommitDatasetRoot{Netuid: 1, Root: root(i), Records: 5, Chunks: 1})
	}
	f.mustBlock(commit("hka", 1), commit("hke", 2))
	first := f.height
	if r := f.block(commit("hka", 3)); Code(r[0].Code) != CodeDatasetRateLimited ||
		!strings.Contains(r[0].Log, fmt.Sprintf("the next at block %d", first+3)) {
		t.Fatalf("at %d: %s %s", f.height, Code(r[0].Code), r[0].Log)
	}
	before := f.snap()
	if r := f.block(commit("hka", 3)); Code(r[0].Code) != CodeDatasetRateLimited {
		t.Fatalf("at %d: %s %s", f.height, Code(r[0].Code), r[0].Log)
	}
	sameSnapshot(t, "refused commit", before, f.snap())
	if f.height != first+2 {
		t.Fatalf("height %d", f.height)
	}
	f.mustBlock(commit("hka", 3), commit("hke", 4))
	if got := len(f.app.State().DatasetRoots(1)); got != 4 {
		t.Errorf("%d roots, want 4", got)
	}
	f.checkConsistency(true)
}

// TestDatasetRootsBound commits more than MaxDatasetRoots roots: the subnet
// keeps the latest MaxDatasetRoots in order, and each block's app hash is
// what a full rehash gives.
func TestDatasetRootsBound(t *testing.T) {
	f := newFixture(t)
	f.permit(1, "hka", "hke")
	f.setParams(1, func(p *Hyperparams) { p.WeightsRateLimit = 1 })
	var all []DatasetRoot
	prev := bytes.Clone(f.app.appHash)
	for i := 0; len(all) < MaxDatasetRoots+7; i++ {
		var txs [][]byte
		for _, name := range []string{"hka", "hke"} {
			b := &CommitDatasetRoot{Netuid: 1, Root: root(len(all)), Records: uint64(100 + len(all)), Chunks: 1 + uint32(i%3)}
			txs = append(txs, f.tx(name, b))
			all = append(all, DatasetRoot{Root: b.Root, Records: b.Records, Chunks: b.Chunks, Hotkey: f.id[name], Block: uint64(f.height + 1)})
		}
		f.mustBlock(txs...)
		f.checkConsistency(true)
		if bytes.Equal(prev, f.app.appHash) {
			t.Fatalf("height %d: a commit did not change the app hash", f.height)
		}
		prev = bytes.Clone(f.app.appHash)
		want := all[max(0, len(all)-MaxDatasetRoots):]
		if got := f.app.State().DatasetRoots(1); !reflect.DeepEqual(got, want) {
			t.Fatalf("height %d: %d roots, want the last %d of %d", f.height, len(got), len(want), len(all))
		}
	}
	got := f.app.State().DatasetRoots(1)
	if len(got) != MaxDatasetRoots || got[0] != all[len(all)-MaxDatasetRoots] || got[len(got)-1] != all[len(all)-1] {
		t.Errorf("roots %d, first %+v, last %+v", len(got), got[0], got[len(got)-1])
	}
	if n := len(f.app.State().encodeRecord(keyDatasets(1))); n != 4+MaxDatasetRoots*datasetRootSize {
		t.Errorf("record of %d bytes", n)
	}
	var v DatasetsView
	q, _ := f.app.Query(context.Background(), &abci.RequestQuery{Path: "/datasets/1"})
	if err := json.Unmarshal(q.Value, &v); err != nil || len(v.Roots) != MaxDatasetRoots ||
		v.Roots[MaxDatasetRoots-1].Root != hex.EncodeToString(all[len(all)-1].Root[:]) {
		t.Errorf("query: %v %d roots", err, len(v.Roots))
	}
}

// TestDatasetRootsReload: committed roots are persisted with the block and
// a restarted app has them, at the same app hash, and goes on from them.
func TestDatasetRootsReload(t *testing.T) {
	f := newFixture(t)
	f.permit(1, "hka", "hke")
	f.setParams(1, func(p *Hyperparams) { p.WeightsRateLimit = 1 })
	for i := range 3 {
		f.mustBlock(f.tx("hka", &CommitDatasetRoot{Netuid: 1, Root: root(i), Records: 9, Chunks: 2}))
	}
	// A block that fails after Finalize but before Commit is not kept.
	want := f.app.State().DatasetRoots(1)
	wantHash := bytes.Clone(f.app.appHash)
	wantDump := dumpState(t, f.app.State())
	f.finalize(f.tx("hke", &CommitDatasetRoot{Netuid: 1, Root: root(99), Records: 9, Chunks: 2}))
	// no Commit: a crash

	app, err := NewApp(f.db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	info, _ := app.Info(context.Background(), &abci.RequestInfo{})
	if info.LastBlockHeight != f.height-1 || !bytes.Equal(info.LastBlockAppHash, wantHash) {
		t.Fatalf("reloaded at %d %X, want %d %X", info.LastBlockHeight, info.LastBlockAppHash, f.height-1, wantHash)
	}
	if got := app.State().DatasetRoots(1); !reflect.DeepEqual(got, want) {
		t.Fatalf("reloaded roots %+v\nwant %+v", got, want)
	}
	if d := changedKeys(wantDump, dumpState(t, app.State())); len(d) > 0 {
		t.Fatalf("reloaded state differs in %v", d)
	}
	// The restarted node applies the next block like the first did.
	g := &fixture{testChain: &testChain{t: t, db: f.db, app: app, height: f.height - 1}, priv: f.priv, id: f.id}
	g.mustBlock(g.tx("hke", &CommitDatasetRoot{Netuid: 1, Root: root(99), Records: 9, Chunks: 2}))
	if got := g.app.State().DatasetRoots(1); len(got) != 4 || got[3].Hotkey != f.id["hke"] {
		t.Errorf("after the replayed block: %+v", got)
	}
	g.checkConsistency(true)
}

// TestAppHashWithoutDatasets pins app hashes recorded before
// commit_dataset_root existed: the fixture's, and a chain's after a seeded
// workload of every other kind (re-recorded when the emission of epochs
// that paid nobody stopped being minted, and when stake began to earn
// dividends only if held through the tempo). A chain that never commits a
// dataset root (and charges no fee for it) hashes as it did.
func TestAppHashWithoutDatasets(t *testing.T) {
	check := func(what string, got []byte, want string) {
		t.Helper()
		if g := fmt.Sprintf("%X", got); g != want {
			t.Errorf("%s: app hash %s, want %s", what, g, want)
		}
	}
	f := newFixture(t)
	check("fixture", f.app.appHash, "71344D5F538A77C877E9590570D68F41FDA61B2CCCFB3D2B38FEB36C5EF4CCAA")
	w := newWorkload(42)
	w.datasets = false
	c := newTestChainOn(t, dbm.NewMemDB(), w.genesis())
	check("genesis", c.app.appHash, "CC4A775672D628A6AE1C88D25E76BD4F20776932DDC0A9508AFE4F981231F4C8")
	for range 40 {
		c.block(w.block(c.app.State(), c.height+1, 20)...)
	}
	check("workload", c.app.appHash, "C899EC21060D377EDD28A924EFCADF5821DB4828154C81D8988394BA45B495CE")

	// A subnet whose roots are all gone has no record: the hash is back to
	// what it was before the first.
	f.mutateStaged(func(s *State) {
		s.setDatasets(1, []DatasetRoot{{Root: root(1), Records: 1, Chunks: 1, Hotkey: f.id["hka"], Block: 3}})
	})
	if fmt.Sprintf("%X", f.app.appHash) == "71344D5F538A77C877E9590570D68F41FDA61B2CCCFB3D2B38FEB36C5EF4CCAA" {
		t.Errorf("a dataset root did not change the app hash")
	}
	f.mutateStaged(func(s *State) { s.setDatasets(1, nil) })
	check("fixture after the roots are gone", f.app.appHash, "71344D5F538A77C877E9590570D68F41FDA61B2CCCFB3D2B38FEB36C5EF4CCAA")
	if _, ok := f.app.State().datasets[1]; ok {
		t.Errorf("an empty list is kept")
	}
}

// TestDatasetFee: with a commit_dataset_root fee set at genesis, the
// signer pays and it is burned; the fee is part of the global record (and
// so of the app hash) and survives a restart.
func TestDatasetFee(t *testing.T) {
	alice, aliceID := testKey(1)
	hka, hkaID := testKey(11)
	hke, hkeID := testKey(15)
	fees := DefaultFees()
	fees.CommitDatasetRoot = 7 * Unit / 1000
	c := newTestChainOn(t, dbm.NewMemDB(), testGenesis(map[AccountID]uint64{aliceID: 1000 * Unit, hkaID: Unit}, fees))
	free := newTestChainOn(t, dbm.NewMemDB(), testGenesis(map[AccountID]uint64{aliceID: 1000 * Unit, hkaID: Unit}, DefaultFees()))
	if bytes.Equal(c.app.appHash, free.app.appHash) {
		t.Errorf("the fee is not in the app hash")
	}
	c.block(sign(t, alice, 0, &CreateSubnet{Params: subnet1Params()}))
	c.block(sign(t, alice, 1, &Register{Netuid: 1, Hotkey: hkaID, MaxBurn: 10 * Unit}),
		sign(t, alice, 2, &Register{Netuid: 1, Hotkey: hkeID, MaxBurn: 10 * Unit}))
	c.mutateStaged(func(s *State) {
		for uid := range uint16(2) {
			n := *s.neurons[neuronKey{1, uid}]
			n.Permit = true
			s.setNeuron(1, uid, &n)
		}
	})
	g0 := c.global()
	b := &CommitDatasetRoot{Netuid: 1, Root: root(1), Records: 3, Chunks: 1}
	res := c.block(sign(t, hka, 0, b), sign(t, hke, 0, b))
	if res[0].Code != 0 || Code(res[1].Code) != CodeInsufficientBalance ||
		!strings.Contains(res[1].Log, "balance 0.000000000 AGR (0 base units) cannot pay the commit_dataset_root fee of 0.007000000 AGR (7000000 base units)") {
		t.Fatalf("results %v", res)
	}
	if got := c.global().Burned - g0.Burned; got != fees.CommitDatasetRoot || c.balance(hkaID) != Unit-fees.CommitDatasetRoot {
		t.Errorf("burned %d, hka balance %d", got, c.balance(hkaID))
	}
	if got, want := ledgerFromEvents(t, res), fees.CommitDatasetRoot; got != want {
		t.Errorf("events say %d burned, want %d", got, want)
	}
	supplyInvariant(t, c.app.State())
	c.checkConsistency(true)
	app, err := NewApp(c.db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if g := app.State().Global(); g != c.global() || g.Fees.CommitDatasetRoot != fees.CommitDatasetRoot {
		t.Errorf("reloaded global %+v, want %+v", g, c.global())
	}
	if len(app.State().DatasetRoots(1)) != 1 || !bytes.Equal(app.appHash, c.app.appHash) {
		t.Errorf("reloaded roots %+v, hash %X want %X", app.State().DatasetRoots(1), app.appHash, c.app.appHash)
	}
}

// TestCorruptDatasetRecords: a stored dataset list or fee that could not
// have been written is refused when the node starts.
func TestCorruptDatasetRecords(t *testing.T) {
	f := newFixture(t)
	f.permit(1, "hka")
	f.mustBlock(f.tx("hka", &CommitDatasetRoot{Netuid: 1, Root: root(1), Records: 3, Chunks: 1}))
	rec, _ := f.db.Get([]byte(keyDatasets(1)))
	if len(rec) != 4+datasetRootSize {
		t.Fatalf("record of %d bytes", len(rec))
	}
	global, _ := f.db.Get([]byte(keyGlobal()))
	for _, tc := range []struct {
		name       string
		key, value []byte
		want       string
	}{
		{"no roots", []byte(keyDatasets(1)), []byte{0, 0, 0, 0}, "0 dataset roots, want 1 to 64"},
		{"too many roots", []byte(keyDatasets(1)), append([]byte{0, 0, 0, 65}, make([]byte, 65*datasetRootSize)...), "65 dataset roots"},
		{"count beyond the bytes", []byte(keyDatasets(1)), append([]byte{0, 0, 0, 2}, rec[4:]...), "input ends early"},
		{"truncated", []byte(keyDatasets(1)), rec[:len(rec)-1], "input ends early"},
		{"trailing byte", []byte(keyDatasets(1)), append(bytes.Clone(rec), 0), "1 trailing bytes"},
		{"bad key", []byte(keyDatasets(1) + "x"), rec, "bad datasets key"},
		{"zero fee stored", []byte(keyGlobal()), append(bytes.Clone(global), make([]byte, 8)...), "zero commit_dataset_root fee"},
		{"part of a fee", []byte(keyGlobal()), append(bytes.Clone(global), 1), "input ends early"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := dbm.NewMemDB()
			it, _ := f.db.Iterator(nil, nil)
			for ; it.Valid(); it.Next() {
				_ = db.Set(it.Key(), it.Value())
			}
			it.Close()
			if err := db.Set(tc.key, tc.value); err != nil {
				t.Fatal(err)
			}
			_, err := NewApp(db, zap.NewNop())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewApp: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestPersistCoversDatasets guards the persistence tests' coverage: the
// workloads that TestPersistReopen and TestWipedDatabaseReplays reopen and
// replay hold dataset roots.
func TestPersistCoversDatasets(t *testing.T) {
	for _, run := range []struct {
		seed   uint64
		blocks int
	}{{7, 12}, {10, 15}} {
		r := recordRun(t, run.seed, run.blocks)
		found := false
		for k := range r.dumps[run.blocks-1] {
			found = found || k[0] == prefixDatasets
		}
		if !found {
			t.Errorf("seed %d: no dataset roots after %d blocks", run.seed, run.blocks)
		}
	}
}
