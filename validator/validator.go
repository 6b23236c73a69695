package validator

import (
	"context"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/protocol"
	"github.com/seed0ffb8d46/agora/scoring"
)

// Task kinds, the keys of the scores' moving averages.
const (
	KindInference = "inference" // story prompts: verified, judged for usefulness
	KindReference = "reference" // tasks with known answers
	// KindRedundancy sends one prompt at temperature 0 with one seed to
	// every miner sampled: miners running the declared model agree, and
	// the answers outside the majority score 0. It checks miners whose
	// model the validator cannot run itself.
	KindRedundancy = "redundancy"
)

// Metagraph is the validator's view of its subnet. *chainclient.MetagraphCache
// is one.
type Metagraph interface {
	Snapshot() (view *chain.MetagraphView, height int64, ok bool)
}

// Chain is what the validator sends and asks: *chainclient.Client is one.
type Chain interface {
	SendTx(ctx context.Context, key *keys.PrivateKey, body chain.Body) (*chainclient.Result, error)
	Query(ctx context.Context, path string, out any) (int64, error)
}

// Config configures a Validator. Key, Netuid, Metagraph, Chain and
// StatePath are required; zero values elsewhere take the defaults noted.
type Config struct {
	Key       *keys.PrivateKey
	Netuid    uint16
	Metagraph Metagraph
	Chain     Chain
	// StatePath is the file holding scores, the classifier and a pending
	// commit; it is loaded before anything is saved.
	StatePath string

	// Verifier, when set, is a model the validator runs itself; miners
	// declaring VerifyModel have their tokens checked against it.
	Verifier    scoring.TokenModel
	VerifyModel string
	// VerifyOptions tune the check (tolerance, positions).
	VerifyOptions scoring.VerifyOptions

	// SampleSize is how many miners each step queries; default 8.
	SampleSize int
	// StepInterval is the time between steps; default 5s.
	StepInterval time.Duration
	// QueryTimeout is the whole deadline of one miner's answer; default 10s.
	QueryTimeout time.Duration
	// MaxTokens is the completion length asked for; default 64, so that
	// answers are long enough to tell a copy from chance (minCopyChars).
	MaxTokens int
	// ReferenceShare is the fraction of steps that send a reference task
	// instead of a story prompt, in [0, 1].
	ReferenceShare float64
	// RedundancyShare is the fraction of steps that send a redundancy
	// task, in [0, 1-ReferenceShare].
	RedundancyShare float64
	// PreferenceShare is the fraction of steps that send preference tasks
	// (pairs of completions for human labelers, some of them traps) to the
	// miners sampled; the shares add up to at most 1. Labels are collected
	// from the miners sampled at every step.
	PreferenceShare float64
	// DatasetDir, when set, receives the labels accepted from good
	// labelers (DatasetLabels, DatasetTasks) for `agora labels export`.
	DatasetDir string
	// DatasetEvery, when positive (and DatasetDir set), exports the
	// dataset under DatasetDir/exports every that many epochs once it has
	// grown, and commits the export's Merkle root on chain.
	DatasetEvery int
	// Alpha is the moving average's weight of a new score; default 0.1.
	Alpha float64
	// KindWeights weigh the task kinds in the combined score; default
	// inference 0.55, reference 0.2, redundancy 0.1 (a copier passes
	// redundancy tasks, whose honest answers are identical), preference
	// 0.15, each only if its share of steps is above 0 (a kind never sent
	// is not weighed).
	KindWeights map[string]float64
	// WeightsInterval is how many blocks apart weights are set, at least
	// the subnet's weights_rate_limit; default that limit.
	WeightsInterval int64

	HTTPClient *http.Client
	// AllowPrivateAxons lets the default HTTPClient reach axons on
	// loopback, private and link-local addresses: for a local network
	// (agora localnet) or a subnet on one private network. Off, it
	// refuses them (see publicOnly).
	AllowPrivateAxons bool
	Registry          *prometheus.Registry
	Logger            *zap.Logger
	// Seed seeds task and sample choice; 0 draws one at random.
	Seed uint64
}

