package protocol

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/seed0ffb8d46/agora/keys"
)

// Defaults of Config.
const (
	// DefaultPastWindow is how old a signed timestamp may be: Macrocosmos'
	// Epistula receivers use 8 s, enough for a validator's signing, queueing
	// and a slow network, short enough to keep the replay cache small.
	DefaultPastWindow = 8 * time.Second
	// DefaultFutureWindow is how far ahead of the receiver's clock a signed
	// timestamp may be: clock skew only, since no honest request is sent
	// before it is signed.
	DefaultFutureWindow = 2 * time.Second
	// DefaultMaxBody is the default body limit, 1 MiB: a chat completion
	// request with a long context fits many times over.
	DefaultMaxBody = 1 << 20
	// DefaultMaxReplayEntries bounds the replay cache: about 25 MiB when
	// full, 32 768 requests a second sustained over an 8 s window.
	DefaultMaxReplayEntries = 1 << 18
	// maxSigners bounds the signers a Verifier keeps expanded keys for:
	// about 1.6 MiB when full, more than a subnet's validators.
	maxSigners = 1024
)

// AllowFunc decides whether signer may call the receiver. It returns nil to
// allow and an error saying why not otherwise; a plain error becomes a 403
// not_allowed rejection with its text, an *Error is passed on as it is (for
// example a 503 while the metagraph is not loaded). It must be safe for
// concurrent use and fast: it runs on every request before its body is read.
type AllowFunc func(signer keys.PublicKey) error

// AllowAll is an AllowFunc that allows every signer, for endpoints open to
// anyone with a key and for tests. A miner never uses it.
func AllowAll(keys.PublicKey) error { return nil }

// Config configures a Verifier. Receiver and Allowed are required; the other
// fields have defaults when zero.
type Config struct {
	// Receiver is this server's key: requests must be signed for it.
	Receiver keys.PublicKey
	// Allowed decides which signers may call; see AllowFunc.
	Allowed AllowFunc
	// Admit, if set, is asked about a request that passed every check,
	// just before its uuid is remembered, with its errors treated as
	// Allowed's (typically RateLimited). A per-signer rate limit belongs
	// here: after the signature, so that nobody can spend another signer's
	// allowance, and before the uuid is stored, so that one allowed signer
	// cannot fill the replay cache and lock the others out.
	Admit AllowFunc
	// PastWindow is how old a timestamp may be; default DefaultPastWindow.
	PastWindow time.Duration
	// FutureWindow is how far ahead a timestamp may be; default
	// DefaultFutureWindow.
	FutureWindow time.Duration
	// MaxBody is the largest body accepted, in bytes; default
	// DefaultMaxBody. No more than MaxBody+1 bytes are ever read.
	MaxBody int64
	// MaxReplayEntries bounds the uuids remembered at once; default
	// DefaultMaxReplayEntries. When full of live entries, new requests are
	// refused with 503 replay_cache_full rather than old uuids forgotten.
	MaxReplayEntries int
	// Clock returns the current time; default time.Now.
	Clock func() time.Time
}

// Verifier checks Epistula v2 signed requests for one receiver and
// remembers the uuids it accepted, so none is accepted twice within the
// window. It also keeps the keys of up to 1024 signers it accepted,
// precomputed (keys.ExpandedPublicKey), which makes checking their next
// signatures cheaper without changing any answer. It is safe for
// concurrent use.
type Verifier struct {
	receiver     keys.PublicKey
	receiverAddr string // receiver.Address()
	allowed      AllowFunc
	admit        AllowFunc
	past, future int64 // milliseconds
	maxBody      int64
	clock        func() time.Time
	replay       *replayCache
	signers      signerCache
}

