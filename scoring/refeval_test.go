package scoring

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// refTestSeeds is how many seeds per kind the recomputation tests cover.
const refTestSeeds = 3000

// refRecompute derives the answer of a task from its Op and Args alone,
// with code independent of the generators, and reports a mismatch.
func refRecompute(t *testing.T, task RefTask) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s (%s %q): %s\nprompt: %s\nanswer: %q", task.ID, task.Op, task.Args, fmt.Sprintf(format, args...), task.Prompt, task.Answer)
	}
	args := task.Args
	atoi := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fail("arg %q: %v", s, err)
		}
		return n
	}
	want := func(w string) {
		t.Helper()
		if task.Answer != w {
			fail("want %q", w)
		}
	}
	date := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			fail("date %q: %v", s, err)
		}
		return d
	}
	inPrompt := func(s string) {
		t.Helper()
		if !strings.Contains(task.Prompt, s) {
			fail("prompt lacks %q", s)
		}
	}
	switch task.Kind {
	case RefArithmetic:
		tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, args[0])
		if err != nil || tv.Value == nil || tv.Value.Kind() != constant.Int {
			fail("eval %q: %v", args[0], err)
			return
		}
		want(tv.Value.ExactString())
		if task.Op == "div" {
			var a, b int64
			fmt.Sscanf(args[0], "%d / %d", &a, &b)
			if a%b != 0 {
				fail("inexact division")
			}
		}
		for _, n := range regexp.MustCompile(`\d+`).FindAllString(args[0], -1) {
			inPrompt(n)
		}
	case RefWordProblem:
		n := make([]int64, len(args))
		for i, a := range args {
			n[i] = atoi(a)
			inPrompt(" " + a + " ")
		}
		var ans int64
		switch task.Op {
		case "boxes", "savings":
			ans = n[0]*n[1] - n[2]
		case "share":
			if (n[0]+n[1])%n[2] != 0 {
				fail("unequal shares")
			}
			ans = (n[0] + n[1]) / n[2]
		case "trip":
			ans = n[0]*n[1] + n[2]*n[3]
		case "change":
			ans = n[2] - n[0]*n[1]
		case "pages":
			ans = n[0] - n[1]*n[2]
		default:
			fail("unknown op")
		}
		if ans <= 0 {
			fail("non-positive answer %d", ans)
		}
		want(strconv.FormatInt(ans, 10))
	case RefUnit:
		refCheckUnit(t, task, fail)
	case RefDate:
		d := date(args[0])
		if !strings.Contains(task.Prompt, args[0]) && !strings.Contains(task.Prompt, d.Format("January 2, 2006")) {
			fail("prompt lacks the date")
		}
		day := 24 * time.Hour
		switch task.Op {
		case "add_days":
			want(d.Add(time.Duration(atoi(args[1])) * day).Format("2006-01-02"))
		case "sub_days":
			want(d.Add(-time.Duration(atoi(args[1])) * day).Format("2006-01-02"))
		case "weekday":
			want(d.Weekday().String())
		case "weekday_after":
			want(d.Add(time.Duration(atoi(args[1])) * day).Weekday().String())
		case "days_between":
			want(strconv.Itoa(int(date(args[1]).Sub(d).Hours()) / 24))
		default:
			fail("unknown op")
		}
	case RefString:
		w := args[0]
		inPrompt("'" + w + "'")
		switch task.Op {
		case "reverse":
			rs := []rune(w)
			out := make([]rune, 0, len(rs))
			for i := len(rs) - 1; i >= 0; i-- {
				out = append(out, rs[i])
			}
			want(string(out))
		case "count":
			c := 0
			for _, r := range w {
				if string(r) == args[1] {
					c++
				}
			}
			want(strconv.Itoa(c))
		case "nth":
			want(string([]rune(w)[atoi(args[1])-1]))
		case "upper":
			want(strings.Map(func(r rune) rune {
				if 'a' <= r && r <= 'z' {
					return r - 32
				}
				return r
			}, w))
		case "length":
			want(strconv.Itoa(utf8.RuneCountInString(w)))
		default:
			fail("unknown op")
		}
	case RefList:
		xs := make([]int, len(args))
		for i, a := range args {
			xs[i] = int(atoi(a))
		}
		inPrompt(strings.Join(args, ", "))
		list := func(v []int) string {
			s := make([]string, len(v))
			for i, x := range v {
				s[i] = strconv.Itoa(x)
			}
			return "[" + strings.Join(s, ", ") + "]"
		}
		s := slices.Clone(xs)
		slices.Sort(s)
		switch task.Op {
		case "sort_asc":
			want(list(s))
		case "sort_desc":
			slices.Reverse(s)
			want(list(s))
		case "max":
			want(strconv.Itoa(s[len(s)-1]))
		case "min":
			want(strconv.Itoa(s[0]))
		case "sum":
			sum := 0
			for _, x := range xs {
				sum += x
			}
			want(strconv.Itoa(sum))
		case "len":
			want(strconv.Itoa(len(xs)))
		case "dedup":
			seen := map[int]bool{}
			var out []int
			for _, x := range xs {
				if !seen[x] {
					seen[x] = true
					out = append(out, x)
				}
			}
			if len(out) == len(xs) {
				fail("no duplicates to remove")
			}
			want(list(out))
		default:
			fail("unknown op")
		}
	case RefFact:
		want(refFactAnswer(t, task.Op, args[0]))
	case RefFormat:
		form, inner, _ := strings.Cut(task.Op, ":")
		var base string
		switch inner {
		case "add", "sub", "mul":
			tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, args[0])
			if err != nil {
				fail("eval: %v", err)
				return
			}
			base = tv.Value.ExactString()
		default:
			base = refFactAnswer(t, inner, args[0])
		}
		switch form {
		case "json":
			var obj map[string]json.RawMessage
			if err := json.Unmarshal([]byte(task.Answer), &obj); err != nil || len(obj) != 1 {
				fail("answer is not a one-member object: %v", err)
			}
			raw := obj[task.Key]
			if string(raw) != base && string(raw) != strconv.Quote(base) || task.Value != base {
				fail("member %q = %s, want %q", task.Key, raw, base)
			}
			inPrompt(`"` + task.Key + `"`)
		case "one_word":
			want(base)
			if strings.ContainsAny(base, " \t") {
				fail("one-word answer has a space")
			}
		case "upper":
			want(strings.ToUpper(base))
		default:
			fail("unknown format")
		}
	}
}

