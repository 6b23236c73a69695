package keys

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cosmos/go-bip39"
)

// The BIP-39 reference vectors: entropy → mnemonic → seed (passphrase TREZOR).
func TestBIP39Vectors(t *testing.T) {
	data, err := os.ReadFile("testdata/bip39_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Passphrase string
		Vectors    []struct{ Entropy, Mnemonic, Seed string }
	}
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Vectors) != 24 {
		t.Fatalf("vectors: %v, %d of them", err, len(doc.Vectors))
	}
	for _, v := range doc.Vectors {
		entropy, _ := hex.DecodeString(v.Entropy)
		m, err := entropyToMnemonic(entropy)
		if err != nil || m != v.Mnemonic {
			t.Errorf("entropy %s: mnemonic %q, %v; want %q", v.Entropy, m, err, v.Mnemonic)
		}
		back, err := mnemonicToEntropy(strings.Fields(v.Mnemonic))
		if err != nil || hex.EncodeToString(back) != v.Entropy {
			t.Errorf("mnemonic %q: entropy %x, %v; want %s", v.Mnemonic, back, err, v.Entropy)
		}
		seed, err := bip39Seed(v.Mnemonic, doc.Passphrase)
		if err != nil || hex.EncodeToString(seed) != v.Seed {
			t.Errorf("mnemonic %q: seed %x, %v; want %s", v.Mnemonic, seed, err, v.Seed)
		}
		// The library agrees with our encoder.
		if lib, err := bip39.NewMnemonic(entropy); err != nil || lib != m {
			t.Errorf("go-bip39 gives %q, %v", lib, err)
		}
	}
}

func TestWordList(t *testing.T) {
	wl := bip39.EnglishWordList
	if len(wl) != 2048 || !slices.IsSorted(wl) || wl[0] != "abandon" || wl[2047] != "zoo" {
		t.Fatalf("word list: %d words, sorted %v", len(wl), slices.IsSorted(wl))
	}
}

// SLIP-0010 test vector 1 for ed25519, chain m.
func TestSLIP10Master(t *testing.T) {
	seed, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	got := hex.EncodeToString(slip10MasterKey(seed))
	if want := "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7"; got != want {
		t.Errorf("master key = %s, want %s", got, want)
	}
	k, _ := NewPrivateKeyFromSeed(slip10MasterKey(seed))
	if got, want := k.PublicKey().Hex(), "a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed"; got != want {
		t.Errorf("public key = %s, want %s", got, want)
	}
}

// Our fixed vector: this mnemonic is this key, forever. Checked against an
// independent computation (go-bip39's PBKDF2 and a direct HMAC).
func TestFromMnemonicFixed(t *testing.T) {
	const m = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon " +
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art"
	const wantPub = "7afa7190d9f5daeaa45d9650ed3ce7c0973bb0e35f7361bf858389a8cf1c3f3c"
	k, err := FromMnemonic(m)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha512.New, []byte("ed25519 seed"))
	mac.Write(bip39.NewSeed(m, ""))
	indep := ed25519.NewKeyFromSeed(mac.Sum(nil)[:32]).Public().(ed25519.PublicKey)
	if got := k.PublicKey().Hex(); got != hex.EncodeToString(indep) {
		t.Fatalf("public key %s, independent computation %x", got, indep)
	}
	if got := k.PublicKey().Hex(); got != wantPub {
		t.Errorf("public key = %s, want %s", got, wantPub)
	}
	// Case and white space do not matter.
	k2, err := FromMnemonic("  " + strings.ToUpper(strings.ReplaceAll(m, " ", " \n\t")) + "\n")
	if err != nil || k2.PublicKey() != k.PublicKey() {
		t.Errorf("reformatted mnemonic: %v", err)
	}
	sig := k.Sign([]byte("hello"))
	if !k.PublicKey().Verify([]byte("hello"), sig) || k.PublicKey().Verify([]byte("hellO"), sig) {
		t.Error("sign/verify")
	}
}

