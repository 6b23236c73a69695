package miner

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/protocol"
)

// ValidatorVerdict is what one validator with a permit says of a miner on
// its signed /scores: the miner's entry there, or why it could not be read.
type ValidatorVerdict struct {
	UID    uint16 `json:"uid"`
	Hotkey string `json:"hotkey"`
	Stake  uint64 `json:"stake"`
	// Axon is where the validator announced its /scores.
	Axon string `json:"axon"`
	// Error, when set, is why the validator's report could not be read or
	// trusted (unreachable, a bad signature...); the rest is then empty.
	Error string `json:"error,omitempty"`
	// Scored is false when the validator answered but has not scored the
	// miner; Score is then nil.
	Scored bool          `json:"scored"`
	Score  *api.UIDScore `json:"score,omitempty"`
	// Updated is when the validator's scores last changed.
	Updated time.Time `json:"updated,omitzero"`
}

// maxReportBytes bounds a validator's /scores answer.
const maxReportBytes = 8 << 20

// ValidatorVerdicts asks every validator of view that holds a permit and
// announces an axon for its /scores, at once, each within timeout, and
// returns what each says of hotkey key (by stake, largest first). Each
// request is signed by key, and each answer must be signed by the
// validator's hotkey for key with the request's uuid (protocol.SignReport):
// an answer signed by another key is refused. A validator that cannot be
// reached or trusted is a verdict with Error, not an error of the call.
func ValidatorVerdicts(ctx context.Context, httpc *http.Client, view *chain.MetagraphView, key *keys.PrivateKey, timeout time.Duration) []ValidatorVerdict {
	self := chain.AccountID(key.PublicKey()).String()
	var out []ValidatorVerdict
	for _, n := range view.Neurons {
		if n.ValidatorPermit && n.Axon != nil && n.Hotkey != self {
			out = append(out, ValidatorVerdict{UID: n.UID, Hotkey: n.Hotkey, Stake: n.Stake, Axon: n.Axon.Addr})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Stake > out[j].Stake })
	signer := &protocol.Signer{Key: key}
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := &out[i]
			rep, err := fetchReport(ctx, httpc, signer, v.Hotkey, "http://"+v.Axon+api.PathScores, timeout)
			if err != nil {
				v.Error = err.Error()
				return
			}
			v.Updated = rep.Updated
			for _, s := range rep.Scores {
				if s.Hotkey == self {
					v.Scored, v.Score = true, &s
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// fetchReport reads one validator's signed /scores.
func fetchReport(ctx context.Context, httpc *http.Client, signer *protocol.Signer, hotkey, url string, timeout time.Duration) (*api.ValidatorScores, error) {
	raw, err := hex.DecodeString(hotkey)
	if err != nil || len(raw) != keys.PublicKeySize {
		return nil, fmt.Errorf("hotkey %q is not a key", hotkey)
	}
	pk := keys.PublicKey(raw)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := signer.NewRequest(ctx, http.MethodGet, url, nil, pk)
	if err != nil {
		return nil, err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("unreachable: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	if len(body) > maxReportBytes {
		return nil, fmt.Errorf("%s: answer larger than %d bytes", url, maxReportBytes)
	}
	if _, err := protocol.VerifyResponse(resp, body, pk); err != nil {
		return nil, fmt.Errorf("%s: not signed by the validator's hotkey, refused: %w", url, err)
	}
	rep := new(api.ValidatorScores)
	if err := json.Unmarshal(body, rep); err != nil {
		return nil, fmt.Errorf("%s: decode: %w", url, err)
	}
	return rep, nil
}
