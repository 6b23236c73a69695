package validator

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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

// openDataset opens (creating it) the dataset in dir. A last tasks line
// without its newline is a write that a crash cut short, before its
// label was stored: it is cut off.
func openDataset(dir string) (*dataset, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("validator: dataset: %w", err)
	}
	d := &dataset{have: map[string]bool{}}
	path := filepath.Join(dir, DatasetTasks)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("validator: dataset: %w", err)
	}
	whole := data[:bytes.LastIndexByte(data, '\n')+1]
	tasks, err := rlhf.ReadTasks(whole)
	if err != nil {
		return nil, fmt.Errorf("validator: dataset %s: %w", path, err)
	}
	for id := range tasks {
		d.have[id] = true
	}
	if d.tasks, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600); err != nil {
		return nil, fmt.Errorf("validator: dataset: %w", err)
	}
	if len(whole) < len(data) {
		if err := d.tasks.Truncate(int64(len(whole))); err != nil {
			d.tasks.Close()
			return nil, fmt.Errorf("validator: dataset: %w", err)
		}
	}
	if _, err := d.tasks.Seek(int64(len(whole)), io.SeekStart); err != nil {
		d.tasks.Close()
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
		line, err := rlhf.TaskLine(t)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		if _, err := d.tasks.Write(line); err != nil {
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

// tasksByID returns every task written, by id.
func (d *dataset) tasksByID(dir string) (map[string]rlhf.Task, error) {
	d.mu.Lock() // no task half written while it is read
	defer d.mu.Unlock()
	data, err := os.ReadFile(filepath.Join(dir, DatasetTasks))
	if err != nil {
		return nil, err
	}
	tasks, err := rlhf.ReadTasks(data)
	if err != nil {
		return nil, fmt.Errorf("validator: dataset tasks: %w", err)
	}
	return tasks, nil
}

// publishDataset exports the dataset when it has grown and DatasetEvery
// epochs have passed since the last export, and commits the export's
// Merkle root on chain (commit_dataset_root), so that anyone given a copy
// of the export can check it against the chain. An export with the root
// committed last (the new labels were traps, ties or both bad, which the
// export leaves out) is removed, not committed again.
func (v *Validator) publishDataset(ctx context.Context, view *chain.MetagraphView, selfUID uint16) {
	if v.dataset == nil || v.cfg.DatasetEvery <= 0 || int(selfUID) >= len(view.Neurons) || !view.Neurons[selfUID].ValidatorPermit {
		return
	}
	n := v.dataset.store.Len()
	v.mu.Lock()
	last, lastN, lastRoot := v.st.DatasetEpoch, v.st.DatasetLabels, v.st.DatasetRoot
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
	if m.MerkleRoot == lastRoot {
		if err := os.RemoveAll(dir); err != nil {
			v.log.Warn("export dataset: remove an unchanged export", zap.Error(err))
		}
		v.log.Debug("dataset unchanged since the root committed last", zap.String("root", lastRoot), zap.Int("labels", n))
		v.mu.Lock()
		v.st.DatasetLabels = n
		v.mu.Unlock()
		if err := v.save(); err != nil {
			v.log.Error("save", zap.Error(err))
		}
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
	v.st.DatasetEpoch, v.st.DatasetLabels, v.st.DatasetRoot = ep.Epoch, n, m.MerkleRoot
	v.mu.Unlock()
	if err := v.save(); err != nil {
		v.log.Error("save", zap.Error(err))
	}
}
