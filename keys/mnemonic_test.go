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
		{"", "it has 0 words, want 24"},
		{"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "it has 12 words, want 24"},
		{strings.Join(m[:23], " "), "it has 23 words"},
		{strings.Join(append(slices.Clone(m[:23]), "artt"), " "), `word 24, "artt", is not in the BIP-39 English word list`},
		{strings.Join(append(slices.Clone(m[:23]), "zoo"), " "), "checksum does not match"},
		{strings.Join(swapped, " "), "checksum does not match"},
	} {
		_, err := FromMnemonic(tc.in)
		if err == nil || !errors.Is(err, ErrBadMnemonic) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromMnemonic(%.40q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}
