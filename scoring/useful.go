package scoring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sort"
	"sync"
)

// Evidence says where a training label comes from. p(useful) learns only
// from outcomes that say whether an answer was useful, which the validator
// obtained itself ([Evidence.Usefulness]); [Useful.Train] refuses the rest.
type Evidence uint8

// Kinds of evidence for a training label. The values are stable.
const (
	EvidenceNone       Evidence = iota // unverified (a miner's claim, an unchecked label): never trained on
	EvidenceTrap                       // a task whose right answer the validator knows
	EvidenceReference                  // pass or fail of a reference task
	EvidenceCopy                       // a confirmed copy: says who wrote the answer, not whether it is useful; not trained on
	EvidencePreference                 // chosen or rejected in a human preference pair whose labelers passed the quality checks
	EvidenceAudit                      // the validator operator's own audit
	// EvidenceVerification is the outcome of model verification: the
	// answer is (or is not) what the declared model sampled. That says
	// where the answer came from, not whether it is useful, so it is not
	// trained on (it once was, and p(useful) learnt the demo model's
	// style). The constant stays so that callers and logs keep their
	// meaning.
	EvidenceVerification
	EvidenceJudge // an LLM judge's verdict (llm.Judge), usually a probability
	ufEvidenceEnd
)

// Verified reports whether e is a known kind of evidence the validator
// obtained itself (anything but [EvidenceNone]).
func (e Evidence) Verified() bool { return e > EvidenceNone && e < ufEvidenceEnd }

// Usefulness reports whether e says whether an answer was useful, so that
// p(useful) may learn from it: traps, reference tasks, preferences, audits
// and the judge. Copies and model verification say who produced an
// answer, not whether it is useful.
func (e Evidence) Usefulness() bool {
	switch e {
	case EvidenceTrap, EvidenceReference, EvidencePreference, EvidenceAudit, EvidenceJudge:
		return true
	}
	return false
}

// String names the evidence kind for logs and metrics.
func (e Evidence) String() string {
	switch e {
	case EvidenceNone:
		return "none"
	case EvidenceTrap:
		return "trap"
	case EvidenceReference:
		return "reference"
	case EvidenceCopy:
		return "copy"
	case EvidencePreference:
		return "preference"
	case EvidenceAudit:
		return "audit"
	case EvidenceVerification:
		return "verification"
	case EvidenceJudge:
		return "judge"
	}
	return fmt.Sprintf("evidence(%d)", uint8(e))
}

// Errors returned by [Useful.Train]; they mean the example was not used, and
// are normal outcomes to count, not failures.
var (
	// ErrUnverifiedEvidence: the label is not a verified outcome.
	ErrUnverifiedEvidence = errors.New("scoring: p(useful): label is not a verified outcome")
	// ErrNotUsefulness: the evidence says who produced the answer (model
	// verification, a copy), not whether it is useful.
	ErrNotUsefulness = errors.New("scoring: p(useful): evidence is not a usefulness outcome (verification and copies say who produced an answer, not whether it is useful)")
	// ErrMinerCapped: the miner already contributed its cap this window.
	ErrMinerCapped = errors.New("scoring: p(useful): miner reached its training cap for this window")
	// ErrBadLabel: a probability label outside [0,1] or NaN.
	ErrBadLabel = errors.New("scoring: p(useful): label probability is not in [0,1]")
)

// UsefulConfig configures the p(useful) classifier.
type UsefulConfig struct {
	// Alpha, Beta, L1 and L2 are the FTRL-Proximal parameters (McMahan et
	// al. 2013): per-coordinate learning rate Alpha/(Beta+sqrt(sum g^2)),
	// L1 and L2 regularisation strengths. All >= 0, Alpha > 0.
	Alpha, Beta, L1, L2 float64
	// MaxPerMinerPerWindow caps how many examples produced by one miner are
	// trained on per window (see [Useful.SetWindow]); >= 1.
	MaxPerMinerPerWindow int
	// CalibrationWindow is how many recent (score, label) pairs, each scored
	// before the model trained on it, the Platt calibrator is fitted on;
	// 64..1<<20.
	CalibrationWindow int
	// CalibrationEvery refits the calibrator after this many accepted
	// examples; >= 1.
	CalibrationEvery int
}

