package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/api"
)

// The states of a ValidatorReport.
const (
	StatePending = "pending" // not asked yet
	StateOK      = "ok"      // the last fetch succeeded
	StateError   = "error"   // the last fetch failed: see Error
)

// ValidatorReport is what the dashboard last heard from one validator.
type ValidatorReport struct {
	// URL is the validator's base URL.
	URL string `json:"url"`
	// State is StatePending, StateOK or StateError.
	State string `json:"state"`
	// Error is why the last fetch failed.
	Error string `json:"error,omitempty"`
	// Fetched is when the last fetch ended, LastOK when the last good
	// one did (zero if none).
	Fetched time.Time `json:"fetched,omitzero"`
	LastOK  time.Time `json:"last_ok,omitzero"`
	// LatencyMS is how long the last fetch took, in milliseconds.
	LatencyMS int64 `json:"latency_ms"`
	// Scores is the last good answer, kept (and shown as old) while
	// fetches fail; nil if there has been none.
	Scores *api.ValidatorScores `json:"scores"`
}

// ScoresView is the answer of /api/scores and what the "scores" event
// carries: one report per configured validator, in the configured order.
type ScoresView struct {
	Validators []ValidatorReport `json:"validators"`
}

// maxScoresBytes bounds a validator's answer.
const maxScoresBytes = 8 << 20

// scoresLoop fetches every validator's scores each time it is kicked,
// one round at a time: kicks during a round fold into one more round.
func (d *Dashboard) scoresLoop(ctx context.Context, kick <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
		d.fetchScores(ctx)
	}
}

// fetchScores asks every validator at once, each with a deadline, and
// publishes the reports.
func (d *Dashboard) fetchScores(ctx context.Context) {
	d.mu.Lock()
	reports := append([]ValidatorReport(nil), d.scores...)
	d.mu.Unlock()
	var wg sync.WaitGroup
	for i := range reports {
		wg.Go(func() {
			r := &reports[i]
			start := time.Now()
			s, err := d.fetchOne(ctx, r.URL)
			r.LatencyMS = time.Since(start).Milliseconds()
			r.Fetched = d.now()
			if err != nil {
				if r.State != StateError {
					d.log.Warn("validator scores unavailable", zap.String("validator", r.URL), zap.Error(err))
				}
				r.State, r.Error = StateError, err.Error()
				return
			}
			if r.State == StateError {
				d.log.Info("validator scores available again", zap.String("validator", r.URL))
			}
			r.State, r.Error, r.LastOK, r.Scores = StateOK, "", r.Fetched, s
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // shutting down: the cut-short fetches are not the validators' fault
	}
	raw := d.marshalScores(reports)
	d.mu.Lock()
	d.scores, d.scoresRaw = reports, raw
	d.scoresSeq++
	d.notifyLocked()
	d.mu.Unlock()
}

func (d *Dashboard) marshalScores(reports []ValidatorReport) []byte {
	b, err := json.Marshal(ScoresView{Validators: reports})
	if err != nil {
		d.log.Error("encode scores", zap.Error(err))
		return []byte(`{"validators":[]}`)
	}
	return b
}

// fetchOne gets one validator's scores within ScoresTimeout.
func (d *Dashboard) fetchOne(ctx context.Context, base string) (*api.ValidatorScores, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ScoresTimeout)
	defer cancel()
	u := base + api.PathScores
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("dashboard: scores from %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := d.httpc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("dashboard: scores from %s: no answer within %v: %w", u, d.cfg.ScoresTimeout, err)
		}
		return nil, fmt.Errorf("dashboard: scores from %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, fmt.Errorf("dashboard: scores from %s: %s: %s", u, resp.Status, strings.TrimSpace(string(msg)))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScoresBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dashboard: scores from %s: read: %w", u, err)
	}
	if len(body) > maxScoresBytes {
		return nil, fmt.Errorf("dashboard: scores from %s: answer larger than %d bytes", u, maxScoresBytes)
	}
	s := new(api.ValidatorScores)
	if err := json.Unmarshal(body, s); err != nil {
		return nil, fmt.Errorf("dashboard: scores from %s: decode: %w", u, err)
	}
	if s.Scores == nil {
		s.Scores = []api.UIDScore{}
	}
	return s, nil
}
