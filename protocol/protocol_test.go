package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/keys"
)

// t0 is the fixed "now" of the tests: 2026-01-01T00:00:00Z.
var t0 = time.UnixMilli(1_767_225_600_000)

// testKey returns the deterministic key of seed byte b.
func testKey(tb testing.TB, b byte) *keys.PrivateKey {
	tb.Helper()
	k, err := keys.NewPrivateKeyFromSeed(bytes.Repeat([]byte{b}, keys.SeedSize))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// seqUUID returns the n-th deterministic test uuid.
func seqUUID(n int) string {
	var b [16]byte
	copy(b[:], fmt.Sprintf("%016d", n))
	id, _ := NewUUID(bytes.NewReader(b[:]))
	return id
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return nil }

// errReader fails after its data.
type errReader struct{ data []byte }

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, errors.New("connection reset")
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

// fixture is the cast of a verification test.
type fixture struct {
	validator, miner, stranger *keys.PrivateKey
}

func newFixture(tb testing.TB) fixture {
	return fixture{validator: testKey(tb, 1), miner: testKey(tb, 2), stranger: testKey(tb, 3)}
}

// verifier returns a Verifier for the miner at t0 that allows only the
// validator, with a 1000-byte body limit.
func (f fixture) verifier(tb testing.TB, mod func(*Config)) *Verifier {
	tb.Helper()
	cfg := Config{
		Receiver: f.miner.PublicKey(),
		Allowed: func(pk keys.PublicKey) error {
			if pk != f.validator.PublicKey() {
				return errors.New("not a registered validator with a permit")
			}
			return nil
		},
		MaxBody: 1000,
		Clock:   func() time.Time { return t0 },
	}
	if mod != nil {
		mod(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// signed returns a request with body signed by the validator for the miner
// at t0 with uuid 1, its body read through a countingReader.
func (f fixture) signed(tb testing.TB, body []byte) (*http.Request, *countingReader) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	if err := Sign(req, body, f.validator, f.miner.PublicKey(), t0, seqUUID(1)); err != nil {
		tb.Fatal(err)
	}
	cr := &countingReader{r: bytes.NewReader(body)}
	req.Body = cr
	return req, cr
}

func TestVerifyTable(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	big := bytes.Repeat([]byte("x"), 5000)
	type tc struct {
		name    string
		body    []byte                          // default body
		edit    func(r *http.Request)           // after signing
		cfg     func(*Config)                   // verifier changes
		prep    func(v *Verifier)               // verifier state
		code    Code                            // "" = accepted
		status  int                             //
		msg     string                          // substring of the message
		maxRead int64                           // most body bytes the verifier may read; -1 = any
		resign  func(r *http.Request, b []byte) // sign differently
	}
	set := func(k, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set(k, v) } }
	del := func(k string) func(*http.Request) { return func(r *http.Request) { r.Header.Del(k) } }
	resignAt := func(at time.Time, key *keys.PrivateKey, forKey keys.PublicKey) func(r *http.Request, b []byte) {
		return func(r *http.Request, b []byte) {
			if err := Sign(r, b, key, forKey, at, seqUUID(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []tc{
		{name: "ok", maxRead: -1},
		{name: "ok empty body", body: []byte{}, maxRead: -1},
		{name: "ok 0x signature", edit: func(r *http.Request) { r.Header.Set(HeaderSignature, "0x"+r.Header.Get(HeaderSignature)) }, maxRead: -1},
		{name: "no body hash header", edit: del(HeaderBodySHA256), code: CodeMissingHeader, status: 400, msg: "header Epistula-Body-Sha256: missing; this receiver checks the signature before it reads a body"},
		{name: "no body hash header, large body", body: big[:1000], edit: del(HeaderBodySHA256), code: CodeMissingHeader, status: 400, msg: "Epistula-Body-Sha256: missing"},
		{name: "ok oldest timestamp", cfg: func(c *Config) { c.Clock = func() time.Time { return t0.Add(DefaultPastWindow) } }, maxRead: -1},
		{name: "ok latest timestamp", cfg: func(c *Config) { c.Clock = func() time.Time { return t0.Add(-DefaultFutureWindow) } }, maxRead: -1},
		{name: "ok body at limit", body: big[:1000], maxRead: -1},

		{name: "no signature headers at all", edit: func(r *http.Request) { r.Header = http.Header{} }, code: CodeUnsigned, status: 401, msg: "unsigned: no Epistula-Version or Epistula-Request-Signature"},
		{name: "no signature", edit: del(HeaderSignature), code: CodeUnsigned, status: 401, msg: "unsigned: header Epistula-Request-Signature missing"},
		{name: "empty signature", edit: set(HeaderSignature, ""), code: CodeUnsigned, status: 401, msg: "unsigned"},
		{name: "bad version", edit: set(HeaderVersion, "1"), code: CodeBadVersion, status: 400, msg: `header Epistula-Version: "1", want "2"`},
		{name: "missing version", edit: del(HeaderVersion), code: CodeBadVersion, status: 400, msg: "Epistula-Version: missing"},
		{name: "missing timestamp", edit: del(HeaderTimestamp), code: CodeMissingHeader, status: 400, msg: "header Epistula-Timestamp: missing"},
		{name: "missing uuid", edit: del(HeaderUUID), code: CodeMissingHeader, status: 400, msg: "header Epistula-Uuid: missing"},
		{name: "missing signed-by", edit: del(HeaderSignedBy), code: CodeMissingHeader, status: 400, msg: "header Epistula-Signed-By: missing"},
		{name: "repeated uuid header", edit: func(r *http.Request) { r.Header.Add(HeaderUUID, seqUUID(2)) }, code: CodeMalformedHeader, status: 400, msg: "Epistula-Uuid: sent 2 times"},
		{name: "timestamp not integer", edit: set(HeaderTimestamp, "1767225600000.5"), code: CodeMalformedHeader, status: 400, msg: "header Epistula-Timestamp"},
		{name: "timestamp negative", edit: set(HeaderTimestamp, "-1"), code: CodeMalformedHeader, status: 400, msg: "header Epistula-Timestamp"},
		{name: "timestamp leading zero", edit: set(HeaderTimestamp, "01767225600000"), code: CodeMalformedHeader, status: 400, msg: "leading zero"},
		{name: "timestamp overflow", edit: set(HeaderTimestamp, "99999999999999999999"), code: CodeMalformedHeader, status: 400, msg: "at most 13 digits"},
		{name: "uuid upper case", edit: func(r *http.Request) { r.Header.Set(HeaderUUID, strings.ToUpper(r.Header.Get(HeaderUUID))) }, code: CodeMalformedHeader, status: 400, msg: "Epistula-Uuid"},
		{name: "uuid version 1", edit: set(HeaderUUID, "0b4c6f3e-1d2a-1f5b-9c8d-7e6f5a4b3c2d"), code: CodeMalformedHeader, status: 400, msg: "not a lower-case UUID v4"},
		{name: "signed-by not an address", edit: set(HeaderSignedBy, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"), code: CodeMalformedHeader, status: 400, msg: "header Epistula-Signed-By"},
		{name: "signed-by bad checksum", edit: func(r *http.Request) {
			a := []byte(r.Header.Get(HeaderSignedBy))
			a[len(a)-1] ^= 'q' ^ 'p'
			r.Header.Set(HeaderSignedBy, string(a))
		}, code: CodeMalformedHeader, status: 400, msg: "checksum"},
		{name: "signed-for not an address", edit: set(HeaderSignedFor, "agora1xyz"), code: CodeMalformedHeader, status: 400, msg: "header Epistula-Signed-For"},
		{name: "signature short", edit: set(HeaderSignature, "abcd"), code: CodeMalformedHeader, status: 400, msg: "4 hex digits, want 128"},
		{name: "signature not hex", edit: set(HeaderSignature, strings.Repeat("zz", 64)), code: CodeMalformedHeader, status: 400, msg: "not hex"},
		{name: "body hash not hex", edit: set(HeaderBodySHA256, "xyz"), code: CodeMalformedHeader, status: 400, msg: "Epistula-Body-Sha256"},

		{name: "stale timestamp", resign: resignAt(t0.Add(-DefaultPastWindow-time.Millisecond), f.validator, f.miner.PublicKey()), code: CodeStaleTimestamp, status: 401, msg: "is 8001 ms old, more than the 8000 ms allowed"},
		{name: "future timestamp", resign: resignAt(t0.Add(DefaultFutureWindow+time.Millisecond), f.validator, f.miner.PublicKey()), code: CodeFutureTimestamp, status: 401, msg: "is 2001 ms in the future, more than the 2000 ms allowed"},
		{name: "wrong signed-for", resign: resignAt(t0, f.validator, f.stranger.PublicKey()), code: CodeWrongReceiver, status: 403, msg: "wrong receiver: signed for " + f.stranger.Address() + ", this receiver is " + f.miner.Address()},
		{name: "no signed-for", edit: del(HeaderSignedFor), code: CodeWrongReceiver, status: 403, msg: "Epistula-Signed-For is empty"},
		{name: "unknown signer", resign: resignAt(t0, f.stranger, f.miner.PublicKey()), code: CodeNotAllowed, status: 403, msg: "signer " + f.stranger.Address() + " not allowed: not a registered validator with a permit"},
		{name: "allowed returns its own error", cfg: func(c *Config) {
			c.Allowed = func(keys.PublicKey) error {
				return &Error{Code: "metagraph_unavailable", Status: 503, Message: "metagraph not loaded"}
			}
		}, code: "metagraph_unavailable", status: 503, msg: "metagraph not loaded"},
		{name: "replayed uuid", prep: func(v *Verifier) {
			r, _ := f.signed(t, body)
			if _, err := v.Verify(r); err != nil {
				t.Fatal(err)
			}
		}, code: CodeReplayedUUID, status: 409, msg: "replayed uuid: " + seqUUID(1) + " from " + f.validator.Address() + " was already accepted"},
		{name: "bad signature", edit: func(r *http.Request) {
			s := []byte(r.Header.Get(HeaderSignature))
			s[10] ^= '0' ^ '1'
			r.Header.Set(HeaderSignature, string(s))
		}, code: CodeBadSignature, status: 401, msg: "bad signature: does not verify under " + f.validator.Address()},
		{name: "wrong signer key", edit: func(r *http.Request) {
			// Signed by the stranger, claiming to be the validator.
			by := r.Header.Get(HeaderSignedBy)
			if err := Sign(r, body, f.stranger, f.miner.PublicKey(), t0, seqUUID(1)); err != nil {
				t.Fatal(err)
			}
			r.Header.Set(HeaderSignedBy, by)
			r.Body = &countingReader{r: bytes.NewReader(body)}
		}, code: CodeBadSignature, status: 401, msg: "bad signature"},
		{name: "body hash mismatch", edit: func(r *http.Request) {
			r.Body = &countingReader{r: strings.NewReader(strings.Replace(string(body), "hi", "ho", 1))}
		}, code: CodeBodyHashMismatch, status: 401, msg: "body hash mismatch: body of 57 bytes has sha256", maxRead: -1},
		{name: "body too large by content-length", body: big, code: CodeBodyTooLarge, status: 413, msg: "Content-Length 5000 exceeds the 1000-byte limit"},
		{name: "body too large streamed", body: big, edit: func(r *http.Request) { r.ContentLength = -1 }, code: CodeBodyTooLarge, status: 413, msg: "more than the 1000-byte limit", maxRead: 1001},
		{name: "body too large by one", body: big[:1001], edit: func(r *http.Request) { r.ContentLength = -1 }, code: CodeBodyTooLarge, status: 413, msg: "body too large", maxRead: 1001},
		{name: "body read error", edit: func(r *http.Request) { r.Body = io.NopCloser(&errReader{data: body[:10]}) }, code: CodeBodyRead, status: 400, msg: "body read: after 10 bytes: connection reset", maxRead: -1},
	}
	// warm has v accept a request from the validator first, so that it
	// checks the case's request with the validator's key remembered,
	// expanded (signerCache): every case must come out the same.
	warm := func(v *Verifier) {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		if err := Sign(r, body, f.validator, f.miner.PublicKey(), t0, seqUUID(1000)); err != nil {
			t.Fatal(err)
		}
		_, _ = v.Verify(r) // refused where the case's config refuses the validator
	}
	for _, c := range cases {
		for _, warmed := range []bool{false, true} {
			name := c.name
			if warmed {
				name += " (signer remembered)"
			}
			t.Run(name, func(t *testing.T) {
				v := f.verifier(t, c.cfg)
				if warmed {
					warm(v)
				}
				if c.prep != nil {
					c.prep(v)
				}
				b := body
				if c.body != nil {
					b = c.body
				}
				req, _ := f.signed(t, b)
				if c.resign != nil {
					c.resign(req, b)
					req.Body = &countingReader{r: bytes.NewReader(b)}
				}
				if c.edit != nil {
					c.edit(req)
				}
				got, err := v.Verify(req)
				if cr, ok := req.Body.(*countingReader); ok && c.maxRead >= 0 && cr.n.Load() > c.maxRead {
					t.Errorf("read %d body bytes, want at most %d", cr.n.Load(), c.maxRead)
				}
				if c.code == "" {
					if err != nil {
						t.Fatalf("rejected: %v", err)
					}
					if !bytes.Equal(got.Body, b) || got.Signer() != f.validator.PublicKey() || got.UUID != seqUUID(1) {
						t.Fatalf("verified %+v", got)
					}
					return
				}
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %v (%T), want *Error %s", err, err, c.code)
				}
				if pe.Code != c.code || pe.Status != c.status || !strings.Contains(pe.Message, c.msg) {
					t.Fatalf("got %s %d %q,\nwant %s %d containing %q", pe.Code, pe.Status, pe.Message, c.code, c.status, c.msg)
				}
			})
		}
	}
}

// A remembered signer (signerCache) is still asked of Allowed on every
// request and its signatures still checked; only signers that passed get
// remembered, and no more than maxSigners of them.
func TestSignerCache(t *testing.T) {
	f := newFixture(t)
	var banned atomic.Bool
	v := f.verifier(t, func(c *Config) {
		c.Allowed = func(pk keys.PublicKey) error {
			if banned.Load() || pk == f.stranger.PublicKey() {
				return errors.New("no permit")
			}
			return nil
		}
	})
	body := []byte(`{}`)
	req := func(key *keys.PrivateKey, n int) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		if err := Sign(r, body, key, f.miner.PublicKey(), t0, seqUUID(n)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	code := func(err error) Code {
		var pe *Error
		if errors.As(err, &pe) {
			return pe.Code
		}
		return ""
	}
	if _, err := v.Verify(req(f.validator, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(req(f.stranger, 2)); code(err) != CodeNotAllowed {
		t.Fatalf("stranger: %v", err)
	}
	if v.signers.get(f.validator.Address()) == nil || v.signers.get(f.stranger.Address()) != nil {
		t.Fatal("the cache should hold the validator, who passed, and not the stranger, who did not")
	}
	forged := req(f.validator, 3)
	forged.Header.Set(HeaderSignature, strings.Repeat("00", 64))
	if _, err := v.Verify(forged); code(err) != CodeBadSignature {
		t.Fatalf("remembered signer, bad signature: %v", err)
	}
	banned.Store(true)
	if _, err := v.Verify(req(f.validator, 4)); code(err) != CodeNotAllowed {
		t.Fatalf("remembered signer, no longer allowed: %v", err)
	}
	banned.Store(false)
	for i := range maxSigners + 10 {
		k := testKey(t, byte(i%200+10))
		x, err := k.PublicKey().Expand()
		if err != nil {
			t.Fatal(err)
		}
		v.signers.put(fmt.Sprint(i), x)
	}
	if n := len(v.signers.m); n > maxSigners {
		t.Fatalf("signer cache holds %d, more than %d", n, maxSigners)
	}
}

// The headers Sign, SignResponse and StreamSigner write (setSignedHeader,
// from the strings signing computed) are exactly SetHeader's.
func TestSignedHeaderMatchesSetHeader(t *testing.T) {
	f := newFixture(t)
	for i, body := range [][]byte{nil, []byte("{}"), bytes.Repeat([]byte("x"), 300)} {
		for _, forKey := range []*keys.PublicKey{nil, new(f.miner.PublicKey())} {
			e, err := sign(body, f.validator, forKey, t0.Add(time.Duration(i)*time.Hour), seqUUID(i))
			if err != nil {
				t.Fatal(err)
			}
			got, want := http.Header{}, http.Header{}
			got.Set(HeaderSignedFor, "stale")
			want.Set(HeaderSignedFor, "stale")
			e.setSignedHeader(got)
			e.SetHeader(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("body %d, signed for %v:\nsetSignedHeader %v\nSetHeader       %v", i, forKey != nil, got, want)
			}
		}
	}
}

// A forged request that copies a legitimate uuid must not use it up.
func TestInvalidRequestDoesNotBurnUUID(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, nil)
	body := []byte("{}")
	for _, forge := range []func(r *http.Request){
		func(r *http.Request) { r.Header.Set(HeaderSignature, strings.Repeat("00", 64)) },
		func(r *http.Request) {
			r.Header.Del(HeaderBodySHA256)
			r.Header.Set(HeaderSignature, strings.Repeat("00", 64))
		},
		func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("{ }")) },
	} {
		r, _ := f.signed(t, body)
		forge(r)
		if _, err := v.Verify(r); err == nil {
			t.Fatal("forged request accepted")
		}
	}
	r, _ := f.signed(t, body)
	if _, err := v.Verify(r); err != nil {
		t.Fatalf("genuine request after forgeries: %v", err)
	}
}

// Of 50 concurrent copies of one request exactly one is accepted.
func TestConcurrentDuplicates(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, nil)
	body := []byte(`{"prompt":"Tom had a red ball"}`)
	proto := httptest.NewRequest(http.MethodPost, "/", nil)
	if err := Sign(proto, body, f.validator, f.miner.PublicKey(), t0, seqUUID(10)); err != nil {
		t.Fatal(err)
	}
	const n = 50
	var ok, replays atomic.Int32
	var start, done sync.WaitGroup
	start.Add(1)
	for range n {
		r := proto.Clone(proto.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		done.Go(func() {
			start.Wait()
			_, err := v.Verify(r)
			var pe *Error
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &pe) && pe.Code == CodeReplayedUUID && pe.Status == 409:
				replays.Add(1)
			default:
				t.Errorf("unexpected error %v", err)
			}
		})
	}
	start.Done()
	done.Wait()
	if ok.Load() != 1 || replays.Load() != n-1 {
		t.Fatalf("%d accepted and %d replays of %d, want 1 and %d", ok.Load(), replays.Load(), n, n-1)
	}
}

// A uuid stays remembered exactly as long as its timestamp is in the window.
func TestReplayWindowEdge(t *testing.T) {
	f := newFixture(t)
	now := t0
	v := f.verifier(t, func(c *Config) { c.Clock = func() time.Time { return now } })
	try := func() error { r, _ := f.signed(t, nil); _, err := v.Verify(r); return err }
	if err := try(); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(DefaultPastWindow) // still inside the window: must be a replay
	if err := try(); err == nil || err.(*Error).Code != CodeReplayedUUID {
		t.Fatalf("at the window's edge: %v, want replayed_uuid", err)
	}
	now = now.Add(time.Millisecond) // outside: stale, never accepted again
	if err := try(); err == nil || err.(*Error).Code != CodeStaleTimestamp {
		t.Fatalf("past the window: %v, want stale_timestamp", err)
	}
}

// A full replay cache refuses new requests, then frees expired entries.
func TestReplayCacheFull(t *testing.T) {
	f := newFixture(t)
	now := t0
	v := f.verifier(t, func(c *Config) {
		c.MaxReplayEntries = replayShards // one entry per shard
		c.Clock = func() time.Time { return now }
	})
	send := func(i int) error {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if err := Sign(r, nil, f.validator, f.miner.PublicKey(), now, seqUUID(i)); err != nil {
			t.Fatal(err)
		}
		_, err := v.Verify(r)
		return err
	}
	var full *Error
	for i := 0; i < 10*replayShards && full == nil; i++ {
		if err := send(i); err != nil {
			full = err.(*Error)
		}
	}
	if full == nil || full.Code != CodeReplayCacheFull || full.Status != 503 || !strings.Contains(full.Message, "replay cache full") {
		t.Fatalf("got %v, want replay_cache_full", full)
	}
	if n := v.replay.len(); n > replayShards {
		t.Fatalf("cache holds %d entries, bound %d", n, replayShards)
	}
	// Once the entries expire, a new request's shard is swept and it fits.
	now = now.Add(DefaultPastWindow + time.Millisecond)
	if err := send(100_000); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

// TestAdmitBeforeReplayCache: a request refused by Admit (a signer over its
// rate) leaves no uuid behind, so one signer cannot fill the replay cache;
// the refusal is 429 rate_limited with Retry-After, and Admit sees only
// requests that passed the signature check.
func TestAdmitBeforeReplayCache(t *testing.T) {
	f := newFixture(t)
	var admitted []keys.PublicKey
	v := f.verifier(t, func(c *Config) {
		c.Clock = func() time.Time { return t0 }
		c.Admit = func(signer keys.PublicKey) error {
			admitted = append(admitted, signer)
			if len(admitted) > 2 {
				return RateLimited("rate limited: 2 requests", 1500*time.Millisecond)
			}
			return nil
		}
	})
	send := func(i int, forge bool) error {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if err := Sign(r, nil, f.validator, f.miner.PublicKey(), t0, seqUUID(i)); err != nil {
			t.Fatal(err)
		}
		if forge {
			r.Header.Set(HeaderSignature, r.Header.Get(HeaderSignature)[:10]+"AAAA"+r.Header.Get(HeaderSignature)[14:])
		}
		_, err := v.Verify(r)
		return err
	}
	if err := send(0, true); err == nil || len(admitted) != 0 {
		t.Fatalf("forged request: %v, admit asked %d times", err, len(admitted))
	}
	for i := range 2 {
		if err := send(i, false); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	for i := 2; i < 50; i++ {
		err := send(i, false)
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != CodeRateLimited || pe.Status != http.StatusTooManyRequests {
			t.Fatalf("request %d over the rate: %v", i, err)
		}
	}
	if n := v.replay.len(); n != 2 {
		t.Fatalf("replay cache holds %d uuids, want the 2 admitted", n)
	}
	w := httptest.NewRecorder()
	WriteError(w, RateLimited("slow down", 1500*time.Millisecond))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" || !strings.Contains(w.Body.String(), `"rate_limited"`) {
		t.Errorf("answer: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestNewVerifierConfig(t *testing.T) {
	f := newFixture(t)
	for _, cfg := range []Config{
		{Allowed: AllowAll},
		{Receiver: f.miner.PublicKey()},
		{Receiver: f.miner.PublicKey(), Allowed: AllowAll, MaxBody: -1},
	} {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("NewVerifier(%+v) accepted", cfg)
		}
	}
}

// The happy path over a real server on loopback with a real client,
// including the signed response and the JSON rejections.
func TestMiddlewareOverHTTP(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, func(c *Config) { c.Clock = nil }) // real time
	var handled atomic.Int32
	h := Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled.Add(1)
		vr, ok := FromContext(r.Context())
		if !ok {
			t.Error("no verified request in context")
			return
		}
		in, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(in, vr.Body) {
			t.Errorf("handler body %q, %v; verified %q", in, err, vr.Body)
		}
		out := []byte(`{"echo":` + strconv.Quote(string(in)) + `,"from":"` + vr.Signer().Address() + `"}`)
		if err := SignResponse(w, out, f.miner, vr.SignedBy, vr.UUID, time.Now()); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	client.Timeout = 10 * time.Second
	signer := &Signer{Key: f.validator}

	body := []byte(`{"prompt":"Tom had a red ball"}`)
	req, err := signer.NewRequest(t.Context(), http.MethodPost, srv.URL+"/v1/completions", body, f.miner.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d body %s err %v", resp.StatusCode, got, err)
	}
	env, err := VerifyResponse(resp, got, f.miner.PublicKey())
	if err != nil {
		t.Fatalf("VerifyResponse: %v", err)
	}
	if env.UUID != req.Header.Get(HeaderUUID) || env.SignedFor != f.validator.PublicKey() {
		t.Fatalf("response envelope %+v", env)
	}
	if !strings.Contains(string(got), f.validator.Address()) {
		t.Fatalf("response %s", got)
	}

	// Replaying the same signed request: 409 with a JSON error body.
	req2 := req.Clone(t.Context())
	req2.Body, _ = req.GetBody()
	resp2, err := client.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var eb errorBody
	if err := json.NewDecoder(resp2.Body).Decode(&eb); err != nil {
		t.Fatal(err)
	}
	if resp2.StatusCode != 409 || eb.Error.Code != CodeReplayedUUID || !strings.Contains(eb.Error.Message, "replayed uuid") ||
		resp2.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("replay: %d %+v", resp2.StatusCode, eb)
	}

	// An unsigned request: 401.
	resp3, err := client.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp3.Body.Close()
	if resp3.StatusCode != 401 {
		t.Fatalf("unsigned: %d", resp3.StatusCode)
	}
	if handled.Load() != 1 {
		t.Fatalf("handler ran %d times, want 1", handled.Load())
	}

	// A body far above the limit is refused by Content-Length.
	huge := bytes.Repeat([]byte("a"), 1<<20)
	req4, _ := signer.NewRequest(t.Context(), http.MethodPost, srv.URL, huge, f.miner.PublicKey())
	resp4, err := client.Do(req4)
	if err != nil {
		t.Fatal(err)
	}
	resp4.Body.Close()
	if resp4.StatusCode != 413 {
		t.Fatalf("huge body: %d", resp4.StatusCode)
	}
}

func TestVerifyResponse(t *testing.T) {
	f := newFixture(t)
	// The request the validator sent, and a response the miner signed.
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	if err := Sign(req, []byte("q"), f.validator, f.miner.PublicKey(), t0, seqUUID(7)); err != nil {
		t.Fatal(err)
	}
	answer := []byte(`{"choices":[{"text":"and a blue car"}]}`)
	respond := func(key *keys.PrivateKey, forKey keys.PublicKey, uuid string) *http.Response {
		w := httptest.NewRecorder()
		if err := SignResponse(w, answer, key, forKey, uuid, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(answer)
		resp := w.Result()
		resp.Request = req
		return resp
	}
	ok := respond(f.miner, f.validator.PublicKey(), seqUUID(7))
	if _, err := VerifyResponse(ok, answer, f.miner.PublicKey()); err != nil {
		t.Fatalf("good response: %v", err)
	}
	if ok.Header.Get("Content-Length") != strconv.Itoa(len(answer)) {
		t.Fatalf("Content-Length %q", ok.Header.Get("Content-Length"))
	}
	noHash := respond(f.miner, f.validator.PublicKey(), seqUUID(7))
	noHash.Header.Del(HeaderBodySHA256)
	if _, err := VerifyResponse(noHash, answer, f.miner.PublicKey()); err != nil {
		t.Fatalf("good response without body hash header: %v", err)
	}
	noHash.Request = nil // evidence checked later, away from the request
	if _, err := VerifyResponse(noHash, answer, f.miner.PublicKey()); err != nil {
		t.Fatalf("good response without its request: %v", err)
	}

	tampered := bytes.Replace(answer, []byte("blue"), []byte("red!"), 1)
	for _, c := range []struct {
		name string
		resp *http.Response
		body []byte
		want Code
		msg  string
	}{
		{"unsigned", &http.Response{Header: http.Header{}, Request: req}, answer, CodeUnsigned, "unsigned"},
		{"tampered body", respond(f.miner, f.validator.PublicKey(), seqUUID(7)), tampered, CodeBodyHashMismatch, "body hash mismatch"},
		{"tampered body, no hash header", noHash, tampered, CodeBadSignature, "bad signature"},
		{"wrong signer", respond(f.stranger, f.validator.PublicKey(), seqUUID(7)), answer, CodeWrongSigner, "wrong signer: response signed by " + f.stranger.Address()},
		{"other request's uuid", respond(f.miner, f.validator.PublicKey(), seqUUID(8)), answer, CodeUUIDMismatch, "uuid mismatch"},
		{"signed for someone else", respond(f.miner, f.stranger.PublicKey(), seqUUID(7)), answer, CodeWrongReceiver, "wrong receiver"},
	} {
		_, err := VerifyResponse(c.resp, c.body, f.miner.PublicKey())
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != c.want || !strings.Contains(pe.Message, c.msg) {
			t.Errorf("%s: got %v, want %s containing %q", c.name, err, c.want, c.msg)
		}
	}
}

func TestSignInputs(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if err := Sign(r, nil, f.validator, f.miner.PublicKey(), t0, "not-a-uuid"); err == nil {
		t.Error("Sign accepted a bad uuid")
	}
	if err := Sign(r, nil, nil, f.miner.PublicKey(), t0, seqUUID(1)); err == nil {
		t.Error("Sign accepted a nil key")
	}
	if _, err := NewUUID(strings.NewReader("short")); err == nil {
		t.Error("NewUUID accepted a short read")
	}
}

// The signed message is exactly DESIGN.md's string.
func TestMessageForm(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	body := []byte("hello")
	if err := Sign(r, body, f.validator, f.miner.PublicKey(), t0, seqUUID(1)); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	want := hex.EncodeToString(sum[:]) + "." + seqUUID(1) + ".1767225600000." + f.miner.Address()
	sig, _ := hex.DecodeString(r.Header.Get(HeaderSignature))
	if !f.validator.PublicKey().Verify([]byte(want), sig) {
		t.Fatalf("signature is not over %q", want)
	}
	if r.Header.Get(HeaderBodySHA256) != hex.EncodeToString(sum[:]) {
		t.Fatal("body hash header")
	}
}

func TestValidUUID(t *testing.T) {
	for i := range 1000 {
		if id := seqUUID(i); !ValidUUID(id) {
			t.Fatalf("NewUUID made %q", id)
		}
	}
	for _, s := range []string{"", "0b4c6f3e1d2a4f5b9c8d7e6f5a4b3c2d", "0b4c6f3e-1d2a-4f5b-7c8d-7e6f5a4b3c2d", "0b4c6f3e-1d2a-4f5b-9c8d-7e6f5a4b3c2g", "0b4c6f3e-1d2a-4f5b-9c8d-7e6f5a4b3c2d0"} {
		if ValidUUID(s) {
			t.Errorf("ValidUUID(%q)", s)
		}
	}
}
