package scoring

import (
	"math"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Feature space of the p(useful) classifier.
const (
	// FeatureBits is log2 of the number of hashed n-gram buckets.
	FeatureBits = 18
	// FeatureBuckets is the number of hashed n-gram buckets (2^18); hashed
	// features have indices in [0, FeatureBuckets).
	FeatureBuckets = 1 << FeatureBits
	// FeatureDense is the number of dense quality-feature slots, at indices
	// [FeatureBuckets, FeatureDims).
	FeatureDense = 256
	// FeatureDims is the dimension of a feature vector.
	FeatureDims = FeatureBuckets + FeatureDense
)

// ufMaxFeatureBytes caps the bytes of a response that feed character
// n-grams and the bigram model; longer responses are judged on a prefix.
// Topicality reads at most as many bytes of the prompt, from its end.
const ufMaxFeatureBytes = 8 << 10

// UsefulInput is one response to score with p(useful), with the context the
// caller has about it. Similarities are in [0,1] (1 = identical), for
// example the share of the response's word runs found in the nearest
// earlier answer; use 0 when nothing similar is known. Values outside
// [0,1] are clamped.
type UsefulInput struct {
	Prompt   string // the prompt the miner answered
	Response string // the miner's answer
	// SimOthers is the highest similarity of Response to recent answers of
	// other miners (to the same or other prompts).
	SimOthers float64
	// SimOwn is the highest similarity of Response to the same miner's own
	// earlier answers to other prompts.
	SimOwn float64
	// MeanLogprob is the declared model's mean log-probability per token
	// (natural log, at temperature 1, as llm.TokenLogprob.Logprob) of the
	// answer's tokens given the prompt, as the validator's verification
	// computed it. It is used only when HasLogprob is true and it is a
	// finite number <= 0; otherwise the feature is unknown (an answer the
	// validator could not score, such as one with characters the model's
	// tokenizer cannot encode).
	MeanLogprob float64
	// HasLogprob says MeanLogprob is known.
	HasLogprob bool
}

// logprob returns MeanLogprob and whether it is usable.
func (in *UsefulInput) logprob() (float64, bool) {
	lp := in.MeanLogprob
	if !in.HasLogprob || math.IsNaN(lp) || math.IsInf(lp, 0) || lp > 0 {
		return 0, false
	}
	return lp, true
}

// Features is a sparse feature vector: Val[i] is the value at Idx[i], with
// Idx in [0, FeatureDims). An index may repeat (its values add up). It is
// reusable: Extract overwrites it, keeping its capacity.
type Features struct {
	Idx []uint32
	Val []float32
}

// Reset empties f, keeping its capacity.
func (f *Features) Reset() { f.Idx, f.Val = f.Idx[:0], f.Val[:0] }

func (f *Features) add(i uint32, v float32) {
	f.Idx = append(f.Idx, i)
	f.Val = append(f.Val, v)
}

// Quality are the dense, human-readable quality features of a response.
// Ratios are in [0,1]; see the field comments for the others. The
// compression ratio here is a greedy LZ77 estimate (1 per literal byte, 3
// per match), several times cheaper than DEFLATE, which the hard rules use:
// prose is about 1.1–1.4, degenerate loops 3 and up.
type Quality struct {
	Runes             int     // non-space runes of the response
	CompressionRatio  float64 // len/estimated LZ77 size (see below), >= 1; 1 for tiny texts
	RepeatedWords     float64 // fraction of words that repeat an earlier word
	RepeatedTrigrams  float64 // fraction of word 3-grams that repeat an earlier one
	SymbolRatio       float64 // symbols / non-space runes
	LetterRatio       float64 // letters / non-space runes
	VowelRatio        float64 // vowels / ASCII letters
	MeanWordLen       float64 // mean runes per word with a letter
	NonLetterTokens   float64 // tokens with no letter or digit / tokens
	BigramScore       float64 // mean log2 P(next char class | class) under the bigram model, <= 0
	PromptContainment float64 // response word 3-shingles found in the prompt / response shingles
	PromptCoverage    float64 // prompt words of 4+ letters found in the response / such prompt words
	SimOthers, SimOwn float64 // from the input, clamped to [0,1]
	LowerAfterEnd     float64 // sentence ends followed by a lowercase word / sentence ends
	StopWords         float64 // common English function words / words
	Upper             float64 // uppercase letters / letters
	Digits            float64 // digits / non-space runes
	NonASCIILetters   float64 // letters outside ASCII / letters
	// MidCapitals is the fraction of capitalised function words ("The",
	// "This", "Because"...) that do not start a sentence (or a quotation):
	// about 0 in prose, high in words put out of order.
	MidCapitals float64

	// Topicality is how much of the response's vocabulary comes from the
	// prompt: its distinct content words (not function words, 3+ letters,
	// compared on their first 5 letters so that "license" meets
	// "licensed") found among the prompt's / all of them.
	Topicality float64
	// TopicCoverage is the same the other way: the prompt's content words
	// found in the response / the prompt's.
	TopicCoverage float64
	// TopicShared is how many distinct content words the two share.
	TopicShared int
	// TopicChars is the fraction of the character 4-grams of the response's
	// content words that occur in the prompt's content words: it meets
	// words the 5-letter stems miss (inflections, compounds, names).
	TopicChars float64

	// MeanLogprob and HasLogprob are the input's, when usable (see
	// [UsefulInput.MeanLogprob]); MeanLogprob is 0 when not.
	MeanLogprob float64
	HasLogprob  bool
}

// BigramLM is a character-class bigram language model: 26 letters, space,
// digit, punctuation and other, with add-half smoothing. It scores how much
// a text looks like English letter sequences (a cheap perplexity filter).
// It is immutable after construction and safe for concurrent use.
type BigramLM struct {
	logp [ufLMClasses * ufLMClasses]float32 // log2 P(b | a) at a*ufLMClasses+b
}

const (
	ufLMClasses = 30
	ufLMSpace   = 26
	ufLMDigit   = 27
	ufLMPunct   = 28
	ufLMOther   = 29
)

// ufLMClass maps a byte to its class; every byte >= 0x80 is "other".
func ufLMClass(c byte) int { return int(ufLMClassTable[c]) }

// ufLMClassTable is the class of every byte (an immutable table).
var ufLMClassTable = func() (t [256]uint8) {
	for i := range t {
		c := byte(i)
		switch {
		case c >= 'a' && c <= 'z':
			t[i] = c - 'a'
		case c >= 'A' && c <= 'Z':
			t[i] = c - 'A'
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			t[i] = ufLMSpace
		case c >= '0' && c <= '9':
			t[i] = ufLMDigit
		case c < 0x80 && ufIsASCIIPunct(c):
			t[i] = ufLMPunct
		default:
			t[i] = ufLMOther
		}
	}
	return t
}()

// NewBigramLM trains a model on texts (any number, any size; whitespace runs
// count as one space). With no text at all it trains on a small English
// text shipped with the package.
func NewBigramLM(texts ...string) *BigramLM {
	var counts [ufLMClasses * ufLMClasses]float64
	n := 0
	for _, t := range texts {
		n += len(t)
		prev := ufLMSpace
		for i := 0; i < len(t); i++ {
			c := ufLMClass(t[i])
			if c == ufLMSpace && prev == ufLMSpace {
				continue
			}
			counts[prev*ufLMClasses+c]++
			prev = c
		}
	}
	if n == 0 {
		return NewBigramLM(ufEnglishText)
	}
	lm := new(BigramLM)
	for a := 0; a < ufLMClasses; a++ {
		row := counts[a*ufLMClasses : (a+1)*ufLMClasses]
		total := 0.0
		for _, c := range row {
			total += c + 0.5
		}
		for b, c := range row {
			lm.logp[a*ufLMClasses+b] = float32(math.Log2((c + 0.5) / total))
		}
	}
	return lm
}

// DefaultBigramLM returns a model trained on the package's shipped English
// text. Each call builds a new model (about ten microseconds).
func DefaultBigramLM() *BigramLM { return NewBigramLM(ufEnglishText) }

// Score returns the mean log2 probability per character transition of s
// (at most its first 8 KiB), and the number of transitions. English prose
// scores about -3.2 to -3.6 bits; random letters about -5. An empty text
// scores 0 with n = 0.
func (lm *BigramLM) Score(s string) (bits float64, n int) {
	if len(s) > ufMaxFeatureBytes {
		s = s[:ufMaxFeatureBytes]
	}
	prev := ufLMSpace
	var sum float32
	for i := 0; i < len(s); i++ {
		c := int(ufLMClassTable[s[i]])
		if c == ufLMSpace && prev == ufLMSpace {
			continue
		}
		sum += lm.logp[prev*ufLMClasses+c]
		n++
		prev = c
	}
	if n == 0 {
		return 0, 0
	}
	return float64(sum) / float64(n), n
}

// FeatureExtractor turns a [UsefulInput] into a sparse feature vector:
// signed-hashed character 3-, 4- and 5-grams and word 1- and 2-grams of
// the response in [FeatureBuckets] buckets, each group scaled to unit norm,
// plus dense features (raw and binned): the response's quality, its
// topicality (how much it is about the prompt), and the declared model's
// mean log-probability of it when known. It keeps a pool of scratch
// buffers and is safe for concurrent use. Extraction is deterministic: the
// same input always gives the same vector.
type FeatureExtractor struct {
	lm   *BigramLM
	pool sync.Pool // *fxScratch
	// denseOnly leaves out the hashed n-grams (for the outside-text
	// evaluation's ablation).
	denseOnly bool
}

// fxScratch is the extractor's scratch: the rule checker's buffers and the
// topicality's.
type fxScratch struct {
	ufScratch
	rs     ufScratch   // for its set: the response's distinct content words
	stems  []uint64    // the prompt's distinct content words (stem hashes)
	pgrams [256]uint64 // bit set of the prompt's content-word 4-grams
	word   [24]byte    // the word being read, lowercased (its first bytes)
}

// NewFeatureExtractor returns an extractor scoring text with lm (nil means
// [DefaultBigramLM]).
func NewFeatureExtractor(lm *BigramLM) *FeatureExtractor {
	if lm == nil {
		lm = DefaultBigramLM()
	}
	return &FeatureExtractor{lm: lm}
}

func (fx *FeatureExtractor) getScratch() *fxScratch {
	if s, ok := fx.pool.Get().(*fxScratch); ok {
		return s
	}
	return new(fxScratch)
}

// Quality computes the dense quality features of in. It never panics,
// whatever the bytes.
func (fx *FeatureExtractor) Quality(in UsefulInput) Quality {
	s := fx.getScratch()
	defer fx.pool.Put(s)
	return fx.quality(in, s)
}

func (fx *FeatureExtractor) quality(in UsefulInput, s *fxScratch) Quality {
	var st ufStats
	st.scan(in.Response)
	s.words = ufWordHashes(s.words[:0], in.Response, ufMaxWords)
	s.pwords = ufWordHashes(s.pwords[:0], in.Prompt, ufMaxWords)
	q := Quality{
		Runes:             st.nonSpace,
		CompressionRatio:  1,
		SymbolRatio:       st.symbolRatio(),
		LetterRatio:       st.letterRatio(),
		VowelRatio:        st.vowelRatio(),
		MeanWordLen:       st.meanWordLen(),
		NonLetterTokens:   st.nonLetterTokenRatio(),
		SimOthers:         ufClamp01(in.SimOthers),
		SimOwn:            ufClamp01(in.SimOwn),
		LowerAfterEnd:     ufRatio(st.lowerAfterEnd, st.sentenceEnds),
		StopWords:         ufRatio(st.stopWords, st.words),
		Upper:             ufRatio(st.upper, st.letters),
		Digits:            ufRatio(st.digits, st.nonSpace),
		NonASCIILetters:   ufRatio(st.letters-st.asciiLetters, st.letters),
		RepeatedWords:     s.repeatedNgramFraction(s.words, 1),
		RepeatedTrigrams:  s.repeatedNgramFraction(s.words, 3),
		PromptContainment: s.containment(s.words, s.pwords),
	}
	q.CompressionRatio = s.lzRatio(in.Response)
	q.BigramScore, _ = fx.lm.Score(in.Response)
	s.pwords = ufWordHashesMin(s.pwords[:0], in.Prompt, ufMaxWords, 4)
	q.PromptCoverage = s.coverage(s.words, s.pwords)
	q.MidCapitals = ufMidCapitals(in.Response)
	s.topicality(in.Prompt, in.Response, &q)
	q.MeanLogprob, q.HasLogprob = in.logprob()
	return q
}

func ufClamp01(x float64) float64 {
	switch {
	case x > 1:
		return 1
	case x >= 0:
		return x
	}
	return 0 // negative or NaN
}

// Byte classes of ufMidCapitals.
const (
	ufmSpace  uint8 = 1 << iota
	ufmLetter       // ASCII letter
	ufmAlnum        // ASCII letter or digit
	ufmOpen         // opens a quotation or bracket: " ' ( [ `
	ufmClose        // closes one: " ' ) ] `
	ufmEnd          // ends a sentence: . ! ? :
)

var ufmClass = func() (t [256]uint8) {
	for c := 0; c < utf8.RuneSelf; c++ {
		cl := ufASCIIClass[c]
		if cl&ufcSpace != 0 {
			t[c] |= ufmSpace
		}
		if cl&ufcLetter != 0 {
			t[c] |= ufmLetter
		}
		if cl&(ufcLetter|ufcDigit) != 0 {
			t[c] |= ufmAlnum
		}
	}
	for _, c := range []byte("\"'([`") {
		t[c] |= ufmOpen
	}
	for _, c := range []byte("\"')]`") {
		t[c] |= ufmClose
	}
	for _, c := range []byte(".!?:") {
		t[c] |= ufmEnd
	}
	return t
}()

// ufMidCapitals returns the fraction of the capitalised function words of
// text (its first ufMaxFeatureBytes bytes; "I" aside) that do not start a
// sentence: that follow a word not ending in . ! ? or : (closing quotes and
// brackets aside), and do not open a quotation or a bracket. 0 when there
// are none.
func ufMidCapitals(text string) float64 {
	if len(text) > ufMaxFeatureBytes {
		text = text[:ufMaxFeatureBytes]
	}
	caps, mid := 0, 0
	start := true // the next word starts a sentence
	for i := 0; i < len(text); {
		if ufmClass[text[i]]&ufmSpace != 0 {
			i++
			continue
		}
		j := i
		for j < len(text) && ufmClass[text[j]]&ufmSpace == 0 {
			j++
		}
		tok := text[i:j]
		i = j
		wordStart := start
		for {
			if tok != "" && ufmClass[tok[0]]&ufmOpen != 0 {
				tok = tok[1:]
			} else if len(tok) >= 3 && tok[0] == 0xe2 && tok[1] == 0x80 && (tok[2] == 0x9c || tok[2] == 0x98) { // “ ‘
				tok = tok[3:]
			} else {
				break
			}
			wordStart = true
		}
		// The word's leading ASCII letters, lowercased.
		var w [8]byte
		n := 0
		for n < len(tok) && n < len(w) && ufmClass[tok[n]]&ufmLetter != 0 {
			w[n] = tok[n] | 0x20
			n++
		}
		whole := n == len(tok) || ufmClass[tok[n]]&ufmAlnum == 0 && tok[n] < utf8.RuneSelf
		if n > 0 && whole && tok[0] <= 'Z' && !(n == 1 && w[0] == 'i') && ufIsTopicStop(w[:n], n) {
			caps++
			if !wordStart {
				mid++
			}
		}
		// Does the word end a sentence? Closing quotes and brackets aside.
		k := len(tok)
		for k > 0 {
			if ufmClass[tok[k-1]]&ufmClose != 0 {
				k--
			} else if k >= 3 && tok[k-3] == 0xe2 && tok[k-2] == 0x80 && (tok[k-1] == 0x9d || tok[k-1] == 0x99) { // ” ’
				k -= 3
			} else {
				break
			}
		}
		start = k > 0 && ufmClass[tok[k-1]]&ufmEnd != 0
	}
	return ufRatio(mid, caps)
}

// ---- topicality ----

// Topicality's parameters. Measured on the outside-text corpus of
// TestUsefulAUCOutsideText (useful continuation against one from another
// document): 5-letter stems did a little better than 4, 6, 8 or whole
// words, 3-letter words than 4 or 5, and counting each distinct word once
// better than weighting it by its length or its length squared.
const (
	ufStemRunes   = 5  // letters of a word that name it for topicality
	ufTopicMinLen = 3  // shorter words are not content words
	ufTopicGramN  = 4  // character n-grams of content words
	ufTopicGrams  = 14 // log2 of the bits of the prompt's n-gram set
)

// topicWords scans the words of text (at most ufMaxWords) and calls fn with
// each content word: its stem hash and its first bytes lowercased (at most
// len(s.word)). Words are maximal runs of letters and digits, as
// everywhere in this package.
func (s *fxScratch) topicWords(text string, fn func(h uint64, b []byte)) {
	var (
		h     = ufOffset64
		runes = 0
		nb    = 0
		words = 0
	)
	flush := func() {
		if runes >= ufTopicMinLen && !ufIsTopicStop(s.word[:nb], runes) {
			fn(ufMix64(h), s.word[:nb])
		}
		h, runes, nb = ufOffset64, 0, 0
		words++
	}
	for i := 0; i < len(text) && words < ufMaxWords; {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			lc := c | 0x20
			isLetter := lc >= 'a' && lc <= 'z'
			if isLetter || (c >= '0' && c <= '9') {
				if !isLetter {
					lc = c
				}
				if runes < ufStemRunes {
					h = (h ^ uint64(lc)) * ufPrime64
				}
				if nb < len(s.word) {
					s.word[nb] = lc
					nb++
				}
				runes++
				continue
			}
		} else {
			r, size := utf8.DecodeRuneInString(text[i:])
			i += size
			if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				lr := unicode.ToLower(r)
				if runes < ufStemRunes {
					h = (h ^ uint64(lr)) * ufPrime64
				}
				if nb+utf8.RuneLen(lr) <= len(s.word) {
					nb += utf8.EncodeRune(s.word[nb:], lr)
				}
				runes++
				continue
			}
		}
		if runes > 0 {
			flush()
		}
	}
	if runes > 0 {
		flush()
	}
}

