package rlhf

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/seed0ffb8d46/agora/internal/atomicfile"
)

// ExportFormat names the layout Export writes; every manifest carries it
// and Verify accepts only it.
const ExportFormat = "agora-rlhf-trl-preference/v1"

// ManifestName is the manifest's file name in an export directory.
const ManifestName = "manifest.json"

// DefaultChunkRecords is the number of records per chunk when
// ExportOptions.ChunkRecords is 0.
const DefaultChunkRecords = 10000

// ExportOptions tunes Export. The zero value is the default export.
type ExportOptions struct {
	// ChunkRecords is the most records one chunk holds; 0 means
	// DefaultChunkRecords. The same labels give the same chunks only with
	// the same ChunkRecords.
	ChunkRecords int
	// LabelerQuality maps a LabelerID to a quality score (for example the
	// labeler's agreement with traps), written as labeler_quality in each of
	// the labeler's records; labelers missing from it get no such field.
	// Scores must be finite.
	LabelerQuality map[string]float64
	// IncludeTraps exports labels of trap tasks too. By default they are
	// left out and counted in Manifest.Traps: a published trap and its
	// answer could be recognised when it is asked again.
	IncludeTraps bool
}

// Record is one line of an exported chunk: a preference pair in Hugging
// Face TRL's standard explicit-prompt format (prompt, chosen, rejected),
// plus metadata that TRL ignores. Times are RFC 3339 in UTC with up to
// nanosecond precision.
type Record struct {
	Prompt   string `json:"prompt"`
	Chosen   string `json:"chosen"`
	Rejected string `json:"rejected"`
	// ID is unique per (task, labeler): the first 16 bytes of
	// SHA-256(len(task) task len(labeler) labeler), in hex, lengths as
	// 8-byte big-endian integers.
	ID     string `json:"id"`
	TaskID string `json:"task_id"`
	// Validator is the hotkey that issued the task.
	Validator string `json:"validator"`
	// Miner is the hotkey whose labeler answered.
	Miner string `json:"miner"`
	// Labeler is the miner's LabelerID: publish pseudonyms only.
	Labeler        string   `json:"labeler"`
	LabelerQuality *float64 `json:"labeler_quality,omitempty"`
	// Choice is "a" or "b": which completion of the task was chosen.
	Choice        Choice `json:"choice"`
	ModelChosen   string `json:"model_chosen,omitempty"`
	ModelRejected string `json:"model_rejected,omitempty"`
	TimeOnTaskMs  int64  `json:"time_on_task_ms"`
	// CreatedAt is the task's creation time, ReceivedAt the label's.
	CreatedAt  string `json:"created_at"`
	ReceivedAt string `json:"received_at"`
}

// Manifest describes an export: its chunks in order and the Merkle root
// that validators commit on chain. Labels = Records + Ties + BothBad + Traps.
type Manifest struct {
	// Format is ExportFormat.
	Format string `json:"format"`
	// MerkleRoot is the hex RFC 6962 root over the chunks: leaf i is the
	// 32-byte SHA-256 digest of chunk i (not its hex), hashed as
	// SHA-256(0x00 || digest). With no chunks it is SHA-256 of nothing.
	MerkleRoot string `json:"merkle_root"`
	// Records is the number of preference pairs written, over all chunks.
	Records int `json:"records"`
	// Labels is the number of labels given to Export.
	Labels int `json:"labels"`
	// Ties and BothBad count the labels left out because they state no
	// preference; Traps counts labels of trap tasks left out.
	Ties    int `json:"ties"`
	BothBad int `json:"both_bad"`
	Traps   int `json:"traps"`
	// Chunks lists the chunk files in order: records sorted by task id,
	// then labeler id (byte order).
	Chunks []ChunkInfo `json:"chunks"`
}

// ChunkInfo is one chunk file of an export.
type ChunkInfo struct {
	// Name is SHA256 + ".jsonl", the file's name in the export directory.
	Name string `json:"name"`
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string `json:"sha256"`
	// Records is its number of lines.
	Records int `json:"records"`
	// Bytes is its size.
	Bytes int `json:"bytes"`
}

