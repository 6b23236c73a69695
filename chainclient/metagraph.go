package chainclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	jsonrpcclient "github.com/cometbft/cometbft/rpc/jsonrpc/client"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
)

// MetagraphOptions tunes a MetagraphCache. The zero value is usable.
type MetagraphOptions struct {
	// Every is how many blocks apart the cache re-queries the metagraph:
	// 1 (or 0) refreshes on every block.
	Every int64
	// RefreshTimeout bounds each metagraph query, each dial of the
	// websocket, the subscription request and each liveness probe.
	// Default 5s.
	RefreshTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between reconnection
	// attempts; it doubles after each failed attempt and starts again
	// from BackoffMin once a connection has delivered a snapshot.
	// Defaults 100ms and 10s.
	BackoffMin, BackoffMax time.Duration
	// StallTimeout is how long the cache waits for a block before it
	// asks the node (over plain HTTP) whether it is still there and still
	// making blocks: if the node does not answer, or has made blocks the
	// subscription did not deliver, the cache reconnects. Default 15s;
	// it should be a few block times.
	StallTimeout time.Duration
}

func (o MetagraphOptions) withDefaults() MetagraphOptions {
	if o.Every < 1 {
		o.Every = 1
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = 5 * time.Second
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 100 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 10 * time.Second
	}
	o.BackoffMax = max(o.BackoffMax, o.BackoffMin)
	if o.StallTimeout <= 0 {
		o.StallTimeout = 15 * time.Second
	}
	return o
}

// MetagraphCache keeps the latest metagraph of one subnet in memory,
// refreshed as the chain makes blocks. Readers never block: Snapshot and
// Lookup read an immutable snapshot through an atomic pointer.
//
// Run subscribes to the node's new block headers over its websocket and
// re-queries the metagraph every Every blocks, each query with a
// deadline, at most one at a time: blocks that arrive while a query is
// in flight are folded into one more query when it ends. If the
// subscription is lost (the node stops, restarts, or stops delivering
// blocks it is making), Run reconnects with capped exponential backoff
// and the last snapshot stays readable meanwhile, marked stale.
//
// The subscription is the header event (tm.event='NewBlockHeader'): it
// says the same as NewBlock without carrying every block's transactions.
// Run manages the websocket itself (rpc/jsonrpc/client with its own
// reconnection turned off) rather than through rpc/client/http, whose
// event channel never closes and whose reconnection, with sleeps of up to
// 2^25 s, cannot be bounded or observed.
type MetagraphCache struct {
	c      *Client
	netuid uint16
	opts   MetagraphOptions

	snap      atomic.Pointer[metagraphSnapshot]
	connected atomic.Bool // a live subscription, and the last refresh succeeded
	lastErr   atomic.Pointer[error]
	updates   chan int64
	running   atomic.Bool
	lost      atomic.Int64
}

// metagraphSnapshot is one immutable answer of the node and its index.
type metagraphSnapshot struct {
	view     *chain.MetagraphView
	height   int64
	at       time.Time
	byHotkey map[string]int // hotkey (AccountID.String()) → index in view.Neurons
}

// NewMetagraphCache returns a cache of subnet netuid's metagraph as c's
// node sees it. It does nothing until Run.
func NewMetagraphCache(c *Client, netuid uint16, opts MetagraphOptions) *MetagraphCache {
	return &MetagraphCache{c: c, netuid: netuid, opts: opts.withDefaults(), updates: make(chan int64, 1)}
}

// Snapshot returns the latest metagraph and the height of the state it
// was read from; ok is false until the first query has succeeded. The
// view is shared: do not modify it.
func (m *MetagraphCache) Snapshot() (view *chain.MetagraphView, height int64, ok bool) {
	s := m.snap.Load()
	if s == nil {
		return nil, 0, false
	}
	return s.view, s.height, true
}

// Lookup finds a hotkey's neuron in the latest snapshot.
func (m *MetagraphCache) Lookup(hotkey chain.AccountID) (chain.NeuronView, bool) {
	s := m.snap.Load()
	if s == nil {
		return chain.NeuronView{}, false
	}
	i, ok := s.byHotkey[hotkey.String()]
	if !ok {
		return chain.NeuronView{}, false
	}
	return s.view.Neurons[i], true
}

// Stale reports whether the snapshot may be behind the chain: Run is not
// subscribed to a node right now, or the last query failed (including
// while there is no snapshot yet).
func (m *MetagraphCache) Stale() bool { return !m.connected.Load() }

// Age is how long ago the latest snapshot was read from the node; 0 if
// there is none.
func (m *MetagraphCache) Age() time.Duration {
	s := m.snap.Load()
	if s == nil {
		return 0
	}
	return time.Since(s.at)
}

