package rlhf

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"iter"
	"os"
	"sync"
	"time"
)

// The file format of a Store.
//
//	file   = magic record*
//	magic  = "AGLBLv1\n"                       8 bytes
//	record = length crc payload
//	length = uint32 little endian              bytes of payload, 1..maxRecordBytes
//	crc    = uint32 little endian              CRC-32C (Castagnoli) of length || payload
//	payload = the label as JSON (encoding/json of Label)
//
// Why JSON payloads rather than a compact binary encoding: a label is a few
// hundred bytes, and encoding/json costs about 2 µs of CPU per label, spent
// in the appending goroutine rather than the writer: 1% of a core at the
// 5,000 labels/s a miner needs (a fifth of the CPU of BenchmarkAppend, which
// runs at over 70,000 labels/s). The wait is the fsync, which does not
// depend on the encoding. In exchange, a field can be added without a format
// version, and the records can be read with a ten-line script in any
// language. The framing carries what JSON cannot:
// the length finds the record's end, and the CRC, which covers the length
// too, tells a torn or damaged record from a good one.
//
// A JSON payload also cannot contain a valid record header: JSON text has no
// bytes below 0x20, so any 4 bytes inside it read as a length of at least
// 0x20202020, far above maxRecordBytes. Recovery relies on that when it
// looks for valid records after a bad one.
const (
	magic          = "AGLBLv1\n"
	headerBytes    = 8
	maxRecordBytes = 1 << 16 // a Label within the limits of label.go is under 30 KiB even with every character escaped
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("rlhf: label store is closed")

// CorruptError is returned by OpenStore when a record in the middle of the
// file is damaged: it fails its length or CRC check, or does not decode to
// a valid Label, and a valid record follows it. Dropping the rest of the
// file would lose acknowledged labels, so OpenStore refuses; restore the
// file from a backup, or cut it at Offset by hand if the loss is accepted.
//
// Only the last write can be torn by a crash (the writer fsyncs each batch
// before it writes the next), so this means damage after the fact. One
// exception is possible in principle: a power loss on a file system that
// persists the pages of one unsynced write out of order (a hole of zeros
// before a good page) makes that unacknowledged last batch look like this.
// The records from Offset on were then never acknowledged, and cutting the
// file at Offset loses nothing.
type CorruptError struct {
	// Path is the store file.
	Path string
	// Offset is the byte offset of the damaged record.
	Offset int64
	// Reason says which check the record failed.
	Reason string
	// Next is the offset of the first valid record after it.
	Next int64
}

// Error says which file, where, and why.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("rlhf: open store %s: record at offset %d is corrupt (%s) and a valid record follows at offset %d: refusing to drop acknowledged labels",
		e.Path, e.Offset, e.Reason, e.Next)
}

// StoreOptions tunes a Store. The zero value is what a miner wants.
type StoreOptions struct {
	// Linger is how long the writer waits, after the first append of a
	// batch arrives, for more appends to join it. 0 (the default) does not
	// wait: appends that arrive while a write and fsync are in flight
	// already form the next batch, which is what batches them under load.
	Linger time.Duration
	// MaxBatchBytes caps the bytes written by one write and fsync; 0 means
	// 4 MiB. A batch always holds at least one record.
	MaxBatchBytes int
}

// Recovery describes what OpenStore found in an existing file.
type Recovery struct {
	// Records is the number of valid records read (duplicates included).
	Records int
	// Duplicates is the number of records whose (TaskID, LabelerID) was
	// already stored; the first one is kept. A store never writes them;
	// they appear only if two processes wrote one file.
	Duplicates int
	// TornAt is the offset at which a torn tail was cut off, and TornBytes
	// how many bytes were cut; both are 0 if the file ended cleanly.
	TornAt, TornBytes int64
}

