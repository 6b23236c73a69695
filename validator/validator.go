package validator

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/protocol"
	"github.com/seed0ffb8d46/agora/scoring"
)

// Task kinds, the keys of the scores' moving averages.
const (
	KindInference = scoring.KindInference // story prompts, sampled with a seed per miner, verified token by token
	KindReference = scoring.KindReference // greedy continuations of secret stories, compared with the validator's own
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

	// VerifyModel is the model the subnet pays for: answers that name
	// another are worth nothing. Exact or Stat is the validator's own copy
	// of it (one is required): the built-in engine, whose sampler it
	// replays exactly, or a model server (vLLM and the like) that scores
	// given tokens, checked statistically.
	VerifyModel string
	Exact       *llm.Llama
	Stat        scoring.TokenModel

	// Policy is every weight and threshold of the judgement; the zero
	// value is scoring.DefaultPolicy().
	Policy scoring.Policy

	// Judge, when set, is an LLM asked about JudgeShare (in [0, 1]) of the
	// answers that pass every check; its verdicts train p(useful).
	Judge      Judge
	JudgeShare float64

	// SampleSize is how many miners each step queries; default 8.
	SampleSize int
	// StepInterval is the time between steps; default 5s.
	StepInterval time.Duration
	// QueryTimeout is the whole deadline of one miner's answer; default 10s.
	QueryTimeout time.Duration
	// ReferenceShare is the fraction of steps that send a reference task
	// instead of a story prompt, in [0, 1].
	ReferenceShare float64
	// PreferenceShare is the fraction of steps that send preference tasks
	// (pairs of completions for human labelers, some of them traps) to the
	// miners sampled; the shares add up to at most 1. Labels are collected
	// from the miners sampled at every step.
	PreferenceShare float64
	// LabelOptions tune the label-quality scoring; the zero value is
	// scoring.DefaultLabelOptions() (a network of human labelers).
	LabelOptions scoring.LabelOptions
	// PreferenceParallel bounds the preference calls in flight at once;
	// default 8.
	PreferenceParallel int
	// DatasetDir, when set, receives the labels accepted from good
	// labelers (DatasetLabels, DatasetTasks) for `agora labels export`.
	DatasetDir string
	// DatasetEvery, when positive (and DatasetDir set), exports the
	// dataset under DatasetDir/exports every that many epochs once it has
	// grown, and commits the export's Merkle root on chain.
	DatasetEvery int
	// WeightsInterval is how many blocks apart weights are set, at least
	// the subnet's weights_rate_limit; default that limit.
	WeightsInterval int64

	HTTPClient *http.Client
	// AllowPrivateAxons lets the default HTTPClient reach axons on
	// loopback, private and link-local addresses: for a local network
	// (agora localnet) or a subnet on one private network. Off, it
	// refuses them (see publicOnly).
	AllowPrivateAxons bool
	// AxonNetworks are networks whose axons the default HTTPClient
	// reaches though they are not public (a subnet's private network,
	// such as 10.77.0.0/16): narrower than AllowPrivateAxons, which
	// allows them all. Loopback, link-local, multicast and unspecified
	// addresses are reached only when a prefix here covers them.
	AxonNetworks []netip.Prefix
	Registry     *prometheus.Registry
	Logger       *zap.Logger
	// Seed seeds task and sample choice; 0 draws one at random.
	Seed uint64
}

