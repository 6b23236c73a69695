package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/seed0ffb8d46/agora/keys"
)

// The Epistula v2 headers, in canonical MIME form. Requests and responses
// carry the same set.
const (
	HeaderVersion   = "Epistula-Version"
	HeaderTimestamp = "Epistula-Timestamp"
	HeaderUUID      = "Epistula-Uuid"
	HeaderSignedBy  = "Epistula-Signed-By"
	HeaderSignedFor = "Epistula-Signed-For"
	HeaderSignature = "Epistula-Request-Signature"
	// HeaderBodySHA256 is Agora's extension: the hex SHA-256 of the body,
	// the same value that the signed message starts with. It adds no trust
	// (the signature covers it); it lets a verifier check the signature
	// before reading the body and tell a changed body (body_hash_mismatch)
	// from a bad signature. A Verifier requires it on requests; on
	// responses it is optional.
	HeaderBodySHA256 = "Epistula-Body-Sha256"
)

// Version is the only Epistula-Version this package signs and accepts.
const Version = "2"

// maxTimestampDigits bounds Epistula-Timestamp: 13 digits reach the year
// 2286 in milliseconds; more would be a malformed or hostile value.
const maxTimestampDigits = 13

// Envelope is the parsed Epistula header set of one request or response:
// everything except the body. ParseHeader checks the form of every field
// but no signature, time or policy.
type Envelope struct {
	// Timestamp is milliseconds since the Unix epoch, as the signer claimed.
	Timestamp int64
	// UUID is the request's UUID v4 in canonical lower-case form.
	UUID string
	// SignedBy is the key the signature must verify under.
	SignedBy keys.PublicKey
	// SignedFor is the intended receiver; meaningful only if HasSignedFor.
	SignedFor keys.PublicKey
	// HasSignedFor is false when Epistula-Signed-For was absent or empty.
	HasSignedFor bool
	// Signature is the ed25519 signature of Message.
	Signature [keys.SignatureSize]byte
	// BodySHA256 is the Epistula-Body-Sha256 extension; meaningful only if
	// HasBodySHA256.
	BodySHA256    [sha256.Size]byte
	HasBodySHA256 bool

	// timestamp and signedFor are the header strings as sent: the signed
	// message holds them verbatim.
	timestamp, signedFor string
	// signedBy is SignedBy's address when this package signed e, for
	// writing the headers without encoding it again; "" otherwise.
	signedBy string
}

// Message returns the bytes that Epistula v2 signs for a body whose SHA-256
// is bodyHash: hex(bodyHash) + "." + uuid + "." + timestamp + "." +
// signed_for, with the timestamp and signed_for exactly as sent (signed_for
// empty if absent).
func (e *Envelope) Message(bodyHash [sha256.Size]byte) []byte {
	return message(bodyHash, e.UUID, e.timestamp, e.signedFor)
}

// message builds the signed message in one allocation.
func message(bodyHash [sha256.Size]byte, uuid, timestamp, signedFor string) []byte {
	m := make([]byte, 0, 2*sha256.Size+3+len(uuid)+len(timestamp)+len(signedFor))
	m = hex.AppendEncode(m, bodyHash[:])
	m = append(m, '.')
	m = append(m, uuid...)
	m = append(m, '.')
	m = append(m, timestamp...)
	m = append(m, '.')
	m = append(m, signedFor...)
	return m
}

// Verify reports whether e's signature is SignedBy's signature of the
// message for a body whose SHA-256 is bodyHash.
func (e *Envelope) Verify(bodyHash [sha256.Size]byte) bool {
	return e.SignedBy.Verify(e.Message(bodyHash), e.Signature[:])
}

// SetHeader writes e into h in canonical form, replacing any Epistula
// headers there: the inverse of ParseHeader.
func (e *Envelope) SetHeader(h http.Header) {
	h[HeaderVersion] = []string{Version}
	h[HeaderTimestamp] = []string{strconv.FormatInt(e.Timestamp, 10)}
	h[HeaderUUID] = []string{e.UUID}
	h[HeaderSignedBy] = []string{e.SignedBy.Address()}
	if e.HasSignedFor {
		h[HeaderSignedFor] = []string{e.SignedFor.Address()}
	} else {
		delete(h, HeaderSignedFor)
	}
	h[HeaderSignature] = []string{hex.EncodeToString(e.Signature[:])}
	if e.HasBodySHA256 {
		h[HeaderBodySHA256] = []string{hex.EncodeToString(e.BodySHA256[:])}
	} else {
		delete(h, HeaderBodySHA256)
	}
}

