package rlhf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// naiveMTH is RFC 6962 section 2.1's definition of the Merkle Tree Hash,
// written as the recursion the RFC states, with its own hashing.
func naiveMTH(d [][]byte) [32]byte {
	n := len(d)
	switch n {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0x00}, d[0]...))
	}
	k := 1
	for k*2 < n {
		k *= 2
	}
	l, r := naiveMTH(d[:k]), naiveMTH(d[k:])
	return sha256.Sum256(append(append([]byte{0x01}, l[:]...), r[:]...))
}

// naivePath is RFC 6962 section 2.1.1's PATH(m, D[n]).
func naivePath(m int, d [][]byte) [][32]byte {
	n := len(d)
	if n <= 1 {
		return nil
	}
	k := 1
	for k*2 < n {
		k *= 2
	}
	if m < k {
		return append(naivePath(m, d[:k]), naiveMTH(d[k:]))
	}
	return append(naivePath(m-k, d[k:]), naiveMTH(d[:k]))
}

// The Certificate Transparency reference leaves and roots (the test data
// of RFC 6962 implementations, e.g. transparency-dev/merkle).
var ctLeaves = [][]byte{
	{},
	{0x00},
	{0x10},
	{0x20, 0x21},
	{0x30, 0x31},
	{0x40, 0x41, 0x42, 0x43},
	{0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
	{0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f},
}

var ctRoots = []string{
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

func TestMerkleRootCTVectors(t *testing.T) {
	for n := 0; n <= len(ctLeaves); n++ {
		got := MerkleRoot(ctLeaves[:n])
		naive := naiveMTH(ctLeaves[:n])
		if h := hex.EncodeToString(got[:]); h != ctRoots[n] || got != naive {
			t.Errorf("root of %d leaves: %s; RFC 6962 vectors say %s, the naive recursion %x", n, h, ctRoots[n], naive)
		}
	}
}

func TestMerkleProofCTVectors(t *testing.T) {
	tree := NewMerkleTree(ctLeaves)
	for _, c := range []struct {
		index int
		proof []string
	}{
		{0, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{5, []string{
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
	} {
		p, err := tree.Proof(c.index)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%x", p); got != fmt.Sprintf("%s", c.proof) {
			t.Errorf("proof of leaf %d: %s, want %s", c.index, got, c.proof)
		}
	}
}

// TestMerkleAgainstNaive compares roots and proofs with the RFC's
// recursive definitions for every size up to 70, verifies every proof, and
// checks that proofs fail for the wrong leaf, index, size or root, and when
// cut or extended.
func TestMerkleAgainstNaive(t *testing.T) {
	for n := 0; n <= 70; n++ {
		leaves := make([][]byte, n)
		for i := range leaves {
			leaves[i] = []byte(fmt.Sprintf("leaf %d of %d", i, n))
		}
		tree := NewMerkleTree(leaves)
		root := tree.Root()
		if root != naiveMTH(leaves) || tree.Size() != n {
			t.Fatalf("size %d: root %x, naive %x", n, root, naiveMTH(leaves))
		}
		if _, err := tree.Proof(n); err == nil {
			t.Fatalf("size %d: proof of leaf %d out of range", n, n)
		}
		for i := range n {
			p, err := tree.Proof(i)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(p) != fmt.Sprint(naivePath(i, leaves)) {
				t.Fatalf("size %d leaf %d: proof differs from RFC 6962 PATH", n, i)
			}
			if err := VerifyProof(leaves[i], i, n, p, root); err != nil {
				t.Fatalf("size %d leaf %d: %v", n, i, err)
			}
			bad := func(what string, leaf []byte, idx, size int, proof [][32]byte, r [32]byte) {
				if VerifyProof(leaf, idx, size, proof, r) == nil {
					t.Fatalf("size %d leaf %d: proof verified with %s", n, i, what)
				}
			}
			bad("another leaf", []byte("other"), i, n, p, root)
			if n > 1 {
				bad("another index", leaves[i], (i+1)%n, n, p, root)
			}
			bad("a larger size", leaves[i], i, 2*n+1, p, root)
			bad("another root", leaves[i], i, n, p, sha256.Sum256(nil))
			if len(p) > 0 {
				bad("a cut proof", leaves[i], i, n, p[:len(p)-1], root)
				q := append([][32]byte{}, p...)
				q[0][0] ^= 1
				bad("a changed proof", leaves[i], i, n, q, root)
			}
			bad("an extended proof", leaves[i], i, n, append(append([][32]byte{}, p...), root), root)
		}
	}
}

func TestLeafAndNodeHashAreDomainSeparated(t *testing.T) {
	a, b := LeafHash([]byte("a")), LeafHash([]byte("b"))
	node := NodeHash(a, b)
	// A leaf whose data is the two child hashes must not hash like the node.
	if LeafHash(append(a[:], b[:]...)) == node {
		t.Fatal("leaf and node hashes collide")
	}
	if node != sha256.Sum256(append(append([]byte{1}, a[:]...), b[:]...)) {
		t.Fatal("NodeHash is not SHA-256(0x01 || l || r)")
	}
}
