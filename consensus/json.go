package consensus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// inputJSON is the wire form of Input (the `agora yuma epoch` contract) as
// ParseInput reads it. Arrays stay raw so that an error can name the exact
// element, and pointers tell a missing field from a zero one.
type inputJSON struct {
	N                   *int                `json:"n"`
	Block               *uint64             `json:"block"`
	LastEpochBlock      *uint64             `json:"last_epoch_block"`
	Emission            *uint64             `json:"emission"`
	OwnerUID            *uint16             `json:"owner_uid"`
	Stake               []json.RawMessage   `json:"stake"`
	Permits             []json.RawMessage   `json:"permits"`
	LastUpdate          []json.RawMessage   `json:"last_update"`
	BlockAtRegistration []json.RawMessage   `json:"block_at_registration"`
	Weights             [][]json.RawMessage `json:"weights"`
	Bonds               [][]json.RawMessage `json:"bonds"`
	CommitBlocks        []json.RawMessage   `json:"commit_blocks"`
	Params              json.RawMessage     `json:"params"`
}

// ParseInput decodes and validates one epoch's input from JSON. Every field
// is required but owner_uid, weights, bonds, commit_blocks and params
// (missing params take DefaultParams). Unknown keys, trailing data, numbers
// out of range and the failures of Input.Validate are errors that name the
// field, and the element of an array.
func ParseInput(data []byte) (*Input, error) {
	var raw inputJSON
	if err := decodeStrict(data, &raw); err != nil {
		return nil, err
	}
	params := DefaultParams()
	if len(raw.Params) > 0 && string(raw.Params) != "null" {
		if err := decodeStrict(raw.Params, &params); err != nil {
			return nil, fmt.Errorf("params: %w", err)
		}
	}
	for _, f := range []struct {
		name    string
		missing bool
	}{
		{"n", raw.N == nil},
		{"block", raw.Block == nil},
		{"last_epoch_block", raw.LastEpochBlock == nil},
		{"emission", raw.Emission == nil},
		{"stake", raw.Stake == nil},
		{"permits", raw.Permits == nil},
		{"last_update", raw.LastUpdate == nil},
		{"block_at_registration", raw.BlockAtRegistration == nil},
	} {
		if f.missing {
			return nil, fmt.Errorf("%s: missing", f.name)
		}
	}
	in := &Input{
		N:              *raw.N,
		Block:          *raw.Block,
		LastEpochBlock: *raw.LastEpochBlock,
		Emission:       *raw.Emission,
		OwnerUID:       raw.OwnerUID,
		Params:         params,
	}
	var err error
	for _, f := range []struct {
		name string
		raw  []json.RawMessage
		dst  *[]uint64
	}{
		{"stake", raw.Stake, &in.Stake},
		{"last_update", raw.LastUpdate, &in.LastUpdate},
		{"block_at_registration", raw.BlockAtRegistration, &in.BlockAtRegistration},
		{"commit_blocks", raw.CommitBlocks, &in.CommitBlocks},
	} {
		if *f.dst, err = parseU64s(f.name, f.raw); err != nil {
			return nil, err
		}
	}
	if in.Permits, err = parseBools("permits", raw.Permits); err != nil {
		return nil, err
	}
	if in.Weights, err = parseRows("weights", raw.Weights); err != nil {
		return nil, err
	}
	if in.Bonds, err = parseRows("bonds", raw.Bonds); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return in, nil
}

// parseU64s decodes an array of unsigned integers, naming the element at
// fault. A nil array stays nil.
func parseU64s(name string, raw []json.RawMessage) ([]uint64, error) {
	if raw == nil {
		return nil, nil
	}
	out := make([]uint64, len(raw))
	for i, r := range raw {
		v, err := strconv.ParseUint(string(r), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %s is not an integer in [0, 18446744073709551615]", name, i, truncate(r))
		}
		out[i] = v
	}
	return out, nil
}

// parseBools decodes an array of booleans, naming the element at fault.
func parseBools(name string, raw []json.RawMessage) ([]bool, error) {
	if raw == nil {
		return nil, nil
	}
	out := make([]bool, len(raw))
	for i, r := range raw {
		switch string(r) {
		case "true":
			out[i] = true
		case "false":
		default:
			return nil, fmt.Errorf("%s[%d]: %s is not true or false", name, i, truncate(r))
		}
	}
	return out, nil
}

