package scoring

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seed0ffb8d46/agora/llm"
)

// An evaluation corpus of text nobody on the project wrote, read at test
// time from this Debian machine (never committed): the licences in
// /usr/share/common-licenses, packages' copyright files and READMEs in
// /usr/share/doc, and manual pages in /usr/share/man (English ones, and the
// translated ones for "other language"). Documents are split into
// paragraphs of prose; a (prompt, continuation) pair is two consecutive
// paragraphs of one document.

// ufDoc is one document of the outside corpus: its paragraphs, in order,
// "" where a paragraph is not prose or is in other documents too.
type ufDoc struct {
	path, lang string // lang: "en", or the manual's language directory (de, ru, zh_CN...)
	paras      []string
}

// What is read: all licences, copyright files and READMEs, every
// ufManStride-th English manual page (sorted by path), all translated
// manual pages; of each, its first ufMaxDocBytes (the test takes a few
// pairs from the start of each document).
const (
	ufManStride   = 8
	ufMaxDocBytes = 24 << 10
)

// ufReadDoc returns the text of a file, gunzipped when its name ends in
// .gz, at most ufMaxDocBytes; "" for anything that is not UTF-8 text.
func ufReadDoc(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return ""
		}
		r = zr
	}
	b, err := io.ReadAll(io.LimitReader(r, ufMaxDocBytes))
	if (err != nil && len(b) == 0) || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return ""
	}
	return string(b)
}

var (
	// ufRoffFont and the rest match the inline escapes of roff text.
	ufRoffFont    = regexp.MustCompile(`\\f(\[[^\]]*\]|\(..|.)`)
	ufRoffSpecial = regexp.MustCompile(`\\\((..)|\\\[([^\]]*)\]`)
	ufRoffString  = regexp.MustCompile(`\\\*(\[[^\]]*\]|\(..|.)`)
	ufRoffArg     = regexp.MustCompile(`\\[hvwlLbDNoxXZR]'[^']*'|\\[sn][-+]?(\(..|\[[^\]]*\]|[0-9]+|.)|\\[kz].`)
	ufRoffNames   = map[string]string{"em": " - ", "en": "-", "hy": "-", "lq": `"`, "rq": `"`, "oq": "'", "cq": "'", "aq": "'", "dq": `"`, "co": "(c)", "bu": "*", "ga": "`", "aa": "'", "ti": "~"}
)

// ufRoffText turns a manual page's roff source into plain text: one
// paragraph per block between paragraph macros, font macros' arguments
// kept, other requests, comments, no-fill blocks (code) and tables dropped,
// inline escapes replaced or removed. It is rough; prose survives it.
func ufRoffText(src string) string {
	var out strings.Builder
	skip := "" // the request that ends the block being skipped
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, `\"`); i >= 0 {
			line = line[:i] // a comment
		}
		if skip != "" {
			if strings.HasPrefix(line, skip) {
				skip = ""
			}
			continue
		}
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			req := strings.Fields(strings.TrimLeft(line[1:], " \t"))
			if len(req) == 0 {
				continue
			}
			switch req[0] {
			case "de", "am", "ig":
				skip = ".."
			case "nf": // no-fill: code, examples
				skip = ".fi"
				out.WriteString("\n\n")
			case "EX":
				skip = ".EE"
				out.WriteString("\n\n")
			case "TS": // a table
				skip = ".TE"
				out.WriteString("\n\n")
			case "B", "I", "BR", "RB", "BI", "IB", "IR", "RI", "SM", "SB":
				args := strings.Join(req[1:], " ")
				out.WriteString(strings.ReplaceAll(args, `"`, "") + "\n")
			case "PP", "P", "LP", "TP", "IP", "HP", "SH", "SS", "sp", "RS", "RE", "TH", "br", "in", "ti":
				out.WriteString("\n\n")
			}
			continue
		}
		out.WriteString(line + "\n")
	}
	s := out.String()
	s = ufRoffFont.ReplaceAllString(s, "")
	s = ufRoffArg.ReplaceAllString(s, "")
	s = ufRoffString.ReplaceAllStringFunc(s, func(m string) string {
		if strings.Contains(m, `"`) {
			return `"`
		}
		return ""
	})
	s = ufRoffSpecial.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m[2:], "[]")
		return ufRoffNames[name]
	})
	return strings.NewReplacer(`\-`, "-", `\&`, "", `\e`, `\`, `\ `, " ", `\~`, " ", `\|`, "", `\^`, "", `\,`, "", `\/`, "", `\c`, "", `\%`, "", `\:`, "", `\0`, " ").Replace(s)
}

// ufParagraphs splits text into paragraphs at blank lines (and at lines of
// a lone ".", as in Debian copyright files), each with its whitespace
// collapsed to single spaces.
func ufParagraphs(text string) []string {
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || len(f) == 1 && f[0] == "." {
			flush()
			continue
		}
		cur = append(cur, f...)
	}
	flush()
	return paras
}

// ufIsProse reports whether a paragraph reads as prose: at least 12 words,
// mostly letters, few of the symbols of code, tables and addresses.
func ufIsProse(p string) bool {
	words := strings.Fields(p)
	if len(words) < 12 {
		return false
	}
	var nonSpace, letters, symbols int
	for _, r := range p {
		switch {
		case unicode.IsSpace(r):
			continue
		case unicode.IsLetter(r):
			letters++
		case strings.ContainsRune(`=<>{}[]|\$#@_*/~^`+"`", r):
			symbols++
		}
		nonSpace++
	}
	return letters*100 >= nonSpace*78 && symbols*100 <= nonSpace*2
}

