package validator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/protocol"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestQuerySignedTime: an answer signed at a time outside its request's
// (plus clock skew) is refused as bad_timestamp, so a miner cannot backdate
// a copy to look first; one signed within it is taken, and answers are
// ordered by when the validator received them, not by what they signed.
func TestQuerySignedTime(t *testing.T) {
	minerKey, validatorKey := testKey(t, 7), testKey(t, 8)
	body := []byte(`{"model":"m","choices":[{"text":"hello","finish_reason":"stop"}]}`)
	var signAt func() time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		if err := protocol.SignResponse(w, body, minerKey, validatorKey.PublicKey(), r.Header.Get("Epistula-Uuid"), signAt()); err != nil {
			t.Error(err)
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	signer := &protocol.Signer{Key: validatorKey}
	ask := func() answer {
		return query(context.Background(), srv.Client(), signer, srv.URL, minerKey.PublicKey(), api.CompletionRequest{Prompt: "p", MaxTokens: 4})
	}
	for _, tc := range []struct {
		name   string
		at     func() time.Time
		reason string
	}{
		{"now", time.Now, ""},
		{"a second ago", func() time.Time { return time.Now().Add(-time.Second) }, ""},
		{"backdated to 1970", func() time.Time { return time.Unix(1, 0) }, "bad_timestamp"},
		{"a minute ago", func() time.Time { return time.Now().Add(-time.Minute) }, "bad_timestamp"},
		{"a minute ahead", func() time.Time { return time.Now().Add(time.Minute) }, "bad_timestamp"},
	} {
		signAt = tc.at
		before := time.Now().UnixMilli()
		a := ask()
		if a.Reason != tc.reason {
			t.Errorf("%s: reason %q (%v), want %q", tc.name, a.Reason, a.Err, tc.reason)
		}
		if tc.reason != "" && !strings.Contains(a.Err.Error(), "outside the request's time") {
			t.Errorf("%s: error %q does not say what was wrong", tc.name, a.Err)
		}
		if tc.reason == "" && (a.ReceivedAtMs < before || a.ReceivedAtMs > time.Now().UnixMilli() || a.Text != "hello") {
			t.Errorf("%s: answer %+v, received at %d, want within [%d, now]", tc.name, a, a.ReceivedAtMs, before)
		}
	}
}

// TestValidatorDoesNotFollowRedirects: a miner answering with a redirect
// gets a failed query, and the signed request goes nowhere else.
func TestValidatorDoesNotFollowRedirects(t *testing.T) {
	followed := false
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed = true }))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/internal", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	signer := &protocol.Signer{Key: testKey(t, 8)}
	a := query(context.Background(), defaultHTTPClient(true, nil), signer, srv.URL, testKey(t, 7).PublicKey(), api.CompletionRequest{Prompt: "p"})
	if a.Err == nil || followed {
		t.Fatalf("redirect: answer %+v, followed %v; want a failed query and no request elsewhere", a, followed)
	}
}

// TestPrivateAxonsRefused: the default client will not send a miner's
// request to loopback, private or link-local addresses unless allowed, and
// says why.
func TestPrivateAxonsRefused(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer srv.Close()
	signer := &protocol.Signer{Key: testKey(t, 8)}
	a := query(context.Background(), defaultHTTPClient(false, nil), signer, srv.URL, testKey(t, 7).PublicKey(), api.CompletionRequest{Prompt: "p"})
	if a.Err == nil || hit || !strings.Contains(a.Err.Error(), "is not a public one") {
		t.Fatalf("loopback axon: answer error %v, reached %v", a.Err, hit)
	}
	for _, c := range []struct {
		addr   string
		public bool
	}{
		{"127.0.0.1:80", false}, {"10.1.2.3:80", false}, {"192.168.0.1:80", false}, {"172.16.5.4:80", false},
		{"169.254.169.254:80", false}, {"[::1]:80", false}, {"[fd00::1]:80", false}, {"[fe80::1]:80", false},
		{"0.0.0.0:80", false}, {"[::ffff:127.0.0.1]:80", false}, {"224.0.0.1:80", false},
		{"100.100.100.200:80", false}, {"[64:ff9b::a9fe:a9fe]:80", false}, {"[::7f00:1]:80", false},
		{"[2002:a00:1::1]:80", false}, {"[fec0::1]:80", false}, {"0.1.2.3:80", false}, {"198.18.0.1:80", false},
		{"192.0.0.8:80", false}, {"250.1.2.3:80", false}, {"[fe80::1%eth0]:80", false},
		{"8.8.8.8:443", true}, {"[2001:4860:4860::8888]:443", true}, {"[64:ff9b::808:808]:443", true},
	} {
		if err := axonGuard(nil)("tcp", c.addr, nil); (err == nil) != c.public {
			t.Errorf("%s: %v, want public %v", c.addr, err, c.public)
		}
	}
}

