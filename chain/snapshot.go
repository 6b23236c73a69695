package chain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"go.uber.org/zap"
)

// State sync snapshots.
//
// A snapshot of height H is the committed records at H (every key from
// byte 1 up, in key order) as one stream of (uvarint key length, key,
// uvarint value length, value), cut into chunks of SnapshotChunkSize
// bytes. Its Metadata is the chunks' sha256s end to end, and its Hash the
// sha256 of that Metadata, so a joining node checks each chunk as it
// arrives and the whole snapshot against the app hash the light client
// verified. Two nodes with the same state write byte-identical snapshots.
//
// On disk, a snapshot is a directory <dir>/<H>/ holding the chunk files
// 0, 1, ... and snapshot.json. It is written under a temporary name,
// fsynced and renamed into place, so a crash mid-write leaves only a
// temporary directory, which is never listed and is removed on the next
// EnableSnapshots.
const (
	// SnapshotFormat is the format number of Agora's snapshots; offers of
	// any other are refused with REJECT_FORMAT.
	SnapshotFormat = 1
	// SnapshotChunkSize is the size of every chunk but the last, in bytes
	// (CometBFT's limit is 16 MB).
	SnapshotChunkSize = 4 << 20
	// maxSnapshotChunks bounds an offered snapshot's chunk count (16 GiB
	// of state at 4 MiB a chunk), so an offer cannot make the app hold
	// an unbounded chunk table.
	maxSnapshotChunks = 4096
	// snapshotMetaFile is a snapshot directory's description.
	snapshotMetaFile = "snapshot.json"
	// snapshotTmpPrefix starts the name of a snapshot being written.
	snapshotTmpPrefix = ".tmp-"
	// DefaultSnapshotKeep is how many snapshots are kept if not told.
	DefaultSnapshotKeep = 2
)

// snapshots writes, lists and serves the snapshots in one directory.
// Commit starts at most one writer goroutine at a time; mu orders its
// publish and prune against ListSnapshots and LoadSnapshotChunk, which
// CometBFT calls on its snapshot connection.
type snapshots struct {
	dir       string
	interval  uint64
	keep      int
	chunkSize int

	mu      sync.Mutex
	writing atomic.Bool
	wg      sync.WaitGroup
}

// snapshotMeta is snapshot.json.
type snapshotMeta struct {
	Height   uint64 `json:"height"`
	Format   uint32 `json:"format"`
	Chunks   uint32 `json:"chunks"`
	Hash     []byte `json:"hash"`
	Metadata []byte `json:"metadata"`
	AppHash  []byte `json:"app_hash"`
}

// restoring is a snapshot being applied: the offer and the chunks so far.
type restoring struct {
	snap    *abci.Snapshot
	appHash []byte
	chunks  [][]byte
	got     int
}

// EnableSnapshots has the app take a snapshot of its committed state
// every interval blocks into dir (created if missing), keeping the keep
// most recent, and serve them to joining nodes. interval 0 takes none and
// lists none. It removes snapshots left half-written by a crash. The
// app's database must be goleveldb, whose iterators see one point in
// time: the snapshot is written while later blocks commit. Call it before
// the app serves CometBFT.
func (a *App) EnableSnapshots(dir string, interval uint64, keep int) error {
	if interval == 0 {
		a.snaps = nil
		return nil
	}
	if keep < 1 {
		return fmt.Errorf("chain: snapshots: keep %d: want at least 1", keep)
	}
	if dir == "" {
		return errors.New("chain: snapshots: no directory")
	}
	if _, ok := a.store.db.(*dbm.GoLevelDB); !ok {
		return fmt.Errorf("chain: snapshots need a goleveldb database (its iterators are point-in-time), not %T", a.store.db)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("chain: snapshots: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("chain: snapshots: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), snapshotTmpPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("chain: snapshots: remove unfinished %s: %w", e.Name(), err)
			}
		}
	}
	a.snaps = &snapshots{dir: dir, interval: interval, keep: keep, chunkSize: SnapshotChunkSize}
	return nil
}

// WaitSnapshot returns once the snapshot being written, if any, is
// published or abandoned. Call it before closing the app's database.
func (a *App) WaitSnapshot() {
	if a.snaps != nil {
		a.snaps.wg.Wait()
	}
}