// setSignedHeader is SetHeader for an envelope that signHash made, whose
// timestamp and address strings are already in canonical form: the same
// headers, without encoding them again and with one allocation for the
// seven value slices.
func (e *Envelope) setSignedHeader(h http.Header) {
	vals := [...]string{
		Version, e.timestamp, e.UUID, e.signedBy, e.signedFor,
		hex.EncodeToString(e.Signature[:]), hex.EncodeToString(e.BodySHA256[:]),
	}
	s := vals[:]
	one := func(i int) []string { return s[i : i+1 : i+1] }
	h[HeaderVersion] = one(0)
	h[HeaderTimestamp] = one(1)
	h[HeaderUUID] = one(2)
	h[HeaderSignedBy] = one(3)
	if e.HasSignedFor {
		h[HeaderSignedFor] = one(4)
	} else {
		delete(h, HeaderSignedFor)
	}
	h[HeaderSignature] = one(5)
	h[HeaderBodySHA256] = one(6)
}

// single returns the one value of header k. A header that is absent (or
// empty, when required) is missing_header; one sent twice is
// malformed_header, since which copy was signed would be ambiguous.
func single(h http.Header, k string, required bool) (string, *Error) {
	vs := h[k]
	switch {
	case len(vs) > 1:
		return "", reject(CodeMalformedHeader, fmt.Sprintf("header %s: sent %d times, want once", k, len(vs)))
	case (len(vs) == 0 || vs[0] == "") && required:
		return "", reject(CodeMissingHeader, fmt.Sprintf("header %s: missing", k))
	case len(vs) == 0:
		return "", nil
	}
	return vs[0], nil
}

// malformed returns the malformed_header error for header k.
func malformed(k, format string, args ...any) *Error {
	return reject(CodeMalformedHeader, fmt.Sprintf("header %s: ", k)+fmt.Sprintf(format, args...))
}

// quote shortens an untrusted header value for an error message.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}

