package rlhf

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"
)

// HubConfig configures a Hub. Store, Queue, Tokens and Miner are
// required; the zero value of every other field is a sensible default.
type HubConfig struct {
	// Store receives every label; an ack is sent only after Store.Append
	// returned. The hub does not close it.
	Store *Store
	// Queue holds the tasks to hand out. The hub does not close it.
	Queue *Queue
	// Tokens authenticates labelers. The hub does not close it.
	Tokens *Tokens
	// Miner is the miner's hotkey, recorded as Label.Miner.
	Miner string
	// AllowedOrigins lists the origins ("https://label.example.com", no
	// path) whose pages may open the websocket: the public address(es)
	// the page is served at. The request's Host header is never trusted
	// for this (a DNS rebinding page names any host it likes); besides
	// these, only a page loaded by loopback address (127.0.0.1, [::1],
	// localhost) at the port the connection came in on, over a loopback
	// connection, is allowed, so local development needs no setting.
	// Requests without an Origin header (not from a browser) are allowed.
	AllowedOrigins []string
	// Logger logs connections, refused tokens and storage errors (never a
	// token); nil logs nothing.
	Logger *zap.Logger
	// Now is the clock for labels' ReceivedAt, leases and deadlines; nil
	// means time.Now. Network deadlines always use the real clock.
	Now func() time.Time
	// TrapStats returns how many of a labeler's labels on traps the
	// validators have scored and how many were right, for the page's
	// accuracy figure. Validators score traps; the miner only hears
	// results. nil reports none. Call Hub.RefreshStats when they change.
	TrapStats func(labeler string) (resolved, correct int)
	// Tick is how often the hub drops expired tasks, hands newly free
	// tasks (expired leases) to idle labelers, and disconnects revoked
	// labelers; 0 means 1 s.
	Tick time.Duration
	// PingPeriod is how often the hub pings each page; 0 means 25 s.
	// PongWait is how long it waits for any frame (a pong at least)
	// before it drops the connection; 0 means 60 s. WriteWait bounds one
	// write; 0 means 10 s. AuthTimeout is how long a new connection has to
	// send its auth message; 0 means 10 s.
	PingPeriod, PongWait, WriteWait, AuthTimeout time.Duration
	// ReadLimit is the largest client message in bytes; 0 means 64 KiB.
	// A larger one closes the connection (code 1009).
	ReadLimit int64
	// MaxConnsPerToken is how many connections may be signed in with one
	// token at once; 0 means DefaultMaxConnsPerToken. One more is refused
	// with a too_many_connections error and close code
	// CloseTooManyConnections, so a leaked token cannot hold the hub's
	// connections, and a labeler sees why a page was refused.
	MaxConnsPerToken int
}

// DefaultMaxConnsPerToken is HubConfig.MaxConnsPerToken's default: a
// labeler's pages in a few tabs or devices.
const DefaultMaxConnsPerToken = 4

// Hub is a miner's websocket hub: it serves the labelling page, signs
// labelers in with their tokens, hands them tasks from the Queue, and
// stores their labels in the Store before it acknowledges them.
//
// The protocol is described at the top of wire.go. In short: a page
// connects to /ws, sends {"type":"auth","token":...} (the token in the
// first message rather than the URL, so it stays out of access logs; a
// "token" query parameter is accepted too, for clients that cannot do
// otherwise), re-sends any label it has not seen acknowledged, and sends
// {"type":"resume"}; the hub answers with the task leased to the labeler
// (the same one after a reconnect, until its lease runs out) or a new one.
// After each stored label it sends an ack and the next task. Every
// malformed message is answered with an error message and the connection
// stays open.
//
// Each task's two completions are shown in an order that depends on the
// task and the labeler only (a hash of both), so it is random across
// labelers and tasks but the same on every reconnect and after a restart,
// and a re-sent "left" always means the same completion.
//
// All methods are safe for concurrent use.
type Hub struct {
	cfg      HubConfig
	log      *zap.Logger
	now      func() time.Time
	origins  map[string]bool
	upgrader websocket.Upgrader
	page     http.Handler

	mu      sync.Mutex
	conns   map[*conn]struct{}
	labeled map[string]int // labeler → labels in the Store
	signed  map[string]int // token → connections signed in with it
	closed  bool

	stop      chan struct{}
	wg        sync.WaitGroup // connections and the dispatcher
	closeOnce sync.Once
}