// Err is the last error the cache met (a lost node, a failed query, an
// unknown subnet), or nil if the last refresh succeeded.
func (m *MetagraphCache) Err() error {
	if p := m.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Reconnects counts the subscriptions Run has lost after making them
// (the node went away, restarted, or stopped delivering blocks), each
// followed by an attempt to connect again.
func (m *MetagraphCache) Reconnects() int64 { return m.lost.Load() }

// Updates delivers the height of each new snapshot. It holds one value
// and keeps the newest: a slow reader skips heights but always learns of
// the latest one. It is meant for one reader.
func (m *MetagraphCache) Updates() <-chan int64 { return m.updates }

func (m *MetagraphCache) setErr(err error) {
	if err == nil {
		m.lastErr.Store(nil)
		return
	}
	m.lastErr.Store(&err)
}

// Run keeps the cache fresh until ctx is cancelled, then returns nil. It
// retries forever: a node that is down, a subnet that does not exist
// yet, are waited for (see Err). Run may be called once at a time.
func (m *MetagraphCache) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("chainclient: metagraph cache: Run is already running")
	}
	defer m.running.Store(false)
	backoff := m.opts.BackoffMin
	for {
		subscribed, healthy, err := m.session(ctx)
		m.connected.Store(false)
		// Drop kept-alive HTTP connections: a stopped node's RPC server
		// can go on answering on them from its last state, and queries
		// would never reach the node that replaced it.
		m.c.Close()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			m.setErr(err)
		}
		if subscribed {
			m.lost.Add(1)
		}
		if healthy {
			backoff = m.opts.BackoffMin
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, m.opts.BackoffMax)
	}
}

// LogProblems logs, until ctx is done, when the cache cannot load the
// metagraph (Err is not nil): a warning with the error when it starts
// failing, another every `every` (30s if not positive) while it keeps
// failing, whatever the retries in between, and an info line when it
// loads again. It looks at Err every second. A daemon runs it beside Run,
// so that a node that is down or a subnet that does not exist is said, not
// only waited for.
func (m *MetagraphCache) LogProblems(ctx context.Context, log *zap.Logger, every time.Duration) {
	if every <= 0 {
		every = 30 * time.Second
	}
	logProblems(ctx, m, log, every, time.Second, time.Now)
}

// problemSource is what logProblems watches: a MetagraphCache.
type problemSource interface {
	Err() error
	Snapshot() (view *chain.MetagraphView, height int64, ok bool)
}

