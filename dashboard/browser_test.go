package dashboard

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts headless Chromium (Debian's `chromium`) for the test
// and returns a tab's context, with the page's uncaught exceptions
// collected into exceptions. It fails the test if Chromium is missing.
func newBrowser(t *testing.T) (tab context.Context, exceptions func() []string) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not on PATH (%v): install the Debian package `chromium` (apt-get install chromium); CI installs it", err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})

	// The first action starts the browser: no deadline on it (it would
	// stop the browser), so bound it from outside.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(tab) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("chromium did not start within 60s")
	}

	var mu sync.Mutex
	var seen []string
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				mu.Lock()
				seen = append(seen, m.String())
				mu.Unlock()
			}
		}
	}()
	return tab, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// step runs one action with a deadline. The page redraws its table at
// every block, so the tests read it with Evaluate rather than by node.
func step[T any](t *testing.T, tab context.Context, within time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, within)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// pollJS waits until the expression is truthy in the page.
// On failure it logs the page's text and saves a screenshot.
func pollJS(t *testing.T, tab context.Context, within time.Duration, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, within+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(within)))
	if err == nil {
		return
	}
	dctx, dcancel := context.WithTimeout(tab, 10*time.Second)
	defer dcancel()
	if text, terr := chromedp.Run(dctx, chromedp.Evaluate[string](`document.body.innerText`)); terr == nil {
		t.Logf("the page's text:\n%s", text)
	}
	if png, serr := chromedp.Run(dctx, chromedp.FullScreenshot(100)); serr == nil {
		saveScreenshot(t, "dashboard-failed.png", png)
	}
	t.Fatalf("wait for %s: %v", what, err)
}

// saveScreenshot writes png to the test's temporary directory and, if
// $AGORA_ARTIFACTS is set, there too, and logs where.
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	dirs := []string{t.TempDir()}
	if a := os.Getenv("AGORA_ARTIFACTS"); a != "" {
		if err := os.MkdirAll(a, 0o755); err != nil {
			t.Fatalf("AGORA_ARTIFACTS: %v", err)
		}
		dirs = append(dirs, a)
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", p, len(png))
	}
}

