package llm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"unicode/utf8"
)

// Token ids every llama2.c vocabulary reserves.
const (
	// UnknownID is <unk>. The babyllama models were trained with newlines
	// mapped to it, so the Tokenizer encodes "\n" as UnknownID and decodes
	// UnknownID as "\n".
	UnknownID = 0
	// BOSID begins a sequence; generation stops when the model emits it.
	BOSID = 1
	// EOSID ends a sequence; generation stops when the model emits it.
	EOSID = 2
)

// SentencePiece piece types (sentencepiece_model.proto, SentencePiece.Type).
const (
	pieceNormal  = 1
	pieceUnknown = 2
	pieceControl = 3
	pieceByte    = 6
)

// Tokenizer is a SentencePiece vocabulary read from a ModelProto file,
// encoding and decoding as llama2.c's run.c does: per-character lookup,
// then repeated merges of the best-scoring adjacent pair. It is read-only
// after LoadTokenizer and safe for concurrent use.
type Tokenizer struct {
	pieces      []string // decoded text of each id; "▁" is already " "
	scores      []float32
	ids         map[string]int // encodable pieces (normal and user-defined)
	byteIDs     [256]int       // id of <0xXX>, or -1 when the vocabulary has none
	dummyPrefix bool           // prepend " " to non-empty text (add_dummy_prefix)
}

// LoadTokenizer reads a SentencePiece ModelProto (tokenizer.model) from path.
func LoadTokenizer(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("llm: load tokenizer: %w", err)
	}
	t, err := ParseTokenizer(data)
	if err != nil {
		return nil, fmt.Errorf("llm: load tokenizer %s: %w", path, err)
	}
	return t, nil
}