// logProblems is LogProblems, looking every poll, with its clock.
func logProblems(ctx context.Context, src problemSource, log *zap.Logger, every, poll time.Duration, now func() time.Time) {
	t := time.NewTicker(poll)
	defer t.Stop()
	var since, warned time.Time // since the failure began, the last warning; zero while healthy
	for {
		if err := src.Err(); err != nil {
			switch at := now(); {
			case since.IsZero():
				since, warned = at, at
				_, _, loaded := src.Snapshot()
				msg := "cannot load the subnet's metagraph from the node; retrying"
				if loaded {
					msg = "cannot refresh the subnet's metagraph from the node; serving the last one, retrying"
				}
				log.Warn(msg, zap.Error(err))
			case at.Sub(warned) >= every:
				warned = at
				log.Warn("still cannot load the subnet's metagraph from the node; retrying", zap.Error(err), zap.Duration("for", at.Sub(since).Round(time.Second)))
			}
		} else if !since.IsZero() {
			_, h, _ := src.Snapshot()
			log.Info("the subnet's metagraph loads again", zap.Int64("height", h), zap.Duration("after", now().Sub(since).Round(time.Second)))
			since, warned = time.Time{}, time.Time{}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newBlockQuery is the subscription: block headers are enough to learn
// of a block.
const newBlockQuery = "tm.event='NewBlockHeader'"

// blockEvent is the part of an event the cache reads.
type blockEvent struct {
	Data struct {
		Value struct {
			Header struct {
				Height string `json:"height"`
			} `json:"header"`
		} `json:"value"`
	} `json:"data"`
}

// errResubscribe ends a session whose websocket reconnected by itself: its
// subscription is gone.
var errResubscribe = errors.New("websocket reconnected; subscribing again")

// session connects, subscribes and refreshes until the subscription is
// lost or ctx is done. subscribed reports whether it got as far as a
// subscription, healthy whether it delivered a snapshot.
func (m *MetagraphCache) session(ctx context.Context) (subscribed, healthy bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // the refresh in flight, after cancel below
	defer cancel()

	reconnected := make(chan struct{}, 1)
	ws, err := jsonrpcclient.NewWS(m.c.addr, "/websocket",
		jsonrpcclient.MaxReconnectAttempts(0),
		jsonrpcclient.PingPeriod(min(m.opts.StallTimeout/2, 10*time.Second)),
		jsonrpcclient.WriteWait(m.opts.RefreshTimeout),
		jsonrpcclient.OnReconnect(func() {
			select {
			case reconnected <- struct{}{}:
			default:
			}
		}))
	if err != nil {
		return false, false, fmt.Errorf("chainclient: metagraph: websocket to %s: %w", m.c.addr, err)
	}
	dialer := &net.Dialer{Timeout: m.opts.RefreshTimeout, KeepAlive: 30 * time.Second}
	ws.Dialer = dialer.Dial
	if err := ws.Start(); err != nil {
		return false, false, m.c.wrap("metagraph: subscribe", err)
	}
	defer func() { _ = ws.Stop() }()
	sctx, scancel := context.WithTimeout(ctx, m.opts.RefreshTimeout)
	err = ws.Subscribe(sctx, newBlockQuery)
	scancel()
	if err != nil {
		return false, false, m.c.wrap("metagraph: subscribe", err)
	}

	type outcome struct {
		snap *metagraphSnapshot
		err  error
	}
	done := make(chan outcome, 1)
	inFlight, pending := false, false
	refresh := func() {
		if inFlight {
			pending = true
			return
		}
		inFlight, pending = true, false
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.fetch(ctx)
			done <- outcome{s, err}
		}()
	}
	refresh() // at once: the first snapshot should not wait for a block

	var lastBlock, lastRefreshBlock int64
	watchdog := time.NewTimer(m.opts.StallTimeout)
	defer watchdog.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, healthy, nil
		case <-reconnected:
			return true, healthy, errResubscribe
		case resp, ok := <-ws.ResponsesCh:
			if !ok {
				return true, healthy, fmt.Errorf("chainclient: metagraph: websocket to %s closed", m.c.addr)
			}
			if resp.Error != nil {
				return true, healthy, fmt.Errorf("chainclient: metagraph: subscription at %s: %w", m.c.addr, resp.Error)
			}
			var ev blockEvent
			if json.Unmarshal(resp.Result, &ev) != nil || ev.Data.Value.Header.Height == "" {
				continue // the subscription's acknowledgement
			}
			h, err := strconv.ParseInt(ev.Data.Value.Header.Height, 10, 64)
			if err != nil {
				continue
			}
			lastBlock = max(lastBlock, h)
			if !watchdog.Stop() {
				select {
				case <-watchdog.C:
				default:
				}
			}
			watchdog.Reset(m.opts.StallTimeout)
			if lastRefreshBlock == 0 || h >= lastRefreshBlock+m.opts.Every {
				lastRefreshBlock = h
				refresh()
			}
		case o := <-done:
			inFlight = false
			if o.err != nil {
				m.connected.Store(false)
				m.setErr(o.err)
			} else {
				healthy = true
				m.snap.Store(o.snap)
				m.connected.Store(true)
				m.setErr(nil)
				select {
				case <-m.updates:
				default:
				}
				m.updates <- o.snap.height
			}
			if pending {
				refresh()
			}
		case <-watchdog.C:
			// No block for a while: is the node there, and still making
			// blocks we are not told of?
			pctx, pcancel := context.WithTimeout(ctx, m.opts.RefreshTimeout)
			st, err := m.c.rpc.Status(pctx)
			pcancel()
			if err != nil {
				return true, healthy, m.c.wrap("metagraph: no block for "+m.opts.StallTimeout.String()+", status", err)
			}
			if st.SyncInfo.LatestBlockHeight > lastBlock {
				return true, healthy, fmt.Errorf("chainclient: metagraph: node %s is at height %d but the subscription delivered nothing after %d", m.c.addr, st.SyncInfo.LatestBlockHeight, lastBlock)
			}
			watchdog.Reset(m.opts.StallTimeout)
		}
	}
}

// fetch queries the metagraph with a deadline and indexes it.
func (m *MetagraphCache) fetch(ctx context.Context) (*metagraphSnapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.RefreshTimeout)
	defer cancel()
	v := new(chain.MetagraphView)
	h, err := m.c.Query(ctx, chain.QueryMetagraph+strconv.Itoa(int(m.netuid)), v)
	if err != nil {
		return nil, err
	}
	idx := make(map[string]int, len(v.Neurons))
	for i, n := range v.Neurons {
		idx[n.Hotkey] = i
	}
	return &metagraphSnapshot{view: v, height: h, at: time.Now(), byHotkey: idx}, nil
}