// testBrowser drives the page in headless Chromium: the table holds the
// registered uids, sorting by a header reorders it, the charts draw, the
// scores show the validator that is down, the page updates live, and it
// fits a phone's width.
func testBrowser(t *testing.T, tn *testNet) {
	tab, exceptions := newBrowser(t)
	step(t, tab, 20*time.Second, "open the dashboard", chromedp.Navigate(tn.srv.URL+"/"))

	pollJS(t, tab, 15*time.Second, "the table's 4 rows", `document.querySelectorAll('#metagraph tbody tr').length === 4`)
	uids := func() string {
		return step(t, tab, 5*time.Second, "read the table's uids",
			chromedp.Evaluate[string](`[...document.querySelectorAll('#metagraph tbody tr')].map(r => r.dataset.uid).join(',')`))
	}
	if got := uids(); got != "0,1,2,3" {
		t.Errorf("uids in the table: %s, want 0,1,2,3 (by uid)", got)
	}
	hot := step(t, tab, 5*time.Second, "read uid 1's hotkey cell", chromedp.Evaluate[[]string](
		`(() => { const s = document.querySelector('#metagraph tbody tr[data-uid="1"] td:nth-child(2) span'); return [s.textContent, s.title]; })()`))
	if hot[1] != tn.hotkeys[1] || !strings.Contains(hot[0], "…") || len(hot[0]) >= len(tn.hotkeys[1]) ||
		!strings.HasPrefix(tn.hotkeys[1], strings.Split(hot[0], "…")[0]) {
		t.Errorf("uid 1's hotkey cell: %q (title %q), want it shortened with the full key on hover", hot[0], hot[1])
	}
	stake := step(t, tab, 5*time.Second, "read uid 1's stake", chromedp.Evaluate[string](
		`document.querySelector('#metagraph tbody tr[data-uid="1"] td:nth-child(3)').textContent`))
	if stake != "100" {
		t.Errorf("uid 1's stake cell: %q, want 100 (AGR)", stake)
	}
	pollJS(t, tab, 20*time.Second, "incentive shown as a percentage",
		`/^\d+\.\d\d%$/.test(document.querySelector('#metagraph tbody tr[data-uid="2"] td:nth-child(4)').textContent) &&
		 document.querySelector('#metagraph tbody tr[data-uid="2"] td:nth-child(4)').textContent !== '0.00%'`)

	// One mechanism: no mechanism stat, no mechanism columns.
	if got := headerKeys(t, tab); got != oneMechanismHeader {
		t.Errorf("table header: %s, want %s", got, oneMechanismHeader)
	}
	if hidden := step(t, tab, 5*time.Second, "read the mechanisms stat", chromedp.Evaluate[bool](
		`document.getElementById('mechanisms-stat').hidden`)); !hidden {
		t.Errorf("the mechanisms stat shows on a one-mechanism subnet")
	}

	// Sort by stake (largest first): uid 1 (100 AGR), uid 0 (50), then
	// the unstaked miners by uid.
	step(t, tab, 5*time.Second, "click the stake header", chromedp.Click(`#metagraph th[data-key="stake"] button`))
	if got := uids(); got != "1,0,2,3" {
		t.Errorf("after sorting by stake: %s, want 1,0,2,3", got)
	}
	sorted := step(t, tab, 5*time.Second, "read aria-sort", chromedp.Evaluate[string](`document.querySelector('#metagraph th[data-key="stake"]').getAttribute('aria-sort')`))
	if sorted != "descending" {
		t.Errorf("stake header aria-sort %q, want descending", sorted)
	}
	step(t, tab, 5*time.Second, "click the uid header", chromedp.Click(`#metagraph th[data-key="uid"] button`))
	step(t, tab, 5*time.Second, "click the uid header again", chromedp.Click(`#metagraph th[data-key="uid"] button`))
	if got := uids(); got != "3,2,1,0" {
		t.Errorf("after sorting by uid twice: %s, want 3,2,1,0", got)
	}

	// The charts draw a line per uid over at least two epochs, with axes
	// labelled and a legend.
	for _, id := range []string{"chart-emission", "chart-incentive"} {
		pollJS(t, tab, 20*time.Second, id+" drawn", fmt.Sprintf(
			`(() => { const f = document.getElementById(%q);
			  return Number(f.dataset.epochs) >= 2 && f.querySelectorAll('polyline.series').length === 4 &&
			    f.querySelectorAll('.legend li').length === 4 && f.querySelectorAll('.axis text').length >= 4 &&
			    [...f.querySelectorAll('.axis text.label')].map(t => t.textContent).includes('epoch'); })()`, id))
	}

	// The scores: the good validator's table, the other's error.
	pollJS(t, tab, 15*time.Second, "the validators' scores",
		fmt.Sprintf(`document.querySelectorAll('#scores article[data-url=%q] tbody tr').length === 2 &&
		 /connection refused/.test(document.querySelector('#scores article[data-url=%q][data-state="error"] .fetch-error')?.textContent || '')`,
			tn.goodURL, tn.downURL))

	// Live: the indicator says so, and the height moves without a reload.
	pollJS(t, tab, 10*time.Second, "the live indicator", `document.getElementById('live').dataset.state === 'live'`)
	h0 := step(t, tab, 5*time.Second, "read the height", chromedp.Evaluate[string](`document.getElementById('height').textContent`))
	pollJS(t, tab, 15*time.Second, "the height to move", fmt.Sprintf(`document.getElementById('height').textContent !== %q`, h0))

	png := step(t, tab, 20*time.Second, "screenshot", chromedp.FullScreenshot(100))
	saveScreenshot(t, "dashboard.png", png)

	// A phone: nothing wider than the screen but the table's own scroller.
	step(t, tab, 5*time.Second, "narrow the viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	pollJS(t, tab, 10*time.Second, "the page to fit 390px",
		`document.documentElement.scrollWidth <= window.innerWidth + 1 &&
		 [...document.querySelectorAll('.chart')].every(f => Number(f.dataset.width) <= window.innerWidth - 20)`)
	png = step(t, tab, 20*time.Second, "narrow screenshot", chromedp.FullScreenshot(100))
	saveScreenshot(t, "dashboard-narrow.png", png)

	if ex := exceptions(); len(ex) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(ex, "\n"))
	}
}

// oneMechanismHeader is the metagraph table's columns (their data-key) on
// a subnet with one mechanism.
const oneMechanismHeader = "uid,hotkey,stake,incentive,dividends,emission,validator_trust,last_update"

// headerKeys reads the metagraph table's columns, by data-key.
func headerKeys(t *testing.T, tab context.Context) string {
	t.Helper()
	return step(t, tab, 5*time.Second, "read the table's header", chromedp.Evaluate[string](
		`[...document.querySelectorAll('#metagraph thead th')].map(th => th.dataset.key).join(',')`))
}

