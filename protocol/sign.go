package protocol

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/seed0ffb8d46/agora/keys"
)

// sign returns the Envelope of body signed by key for signedFor (none if
// nil) at now with uuid.
func sign(body []byte, key *keys.PrivateKey, signedFor *keys.PublicKey, now time.Time, uuid string) (*Envelope, error) {
	return signHash(sha256.Sum256(body), key, signedFor, now, uuid)
}

// signHash is sign for a body whose SHA-256 is bodyHash.
func signHash(bodyHash [sha256.Size]byte, key *keys.PrivateKey, signedFor *keys.PublicKey, now time.Time, uuid string) (*Envelope, error) {
	if key == nil {
		return nil, errors.New("protocol: sign: no key")
	}
	if !ValidUUID(uuid) {
		return nil, fmt.Errorf("protocol: sign: %q is not a lower-case UUID v4", uuid)
	}
	ms := now.UnixMilli()
	if ms < 0 {
		return nil, fmt.Errorf("protocol: sign: time %v is before 1970", now)
	}
	e := &Envelope{
		Timestamp:     ms,
		UUID:          uuid,
		SignedBy:      key.PublicKey(),
		BodySHA256:    bodyHash,
		HasBodySHA256: true,
		timestamp:     strconv.FormatInt(ms, 10),
		signedBy:      key.Address(),
	}
	if signedFor != nil {
		e.SignedFor, e.HasSignedFor, e.signedFor = *signedFor, true, signedFor.Address()
	}
	copy(e.Signature[:], key.Sign(e.Message(e.BodySHA256)))
	return e, nil
}

// Sign signs req with body as an Epistula v2 request from key to signedFor,
// at time now (sent in milliseconds) with the given uuid (a lower-case UUID
// v4; see NewUUID). It sets the Epistula headers, including the optional
// Epistula-Body-Sha256, and makes body req's body (Body, GetBody and
// ContentLength), replacing any body req had. Time and uuid are arguments so
// that tests are deterministic; Signer supplies them in production.
func Sign(req *http.Request, body []byte, key *keys.PrivateKey, signedFor keys.PublicKey, now time.Time, uuid string) error {
	e, err := sign(body, key, &signedFor, now, uuid)
	if err != nil {
		return err
	}
	e.setSignedHeader(req.Header)
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Body, _ = req.GetBody()
	if len(body) == 0 {
		req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	return nil
}

// Signer signs outgoing requests with one key, taking the time from Clock
// and uuids from Rand. It is safe for concurrent use if Rand is.
type Signer struct {
	// Key signs every request.
	Key *keys.PrivateKey
	// Clock returns the signing time; nil means time.Now.
	Clock func() time.Time
	// Rand supplies the uuids' randomness; nil means crypto/rand.Reader.
	Rand io.Reader
}

// NewRequest returns a request of method to url carrying body, signed for
// receiver: http.NewRequestWithContext followed by Sign with a fresh uuid.
// A request is good for one attempt only: a retry must be signed again,
// since the receiver accepts each uuid once.
func (s *Signer) NewRequest(ctx context.Context, method, url string, body []byte, receiver keys.PublicKey) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, fmt.Errorf("protocol: new request: %w", err)
	}
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	id, err := NewUUID(r)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if s.Clock != nil {
		now = s.Clock
	}
	if err := Sign(req, body, s.Key, receiver, now(), id); err != nil {
		return nil, err
	}
	return req, nil
}

// SignResponse signs a response body for the requester and sets the
// Epistula headers and Content-Length on w. It must be called before
// w.WriteHeader, and the caller must then write exactly body. The response
// carries the request's uuid (echoed, so the pair request+response is
// evidence of what key answered to which request), the time now and
// Signed-For = requester; its signed message has the same form as a
// request's. A Verified request provides both: SignResponse(w, body, key,
// vr.SignedBy, vr.UUID, now).
//
// Streaming responses, whose headers go out before the body is known, are
// signed in trailers instead: see StreamSigner.
func SignResponse(w http.ResponseWriter, body []byte, key *keys.PrivateKey, requester keys.PublicKey, uuid string, now time.Time) error {
	e, err := sign(body, key, &requester, now, uuid)
	if err != nil {
		return err
	}
	h := w.Header()
	e.setSignedHeader(h)
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	return nil
}