// NewHub checks cfg and returns a hub with its dispatcher running. Serve
// Handler; call Close to stop.
func NewHub(cfg HubConfig) (*Hub, error) {
	fail := func(format string, args ...any) (*Hub, error) {
		return nil, fmt.Errorf("rlhf: new hub: "+format, args...)
	}
	switch {
	case cfg.Store == nil || cfg.Queue == nil || cfg.Tokens == nil:
		return fail("Store, Queue and Tokens are required")
	case cfg.Miner == "" || len(cfg.Miner) > MaxIDBytes:
		return fail("Miner must be the miner's hotkey (1..%d bytes), got %d bytes", MaxIDBytes, len(cfg.Miner))
	case cfg.Tick < 0 || cfg.PingPeriod < 0 || cfg.PongWait < 0 || cfg.WriteWait < 0 || cfg.AuthTimeout < 0 || cfg.ReadLimit < 0 || cfg.MaxConnsPerToken < 0:
		return fail("negative duration or limit")
	}
	cfg.MaxConnsPerToken = cmpOr(cfg.MaxConnsPerToken, DefaultMaxConnsPerToken)
	cfg.Tick = cmpOr(cfg.Tick, time.Second)
	cfg.PingPeriod = cmpOr(cfg.PingPeriod, 25*time.Second)
	cfg.PongWait = cmpOr(cfg.PongWait, 60*time.Second)
	cfg.WriteWait = cmpOr(cfg.WriteWait, 10*time.Second)
	cfg.AuthTimeout = cmpOr(cfg.AuthTimeout, 10*time.Second)
	if cfg.ReadLimit == 0 {
		cfg.ReadLimit = 64 << 10
	}
	if cfg.PingPeriod >= cfg.PongWait {
		return fail("PingPeriod %s must be shorter than PongWait %s", cfg.PingPeriod, cfg.PongWait)
	}
	h := &Hub{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		origins: map[string]bool{},
		page:    pageHandler(),
		conns:   map[*conn]struct{}{},
		labeled: map[string]int{},
		signed:  map[string]int{},
		stop:    make(chan struct{}),
	}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	h.log = h.log.With(zap.String("component", "rlhf-hub"))
	if h.now == nil {
		h.now = time.Now
	}
	for _, o := range cfg.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fail("allowed origin %q is not scheme://host[:port]", o)
		}
		h.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		CheckOrigin:     h.checkOrigin,
	}
	for l := range cfg.Store.Iterate() {
		h.labeled[l.LabelerID]++
	}
	h.wg.Add(1)
	go h.dispatch()
	return h, nil
}

// checkOrigin allows requests without an Origin header, from the
// configured origins, and from a loopback page of this very server
// (loopbackOrigin). It never looks at the Host header, which a DNS
// rebinding page controls.
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if h.origins[strings.ToLower(u.Scheme+"://"+u.Host)] {
		return true
	}
	return loopbackOrigin(u, r)
}

// loopbackOrigin reports whether origin u is a page of this server seen
// from its own machine: u's host is a loopback address or "localhost",
// its port is the one r came in on, and r came over a loopback
// connection. A rebinding page's origin names the attacker's domain, not
// a loopback address, so it never passes.
func loopbackOrigin(u *url.URL, r *http.Request) bool {
	if host := u.Hostname(); !strings.EqualFold(host, "localhost") {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Unmap().IsLoopback() {
			return false
		}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !remote.Addr().Unmap().IsLoopback() {
		return false
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	lap, err := netip.ParseAddrPort(local.String())
	return err == nil && strconv.Itoa(int(lap.Port())) == port
}

// Handler serves the labelling page at / (index.html, app.js, style.css)
// and the websocket at /ws. It may be mounted under a prefix with
// http.StripPrefix: the page finds the websocket relative to its own URL.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", h.serveWS)
	mux.Handle("/", h.page)
	return mux
}

// Close sends every connection a close frame (1001, going away), waits for
// the pages to answer it (at most WriteWait, then it drops them), and
// stops the hub's goroutines. New websocket requests get 503. Close does
// not close the Store, Queue or Tokens. A second Close returns at once.
func (h *Hub) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		conns := make([]*conn, 0, len(h.conns))
		for c := range h.conns {
			conns = append(conns, c)
		}
		h.mu.Unlock()
		close(h.stop)
		for _, c := range conns {
			c.close(websocket.CloseGoingAway, "server shutting down")
		}
		done := make(chan struct{})
		go func() { h.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(h.cfg.WriteWait):
			for _, c := range conns {
				_ = c.ws.NetConn().Close()
			}
			<-done
		}
	})
	return nil
}

