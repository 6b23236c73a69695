package chain

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"go.uber.org/zap"
)

// snapshotChain is a chain on goleveldb that replays r's blocks up to
// height, taking a snapshot every interval blocks into its own directory
// (kept: keep), in chunks of chunkSize bytes.
func snapshotChain(t testing.TB, r *recordedRun, height int64, interval uint64, keep, chunkSize int) (*testChain, string) {
	t.Helper()
	db := openLevelDB(t, t.TempDir())
	t.Cleanup(func() { db.Close() })
	c := newTestChainOn(t, db, r.genesis)
	dir := filepath.Join(t.TempDir(), "snapshots")
	if err := c.app.EnableSnapshots(dir, interval, keep); err != nil {
		t.Fatal(err)
	}
	c.app.snaps.chunkSize = chunkSize
	t.Cleanup(c.app.WaitSnapshot)
	for c.height < height {
		r.replay(c, c.height+1)
		// One at a time: a writer still busy would skip the next.
		c.app.WaitSnapshot()
	}
	return c, dir
}

func listSnapshots(t testing.TB, app *App) []*abci.Snapshot {
	t.Helper()
	res, err := app.ListSnapshots(context.Background(), &abci.RequestListSnapshots{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Snapshots
}

func snapshotHeights(list []*abci.Snapshot) []uint64 {
	var hs []uint64
	for _, s := range list {
		hs = append(hs, s.Height)
	}
	return hs
}

// freshApp is a new app on an empty goleveldb after InitChain with the
// run's genesis, as CometBFT leaves a state-syncing node before it offers
// a snapshot.
func freshApp(t testing.TB, r *recordedRun) (*testChain, string) {
	t.Helper()
	dir := t.TempDir()
	db := openLevelDB(t, dir)
	t.Cleanup(func() { db.Close() })
	return newTestChainOn(t, db, r.genesis), dir
}

func offer(t testing.TB, app *App, s *abci.Snapshot, appHash []byte) abci.ResponseOfferSnapshot_Result {
	t.Helper()
	res, err := app.OfferSnapshot(context.Background(), &abci.RequestOfferSnapshot{Snapshot: s, AppHash: appHash})
	if err != nil {
		t.Fatalf("OfferSnapshot: %v", err)
	}
	return res.Result
}

func loadChunk(t testing.TB, app *App, s *abci.Snapshot, i uint32) []byte {
	t.Helper()
	res, err := app.LoadSnapshotChunk(context.Background(), &abci.RequestLoadSnapshotChunk{Height: s.Height, Format: s.Format, Chunk: i})
	if err != nil {
		t.Fatalf("LoadSnapshotChunk: %v", err)
	}
	if len(res.Chunk) == 0 {
		t.Fatalf("LoadSnapshotChunk %d/%d: empty", s.Height, i)
	}
	return res.Chunk
}

func applyChunk(t testing.TB, app *App, i uint32, chunk []byte, sender string) *abci.ResponseApplySnapshotChunk {
	t.Helper()
	res, err := app.ApplySnapshotChunk(context.Background(), &abci.RequestApplySnapshotChunk{Index: i, Chunk: chunk, Sender: sender})
	if err != nil {
		t.Fatalf("ApplySnapshotChunk %d: %v", i, err)
	}
	return res
}

// restoreFrom offers src's snapshot s with the trusted appHash to dst and
// applies every chunk; it returns the last chunk's result.
func restoreFrom(t testing.TB, src, dst *App, s *abci.Snapshot, appHash []byte) abci.ResponseApplySnapshotChunk_Result {
	t.Helper()
	if got := offer(t, dst, s, appHash); got != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer of snapshot %d: %v", s.Height, got)
	}
	var last abci.ResponseApplySnapshotChunk_Result
	for i := range s.Chunks {
		last = applyChunk(t, dst, i, loadChunk(t, src, s, i), "peer").Result
		if i < s.Chunks-1 && last != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v", i, last)
		}
	}
	return last
}