// refFactAnswer looks a fact up by scanning the tables.
func refFactAnswer(t *testing.T, op, key string) string {
	t.Helper()
	switch op {
	case "capital":
		for _, c := range refCapitals {
			if c.country == key {
				return c.capital
			}
		}
	case "symbol", "atomic_number":
		for _, e := range refElements {
			if e.name == key {
				if op == "symbol" {
					return e.symbol
				}
				return strconv.Itoa(e.number)
			}
		}
	case "element":
		for _, e := range refElements {
			if e.symbol == key {
				return e.name
			}
		}
	case "planet_order":
		for i, p := range refPlanets {
			if p == key {
				return strconv.Itoa(i + 1)
			}
		}
	case "planet_at":
		n, _ := strconv.Atoi(key)
		if n >= 1 && n <= len(refPlanets) {
			return refPlanets[n-1]
		}
	}
	t.Errorf("fact %s(%q) not in the tables", op, key)
	return ""
}

// refCheckUnit recomputes a conversion with big.Rat from the definitions of
// the units, rounding half away from zero to the decimals the prompt asks.
func refCheckUnit(t *testing.T, task RefTask, fail func(string, ...any)) {
	t.Helper()
	rat := func(s string) *big.Rat {
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("bad rational %q", s)
		}
		return r
	}
	v := rat(task.Args[0])
	from, to := task.Args[1], task.Args[2]
	factors := map[string]string{ // how many of the second unit in one of the first
		"kilometres>metres": "1000", "metres>centimetres": "100", "kilograms>grams": "1000",
		"hours>minutes": "60", "minutes>seconds": "60", "days>hours": "24", "weeks>days": "7",
		"feet>inches": "12", "yards>feet": "3", "US gallons>US quarts": "4", "pounds>ounces": "16",
		"litres>millilitres": "1000", "metres>kilometres": "1/1000", "minutes>hours": "1/60",
		"inches>feet": "1/12", "grams>kilograms": "1/1000", "hours>days": "1/24",
		"inches>centimetres": "2.54", "feet>metres": "0.3048", "miles>kilometres": "1.609344",
		"kilometres>miles": "1/1.609344", "pounds>kilograms": "0.45359237", "kilograms>pounds": "1/0.45359237",
	}
	var exact *big.Rat
	switch key := from + ">" + to; key {
	case "degrees Celsius>degrees Fahrenheit":
		exact = new(big.Rat).Add(new(big.Rat).Mul(v, rat("9/5")), rat("32"))
	case "degrees Fahrenheit>degrees Celsius":
		exact = new(big.Rat).Mul(new(big.Rat).Sub(v, rat("32")), rat("5/9"))
	default:
		f, ok := factors[key]
		if !ok {
			fail("unknown conversion %s", key)
			return
		}
		if num, den, ok := strings.Cut(f, "/"); ok {
			exact = new(big.Rat).Quo(new(big.Rat).Mul(v, rat(num)), rat(den))
		} else {
			exact = new(big.Rat).Mul(v, rat(f))
		}
	}
	dp := 0
	if m := regexp.MustCompile(`Round to (\d) decimal place`).FindStringSubmatch(task.Prompt); m != nil {
		dp, _ = strconv.Atoi(m[1])
	} else if !exact.IsInt() {
		fail("exact conversion %s is not an integer", exact.RatString())
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(dp)), nil))
	scaled := new(big.Rat).Mul(exact, scale)
	abs := new(big.Rat).Abs(scaled)
	abs.Add(abs, rat("1/2"))
	q := new(big.Int).Quo(abs.Num(), abs.Denom())
	if scaled.Sign() < 0 {
		q.Neg(q)
	}
	got, ok := new(big.Rat).SetString(task.Answer)
	if !ok || got.Cmp(new(big.Rat).Quo(new(big.Rat).SetInt(q), scale)) != 0 {
		fail("want %s/10^%d (exact %s)", q, dp, exact.FloatString(6))
	}
	if _, frac, _ := strings.Cut(task.Answer, "."); len(frac) != dp {
		fail("answer has %d decimals, want %d", len(frac), dp)
	}
}

