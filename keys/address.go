package keys

import (
	"errors"
	"fmt"
	"strings"
)

// AddressPrefix is the human-readable part of every Agora address.
const AddressPrefix = "agora"

// AddressLength is the length of an address in characters: the prefix,
// the separator "1", 52 characters of key and 6 of checksum.
const AddressLength = len(AddressPrefix) + 1 + (PublicKeySize*8+4)/5 + 6

// ErrBadAddress is wrapped by every error of ParseAddress.
var ErrBadAddress = errors.New("keys: bad address")

// encodeAddress returns the bech32m encoding of pk under AddressPrefix.
func encodeAddress(pk PublicKey) string {
	// convertBits(pk[:], 8, 5, true), into an array.
	var data [(PublicKeySize*8 + 4) / 5]byte
	var acc, bits uint
	n := 0
	for _, v := range pk {
		acc = acc<<8 | uint(v)
		bits += 8
		for bits >= 5 {
			bits -= 5
			data[n] = byte(acc >> bits & 31)
			n++
		}
	}
	if bits > 0 {
		data[n] = byte(acc << (5 - bits) & 31)
	}
	return bech32mEncode(AddressPrefix, data[:])
}

// ParseAddress returns the public key that address s encodes. s must be a
// bech32m string (BIP-350) with prefix AddressPrefix over exactly
// PublicKeySize bytes; it may be all upper case or all lower case. Any
// mistyped character makes it fail: the errors (which wrap ErrBadAddress)
// say whether the checksum, the prefix, the length or a character is wrong.
func ParseAddress(s string) (PublicKey, error) {
	var pk PublicKey
	fail := func(format string, args ...any) (PublicKey, error) {
		return pk, fmt.Errorf("%w %q: %s", ErrBadAddress, s, fmt.Sprintf(format, args...))
	}
	hrp, data, err := bech32mDecode(s)
	if err != nil {
		return fail("%v", err)
	}
	if hrp != AddressPrefix {
		return fail("prefix is %q, want %q", hrp, AddressPrefix)
	}
	b, err := convertBits(data, 5, 8, false)
	if err != nil {
		return fail("%v", err)
	}
	if len(b) != PublicKeySize {
		return fail("holds %d bytes, want a %d-byte public key", len(b), PublicKeySize)
	}
	copy(pk[:], b)
	return pk, nil
}

// bech32 (BIP-173) with the bech32m constant (BIP-350).

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

const (
	bech32Const  = 1          // BIP-173
	bech32mConst = 0x2bc830a3 // BIP-350
	bech32MaxLen = 90
)

// bech32Rev maps a byte to its value in bech32Charset, or -1.
var bech32Rev = func() (r [256]int8) {
	for i := range r {
		r[i] = -1
	}
	for i := range len(bech32Charset) {
		r[bech32Charset[i]] = int8(i)
	}
	return r
}()

// bech32Gen[t] is the XOR of BIP-173's generator terms selected by the five
// bits t that leave the checksum at each step.
var bech32Gen = func() (g [32]uint32) {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	for t := range g {
		for i := range 5 {
			if (t>>i)&1 == 1 {
				g[t] ^= gen[i]
			}
		}
	}
	return g
}()

// polymodStep feeds one 5-bit value v into the checksum chk.
func polymodStep(chk uint32, v byte) uint32 {
	return (chk&0x1ffffff)<<5 ^ uint32(v) ^ bech32Gen[chk>>25]
}

// polymodHRP is BIP-173's polymod of the expanded hrp (the high bits of
// each character, a zero, the low bits) followed by data.
func polymodHRP(hrp string, data []byte) uint32 {
	chk := uint32(1)
	for i := range len(hrp) {
		chk = polymodStep(chk, hrp[i]>>5)
	}
	chk = polymodStep(chk, 0)
	for i := range len(hrp) {
		chk = polymodStep(chk, hrp[i]&31)
	}
	for _, v := range data {
		chk = polymodStep(chk, v)
	}
	return chk
}

// bech32mEncode returns hrp, "1", data (5-bit values) and the bech32m
// checksum, in lower case. hrp must be lower case.
func bech32mEncode(hrp string, data []byte) string {
	mod := polymodHRP(hrp, data)
	for range 6 {
		mod = polymodStep(mod, 0)
	}
	mod ^= bech32mConst
	var sb strings.Builder
	sb.Grow(len(hrp) + 1 + len(data) + 6)
	sb.WriteString(hrp)
	sb.WriteByte('1')
	for _, d := range data {
		sb.WriteByte(bech32Charset[d])
	}
	for i := range 6 {
		sb.WriteByte(bech32Charset[(mod>>(5*(5-i)))&31])
	}
	return sb.String()
}

// bech32mDecode splits a bech32m string into its lower-case hrp and its
// 5-bit data values (without the checksum), checking every rule of BIP-173
// and the bech32m checksum of BIP-350.
func bech32mDecode(s string) (string, []byte, error) {
	if len(s) > bech32MaxLen {
		return "", nil, fmt.Errorf("%d characters, more than %d", len(s), bech32MaxLen)
	}
	var lower, upper bool
	for i := range len(s) {
		c := s[i]
		switch {
		case c < 33 || c > 126:
			return "", nil, fmt.Errorf("character %d (%q) is not printable ASCII", i+1, c)
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		}
	}
	if lower && upper {
		return "", nil, errors.New("mixes upper and lower case")
	}
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	switch {
	case sep < 0:
		return "", nil, errors.New(`no "1" separator`)
	case sep == 0:
		return "", nil, errors.New("empty prefix")
	case len(s)-sep-1 < 6 && strings.IndexByte(s, '1') < sep:
		// The data part never holds a "1", so this "1" is a mistyped
		// character of it, not the separator (an earlier "1" is).
		return "", nil, fmt.Errorf("character %d (%q) is not in the bech32 alphabet, so the checksum is wrong (mistyped?)", sep+1, s[sep])
	case len(s)-sep-1 < 6:
		return "", nil, errors.New("too short for a checksum")
	}
	hrp := s[:sep]
	data := make([]byte, 0, len(s)-sep-1)
	for i := sep + 1; i < len(s); i++ {
		d := bech32Rev[s[i]]
		if d < 0 {
			return "", nil, fmt.Errorf("character %d (%q) is not in the bech32 alphabet", i+1, s[i])
		}
		data = append(data, byte(d))
	}
	switch polymodHRP(hrp, data) {
	case bech32mConst:
	case bech32Const:
		return "", nil, errors.New("has a bech32 checksum, want bech32m")
	default:
		return "", nil, errors.New("checksum is wrong (mistyped?)")
	}
	return hrp, data[:len(data)-6], nil
}

// convertBits regroups data from fromBits-bit values into toBits-bit values
// (BIP-173's convertbits). Without pad, leftover bits must be fewer than
// fromBits and zero.
func convertBits(data []byte, fromBits, toBits uint, pad bool) ([]byte, error) {
	var acc, bits uint
	maxv := uint(1)<<toBits - 1
	out := make([]byte, 0, len(data)*int(fromBits)/int(toBits)+1)
	for _, v := range data {
		if uint(v)>>fromBits != 0 {
			return nil, fmt.Errorf("value %d does not fit in %d bits", v, fromBits)
		}
		acc = acc<<fromBits | uint(v)
		bits += fromBits
		for bits >= toBits {
			bits -= toBits
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(toBits-bits)&maxv))
		}
	} else if bits >= fromBits {
		return nil, errors.New("has excess padding")
	} else if acc<<(toBits-bits)&maxv != 0 {
		return nil, errors.New("has non-zero padding bits")
	}
	return out, nil
}
