package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// nsPrefix starts the name of every network namespace a harness makes,
// followed by its process id and the network's number in it:
// agtn<pid>.<k>-<host>. A later harness removes those whose process is
// gone.
const nsPrefix = "agtn"

// networks numbers the networks this process makes.
var networks atomic.Uint64

// Network is the testnet's hosts as Linux network namespaces: one per
// host, each with one interface (eth0) on a bridge that lives in a
// namespace of its own, so that nothing of it touches the machine's
// network. Traffic between hosts goes through the bridge; a partition
// is a set of blackhole routes in the hosts' namespaces.
type Network struct {
	id     string // agtn<pid>
	prefix netip.Prefix
	bridge netip.Addr
	hosts  map[string]netip.Addr
	order  []string
	cuts   [][2]string // blackholed (from, to) pairs
}

// NewNetwork makes the namespaces and the bridge for hosts (name to
// address) in prefix, after removing what earlier harnesses that died
// left behind. On error, it removes what it made.
func NewNetwork(prefix netip.Prefix, hosts []*Host) (_ *Network, err error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, errors.New("testnet: the ip command (iproute2) is not installed: apt-get install iproute2")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("testnet: making network namespaces needs root: run it with sudo (sudo make testnet)")
	}
	RemoveStale()
	// agtn<pid>.<k>-<host>: unique to this network even when one
	// process makes several.
	id := nsPrefix + strconv.Itoa(os.Getpid()) + "." + strconv.FormatUint(networks.Add(1), 10)
	n := &Network{id: id, prefix: prefix, bridge: prefix.Addr().Next(), hosts: map[string]netip.Addr{}}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	bits := strconv.Itoa(prefix.Bits())
	brNS := n.bridgeNS()
	if err := ip("netns", "add", brNS); err != nil {
		return nil, err
	}
	if err := ipBatch(brNS,
		"link set lo up",
		"link add br0 type bridge",
		"addr add "+n.bridge.String()+"/"+bits+" dev br0",
		"link set br0 up"); err != nil {
		return nil, err
	}
	for i, h := range hosts {
		ns := n.NS(h.Name)
		if err := ip("netns", "add", ns); err != nil {
			return nil, err
		}
		n.hosts[h.Name] = h.Addr()
		n.order = append(n.order, h.Name)
		veth := "h" + strconv.Itoa(i)
		if err := ipBatch(brNS,
			"link add "+veth+" type veth peer name eth0 netns "+ns,
			"link set "+veth+" master br0",
			"link set "+veth+" up"); err != nil {
			return nil, err
		}
		if err := ipBatch(ns,
			"link set lo up",
			"addr add "+h.Addr().String()+"/"+bits+" dev eth0",
			"link set eth0 up"); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// NS is the name of host's namespace.
func (n *Network) NS(host string) string { return n.id + "-" + host }

func (n *Network) bridgeNS() string { return n.id + "-net" }

// Command is name with args run inside host's namespace.
func (n *Network) Command(host, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.NS(host), name}, args...)...)
}

// Partition cuts the hosts of each group off from every host of the
// other groups, until Heal.
func (n *Network) Partition(groups [][]string) error {
	if len(n.cuts) > 0 {
		return errors.New("testnet: partition: the network is partitioned already")
	}
	group := map[string]int{}
	for i, g := range groups {
		for _, h := range g {
			group[h] = i
		}
	}
	for _, a := range n.order {
		var lines []string
		for _, b := range n.order {
			if group[a] != group[b] {
				lines = append(lines, "route add blackhole "+n.hosts[b].String()+"/32")
				n.cuts = append(n.cuts, [2]string{a, b})
			}
		}
		if len(lines) > 0 {
			if err := ipBatch(n.NS(a), lines...); err != nil {
				return err
			}
		}
	}
	return nil
}

// Heal removes every cut of Partition.
func (n *Network) Heal() error {
	byHost := map[string][]string{}
	for _, c := range n.cuts {
		byHost[c[0]] = append(byHost[c[0]], "route del blackhole "+n.hosts[c[1]].String()+"/32")
	}
	var errs []error
	for _, a := range n.order {
		if lines := byHost[a]; len(lines) > 0 {
			errs = append(errs, ipBatch(n.NS(a), lines...))
		}
	}
	n.cuts = nil
	return errors.Join(errs...)
}

// DialContext dials addr from the bridge's namespace, which reaches every
// host: the harness's own clients (RPC, /scores, labelling pages) use it.
func (n *Network) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetNS("/run/netns/"+n.bridgeNS(), func() error {
		var err error
		// An IP literal: one address, dialled on this goroutine, so the
		// socket is made in the namespace this thread is in.
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// inNetNS runs f on this goroutine's thread switched into the network
// namespace at path, then switches back. Sockets f makes stay in that
// namespace. If switching back fails, the thread stays locked, so the
// runtime ends it rather than reuse it.
func inNetNS(path string, f func() error) error {
	target, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	defer target.Close()
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("testnet: %w", err)
	}
	defer self.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("testnet: enter %s: %w", path, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		return errors.Join(ferr, fmt.Errorf("testnet: leave %s: %w", path, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// Close kills whatever still runs in the namespaces and removes them.
func (n *Network) Close() error {
	var errs []error
	for _, h := range n.order {
		errs = append(errs, removeNS(n.NS(h)))
	}
	errs = append(errs, removeNS(n.bridgeNS()))
	return errors.Join(errs...)
}

// RemoveStale removes the namespaces of harnesses whose process is gone,
// with anything still running in them.
func RemoveStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, nsPrefix)
		if !ok {
			continue
		}
		id, _, ok := strings.Cut(rest, "-")
		pidText, _, _ := strings.Cut(id, ".")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = removeNS(name)
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeNS kills every process in the namespace, then deletes it.
func removeNS(name string) error {
	if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if err := ip("netns", "del", name); err != nil && !strings.Contains(err.Error(), "No such file") {
		return err
	}
	return nil
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testnet: ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// ipBatch runs lines as ip commands in namespace ns.
func ipBatch(ns string, lines ...string) error {
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testnet: ip -n %s: %q: %v: %s", ns, lines, err, bytes.TrimSpace(out))
	}
	return nil
}
