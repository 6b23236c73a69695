package scoring

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// refRNG draws integers from PCG-DXSM with this file's own sampling
// (Lemire's multiply-shift with rejection), so tasks depend only on the PCG
// algorithm, never on how the standard library maps its output to ranges.
type refRNG struct{ src *rand.PCG }

// newRefRNG seeds a stream from seed and a salt naming its use.
func newRefRNG(seed uint64, salt string) *refRNG {
	h := uint64(14695981039346656037) // FNV-1a 64 of the salt
	for _, c := range []byte("agora/refeval/v1/" + salt) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return &refRNG{rand.NewPCG(seed, h)}
}

// intn returns a uniform integer in [0, n); n must be positive.
func (r *refRNG) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(r.src.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.src.Uint64(), un)
		}
	}
	return int(hi)
}

// between returns a uniform integer in [lo, hi].
func (r *refRNG) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// refPick returns a uniform element of xs.
func refPick[T any](r *refRNG, xs []T) T { return xs[r.intn(len(xs))] }

// refQuestion is a generated question before its answer-format instruction
// is added.
type refQuestion struct {
	op         string
	args       []string
	text       string
	answer     string
	match      RefMatch
	choices    []string
	key, value string
	// instr replaces the default answer-format instruction (format tasks).
	instr string
}

// task finishes a question into a RefTask, adding the instruction.
func (q refQuestion) task(seed uint64, kind RefKind, r *refRNG) RefTask {
	instr := q.instr
	if instr == "" {
		var form string
		switch q.match {
		case RefMatchNumber:
			form = "<number>"
		case RefMatchDate:
			form = "YYYY-MM-DD"
		case RefMatchList:
			form = "[a, b, c, ...]"
		default:
			form = "<answer>"
		}
		instr = refPick(r, []string{
			"End your reply with a final line of the form 'Answer: " + form + "'.",
			"Give your final answer on its own line as 'Answer: " + form + "'.",
			"Finish with 'Answer: " + form + "' and nothing after it.",
		})
		if q.match == RefMatchNumber {
			instr += " Write the number only, without units."
		}
	}
	return RefTask{
		ID:      fmt.Sprintf("%s-%016x", kind, seed),
		Seed:    seed,
		Kind:    kind,
		Op:      q.op,
		Args:    q.args,
		Prompt:  q.text + " " + instr,
		Answer:  q.answer,
		Match:   q.match,
		Choices: slices.Clone(q.choices),
		Key:     q.key,
		Value:   q.value,
	}
}

// refDigits returns a number with d digits (d >= 1).
func refDigits(r *refRNG, d int) int64 {
	lo := int64(1)
	for range d - 1 {
		lo *= 10
	}
	if d == 1 {
		return int64(r.between(0, 9))
	}
	return lo + int64(r.intn(int(9*lo)))
}

// refGenArithmetic: Args = [expr], the expression in Go syntax (ASCII
// operators, integer division exact).
func refGenArithmetic(r *refRNG) refQuestion {
	var expr string
	var ans int64
	op := refPick(r, []string{"add", "sub", "mul", "div", "expr"})
	switch op {
	case "add":
		a, b := refDigits(r, r.between(1, 5)), refDigits(r, r.between(1, 5))
		expr, ans = fmt.Sprintf("%d + %d", a, b), a+b
	case "sub":
		a, b := refDigits(r, r.between(1, 5)), refDigits(r, r.between(1, 5))
		expr, ans = fmt.Sprintf("%d - %d", a, b), a-b
	case "mul":
		a, b := int64(r.between(2, 999)), int64(r.between(2, 99))
		expr, ans = fmt.Sprintf("%d * %d", a, b), a*b
	case "div":
		b, q := int64(r.between(2, 99)), int64(r.between(2, 999))
		expr, ans = fmt.Sprintf("%d / %d", b*q, b), q
	case "expr":
		a, b, c := int64(r.between(2, 99)), int64(r.between(2, 99)), int64(r.between(2, 99))
		switch r.intn(4) {
		case 0:
			expr, ans = fmt.Sprintf("%d + %d * %d", a, b, c), a+b*c
		case 1:
			expr, ans = fmt.Sprintf("(%d + %d) * %d", a, b, c), (a+b)*c
		case 2:
			expr, ans = fmt.Sprintf("%d * %d - %d", a, b, c), a*b-c
		default:
			expr, ans = fmt.Sprintf("%d - %d + %d", a, b, c), a-b+c
		}
	}
	shown := expr
	switch r.intn(3) {
	case 1:
		shown = strings.NewReplacer("*", "×", "/", "÷").Replace(shown)
	case 2:
		if op != "expr" {
			shown = strings.NewReplacer(" + ", " plus ", " - ", " minus ", " * ", " times ", " / ", " divided by ").Replace(shown)
		}
	}
	text := strings.ReplaceAll(refPick(r, []string{"What is %s?", "Compute %s.", "Calculate %s.", "Evaluate %s."}), "%s", shown)
	return refQuestion{op: op, args: []string{expr}, text: text, answer: refItoa(ans), match: RefMatchNumber}
}