// ufGramBit is the bit of the prompt's n-gram set for the n-gram at b.
func ufGramBit(b []byte) uint32 {
	v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	return (v * 0x9e3779b1) >> (32 - ufTopicGrams)
}

// topicality fills the topicality fields of q from prompt (its last
// ufMaxFeatureBytes bytes) and response (its first).
func (s *fxScratch) topicality(prompt, response string, q *Quality) {
	if len(prompt) > ufMaxFeatureBytes {
		prompt = prompt[len(prompt)-ufMaxFeatureBytes:]
	}
	if len(response) > ufMaxFeatureBytes {
		response = response[:ufMaxFeatureBytes]
	}
	// The prompt's distinct content words, and its n-gram set.
	clear(s.pgrams[:])
	s.stems = s.stems[:0]
	s.setReset(len(prompt)/4 + 1)
	s.topicWords(prompt, func(h uint64, b []byte) {
		if !s.setAdd(h) {
			s.stems = append(s.stems, h)
		}
		for k := 0; k+ufTopicGramN <= len(b); k++ {
			bit := ufGramBit(b[k:])
			s.pgrams[bit>>6] |= 1 << (bit & 63)
		}
	})
	// The response's: each distinct word once.
	var rTotal, shared, grams, gramsIn int
	s.rs.setReset(len(response)/4 + 1)
	s.topicWords(response, func(h uint64, b []byte) {
		for k := 0; k+ufTopicGramN <= len(b); k++ {
			bit := ufGramBit(b[k:])
			grams++
			if s.pgrams[bit>>6]&(1<<(bit&63)) != 0 {
				gramsIn++
			}
		}
		if s.rs.setAdd(h) {
			return // a repeat
		}
		rTotal++
		if s.setHas(h) {
			shared++
		}
	})
	q.TopicShared = shared
	q.Topicality = ufRatio(shared, rTotal)
	q.TopicCoverage = ufRatio(shared, len(s.stems))
	q.TopicChars = ufRatio(gramsIn, grams)
}