// Tree returns the Merkle tree over m's chunks, whose root is m.MerkleRoot
// if m is intact; its Proof(i) lets a holder of chunk i alone check it
// against a committed root with VerifyProof(digest, i, len(m.Chunks), ...).
func (m *Manifest) Tree() (*MerkleTree, error) {
	leaves := make([][]byte, len(m.Chunks))
	for i, c := range m.Chunks {
		d, err := hex.DecodeString(c.SHA256)
		if err != nil || len(d) != sha256.Size {
			return nil, fmt.Errorf("rlhf: manifest: chunk %d: sha256 %q is not 64 hex digits", i, c.SHA256)
		}
		leaves[i] = d
	}
	return NewMerkleTree(leaves), nil
}

// Export writes the preference pairs among labels into dir, which must not
// exist or be empty, and returns the manifest it wrote there.
//
// Every label must pass Validate, have its task in tasks (keyed by Task.ID),
// and be the only one for its (TaskID, LabelerID). Labels with choice a or
// b become records, sorted by task id then labeler id and cut into chunks of
// at most opts.ChunkRecords; tie and both_bad labels, and labels of trap
// tasks unless opts.IncludeTraps, are only counted. Output depends on
// nothing but the arguments: the same labels (in any order), tasks and
// options give byte-identical chunks, manifest and root.
//
// Chunks are written and fsynced before the manifest, so a manifest exists
// only over complete chunks. Files are mode 0644: an export is meant to be
// published.
func Export(labels []Label, tasks map[string]Task, dir string, opts ExportOptions) (*Manifest, error) {
	fail := func(err error) (*Manifest, error) { return nil, fmt.Errorf("rlhf: export to %s: %w", dir, err) }
	per := opts.ChunkRecords
	if per == 0 {
		per = DefaultChunkRecords
	}
	if per < 0 {
		return fail(fmt.Errorf("chunk records %d is negative", per))
	}
	for id, q := range opts.LabelerQuality {
		if math.IsNaN(q) || math.IsInf(q, 0) {
			return fail(fmt.Errorf("labeler %q: quality %v is not finite", id, q))
		}
	}
	sorted := slices.Clone(labels)
	slices.SortFunc(sorted, func(a, b Label) int {
		return cmp.Or(cmp.Compare(a.TaskID, b.TaskID), cmp.Compare(a.LabelerID, b.LabelerID))
	})
	m := &Manifest{Format: ExportFormat, Labels: len(labels), Chunks: []ChunkInfo{}}
	var records []Record
	for i := range sorted {
		l := &sorted[i]
		if err := l.Validate(); err != nil {
			return fail(fmt.Errorf("task %q, labeler %q: %w", l.TaskID, l.LabelerID, err))
		}
		if i > 0 && sorted[i-1].key() == l.key() {
			return fail(fmt.Errorf("task %q, labeler %q: two labels", l.TaskID, l.LabelerID))
		}
		t, ok := tasks[l.TaskID]
		if !ok {
			return fail(fmt.Errorf("task %q, labeler %q: no such task", l.TaskID, l.LabelerID))
		}
		if t.ID != l.TaskID {
			return fail(fmt.Errorf("task %q is stored under id %q", t.ID, l.TaskID))
		}
		if err := t.Validate(); err != nil {
			return fail(err)
		}
		switch {
		case t.Trap && !opts.IncludeTraps:
			m.Traps++
		case l.Choice == ChoiceTie:
			m.Ties++
		case l.Choice == ChoiceBothBad:
			m.BothBad++
		default:
			records = append(records, newRecord(&t, l, opts.LabelerQuality))
		}
	}
	m.Records = len(records)

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	if ents, err := os.ReadDir(dir); err != nil {
		return fail(err)
	} else if len(ents) > 0 {
		return fail(fmt.Errorf("directory is not empty (it holds %s)", ents[0].Name()))
	}
	var leaves [][]byte
	for start := 0; start < len(records); start += per {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		chunk := records[start:min(start+per, len(records))]
		for i := range chunk {
			if err := enc.Encode(&chunk[i]); err != nil {
				return fail(err)
			}
		}
		sum := sha256.Sum256(buf.Bytes())
		c := ChunkInfo{SHA256: hex.EncodeToString(sum[:]), Records: len(chunk), Bytes: buf.Len()}
		c.Name = c.SHA256 + ".jsonl"
		if err := writeFileSync(dir, c.Name, buf.Bytes()); err != nil {
			return fail(err)
		}
		m.Chunks = append(m.Chunks, c)
		leaves = append(leaves, sum[:])
	}
	root := MerkleRoot(leaves)
	m.MerkleRoot = hex.EncodeToString(root[:])
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fail(err)
	}
	// The manifest last: a crash before it leaves no export to trust.
	if err := writeFileSync(dir, ManifestName, append(mb, '\n')); err != nil {
		return fail(err)
	}
	return m, nil
}