// DefaultUsefulConfig returns parameters that work for the hashed text
// features of this package: Alpha 0.2, Beta 1, L1 0, L2 1, 64 examples per
// miner per window, calibration on the last 1024 examples refitted every 32.
func DefaultUsefulConfig() UsefulConfig {
	return UsefulConfig{
		Alpha: 0.2, Beta: 1, L1: 0, L2: 1,
		MaxPerMinerPerWindow: 64,
		CalibrationWindow:    1024,
		CalibrationEvery:     32,
	}
}

// Validate reports a clear error for an unusable configuration.
func (c UsefulConfig) Validate() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(c.Alpha) || c.Alpha <= 0:
		return fmt.Errorf("scoring: p(useful): Alpha = %v, want > 0", c.Alpha)
	case !finite(c.Beta) || c.Beta < 0, !finite(c.L1) || c.L1 < 0, !finite(c.L2) || c.L2 < 0:
		return fmt.Errorf("scoring: p(useful): Beta, L1, L2 = %v, %v, %v, want >= 0", c.Beta, c.L1, c.L2)
	case c.MaxPerMinerPerWindow < 1:
		return fmt.Errorf("scoring: p(useful): MaxPerMinerPerWindow = %d, want >= 1", c.MaxPerMinerPerWindow)
	case c.CalibrationWindow < 64 || c.CalibrationWindow > 1<<20:
		return fmt.Errorf("scoring: p(useful): CalibrationWindow = %d, want 64..%d", c.CalibrationWindow, 1<<20)
	case c.CalibrationEvery < 1:
		return fmt.Errorf("scoring: p(useful): CalibrationEvery = %d, want >= 1", c.CalibrationEvery)
	}
	return nil
}

// Useful is the p(useful) classifier: logistic regression over the features
// of a [FeatureExtractor] (the answer's text, its topicality to the prompt
// and the declared model's mean log-probability of it), trained online
// with FTRL-Proximal from usefulness outcomes only ([Evidence.Usefulness]:
// preferences, reference tasks, an LLM judge, audits; hard or soft
// labels), each miner capped per window, and calibrated with Platt scaling
// fitted on prequential scores (each example scored before the model
// learns from it, so the calibration data is always held out).
//
// It is safe for concurrent use: Predict takes a read lock, Train and
// UnmarshalBinary a write lock. The zero value is not ready; build one with
// [NewUseful] or call UnmarshalBinary on a new(Useful).
type Useful struct {
	mu  sync.RWMutex
	cfg UsefulConfig
	lm  *BigramLM
	fx  *FeatureExtractor

	z, n []float64 // FTRL state per coordinate
	w    []float32 // weights materialised from z and n

	platA, platB float64   // p = sigmoid(platA*margin + platB)
	calS         []float32 // ring of prequential margins
	calY         []uint8   // and their labels, probabilities in 255ths
	calPos       int       // next slot to write
	sinceFit     int
	trained      uint64

	window   uint64
	perMiner map[string]int

	// Train scratch, used under the write lock.
	acc     []float32
	stamp   []uint32
	gen     uint32
	touched []uint32

	fpool sync.Pool // *Features
}

// NewUseful returns an untrained classifier (it predicts 0.5 until trained)
// scoring text with lm (nil means [DefaultBigramLM]).
func NewUseful(cfg UsefulConfig, lm *BigramLM) (*Useful, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if lm == nil {
		lm = DefaultBigramLM()
	}
	u := &Useful{}
	u.reset(cfg, lm)
	return u, nil
}