// TestRefAnswersRecomputed checks every generator's answers against an
// independent computation, for many seeds.
func TestRefAnswersRecomputed(t *testing.T) {
	for _, kind := range RefKinds() {
		t.Run(string(kind), func(t *testing.T) {
			ops := map[string]int{}
			for seed := range uint64(refTestSeeds) {
				task, err := NewRefTask(seed, kind)
				if err != nil {
					t.Fatal(err)
				}
				if task.Kind != kind || task.Seed != seed || task.ID != fmt.Sprintf("%s-%016x", kind, seed) {
					t.Fatalf("identity: %+v", task)
				}
				ops[task.Op]++
				refRecompute(t, task)
				if t.Failed() {
					return
				}
			}
			if len(ops) < 3 && kind != RefUnit {
				t.Errorf("only ops %v", ops)
			}
		})
	}
}

// TestRefCanonicalAnswerCorrect checks that the canonical answer, bare or
// declared, is right strictly, and that an altered one is not.
func TestRefCanonicalAnswerCorrect(t *testing.T) {
	for _, kind := range RefKinds() {
		for seed := range uint64(refTestSeeds) {
			task, _ := NewRefTask(seed, kind)
			for _, resp := range []string{task.Answer, "Answer: " + task.Answer, "Reasoning first.\n\nAnswer: " + task.Answer + "\n", "#### " + task.Answer} {
				if res := task.Check(resp); !res.Correct || res.Method != RefMethodStrict || res.Score != RefScoreStrict {
					t.Fatalf("%s %s: Check(%q) = %+v", task.ID, task.Op, resp, res)
				}
			}
			var wrong string
			switch task.Match {
			case RefMatchNumber:
				wrong = "Answer: " + task.Answer + "1"
			case RefMatchDate, RefMatchList:
				wrong = "Answer: " + strings.Replace(task.Answer, "1", "2", 1)
			case RefMatchText, RefMatchCase:
				for _, c := range task.Choices {
					if c != task.Answer {
						wrong = "Answer: " + c
					}
				}
			}
			if res := task.Check(wrong); wrong != "" && wrong != "Answer: "+task.Answer && res.Correct {
				t.Fatalf("%s: wrong answer %q accepted: %+v", task.ID, wrong, res)
			}
			if task.Check("").Correct {
				t.Fatalf("%s: empty response accepted", task.ID)
			}
			if !strings.Contains(task.Prompt, "nswer") && kind != RefFormat {
				t.Fatalf("%s: prompt does not say how to answer: %s", task.ID, task.Prompt)
			}
			if task.Match == RefMatchText || task.Match == RefMatchCase {
				fold := task.Match == RefMatchText
				found := false
				for _, c := range task.Choices {
					found = found || RefNormalizeText(c, fold) == RefNormalizeText(task.Answer, fold)
				}
				if !found {
					t.Fatalf("%s: answer %q not among its choices", task.ID, task.Answer)
				}
			}
		}
	}
}