// Validator queries miners, scores their answers and sets weights.
type Validator struct {
	cfg     Config
	log     *zap.Logger
	metrics *metrics
	signer  *protocol.Signer
	useful  *scoring.Useful
	rng     *rand.Rand
	// verifyKey is the validator's secret (from crypto/rand, whatever
	// Config.Seed): the seeds of reference tasks' hidden stories and of the
	// positions statistical checks look at come from it (secret).
	verifyKey [32]byte
	self      string // the hotkey, as the chain's views spell it

	weightsMu sync.Mutex // one weights transaction at a time
	// committedAt is when each mechanism's pending commit was sent, or
	// loaded at start.
	committedAt [scoring.MaxMechanisms]time.Time
	mu          sync.Mutex // guards st, queried, reasons, updated and noScoresSaid
	// noScoresSaid is, per mechanism, 1 + the epoch in which "no miner has
	// scored" was last logged (0: never): it is said once an epoch.
	noScoresSaid [scoring.MaxMechanisms]uint64
	// privateWarned is set once warnPrivateAxons has said so.
	privateWarned atomic.Bool
	st            *state
	queried       map[string]uint64     // hotkey → step last queried
	reasons       map[string]*reasonLog // hotkey → why its answers scored as they did
	updated       time.Time
	recent        []completion // good answers, for preference tasks
	// labelBusy is when each labeler (miner/labeler) was last done with a
	// label, by the validator's clock (scoring.ServerTimes).
	labelBusy map[string]int64
	// labelers is the last judgement of each miner's labelers (by hotkey
	// hex), for /scores.
	labelers map[string][]api.LabelerScore
	// trapResults are trap verdicts to tell each miner (hotkey hex) once
	// their tasks have expired.
	trapResults map[string][]dueResult

	dataset *dataset       // nil without DatasetDir
	judgeq  chan judgeItem // nil without a Judge
	// answered remembers recent answers that passed the statistical
	// checks, so one handed in again, for another prompt, is a copy.
	answered *scoring.AnswerMemory
}

// reasonLog is why a miner's answers scored as they did, for /scores.
type reasonLog struct {
	last   string
	counts map[string]uint64
}

// answerMemory is how many recent answers the statistical path remembers.
const answerMemory = 1 << 16

// reasonVerifyError is the reason of an answer left unjudged because the
// validator's own model (or model server) failed: not the miner's doing.
const reasonVerifyError = "verify_error"

// note records a verdict's reason, with its detail in the last reason.
func (rl *reasonLog) note(kind, reason, detail string) {
	rl.last = kind + ": " + reason
	if detail != "" {
		rl.last += " (" + detail + ")"
	}
	rl.counts[reason]++
}

// reasonOf is hotkey's reason log, made on first use; v.mu held.
func (v *Validator) reasonOf(hotkey string) *reasonLog {
	rl := v.reasons[hotkey]
	if rl == nil {
		rl = &reasonLog{counts: map[string]uint64{}}
		v.reasons[hotkey] = rl
	}
	return rl
}

// defaultHTTPClient is the client a validator queries miners with unless
// Config.HTTPClient says otherwise.
func defaultHTTPClient(allowPrivate bool, networks []netip.Prefix) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		dialer.Control = axonGuard(networks)
	}
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute, DialContext: dialer.DialContext},
		// A miner's redirect is its answer, not a place to send a signed
		// request to: following one (a 307 re-sends the POST) would let a
		// miner aim the validator at hosts on its network.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// axonGuard is the dialer's Control that refuses to connect to an address
// that is neither a public unicast one nor in networks: loopback, private
// (RFC 1918, RFC 4193), link-local (where cloud metadata services
// answer), unspecified or multicast. Axon addresses come from the chain,
// where any miner writes its own, so without it a miner could aim the
// validator's signed requests at hosts on the validator's network. It
// runs on the resolved address, at connect time.
func axonGuard(networks []netip.Prefix) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if !axonAllowed(ip, networks) {
			return &privateAxonError{ip: ip}
		}
		return nil
	}
}