// TestAxonNetworks: listed networks open their private (or loopback,
// link-local) axons and nothing beside them; public axons stay open
// whatever the list.
func TestAxonNetworks(t *testing.T) {
	p := netip.MustParsePrefix
	nets := []netip.Prefix{p("10.77.0.0/16"), p("192.168.1.0/24"), p("fd00:77::/32"), p("fe80::/64")}
	for _, c := range []struct {
		ip      string
		allowed bool
	}{
		{"10.77.3.4", true}, {"10.78.0.1", false}, {"10.0.0.1", false},
		{"192.168.1.200", true}, {"192.168.2.1", false}, {"172.16.0.1", false},
		{"::ffff:10.77.0.9", true}, {"::ffff:10.78.0.9", false},
		{"fd00:77::5", true}, {"fd00:78::5", false},
		{"fe80::1", true}, {"fe80::1%eth0", true}, {"fe80:0:0:1::1", false},
		// Not covered: loopback, link-local, multicast and unspecified
		// stay refused.
		{"127.0.0.1", false}, {"::1", false}, {"169.254.169.254", false}, {"224.0.0.1", false}, {"0.0.0.0", false}, {"::", false},
		// Public addresses are always allowed.
		{"8.8.8.8", true}, {"2001:4860:4860::8888", true},
	} {
		if got := axonAllowed(netip.MustParseAddr(c.ip), nets); got != c.allowed {
			t.Errorf("axonAllowed(%s) = %v, want %v", c.ip, got, c.allowed)
		}
	}
	for _, ip := range []string{"8.8.8.8", "2001:4860:4860::8888"} {
		if !axonAllowed(netip.MustParseAddr(ip), nil) {
			t.Errorf("public %s refused without networks", ip)
		}
	}
	if axonAllowed(netip.MustParseAddr("10.77.3.4"), nil) {
		t.Error("10.77.3.4 allowed without networks")
	}

	// Through the client: loopback is reached once a listed prefix
	// covers it, and only then.
	var hit atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Store(true) }))
	defer srv.Close()
	signer := &protocol.Signer{Key: testKey(t, 8)}
	a := query(context.Background(), defaultHTTPClient(false, []netip.Prefix{p("10.0.0.0/8")}), signer, srv.URL, testKey(t, 7).PublicKey(), api.CompletionRequest{Prompt: "p"})
	var pe *privateAxonError
	if !errors.As(a.Err, &pe) || hit.Load() || !strings.Contains(a.Err.Error(), "axon_networks") {
		t.Fatalf("loopback axon outside the listed networks: error %v, reached %v", a.Err, hit.Load())
	}
	query(context.Background(), defaultHTTPClient(false, []netip.Prefix{p("127.0.0.0/8")}), signer, srv.URL, testKey(t, 7).PublicKey(), api.CompletionRequest{Prompt: "p"})
	if !hit.Load() {
		t.Fatal("loopback axon inside a listed network: not reached")
	}
}

// fixedView is a metagraph that never changes; its chain is noChain.
type fixedView struct {
	noChain
	view *chain.MetagraphView
}

func (f fixedView) Snapshot() (*chain.MetagraphView, int64, bool) { return f.view, 100, true }

