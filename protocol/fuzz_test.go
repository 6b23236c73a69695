package protocol

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// headerSeeds are the seed inputs of FuzzParseHeader: version, timestamp,
// uuid, signed-by, signed-for, signature, body hash.
func headerSeeds(tb testing.TB) [][7]string {
	f := newFixture(tb)
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if err := Sign(r, []byte("{}"), f.validator, f.miner.PublicKey(), t0, seqUUID(1)); err != nil {
		tb.Fatal(err)
	}
	g := r.Header.Get
	ok := [7]string{g(HeaderVersion), g(HeaderTimestamp), g(HeaderUUID), g(HeaderSignedBy), g(HeaderSignedFor), g(HeaderSignature), g(HeaderBodySHA256)}
	seeds := [][7]string{ok}
	edit := func(i int, v string) { s := ok; s[i] = v; seeds = append(seeds, s) }
	edit(0, "1")
	edit(1, "-1")
	edit(1, "0")
	edit(1, "99999999999999")
	edit(2, strings.ToUpper(ok[2]))
	edit(3, strings.ToUpper(ok[3]))
	edit(4, "")
	edit(5, "0x"+ok[5])
	edit(5, ok[5][:127])
	edit(6, "")
	edit(6, strings.ToUpper(ok[6]))
	return seeds
}

// FuzzParseHeader checks that ParseHeader never panics, that every error is
// a 400/401 *Error, and that an accepted header set survives SetHeader.
func FuzzParseHeader(f *testing.F) {
	for _, s := range headerSeeds(f) {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6])
	}
	f.Fuzz(func(t *testing.T, ver, ts, id, by, forS, sig, bodyHash string) {
		h := http.Header{}
		for k, v := range map[string]string{HeaderVersion: ver, HeaderTimestamp: ts, HeaderUUID: id, HeaderSignedBy: by, HeaderSignedFor: forS, HeaderSignature: sig, HeaderBodySHA256: bodyHash} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		e, err := ParseHeader(h)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || (pe.Status != 400 && pe.Status != 401) || pe.Message == "" {
				t.Fatalf("error %v is not a 400/401 *Error", err)
			}
			return
		}
		if strconv.FormatInt(e.Timestamp, 10) != ts || e.UUID != id || !ValidUUID(e.UUID) {
			t.Fatalf("accepted non-canonical timestamp %q or uuid %q", ts, id)
		}
		_ = e.Message(e.BodySHA256)
		h2 := http.Header{}
		e.SetHeader(h2)
		e2, err := ParseHeader(h2)
		if err != nil {
			t.Fatalf("re-parse of SetHeader: %v", err)
		}
		if e2.Timestamp != e.Timestamp || e2.UUID != e.UUID || e2.SignedBy != e.SignedBy || e2.SignedFor != e.SignedFor ||
			e2.HasSignedFor != e.HasSignedFor || e2.Signature != e.Signature || e2.BodySHA256 != e.BodySHA256 || e2.HasBodySHA256 != e.HasBodySHA256 {
			t.Fatalf("round trip changed %+v into %+v", e, e2)
		}
	})
}

// FuzzVerify runs whole requests with arbitrary headers and bodies through a
// Verifier: it must never panic, must answer with a known code and status,
// and must never read more than MaxBody+1 bytes.
func FuzzVerify(f *testing.F) {
	for _, s := range headerSeeds(f) {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6], []byte("{}"), int64(2))
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, ver, ts, id, by, forS, sig, bodyHash string, body []byte, contentLength int64) {
		v := fx.verifier(t, func(c *Config) { c.Allowed = AllowAll; c.MaxBody = 64 })
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		for k, val := range map[string]string{HeaderVersion: ver, HeaderTimestamp: ts, HeaderUUID: id, HeaderSignedBy: by, HeaderSignedFor: forS, HeaderSignature: sig, HeaderBodySHA256: bodyHash} {
			if val != "" {
				r.Header[k] = []string{val}
			}
		}
		cr := &countingReader{r: strings.NewReader(string(body))}
		r.Body, r.ContentLength = cr, contentLength
		_, err := v.Verify(r)
		if n := cr.n.Load(); n > 65 {
			t.Fatalf("read %d bytes with a 64-byte limit", n)
		}
		if err == nil {
			return
		}
		var pe *Error
		if !errors.As(err, &pe) || status[pe.Code] == 0 || status[pe.Code] != pe.Status || pe.Message == "" {
			t.Fatalf("error %v has no known code and status", err)
		}
	})
}

// TestFuzzSeedCorpus writes the seed corpus with -update and otherwise
// checks that it is there, so `go test` runs the seeds as tests.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParseHeader")
	seeds := headerSeeds(t)
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			var b strings.Builder
			b.WriteString("go test fuzz v1\n")
			for _, v := range s {
				fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		vdir := filepath.Join("testdata", "fuzz", "FuzzVerify")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			var b strings.Builder
			b.WriteString("go test fuzz v1\n")
			for _, v := range s {
				fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
			}
			b.WriteString("[]byte(\"{}\")\nint64(2)\n")
			if err := os.WriteFile(filepath.Join(vdir, fmt.Sprintf("seed%02d", i)), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) < len(seeds) {
		t.Fatalf("seed corpus %s: %d files, %v; regenerate with go test -run TestFuzzSeedCorpus -update", dir, len(ents), err)
	}
}
