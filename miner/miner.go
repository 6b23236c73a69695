package miner

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/protocol"
)

// Metagraph is what the miner needs to know of its subnet: who is
// registered, with what stake and permit. *chainclient.MetagraphCache is
// one.
type Metagraph interface {
	Lookup(hotkey chain.AccountID) (chain.NeuronView, bool)
	Snapshot() (view *chain.MetagraphView, height int64, ok bool)
}

// Config configures a Miner. Key, Backend and Metagraph are required; zero
// values of the others take the defaults documented on each.
type Config struct {
	// Key is the miner's hotkey: requests must be signed for it and
	// responses are signed with it.
	Key *keys.PrivateKey
	// Backend generates.
	Backend Backend
	// Metagraph decides who may call: a registered hotkey with a validator
	// permit, or with at least MinStake.
	Metagraph Metagraph
	// MinStake lets callers without a validator permit in when they have
	// this much stake; 0 means a permit is required.
	MinStake uint64
	// MaxConcurrent bounds the requests running on the backend;
	// default Backend.Concurrency().
	MaxConcurrent int
	// MaxQueue bounds the requests waiting for it; default 256.
	MaxQueue int
	// QueueTimeout is the longest a request waits for the backend before a
	// 503 queue_timeout; default 10s.
	QueueTimeout time.Duration
	// RequestTimeout bounds a request's time on the backend; past it the
	// request ends with 504 backend_timeout (or, streaming, an error
	// event). Default 60s.
	RequestTimeout time.Duration
	// RateLimit is the requests per second each caller may make, with
	// RateBurst at once; 0 means no limit.
	RateLimit, RateBurst int
	// MaxBody is the largest request body; default protocol.DefaultMaxBody.
	MaxBody int64
	// BodyTimeout bounds the time a request's body may take to arrive
	// once its headers have (answered 400 body_read); default 10s.
	BodyTimeout time.Duration
	// Registry receives the miner's metrics, served on /metrics; nil makes
	// a new one.
	Registry *prometheus.Registry
	// Logger logs; nil logs nothing.
	Logger *zap.Logger
	// Clock is the time source; nil means time.Now.
	Clock func() time.Time
	// Labels, when set, serves human preference labels: the labelling page
	// at /label/ and the validators' preference endpoints.
	Labels *Labels
}

// Miner serves signed OpenAI-compatible requests from the subnet's
// validators on its Backend. It is an http.Handler (Handler) with its
// probes and metrics; Serve runs it on a listener.
type Miner struct {
	cfg      Config
	verifier *protocol.Verifier
	queue    *queue
	limiter  *rateLimiter
	metrics  *metrics
	registry *prometheus.Registry
	log      *zap.Logger
	now      func() time.Time

	// unsigned serves without the signed-request check, limits or
	// signatures: OpenAIHandler.
	unsigned bool

	readyMu    sync.Mutex
	readyAt    time.Time
	readyError error
}

// New checks cfg and returns a Miner.
func New(cfg Config) (*Miner, error) {
	switch {
	case cfg.Key == nil:
		return nil, errors.New("miner: no hotkey")
	case cfg.Backend == nil:
		return nil, errors.New("miner: no backend")
	case cfg.Metagraph == nil:
		return nil, errors.New("miner: no metagraph")
	case cfg.MaxConcurrent < 0 || cfg.MaxQueue < 0 || cfg.QueueTimeout < 0 || cfg.RequestTimeout < 0 || cfg.BodyTimeout < 0 || cfg.RateLimit < 0 || cfg.RateBurst < 0 || cfg.MaxBody < 0:
		return nil, errors.New("miner: negative limit in config")
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = cfg.Backend.Concurrency()
	}
	if cfg.MaxQueue == 0 {
		cfg.MaxQueue = 256
	}
	if cfg.QueueTimeout == 0 {
		cfg.QueueTimeout = 10 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = 10 * time.Second
	}
	if cfg.RateLimit > 0 && cfg.RateBurst == 0 {
		cfg.RateBurst = cfg.RateLimit
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	m := &Miner{
		cfg:      cfg,
		queue:    newQueue(cfg.MaxConcurrent, cfg.MaxQueue),
		limiter:  newRateLimiter(cfg.RateLimit, cfg.RateBurst),
		registry: cfg.Registry,
		log:      cfg.Logger.With(zap.String("component", "miner"), zap.String("hotkey", cfg.Key.Address())),
		now:      cfg.Clock,
	}
	v, err := protocol.NewVerifier(protocol.Config{
		Receiver: cfg.Key.PublicKey(),
		Allowed:  m.allowed,
		Admit:    m.admit,
		MaxBody:  cfg.MaxBody,
		Clock:    cfg.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("miner: %w", err)
	}
	m.verifier = v
	m.metrics = newMetrics(cfg.Registry, m.queue, cfg.Labels)
	return m, nil
}

// OpenAIHandler serves b as a plain OpenAI-compatible server: the miner's
// endpoints and wire format without signatures, permissions, limits or the
// queue, as vLLM or llama.cpp's server would offer b. It lets tests stand a
// real HTTP model server in for a GPU one, and lets anyone try a backend
// with any OpenAI client. Never expose it as a miner's axon.
func OpenAIHandler(b Backend) http.Handler {
	m := &Miner{
		cfg:      Config{Backend: b, RequestTimeout: 10 * time.Minute},
		unsigned: true,
		registry: prometheus.NewRegistry(),
		log:      zap.NewNop(),
		now:      time.Now,
		queue:    newQueue(1<<30, 0),
	}
	m.metrics = newMetrics(m.registry, m.queue, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathCompletions, func(w http.ResponseWriter, r *http.Request) { m.generate(w, r, "completions") })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { m.generate(w, r, "chat") })
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		if err := b.Ready(r.Context()); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(errorJSON("backend_unavailable", err.Error()))
			return
		}
		m.models(w, r)
	})
	return mux
}