// NewVerifier returns a Verifier for cfg, or an error if cfg has no Receiver
// or Allowed or a negative value.
func NewVerifier(cfg Config) (*Verifier, error) {
	switch {
	case cfg.Receiver == keys.PublicKey{}:
		return nil, errors.New("protocol: verifier: no receiver key")
	case cfg.Allowed == nil:
		return nil, errors.New("protocol: verifier: no Allowed function (use AllowAll to allow every signer)")
	case cfg.PastWindow < 0 || cfg.FutureWindow < 0 || cfg.MaxBody < 0 || cfg.MaxReplayEntries < 0:
		return nil, errors.New("protocol: verifier: negative window, body limit or replay cache size")
	}
	v := &Verifier{
		receiver:     cfg.Receiver,
		receiverAddr: cfg.Receiver.Address(),
		allowed:      cfg.Allowed,
		admit:        cfg.Admit,
		past:         cmp(cfg.PastWindow, DefaultPastWindow).Milliseconds(),
		future:       cmp(cfg.FutureWindow, DefaultFutureWindow).Milliseconds(),
		maxBody:      cmp(cfg.MaxBody, DefaultMaxBody),
		clock:        cfg.Clock,
		replay:       newReplayCache(cmp(cfg.MaxReplayEntries, DefaultMaxReplayEntries)),
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	return v, nil
}

// cmp returns v, or def if v is zero.
func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Verified is a request that passed every check.
type Verified struct {
	// Envelope holds the request's parsed Epistula headers.
	Envelope
	// Body is the whole request body, at most MaxBody bytes. The verifier
	// does not keep it.
	Body []byte
}

// Signer returns the key that signed the request.
func (r *Verified) Signer() keys.PublicKey { return r.SignedBy }

// Verify checks the Epistula v2 signed request r and returns its signer and
// body. It reads r.Body (at most MaxBody+1 bytes) but does not close it.
// Checks run cheapest and most selective first, and everything that needs
// no body runs before a byte of it is read:
//
//  1. the headers' form (ParseHeader): unsigned, bad_version,
//     missing_header, malformed_header;
//  2. the timestamp is within [now-PastWindow, now+FutureWindow]:
//     stale_timestamp, future_timestamp;
//  3. Signed-For is the receiver: wrong_receiver (an absent Signed-For too,
//     since a request signed for nobody could be relayed to anyone);
//  4. Allowed(signer): not_allowed or Allowed's own *Error;
//  5. the (signer, uuid) pair was not accepted before: replayed_uuid;
//  6. the Epistula-Body-Sha256 header is sent (missing_header, 400), and
//     the signature over it verifies (bad_signature), so a forged request
//     with a valid-looking address costs one ed25519 verification and no
//     body read;
//  7. a Content-Length above MaxBody, then the body itself read through a
//     MaxBody+1 limit: body_too_large, body_read;
//  8. the body's SHA-256 against the header: body_hash_mismatch;
//  9. recording the pair, insert-if-absent under a lock: replayed_uuid for
//     all but the first of concurrent duplicates, replay_cache_full.
//
// The pair is recorded last, once the signature is known good, so nobody
// but the signer can use up a uuid: an attacker who copies a uuid into a
// request with a bad signature or a changed body leaves it usable. Step 5
// only rejects early what step 9 would reject anyway.
//
// Every error is an *Error.
func (v *Verifier) Verify(r *http.Request) (*Verified, error) {
	vr, err := v.verify(r)
	if err != nil {
		return nil, err
	}
	return vr, nil
}

// verify is Verify with the concrete error type.
func (v *Verifier) verify(r *http.Request) (*Verified, *Error) {
	e, err := parseHeaderWith(r.Header, v.parseAddress)
	if err != nil {
		return nil, err
	}
	// parseHeaderWith saw exactly one Signed-By value; x is its key,
	// expanded, if an earlier request from it passed.
	by := r.Header[HeaderSignedBy][0]
	x := v.signers.get(by)
	now := v.clock().UnixMilli()
	switch {
	case e.Timestamp < now-v.past:
		return nil, reject(CodeStaleTimestamp, fmt.Sprintf("timestamp %d is %d ms old, more than the %d ms allowed", e.Timestamp, now-e.Timestamp, v.past))
	case e.Timestamp > now+v.future:
		return nil, reject(CodeFutureTimestamp, fmt.Sprintf("timestamp %d is %d ms in the future, more than the %d ms allowed", e.Timestamp, e.Timestamp-now, v.future))
	}
	if !e.HasSignedFor {
		return nil, reject(CodeWrongReceiver, fmt.Sprintf("wrong receiver: %s is empty; this receiver takes only requests signed for %s", HeaderSignedFor, v.receiver.Address()))
	}
	if e.SignedFor != v.receiver {
		return nil, reject(CodeWrongReceiver, fmt.Sprintf("wrong receiver: signed for %s, this receiver is %s", e.SignedFor.Address(), v.receiver.Address()))
	}
	if aerr := v.allowed(e.SignedBy); aerr != nil {
		var pe *Error
		if errors.As(aerr, &pe) {
			return nil, pe
		}
		return nil, reject(CodeNotAllowed, fmt.Sprintf("signer %s not allowed: %v", e.SignedBy.Address(), aerr))
	}
	key := replayKey{signer: e.SignedBy, uuid: uuidBytes(e.UUID)}
	if v.replay.seen(key, now) {
		return nil, replayed(e)
	}
	if !e.HasBodySHA256 {
		return nil, reject(CodeMissingHeader, fmt.Sprintf("header %s: missing; this receiver checks the signature before it reads a body, so requests must send the hex sha256 of the body that the signed message starts with", HeaderBodySHA256))
	}
	if !verifySig(e, x, e.BodySHA256) {
		return nil, badSignature(e)
	}

	body, err := v.readBody(r)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(body); sum != e.BodySHA256 {
		return nil, reject(CodeBodyHashMismatch, fmt.Sprintf("body hash mismatch: body of %d bytes has sha256 %x, %s says %x", len(body), sum, HeaderBodySHA256, e.BodySHA256))
	}

	if v.admit != nil {
		if aerr := v.admit(e.SignedBy); aerr != nil {
			var pe *Error
			if errors.As(aerr, &pe) {
				return nil, pe
			}
			return nil, reject(CodeNotAllowed, fmt.Sprintf("signer %s not admitted: %v", e.SignedBy.Address(), aerr))
		}
	}
	if aerr := v.replay.add(key, e.Timestamp+v.past, now); aerr != nil {
		if aerr.Code == CodeReplayedUUID {
			return nil, replayed(e)
		}
		return nil, reject(CodeReplayCacheFull, "replay cache full: too many requests inside the time window, retry shortly")
	}
	if x == nil {
		// An allowed signer whose signature verified: worth expanding
		// once for its next requests.
		if xk, xerr := e.SignedBy.Expand(); xerr == nil {
			v.signers.put(by, xk)
		}
	}
	return &Verified{Envelope: *e, Body: body}, nil
}

// verifySig is e.Verify(bodyHash), through x when it is SignedBy's
// expanded key (same answer, less work).
func verifySig(e *Envelope, x *keys.ExpandedPublicKey, bodyHash [sha256.Size]byte) bool {
	if x == nil || x.PublicKey() != e.SignedBy {
		return e.Verify(bodyHash)
	}
	return x.Verify(e.Message(bodyHash), e.Signature[:])
}

// parseAddress is keys.ParseAddress for the verifier's headers: the
// receiver's own address and the signers it remembers are known without
// decoding them again.
func (v *Verifier) parseAddress(s string) (keys.PublicKey, error) {
	if s == v.receiverAddr {
		return v.receiver, nil
	}
	if x := v.signers.get(s); x != nil {
		return x.PublicKey(), nil
	}
	return keys.ParseAddress(s)
}

// signerCache maps the Signed-By strings of requests that passed every
// check to their keys, expanded for fast verification. Only a signer that
// was allowed and whose signature verified gets in, so it holds the
// receiver's regular callers; past maxSigners an arbitrary entry makes
// room. It holds key material only: every request is still checked by
// Allowed and its signature.
type signerCache struct {
	mu sync.RWMutex
	m  map[string]*keys.ExpandedPublicKey
}

// get returns the key remembered for the address string s, or nil.
func (c *signerCache) get(s string) *keys.ExpandedPublicKey {
	c.mu.RLock()
	x := c.m[s]
	c.mu.RUnlock()
	return x
}

// put remembers x as the key that the address string s decodes to.
func (c *signerCache) put(s string, x *keys.ExpandedPublicKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*keys.ExpandedPublicKey)
	}
	if _, ok := c.m[s]; !ok && len(c.m) >= maxSigners {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[s] = x
}

