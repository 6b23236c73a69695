package consensus

import (
	"math"
	"slices"
	"testing"
)

// The vectors in this file are subtensor's own epoch tests
// (pallets/subtensor/src/tests/epoch.rs and epoch_logs.rs at 14bc6f9f),
// as listed in research/yuma.md section 6. Classic Yuma must match exactly.

const max16 = math.MaxUint16

// chain carries what subtensor stores between epochs: permits and bonds.
type chain struct {
	t  *testing.T
	in Input
}

func newChain(t *testing.T, n int, stake []uint64, p Params) *chain {
	t.Helper()
	c := &chain{t: t, in: Input{
		N:                   n,
		Emission:            1_000_000_000,
		Stake:               stake,
		Permits:             make([]bool, n),
		LastUpdate:          make([]uint64, n),
		BlockAtRegistration: make([]uint64, n),
		Weights:             make([][]Entry, n),
		Bonds:               make([][]Entry, n),
		Params:              p,
	}}
	return c
}

// setWeights stores uid's row as set_weights would at block.
func (c *chain) setWeights(uid int, block uint64, row ...Entry) {
	c.in.Weights[uid] = row
	c.in.LastUpdate[uid] = block
}

// epoch runs at block and stores permits and bonds for the next one.
func (c *chain) epoch(block uint64) *Output {
	c.t.Helper()
	c.in.Block = block
	out, err := Epoch(&c.in)
	if err != nil {
		c.t.Fatalf("epoch at block %d: %v", block, err)
	}
	c.in.Permits = out.ValidatorPermits
	c.in.Bonds = out.Bonds
	return out
}

// bond returns the stored bond of row i on column j.
func (c *chain) bond(i, j int) uint16 {
	for _, e := range c.in.Bonds[i] {
		if int(e.UID) == j {
			return e.Value
		}
	}
	return 0
}

func (c *chain) bondsCol(j int, rows ...int) []uint16 {
	out := make([]uint16, len(rows))
	for k, i := range rows {
		out[k] = c.bond(i, j)
	}
	return out
}

func TestBonds(t *testing.T) {
	p := DefaultParams()
	p.Tempo = 1
	p.MaxAllowedValidators = 8
	c := newChain(t, 8, []uint64{1, 2, 3, 4, 0, 0, 0, 0}, p)
	c.epoch(0) // sets the permits
	servers := []Entry{{4, 16383}, {5, 32767}, {6, 49149}, {7, max16}}
	for uid := range 4 {
		c.setWeights(uid, 1, servers...)
	}
	out := c.epoch(1)
	if got, want := out.Emission, []uint64{49999998, 99999999, 150000000, 200000001, 49998779, 100000610, 149996337, 200004272}; !slices.Equal(got, want) {
		t.Errorf("epoch 1 emission = %v, want %v", got, want)
	}
	if got, want := out.Incentive[4:], []uint16{6553, 13107, 19660, 26214}; !slices.Equal(got, want) {
		t.Errorf("epoch 1 incentive = %v, want %v", got, want)
	}
	if got, want := out.Dividends[:4], []uint16{6553, 13106, 19660, 26214}; !slices.Equal(got, want) {
		t.Errorf("epoch 1 dividends = %v, want %v", got, want)
	}
	if got := out.ValidatorTrust[0]; got != 65534 {
		t.Errorf("epoch 1 validator trust = %d, want 65534", got)
	}
	steps := []struct {
		name  string
		apply func(block uint64)
		col   int
		want  []uint16
	}{
		{"initial weights", nil, 4, []uint16{16383, 32767, 49151, 65535}},
		{"uid0 self-weight", func(b uint64) { c.setWeights(0, b, Entry{0, max16}) }, 4, []uint16{14582, 32767, 49151, 65535}},
		{"uid1 self-weight", func(b uint64) { c.setWeights(1, b, Entry{1, max16}) }, 4, []uint16{12603, 28321, 49151, 65535}},
		{"uid2 self-weight", func(b uint64) { c.setWeights(2, b, Entry{2, max16}) }, 7, []uint16{12602, 28320, 49150, 65535}},
		{"uid2 on uid7", func(b uint64) { c.setWeights(2, b, Entry{7, max16}) }, 7, []uint16{10951, 24609, 49150, 65535}},
		{"no change", nil, 7, []uint16{9559, 21482, 49150, 65535}},
		{"no change", nil, 7, []uint16{8376, 18824, 49150, 65535}},
	}
	block := uint64(1)
	for k, s := range steps {
		if k > 0 {
			if s.apply != nil {
				s.apply(block)
			}
			block++
			out = c.epoch(block)
		}
		if got := c.bondsCol(s.col, 0, 1, 2, 3); !slices.Equal(got, s.want) {
			t.Errorf("step %d (%s): bonds[0..3][%d] = %v, want %v", k+1, s.name, s.col, got, s.want)
		}
		if k == 4 {
			if got, want := out.Emission, []uint64{36443733, 81898628, 163565493, 218092144, 0, 0, 0, 500000000}; !slices.Equal(got, want) {
				t.Errorf("step 5 emission = %v, want %v", got, want)
			}
		}
	}
}
