package protocol

import (
	"crypto/sha256"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/seed0ffb8d46/agora/keys"
)

// trailerNames are the Epistula headers a streamed response sends as
// trailers, announced in its Trailer header.
var trailerNames = strings.Join([]string{
	HeaderVersion, HeaderTimestamp, HeaderUUID, HeaderSignedBy, HeaderSignedFor,
	HeaderSignature, HeaderBodySHA256,
}, ", ")

// StreamSigner signs a streamed response (server-sent events, say), whose
// body is not known when its headers go out: it hashes every byte written
// through it and, at Finish, sends the Epistula headers as HTTP trailers.
// The signed message is the one SignResponse signs for the whole body, so
// a client that has read the body to its end verifies it the same way:
// VerifyResponse looks in resp.Trailer when the headers carry no signature.
//
// Trailers need HTTP/1.1 chunked encoding or HTTP/2, which Go's server uses
// for any response without a Content-Length. A StreamSigner is for one
// response on one goroutine.
type StreamSigner struct {
	w         http.ResponseWriter
	key       *keys.PrivateKey
	requester keys.PublicKey
	uuid      string
	h         hash.Hash
	n         int64
}

// NewStreamSigner announces the signature trailers on w (it must be called
// before w.WriteHeader) and returns the writer through which the whole body
// must go. The arguments are SignResponse's.
func NewStreamSigner(w http.ResponseWriter, key *keys.PrivateKey, requester keys.PublicKey, uuid string) *StreamSigner {
	w.Header().Set("Trailer", trailerNames)
	return &StreamSigner{w: w, key: key, requester: requester, uuid: uuid, h: sha256.New()}
}

// Write writes p to the response and adds it to the signed body.
func (s *StreamSigner) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	return n, err
}

// Flush sends what was written so far to the client, if the
// ResponseWriter can.
func (s *StreamSigner) Flush() {
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Written is the number of body bytes written so far.
func (s *StreamSigner) Written() int64 { return s.n }

// Finish signs everything written, at time now, and sets the trailers. The
// handler must write nothing more and return, which sends them.
func (s *StreamSigner) Finish(now time.Time) error {
	var sum [sha256.Size]byte
	s.h.Sum(sum[:0])
	e, err := signHash(sum, s.key, &s.requester, now, s.uuid)
	if err != nil {
		return err
	}
	e.setSignedHeader(s.w.Header())
	return nil
}