// replayed is the replayed_uuid error of e.
func replayed(e *Envelope) *Error {
	return reject(CodeReplayedUUID, fmt.Sprintf("replayed uuid: %s from %s was already accepted", e.UUID, e.SignedBy.Address()))
}

// badSignature is the bad_signature error of e.
func badSignature(e *Envelope) *Error {
	return reject(CodeBadSignature, fmt.Sprintf("bad signature: does not verify under %s (%s) for this body, uuid, timestamp and signed-for", e.SignedBy.Address(), HeaderSignedBy))
}

// readBody reads r's body, refusing more than maxBody bytes without reading
// past maxBody+1.
func (v *Verifier) readBody(r *http.Request) ([]byte, *Error) {
	if r.ContentLength > v.maxBody {
		return nil, tooLarge(r.ContentLength, v.maxBody)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return []byte{}, nil
	}
	// Sized from Content-Length (+1 so ReadFrom sees EOF without growing),
	// but no larger than 64 KiB before the bytes arrive: a caller cannot
	// make the receiver reserve MaxBody by declaring it.
	size := int64(512)
	if r.ContentLength >= 0 {
		size = min(r.ContentLength+1, 64<<10)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	n, err := buf.ReadFrom(io.LimitReader(r.Body, v.maxBody+1))
	if err != nil {
		return nil, reject(CodeBodyRead, fmt.Sprintf("body read: after %d bytes: %v", n, err))
	}
	if n > v.maxBody {
		return nil, tooLarge(-1, v.maxBody)
	}
	return buf.Bytes(), nil
}

// tooLarge is the body_too_large error; n is the declared length or -1.
func tooLarge(n, limit int64) *Error {
	if n >= 0 {
		return reject(CodeBodyTooLarge, fmt.Sprintf("body too large: Content-Length %d exceeds the %d-byte limit", n, limit))
	}
	return reject(CodeBodyTooLarge, fmt.Sprintf("body too large: more than the %d-byte limit", limit))
}

// ctxKey is the context key of a *Verified.
type ctxKey struct{}

// FromContext returns the verified request that Middleware stored in ctx.
func FromContext(ctx context.Context) (*Verified, bool) {
	vr, ok := ctx.Value(ctxKey{}).(*Verified)
	return vr, ok
}

// Middleware verifies every request with v before next sees it. A rejected
// request is answered by WriteRejection (WriteError's JSON body and status,
// and the connection closed) and never reaches next. An accepted one reaches next with its body replaced by the
// verified bytes (so next reads exactly what was signed) and the *Verified
// in its context (FromContext).
func Middleware(v *Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vr, err := v.verify(r)
		if err != nil {
			WriteRejection(w, err)
			return
		}
		r2 := r.WithContext(context.WithValue(r.Context(), ctxKey{}, vr))
		r2.Body = io.NopCloser(bytes.NewReader(vr.Body))
		r2.ContentLength = int64(len(vr.Body))
		r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(vr.Body)), nil }
		next.ServeHTTP(w, r2)
	})
}