// TestRefDeterminism checks that a task depends on (seed, kind) only, and
// pins a digest of many tasks so a change to any generator is noticed: a
// deliberate change updates refGoldenDigest.
func TestRefDeterminism(t *testing.T) {
	h := sha256.New()
	for _, kind := range RefKinds() {
		for seed := range uint64(500) {
			a, _ := NewRefTask(seed, kind)
			b, _ := NewRefTask(seed, kind)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: two generations differ:\n%+v\n%+v", a.ID, a, b)
			}
			fmt.Fprintf(h, "%s|%s|%q|%s|%s|%s|%q|%s|%s\n", a.ID, a.Op, a.Args, a.Prompt, a.Answer, a.Match, a.Choices, a.Key, a.Value)
		}
	}
	const refGoldenDigest = "12fbbd8ebc3d0279f7812cddb080fecf88ea4c6b92aeec15b3a59fc4e435ce0d"
	if got := hex.EncodeToString(h.Sum(nil)); got != refGoldenDigest {
		t.Errorf("task digest = %s, want %s (generators changed?)", got, refGoldenDigest)
	}
	// Different seeds give different tasks (almost always).
	distinct := map[string]bool{}
	for seed := range uint64(200) {
		task, _ := NewRefTask(seed, RefArithmetic)
		distinct[task.Prompt] = true
	}
	if len(distinct) < 195 {
		t.Errorf("only %d distinct prompts in 200 seeds", len(distinct))
	}
}

// TestRefRandomTask checks kind selection from the seed.
func TestRefRandomTask(t *testing.T) {
	counts := map[RefKind]int{}
	for seed := range uint64(4000) {
		a, err := RandomRefTask(seed)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := RandomRefTask(seed)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: not deterministic", seed)
		}
		direct, _ := NewRefTask(seed, a.Kind)
		if !reflect.DeepEqual(a, direct) {
			t.Fatalf("seed %d: RandomRefTask differs from NewRefTask of its kind", seed)
		}
		counts[a.Kind]++
	}
	for _, k := range RefKinds() {
		if counts[k] < 350 || counts[k] > 650 {
			t.Errorf("kind %s drawn %d times of 4000", k, counts[k])
		}
	}
	for seed := range uint64(100) {
		task, _ := RandomRefTask(seed, RefDate, RefList)
		if task.Kind != RefDate && task.Kind != RefList {
			t.Fatalf("kind %s outside the mix", task.Kind)
		}
	}
	if _, err := RandomRefTask(1, RefDate, "poetry"); !errors.Is(err, ErrRefKind) {
		t.Errorf("unknown kind in mix: err = %v", err)
	}
	if _, err := NewRefTask(1, "poetry"); !errors.Is(err, ErrRefKind) {
		t.Errorf("unknown kind: err = %v", err)
	}
}

