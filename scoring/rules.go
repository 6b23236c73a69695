package scoring

import (
	"compress/flate"
	"fmt"
	"math/bits"
	"sync"
	"unicode"
	"unicode/utf8"
)

// RuleReason is the reason code of a hard-rule verdict. The empty string
// ([RuleOK]) means the response passed every rule; the other values are
// stable strings that are safe to log, export and compare.
type RuleReason string

// Reason codes returned by [RuleChecker.Check] and [CheckRules].
const (
	RuleOK         RuleReason = ""           // passed every rule
	RuleEmpty      RuleReason = "empty"      // nothing but whitespace
	RuleTooShort   RuleReason = "too_short"  // fewer runes or words than the minimum
	RuleGibberish  RuleReason = "gibberish"  // character statistics unlike language
	RuleRepetition RuleReason = "repetition" // compresses too well or repeats word n-grams
	RuleEcho       RuleReason = "echo"       // the prompt, or mostly contained in it
)

// RuleVerdict is the outcome of the hard rules for one response.
type RuleVerdict struct {
	// Reason is RuleOK when the response passed, otherwise the first rule
	// that failed, in the order: empty; too_short (runes); gibberish
	// (character statistics); too_short (words); gibberish (word
	// statistics); repetition; echo.
	Reason RuleReason
	// Stat names the statistic that failed ("letter_ratio", "vowel_ratio",
	// "compression_ratio", ...); empty when Reason is RuleOK.
	Stat string
	// Value is the measured value of Stat (a ratio, count or length, in the
	// unit of the threshold it was compared with); 0 when Reason is RuleOK.
	Value float64
}

// OK reports whether the response passed every rule.
func (v RuleVerdict) OK() bool { return v.Reason == RuleOK }

// String formats the verdict for logs, e.g. "gibberish (vowel_ratio=0.08)".
func (v RuleVerdict) String() string {
	if v.Reason == RuleOK {
		return "ok"
	}
	return fmt.Sprintf("%s (%s=%.3g)", v.Reason, v.Stat, v.Value)
}

// Rules are the thresholds of the hard rules that run before the p(useful)
// classifier. They are deliberately conservative: a response that fails is
// junk beyond reasonable doubt; the classifier judges everything subtler.
// The zero value is not a useful configuration; start from [DefaultRules].
//
// There is deliberately no language-model rule: source code, URLs and lists
// of numbers score like keyboard mash under a character model, so the
// bigram score is a feature of the classifier, which weighs it against the
// rest. Statistics that are unreliable on tiny texts only apply once the
// response is long enough (the Min*For* fields). Ratios are in [0,1]; lengths are in
// runes (Unicode code points) or words (maximal runs of letters and digits).
type Rules struct {
	// MinRunes is the minimum number of non-space runes (too_short).
	MinRunes int
	// MinWords is the minimum number of words (too_short).
	MinWords int

	// MinRunesForCharStats is the number of non-space runes from which the
	// letter, symbol and vowel ratios apply.
	MinRunesForCharStats int
	// MinAlnumRatio is the minimum fraction of non-space runes that are
	// letters or digits (gibberish).
	MinAlnumRatio float64
	// MaxSymbolRatio is the maximum fraction of non-space runes that are
	// neither letters, digits nor punctuation (symbols, controls, invalid
	// UTF-8) (gibberish).
	MaxSymbolRatio float64
	// MinVowelRatio and MaxVowelRatio bound the fraction of ASCII letters
	// that are vowels (a e i o u y). They apply only when most letters are
	// ASCII and there are at least MinRunesForCharStats of them (gibberish).
	MinVowelRatio, MaxVowelRatio float64

	// MinWordsForWordStats is the number of words from which the word
	// statistics (mean word length, non-letter tokens, repeated n-grams)
	// apply.
	MinWordsForWordStats int
	// MinMeanWordLen and MaxMeanWordLen bound the mean length, in runes, of
	// words that contain a letter, for mostly-ASCII text (gibberish).
	MinMeanWordLen, MaxMeanWordLen float64
	// MaxNonLetterTokens is the maximum fraction of whitespace-separated
	// tokens that contain no letter and are not numbers (gibberish).
	MaxNonLetterTokens float64

	// MinBytesForCompression is the length in bytes from which the
	// compression-ratio rule applies (DEFLATE does not look for repeats in
	// shorter inputs).
	MinBytesForCompression int
	// MaxCompressionRatio is the maximum of len(text)/len(DEFLATE(text))
	// (repetition). Ordinary English prose is about 1.5–2.2. DEFLATE runs
	// only on texts in which a cheap LZ77 parse finds repeats.
	MaxCompressionRatio float64
	// RepeatN is the word n-gram length of the repeated n-gram rule.
	RepeatN int
	// MaxRepeatedNgrams is the maximum fraction of word RepeatN-grams that
	// repeat an earlier one (repetition).
	MaxRepeatedNgrams float64

	// MaxEchoContainment is the maximum fraction of the response's word
	// 3-shingles that also occur in the prompt (echo); it applies from
	// MinShinglesForEcho shingles. A response whose normalised words equal
	// the prompt's is always an echo.
	MaxEchoContainment float64
	// MinShinglesForEcho is the number of response shingles from which the
	// containment rule applies.
	MinShinglesForEcho int
}

