// Package dashboard is the web page of the network: it follows one subnet
// on the chain, keeps what each of its recent epochs paid every uid, asks
// the subnet's validators for their latest scores, and serves a live page
// of all of it (metagraph table, emission and incentive charts over
// epochs, scores by reason) with the JSON and server-sent events behind it.
//
// Everything is held in memory: a restarted dashboard starts its history
// again from the chain's current epoch.
package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
)

// Defaults of Config.
const (
	DefaultHistory       = 200
	DefaultScoresTimeout = 3 * time.Second
	DefaultQueryTimeout  = 5 * time.Second
	DefaultHeartbeat     = 15 * time.Second
	// maxHistory bounds Config.History: a record of a full subnet is
	// tens of kilobytes.
	maxHistory = 100_000
)

// Config is what a Dashboard needs. Client is required; the rest have
// defaults.
type Config struct {
	// Client talks to the node the dashboard follows. The dashboard does
	// not close it.
	Client *chainclient.Client
	// Netuid is the subnet shown.
	Netuid uint16
	// Validators are the base URLs (http or https, no query) of
	// validators' status endpoints; the dashboard fetches <url>/scores,
	// which answers an api.ValidatorScores. Optional.
	Validators []string
	// History is how many epochs are kept, newest last; DefaultHistory
	// if zero.
	History int
	// Logger receives what goes wrong; nothing is logged if nil.
	Logger *zap.Logger
	// Clock stamps statuses, records and fetches; time.Now if nil. It is
	// called from several goroutines.
	Clock func() time.Time

	// HTTPClient fetches validators' scores; a private client if nil.
	// Deadlines come from ScoresTimeout, so it needs no Timeout.
	HTTPClient *http.Client
	// ScoresTimeout bounds each fetch of a validator's scores;
	// DefaultScoresTimeout if zero.
	ScoresTimeout time.Duration
	// QueryTimeout bounds the epoch and supply queries made at each
	// metagraph update; DefaultQueryTimeout if zero.
	QueryTimeout time.Duration
	// Heartbeat is how often an idle event stream gets a comment, so
	// proxies and the browser keep it open; DefaultHeartbeat if zero.
	Heartbeat time.Duration
	// Metagraph tunes the metagraph cache that follows the chain.
	Metagraph chainclient.MetagraphOptions
	// MechanismNames names the subnet's incentive mechanisms, by index
	// (for example "inference", "labels"); a mechanism without a name is
	// "mechanism N". Optional; at most chain.MaxMechanisms, none empty.
	MechanismNames []string
}

// Dashboard follows a subnet and serves its page. Create it with New,
// run Run (once) to follow the chain, and serve Handler. Handler is safe
// for concurrent use and may be served before Run starts.
type Dashboard struct {
	cfg        Config
	log        *zap.Logger
	now        func() time.Time
	client     *chainclient.Client
	cache      *chainclient.MetagraphCache
	httpc      *http.Client
	validators []string

	started  atomic.Bool
	stopped  chan struct{} // closed when Run returns: event streams end
	stopOnce sync.Once

	// Owned by Run's goroutine.
	lastEpoch    chain.EpochView
	haveEpoch    bool
	lastSupply   chain.SupplyView
	haveSupply   bool
	lastRecorded uint64 // the newest epoch index recorded; 0 for none
	lastStale    bool

	mu        sync.Mutex
	status    []byte // JSON of the latest Status; nil before the first
	statusSeq uint64
	current   Status // without neurons, for /healthz and /readyz
	history   ring
	scores    []ValidatorReport
	scoresRaw []byte // JSON of the latest ScoresView
	scoresSeq uint64
	subs      map[chan struct{}]struct{}
}