// Validator queries miners, scores their answers and sets weights.
type Validator struct {
	cfg     Config
	log     *zap.Logger
	metrics *metrics
	signer  *protocol.Signer
	rules   *scoring.RuleChecker
	copies  *scoring.CopyIndex
	useful  *scoring.Useful
	rng     *rand.Rand
	// verifyKey keys the positions token verification checks: they come
	// from a hash of this secret (from crypto/rand, whatever Config.Seed)
	// and the request's seed, which the miner sees.
	verifyKey [32]byte
	self      string // the hotkey, as the chain's views spell it

	weightsMu   sync.Mutex // one weights transaction at a time
	committedAt time.Time  // when the pending commit was sent, or loaded at start
	mu          sync.Mutex // guards st, queried, reasons and updated
	st          *state
	queried     map[string]uint64     // hotkey → step last queried
	reasons     map[string]*reasonLog // hotkey → why its answers scored as they did
	updated     time.Time
	recent      []completion // good answers, for preference tasks

	dataset *dataset // nil without DatasetDir
}

// reasonLog is why a miner's answers scored as they did, for /scores.
type reasonLog struct {
	last   string
	counts map[string]uint64
}

// defaultHTTPClient is the client a validator queries miners with unless
// Config.HTTPClient says otherwise.
func defaultHTTPClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		dialer.Control = publicOnly
	}
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute, DialContext: dialer.DialContext},
		// A miner's redirect is its answer, not a place to send a signed
		// request to: following one (a 307 re-sends the POST) would let a
		// miner aim the validator at hosts on its network.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// verifySeed is the seed of the positions token verification checks in an
// answer to a request with seed: keyed by the validator's secret, so the
// miner cannot tell them from the seed it was sent.
func (v *Validator) verifySeed(seed uint64) uint64 {
	h := sha256.New()
	h.Write(v.verifyKey[:])
	_ = binary.Write(h, binary.BigEndian, seed)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// publicOnly refuses to connect to an address that is not a public
// unicast one: loopback, private (RFC 1918, RFC 4193), link-local (where
// cloud metadata services answer), unspecified or multicast. Axon
// addresses come from the chain, where any miner writes its own, so
// without it a miner could aim the validator's signed requests at hosts
// on the validator's network. It runs on the resolved address, at connect
// time.
func publicOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if !publicAddr(ip) {
		return fmt.Errorf("axon address %s is not a public one (set the validator's allow_private_axons for a local network)", ip)
	}
	return nil
}

// embedsIPv4 are IPv6 prefixes whose addresses carry an IPv4 address in
// their last 32 bits (NAT64, the deprecated IPv4-compatible form), which a
// gateway may deliver to that IPv4 address; 6to4 (2002::/16) carries it in
// bits 16-47.
var embedsIPv4 = []netip.Prefix{
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("::/96"),
}

// notPublic are special-purpose ranges that IsGlobalUnicast and IsPrivate
// let through: shared address space (carrier NAT, and some clouds'
// metadata services at 100.100.100.200), "this network", IETF protocol
// assignments, benchmarking, reserved, and IPv6 site-local.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("fec0::/10"),
}