// codeMetagraphUnavailable is the rejection while the miner does not yet
// know its subnet's metagraph.
const codeMetagraphUnavailable protocol.Code = "metagraph_unavailable"

// allowed is the verifier's AllowFunc: a registered hotkey with a validator
// permit, or with MinStake.
func (m *Miner) allowed(signer keys.PublicKey) error {
	if _, _, ok := m.cfg.Metagraph.Snapshot(); !ok {
		return &protocol.Error{Code: codeMetagraphUnavailable, Status: http.StatusServiceUnavailable,
			Message: "the miner has not loaded its subnet's metagraph yet; retry shortly"}
	}
	n, ok := m.cfg.Metagraph.Lookup(chain.AccountID(signer))
	switch {
	case !ok:
		return fmt.Errorf("signer %s is not registered on this subnet", signer.Address())
	case n.ValidatorPermit:
		return nil
	case m.cfg.MinStake > 0 && n.Stake >= m.cfg.MinStake:
		return nil
	case m.cfg.MinStake > 0:
		return fmt.Errorf("signer %s (uid %d) has no validator permit and stake %d, below the miner's minimum %d", signer.Address(), n.UID, n.Stake, m.cfg.MinStake)
	default:
		return fmt.Errorf("signer %s (uid %d) has no validator permit", signer.Address(), n.UID)
	}
}

// Handler returns the miner's HTTP routes:
//
//	POST /v1/completions, POST /v1/chat/completions   signed requests (Epistula v2)
//	GET  /v1/models                                   the model served
//	POST /v1/preference/tasks, /labels, /results      signed; with Labels
//	GET  /label/                                      the labelling page and its websocket, with Labels
//	GET  /healthz                                     the process is up
//	GET  /readyz                                      metagraph, registration and backend
//	GET  /metrics                                     Prometheus
func (m *Miner) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathCompletions, func(w http.ResponseWriter, r *http.Request) { m.generate(w, r, "completions") })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { m.generate(w, r, "chat") })
	mux.HandleFunc("GET /v1/models", m.models)
	mux.HandleFunc("POST "+api.PathPreferenceTasks, m.preferenceTasks)
	mux.HandleFunc("POST "+api.PathPreferenceLabels, m.preferenceLabels)
	mux.HandleFunc("POST "+api.PathPreferenceResults, m.preferenceResults)
	if m.cfg.Labels != nil {
		mux.Handle("/label/", http.StripPrefix("/label", m.cfg.Labels.Hub.Handler()))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("GET /readyz", m.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return mux
}

// Serve serves Handler on ln until ctx is cancelled, then shuts down
// gracefully: no new requests, running ones get up to five seconds.
func (m *Miner) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          zap.NewStdLog(m.log.Named("http")),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("miner: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	<-done
	return nil
}

func (m *Miner) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   []map[string]any{{"id": m.cfg.Backend.Model(), "object": "model", "owned_by": "agora"}},
	})
}