// DefaultRules returns thresholds tuned to pass ordinary short English
// answers and simple children's-story text while catching empty answers,
// keyboard mash, symbol soup, degenerate loops and prompt echoes.
func DefaultRules() Rules {
	return Rules{
		MinRunes:               2,
		MinWords:               1,
		MinRunesForCharStats:   20,
		MinAlnumRatio:          0.50,
		MaxSymbolRatio:         0.25,
		MinVowelRatio:          0.20,
		MaxVowelRatio:          0.72,
		MinWordsForWordStats:   8,
		MinMeanWordLen:         2.0,
		MaxMeanWordLen:         14,
		MaxNonLetterTokens:     0.5,
		MinBytesForCompression: 200,
		MaxCompressionRatio:    3.2,
		RepeatN:                3,
		MaxRepeatedNgrams:      0.5,
		MaxEchoContainment:     0.8,
		MinShinglesForEcho:     3,
	}
}

// Validate reports a clear error when a threshold is out of range.
func (r Rules) Validate() error {
	ratio := func(name string, v float64) error {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("scoring: rules: %s = %v, want a ratio in [0,1]", name, v)
		}
		return nil
	}
	for _, c := range []struct {
		name string
		v    float64
	}{
		{"MinAlnumRatio", r.MinAlnumRatio}, {"MaxSymbolRatio", r.MaxSymbolRatio},
		{"MinVowelRatio", r.MinVowelRatio}, {"MaxVowelRatio", r.MaxVowelRatio},
		{"MaxNonLetterTokens", r.MaxNonLetterTokens}, {"MaxRepeatedNgrams", r.MaxRepeatedNgrams},
		{"MaxEchoContainment", r.MaxEchoContainment},
	} {
		if err := ratio(c.name, c.v); err != nil {
			return err
		}
	}
	switch {
	case r.MinRunes < 0 || r.MinWords < 0 || r.MinRunesForCharStats < 0 ||
		r.MinWordsForWordStats < 0 || r.MinBytesForCompression < 0 || r.MinShinglesForEcho < 0:
		return fmt.Errorf("scoring: rules: negative minimum length")
	case r.MinVowelRatio > r.MaxVowelRatio:
		return fmt.Errorf("scoring: rules: MinVowelRatio %v > MaxVowelRatio %v", r.MinVowelRatio, r.MaxVowelRatio)
	case r.MinMeanWordLen < 0 || r.MinMeanWordLen > r.MaxMeanWordLen:
		return fmt.Errorf("scoring: rules: mean word length bounds [%v,%v] invalid", r.MinMeanWordLen, r.MaxMeanWordLen)
	case !(r.MaxCompressionRatio >= 1):
		return fmt.Errorf("scoring: rules: MaxCompressionRatio = %v, want >= 1", r.MaxCompressionRatio)
	case r.RepeatN < 1 || r.RepeatN > 8:
		return fmt.Errorf("scoring: rules: RepeatN = %d, want 1..8", r.RepeatN)
	}
	return nil
}

