package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/node"
)

// deadClient is a client of a node that is not there.
func deadClient(t *testing.T) *chainclient.Client {
	t.Helper()
	ports, err := node.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chainclient.New(fmt.Sprintf("tcp://127.0.0.1:%d", ports[0]))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sseEvent is one server-sent event, or a comment (name "").
type sseEvent struct {
	name, data, comment string
}

// readEvents parses a text/event-stream into events until it ends; the
// channel closes then.
func readEvents(body io.Reader) <-chan sseEvent {
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		r := bufio.NewReader(body)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				out <- sseEvent{comment: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data += line[len("data: "):]
			}
		}
	}()
	return out
}

// nextEvent returns the next event named name (skipping others), failing
// the test if none comes within the time or the stream ends.
func nextEvent(t *testing.T, events <-chan sseEvent, name string, within time.Duration) sseEvent {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream ended while waiting for %q", name)
			}
			if ev.name == name || (name == ":" && ev.comment != "") {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %q event within %v", name, within)
		}
	}
}

// openEvents connects to url's /events until the test ends.
func openEvents(t *testing.T, ctx context.Context, base string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/events: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	return resp, readEvents(resp.Body)
}

func get(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func getJSON[T any](t *testing.T, url string) T {
	t.Helper()
	code, _, b := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d: %s", url, code, b)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
	return v
}

func TestNewChecksConfig(t *testing.T) {
	c := deadClient(t)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no chain client"},
		{Config{Client: c, History: -1}, "history -1"},
		{Config{Client: c, History: maxHistory + 1}, "want 1 to"},
		{Config{Client: c, Validators: []string{"ftp://x"}}, `validator "ftp://x"`},
		{Config{Client: c, Validators: []string{"http://"}}, `want http://host:port`},
		{Config{Client: c, Validators: []string{"http://a:1/?q=1"}}, `want http://host:port`},
		{Config{Client: c, Validators: []string{"http://a:1", "http://a:1/"}}, "listed twice"},
		{Config{Client: c, MechanismNames: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}}, "9 mechanism names"},
		{Config{Client: c, MechanismNames: []string{"inference", " "}}, "mechanism 1: empty name"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v): %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
	d, err := New(Config{Client: c, Validators: []string{"http://127.0.0.1:9/status/"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.cfg.History != DefaultHistory || d.history.cap() != DefaultHistory || d.validators[0] != "http://127.0.0.1:9/status" {
		t.Errorf("defaults: history %d, validators %v", d.cfg.History, d.validators)
	}
}

// TestMechanisms checks the mechanisms a Status lists: the split in
// force (the even one, remainder to mechanism 0, when none is stored) and
// the configured names, "mechanism N" for the rest.
func TestMechanisms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		count uint8
		split []uint16
		names []string
		want  []Mechanism
	}{
		{"one", 1, nil, nil, []Mechanism{{0, "mechanism 0", 65535}}},
		{"one named", 1, nil, []string{"inference", "labels"}, []Mechanism{{0, "inference", 65535}}},
		{"stored split", 2, []uint16{39321, 26214}, []string{"inference", "labels"},
			[]Mechanism{{0, "inference", 39321}, {1, "labels", 26214}}},
		{"even, remainder to 0", 4, nil, []string{"a"},
			[]Mechanism{{0, "a", 16386}, {1, "mechanism 1", 16383}, {2, "mechanism 2", 16383}, {3, "mechanism 3", 16383}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := chain.DefaultHyperparams()
			p.MechanismCount, p.MechanismSplit = tc.count, tc.split
			got := mechanisms(&p, tc.names)
			if !slices.Equal(got, tc.want) {
				t.Errorf("mechanisms: %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRing(t *testing.T) {
	r := newRing(3)
	if r.len() != 0 || r.newest() != 0 || len(r.records()) != 0 {
		t.Fatal("a new ring is not empty")
	}
	for e := uint64(1); e <= 5; e++ {
		r.add(EpochRecord{Epoch: e}, []byte(fmt.Sprint(e)))
		if want := min(int(e), 3); r.len() != want {
			t.Fatalf("after %d adds: len %d, want %d", e, r.len(), want)
		}
		if r.newest() != e {
			t.Fatalf("newest %d, want %d", r.newest(), e)
		}
	}
	var got []uint64
	for _, rec := range r.records() {
		got = append(got, rec.Epoch)
	}
	if fmt.Sprint(got) != "[3 4 5]" {
		t.Errorf("records %v, want [3 4 5]", got)
	}
	raw, newest := r.since(3)
	if len(raw) != 2 || string(raw[0]) != "4" || string(raw[1]) != "5" || newest != 5 {
		t.Errorf("since(3) = %q, %d", raw, newest)
	}
	if raw, newest := r.since(9); len(raw) != 0 || newest != 9 {
		t.Errorf("since(9) = %q, %d", raw, newest)
	}
}

// fakeValidator serves ValidatorScores at /scores, or fails with code.
type fakeValidator struct {
	scores api.ValidatorScores
	code   int
	hang   bool
}

func (f *fakeValidator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/scores" {
		http.NotFound(w, r)
		return
	}
	if f.hang {
		<-r.Context().Done()
		return
	}
	if f.code != 0 {
		http.Error(w, "scorer is warming up", f.code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.scores)
}

// downURL is the URL of a server that has stopped.
func downURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	return s.URL
}

func TestScores(t *testing.T) {
	good := &fakeValidator{scores: api.ValidatorScores{Hotkey: "aa", UID: 1, Updated: time.Now().UTC(),
		Scores: []api.UIDScore{{UID: 2, Hotkey: "bb", Score: 0.75, LastReason: "ok", Reasons: map[string]uint64{"ok": 7, "copy": 1}}}}}
	goodSrv := httptest.NewServer(good)
	defer goodSrv.Close()
	broken := httptest.NewServer(&fakeValidator{code: http.StatusInternalServerError})
	defer broken.Close()
	slow := httptest.NewServer(&fakeValidator{hang: true})
	defer slow.Close()
	down := downURL(t)

	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	d, err := New(Config{Client: deadClient(t), Validators: []string{goodSrv.URL, down, broken.URL, slow.URL},
		ScoresTimeout: 300 * time.Millisecond, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()

	before := getJSON[ScoresView](t, srv.URL+"/api/scores")
	if len(before.Validators) != 4 || before.Validators[0].State != StatePending || before.Validators[1].URL != down {
		t.Fatalf("before any fetch: %+v", before)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	d.fetchScores(ctx)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("a round with a hanging validator took %v (timeout 300ms)", el)
	}
	got := getJSON[ScoresView](t, srv.URL+"/api/scores")
	v := got.Validators
	if len(v) != 4 {
		t.Fatalf("%d reports", len(v))
	}
	if v[0].State != StateOK || v[0].Error != "" || v[0].Scores == nil || len(v[0].Scores.Scores) != 1 ||
		v[0].Scores.Scores[0].Reasons["ok"] != 7 || !v[0].LastOK.Equal(now) || v[0].Scores.UID != 1 {
		t.Errorf("good validator: %+v", v[0])
	}
	for i, want := range []string{"connection refused", "500 Internal Server Error: scorer is warming up", "no answer within 300ms"} {
		r := v[i+1]
		if r.State != StateError || !strings.Contains(r.Error, want) || r.Scores != nil || !r.Fetched.Equal(now) {
			t.Errorf("validator %s: %+v, want an error containing %q", r.URL, r, want)
		}
	}

	// The good one goes down: its error shows, with the last good answer.
	goodSrv.Close()
	now = now.Add(time.Minute)
	d.fetchScores(ctx)
	r := getJSON[ScoresView](t, srv.URL+"/api/scores").Validators[0]
	if r.State != StateError || r.Error == "" || r.Scores == nil || r.Scores.Hotkey != "aa" || !r.LastOK.Equal(now.Add(-time.Minute)) {
		t.Errorf("good validator gone: %+v", r)
	}
}

func TestStaticAndEmptyAPI(t *testing.T) {
	d, err := New(Config{Client: deadClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		path, ctype, body string
		code              int
	}{
		{"/", "text/html; charset=utf-8", `<table id="metagraph"`, 200},
		{"/static/app.js", "text/javascript; charset=utf-8", "new EventSource('events')", 200},
		{"/static/style.css", "text/css; charset=utf-8", "@media (max-width: 640px)", 200},
		{"/static/nope.js", "", "", 404},
		{"/static/index.go", "", "", 404},
		{"/nope", "", "", 404},
		{"/healthz", "text/plain; charset=utf-8", "ok", 200},
		{"/readyz", "application/json", "no metagraph yet", 503},
		{"/api/metagraph", "application/json", `{"error":"no metagraph yet"}`, 503},
		{"/api/history", "application/json", `{"netuid":0,"capacity":200,"epochs":[]}`, 200},
		{"/api/scores", "application/json", `{"validators":[]}`, 200},
	} {
		code, h, b := get(t, srv.URL+tc.path)
		if code != tc.code || (tc.ctype != "" && h.Get("Content-Type") != tc.ctype) || !strings.Contains(string(b), tc.body) {
			t.Errorf("GET %s: %d %s\n%.200s", tc.path, code, h.Get("Content-Type"), b)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, h.Get("Content-Security-Policy"))
		}
	}
	// Nothing on the page reaches beyond the dashboard's own origin.
	for _, f := range []string{"static/index.html", "static/app.js", "static/style.css"} {
		b, err := static.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"https://", "//fonts.", "//cdn", "@import"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s refers to %q", f, bad)
			}
		}
	}
}

// TestEventsStream publishes by hand (no chain) and reads the stream: the
// current state at once, each update and epoch after, heartbeats when
// idle, and the end of the stream when the client leaves.
func TestEventsStream(t *testing.T) {
	d, err := New(Config{Client: deadClient(t), History: 2, Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	st := func(h int64, epoch uint64) Status {
		return Status{Netuid: 1, Height: h, Epoch: epoch, Neurons: []chain.NeuronView{{UID: 0, Hotkey: "aa"}}}
	}
	d.publish(st(10, 1), &EpochRecord{Epoch: 1, UIDs: []UIDRecord{{UID: 0, Emission: 5}}})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sctx, leave := context.WithCancel(ctx)
	_, events := openEvents(t, sctx, srv.URL)
	var got Status
	if err := json.Unmarshal([]byte(nextEvent(t, events, "metagraph", 5*time.Second).data), &got); err != nil || got.Height != 10 || got.Recorded != 1 {
		t.Fatalf("first metagraph event: %+v, %v", got, err)
	}
	nextEvent(t, events, "scores", 5*time.Second)
	nextEvent(t, events, ":", 5*time.Second) // a heartbeat

	// An update without an epoch, then one with.
	d.publish(st(11, 1), nil)
	if err := json.Unmarshal([]byte(nextEvent(t, events, "metagraph", 5*time.Second).data), &got); err != nil || got.Height != 11 {
		t.Fatalf("second metagraph event: %+v, %v", got, err)
	}
	d.publish(st(20, 2), &EpochRecord{Epoch: 2, UIDs: []UIDRecord{{UID: 0, Emission: 6}}})
	var rec EpochRecord
	if err := json.Unmarshal([]byte(nextEvent(t, events, "epoch", 5*time.Second).data), &rec); err != nil || rec.Epoch != 2 || rec.UIDs[0].Emission != 6 {
		t.Fatalf("epoch event: %+v, %v", rec, err)
	}
	d.publish(st(30, 3), &EpochRecord{Epoch: 3})
	h := getJSON[History](t, srv.URL+"/api/history")
	if h.Capacity != 2 || len(h.Epochs) != 2 || h.Epochs[0].Epoch != 2 || h.Epochs[1].Epoch != 3 {
		t.Errorf("history of capacity 2 after 3 epochs: %+v", h)
	}

	// The client leaves: its handler ends and unsubscribes.
	leave()
	waitFor(t, 5*time.Second, "the stream's handler to end", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.subs) == 0
	})
}

// TestRunStopsOnCancel runs against a node that is not there: Run waits
// for it, and returns nil when cancelled, ending the open event streams.
func TestRunStopsOnCancel(t *testing.T) {
	d, err := New(Config{Client: deadClient(t), Heartbeat: time.Hour,
		Metagraph: chainclient.MetagraphOptions{RefreshTimeout: 200 * time.Millisecond, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	tctx, tcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer tcancel()
	_, events := openEvents(t, tctx, srv.URL)
	nextEvent(t, events, "scores", 5*time.Second)
	waitFor(t, 5*time.Second, "the dead node reported", func() bool {
		code, _, b := get(t, srv.URL+"/api/metagraph")
		return code == http.StatusServiceUnavailable && strings.Contains(string(b), "unreachable")
	})
	if err := d.Run(ctx); err == nil || !strings.Contains(err.Error(), "only once") {
		t.Errorf("a second Run: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel")
	}
	// The stream ends (the reader's channel closes).
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-events:
			if !ok {
				code, _, _ := get(t, srv.URL+"/events")
				if code != http.StatusServiceUnavailable {
					t.Errorf("/events after Run ended: %d", code)
				}
				return
			}
		case <-timer.C:
			t.Fatal("the event stream did not end with Run")
		}
	}
}