// readyz is 200 when the miner can serve: it knows the metagraph, its
// hotkey is registered on it, and the backend answers its probe (probed at
// most once every two seconds). A check that fails says why, with the
// metagraph's error when its Metagraph has an Err method.
func (m *Miner) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	ok := true
	if _, h, have := m.cfg.Metagraph.Snapshot(); !have {
		checks["metagraph"], ok = "not loaded", false
		// A chainclient.MetagraphCache says why: the node is down, the
		// subnet does not exist...
		if e, can := m.cfg.Metagraph.(interface{ Err() error }); can {
			if err := e.Err(); err != nil {
				checks["metagraph"] = "not loaded: " + err.Error()
			}
		}
	} else {
		checks["metagraph"] = "height " + strconv.FormatInt(h, 10)
		if n, reg := m.cfg.Metagraph.Lookup(chain.AccountID(m.cfg.Key.PublicKey())); reg {
			checks["registration"] = "uid " + strconv.Itoa(int(n.UID))
		} else {
			checks["registration"], ok = "hotkey not registered on the subnet", false
		}
	}
	if err := m.backendReady(r.Context()); err != nil {
		checks["backend"], ok = err.Error(), false
	} else {
		checks["backend"] = "ok"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ok, "checks": checks})
}

func (m *Miner) backendReady(ctx context.Context) error {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	if now := m.now(); now.Sub(m.readyAt) > 2*time.Second {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m.readyError = m.cfg.Backend.Ready(pctx)
		cancel()
		m.readyAt = now
	}
	return m.readyError
}

// errorBody is the JSON of every error the miner answers with, the same
// shape as the signed-request check's.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func errorJSON(code, msg string) []byte {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	out, _ := json.Marshal(b)
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// call is one verified request in flight.
type call struct {
	m        *Miner
	w        http.ResponseWriter
	vr       *protocol.Verified
	parent   context.Context // the request's own context
	endpoint string
	start    time.Time
	status   int
	id       string // the response id's suffix: the request's uuid
}

// reply writes a signed response: the answer or an error after the
// request was verified, so the validator holds evidence of either.
func (c *call) reply(status int, body []byte) {
	c.status = status
	if c.vr != nil {
		if err := protocol.SignResponse(c.w, body, c.m.cfg.Key, c.vr.SignedBy, c.vr.UUID, c.m.now()); err != nil {
			c.m.log.Error("sign response", zap.Error(err))
		}
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

// fail refuses the call with status and a reason that also labels the
// rejection metric.
func (c *call) fail(status int, reason, msg string) {
	c.m.metrics.rejections.WithLabelValues(reason).Inc()
	c.reply(status, errorJSON(reason, msg))
}

// done records the call's metrics.
func (c *call) done() {
	c.m.metrics.requests.WithLabelValues(c.endpoint, strconv.Itoa(c.status)).Inc()
	c.m.metrics.latency.WithLabelValues(c.endpoint).Observe(c.m.now().Sub(c.start).Seconds())
}

func (m *Miner) generate(w http.ResponseWriter, r *http.Request, endpoint string) {
	if m.unsigned {
		c := &call{m: m, w: w, parent: r.Context(), endpoint: endpoint, start: m.now()}
		defer c.done()
		m.generateUnsigned(c, r)
		return
	}
	c, ok := m.signedCall(w, r, endpoint)
	if !ok {
		return
	}
	defer c.done()
	signer := c.vr.Signer()
	req := c.parse(c.vr.Body)
	if req == nil {
		return
	}

	var prio uint64
	if n, ok := m.cfg.Metagraph.Lookup(chain.AccountID(signer)); ok {
		prio = n.Stake
	}
	release, err := m.queue.acquire(r.Context(), prio, m.cfg.QueueTimeout)
	switch {
	case errors.Is(err, errQueueFull):
		c.fail(http.StatusServiceUnavailable, "queue_full", fmt.Sprintf("queue full: %d requests are waiting, none with less stake than yours (%d)", m.cfg.MaxQueue, prio))
		return
	case errors.Is(err, errQueueTimeout):
		c.fail(http.StatusServiceUnavailable, "queue_timeout", fmt.Sprintf("queue timeout: no backend slot within %s", m.cfg.QueueTimeout))
		return
	case err != nil:
		c.status = 499 // the caller went away
		m.metrics.rejections.WithLabelValues("client_gone").Inc()
		return
	}
	defer release()
	m.run(c, req)
}

// parse decodes and checks the request body, answering 400 or 404 and
// returning nil if it is not one this miner serves.
func (c *call) parse(body []byte) *Request {
	var req *Request
	var err error
	if c.endpoint == "chat" {
		req, err = parseChat(body)
	} else {
		req, err = parseCompletion(body)
	}
	if err == nil && req.Stream && req.Options.TopLogprobs > 0 {
		err = badf("top log-probabilities are not supported with stream: true")
	}
	if err != nil {
		c.fail(http.StatusBadRequest, "bad_request", err.Error())
		return nil
	}
	if model := c.m.cfg.Backend.Model(); req.Model != "" && req.Model != model {
		c.fail(http.StatusNotFound, "model_not_found", fmt.Sprintf("model %q is not served here; this miner serves %q", req.Model, model))
		return nil
	}
	return req
}

// generateUnsigned is OpenAIHandler's path: read, parse, run.
func (m *Miner) generateUnsigned(c *call, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, protocol.DefaultMaxBody+1))
	if err != nil || len(body) > protocol.DefaultMaxBody {
		c.fail(http.StatusBadRequest, "bad_request", "body unreadable or above 1 MiB")
		return
	}
	c.id, _ = protocol.NewUUID(rand.Reader)
	if req := c.parse(body); req != nil {
		m.run(c, req)
	}
}