// ufTopicStops are common English words that say nothing about a topic,
// beyond the function words of ufIsStopWord (at most 8 letters each).
var ufTopicStops = []string{
	"about", "after", "again", "all", "also", "any", "because", "been", "before", "being",
	"both", "but", "came", "can", "could", "did", "does", "done", "each", "even", "ever",
	"every", "few", "from", "get", "got", "had", "has", "have", "her", "here", "him", "his",
	"how", "into", "its", "just", "like", "made", "make", "many", "may", "more", "most",
	"much", "must", "not", "now", "off", "one", "only", "other", "our", "out", "over", "own",
	"said", "same", "see", "shall", "she", "should", "some", "such", "than", "that", "the",
	"their", "them", "then", "there", "these", "they", "this", "those", "through", "too",
	"two", "under", "until", "upon", "use", "used", "very", "was", "way", "well", "were",
	"what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "within",
	"without", "would", "yes", "yet", "you", "your",
}

// ufTopicStopSet holds ufTopicStops packed into uint64s (ufPackWord), in
// an open-addressing table of ufStopSlots; 0 is empty. Immutable after
// package init.
var ufTopicStopSet = func() (t [1 << ufStopBits]uint64) {
	for _, w := range ufTopicStops {
		k, ok := ufPackWord([]byte(w))
		if !ok {
			panic("scoring: topic stop word too long: " + w)
		}
		i := ufStopSlot(k)
		for t[i] != 0 {
			i = (i + 1) & (1<<ufStopBits - 1)
		}
		t[i] = k
	}
	return t
}()

