package chainclient

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/node"
)

// fastCache is options for a local chain with 50 ms blocks.
var fastCache = MetagraphOptions{
	RefreshTimeout: 2 * time.Second,
	BackoffMin:     20 * time.Millisecond,
	BackoffMax:     200 * time.Millisecond,
	StallTimeout:   500 * time.Millisecond,
}

// runCache runs m until the test ends, checking that Run then returns nil
// promptly; stop ends it earlier, with the same checks.
func runCache(t *testing.T, m *MetagraphCache) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after cancel: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool, state ...func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			for _, f := range state {
				what += " (" + f() + ")"
			}
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMetagraphCacheFollowsRegistration(t *testing.T) {
	alice, aliceID := newKey(t, 1)
	hot, hotID := newKey(t, 3)
	addr := startNode(t, map[chain.AccountID]uint64{aliceID: 1000 * chain.Unit})
	c, err := New(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	m := NewMetagraphCache(c, 1, fastCache)
	if _, _, ok := m.Snapshot(); ok || !m.Stale() {
		t.Fatal("a cache that has not run has a snapshot or is not stale")
	}
	stop := runCache(t, m)

	// Subnet 1 does not exist yet: no snapshot, and Err says why.
	waitFor(t, 5*time.Second, "the unknown subnet reported", func() bool {
		return m.Err() != nil && strings.Contains(m.Err().Error(), "no subnet 1")
	})
	if _, _, ok := m.Snapshot(); ok {
		t.Fatal("snapshot of a subnet that does not exist")
	}

	id, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := chain.SignTx(alice, id, 0, &chain.CreateSubnet{Params: chain.DefaultHyperparams()})
	if r, err := c.BroadcastAndWait(ctx, tx); err != nil || !r.OK() {
		t.Fatalf("create subnet: %+v, %v", r, err)
	}
	// The empty subnet appears.
	waitFor(t, 5*time.Second, "the new subnet's snapshot", func() bool {
		v, _, ok := m.Snapshot()
		return ok && v.Subnet.Netuid == 1 && len(v.Neurons) == 0
	})
	if m.Stale() || m.Err() != nil || m.Age() > 5*time.Second {
		t.Errorf("after a snapshot: stale %v, err %v, age %v", m.Stale(), m.Err(), m.Age())
	}
	if _, ok := m.Lookup(hotID); ok {
		t.Fatal("Lookup found an unregistered hotkey")
	}

	// Readers run against refreshes (for the race detector): snapshots
	// are immutable and swapped whole.
	readers, stopReaders := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopReaders()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for readers.Err() == nil {
				if v, h, ok := m.Snapshot(); ok && (h <= 0 || v.Subnet.Netuid != 1) {
					t.Errorf("snapshot at %d of subnet %d", h, v.Subnet.Netuid)
					return
				}
				if n, ok := m.Lookup(hotID); ok && n.Hotkey != hotID.String() {
					t.Errorf("Lookup(%s) = %s", hotID, n.Hotkey)
					return
				}
			}
		}()
	}

	reg, err := chain.NewRegister(id, 1, hot, aliceID, 100*chain.Unit)
	if err != nil {
		t.Fatal(err)
	}
	tx, _ = chain.SignTx(alice, id, 1, reg)
	r, err := c.BroadcastAndWait(ctx, tx)
	if err != nil || !r.OK() {
		t.Fatalf("register: %+v, %v", r, err)
	}
	// Within a few blocks the cache has the uid, and says so on Updates.
	var seen int64
	timeout := time.After(5 * time.Second)
	for seen < r.Height {
		select {
		case seen = <-m.Updates():
		case <-timeout:
			t.Fatalf("no update at or after height %d (last %d)", r.Height, seen)
		}
	}
	v, height, ok := m.Snapshot()
	if !ok || height < r.Height || len(v.Neurons) != 1 || v.Neurons[0].Hotkey != hotID.String() {
		t.Fatalf("snapshot at %d after registration at %d: %+v", height, r.Height, v)
	}
	n, ok := m.Lookup(hotID)
	if !ok || n.UID != 0 || n.Hotkey != hotID.String() || n.Coldkey != aliceID.String() {
		t.Fatalf("Lookup = %+v, %v", n, ok)
	}
	// Snapshots keep coming with the blocks.
	select {
	case h := <-m.Updates():
		if h < height {
			t.Errorf("update went back from %d to %d", height, h)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no further update")
	}

	// Cancel stops Run cleanly; the last snapshot stays readable.
	stop()
	if _, ok := m.Lookup(hotID); !ok || !m.Stale() {
		t.Errorf("after stop: lookup %v, stale %v", ok, m.Stale())
	}
}