func (u *Useful) reset(cfg UsefulConfig, lm *BigramLM) {
	u.cfg = cfg
	u.lm = lm
	u.fx = NewFeatureExtractor(lm)
	u.z = make([]float64, FeatureDims)
	u.n = make([]float64, FeatureDims)
	u.w = make([]float32, FeatureDims)
	u.platA, u.platB = 1, 0
	u.calS = make([]float32, 0, cfg.CalibrationWindow)
	u.calY = make([]uint8, 0, cfg.CalibrationWindow)
	u.calPos, u.sinceFit, u.trained = 0, 0, 0
	u.window = 0
	u.perMiner = make(map[string]int)
	u.acc, u.stamp, u.gen = nil, nil, 0 // allocated by the first learn
}

// Config returns the classifier's configuration.
func (u *Useful) Config() UsefulConfig {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.cfg
}

// Trained returns how many examples the model has learnt from.
func (u *Useful) Trained() uint64 {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.trained
}

// Extractor returns the feature extractor the classifier uses (for
// [FeatureExtractor.Quality] in logs and dashboards).
func (u *Useful) Extractor() *FeatureExtractor {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.fx
}

func (u *Useful) getFeatures() *Features {
	if f, ok := u.fpool.Get().(*Features); ok {
		return f
	}
	return &Features{}
}

// Predict returns p(useful) of in, a calibrated probability in [0,1]. It
// never panics, whatever the bytes, and does not allocate in the steady
// state.
func (u *Useful) Predict(in UsefulInput) float64 {
	u.mu.RLock()
	fx := u.fx
	u.mu.RUnlock()
	f := u.getFeatures()
	fx.Extract(in, f)
	u.mu.RLock()
	m := u.margin(f)
	p := ufSigmoid(u.platA*m + u.platB)
	u.mu.RUnlock()
	u.fpool.Put(f)
	return p
}

// PredictFeatures is Predict on features already extracted with this
// classifier's [Useful.Extractor].
func (u *Useful) PredictFeatures(f *Features) float64 {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return ufSigmoid(u.platA*u.margin(f) + u.platB)
}

// margin is the raw logit w·x; the caller holds the lock.
func (u *Useful) margin(f *Features) float64 {
	w := u.w
	var m float32
	val := f.Val[:len(f.Idx)]
	for i, ix := range f.Idx {
		if ix < uint32(len(w)) {
			m += w[ix] * val[i]
		}
	}
	return float64(m)
}

func ufSigmoid(x float64) float64 {
	switch {
	case x > 40:
		return 1
	case x < -40:
		return 0
	case math.IsNaN(x):
		return 0.5
	}
	return 1 / (1 + math.Exp(-x))
}

// SetWindow starts training window w (the caller's clock, e.g. the tempo
// number): when w differs from the current window, every miner's count of
// training examples restarts at zero.
func (u *Useful) SetWindow(w uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if w != u.window {
		u.window = w
		clear(u.perMiner)
	}
}

// Train learns one usefulness outcome: in was (useful = true) or was not
// useful, according to evidence ev, and it was produced by miner (its
// hotkey). It returns [ErrUnverifiedEvidence] for unverified labels,
// [ErrNotUsefulness] for evidence that does not say whether an answer is
// useful ([EvidenceVerification], [EvidenceCopy]), and [ErrMinerCapped]
// when miner already contributed MaxPerMinerPerWindow examples this
// window; in each case the model is unchanged.
func (u *Useful) Train(in UsefulInput, useful bool, miner string, ev Evidence) error {
	p := 0.0
	if useful {
		p = 1
	}
	return u.TrainProb(in, p, miner, ev)
}

