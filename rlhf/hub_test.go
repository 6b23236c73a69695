package rlhf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testMiner is the miner hotkey of hub tests.
const testMiner = "agora1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0s6cnrt6"

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// hubEnv is a hub on a loopback httptest server with its store, queue and
// tokens in a temporary directory.
type hubEnv struct {
	store  *Store
	queue  *Queue
	tokens *Tokens
	hub    *Hub
	srv    *httptest.Server
	clock  *testClock
	tasks  map[string]Task
	token  map[string]string // labeler → token
}

type hubOpts struct {
	labelers  []string
	tasks     int
	perTask   int
	lease     time.Duration
	tick      time.Duration
	auth      time.Duration
	origins   []string
	trapStats func(string) (int, int)
	maxTasks  int
	maxConns  int // HubConfig.MaxConnsPerToken
}

func newHubEnv(tb testing.TB, o hubOpts) *hubEnv {
	tb.Helper()
	dir := tb.TempDir()
	e := &hubEnv{clock: &testClock{t: qNow}, tasks: map[string]Task{}, token: map[string]string{}}
	var err error
	if e.store, err = OpenStore(filepath.Join(dir, "labels.log"), StoreOptions{}); err != nil {
		tb.Fatal(err)
	}
	if e.queue, err = OpenQueue(filepath.Join(dir, "tasks.log"), QueueOptions{Store: e.store, LabelsPerTask: o.perTask, Lease: o.lease, MaxTasks: max(o.tasks, o.maxTasks, 1000), MaxTasksPerValidator: max(o.tasks, o.maxTasks, 1000), Now: e.clock.Now}); err != nil {
		tb.Fatal(err)
	}
	if e.tokens, err = OpenTokens(filepath.Join(dir, "labelers.json")); err != nil {
		tb.Fatal(err)
	}
	for _, name := range o.labelers {
		tok, err := e.tokens.Add(name)
		if err != nil {
			tb.Fatal(err)
		}
		e.token[name] = tok
	}
	var batch []Task
	for i := range o.tasks {
		task := queueTask(fmt.Sprintf("t%04d", i))
		e.tasks[task.ID] = task
		batch = append(batch, task)
	}
	if err := e.queue.Add(context.Background(), batch...); err != nil {
		tb.Fatal(err)
	}
	e.hub, err = NewHub(HubConfig{
		Store: e.store, Queue: e.queue, Tokens: e.tokens, Miner: testMiner,
		AllowedOrigins: o.origins, Now: e.clock.Now, TrapStats: o.trapStats,
		Tick: o.tick, AuthTimeout: o.auth, MaxConnsPerToken: o.maxConns,
	})
	if err != nil {
		tb.Fatal(err)
	}
	e.srv = httptest.NewServer(e.hub.Handler())
	tb.Cleanup(func() {
		e.srv.Close()
		_ = e.hub.Close()
		_ = e.queue.Close()
		_ = e.store.Close()
	})
	return e
}

// addTasks queues more tasks.
func (e *hubEnv) addTasks(tb testing.TB, ids ...string) {
	tb.Helper()
	var batch []Task
	for _, id := range ids {
		task := queueTask(id)
		e.tasks[id] = task
		batch = append(batch, task)
	}
	if err := e.queue.Add(context.Background(), batch...); err != nil {
		tb.Fatal(err)
	}
}

func (e *hubEnv) wsURL() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws" }

// wsClient is a fake labelling page. Its methods return errors rather than
// failing the test, so that goroutines can use them.
type wsClient struct {
	ws  *websocket.Conn
	seq int
}

func (e *hubEnv) dial(header http.Header) (*wsClient, *http.Response, error) {
	return e.dialURL(e.wsURL(), header)
}

func (e *hubEnv) dialURL(u string, header http.Header) (*wsClient, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u, header)
	if err != nil {
		return nil, resp, err
	}
	return &wsClient{ws: ws}, resp, nil
}

