package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/miner/minertest"
	"github.com/seed0ffb8d46/agora/node"
	"github.com/seed0ffb8d46/agora/protocol"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// TestMain lets a test run this binary's main as a child process (a real
// miner process, say): with AGORA_TEST_MAIN=1 the test binary is agora.
func TestMain(m *testing.M) {
	if os.Getenv("AGORA_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// process is agora running as a child process.
type process struct {
	cmd    *exec.Cmd
	stdout *bufio.Scanner
	stderr *bytes.Buffer
	done   chan error
}

// startAgora starts agora args as a child process with env.
func startAgora(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "AGORA_TEST_MAIN=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stdout: bufio.NewScanner(out), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// line waits for a stdout line containing want and returns it.
func (p *process) line(t *testing.T, want string) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		for p.stdout.Scan() {
			if strings.Contains(p.stdout.Text(), want) {
				found <- p.stdout.Text()
				return
			}
		}
		close(found)
	}()
	select {
	case l, ok := <-found:
		if !ok {
			t.Fatalf("agora exited before printing %q; stderr:\n%s", want, p.stderr)
		}
		return l
	case <-time.After(60 * time.Second):
		t.Fatalf("no %q within 60s; stderr:\n%s", want, p.stderr)
	}
	return ""
}

// stop sends SIGTERM and expects a clean exit within 10 s.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("agora exited with %v after SIGTERM; stderr:\n%s", err, p.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("agora did not stop within 10s of SIGTERM; stderr:\n%s", p.stderr)
	}
}

// signedPost sends body to url signed by from for receiver and returns
// the response, its body, and the error of verifying the miner's
// signature on it.
func signedPost(t *testing.T, from *keys.PrivateKey, receiver keys.PublicKey, url, body string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := (&protocol.Signer{Key: from}).NewRequest(context.Background(), http.MethodPost, url, []byte(body), receiver)
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
	_, verr := protocol.VerifyResponse(resp, b, receiver)
	return resp, b, verr
}

// minerEnv is a chain with subnet 1 (tempo 5), alice's validator hotkey
// registered with stake and a validator permit, and hotkeys for miners.
type minerEnv struct {
	*txEnv
	validator *keys.PrivateKey
}