// Status is the latest state of the subnet, as /api/metagraph serves it
// and the "metagraph" event carries.
type Status struct {
	Netuid uint16 `json:"netuid"`
	// Height is the block height of the state the metagraph was read
	// from.
	Height int64 `json:"height"`
	// Epoch is the subnet's epoch index (epochs run so far);
	// LastEpochBlock and NextEpochBlock are the block of the last one
	// and of the next one; EpochEmission is what the last one minted,
	// in base units.
	Epoch          uint64 `json:"epoch"`
	LastEpochBlock uint64 `json:"last_epoch_block"`
	NextEpochBlock uint64 `json:"next_epoch_block"`
	EpochEmission  uint64 `json:"epoch_emission"`
	// Supply is the chain's supply ledger, in base units (1 AGR = 10^9).
	Supply chain.SupplyView `json:"supply"`
	// Stale is true when the dashboard has lost the node or its last
	// query failed; Error says what went wrong.
	Stale bool   `json:"stale"`
	Error string `json:"error,omitempty"`
	// Updated is when the dashboard read this state (its clock).
	Updated time.Time `json:"updated"`
	// Recorded is how many epochs the history holds.
	Recorded int `json:"recorded"`
	// Mechanisms are the subnet's incentive mechanisms, by index: one
	// entry per mechanism, at least one.
	Mechanisms []Mechanism `json:"mechanisms"`
	// Subnet and Neurons are the metagraph, neurons by uid. With more
	// than one mechanism, each neuron's Mechanisms has one entry per
	// mechanism, in the order of Status.Mechanisms, and its top-level
	// fields are the aggregate; with one, the top-level fields are
	// mechanism 0's and the neuron has no Mechanisms.
	Subnet  chain.SubnetView   `json:"subnet"`
	Neurons []chain.NeuronView `json:"neurons"`
}

// Mechanism is one of the subnet's incentive mechanisms, as Status lists
// them.
type Mechanism struct {
	// Mechanism is its index, 0 to count-1.
	Mechanism uint8 `json:"mechanism"`
	// Name is Config.MechanismNames[Mechanism], or "mechanism N".
	Name string `json:"name"`
	// Split is its share of each epoch's emission, a u16 proportion of
	// 65535: the split in force, which is the even one when the subnet
	// stores none. The splits of a subnet sum to 65535.
	Split uint16 `json:"split"`
}

// mechanisms lists a subnet's mechanisms with the split in force and
// their names.
func mechanisms(p *chain.Hyperparams, names []string) []Mechanism {
	split := p.EffectiveSplit()
	out := make([]Mechanism, len(split))
	for m, v := range split {
		out[m] = Mechanism{Mechanism: uint8(m), Name: fmt.Sprintf("mechanism %d", m), Split: v}
		if m < len(names) {
			out[m].Name = names[m]
		}
	}
	return out
}

// EpochRecord is what one epoch of the subnet paid, as /api/history
// serves it and the "epoch" event carries.
type EpochRecord struct {
	// Epoch is the subnet's epoch index after the epoch ran (1 for the
	// first), Block the block it ran in.
	Epoch uint64 `json:"epoch"`
	Block uint64 `json:"block"`
	// Height is the block height of the state it was read from.
	Height int64 `json:"height"`
	// Time is when the dashboard recorded it (its clock).
	Time time.Time `json:"time"`
	// Emission is what the epoch minted for the subnet, in base units.
	Emission uint64 `json:"emission"`
	// UIDs are the subnet's uids, by uid.
	UIDs []UIDRecord `json:"uids"`
}

// UIDRecord is one uid's part of an epoch. Incentive, Dividends and
// ValidatorTrust are u16 fractions of 65535; Stake and Emission are base
// units.
type UIDRecord struct {
	UID            uint16 `json:"uid"`
	Hotkey         string `json:"hotkey"`
	Stake          uint64 `json:"stake"`
	Incentive      uint16 `json:"incentive"`
	Dividends      uint16 `json:"dividends"`
	Emission       uint64 `json:"emission"`
	ValidatorTrust uint16 `json:"validator_trust"`
}

// History is the answer of /api/history: the recorded epochs, oldest
// first, at most Capacity of them.
type History struct {
	Netuid   uint16        `json:"netuid"`
	Capacity int           `json:"capacity"`
	Epochs   []EpochRecord `json:"epochs"`
}