const ufStopBits = 9 // 512 slots for about 110 words

// ufPackWord packs a lowercased ASCII word of 1 to 8 bytes into a uint64
// (one byte each, the rest zero); ok is false for longer or empty words.
func ufPackWord(b []byte) (k uint64, ok bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	for i, c := range b {
		k |= uint64(c) << (8 * i)
	}
	return k, true
}

func ufStopSlot(k uint64) uint64 { return (k * 0x9e3779b97f4a7c15) >> (64 - ufStopBits) }

// ufIsTopicStop reports whether the lowercased word b of n runes is a
// function word or one of ufTopicStops.
func ufIsTopicStop(b []byte, n int) bool {
	if n <= 4 && len(b) >= n {
		var w [4]byte
		copy(w[:], b)
		if ufIsStopWord(w[0], w[1], w[2], w[3], n) {
			return true
		}
	}
	if len(b) != n { // a non-ASCII letter: no stop word has one
		return false
	}
	k, ok := ufPackWord(b)
	if !ok {
		return false
	}
	for i := ufStopSlot(k); ufTopicStopSet[i] != 0; i = (i + 1) & (1<<ufStopBits - 1) {
		if ufTopicStopSet[i] == k {
			return true
		}
	}
	return false
}

// Namespace seeds of the hashed feature groups.
const (
	ufSeedChar    uint32 = 0x811c9dc5 // FNV-1a 32 offset basis
	ufPrime32     uint32 = 16777619
	ufSeedWordUni uint64 = 0x5bd1e9955bd1e995
	ufSeedWordBi  uint64 = 0x27d4eb2f165667c5
)