// TrainProb is [Useful.Train] with a probability for a label: p is how
// likely in is useful according to ev, such as an LLM judge's p(yes)
// ([EvidenceJudge]); the model learns the log-loss against p (a soft
// label), which distils the judge into the classifier. It also returns
// [ErrBadLabel] when p is NaN or outside [0,1].
func (u *Useful) TrainProb(in UsefulInput, p float64, miner string, ev Evidence) error {
	if !ev.Verified() {
		return ErrUnverifiedEvidence
	}
	if !ev.Usefulness() {
		return ErrNotUsefulness
	}
	if !(p >= 0 && p <= 1) {
		return ErrBadLabel
	}
	u.mu.RLock()
	fx := u.fx
	capped := u.perMiner[miner] >= u.cfg.MaxPerMinerPerWindow
	u.mu.RUnlock()
	if capped { // reject a flood before spending time on its features
		return ErrMinerCapped
	}
	f := u.getFeatures()
	defer u.fpool.Put(f)
	fx.Extract(in, f)

	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fx != fx { // state replaced by UnmarshalBinary meanwhile
		u.fx.Extract(in, f)
	}
	if u.perMiner[miner] >= u.cfg.MaxPerMinerPerWindow {
		return ErrMinerCapped
	}
	u.perMiner[miner]++
	u.learn(f, ufLabel(p))
	return nil
}

// ufLabel quantises a probability label to a byte, 0..255, as the
// calibration ring stores it.
func ufLabel(p float64) uint8 { return uint8(math.Round(p * 255)) }

// learn applies one FTRL-Proximal step towards label y (a probability in
// 255ths); the caller holds the write lock.
func (u *Useful) learn(f *Features, y uint8) {
	// Merge repeated indices so each coordinate gets one update.
	if u.stamp == nil {
		u.acc = make([]float32, FeatureDims)
		u.stamp = make([]uint32, FeatureDims)
	}
	u.gen++
	if u.gen == 0 {
		clear(u.stamp)
		u.gen = 1
	}
	u.touched = u.touched[:0]
	for i, ix := range f.Idx {
		if ix >= FeatureDims {
			continue
		}
		if u.stamp[ix] != u.gen {
			u.stamp[ix] = u.gen
			u.acc[ix] = 0
			u.touched = append(u.touched, ix)
		}
		u.acc[ix] += f.Val[i]
	}
	var m float64
	for _, ix := range u.touched {
		m += float64(u.w[ix]) * float64(u.acc[ix])
	}
	u.observeCalibration(m, y)

	g := ufSigmoid(m) - float64(y)/255
	c := &u.cfg
	for _, ix := range u.touched {
		x := float64(u.acc[ix])
		if x == 0 {
			continue
		}
		gi := g * x
		ni := u.n[ix]
		sigma := (math.Sqrt(ni+gi*gi) - math.Sqrt(ni)) / c.Alpha
		u.z[ix] += gi - sigma*float64(u.w[ix])
		u.n[ix] = ni + gi*gi
		u.w[ix] = float32(ufFTRLWeight(u.z[ix], u.n[ix], c))
	}
	u.trained++
}

func ufFTRLWeight(z, n float64, c *UsefulConfig) float64 {
	if math.Abs(z) <= c.L1 {
		return 0
	}
	sz := c.L1
	if z < 0 {
		sz = -c.L1
	}
	return -(z - sz) / ((c.Beta+math.Sqrt(n))/c.Alpha + c.L2)
}

// observeCalibration records a prequential (margin, label) pair and refits
// the calibrator every CalibrationEvery pairs.
func (u *Useful) observeCalibration(m float64, y uint8) {
	if len(u.calS) < u.cfg.CalibrationWindow {
		u.calS = append(u.calS, float32(m))
		u.calY = append(u.calY, y)
	} else {
		u.calS[u.calPos] = float32(m)
		u.calY[u.calPos] = y
		u.calPos = (u.calPos + 1) % len(u.calS)
	}
	u.sinceFit++
	if u.sinceFit >= u.cfg.CalibrationEvery {
		u.sinceFit = 0
		u.platA, u.platB = ufFitPlatt(u.calS, u.calY, u.platA, u.platB)
	}
}