// ufLangDirs returns the names of the translated manuals' directories
// under root (/usr/share/man): their languages.
func ufLangDirs(root string) []string {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var langs []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() && !strings.HasPrefix(n, "man") && !strings.HasPrefix(n, "en") {
			langs = append(langs, n)
		}
	}
	return langs
}

// ufManPages lists the manual pages (regular files, not symbolic links)
// under dir/man*/, sorted.
func ufManPages(dir string) []string {
	var out []string
	secs, _ := filepath.Glob(filepath.Join(dir, "man*"))
	for _, sec := range secs {
		ents, err := os.ReadDir(sec)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.Type()&fs.ModeSymlink == 0 && e.Type().IsRegular() {
				out = append(out, filepath.Join(sec, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out
}

// ufOutsideDocs reads the corpus: English documents and translated manual
// pages, with every paragraph that occurs (by its first or last 80 bytes)
// in more than one document dropped, so that licence boilerplate repeated
// across packages is in neither split twice.
func ufOutsideDocs() (english, foreign []ufDoc) {
	var paths []string
	lic, _ := filepath.Glob("/usr/share/common-licenses/*")
	paths = append(paths, lic...)
	cps, _ := filepath.Glob("/usr/share/doc/*/copyright")
	paths = append(paths, cps...)
	rds, _ := filepath.Glob("/usr/share/doc/*/README*")
	for _, p := range rds {
		if low := strings.ToLower(p); !strings.Contains(low, ".htm") && !strings.HasSuffix(low, ".pdf") {
			paths = append(paths, p)
		}
	}
	for i, p := range ufManPages("/usr/share/man") {
		if i%ufManStride == 0 {
			paths = append(paths, p)
		}
	}
	var docs []ufDoc
	for _, p := range paths {
		text := ufReadDoc(p)
		if strings.HasPrefix(p, "/usr/share/man/") {
			if strings.HasPrefix(text, ".so ") {
				continue // a redirect to another page
			}
			text = ufRoffText(text)
		}
		docs = append(docs, ufDoc{path: p, lang: "en", paras: ufParagraphs(text)})
	}
	nEnglish := len(docs)
	for _, lang := range ufLangDirs("/usr/share/man") {
		for _, p := range ufManPages(filepath.Join("/usr/share/man", lang)) {
			text := ufReadDoc(p)
			if strings.HasPrefix(text, ".so ") {
				continue
			}
			docs = append(docs, ufDoc{path: p, lang: lang, paras: ufParagraphs(ufRoffText(text))})
		}
	}

	// Keys of a paragraph: its first and last 80 bytes (about ten words),
	// lowercased. Paragraphs have their spaces collapsed already.
	keys := func(p string) [2]string {
		return [2]string{"<" + strings.ToLower(p[:min(80, len(p))]), ">" + strings.ToLower(p[max(0, len(p)-80):])}
	}
	seenIn := map[string]int{} // key -> the document it was first seen in, or -1 for several
	for d := range docs {
		for i, p := range docs[d].paras {
			if !ufIsProse(p) {
				docs[d].paras[i] = ""
				continue
			}
			for _, k := range keys(p) {
				if prev, ok := seenIn[k]; !ok {
					seenIn[k] = d
				} else if prev != d {
					seenIn[k] = -1
				}
			}
		}
	}
	for d := range docs {
		for i, p := range docs[d].paras {
			if p == "" {
				continue
			}
			for _, k := range keys(p) {
				if seenIn[k] != d {
					docs[d].paras[i] = ""
				}
			}
		}
	}
	return docs[:nEnglish], docs[nEnglish:]
}

// ufCut returns the longest prefix of s of at most n bytes that ends at a
// word boundary (all of s when it is shorter).
func ufCut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := strings.LastIndexByte(s[:n+1], ' ')
	if i <= 0 {
		return ""
	}
	return s[:i]
}

// ufTail returns the end of s of at most n bytes, starting at a sentence
// when one starts in its first half, else at a word.
func ufTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	k := len(s) - n
	for k < len(s) && !utf8.RuneStart(s[k]) {
		k++
	}
	t := s[k:]
	if i := strings.Index(t, ". "); i >= 0 && i < n/2 {
		return t[i+2:]
	}
	if i := strings.IndexByte(t, ' '); i >= 0 {
		return t[i+1:]
	}
	return t
}

// Lengths of the corpus' texts, in bytes.
const (
	ufPromptBytes = 400 // a prompt is the end of a paragraph, at most this long
	ufContBytes   = 160 // a continuation is the start of the next one, at most this long
	ufContMin     = 60  // and at least this long
	ufPairsPerDoc = 3   // pairs from one document, at most
)

// ufPair is a prompt and its real continuation, from document doc.
type ufPair struct {
	doc            int
	prompt, answer string
}

// ufPairs makes the (prompt, continuation) pairs of docs: consecutive
// prose paragraphs, at most ufPairsPerDoc a document, not overlapping.
func ufPairs(docs []ufDoc) []ufPair {
	var out []ufPair
	for d, doc := range docs {
		n := 0
		for i := 0; i+1 < len(doc.paras) && n < ufPairsPerDoc; i++ {
			p, c := doc.paras[i], doc.paras[i+1]
			if p == "" || c == "" {
				continue
			}
			c = ufCut(c, ufContBytes)
			if len(c) < ufContMin {
				continue
			}
			out = append(out, ufPair{doc: d, prompt: ufTail(p, ufPromptBytes), answer: c})
			n++
			i++ // the next pair starts after this one
		}
	}
	return out
}

// ufForms are the degraded forms of an answer, in the table's order.
var ufForms = []string{"shuffled", "truncated", "off_topic", "other_language", "echo"}

// ufExample is one answer to judge: the real continuation (useful) or one
// of its degraded forms.
type ufExample struct {
	in     UsefulInput
	useful bool
	form   string // "useful" or one of ufForms
	script string // for other_language: "latin" or "other" script
}

// ufScript says whether a text is written mostly in Latin letters.
func ufScript(s string) string {
	latin, other := 0, 0
	for _, r := range s {
		switch {
		case r < 0x250 && unicode.IsLetter(r):
			latin++
		case unicode.IsLetter(r):
			other++
		}
	}
	if other > latin {
		return "other"
	}
	return "latin"
}

// ufExamples makes, for each pair, the useful example and one of each
// degraded form, deterministically from seed:
//   - shuffled: the continuation's words in a random order;
//   - truncated: its first 2 to 5 words;
//   - off_topic: the continuation of a pair from another document;
//   - other_language: the start of a paragraph of a translated manual page
//     (real text in German, French, Russian, Japanese...: whichever
//     languages the machine has), about as long as the continuation;
//   - echo: the start of the prompt, as long as the continuation.
func ufExamples(pairs []ufPair, foreign []string, seed uint64) []ufExample {
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	out := make([]ufExample, 0, len(pairs)*ufPerPair)
	for _, p := range pairs {
		ex := func(answer, form string) ufExample {
			return ufExample{in: UsefulInput{Prompt: p.prompt, Response: answer}, useful: form == "useful", form: form}
		}
		out = append(out, ex(p.answer, "useful"))
		w := strings.Fields(p.answer)
		r.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
		out = append(out, ex(strings.Join(w, " "), "shuffled"))
		w = strings.Fields(p.answer)
		out = append(out, ex(strings.Join(w[:min(len(w), 2+r.IntN(4))], " "), "truncated"))
		j := r.IntN(len(pairs))
		for pairs[j].doc == p.doc {
			j = (j + 1) % len(pairs)
		}
		out = append(out, ex(pairs[j].answer, "off_topic"))
		f := foreign[r.IntN(len(foreign))]
		fe := ex(ufCutRunes(f, len(p.answer)), "other_language")
		fe.script = ufScript(f)
		out = append(out, fe)
		out = append(out, ex(ufCut(p.prompt, len(p.answer)), "echo"))
	}
	return out
}

// ufCutRunes is ufCut for a text that may have no spaces (Japanese,
// Chinese): at most n bytes, at a space when there is one, else at a rune.
func ufCutRunes(s string, n int) string {
	if c := ufCut(s, n); c != "" || len(s) <= n {
		return c
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ufSplit sends a document to the held-out split by a hash of its path:
// about heldPct percent of documents.
func ufSplit(path string, heldPct uint32) bool {
	h := fnv.New32a()
	h.Write([]byte(path))
	return h.Sum32()%100 < heldPct
}

// ufOutside is the corpus as the test uses it.
type ufOutside struct {
	train, held []ufExample
	docs        int // documents with at least one pair
	nForeign    int // foreign paragraphs
	langs       []string
}

// Minimum sizes below which the machine has too little text for the test.
const (
	ufMinPairs   = 600
	ufMinForeign = 300
)

// ufLoadOutside builds the corpus and splits it by document: about 40% of
// documents (English and foreign) held out. It fails the test with what it
// found when the machine has too little text.
func ufLoadOutside(t testing.TB) ufOutside {
	t.Helper()
	english, foreign := ufOutsideDocs()
	pairs := ufPairs(english)
	var fTrain, fHeld []string
	langs := map[string]bool{}
	for _, d := range foreign {
		for _, p := range d.paras {
			if p == "" || len(p) < ufContMin {
				continue
			}
			langs[d.lang] = true
			if ufSplit(d.path, 40) {
				fHeld = append(fHeld, p)
			} else {
				fTrain = append(fTrain, p)
			}
		}
	}
	if len(pairs) < ufMinPairs || len(fTrain)+len(fHeld) < ufMinForeign || len(fHeld) < ufMinForeign/4 {
		t.Fatalf("too little text on this machine for the outside-text evaluation: %d English documents gave %d (prompt, continuation) pairs (want %d), %d translated manual pages gave %d paragraphs (want %d). "+
			"It reads /usr/share/common-licenses/*, /usr/share/doc/*/copyright, /usr/share/doc/*/README* and /usr/share/man (English and translated pages): install the documentation and manual pages (a minimal image may exclude them in /etc/dpkg/dpkg.cfg.d).",
			len(english), len(pairs), ufMinPairs, len(foreign), len(fTrain)+len(fHeld), ufMinForeign)
	}
	var trainPairs, heldPairs []ufPair
	docs := map[int]bool{}
	for _, p := range pairs {
		docs[p.doc] = true
		if ufSplit(english[p.doc].path, 40) {
			heldPairs = append(heldPairs, p)
		} else {
			trainPairs = append(trainPairs, p)
		}
	}
	o := ufOutside{
		train:    ufExamples(trainPairs, fTrain, 1),
		held:     ufExamples(heldPairs, fHeld, 2),
		docs:     len(docs),
		nForeign: len(fTrain) + len(fHeld),
	}
	for l := range langs {
		o.langs = append(o.langs, l)
	}
	slices.Sort(o.langs)
	return o
}

// ufAUC is the area under the ROC curve of scores for positives pos and
// negatives neg: the probability that a random positive scores above a
// random negative, ties counting half (the Mann-Whitney U statistic).
func ufAUC(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return 0.5
	}
	type sv struct {
		s   float64
		pos bool
	}
	all := make([]sv, 0, len(pos)+len(neg))
	for _, s := range pos {
		all = append(all, sv{s, true})
	}
	for _, s := range neg {
		all = append(all, sv{s, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s < all[j].s })
	var rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		mid := float64(i+j+1) / 2 // the mean of ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].pos {
				rankSum += mid
			}
		}
		i = j
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rankSum - np*(np+1)/2) / (np * nn)
}

// ufFormAUCs scores examples with score and returns the AUC of the useful
// ones against each degraded form, and against all of them ("overall").
func ufFormAUCs(examples []ufExample, score func(ufExample) float64) map[string]float64 {
	var pos []float64
	neg := map[string][]float64{}
	for _, e := range examples {
		s := score(e)
		if e.useful {
			pos = append(pos, s)
			continue
		}
		neg[e.form] = append(neg[e.form], s)
		neg["overall"] = append(neg["overall"], s)
		if e.form == "other_language" {
			neg["other_language/"+e.script] = append(neg["other_language/"+e.script], s)
		}
	}
	out := map[string]float64{}
	for k, v := range neg {
		out[k] = ufAUC(pos, v)
	}
	return out
}

// ufTrainOutside trains a new classifier on examples, in a shuffled order,
// for ufPasses passes; with denseOnly, without the hashed n-grams.
func ufTrainOutside(t testing.TB, examples []ufExample, denseOnly bool) *Useful {
	t.Helper()
	cfg := DefaultUsefulConfig()
	cfg.MaxPerMinerPerWindow = 1 << 30 // one "miner": the corpus
	u, err := NewUseful(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	u.fx.denseOnly = denseOnly
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range ufPasses {
		r.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, i := range order {
			e := examples[i]
			if err := u.Train(e.in, e.useful, "corpus", EvidenceReference); err != nil {
				t.Fatal(err)
			}
		}
	}
	return u
}

// ufTableRows are the rows of the AUC tables, in order.
func ufTableRows(aucs ...map[string]float64) []string {
	rows := append([]string{"overall"}, ufForms...)
	for _, sub := range []string{"other_language/latin", "other_language/other"} {
		for _, a := range aucs {
			if _, ok := a[sub]; ok {
				rows = append(rows, sub)
				break
			}
		}
	}
	return rows
}

// ufPasses is how many times the classifier sees the training split.
const ufPasses = 3

// ufPerPair is how many examples ufExamples makes of a pair.
var ufPerPair = 1 + len(ufForms)

// ufEveryPair returns the examples of n pairs of examples, spread evenly
// over it (so over documents of every source), as copies.
func ufEveryPair(examples []ufExample, n int) []ufExample {
	pairs := len(examples) / ufPerPair
	step := max(pairs/n, 1)
	var out []ufExample
	for p := 0; p < pairs && len(out) < n*ufPerPair; p += step {
		out = append(out, examples[p*ufPerPair:(p+1)*ufPerPair]...)
	}
	return out
}

// ufRunWithoutRace runs the calling test again in a `go test` built
// without the race detector, logs what it printed, and fails when it
// failed. Under the race detector the demo model runs about 12 times
// slower (measured: 103 against 1265 tokens a second on one core), which
// would make this test take many minutes; what it checks has no
// concurrency of its own (TestUsefulConcurrentPredictAndTrain has).
func ufRunWithoutRace(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("under the race detector this test runs itself again without it, with the go command, which is not on PATH: %v", err)
	}
	var flags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if f != "-race" && f != "-race=true" {
			flags = append(flags, f)
		}
	}
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-5*time.Second))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, goTool, "test", "-count=1", "-run=^"+t.Name()+"$", "-v", ".")
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.Join(flags, " "))
	out, err := cmd.CombinedOutput()
	t.Logf("run without the race detector (%s):\n%s", strings.Join(cmd.Args[1:], " "), out)
	if err != nil {
		t.Fatalf("%s without the race detector: %v", t.Name(), err)
	}
}