// maybeSnapshot starts writing a snapshot of the state just committed if
// the height is on the interval. It only opens an iterator here; the
// writing runs on its own goroutine. A failed snapshot is logged, never
// fatal: the chain does not depend on it.
func (a *App) maybeSnapshot() {
	sn := a.snaps
	if sn == nil || a.height <= 0 || uint64(a.height)%sn.interval != 0 {
		return
	}
	if !sn.writing.CompareAndSwap(false, true) {
		a.log.Warn("snapshot skipped: the previous one is still being written", zap.Int64("height", a.height))
		return
	}
	it, err := a.store.db.Iterator([]byte{1}, nil)
	if err != nil {
		sn.writing.Store(false)
		a.log.Warn("snapshot failed", zap.Int64("height", a.height), zap.Error(err))
		return
	}
	height, appHash := uint64(a.height), bytes.Clone(a.appHash)
	sn.wg.Add(1)
	go func() {
		defer sn.wg.Done()
		defer sn.writing.Store(false)
		m, err := sn.write(height, appHash, it)
		if err != nil {
			a.log.Warn("snapshot failed", zap.Uint64("height", height), zap.Error(err))
			return
		}
		a.log.Info("snapshot taken", zap.Uint64("height", height), zap.Uint32("chunks", m.Chunks))
	}()
}

// write writes the records of it as snapshot height under a temporary
// name, publishes it by renaming, and prunes old snapshots. It closes it.
func (sn *snapshots) write(height uint64, appHash []byte, it dbm.Iterator) (*snapshotMeta, error) {
	tmp := filepath.Join(sn.dir, snapshotTmpPrefix+strconv.FormatUint(height, 10))
	m, err := sn.writeChunks(tmp, height, appHash, it)
	if cerr := it.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = sn.publish(tmp, height)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	return m, nil
}