// ParseTokenizer decodes a SentencePiece ModelProto: the pieces with their
// scores and types (field 1) and the normalizer's add_dummy_prefix (field 3).
// Everything else is skipped. It needs at least the three reserved ids.
func ParseTokenizer(data []byte) (*Tokenizer, error) {
	t := &Tokenizer{ids: map[string]int{}, dummyPrefix: true}
	for i := range t.byteIDs {
		t.byteIDs[i] = -1
	}
	err := walkProto(data, func(field int, wire int, v uint64, b []byte) error {
		switch {
		case field == 1 && wire == 2:
			return t.addPiece(b)
		case field == 3 && wire == 2: // NormalizerSpec
			return walkProto(b, func(field, wire int, v uint64, _ []byte) error {
				if field == 3 && wire == 0 {
					t.dummyPrefix = v != 0
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(t.pieces) < 3 {
		return nil, fmt.Errorf("tokenizer model has %d pieces, want at least 3", len(t.pieces))
	}
	return t, nil
}

func (t *Tokenizer) addPiece(msg []byte) error {
	var piece string
	var score float32
	typ := uint64(pieceNormal)
	err := walkProto(msg, func(field, wire int, v uint64, b []byte) error {
		switch {
		case field == 1 && wire == 2:
			if !utf8.Valid(b) {
				return fmt.Errorf("piece %d is not UTF-8", len(t.pieces))
			}
			piece = string(b)
		case field == 2 && wire == 5:
			score = math.Float32frombits(uint32(v))
		case field == 3 && wire == 0:
			typ = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	id := len(t.pieces)
	text := strings.ReplaceAll(piece, "▁", " ")
	var by int
	switch typ {
	case pieceByte:
		if n, _ := fmt.Sscanf(piece, "<0x%02X>", &by); n == 1 && len(piece) == 6 {
			t.byteIDs[by] = id
			text = string([]byte{byte(by)})
		}
	case pieceUnknown, pieceControl:
		// Never produced by encoding text.
	default:
		if _, dup := t.ids[text]; !dup {
			t.ids[text] = id
		}
	}
	t.pieces = append(t.pieces, text)
	t.scores = append(t.scores, score)
	return nil
}

var errTruncated = errors.New("truncated protobuf")

// walkProto calls fn for each field of one protobuf message: v holds varint
// and fixed values, b the bytes of length-delimited ones. Groups are
// rejected.
func walkProto(data []byte, fn func(field, wire int, v uint64, b []byte) error) error {
	for len(data) > 0 {
		key, n := binary.Uvarint(data)
		if n <= 0 {
			return errTruncated
		}
		data = data[n:]
		field, wire := int(key>>3), int(key&7)
		var v uint64
		var b []byte
		switch wire {
		case 0:
			v, n = binary.Uvarint(data)
			if n <= 0 {
				return errTruncated
			}
			data = data[n:]
		case 1:
			if len(data) < 8 {
				return errTruncated
			}
			v, data = binary.LittleEndian.Uint64(data), data[8:]
		case 2:
			l, n := binary.Uvarint(data)
			if n <= 0 || l > uint64(len(data)-n) {
				return errTruncated
			}
			b, data = data[n:n+int(l)], data[n+int(l):]
		case 5:
			if len(data) < 4 {
				return errTruncated
			}
			v, data = uint64(binary.LittleEndian.Uint32(data)), data[4:]
		default:
			return fmt.Errorf("unsupported protobuf wire type %d in field %d", wire, field)
		}
		if err := fn(field, wire, v, b); err != nil {
			return err
		}
	}
	return nil
}

// VocabSize is the number of pieces; ids are 0 to VocabSize()-1.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// UnencodableError reports a character of the text that is not in the
// vocabulary (and that no byte piece can spell).
type UnencodableError struct {
	Char   rune
	Offset int // byte offset in the text
	Index  int // character (rune) index in the text, from 0
}

func (e *UnencodableError) Error() string {
	return fmt.Sprintf("llm: cannot encode character %q (U+%04X) at character %d (byte %d): it is not in the tokenizer's vocabulary",
		e.Char, e.Char, e.Index, e.Offset)
}

// Encode turns text into token ids as llama2.c does: BOSID first when bos
// is true, a dummy " " prefix for non-empty text when the model asks for
// it, one piece per character ("\n" is UnknownID), then merges of the
// best-scoring adjacent pair until none is in the vocabulary. A character
// outside the vocabulary is an *UnencodableError. Invalid UTF-8 is an
// error too.
func (t *Tokenizer) Encode(text string, bos bool) ([]int, error) {
	ids := make([]int, 0, len(text)+2)
	if bos {
		ids = append(ids, BOSID)
	}
	if text != "" && t.dummyPrefix {
		id, ok := t.ids[" "]
		if !ok {
			return nil, &UnencodableError{Char: ' ', Offset: 0, Index: 0}
		}
		ids = append(ids, id)
	}
	index := 0
	for off, r := range text {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(text[off:]); size <= 1 {
				return nil, fmt.Errorf("llm: invalid UTF-8 at byte %d", off)
			}
		}
		size := utf8.RuneLen(r)
		if id, ok := t.ids[text[off:off+size]]; ok {
			ids = append(ids, id)
		} else if r == '\n' {
			ids = append(ids, UnknownID)
		} else if t.byteIDs[text[off]] >= 0 {
			for k := range size {
				bid := t.byteIDs[text[off+k]]
				if bid < 0 {
					return nil, &UnencodableError{Char: r, Offset: off, Index: index}
				}
				ids = append(ids, bid)
			}
		} else {
			return nil, &UnencodableError{Char: r, Offset: off, Index: index}
		}
		index++
	}
	// Merge the best-scoring adjacent pair until no pair is a piece. Ties go
	// to the leftmost pair, as in run.c.
	start := 0
	if bos {
		start = 1
	}
	for {
		best, bestID, bestAt := float32(math.Inf(-1)), -1, -1
		for i := start; i+1 < len(ids); i++ {
			if ids[i] == UnknownID || ids[i+1] == UnknownID {
				continue
			}
			id, ok := t.ids[t.pieces[ids[i]]+t.pieces[ids[i+1]]]
			if ok && t.scores[id] > best {
				best, bestID, bestAt = t.scores[id], id, i
			}
		}
		if bestAt < 0 {
			return ids, nil
		}
		ids[bestAt] = bestID
		ids = append(ids[:bestAt+1], ids[bestAt+2:]...)
	}
}

// Piece is the text of token id when it follows token prev, as run.c
// decodes it: UnknownID is "\n", BOSID and EOSID are "", a piece after BOSID
// loses one leading space (the dummy prefix). Ids out of range are "".
func (t *Tokenizer) Piece(prev, id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	switch id {
	case UnknownID:
		return "\n"
	case BOSID, EOSID:
		return ""
	}
	s := t.pieces[id]
	if prev == BOSID && t.dummyPrefix {
		s = strings.TrimPrefix(s, " ")
	}
	return s
}

// Decode turns ids back into text, piece by piece as Piece does, so that
// Decode(Encode(s, true)) == s for every encodable s.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	prev := -1
	for _, id := range ids {
		b.WriteString(t.Piece(prev, id))
		prev = id
	}
	return b.String()
}