// publicAddr reports whether ip is a public unicast address, looking
// through the IPv6 forms that embed an IPv4 one.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is6() {
		b := ip.As16()
		for _, p := range embedsIPv4 {
			if p.Contains(ip) {
				return publicAddr(netip.AddrFrom4([4]byte(b[12:16])))
			}
		}
		if b[0] == 0x20 && b[1] == 0x02 { // 6to4
			return publicAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false // loopback, link-local, multicast, unspecified, RFC 1918, ULA
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// New loads the state at cfg.StatePath (or starts afresh if there is none)
// and returns a Validator. A state file that cannot be read is an error:
// starting over would set degraded weights.
func New(cfg Config) (*Validator, error) {
	switch {
	case cfg.Key == nil:
		return nil, errors.New("validator: no hotkey")
	case cfg.Metagraph == nil || cfg.Chain == nil:
		return nil, errors.New("validator: no chain")
	case cfg.StatePath == "":
		return nil, errors.New("validator: no state path")
	case cfg.ReferenceShare < 0 || cfg.RedundancyShare < 0 || cfg.PreferenceShare < 0 || cfg.ReferenceShare+cfg.RedundancyShare+cfg.PreferenceShare > 1:
		return nil, fmt.Errorf("validator: reference share %v, redundancy share %v and preference share %v must be at least 0 and add up to at most 1", cfg.ReferenceShare, cfg.RedundancyShare, cfg.PreferenceShare)
	}
	if cfg.SampleSize <= 0 {
		cfg.SampleSize = 8
	}
	if cfg.StepInterval <= 0 {
		cfg.StepInterval = 5 * time.Second
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 10 * time.Second
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 64
	}
	if cfg.Alpha <= 0 || cfg.Alpha > 1 {
		cfg.Alpha = 0.1
	}
	if cfg.KindWeights == nil {
		// A kind the validator never sends is not weighed: it would be a
		// row of zeros (a uid that does not serve scores 0 in every
		// weighed kind) that lowers everyone's combined score alike and
		// shows as a score of 0 for every miner.
		shares := map[string]float64{
			KindInference:  1 - cfg.ReferenceShare - cfg.RedundancyShare - cfg.PreferenceShare,
			KindReference:  cfg.ReferenceShare,
			KindRedundancy: cfg.RedundancyShare,
			KindPreference: cfg.PreferenceShare,
		}
		cfg.KindWeights = map[string]float64{}
		for k, w := range map[string]float64{KindInference: 0.55, KindReference: 0.2, KindRedundancy: 0.1, KindPreference: 0.15} {
			if shares[k] > 1e-9 {
				cfg.KindWeights[k] = w
			}
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient(cfg.AllowPrivateAxons)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	rules, err := scoring.NewRuleChecker(scoring.DefaultRules())
	if err != nil {
		return nil, err
	}
	copies, err := scoring.NewCopyIndex(scoring.DefaultCopyConfig())
	if err != nil {
		return nil, err
	}
	v := &Validator{
		cfg:     cfg,
		log:     cfg.Logger.With(zap.String("component", "validator"), zap.String("hotkey", cfg.Key.Address()), zap.Uint16("netuid", cfg.Netuid)),
		metrics: newMetrics(cfg.Registry),
		signer:  &protocol.Signer{Key: cfg.Key},
		rules:   rules,
		copies:  copies,
		rng:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0xa5a5)),
		self:    chain.AccountID(cfg.Key.PublicKey()).String(),
		queried: map[string]uint64{},
		reasons: map[string]*reasonLog{},
	}
	if _, err := cryptorand.Read(v.verifyKey[:]); err != nil {
		copies.Close()
		return nil, fmt.Errorf("validator: %w", err)
	}
	st, err := loadState(cfg.StatePath)
	if err != nil {
		copies.Close()
		return nil, err
	}
	if st == nil {
		st = &state{Version: stateVersion, Netuid: cfg.Netuid, Hotkey: cfg.Key.Address(), Scores: scoring.NewScores(cfg.Alpha)}
	} else if st.Netuid != cfg.Netuid || st.Hotkey != cfg.Key.Address() {
		copies.Close()
		return nil, fmt.Errorf("validator: state %s is for hotkey %s on subnet %d, not %s on %d", cfg.StatePath, st.Hotkey, st.Netuid, cfg.Key.Address(), cfg.Netuid)
	}
	v.useful, err = scoring.NewUseful(scoring.DefaultUsefulConfig(), nil)
	if err != nil {
		copies.Close()
		return nil, err
	}
	if len(st.Useful) > 0 {
		if err := v.useful.UnmarshalBinary(st.Useful); err != nil {
			copies.Close()
			return nil, fmt.Errorf("validator: state %s: classifier: %w", cfg.StatePath, err)
		}
	}
	v.st = st
	if st.Pending != nil {
		// When the commit was sent is not known: it may have been just
		// before the restart, and still be in the mempool.
		v.committedAt = time.Now()
	}
	if cfg.DatasetDir != "" {
		if v.dataset, err = openDataset(cfg.DatasetDir); err != nil {
			copies.Close()
			return nil, err
		}
	}
	return v, nil
}

// Close releases the copy index and closes the dataset.
func (v *Validator) Close() {
	v.copies.Close()
	if v.dataset != nil {
		if err := v.dataset.close(); err != nil {
			v.log.Warn("close dataset", zap.Error(err))
		}
	}
}

// Scores returns a copy of the combined score of each uid and the hotkeys
// they belong to.
func (v *Validator) Scores() (hotkeys []string, combined []float64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.st.Scores.Hotkeys), v.st.Scores.Combined(v.cfg.KindWeights)
}

