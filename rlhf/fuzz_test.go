package rlhf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// recordSeeds are the seed inputs of FuzzDecodeRecords: store files (after
// the magic) that are valid, torn, damaged in the middle, or hand-built
// with a good CRC over a bad payload.
func recordSeeds(tb testing.TB) [][]byte {
	var good []byte
	for i := range 3 {
		l := testLabel(fmt.Sprintf("t%d", i), "alice")
		rec, err := encodeRecord(&l)
		if err != nil {
			tb.Fatal(err)
		}
		good = append(good, rec...)
	}
	flipped := bytes.Clone(good)
	flipped[20] ^= 1
	frame := func(payload string) []byte {
		b := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
		b = append(append(b, 0, 0, 0, 0), payload...)
		crc := crcOf(b[0:4], []byte(payload))
		binary.LittleEndian.PutUint32(b[4:8], crc)
		return b
	}
	return [][]byte{
		nil,
		good,
		good[:len(good)-1],
		good[:len(good)/2],
		flipped,
		append(bytes.Clone(good), make([]byte, 64)...),
		frame(`{}`),
		frame(`{"task_id":"t","labeler_id":"l","choice":"x","miner":"m","received_at":"2026-01-01T00:00:00Z"}`),
		frame(`{"task_id":"t","labeler_id":"l","choice":"a","miner":"m","received_at":"2026-01-01T00:00:00Z"}`),
		frame(`{"task_id":"t","labeler_id":"l","choice":"a","miner":"m","time_on_task_ms":-5,"received_at":"2026-01-01T00:00:00Z"}`),
		append(frame(`not json`), good...),
	}
}

// crcOf is the record CRC of a length field and payload.
func crcOf(length, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, castagnoli), castagnoli, payload)
}

// FuzzDecodeRecords feeds arbitrary bytes to the recovery decoder: it must
// never panic, every label it returns must pass Validate and survive an
// encode/decode round trip, the valid prefix it reports must decode to the
// same labels on its own, and a corruption it reports must point inside
// the input with a valid record after it.
func FuzzDecodeRecords(f *testing.F) {
	for _, s := range recordSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		labels, end, cerr := decodeRecords(data)
		if end < 0 || end > len(data) {
			t.Fatalf("end %d outside 0..%d", end, len(data))
		}
		for i := range labels {
			if err := labels[i].Validate(); err != nil {
				t.Fatalf("label %d fails Validate: %v", i, err)
			}
			rec, err := encodeRecord(&labels[i])
			if err != nil {
				t.Fatalf("label %d does not encode: %v", i, err)
			}
			if got, n, reason := decodeRecord(rec); reason != "" || n != len(rec) || got != labels[i] {
				t.Fatalf("label %d does not round trip: %q", i, reason)
			}
		}
		again, end2, cerr2 := decodeRecords(data[:end])
		if cerr2 != nil || end2 != end || !reflect.DeepEqual(again, labels) {
			t.Fatalf("the valid prefix [0:%d] decodes differently: %d labels to %d, end %d, %v", end, len(labels), len(again), end2, cerr2)
		}
		if cerr != nil {
			if cerr.Offset != int64(end) || cerr.Next <= cerr.Offset || cerr.Next+headerBytes > int64(len(data)) || cerr.Reason == "" {
				t.Fatalf("corruption %+v with end %d in %d bytes", cerr, end, len(data))
			}
			if _, _, reason := decodeRecord(data[cerr.Next:]); reason != "" {
				t.Fatalf("the record after the corruption at %d is not valid: %s", cerr.Next, reason)
			}
		}
	})
}

// TestFuzzSeedCorpus writes the seed corpus of FuzzDecodeRecords with
// -rlhf.update and otherwise checks that it is there and current, so that
// `go test` runs the seeds from files too.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeRecords")
	for i, s := range recordSeeds(t) {
		path := filepath.Join(dir, fmt.Sprintf("seed%02d", i))
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if *updateGolden {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s is missing or stale (%v): run go test -run TestFuzzSeedCorpus -rlhf.update", path, err)
		}
	}
}