// Store is a durable, append-only log of labels in one file.
//
// All methods are safe for concurrent use. Append is durable (see Append);
// Labels and Iterate return labels in the order their records are in the
// file, which is the order their batches were committed. A file must be
// open in one Store, in one process, at a time.
type Store struct {
	path     string
	f        *os.File
	maxBatch int
	linger   time.Duration
	recovery Recovery

	mu      sync.Mutex
	cond    *sync.Cond // signalled when queue grows or closing is set; the writer waits on it
	labels  []Label    // committed (fsynced), in file order; only appended to
	index   map[key]int
	pending map[key]*waiter // queued or being written
	queue   []*waiter
	closing bool
	err     error // the first write or fsync error; sticky
	batches int   // writes (each one fsync) done, for the benchmark

	stopped chan struct{} // closed when the writer exits
}

// waiter is one label on its way to the file. The writer sets err, then
// closes done.
type waiter struct {
	label Label
	rec   []byte
	done  chan struct{}
	err   error
}

// OpenStore opens the label store at path, creating it (mode 0600, and
// fsyncing its directory) if it does not exist. An existing file is read
// back in full: a torn record at its end (a crash in the middle of a
// write) is cut off and the file truncated there, keeping every record
// before it; a damaged record followed by valid ones fails with a
// *CorruptError that gives its offset. A file that does not start with the
// store's magic bytes is refused and left untouched.
func OpenStore(path string, opts StoreOptions) (*Store, error) {
	fail := func(err error) (*Store, error) { return nil, fmt.Errorf("rlhf: open store %s: %w", path, err) }
	f, created, err := openOrCreate(path)
	if err != nil {
		return fail(err)
	}
	s := &Store{
		path:     path,
		f:        f,
		maxBatch: opts.MaxBatchBytes,
		linger:   opts.Linger,
		index:    map[key]int{},
		pending:  map[key]*waiter{},
		stopped:  make(chan struct{}),
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 4 << 20
	}
	s.cond = sync.NewCond(&s.mu)
	if err := s.load(created); err != nil {
		_ = f.Close()
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, err
		}
		return fail(err)
	}
	go s.run()
	return s, nil
}

// openOrCreate opens path for appending, creating it with mode 0600 if it
// does not exist; created says which.
func openOrCreate(path string) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, os.ErrExist) {
		return nil, false, err
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	return f, false, err
}

// load reads the file into s (see readLog).
func (s *Store) load(created bool) error {
	labels, tornAt, tornBytes, err := readLog(s.f, s.path, magic, "label store", created, decodeRecord)
	if err != nil {
		return err
	}
	s.recovery.Records = len(labels)
	s.recovery.TornAt, s.recovery.TornBytes = tornAt, tornBytes
	for _, l := range labels {
		k := l.key()
		if _, dup := s.index[k]; dup {
			s.recovery.Duplicates++
			continue
		}
		s.index[k] = len(s.labels)
		s.labels = append(s.labels, l)
	}
	return nil
}

// encodeRecord returns the framed record of l.
func encodeRecord(l *Label) ([]byte, error) {
	payload, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return frameRecord(payload, maxRecordBytes)
}