func (c *wsClient) sendRaw(b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// send sends m (a ClientMessage or a map) with v=1 and a fresh id unless
// it has one; it returns the id.
func (c *wsClient) send(m ClientMessage) (string, error) {
	m.V = WireVersion
	if m.ID == "" {
		c.seq++
		m.ID = fmt.Sprintf("c%d", c.seq)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return m.ID, c.sendRaw(b)
}

// read reads one server message, with its raw bytes.
func (c *wsClient) read() (ServerMessage, []byte, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, b, err := c.ws.ReadMessage()
	if err != nil {
		return ServerMessage{}, nil, err
	}
	if typ != websocket.TextMessage {
		return ServerMessage{}, b, fmt.Errorf("frame type %d", typ)
	}
	var m ServerMessage
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return ServerMessage{}, b, fmt.Errorf("server message %s: %w", b, err)
	}
	if m.V != WireVersion {
		return m, b, fmt.Errorf("server message without v=1: %s", b)
	}
	return m, b, nil
}

// expect reads one message and checks its type.
func (c *wsClient) expect(typ string) (ServerMessage, error) {
	m, b, err := c.read()
	if err != nil {
		return m, err
	}
	if m.Type != typ {
		return m, fmt.Errorf("got %s, want a %s message", b, typ)
	}
	return m, nil
}

// signIn authenticates and resumes; it returns the first task (nil for a
// wait).
func (c *wsClient) signIn(token string) (*WireTask, error) {
	if _, err := c.send(ClientMessage{Type: MsgAuth, Token: token}); err != nil {
		return nil, err
	}
	if _, err := c.expect(MsgHello); err != nil {
		return nil, err
	}
	return c.resume()
}

// resume asks for the current task; nil means a wait.
func (c *wsClient) resume() (*WireTask, error) {
	if _, err := c.send(ClientMessage{Type: MsgResume}); err != nil {
		return nil, err
	}
	return c.nextTask()
}

// nextTask reads a task or wait message.
func (c *wsClient) nextTask() (*WireTask, error) {
	m, b, err := c.read()
	switch {
	case err != nil:
		return nil, err
	case m.Type == MsgWait:
		return nil, nil
	case m.Type == MsgTask && m.Task != nil:
		return m.Task, nil
	}
	return nil, fmt.Errorf("got %s, want a task or a wait", b)
}

// label answers task with verdict and reads the ack.
func (c *wsClient) label(task *WireTask, v Verdict, rationale string, ms int64) (ServerMessage, error) {
	id, err := c.send(ClientMessage{Type: MsgLabel, TaskID: task.ID, Choice: v, Rationale: rationale, TimeOnTaskMs: ms})
	if err != nil {
		return ServerMessage{}, err
	}
	m, err := c.expect(MsgAck)
	if err == nil && (m.Ref != id || m.TaskID != task.ID || !m.Stored) {
		err = fmt.Errorf("ack %+v for message %s task %s", m, id, task.ID)
	}
	return m, err
}

// ping checks that the connection is alive and in order.
func (c *wsClient) ping() error {
	id, err := c.send(ClientMessage{Type: MsgPing})
	if err != nil {
		return err
	}
	m, err := c.expect(MsgPong)
	if err == nil && m.Ref != id {
		err = fmt.Errorf("pong ref %q, want %q", m.Ref, id)
	}
	return err
}

// closeCode reads until the connection closes and returns the close code.
func (c *wsClient) closeCode() (int, string, error) {
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text, nil
		}
		return 0, "", err
	}
}

func (c *wsClient) close() { _ = c.ws.Close() }