// ufFitPlatt fits p = sigmoid(a*s + b) to (s, y), y a probability in
// 255ths, by Newton's method with a backtracking line search on the
// log-loss with Platt's smoothed targets (Lin, Lin and Weng 2007), which
// soft labels scale: a label t becomes lo + t*(hi-lo), where the positive
// and negative counts are the sums of t and 1-t. It keeps a >= 0 (the
// calibrator never inverts the ranking) and returns (a0, b0) unchanged
// when there are fewer than 20 pairs or less than one example's worth of
// either class.
func ufFitPlatt(s []float32, y []uint8, a0, b0 float64) (float64, float64) {
	var pos, neg float64
	for _, v := range y {
		t := float64(v) / 255
		pos += t
		neg += 1 - t
	}
	if len(y) < 20 || pos < 1 || neg < 1 {
		return a0, b0
	}
	hi := (pos + 1) / (pos + 2)
	lo := 1 / (neg + 2)
	target := func(v uint8) float64 { return lo + float64(v)/255*(hi-lo) }
	loss := func(a, b float64) float64 {
		var l float64
		for i, sv := range s {
			z := a*float64(sv) + b
			t := target(y[i])
			// -t log σ(z) - (1-t) log(1-σ(z)) = softplus(z) - t z
			l += ufSoftplus(z) - t*z
		}
		return l
	}
	a, b := a0, b0
	if !(a >= 0) || math.IsInf(a, 0) || math.IsNaN(b) || math.IsInf(b, 0) {
		a, b = 1, 0
	}
	f := loss(a, b)
	for iter := 0; iter < 100; iter++ {
		var ga, gb, haa, hab, hbb float64
		for i, sv := range s {
			x := float64(sv)
			p := ufSigmoid(a*x + b)
			d := p - target(y[i])
			ga += d * x
			gb += d
			w := p * (1 - p)
			haa += w * x * x
			hab += w * x
			hbb += w
		}
		if math.Abs(ga) < 1e-6 && math.Abs(gb) < 1e-6 {
			break
		}
		haa += 1e-9
		hbb += 1e-9
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da := -(hbb*ga - hab*gb) / det
		db := -(haa*gb - hab*ga) / det
		step := 1.0
		improved := false
		for ; step >= 1e-8; step /= 2 {
			na, nb := a+step*da, b+step*db
			if na < 0 {
				na = 0
			}
			if nf := loss(na, nb); nf < f-1e-4*step*math.Abs(ga*da+gb*db) || nf < f {
				a, b, f = na, nb, nf
				improved = true
				break
			}
		}
		if !improved {
			break
		}
	}
	if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a0, b0
	}
	return a, b
}

func ufSoftplus(z float64) float64 {
	if z > 30 {
		return z
	}
	if z < -30 {
		return math.Exp(z)
	}
	return math.Log1p(math.Exp(z))
}

// Serialisation. The format is little-endian:
//
//	magic "AGUSEFUL" | u16 version | u32 dims | config | window, trained |
//	Platt a, b | bigram table | calibration ring (f32 margin, u8 label) |
//	per-miner counts | non-zero FTRL coordinates (u32 index, f64 z, f64 n) |
//	u32 CRC-32C
//
// The checksum covers every byte before it. Version 2 (this one) has the
// topicality and log-probability features (256 dense slots) and labels in
// 255ths (probabilities); version 1 learnt from model verification, and its
// weights mean nothing for the new features: it is refused with
// [ErrUsefulStateOutdated].
const (
	ufMagic   = "AGUSEFUL"
	ufVersion = 2
)

// ErrUsefulStateOutdated is wrapped by [Useful.UnmarshalBinary]'s error for
// a state of version 1: a classifier trained on model verification (the
// demo model's style, not usefulness) over an older feature set, which
// cannot be carried over. A caller starts a new classifier instead.
var ErrUsefulStateOutdated = errors.New("state is version 1, trained on model verification over older features; it cannot be carried over: start a new classifier")

var ufCRC = crc32.MakeTable(crc32.Castagnoli) // immutable after package init (a table)