// New checks cfg and returns a dashboard that does nothing until Run.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Client == nil {
		return nil, errors.New("dashboard: no chain client")
	}
	switch {
	case cfg.History == 0:
		cfg.History = DefaultHistory
	case cfg.History < 0 || cfg.History > maxHistory:
		return nil, fmt.Errorf("dashboard: history %d: want 1 to %d epochs", cfg.History, maxHistory)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.ScoresTimeout <= 0 {
		cfg.ScoresTimeout = DefaultScoresTimeout
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if len(cfg.MechanismNames) > chain.MaxMechanisms {
		return nil, fmt.Errorf("dashboard: %d mechanism names: a subnet has at most %d mechanisms", len(cfg.MechanismNames), chain.MaxMechanisms)
	}
	for m, name := range cfg.MechanismNames {
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("dashboard: mechanism %d: empty name", m)
		}
	}
	cfg.MechanismNames = append([]string(nil), cfg.MechanismNames...)
	validators := make([]string, 0, len(cfg.Validators))
	seen := map[string]bool{}
	for _, v := range cfg.Validators {
		u, err := validatorURL(v)
		if err != nil {
			return nil, err
		}
		if seen[u] {
			return nil, fmt.Errorf("dashboard: validator %q is listed twice", v)
		}
		seen[u] = true
		validators = append(validators, u)
	}
	httpc := cfg.HTTPClient
	if httpc == nil {
		httpc = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 2}}
	}
	d := &Dashboard{
		cfg:        cfg,
		log:        cfg.Logger.With(zap.String("component", "dashboard"), zap.Uint16("netuid", cfg.Netuid)),
		now:        cfg.Clock,
		client:     cfg.Client,
		cache:      chainclient.NewMetagraphCache(cfg.Client, cfg.Netuid, cfg.Metagraph),
		httpc:      httpc,
		validators: validators,
		stopped:    make(chan struct{}),
		history:    newRing(cfg.History),
		subs:       map[chan struct{}]struct{}{},
	}
	d.scores = make([]ValidatorReport, len(validators))
	for i, v := range validators {
		d.scores[i] = ValidatorReport{URL: v, State: StatePending}
	}
	d.scoresRaw, d.scoresSeq = d.marshalScores(d.scores), 1 // a stream's first flush sends them
	return d, nil
}

// validatorURL checks a validator's base URL and returns it without a
// trailing slash.
func validatorURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("dashboard: validator %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("dashboard: validator %q: want http://host:port or https://host[:port], with an optional path", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Run follows the chain until ctx is cancelled, then returns nil: it
// keeps the metagraph fresh, records each new epoch of the subnet in the
// history, fetches the validators' scores at each update, and tells the
// event streams. A node that is down, or a subnet that does not exist
// yet, is waited for. Run may be called once; when it returns, open
// event streams end.
func (d *Dashboard) Run(ctx context.Context) error {
	if !d.started.CompareAndSwap(false, true) {
		return errors.New("dashboard: Run may be called only once")
	}
	defer d.stopOnce.Do(func() { close(d.stopped) })
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	wg.Go(func() {
		if err := d.cache.Run(ctx); err != nil {
			d.log.Error("metagraph cache stopped", zap.Error(err))
		}
	})
	kick := make(chan struct{}, 1)
	if len(d.validators) > 0 {
		wg.Go(func() { d.scoresLoop(ctx, kick) })
	}
	// The cache tells of new snapshots, not of losing the node: look now
	// and then, so the page learns that the chain went quiet.
	check := time.NewTicker(time.Second)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.cache.Updates():
			d.refresh(ctx)
			select {
			case kick <- struct{}{}:
			default:
			}
		case <-check.C:
			if d.cache.Stale() != d.lastStale {
				d.refresh(ctx)
			}
		}
	}
}