// TestWithdrawnMinerLosesItsScore: a miner that stops serving (no axon, or
// an axon of another protocol) scores 0 in every kind each step, as failed
// queries would, instead of keeping the score it had when it withdrew.
func TestWithdrawnMinerLosesItsScore(t *testing.T) {
	miner := testKey(t, 7).PublicKey().Hex()
	gone := testKey(t, 9).PublicKey().Hex()
	view := &chain.MetagraphView{Neurons: []chain.NeuronView{
		{UID: 0, Hotkey: miner, Axon: &chain.AxonView{Addr: "127.0.0.1:1", Protocol: 1}},
		{UID: 1, Hotkey: gone},
	}}
	meta := fixedView{view: view}
	v, err := New(Config{Key: testKey(t, 2), Netuid: 1, Metagraph: meta, Chain: meta, StatePath: filepath.Join(t.TempDir(), "s.json"), Seed: 1, AllowPrivateAxons: true, Exact: demoModel(t), VerifyModel: "babyllama105"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	v.st.Scores.Realign([]string{miner, gone})
	for kind := range v.cfg.Policy.KindWeights {
		for uid := range 2 {
			for range 30 {
				_ = v.st.Scores.Update(kind, uid, 1)
			}
		}
	}
	before := v.st.Scores.Combined(v.cfg.Policy.KindWeights)
	for range 60 {
		if err := v.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	after := v.st.Scores.Combined(v.cfg.Policy.KindWeights)
	for uid := range 2 {
		if !(after[uid] < before[uid]/4) {
			t.Errorf("uid %d, not serving: score %.3f after 60 steps, was %.3f", uid, after[uid], before[uid])
		}
	}
}

// TestPreferenceTasksAreBlind: the tasks a miner gets carry no model names
// and ids that say nothing of what they are, and traps are not in fixed
// positions; the validator keeps the model names for its dataset.
func TestPreferenceTasksAreBlind(t *testing.T) {
	minerKey := testKey(t, 7)
	meta := fixedView{view: &chain.MetagraphView{}}
	v, err := New(Config{Key: testKey(t, 2), Netuid: 1, Metagraph: meta, Chain: meta, StatePath: filepath.Join(t.TempDir(), "s.json"), Seed: 3, AllowPrivateAxons: true, Exact: demoModel(t), VerifyModel: "babyllama105"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for i := range 8 {
		v.remember(completion{Prompt: "p", Text: "the cat sat on the warm mat " + strings.Repeat("x", i), Model: "m@uid" + string(rune('0'+i)), MeanLogprob: -0.1 * float64(i%4)})
	}
	var sent []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent, _ = io.ReadAll(r.Body)
		ack := []byte(`{"accepted":1}`)
		_ = protocol.SignResponse(w, ack, minerKey, v.signer.Key.PublicKey(), r.Header.Get("Epistula-Uuid"), time.Now())
		_, _ = w.Write(ack)
	}))
	defer srv.Close()
	for range 16 {
		v.sendPreference(context.Background(), []target{{uid: 1, hotkey: minerKey.PublicKey(), url: srv.URL}})
	}
	if len(sent) == 0 || strings.Contains(string(sent), "model_a") || strings.Contains(string(sent), "model_b") || strings.Contains(string(sent), "m@uid") {
		t.Fatalf("tasks sent to the miner name models: %s", sent)
	}
	trapAt := map[bool]int{}
	for i, p := range v.st.Prefs {
		if p.Task.ModelA == "" && p.Task.ModelB == "" {
			t.Errorf("task %d: the validator's copy lost its model names", i)
		}
		if p.Trap {
			trapAt[i%2 == 0]++
		}
	}
	if trapAt[true] == 0 || trapAt[false] == 0 {
		t.Errorf("traps only at %v positions: %v", trapAt, len(v.st.Prefs))
	}
}

// TestUnsentKindsDoNotCount: a task kind the validator never sends (its
// share is 0, as reference tasks in the demo, whose story model cannot
// answer them) has no default weight: the uids that do not serve get no
// row of zeros in it, it does not dilute the combined score, and the
// report does not show it, not even from a state saved by a validator that
// weighed it.
func TestUnsentKindsDoNotCount(t *testing.T) {
	vkey := testKey(t, 2)
	absent := testKey(t, 9).PublicKey().Hex()
	view := &chain.MetagraphView{Neurons: []chain.NeuronView{{UID: 0, Hotkey: chain.AccountID(vkey.PublicKey()).String()}, {UID: 1, Hotkey: absent}}}
	meta := fixedView{view: view}
	v, err := New(Config{Key: vkey, Netuid: 1, Metagraph: meta, Chain: meta, StatePath: filepath.Join(t.TempDir(), "s.json"), Seed: 1,
		Exact: demoModel(t), VerifyModel: "babyllama105", PreferenceShare: 0.2}) // no reference tasks
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := v.st.Scores.Kinds[KindReference]; ok || v.cfg.Policy.KindWeights[KindReference] != 0 {
		t.Fatalf("reference tasks are never sent, yet weighed %v, with scores %v", v.cfg.Policy.KindWeights[KindReference], v.st.Scores.Kinds[KindReference])
	}
	// A state from a validator that weighed reference tasks it never sent:
	// a row of zeros.
	v.st.Scores.Kinds = map[string][]float64{KindInference: {0, 1}, KindPreference: {0, 1}, KindReference: {0, 0}}
	rep := v.Report()
	if len(rep.Scores) != 1 || rep.Scores[0].Score < 0.999999 {
		t.Fatalf("a uid scoring 1 in every kind sent has report %+v, want score 1", rep.Scores)
	}
	if _, ok := rep.Scores[0].ByKind[KindReference]; ok {
		t.Fatalf("the report shows a kind never sent: %v", rep.Scores[0].ByKind)
	}

	// Shares that leave no story prompts: no inference weight.
	w, err := New(Config{Key: vkey, Netuid: 1, Metagraph: meta, Chain: meta, StatePath: filepath.Join(t.TempDir(), "s.json"), Seed: 1,
		Exact: demoModel(t), VerifyModel: "babyllama105", ReferenceShare: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.cfg.Policy.KindWeights[KindInference] != 0 || w.cfg.Policy.KindWeights[KindPreference] != 0 || w.cfg.Policy.KindWeights[KindReference] == 0 {
		t.Fatalf("reference share 1: weights %v", w.cfg.Policy.KindWeights)
	}
}

// TestQueryUnsignedRefusal: a miner's unsigned refusal (403 before the
// validator has a permit, 429, 503) is its status, not a bad signature;
// an unsigned 200 is a bad signature.
func TestQueryUnsignedRefusal(t *testing.T) {
	minerKey, validatorKey := testKey(t, 7), testKey(t, 8)
	status := http.StatusForbidden
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":{"code":"not_allowed","message":"not a validator with a permit"}}`))
	}))
	defer srv.Close()
	signer := &protocol.Signer{Key: validatorKey}
	for _, tc := range []struct {
		status int
		reason string
	}{{http.StatusForbidden, "status_403"}, {http.StatusTooManyRequests, "status_429"}, {http.StatusOK, "bad_signature"}} {
		status = tc.status
		a := query(context.Background(), srv.Client(), signer, srv.URL, minerKey.PublicKey(), api.CompletionRequest{Prompt: "p", MaxTokens: 4})
		if a.Reason != tc.reason {
			t.Errorf("unsigned %d: reason %q (%v), want %q", tc.status, a.Reason, a.Err, tc.reason)
		}
	}
}

// TestPrivateAxonsWarnedOnce: a round whose miners are refused for their
// private axons logs one warning naming them and the flag that allows
// them, and only once, rather than leaving the operator to find
// "unreachable" on /scores.
func TestPrivateAxonsWarnedOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	signer := &protocol.Signer{Key: testKey(t, 8)}
	a := query(context.Background(), defaultHTTPClient(false, nil), signer, srv.URL, testKey(t, 7).PublicKey(), api.CompletionRequest{Prompt: "p"})
	a.UID = 4
	other := answer{UID: 5, Reason: "timeout", Err: context.DeadlineExceeded}
	core, logs := observer.New(zapcore.WarnLevel)
	v := &Validator{log: zap.New(core)}
	urls := func(int) string { return srv.URL }
	v.warnPrivateAxons([]answer{other}, urls)
	if n := logs.Len(); n != 0 {
		t.Fatalf("a round without private axons logged %d warnings", n)
	}
	v.warnPrivateAxons([]answer{other, a}, urls)
	v.warnPrivateAxons([]answer{a}, urls)
	all := logs.All()
	if len(all) != 1 {
		t.Fatalf("%d warnings, want 1: %v", len(all), all)
	}
	msg := all[0].Message
	refused := fmt.Sprint(all[0].ContextMap()["refused"])
	if !strings.Contains(msg, "--validator.allow_private_axons") || !strings.Contains(msg, "--validator.axon_networks") || !strings.Contains(refused, "uid 4 at "+srv.URL) || strings.Contains(refused, "uid 5") {
		t.Fatalf("warning %q refused=%s; want the flag and uid 4 only", msg, refused)
	}
}