// RefreshStats sends a labeler's open pages their current stats; call it
// when TrapStats has news for the labeler.
func (h *Hub) RefreshStats(labeler string) {
	st := h.stats(labeler)
	for _, c := range h.snapshot() {
		if c.labelerName() == labeler {
			c.send(ServerMessage{Type: MsgStats, Stats: st})
		}
	}
}

// Connections returns the number of open websocket connections.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func (h *Hub) snapshot() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		out = append(out, c)
	}
	return out
}

// stats returns a labeler's stats.
func (h *Hub) stats(labeler string) *LabelerStats {
	h.mu.Lock()
	st := &LabelerStats{Labeled: h.labeled[labeler]}
	h.mu.Unlock()
	if h.cfg.TrapStats != nil {
		st.TrapsResolved, st.TrapsCorrect = h.cfg.TrapStats(labeler)
		if st.TrapsResolved > 0 {
			acc := float64(st.TrapsCorrect) / float64(st.TrapsResolved)
			st.TrapAccuracy = &acc
		}
	}
	return st
}

// dispatch hands tasks to idle pages when tasks arrive and on every tick,
// on which it also drops expired tasks and disconnects revoked labelers.
func (h *Hub) dispatch() {
	defer h.wg.Done()
	tick := time.NewTicker(h.cfg.Tick)
	defer tick.Stop()
	for {
		changed := h.cfg.Queue.Changed()
		select {
		case <-h.stop:
			return
		case <-changed:
		case <-tick.C:
			h.cfg.Queue.Expire(h.now())
			for _, c := range h.snapshot() {
				// Revoked, or rotated (a leaked token replaced): a page
				// signed in with a token that no longer names its
				// labeler is signed out.
				c.mu.Lock()
				name, token := c.labeler, c.token
				c.mu.Unlock()
				if now, ok := h.cfg.Tokens.Check(token); name != "" && (!ok || now != name) {
					h.log.Info("labeler's token revoked or replaced; disconnecting", zap.String("labeler", name))
					c.send(ServerMessage{Type: MsgError, Code: CodeAuthFailed, Message: "your token was revoked or replaced"})
					c.close(CloseAuthFailed, "token revoked")
				}
			}
		}
		for _, c := range h.snapshot() {
			c.offer(false)
		}
	}
}

// aShownLeft reports whether a task's CompletionA is shown on the left to
// a labeler: a hash of both, so that it is the same on every reconnect
// and restart.
func aShownLeft(taskID, labeler string) bool {
	d := sha256.New()
	var n [4]byte
	for _, s := range []string{"agora rlhf side", taskID, labeler} {
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		d.Write(n[:])
		d.Write([]byte(s))
	}
	return d.Sum(nil)[0]&1 == 0
}

// wireTask is t as labeler sees it.
func wireTask(t *Task, labeler string) *WireTask {
	w := &WireTask{ID: t.ID, Prompt: t.Prompt, Left: t.CompletionA, Right: t.CompletionB, Deadline: t.Deadline.UTC()}
	if !aShownLeft(t.ID, labeler) {
		w.Left, w.Right = w.Right, w.Left
	}
	return w
}

// conn is one page's websocket.
type conn struct {
	h     *Hub
	ws    *websocket.Conn
	out   chan []byte   // to the writer
	quit  chan struct{} // closed by close: the writer sends the close frame and stops
	wdone chan struct{} // closed when the writer has stopped

	closeOnce sync.Once
	closeMsg  []byte      // the close frame's payload, set before quit is closed
	closing   atomic.Bool // no more read-deadline extensions

	mu      sync.Mutex
	labeler string // "" until authenticated
	token   string // the token it signed in with, checked again each tick
	ready   bool   // the page asked for tasks (resume)
	current string // the task on the page, unanswered
	waiting bool   // a wait message was sent since the last task
	// labeling is set while the reader handles a label, so that the
	// dispatcher does not send the next task before the label's ack.
	labeling bool
}

