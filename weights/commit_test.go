package weights

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

type commitInput struct {
	hotkey             []byte
	netuid             uint16
	uids, values, salt []uint16
	versionKey         uint64
}

func (c commitInput) hash() [32]byte {
	return CommitHash(c.hotkey, c.netuid, c.uids, c.values, c.salt, c.versionKey)
}

func sampleCommit() commitInput {
	hotkey := make([]byte, 32)
	for i := range hotkey {
		hotkey[i] = byte(i + 1)
	}
	return commitInput{
		hotkey:     hotkey,
		netuid:     7,
		uids:       []uint16{1, 2, 3},
		values:     []uint16{65535, 0, 100},
		salt:       []uint16{1, 2, 3, 4, 5, 6, 7, 8},
		versionKey: 42,
	}
}

// TestCommitHashGolden pins the encoding. The preimage is written out byte by
// byte from the layout documented on CommitHash; the hashes were also checked
// with Python's hashlib over the same bytes.
func TestCommitHashGolden(t *testing.T) {
	tests := []struct {
		name     string
		in       commitInput
		preimage string
		hash     string
	}{
		{
			name: "sample",
			in:   sampleCommit(),
			preimage: "0000000000000017" + hex.EncodeToString([]byte("agora/weights-commit/v1")) +
				"0000000000000020" + "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20" +
				"0007" +
				"0000000000000003" + "000100020003" +
				"0000000000000003" + "ffff00000064" +
				"0000000000000008" + "00010002000300040005000600070008" +
				"000000000000002a",
			hash: "bd3be15f51b4475d0ae950c3ec7988fb0b5215c8c8e96a1bd668f5aeac9e8bb1",
		},
		{
			name: "all empty",
			in:   commitInput{},
			preimage: "0000000000000017" + hex.EncodeToString([]byte("agora/weights-commit/v1")) +
				"0000000000000000" + "0000" + "0000000000000000" + "0000000000000000" + "0000000000000000" +
				"0000000000000000",
			hash: "8ca8bd18fe3d728df1ef6eb268fb4f5794a417dff84f9420602302a22c5b7192",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre, err := hex.DecodeString(tt.preimage)
			if err != nil {
				t.Fatal(err)
			}
			got := tt.in.hash()
			if want := sha256.Sum256(pre); got != want {
				t.Errorf("CommitHash = %x, but SHA-256 of the documented preimage is %x", got, want)
			}
			if hex.EncodeToString(got[:]) != tt.hash {
				t.Errorf("CommitHash = %x, want %s", got, tt.hash)
			}
		})
	}
}

// TestCommitHashFields changes one thing at a time, including moving an
// element from one field to its neighbour (the same bytes in a different
// split), and checks that every variant hashes differently from the sample
// and from each other.
func TestCommitHashFields(t *testing.T) {
	base := sampleCommit()
	variants := map[string]func(c *commitInput){
		"hotkey byte":      func(c *commitInput) { c.hotkey[31] ^= 1 },
		"hotkey shorter":   func(c *commitInput) { c.hotkey = c.hotkey[:31] },
		"hotkey nil":       func(c *commitInput) { c.hotkey = nil },
		"netuid":           func(c *commitInput) { c.netuid = 8 },
		"uid":              func(c *commitInput) { c.uids[2] = 4 },
		"uids order":       func(c *commitInput) { c.uids[0], c.uids[1] = c.uids[1], c.uids[0] },
		"value":            func(c *commitInput) { c.values[2] = 101 },
		"salt":             func(c *commitInput) { c.salt[7] = 9 },
		"salt shorter":     func(c *commitInput) { c.salt = c.salt[:7] },
		"salt empty":       func(c *commitInput) { c.salt = nil },
		"version key":      func(c *commitInput) { c.versionKey = 43 },
		"version key high": func(c *commitInput) { c.versionKey = 42 | 1<<63 },
		"uid moved to values": func(c *commitInput) {
			c.values = append([]uint16{c.uids[2]}, c.values...)
			c.uids = c.uids[:2]
		},
		"value moved to uids": func(c *commitInput) {
			c.uids = append(c.uids, c.values[0])
			c.values = c.values[1:]
		},
		"value moved to salt": func(c *commitInput) {
			c.salt = append([]uint16{c.values[2]}, c.salt...)
			c.values = c.values[:2]
		},
		"salt moved to values": func(c *commitInput) {
			c.values = append(c.values, c.salt[0])
			c.salt = c.salt[1:]
		},
		"netuid into hotkey": func(c *commitInput) {
			c.hotkey = append(c.hotkey, 0x00)
			c.netuid = 0x07 << 8
		},
	}
	seen := map[[32]byte]string{base.hash(): "sample"}
	for name, change := range variants {
		c := sampleCommit()
		change(&c)
		h := c.hash()
		if other, dup := seen[h]; dup {
			t.Errorf("%s hashes the same as %s", name, other)
		}
		seen[h] = name
	}
	if again := sampleCommit().hash(); again != base.hash() {
		t.Errorf("CommitHash is not deterministic")
	}
}

// TestCommitHashKeepsInputs checks that hashing neither modifies nor depends
// on the capacity of the slices it is given.
func TestCommitHashKeepsInputs(t *testing.T) {
	c := sampleCommit()
	want := c.hash()
	padded := sampleCommit()
	padded.uids = append(make([]uint16, 0, 100), padded.uids...)
	if got := padded.hash(); got != want {
		t.Errorf("hash depends on capacity")
	}
	fresh := sampleCommit()
	if c.netuid != fresh.netuid || string(c.hotkey) != string(fresh.hotkey) || c.values[0] != fresh.values[0] {
		t.Errorf("CommitHash modified its inputs")
	}
}

// TestCommitHashMechanism: mechanism 0 is CommitHash itself; mechanism m
// hashes the preimage CommitHashMechanism documents, written out here byte
// by byte, and each mechanism gives another hash.
func TestCommitHashMechanism(t *testing.T) {
	c := sampleCommit()
	if got, want := CommitHashMechanism(c.hotkey, c.netuid, 0, c.uids, c.values, c.salt, c.versionKey), c.hash(); got != want {
		t.Fatalf("mechanism 0: %x, CommitHash %x", got, want)
	}
	preimage := "0000000000000021" + hex.EncodeToString([]byte("agora/weights-commit-mechanism/v1")) +
		"0000000000000020" + "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20" +
		"0007" + "02" +
		"0000000000000003" + "000100020003" +
		"0000000000000003" + "ffff00000064" +
		"0000000000000008" + "00010002000300040005000600070008" +
		"000000000000002a"
	raw, err := hex.DecodeString(preimage)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := CommitHashMechanism(c.hotkey, c.netuid, 2, c.uids, c.values, c.salt, c.versionKey), sha256.Sum256(raw); got != want {
		t.Fatalf("mechanism 2: %x, want sha256 of the documented preimage %x", got, want)
	}
	seen := map[[32]byte]uint8{}
	for m := range uint8(8) {
		h := CommitHashMechanism(c.hotkey, c.netuid, m, c.uids, c.values, c.salt, c.versionKey)
		if prev, dup := seen[h]; dup {
			t.Fatalf("mechanisms %d and %d hash alike", prev, m)
		}
		seen[h] = m
	}
}