// Extract overwrites f with the feature vector of in. It never panics,
// whatever the bytes, and allocates only when f must grow.
func (fx *FeatureExtractor) Extract(in UsefulInput, f *Features) {
	s := fx.getScratch()
	defer fx.pool.Put(s)
	fx.extract(in, f, s)
}

func (fx *FeatureExtractor) extract(in UsefulInput, f *Features, s *fxScratch) {
	f.Reset()
	q := fx.quality(in, s) // leaves the response's word hashes in s.words

	// Character n-grams over a normalised copy: ASCII lowercased, digits
	// folded to '0', whitespace runs to one space, padded with spaces.
	text := in.Response
	if len(text) > ufMaxFeatureBytes {
		text = text[:ufMaxFeatureBytes]
	}
	b := append(s.norm[:0], ' ')
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c |= 0x20
		case c >= '0' && c <= '9':
			c = '0'
		case c == '\n' || c == '\t' || c == '\r':
			c = ' '
		}
		if c == ' ' && b[len(b)-1] == ' ' {
			continue
		}
		b = append(b, c)
	}
	if b[len(b)-1] != ' ' {
		b = append(b, ' ')
	}
	s.norm = b

	nChar := max(len(b)-2, 0) + max(len(b)-3, 0) + max(len(b)-4, 0) // 3-, 4- and 5-grams
	nWord := len(s.words) + max(len(s.words)-1, 0)
	if need := nChar + nWord + 64; cap(f.Idx) < need {
		f.Idx = make([]uint32, 0, need)
		f.Val = make([]float32, 0, need)
	}
	if fx.denseOnly {
		nChar, nWord = 0, 0
	}
	if nChar > 0 {
		scale := float32(1 / math.Sqrt(float64(nChar)))
		k := len(f.Idx)
		idx := f.Idx[:k+nChar]
		val := f.Val[:k+nChar]
		sbits := math.Float32bits(scale)
		emit := func(h uint32) {
			// Fibonacci hashing: the top bits of h*phi are well mixed;
			// bit 13 is the sign, set without a branch.
			m := h * 0x9e3779b1
			idx[k] = m >> (32 - FeatureBits)
			val[k] = math.Float32frombits(sbits | (m>>13&1)<<31)
			k++
		}
		n := len(b)
		for i := 0; i+5 <= n; i++ {
			h := (ufSeedChar ^ uint32(b[i])) * ufPrime32
			h = (h ^ uint32(b[i+1])) * ufPrime32
			h = (h ^ uint32(b[i+2])) * ufPrime32
			emit(h)
			h = (h ^ uint32(b[i+3])) * ufPrime32
			emit(h)
			h = (h ^ uint32(b[i+4])) * ufPrime32
			emit(h)
		}
		// The last positions have no room for the longer n-grams.
		for i := max(n-4, 0); i+3 <= n; i++ {
			h := (ufSeedChar ^ uint32(b[i])) * ufPrime32
			h = (h ^ uint32(b[i+1])) * ufPrime32
			h = (h ^ uint32(b[i+2])) * ufPrime32
			emit(h)
			if i+4 <= n {
				h = (h ^ uint32(b[i+3])) * ufPrime32
				emit(h)
			}
		}
		f.Idx, f.Val = idx[:k], val[:k]
	}
	if nWord > 0 {
		scale := float32(1 / math.Sqrt(float64(nWord)))
		w := s.words
		for i, x := range w {
			m := ufMix64(x ^ ufSeedWordUni)
			f.addSigned(m, scale)
			if i+1 < len(w) {
				f.addSigned(ufMix64(x*0x9e3779b97f4a7c15^w[i+1]^ufSeedWordBi), scale)
			}
		}
	}
	ufAppendDense(f, &q)
}