// Bars of TestUsefulAUCOutsideText: the held-out AUC of the text features
// (measured on this machine's Debian text: overall 0.944, shuffled 0.878,
// truncated 0.984, off-topic 0.887, other language 0.988, echo 0.986),
// with room for another machine's set of packages, none for a regression
// that matters.
var ufOutsideBars = map[string]float64{
	"overall": 0.92, "shuffled": 0.85, "truncated": 0.96, "off_topic": 0.85, "other_language": 0.96, "echo": 0.96,
}

// ufLPPairs is how many pairs of each split the demo model scores for the
// log-probability columns (about 1200 examples, half a minute on two
// cores).
const ufLPPairs = 100

// TestUsefulAUCOutsideText trains p(useful) on usefulness labels (the
// real continuation is useful; its degraded forms are not) from text nobody
// on the project wrote, and reports the held-out AUC per degraded form:
// with the text features (the whole corpus), without the hashed n-grams,
// when trained on the generated templates of ufCorpus instead (the demo
// model's style), and on a subset scored by the demo model, with and
// without its mean log-probability, and that log-probability alone.
func TestUsefulAUCOutsideText(t *testing.T) {
	if ufRaceDetector {
		ufRunWithoutRace(t)
		return
	}
	o := ufLoadOutside(t)
	t.Logf("outside corpus: %d documents with pairs, %d train / %d held-out examples (1 useful + %d degraded per pair; documents split 60/40), %d foreign paragraphs in %s",
		o.docs, len(o.train), len(o.held), len(ufForms), o.nForeign, strings.Join(o.langs, " "))

	score := func(u *Useful) func(ufExample) float64 {
		return func(e ufExample) float64 { return u.Predict(e.in) }
	}
	text := ufTrainOutside(t, o.train, false)
	textAUC := ufFormAUCs(o.held, score(text))
	denseAUC := ufFormAUCs(o.held, score(ufTrainOutside(t, o.train, true)))
	templ, err := NewUseful(DefaultUsefulConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ufTrainHonest(t, templ, ufCorpus(1, 5000))
	templAUC := ufFormAUCs(o.held, score(templ))

	// The demo model's mean log-probability, on a subset of each split.
	m := ufDemoModel(t)
	start := time.Now()
	lpTrain, lpHeld := ufEveryPair(o.train, ufLPPairs), ufEveryPair(o.held, ufLPPairs)
	known := ufFillLogprobs(t, m, lpTrain) + ufFillLogprobs(t, m, lpHeld)
	t.Logf("demo model: %d of %d examples scored (the rest have characters its tokenizer cannot encode) in %s",
		known, len(lpTrain)+len(lpHeld), time.Since(start).Round(time.Second))
	with := ufTrainOutside(t, append(slices.Clone(o.train), lpTrain...), false)
	withAUC := ufFormAUCs(lpHeld, score(with))
	withoutAUC := ufFormAUCs(lpHeld, func(e ufExample) float64 {
		e.in.HasLogprob = false
		return text.Predict(e.in)
	})
	aloneAUC := ufFormAUCs(lpHeld, func(e ufExample) float64 {
		if !e.in.HasLogprob {
			return math.Inf(-1)
		}
		return e.in.MeanLogprob
	})

	var sb strings.Builder
	fmt.Fprintf(&sb, "held-out AUC, useful continuation against each degraded form\n")
	fmt.Fprintf(&sb, "(whole corpus: text features / without hashed n-grams / trained on generated templates;\n")
	fmt.Fprintf(&sb, " %d held-out pairs scored by the demo model: with its log-probability / without / log-probability alone)\n", len(lpHeld)/ufPerPair)
	fmt.Fprintf(&sb, "%-22s %8s %8s %8s | %8s %8s %8s\n", "form", "text", "dense", "templ", "with_lp", "no_lp", "lp_only")
	for _, row := range ufTableRows(textAUC, withAUC) {
		fmt.Fprintf(&sb, "%-22s %8.4f %8.4f %8.4f | %8.4f %8.4f %8.4f\n", row, textAUC[row], denseAUC[row], templAUC[row], withAUC[row], withoutAUC[row], aloneAUC[row])
	}
	t.Log(sb.String())

	for form, bar := range ufOutsideBars {
		if textAUC[form] < bar {
			t.Errorf("%s: held-out AUC %.4f < %.2f", form, textAUC[form], bar)
		}
	}
	if withAUC["overall"] < 0.9 || withAUC["overall"] < withoutAUC["overall"]-0.02 {
		t.Errorf("with the log-probability the overall AUC is %.4f (without %.4f): want >= 0.90 and no worse than without by more than 0.02", withAUC["overall"], withoutAUC["overall"])
	}
	// The demo model does not know other languages: its log-probability
	// alone tells them apart. (Shuffled words, another document's text, an
	// echo: it can hardly tell these from a real continuation it does not
	// know either; see the table.)
	if aloneAUC["other_language"] < 0.8 {
		t.Errorf("log-probability alone: other language AUC %.4f < 0.8", aloneAUC["other_language"])
	}
}

// ufDemoModel loads the demo model, babyllama105, from ../shared/models
// beside the repository.
func ufDemoModel(t testing.TB) *llm.Llama {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "models", "babyllama105")
	tok, err := llm.LoadTokenizer(filepath.Join(dir, "tok105.model"))
	if err == nil {
		var m *llm.Llama
		if m, err = llm.LoadLlama(filepath.Join(dir, "babyllama105.bin"), tok); err == nil {
			return m
		}
	}
	t.Fatalf("the demo model must be at %s (../shared/models beside the checkout): %v", dir, err)
	return nil
}