func TestMetagraphCacheEveryNBlocks(t *testing.T) {
	alice, aliceID := newKey(t, 1)
	addr := startNode(t, map[chain.AccountID]uint64{aliceID: 1000 * chain.Unit})
	c, err := New(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tx, _ := chain.SignTx(alice, testChainID, 0, &chain.CreateSubnet{Params: chain.DefaultHyperparams()})
	if r, err := c.BroadcastAndWait(ctx, tx); err != nil || !r.OK() {
		t.Fatalf("create subnet: %+v, %v", r, err)
	}
	opts := fastCache
	opts.Every = 5
	m := NewMetagraphCache(c, 1, opts)
	runCache(t, m)
	var heights []int64
	// Generous: a node on a loaded 2-core machine can pause for seconds.
	timeout := time.After(30 * time.Second)
	for len(heights) < 4 {
		select {
		case h := <-m.Updates():
			heights = append(heights, h)
		case <-timeout:
			t.Fatalf("updates: %v", heights)
		}
	}
	// The first snapshot is taken at once; then one every 5 blocks. A
	// query may answer from a later block than the one that asked for it,
	// so check the average: 3 refreshes after the second span at least
	// 10 blocks (every block would be 3).
	if span := heights[len(heights)-1] - heights[1]; span < 10 {
		t.Errorf("heights %v: %d refreshes in %d blocks, want one per 5 blocks", heights, len(heights)-2, span)
	}
}

// ownNode is a node the test can stop and start again on the same home
// and ports.
type ownNode struct {
	t      *testing.T
	home   string
	cancel context.CancelFunc
	done   chan error
}

func initOwnNode(t *testing.T, balances map[chain.AccountID]uint64, rpcPort, p2pPort int) *ownNode {
	t.Helper()
	var gb []chain.GenesisBalance
	for id, amount := range balances {
		gb = append(gb, chain.GenesisBalance{Account: id.String(), Amount: amount})
	}
	home := t.TempDir()
	err := node.Init(home, node.InitOptions{
		ChainID:    testChainID,
		Balances:   gb,
		P2PAddress: fmt.Sprintf("127.0.0.1:%d", p2pPort),
		RPCAddress: fmt.Sprintf("127.0.0.1:%d", rpcPort),
		BlockTime:  50 * time.Millisecond,
		Configure: func(c *cmtcfg.Config) {
			c.Consensus.TimeoutPropose = 500 * time.Millisecond
			c.Consensus.TimeoutPrevote = 50 * time.Millisecond
			c.Consensus.TimeoutPrecommit = 50 * time.Millisecond
			c.LogLevel = "*:error"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	o := &ownNode{t: t, home: home}
	t.Cleanup(o.stop)
	return o
}

// start runs the node in the background; it is ready when it answers.
func (o *ownNode) start() {
	o.t.Helper()
	n, err := node.New(o.home, zap.NewNop())
	if err != nil {
		o.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel, o.done = cancel, make(chan error, 1)
	go func() { o.done <- n.Run(ctx) }()
}

// stop stops the node and waits for it.
func (o *ownNode) stop() {
	if o.cancel == nil {
		return
	}
	o.cancel()
	if err := <-o.done; err != nil {
		o.t.Errorf("node: %v", err)
	}
	o.cancel = nil
}

func TestMetagraphCacheReconnects(t *testing.T) {
	alice, aliceID := newKey(t, 1)
	hot, hotID := newKey(t, 3)
	ports, err := node.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	n := initOwnNode(t, map[chain.AccountID]uint64{aliceID: 1000 * chain.Unit}, ports[0], ports[1])
	c, err := New(fmt.Sprintf("tcp://127.0.0.1:%d", ports[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// The cache starts before the node: it waits, says the node is
	// unreachable, and has no snapshot.
	m := NewMetagraphCache(c, 1, fastCache)
	runCache(t, m)
	waitFor(t, 5*time.Second, "the missing node reported", func() bool {
		return m.Err() != nil && strings.Contains(m.Err().Error(), "unreachable")
	})
	if _, _, ok := m.Snapshot(); ok || !m.Stale() {
		t.Fatal("a snapshot without a node")
	}

	// The node comes up: the cache connects on its own.
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	waitFor(t, 10*time.Second, "the node answering", func() bool {
		qctx, qcancel := context.WithTimeout(ctx, time.Second)
		defer qcancel()
		_, err := c.ChainID(qctx)
		return err == nil
	})
	tx, _ := chain.SignTx(alice, testChainID, 0, &chain.CreateSubnet{Params: chain.DefaultHyperparams()})
	if r, err := c.BroadcastAndWait(ctx, tx); err != nil || !r.OK() {
		t.Fatalf("create subnet: %+v, %v", r, err)
	}
	reg, err := chain.NewRegister(testChainID, 1, hot, aliceID, 100*chain.Unit)
	if err != nil {
		t.Fatal(err)
	}
	tx, _ = chain.SignTx(alice, testChainID, 1, reg)
	r, err := c.BroadcastAndWait(ctx, tx)
	if err != nil || !r.OK() {
		t.Fatalf("register: %+v, %v", r, err)
	}
	waitFor(t, 5*time.Second, "the registration in the cache", func() bool {
		_, ok := m.Lookup(hotID)
		return ok && !m.Stale()
	})

	// The node goes away: the last snapshot stays, marked stale.
	n.stop()
	_, before, _ := m.Snapshot()
	waitFor(t, 5*time.Second, "the cache noticing the node is gone", m.Stale)
	v, h, ok := m.Snapshot()
	if !ok || h < before || len(v.Neurons) != 1 || m.Err() == nil {
		t.Fatalf("stale snapshot: ok %v height %d (before %d) %+v, err %v", ok, h, before, v, m.Err())
	}
	if _, ok := m.Lookup(hotID); !ok {
		t.Fatal("Lookup failed on the stale snapshot")
	}
	agedFrom := m.Age()
	waitFor(t, 5*time.Second, "the stale snapshot aging", func() bool { return m.Age() > agedFrom })

	// It comes back on the same address: the cache resubscribes and
	// moves on past the old height.
	n.start()
	waitFor(t, 15*time.Second, "the cache back with the restarted node", func() bool {
		_, h, _ := m.Snapshot()
		return !m.Stale() && h > before
	}, func() string {
		_, h, _ := m.Snapshot()
		st, err := c.rpc.Status(ctx)
		var lh int64
		if err == nil {
			lh = st.SyncInfo.LatestBlockHeight
		}
		return fmt.Sprintf("height %d before %d node %d %v, stale %v, err %v", h, before, lh, err, m.Stale(), m.Err())
	})
	if _, ok := m.Lookup(hotID); !ok {
		t.Fatal("Lookup after reconnection")
	}
	if m.Reconnects() == 0 {
		t.Error("Reconnects() = 0 after a node restart")
	}
}

// freezingProxy forwards TCP connections to a node; freeze makes every
// connection open at the time go silent without closing, as a network
// partition would, while new connections still get through.
type freezingProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frozen []*atomic.Bool
	conns  []net.Conn
	quit   chan struct{}
}

func newFreezingProxy(t *testing.T, target string) *freezingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezingProxy{ln: ln, target: strings.TrimPrefix(target, "tcp://"), quit: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(p.quit)
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			f := &atomic.Bool{}
			p.mu.Lock()
			p.frozen = append(p.frozen, f)
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				defer dst.Close()
				defer src.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if err != nil {
						return
					}
					if f.Load() {
						<-p.quit // swallow everything from now on
						return
					}
					if _, err := dst.Write(buf[:n]); err != nil {
						return
					}
				}
			}
			wg.Add(2)
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	return p
}

func (p *freezingProxy) addr() string { return "tcp://" + p.ln.Addr().String() }

func (p *freezingProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frozen {
		f.Store(true)
	}
}

// A subscription that goes silent without closing (a partition, a
// half-open connection) is noticed by the stall watchdog and replaced.
func TestMetagraphCacheSilentSubscription(t *testing.T) {
	alice, aliceID := newKey(t, 1)
	addr := startNode(t, map[chain.AccountID]uint64{aliceID: 1000 * chain.Unit})
	p := newFreezingProxy(t, addr)
	c, err := New(p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tx, _ := chain.SignTx(alice, testChainID, 0, &chain.CreateSubnet{Params: chain.DefaultHyperparams()})
	if r, err := c.BroadcastAndWait(ctx, tx); err != nil || !r.OK() {
		t.Fatalf("create subnet: %+v, %v", r, err)
	}
	opts := fastCache
	opts.RefreshTimeout = 300 * time.Millisecond
	m := NewMetagraphCache(c, 1, opts)
	runCache(t, m)
	waitFor(t, 5*time.Second, "a snapshot", func() bool { _, _, ok := m.Snapshot(); return ok && !m.Stale() })
	p.freeze()
	_, frozenAt, _ := m.Snapshot()
	lost := m.Reconnects()
	waitFor(t, 10*time.Second, "snapshots past the partition", func() bool {
		_, h, _ := m.Snapshot()
		return h > frozenAt+5 && !m.Stale() && m.Reconnects() > lost
	}, func() string {
		_, h, _ := m.Snapshot()
		return fmt.Sprintf("height %d, frozen at %d, err %v", h, frozenAt, m.Err())
	})
}
