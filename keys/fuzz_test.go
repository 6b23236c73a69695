package keys

import (
	"strings"
	"testing"
)

// ParseAddress never panics, and whatever it accepts is the canonical
// address of the key it returns (up to case).
func FuzzParseAddress(f *testing.F) {
	f.Add(bytes32(1).Address())
	f.Add(strings.ToUpper(bytes32(2).Address()))
	for _, s := range bech32mValid {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pk, err := ParseAddress(s)
		if err != nil {
			return
		}
		if pk.Address() != strings.ToLower(s) {
			t.Fatalf("ParseAddress(%q) accepted a non-canonical form of %s", s, pk.Address())
		}
	})
}

// DecodeKeyfile never panics; what it accepts re-encodes to a keyfile that
// decodes to the same thing, and Decrypt fails cleanly.
func FuzzDecodeKeyfile(f *testing.F) {
	k, _ := NewPrivateKeyFromSeed(make([]byte, SeedSize))
	enc, _ := EncryptKey(k, Coldkey, []byte("pw"), KDFParams{Time: 1, MemoryKiB: 8, Threads: 1})
	plain, _ := PlainKey(k, Hotkey)
	f.Add(enc.Encode())
	f.Add(plain.Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := DecodeKeyfile(data)
		if err != nil {
			return
		}
		again, err := DecodeKeyfile(kf.Encode())
		if err != nil || again.PublicKey != kf.PublicKey || again.Kind != kf.Kind || again.KDF != kf.KDF {
			t.Fatalf("re-decode: %v", err)
		}
		// Only decrypt with a cheap KDF: the fuzzer must stay fast.
		if !kf.Encrypted() || (kf.KDF.Time <= 2 && kf.KDF.MemoryKiB <= 256) {
			_, _ = kf.Decrypt([]byte("pw"))
		}
	})
}