func newMinerEnv(t *testing.T, minerHotkeys ...string) *minerEnv {
	e, _, _, _ := newTxEnv(t)
	params := filepath.Join(t.TempDir(), "params.json")
	if err := os.WriteFile(params, []byte(`{"tempo": 5, "min_burn": 1000000000, "max_uids": 16, "max_validators": 8}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("tx", "subnet", "create", "--wallet", "alice", "--params", params)
	e.ok("wallet", "new-hotkey", "--name", "alice", "--hotkey", "val1")
	e.ok("tx", "register", "--wallet", "alice", "--hotkey", "val1", "--netuid", "1")
	e.ok("tx", "stake", "add", "--wallet", "alice", "--hotkey", "val1", "--amount", "100")
	for _, h := range minerHotkeys {
		if h != "miner1" {
			e.ok("wallet", "new-hotkey", "--name", "alice", "--hotkey", h)
		}
		e.ok("tx", "register", "--wallet", "alice", "--hotkey", h, "--netuid", "1")
	}
	val, err := keys.NewStore(e.home).LoadHotkey("alice", "val1", func() ([]byte, error) { return []byte(e.env["AGORA_PASSWORD"]), nil })
	if err != nil {
		t.Fatal(err)
	}
	// The epoch gives the staked validator its permit.
	waitUntil(t, 30*time.Second, "validator permit", func() bool {
		n := decodeJSON[chain.NeuronView](t, e.ok("query", "neuron", "1", "0", "--output", "json"))
		return n.ValidatorPermit
	})
	return &minerEnv{txEnv: e, validator: val}
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startMiner runs agora miner run as a process with hotkey and extra
// settings, and returns it with its address and key once it serves and
// its axon is on chain.
func (e *minerEnv) startMiner(t *testing.T, hotkey string, uid int, extra ...string) (*process, string, keys.PublicKey) {
	t.Helper()
	args := append([]string{"miner", "run", "--home", e.home, "--log.level", "warn",
		"--miner.wallet", "alice", "--miner.hotkey", hotkey, "--miner.node", e.node, "--miner.listen", "127.0.0.1:0"}, extra...)
	p := startAgora(t, e.env, args...)
	line := p.line(t, "serving")
	addr := line[strings.Index(line, "http://")+len("http://"):]
	addr = strings.Fields(addr)[0]
	n := decodeJSON[chain.NeuronView](t, e.ok("query", "neuron", "1", fmt.Sprint(uid), "--output", "json"))
	pk, err := keys.ParseAddress(n.Hotkey)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the miner's axon on chain", func() bool {
		n := decodeJSON[chain.NeuronView](t, e.ok("query", "neuron", "1", fmt.Sprint(uid), "--output", "json"))
		return n.Axon != nil && n.Axon.Addr == addr
	})
	waitUntil(t, 30*time.Second, "the miner ready", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p, "http://" + addr, pk
}

// A real miner process, a real chain node, and a real HTTP model server
// standing in for vLLM: the miner publishes its axon, serves the permitted
// validator (streaming too) with signed answers, refuses others, and stops
// cleanly.
func TestMinerEndToEndOpenAIBackend(t *testing.T) {
	e := newMinerEnv(t, "miner1")
	model := &minertest.Model{}
	backend := minertest.Serve(model)
	defer backend.Close()
	p, url, minerKey := e.startMiner(t, "miner1", 1, "--miner.backend_url", backend.URL+"/v1", "--miner.backend_model", "test-model")

	resp, body, err := signedPost(t, e.validator, minerKey, url+"/v1/completions", `{"prompt":"the cat","max_tokens":6,"temperature":0,"logprobs":0,"return_tokens_as_token_ids":true}`)
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("completion: %d %s (signature: %v)", resp.StatusCode, body, err)
	}
	want := minertest.Continuation("the cat", 0, 0, 6)
	if !strings.Contains(string(body), fmt.Sprintf(`"token_id:%d"`, want[5])) {
		t.Fatalf("completion lacks the backend's token ids %v: %s", want, body)
	}
	resp, body, err = signedPost(t, e.validator, minerKey, url+"/v1/chat/completions", `{"messages":[{"role":"user","content":"the cat"}],"max_tokens":4,"stream":true}`)
	if resp.StatusCode != 200 || err != nil || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("streamed chat: %d %s (signature: %v)", resp.StatusCode, body, err)
	}
	stranger, _ := keys.NewPrivateKeyFromSeed(bytes.Repeat([]byte{9}, keys.SeedSize))
	resp, body, _ = signedPost(t, stranger, minerKey, url+"/v1/completions", `{"prompt":"x"}`)
	if resp.StatusCode != 403 || !strings.Contains(string(body), "not registered") {
		t.Fatalf("unregistered caller: %d %s", resp.StatusCode, body)
	}
	model.Down.Store(true)
	resp, body, err = signedPost(t, e.validator, minerKey, url+"/v1/completions", `{"prompt":"x"}`)
	if resp.StatusCode != 502 || err != nil || !strings.Contains(string(body), "backend_error") {
		t.Fatalf("backend down: %d %s (signature: %v)", resp.StatusCode, body, err)
	}
	p.stop(t)
}

// The same on the built-in engine: a validator that runs the same model
// recomputes the miner's log-probabilities exactly.
func TestMinerEndToEndBuiltinModel(t *testing.T) {
	const dir = "../../../shared/models/babyllama105"
	modelPath := filepath.Join(dir, "babyllama105.bin")
	e := newMinerEnv(t, "miner1")
	p, url, minerKey := e.startMiner(t, "miner1", 1, "--miner.model", modelPath)

	resp, body, err := signedPost(t, e.validator, minerKey, url+"/v1/completions", `{"model":"babyllama105","prompt":"Tom had a red ball","max_tokens":24,"temperature":0,"logprobs":0,"return_tokens_as_token_ids":true}`)
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("completion: %d %s (signature: %v)", resp.StatusCode, body, err)
	}
	var out struct {
		Choices []struct {
			Text     string
			Logprobs struct {
				Tokens        []string
				TokenLogprobs []float64 `json:"token_logprobs"`
			}
		}
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Choices) != 1 {
		t.Fatalf("response %s: %v", body, err)
	}
	golden, err := os.ReadFile("../../llm/testdata/greedy_tom.golden")
	if err != nil {
		t.Fatal(err)
	}
	c := out.Choices[0]
	if !strings.HasPrefix(string(golden), "Tom had a red ball"+c.Text) || len(c.Text) < 20 {
		t.Fatalf("greedy text %q is not the golden continuation", c.Text)
	}
	tok, err := llm.LoadTokenizer(filepath.Join(dir, "tok105.model"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := llm.LoadLlama(modelPath, tok)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, len(c.Logprobs.Tokens))
	for i, s := range c.Logprobs.Tokens {
		if _, err := fmt.Sscanf(s, "token_id:%d", &ids[i]); err != nil {
			t.Fatalf("token %q: %v", s, err)
		}
	}
	scores, err := m.Score(context.Background(), "Tom had a red ball", ids)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ids {
		if scores[i] != c.Logprobs.TokenLogprobs[i] {
			t.Fatalf("token %d: miner says logprob %v, the model %v", i, c.Logprobs.TokenLogprobs[i], scores[i])
		}
	}
	resp, body, err = signedPost(t, e.validator, minerKey, url+"/v1/completions", `{"prompt":"Tom had a red ball","max_tokens":8,"stream":true,"seed":3}`)
	if resp.StatusCode != 200 || err != nil || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("streamed: %d %s (signature: %v)", resp.StatusCode, body, err)
	}
	p.stop(t)
}

// A miner killed with SIGKILL while its labelers' labels stream in loses
// none that a labeler saw acknowledged: after a restart its store has each
// of them exactly once, and it returns them to the validator that asked.
func TestMinerKillNineKeepsAckedLabels(t *testing.T) {
	e := newMinerEnv(t, "miner1")
	backend := minertest.Serve(&minertest.Model{})
	defer backend.Close()
	data := t.TempDir()
	ports, err := node.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	// One port for both runs: the axon on chain stays right.
	listen := fmt.Sprintf("127.0.0.1:%d", ports[0])
	common := []string{"--miner.backend_url", backend.URL + "/v1", "--miner.backend_model", "test-model", "--miner.data", data}
	var tokens []string
	for _, name := range []string{"l1", "l2", "l3", "l4"} {
		r := e.ok(append([]string{"miner", "labelers", "add", name, "--miner.hotkey", "miner1"}, common[4:]...)...)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		tok := lines[len(lines)-1]
		if !strings.HasPrefix(tok, "agl_") {
			t.Fatalf("labelers add printed %q", r.stdout)
		}
		tokens = append(tokens, tok)
	}
	p, url, minerKey := e.startMiner(t, "miner1", 1, append(common, "--miner.listen", listen)...)

	// The validator sends tasks.
	prefix := e.validator.PublicKey().Hex() + ":"
	var tasks []rlhf.Task
	for i := range api.MaxPreferenceTasks {
		tasks = append(tasks, rlhf.Task{ID: fmt.Sprintf("%st%03d", prefix, i), Prompt: "Which is better?", CompletionA: "A cat sat.", CompletionB: "The dog ran home.", Deadline: time.Now().Add(time.Hour), CreatedAt: time.Now()})
	}
	body, _ := json.Marshal(map[string]any{"tasks": tasks})
	resp, b, err := signedPost(t, e.validator, minerKey, url+"/v1/preference/tasks", string(body))
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("send tasks: %d %s (%v)", resp.StatusCode, b, err)
	}

	// Labelers label as fast as they can, noting every ack.
	var mu sync.Mutex
	acked := map[string]bool{} // task + "/" + labeler
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wsURL := "ws" + strings.TrimPrefix(url, "http") + "/label/ws"
	for i, tok := range tokens {
		labeler := fmt.Sprintf("l%d", i+1)
		wg.Go(func() {
			conn, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
			if err != nil {
				return
			}
			defer conn.Close()
			context.AfterFunc(ctx, func() { conn.Close() })
			_ = conn.WriteJSON(rlhf.ClientMessage{V: 1, Type: rlhf.MsgAuth, Token: tok})
			_ = conn.WriteJSON(rlhf.ClientMessage{V: 1, Type: rlhf.MsgResume})
			for {
				var m rlhf.ServerMessage
				if conn.ReadJSON(&m) != nil {
					return // the miner died
				}
				switch m.Type {
				case rlhf.MsgTask:
					_ = conn.WriteJSON(rlhf.ClientMessage{V: 1, Type: rlhf.MsgLabel, TaskID: m.Task.ID, Choice: rlhf.VerdictRight, TimeOnTaskMs: 1500})
				case rlhf.MsgAck:
					mu.Lock()
					acked[m.TaskID+"/"+labeler] = true
					mu.Unlock()
				}
			}
		})
	}
	waitUntil(t, 30*time.Second, "50 acknowledged labels", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 50
	})
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL, mid-stream
		t.Fatal(err)
	}
	p.done <- <-p.done // the cleanup reads it again
	cancel()
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()

	// The store, reopened as a restarted miner opens it.
	store, err := rlhf.OpenStore(filepath.Join(data, miner.LabelsFile), rlhf.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, l := range store.Labels() {
		stored[l.TaskID+"/"+l.LabelerID]++
	}
	store.Close()
	for k := range acked {
		if stored[k] != 1 {
			t.Errorf("acknowledged label %s is stored %d times", k, stored[k])
		}
	}
	t.Logf("%d labels acknowledged before SIGKILL, %d stored", n, len(stored))

	// A restarted miner returns them, signed, to the validator.
	_, url, _ = e.startMiner(t, "miner1", 1, append(common, "--miner.listen", listen)...)
	ids, _ := json.Marshal(map[string]any{"task_ids": func() []string {
		var out []string
		for _, t := range tasks {
			out = append(out, t.ID)
		}
		return out
	}()})
	resp, b, err = signedPost(t, e.validator, minerKey, url+"/v1/preference/labels", string(ids))
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("labels: %d %s (%v)", resp.StatusCode, b, err)
	}
	var got struct{ Labels []rlhf.Label }
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Labels) != len(stored) {
		t.Fatalf("restarted miner returned %d labels, its store has %d", len(got.Labels), len(stored))
	}
	// Another validator may not read them.
	other, _ := keys.NewPrivateKeyFromSeed(bytes.Repeat([]byte{3}, keys.SeedSize))
	resp, b, _ = signedPost(t, other, minerKey, url+"/v1/preference/labels", string(ids))
	if resp.StatusCode == 200 {
		t.Fatalf("a stranger read the labels: %s", b)
	}
}

// A mistyped --miner.hotkey is an error naming the wallet, and creates
// nothing: without --miner.data the labelers live in a folder named after
// the hotkey.
func TestLabelersNeedAKnownHotkey(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"AGORA_PASSWORD": "correct horse battery"}
	run := func(args ...string) result { return walletRun(t, home, env, "", nil, args...) }
	if r := run(append([]string{"wallet", "create", "--name", "w"}, cheapKDFArgs...)...); r.code != 0 {
		t.Fatalf("wallet create: %d %s", r.code, r.stderr)
	}
	if r := run("wallet", "new-hotkey", "--name", "w", "--hotkey", "m1"); r.code != 0 {
		t.Fatalf("new-hotkey: %d %s", r.code, r.stderr)
	}
	for _, cmd := range [][]string{{"miner", "labelers", "add", "zed"}, {"miner", "labelers", "list"}, {"miner", "labelers", "revoke", "zed"}} {
		r := run(append(cmd, "--miner.wallet", "w", "--miner.hotkey", "typo")...)
		if r.code != 1 || !strings.Contains(r.stderr, `--miner.wallet "w" has no hotkey "typo" (its hotkeys: m1; 'agora wallet list' shows them`) {
			t.Errorf("%v with a mistyped hotkey: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
		r = run(append(cmd, "--miner.wallet", "nosuch", "--miner.hotkey", "m1")...)
		if r.code != 1 || !strings.Contains(r.stderr, `there is no wallet "nosuch" in `+filepath.Join(home, "wallets")) || !strings.Contains(r.stderr, "agora wallet list") {
			t.Errorf("%v with a mistyped wallet: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
		r = run(append(cmd, "--miner.hotkey", "m1")...)
		if r.code != 2 || !strings.Contains(r.stderr, "--miner.wallet is required") {
			t.Errorf("%v without --miner.wallet: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
	// Listing and revoking with the right hotkey create nothing either.
	if r := run("miner", "labelers", "list", "--miner.wallet", "w", "--miner.hotkey", "m1"); r.code != 0 || r.stdout != "NAME  ADDED  STATUS\n" {
		t.Errorf("labelers list of a new miner: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := run("miner", "labelers", "revoke", "zed", "--miner.wallet", "w", "--miner.hotkey", "m1"); r.code != 1 || !strings.Contains(r.stderr, "no such labeler") {
		t.Errorf("labelers revoke of a new miner: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(home, "miner")); !os.IsNotExist(err) {
		t.Errorf("a mistyped hotkey or a listing created %s (%v)", filepath.Join(home, "miner"), err)
	}
	if r := run("miner", "labelers", "add", "zed", "--miner.wallet", "w", "--miner.hotkey", "m1"); r.code != 0 || !strings.Contains(r.stdout, "agl_") {
		t.Errorf("labelers add with the wallet's hotkey: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	run("miner", "labelers", "add", "amy", "--miner.wallet", "w", "--miner.hotkey", "m1")
	run("miner", "labelers", "revoke", "amy", "--miner.wallet", "w", "--miner.hotkey", "m1")

	// --output json: every labeler, with its status.
	type labelersJSON struct {
		Dir      string `json:"dir"`
		Labelers []struct {
			Name      string     `json:"name"`
			Status    string     `json:"status"`
			CreatedAt time.Time  `json:"created_at"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"labelers"`
	}
	j := decodeJSON[labelersJSON](t, run("miner", "labelers", "list", "--miner.wallet", "w", "--miner.hotkey", "m1", "--output", "json"))
	if j.Dir != filepath.Join(home, "miner", "1-m1") || len(j.Labelers) != 2 ||
		j.Labelers[0].Name != "amy" || j.Labelers[0].Status != "revoked" || j.Labelers[0].RevokedAt == nil ||
		j.Labelers[1].Name != "zed" || j.Labelers[1].Status != "active" || j.Labelers[1].RevokedAt != nil || j.Labelers[1].CreatedAt.IsZero() {
		t.Errorf("labelers list --output json: %+v", j)
	}
	// With --miner.data no wallet is needed, and an empty list is [].
	data := filepath.Join(t.TempDir(), "elsewhere")
	j = decodeJSON[labelersJSON](t, run("miner", "labelers", "list", "--miner.data", data, "--output", "json"))
	if j.Dir != data || j.Labelers == nil || len(j.Labelers) != 0 {
		t.Errorf("labelers list --miner.data --output json: %+v", j)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("labelers list created %s (%v)", data, err)
	}
}

// A miner whose hotkey is not registered says the exact command that
// registers it, which works as printed.
func TestMinerRegisterHint(t *testing.T) {
	e, _, _, _ := newTxEnv(t)
	e.ok("tx", "subnet", "create", "--wallet", "alice")
	_, stderr := runMiner(t, e, "--log.level", "warn", "--miner.listen", "127.0.0.1:0")
	want := "register it with: agora tx register --wallet alice --hotkey miner1 --netuid 1 --node " + e.node + " --home " + e.home + ")"
	waitUntil(t, 60*time.Second, "the register hint", func() bool { return strings.Contains(stderr.String(), want) })
	hint := stderr.String()
	hint = hint[strings.Index(hint, want)+len("register it with: agora "):]
	hint = hint[:strings.Index(hint, ")")]
	r := e.ok(strings.Fields(hint)...)
	if !strings.Contains(r.stdout, "register: included in block") {
		t.Errorf("the hinted command:\n%s", r.stdout)
	}
}

// runMiner runs agora miner run in this process, as alice's hotkey miner1
// on e's chain with a stand-in model server and no labels, with args
// after those, until the test ends (failing it if the miner then exits
// with an error), and returns its stdout and stderr.
func runMiner(t *testing.T, e *txEnv, args ...string) (stdout, stderr *lockedBuffer) {
	t.Helper()
	backend := minertest.Serve(&minertest.Model{})
	t.Cleanup(backend.Close)
	env, _, _ := testEnv("", nil, nil)
	env.ReadFile = os.ReadFile
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	env.Stdout, env.Stderr = stdout, stderr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, env, newRoot("test"), append([]string{"miner", "run", "--home", e.home,
			"--miner.wallet", "alice", "--miner.hotkey", "miner1", "--miner.node", e.node,
			"--miner.labels=false", "--miner.backend_url", backend.URL + "/v1", "--miner.backend_model", "test-model"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("miner run: exit %d\n%s%s", code, stdout, stderr)
		}
	})
	return stdout, stderr
}

// A miner whose model server does not serve --miner.backend_model does
// not start, and says what the server serves and which flag to change.
func TestMinerBackendModelNotServed(t *testing.T) {
	e := &txEnv{t: t, home: t.TempDir(), env: map[string]string{"AGORA_PASSWORD": "correct horse battery"}, node: "tcp://127.0.0.1:1"}
	e.ok(append([]string{"wallet", "create", "--name", "alice"}, cheapKDFArgs...)...)
	e.ok("wallet", "new-hotkey", "--name", "alice", "--hotkey", "miner1")
	backend := minertest.Serve(&minertest.Model{Name: "Llama-3.1-8B-Instruct"})
	defer backend.Close()
	e.fails(1, []string{`does not serve model "meta-llama/Llama-3.1-8B-Instruct"`, `lists "Llama-3.1-8B-Instruct"`, "--miner.backend_model"},
		"miner", "run", "--miner.wallet", "alice", "--miner.hotkey", "miner1", "--miner.node", e.node,
		"--miner.listen", "127.0.0.1:0", "--miner.labels=false",
		"--miner.backend_url", backend.URL+"/v1", "--miner.backend_model", "meta-llama/Llama-3.1-8B-Instruct")
}