// ParseHeader reads the Epistula v2 headers of h and checks their form, in
// this order: a signature header is present (else unsigned, or
// bad_version if a version is sent but no signature); the version is "2"; every required header (all but
// Epistula-Signed-For and Epistula-Body-Sha256) is present exactly once;
// the timestamp is a decimal integer of at most 13 digits without sign or
// leading zero; the uuid is a canonical lower-case UUID v4; Signed-By and a
// non-empty Signed-For are agora1 addresses; the signature is 128 hex
// digits (an "0x" prefix, which the Epistula reference clients send, is
// accepted); the body hash, if sent, is 64 lower-case hex digits. Errors
// are *Error with code unsigned, bad_version, missing_header or
// malformed_header and
// name the header. ParseHeader never panics, whatever h holds.
func ParseHeader(h http.Header) (*Envelope, error) {
	e, err := parseHeader(h)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// parseHeader is ParseHeader returning the concrete error type, so callers
// in this package avoid a nil-interface trap.
func parseHeader(h http.Header) (*Envelope, *Error) {
	return parseHeaderWith(h, keys.ParseAddress)
}

// parseHeaderWith is parseHeader reading the Signed-By and Signed-For
// addresses with parseAddress, which must return what keys.ParseAddress
// returns for every string (a Verifier's remembers the strings it has
// decoded before).
func parseHeaderWith(h http.Header, parseAddress func(string) (keys.PublicKey, error)) (*Envelope, *Error) {
	if len(h[HeaderSignature]) == 0 || h[HeaderSignature][0] == "" {
		if len(h[HeaderVersion]) == 0 {
			return nil, reject(CodeUnsigned, fmt.Sprintf("unsigned: no %s or %s header", HeaderVersion, HeaderSignature))
		}
	}
	ver, err := single(h, HeaderVersion, true)
	if err != nil {
		if err.Code == CodeMissingHeader {
			return nil, reject(CodeBadVersion, fmt.Sprintf("header %s: missing, want %q", HeaderVersion, Version))
		}
		return nil, err
	}
	if ver != Version {
		return nil, reject(CodeBadVersion, fmt.Sprintf("header %s: %s, want %q", HeaderVersion, quote(ver), Version))
	}
	var vals [5]string
	for i, k := range [...]string{HeaderTimestamp, HeaderUUID, HeaderSignedBy, HeaderSignature} {
		if vals[i], err = single(h, k, true); err != nil {
			if k == HeaderSignature && err.Code == CodeMissingHeader {
				return nil, reject(CodeUnsigned, fmt.Sprintf("unsigned: header %s missing", HeaderSignature))
			}
			return nil, err
		}
	}
	if vals[4], err = single(h, HeaderSignedFor, false); err != nil {
		return nil, err
	}
	bodyHash, err := single(h, HeaderBodySHA256, false)
	if err != nil {
		return nil, err
	}
	ts, id, by, sig, forS := vals[0], vals[1], vals[2], vals[3], vals[4]

	e := &Envelope{UUID: id, timestamp: ts, signedFor: forS}
	if e.Timestamp, err = parseTimestamp(ts); err != nil {
		return nil, err
	}
	if !ValidUUID(id) {
		return nil, malformed(HeaderUUID, "%s is not a lower-case UUID v4 (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)", quote(id))
	}
	pk, perr := parseAddress(by)
	if perr != nil {
		return nil, malformed(HeaderSignedBy, "%s is not an address: %v", quote(by), perr)
	}
	e.SignedBy = pk
	if forS != "" {
		pk, perr := parseAddress(forS)
		if perr != nil {
			return nil, malformed(HeaderSignedFor, "%s is not an address: %v", quote(forS), perr)
		}
		e.SignedFor, e.HasSignedFor = pk, true
	}
	sigHex := strings.TrimPrefix(sig, "0x")
	if len(sigHex) != 2*keys.SignatureSize {
		return nil, malformed(HeaderSignature, "%d hex digits, want %d", len(sigHex), 2*keys.SignatureSize)
	}
	if _, herr := hex.Decode(e.Signature[:], []byte(sigHex)); herr != nil {
		return nil, malformed(HeaderSignature, "not hex: %v", herr)
	}
	if bodyHash != "" {
		if len(bodyHash) != 2*sha256.Size || !isLowerHex(bodyHash) {
			return nil, malformed(HeaderBodySHA256, "%s is not %d lower-case hex digits", quote(bodyHash), 2*sha256.Size)
		}
		_, _ = hex.Decode(e.BodySHA256[:], []byte(bodyHash)) // checked above
		e.HasBodySHA256 = true
	}
	return e, nil
}

// parseTimestamp parses a canonical non-negative decimal millisecond count.
func parseTimestamp(s string) (int64, *Error) {
	if len(s) > maxTimestampDigits || (len(s) > 1 && s[0] == '0') {
		return 0, malformed(HeaderTimestamp, "%s is not milliseconds since the epoch (at most %d digits, no leading zero)", quote(s), maxTimestampDigits)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, malformed(HeaderTimestamp, "%s is not a decimal integer of milliseconds", quote(s))
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// isLowerHex reports whether s is all lower-case hex digits.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ValidUUID reports whether s is a UUID version 4 (RFC 9562) in canonical
// lower-case form: 36 characters, hyphens at 8, 13, 18 and 23, version
// digit 4 and variant digit 8, 9, a or b.
func ValidUUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	if s[14] != '4' || (s[19] != '8' && s[19] != '9' && s[19] != 'a' && s[19] != 'b') {
		return false
	}
	return isLowerHex(s[:8]) && isLowerHex(s[9:13]) && isLowerHex(s[14:18]) && isLowerHex(s[19:23]) && isLowerHex(s[24:])
}

// uuidBytes returns the 16 bytes of a string that ValidUUID accepted.
func uuidBytes(s string) (b [16]byte) {
	hex.Decode(b[0:4], []byte(s[0:8]))
	hex.Decode(b[4:6], []byte(s[9:13]))
	hex.Decode(b[6:8], []byte(s[14:18]))
	hex.Decode(b[8:10], []byte(s[19:23]))
	hex.Decode(b[10:16], []byte(s[24:36]))
	return b
}

// NewUUID returns a fresh UUID v4 from 16 bytes of rand, which callers pass
// as crypto/rand.Reader in production and a fixed reader in tests.
func NewUUID(rand io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("protocol: new uuid: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:]), nil
}