// testBrowserMechanisms drives the page of a two-mechanism subnet, after
// both mechanisms paid: the header names the
// mechanisms and their shares, the table has a sortable incentive column
// per mechanism after the aggregate's, with the raw value on hover.
func testBrowserMechanisms(t *testing.T, tn *testNet) {
	tab, exceptions := newBrowser(t)
	step(t, tab, 20*time.Second, "open the dashboard", chromedp.Navigate(tn.srv.URL+"/"))
	pollJS(t, tab, 15*time.Second, "the table's 4 rows", `document.querySelectorAll('#metagraph tbody tr').length === 4`)

	stat := step(t, tab, 5*time.Second, "read the mechanisms stat", chromedp.Evaluate[[]string](
		`(() => { const d = document.getElementById('mechanisms'); return [String(document.getElementById('mechanisms-stat').hidden), d.textContent, d.title]; })()`))
	if stat[0] != "false" || stat[1] != "inference 60% · labels 40%" || !strings.Contains(stat[2], "(labels) 26214 / 65535") {
		t.Errorf("mechanisms stat: hidden %s, %q (title %q), want inference 60%% · labels 40%%", stat[0], stat[1], stat[2])
	}

	if got, want := headerKeys(t, tab), strings.Replace(oneMechanismHeader, "incentive,", "incentive,incentive:0,incentive:1,", 1); got != want {
		t.Errorf("table header: %s, want %s", got, want)
	}
	heads := step(t, tab, 5*time.Second, "read the mechanism headers", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#metagraph th[data-mechanism]')].flatMap(th => [th.textContent, th.title, th.getAttribute('aria-sort')])`))
	if len(heads) != 6 || heads[0] != "inference 60%" || heads[3] != "labels 40%" || !strings.Contains(heads[1], "mechanism 0 (inference)") ||
		!strings.Contains(heads[4], "26214 / 65535") || heads[2] != "none" || heads[5] != "none" {
		t.Errorf("mechanism headers (text, title, aria-sort): %q", heads)
	}

	// uid 3 has all of mechanism 1's incentive, uid 2 none of it; each
	// cell has the raw value on hover.
	cells := step(t, tab, 5*time.Second, "read the mechanism cells", chromedp.Evaluate[[]string](
		`['2', '3'].flatMap(uid => [...document.querySelectorAll('#metagraph tbody tr[data-uid="' + uid + '"] td[data-mechanism]')].flatMap(td => [td.textContent, td.title]))`))
	// Mechanism 0's incentive moves a little as stakes grow: check it
	// against its own title; mechanism 1's is fixed by the weights.
	if len(cells) != 8 {
		t.Fatalf("mechanism cells of uids 2 and 3 (text, title): %q", cells)
	}
	for _, c := range [][]string{cells[0:2], cells[4:6]} {
		var v uint16
		if _, err := fmt.Sscanf(c[1], "%d / 65535 from inference", &v); err != nil || v == 0 || c[0] != pctOf(v) {
			t.Errorf("inference cell %q (title %q): want a percentage of a positive incentive, the raw value on hover", c[0], c[1])
		}
	}
	if want := []string{"0.00%", "0 / 65535 from labels", "100.00%", "65535 / 65535 from labels"}; !slices.Equal([]string{cells[2], cells[3], cells[6], cells[7]}, want) {
		t.Errorf("labels cells of uids 2 and 3 (text, title): %q, want %q", cells, want)
	}

	// Sorting by labels: uid 3 first, then the rest by uid; aria-sort
	// follows.
	uids := func() string {
		return step(t, tab, 5*time.Second, "read the table's uids",
			chromedp.Evaluate[string](`[...document.querySelectorAll('#metagraph tbody tr')].map(r => r.dataset.uid).join(',')`))
	}
	step(t, tab, 5*time.Second, "click the labels header", chromedp.Click(`#metagraph th[data-key="incentive:1"] button`))
	if got := uids(); got != "3,0,1,2" {
		t.Errorf("after sorting by labels: %s, want 3,0,1,2", got)
	}
	sorts := step(t, tab, 5*time.Second, "read aria-sort", chromedp.Evaluate[string](
		`[...document.querySelectorAll('#metagraph thead th')].map(th => th.getAttribute('aria-sort')).join(',')`))
	if sorts != "none,none,none,none,none,descending,none,none,none,none" {
		t.Errorf("aria-sort after sorting by labels: %s", sorts)
	}
	// The sort holds across live updates.
	h0 := step(t, tab, 5*time.Second, "read the height", chromedp.Evaluate[string](`document.getElementById('height').textContent`))
	pollJS(t, tab, 15*time.Second, "the height to move", fmt.Sprintf(`document.getElementById('height').textContent !== %q`, h0))
	if got := uids(); got != "3,0,1,2" {
		t.Errorf("after an update, sorted by labels: %s, want 3,0,1,2", got)
	}

	png := step(t, tab, 20*time.Second, "screenshot", chromedp.FullScreenshot(100))
	saveScreenshot(t, "dashboard-mechanisms.png", png)

	// A phone: the extra columns stay inside the table's scroller, and
	// the mechanisms stat inside the header.
	step(t, tab, 5*time.Second, "narrow the viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	pollJS(t, tab, 10*time.Second, "the page to fit 390px",
		`document.documentElement.scrollWidth <= window.innerWidth + 1 &&
		 document.getElementById('mechanisms').getBoundingClientRect().right <= window.innerWidth`)
	png = step(t, tab, 20*time.Second, "narrow screenshot", chromedp.FullScreenshot(100))
	saveScreenshot(t, "dashboard-mechanisms-narrow.png", png)
	if ex := exceptions(); len(ex) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(ex, "\n"))
	}
}

// pctOf is the page's percentage of a u16 fraction: two decimals.
func pctOf(u16 uint16) string {
	return fmt.Sprintf("%.2f%%", float64(u16)/65535*100)
}