// RuleChecker applies a fixed set of [Rules]. It keeps pools of scratch
// buffers (including DEFLATE compressors, which are large), so build one
// and reuse it. It is safe for concurrent use.
type RuleChecker struct {
	rules Rules
	pool  sync.Pool // *ufScratch
}

// NewRuleChecker validates r and returns a checker for it.
func NewRuleChecker(r Rules) (*RuleChecker, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &RuleChecker{rules: r}, nil
}

// Rules returns the thresholds the checker applies.
func (c *RuleChecker) Rules() Rules { return c.rules }

// CheckRules applies r to one response. It is a convenience for one-off
// checks: it validates r and allocates a fresh compressor each call, so hot
// paths should build a [RuleChecker] once. ok is true when the response
// passed; invalid thresholds are reported as a failed verdict with Stat
// "invalid_rules".
func CheckRules(prompt, response string, r Rules) (RuleVerdict, bool) {
	if err := r.Validate(); err != nil {
		return RuleVerdict{Reason: RuleGibberish, Stat: "invalid_rules"}, false
	}
	c := &RuleChecker{rules: r}
	v := c.Check(prompt, response)
	return v, v.OK()
}

// Check applies the rules to response (given the prompt it answers) and
// returns the first rule that failed, or a verdict with Reason RuleOK. It
// never panics, whatever the bytes; invalid UTF-8 counts as symbols.
func (c *RuleChecker) Check(prompt, response string) RuleVerdict {
	s := c.getScratch()
	defer c.pool.Put(s)
	return c.rules.check(prompt, response, s)
}

func (c *RuleChecker) getScratch() *ufScratch {
	if s, ok := c.pool.Get().(*ufScratch); ok {
		return s
	}
	return new(ufScratch)
}

func (r *Rules) check(prompt, response string, s *ufScratch) RuleVerdict {
	var st ufStats
	st.scan(response)
	if st.nonSpace == 0 {
		return RuleVerdict{Reason: RuleEmpty, Stat: "non_space_runes"}
	}
	s.words = ufWordHashes(s.words[:0], response, ufMaxWords)
	nw := len(s.words)
	if st.nonSpace < r.MinRunes {
		return RuleVerdict{Reason: RuleTooShort, Stat: "non_space_runes", Value: float64(st.nonSpace)}
	}
	if st.nonSpace >= r.MinRunesForCharStats {
		if ar := st.alnumRatio(); ar < r.MinAlnumRatio {
			return RuleVerdict{Reason: RuleGibberish, Stat: "alnum_ratio", Value: ar}
		}
		if sr := st.symbolRatio(); sr > r.MaxSymbolRatio {
			return RuleVerdict{Reason: RuleGibberish, Stat: "symbol_ratio", Value: sr}
		}
		if st.asciiLetters >= r.MinRunesForCharStats && st.mostlyASCII() {
			if vr := st.vowelRatio(); vr < r.MinVowelRatio || vr > r.MaxVowelRatio {
				return RuleVerdict{Reason: RuleGibberish, Stat: "vowel_ratio", Value: vr}
			}
		}
	}
	if nw < r.MinWords {
		return RuleVerdict{Reason: RuleTooShort, Stat: "words", Value: float64(nw)}
	}
	if nw >= r.MinWordsForWordStats {
		// Scripts written without spaces have long "words": ASCII only.
		if ml := st.meanWordLen(); st.letterWords > 0 && st.mostlyASCII() && (ml < r.MinMeanWordLen || ml > r.MaxMeanWordLen) {
			return RuleVerdict{Reason: RuleGibberish, Stat: "mean_word_len", Value: ml}
		}
		if nl := st.nonLetterTokenRatio(); nl > r.MaxNonLetterTokens {
			return RuleVerdict{Reason: RuleGibberish, Stat: "non_letter_tokens", Value: nl}
		}
		if rep := s.repeatedNgramFraction(s.words, r.RepeatN); rep > r.MaxRepeatedNgrams {
			return RuleVerdict{Reason: RuleRepetition, Stat: "repeated_ngrams", Value: rep}
		}
	}
	// DEFLATE is the expensive part; run it only when a cheap LZ77 parse
	// finds repeats at all (prose scores about 1.25 there, loops well above
	// 2), so the rule flags repetition rather than a small alphabet.
	if len(response) >= r.MinBytesForCompression && s.lzRatio(response) >= ufLZGate {
		if cr := s.compressionRatio(response); cr > r.MaxCompressionRatio {
			return RuleVerdict{Reason: RuleRepetition, Stat: "compression_ratio", Value: cr}
		}
	}

	s.pwords = ufWordHashes(s.pwords[:0], prompt, ufMaxWords)
	if nw > 0 && ufEqualWords(s.words, s.pwords) {
		return RuleVerdict{Reason: RuleEcho, Stat: "equals_prompt", Value: 1}
	}
	if nw-2 >= r.MinShinglesForEcho && r.MinShinglesForEcho > 0 {
		if ec := s.containment(s.words, s.pwords); ec > r.MaxEchoContainment {
			return RuleVerdict{Reason: RuleEcho, Stat: "prompt_containment", Value: ec}
		}
	}
	return RuleVerdict{}
}