// frameRecord returns payload framed as a record (length, CRC, payload),
// refusing a payload longer than limit bytes. The task queue's log
// (queue.go) uses the same framing with its own limit.
func frameRecord(payload []byte, limit int) ([]byte, error) {
	if len(payload) > limit {
		return nil, fmt.Errorf("record of %d bytes is larger than %d", len(payload), limit)
	}
	rec := make([]byte, headerBytes, headerBytes+len(payload))
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(payload)))
	rec = append(rec, payload...)
	crc := crc32.Update(crc32.Checksum(rec[0:4], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(rec[4:8], crc)
	return rec, nil
}

// readFrame checks the framing of the record at the start of b (a payload
// of 1..limit bytes and a matching CRC). It returns the payload and the
// record's length in bytes, or a reason the record is not valid.
func readFrame(b []byte, limit int) ([]byte, int, string) {
	if len(b) < headerBytes {
		return nil, 0, "truncated header"
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	if n == 0 || uint64(n) > uint64(limit) {
		return nil, 0, fmt.Sprintf("length %d out of range 1..%d", n, limit)
	}
	if uint64(len(b)) < headerBytes+uint64(n) {
		return nil, 0, fmt.Sprintf("length %d runs past the end of the file", n)
	}
	payload := b[headerBytes : headerBytes+n]
	if crc32.Update(crc32.Checksum(b[0:4], castagnoli), castagnoli, payload) != binary.LittleEndian.Uint32(b[4:8]) {
		return nil, 0, "CRC-32C mismatch"
	}
	return payload, headerBytes + int(n), ""
}

// decodeRecord decodes the record at the start of b. It returns the label
// and the record's length in bytes, or a reason the record is not valid.
// Every label it returns passes Validate.
func decodeRecord(b []byte) (Label, int, string) {
	l, n, reason := decodeJSONFrame[Label](b, maxRecordBytes)
	if reason != "" {
		return Label{}, 0, reason
	}
	l.ReceivedAt = l.ReceivedAt.UTC()
	return l, n, ""
}

// decodeJSONFrame decodes the framed JSON record at the start of b (at most
// max bytes of payload) into a T that passes its Validate. It returns the
// record and its length in bytes, or a reason it is not valid: the label
// store's, the task queue's and the trap book's records are all such.
func decodeJSONFrame[T any, PT interface {
	*T
	Validate() error
}](b []byte, max int) (T, int, string) {
	var zero T
	payload, n, reason := readFrame(b, max)
	if reason != "" {
		return zero, 0, reason
	}
	var v T
	if err := json.Unmarshal(payload, &v); err != nil {
		return zero, 0, fmt.Sprintf("payload: %v", err)
	}
	if err := PT(&v).Validate(); err != nil {
		return zero, 0, err.Error()
	}
	return v, n, ""
}

// decodeRecords decodes the records in b (a store file after its magic).
// It returns the labels of the valid prefix of b and where that prefix
// ends. If a bad record is followed by no valid record, the bad bytes are
// a torn tail: end is their offset and the error is nil. If a valid record
// follows, it returns a *CorruptError (with offsets relative to b and no
// Path). It never panics on any input.
func decodeRecords(b []byte) (labels []Label, end int, _ *CorruptError) {
	return scanRecords(b, decodeRecord)
}

// scanRecords is decodeRecords for any record type: decode decodes the
// record at the start of its argument, as decodeRecord does.
func scanRecords[T any](b []byte, decode func([]byte) (T, int, string)) (vs []T, end int, _ *CorruptError) {
	off := 0
	for off < len(b) {
		v, n, reason := decode(b[off:])
		if reason != "" {
			for p := off + 1; p+headerBytes <= len(b); p++ {
				if _, _, r := decode(b[p:]); r == "" {
					return vs, off, &CorruptError{Offset: int64(off), Reason: reason, Next: int64(p)}
				}
			}
			return vs, off, nil
		}
		vs = append(vs, v)
		off += n
	}
	return vs, off, nil
}

// Append stores l durably. It returns nil only once l's record has been
// written and fsynced together with the records of every other Append
// waiting at that moment (group commit), so a label acknowledged after
// Append returns survives a crash.
//
// Append is idempotent on (TaskID, LabelerID): if a label with that key is
// already stored, it returns nil without writing, and if one is on its way
// to the file, it waits for that write and returns its result. The first
// label stored wins; Get returns it. This is what a websocket hub wants when
// a page re-sends labels after a reconnect: every re-send is acknowledged,
// none is stored twice, and no ack is sent before the label is durable.
//
// Append returns an error for an invalid label (Label.Validate), after
// Close (ErrClosed), after a failed write or fsync (the store then refuses
// all writes; reopen it to recover), or when ctx is done first. In the last
// case the label may still be stored; appending it again is safe.
func (s *Store) Append(ctx context.Context, l Label) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("rlhf: append: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rlhf: append: %w", err)
	}
	l.ReceivedAt = l.ReceivedAt.UTC() // also drops the monotonic reading, as a reopen would
	rec, err := encodeRecord(&l)
	if err != nil {
		return fmt.Errorf("rlhf: append: %w", err)
	}
	k := l.key()
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		return ErrClosed
	case s.err != nil:
		err := s.err
		s.mu.Unlock()
		return err
	}
	if _, ok := s.index[k]; ok {
		s.mu.Unlock()
		return nil
	}
	w, ok := s.pending[k]
	if !ok {
		w = &waiter{label: l, rec: rec, done: make(chan struct{})}
		s.pending[k] = w
		s.queue = append(s.queue, w)
		s.cond.Signal()
	}
	s.mu.Unlock()
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return fmt.Errorf("rlhf: append: %w", ctx.Err())
	}
}