// What of each example the demo model reads (its context is 256 tokens of
// about a character each, and it runs at about a thousand tokens a second
// on one core): the answer's first ufLPAnswerTokens tokens, after the last
// ufLPPromptBytes bytes of the prompt.
const (
	ufLPPromptBytes  = 32
	ufLPAnswerTokens = 48
)

// ufFillLogprobs sets MeanLogprob of each example to the demo model's mean
// log-probability per token of its answer (the first ufLPAnswerTokens
// tokens) given the end of its prompt, with HasLogprob false when the
// tokenizer cannot encode either. It runs on every core and returns the
// number of examples with a log-probability.
func ufFillLogprobs(t testing.TB, m *llm.Llama, examples []ufExample) int {
	t.Helper()
	tok := m.Tokenizer()
	var (
		next  atomic.Int64
		known atomic.Int64
		wg    sync.WaitGroup
		errc  = make(chan error, 1)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(examples) {
					return
				}
				in := &examples[i].in
				in.HasLogprob = false
				ids, err := tok.Encode(in.Response, false)
				if err != nil || len(ids) == 0 {
					continue
				}
				ids = ids[:min(len(ids), ufLPAnswerTokens)]
				lps, err := m.Score(context.Background(), ufTail(in.Prompt, ufLPPromptBytes), ids)
				var unenc *llm.UnencodableError
				switch {
				case errors.As(err, &unenc):
					continue
				case err != nil:
					select {
					case errc <- fmt.Errorf("scoring example %d: %w", i, err):
					default:
					}
					return
				}
				var sum float64
				for _, lp := range lps {
					sum += lp
				}
				in.MeanLogprob, in.HasLogprob = sum/float64(len(lps)), true
				known.Add(1)
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	return int(known.Load())
}