// TestSnapshotRoundTrip: a snapshot of a chain with subnets, stake,
// weights and epochs, restored into a fresh app, gives the same app hash,
// the same state and query answers, survives a restart, and goes on to
// apply the next blocks with the same hashes.
func TestSnapshotRoundTrip(t *testing.T) {
	r := recordRun(t, 11, 30)
	src, _ := snapshotChain(t, r, 20, 10, 2, 1024)
	list := listSnapshots(t, src.app)
	if got := snapshotHeights(list); !slices.Equal(got, []uint64{20, 10}) {
		t.Fatalf("snapshots at %v, want [20 10]", got)
	}
	s := list[0]
	if s.Chunks < 3 {
		t.Fatalf("%d chunks: the state should take several of 1 KiB", s.Chunks)
	}

	dst, dir := freshApp(t, r)
	if got := restoreFrom(t, src.app, dst.app, s, r.hashes[19]); got != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("last chunk: %v", got)
	}
	info, err := dst.app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != 20 || !bytes.Equal(info.LastBlockAppHash, r.hashes[19]) {
		t.Fatalf("Info after restore: height %d hash %X, want 20 %X", info.LastBlockHeight, info.LastBlockAppHash, r.hashes[19])
	}
	if d := changedKeys(r.dumps[19], dumpState(t, dst.app.State())); len(d) > 0 {
		t.Fatalf("restored state differs in %v", d)
	}
	for _, path := range []string{QuerySupply, QueryEmission, QuerySubnet + "1", QueryMetagraph + "1", QueryEpoch + "1", QueryWeights + "1/0"} {
		want, _ := src.app.Query(context.Background(), &abci.RequestQuery{Path: path})
		got, _ := dst.app.Query(context.Background(), &abci.RequestQuery{Path: path})
		if want.Code != got.Code || !bytes.Equal(want.Value, got.Value) {
			t.Errorf("%s: restored answers %d %s, want %d %s", path, got.Code, got.Value, want.Code, want.Value)
		}
	}

	// The restored state is committed: a restart loads it.
	dst.app.WaitSnapshot()
	dst.db.Close()
	db := openLevelDB(t, dir)
	defer db.Close()
	dst = reopen(t, db, r, 20)
	r.replay(dst, 30)
	dst.checkConsistency(true)
}

// TestSnapshotCorruptChunk: a chunk that does not match its hash is
// fetched again and its sender refused; the good one then completes the
// restore.
func TestSnapshotCorruptChunk(t *testing.T) {
	r := recordRun(t, 12, 10)
	src, _ := snapshotChain(t, r, 10, 10, 2, 1024)
	s := listSnapshots(t, src.app)[0]
	dst, _ := freshApp(t, r)
	if got := offer(t, dst.app, s, r.hashes[9]); got != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", got)
	}
	for i := range s.Chunks {
		chunk := loadChunk(t, src.app, s, i)
		if i == 1 {
			bad := bytes.Clone(chunk)
			bad[len(bad)/2] ^= 1
			res := applyChunk(t, dst.app, i, bad, "liar")
			if res.Result != abci.ResponseApplySnapshotChunk_RETRY || !slices.Equal(res.RefetchChunks, []uint32{1}) || !slices.Equal(res.RejectSenders, []string{"liar"}) {
				t.Fatalf("corrupt chunk: %+v, want RETRY of chunk 1 refusing liar", res)
			}
			if res := applyChunk(t, dst.app, i, nil, "empty"); res.Result != abci.ResponseApplySnapshotChunk_RETRY {
				t.Fatalf("empty chunk: %v, want RETRY", res.Result)
			}
		}
		if res := applyChunk(t, dst.app, i, chunk, "honest"); res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v", i, res.Result)
		}
	}
	if !bytes.Equal(dst.app.appHash, r.hashes[9]) || dst.app.height != 10 {
		t.Fatalf("restored height %d hash %X, want 10 %X", dst.app.height, dst.app.appHash, r.hashes[9])
	}
}

