package validator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/protocol"
)

// answer is a miner's answer to one query, or why there is none.
type answer struct {
	UID      uint16
	Hotkey   keys.PublicKey
	Model    string
	Text     string
	IDs      []int // nil when the miner did not name token ids
	Logprobs []float64
	Finish   string
	// Latency is from this miner's request being sent to its whole answer
	// read: the miner's own time, not the batch's.
	Latency time.Duration
	// SignedAtMs is the miner's signed response timestamp: evidence, and
	// checked to lie within the request's time (plus clock skew).
	SignedAtMs int64
	// ReceivedAtMs is when this validator had the whole answer, which
	// orders identical answers for copy detection: a miner can sign any
	// time it likes within the skew, but cannot hand in a copy before the
	// answer it copies exists.
	ReceivedAtMs int64
	ResponseID   string
	// Err is why there is no answer (timeout, status, bad signature,
	// malformed body); Reason names it for metrics.
	Err    error
	Reason string
}

// reasonCancelled is the reason of a query, or a scoring, that the
// validator's own context cut short (it is shutting down): not the miner's
// doing, so it is never scored.
const reasonCancelled = "cancelled"

// failReason names why a request within ctx failed with err: the
// validator cancelled it (reasonCancelled), the deadline passed (timeout:
// the miner was too slow), or the miner could not be reached.
func failReason(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return reasonCancelled
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timeout"
	}
	return "unreachable"
}

// query sends req to the miner at url and reads its signed answer, within
// ctx (the per-miner deadline). It never returns an error: failures are in
// the answer, a cancelled ctx as reasonCancelled.
func query(ctx context.Context, client *http.Client, signer *protocol.Signer, url string, miner keys.PublicKey, req api.CompletionRequest) answer {
	a := answer{Hotkey: miner}
	fail := func(reason string, err error) answer {
		a.Reason, a.Err = reason, err
		return a
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fail("internal", err)
	}
	start := time.Now()
	hreq, err := signer.NewRequest(ctx, http.MethodPost, url+api.PathCompletions, body, miner)
	if err != nil {
		return fail("internal", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		return fail(failReason(ctx, err), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	a.Latency = time.Since(start)
	if err != nil {
		return fail(failReason(ctx, err), err)
	}
	env, err := protocol.VerifyResponse(resp, raw, miner)
	if err != nil {
		if resp.StatusCode != http.StatusOK {
			// A refusal (not allowed yet, rate limited, queue full) is not
			// signed: it is no answer, not a forged one.
			return fail("status_"+strconv.Itoa(resp.StatusCode), fmt.Errorf("miner answered %s, unsigned: %s", resp.Status, bytes.TrimSpace(raw)))
		}
		return fail("bad_signature", err)
	}
	a.SignedAtMs, a.ResponseID = env.Timestamp, env.UUID
	received := time.Now()
	a.ReceivedAtMs = received.UnixMilli()
	if lo, hi := start.Add(-protocol.DefaultFutureWindow).UnixMilli(), received.Add(protocol.DefaultFutureWindow).UnixMilli(); env.Timestamp < lo || env.Timestamp > hi {
		return fail("bad_timestamp", fmt.Errorf("answer signed at %d ms, outside the request's time %d..%d ms (with %s of clock skew)", env.Timestamp, lo, hi, protocol.DefaultFutureWindow))
	}
	if resp.StatusCode != http.StatusOK {
		return fail("status_"+strconv.Itoa(resp.StatusCode), fmt.Errorf("miner answered %s: %s", resp.Status, bytes.TrimSpace(raw)))
	}
	var out api.CompletionResponse
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Choices) != 1 {
		return fail("malformed", fmt.Errorf("answer is not one completion: %v", err))
	}
	c := out.Choices[0]
	a.Model, a.Text, a.Finish = out.Model, c.Text, c.FinishReason
	if lp := c.Logprobs; lp != nil && len(lp.Tokens) == len(lp.TokenLogprobs) {
		a.Logprobs = lp.TokenLogprobs
		ids := make([]int, len(lp.Tokens))
		for i, t := range lp.Tokens {
			n, ok := strings.CutPrefix(t, "token_id:")
			id, err := strconv.Atoi(n)
			if !ok || err != nil {
				ids = nil
				break
			}
			ids[i] = id
		}
		a.IDs = ids
	}
	return a
}
