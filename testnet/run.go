// Package testnet runs Agora across hosts: a manifest names the hosts
// (chain validators, full nodes, miners, validators) and the faults to
// inject; Run makes each host a Linux network namespace with its own
// address, runs bin/agora in them as an operator would on separate
// machines, applies the faults one by one and checks the network's
// invariants after each. It is CometBFT's e2e runner (test/e2e) for
// Agora.
package testnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
)

// The ports every host uses: hosts have addresses of their own, so they
// need not differ.
const (
	p2pPort       = 26656
	rpcPort       = 26657
	minerPort     = 8091
	validatorPort = 9091
	netuid        = 1
	// password is every key's password in the harness's wallet.
	password = "testnet-password"
)

// Options configures Run.
type Options struct {
	// Manifest is the testnet to run.
	Manifest *Manifest
	// Bin is the agora binary that every host runs.
	Bin string
	// Model is the built-in model's folder (or checkpoint) that miners
	// serve and validators verify.
	Model string
	// Dir holds the run: homes, logs (<host>.log) and commands.sh, the
	// commands run on each host. It is kept for reading after the run.
	Dir string
	// Out receives progress and the report.
	Out io.Writer
}

// StepReport is what one perturbation did to the chain.
type StepReport struct {
	Perturbation string `json:"perturbation"`
	// Took is from the fault until every invariant held again.
	Took time.Duration `json:"took_ns"`
	// Expected is the blocks the chain makes in Took at its undisturbed
	// pace; Produced the blocks it made; Lost the difference (0 if more).
	Expected int64 `json:"expected_blocks"`
	Produced int64 `json:"produced_blocks"`
	Lost     int64 `json:"lost_blocks"`
	// Checks are the invariants checked after it.
	Checks []string `json:"checks"`
}

// JoinReport is one late node's join.
type JoinReport struct {
	Host      string        `json:"host"`
	StateSync bool          `json:"state_sync"`
	Took      time.Duration `json:"took_ns"`
	// Height is the chain's height when it started; Base the first block
	// it holds (above 1 after state sync).
	Height int64 `json:"height"`
	Base   int64 `json:"base"`
}

// Report is what Run measured.
type Report struct {
	Setup         time.Duration `json:"setup_ns"`
	FirstPaid     time.Duration `json:"first_paid_ns"`
	BlockInterval time.Duration `json:"block_interval_ns"`
	Steps         []StepReport  `json:"steps"`
	Joins         []JoinReport  `json:"joins"`
	Height        int64         `json:"height"`
	Total         time.Duration `json:"total_ns"`
}

type blockID struct{ hash, appHash string }

type run struct {
	o       Options
	m       *Manifest
	net     *Network
	home    string // the operator's wallet home, shared by the daemons
	chain   string // the chain nodes' homes
	start   time.Time
	procs   map[string]*proc
	nodes   map[string]*chainclient.Client // chain nodes that run, by host
	hotkey  map[string]string              // miner and validator hosts' hotkeys, hex
	coldkey map[string]string              // their coldkeys' addresses
	labels  map[string]*labeler            // by miner host
	http    *http.Client
	ws      *websocket.Dialer
	// canon is the chain as the first node to report each height saw it;
	// checked the height each node is checked to.
	canon      map[int64]blockID
	checked    map[string]int64
	transcript *os.File
	owner      string
	peers      string
	interval   time.Duration
	cancel     context.CancelFunc
	bg         context.Context
	rep        Report
}

