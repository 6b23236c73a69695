package validator

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

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
