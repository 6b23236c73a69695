package scoring

import (
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Answer extraction and normalisation for reference tasks. Everything here
// works on untrusted text: no function panics, and each runs in time linear
// in its input (times a small constant such as the number of choices).

// ExtractDeclared returns the final answers a response declares, in order
// of appearance: the rest of the line after "Answer:" (any case, "**" and
// spaces allowed around the colon, the next non-blank line if the rest is
// blank), after GSM8K's "####", and the contents of each \boxed{...}. The
// texts are trimmed of spaces and markdown emphasis but otherwise raw. To
// bound the work on hostile input it reads at most RefMaxDeclared+1 markers
// of each form, and returns at most RefMaxDeclared+1 texts.
func ExtractDeclared(response string) []string {
	type seg struct {
		at   int
		text string
	}
	var segs []seg
	const max = RefMaxDeclared + 1
	low := refASCIILower(response)
	for i, n := 0, 0; n < max; {
		j := strings.Index(low[i:], "answer")
		if j < 0 {
			break
		}
		at := i + j
		i = at + len("answer")
		if at > 0 && refIsWordByte(low[at-1]) {
			continue
		}
		k := i
		for k < len(low) && (low[k] == ' ' || low[k] == '\t' || low[k] == '*' || low[k] == '_') {
			k++
		}
		if k >= len(low) || low[k] != ':' {
			continue
		}
		segs = append(segs, seg{at, refRestOfLine(response, k+1)})
		n++
	}
	for i, n := 0, 0; n < max; n++ {
		j := strings.Index(response[i:], "####")
		if j < 0 {
			break
		}
		at := i + j
		k := at
		for k < len(response) && response[k] == '#' {
			k++
		}
		i = k
		segs = append(segs, seg{at, refRestOfLine(response, k)})
	}
	const boxed = `\boxed{`
	for i, n := 0, 0; n < max; n++ {
		j := strings.Index(response[i:], boxed)
		if j < 0 {
			break
		}
		at := i + j
		start := at + len(boxed)
		i = start
		depth := 1
		k := start
		for ; k < len(response) && depth > 0; k++ {
			switch response[k] {
			case '{':
				depth++
			case '}':
				depth--
			}
		}
		if depth == 0 {
			segs = append(segs, seg{at, refTrimMarkup(response[start : k-1])})
			i = k
		}
	}
	slices.SortStableFunc(segs, func(a, b seg) int { return a.at - b.at })
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		if s.text != "" && len(out) < max {
			out = append(out, s.text)
		}
	}
	return out
}

// refRestOfLine returns the text from i to the end of its line, trimmed;
// if that is blank, the next non-blank line instead.
func refRestOfLine(s string, i int) string {
	line, rest, _ := strings.Cut(s[i:], "\n")
	if t := refTrimMarkup(line); t != "" {
		return t
	}
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\n")
		if t := refTrimMarkup(line); t != "" {
			return t
		}
	}
	return ""
}

// refTrimMarkup trims spaces and markdown emphasis from both ends.
func refTrimMarkup(s string) string {
	return strings.Trim(s, " \t\r\n*_")
}

// refASCIILower lowers ASCII letters only, so byte offsets are unchanged.
func refASCIILower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func refIsDigit(c byte) bool { return '0' <= c && c <= '9' }

// refIsWordByte reports an ASCII letter, digit or underscore.
func refIsWordByte(c byte) bool {
	return refIsDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == '_'
}

// refSpan is one number or date found in a text: its normalised value and
// byte range (sign and currency sign included).
type refSpan struct {
	val        string
	start, end int
}

// ExtractNumbers returns every decimal number in text, in order, each
// normalised as RefNormalizeNumber does: "1,234.50" -> "1234.5",
// "-$3" -> "-3". A minus counts as a sign only after a space, punctuation or
// the start of the text, so "36-5" reads as 36 and 5.
func ExtractNumbers(text string) []string {
	spans := refScanNumbers(text)
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.val
	}
	return out
}