// TestSnapshotWrongAppHash: a snapshot whose records do not hash to the
// trusted app hash is refused, and the app keeps no trace of it.
func TestSnapshotWrongAppHash(t *testing.T) {
	r := recordRun(t, 13, 10)
	src, _ := snapshotChain(t, r, 10, 5, 2, 1024)
	list := listSnapshots(t, src.app)
	dst, _ := freshApp(t, r)
	genesisHash := bytes.Clone(dst.app.appHash)
	// Snapshot 5 offered as if it were the state at height 10.
	s := list[1]
	if got := restoreFrom(t, src.app, dst.app, s, r.hashes[9]); got != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT {
		t.Fatalf("last chunk of a snapshot with the wrong app hash: %v, want REJECT_SNAPSHOT", got)
	}
	info, _ := dst.app.Info(context.Background(), &abci.RequestInfo{})
	if info.LastBlockHeight != 0 || !bytes.Equal(dst.app.appHash, genesisHash) {
		t.Fatalf("after a refused snapshot: height %d hash %X, want 0 and the genesis hash", info.LastBlockHeight, dst.app.appHash)
	}
	if v, _ := dst.db.Get(metaHeight); v != nil {
		t.Fatalf("a refused snapshot stored height %x", v)
	}
	// A chunk after the refusal belongs to no offer.
	if res := applyChunk(t, dst.app, 0, loadChunk(t, src.app, s, 0), "peer"); res.Result != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT {
		t.Fatalf("chunk with no offer: %v", res.Result)
	}
	// The right one then restores.
	if got := restoreFrom(t, src.app, dst.app, list[0], r.hashes[9]); got != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("the right snapshot: %v", got)
	}
}

