package keys

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// cheapKDF keeps tests fast; the format is the same.
var cheapKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func testKey(t testing.TB) *PrivateKey {
	t.Helper()
	k, err := NewPrivateKeyFromSeed(bytes.Repeat([]byte{7}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyfileRoundTrip(t *testing.T) {
	k := testKey(t)
	f, err := EncryptKey(k, Coldkey, []byte("correct horse"), cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	data := f.Encode()
	if bytes.Contains(data, []byte(hex.EncodeToString(k.Seed()))) {
		t.Fatal("the seed is in clear in an encrypted keyfile")
	}
	g, err := DecodeKeyfile(data)
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind != Coldkey || g.PublicKey != k.PublicKey() || g.Address() != k.Address() || !g.Encrypted() || g.KDF != cheapKDF {
		t.Fatalf("decoded %+v", g)
	}
	k2, err := g.Decrypt([]byte("correct horse"))
	if err != nil || !bytes.Equal(k2.Seed(), k.Seed()) {
		t.Fatalf("decrypt: %v", err)
	}
	// The public part reads without a password, straight from the JSON.
	var clear map[string]any
	_ = json.Unmarshal(data, &clear)
	if clear["address"] != k.Address() || clear["version"] != 1.0 {
		t.Errorf("clear fields: %v", clear)
	}
	// Two encryptions of one key differ (fresh salt and nonce).
	f2, _ := EncryptKey(k, Coldkey, []byte("correct horse"), cheapKDF)
	if bytes.Equal(f2.Encode(), data) {
		t.Error("two encryptions are identical")
	}
}

func TestKeyfileWrongPassword(t *testing.T) {
	f, _ := EncryptKey(testKey(t), Coldkey, []byte("right"), cheapKDF)
	for _, pw := range []string{"wrong", "", "Right", "right "} {
		_, err := f.Decrypt([]byte(pw))
		if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "wrong password or corrupted keyfile") {
			t.Errorf("password %q: err = %v", pw, err)
		}
	}
}

// Flipping any byte of the file is caught: by Decode, or by Decrypt.
func TestKeyfileTampered(t *testing.T) {
	k := testKey(t)
	for _, plain := range []bool{false, true} {
		var f *Keyfile
		if plain {
			f, _ = PlainKey(k, Hotkey)
		} else {
			f, _ = EncryptKey(k, Coldkey, []byte("pw"), cheapKDF)
		}
		data := f.Encode()
		for i := range data {
			bad := bytes.Clone(data)
			bad[i] ^= 0x01
			g, err := DecodeKeyfile(bad)
			if err != nil {
				continue
			}
			got, err := g.Decrypt([]byte("pw"))
			if err == nil && (got.PublicKey() != k.PublicKey() || !bytes.Equal(got.Seed(), k.Seed())) {
				t.Fatalf("byte %d flipped: decrypted a different key", i)
			}
			if err == nil && !equalJSON(bad, data) {
				t.Errorf("plain=%v byte %d (%q) flipped: accepted", plain, i, data[i])
			}
		}
	}
}

// equalJSON reports whether a and b hold the same JSON value (a flipped
// byte in white space or in a hex digit's case changes nothing).
func equalJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(bytes.ToLower(xs), bytes.ToLower(ys))
}

func TestKeyfileDecodeErrors(t *testing.T) {
	k := testKey(t)
	f, _ := EncryptKey(k, Coldkey, []byte("pw"), cheapKDF)
	var good map[string]any
	_ = json.Unmarshal(f.Encode(), &good)
	edit := func(fn func(m map[string]any)) string {
		m := map[string]any{}
		b, _ := json.Marshal(good)
		_ = json.Unmarshal(b, &m)
		fn(m)
		b, _ = json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "not keyfile JSON"},
		{"{", "not keyfile JSON"},
		{string(f.Encode()) + "{}", "trailing data"},
		{edit(func(m map[string]any) { m["version"] = 2 }), "version 2 is newer"},
		{edit(func(m map[string]any) { m["version"] = 0 }), "version 0, want 1"},
		{edit(func(m map[string]any) { m["kind"] = "warmkey" }), `kind "warmkey"`},
		{edit(func(m map[string]any) { m["extra"] = 1 }), `unknown field "extra"`},
		{edit(func(m map[string]any) { m["address"] = bytes32(1).Address() }), "does not match public key"},
		{edit(func(m map[string]any) { m["public_key"] = "abcd" }), "public_key is 2 bytes, want 32"},
		{edit(func(m map[string]any) { m["cipher"] = "rot13" }), `cipher "rot13"`},
		{edit(func(m map[string]any) { m["nonce"] = "zz" }), "nonce is not hex"},
		{edit(func(m map[string]any) { m["seed"] = hex.EncodeToString(k.Seed()) }), "encrypted keyfile with a clear seed"},
		{edit(func(m map[string]any) { m["kdf"].(map[string]any)["memory_kib"] = 1 << 30 }), "argon2id memory"},
		{edit(func(m map[string]any) { m["kdf"].(map[string]any)["time"] = 0 }), "argon2id time 0"},
		{edit(func(m map[string]any) { m["kdf"].(map[string]any)["name"] = "scrypt" }), `kdf must be "argon2id"`},
		{edit(func(m map[string]any) { m["kdf"].(map[string]any)["salt"] = "00" }), "kdf.salt is 1 bytes, want 16"},
		{edit(func(m map[string]any) { m["ciphertext"] = hex.EncodeToString(k.Seed()) }), "ciphertext is 32 bytes, want 48"},
		{edit(func(m map[string]any) { m["cipher"] = "none" }), `cipher "none" with kdf`},
	} {
		_, err := DecodeKeyfile([]byte(tc.in))
		if err == nil || !errors.Is(err, ErrBadKeyfile) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeKeyfile(%.60s) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestPlainKeyfile(t *testing.T) {
	k := testKey(t)
	f, err := PlainKey(k, Hotkey)
	if err != nil {
		t.Fatal(err)
	}
	g, err := DecodeKeyfile(f.Encode())
	if err != nil || g.Encrypted() {
		t.Fatalf("decode: %v", err)
	}
	k2, err := g.Decrypt(nil)
	if err != nil || k2.PublicKey() != k.PublicKey() {
		t.Fatalf("decrypt: %v", err)
	}
	// A seed that does not belong to the public key is refused.
	other, _ := PlainKey(mustSeed(t, 9), Hotkey)
	var m map[string]any
	_ = json.Unmarshal(f.Encode(), &m)
	var o map[string]any
	_ = json.Unmarshal(other.Encode(), &o)
	m["seed"] = o["seed"]
	b, _ := json.Marshal(m)
	g, err = DecodeKeyfile(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Decrypt(nil); !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "does not match the public key") {
		t.Errorf("mismatched seed: %v", err)
	}
}

func TestEncryptKeyErrors(t *testing.T) {
	k := testKey(t)
	if _, err := EncryptKey(k, Coldkey, nil, cheapKDF); err == nil {
		t.Error("empty password accepted")
	}
	if _, err := EncryptKey(k, Coldkey, []byte("x"), KDFParams{Time: 1, MemoryKiB: 4, Threads: 1}); err == nil {
		t.Error("4 KiB of memory accepted")
	}
	if _, err := EncryptKey(k, "other", []byte("x"), cheapKDF); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := DefaultKDF().Validate(); err != nil {
		t.Error(err)
	}
}

func mustSeed(t *testing.T, b byte) *PrivateKey {
	k, err := NewPrivateKeyFromSeed(bytes.Repeat([]byte{b}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