// refNames and refItems fill word-problem templates.
var (
	refNames = []string{"Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonas",
		"Kai", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor",
		"Wen", "Yusuf", "Zoe"}
	refItems = []string{"apples", "pencils", "marbles", "cookies", "stickers", "oranges", "eggs", "cards",
		"stamps", "shells", "buttons", "candles", "beads", "coins"}
	refThings = []string{"book", "kite", "lamp", "scarf", "board game", "backpack", "watch"}
)

// refGenWordProblem: Op names the template, Args are its numbers in order
// of appearance.
func refGenWordProblem(r *refRNG) refQuestion {
	name, item := refPick(r, refNames), refPick(r, refItems)
	b := func(lo, hi int) int64 { return int64(r.between(lo, hi)) }
	var op, text string
	var args []int64
	var ans int64
	switch r.intn(6) {
	case 0:
		x, y := b(2, 30), b(2, 24)
		z := b(1, int(x*y-1))
		op, args, ans = "boxes", []int64{x, y, z}, x*y-z
		text = fmt.Sprintf("%s buys %d boxes of %s. Each box holds %d %s. %s then gives away %d %s. How many %s does %s have left?",
			name, x, item, y, item, name, z, item, item, name)
	case 1:
		x, y := b(3, 60), b(2, 20)
		z := b(1, int(x*y-1))
		op, args, ans = "savings", []int64{x, y, z}, x*y-z
		text = fmt.Sprintf("%s saves %d dollars every week for %d weeks, then spends %d dollars on a %s. How many dollars does %s have left?",
			name, x, y, z, refPick(r, refThings), name)
	case 2:
		friends, each := b(2, 12), b(2, 40)
		total := friends * each
		y := b(1, int(total-1))
		x := total - y
		op, args, ans = "share", []int64{x, y, friends}, each
		text = fmt.Sprintf("%s has %d %s and buys %d more. %s shares all of them equally among %d friends. How many %s does each friend get?",
			name, x, item, y, name, friends, item)
	case 3:
		v1, h1, v2, h2 := b(40, 160), b(1, 9), b(40, 160), b(1, 9)
		op, args, ans = "trip", []int64{v1, h1, v2, h2}, v1*h1+v2*h2
		text = fmt.Sprintf("A train travels at %d km per hour for %d hours, then at %d km per hour for %d hours. How many kilometres does it travel in total?",
			v1, h1, v2, h2)
	case 4:
		price, n := b(2, 45), b(2, 12)
		paid := price*n + b(1, 100)
		op, args, ans = "change", []int64{price, n, paid}, paid-price*n
		text = fmt.Sprintf("A %s costs %d dollars. %s buys %d of them and pays with %d dollars. How many dollars of change does %s get?",
			refPick(r, refThings), price, name, n, paid, name)
	default:
		perDay, days := b(5, 60), b(2, 14)
		pages := perDay*days + b(1, 300)
		op, args, ans = "pages", []int64{pages, perDay, days}, pages-perDay*days
		text = fmt.Sprintf("A book has %d pages. %s reads %d pages a day for %d days. How many pages are left to read?",
			pages, name, perDay, days)
	}
	sargs := make([]string, len(args))
	for i, a := range args {
		sargs[i] = refItoa(a)
	}
	return refQuestion{op: op, args: sargs, text: text, answer: refItoa(ans), match: RefMatchNumber}
}