// TestOfferSnapshot: offers that cannot be a snapshot of ours get the
// result that tells CometBFT what to do next.
func TestOfferSnapshot(t *testing.T) {
	r := recordRun(t, 14, 4)
	src, _ := snapshotChain(t, r, 4, 4, 2, 1024)
	good := listSnapshots(t, src.app)[0]
	appHash := r.hashes[3]
	edit := func(f func(s *abci.Snapshot)) *abci.Snapshot {
		s := *good
		s.Metadata = bytes.Clone(good.Metadata)
		f(&s)
		return &s
	}
	for _, tc := range []struct {
		name    string
		s       *abci.Snapshot
		appHash []byte
		want    abci.ResponseOfferSnapshot_Result
	}{
		{"good", good, appHash, abci.ResponseOfferSnapshot_ACCEPT},
		{"format 2", edit(func(s *abci.Snapshot) { s.Format = 2 }), appHash, abci.ResponseOfferSnapshot_REJECT_FORMAT},
		{"no snapshot", nil, appHash, abci.ResponseOfferSnapshot_REJECT},
		{"no chunks", edit(func(s *abci.Snapshot) { s.Chunks = 0 }), appHash, abci.ResponseOfferSnapshot_REJECT},
		{"too many chunks", edit(func(s *abci.Snapshot) { s.Chunks = maxSnapshotChunks + 1 }), appHash, abci.ResponseOfferSnapshot_REJECT},
		{"metadata short", edit(func(s *abci.Snapshot) { s.Metadata = s.Metadata[1:] }), appHash, abci.ResponseOfferSnapshot_REJECT},
		{"hash not of metadata", edit(func(s *abci.Snapshot) { s.Metadata[0] ^= 1 }), appHash, abci.ResponseOfferSnapshot_REJECT},
		{"height 0", edit(func(s *abci.Snapshot) { s.Height = 0 }), appHash, abci.ResponseOfferSnapshot_REJECT},
		{"no app hash", good, nil, abci.ResponseOfferSnapshot_REJECT},
	} {
		dst, _ := freshApp(t, r)
		if got := offer(t, dst.app, tc.s, tc.appHash); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// An app with committed state is not restored over.
	if got := offer(t, src.app, good, appHash); got != abci.ResponseOfferSnapshot_ABORT {
		t.Errorf("offer to an app at height 4: %v, want ABORT", got)
	}
}

// TestSnapshotPruneAndInterrupted: only the keep most recent snapshots
// stay; a directory left by a crash mid-write is never listed and is
// removed on the next start; a stray height directory without a
// description is not listed either.
func TestSnapshotPruneAndInterrupted(t *testing.T) {
	r := recordRun(t, 15, 12)
	src, dir := snapshotChain(t, r, 12, 2, 3, 4096)
	if got := snapshotHeights(listSnapshots(t, src.app)); !slices.Equal(got, []uint64{12, 10, 8}) {
		t.Fatalf("snapshots at %v, want [12 10 8]", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("%d entries in the snapshot directory, want 3", len(entries))
	}

	// A crash while writing 14: its temporary directory holds chunks but
	// was never renamed. And 16 without its description.
	tmp := filepath.Join(dir, snapshotTmpPrefix+"14")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "0"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "16"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got := snapshotHeights(listSnapshots(t, src.app)); !slices.Equal(got, []uint64{12, 10, 8}) {
		t.Fatalf("with an unfinished snapshot: listed %v, want [12 10 8]", got)
	}
	app, err := NewApp(src.db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := app.EnableSnapshots(dir, 2, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("unfinished snapshot still there after restart: %v", err)
	}
	if got := snapshotHeights(listSnapshots(t, app)); !slices.Equal(got, []uint64{12, 10, 8}) {
		t.Fatalf("after restart: listed %v, want [12 10 8]", got)
	}
	if res, _ := app.LoadSnapshotChunk(context.Background(), &abci.RequestLoadSnapshotChunk{Height: 4, Format: SnapshotFormat}); len(res.Chunk) != 0 {
		t.Fatal("a pruned snapshot's chunk was served")
	}

	if err := app.EnableSnapshots(dir, 2, 0); err == nil {
		t.Error("keep 0 accepted")
	}
	mem, err := NewApp(newTestChain(t, nil).db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.EnableSnapshots(dir, 2, 2); err == nil {
		t.Error("snapshots on a memory database accepted")
	}
}

// FuzzDecodeSnapshot: a record stream from a peer never panics the
// decoder, whatever its bytes.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 1, 2, 'a', 'b'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{1, prefixGlobal, 0, 1, prefixGlobal, 0})
	trusted := newHasher().root()
	f.Fuzz(func(t *testing.T, stream []byte) {
		_, _, _, _ = decodeSnapshot(stream, trusted)
	})
}

// BenchmarkStateSync compares the two ways a new node gets the state at
// the workload's height 200: replaying the blocks, or restoring a
// snapshot (offer, every chunk verified, the state rebuilt, rehashed and
// committed). Both on goleveldb, as a node runs.
func BenchmarkStateSync(b *testing.B) {
	const blocks = 200
	r := recordRun(b, 21, blocks)
	b.Run("replay", func(b *testing.B) {
		for b.Loop() {
			db := openLevelDB(b, b.TempDir())
			r.replay(newTestChainOn(b, db, r.genesis), blocks)
			db.Close()
		}
	})
	b.Run("restore", func(b *testing.B) {
		src, _ := snapshotChain(b, r, blocks, blocks, 1, SnapshotChunkSize)
		s := listSnapshots(b, src.app)[0]
		for b.Loop() {
			dst, _ := freshApp(b, r)
			if got := restoreFrom(b, src.app, dst.app, s, r.hashes[blocks-1]); got != abci.ResponseApplySnapshotChunk_ACCEPT {
				b.Fatalf("restore: %v", got)
			}
			dst.db.Close()
		}
	})
}