// MarshalBinary encodes the whole trained state (weights, calibrator,
// per-miner counts of the current window, bigram model and configuration)
// in a versioned format ending with a CRC-32C checksum.
func (u *Useful) MarshalBinary() ([]byte, error) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.fx == nil {
		return nil, errors.New("scoring: p(useful): marshal: classifier not initialised")
	}
	nz := 0
	for i := range u.n {
		if u.n[i] != 0 || u.z[i] != 0 {
			nz++
		}
	}
	b := make([]byte, 0, 256+ufLMClasses*ufLMClasses*4+len(u.calS)*5+len(u.perMiner)*48+nz*20)
	b = append(b, ufMagic...)
	b = binary.LittleEndian.AppendUint16(b, ufVersion)
	b = binary.LittleEndian.AppendUint32(b, FeatureDims)
	c := u.cfg
	for _, x := range []float64{c.Alpha, c.Beta, c.L1, c.L2} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(c.MaxPerMinerPerWindow))
	b = binary.LittleEndian.AppendUint32(b, uint32(c.CalibrationWindow))
	b = binary.LittleEndian.AppendUint32(b, uint32(c.CalibrationEvery))
	b = binary.LittleEndian.AppendUint64(b, u.window)
	b = binary.LittleEndian.AppendUint64(b, u.trained)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(u.platA))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(u.platB))
	b = binary.LittleEndian.AppendUint32(b, uint32(u.sinceFit))
	for _, x := range u.lm.logp {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	// Calibration ring, oldest first.
	n := len(u.calS)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for k := 0; k < n; k++ {
		i := k
		if n == u.cfg.CalibrationWindow {
			i = (u.calPos + k) % n
		}
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(u.calS[i]))
		b = append(b, u.calY[i])
	}
	miners := make([]string, 0, len(u.perMiner))
	for m := range u.perMiner {
		miners = append(miners, m)
	}
	sort.Strings(miners)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(miners)))
	for _, m := range miners {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
		b = binary.LittleEndian.AppendUint32(b, uint32(u.perMiner[m]))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(nz))
	for i := range u.n {
		if u.n[i] != 0 || u.z[i] != 0 {
			b = binary.LittleEndian.AppendUint32(b, uint32(i))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(u.z[i]))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(u.n[i]))
		}
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, ufCRC))
	return b, nil
}

// ufReader reads little-endian values, remembering the first error.
type ufReader struct {
	b   []byte
	err error
}

func (r *ufReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errors.New("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *ufReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *ufReader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (r *ufReader) f64() float64 {
	x := math.Float64frombits(r.u64())
	if r.err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
		r.err = errors.New("non-finite number")
	}
	return x
}

func (r *ufReader) f32() float32 {
	x := math.Float32frombits(r.u32())
	if r.err == nil && (x != x || math.IsInf(float64(x), 0)) {
		r.err = errors.New("non-finite number")
	}
	return x
}

// count reads a u32 count of items of at least size bytes each and checks
// that the rest of the input can hold them.
func (r *ufReader) count(size int) int {
	n := r.u32()
	if r.err == nil && uint64(n)*uint64(size) > uint64(len(r.b)) {
		r.err = errors.New("count exceeds input")
		return 0
	}
	return int(n)
}