// run generates for a checked request and writes the response.
func (m *Miner) run(c *call, req *Request) {
	ctx, cancelRun := context.WithTimeout(c.parent, m.cfg.RequestTimeout)
	defer cancelRun()
	if req.Stream {
		m.stream(ctx, c, req)
		return
	}
	began := m.now()
	if pt, ok := m.cfg.Backend.(passThrough); ok {
		a, err := pt.GenerateRaw(ctx, req)
		if err != nil {
			m.failed(ctx, c, err)
			return
		}
		m.countTokens(a.CompletionTokens, m.now().Sub(began))
		c.reply(http.StatusOK, a.Body)
		return
	}
	g, err := m.cfg.Backend.Generate(ctx, req, nil)
	if err != nil {
		m.failed(ctx, c, err)
		return
	}
	m.countTokens(completionTokens(g), m.now().Sub(began))
	body, _ := json.Marshal(m.response(c, req, g))
	c.reply(http.StatusOK, body)
}

// failed answers a call whose generation failed before any of it was sent
// (ctx is the generation's) with the status and reason the error calls
// for.
func (m *Miner) failed(ctx context.Context, c *call, err error) {
	status, reason := m.classify(c.parent, ctx, err)
	m.logFailure(c, reason, err)
	c.fail(status, reason, err.Error())
}

// logFailure logs a failed generation: a warning, unless the caller went
// away (a validator's deadline, a shutdown), which is routine.
func (m *Miner) logFailure(c *call, reason string, err error) {
	if c.parent.Err() != nil {
		m.log.Debug("generate: the caller went away", zap.String("reason", reason), zap.Error(err))
		return
	}
	m.log.Warn("generate", zap.String("reason", reason), zap.Error(err))
}

// classify turns a backend error into a status and a reason.
func (m *Miner) classify(parent, ctx context.Context, err error) (int, string) {
	var br *badRequest
	switch {
	case errors.As(err, &br):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, llm.ErrIdleTimeout), ctx.Err() != nil && parent.Err() == nil:
		return http.StatusGatewayTimeout, "backend_timeout"
	default:
		return http.StatusBadGateway, "backend_error"
	}
}

// countTokens records n completion tokens generated in took.
func (m *Miner) countTokens(n int, took time.Duration) {
	m.metrics.tokens.Add(float64(n))
	if took > 0 && n > 0 {
		m.metrics.tokensRate.Observe(float64(n) / took.Seconds())
	}
}

func finish(reason string) *string {
	if reason == "" {
		reason = llm.FinishStop
	}
	return &reason
}

// completionTokens is g's completion token count: the backend's figure,
// or the tokens it returned.
func completionTokens(g *llm.OpenAIGeneration) int {
	if g.CompletionTokenCount > 0 {
		return g.CompletionTokenCount
	}
	return len(g.Tokens)
}

func usageOf(g *llm.OpenAIGeneration) *usage {
	n := completionTokens(g)
	return &usage{PromptTokens: g.PromptTokenCount, CompletionTokens: n, TotalTokens: g.PromptTokenCount + n}
}

// response is the whole non-streamed answer.
func (m *Miner) response(c *call, req *Request, g *llm.OpenAIGeneration) any {
	created := c.start.Unix()
	model := m.cfg.Backend.Model()
	if req.Chat {
		ch := chatChoice{Message: &chatMessageOut{Role: "assistant", Content: g.Text}, FinishReason: finish(g.FinishReason)}
		if req.Logprobs {
			ch.Logprobs = chatLogprobsOf(g.Tokens, g.TopLogprobs, req.TokenIDs)
		}
		return chatResponse{ID: "chatcmpl-" + c.id, Object: "chat.completion", Created: created, Model: model, Choices: []chatChoice{ch}, Usage: usageOf(g)}
	}
	ch := completionChoice{Text: g.Text, FinishReason: finish(g.FinishReason)}
	if req.Logprobs {
		ch.Logprobs = completionLogprobsOf(g.Tokens, g.TopLogprobs, req.TokenIDs, 0)
	}
	return completionResponse{ID: "cmpl-" + c.id, Object: "text_completion", Created: created, Model: model, Choices: []completionChoice{ch}, Usage: usageOf(g)}
}