// serveWS upgrades a request to a websocket and runs its reader.
func (h *Hub) serveWS(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		http.Error(w, "labelling hub is shutting down", http.StatusServiceUnavailable)
		return
	}
	var labeler string
	if tok := r.URL.Query().Get("token"); tok != "" {
		name, ok := h.cfg.Tokens.Check(tok)
		if !ok {
			h.log.Warn("refused labeler token (query parameter)", zap.String("remote", r.RemoteAddr))
			http.Error(w, "unknown or revoked labeler token", http.StatusUnauthorized)
			return
		}
		labeler = name
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.log.Info("websocket upgrade failed", zap.String("remote", r.RemoteAddr), zap.String("origin", r.Header.Get("Origin")), zap.Error(err))
		return // the upgrader has answered
	}
	c := &conn{h: h, ws: ws, out: make(chan []byte, 64), quit: make(chan struct{}), wdone: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(h.cfg.WriteWait))
		_ = ws.Close()
		return
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	h.log.Debug("page connected", zap.String("remote", r.RemoteAddr))
	go c.writer()
	var code int
	var reason string
	if labeler != "" {
		code, reason = c.authenticated(labeler, r.URL.Query().Get("token"), "")
	}
	if code == 0 {
		code, reason = c.read()
	}
	c.close(code, reason)
	<-c.wdone
	_ = ws.Close()
	h.mu.Lock()
	delete(h.conns, c)
	c.mu.Lock()
	if c.labeler != "" {
		if h.signed[c.token]--; h.signed[c.token] <= 0 {
			delete(h.signed, c.token)
		}
	}
	c.mu.Unlock()
	h.mu.Unlock()
	h.log.Debug("page disconnected", zap.String("remote", r.RemoteAddr), zap.String("labeler", c.labelerName()), zap.Int("code", code), zap.String("reason", reason))
}

func (c *conn) labelerName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.labeler
}

// read runs the read loop until the connection ends, and returns the
// close code and reason to send (if the page did not close first).
func (c *conn) read() (int, string) {
	h := c.h
	c.ws.SetReadLimit(h.cfg.ReadLimit)
	extend := func(d time.Duration) {
		if !c.closing.Load() {
			_ = c.ws.SetReadDeadline(time.Now().Add(d))
		}
	}
	if c.labelerName() == "" {
		extend(h.cfg.AuthTimeout)
	} else {
		extend(h.cfg.PongWait)
	}
	c.ws.SetPongHandler(func(string) error {
		if c.labelerName() != "" {
			extend(h.cfg.PongWait)
		}
		return nil
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			var ne net.Error
			switch {
			case errors.As(err, &ce):
				return websocket.CloseNormalClosure, ""
			case errors.Is(err, websocket.ErrReadLimit):
				return websocket.CloseMessageTooBig, fmt.Sprintf("message larger than %d bytes", h.cfg.ReadLimit)
			case errors.As(err, &ne) && ne.Timeout() && c.labelerName() == "":
				return CloseAuthTimeout, "no auth message in time"
			}
			return websocket.CloseGoingAway, "read error"
		}
		if c.labelerName() != "" {
			extend(h.cfg.PongWait)
		}
		if typ != websocket.TextMessage {
			c.send(ServerMessage{Type: MsgError, Code: CodeBadJSON, Message: "messages are JSON in text frames"})
			continue
		}
		if stop, code, reason := c.handle(data); stop {
			return code, reason
		}
	}
}

// handle answers one client message. stop ends the connection.
func (c *conn) handle(data []byte) (stop bool, code int, reason string) {
	m, err := DecodeClientMessage(data)
	if err != nil {
		c.sendError(err)
		return false, 0, ""
	}
	labeler := c.labelerName()
	if labeler == "" && m.Type != MsgAuth && m.Type != MsgPing {
		c.send(ServerMessage{Type: MsgError, Ref: m.ID, Code: CodeNotAuthenticated, Message: "send an auth message with your token first"})
		return false, 0, ""
	}
	switch m.Type {
	case MsgPing:
		c.send(ServerMessage{Type: MsgPong, Ref: m.ID})
	case MsgAuth:
		if labeler != "" {
			c.send(ServerMessage{Type: MsgError, Ref: m.ID, Code: CodeAlreadyAuthenticated, Message: "already signed in as " + labeler})
			return false, 0, ""
		}
		name, ok := c.h.cfg.Tokens.Check(m.Token)
		if !ok {
			c.h.log.Warn("refused labeler token", zap.String("remote", c.ws.RemoteAddr().String()))
			c.send(ServerMessage{Type: MsgError, Ref: m.ID, Code: CodeAuthFailed, Message: "unknown or revoked labeler token"})
			return true, CloseAuthFailed, "authentication failed"
		}
		if code, reason := c.authenticated(name, m.Token, m.ID); code != 0 {
			return true, code, reason
		}
	case MsgResume:
		c.mu.Lock()
		c.ready = true
		c.mu.Unlock()
		c.offer(true)
	case MsgLabel:
		c.label(&m, labeler)
	}
	return false, 0, ""
}