// ufMaxWords caps the words hashed per text (about 40 KB of prose); longer
// texts are judged on their first ufMaxWords words.
const ufMaxWords = 8192

// ufLZGate is the LZ77 estimate below which the DEFLATE ratio is not
// computed (see lzRatio).
const ufLZGate = 1.5

// ufMaxCompressBytes caps the bytes compressed for the compression ratio.
const ufMaxCompressBytes = 64 << 10

// ufStats are character and token statistics of a text, from one pass.
type ufStats struct {
	bytes, nonSpace                int
	letters, asciiLetters, vowels  int
	upper, digits, punct, symbols  int
	tokens, nonLetterTokens        int
	letterWords, letterWordRunes   int
	sentenceEnds, lowerAfterEnd    int
	stopWords, words, capitalWords int
}

func (st *ufStats) letterRatio() float64 { return ufRatio(st.letters, st.nonSpace) }
func (st *ufStats) alnumRatio() float64  { return ufRatio(st.letters+st.digits, st.nonSpace) }
func (st *ufStats) mostlyASCII() bool    { return st.asciiLetters*5 >= st.letters*4 }
func (st *ufStats) symbolRatio() float64 { return ufRatio(st.symbols, st.nonSpace) }
func (st *ufStats) vowelRatio() float64  { return ufRatio(st.vowels, st.asciiLetters) }
func (st *ufStats) meanWordLen() float64 { return ufRatio(st.letterWordRunes, st.letterWords) }
func (st *ufStats) nonLetterTokenRatio() float64 {
	return ufRatio(st.nonLetterTokens, st.tokens)
}

func ufRatio(a, b int) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Character classes of the scanner, as bits.
const (
	ufcSpace uint8 = 1 << iota
	ufcLetter
	ufcUpper
	ufcVowel
	ufcDigit
	ufcPunct
	ufcSymbol
	ufcEnd // sentence end: . ! ?
)

// ufASCIIClass is the class of every ASCII byte (an immutable table).
var ufASCIIClass = func() (t [utf8.RuneSelf]uint8) {
	for c := 0; c < utf8.RuneSelf; c++ {
		b := byte(c)
		lc := b | 0x20
		switch {
		case b == ' ' || b == '\n' || b == '\t' || b == '\r' || b == '\v' || b == '\f':
			t[c] = ufcSpace
		case lc >= 'a' && lc <= 'z':
			t[c] = ufcLetter
			if b < 'a' {
				t[c] |= ufcUpper
			}
			switch lc {
			case 'a', 'e', 'i', 'o', 'u', 'y':
				t[c] |= ufcVowel
			}
		case b >= '0' && b <= '9':
			t[c] = ufcDigit
		case b < 0x20 || b == 0x7f:
			t[c] = ufcSymbol
		case ufIsASCIIPunct(b):
			t[c] = ufcPunct
			if b == '.' || b == '!' || b == '?' {
				t[c] |= ufcEnd
			}
		default:
			t[c] = ufcSymbol
		}
	}
	return t
}()