// must fails the test on err.
func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func noErr(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func (e *hubEnv) mustDial(tb testing.TB) *wsClient {
	tb.Helper()
	c, _, err := e.dial(nil)
	noErr(tb, err)
	tb.Cleanup(c.close)
	return c
}

// wantChoice is the Choice a verdict on task (as shown) stands for.
func (e *hubEnv) wantChoice(task *WireTask, v Verdict) (Choice, bool) {
	aLeft := task.Left == e.tasks[task.ID].CompletionA
	c, _ := v.Choice(aLeft)
	return c, aLeft
}

func TestHubAuth(t *testing.T) {
	e := newHubEnv(t, hubOpts{labelers: []string{"alice"}, tasks: 3})

	t.Run("first message token", func(t *testing.T) {
		c := e.mustDial(t)
		// Before auth: pings work, labels and resumes are refused, the
		// connection stays.
		noErr(t, c.ping())
		must[string](t)(c.send(ClientMessage{Type: MsgResume, ID: "r1"}))
		m := must[ServerMessage](t)(c.expect(MsgError))
		if m.Code != CodeNotAuthenticated || m.Ref != "r1" {
			t.Fatalf("resume before auth: %+v", m)
		}
		must[string](t)(c.send(ClientMessage{Type: MsgAuth, Token: e.token["alice"], ID: "a1"}))
		hello := must[ServerMessage](t)(c.expect(MsgHello))
		if hello.Labeler != "alice" || hello.Ref != "a1" || hello.Stats == nil || hello.Stats.Labeled != 0 || hello.Stats.TrapAccuracy != nil {
			t.Fatalf("hello %+v", hello)
		}
		must[string](t)(c.send(ClientMessage{Type: MsgAuth, Token: e.token["alice"]}))
		if m := must[ServerMessage](t)(c.expect(MsgError)); m.Code != CodeAlreadyAuthenticated {
			t.Fatalf("second auth: %+v", m)
		}
		if task := must[*WireTask](t)(c.resume()); task == nil || task.ID != "t0000" {
			t.Fatalf("first task %+v", task)
		}
	})

	t.Run("bad token", func(t *testing.T) {
		c := e.mustDial(t)
		must[string](t)(c.send(ClientMessage{Type: MsgAuth, Token: e.token["alice"] + "x", ID: "a1"}))
		m := must[ServerMessage](t)(c.expect(MsgError))
		if m.Code != CodeAuthFailed || m.Ref != "a1" || strings.Contains(m.Message, e.token["alice"]) {
			t.Fatalf("bad token: %+v", m)
		}
		code, _, err := c.closeCode()
		if err != nil || code != CloseAuthFailed {
			t.Fatalf("close after a bad token: %d %v, want %d", code, err, CloseAuthFailed)
		}
	})

	t.Run("query parameter", func(t *testing.T) {
		_, resp, err := e.dialURL(e.wsURL()+"?token=agl_nope", nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad token in the URL: %v %v", err, resp)
		}
		c, _, err := e.dialURL(e.wsURL()+"?token="+e.token["alice"], nil)
		noErr(t, err)
		defer c.close()
		if hello := must[ServerMessage](t)(c.expect(MsgHello)); hello.Labeler != "alice" {
			t.Fatalf("hello %+v", hello)
		}
		noErr(t, c.ping())
	})

	t.Run("auth timeout", func(t *testing.T) {
		e := newHubEnv(t, hubOpts{auth: 100 * time.Millisecond})
		c := e.mustDial(t)
		code, _, err := c.closeCode()
		if err != nil || code != CloseAuthTimeout {
			t.Fatalf("silent connection closed with %d %v, want %d", code, err, CloseAuthTimeout)
		}
	})
}

func TestHubOrigin(t *testing.T) {
	e := newHubEnv(t, hubOpts{labelers: []string{"alice"}, origins: []string{"https://label.example.com"}})
	port := e.srv.URL[strings.LastIndexByte(e.srv.URL, ':')+1:]
	for _, c := range []struct {
		origin string
		host   string // the Host header; "" = the server's address
		ok     bool
	}{
		{origin: "", ok: true},
		{origin: e.srv.URL, ok: true}, // the page served by this hub, over loopback
		{origin: "http://localhost:" + port, ok: true},
		{origin: "http://[::1]:" + port, ok: true},
		{origin: "https://label.example.com", ok: true},
		{origin: "https://LABEL.example.com", ok: true},
		{origin: "http://label.example.com", ok: false},
		{origin: "https://evil.example", ok: false},
		{origin: "null", ok: false},
		{origin: "http://127.0.0.1:1", ok: false}, // another local server's page
		// DNS rebinding: evil.example resolves to 127.0.0.1, so the
		// browser sends its own name as both Origin and Host.
		{origin: "http://evil.example:" + port, host: "evil.example:" + port, ok: false},
		{origin: "http://label.example.com", host: "label.example.com", ok: false},
	} {
		h := http.Header{}
		if c.origin != "" {
			h.Set("Origin", c.origin)
		}
		if c.host != "" {
			h.Set("Host", c.host)
		}
		cl, resp, err := e.dial(h)
		if c.ok {
			if err != nil {
				t.Errorf("origin %q refused: %v", c.origin, err)
				continue
			}
			if _, err := cl.signIn(e.token["alice"]); err != nil {
				t.Errorf("origin %q: %v", c.origin, err)
			}
			cl.close()
			continue
		}
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: err %v, resp %v; want 403", c.origin, err, resp)
		}
	}
	for _, bad := range []string{"*", "label.example.com", "https://x.example/path", "ftp://x"} {
		if _, err := NewHub(HubConfig{Store: e.store, Queue: e.queue, Tokens: e.tokens, Miner: testMiner, AllowedOrigins: []string{bad}}); err == nil {
			t.Errorf("NewHub accepted allowed origin %q", bad)
		}
	}
}

