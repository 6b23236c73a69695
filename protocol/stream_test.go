package protocol

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestStreamSignedInTrailers streams a body in flushed chunks over a real
// loopback connection and checks that the client verifies the trailer
// signature over exactly what it read, and rejects anything else.
func TestStreamSignedInTrailers(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, func(c *Config) { c.Clock = nil })
	h := Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vr, _ := FromContext(r.Context())
		s := NewStreamSigner(w, f.miner, vr.SignedBy, vr.UUID)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := range 3 {
			fmt.Fprintf(s, "data: {\"i\":%d}\n\n", i)
			s.Flush()
		}
		if err := s.Finish(time.Now()); err != nil {
			t.Error(err)
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	signer := &Signer{Key: f.validator}
	req, err := signer.NewRequest(t.Context(), http.MethodPost, srv.URL, []byte(`{"stream":true}`), f.miner.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get(HeaderSignature) != "" {
		t.Fatal("streamed response has its signature in the headers")
	}
	want := "data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: {\"i\":2}\n\n"
	if string(body) != want {
		t.Fatalf("body %q, want %q", body, want)
	}
	env, err := VerifyResponse(resp, body, f.miner.PublicKey())
	if err != nil {
		t.Fatalf("VerifyResponse: %v", err)
	}
	if env.UUID != req.Header.Get(HeaderUUID) || env.SignedFor != f.validator.PublicKey() {
		t.Fatalf("envelope %+v", env)
	}
	var pe *Error
	if _, err := VerifyResponse(resp, body[:len(body)-2], f.miner.PublicKey()); !errors.As(err, &pe) || pe.Code != CodeBodyHashMismatch {
		t.Fatalf("truncated stream: %v, want body_hash_mismatch", err)
	}
	if _, err := VerifyResponse(resp, body, f.validator.PublicKey()); !errors.As(err, &pe) || pe.Code != CodeWrongSigner {
		t.Fatalf("wrong signer: %v, want wrong_signer", err)
	}
}