// refScanNumbers finds the numbers in s.
func refScanNumbers(s string) []refSpan {
	var out []refSpan
	for i := 0; i < len(s); {
		c := s[i]
		leadingDot := c == '.' && i+1 < len(s) && refIsDigit(s[i+1]) && (i == 0 || !refIsDigit(s[i-1]))
		if !refIsDigit(c) && !leadingDot {
			i++
			continue
		}
		j := i
		for j < len(s) && refIsDigit(s[j]) {
			j++
		}
		intPart := s[i:j]
		if n := j - i; n >= 1 && n <= 3 {
			for j+4 <= len(s) && s[j] == ',' && refIsDigit(s[j+1]) && refIsDigit(s[j+2]) && refIsDigit(s[j+3]) &&
				(j+4 == len(s) || !refIsDigit(s[j+4])) {
				intPart += s[j+1 : j+4]
				j += 4
			}
		}
		frac := ""
		if j+1 < len(s) && s[j] == '.' && refIsDigit(s[j+1]) {
			k := j + 1
			for k < len(s) && refIsDigit(s[k]) {
				k++
			}
			frac = s[j+1 : k]
			j = k
		}
		start, neg := refNumberPrefix(s, i)
		out = append(out, refSpan{val: refCanonDecimal(neg, intPart, frac), start: start, end: j})
		i = j
	}
	return out
}

// refNumberPrefix looks left of the digits at i for a currency sign and a
// sign, returning where the number starts and whether it is negative.
func refNumberPrefix(s string, i int) (start int, neg bool) {
	start = i
	if start > 0 && s[start-1] == '$' {
		start--
	}
	signAt, signNeg := -1, false
	switch {
	case start > 0 && (s[start-1] == '-' || s[start-1] == '+'):
		signAt, signNeg = start-1, s[start-1] == '-'
	case start >= 3 && s[start-3:start] == "\u2212":
		signAt, signNeg = start-3, true
	}
	if signAt < 0 {
		return start, false
	}
	if signAt > 0 {
		if p := s[signAt-1]; refIsWordByte(p) || p == ')' || p == '.' || p == ',' && signAt >= 2 && refIsDigit(s[signAt-2]) {
			return start, false
		}
	}
	return signAt, signNeg
}

// refCanonDecimal writes a number canonically: no leading zeros in the
// integer part, no trailing zeros in the fraction, no sign on zero.
func refCanonDecimal(neg bool, intPart, frac string) string {
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if intPart == "" {
		intPart = "0"
	}
	v := intPart
	if frac != "" {
		v += "." + frac
	}
	if neg && v != "0" {
		v = "-" + v
	}
	return v
}

// RefNormalizeNumber reads s as exactly one decimal number, allowing
// surrounding spaces, quotes, markdown, a currency sign, thousands commas and
// a final period, and returns it canonically ("+1,200.50." -> "1200.5",
// "-0" -> "0"). ok is false if s is anything else.
func RefNormalizeNumber(s string) (v string, ok bool) {
	t := refTrimAnswer(s)
	spans := refScanNumbers(t)
	if len(spans) != 1 || spans[0].start != 0 || spans[0].end != len(t) {
		return "", false
	}
	return spans[0].val, true
}

// ExtractDates returns every date written YYYY-MM-DD (or with slashes, or
// single-digit month and day) in text that names a real day, normalised to
// YYYY-MM-DD, in order.
func ExtractDates(text string) []string {
	spans := refScanDates(text)
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.val
	}
	return out
}

// refScanDates finds the dates in s.
func refScanDates(s string) []refSpan {
	var out []refSpan
	digits := func(i, min, max int) (int, int) { // value, end
		v, j := 0, i
		for j < len(s) && j-i < max && refIsDigit(s[j]) {
			v = v*10 + int(s[j]-'0')
			j++
		}
		if j-i < min || (j < len(s) && refIsDigit(s[j])) {
			return -1, j
		}
		return v, j
	}
	for i := 0; i+8 <= len(s); i++ {
		if !refIsDigit(s[i]) || (i > 0 && refIsDigit(s[i-1])) {
			continue
		}
		y, j := digits(i, 4, 4)
		if y < 0 || j >= len(s) || (s[j] != '-' && s[j] != '/') {
			continue
		}
		sep := s[j]
		m, k := digits(j+1, 1, 2)
		if m < 0 || k >= len(s) || s[k] != sep {
			continue
		}
		d, e := digits(k+1, 1, 2)
		if d < 0 || m < 1 || m > 12 || d < 1 || d > 31 {
			continue
		}
		if time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() != d {
			continue
		}
		out = append(out, refSpan{val: refFormatDate(y, m, d), start: i, end: e})
		i = e - 1
	}
	return out
}