func TestGenerate(t *testing.T) {
	k, m, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(m)); n != MnemonicWords {
		t.Fatalf("%d words", n)
	}
	k2, err := FromMnemonic(m)
	if err != nil || k2.PublicKey() != k.PublicKey() {
		t.Fatalf("restore: %v", err)
	}
	_, m2, _ := Generate()
	if m2 == m {
		t.Fatal("two mnemonics are equal")
	}
}

func TestFromMnemonicErrors(t *testing.T) {
	m := strings.Fields(strings.Repeat("abandon ", 23) + "art")
	swapped := slices.Clone(m)
	swapped[0], swapped[23] = swapped[23], swapped[0]
	for _, tc := range []struct{ in, want string }{
		{"", "it has 0 words, want 12 or 24"},
		{strings.Repeat("abandon ", 14) + "about", "it has 15 words, want 12 or 24"},
		{strings.Join(m[:23], " "), "it has 23 words"},
		{strings.Join(append(slices.Clone(m[:23]), "artt"), " "), `word 24, "artt", is not in the BIP-39 English word list; did you mean "art"?`},
		{strings.Repeat("abandon ", 4) + "abandn " + strings.Repeat("abandon ", 6) + "about", `word 5, "abandn", is not in the BIP-39 English word list; did you mean "abandon"?`},
		{strings.Repeat("abandon ", 2) + "qqqqq " + strings.Repeat("abandon ", 8) + "about", `word 3, "qqqqq", is not in the BIP-39 English word list`},
		{strings.Join(append(slices.Clone(m[:23]), "zoo"), " "), "checksum does not match"},
		{strings.Join(swapped, " "), "checksum does not match"},
		{strings.Repeat("abandon ", 11) + "zoo", "checksum does not match"},
	} {
		_, err := FromMnemonic(tc.in)
		if err == nil || !errors.Is(err, ErrBadMnemonic) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromMnemonic(%.40q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// A 12-word mnemonic restores as a 24-word one does: words → entropy (the
// BIP-39 vector) → seed → key, checked against go-bip39's seed and a
// direct HMAC.
func TestTwelveWords(t *testing.T) {
	const m = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
	e, err := mnemonicToEntropy(strings.Fields(m))
	if err != nil || hex.EncodeToString(e) != "00000000000000000000000000000000" {
		t.Fatalf("entropy %x, %v", e, err)
	}
	k, err := FromMnemonic(m)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha512.New, []byte("ed25519 seed"))
	mac.Write(bip39.NewSeed(m, ""))
	if want := ed25519.NewKeyFromSeed(mac.Sum(nil)[:32]).Public().(ed25519.PublicKey); k.PublicKey().Hex() != hex.EncodeToString(want) {
		t.Fatalf("public key %s, want %x", k.PublicKey().Hex(), want)
	}

	k12, m12, err := GenerateWords(12)
	if err != nil || len(strings.Fields(m12)) != 12 {
		t.Fatalf("GenerateWords(12): %q, %v", m12, err)
	}
	if back, err := FromMnemonic(m12); err != nil || back.PublicKey() != k12.PublicKey() {
		t.Fatalf("restore %q: %v", m12, err)
	}
	for _, n := range []int{0, 15, 18, 25} {
		if _, err := NewMnemonicWords(n); err == nil || !strings.Contains(err.Error(), "12 or 24 words") {
			t.Errorf("NewMnemonicWords(%d): %v, want an error", n, err)
		}
	}
}

func TestOneEdit(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"art", "artt", true}, {"art", "at", true}, {"art", "arm", true}, {"art", "rat", true}, {"art", "tar", false},
		{"able", "albe", true}, {"art", "art", false}, {"art", "about", false}, {"", "a", true},
	} {
		if got := oneEdit(tc.a, tc.b); got != tc.want {
			t.Errorf("oneEdit(%q, %q) = %v", tc.a, tc.b, got)
		}
		if got := oneEdit(tc.b, tc.a); got != tc.want {
			t.Errorf("oneEdit(%q, %q) = %v", tc.b, tc.a, got)
		}
	}
}