// SignReport signs the body of a response anyone may ask for, such as a
// validator's /scores, and sets the headers as SignResponse does. When req
// carries Epistula headers (a request made with Sign), the response echoes
// its uuid and is signed for its signer, so VerifyResponse tells the asker
// the answer is fresh and meant for it; the request's signature is not
// checked, since the report is public. Otherwise it is signed for nobody
// under a fresh uuid.
func SignReport(w http.ResponseWriter, req *http.Request, body []byte, key *keys.PrivateKey, now time.Time) error {
	var signedFor *keys.PublicKey
	var id string
	if e, err := ParseHeader(req.Header); err == nil {
		signedFor, id = &e.SignedBy, e.UUID
	} else if id, err = NewUUID(rand.Reader); err != nil {
		return err
	}
	e, err := sign(body, key, signedFor, now, id)
	if err != nil {
		return err
	}
	h := w.Header()
	e.setSignedHeader(h)
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	return nil
}

// VerifyResponse checks that resp, whose whole body the caller has read
// into body, was signed by expectedSigner, and returns its Envelope (with
// the signature, for keeping as evidence). It checks the headers' form, that
// Signed-By is expectedSigner (wrong_signer), the body hash header if sent
// (body_hash_mismatch) and the signature (bad_signature). If resp.Request
// carries Epistula headers, as it does for a request made with Sign, it also
// checks that the response echoes the request's uuid (uuid_mismatch) and is
// signed for the request's signer (wrong_receiver): a miner's signed answer
// to one request cannot be passed off as the answer to another, and no
// timestamp window is needed. The timestamp is returned, not checked. Every
// error is an *Error.
func VerifyResponse(resp *http.Response, body []byte, expectedSigner keys.PublicKey) (*Envelope, error) {
	e, err := verifyResponse(resp, body, expectedSigner)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// verifyResponse is VerifyResponse with the concrete error type.
func verifyResponse(resp *http.Response, body []byte, expectedSigner keys.PublicKey) (*Envelope, *Error) {
	h := resp.Header
	if len(h[HeaderSignature]) == 0 && len(resp.Trailer[HeaderSignature]) > 0 {
		h = resp.Trailer // a streamed response, signed by StreamSigner
	}
	e, err := parseHeader(h)
	if err != nil {
		return nil, err
	}
	if e.SignedBy != expectedSigner {
		return nil, reject(CodeWrongSigner, fmt.Sprintf("wrong signer: response signed by %s, want %s", e.SignedBy.Address(), expectedSigner.Address()))
	}
	if req := resp.Request; req != nil && len(req.Header[HeaderUUID]) == 1 {
		if id := req.Header[HeaderUUID][0]; e.UUID != id {
			return nil, reject(CodeUUIDMismatch, fmt.Sprintf("uuid mismatch: response is for uuid %s, request was %s", e.UUID, id))
		}
		if by := req.Header[HeaderSignedBy]; len(by) == 1 {
			requester, perr := keys.ParseAddress(by[0])
			if perr == nil && (!e.HasSignedFor || e.SignedFor != requester) {
				return nil, reject(CodeWrongReceiver, fmt.Sprintf("wrong receiver: response signed for %q, the request was signed by %s", e.signedFor, requester.Address()))
			}
		}
	}
	sum := sha256.Sum256(body)
	if e.HasBodySHA256 && sum != e.BodySHA256 {
		return nil, reject(CodeBodyHashMismatch, fmt.Sprintf("body hash mismatch: response body of %d bytes has sha256 %x, %s says %x", len(body), sum, HeaderBodySHA256, e.BodySHA256))
	}
	if !e.Verify(sum) {
		return nil, badSignature(e)
	}
	return e, nil
}