// inputOut is the wire form of Input as MarshalJSON writes it.
type inputOut struct {
	N                   int                 `json:"n"`
	Block               uint64              `json:"block"`
	LastEpochBlock      uint64              `json:"last_epoch_block"`
	Emission            uint64              `json:"emission"`
	OwnerUID            *uint16             `json:"owner_uid"`
	Stake               []uint64            `json:"stake"`
	Permits             []bool              `json:"permits"`
	LastUpdate          []uint64            `json:"last_update"`
	BlockAtRegistration []uint64            `json:"block_at_registration"`
	Weights             [][]json.RawMessage `json:"weights"`
	Bonds               [][]json.RawMessage `json:"bonds"`
	CommitBlocks        []uint64            `json:"commit_blocks"`
	Params              Params              `json:"params"`
}

// MarshalJSON encodes in in the form ParseInput reads.
func (in *Input) MarshalJSON() ([]byte, error) {
	out := inputOut{
		N:                   in.N,
		Block:               in.Block,
		LastEpochBlock:      in.LastEpochBlock,
		Emission:            in.Emission,
		OwnerUID:            in.OwnerUID,
		Stake:               orEmpty(in.Stake),
		Permits:             orEmpty(in.Permits),
		LastUpdate:          orEmpty(in.LastUpdate),
		BlockAtRegistration: orEmpty(in.BlockAtRegistration),
		CommitBlocks:        in.CommitBlocks,
		Params:              in.Params,
	}
	for _, m := range []struct {
		dst  *[][]json.RawMessage
		rows [][]Entry
	}{{&out.Weights, in.Weights}, {&out.Bonds, in.Bonds}} {
		if m.rows == nil {
			continue
		}
		*m.dst = make([][]json.RawMessage, len(m.rows))
		for i, row := range m.rows {
			(*m.dst)[i] = make([]json.RawMessage, len(row))
			for k, e := range row {
				(*m.dst)[i][k], _ = e.MarshalJSON()
			}
		}
	}
	return json.Marshal(out)
}

// orEmpty returns s, or an empty slice for nil: a required array is
// written as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decodeStrict decodes one JSON value into v, refusing unknown keys and
// trailing data, and rewrites encoding/json's errors to name the field.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// jsonError turns encoding/json's errors into messages that name the field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Errorf("got a JSON %s, want an object", te.Value)
		}
		return fmt.Errorf("%s: %s is not a valid %s", te.Field, te.Value, te.Type)
	case errors.As(err, &se):
		return fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF):
		return errors.New("empty input: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: unexpected end of input")
	}
	// encoding/json reports an unknown key only as text.
	if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown key %s", key)
	}
	return err
}

// parseRows decodes sparse rows of [uid, value] pairs, naming the entry at
// fault.
func parseRows(name string, raw [][]json.RawMessage) ([][]Entry, error) {
	if raw == nil {
		return nil, nil
	}
	rows := make([][]Entry, len(raw))
	for i, r := range raw {
		rows[i] = make([]Entry, len(r))
		for k, msg := range r {
			if err := rows[i][k].UnmarshalJSON(msg); err != nil {
				return nil, fmt.Errorf("%s[%d][%d]: %w", name, i, k, err)
			}
		}
	}
	return rows, nil
}

// MarshalJSON encodes an entry as [uid, value].
func (e Entry) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 16)
	b = append(b, '[')
	b = strconv.AppendUint(b, uint64(e.UID), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(e.Value), 10)
	return append(b, ']'), nil
}

// UnmarshalJSON decodes [uid, value]: exactly two integers in [0, 65535].
func (e *Entry) UnmarshalJSON(data []byte) error {
	var pair []json.Number
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("want [uid, value], got %s", truncate(data))
	}
	uid, err := strconv.ParseUint(string(pair[0]), 10, 16)
	if err != nil {
		return fmt.Errorf("uid %s is not an integer in [0, 65535]", pair[0])
	}
	v, err := strconv.ParseUint(string(pair[1]), 10, 16)
	if err != nil {
		return fmt.Errorf("value %s is not an integer in [0, 65535]", pair[1])
	}
	e.UID, e.Value = uint16(uid), uint16(v)
	return nil
}

func truncate(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