func (f *Features) addSigned(m uint64, scale float32) {
	v := scale
	if m>>63 != 0 {
		v = -scale
	}
	f.add(uint32(m)&(FeatureBuckets-1), v)
}

// Dense layout, at FeatureBuckets and up: slot 0 is the bias; slots
// 1..ufDenseRaw-1 are the raw values scaled to about [0,1]; then ufBins
// one-hot bins for each binned feature; then ufLogprobBins one-hot bins of
// the mean log-probability, or the one slot that says it is unknown.
const (
	ufDenseRaw      = 32
	ufBins          = 8
	ufBinnedAt      = ufDenseRaw
	ufNumBinned     = 19
	ufLogprobAt     = ufBinnedAt + ufNumBinned*ufBins
	ufLogprobBins   = 24
	ufLogprobMin    = -6.0 // nats per token: the lowest bin holds this and below
	ufLogprobNone   = ufLogprobAt + ufLogprobBins
	ufDenseUsed     = ufLogprobNone + 1
	ufLogprobScaled = -ufLogprobMin // raw value: (lp - min)/this, in [0,1]
)

var _ [FeatureDense - ufDenseUsed]struct{} // the layout fits in FeatureDense

func ufAppendDense(f *Features, q *Quality) {
	const base = FeatureBuckets
	logLen := math.Log1p(float64(q.Runes)) / 8 // 1 at about 3000 runes
	cr := ufClamp01((q.CompressionRatio - 1) / 3)
	lm := ufClamp01((q.BigramScore + 6) / 4) // -6 bits -> 0, -2 bits -> 1
	mwl := ufClamp01(q.MeanWordLen / 12)
	shared := ufClamp01(math.Log1p(float64(q.TopicShared)) / math.Log(33)) // 1 at 32 words
	lp, hasLP := 0.0, 0.0
	if q.HasLogprob {
		lp, hasLP = ufClamp01((q.MeanLogprob-ufLogprobMin)/ufLogprobScaled), 1
	}
	raw := [...]float64{
		1, // bias
		logLen, cr, q.RepeatedWords, q.RepeatedTrigrams, q.SymbolRatio,
		q.LetterRatio, q.VowelRatio, mwl, q.NonLetterTokens, lm,
		q.PromptContainment, q.PromptCoverage, q.SimOthers, q.SimOwn,
		q.LowerAfterEnd, q.StopWords, q.Upper, q.Digits, q.NonASCIILetters,
		q.Topicality, q.TopicCoverage, q.TopicChars, shared, lp, hasLP,
		q.MidCapitals,
	}
	var _ [ufDenseRaw - len(raw)]struct{} // the raw values fit
	for i, v := range raw {
		f.add(uint32(base+i), float32(v))
	}
	binned := [ufNumBinned]float64{
		ufClamp01(logLen), cr, q.RepeatedWords, q.RepeatedTrigrams, ufClamp01(q.SymbolRatio * 4),
		ufClamp01((q.VowelRatio - 0.1) * 2), mwl, lm, q.PromptContainment, q.PromptCoverage,
		q.SimOthers, q.StopWords * 2, q.NonASCIILetters, math.Sqrt(q.Topicality), math.Sqrt(q.TopicCoverage),
		math.Sqrt(q.TopicChars), shared, q.LowerAfterEnd, q.MidCapitals,
	}
	for i, v := range binned {
		f.add(uint32(base+ufBinnedAt+i*ufBins+ufBin(v, ufBins)), 1)
	}
	if q.HasLogprob {
		f.add(uint32(base+ufLogprobAt+ufBin(lp, ufLogprobBins)), 1)
	} else {
		f.add(uint32(base+ufLogprobNone), 1)
	}
}