// refFormatDate writes YYYY-MM-DD.
func refFormatDate(y, m, d int) string {
	b := make([]byte, 0, 10)
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
	return string(b)
}

// RefNormalizeText normalises a short answer for comparison: it trims
// spaces, quotes, markdown emphasis and trailing punctuation, unwraps
// \text{...}, collapses runs of white space to one space and, if fold is
// set, lower-cases and removes accents from Latin letters ("Bogotá" ->
// "bogota").
func RefNormalizeText(s string, fold bool) string {
	v := refFold(s, fold)
	for { // trimming can expose more to trim ("** \"x\" **"); each round shrinks v
		w := refFold(refTrimAnswer(v), fold)
		if w == v {
			return v
		}
		v = w
	}
}

// refTrimAnswer strips the wrapping a model puts around a bare answer.
func refTrimAnswer(s string) string {
	const lead = " \t\r\n\"'`*_“”‘’«»"
	const trail = lead + ".!,;:"
	s = strings.ReplaceAll(s, "**", "")
	for {
		t := strings.TrimRight(strings.TrimLeft(s, lead), trail)
		if strings.HasPrefix(t, `\text{`) && strings.HasSuffix(t, "}") {
			t = t[len(`\text{`) : len(t)-1]
		}
		if t == s {
			return t
		}
		s = t
	}
}

// refFold collapses white space and, if fold, lower-cases and removes
// accents.
func refFold(s string, fold bool) string {
	b := make([]byte, 0, len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		if fold {
			r = refDeaccent(unicode.ToLower(r))
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// refDeaccent maps lower-case Latin letters with diacritics to their base
// letter.
func refDeaccent(r rune) rune {
	if r < 0xC0 {
		return r
	}
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą':
		return 'a'
	case 'ç', 'ć', 'č':
		return 'c'
	case 'è', 'é', 'ê', 'ë', 'ē', 'ė', 'ę', 'ě':
		return 'e'
	case 'ì', 'í', 'î', 'ï', 'ī', 'į':
		return 'i'
	case 'ñ', 'ń', 'ň':
		return 'n'
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ő':
		return 'o'
	case 'ù', 'ú', 'û', 'ü', 'ū', 'ů', 'ű':
		return 'u'
	case 'ý', 'ÿ':
		return 'y'
	case 'š', 'ś', 'ș', 'ş':
		return 's'
	case 'ž', 'ź', 'ż':
		return 'z'
	case 'ř':
		return 'r'
	case 'ț', 'ţ':
		return 't'
	case 'ł':
		return 'l'
	}
	return r
}

// refIsWordRune reports a letter or digit.
func refIsWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// refHasWord reports whether needle occurs in hay as a whole word: not
// preceded or followed by a letter or digit.
func refHasWord(hay, needle string) bool {
	if needle == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(hay[i:], needle)
		if j < 0 {
			return false
		}
		at := i + j
		end := at + len(needle)
		before, _ := utf8.DecodeLastRuneInString(hay[:at])
		after, _ := utf8.DecodeRuneInString(hay[end:])
		if (at == 0 || !refIsWordRune(before)) && (end == len(hay) || !refIsWordRune(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(hay[at:])
		i = at + size
	}
}

// refHasSpace reports a space in s.
func refHasSpace(s string) bool { return strings.IndexByte(s, ' ') >= 0 }

// refListOnly reports whether s holds only characters of an integer list
// and at least one digit.
func refListOnly(s string) bool {
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case refIsDigit(c):
			digit = true
		case c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '[' || c == ']' || c == '-' || c == ';':
		default:
			return false
		}
	}
	return digit
}

// refParseIntList reads the integers of s in order and writes them as a
// canonical list "[a, b, c]". A minus is a sign unless it follows a digit.
func refParseIntList(s string) (string, bool) {
	b := []byte{'['}
	n := 0
	for i := 0; i < len(s); {
		if !refIsDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && refIsDigit(s[j]) {
			j++
		}
		neg := i > 0 && s[i-1] == '-' && (i < 2 || !refIsDigit(s[i-2]))
		if n > 0 {
			b = append(b, ", "...)
		}
		b = append(b, refCanonDecimal(neg, s[i:j], "")...)
		n++
		if n > 1000 {
			return "", false
		}
		i = j
	}
	if n == 0 {
		return "", false
	}
	return string(append(b, ']')), true
}

// refBracketLists returns the spans of the bracketed integer lists in s,
// "[...]" with nothing but list characters inside.
func refBracketLists(s string) []refSpan {
	var out []refSpan
	for i := 0; i < len(s); i++ {
		if s[i] != '[' {
			continue
		}
		j := strings.IndexAny(s[i+1:], "[]")
		if j < 0 {
			break
		}
		end := i + 1 + j
		if s[end] == '[' {
			i = end - 1
			continue
		}
		if inner := s[i+1 : end]; refListOnly(inner) {
			if v, ok := refParseIntList(inner); ok {
				out = append(out, refSpan{val: v, start: i, end: end + 1})
			}
		}
		i = end
	}
	return out
}

// refStripFence removes a surrounding markdown code fence.
func refStripFence(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "```") || !strings.HasSuffix(t, "```") || len(t) < 6 {
		return t
	}
	t = t[3 : len(t)-3]
	if nl := strings.IndexByte(t, '\n'); nl >= 0 && !strings.ContainsAny(t[:nl], "{[") {
		t = t[nl+1:]
	}
	return strings.TrimSpace(t)
}