// refresh reads the latest snapshot, the epoch and the supply, records a
// new epoch if there is one, and publishes the status.
func (d *Dashboard) refresh(ctx context.Context) {
	view, height, ok := d.cache.Snapshot()
	stale := d.cache.Stale()
	d.lastStale = stale
	var errs []string
	if err := d.cache.Err(); err != nil {
		errs = append(errs, err.Error())
	}
	if !ok {
		d.mu.Lock()
		d.current.Stale, d.current.Error = true, strings.Join(errs, "; ")
		d.mu.Unlock()
		return
	}

	qctx, cancel := context.WithTimeout(ctx, d.cfg.QueryTimeout)
	var ep chain.EpochView
	epHeight, epErr := d.client.Query(qctx, chain.QueryEpoch+strconv.Itoa(int(d.cfg.Netuid)), &ep)
	sup, supErr := d.client.Supply(qctx)
	cancel()
	if ctx.Err() != nil {
		return // shutting down
	}
	if epErr != nil {
		errs = append(errs, epErr.Error())
		d.log.Warn("epoch query failed", zap.Error(epErr))
	} else {
		d.lastEpoch, d.haveEpoch = ep, true
	}
	if supErr != nil {
		errs = append(errs, supErr.Error())
		d.log.Warn("supply query failed", zap.Error(supErr))
	} else {
		d.lastSupply, d.haveSupply = sup, true
	}

	var rec *EpochRecord
	if epErr == nil && ep.Epoch > 0 && ep.Epoch > d.lastRecorded {
		rec = newRecord(&ep, epHeight, view, d.now())
		d.lastRecorded = ep.Epoch
	}

	st := Status{
		Netuid:     d.cfg.Netuid,
		Height:     height,
		Stale:      stale || epErr != nil || supErr != nil,
		Error:      strings.Join(errs, "; "),
		Updated:    d.now(),
		Mechanisms: mechanisms(&view.Subnet.Params, d.cfg.MechanismNames),
		Subnet:     view.Subnet,
		Neurons:    view.Neurons,
	}
	if d.haveEpoch {
		e := d.lastEpoch
		st.Epoch, st.LastEpochBlock, st.NextEpochBlock, st.EpochEmission = e.Epoch, e.LastEpochBlock, e.NextEpochBlock, e.Emission
	}
	if d.haveSupply {
		st.Supply = d.lastSupply
	}
	if st.Neurons == nil {
		st.Neurons = []chain.NeuronView{}
	}
	d.publish(st, rec)
}

// newRecord takes one epoch's outputs, with the hotkeys and stakes of
// the metagraph read at about the same height.
func newRecord(ep *chain.EpochView, height int64, mg *chain.MetagraphView, now time.Time) *EpochRecord {
	r := &EpochRecord{Epoch: ep.Epoch, Block: ep.LastEpochBlock, Height: height, Time: now, Emission: ep.Emission,
		UIDs: make([]UIDRecord, 0, len(ep.Neurons))}
	for _, n := range ep.Neurons {
		u := UIDRecord{UID: n.UID, Incentive: n.Incentive, Dividends: n.Dividends, Emission: n.Emission, ValidatorTrust: n.ValidatorTrust}
		if int(n.UID) < len(mg.Neurons) && mg.Neurons[n.UID].UID == n.UID {
			u.Hotkey, u.Stake = mg.Neurons[n.UID].Hotkey, mg.Neurons[n.UID].Stake
		}
		r.UIDs = append(r.UIDs, u)
	}
	return r
}

// publish stores the status (and a new epoch record) and wakes the event
// streams.
func (d *Dashboard) publish(st Status, rec *EpochRecord) {
	var recJSON []byte
	if rec != nil {
		b, err := json.Marshal(rec)
		if err != nil {
			d.log.Error("encode epoch record", zap.Error(err))
			rec = nil
		}
		recJSON = b
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if rec != nil {
		d.history.add(*rec, recJSON)
	}
	st.Recorded = d.history.len()
	b, err := json.Marshal(st)
	if err != nil {
		d.log.Error("encode status", zap.Error(err))
		return
	}
	d.status = b
	d.statusSeq++
	st.Neurons = nil
	d.current = st
	d.notifyLocked()
}

// notifyLocked wakes every event stream; d.mu is held.
func (d *Dashboard) notifyLocked() {
	for ch := range d.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// subscribe registers an event stream's wake-up channel (buffered, 1).
func (d *Dashboard) subscribe(ch chan struct{}) {
	d.mu.Lock()
	d.subs[ch] = struct{}{}
	d.mu.Unlock()
}

func (d *Dashboard) unsubscribe(ch chan struct{}) {
	d.mu.Lock()
	delete(d.subs, ch)
	d.mu.Unlock()
}

// HistorySnapshot returns the recorded epochs, oldest first. The records
// are shared: do not modify them.
func (d *Dashboard) HistorySnapshot() History {
	d.mu.Lock()
	defer d.mu.Unlock()
	return History{Netuid: d.cfg.Netuid, Capacity: d.history.cap(), Epochs: d.history.records()}
}