func (sn *snapshots) writeChunks(tmp string, height uint64, appHash []byte, it dbm.Iterator) (*snapshotMeta, error) {
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	m := &snapshotMeta{Height: height, Format: SnapshotFormat, AppHash: appHash}
	var buf bytes.Buffer
	flush := func(chunk []byte) error {
		sum := sha256.Sum256(chunk)
		m.Metadata = append(m.Metadata, sum[:]...)
		if err := writeFileSync(filepath.Join(tmp, strconv.FormatUint(uint64(m.Chunks), 10)), chunk); err != nil {
			return err
		}
		m.Chunks++
		return nil
	}
	for ; it.Valid(); it.Next() {
		buf.Write(binary.AppendUvarint(nil, uint64(len(it.Key()))))
		buf.Write(it.Key())
		buf.Write(binary.AppendUvarint(nil, uint64(len(it.Value()))))
		buf.Write(it.Value())
		for buf.Len() >= sn.chunkSize {
			if err := flush(buf.Next(sn.chunkSize)); err != nil {
				return nil, err
			}
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if buf.Len() > 0 || m.Chunks == 0 {
		if err := flush(buf.Bytes()); err != nil {
			return nil, err
		}
	}
	sum := sha256.Sum256(m.Metadata)
	m.Hash = sum[:]
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(tmp, snapshotMetaFile), data); err != nil {
		return nil, err
	}
	return m, syncDir(tmp)
}

// publish renames the finished tmp to its height's name and prunes to the
// keep most recent snapshots.
func (sn *snapshots) publish(tmp string, height uint64) error {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	final := filepath.Join(sn.dir, strconv.FormatUint(height, 10))
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	if err := syncDir(sn.dir); err != nil {
		return err
	}
	heights, err := sn.heights()
	if err != nil {
		return err
	}
	for len(heights) > sn.keep {
		if err := os.RemoveAll(filepath.Join(sn.dir, strconv.FormatUint(heights[0], 10))); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		heights = heights[1:]
	}
	return nil
}

// heights lists the published snapshots' heights, oldest first. The
// caller holds mu.
func (sn *snapshots) heights() ([]uint64, error) {
	entries, err := os.ReadDir(sn.dir)
	if err != nil {
		return nil, err
	}
	var hs []uint64
	for _, e := range entries {
		if h, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() {
			hs = append(hs, h)
		}
	}
	slices.Sort(hs)
	return hs, nil
}

// list returns the published snapshots, newest first, and the names of
// directories that look like snapshots but have no readable description
// (put there by hand: the writer never publishes one). The caller holds
// mu.
func (sn *snapshots) list() ([]*abci.Snapshot, []string, error) {
	heights, err := sn.heights()
	if err != nil {
		return nil, nil, err
	}
	var out []*abci.Snapshot
	var bad []string
	for _, h := range slices.Backward(heights) {
		name := filepath.Join(sn.dir, strconv.FormatUint(h, 10))
		var m snapshotMeta
		data, err := os.ReadFile(filepath.Join(name, snapshotMetaFile))
		if err == nil {
			err = json.Unmarshal(data, &m)
		}
		if err != nil || m.Height != h {
			bad = append(bad, name)
			continue
		}
		out = append(out, &abci.Snapshot{Height: m.Height, Format: m.Format, Chunks: m.Chunks, Hash: m.Hash, Metadata: m.Metadata})
	}
	return out, bad, nil
}

func writeFileSync(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// ListSnapshots lists the published snapshots, newest first; none if
// snapshots are off.
func (a *App) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	sn := a.snaps
	if sn == nil {
		return &abci.ResponseListSnapshots{}, nil
	}
	sn.mu.Lock()
	defer sn.mu.Unlock()
	list, bad, err := sn.list()
	if err != nil {
		a.log.Warn("list snapshots", zap.Error(err))
		return &abci.ResponseListSnapshots{}, nil
	}
	if len(bad) > 0 {
		a.log.Warn("not snapshots, ignored", zap.Strings("dirs", bad))
	}
	return &abci.ResponseListSnapshots{Snapshots: list}, nil
}

// LoadSnapshotChunk returns one chunk of a published snapshot, or no
// chunk if there is no such snapshot (it may just have been pruned), so
// that the joining node asks another peer.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	sn := a.snaps
	if sn == nil || req.Format != SnapshotFormat {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	sn.mu.Lock()
	defer sn.mu.Unlock()
	chunk, err := os.ReadFile(filepath.Join(sn.dir, strconv.FormatUint(req.Height, 10), strconv.FormatUint(uint64(req.Chunk), 10)))
	if err != nil {
		a.log.Debug("load snapshot chunk", zap.Uint64("height", req.Height), zap.Uint32("chunk", req.Chunk), zap.Error(err))
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	return &abci.ResponseLoadSnapshotChunk{Chunk: chunk}, nil
}

// OfferSnapshot accepts a snapshot of format 1 whose metadata is one
// sha256 per chunk and hashes to its Hash, and remembers the app hash the
// light client verified for its height, against which the restored state
// is checked.
func (a *App) OfferSnapshot(_ context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	a.restore = nil
	s := req.Snapshot
	reject := func(why string, args ...any) (*abci.ResponseOfferSnapshot, error) {
		a.log.Info("snapshot refused", zap.String("why", fmt.Sprintf(why, args...)))
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT}, nil
	}
	switch {
	case s == nil:
		return reject("no snapshot in the offer")
	case s.Format != SnapshotFormat:
		a.log.Info("snapshot refused", zap.Uint64("height", s.Height), zap.String("why", fmt.Sprintf("format %d, want %d", s.Format, SnapshotFormat)))
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT_FORMAT}, nil
	case a.height != 0:
		a.log.Error("snapshot offered to an app that has state", zap.Int64("app_height", a.height))
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_ABORT}, nil
	case s.Height == 0 || s.Height > 1<<62:
		return reject("height %d", s.Height)
	case s.Chunks == 0 || s.Chunks > maxSnapshotChunks:
		return reject("height %d: %d chunks, want 1 to %d", s.Height, s.Chunks, maxSnapshotChunks)
	case len(s.Metadata) != sha256.Size*int(s.Chunks):
		return reject("height %d: metadata of %d bytes for %d chunks, want %d", s.Height, len(s.Metadata), s.Chunks, sha256.Size*int(s.Chunks))
	case !bytes.Equal(sha256Of(s.Metadata), s.Hash):
		return reject("height %d: hash %X is not the hash of its chunk hashes", s.Height, s.Hash)
	case len(req.AppHash) != sha256.Size:
		return reject("height %d: trusted app hash of %d bytes", s.Height, len(req.AppHash))
	}
	a.restore = &restoring{snap: s, appHash: bytes.Clone(req.AppHash), chunks: make([][]byte, s.Chunks)}
	a.log.Info("restoring from snapshot", zap.Uint64("height", s.Height), zap.Uint32("chunks", s.Chunks))
	return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_ACCEPT}, nil
}