// refJSONObject reads s as exactly one JSON object and returns it.
func refJSONObject(s string) (map[string]any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return obj, true
}

// refMaxJSONBytes bounds the size of an embedded JSON object that flexible
// extraction reads; an answer object is far smaller.
const refMaxJSONBytes = 2048

// refJSONObjects finds up to RefMaxCandidates+1 JSON objects embedded in s,
// each at most refMaxJSONBytes long, trying at most a bounded number of
// opening braces.
func refJSONObjects(s string) []map[string]any {
	var out []map[string]any
	tries := 0
	for i := 0; i < len(s) && tries < 4*RefMaxCandidates && len(out) <= RefMaxCandidates; {
		j := strings.IndexByte(s[i:], '{')
		if j < 0 {
			break
		}
		at := i + j
		tries++
		dec := json.NewDecoder(strings.NewReader(s[at:min(len(s), at+refMaxJSONBytes)]))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err == nil && obj != nil {
			out = append(out, obj)
			i = at + int(dec.InputOffset())
			continue
		}
		i = at + 1
	}
	return out
}

// want is the task's answer, normalised as responses are.
func (t RefTask) want() string {
	switch t.Match {
	case RefMatchNumber:
		v, _ := RefNormalizeNumber(t.Answer)
		return v
	case RefMatchDate:
		if d := ExtractDates(t.Answer); len(d) == 1 {
			return d[0]
		}
		return ""
	case RefMatchList:
		v, _ := refParseIntList(t.Answer)
		return v
	case RefMatchCase:
		return RefNormalizeText(t.Answer, false)
	case RefMatchJSON:
		return t.jsonWant(t.Value)
	default:
		return RefNormalizeText(t.Answer, true)
	}
}

// jsonWant normalises a JSON member value: as a number if the task's Value
// is one, else as case-insensitive text.
func (t RefTask) jsonWant(v string) string {
	if _, ok := RefNormalizeNumber(t.Value); ok {
		n, _ := RefNormalizeNumber(v)
		return n
	}
	return RefNormalizeText(v, true)
}

// jsonValue reads the task's member out of a decoded object; ok is false
// when the member is absent or not a number or string.
func (t RefTask) jsonValue(obj map[string]any) (string, bool) {
	switch v := obj[t.Key].(type) {
	case json.Number:
		return t.jsonWant(string(v)), true
	case string:
		return t.jsonWant(v), true
	}
	return "", false
}

