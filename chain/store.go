package chain

import (
	"bytes"
	"encoding/binary"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"
)

// Keys outside the record space: the last committed height and app hash.
var (
	metaHeight  = []byte("\x00meta/height")
	metaAppHash = []byte("\x00meta/apphash")
)

// store persists the state: every record under its key, plus the height
// and app hash of the last commit, all written in one synced batch.
type store struct {
	db      dbm.DB
	pending map[string][]byte // records changed since the last commit; nil value: delete
}

// load reads every record into a fresh state, rebuilds the app hash, and
// checks it against the one stored with the last commit.
func (st *store) load() (*State, *hasher, int64, []byte, error) {
	s, h := NewState(), newHasher()
	hb, err := st.db.Get(metaHeight)
	if err != nil {
		return nil, nil, 0, nil, fmt.Errorf("chain: read height: %w", err)
	}
	if hb == nil {
		return s, h, 0, nil, nil
	}
	if len(hb) != 8 {
		return nil, nil, 0, nil, fmt.Errorf("chain: stored height has %d bytes, want 8: the database is corrupt", len(hb))
	}
	height := int64(binary.BigEndian.Uint64(hb))
	appHash, err := st.db.Get(metaAppHash)
	if err != nil {
		return nil, nil, 0, nil, fmt.Errorf("chain: read app hash: %w", err)
	}
	it, err := st.db.Iterator([]byte{1}, nil)
	if err != nil {
		return nil, nil, 0, nil, fmt.Errorf("chain: iterate state: %w", err)
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		key, value := string(it.Key()), bytes.Clone(it.Value())
		if err := s.loadRecord(key, value); err != nil {
			return nil, nil, 0, nil, fmt.Errorf("chain: load state: %w", err)
		}
		h.set(key, value)
	}
	if err := it.Error(); err != nil {
		return nil, nil, 0, nil, fmt.Errorf("chain: iterate state: %w", err)
	}
	if got := h.root(); !bytes.Equal(got, appHash) {
		return nil, nil, 0, nil, fmt.Errorf("chain: state at height %d hashes to %X but %X was committed: the database is corrupt", height, got, appHash)
	}
	return s, h, height, appHash, nil
}

// commit writes the pending records, the height and the app hash in one
// synced batch: after a crash the node sees all of a commit or none of it.
func (st *store) commit(height int64, appHash []byte) error {
	batch := st.db.NewBatch()
	defer batch.Close()
	return st.commitBatch(batch, height, appHash)
}

// commitBatch is commit onto batch, which may already hold other writes.
func (st *store) commitBatch(batch dbm.Batch, height int64, appHash []byte) error {
	for k, v := range st.pending {
		var err error
		if v == nil {
			err = batch.Delete([]byte(k))
		} else {
			err = batch.Set([]byte(k), v)
		}
		if err != nil {
			return fmt.Errorf("chain: stage record: %w", err)
		}
	}
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(height))
	if err := batch.Set(metaHeight, hb[:]); err != nil {
		return fmt.Errorf("chain: stage height: %w", err)
	}
	if err := batch.Set(metaAppHash, appHash); err != nil {
		return fmt.Errorf("chain: stage app hash: %w", err)
	}
	if err := batch.WriteSync(); err != nil {
		return fmt.Errorf("chain: commit height %d: %w", height, err)
	}
	clear(st.pending)
	return nil
}