func sha256Of(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// ApplySnapshotChunk checks a chunk against its hash in the offered
// metadata (a bad one is fetched again, from another peer) and keeps it.
// With the last chunk it rebuilds the state from the records, checks the
// app hash against the trusted one and, if it matches, commits the state
// at the snapshot's height as Commit does; otherwise it refuses the
// snapshot and leaves the app as it was.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	r := a.restore
	if r == nil || req.Index >= uint32(len(r.chunks)) {
		a.log.Info("snapshot chunk refused: no such chunk in the accepted offer", zap.Uint32("index", req.Index))
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}, nil
	}
	want := r.snap.Metadata[sha256.Size*int(req.Index) : sha256.Size*int(req.Index+1)]
	if !bytes.Equal(sha256Of(req.Chunk), want) {
		a.log.Info("snapshot chunk refused: hash mismatch, fetching it again", zap.Uint64("height", r.snap.Height), zap.Uint32("index", req.Index), zap.String("sender", req.Sender))
		resp := &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY, RefetchChunks: []uint32{req.Index}}
		if req.Sender != "" {
			resp.RejectSenders = []string{req.Sender}
		}
		return resp, nil
	}
	if r.chunks[req.Index] == nil {
		r.got++
	}
	r.chunks[req.Index] = bytes.Clone(req.Chunk)
	if r.got < len(r.chunks) {
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
	}
	a.restore = nil
	s, h, recs, err := decodeSnapshot(bytes.Join(r.chunks, nil), r.appHash)
	if err != nil {
		a.log.Warn("snapshot refused", zap.Uint64("height", r.snap.Height), zap.Error(err))
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}, nil
	}
	if err := a.store.replace(recs, int64(r.snap.Height), r.appHash); err != nil {
		return nil, err // the disk failed: as in Commit, stop
	}
	a.state, a.hash, a.height, a.appHash = s, h, int64(r.snap.Height), r.appHash
	clear(a.checkNonce)
	clear(a.checkSpent)
	clear(a.recheckNonce)
	a.log.Info("restored state from snapshot", zap.Uint64("height", r.snap.Height), zap.Int("records", len(recs)),
		zap.Uint32("chunks", r.snap.Chunks), zap.String("app_hash", fmt.Sprintf("%X", r.appHash)))
	return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
}

// decodeSnapshot reads a snapshot's record stream into a fresh state and
// hasher, checking that the keys are record keys in increasing order and
// that the records hash to appHash. It also returns the records.
func decodeSnapshot(stream, appHash []byte) (*State, *hasher, map[string][]byte, error) {
	recs := map[string][]byte{}
	h := newHasher()
	var last []byte
	next := func() ([]byte, error) {
		n, k := binary.Uvarint(stream)
		if k <= 0 || n > uint64(len(stream)-k) {
			return nil, errors.New("record stream cut short")
		}
		b := stream[k : k+int(n)]
		stream = stream[k+int(n):]
		return b, nil
	}
	for len(stream) > 0 {
		key, err := next()
		if err != nil {
			return nil, nil, nil, err
		}
		value, err := next()
		if err != nil {
			return nil, nil, nil, err
		}
		if len(key) == 0 || key[0] == 0 {
			return nil, nil, nil, fmt.Errorf("record %d: key %x is not a record key", len(recs), key)
		}
		if last != nil && bytes.Compare(key, last) <= 0 {
			return nil, nil, nil, fmt.Errorf("record %d: key %x not after %x", len(recs), key, last)
		}
		last = key
		h.set(string(key), value)
		recs[string(key)] = value
	}
	if got := h.root(); !bytes.Equal(got, appHash) {
		return nil, nil, nil, fmt.Errorf("records hash to %X, but the trusted app hash is %X", got, appHash)
	}
	s := NewState()
	// In key order, as store.load reads them.
	for _, key := range slices.Sorted(maps.Keys(recs)) {
		if err := s.loadRecord(key, bytes.Clone(recs[key])); err != nil {
			return nil, nil, nil, err
		}
	}
	return s, h, recs, nil
}

// replace makes recs, at height with appHash, the committed state: it
// deletes every stored record, and writes recs, the height and the app
// hash in one synced batch, as commit does. Whatever was pending (the
// genesis state InitChain staged) is dropped.
func (st *store) replace(recs map[string][]byte, height int64, appHash []byte) error {
	batch := st.db.NewBatch()
	defer batch.Close()
	it, err := st.db.Iterator([]byte{1}, nil)
	if err != nil {
		return fmt.Errorf("chain: restore: %w", err)
	}
	for ; it.Valid(); it.Next() {
		if err := batch.Delete(bytes.Clone(it.Key())); err != nil {
			it.Close()
			return fmt.Errorf("chain: restore: %w", err)
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("chain: restore: %w", err)
	}
	clear(st.pending)
	maps.Copy(st.pending, recs)
	if err := st.commitBatch(batch, height, appHash); err != nil {
		clear(st.pending)
		return err
	}
	return nil
}