// run is the writer: it takes every queued record (up to maxBatch bytes),
// writes them with one write and one fsync, and wakes their callers.
func (s *Store) run() {
	defer close(s.stopped)
	var buf []byte
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closing {
			s.cond.Wait()
		}
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return // closing, and everything queued is written
		}
		if s.linger > 0 && !s.closing {
			s.mu.Unlock()
			time.Sleep(s.linger)
			s.mu.Lock()
		}
		n, size := 0, 0
		for n < len(s.queue) && (n == 0 || size+len(s.queue[n].rec) <= s.maxBatch) {
			size += len(s.queue[n].rec)
			n++
		}
		batch := s.queue[:n:n]
		if n == len(s.queue) {
			s.queue = nil
		} else {
			s.queue = append([]*waiter(nil), s.queue[n:]...)
		}
		err := s.err
		s.mu.Unlock()

		if err == nil {
			buf = buf[:0]
			for _, w := range batch {
				buf = append(buf, w.rec...)
			}
			if _, err = s.f.Write(buf); err == nil {
				err = s.f.Sync()
			}
			if err != nil {
				err = fmt.Errorf("rlhf: append to %s: %w (the store refuses writes until reopened)", s.path, err)
			}
		}

		s.mu.Lock()
		if err != nil && s.err == nil {
			s.err = err
		}
		s.batches++
		for _, w := range batch {
			k := w.label.key()
			delete(s.pending, k)
			if err != nil {
				w.err = err
				continue
			}
			s.index[k] = len(s.labels)
			s.labels = append(s.labels, w.label)
		}
		s.mu.Unlock()
		for _, w := range batch {
			w.rec = nil
			close(w.done)
		}
	}
}

// Close waits until every label queued by an Append that has already
// entered the queue is written and fsynced, stops the writer and closes the
// file. It returns the first write error the store met, if any. Appends
// after Close return ErrClosed; a second Close returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.stopped
		return nil
	}
	s.closing = true
	s.cond.Signal()
	s.mu.Unlock()
	<-s.stopped
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if cerr := s.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("rlhf: close store %s: %w", s.path, cerr)
	}
	return err
}

// Labels returns a copy of every stored label, in file order. Labels whose
// Append has not returned yet may be missing; every label whose Append
// returned nil is there.
func (s *Store) Labels() []Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Label(nil), s.labels...)
}

// Iterate returns an iterator over the labels stored when it is called, in
// file order, without copying them all first. Appends during the iteration
// do not change what it yields.
func (s *Store) Iterate() iter.Seq[Label] {
	s.mu.Lock()
	snapshot := s.labels[:len(s.labels):len(s.labels)] // stored elements never change
	s.mu.Unlock()
	return func(yield func(Label) bool) {
		for _, l := range snapshot {
			if !yield(l) {
				return
			}
		}
	}
}

// Len returns the number of stored labels.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.labels)
}

// Get returns the stored label of a labeler for a task, if there is one.
func (s *Store) Get(taskID, labelerID string) (Label, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[key{taskID, labelerID}]
	if !ok {
		return Label{}, false
	}
	return s.labels[i], true
}

// Recovery reports what OpenStore found in the file (for logging).
func (s *Store) Recovery() Recovery { return s.recovery }

// Path returns the store's file name.
func (s *Store) Path() string { return s.path }