// ufRuneClass classifies a non-ASCII rune (size is its encoded length, to
// tell invalid bytes from U+FFFD).
func ufRuneClass(r rune, size int) uint8 {
	switch {
	case r == utf8.RuneError && size == 1:
		return ufcSymbol
	case unicode.IsSpace(r):
		return ufcSpace
	case unicode.IsLetter(r):
		if unicode.IsUpper(r) {
			return ufcLetter | ufcUpper
		}
		return ufcLetter
	case unicode.IsDigit(r) || unicode.IsNumber(r):
		return ufcDigit
	case unicode.IsPunct(r) || unicode.IsMark(r):
		return ufcPunct
	}
	return ufcSymbol
}

// ufWordState is the word being scanned.
type ufWordState struct {
	in, letter, upper bool
	runes             int
	w                 [4]byte // first bytes, lowercased, for stop words
}

func (st *ufStats) endWord(w *ufWordState) {
	st.words++
	if w.letter {
		st.letterWords++
		st.letterWordRunes += w.runes
	}
	if w.upper {
		st.capitalWords++
	}
	if w.runes <= 4 && ufIsStopWord(w.w[0], w.w[1], w.w[2], w.w[3], w.runes) {
		st.stopWords++
	}
	*w = ufWordState{}
}

// scan fills st from s in one pass. Words are maximal runs of letters and
// digits; tokens are maximal runs of non-space runes.
func (st *ufStats) scan(s string) {
	*st = ufStats{bytes: len(s)}
	var (
		w                 ufWordState
		inTok, tokAlnum   bool
		pendingEnd        bool // a sentence end seen, waiting for the next word
		nonSpace, letters int
	)
	for i := 0; i < len(s); {
		c := s[i]
		var cls uint8
		if c < utf8.RuneSelf {
			cls = ufASCIIClass[c]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			cls = ufRuneClass(r, size)
			c = 0 // not an ASCII byte: never a stop-word letter
		}
		if cls&ufcSpace != 0 {
			if w.in {
				st.endWord(&w)
			}
			if inTok {
				st.tokens++
				if !tokAlnum {
					st.nonLetterTokens++
				}
				inTok, tokAlnum = false, false
			}
			continue
		}
		nonSpace++
		inTok = true
		if cls&(ufcLetter|ufcDigit) != 0 {
			tokAlnum = true
			if cls&ufcLetter != 0 {
				letters++
				if c != 0 {
					st.asciiLetters++
					if cls&ufcVowel != 0 {
						st.vowels++
					}
				}
				if cls&ufcUpper != 0 {
					st.upper++
				}
				w.letter = true
			} else {
				st.digits++
			}
			if !w.in {
				w.in = true
				w.upper = cls&ufcUpper != 0
				if pendingEnd && cls&ufcLetter != 0 && !w.upper {
					st.lowerAfterEnd++
				}
				pendingEnd = false
			}
			if w.runes < 4 {
				w.w[w.runes] = c | 0x20
			}
			w.runes++
			continue
		}
		if w.in {
			st.endWord(&w)
		}
		switch {
		case cls&ufcPunct != 0:
			st.punct++
			if cls&ufcEnd != 0 {
				if !pendingEnd {
					st.sentenceEnds++
				}
				pendingEnd = true
			}
		default:
			st.symbols++
		}
	}
	if w.in {
		st.endWord(&w)
	}
	if inTok {
		st.tokens++
		if !tokAlnum {
			st.nonLetterTokens++
		}
	}
	st.nonSpace, st.letters = nonSpace, letters
}

// ufIsStopWord reports whether the lowercased word w0 w1 w2 w3 of length n
// is one of a few very common English function words.
func ufIsStopWord(w0, w1, w2, w3 byte, n int) bool {
	switch n {
	case 1:
		return w0 == 'a' || w0 == 'i'
	case 2:
		switch string([]byte{w0, w1}) {
		case "to", "of", "in", "it", "is", "he", "on", "at", "be", "as", "we", "an", "or", "my", "so":
			return true
		}
	case 3:
		switch string([]byte{w0, w1, w2}) {
		case "the", "and", "was", "she", "his", "her", "for", "are", "you", "had", "but", "not", "can":
			return true
		}
	case 4:
		switch string([]byte{w0, w1, w2, w3}) {
		case "that", "with", "have", "they", "this", "from", "were", "them", "then", "when":
			return true
		}
	}
	return false
}