func TestHubMalformedMessages(t *testing.T) {
	e := newHubEnv(t, hubOpts{labelers: []string{"alice", "bob"}, tasks: 4})
	alice, bob := e.mustDial(t), e.mustDial(t)
	mine := must[*WireTask](t)(alice.signIn(e.token["alice"]))
	theirs := must[*WireTask](t)(bob.signIn(e.token["bob"]))
	if mine == nil || theirs == nil || mine.ID == theirs.ID {
		t.Fatalf("tasks %+v %+v", mine, theirs)
	}
	label := func(fields string) string {
		return `{"v":1,"type":"label","id":"L",` + fields + `}`
	}
	for _, c := range []struct {
		name string
		msg  string
		code ErrorCode
		ref  string
	}{
		{"not json", `hello`, CodeBadJSON, ""},
		{"truncated", `{"v":1,"type":"ping"`, CodeBadJSON, ""},
		{"two objects", `{"v":1,"type":"ping","id":"p"} {}`, CodeBadJSON, "p"},
		{"array", `[1,2]`, CodeBadJSON, ""},
		{"unknown field", `{"v":1,"type":"ping","id":"p","color":"red"}`, CodeBadJSON, "p"},
		{"wrong field type", `{"v":"1","type":"ping","id":"p"}`, CodeBadJSON, "p"},
		{"no version", `{"type":"ping","id":"p"}`, CodeBadVersion, "p"},
		{"future version", `{"v":2,"type":"ping","id":"p"}`, CodeBadVersion, "p"},
		{"unknown type", `{"v":1,"type":"dance","id":"p"}`, CodeUnknownType, "p"},
		{"no type", `{"v":1}`, CodeUnknownType, ""},
		{"long id", `{"v":1,"type":"ping","id":"` + strings.Repeat("x", MaxMessageIDBytes+1) + `"}`, CodeBadMessage, ""},
		{"ping with fields", `{"v":1,"type":"ping","id":"p","task_id":"t"}`, CodeBadMessage, "p"},
		{"auth again", `{"v":1,"type":"auth","id":"p","token":"x"}`, CodeAlreadyAuthenticated, "p"},
		{"server-side choice", label(`"task_id":"` + mine.ID + `","choice":"a"`), CodeBadChoice, "L"},
		{"no choice", label(`"task_id":"` + mine.ID + `"`), CodeBadChoice, "L"},
		{"no task", label(`"choice":"left"`), CodeBadMessage, "L"},
		{"negative time", label(`"task_id":"` + mine.ID + `","choice":"left","time_on_task_ms":-1`), CodeBadMessage, "L"},
		{"fractional time", label(`"task_id":"` + mine.ID + `","choice":"left","time_on_task_ms":1.5`), CodeBadJSON, "L"},
		{"token in label", label(`"task_id":"` + mine.ID + `","choice":"left","token":"x"`), CodeBadMessage, "L"},
		{"rationale too long", label(`"task_id":"` + mine.ID + `","choice":"left","rationale":"` + strings.Repeat("é", MaxRationaleBytes/2+1) + `"`), CodeRationaleTooLong, "L"},
		{"unknown task", label(`"task_id":"nope","choice":"left"`), CodeUnknownTask, "L"},
		{"not assigned", label(`"task_id":"` + theirs.ID + `","choice":"left"`), CodeNotAssigned, "L"},
	} {
		noErr(t, alice.sendRaw([]byte(c.msg)))
		m, b, err := alice.read()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if m.Type != MsgError || m.Code != c.code || m.Ref != c.ref || m.Message == "" {
			t.Errorf("%s: got %s, want error %s ref %q", c.name, b, c.code, c.ref)
		}
		if err := alice.ping(); err != nil {
			t.Fatalf("%s: the connection did not survive: %v", c.name, err)
		}
	}
	noErr(t, alice.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"v":1,"type":"ping"}`)))
	if m := must[ServerMessage](t)(alice.expect(MsgError)); m.Code != CodeBadJSON {
		t.Errorf("binary frame: %+v", m)
	}
	noErr(t, alice.ping())

	// Duplicates: an identical re-send is acknowledged again, a different
	// answer to the same task is refused; one label is stored.
	must[ServerMessage](t)(alice.label(mine, VerdictLeft, "short", 1200))
	must[*WireTask](t)(alice.nextTask())
	ack := must[ServerMessage](t)(alice.label(mine, VerdictLeft, "short", 1200))
	if !ack.Resent {
		t.Errorf("a re-sent label's ack is not marked resent: %+v", ack)
	}
	must[string](t)(alice.send(ClientMessage{Type: MsgLabel, ID: "d", TaskID: mine.ID, Choice: VerdictRight}))
	if m := must[ServerMessage](t)(alice.expect(MsgError)); m.Code != CodeDuplicate || m.Ref != "d" {
		t.Errorf("a different second answer: %+v", m)
	}
	noErr(t, alice.ping())
	if n := e.store.Len(); n != 1 {
		t.Fatalf("store holds %d labels, want 1", n)
	}
	// A message over the read limit closes the connection with 1009. The
	// server closes with unread bytes left, so the client may see a reset
	// instead of the close frame; either way the connection ends.
	_ = bob.sendRaw([]byte(`{"v":1,"type":"ping","id":"` + strings.Repeat("x", 70<<10) + `"}`))
	if code, _, err := bob.closeCode(); err == nil && code != websocket.CloseMessageTooBig {
		t.Errorf("oversized message: close %d, want %d", code, websocket.CloseMessageTooBig)
	}
	noErr(t, alice.ping())
}

func TestHubLabelDurableBeforeAck(t *testing.T) {
	e := newHubEnv(t, hubOpts{labelers: []string{"alice"}, tasks: 16})
	c := e.mustDial(t)
	noErr(t, c.send2(ClientMessage{Type: MsgAuth, Token: e.token["alice"]}))
	must[ServerMessage](t)(c.expect(MsgHello))
	must[string](t)(c.send(ClientMessage{Type: MsgResume}))
	_, raw, err := c.read()
	noErr(t, err)
	// The task message holds the task as the labeler sees it, nothing more:
	// no models, no validator, no trap flag.
	var shape struct {
		V    int                        `json:"v"`
		Type string                     `json:"type"`
		Task map[string]json.RawMessage `json:"task"`
	}
	noErr(t, json.Unmarshal(raw, &shape))
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range shape.Task {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(keys, []string{"deadline", "id", "left", "prompt", "right"}) || strings.Contains(string(raw), "babyllama") {
		t.Fatalf("task message %s", raw)
	}
	var task WireTask
	noErr(t, json.Unmarshal(raw, &struct {
		Task *WireTask `json:"task"`
	}{&task}))

	verdicts := []Verdict{VerdictLeft, VerdictRight, VerdictTie, VerdictBothBad}
	orders := map[bool]int{}
	cur := &task
	for i := 0; cur != nil; i++ {
		v := verdicts[i%4]
		want, aLeft := e.wantChoice(cur, v)
		orders[aLeft]++
		e.clock.Advance(time.Second)
		ack := must[ServerMessage](t)(c.label(cur, v, fmt.Sprintf("reason %d", i), int64(1000+i)))
		// The ack is here: the label must be in the store already.
		l, ok := e.store.Get(cur.ID, "alice")
		if !ok {
			t.Fatalf("task %s acknowledged but not in the store", cur.ID)
		}
		if l.Choice != want || l.ShownALeft != aLeft || l.Rationale != fmt.Sprintf("reason %d", i) || l.TimeOnTaskMs != int64(1000+i) ||
			l.Miner != testMiner || !l.ReceivedAt.Equal(e.clock.Now()) {
			t.Fatalf("stored %+v; want choice %s (verdict %s, A left %v)", l, want, v, aLeft)
		}
		if ack.Stats == nil || ack.Stats.Labeled != i+1 {
			t.Fatalf("ack stats %+v after %d labels", ack.Stats, i+1)
		}
		cur = must[*WireTask](t)(c.nextTask())
	}
	if e.store.Len() != 16 || e.queue.Len() != 0 {
		t.Fatalf("store %d labels, queue %d tasks; want 16 and 0", e.store.Len(), e.queue.Len())
	}
	if orders[true] == 0 || orders[false] == 0 {
		t.Errorf("16 tasks were all shown in one order: %v", orders)
	}
	// A new task is pushed to the waiting page.
	e.addTasks(t, "late")
	if task := must[*WireTask](t)(c.nextTask()); task == nil || task.ID != "late" {
		t.Fatalf("pushed task %+v", task)
	}
}

// send2 is send without the id.
func (c *wsClient) send2(m ClientMessage) error {
	_, err := c.send(m)
	return err
}

func TestHubReconnectResumes(t *testing.T) {
	lease := 10 * time.Minute
	e := newHubEnv(t, hubOpts{labelers: []string{"alice", "bob"}, tasks: 4, lease: lease})
	c := e.mustDial(t)
	first := must[*WireTask](t)(c.signIn(e.token["alice"]))
	// The connection drops before alice answers: she gets the same task,
	// in the same order, when she comes back.
	_ = c.ws.NetConn().Close()
	c = e.mustDial(t)
	again := must[*WireTask](t)(c.signIn(e.token["alice"]))
	if *again != *first {
		t.Fatalf("after a reconnect got %+v, want %+v", again, first)
	}
	// She answers and the connection drops before the ack arrives; the page
	// re-sends the label after reconnecting and gets an ack; it is stored
	// once.
	must[string](t)(c.send(ClientMessage{Type: MsgLabel, ID: "x1", TaskID: first.ID, Choice: VerdictTie, TimeOnTaskMs: 900}))
	_ = c.ws.Close()
	c = e.mustDial(t)
	must[string](t)(c.send(ClientMessage{Type: MsgAuth, Token: e.token["alice"]}))
	must[ServerMessage](t)(c.expect(MsgHello))
	ack := must[ServerMessage](t)(c.label(first, VerdictTie, "", 900))
	if l, ok := e.store.Get(first.ID, "alice"); !ok || l.Choice != ChoiceTie {
		t.Fatalf("stored %+v %v (ack %+v)", l, ok, ack)
	}
	second := must[*WireTask](t)(c.resume())
	if second == nil || second.ID == first.ID {
		t.Fatalf("next task %+v", second)
	}
	c.close()

	// alice leaves second unanswered longer than the lease: it goes to bob,
	// and alice gets something else.
	e.clock.Advance(lease)
	b := e.mustDial(t)
	if got := must[*WireTask](t)(b.signIn(e.token["bob"])); got == nil || got.ID != second.ID {
		t.Fatalf("bob got %+v, want alice's expired lease %s", got, second.ID)
	}
	c = e.mustDial(t)
	if got := must[*WireTask](t)(c.signIn(e.token["alice"])); got == nil || got.ID == second.ID || got.ID == first.ID {
		t.Fatalf("alice got %+v after her lease on %s ran out", got, second.ID)
	}
	if e.store.Len() != 1 {
		t.Fatalf("store holds %d labels, want 1", e.store.Len())
	}
}

func TestHubConcurrentLabelers(t *testing.T) {
	for _, c := range []struct{ labelers, tasks, perTask int }{{100, 1000, 1}, {50, 200, 3}} {
		t.Run(fmt.Sprintf("labelers=%d/perTask=%d", c.labelers, c.perTask), func(t *testing.T) {
			testConcurrentLabelers(t, c.labelers, c.tasks, c.perTask)
		})
	}
}

func testConcurrentLabelers(t *testing.T, labelers, tasks, perTask int) {
	names := make([]string, labelers)
	for i := range names {
		names[i] = fmt.Sprintf("labeler%03d", i)
	}
	e := newHubEnv(t, hubOpts{labelers: names, tasks: tasks, perTask: perTask})
	var acks atomic.Int64
	var mu sync.Mutex
	acked := map[key]Choice{}
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			err := func() error {
				r := rand.New(rand.NewPCG(uint64(i), 1))
				c, _, err := e.dial(nil)
				if err != nil {
					return err
				}
				defer func() { c.close() }()
				task, err := c.signIn(e.token[name])
				for n := 0; err == nil && task != nil; n++ {
					if n == 2 {
						// Drop the connection once mid-task: the same
						// task must come back.
						_ = c.ws.NetConn().Close()
						if c, _, err = e.dial(nil); err != nil {
							return err
						}
						again, err := c.signIn(e.token[name])
						if err != nil {
							return err
						}
						if again == nil || *again != *task {
							return fmt.Errorf("%s: after a reconnect got %+v, want %+v", name, again, task)
						}
					}
					v := []Verdict{VerdictLeft, VerdictRight, VerdictTie, VerdictBothBad}[r.IntN(4)]
					if _, err := c.label(task, v, "", int64(r.IntN(5000))); err != nil {
						return fmt.Errorf("%s: %w", name, err)
					}
					want, _ := e.wantChoice(task, v)
					acks.Add(1)
					mu.Lock()
					k := key{task.ID, name}
					if _, dup := acked[k]; dup {
						mu.Unlock()
						return fmt.Errorf("%s got task %s twice", name, task.ID)
					}
					acked[k] = want
					mu.Unlock()
					task, err = c.nextTask()
				}
				return err
			}()
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := tasks * perTask
	if int(acks.Load()) != want || e.store.Len() != want {
		t.Fatalf("%d acks, %d labels stored; want %d", acks.Load(), e.store.Len(), want)
	}
	per := map[string]int{}
	for l := range e.store.Iterate() {
		if acked[l.key()] != l.Choice {
			t.Fatalf("stored %+v, acknowledged %q", l, acked[l.key()])
		}
		per[l.TaskID]++
	}
	for id := range e.tasks {
		if per[id] != perTask {
			t.Fatalf("task %s has %d labels, want %d", id, per[id], perTask)
		}
	}
	if e.queue.Len() != 0 {
		t.Fatalf("queue still holds %d tasks", e.queue.Len())
	}
}

func TestHubClose(t *testing.T) {
	e := newHubEnv(t, hubOpts{labelers: []string{"alice", "bob"}, tasks: 10})
	var clients []*wsClient
	for i := range 6 {
		c := e.mustDial(t)
		must[*WireTask](t)(c.signIn(e.token[[]string{"alice", "bob"}[i%2]]))
		clients = append(clients, c)
	}
	silent := e.mustDial(t) // not signed in
	clients = append(clients, silent)
	for deadline := time.Now().Add(10 * time.Second); e.hub.Connections() != len(clients); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) { // the last upgrade may take a moment to register
			t.Fatalf("%d connections registered, want %d", e.hub.Connections(), len(clients))
		}
	}
	codes := make(chan int, len(clients))
	for _, c := range clients {
		go func() {
			code, _, err := c.closeCode()
			if err != nil {
				t.Error(err)
			}
			codes <- code
		}()
	}
	start := time.Now()
	noErr(t, e.hub.Close())
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	for range clients {
		if code := <-codes; code != websocket.CloseGoingAway {
			t.Errorf("close code %d, want %d", code, websocket.CloseGoingAway)
		}
	}
	if n := e.hub.Connections(); n != 0 {
		t.Errorf("%d connections after Close", n)
	}
	if _, resp, err := e.dial(nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: %v %v", err, resp)
	}
	noErr(t, e.hub.Close())
}

func TestHubRevokeDisconnects(t *testing.T) {
	e := newHubEnv(t, hubOpts{labelers: []string{"alice"}, tasks: 2, tick: 20 * time.Millisecond})
	c := e.mustDial(t)
	must[*WireTask](t)(c.signIn(e.token["alice"]))
	cli, err := OpenTokens(e.tokens.Path()) // as `agora miner labelers revoke` does
	noErr(t, err)
	noErr(t, cli.Revoke("alice"))
	m := must[ServerMessage](t)(c.expect(MsgError))
	if m.Code != CodeAuthFailed {
		t.Fatalf("after revocation: %+v", m)
	}
	if code, reason, err := c.closeCode(); err != nil || code != CloseAuthFailed || reason != "token revoked" {
		t.Fatalf("close %d %q %v", code, reason, err)
	}
}

// TestHubRotateDisconnects: rotating a labeler's token (the remedy for a
// leaked one) signs out a page signed in with the old token, and the new
// token signs in.
func TestHubRotateDisconnects(t *testing.T) {
	e := newHubEnv(t, hubOpts{labelers: []string{"alice"}, tasks: 2, tick: 20 * time.Millisecond})
	c := e.mustDial(t)
	must[*WireTask](t)(c.signIn(e.token["alice"]))
	cli, err := OpenTokens(e.tokens.Path()) // another process holding the tokens file
	noErr(t, err)
	fresh, err := cli.Rotate("alice")
	noErr(t, err)
	m := must[ServerMessage](t)(c.expect(MsgError))
	if m.Code != CodeAuthFailed || !strings.Contains(m.Message, "replaced") {
		t.Fatalf("after rotation: %+v", m)
	}
	if code, _, err := c.closeCode(); err != nil || code != CloseAuthFailed {
		t.Fatalf("close %d %v", code, err)
	}
	d := e.mustDial(t)
	must[*WireTask](t)(d.signIn(fresh))
}

func TestHubStats(t *testing.T) {
	var resolved atomic.Int64
	resolved.Store(4)
	e := newHubEnv(t, hubOpts{labelers: []string{"alice"}, tasks: 1, trapStats: func(l string) (int, int) {
		if l != "alice" {
			return 0, 0
		}
		return int(resolved.Load()), 3
	}})
	c := e.mustDial(t)
	must[string](t)(c.send(ClientMessage{Type: MsgAuth, Token: e.token["alice"]}))
	hello := must[ServerMessage](t)(c.expect(MsgHello))
	if s := hello.Stats; s == nil || s.TrapsResolved != 4 || s.TrapsCorrect != 3 || s.TrapAccuracy == nil || *s.TrapAccuracy != 0.75 {
		t.Fatalf("hello stats %+v", hello.Stats)
	}
	resolved.Store(6)
	e.hub.RefreshStats("alice")
	m := must[ServerMessage](t)(c.expect(MsgStats))
	if s := m.Stats; s == nil || s.TrapsResolved != 6 || *s.TrapAccuracy != 0.5 {
		t.Fatalf("pushed stats %+v", m.Stats)
	}
}

func TestHubServesPage(t *testing.T) {
	e := newHubEnv(t, hubOpts{})
	for _, c := range []struct {
		path, ctype, contains string
	}{
		{"/", "text/html", `<script src="app.js"`},
		{"/app.js", "javascript", "new WebSocket"},
		{"/style.css", "text/css", "@media"},
	} {
		resp, err := http.Get(e.srv.URL + c.path)
		noErr(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: %d %q, body has %q: %v", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.contains, strings.Contains(string(body), c.contains))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", c.path, csp)
		}
		if strings.Contains(string(body), "http://") || strings.Contains(string(body), "https://") {
			t.Errorf("%s refers to another site", c.path)
		}
	}
	resp, err := http.Post(e.srv.URL+"/", "text/plain", nil)
	noErr(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", resp.StatusCode)
	}
	resp, err = http.Get(e.srv.URL + "/nope.js")
	noErr(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope.js: %d", resp.StatusCode)
	}
}

func TestNewHubConfig(t *testing.T) {
	e := newHubEnv(t, hubOpts{})
	for _, c := range []HubConfig{
		{Queue: e.queue, Tokens: e.tokens, Miner: testMiner},
		{Store: e.store, Queue: e.queue, Tokens: e.tokens},
		{Store: e.store, Queue: e.queue, Tokens: e.tokens, Miner: testMiner, PingPeriod: time.Minute, PongWait: time.Second},
		{Store: e.store, Queue: e.queue, Tokens: e.tokens, Miner: testMiner, Tick: -1},
		{Store: e.store, Queue: e.queue, Tokens: e.tokens, Miner: testMiner, MaxConnsPerToken: -1},
	} {
		if h, err := NewHub(c); err == nil || !strings.HasPrefix(err.Error(), "rlhf: new hub: ") {
			t.Errorf("NewHub(%+v) = %v, %v", c, h, err)
			if h != nil {
				_ = h.Close()
			}
		}
	}
}

func TestVerdictChoice(t *testing.T) {
	for _, c := range []struct {
		v     Verdict
		aLeft bool
		want  Choice
	}{
		{VerdictLeft, true, ChoiceA}, {VerdictLeft, false, ChoiceB},
		{VerdictRight, true, ChoiceB}, {VerdictRight, false, ChoiceA},
		{VerdictTie, false, ChoiceTie}, {VerdictBothBad, true, ChoiceBothBad},
	} {
		if got, err := c.v.Choice(c.aLeft); err != nil || got != c.want {
			t.Errorf("%s (A left %v) = %s %v, want %s", c.v, c.aLeft, got, err, c.want)
		}
	}
	if _, err := Verdict("a").Choice(true); err == nil {
		t.Error(`Verdict("a") maps to a choice`)
	}
}

// TestHubConnsPerToken: one token signs in on at most MaxConnsPerToken
// connections at once (DefaultMaxConnsPerToken unless configured); one
// more is told why and closed with CloseTooManyConnections, whether it
// signs in by message or by query parameter, and a closed page frees its
// place. Other tokens are not affected.
func TestHubConnsPerToken(t *testing.T) {
	for _, c := range []struct {
		name  string
		limit int // configured; 0 = default
		want  int
	}{
		{"default", 0, DefaultMaxConnsPerToken},
		{"configured", 2, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newHubEnv(t, hubOpts{labelers: []string{"alice", "bob"}, tasks: 10, maxConns: c.limit})
			open := make([]*wsClient, c.want)
			for i := range open {
				open[i] = e.mustDial(t)
				must[*WireTask](t)(open[i].signIn(e.token["alice"]))
			}
			refused := func(t *testing.T, cl *wsClient, ref string) {
				t.Helper()
				m := must[ServerMessage](t)(cl.expect(MsgError))
				if m.Code != CodeTooManyConnections || m.Ref != ref || !strings.Contains(m.Message, fmt.Sprintf("already has %d open labelling pages", c.want)) {
					t.Fatalf("connection over the limit: %+v", m)
				}
				code, reason, err := cl.closeCode()
				if err != nil || code != CloseTooManyConnections || reason != fmt.Sprintf("too many connections for this token (at most %d)", c.want) {
					t.Fatalf("close %d %q %v, want %d", code, reason, err, CloseTooManyConnections)
				}
			}
			extra := e.mustDial(t)
			must[string](t)(extra.send(ClientMessage{Type: MsgAuth, Token: e.token["alice"], ID: "a1"}))
			refused(t, extra, "a1")
			byQuery, _, err := e.dialURL(e.wsURL()+"?token="+e.token["alice"], nil)
			noErr(t, err)
			defer byQuery.close()
			refused(t, byQuery, "")

			// Another labeler's token has its own allowance.
			must[*WireTask](t)(e.mustDial(t).signIn(e.token["bob"]))
			// The open pages still work.
			for _, cl := range open {
				noErr(t, cl.ping())
			}

			// A page that goes frees its place, once the hub has seen it go.
			open[0].close()
			deadline := time.Now().Add(10 * time.Second)
			for {
				cl := e.mustDial(t)
				must[string](t)(cl.send(ClientMessage{Type: MsgAuth, Token: e.token["alice"]}))
				m, _, err := cl.read()
				noErr(t, err)
				if m.Type == MsgHello {
					break
				}
				if m.Code != CodeTooManyConnections || time.Now().After(deadline) {
					t.Fatalf("after a page closed: %+v", m)
				}
				cl.close()
			}
		})
	}
}