// refUnitConv converts v from one unit to another as (v*num + off) / den,
// rounded half away from zero to dp decimals. Exact conversions (dp 0)
// draw v as a multiple of den.
type refUnitConv struct {
	from, to       string
	num, off, den  int64
	dp             int
	note           string
	lo, hi         int
	exactMultiples bool
}

// refUnits lists the conversions; the factors are the exact definitions.
var refUnits = []refUnitConv{
	{from: "kilometres", to: "metres", num: 1000, den: 1, lo: 2, hi: 500},
	{from: "metres", to: "centimetres", num: 100, den: 1, lo: 2, hi: 999},
	{from: "kilograms", to: "grams", num: 1000, den: 1, lo: 2, hi: 500},
	{from: "hours", to: "minutes", num: 60, den: 1, lo: 2, hi: 200},
	{from: "minutes", to: "seconds", num: 60, den: 1, lo: 2, hi: 500},
	{from: "days", to: "hours", num: 24, den: 1, lo: 2, hi: 400},
	{from: "weeks", to: "days", num: 7, den: 1, lo: 2, hi: 520},
	{from: "feet", to: "inches", num: 12, den: 1, lo: 2, hi: 500},
	{from: "yards", to: "feet", num: 3, den: 1, lo: 2, hi: 999},
	{from: "US gallons", to: "US quarts", num: 4, den: 1, lo: 2, hi: 500},
	{from: "pounds", to: "ounces", num: 16, den: 1, lo: 2, hi: 500},
	{from: "litres", to: "millilitres", num: 1000, den: 1, lo: 2, hi: 200},
	{from: "metres", to: "kilometres", num: 1, den: 1000, lo: 2, hi: 500, exactMultiples: true},
	{from: "minutes", to: "hours", num: 1, den: 60, lo: 2, hi: 200, exactMultiples: true},
	{from: "inches", to: "feet", num: 1, den: 12, lo: 2, hi: 500, exactMultiples: true},
	{from: "grams", to: "kilograms", num: 1, den: 1000, lo: 2, hi: 500, exactMultiples: true},
	{from: "hours", to: "days", num: 1, den: 24, lo: 2, hi: 400, exactMultiples: true},
	{from: "inches", to: "centimetres", num: 254, den: 100, dp: 2, note: "1 inch = 2.54 cm", lo: 2, hi: 999},
	{from: "feet", to: "metres", num: 3048, den: 10000, dp: 2, note: "1 foot = 0.3048 m", lo: 2, hi: 999},
	{from: "miles", to: "kilometres", num: 1609344, den: 1000000, dp: 2, note: "1 mile = 1.609344 km", lo: 2, hi: 999},
	{from: "kilometres", to: "miles", num: 1000000, den: 1609344, dp: 2, note: "1 mile = 1.609344 km", lo: 2, hi: 999},
	{from: "pounds", to: "kilograms", num: 45359237, den: 100000000, dp: 2, note: "1 pound = 0.45359237 kg", lo: 2, hi: 999},
	{from: "kilograms", to: "pounds", num: 100000000, den: 45359237, dp: 2, note: "1 pound = 0.45359237 kg", lo: 2, hi: 999},
	{from: "degrees Celsius", to: "degrees Fahrenheit", num: 9, off: 160, den: 5, dp: 1, note: "F = C × 9/5 + 32", lo: -40, hi: 100},
	{from: "degrees Fahrenheit", to: "degrees Celsius", num: 5, off: -160, den: 9, dp: 1, note: "C = (F − 32) × 5/9", lo: -40, hi: 212},
}

// refConvert returns the conversion of v written with c.dp decimals, and
// false if the unrounded value lies exactly half-way (ambiguous rounding).
func refConvert(c refUnitConv, v int64) (string, bool) {
	x := v*c.num + c.off
	for range c.dp {
		x *= 10
	}
	q, rem := x/c.den, x%c.den
	if rem < 0 {
		rem = -rem
	}
	if c.dp == 0 && rem != 0 || 2*rem == c.den {
		return "", false
	}
	if 2*rem > c.den {
		if x < 0 {
			q--
		} else {
			q++
		}
	}
	return refFixed(q, c.dp), true
}

