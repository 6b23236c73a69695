package chain

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"go.uber.org/zap"
)

// recordedRun is a workload's blocks and the app hash after each, from an
// uninterrupted run on a memory database.
type recordedRun struct {
	genesis []byte
	blocks  [][][]byte
	hashes  [][]byte
	dumps   []map[string][]byte
}

func recordRun(t testing.TB, seed uint64, n int) *recordedRun {
	t.Helper()
	w := newWorkload(seed)
	r := &recordedRun{genesis: w.genesis()}
	c := newTestChainOn(t, dbm.NewMemDB(), r.genesis)
	for range n {
		txs := w.block(c.app.State(), c.height+1, 15)
		c.block(txs...)
		r.blocks = append(r.blocks, txs)
		r.hashes = append(r.hashes, bytes.Clone(c.app.appHash))
		r.dumps = append(r.dumps, dumpState(t, c.app.State()))
	}
	return r
}

func openLevelDB(t testing.TB, dir string) dbm.DB {
	t.Helper()
	db, err := dbm.NewGoLevelDB("app", dir)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// reopen opens a fresh app on db, as a restarted node does, and checks
// that Info reports height with its recorded hash.
func reopen(t *testing.T, db dbm.DB, r *recordedRun, height int64) *testChain {
	t.Helper()
	app, err := NewApp(db, zap.NewNop())
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	info, err := app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != height {
		t.Fatalf("Info height %d, want %d", info.LastBlockHeight, height)
	}
	if height > 0 && !bytes.Equal(info.LastBlockAppHash, r.hashes[height-1]) {
		t.Fatalf("Info app hash %X, want %X", info.LastBlockAppHash, r.hashes[height-1])
	}
	c := &testChain{t: t, db: db, app: app, height: height}
	if height > 0 {
		if d := changedKeys(r.dumps[height-1], dumpState(t, app.State())); len(d) > 0 {
			t.Fatalf("reloaded state differs in %v", d)
		}
	}
	return c
}

// replay applies the recorded blocks after c's height up to height,
// checking each app hash.
func (r *recordedRun) replay(c *testChain, to int64) {
	c.t.Helper()
	for c.height < to {
		c.block(r.blocks[c.height]...)
		if !bytes.Equal(c.app.appHash, r.hashes[c.height-1]) {
			c.t.Fatalf("replayed height %d: app hash %X, want %X", c.height, c.app.appHash, r.hashes[c.height-1])
		}
	}
}

func TestPersistReopen(t *testing.T) {
	r := recordRun(t, 7, 12)
	dir := t.TempDir()
	db := openLevelDB(t, dir)
	c := newTestChainOn(t, db, r.genesis)
	r.replay(c, 8)
	c.checkConsistency(true)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openLevelDB(t, dir)
	defer db.Close()
	c = reopen(t, db, r, 8)
	r.replay(c, 12)
	c.checkConsistency(true)
}

// TestCrashBeforeCommit drops the app between FinalizeBlock and Commit:
// the node resumes at the previous height, and applying the block again
// gives the uninterrupted run's app hash.
func TestCrashBeforeCommit(t *testing.T) {
	r := recordRun(t, 8, 10)
	dir := t.TempDir()
	db := openLevelDB(t, dir)
	c := newTestChainOn(t, db, r.genesis)
	r.replay(c, 6)
	resp := c.finalize(r.blocks[6]...)
	if !bytes.Equal(resp.AppHash, r.hashes[6]) {
		t.Fatalf("height 7: %X, want %X", resp.AppHash, r.hashes[6])
	}
	db.Close() // crash: no Commit
	db = openLevelDB(t, dir)
	defer db.Close()
	c = reopen(t, db, r, 6)
	r.replay(c, 10)
}

// TestCrashBeforeFirstCommit: InitChain's state is only persisted with
// block 1, so a crash before then starts over with InitChain.
func TestCrashBeforeFirstCommit(t *testing.T) {
	r := recordRun(t, 9, 3)
	dir := t.TempDir()
	db := openLevelDB(t, dir)
	c := newTestChainOn(t, db, r.genesis)
	genesisHash := bytes.Clone(c.app.appHash)
	c.finalize(r.blocks[0]...)
	db.Close()
	db = openLevelDB(t, dir)
	defer db.Close()
	app, err := NewApp(db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	info, _ := app.Info(context.Background(), &abci.RequestInfo{})
	if info.LastBlockHeight != 0 || len(info.LastBlockAppHash) != 0 {
		t.Fatalf("Info %d %X, want 0 and no hash", info.LastBlockHeight, info.LastBlockAppHash)
	}
	if len(allKeys(app.State())) != 1 || app.State().Global() != (Global{}) {
		t.Fatalf("state left over from before the first commit")
	}
	c = newTestChainOn(t, db, r.genesis)
	if !bytes.Equal(c.app.appHash, genesisHash) {
		t.Fatalf("InitChain again: %X, want %X", c.app.appHash, genesisHash)
	}
	r.replay(c, 3)
}

// TestWipedDatabaseReplays: a node whose app database is lost starts from
// InitChain and replays every block to the same app hash.
func TestWipedDatabaseReplays(t *testing.T) {
	r := recordRun(t, 10, 15)
	c := newTestChainOn(t, openLevelDB(t, t.TempDir()), r.genesis)
	defer c.db.Close()
	r.replay(c, 15)
	if d := changedKeys(r.dumps[14], dumpState(t, c.app.State())); len(d) > 0 {
		t.Fatalf("states differ in %v", d)
	}
}

// failingDB fails every batch write, as a crash during Commit's write
// would: nothing of the batch lands.
type failingDB struct{ dbm.DB }

type failingBatch struct{ dbm.Batch }

func (d failingDB) NewBatch() dbm.Batch            { return failingBatch{d.DB.NewBatch()} }
func (b failingBatch) WriteSync() error            { return errors.New("disk on fire") }
func (b failingBatch) Write() error                { return errors.New("disk on fire") }
func (d failingDB) NewBatchWithSize(int) dbm.Batch { return d.NewBatch() }

func TestFailedCommit(t *testing.T) {
	r := recordRun(t, 11, 6)
	dir := t.TempDir()
	db := openLevelDB(t, dir)
	c := newTestChainOn(t, db, r.genesis)
	r.replay(c, 4)
	app := c.app
	app.store.db = failingDB{db}
	if _, err := app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: 5, Time: blockTime(5), Txs: r.blocks[4]}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Commit(context.Background(), &abci.RequestCommit{}); err == nil || !strings.Contains(err.Error(), "commit height 5") {
		t.Fatalf("Commit: %v, want an error naming the height", err)
	}
	db.Close()
	db = openLevelDB(t, dir)
	defer db.Close()
	c = reopen(t, db, r, 4)
	r.replay(c, 6)
}

// TestCorruptDatabase changes the stored records behind the app's back:
// loading fails with an error that says so, never with a wrong state.
func TestCorruptDatabase(t *testing.T) {
	r := recordRun(t, 12, 5)
	var acct, neuron string
	for k := range r.dumps[4] {
		switch k[0] {
		case prefixAccount:
			acct = max(acct, k)
		case prefixNeuron:
			neuron = max(neuron, k)
		}
	}
	if acct == "" || neuron == "" {
		t.Fatal("the workload made no accounts or neurons")
	}
	for _, tc := range []struct {
		name  string
		spoil func(db dbm.DB) error
		want  string
	}{
		{"balance changed", func(db dbm.DB) error {
			v, _ := db.Get([]byte(acct))
			v = bytes.Clone(v)
			v[7]++
			return db.SetSync([]byte(acct), v)
		}, "the database is corrupt"},
		{"record deleted", func(db dbm.DB) error { return db.DeleteSync([]byte(neuron)) }, "the database is corrupt"},
		{"record added", func(db dbm.DB) error {
			return db.SetSync([]byte(keyAccount(AccountID{1})), make([]byte, 16))
		}, "the database is corrupt"},
		{"record truncated", func(db dbm.DB) error {
			v, _ := db.Get([]byte(neuron))
			return db.SetSync([]byte(neuron), v[:len(v)-1])
		}, "input ends early"},
		{"record with trailing bytes", func(db dbm.DB) error {
			v, _ := db.Get([]byte(acct))
			return db.SetSync([]byte(acct), append(bytes.Clone(v), 0))
		}, "1 trailing bytes"},
		{"unknown record kind", func(db dbm.DB) error { return db.SetSync([]byte("zzz"), []byte{1}) }, "unknown kind"},
		{"bad key length", func(db dbm.DB) error { return db.SetSync([]byte("a123"), make([]byte, 16)) }, "bad account key"},
		{"height truncated", func(db dbm.DB) error { return db.SetSync(metaHeight, []byte{0, 5}) }, "height"},
		{"app hash missing", func(db dbm.DB) error { return db.DeleteSync(metaAppHash) }, "the database is corrupt"},
		{"app hash changed", func(db dbm.DB) error {
			v, _ := db.Get(metaAppHash)
			v = bytes.Clone(v)
			v[0] ^= 1
			return db.SetSync(metaAppHash, v)
		}, "the database is corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openLevelDB(t, dir)
			c := newTestChainOn(t, db, r.genesis)
			r.replay(c, 5)
			if err := tc.spoil(db); err != nil {
				t.Fatal(err)
			}
			db.Close()
			db = openLevelDB(t, dir)
			defer db.Close()
			_, err := NewApp(db, zap.NewNop())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewApp: %v, want an error saying %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}