// ufBin is the bin of v in [0,1] among n equal bins (v is clamped).
func ufBin(v float64, n int) int {
	return min(int(ufClamp01(v)*float64(n)), n-1)
}

// ufEnglishText is the package's own small English text for the default
// bigram model: plain prose of the kinds a miner is asked for (simple
// stories, explanations, instructions). Written for this package.
const ufEnglishText = `Once upon a time there was a little girl named Lily. She lived in a small house near the woods with her mother and her old brown dog. Every morning Lily went outside to look at the flowers. One day she found a tiny bird under a tree. The bird could not fly because its wing was hurt. Lily picked it up very gently and carried it home. Her mother gave her a box and some soft cloth, and together they made a warm bed for the bird. Lily fed it seeds and water for many days. At last the wing was strong again, and the bird flew up into the blue sky. Lily waved and smiled. She was happy because she had helped a friend.

Tom had a red ball. He liked to play with it in the park. One afternoon the ball rolled down the hill and into the pond. Tom was sad, but his sister Anna had an idea. She found a long stick and pulled the ball back to the grass. Tom said thank you and they played together until the sun went down.

The sky looks blue because the air scatters sunlight. Sunlight is made of many colours, and the short blue waves bounce off the tiny molecules of the air much more than the long red waves do. When you look up during the day, you see this scattered blue light coming from every direction. At sunset the light travels through more air before it reaches your eyes, so most of the blue is scattered away and the sky turns orange and red.

To make a cup of tea, first boil some fresh water. Put a tea bag or a spoon of loose leaves into a cup or a pot, then pour the hot water over it. Wait for three to five minutes, depending on how strong you like it. Remove the leaves, and add milk, sugar or lemon if you want. Drink it while it is warm, but be careful not to burn your mouth.

Plants need light, water and air to grow. Their green leaves take in energy from the sun and use it to turn water and carbon dioxide into sugar. This process is called photosynthesis, and it also releases the oxygen that animals breathe. The roots of a plant hold it in the ground and draw up water and minerals from the soil.

A good answer is clear, correct and kind. It explains the main idea first, gives an example when that helps, and does not repeat itself. If a question has a simple answer, say it plainly. If it needs steps, write them in order so that the reader can follow them one at a time. When you are not sure, it is better to say so than to guess.

The village market opened early on Saturday. Farmers brought apples, potatoes, cheese and fresh bread, and the children ran between the stalls looking for sweets. An old man played the fiddle near the fountain while people sang along. By noon the baskets were empty, the square was quiet, and everyone walked home with something good for dinner.

Why do cats purr? Scientists think that cats purr when they feel safe and content, but they also purr when they are hurt or afraid. The sound comes from quick movements of the muscles in the throat. Some people believe that the low vibration may even help bones and tissue heal. Whatever the reason, a purring cat on your lap is usually a sign of trust.

Water boils at one hundred degrees Celsius at sea level. High in the mountains the air pressure is lower, so water boils at a lower temperature, and food takes longer to cook. That is why climbers often use pressure cookers. In the same way, salt raises the boiling point of water a little, although not by enough to change how long pasta needs.`