// TestRefFactsTable checks the shipped tables' shape and spot-checks
// entries against well-known values.
func TestRefFactsTable(t *testing.T) {
	if n := len(refCapitals) + len(refElements) + len(refPlanets); n < 60 {
		t.Errorf("only %d facts", n)
	}
	countries, capitals := map[string]bool{}, map[string]bool{}
	for _, c := range refCapitals {
		if countries[c.country] || capitals[c.capital] {
			t.Errorf("duplicate %v", c)
		}
		countries[c.country], capitals[c.capital] = true, true
		if c.capital != strings.TrimSpace(c.capital) || RefNormalizeText(c.capital, true) != strings.ToLower(c.capital) {
			t.Errorf("capital %q is not plain ASCII", c.capital)
		}
	}
	symbols := map[string]bool{}
	for i, e := range refElements {
		if symbols[e.symbol] || (i > 0 && refElements[i-1].number >= e.number) {
			t.Errorf("element %v duplicated or out of order", e)
		}
		symbols[e.symbol] = true
	}
	spot := []struct{ op, key, want string }{
		{"capital", "France", "Paris"}, {"capital", "Japan", "Tokyo"}, {"capital", "Australia", "Canberra"},
		{"capital", "Canada", "Ottawa"}, {"capital", "Brazil", "Brasilia"}, {"capital", "Turkey", "Ankara"},
		{"capital", "Nigeria", "Abuja"}, {"capital", "New Zealand", "Wellington"}, {"capital", "Morocco", "Rabat"},
		{"symbol", "Gold", "Au"}, {"symbol", "Silver", "Ag"}, {"symbol", "Iron", "Fe"}, {"symbol", "Sodium", "Na"},
		{"symbol", "Potassium", "K"}, {"symbol", "Tungsten", "W"}, {"symbol", "Lead", "Pb"}, {"symbol", "Tin", "Sn"},
		{"element", "Hg", "Mercury"}, {"element", "Sb", "Antimony"}, {"element", "Cu", "Copper"},
		{"atomic_number", "Hydrogen", "1"}, {"atomic_number", "Carbon", "6"}, {"atomic_number", "Oxygen", "8"},
		{"atomic_number", "Iron", "26"}, {"atomic_number", "Gold", "79"}, {"atomic_number", "Uranium", "92"},
		{"atomic_number", "Silver", "47"}, {"atomic_number", "Plutonium", "94"},
		{"planet_order", "Earth", "3"}, {"planet_order", "Jupiter", "5"}, {"planet_order", "Neptune", "8"},
		{"planet_at", "4", "Mars"}, {"planet_at", "6", "Saturn"}, {"planet_at", "7", "Uranus"},
	}
	for _, s := range spot {
		if got := refFactAnswer(t, s.op, s.key); got != s.want {
			t.Errorf("%s(%s) = %q, want %q", s.op, s.key, got, s.want)
		}
	}
}

