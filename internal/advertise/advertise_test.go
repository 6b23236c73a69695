package advertise

import (
	"net"
	"net/netip"
	"testing"
)

// TestChoose: the choice of each kind of network the brief names, from
// candidates alone.
func TestChoose(t *testing.T) {
	a := netip.MustParseAddr
	any4, any6 := a("0.0.0.0"), a("::")
	lo := a("127.0.0.1")
	eth := []Iface{{"lo", lo}, {"lo", a("::1")}, {"eth0", a("fe80::1")}, {"eth0", a("10.77.0.5")}, {"wg0", a("fd00::5")}}
	for _, c := range []struct {
		name        string
		in          Candidates
		want        string
		how         How
		str         string
		unreachable bool
	}{
		{"given wins over everything", Candidates{Given: a("203.0.113.7"), GivenBy: "miner.external_ip", Listen: any4, Route: a("10.77.0.5"), Interfaces: eth},
			"203.0.113.7", Given, "set by miner.external_ip", false},
		{"a given loopback is the operator's choice", Candidates{Given: lo, GivenBy: "miner.external_ip", Route: a("10.77.0.5")},
			"127.0.0.1", Given, "set by miner.external_ip", false},
		{"an unspecified given one is detected", Candidates{Given: any4, Listen: any4, Node: "10.77.0.2:26657", Route: a("10.77.0.5")},
			"10.77.0.5", Route, "detected via route to node 10.77.0.2:26657", false},
		{"a listen IP is the only one reached", Candidates{Listen: a("192.168.1.20"), Route: a("10.77.0.5"), Interfaces: eth},
			"192.168.1.20", Listen, "listen address", false},
		{"node on another host: that route's source", Candidates{Listen: any4, Node: "10.77.0.2:26657", Route: a("10.77.0.5"), Interfaces: eth},
			"10.77.0.5", Route, "detected via route to node 10.77.0.2:26657", false},
		{"node on loopback: loopback, a network of one machine", Candidates{Listen: any4, Node: "127.0.0.1:26657", Route: lo, Interfaces: eth},
			"127.0.0.1", Route, "detected via route to node 127.0.0.1:26657", false},
		{"listening on loopback with the node on loopback", Candidates{Listen: lo, Route: lo},
			"127.0.0.1", Listen, "listen address", false},
		{"listening on loopback with the node elsewhere", Candidates{Listen: lo, Route: a("10.77.0.5")},
			"127.0.0.1", Listen, "listen address", true},
		{"no route: the first usable interface, not loopback nor link-local", Candidates{Listen: any4, Interfaces: eth},
			"10.77.0.5", Interface, "detected via interface eth0", false},
		{"0.0.0.0 takes IPv4 only", Candidates{Listen: any4, Route: a("2001:db8::5"), Interfaces: []Iface{{"wg0", a("fd00::5")}, {"eth1", a("192.168.1.20")}}},
			"192.168.1.20", Interface, "detected via interface eth1", false},
		{":: takes IPv6 too", Candidates{Listen: any6, Node: "[2001:db8::2]:26657", Route: a("2001:db8::5")},
			"2001:db8::5", Route, "detected via route to node [2001:db8::2]:26657", false},
		{"a mapped route is IPv4", Candidates{Listen: any4, Node: "10.77.0.2:26657", Route: a("::ffff:10.77.0.5")},
			"10.77.0.5", Route, "detected via route to node 10.77.0.2:26657", false},
		{"nothing: loopback, with the warning", Candidates{Listen: any4, Interfaces: []Iface{{"lo", lo}, {"eth0", a("fe80::1")}}},
			"127.0.0.1", Loopback, "loopback fallback", true},
		{"no candidates at all", Candidates{},
			"127.0.0.1", Loopback, "loopback fallback", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Choose(c.in)
			if got.Addr != a(c.want) || got.How != c.how || got.String() != c.str || got.Unreachable != c.unreachable {
				t.Errorf("Choose = %s (%q, how %d, unreachable %v); want %s (%q, how %d, unreachable %v)",
					got.Addr, got.String(), got.How, got.Unreachable, c.want, c.str, c.how, c.unreachable)
			}
		})
	}
}

// TestAddressOnThisMachine: with the node on loopback the route says
// loopback, the single-machine network's answer, and no warning; a given
// address is taken without looking.
func TestAddressOnThisMachine(t *testing.T) {
	ln, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	node := ln.LocalAddr().String()
	got := Address(netip.Addr{}, "miner.external_ip", netip.IPv4Unspecified(), node)
	if got.Addr != netip.MustParseAddr("127.0.0.1") || got.How != Route || got.Unreachable || got.String() != "detected via route to node "+node {
		t.Fatalf("node on loopback: %s (%s, unreachable %v); want 127.0.0.1 by the route", got.Addr, got, got.Unreachable)
	}
	given := netip.MustParseAddr("203.0.113.7")
	if got := Address(given, "miner.external_ip", netip.IPv4Unspecified(), node); got.Addr != given || got.String() != "set by miner.external_ip" {
		t.Fatalf("given: %s (%s)", got.Addr, got)
	}
}

// TestProblem: an unreachable choice warns with the settings that fix it;
// a reachable one does not.
func TestProblem(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	fallback := Choose(Candidates{Listen: netip.IPv4Unspecified()})
	if p := fallback.Problem("validators", "--miner.listen", "--miner.external_ip"); p != "advertising loopback, which validators on other machines cannot reach: no route to the node and no interface but loopback was found; set --miner.external_ip to the address they reach this machine at" {
		t.Errorf("loopback fallback: %q", p)
	}
	listen := Choose(Candidates{Listen: lo, Route: netip.MustParseAddr("10.77.0.5")})
	if p := listen.Problem("miners", "--validator.listen", "--validator.public_addr IP:PORT"); p != "advertising loopback, which miners on other machines cannot reach: listen on every interface (--validator.listen 0.0.0.0:PORT) or set --validator.public_addr IP:PORT to the address they reach this machine at" {
		t.Errorf("listening on loopback: %q", p)
	}
	if p := Choose(Candidates{Listen: lo, Route: lo}).Problem("validators", "--miner.listen", "--miner.external_ip"); p != "" {
		t.Errorf("one machine: %q", p)
	}
}
