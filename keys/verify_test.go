package keys

import (
	"crypto/ed25519"
	"math/big"
	"math/rand/v2"
	"testing"
)

// Verify accepts exactly what crypto/ed25519 accepts: on valid signatures,
// on random bit flips of key, message and signature, on s + L (a
// malleated, non-canonical signature) and on small-order public keys.
func TestVerifyMatchesCryptoEd25519(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	smallOrder := [][]byte{
		make([]byte, 32),                       // the all-zero point encoding (order 4 after decoding y=0)
		append([]byte{1}, make([]byte, 31)...), // the identity
	}
	for i := range 3000 {
		var seed [SeedSize]byte
		for j := range seed {
			seed[j] = byte(rng.UintN(256))
		}
		priv := ed25519.NewKeyFromSeed(seed[:])
		msg := make([]byte, rng.IntN(64))
		for j := range msg {
			msg[j] = byte(rng.UintN(256))
		}
		sig := ed25519.Sign(priv, msg)
		pub := priv.Public().(ed25519.PublicKey)
		switch i % 5 {
		case 1:
			sig[rng.IntN(len(sig))] ^= 1 << rng.UintN(8)
		case 2:
			pub = append(ed25519.PublicKey(nil), pub...)
			pub[rng.IntN(len(pub))] ^= 1 << rng.UintN(8)
		case 3: // s + L: same point equation, non-canonical scalar
			s := new(big.Int).SetBytes(reverse(sig[32:]))
			s.Add(s, l)
			b := s.FillBytes(make([]byte, 32))
			if b[0] < 0x20 { // fits in 32 bytes little-endian
				copy(sig[32:], reverse(b))
			}
		case 4:
			pub = smallOrder[i%len(smallOrder)]
		}
		var pk PublicKey
		copy(pk[:], pub)
		want := ed25519.Verify(pub, msg, sig)
		if got := pk.Verify(msg, sig); got != want {
			t.Fatalf("case %d (kind %d): Verify = %v, crypto/ed25519 = %v", i, i%5, got, want)
		}
		// The expanded key answers alike; a key that does not expand
		// verifies nothing.
		x, err := pk.Expand()
		if err != nil {
			if want {
				t.Fatalf("case %d (kind %d): Expand: %v, but crypto/ed25519 accepts a signature under it", i, i%5, err)
			}
			continue
		}
		if x.PublicKey() != pk {
			t.Fatalf("case %d: expanded key is %s, want %s", i, x.PublicKey(), pk)
		}
		if got := x.Verify(msg, sig); got != want {
			t.Fatalf("case %d (kind %d): ExpandedPublicKey.Verify = %v, crypto/ed25519 = %v", i, i%5, got, want)
		}
		if got := x.Verify(msg, sig[:len(sig)-1]); got {
			t.Fatalf("case %d: ExpandedPublicKey.Verify accepts a short signature", i)
		}
	}
}

// A key whose encoding is not a curve point does not expand.
func TestExpandRejectsNonPoints(t *testing.T) {
	rejected := 0
	for i := range 64 {
		var pk PublicKey
		pk[0] = byte(i)
		pk[31] = 0x7f
		for j := 1; j < 31; j++ {
			pk[j] = 0xff
		}
		_, err := pk.Expand()
		if err != nil {
			rejected++
			if ed25519.Verify(pk[:], nil, make([]byte, SignatureSize)) {
				t.Fatalf("%x: crypto/ed25519 accepts a signature under a key Expand refuses", pk)
			}
		}
	}
	if rejected == 0 {
		t.Fatal("no non-point among the candidates: the test checks nothing")
	}
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// Sign gives crypto/ed25519's bytes: ed25519 signatures are deterministic.
func TestSignMatchesCryptoEd25519(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		var seed [SeedSize]byte
		for j := range seed {
			seed[j] = byte(rng.UintN(256))
		}
		k, err := NewPrivateKeyFromSeed(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, rng.IntN(200))
		for j := range msg {
			msg[j] = byte(rng.UintN(256))
		}
		if got, want := k.Sign(msg), ed25519.Sign(ed25519.NewKeyFromSeed(seed[:]), msg); string(got) != string(want) {
			t.Fatalf("Sign differs from crypto/ed25519 for seed %x", seed)
		}
	}
}