// newRecord makes the export record of a label with choice a or b.
func newRecord(t *Task, l *Label, quality map[string]float64) Record {
	r := Record{
		Prompt:       t.Prompt,
		ID:           recordID(l.TaskID, l.LabelerID),
		TaskID:       l.TaskID,
		Validator:    t.Validator,
		Miner:        l.Miner,
		Labeler:      l.LabelerID,
		Choice:       l.Choice,
		TimeOnTaskMs: l.TimeOnTaskMs,
		CreatedAt:    t.CreatedAt.UTC().Format(time.RFC3339Nano),
		ReceivedAt:   l.ReceivedAt.UTC().Format(time.RFC3339Nano),
	}
	if q, ok := quality[l.LabelerID]; ok {
		r.LabelerQuality = &q
	}
	if l.Choice == ChoiceA {
		r.Chosen, r.Rejected, r.ModelChosen, r.ModelRejected = t.CompletionA, t.CompletionB, t.ModelA, t.ModelB
	} else {
		r.Chosen, r.Rejected, r.ModelChosen, r.ModelRejected = t.CompletionB, t.CompletionA, t.ModelB, t.ModelA
	}
	return r
}

// recordID is Record.ID.
func recordID(task, labeler string) string {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{task, labeler} {
		for i := range 8 {
			n[i] = byte(uint64(len(s)) >> (56 - 8*i))
		}
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// writeFileSync writes dir/name atomically (atomicfile.WriteFile), so
// name never holds part of data, even after a crash.
func writeFileSync(dir, name string, data []byte) error {
	if err := atomicfile.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// Verify checks the export in dir against its manifest: every chunk file
// must exist, hash to the SHA-256 its entry and name give, and hold its
// number of records; the counts must add up; and the Merkle root over the
// chunks must be the manifest's. It returns the manifest if all holds, and
// otherwise an error naming the first bad chunk. To check a copy against
// the chain, compare the returned MerkleRoot with the committed one.
func Verify(dir string) (*Manifest, error) {
	fail := func(format string, args ...any) (*Manifest, error) {
		return nil, fmt.Errorf("rlhf: verify %s: %s", dir, fmt.Sprintf(format, args...))
	}
	mb, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("rlhf: verify %s: %w", dir, err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return fail("%s: %v", ManifestName, err)
	}
	if m.Format != ExportFormat {
		return fail("%s: format %q, want %q", ManifestName, m.Format, ExportFormat)
	}
	leaves := make([][]byte, len(m.Chunks))
	total := 0
	for i, c := range m.Chunks {
		if d, err := hex.DecodeString(c.SHA256); err != nil || len(d) != sha256.Size || c.SHA256 != hex.EncodeToString(d) {
			return fail("chunk %d (%s): sha256 %q is not 64 lower-case hex digits", i, c.Name, c.SHA256)
		}
		if c.Name != c.SHA256+".jsonl" {
			return fail("chunk %d: name %q is not its sha256 %s + \".jsonl\"", i, c.Name, c.SHA256)
		}
		data, err := os.ReadFile(filepath.Join(dir, c.Name))
		if err != nil {
			return fail("chunk %d (%s): %v", i, c.Name, err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != c.SHA256 {
			return fail("chunk %d (%s): its bytes hash to %s, not to the sha256 in the manifest: the chunk was altered", i, c.Name, got)
		}
		if n := bytes.Count(data, []byte("\n")); n != c.Records || len(data) != c.Bytes || (len(data) > 0 && data[len(data)-1] != '\n') {
			return fail("chunk %d (%s): %d lines in %d bytes, the manifest says %d records in %d bytes", i, c.Name, n, len(data), c.Records, c.Bytes)
		}
		total += c.Records
		leaves[i] = sum[:]
	}
	if total != m.Records {
		return fail("chunks hold %d records, the manifest says %d", total, m.Records)
	}
	if m.Records+m.Ties+m.BothBad+m.Traps != m.Labels {
		return fail("counts do not add up: %d records + %d ties + %d both bad + %d traps != %d labels", m.Records, m.Ties, m.BothBad, m.Traps, m.Labels)
	}
	root := MerkleRoot(leaves)
	if got := hex.EncodeToString(root[:]); got != m.MerkleRoot {
		return fail("the Merkle root of the chunks is %s, the manifest says %s", got, m.MerkleRoot)
	}
	return &m, nil
}