// axonAllowed reports whether the validator may query an axon at ip: a
// public address always, any other only inside one of networks. An
// address in IPv4-mapped form is matched as the IPv4 address; one with a
// zone (fe80::1%eth0) as the address without it.
func axonAllowed(ip netip.Addr, networks []netip.Prefix) bool {
	if publicAddr(ip) {
		return true
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range networks {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// privateAxonError is axonGuard's refusal of an axon address that is not
// a public one, which the step tells the operator about once
// (warnPrivateAxons).
type privateAxonError struct{ ip netip.Addr }

func (e *privateAxonError) Error() string {
	return fmt.Sprintf("axon address %s is not a public one (list its network in the validator's axon_networks, or set allow_private_axons for a local network)", e.ip)
}

// warnPrivateAxons logs once per process, when some of answers failed
// because their axons are on loopback or private addresses that the
// validator refuses without AllowPrivateAxons: otherwise such miners only
// score unreachable on /scores, and the log says nothing of why.
func (v *Validator) warnPrivateAxons(answers []answer, urls func(int) string) {
	if v.privateWarned.Load() {
		return
	}
	var pe *privateAxonError
	var which []string
	for i, a := range answers {
		if errors.As(a.Err, &pe) {
			which = append(which, fmt.Sprintf("uid %d at %s", a.UID, urls(i)))
		}
	}
	if len(which) == 0 || v.privateWarned.Swap(true) {
		return
	}
	v.log.Warn("not querying miners whose axons are on loopback or private addresses (they score unreachable): when the miners are on your private network, list it with --validator.axon_networks (CIDR prefixes, such as 10.0.0.0/8), or run the validator with --validator.allow_private_axons for every private range, such as the demo's on this machine (agora localnet); said once",
		zap.Strings("refused", which))
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
	case cfg.ReferenceShare < 0 || cfg.PreferenceShare < 0 || cfg.ReferenceShare+cfg.PreferenceShare > 1:
		return nil, fmt.Errorf("validator: reference share %v and preference share %v must be at least 0 and add up to at most 1", cfg.ReferenceShare, cfg.PreferenceShare)
	case cfg.VerifyModel == "" || (cfg.Exact == nil && cfg.Stat == nil):
		return nil, errors.New("validator: no model to verify answers with: a validator pays only work the declared model sampled, so it needs its own copy of that model (the built-in engine's checkpoint, or a model server that returns prompt log-probabilities) and its name")
	case cfg.JudgeShare < 0 || cfg.JudgeShare > 1:
		return nil, fmt.Errorf("validator: judge share %v is not in [0, 1]", cfg.JudgeShare)
	case cfg.Exact != nil && cfg.Stat != nil:
		return nil, errors.New("validator: verify with the built-in engine or with a model server, not both")
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
	if cfg.Policy.KindWeights == nil {
		def := scoring.DefaultPolicy()
		if cfg.Policy.MaxTokens != 0 || cfg.Policy.Alpha != 0 {
			return nil, errors.New("validator: a policy without kind weights: start from scoring.DefaultPolicy()")
		}
		cfg.Policy = def
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	// A kind the validator never sends is not weighed: it would be a row
	// of zeros (a uid that does not serve scores 0 in every weighed kind)
	// that lowers everyone's combined score alike and shows as a score of
	// 0 for every miner.
	cfg.Policy.KindWeights = cfg.Policy.SentKinds(map[string]float64{
		KindInference:  1 - cfg.ReferenceShare - cfg.PreferenceShare,
		KindReference:  cfg.ReferenceShare,
		KindPreference: cfg.PreferenceShare,
	})
	if len(cfg.Policy.KindWeights) == 0 {
		return nil, errors.New("validator: no task kind is both sent and weighed")
	}
	if cfg.LabelOptions == (scoring.LabelOptions{}) {
		cfg.LabelOptions = scoring.DefaultLabelOptions()
	}
	if cfg.PreferenceParallel <= 0 {
		cfg.PreferenceParallel = 8
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient(cfg.AllowPrivateAxons, cfg.AxonNetworks)
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
	v := &Validator{
		cfg:         cfg,
		log:         cfg.Logger.With(zap.String("component", "validator"), zap.String("hotkey", cfg.Key.Address()), zap.Uint16("netuid", cfg.Netuid)),
		metrics:     newMetrics(cfg.Registry),
		signer:      &protocol.Signer{Key: cfg.Key},
		rng:         rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0xa5a5)),
		self:        chain.AccountID(cfg.Key.PublicKey()).String(),
		queried:     map[string]uint64{},
		labelBusy:   map[string]int64{},
		trapResults: map[string][]dueResult{},
		reasons:     map[string]*reasonLog{},
	}
	if _, err := cryptorand.Read(v.verifyKey[:]); err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	st, err := loadState(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = &state{Version: stateVersion, Netuid: cfg.Netuid, Hotkey: cfg.Key.Address(), Scores: scoring.NewScores(cfg.Policy.Alpha)}
	} else if st.Netuid != cfg.Netuid || st.Hotkey != cfg.Key.Address() {
		return nil, fmt.Errorf("validator: state %s is for hotkey %s on subnet %d, not %s on %d", cfg.StatePath, st.Hotkey, st.Netuid, cfg.Key.Address(), cfg.Netuid)
	}
	st.Scores.Alpha = cfg.Policy.Alpha
	v.useful, err = scoring.NewUseful(scoring.DefaultUsefulConfig(), nil)
	if err != nil {
		return nil, err
	}
	if len(st.Useful) > 0 {
		switch err := v.useful.UnmarshalBinary(st.Useful); {
		case errors.Is(err, scoring.ErrUsefulStateOutdated):
			// Trained on "passed verification" over older features: what it
			// learned was the model's style, not usefulness. Start afresh.
			v.log.Info("the p(useful) classifier in the state is of an older kind; starting a new one", zap.String("state", cfg.StatePath))
			if v.useful, err = scoring.NewUseful(scoring.DefaultUsefulConfig(), nil); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, fmt.Errorf("validator: state %s: classifier: %w", cfg.StatePath, err)
		}
	}
	v.st = st
	v.answered = scoring.NewAnswerMemory(answerMemory)
	if cfg.Judge != nil && cfg.JudgeShare > 0 {
		v.judgeq = make(chan judgeItem, judgeQueue)
	}
	// When a pending commit was sent is not known: it may have been just
	// before the restart, and still be in the mempool.
	for m := range v.committedAt {
		v.committedAt[m] = time.Now()
	}
	if cfg.DatasetDir != "" {
		if v.dataset, err = openDataset(cfg.DatasetDir); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Close closes the dataset.
func (v *Validator) Close() {
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
	return slices.Clone(v.st.Scores.Hotkeys), v.st.Scores.Combined(v.cfg.Policy.KindWeights)
}

// Report is the validator's scores in the form the dashboard reads
// (GET /scores).
func (v *Validator) Report() api.ValidatorScores {
	v.mu.Lock()
	defer v.mu.Unlock()
	sc := v.st.Scores
	combined := sc.Combined(v.cfg.Policy.KindWeights)
	r := api.ValidatorScores{Hotkey: v.self, UID: -1, Scores: []api.UIDScore{}, Updated: v.updated}
	for uid, hk := range sc.Hotkeys {
		if hk == v.self {
			r.UID = uid
		}
		if sc.Count[uid] == 0 {
			continue
		}
		u := api.UIDScore{UID: uint16(uid), Hotkey: hk, Score: combined[uid], Scored: sc.Count[uid], FailedEpoch: sc.FailedNow(uid), ByKind: map[string]float64{}}
		for kind, row := range sc.Kinds {
			if v.cfg.Policy.KindWeights[kind] > 0 { // a kind not weighed does not count: not shown
				u.ByKind[kind] = row[uid]
			}
		}
		if rl := v.reasons[hk]; rl != nil {
			u.LastReason, u.Reasons = rl.last, maps.Clone(rl.counts)
		}
		u.Labelers = slices.Clone(v.labelers[hk])
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
	if v.judgeq != nil {
		judged := make(chan struct{})
		defer func() { <-judged }()
		go func() { defer close(judged); v.runJudge(ctx) }()
	}
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
		// A uid with stake and a validator permit is a validator: its axon,
		// if any, serves /scores, not completions (Bittensor subnets skip
		// permit holders alike). A subnet owner's permit needs no stake:
		// an owner's miner is still queried.
		if n.Axon == nil || n.Axon.Protocol != 0 || (n.ValidatorPermit && n.Stake > 0) || err != nil || len(raw) != keys.PublicKeySize {
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
	if tempo := int64(view.Subnet.Params.Tempo); tempo > 0 {
		v.st.Scores.SetWindow(uint64(height / tempo)) // a hard failure costs the rest of the epoch
	}
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
	seed := v.rng.Uint64()
	kind := KindInference
	switch x := v.rng.Float64(); {
	case x < v.cfg.ReferenceShare:
		kind = KindReference
	case x < v.cfg.ReferenceShare+v.cfg.PreferenceShare:
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
			for k := range v.cfg.Policy.KindWeights {
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

// round sends one task to every miner in sample at once and judges the
// answers: an inference task (one story prompt, sampled with a seed per
// miner) or a reference task (a secret prompt per miner, continued
// greedily).
//
// Work that the validator's own shutdown (ctx cancelled) cuts short is
// discarded, never scored: a round whose queries were still out when ctx
// ended scores nobody, and once ctx has ended no further answer is scored,
// nor the one whose verification it interrupted. A miner that misses its
// own deadline (QueryTimeout) while ctx lives still scores 0 (timeout).
func (v *Validator) round(ctx context.Context, sample []target, seed uint64, kind string) {
	pol := v.cfg.Policy
	prompts := make([]string, len(sample))
	params := make([]scoring.SamplingParams, len(sample))
	story := scoring.StoryPrompt(seed)
	var refs []string
	if kind == KindReference {
		var err error
		if refs, err = v.referencePrompts(ctx, seed, len(sample)); err != nil {
			if ctx.Err() == nil {
				v.log.Error("reference task", zap.Error(err))
			}
			return
		}
	}
	for i, t := range sample {
		s := v.minerSeed(seed, t.uid)
		if kind == KindReference {
			prompts[i], params[i] = refs[i], scoring.SamplingParams{Seed: s, MaxTokens: pol.ReferenceTokens}
			continue
		}
		prompts[i], params[i] = story, scoring.SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, Seed: s, MaxTokens: pol.MaxTokens}
	}
	answers := make([]answer, len(sample))
	var wg sync.WaitGroup
	for i, t := range sample {
		wg.Go(func() {
			p := params[i]
			req := api.CompletionRequest{Prompt: prompts[i], MaxTokens: p.MaxTokens, Temperature: p.Temperature, TopP: p.TopP, Seed: p.Seed, Logprobs: 0, TokenIDs: true}
			qctx, cancel := context.WithTimeout(ctx, v.cfg.QueryTimeout)
			defer cancel()
			answers[i] = query(qctx, v.cfg.HTTPClient, v.signer, t.url, t.hotkey, req)
			answers[i].UID = t.uid
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		v.log.Debug("round cut short by shutdown; its answers are not scored", zap.String("kind", kind), zap.Int("miners", len(sample)))
		return
	}
	v.warnPrivateAxons(answers, func(i int) string { return sample[i].url })
	ps := &prefixes{m: v.cfg.Exact}
	var copies *scoring.RoundCopies
	if v.cfg.Exact == nil && kind == KindInference {
		// Without exact replay, a copy of another miner's sample is a
		// sample of the model too: compare the answers to the round's one
		// prompt (a reference round's prompts differ, and greedy
		// continuations of similar stories agree).
		copies = scoring.NewRoundCopies(v.cfg.Policy.CopyThreshold)
	}
	order := make([]int, len(answers))
	for i := range order {
		order[i] = i
	}
	// Earliest received answer first, so the first of identical answers
	// keeps the credit.
	slices.SortStableFunc(order, func(a, b int) int {
		return cmpU64(uint64(answers[a].ReceivedAtMs), uint64(answers[b].ReceivedAtMs))
	})
	for n, i := range order {
		a := answers[i]
		if ctx.Err() != nil || a.Reason == reasonCancelled {
			v.log.Debug("round cut short by shutdown; the answers left are not scored", zap.String("kind", kind), zap.Int("left", len(answers)-n))
			return
		}
		verdict, detail, err := v.judge(ctx, kind, prompts[i], params[i], a, ps, copies)
		if err != nil {
			if ctx.Err() != nil {
				v.log.Debug("round cut short by shutdown; the answers left are not scored", zap.String("kind", kind), zap.Int("left", len(answers)-n))
				return
			}
			// The validator's own model failed: nobody is scored for it, and
			// /scores says why the miner's answer went unjudged.
			v.log.Warn("verify", zap.Uint16("uid", a.UID), zap.Error(err))
			v.metrics.scores.WithLabelValues(kind, reasonVerifyError).Inc()
			v.mu.Lock()
			v.reasonOf(a.Hotkey.Hex()).note(kind, reasonVerifyError, err.Error())
			v.mu.Unlock()
			continue
		}
		v.record(kind, a, verdict, detail)
	}
}

// judge runs every check on one answer and returns the policy's verdict,
// with a detail for /scores. An error is the validator's own failure
// (shutdown, or its model), which scores nobody.
func (v *Validator) judge(ctx context.Context, kind, prompt string, params scoring.SamplingParams, a answer, ps *prefixes, copies *scoring.RoundCopies) (scoring.Verdict, string, error) {
	obs := scoring.Observed{Kind: kind, Latency: a.Latency.Seconds() / v.cfg.QueryTimeout.Seconds()}
	if a.Err != nil {
		obs.NoAnswer = a.Reason
		return v.cfg.Policy.Judge(obs, scoring.Checks{}), a.Err.Error(), nil
	}
	c := scoring.Checks{Declared: a.Model == v.cfg.VerifyModel}
	detail := ""
	if !c.Declared {
		detail = fmt.Sprintf("the answer names model %q; this subnet pays for %q", a.Model, v.cfg.VerifyModel)
	} else {
		var err error
		if c.Sample, err = v.verify(ctx, prompt, params, a, ps); err != nil {
			return scoring.Verdict{}, "", err
		}
		detail = c.Sample.Detail
	}
	in := scoring.UsefulInput{Prompt: prompt, Response: a.Text}
	if c.Declared && c.Sample.OK {
		in.MeanLogprob, in.HasLogprob = c.Sample.MeanLogprob, c.Sample.Checked > 0
		if copies != nil {
			if j, sim := copies.Add(a.Text); j >= 0 {
				c.Copy = true
				detail = fmt.Sprintf("%.2f of its runs of %d words are in answer %d of the round, received earlier", sim, scoring.CopyShingle, j)
			}
		}
		if v.cfg.Exact == nil && v.answered.Seen(a.Text) {
			// A sample handed in again, for another prompt: on a model
			// whose samples barely depend on the prompt, the statistical
			// checks alone would pass it every time.
			c.Copy = true
			detail = "the same answer was handed in before, to another task"
		}
		c.Useful = v.useful.Predict(in)
	}
	verdict := v.cfg.Policy.Judge(obs, c)
	if ex := verdict.Train; ex != nil {
		v.train(in, ex.Useful, a, ex.Evidence)
	}
	if verdict.Reason == scoring.ReasonScored && kind == KindInference {
		v.askJudge(in, a.Hotkey.Hex())
		if in.HasLogprob {
			v.remember(completion{Prompt: prompt, Text: a.Text, Model: fmt.Sprintf("%s@uid%d", a.Model, a.UID), MeanLogprob: in.MeanLogprob})
		}
	}
	return verdict, detail, nil
}

// record folds a verdict into the scores (a hard failure costs the whole
// window) and the reasons /scores shows.
func (v *Validator) record(kind string, a answer, verdict scoring.Verdict, detail string) {
	result := "ok"
	if a.Err != nil {
		result = a.Reason
	}
	v.metrics.queries.WithLabelValues(result).Inc()
	if a.Err == nil {
		v.metrics.latency.Observe(a.Latency.Seconds())
	}
	v.metrics.scores.WithLabelValues(kind, verdict.Reason).Inc()
	v.mu.Lock()
	var err error
	if verdict.Hard {
		err = v.st.Scores.Fail(int(a.UID))
	} else {
		err = v.st.Scores.Update(kind, int(a.UID), verdict.Score)
	}
	if verdict.Reason == scoring.ReasonScored {
		detail = ""
	}
	v.reasonOf(a.Hotkey.Hex()).note(kind, verdict.Reason, detail)
	v.updated = time.Now()
	v.mu.Unlock()
	if err != nil {
		v.log.Warn("score", zap.Uint16("uid", a.UID), zap.Error(err))
	}
	lvl := zap.DebugLevel
	if verdict.Hard {
		lvl = zap.InfoLevel
	}
	v.log.Log(lvl, "scored", zap.Uint16("uid", a.UID), zap.String("kind", kind), zap.Float64("score", verdict.Score), zap.Bool("hard_fail", verdict.Hard), zap.String("reason", verdict.Reason), zap.String("detail", detail), zap.Duration("latency", a.Latency))
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

// weights sets, commits or reveals weights when due, on each of the
// subnet's mechanisms: it gathers what Next decides from and carries its
// decision out. One call at a time: each sends at most one transaction per
// mechanism, one after the other, at the account's next nonce.
func (v *Validator) weights(ctx context.Context, view *chain.MetagraphView, height int64, selfUID uint16) {
	if int(selfUID) < len(view.Neurons) && !view.Neurons[selfUID].ValidatorPermit {
		// The chain takes no weights from a uid without a permit (and
		// miners may refuse its queries, so nothing scores): that, not
		// "no scores", is why nothing is set. ReportStanding says so once
		// an epoch, with the stake it needs.
		return
	}
	v.weightsMu.Lock()
	defer v.weightsMu.Unlock()
	for m := range mechanisms(view.Subnet) {
		if ctx.Err() != nil {
			return
		}
		v.mechWeights(ctx, view, height, selfUID, m)
	}
}

// mechanisms is how many incentive mechanisms the subnet has (at least 1).
func mechanisms(sn chain.SubnetView) uint8 {
	return max(sn.Params.MechanismCount, 1)
}

// mechWeights is weights for mechanism m.
func (v *Validator) mechWeights(ctx context.Context, view *chain.MetagraphView, height int64, selfUID uint16, m uint8) {
	sn := view.Subnet
	kinds := v.cfg.Policy.MechanismKinds(m, mechanisms(sn))
	v.mu.Lock()
	lastp, pendingp := v.st.mech(m)
	pending, last := *pendingp, *lastp
	var scores []float64
	if len(kinds) > 0 {
		scores = v.st.Scores.Combined(kinds)
	}
	v.mu.Unlock()
	if pending != nil {
		v.reveal(ctx, sn, pending)
		return
	}
	if len(kinds) == 0 {
		return // no kind of task pays through this mechanism
	}
	// Scores become weights through the policy's sharpening step.
	in := WeightsView{Height: height, Subnet: sn, SelfUID: selfUID, LastWeights: last, Interval: v.cfg.WeightsInterval, Scores: v.cfg.Policy.MechanismWeights(m, mechanisms(sn), scores)}
	if int(selfUID) < len(view.Neurons) {
		in.LastUpdate = mechLastUpdate(view.Neurons[selfUID], m)
	}
	v.act(ctx, sn, m, nil, Next(in, nil, chain.CommitsView{}, time.Now()))
}

// mechLastUpdate is n's last update on mechanism m, as the chain keeps it.
func mechLastUpdate(n chain.NeuronView, m uint8) uint64 {
	for _, mv := range n.Mechanisms {
		if mv.Mechanism == m {
			return mv.LastUpdate
		}
	}
	if m == 0 {
		return n.LastUpdate
	}
	return 0
}

// reveal asks the chain for its record of the pending commit p, and
// reveals p or drops it as Next decides.
func (v *Validator) reveal(ctx context.Context, sn chain.SubnetView, p *pendingCommit) {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var cv chain.CommitsView
	if _, err := v.cfg.Chain.Query(tctx, chain.CommitsPath(v.cfg.Netuid, p.Mechanism, chain.AccountID(v.cfg.Key.PublicKey())), &cv); err != nil {
		if ctx.Err() == nil {
			v.log.Warn("reveal weights: commits", zap.Uint8("mechanism", p.Mechanism), zap.Error(err))
		}
		return
	}
	v.act(ctx, sn, p.Mechanism, p, Next(WeightsView{Subnet: sn, PendingSince: v.committedAt[p.Mechanism]}, p, cv, time.Now()))
}

// act carries out a weights decision a about mechanism m and its pending
// commit p (nil if there is none).
func (v *Validator) act(ctx context.Context, sn chain.SubnetView, m uint8, p *pendingCommit, a Action) {
	if p != nil && a.OnChain && p.RevealEpoch != a.RevealEpoch {
		v.mu.Lock()
		p.RevealEpoch = a.RevealEpoch
		v.mu.Unlock()
		if err := v.save(); err != nil {
			v.log.Error("reveal weights: save", zap.Error(err))
		}
	}
	log := v.log.With(zap.Uint8("mechanism", m))
	switch a.Act {
	case ActWait:
		switch a.Why {
		case WhyNoScores:
			// Checked every second: said once an epoch.
			v.mu.Lock()
			said := v.noScoresSaid[m] == sn.Epoch+1
			v.noScoresSaid[m] = sn.Epoch + 1
			v.mu.Unlock()
			if !said {
				v.metrics.weightSets.WithLabelValues("set", "skipped").Inc()
				log.Info("no miner has scored above 0 yet (none answered, or none passed the checks: see /scores); not setting weights", zap.Uint64("epoch", sn.Epoch))
			}
		case WhyInvalid:
			v.metrics.weightSets.WithLabelValues("set", "skipped").Inc()
			log.Warn("weights do not meet the subnet's rules; not setting them", zap.Error(a.Err))
		}
	case ActSet:
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := v.cfg.Chain.SendTx(tctx, v.cfg.Key, &chain.SetWeights{Netuid: v.cfg.Netuid, UIDs: a.UIDs, Values: a.Values, VersionKey: sn.Params.WeightsVersion, Mechanism: m})
		v.recordWeights("set", m, r, err, len(a.UIDs))
	case ActCommit:
		v.commit(ctx, sn, m, a.UIDs, a.Values)
	case ActReveal:
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := v.cfg.Chain.SendTx(tctx, v.cfg.Key, &chain.RevealWeights{Netuid: v.cfg.Netuid, UIDs: p.UIDs, Values: p.Values, Salt: p.Salt, VersionKey: p.VersionKey, Mechanism: m})
		v.recordWeights("reveal", m, r, err, len(p.UIDs))
		if err != nil && ctx.Err() == nil && (r == nil || !r.Included()) {
			return // not in a block: try again next step
		}
		v.dropPending(m)
	case ActDrop:
		fields := []zap.Field{zap.Uint64("commit_epoch", p.Epoch), zap.Uint64("epoch", a.Epoch)}
		switch a.Why {
		case WhyExpired:
			log.Warn("a weights commit expired before it was revealed", append(fields, zap.Uint64("reveal_epoch", a.RevealEpoch))...)
		case WhyRevealed:
			log.Info("a weights commit is no longer pending: it was revealed", fields...)
		case WhyMissing:
			log.Warn("a weights commit is not on chain: it never reached a block, or it expired unrevealed before this validator saw it; committing afresh", fields...)
		case WhyLost:
			log.Warn("a weights commit is not on chain: it never reached a block (its transaction was lost, as at a shutdown before it was included); committing afresh", fields...)
		}
		if a.Why != WhyRevealed {
			v.metrics.weightSets.WithLabelValues("reveal", string(a.Why)).Inc()
		}
		v.dropPending(m)
	}
}

// commit commits the vector for mechanism m in the chain's current epoch.
// The commit is saved before it is sent: a crash after sending must still
// be able to reveal it.
func (v *Validator) commit(ctx context.Context, sn chain.SubnetView, m uint8, uids, values []uint16) {
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
	c, err := newCommit(pk[:], v.cfg.Netuid, m, ep.Epoch, uids, values, sn.Params.WeightsVersion)
	if err != nil {
		v.log.Error("commit weights", zap.Error(err))
		return
	}
	v.mu.Lock()
	_, pending := v.st.mech(m)
	*pending = c
	v.committedAt[m] = time.Now()
	v.mu.Unlock()
	if err := v.save(); err != nil {
		v.log.Error("commit weights: save", zap.Error(err))
		return
	}
	var hash [32]byte
	raw, _ := hex.DecodeString(c.Hash)
	copy(hash[:], raw)
	r, err := v.cfg.Chain.SendTx(tctx, v.cfg.Key, &chain.CommitWeights{Netuid: v.cfg.Netuid, Hash: hash, Mechanism: m})
	if err != nil && r != nil {
		// Rejected, or failed in its block: nothing to reveal. (With no
		// answer at all, the commit may have landed: keep it.)
		v.mu.Lock()
		*pending = nil
		v.mu.Unlock()
	}
	v.recordWeights("commit", m, r, err, len(uids))
}

// dropPending forgets mechanism m's pending commit and saves the state.
func (v *Validator) dropPending(m uint8) {
	v.mu.Lock()
	_, pending := v.st.mech(m)
	*pending = nil
	v.mu.Unlock()
	if err := v.save(); err != nil {
		v.log.Error("reveal weights: save", zap.Error(err))
	}
}

func (v *Validator) recordWeights(action string, m uint8, r *chainclient.Result, err error, n int) {
	log := v.log.With(zap.Uint8("mechanism", m))
	if err != nil {
		v.metrics.weightSets.WithLabelValues(action, "failed").Inc()
		switch {
		case errors.Is(err, context.Canceled):
		case r != nil && r.Code == chain.CodeRateLimited:
			// The metagraph had not yet shown our last update: retried
			// once the limit passes.
			log.Debug(action+" weights", zap.Error(err))
		default:
			log.Warn(action+" weights", zap.Error(err))
		}
		return
	}
	v.metrics.weightSets.WithLabelValues(action, "ok").Inc()
	log.Info(action+" weights", zap.Int("uids", n), zap.Int64("height", r.Height))
	if action != "reveal" {
		v.mu.Lock()
		last, _ := v.st.mech(m)
		*last = r.Height
		v.mu.Unlock()
		if err := v.save(); err != nil {
			v.log.Error("save", zap.Error(err))
		}
	}
}
