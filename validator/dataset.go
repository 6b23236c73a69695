package validator

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// Files of a validator's dataset folder, which `agora labels export
// --store --tasks` reads.
const (
	DatasetLabels = "labels.log"
	DatasetTasks  = "tasks.jsonl"
)

// dataset is the preference data a validator accepted: the labels in an
// rlhf.Store and their tasks as JSON lines, each fsynced before use.
type dataset struct {
	mu    sync.Mutex
	store *rlhf.Store
	tasks *os.File
	have  map[string]bool // task ids written
}

// openDataset opens (creating it) the dataset in dir.
func openDataset(dir string) (*dataset, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("validator: dataset: %w", err)
	}
	d := &dataset{have: map[string]bool{}}
	path := filepath.Join(dir, DatasetTasks)
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var t rlhf.Task
			if json.Unmarshal(sc.Bytes(), &t) == nil {
				d.have[t.ID] = true
			}
		}
		f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("validator: dataset: %w", err)
	}
	var err error
	if d.tasks, err = os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
		return nil, fmt.Errorf("validator: dataset: %w", err)
	}
	if d.store, err = rlhf.OpenStore(filepath.Join(dir, DatasetLabels), rlhf.StoreOptions{}); err != nil {
		d.tasks.Close()
		return nil, fmt.Errorf("validator: dataset: %w", err)
	}
	return d, nil
}

// add records a label, writing its task first if it is new.
func (d *dataset) add(t rlhf.Task, l rlhf.Label) error {
	d.mu.Lock()
	if !d.have[t.ID] {
		line, err := json.Marshal(t)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		if _, err := d.tasks.Write(append(line, '\n')); err != nil {
			d.mu.Unlock()
			return fmt.Errorf("validator: dataset: %w", err)
		}
		if err := d.tasks.Sync(); err != nil {
			d.mu.Unlock()
			return fmt.Errorf("validator: dataset: %w", err)
		}
		d.have[t.ID] = true
	}
	d.mu.Unlock()
	return d.store.Append(context.Background(), l)
}

func (d *dataset) close() error {
	return errors.Join(d.store.Close(), d.tasks.Close())
}

// tasks returns every task written, by id.
func (d *dataset) tasksByID(dir string) (map[string]rlhf.Task, error) {
	f, err := os.Open(filepath.Join(dir, DatasetTasks))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]rlhf.Task{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var t rlhf.Task
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("validator: dataset tasks: %w", err)
		}
		out[t.ID] = t
	}
	return out, sc.Err()
}

// publishDataset exports the dataset when it has grown and DatasetEvery
// epochs have passed since the last export, and commits the export's
// Merkle root on chain (commit_dataset_root), so that anyone given a copy
// of the export can check it against the chain.
func (v *Validator) publishDataset(ctx context.Context, view *chain.MetagraphView, selfUID uint16) {
	if v.dataset == nil || v.cfg.DatasetEvery <= 0 || int(selfUID) >= len(view.Neurons) || !view.Neurons[selfUID].ValidatorPermit {
		return
	}
	n := v.dataset.store.Len()
	v.mu.Lock()
	last, lastN := v.st.DatasetEpoch, v.st.DatasetLabels
	v.mu.Unlock()
	if n == lastN {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var ep chain.EpochView
	if _, err := v.cfg.Chain.Query(tctx, chain.QueryEpoch+strconv.Itoa(int(v.cfg.Netuid)), &ep); err != nil {
		return
	}
	if lastN > 0 && ep.Epoch < last+uint64(v.cfg.DatasetEvery) {
		return
	}
	tasks, err := v.dataset.tasksByID(v.cfg.DatasetDir)
	if err != nil {
		v.log.Warn("export dataset", zap.Error(err))
		return
	}
	dir := filepath.Join(v.cfg.DatasetDir, "exports", fmt.Sprintf("epoch-%d", ep.Epoch))
	if _, err := os.Stat(dir); err == nil {
		return // exported this epoch already
	}
	m, err := rlhf.Export(v.dataset.store.Labels(), tasks, dir, rlhf.ExportOptions{})
	if err != nil {
		v.log.Warn("export dataset", zap.Error(err))
		return
	}
	if m.Records == 0 {
		return
	}
	var root [32]byte
	raw, err := hex.DecodeString(m.MerkleRoot)
	if err != nil || len(raw) != 32 {
		v.log.Error("export dataset: bad root", zap.String("root", m.MerkleRoot))
		return
	}
	copy(root[:], raw)
	v.weightsMu.Lock() // one transaction of this hotkey at a time
	_, err = v.cfg.Chain.SendTx(tctx, v.cfg.Key, &chain.CommitDatasetRoot{Netuid: v.cfg.Netuid, Root: root, Records: uint64(m.Records), Chunks: uint32(len(m.Chunks))})
	v.weightsMu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			v.log.Warn("commit dataset root", zap.Error(err))
		}
		return
	}
	v.log.Info("dataset root committed", zap.String("root", m.MerkleRoot), zap.Int("records", m.Records), zap.String("export", dir))
	v.mu.Lock()
	v.st.DatasetEpoch, v.st.DatasetLabels = ep.Epoch, n
	v.mu.Unlock()
	if err := v.save(); err != nil {
		v.log.Error("save", zap.Error(err))
	}
}
