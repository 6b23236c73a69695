package testnet

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listenIn listens on addr inside host's namespace.
func listenIn(t *testing.T, n *Network, host, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	if err := inNetNS("/run/netns/"+n.NS(host), func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l
}

// dialFrom dials addr from host's namespace and reads the greeting.
func dialFrom(n *Network, host, addr string) error {
	return inNetNS("/run/netns/"+n.NS(host), func() error {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		b := make([]byte, 2)
		_, err = c.Read(b)
		return err
	})
}

func nsExists(name string) bool {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

// TestNetworkPartitionHeal makes three hosts, checks that they reach each
// other and the harness reaches them, cuts one off and heals it, and that
// Close leaves no namespace behind.
func TestNetworkPartitionHeal(t *testing.T) {
	m, err := Parse([]byte(`
network: 10.78.3.0/24
hosts:
  - {name: a, role: chain-validator}
  - {name: b, role: chain-validator}
  - {name: c, role: miner}
`))
	if err != nil {
		t.Fatal(err)
	}
	var hosts []*Host
	for i := range m.Hosts {
		hosts = append(hosts, &m.Hosts[i])
	}
	n, err := NewNetwork(m.Prefix(), hosts)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	a, b, c := m.Host("a").Addr(), m.Host("b").Addr(), m.Host("c").Addr()
	if a != netip.MustParseAddr("10.78.3.10") || c != netip.MustParseAddr("10.78.3.12") {
		t.Fatalf("addresses %v %v %v", a, b, c)
	}
	listenIn(t, n, "a", a.String()+":7000")
	listenIn(t, n, "c", c.String()+":7000")
	if err := dialFrom(n, "b", a.String()+":7000"); err != nil {
		t.Fatalf("b to a: %v", err)
	}
	// Loopback in a host is its own: a's port is not on b's loopback.
	listenIn(t, n, "a", "127.0.0.1:7001")
	if err := dialFrom(n, "b", "127.0.0.1:7001"); err == nil {
		t.Error("b reached a's loopback")
	}
	conn, err := n.DialContext(context.Background(), "tcp", c.String()+":7000")
	if err != nil {
		t.Fatalf("harness to c: %v", err)
	}
	conn.Close()

	if err := n.Partition(m.Groups([][]string{{"a"}, {Rest}})); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(n, "b", a.String()+":7000"); err == nil {
		t.Error("b reached a across the partition")
	}
	if err := dialFrom(n, "b", c.String()+":7000"); err != nil {
		t.Errorf("b to c, on the same side: %v", err)
	}
	if err := n.Partition(nil); err == nil {
		t.Error("a second partition was accepted")
	}
	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(n, "b", a.String()+":7000"); err != nil {
		t.Errorf("b to a after heal: %v", err)
	}

	// A process left running in a namespace dies with it.
	sleeper := n.Command("c", "sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleeper.Wait() }()
	names := []string{n.NS("a"), n.NS("b"), n.NS("c"), n.bridgeNS()}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the process in c: %v, want killed", err)
	}
	for _, name := range names {
		if nsExists(name) {
			t.Errorf("namespace %s is still there", name)
		}
	}
}

// TestRemoveStale removes the namespaces of a harness that is gone and
// keeps those of one that runs.
func TestRemoveStale(t *testing.T) {
	// Pid 2^22+1 is above Linux's largest pid: never running.
	dead, alive := nsPrefix+"4194305.1-x", nsPrefix+"1.1-x"
	for _, name := range []string{dead, alive} {
		if err := ip("netns", "add", name); err != nil {
			t.Fatal(err)
		}
	}
	defer removeNS(alive)
	defer removeNS(dead)
	RemoveStale()
	if nsExists(dead) {
		t.Error("a dead harness's namespace was kept")
	}
	if !nsExists(alive) {
		t.Error("a running process's namespace was removed")
	}
	if err := removeNS(dead); err != nil {
		t.Errorf("removing a removed namespace: %v", err)
	}
}

// TestRunThatFailsLeavesNothing: a run whose first command fails stops
// there and removes every namespace it made.
func TestRunThatFailsLeavesNothing(t *testing.T) {
	m, err := Parse([]byte("network: 10.78.4.0/24\nhosts:\n  - {name: a, role: chain-validator}\n  - {name: m, role: miner}\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = Run(context.Background(), Options{Manifest: m, Bin: "/bin/false", Model: "testdata/four-validators.yaml", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "wallet create") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Run with a binary that fails: %v, want the failed command and where the logs are", err)
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), nsPrefix+strconv.Itoa(os.Getpid())+".") {
		t.Errorf("namespaces left behind:\n%s", out)
	}
}