// Report is the validator's scores in the form the dashboard reads
// (GET /scores).
func (v *Validator) Report() api.ValidatorScores {
	v.mu.Lock()
	defer v.mu.Unlock()
	sc := v.st.Scores
	combined := sc.Combined(v.cfg.KindWeights)
	r := api.ValidatorScores{Hotkey: v.self, UID: -1, Scores: []api.UIDScore{}, Updated: v.updated}
	for uid, hk := range sc.Hotkeys {
		if hk == v.self {
			r.UID = uid
		}
		if sc.Count[uid] == 0 {
			continue
		}
		u := api.UIDScore{UID: uint16(uid), Hotkey: hk, Score: combined[uid], ByKind: map[string]float64{}}
		for kind, row := range sc.Kinds {
			if v.cfg.KindWeights[kind] > 0 { // a kind not weighed does not count: not shown
				u.ByKind[kind] = row[uid]
			}
		}
		if rl := v.reasons[hk]; rl != nil {
			u.LastReason, u.Reasons = rl.last, maps.Clone(rl.counts)
		}
		r.Scores = append(r.Scores, u)
	}
	return r
}

// Run steps every StepInterval until ctx is cancelled, then returns nil.
// A step that fails is logged and the next one runs.
//
// Beside the steps, it checks every second whether weights are due or a
// commit is to be revealed, so that a reveal lands in its epoch even when a
// step is slow.
func (v *Validator) Run(ctx context.Context) error {
	t := time.NewTicker(v.cfg.StepInterval)
	defer t.Stop()
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if view, height, ok := v.cfg.Metagraph.Snapshot(); ok {
				if uid := v.selfUID(view); uid >= 0 {
					v.weights(ctx, view, height, uint16(uid))
				}
			}
		}
	}()
	for {
		if err := v.Step(ctx); err != nil && ctx.Err() == nil {
			v.log.Warn("step", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// target is a miner to query.
type target struct {
	uid    uint16
	hotkey keys.PublicKey
	url    string
}

// Step runs one round: it realigns the scores with the metagraph, queries a
// sample of serving miners with one task, scores their answers, saves the
// state, and sets (or commits, or reveals) weights when they are due.
func (v *Validator) Step(ctx context.Context) error {
	view, height, ok := v.cfg.Metagraph.Snapshot()
	if !ok {
		return errors.New("validator: no metagraph yet")
	}
	began := time.Now()
	defer func() { v.metrics.steps.Observe(time.Since(began).Seconds()) }()

	hotkeys := make([]string, len(view.Neurons))
	selfUID := -1
	var serving []target
	var absent []int // uids that cannot be queried: they earn nothing
	for i, n := range view.Neurons {
		hotkeys[i] = n.Hotkey
		if n.Hotkey == v.self {
			selfUID = i
			continue
		}
		raw, err := hex.DecodeString(n.Hotkey)
		if n.Axon == nil || n.Axon.Protocol != 0 || err != nil || len(raw) != keys.PublicKeySize {
			absent = append(absent, i)
			continue
		}
		serving = append(serving, target{uid: n.UID, hotkey: keys.PublicKey(raw), url: "http://" + n.Axon.Addr})
	}
	if tempo := int64(view.Subnet.Params.Tempo); tempo > 0 {
		v.useful.SetWindow(uint64(height / tempo)) // each miner's training cap is per epoch
	}
	v.mu.Lock()
	v.st.Scores.Realign(hotkeys)
	step := v.st.Steps
	v.st.Steps++
	// Least recently queried first, ties in random order: every miner is
	// queried in turn, whatever the sample size.
	v.rng.Shuffle(len(serving), func(i, j int) { serving[i], serving[j] = serving[j], serving[i] })
	slices.SortStableFunc(serving, func(a, b target) int {
		qa, qb := v.queried[a.hotkey.Hex()], v.queried[b.hotkey.Hex()]
		return cmpU64(qa, qb)
	})
	sample := serving[:min(len(serving), v.cfg.SampleSize)]
	for _, t := range sample {
		v.queried[t.hotkey.Hex()] = step + 1
	}
	seed := v.rng.Uint64() >> 1 // OpenAI's seed is a signed 64-bit integer
	kind := KindInference
	switch x := v.rng.Float64(); {
	case x < v.cfg.ReferenceShare:
		kind = KindReference
	case x < v.cfg.ReferenceShare+v.cfg.RedundancyShare:
		kind = KindRedundancy
	case x < v.cfg.ReferenceShare+v.cfg.RedundancyShare+v.cfg.PreferenceShare:
		kind = KindPreference
	}
	v.mu.Unlock()

	if len(sample) > 0 {
		if kind == KindPreference {
			v.sendPreference(ctx, sample)
		} else {
			v.round(ctx, sample, seed, kind)
		}
		v.collectPreference(ctx, sample)
	}
	if ctx.Err() == nil {
		// A uid that does not serve scores 0 each step, in every kind, as
		// failed queries would: otherwise a miner could build a score,
		// withdraw its axon and keep its weight without serving anyone.
		// Only a step that ran to its end counts.
		v.mu.Lock()
		for _, uid := range absent {
			for k := range v.cfg.KindWeights {
				_ = v.st.Scores.Update(k, uid, 0)
			}
		}
		v.mu.Unlock()
	}
	// What the step scored before any shutdown is saved; what shutdown
	// cut short was never scored (see round).
	if err := v.save(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if selfUID >= 0 {
		v.weights(ctx, view, height, uint16(selfUID))
		v.publishDataset(ctx, view, uint16(selfUID))
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// round sends one task to every miner in sample at once and scores the
// answers.
//
// Work that the validator's own shutdown (ctx cancelled) cuts short is
// discarded, never scored: a round whose queries were still out when ctx
// ended scores nobody (a redundancy majority, and the order of copies,
// need every answer), and once ctx has ended no further answer is scored,
// nor the one whose verification it interrupted. A miner that misses its
// own deadline (QueryTimeout) while ctx lives still scores 0 (timeout).
func (v *Validator) round(ctx context.Context, sample []target, seed uint64, kind string) {
	var ref scoring.RefTask
	prompt := scoring.StoryPrompt(seed)
	if kind == KindReference {
		var err error
		if ref, err = scoring.RandomRefTask(seed); err != nil {
			v.log.Error("reference task", zap.Error(err))
			return
		}
		prompt = ref.Prompt
	}
	answers := make([]answer, len(sample))
	var wg sync.WaitGroup
	for i, t := range sample {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := api.CompletionRequest{Prompt: prompt, MaxTokens: v.cfg.MaxTokens, Logprobs: 0, TokenIDs: true}
			switch kind {
			case KindInference:
				// A seed per miner: honest miners on one model answer
				// differently, so an identical answer is a copy.
				req.Temperature, req.TopP, req.Seed = 0.8, 0.9, (seed+uint64(t.uid))&math.MaxInt64
			case KindRedundancy:
				req.Seed = seed // temperature 0: one model, one answer
			}
			qctx, cancel := context.WithTimeout(ctx, v.cfg.QueryTimeout)
			defer cancel()
			answers[i] = query(qctx, v.cfg.HTTPClient, v.signer, t.url, t.hotkey, req)
			answers[i].UID = t.uid
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		v.log.Debug("round cut short by shutdown; its answers are not scored", zap.String("kind", kind), zap.Int("miners", len(sample)))
		return
	}
	// Earliest received answer first, so the first of identical answers
	// keeps the credit.
	slices.SortStableFunc(answers, func(a, b answer) int {
		return cmpU64(uint64(a.ReceivedAtMs), uint64(b.ReceivedAtMs))
	})
	var outlier []bool
	if kind == KindRedundancy {
		outlier = v.outliers(prompt, answers)
	}
	for i, a := range answers {
		if ctx.Err() != nil || a.Reason == reasonCancelled {
			v.log.Debug("round cut short by shutdown; the answers left are not scored", zap.String("kind", kind), zap.Int("left", len(answers)-i))
			return
		}
		var score float64
		var reason string
		switch kind {
		case KindReference:
			score, reason = v.scoreReference(ref, a)
		case KindRedundancy:
			score, reason = v.scoreOpen(ctx, prompt, seed+uint64(a.UID), a, false, outlier[i])
		default:
			score, reason = v.scoreOpen(ctx, prompt, seed+uint64(a.UID), a, true, false)
			if reason == "scored" {
				v.remember(completion{Prompt: prompt, Text: a.Text, Model: fmt.Sprintf("%s@uid%d", a.Model, a.UID)})
			}
		}
		if reason == reasonCancelled {
			v.log.Debug("round cut short by shutdown; the answers left are not scored", zap.String("kind", kind), zap.Int("left", len(answers)-i))
			return
		}
		result := "ok"
		if a.Err != nil {
			result = a.Reason
		}
		v.metrics.queries.WithLabelValues(result).Inc()
		if a.Err == nil {
			v.metrics.latency.Observe(a.Latency.Seconds())
		}
		v.metrics.scores.WithLabelValues(kind, reason).Inc()
		v.mu.Lock()
		err := v.st.Scores.Update(kind, int(a.UID), score)
		hk := a.Hotkey.Hex()
		rl := v.reasons[hk]
		if rl == nil {
			rl = &reasonLog{counts: map[string]uint64{}}
			v.reasons[hk] = rl
		}
		rl.last = kind + ": " + reason
		rl.counts[reason]++
		v.updated = time.Now()
		v.mu.Unlock()
		if err != nil {
			v.log.Warn("score", zap.Uint16("uid", a.UID), zap.Error(err))
		}
		v.log.Debug("scored", zap.Uint16("uid", a.UID), zap.String("kind", kind), zap.Float64("score", score), zap.String("reason", reason), zap.Duration("latency", a.Latency), zap.NamedError("query_error", a.Err))
	}
}

// latencyScore is 1 for an instant answer, falling linearly to 0 at the
// query deadline.
func (v *Validator) latencyScore(a answer) float64 {
	return max(0, 1-a.Latency.Seconds()/v.cfg.QueryTimeout.Seconds())
}

// scoreReference scores an answer to a task with a known answer: the
// answer's correctness, with a tenth for speed. Identical correct answers
// are expected here, so no copy check.
func (v *Validator) scoreReference(t scoring.RefTask, a answer) (float64, string) {
	if a.Err != nil {
		return 0, a.Reason
	}
	r := t.Check(a.Text)
	if !r.Correct {
		return 0, "wrong_" + r.Reason
	}
	return r.Score * (0.9 + 0.1*v.latencyScore(a)), "scored"
}

// outliers flags the answers to a redundancy task outside the majority of
// those that passed the hard rules.
func (v *Validator) outliers(prompt string, answers []answer) []bool {
	out := make([]bool, len(answers))
	var texts []string
	var idx []int
	for i, a := range answers {
		if a.Err == nil && v.rules.Check(prompt, a.Text).OK() {
			texts, idx = append(texts, a.Text), append(idx, i)
		}
	}
	for j, o := range scoring.Outliers(texts, scoring.OutlierOptions{Exact: true}) {
		out[idx[j]] = o
	}
	return out
}

// minCopyChars is the shortest answer judged a copy. Honest miners with
// different seeds give identical short continuations by chance: the demo's
// model (a character-level vocabulary) did for 16 of 840 pairs of 24
// tokens and 4 of 840 of 32, none of 48 or more, whose SimHashes were all
// at least 8 bits apart (a copy is within 3).
const minCopyChars = 64

// scoreOpen scores an answer to a story prompt: hard rules, copies (when
// copies is set: not for redundancy tasks, whose honest answers agree; and
// only for answers of minCopyChars or more),
// the redundancy majority, model verification, then p(useful) with a
// fifth for speed.
func (v *Validator) scoreOpen(ctx context.Context, prompt string, seed uint64, a answer, copies, outlier bool) (float64, string) {
	if a.Err != nil {
		return 0, a.Reason
	}
	in := scoring.UsefulInput{Prompt: prompt, Response: a.Text}
	if verdict := v.rules.Check(prompt, a.Text); !verdict.OK() {
		v.train(in, false, a, scoring.EvidenceVerification)
		return 0, "rule_" + string(verdict.Reason)
	}
	if outlier {
		return 0, "outlier"
	}
	if copies && utf8.RuneCountInString(a.Text) >= minCopyChars {
		c := v.copies.Check(scoring.CopyEntry{SimHash: scoring.SimHash(a.Text), Miner: a.Hotkey.Hex(), TimestampMs: a.ReceivedAtMs, ResponseID: a.ResponseID})
		if c.Copy {
			v.train(in, false, a, scoring.EvidenceCopy)
			return 0, "copy"
		}
		in.SimOthers, in.SimOwn = c.Similarities()
	}
	factor := 0.5 // a model the validator cannot check earns half
	reason := "unverified"
	if v.cfg.Verifier != nil && a.Model == v.cfg.VerifyModel {
		if a.IDs == nil {
			v.train(in, false, a, scoring.EvidenceVerification)
			return 0, "wrong_model_no_tokens"
		}
		r, err := scoring.VerifyTokens(ctx, v.cfg.Verifier, prompt, a.Text, a.IDs, a.Logprobs, v.verifySeed(seed), v.cfg.VerifyOptions)
		if err != nil {
			if ctx.Err() != nil {
				return 0, reasonCancelled // our shutdown, not the miner's answer: the caller discards it
			}
			v.log.Warn("verify", zap.Error(err))
			return 0, "verify_error"
		}
		if !r.Passed {
			v.train(in, false, a, scoring.EvidenceVerification)
			return 0, "wrong_model_" + r.Reason
		}
		factor, reason = 1, "scored"
		v.train(in, true, a, scoring.EvidenceVerification)
	}
	u := v.useful.Predict(in)
	return factor * (0.8*u + 0.2*v.latencyScore(a)), reason
}

// train teaches p(useful) from an outcome the validator checked itself.
func (v *Validator) train(in scoring.UsefulInput, useful bool, a answer, ev scoring.Evidence) {
	if err := v.useful.Train(in, useful, a.Hotkey.Hex(), ev); err != nil && !errors.Is(err, scoring.ErrMinerCapped) {
		v.log.Debug("train p(useful)", zap.Error(err))
	}
}

// save writes the state, classifier included.
func (v *Validator) save() error {
	blob, err := v.useful.MarshalBinary()
	if err != nil {
		return fmt.Errorf("validator: save classifier: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.st.Useful = blob
	return v.st.save(v.cfg.StatePath)
}

// selfUID is the validator's uid in view, -1 if it is not registered.
func (v *Validator) selfUID(view *chain.MetagraphView) int {
	for i, n := range view.Neurons {
		if n.Hotkey == v.self {
			return i
		}
	}
	return -1
}

// weights sets, commits or reveals weights when due: it gathers what Next
// decides from and carries its decision out. One call at a time: each sends
// at most one transaction at the account's next nonce.
func (v *Validator) weights(ctx context.Context, view *chain.MetagraphView, height int64, selfUID uint16) {
	v.weightsMu.Lock()
	defer v.weightsMu.Unlock()
	sn := view.Subnet
	v.mu.Lock()
	pending, last := v.st.Pending, v.st.LastWeights
	v.mu.Unlock()
	if pending != nil {
		v.reveal(ctx, sn, pending)
		return
	}
	_, combined := v.Scores()
	in := WeightsView{Height: height, Subnet: sn, SelfUID: selfUID, LastWeights: last, Interval: v.cfg.WeightsInterval, Scores: combined}
	if int(selfUID) < len(view.Neurons) {
		in.LastUpdate = view.Neurons[selfUID].LastUpdate
	}
	v.act(ctx, sn, nil, Next(in, nil, chain.CommitsView{}, time.Now()))
}

// reveal asks the chain for its record of the pending commit p, and
// reveals p or drops it as Next decides.
func (v *Validator) reveal(ctx context.Context, sn chain.SubnetView, p *pendingCommit) {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var cv chain.CommitsView
	if _, err := v.cfg.Chain.Query(tctx, fmt.Sprintf("%s%d/%s", chain.QueryCommits, v.cfg.Netuid, v.self), &cv); err != nil {
		if ctx.Err() == nil {
			v.log.Warn("reveal weights: commits", zap.Error(err))
		}
		return
	}
	v.act(ctx, sn, p, Next(WeightsView{Subnet: sn, PendingSince: v.committedAt}, p, cv, time.Now()))
}

// act carries out a weights decision a about the pending commit p (nil if
// there is none).
func (v *Validator) act(ctx context.Context, sn chain.SubnetView, p *pendingCommit, a Action) {
	if p != nil && a.OnChain && p.RevealEpoch != a.RevealEpoch {
		v.mu.Lock()
		p.RevealEpoch = a.RevealEpoch
		v.mu.Unlock()
		if err := v.save(); err != nil {
			v.log.Error("reveal weights: save", zap.Error(err))
		}
	}
	switch a.Act {
	case ActWait:
		switch a.Why {
		case WhyNoScores:
			v.metrics.weightSets.WithLabelValues("set", "skipped").Inc()
			v.log.Info("no miner has scored yet; not setting weights")
		case WhyInvalid:
			v.metrics.weightSets.WithLabelValues("set", "skipped").Inc()
			v.log.Warn("weights do not meet the subnet's rules; not setting them", zap.Error(a.Err))
		}
	case ActSet:
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := v.cfg.Chain.SendTx(tctx, v.cfg.Key, &chain.SetWeights{Netuid: v.cfg.Netuid, UIDs: a.UIDs, Values: a.Values, VersionKey: sn.Params.WeightsVersion})
		v.recordWeights("set", r, err, len(a.UIDs))
	case ActCommit:
		v.commit(ctx, sn, a.UIDs, a.Values)
	case ActReveal:
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := v.cfg.Chain.SendTx(tctx, v.cfg.Key, &chain.RevealWeights{Netuid: v.cfg.Netuid, UIDs: p.UIDs, Values: p.Values, Salt: p.Salt, VersionKey: p.VersionKey})
		v.recordWeights("reveal", r, err, len(p.UIDs))
		if err != nil && ctx.Err() == nil && (r == nil || !r.Included()) {
			return // not in a block: try again next step
		}
		v.dropPending()
	case ActDrop:
		fields := []zap.Field{zap.Uint64("commit_epoch", p.Epoch), zap.Uint64("epoch", a.Epoch)}
		switch a.Why {
		case WhyExpired:
			v.log.Warn("a weights commit expired before it was revealed", append(fields, zap.Uint64("reveal_epoch", a.RevealEpoch))...)
		case WhyRevealed:
			v.log.Info("a weights commit is no longer pending: it was revealed", fields...)
		case WhyMissing:
			v.log.Warn("a weights commit is not on chain: it never reached a block, or it expired unrevealed before this validator saw it; committing afresh", fields...)
		case WhyLost:
			v.log.Warn("a weights commit is not on chain: it never reached a block (its transaction was lost, as at a shutdown before it was included); committing afresh", fields...)
		}
		if a.Why != WhyRevealed {
			v.metrics.weightSets.WithLabelValues("reveal", string(a.Why)).Inc()
		}
		v.dropPending()
	}
}

// commit commits the vector for the chain's current epoch. The commit is
// saved before it is sent: a crash after sending must still be able to
// reveal it.
func (v *Validator) commit(ctx context.Context, sn chain.SubnetView, uids, values []uint16) {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var ep chain.EpochView
	if _, err := v.cfg.Chain.Query(tctx, chain.QueryEpoch+strconv.Itoa(int(v.cfg.Netuid)), &ep); err != nil {
		v.metrics.weightSets.WithLabelValues("commit", "failed").Inc()
		if ctx.Err() == nil {
			v.log.Warn("commit weights: epoch", zap.Error(err))
		}
		return
	}
	pk := v.cfg.Key.PublicKey()
	c, err := newCommit(pk[:], v.cfg.Netuid, ep.Epoch, uids, values, sn.Params.WeightsVersion)
	if err != nil {
		v.log.Error("commit weights", zap.Error(err))
		return
	}
	v.mu.Lock()
	v.st.Pending = c
	v.committedAt = time.Now()
	v.mu.Unlock()
	if err := v.save(); err != nil {
		v.log.Error("commit weights: save", zap.Error(err))
		return
	}
	var hash [32]byte
	raw, _ := hex.DecodeString(c.Hash)
	copy(hash[:], raw)
	r, err := v.cfg.Chain.SendTx(tctx, v.cfg.Key, &chain.CommitWeights{Netuid: v.cfg.Netuid, Hash: hash})
	if err != nil && r != nil {
		// Rejected, or failed in its block: nothing to reveal. (With no
		// answer at all, the commit may have landed: keep it.)
		v.mu.Lock()
		v.st.Pending = nil
		v.mu.Unlock()
	}
	v.recordWeights("commit", r, err, len(uids))
}

// dropPending forgets the pending commit and saves the state.
func (v *Validator) dropPending() {
	v.mu.Lock()
	v.st.Pending = nil
	v.mu.Unlock()
	if err := v.save(); err != nil {
		v.log.Error("reveal weights: save", zap.Error(err))
	}
}

func (v *Validator) recordWeights(action string, r *chainclient.Result, err error, n int) {
	if err != nil {
		v.metrics.weightSets.WithLabelValues(action, "failed").Inc()
		switch {
		case errors.Is(err, context.Canceled):
		case r != nil && r.Code == chain.CodeRateLimited:
			// The metagraph had not yet shown our last update: retried
			// once the limit passes.
			v.log.Debug(action+" weights", zap.Error(err))
		default:
			v.log.Warn(action+" weights", zap.Error(err))
		}
		return
	}
	v.metrics.weightSets.WithLabelValues(action, "ok").Inc()
	v.log.Info(action+" weights", zap.Int("uids", n), zap.Int64("height", r.Height))
	if action != "reveal" {
		v.mu.Lock()
		v.st.LastWeights = r.Height
		v.mu.Unlock()
		if err := v.save(); err != nil {
			v.log.Error("save", zap.Error(err))
		}
	}
}
