package rlhf

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserLabellingPage drives the labelling page in a real headless
// Chromium (Debian's chromium package) against a hub on loopback: it signs
// in with a token, labels tasks with the keyboard and with the mouse,
// writes a rationale with digits in it, survives a dropped connection, and
// checks what reaches the Store: the choice mapped to a or b by the order
// the page showed, the rationale, and a positive time on task. It saves
// full-page screenshots (wide and phone-sized) under os.TempDir(), and in
// $AGORA_ARTIFACTS if that is set.
func TestBrowserLabellingPage(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser test needs Chromium: install the Debian package `chromium` (apt-get install chromium; CI installs it): %v", err)
	}
	e := newHubEnv(t, hubOpts{labelers: []string{"alice"}, tasks: 8, trapStats: func(string) (int, int) { return 8, 7 }})

	// The whole test's bound. Each step has its own (poll's 15 s); this one
	// also covers Chromium's cold start, which took 15 s on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}

	// Collect uncaught page exceptions and console errors.
	var pageErrs []string
	var pageMu sync.Mutex
	exceptions := chromedp.Events(bctx, runtime.ExceptionThrown)
	consoles := chromedp.Events(bctx, runtime.ConsoleAPICalled)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			pageMu.Lock()
			pageErrs = append(pageErrs, "exception: "+ev.ExceptionDetails.Text+" "+fmt.Sprint(ev.ExceptionDetails.Exception))
			pageMu.Unlock()
		}
	}()
	go func() {
		for ev, err := range consoles {
			if err != nil {
				return
			}
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value))
				}
				pageMu.Lock()
				pageErrs = append(pageErrs, "console.error: "+strings.Join(args, " "))
				pageMu.Unlock()
			}
		}
	}()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	poll := func(what, expr string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("waiting until %s (%s): %v", what, expr, err)
		}
	}
	// shown returns the task on screen and whether A is on the left.
	shown := func() (Task, bool) {
		t.Helper()
		// An answered task stays on screen until the next one comes, so
		// wait for one the page marks as awaiting an answer.
		poll("a task is shown", `!document.getElementById('task').hidden && (document.getElementById('task').dataset.id || '') !== ''`)
		id := eval(`document.getElementById('task').dataset.id`)
		prompt := eval(`document.getElementById('prompt').textContent`)
		left := eval(`document.getElementById('left').textContent`)
		right := eval(`document.getElementById('right').textContent`)
		for _, task := range e.tasks {
			if task.Prompt == prompt {
				if task.ID != id {
					t.Fatalf("the page marks task %s but shows the prompt of %s", id, task.ID)
				}
				if _, done := e.store.Get(task.ID, "alice"); done {
					t.Fatalf("the page shows task %s, which alice labelled already", task.ID)
				}
				switch {
				case left == task.CompletionA && right == task.CompletionB:
					return task, true
				case left == task.CompletionB && right == task.CompletionA:
					return task, false
				}
				t.Fatalf("task %s shown with left %q right %q", task.ID, left, right)
			}
		}
		t.Fatalf("the page shows an unknown prompt %q", prompt)
		return Task{}, false
	}
	labels := 0
	// stored waits for the page to count the ack and returns the label.
	stored := func(task Task) Label {
		t.Helper()
		labels++
		poll(fmt.Sprintf("%d labels are acknowledged", labels), fmt.Sprintf(`document.getElementById('stat-labeled').textContent === '%d'`, labels))
		l, ok := e.store.Get(task.ID, "alice")
		if !ok {
			t.Fatalf("the page counted label %d but task %s has no label in the store", labels, task.ID)
		}
		if l.TimeOnTaskMs <= 0 {
			t.Errorf("task %s: time on task %d ms, want > 0", task.ID, l.TimeOnTaskMs)
		}
		return l
	}
	check := func(how string, l Label, aLeft bool, v Verdict, rationale string) {
		t.Helper()
		want, _ := v.Choice(aLeft)
		if l.Choice != want || l.ShownALeft != aLeft || l.Rationale != rationale {
			t.Errorf("%s: stored choice %q shown_a_left %v rationale %q; the page showed A on the left: %v, so %s means %q, rationale %q",
				how, l.Choice, l.ShownALeft, l.Rationale, aLeft, v, want, rationale)
		}
	}

	// Sign in: the token is entered once and kept.
	do("open the page and sign in",
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), e.token["alice"]),
		chromedp.Click(chromedp.CSS("#signin-button")),
	)
	poll("the page is connected", `document.getElementById('conn').dataset.state === 'online'`)
	if got := eval(`localStorage.getItem('agora.labeler.token')`); got != e.token["alice"] {
		t.Fatalf("token in localStorage %q", got)
	}
	if got := eval(`document.getElementById('stat-accuracy').textContent`); got != "88% of 8" {
		t.Errorf("trap accuracy shows %q, want %q", got, "88% of 8")
	}
	if got := eval(`document.visibilityState`); got != "visible" {
		t.Logf("document.visibilityState is %q in headless Chromium", got)
	}

	// 1. Keyboard: 2 then Enter (right is better).
	task, aLeft := shown()
	do("press 2 and Enter", chromedp.KeyEvent("2"))
	if p := eval(`document.getElementById('choice-right').getAttribute('aria-pressed')`); p != "true" {
		t.Errorf("after 2 the right button has aria-pressed=%s", p)
	}
	do("press Enter", chromedp.KeyEvent(kb.Enter))
	check("keys 2, Enter", stored(task), aLeft, VerdictRight, "")

	// 2. Mouse: click "Left is better", then Submit.
	task, aLeft = shown()
	do("click left and submit", chromedp.Click(chromedp.CSS("#choice-left")), chromedp.Click(chromedp.CSS("#submit")))
	check("click left, submit", stored(task), aLeft, VerdictLeft, "")

	// 3. Digits typed in the rationale go into the text, not the verdict;
	// Esc leaves the box, then 3 picks tie and Enter submits.
	task, aLeft = shown()
	const why = "both give 42, 3 steps"
	do("type a rationale", chromedp.Click(chromedp.CSS("#rationale")), chromedp.KeyEvent(why))
	if p := eval(`[...document.querySelectorAll('.choice')].filter(b => b.getAttribute('aria-pressed') === 'true').map(b => b.id).join()`); p != "" {
		t.Errorf("typing digits in the rationale chose %s", p)
	}
	do("Esc, 3, Enter", chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent("3"), chromedp.KeyEvent(kb.Enter))
	check("rationale, Esc, 3, Enter", stored(task), aLeft, VerdictTie, why)

	// 4. 4 (both bad), R to write why, Ctrl+Enter submits from the box.
	task, aLeft = shown()
	do("4, r, type, Ctrl+Enter", chromedp.KeyEvent("4"), chromedp.KeyEvent("r"), chromedp.KeyEvent("wrong 2x"),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	check("4, r, Ctrl+Enter", stored(task), aLeft, VerdictBothBad, "wrong 2x")

	// 5. The connection drops: the page reconnects by itself and resumes
	// the task on screen.
	task, aLeft = shown()
	for _, c := range e.hub.snapshot() {
		_ = c.ws.NetConn().Close()
	}
	poll("the page notices the drop", `document.getElementById('conn').dataset.state !== 'online'`)
	poll("the page reconnects", `document.getElementById('conn').dataset.state === 'online'`)
	if again, _ := shown(); again.ID != task.ID {
		t.Fatalf("after the reconnect the page shows %s, want %s", again.ID, task.ID)
	}
	do("arrow right, Enter", chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.Enter))
	check("after a reconnect: →, Enter", stored(task), aLeft, VerdictRight, "")

	// Screenshots, with a verdict chosen: wide, then phone-sized, where the
	// completions stack.
	shown()
	do("press 1", chromedp.KeyEvent("1"))
	wide, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	if stacked := eval(`(() => { const l = document.getElementById('left').getBoundingClientRect(), r = document.getElementById('right').getBoundingClientRect(); return String(r.top >= l.bottom && Math.abs(r.left - l.left) < 2 && l.right <= innerWidth + 1); })()`); stacked != "true" {
		t.Errorf("on a 390 px wide screen the completions are not stacked within the screen")
	}
	phone, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	for name, png := range map[string][]byte{"agora-labelling-page.png": wide, "agora-labelling-page-phone.png": phone} {
		dirs := []string{os.TempDir()}
		if d := os.Getenv("AGORA_ARTIFACTS"); d != "" {
			dirs = append(dirs, d)
		}
		for _, dir := range dirs {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", path)
		}
	}

	pageMu.Lock()
	defer pageMu.Unlock()
	for _, msg := range pageErrs {
		t.Errorf("page error: %s", msg)
	}
}