// refFixed writes q / 10^dp with exactly dp decimals.
func refFixed(q int64, dp int) string {
	neg := q < 0
	if neg {
		q = -q
	}
	s := strconv.FormatInt(q, 10)
	if dp > 0 {
		if len(s) <= dp {
			s = strings.Repeat("0", dp-len(s)+1) + s
		}
		s = s[:len(s)-dp] + "." + s[len(s)-dp:]
	}
	if neg && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return s
}

// refGenUnit: Args = [value, from unit, to unit].
func refGenUnit(r *refRNG) refQuestion {
	i := r.intn(len(refUnits))
	c := refUnits[i]
	var v int64
	var ans string
	for {
		v = int64(r.between(c.lo, c.hi))
		if c.exactMultiples {
			v *= c.den
		}
		if a, ok := refConvert(c, v); ok {
			ans = a
			break
		}
	}
	var text string
	if c.dp == 0 {
		text = fmt.Sprintf(refPick(r, []string{"Convert %d %s to %s.", "How many %[3]s are there in %[1]d %[2]s?"}), v, c.from, c.to)
	} else {
		places := "1 decimal place"
		if c.dp > 1 {
			places = strconv.Itoa(c.dp) + " decimal places"
		}
		text = fmt.Sprintf("Convert %d %s to %s (%s). Round to %s.", v, c.from, c.to, c.note, places)
	}
	return refQuestion{op: "convert", args: []string{refItoa(v), c.from, c.to}, text: text, answer: ans, match: RefMatchNumber}
}

// refWeekdays are the day names, Sunday first as time.Weekday numbers them.
var refWeekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// refEpoch is the first day dates are drawn from; they span 1970-2069.
func refEpoch() time.Time { return time.Date(1970, time.January, 1, 0, 0, 0, 0, time.UTC) }

// refISO writes a UTC day as YYYY-MM-DD.
func refISO(t time.Time) string { return t.Format(time.DateOnly) }

// refGenDate: Op "add_days" and "sub_days" have Args [date, n],
// "weekday" [date], "weekday_after" [date, n], "days_between" [from, to].
func refGenDate(r *refRNG) refQuestion {
	d := refEpoch().AddDate(0, 0, r.intn(36525))
	show := func(t time.Time) string {
		if r.intn(2) == 0 {
			return refISO(t)
		}
		return t.Format("January 2, 2006")
	}
	n := r.between(1, 1000)
	ns := strconv.Itoa(n)
	switch r.intn(5) {
	case 0:
		return refQuestion{op: "add_days", args: []string{refISO(d), ns}, match: RefMatchDate,
			text:   fmt.Sprintf("What is the date %d days after %s?", n, show(d)),
			answer: refISO(d.AddDate(0, 0, n))}
	case 1:
		return refQuestion{op: "sub_days", args: []string{refISO(d), ns}, match: RefMatchDate,
			text:   fmt.Sprintf("What was the date %d days before %s?", n, show(d)),
			answer: refISO(d.AddDate(0, 0, -n))}
	case 2:
		return refQuestion{op: "weekday", args: []string{refISO(d)}, match: RefMatchText, choices: refWeekdays,
			text:   fmt.Sprintf("What day of the week is %s?", show(d)),
			answer: d.Weekday().String()}
	case 3:
		return refQuestion{op: "weekday_after", args: []string{refISO(d), ns}, match: RefMatchText, choices: refWeekdays,
			text:   fmt.Sprintf("What day of the week is %d days after %s?", n, show(d)),
			answer: d.AddDate(0, 0, n).Weekday().String()}
	default:
		e := d.AddDate(0, 0, r.between(1, 2000))
		days := int64(e.Sub(d) / (24 * time.Hour))
		return refQuestion{op: "days_between", args: []string{refISO(d), refISO(e)}, match: RefMatchNumber,
			text:   fmt.Sprintf("How many days after %s is %s?", show(d), show(e)),
			answer: refItoa(days)}
	}
}