// UnmarshalBinary replaces the classifier's state with one encoded by
// MarshalBinary. A corrupt, truncated or foreign input is a clear error
// and leaves the classifier unchanged; it never panics.
func (u *Useful) UnmarshalBinary(data []byte) error {
	const pfx = "scoring: p(useful): unmarshal: "
	if len(data) < len(ufMagic)+2+4 {
		return errors.New(pfx + "input too short")
	}
	if string(data[:len(ufMagic)]) != ufMagic {
		return errors.New(pfx + "not a p(useful) model (bad magic)")
	}
	switch v := binary.LittleEndian.Uint16(data[len(ufMagic):]); v {
	case ufVersion:
	case 1:
		return fmt.Errorf(pfx+"%w", ErrUsefulStateOutdated)
	default:
		return fmt.Errorf(pfx+"unsupported version %d (want %d)", v, ufVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if got := crc32.Checksum(body, ufCRC); got != sum {
		return fmt.Errorf(pfx+"checksum mismatch (stored %08x, computed %08x): file is corrupt", sum, got)
	}
	r := &ufReader{b: body[len(ufMagic)+2:]}
	if d := r.u32(); r.err == nil && d != FeatureDims {
		return fmt.Errorf(pfx+"feature dimension %d, this build uses %d", d, FeatureDims)
	}
	var c UsefulConfig
	c.Alpha, c.Beta, c.L1, c.L2 = r.f64(), r.f64(), r.f64(), r.f64()
	c.MaxPerMinerPerWindow = int(r.u32())
	c.CalibrationWindow = int(r.u32())
	c.CalibrationEvery = int(r.u32())
	if r.err != nil {
		return fmt.Errorf(pfx+"config: %v", r.err)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf(pfx+"config: %w", err)
	}
	window, trained := r.u64(), r.u64()
	platA, platB := r.f64(), r.f64()
	sinceFit := int(r.u32())
	lm := new(BigramLM)
	for i := range lm.logp {
		lm.logp[i] = r.f32()
	}
	if r.err != nil {
		return fmt.Errorf(pfx+"header: %v", r.err)
	}
	if platA < 0 || sinceFit < 0 || sinceFit > c.CalibrationEvery {
		return errors.New(pfx + "invalid calibrator state")
	}

	nu := &Useful{}
	nu.reset(c, lm)
	nu.window, nu.trained, nu.platA, nu.platB, nu.sinceFit = window, trained, platA, platB, sinceFit
	nc := r.count(5)
	if r.err == nil && nc > c.CalibrationWindow {
		return fmt.Errorf(pfx+"calibration ring of %d > window %d", nc, c.CalibrationWindow)
	}
	for k := 0; k < nc && r.err == nil; k++ {
		s := r.f32()
		lb := r.take(1)
		if r.err != nil {
			break
		}
		nu.calS = append(nu.calS, s)
		nu.calY = append(nu.calY, lb[0])
	}
	nm := r.count(8)
	for k := 0; k < nm && r.err == nil; k++ {
		l := r.count(1)
		name := string(r.take(l))
		cnt := r.u32()
		if r.err == nil {
			if _, dup := nu.perMiner[name]; dup {
				return errors.New(pfx + "duplicate miner in counts")
			}
			nu.perMiner[name] = int(min(cnt, uint32(c.MaxPerMinerPerWindow)))
		}
	}
	nz := r.count(20)
	prev := -1
	for k := 0; k < nz && r.err == nil; k++ {
		ix := int(r.u32())
		z, n := r.f64(), r.f64()
		if r.err != nil {
			break
		}
		if ix >= FeatureDims || ix <= prev {
			return fmt.Errorf(pfx+"weight index %d out of order or range", ix)
		}
		if n < 0 {
			return fmt.Errorf(pfx+"negative gradient sum at %d", ix)
		}
		prev = ix
		nu.z[ix], nu.n[ix] = z, n
		nu.w[ix] = float32(ufFTRLWeight(z, n, &c))
	}
	if r.err != nil {
		return fmt.Errorf(pfx+"%v", r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf(pfx+"%d trailing bytes", len(r.b))
	}

	u.mu.Lock()
	defer u.mu.Unlock()
	u.cfg, u.lm, u.fx = nu.cfg, nu.lm, nu.fx
	u.z, u.n, u.w = nu.z, nu.n, nu.w
	u.platA, u.platB = nu.platA, nu.platB
	u.calS, u.calY, u.calPos, u.sinceFit, u.trained = nu.calS, nu.calY, 0, nu.sinceFit, nu.trained
	u.window, u.perMiner = nu.window, nu.perMiner
	u.acc, u.stamp, u.gen, u.touched = nu.acc, nu.stamp, 0, nil
	return nil
}