// strictValue reads s (a declared answer, or the whole response if whole)
// in the task's expected form. ok is false when s is not in that form.
func (t RefTask) strictValue(s string, whole bool) (string, bool) {
	switch t.Match {
	case RefMatchNumber:
		if whole {
			return RefNormalizeNumber(s)
		}
		if spans := refScanNumbers(s); len(spans) == 1 {
			return spans[0].val, true
		}
	case RefMatchDate:
		if whole {
			if d := refScanDates(refTrimAnswer(s)); len(d) == 1 && d[0].start == 0 && d[0].end == len(refTrimAnswer(s)) {
				return d[0].val, true
			}
			return "", false
		}
		if d := refScanDates(s); len(d) == 1 {
			return d[0].val, true
		}
	case RefMatchList:
		u := refTrimAnswer(s)
		if whole && !refListOnly(u) {
			return "", false
		}
		if b := refBracketLists(u); len(b) == 1 {
			return b[0].val, true
		} else if len(b) > 1 || strings.ContainsAny(u, "[]") && !refListOnly(u) {
			return "", false
		}
		return refParseIntList(u)
	case RefMatchJSON:
		obj, ok := refJSONObject(refStripFence(s))
		if !ok {
			return "", false
		}
		v, _ := t.jsonValue(obj)
		return v, true
	case RefMatchOneWord:
		v := RefNormalizeText(s, true)
		return v, v != ""
	case RefMatchText, RefMatchCase:
		fold := t.Match == RefMatchText
		v := RefNormalizeText(s, fold)
		if v == RefNormalizeText(t.Answer, fold) {
			return v, true
		}
		for _, c := range t.Choices {
			if v == RefNormalizeText(c, fold) {
				return v, true
			}
		}
	}
	return "", false
}

// flexible searches text for the answer as RefTask.Check describes.
func (t RefTask) flexible(text, want string) RefResult {
	none := func(reason string) RefResult { return RefResult{Method: RefMethodNone, Reason: reason} }
	lastOf := func(spans []refSpan, max int) RefResult {
		if len(spans) == 0 {
			return none(RefReasonNoAnswer)
		}
		if len(spans) > max {
			return none(RefReasonTooMany)
		}
		last := spans[len(spans)-1]
		if len(spans) > 1 && refIsHedge(text[spans[len(spans)-2].end:last.start]) {
			return RefResult{Extracted: last.val, Method: RefMethodNone, Reason: RefReasonHedged}
		}
		return t.judge(last.val, want, RefMethodFlexible)
	}
	switch t.Match {
	case RefMatchNumber:
		return lastOf(refScanNumbers(text), RefMaxNumbers)
	case RefMatchDate:
		return lastOf(refScanDates(text), RefMaxNumbers)
	case RefMatchList:
		return lastOf(refBracketLists(text), RefMaxCandidates)
	case RefMatchJSON:
		objs := refJSONObjects(text)
		if len(objs) > RefMaxCandidates {
			return none(RefReasonTooMany)
		}
		var got []string
		for _, o := range objs {
			if v, ok := t.jsonValue(o); ok && !refContains(got, v) {
				got = append(got, v)
			}
		}
		switch len(got) {
		case 0:
			return none(RefReasonNoAnswer)
		case 1:
			return t.judge(got[0], want, RefMethodFlexible)
		}
		return RefResult{Extracted: got[len(got)-1], Method: RefMethodNone, Reason: RefReasonHedged}
	case RefMatchText, RefMatchCase:
		fold := t.Match == RefMatchText
		hay := refFold(text, fold)
		var found []string
		check := func(c string) {
			if c = RefNormalizeText(c, fold); !refContains(found, c) && refHasWord(hay, c) {
				found = append(found, c)
			}
		}
		check(t.Answer)
		for _, c := range t.Choices {
			check(c)
		}
		switch len(found) {
		case 0:
			return none(RefReasonNoAnswer)
		case 1:
			return t.judge(found[0], want, RefMethodFlexible)
		}
		return RefResult{Method: RefMethodNone, Reason: RefReasonHedged}
	}
	return none(RefReasonFormat) // RefMatchOneWord: the format is the task
}

// refIsHedge reports whether the text between two candidate answers joins
// them as alternatives or a range: a comma, "or", "or maybe", "/", "|",
// a dash, or such.
func refIsHedge(between string) bool {
	s := strings.ToLower(strings.Trim(between, " \t*_$\"'`,;"))
	switch s {
	case "":
		return strings.ContainsAny(between, ",;")
	case "or", "or maybe", "or perhaps", "or possibly", "maybe", "or even", "and/or", "/", "|", "-", "–":
		return true
	}
	return false
}

// refItoa formats an int64.
func refItoa(n int64) string { return strconv.FormatInt(n, 10) }