// TestRefConvertRounding pins the fixed-point conversion on hand-worked
// values, ties included.
func TestRefConvertRounding(t *testing.T) {
	byPair := func(from, to string) refUnitConv {
		for _, c := range refUnits {
			if c.from == from && c.to == to {
				return c
			}
		}
		t.Fatalf("no conversion %s to %s", from, to)
		return refUnitConv{}
	}
	cases := []struct {
		from, to string
		v        int64
		want     string
		ok       bool
	}{
		{"inches", "centimetres", 5, "12.70", true},
		{"miles", "kilometres", 10, "16.09", true},  // 16.09344
		{"miles", "kilometres", 3, "4.83", true},    // 4.828032
		{"kilometres", "miles", 100, "62.14", true}, // 62.1371...
		{"pounds", "kilograms", 100, "45.36", true}, // 45.359237
		{"degrees Celsius", "degrees Fahrenheit", 37, "98.6", true},
		{"degrees Celsius", "degrees Fahrenheit", -40, "-40.0", true},
		{"degrees Fahrenheit", "degrees Celsius", 0, "-17.8", true}, // -17.777...
		{"degrees Fahrenheit", "degrees Celsius", 32, "0.0", true},
		{"degrees Fahrenheit", "degrees Celsius", 31, "-0.6", true}, // -0.555...
		{"feet", "metres", 5, "1.52", true},                         // 1.524
		{"feet", "metres", 25, "7.62", true},                        // 7.62 exactly
		{"metres", "kilometres", 3000, "3", true},
		{"metres", "kilometres", 3001, "", false},
		{"hours", "minutes", 3, "180", true},
	}
	for _, c := range cases {
		got, ok := refConvert(byPair(c.from, c.to), c.v)
		if got != c.want || ok != c.ok {
			t.Errorf("%d %s -> %s = %q, %v; want %q, %v", c.v, c.from, c.to, got, ok, c.want, c.ok)
		}
	}
	// 1/8 and -3/8 at 2 decimals lie half-way; refConvert refuses them.
	tie := refUnitConv{num: 1, den: 8, dp: 2}
	for _, v := range []int64{1, -3} {
		if got, ok := refConvert(tie, v); ok {
			t.Errorf("tie %d/8 accepted as %q", v, got)
		}
	}
	if got, ok := refConvert(refUnitConv{num: 1, den: 3, dp: 2}, -1); !ok || got != "-0.33" {
		t.Errorf("-1/3 = %q, %v", got, ok)
	}
}

// BenchmarkRefGenerate measures task generation per kind.
func BenchmarkRefGenerate(b *testing.B) {
	for _, kind := range RefKinds() {
		b.Run("kind="+string(kind), func(b *testing.B) {
			b.ReportAllocs()
			seed := uint64(0)
			for b.Loop() {
				if _, err := NewRefTask(seed, kind); err != nil {
					b.Fatal(err)
				}
				seed++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

// BenchmarkRefCheck measures Check on typical responses: a declared answer,
// a chain of thought read flexibly, a wrong one, and a long number dump.
func BenchmarkRefCheck(b *testing.B) {
	wp, _ := NewRefTask(7, RefWordProblem)
	capital := RefTask{Kind: RefFact, Answer: "Paris", Match: RefMatchText, Choices: refCapitalNames()}
	cot := strings.Repeat("First we multiply 12 by 7 to get 84, then subtract 9 to get 75. ", 10)
	var dump strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&dump, "%d ", i)
	}
	cases := []struct {
		name string
		task RefTask
		resp string
	}{
		{"strict", wp, cot + "\nAnswer: " + wp.Answer},
		{"flexible", wp, cot + " So the result is " + wp.Answer + "."},
		{"wrong", wp, cot + "\nAnswer: 1"},
		{"dump", wp, dump.String()},
		{"text_flexible", capital, strings.Repeat("France is a country in Europe. ", 20) + "Its capital is Paris."},
		{"json", RefTask{Kind: RefFormat, Answer: `{"city":"Paris"}`, Match: RefMatchJSON, Key: "city", Value: "Paris"}, "Sure! {\"city\": \"Paris\"}"},
	}
	// Hostile responses of the largest size Check reads.
	fill := func(s string) string { return strings.Repeat(s, RefMaxResponseBytes/len(s)) }
	nth := RefTask{Kind: RefString, Answer: "e", Match: RefMatchText, Choices: refLetters}
	jsonTask := RefTask{Kind: RefFormat, Answer: `{"x":1}`, Match: RefMatchJSON, Key: "x", Value: "1"}
	cases = append(cases, []struct {
		name string
		task RefTask
		resp string
	}{
		{"hostile_markers", wp, fill("answer:")},
		{"hostile_boxed", wp, fill(`\boxed{`)},
		{"hostile_braces", jsonTask, fill(`{"x":`)},
		{"hostile_letters", nth, fill("ab")},
		{"hostile_capitals", capital, fill("Parisian ")},
	}...)
	for _, c := range cases {
		b.Run("resp="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.resp)))
			for b.Loop() {
				c.task.Check(c.resp)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}
