package keys

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cosmos/go-bip39"
)

// MnemonicWords is the number of words of a new mnemonic by default: 256
// bits of entropy and an 8-bit checksum, 11 bits a word.
const MnemonicWords = 24

// ShortMnemonicWords is the other length a mnemonic may have: 128 bits of
// entropy and a 4-bit checksum, as many wallets write.
const ShortMnemonicWords = 12

// ErrBadMnemonic is wrapped by every error about a malformed mnemonic.
var ErrBadMnemonic = errors.New("keys: bad mnemonic")

// NewMnemonic returns a fresh 24-word BIP-39 English mnemonic from 256
// bits of crypto/rand entropy. Keep it secret: FromMnemonic turns it into
// the key.
func NewMnemonic() (string, error) { return NewMnemonicWords(MnemonicWords) }

// NewMnemonicWords returns a fresh BIP-39 English mnemonic of words words,
// MnemonicWords (256 bits of entropy) or ShortMnemonicWords (128 bits);
// any other count is an error.
func NewMnemonicWords(words int) (string, error) {
	if words != MnemonicWords && words != ShortMnemonicWords {
		return "", fmt.Errorf("keys: a mnemonic has %d or %d words, not %d", ShortMnemonicWords, MnemonicWords, words)
	}
	entropy := make([]byte, words*4/3)
	if _, err := rand.Read(entropy); err != nil {
		return "", fmt.Errorf("keys: read random entropy: %w", err)
	}
	return entropyToMnemonic(entropy)
}

// Generate returns a new random key and the 24-word mnemonic that restores
// it.
func Generate() (*PrivateKey, string, error) { return GenerateWords(MnemonicWords) }

// GenerateWords returns a new random key and the mnemonic of words words
// (see NewMnemonicWords) that restores it.
func GenerateWords(words int) (*PrivateKey, string, error) {
	m, err := NewMnemonicWords(words)
	if err != nil {
		return nil, "", err
	}
	k, err := FromMnemonic(m)
	return k, m, err
}

// FromMnemonic returns the key that the 12- or 24-word BIP-39 English
// mnemonic m backs up (derivation in the package documentation). Case and
// runs of white space do not matter. A mnemonic of the wrong length, with
// a word not in the list (the error names its position and, when one is
// close, the word probably meant) or with a wrong checksum is an error
// wrapping ErrBadMnemonic that names the problem.
func FromMnemonic(m string) (*PrivateKey, error) {
	words := strings.Fields(strings.ToLower(m))
	if len(words) != MnemonicWords && len(words) != ShortMnemonicWords {
		return nil, fmt.Errorf("%w: it has %d words, want %d or %d", ErrBadMnemonic, len(words), ShortMnemonicWords, MnemonicWords)
	}
	if _, err := mnemonicToEntropy(words); err != nil {
		return nil, err
	}
	seed, err := bip39Seed(strings.Join(words, " "), "")
	if err != nil {
		return nil, err
	}
	return NewPrivateKeyFromSeed(slip10MasterKey(seed))
}

// entropyToMnemonic encodes 16 to 32 bytes (a multiple of 4) of entropy as
// BIP-39 English words.
func entropyToMnemonic(entropy []byte) (string, error) {
	n := len(entropy)
	if n < 16 || n > 32 || n%4 != 0 {
		return "", fmt.Errorf("keys: BIP-39 entropy is %d bytes, want 16, 20, 24, 28 or 32", n)
	}
	sum := sha256.Sum256(entropy)
	bits := append(slices.Clone(entropy), sum[0]) // checksum: the first n/4 bits of the hash
	count := (n*8 + n/4) / 11
	words := make([]string, count)
	for i := range count {
		var idx int
		for b := i * 11; b < i*11+11; b++ {
			idx = idx<<1 | int(bits[b/8]>>(7-b%8)&1)
		}
		words[i] = bip39.EnglishWordList[idx]
	}
	return strings.Join(words, " "), nil
}

// mnemonicToEntropy decodes BIP-39 English words (lower case) into their
// entropy, checking the length, each word and the checksum.
func mnemonicToEntropy(words []string) ([]byte, error) {
	switch len(words) {
	case 12, 15, 18, 21, 24:
	default:
		return nil, fmt.Errorf("%w: it has %d words, want 12, 15, 18, 21 or 24", ErrBadMnemonic, len(words))
	}
	bits := make([]byte, (len(words)*11+7)/8)
	for i, w := range words {
		idx, ok := slices.BinarySearch(bip39.EnglishWordList, w)
		if !ok {
			return nil, fmt.Errorf("%w: word %d, %q, is not in the BIP-39 English word list%s", ErrBadMnemonic, i+1, w, suggestWord(w))
		}
		for j := range 11 {
			if idx>>(10-j)&1 == 1 {
				b := i*11 + j
				bits[b/8] |= 1 << (7 - b%8)
			}
		}
	}
	n := len(words) * 11 * 32 / 33 / 8 // entropy bytes
	entropy := bits[:n]
	csBits := n / 4
	sum := sha256.Sum256(entropy)
	got := bits[n] >> (8 - csBits)
	if want := sum[0] >> (8 - csBits); got != want {
		return nil, fmt.Errorf("%w: its checksum does not match: every word is in the list, so one is mistyped as another list word or two are out of order (the checksum cannot tell which)", ErrBadMnemonic)
	}
	return slices.Clone(entropy), nil
}

// bip39Seed is BIP-39's mnemonic-to-seed: PBKDF2-HMAC-SHA512 over the
// (already normalised, ASCII) mnemonic with salt "mnemonic"+passphrase,
// 2048 iterations, 64 bytes.
func bip39Seed(mnemonic, passphrase string) ([]byte, error) {
	seed, err := pbkdf2.Key(sha512.New, mnemonic, []byte("mnemonic"+passphrase), 2048, 64)
	if err != nil {
		return nil, fmt.Errorf("keys: BIP-39 seed: %w", err)
	}
	return seed, nil
}

// slip10MasterKey is SLIP-0010's ed25519 master private key of seed: the
// left half of HMAC-SHA512 keyed with "ed25519 seed".
func slip10MasterKey(seed []byte) []byte {
	mac := hmac.New(sha512.New, []byte("ed25519 seed"))
	mac.Write(seed)
	return mac.Sum(nil)[:32]
}

// suggestWord returns `; did you mean "x"?` for the list words a mistyped
// word w probably meant, or "" if none (or too many) are close: BIP-39
// English words are told apart by their first four letters, so a word
// sharing those with w is one, and so is a word one edit (a letter added,
// dropped or changed, or two adjacent letters swapped) away.
func suggestWord(w string) string {
	var close []string
	for _, c := range bip39.EnglishWordList {
		if len(w) >= 4 && strings.HasPrefix(c, w[:4]) || oneEdit(w, c) {
			close = append(close, c)
		}
	}
	if len(close) == 0 || len(close) > 3 {
		return ""
	}
	return `; did you mean "` + strings.Join(close, `" or "`) + `"?`
}

// oneEdit reports whether a and b differ by one letter added, dropped or
// changed, or by two adjacent letters swapped.
func oneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	switch len(b) - len(a) {
	case 0:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		if i == len(a) {
			return false // equal
		}
		if a[i+1:] == b[i+1:] {
			return true // one changed
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		return a[i:] == b[i+1:]
	}
	return false
}
