package llm

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// modelDir is babyllama105 beside the repository (../shared from the repo
// root). The files are never committed here; a missing directory fails the
// tests rather than skipping them.
const modelDir = "../../shared/models/babyllama105"

func testTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := LoadTokenizer(filepath.Join(modelDir, "tok105.model"))
	if err != nil {
		t.Fatalf("babyllama105 must be at %s (../shared/models beside the checkout): %v", modelDir, err)
	}
	return tok
}

func TestTokenizerVocabulary(t *testing.T) {
	tok := testTokenizer(t)
	if tok.VocabSize() != 105 {
		t.Fatalf("VocabSize = %d, want 105", tok.VocabSize())
	}
	if got := tok.Piece(-1, 3); got != " " {
		t.Errorf("piece 3 = %q, want the space (▁)", got)
	}
}

func TestTokenizerRoundTrip(t *testing.T) {
	tok := testTokenizer(t)
	for _, s := range []string{
		"",
		"Tom had a red ball",
		"Once upon a time, there was a little girl named Lily. She loved to play outside.",
		"\"Can I play?\" asked Sam. Mom said, \"Yes!\"\nThey played all day.\n\nThe end.",
		" leading space and  two spaces",
		"It cost $5 – “fancy” café… 100% fun (really) [yes] ~ok~ a/b",
	} {
		ids, err := tok.Encode(s, true)
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		if len(ids) == 0 || ids[0] != BOSID {
			t.Fatalf("Encode(%q) = %v, want BOS first", s, ids)
		}
		if got := tok.Decode(ids); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
		noBOS, err := tok.Encode(s, false)
		if err != nil || !slices.Equal(noBOS, ids[1:]) {
			t.Errorf("Encode(%q, false) = %v, %v; want %v", s, noBOS, err, ids[1:])
		}
	}
}

func TestTokenizerEncodeShape(t *testing.T) {
	tok := testTokenizer(t)
	ids, err := tok.Encode("Tom had", true)
	if err != nil {
		t.Fatal(err)
	}
	// BOS, the dummy-prefix space, then one piece per character.
	want := []int{BOSID, 3, 27, 7, 16, 3, 8, 5, 11}
	if !slices.Equal(ids, want) {
		t.Errorf("Encode = %v, want %v", ids, want)
	}
	if ids, _ := tok.Encode("", false); len(ids) != 0 {
		t.Errorf("Encode(\"\", false) = %v, want nothing", ids)
	}
}

func TestTokenizerNewline(t *testing.T) {
	tok := testTokenizer(t)
	ids, err := tok.Encode("a\nb", false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, UnknownID) {
		t.Errorf("Encode(a\\nb) = %v, want id 0 for the newline", ids)
	}
	if got := tok.Decode([]int{UnknownID}); got != "\n" {
		t.Errorf("Decode([0]) = %q, want newline", got)
	}
	if got := tok.Decode([]int{5, UnknownID, UnknownID, 5}); got != "a\n\na" {
		t.Errorf("Decode = %q", got)
	}
}

func TestTokenizerUnencodable(t *testing.T) {
	tok := testTokenizer(t)
	for _, c := range []struct {
		text        string
		char        rune
		index, byte int
	}{
		{"#", '#', 0, 0},
		{"Tom@home", '@', 3, 3},
		{"é={", '=', 1, 2},
		{"ok 😀", '😀', 3, 3},
	} {
		_, err := tok.Encode(c.text, true)
		var ue *UnencodableError
		if !errors.As(err, &ue) {
			t.Fatalf("Encode(%q) error = %v, want *UnencodableError", c.text, err)
		}
		if ue.Char != c.char || ue.Index != c.index || ue.Offset != c.byte {
			t.Errorf("Encode(%q): %+v, want char %q at %d (byte %d)", c.text, *ue, c.char, c.index, c.byte)
		}
		t.Logf("%s", err)
	}
	if _, err := tok.Encode("a\xffb", true); err == nil {
		t.Error("invalid UTF-8 encoded without error")
	}
}

func TestParseTokenizerErrors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(modelDir, "tok105.model"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": data[:len(data)/2],
		"garbage":   []byte{0xff, 0xff, 0xff},
	} {
		if _, err := ParseTokenizer(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadTokenizer(filepath.Join(t.TempDir(), "missing.model")); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzParseTokenizer(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(modelDir, "tok105.model"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:100])
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseTokenizer(b)
		if err != nil {
			return
		}
		ids, err := tok.Encode("Tom had a ball", true)
		if err == nil {
			_ = tok.Decode(ids)
		}
	})
}

// modelProto builds a ModelProto with the given normal pieces after the
// three reserved ones.
func modelProto(pieces []string, scores []float32) []byte {
	var out []byte
	add := func(piece string, score float32, typ byte) {
		var msg []byte
		msg = append(msg, 0x0a, byte(len(piece)))
		msg = append(msg, piece...)
		msg = append(msg, 0x15)
		msg = binary.LittleEndian.AppendUint32(msg, math.Float32bits(score))
		msg = append(msg, 0x18, typ)
		out = append(out, 0x0a, byte(len(msg)))
		out = append(out, msg...)
	}
	add("<unk>", 0, pieceUnknown)
	add("<s>", 0, pieceControl)
	add("</s>", 0, pieceControl)
	for i, p := range pieces {
		add(p, scores[i], pieceNormal)
	}
	return out
}

// Merges follow run.c: the best-scoring adjacent pair first, leftmost on
// ties, until no pair is a piece.
func TestTokenizerMerges(t *testing.T) {
	//                     3    4    5    6    7     8      9     10
	pieces := []string{"▁", "a", "b", "c", "ab", "▁ab", "bc", "▁abc"}
	scores := []float32{-1, -2, -3, -4, -0.5, -0.2, -0.1, -5}
	tok, err := ParseTokenizer(modelProto(pieces, scores))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text string
		want []int
	}{
		{"abc", []int{1, 3, 4, 9}}, // "bc" (-0.1) beats "ab" (-0.5); then "▁a"+"bc" is no piece
		{"ab", []int{1, 8}},        // ▁ a b → ▁ ab → ▁ab
		{"cab", []int{1, 3, 6, 7}},
	} {
		ids, err := tok.Encode(c.text, true)
		if err != nil || !slices.Equal(ids, c.want) {
			t.Errorf("Encode(%q) = %v, %v; want %v", c.text, ids, err, c.want)
		}
		if got := tok.Decode(ids); got != c.text {
			t.Errorf("Decode(%v) = %q, want %q", ids, got, c.text)
		}
	}
}
