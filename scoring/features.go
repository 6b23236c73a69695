package scoring

import (
	"math"
	"sync"
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
	FeatureDense = 128
	// FeatureDims is the dimension of a feature vector.
	FeatureDims = FeatureBuckets + FeatureDense
)

// ufMaxFeatureBytes caps the bytes of a response that feed character
// n-grams and the bigram model; longer responses are judged on a prefix.
const ufMaxFeatureBytes = 8 << 10

// UsefulInput is one response to score with p(useful), with the context the
// caller has about it. Similarities are in [0,1] (1 = identical), for
// example 1 - Hamming(SimHash)/64 of the nearest earlier answer; use 0 when
// nothing similar is known. Values outside [0,1] are clamped.
type UsefulInput struct {
	Prompt   string // the prompt the miner answered
	Response string // the miner's answer
	// SimOthers is the highest similarity of Response to recent answers of
	// other miners (to the same or other prompts).
	SimOthers float64
	// SimOwn is the highest similarity of Response to the same miner's own
	// earlier answers to other prompts.
	SimOwn float64
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
// signed-hashed character 3-, 4- and 5-grams and word 1- and 2-grams in
// [FeatureBuckets] buckets, each group scaled to unit norm, plus dense
// quality features (raw and binned). It keeps a pool of scratch buffers and
// is safe for concurrent use. Extraction is deterministic: the same input
// always gives the same vector.
type FeatureExtractor struct {
	lm   *BigramLM
	pool sync.Pool // *ufScratch
}

// NewFeatureExtractor returns an extractor scoring text with lm (nil means
// [DefaultBigramLM]).
func NewFeatureExtractor(lm *BigramLM) *FeatureExtractor {
	if lm == nil {
		lm = DefaultBigramLM()
	}
	return &FeatureExtractor{lm: lm}
}

func (fx *FeatureExtractor) getScratch() *ufScratch {
	if s, ok := fx.pool.Get().(*ufScratch); ok {
		return s
	}
	return new(ufScratch)
}

// Quality computes the dense quality features of in. It never panics,
// whatever the bytes.
func (fx *FeatureExtractor) Quality(in UsefulInput) Quality {
	s := fx.getScratch()
	defer fx.pool.Put(s)
	return fx.quality(in, s)
}

func (fx *FeatureExtractor) quality(in UsefulInput, s *ufScratch) Quality {
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
		RepeatedWords:     s.repeatedNgramFraction(s.words, 1),
		RepeatedTrigrams:  s.repeatedNgramFraction(s.words, 3),
		PromptContainment: s.containment(s.words, s.pwords),
	}
	q.CompressionRatio = s.lzRatio(in.Response)
	q.BigramScore, _ = fx.lm.Score(in.Response)
	s.pwords = ufWordHashesMin(s.pwords[:0], in.Prompt, ufMaxWords, 4)
	q.PromptCoverage = s.coverage(s.words, s.pwords)
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

func (fx *FeatureExtractor) extract(in UsefulInput, f *Features, s *ufScratch) {
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

// Dense layout: slot 0 is the bias; slots 1..ufDenseRaw are the raw
// quality values scaled to about [0,1]; then ufBins one-hot bins for each
// binned feature.
const (
	ufDenseRaw  = 19
	ufBins      = 8
	ufBinnedAt  = 24
	ufNumBinned = 12
)

func ufAppendDense(f *Features, q *Quality) {
	const base = FeatureBuckets
	logLen := math.Log1p(float64(q.Runes)) / 8 // 1 at about 3000 runes
	cr := ufClamp01((q.CompressionRatio - 1) / 3)
	lm := ufClamp01((q.BigramScore + 6) / 4) // -6 bits -> 0, -2 bits -> 1
	mwl := ufClamp01(q.MeanWordLen / 12)
	raw := [ufDenseRaw]float64{
		1, // bias
		logLen, cr, q.RepeatedWords, q.RepeatedTrigrams, q.SymbolRatio,
		q.LetterRatio, q.VowelRatio, mwl, q.NonLetterTokens, lm,
		q.PromptContainment, q.PromptCoverage, q.SimOthers, q.SimOwn,
		q.LowerAfterEnd, q.StopWords, q.Upper, q.Digits,
	}
	for i, v := range raw {
		f.add(uint32(base+i), float32(v))
	}
	binned := [ufNumBinned]float64{
		ufClamp01(logLen), cr, q.RepeatedWords, q.RepeatedTrigrams, ufClamp01(q.SymbolRatio * 4),
		ufClamp01((q.VowelRatio - 0.1) * 2), mwl, lm, q.PromptContainment, q.PromptCoverage,
		q.SimOthers, q.StopWords * 2,
	}
	for i, v := range binned {
		bin := int(ufClamp01(v) * ufBins)
		if bin >= ufBins {
			bin = ufBins - 1
		}
		f.add(uint32(base+ufBinnedAt+i*ufBins+bin), 1)
	}
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
