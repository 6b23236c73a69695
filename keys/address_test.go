package keys

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// BIP-350's test vectors for bech32m checksums.
var bech32mValid = []string{
	"A1LQFN3A",
	"a1lqfn3a",
	"an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
	"abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
	"11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
	"split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
	"?1v759aa",
}

var bech32mInvalid = []struct{ in, why string }{
	{"\x201xj0phk", "HRP character out of range"},
	{"\x7f1g6xzxy", "HRP character out of range"},
	{"\x801vctc34", "HRP character out of range"},
	{"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4", "overall max length exceeded"},
	{"qyrz8wqd2c9m", "no separator character"},
	{"1qyrz8wqd2c9m", "empty HRP"},
	{"y1b0jsk6g", "invalid data character"},
	{"lt1igcx5c0", "invalid data character"},
	{"in1muywd", "too short checksum"},
	{"mm1crxm3i", "invalid character in checksum"},
	{"au1s5cgom", "invalid character in checksum"},
	{"M1VUXWEZ", "checksum calculated with uppercase form of HRP"},
	{"16plkw9", "empty HRP"},
	{"1p2gdwpf", "empty HRP"},
}

func TestBech32mVectors(t *testing.T) {
	for _, s := range bech32mValid {
		hrp, data, err := bech32mDecode(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if got := bech32mEncode(hrp, data); got != strings.ToLower(s) {
			t.Errorf("%q: re-encodes as %q", s, got)
		}
		// Every single-character change is caught.
		for i := range len(s) {
			if s[i] == '1' && i == strings.LastIndexByte(s, '1') {
				continue
			}
			b := []byte(strings.ToLower(s))
			b[i] = map[bool]byte{true: 'q', false: 'p'}[b[i] != 'q']
			if _, _, err := bech32mDecode(string(b)); err == nil {
				t.Errorf("%q with character %d changed: accepted", s, i)
			}
		}
	}
	for _, tc := range bech32mInvalid {
		if hrp, _, err := bech32mDecode(tc.in); err == nil {
			t.Errorf("%q (%s): accepted, hrp %q", tc.in, tc.why, hrp)
		}
	}
	// A valid bech32 (BIP-173, not m) string is refused by name.
	if _, _, err := bech32mDecode("a12uel5l"); err == nil || !strings.Contains(err.Error(), "bech32 checksum") {
		t.Errorf("bech32 string: err = %v", err)
	}
}

func TestAddressRoundTrip(t *testing.T) {
	for _, pk := range []PublicKey{{}, bytes32(0xff), bytes32(0x5a)} {
		a := pk.Address()
		if len(a) != AddressLength || !strings.HasPrefix(a, AddressPrefix+"1") {
			t.Errorf("%x: address %q, want %d characters starting agora1", pk, a, AddressLength)
		}
		for _, s := range []string{a, strings.ToUpper(a)} {
			got, err := ParseAddress(s)
			if err != nil || got != pk {
				t.Errorf("ParseAddress(%q) = %x, %v; want %x", s, got, err, pk)
			}
		}
	}
}

// A fixed key has a fixed address: the format must never change. (Also
// computed with the Python reference code of BIP-350.)
func TestAddressFixed(t *testing.T) {
	var pk PublicKey
	for i := range pk {
		pk[i] = byte(i)
	}
	const want = "agora1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0s6cnrt6"
	if got := pk.Address(); got != want {
		t.Errorf("address = %s, want %s", got, want)
	}
}

func TestParseAddressErrors(t *testing.T) {
	good := bytes32(7).Address()
	swap := []byte(good)
	swap[10], swap[11] = swap[11], swap[10]
	typo := []byte(good)
	typo[20] = map[bool]byte{true: 'q', false: 'p'}[typo[20] != 'q']
	var short [20]byte
	d20, _ := convertBits(short[:], 8, 5, true)
	var long [33]byte
	d33, _ := convertBits(long[:], 8, 5, true)
	d32, _ := convertBits(make([]byte, 32), 8, 5, true)
	for _, tc := range []struct{ in, want string }{
		{"", `no "1" separator`},
		{string(typo), "checksum is wrong"},
		{string(swap), "checksum is wrong"},
		{good[:len(good)-1], "checksum is wrong"},
		{good + "q", "checksum is wrong"},
		// A last character mistyped as "1", which the alphabet lacks.
		{good[:len(good)-1] + "1", "checksum is wrong"},
		{good[:len(good)-3] + "1qq", "checksum is wrong"},
		{strings.ToUpper(good[:10]) + good[10:], "mixes upper and lower case"},
		{strings.Replace(good, "q", "b", 1), "not in the bech32 alphabet"},
		{bech32mEncode("cosmos", d32), `prefix is "cosmos", want "agora"`},
		{bech32mEncode("agora", d20), "holds 20 bytes, want a 32-byte public key"},
		{bech32mEncode("agora", d33), "holds 33 bytes"},
		{bech32mEncode("agora", append(d32[:len(d32)-1:len(d32)-1], 1)), "non-zero padding bits"},
		{"agora1 " + good[6:], "not printable ASCII"},
	} {
		_, err := ParseAddress(tc.in)
		if err == nil || !errors.Is(err, ErrBadAddress) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseAddress(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func bytes32(b byte) PublicKey {
	var pk PublicKey
	copy(pk[:], bytes.Repeat([]byte{b}, PublicKeySize))
	return pk
}

// naivePolymod is BIP-173's reference polymod, bit by bit, over the
// expanded hrp and data.
func naivePolymod(hrp string, data []byte) uint32 {
	var values []byte
	for i := range len(hrp) {
		values = append(values, hrp[i]>>5)
	}
	values = append(values, 0)
	for i := range len(hrp) {
		values = append(values, hrp[i]&31)
	}
	values = append(values, data...)
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

// The table-driven checksum and the array-based address encoding agree
// with the reference checksum and convertBits.
func TestPolymodAndEncodeMatchReference(t *testing.T) {
	for i := range 300 {
		var pk PublicKey
		for j := range pk {
			pk[j] = byte(i*31 + j*7 + i*j)
		}
		data, err := convertBits(pk[:], 8, 5, true)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := polymodHRP(AddressPrefix, data), naivePolymod(AddressPrefix, data); got != want {
			t.Fatalf("polymod of %x: %#x, reference %#x", pk, got, want)
		}
		withZeros := append(append([]byte(nil), data...), 0, 0, 0, 0, 0, 0)
		want := AddressPrefix + "1"
		for _, d := range data {
			want += string(bech32Charset[d])
		}
		mod := naivePolymod(AddressPrefix, withZeros) ^ bech32mConst
		for k := range 6 {
			want += string(bech32Charset[(mod>>(5*(5-k)))&31])
		}
		if got := pk.Address(); got != want {
			t.Fatalf("Address of %x = %s, reference %s", pk, got, want)
		}
		if back, err := ParseAddress(want); err != nil || back != pk {
			t.Fatalf("ParseAddress(%s) = %x, %v", want, back, err)
		}
	}
}