// Run runs the testnet of o.Manifest: it makes the hosts, sets up the
// chain, the subnet, the miners and the validators through bin/agora,
// waits until every miner is paid, then applies each perturbation and
// checks after it: the same block (and so app hash) at every height on
// every node, the supply ledger, labels acknowledged and never lost,
// validators' scores kept across their restart, and honest miners across
// hosts scored and paid. However it ends, it stops every process and
// removes every namespace it made.
func Run(ctx context.Context, o Options) (_ *Report, err error) {
	if o.Manifest == nil || o.Bin == "" || o.Model == "" || o.Dir == "" {
		return nil, errors.New("testnet: Manifest, Bin, Model and Dir are required")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	for _, f := range []struct{ what, path string }{{"agora binary", o.Bin}, {"model", o.Model}} {
		if _, err := os.Stat(f.path); err != nil {
			return nil, fmt.Errorf("testnet: %s: %w", f.what, err)
		}
	}
	bin, err := filepath.Abs(o.Bin)
	if err != nil {
		return nil, err
	}
	o.Bin = bin
	if o.Model, err = filepath.Abs(o.Model); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	if o.Dir, err = filepath.Abs(o.Dir); err != nil {
		return nil, err
	}
	r := &run{
		o: o, m: o.Manifest, home: filepath.Join(o.Dir, "home"), chain: filepath.Join(o.Dir, "chain"), start: time.Now(),
		procs: map[string]*proc{}, nodes: map[string]*chainclient.Client{}, hotkey: map[string]string{}, coldkey: map[string]string{}, labels: map[string]*labeler{},
		canon: map[int64]blockID{}, checked: map[string]int64{},
	}
	if r.transcript, err = os.Create(filepath.Join(o.Dir, "commands.sh")); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	defer r.transcript.Close()
	fmt.Fprintf(r.transcript, "# The commands the testnet ran, host by host (AGORA_PASSWORD is set).\n")

	var hosts []*Host
	for i := range r.m.Hosts {
		hosts = append(hosts, &r.m.Hosts[i])
	}
	r.say("making %d hosts in %s", len(hosts), r.m.Prefix())
	if r.net, err = NewNetwork(r.m.Prefix(), hosts); err != nil {
		return nil, err
	}
	r.http = &http.Client{Transport: &http.Transport{DialContext: r.net.DialContext}, Timeout: 10 * time.Second}
	r.ws = &websocket.Dialer{NetDialContext: r.net.DialContext, HandshakeTimeout: 10 * time.Second}
	r.bg, r.cancel = context.WithCancel(ctx)
	defer func() {
		r.cancel()
		stopErr := r.stopAll()
		if err == nil && stopErr != nil {
			err = stopErr
		}
		for _, c := range r.nodes {
			c.Close()
		}
		if cerr := r.net.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			err = fmt.Errorf("%w\n(the run's logs and commands are in %s)", err, o.Dir)
		}
	}()
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	for i, p := range r.m.Perturbations {
		if err := r.perturb(ctx, i, p); err != nil {
			return nil, fmt.Errorf("testnet: perturbation %d (%s): %w", i+1, p, err)
		}
	}
	if err := r.finish(ctx); err != nil {
		return nil, err
	}
	r.rep.Total = time.Since(r.start)
	return &r.rep, nil
}

func (r *run) say(format string, args ...any) {
	fmt.Fprintf(r.o.Out, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// agora runs bin/agora with args on host ("" for the operator's own
// machine, outside the network), records it in commands.sh, and returns
// its standard output.
func (r *run) agora(ctx context.Context, host string, args ...string) (string, error) {
	var cmd *exec.Cmd
	if host == "" {
		cmd = exec.CommandContext(ctx, r.o.Bin, args...)
		fmt.Fprintf(r.transcript, "\n# the operator's machine\nagora %s\n", strings.Join(quoteAll(args), " "))
	} else {
		cmd = r.net.Command(host, r.o.Bin, args...)
		fmt.Fprintf(r.transcript, "\n# on %s (%s)\nagora %s\n", host, r.m.Host(host).Addr(), strings.Join(quoteAll(args), " "))
	}
	cmd.Env = agoraEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return stdout.String(), fmt.Errorf("agora %s on %s: %v: %s", strings.Join(args, " "), orOperator(host), err, strings.TrimSpace(stderr.String()))
		}
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return "", ctx.Err()
	}
	return stdout.String(), nil
}

func orOperator(host string) string {
	if host == "" {
		return "the operator's machine"
	}
	return host
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \"'$") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return out
}

// daemon starts bin/agora with args on host as its long-running process.
func (r *run) daemon(host string, args ...string) error {
	fmt.Fprintf(r.transcript, "\n# on %s (%s), left running\nagora %s\n", host, r.m.Host(host).Addr(), strings.Join(quoteAll(args), " "))
	return r.launch(host, r.net.Command(host, r.o.Bin, args...), filepath.Join(r.o.Dir, host+".log"))
}

// restart starts host's process again with the same command.
func (r *run) restart(host string) error {
	old := r.procs[host]
	return r.launch(host, exec.Command(old.args[0], old.args[1:]...), old.logPath)
}

