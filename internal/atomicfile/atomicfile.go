// Package atomicfile replaces files so that a crash leaves either the old
// content or the new, never a torn or empty file: the data goes to a
// temporary file beside the target, which is fsynced, renamed (or linked)
// into place, and then the directory is fsynced so the new name itself
// survives a crash. Every durable small file of the module (validator
// state, key files, labeler tokens, the task queue's snapshot, dataset
// exports) is written through it.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path with permission perm (exactly perm: no
// umask applies), replacing any file there atomically. The directory must exist. On error path is unchanged and no
// temporary file is left behind.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

// WriteNew is WriteFile for a path that must not exist yet: it fails with
// an error matching fs.ErrExist if path exists, and never replaces a file
// that appears meanwhile.
func WriteNew(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, false)
}

func write(path string, data []byte, perm fs.FileMode, overwrite bool) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	exists := func() error { return fmt.Errorf("atomicfile: write %s: %w", path, fs.ErrExist) }
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return exists()
		}
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("atomicfile: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("atomicfile: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if overwrite {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("atomicfile: %w", err)
		}
		return SyncDir(dir)
	}
	// A hard link never replaces its target: no window between a check
	// and the move.
	switch err := os.Link(tmp.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		return exists()
	case err != nil: // a file system without hard links: check, then move
		if _, err := os.Lstat(path); err == nil {
			return exists()
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("atomicfile: %w", err)
		}
	default:
		_ = os.Remove(tmp.Name()) // the file is in place under its name
	}
	return SyncDir(dir)
}

// SyncDir fsyncs the directory dir, making the names created, renamed or
// removed in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("atomicfile: sync directory %s: %w", dir, err)
	}
	return nil
}