func ufIsASCIIPunct(c byte) bool {
	switch c {
	case '.', ',', ';', ':', '!', '?', '\'', '"', '(', ')', '[', ']', '{', '}', '-', '/', '`':
		return true
	}
	return false
}

// FNV-1a 64-bit parameters.
const (
	ufOffset64 uint64 = 14695981039346656037
	ufPrime64  uint64 = 1099511628211
)

// ufMix64 is the SplitMix64 finaliser: it spreads every input bit over the
// output, so the low and high bits of word hashes are both usable.
func ufMix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// ufWordHashes appends to dst the mixed FNV-1a hashes of the words of s,
// lowercased (ASCII and Unicode simple folding), at most max of them. Words
// are maximal runs of letters and digits; everything else separates words.
func ufWordHashes(dst []uint64, s string, max int) []uint64 {
	return ufWordHashesMin(dst, s, max, 1)
}

// ufWordHashesMin is ufWordHashes keeping only words of at least minLen
// runes.
func ufWordHashesMin(dst []uint64, s string, max, minLen int) []uint64 {
	it := ufWordIter{s: s}
	for len(dst) < max {
		h, n, ok := it.next()
		if !ok {
			break
		}
		if n >= minLen {
			dst = append(dst, h)
		}
	}
	return dst
}

// ufWordIter yields the words of a string, lowercased and hashed.
type ufWordIter struct {
	s string
	i int
}

// next returns the mixed FNV-1a hash of the next word and its length in
// runes; ok is false at the end of the string.
func (it *ufWordIter) next() (h uint64, runes int, ok bool) {
	s := it.s
	h = ufOffset64
	for it.i < len(s) {
		c := s[it.i]
		if c < utf8.RuneSelf {
			it.i++
			lc := c | 0x20
			if lc >= 'a' && lc <= 'z' {
				h = (h ^ uint64(lc)) * ufPrime64
				runes++
				continue
			}
			if c >= '0' && c <= '9' {
				h = (h ^ uint64(c)) * ufPrime64
				runes++
				continue
			}
		} else {
			r, size := utf8.DecodeRuneInString(s[it.i:])
			it.i += size
			if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				h = (h ^ uint64(unicode.ToLower(r))) * ufPrime64
				runes++
				continue
			}
		}
		if runes > 0 {
			return ufMix64(h), runes, true
		}
	}
	if runes > 0 {
		return ufMix64(h), runes, true
	}
	return 0, 0, false
}