// stream answers with server-sent events, signed in trailers. Headers go
// out with the first chunk, so a backend that fails before producing
// anything still gets a proper error status.
func (m *Miner) stream(ctx context.Context, c *call, req *Request) {
	var s streamWriter
	id, created, model := "cmpl-"+c.id, c.start.Unix(), m.cfg.Backend.Model()
	object := "text_completion"
	if req.Chat {
		id, object = "chatcmpl-"+c.id, "chat.completion.chunk"
	}
	offset := 0
	send := func(v any) error {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(s, "data: %s\n\n", b); err != nil {
			return err
		}
		s.Flush()
		return nil
	}
	start := func() error {
		if s != nil {
			return nil
		}
		if c.vr != nil {
			s = protocol.NewStreamSigner(c.w, m.cfg.Key, c.vr.SignedBy, c.vr.UUID)
		} else {
			s = plainStream{c.w}
		}
		h := c.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		c.status = http.StatusOK
		c.w.WriteHeader(http.StatusOK)
		m.metrics.firstToken.WithLabelValues(c.endpoint).Observe(m.now().Sub(c.start).Seconds())
		if req.Chat {
			return send(chatResponse{ID: id, Object: object, Created: created, Model: model,
				Choices: []chatChoice{{Delta: &chatMessageOut{Role: "assistant"}}}})
		}
		return nil
	}
	began := m.now()
	g, err := m.cfg.Backend.Generate(ctx, req, func(text string, toks []llm.TokenLogprob) error {
		if err := start(); err != nil {
			return err
		}
		if req.Chat {
			ch := chatChoice{Delta: &chatMessageOut{Content: text}}
			if req.Logprobs {
				ch.Logprobs = chatLogprobsOf(toks, nil, req.TokenIDs)
			}
			return send(chatResponse{ID: id, Object: object, Created: created, Model: model, Choices: []chatChoice{ch}})
		}
		ch := completionChoice{Text: text}
		if req.Logprobs {
			ch.Logprobs = completionLogprobsOf(toks, nil, req.TokenIDs, offset)
		}
		offset += len(text)
		return send(completionResponse{ID: id, Object: object, Created: created, Model: model, Choices: []completionChoice{ch}})
	})
	if err != nil && s == nil {
		m.failed(ctx, c, err)
		return
	}
	if err != nil {
		// Mid-stream: the status is out; end with an error event, signed
		// like the rest, so the validator sees where and why it stopped.
		_, reason := m.classify(c.parent, ctx, err)
		m.metrics.rejections.WithLabelValues(reason).Inc()
		m.logFailure(c, reason, err)
		_ = send(json.RawMessage(errorJSON(reason, err.Error())))
	} else {
		if err := start(); err != nil {
			return
		}
		m.countTokens(completionTokens(g), m.now().Sub(began))
		if req.Chat {
			_ = send(chatResponse{ID: id, Object: object, Created: created, Model: model,
				Choices: []chatChoice{{Delta: &chatMessageOut{}, FinishReason: finish(g.FinishReason)}}})
		} else {
			_ = send(completionResponse{ID: id, Object: object, Created: created, Model: model,
				Choices: []completionChoice{{FinishReason: finish(g.FinishReason)}}})
		}
		if req.IncludeUsage {
			if req.Chat {
				_ = send(chatResponse{ID: id, Object: object, Created: created, Model: model, Choices: []chatChoice{}, Usage: usageOf(g)})
			} else {
				_ = send(completionResponse{ID: id, Object: object, Created: created, Model: model, Choices: []completionChoice{}, Usage: usageOf(g)})
			}
		}
		_, _ = fmt.Fprint(s, "data: [DONE]\n\n")
	}
	if err := s.Finish(m.now()); err != nil {
		m.log.Error("sign stream", zap.Error(err))
	}
}

// streamWriter is where a streamed body goes: a StreamSigner, or plainly
// the ResponseWriter for OpenAIHandler.
type streamWriter interface {
	io.Writer
	Flush()
	Finish(now time.Time) error
}

type plainStream struct{ w http.ResponseWriter }

func (p plainStream) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p plainStream) Flush() {
	if f, ok := p.w.(http.Flusher); ok {
		f.Flush()
	}
}
func (p plainStream) Finish(time.Time) error { return nil }