// authenticated signs the connection in as labeler and says hello, unless
// MaxConnsPerToken connections are signed in with token already: then it
// sends a too_many_connections error and returns the close code and
// reason to end the connection with (0 when signed in).
func (c *conn) authenticated(labeler, token, ref string) (int, string) {
	h := c.h
	h.mu.Lock()
	if n := h.signed[token]; n >= h.cfg.MaxConnsPerToken {
		h.mu.Unlock()
		h.log.Info("refused a connection over the per-token limit", zap.String("labeler", labeler), zap.Int("limit", h.cfg.MaxConnsPerToken))
		c.send(ServerMessage{Type: MsgError, Ref: ref, Code: CodeTooManyConnections, Message: fmt.Sprintf(
			"%s already has %d open labelling pages, the most this miner allows for one token; close one (another tab or device) and reload this page", labeler, n)})
		return CloseTooManyConnections, fmt.Sprintf("too many connections for this token (at most %d)", h.cfg.MaxConnsPerToken)
	}
	h.signed[token]++
	c.mu.Lock()
	c.labeler, c.token = labeler, token
	c.mu.Unlock()
	h.mu.Unlock()
	_ = c.ws.SetReadDeadline(time.Now().Add(c.h.cfg.PongWait))
	c.h.log.Debug("labeler signed in", zap.String("labeler", labeler))
	c.send(ServerMessage{Type: MsgHello, Ref: ref, Labeler: labeler, Stats: c.h.stats(labeler)})
	return 0, ""
}

// label stores a label and acknowledges it, then sends the next task.
func (c *conn) label(m *ClientMessage, labeler string) {
	h := c.h
	c.mu.Lock()
	c.labeling = true
	c.mu.Unlock()
	aLeft := aShownLeft(m.TaskID, labeler)
	choice, err := m.Choice.Choice(aLeft)
	if err != nil { // DecodeClientMessage checked it
		c.send(ServerMessage{Type: MsgError, Ref: m.ID, Code: CodeBadChoice, Message: err.Error()})
		c.finish("")
		return
	}
	refuse := func(code ErrorCode, msg string) {
		c.send(ServerMessage{Type: MsgError, Ref: m.ID, Code: code, Message: msg})
		c.finish(m.TaskID)
	}
	if old, ok := h.cfg.Store.Get(m.TaskID, labeler); ok {
		if old.Choice == choice && old.Rationale == m.Rationale && old.TimeOnTaskMs == m.TimeOnTaskMs {
			// A re-send after a lost ack: acknowledge it again.
			c.send(ServerMessage{Type: MsgAck, Ref: m.ID, TaskID: m.TaskID, Stored: true, Resent: true, Stats: h.stats(labeler)})
			c.finish(m.TaskID)
			return
		}
		refuse(CodeDuplicate, "you already labelled this task")
		return
	}
	now := h.now()
	if _, err := h.cfg.Queue.Assigned(m.TaskID, labeler, now); err != nil {
		switch {
		case errors.Is(err, ErrNotAssigned):
			refuse(CodeNotAssigned, "this task was not given to you")
		case errors.Is(err, ErrTaskExpired):
			refuse(CodeTaskExpired, "this task's deadline has passed")
		default:
			refuse(CodeUnknownTask, "no such task (it may have been finished by others)")
		}
		return
	}
	l := Label{
		TaskID:       m.TaskID,
		LabelerID:    labeler,
		Choice:       choice,
		Rationale:    m.Rationale,
		TimeOnTaskMs: m.TimeOnTaskMs,
		ShownALeft:   aLeft,
		Miner:        h.cfg.Miner,
		ReceivedAt:   now,
	}
	if err := h.cfg.Store.Append(context.Background(), l); err != nil {
		h.log.Error("storing a label failed", zap.String("labeler", labeler), zap.String("task", m.TaskID), zap.Error(err))
		c.send(ServerMessage{Type: MsgError, Ref: m.ID, Code: CodeInternal, Message: "the miner could not store your label; it will be sent again"})
		c.mu.Lock()
		c.labeling = false
		c.mu.Unlock()
		return
	}
	h.cfg.Queue.Complete(m.TaskID, labeler)
	h.mu.Lock()
	h.labeled[labeler]++
	h.mu.Unlock()
	c.send(ServerMessage{Type: MsgAck, Ref: m.ID, TaskID: m.TaskID, Stored: true, Stats: h.stats(labeler)})
	c.finish(m.TaskID)
}

