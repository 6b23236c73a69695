package rlhf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/seed0ffb8d46/agora/internal/atomicfile"
)

// readLog reads the framed log f (the file at path, which starts with
// magic; kind names such a file in errors), as the label store, the task
// queue and the trap book keep them. A new or half-created file gets the
// magic, fsynced. A torn tail (bad bytes after which no valid record
// follows: a crash mid-write) is truncated away and reported; a bad record
// followed by a valid one is a *CorruptError and the file is left as it
// is. It returns the records of the valid prefix, decoded by decode.
func readLog[T any](f *os.File, path, magic, kind string, created bool, decode func([]byte) (T, int, string)) (recs []T, tornAt, tornBytes int64, err error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(data) < len(magic) && bytes.HasPrefix([]byte(magic), data) {
		// New, or a crash while it was being created: nothing was ever
		// stored in it.
		if err := f.Truncate(0); err != nil {
			return nil, 0, 0, err
		}
		if _, err := f.Write([]byte(magic)); err != nil {
			return nil, 0, 0, err
		}
		if err := f.Sync(); err != nil {
			return nil, 0, 0, err
		}
		return nil, 0, 0, atomicfile.SyncDir(filepath.Dir(path))
	}
	if created {
		return nil, 0, 0, errors.New("file changed while it was being created")
	}
	if !bytes.HasPrefix(data, []byte(magic)) {
		return nil, 0, 0, fmt.Errorf("not a %s: it does not start with %q", kind, magic)
	}
	recs, end, cerr := scanRecords(data[len(magic):], decode)
	if cerr != nil {
		cerr.Path = path
		cerr.Offset += int64(len(magic))
		cerr.Next += int64(len(magic))
		return nil, 0, 0, cerr
	}
	end += len(magic)
	if end < len(data) {
		if err := f.Truncate(int64(end)); err != nil {
			return nil, 0, 0, fmt.Errorf("truncate torn tail at offset %d: %w", end, err)
		}
		if err := f.Sync(); err != nil {
			return nil, 0, 0, err
		}
		return recs, int64(end), int64(len(data) - end), nil
	}
	return recs, 0, 0, nil
}
