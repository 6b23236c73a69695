package dashboard

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"time"

	"go.uber.org/zap"
)

// static is the page: plain HTML, CSS and JavaScript, no build step.
//
//go:embed static
var static embed.FS

// contentTypes maps the page's file extensions to their media types.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// eventWriteTimeout bounds each write to an event stream, so a client
// that stops reading does not hold its handler forever.
const eventWriteTimeout = 10 * time.Second

// Handler serves the page and its data:
//
//	GET /               the page
//	GET /static/<file>  its script and style sheet
//	GET /api/metagraph  the latest Status (503 until the first metagraph)
//	GET /api/history    the recorded epochs, a History
//	GET /api/scores     the validators' latest scores, a ScoresView
//	GET /events         server-sent events: "metagraph" (a Status) at each
//	                    update, "epoch" (an EpochRecord) at each new epoch,
//	                    "scores" (a ScoresView) after each round of fetches
//	GET /healthz        200 while the process serves
//	GET /readyz         200 once a fresh metagraph is held, else 503
//
// The Status of /api/metagraph is a JSON object: netuid, height, epoch,
// last_epoch_block, next_epoch_block, epoch_emission, supply, stale,
// error, updated, recorded (see Status), and
//
//	mechanisms  the subnet's incentive mechanisms, by index, at least one:
//	            {"mechanism": m, "name": "inference", "split": 39321},
//	            split being the mechanism's share of each epoch's emission
//	            in force, of 65535 (the even split when none is stored;
//	            the splits sum to 65535)
//	subnet      the chain's SubnetView: owner, burn, n, created, and the
//	            hyperparameters as stored in params (mechanism_count,
//	            mechanism_emission_split: null when even)
//	neurons     the chain's NeuronViews, by uid: uid, hotkey, coldkey,
//	            stake, consensus, incentive, dividends, emission,
//	            validator_trust, validator_permit, last_update, ... With
//	            more than one mechanism these are the aggregate over the
//	            mechanisms, and "mechanisms" holds each mechanism's own,
//	            in the order of the top-level mechanisms:
//	            {"mechanism": m, "consensus", "incentive", "dividends",
//	            "validator_trust", "emission", "last_update"}; with one
//	            mechanism a neuron has no "mechanisms" and its fields are
//	            mechanism 0's.
//
// Fractions (consensus, incentive, dividends, validator_trust, split)
// are u16 proportions of 65535; stakes and emissions are base units
// (1 AGR = 10^9).
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { d.serveStatic(w, "index.html") })
	mux.HandleFunc("GET /static/{file}", func(w http.ResponseWriter, r *http.Request) { d.serveStatic(w, r.PathValue("file")) })
	mux.HandleFunc("GET /api/metagraph", d.serveMetagraph)
	mux.HandleFunc("GET /api/history", d.serveHistory)
	mux.HandleFunc("GET /api/scores", d.serveScores)
	mux.HandleFunc("GET /events", d.serveEvents)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", d.serveReady)
	return securityHeaders(mux)
}

// securityHeaders keeps the page to its own origin: no scripts, styles,
// fonts or connections elsewhere.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func (d *Dashboard) serveStatic(w http.ResponseWriter, name string) {
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		http.NotFound(w, nil)
		return
	}
	b, err := fs.ReadFile(static, "static/"+name)
	if err != nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	writeJSON(w, code, b)
}

func (d *Dashboard) serveMetagraph(w http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	b, why := d.status, d.current.Error
	d.mu.Unlock()
	if b == nil {
		msg := "no metagraph yet"
		if why != "" {
			msg += ": " + why
		}
		writeError(w, http.StatusServiceUnavailable, msg)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (d *Dashboard) serveHistory(w http.ResponseWriter, _ *http.Request) {
	b, err := json.Marshal(d.HistorySnapshot())
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("encode history: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (d *Dashboard) serveScores(w http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	b := d.scoresRaw
	d.mu.Unlock()
	writeJSON(w, http.StatusOK, b)
}

func (d *Dashboard) serveReady(w http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	have, cur := d.status != nil, d.current
	d.mu.Unlock()
	switch {
	case !have:
		writeError(w, http.StatusServiceUnavailable, "no metagraph yet: "+cur.Error)
	case cur.Stale:
		writeError(w, http.StatusServiceUnavailable, "the metagraph is stale: "+cur.Error)
	default:
		b, _ := json.Marshal(map[string]any{"height": cur.Height, "epoch": cur.Epoch})
		writeJSON(w, http.StatusOK, b)
	}
}

// serveEvents streams server-sent events until the client goes away or
// Run ends. A slow client skips intermediate metagraph updates (it gets
// the latest) but gets every epoch still in the history.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case <-d.stopped:
		writeError(w, http.StatusServiceUnavailable, "the dashboard is stopping")
		return
	default:
	}
	rc := http.NewResponseController(w)
	send := func(chunk []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		return rc.Flush()
	}
	event := func(name string, data []byte) []byte {
		b := make([]byte, 0, len(name)+len(data)+16)
		b = append(b, "event: "...)
		b = append(b, name...)
		b = append(b, "\ndata: "...)
		b = append(b, data...) // JSON from encoding/json: one line
		return append(b, "\n\n"...)
	}

	wake := make(chan struct{}, 1)
	d.subscribe(wake)
	defer d.unsubscribe(wake)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	// The client reads the history itself when it connects; from here
	// on it is told of every newer epoch.
	d.mu.Lock()
	sentEpoch := d.history.newest()
	d.mu.Unlock()
	var sentStatus, sentScores uint64
	flush := func() error {
		var chunk []byte
		d.mu.Lock()
		epochs, newest := d.history.since(sentEpoch)
		sentEpoch = newest
		for _, e := range epochs {
			chunk = append(chunk, event("epoch", e)...)
		}
		if d.status != nil && d.statusSeq != sentStatus {
			chunk = append(chunk, event("metagraph", d.status)...)
			sentStatus = d.statusSeq
		}
		if d.scoresSeq != sentScores {
			chunk = append(chunk, event("scores", d.scoresRaw)...)
			sentScores = d.scoresSeq
		}
		d.mu.Unlock()
		if len(chunk) == 0 {
			return nil
		}
		return send(chunk)
	}

	if err := send([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	if err := flush(); err != nil {
		return
	}
	hb := time.NewTicker(d.cfg.Heartbeat)
	defer hb.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-d.stopped:
			_ = send([]byte(": the dashboard is stopping\n\n"))
			return
		case <-wake:
			err = flush()
		case <-hb.C:
			err = send([]byte(": heartbeat\n\n"))
		}
		if err != nil {
			d.log.Debug("event stream ended", zap.Error(err))
			return
		}
	}
}