// finish ends the handling of a label: it moves the page on from taskID
// if that is its task, and sends the next one.
func (c *conn) finish(taskID string) {
	c.mu.Lock()
	c.labeling = false
	if taskID != "" && c.current == taskID {
		c.current = ""
	}
	c.mu.Unlock()
	c.offer(false)
}

// offer sends the page a task if it has none: the one leased to its
// labeler, or the next one from the queue, or a wait message if there is
// none. With force (a resume) it re-sends the task it has, or the wait.
func (c *conn) offer(force bool) {
	q := c.h.cfg.Queue
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.labeler == "" || !c.ready || c.closing.Load() || (c.labeling && !force) {
		return
	}
	now := c.h.now()
	if c.current != "" {
		if t, err := q.Assigned(c.current, c.labeler, now); err == nil {
			if force {
				c.send(ServerMessage{Type: MsgTask, Task: wireTask(&t, c.labeler)})
			}
			return
		}
		c.current = ""
	}
	var t Task
	ok := false
	if p := q.Pending(c.labeler, now); len(p) > 0 {
		t, ok = p[0], true
	} else {
		t, ok = q.Next(c.labeler, now)
	}
	if !ok {
		if !c.waiting || force {
			c.waiting = true
			c.send(ServerMessage{Type: MsgWait})
		}
		return
	}
	c.current, c.waiting = t.ID, false
	c.send(ServerMessage{Type: MsgTask, Task: wireTask(&t, c.labeler)})
}

func (c *conn) sendError(err error) {
	var we *WireError
	if !errors.As(err, &we) {
		we = &WireError{Code: CodeBadJSON, Message: err.Error()}
	}
	c.send(ServerMessage{Type: MsgError, Ref: we.Ref, Code: we.Code, Message: we.Message})
}

// send queues m for the writer. A page so slow that 64 messages wait for
// it is disconnected. It does not take c.mu, so callers may hold it.
func (c *conn) send(m ServerMessage) {
	m.V = WireVersion
	b, err := json.Marshal(m)
	if err != nil {
		c.h.log.Error("encoding a message failed", zap.Error(err))
		return
	}
	select {
	case c.out <- b:
	case <-c.quit:
	default:
		c.close(CloseTooSlow, "not reading its messages")
	}
}

// close asks the writer to send a close frame with code and reason and
// stop; the first call wins.
func (c *conn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeMsg = websocket.FormatCloseMessage(code, reason)
		close(c.quit)
	})
}

// writer is the connection's only writer: messages, pings, and at the end
// the close frame.
func (c *conn) writer() {
	defer close(c.wdone)
	h := c.h
	ping := time.NewTicker(h.cfg.PingPeriod)
	defer ping.Stop()
	write := func(b []byte) bool {
		_ = c.ws.SetWriteDeadline(time.Now().Add(h.cfg.WriteWait))
		if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			_ = c.ws.NetConn().Close() // ends the reader too
			return false
		}
		return true
	}
	for {
		select {
		case b := <-c.out:
			if !write(b) {
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteWait)); err != nil {
				_ = c.ws.NetConn().Close()
				return
			}
		case <-c.quit:
			for {
				select {
				case b := <-c.out:
					if !write(b) {
						return
					}
					continue
				default:
				}
				break
			}
			c.closing.Store(true)
			_ = c.ws.WriteControl(websocket.CloseMessage, c.closeMsg, time.Now().Add(h.cfg.WriteWait))
			// Give the page WriteWait to answer the close frame.
			_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(h.cfg.WriteWait))
			return
		}
	}
}