func ufEqualWords(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ufShingle combines consecutive word hashes (already mixed) into one
// shingle hash; one word is its own hash.
func ufShingle(w []uint64) uint64 {
	switch len(w) {
	case 1:
		return w[0]
	case 2:
		return ufMix64(w[0] ^ bits.RotateLeft64(w[1], 21) ^ 2)
	case 3:
		return ufMix64(w[0] ^ bits.RotateLeft64(w[1], 21) ^ bits.RotateLeft64(w[2], 42) ^ 3)
	}
	h := uint64(len(w))
	for _, x := range w {
		h = ufMix64(bits.RotateLeft64(h, 21) ^ x)
	}
	return h
}

// ufScratch holds reusable buffers for one rule check or feature
// extraction; it lives in a sync.Pool owned by a checker or extractor.
type ufScratch struct {
	words, pwords []uint64
	set           []uint64 // open-addressing hash set, 0 = empty
	norm          []byte
	lz            *[1 << 12]int32
	fw            *flate.Writer
	cw            ufCountWriter
}

type ufCountWriter struct{ n int }

// lzRatio estimates how well text compresses, far cheaper than DEFLATE: a
// greedy LZ77 parse (4-byte hash, matches anywhere earlier in the first
// ufMaxFeatureBytes bytes) costing 1 per literal byte and 3 per match. It
// returns len/cost, >= 1; ordinary prose is about 1.1–1.4, loops 3 and up.
func (s *ufScratch) lzRatio(text string) float64 {
	if len(text) > ufMaxFeatureBytes {
		text = text[:ufMaxFeatureBytes]
	}
	n := len(text)
	if n < 16 {
		return 1
	}
	if s.lz == nil {
		s.lz = new([1 << 12]int32)
	} else {
		clear(s.lz[:])
	}
	load := func(i int) uint32 {
		return uint32(text[i]) | uint32(text[i+1])<<8 | uint32(text[i+2])<<16 | uint32(text[i+3])<<24
	}
	cost, i := 0, 0
	for i+4 <= n {
		v := load(i)
		h := (v * 2654435761) >> 20
		cand := int(s.lz[h]) - 1
		s.lz[h] = int32(i + 1)
		if cand >= 0 && load(cand) == v {
			l := 4
			for i+l < n && l < 258 && text[cand+l] == text[i+l] {
				l++
			}
			cost += 3
			i += l
			continue
		}
		cost++
		i++
	}
	cost += n - i
	return float64(n) / float64(cost)
}

func (w *ufCountWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// compressionRatio returns len(s)/len(DEFLATE_bestspeed(s)) over at most
// ufMaxCompressBytes bytes; 1 for an empty s.
func (s *ufScratch) compressionRatio(text string) float64 {
	if len(text) > ufMaxCompressBytes {
		text = text[:ufMaxCompressBytes]
	}
	if len(text) == 0 {
		return 1
	}
	s.cw.n = 0
	if s.fw == nil {
		fw, err := flate.NewWriter(&s.cw, flate.BestSpeed)
		if err != nil {
			return 1
		}
		s.fw = fw
	} else {
		s.fw.Reset(&s.cw)
	}
	s.norm = append(s.norm[:0], text...)
	_, _ = s.fw.Write(s.norm)
	_ = s.fw.Close()
	if s.cw.n == 0 {
		return 1
	}
	return float64(len(text)) / float64(s.cw.n)
}

// setReset prepares the hash set for about n insertions.
func (s *ufScratch) setReset(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(s.set) < size {
		s.set = make([]uint64, size)
	} else {
		s.set = s.set[:size]
		clear(s.set)
	}
}

// setAdd inserts h and reports whether it was already present.
func (s *ufScratch) setAdd(h uint64) bool {
	if h == 0 {
		h = 1
	}
	mask := uint64(len(s.set) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.set[i] {
		case 0:
			s.set[i] = h
			return false
		case h:
			return true
		}
	}
}

func (s *ufScratch) setHas(h uint64) bool {
	if h == 0 {
		h = 1
	}
	mask := uint64(len(s.set) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.set[i] {
		case 0:
			return false
		case h:
			return true
		}
	}
}

// repeatedNgramFraction returns the fraction of word n-grams of words that
// repeat an earlier n-gram, in [0,1]; 0 when there are no n-grams.
func (s *ufScratch) repeatedNgramFraction(words []uint64, n int) float64 {
	if len(words) < n || n < 1 {
		return 0
	}
	total := len(words) - n + 1
	s.setReset(total)
	rep := 0
	for i := 0; i < total; i++ {
		if s.setAdd(ufShingle(words[i : i+n])) {
			rep++
		}
	}
	return float64(rep) / float64(total)
}

// containment returns the fraction of the word 3-shingles of resp that also
// occur in prompt, in [0,1]; 0 when resp has none.
func (s *ufScratch) containment(resp, prompt []uint64) float64 {
	const n = 3
	if len(resp) < n {
		return 0
	}
	np := len(prompt) - n + 1
	if np <= 0 {
		return 0
	}
	s.setReset(np)
	for i := 0; i < np; i++ {
		s.setAdd(ufShingle(prompt[i : i+n]))
	}
	total := len(resp) - n + 1
	in := 0
	for i := 0; i < total; i++ {
		if s.setHas(ufShingle(resp[i : i+n])) {
			in++
		}
	}
	return float64(in) / float64(total)
}

// coverage returns the fraction of the words in prompt (the caller passes
// the prompt's content words) that occur among resp's words, in [0,1]; 0
// when either is empty.
func (s *ufScratch) coverage(resp, prompt []uint64) float64 {
	if len(prompt) == 0 || len(resp) == 0 {
		return 0
	}
	s.setReset(len(resp))
	for _, w := range resp {
		s.setAdd(w)
	}
	in := 0
	for _, w := range prompt {
		if s.setHas(w) {
			in++
		}
	}
	return float64(in) / float64(len(prompt))
}