// launch starts cmd as host's process, logging to logPath.
func (r *run) launch(host string, cmd *exec.Cmd, logPath string) error {
	cmd.Env = agoraEnv()
	p, err := startProc(host, cmd, logPath)
	if err != nil {
		return err
	}
	r.procs[host] = p
	return nil
}

// agoraEnv is the environment of every bin/agora the harness runs: its
// keys' password, which the harness set.
func agoraEnv() []string { return append(os.Environ(), "AGORA_PASSWORD="+password) }

// alive fails if a process the harness did not stop has exited.
func (r *run) alive() error {
	for _, h := range r.m.Hosts {
		if p := r.procs[h.Name]; p != nil {
			if err := p.crashed(); err != nil {
				return err
			}
		}
	}
	return nil
}

// stopAll stops every process with SIGTERM: each must exit cleanly.
func (r *run) stopAll() error {
	var errs []error
	for _, role := range []string{RoleValidator, RoleMiner, RoleFullNode, RoleChainValidator} {
		for _, h := range r.m.HostsWith(role) {
			p := r.procs[h.Name]
			if p == nil {
				continue
			}
			if done, _ := p.exited(); done {
				if err := p.crashed(); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			if err := p.stop(20 * time.Second); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", h.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (r *run) rpcAddr(host string) string {
	return "tcp://" + netip.AddrPortFrom(r.m.Host(host).Addr(), rpcPort).String()
}

// waitFor polls cond until it holds, the processes die, or timeout.
func (r *run) waitFor(ctx context.Context, what string, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if err := parent.Err(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := r.alive(); err != nil {
			return err
		}
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		var f fatal
		if errors.As(err, &f) {
			return f.error
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if last != nil {
				return fmt.Errorf("%s: not within %v (last: %v)", what, timeout, last)
			}
			return fmt.Errorf("%s: not within %v", what, timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// fatal is a condition's error that waiting longer cannot cure, such as
// a lost label: waitFor returns it at once.
type fatal struct{ error }

// retry is f until it succeeds, for what a busy node may answer late.
func retry[T any](ctx context.Context, r *run, what string, f func(context.Context) (T, error)) (T, error) {
	var v T
	err := r.waitFor(ctx, what, 60*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		v, err = f(ctx)
		return err == nil, err
	})
	return v, err
}

// setup makes the wallet, the chain, the subnet, the miners and the
// validators, and waits until every miner is paid.
func (r *run) setup(ctx context.Context) error {
	// The subnet owner's wallet, on the operator's machine; every miner and
	// validator has its own, on its own host, as separate operators would.
	out, err := r.agora(ctx, "", "wallet", "create", "--home", r.home, "--wallet", "owner", "--output", "json")
	if err != nil {
		return err
	}
	var w struct{ Address string }
	if err := json.Unmarshal([]byte(out), &w); err != nil {
		return fmt.Errorf("wallet create: %w: %s", err, out)
	}
	r.owner = w.Address
	for _, h := range r.m.Hosts {
		if h.Role != RoleMiner && h.Role != RoleValidator {
			continue
		}
		home := r.hostHome(h.Name)
		out, err := r.agora(ctx, h.Name, "wallet", "create", "--home", home, "--wallet", "op", "--output", "json")
		if err != nil {
			return err
		}
		var c struct{ Address string }
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			return fmt.Errorf("wallet create: %w: %s", err, out)
		}
		r.coldkey[h.Name] = c.Address
		if out, err = r.agora(ctx, h.Name, "wallet", "new-hotkey", "--home", home, "--wallet", "op", "--hotkey", h.Name, "--output", "json"); err != nil {
			return err
		}
		var k struct {
			PublicKey string `json:"public_key"`
		}
		if err := json.Unmarshal([]byte(out), &k); err != nil {
			return fmt.Errorf("wallet new-hotkey: %w: %s", err, out)
		}
		r.hotkey[h.Name] = k.PublicKey // as the chain shows hotkeys
	}

	validators := r.m.HostsWith(RoleChainValidator)
	ips := make([]string, len(validators))
	for i, h := range validators {
		ips[i] = h.Addr().String()
	}
	out, err = r.agora(ctx, "", "node", "testnet", "--out", r.chain, "--validators", strconv.Itoa(len(validators)),
		"--chain-id", r.m.ChainID, "--hosts", strings.Join(ips, ","), "--balance", r.owner+"=1000000", "--governance", r.owner,
		"--block-time", r.m.BlockTime.Std().String(), "--snapshot-interval", strconv.Itoa(r.m.SnapshotInterval), "--output", "json")
	if err != nil {
		return err
	}
	var tn struct {
		Homes   []string `json:"homes"`
		Genesis string   `json:"genesis"`
		Peers   string   `json:"peers"`
	}
	if err := json.Unmarshal([]byte(out), &tn); err != nil || len(tn.Homes) != len(validators) {
		return fmt.Errorf("node testnet: %v: %s", err, out)
	}
	r.peers = tn.Peers
	for i, h := range validators {
		if err := os.Rename(tn.Homes[i], r.nodeHome(h.Name)); err != nil {
			return err
		}
	}
	r.say("starting %d chain validators", len(validators))
	for _, h := range validators {
		if err := r.startNode(h.Name); err != nil {
			return err
		}
	}
	for _, h := range r.m.HostsWith(RoleFullNode) {
		if h.Late {
			continue
		}
		if err := r.joinNode(ctx, h); err != nil {
			return err
		}
	}
	if err := r.waitHeight(ctx, 2, 60*time.Second); err != nil {
		return err
	}
	if err := r.subnet(ctx); err != nil {
		return err
	}
	if err := r.startDaemons(ctx); err != nil {
		return err
	}
	r.rep.Setup = time.Since(r.start)
	r.say("set up in %.1fs; waiting until every miner is paid", r.rep.Setup.Seconds())
	if err := r.waitFor(ctx, "every miner paid and every validator scoring every miner", 150*time.Second, r.paid); err != nil {
		return err
	}
	r.rep.FirstPaid = time.Since(r.start)
	// The undisturbed pace, against which perturbations' blocks are
	// counted: measured over a quiet window once everything runs.
	h0, t0 := r.height(ctx), time.Now()
	if err := pause(ctx, 8*time.Second); err != nil {
		return err
	}
	h1 := r.height(ctx)
	if h1 > h0 {
		r.interval = time.Since(t0) / time.Duration(h1-h0)
	} else {
		return fmt.Errorf("the chain made no block in 8 s once every miner was paid (height %d)", h1)
	}
	r.rep.BlockInterval = r.interval
	r.say("every miner paid at %.1fs; then a block every %v (height %d)", r.rep.FirstPaid.Seconds(), r.interval.Round(time.Millisecond), h1)
	_, err = r.checkChain(ctx)
	return err
}

func (r *run) nodeHome(host string) string { return filepath.Join(r.chain, host) }

// hostHome is a miner's or validator's home: its wallet and data.
func (r *run) hostHome(host string) string { return filepath.Join(r.o.Dir, "hosts", host) }

func (r *run) startNode(host string) error {
	if err := r.daemon(host, "node", "start", "--home", r.nodeHome(host), "--log.format", "json"); err != nil {
		return err
	}
	c, err := chainclient.NewWithDialer(r.rpcAddr(host), r.net.DialContext)
	if err != nil {
		return err
	}
	r.nodes[host] = c
	return nil
}

// joinNode writes a full node's home with `agora node join` on its host
// and starts it; with state sync, from snapshots of two chain validators.
func (r *run) joinNode(ctx context.Context, h *Host) error {
	addr := h.Addr().String()
	args := []string{"node", "join", "--home", r.nodeHome(h.Name), "--genesis", filepath.Join(r.nodeHome(r.m.HostsWith(RoleChainValidator)[0].Name), "config", "genesis.json"),
		"--peers", r.peers, "--p2p-laddr", addr + ":" + strconv.Itoa(p2pPort), "--rpc-laddr", addr + ":" + strconv.Itoa(rpcPort)}
	if h.StateSync {
		var servers []string
		for _, v := range r.m.HostsWith(RoleChainValidator) {
			if r.procs[v.Name] != nil && !r.procs[v.Name].expectExit && len(servers) < 2 {
				servers = append(servers, r.rpcAddr(v.Name))
			}
		}
		args = append(args, "--state-sync", strings.Join(servers, ","))
	}
	if _, err := r.agora(ctx, h.Name, args...); err != nil {
		return err
	}
	return r.startNode(h.Name)
}

// height is the highest height any running node reports (0 if none).
func (r *run) height(ctx context.Context) int64 {
	var best int64
	for _, c := range r.nodes {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := c.Status(ctx)
		cancel()
		if err == nil {
			best = max(best, st.SyncInfo.LatestBlockHeight)
		}
	}
	return best
}

// heights is every running node's latest height.
func (r *run) heights(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for host, c := range r.nodes {
		if r.procs[host].expectExit {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := c.Status(ctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", host, err)
		}
		out[host] = st.SyncInfo.LatestBlockHeight
	}
	return out, nil
}

// waitHeight waits until every running node is at height h or above.
func (r *run) waitHeight(ctx context.Context, h int64, timeout time.Duration) error {
	return r.waitFor(ctx, fmt.Sprintf("every chain node at height %d", h), timeout, func(ctx context.Context) (bool, error) {
		hs, err := r.heights(ctx)
		if err != nil {
			return false, err
		}
		for host, got := range hs {
			if got < h {
				return false, fmt.Errorf("%s is at %d", host, got)
			}
		}
		return true, nil
	})
}

// anyNode is a running chain node's client, for queries.
func (r *run) anyNode() *chainclient.Client {
	for _, h := range r.m.HostsWith(RoleChainValidator) {
		if p := r.procs[h.Name]; p != nil && !p.expectExit {
			return r.nodes[h.Name]
		}
	}
	return nil
}

// subnet creates subnet 1 with quick epochs, gives it the emission,
// registers every miner and validator, and stakes the validators, from
// the first validator's host through its node.
func (r *run) subnet(ctx context.Context) error {
	miners, vals := r.m.HostsWith(RoleMiner), r.m.HostsWith(RoleValidator)
	params := map[string]any{
		"tempo": r.m.Tempo, "max_uids": 64, "max_validators": max(1, len(vals)), "min_burn": chain.Unit / 10,
		"weights_rate_limit": max(1, r.m.Tempo/2), "serving_rate_limit": 2, "immunity_period": 10_000, "activity_cutoff": 10_000,
		"target_registrations": len(miners) + len(vals),
	}
	b, _ := json.MarshalIndent(params, "", "  ")
	file := filepath.Join(r.o.Dir, "subnet.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return err
	}
	// The owner's commands run on the first chain validator's host,
	// through its node; each miner and validator operator registers (and
	// stakes) from its own host, through the node it uses.
	owner := r.m.HostsWith(RoleChainValidator)[0].Name
	r.say("creating subnet %d (tempo %d), registering %d miners and %d validators", netuid, r.m.Tempo, len(miners), len(vals))
	tx := func(host, home, node string, args ...string) error {
		_, err := r.agora(ctx, host, append(append([]string{"tx"}, args...), "--home", home, "--node", node)...)
		return err
	}
	if err := tx(owner, r.home, r.rpcAddr(owner), "subnet", "create", "--wallet", "owner", "--params", file); err != nil {
		return err
	}
	if err := tx(owner, r.home, r.rpcAddr(owner), "emission", "set", "--wallet", "owner", "--share", "1=1"); err != nil {
		return err
	}
	for _, h := range append(slices.Clone(miners), vals...) {
		amount := "100"
		if h.Role == RoleValidator {
			amount = "10100"
		}
		if err := tx(owner, r.home, r.rpcAddr(owner), "transfer", "--wallet", "owner", "--to", r.coldkey[h.Name], "--amount", amount); err != nil {
			return err
		}
	}
	for _, h := range append(slices.Clone(miners), vals...) {
		if err := tx(h.Name, r.hostHome(h.Name), r.rpcAddr(h.Node), "register", "--wallet", "op", "--hotkey", h.Name, "--netuid", "1"); err != nil {
			return err
		}
		if h.Role == RoleValidator {
			if err := tx(h.Name, r.hostHome(h.Name), r.rpcAddr(h.Node), "stake", "add", "--wallet", "op", "--hotkey", h.Name, "--amount", "10000"); err != nil {
				return err
			}
		}
	}
	return nil
}

// startDaemons starts the miners (with a labeler each) and validators.
func (r *run) startDaemons(ctx context.Context) error {
	for _, h := range r.m.HostsWith(RoleMiner) {
		out, err := r.agora(ctx, h.Name, "miner", "labelers", "add", "tester", "--home", r.hostHome(h.Name), "--miner.wallet", "op", "--miner.hotkey", h.Name)
		if err != nil {
			return err
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		token := strings.TrimSpace(lines[len(lines)-1])
		if err := r.daemon(h.Name, "miner", "run", "--home", r.hostHome(h.Name), "--log.format", "json",
			"--miner.wallet", "op", "--miner.hotkey", h.Name, "--miner.netuid", "1", "--miner.node", r.rpcAddr(h.Node),
			"--miner.model", r.o.Model, "--miner.listen", "0.0.0.0:"+strconv.Itoa(minerPort)); err != nil {
			return err
		}
		l := newLabeler("ws://"+netip.AddrPortFrom(h.Addr(), minerPort).String()+"/label/ws", token, r.ws)
		r.labels[h.Name] = l
		go l.run(r.bg, uint64(len(r.labels)))
	}
	for _, h := range r.m.HostsWith(RoleValidator) {
		if err := r.daemon(h.Name, "validator", "run", "--home", r.hostHome(h.Name), "--log.format", "json",
			"--validator.wallet", "op", "--validator.hotkey", h.Name, "--validator.netuid", "1", "--validator.node", r.rpcAddr(h.Node),
			"--validator.verify_model", r.o.Model, "--validator.listen", "0.0.0.0:"+strconv.Itoa(validatorPort),
			"--validator.public_addr", ":"+strconv.Itoa(validatorPort),
			"--validator.axon_networks", r.m.Prefix().String(), "--validator.step_interval", "1s"); err != nil {
			return err
		}
	}
	return nil
}

// metagraph is the subnet as a running node sees it.
func (r *run) metagraph(ctx context.Context) (chain.MetagraphView, error) {
	c := r.anyNode()
	if c == nil {
		return chain.MetagraphView{}, errors.New("no chain validator runs")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.Metagraph(ctx, netuid)
}

// scores is validator host's /scores.
func (r *run) scores(ctx context.Context, host string) (api.ValidatorScores, error) {
	var s api.ValidatorScores
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := "http://" + netip.AddrPortFrom(r.m.Host(host).Addr(), validatorPort).String() + api.PathScores
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return s, err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("%s: %s", u, resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// paid holds when every miner has incentive and emission on chain, with
// the axon of its host's address (which it detected), every validator
// holds a permit and has announced its host's address, and every
// validator scores every miner above 0.
func (r *run) paid(ctx context.Context) (bool, error) {
	mg, err := r.metagraph(ctx)
	if err != nil {
		return false, err
	}
	byHotkey := map[string]chain.NeuronView{}
	for _, n := range mg.Neurons {
		byHotkey[n.Hotkey] = n
	}
	minerUID := map[uint16]string{}
	for _, h := range r.m.HostsWith(RoleMiner) {
		n, ok := byHotkey[r.hotkey[h.Name]]
		if !ok {
			return false, fmt.Errorf("miner %s is not registered", h.Name)
		}
		want := netip.AddrPortFrom(h.Addr(), minerPort).String()
		if n.Axon == nil || n.Axon.Addr != want {
			return false, fmt.Errorf("miner %s's axon on chain is %v, want %s (its host's address)", h.Name, n.Axon, want)
		}
		if n.Incentive == 0 || n.Emission == 0 {
			return false, fmt.Errorf("miner %s: incentive %d, emission %d", h.Name, n.Incentive, n.Emission)
		}
		minerUID[n.UID] = h.Name
	}
	for _, h := range r.m.HostsWith(RoleValidator) {
		n, ok := byHotkey[r.hotkey[h.Name]]
		if !ok || !n.ValidatorPermit {
			return false, fmt.Errorf("validator %s has no permit yet", h.Name)
		}
		// It announces its /scores, at the address it detected, once it
		// holds a permit.
		if want := netip.AddrPortFrom(h.Addr(), validatorPort).String(); n.Axon == nil || n.Axon.Addr != want {
			return false, fmt.Errorf("validator %s's axon on chain is %v, want %s (its host's address)", h.Name, n.Axon, want)
		}
		s, err := r.scores(ctx, h.Name)
		if err != nil {
			return false, fmt.Errorf("validator %s: %w", h.Name, err)
		}
		scored := 0
		for _, u := range s.Scores {
			if _, ok := minerUID[u.UID]; ok && u.Score > 0 {
				scored++
			}
		}
		if scored < len(minerUID) {
			return false, fmt.Errorf("validator %s scores %d of %d miners above 0", h.Name, scored, len(minerUID))
		}
	}
	return true, nil
}
