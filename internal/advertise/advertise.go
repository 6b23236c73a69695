// Package advertise chooses the address a daemon publishes on chain for
// its peers to reach it at (a miner's axon, a validator's /scores) when it
// is not told one: the listen address if that names one IP, else the
// local address of the route to the chain node it follows, else the first
// usable interface address, else loopback. Choose is the pure choice,
// table-tested; Address gathers the candidates from the system.
package advertise

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// How says where an advertised address came from.
type How int

const (
	// Given: the operator set it (a flag, the environment, the file).
	Given How = iota
	// Listen: the listen address names one IP, the only one the daemon
	// is reached at.
	Listen
	// Route: the local source address of the route to the chain node:
	// the address of the interface the node, and so most likely the
	// peers, are reached through.
	Route
	// Interface: the first up interface's address that is not loopback
	// or link-local, when there is no route to the node.
	Interface
	// Loopback: nothing better was found; only peers on this machine
	// reach it.
	Loopback
)

// Iface is an interface address, named for the log.
type Iface struct {
	Name string
	Addr netip.Addr
}

// Candidates are what Choose chooses from. Every field is optional.
type Candidates struct {
	// Given is the configured IP; invalid or unspecified means none.
	Given netip.Addr
	// GivenBy names the setting that gave it, for the log
	// ("miner.external_ip").
	GivenBy string
	// Listen is the bound listen IP; unspecified (0.0.0.0, ::) means
	// every interface. 0.0.0.0 accepts IPv4 only, so then only IPv4
	// candidates are chosen.
	Listen netip.Addr
	// Node is the chain node's host:port, for the log.
	Node string
	// Route is the local source address toward Node; invalid means no
	// route was found.
	Route netip.Addr
	// Interfaces are the addresses of the up interfaces, in the system's
	// order.
	Interfaces []Iface
}

// Choice is the advertised IP and how it was found.
type Choice struct {
	Addr netip.Addr
	How  How
	// Detail is what the String names: the setting, the node, the
	// interface.
	Detail string
	// Unreachable is set when Addr is loopback though the node is not
	// reached over loopback (or not at all): peers on other machines
	// cannot reach it, and the caller should say how to set an address.
	Unreachable bool
}

// String says how the address was found, for the log line: "set by
// miner.external_ip", "listen address", "detected via route to node
// 10.0.0.2:26657", "detected via interface eth0" or "loopback fallback".
func (c Choice) String() string {
	switch c.How {
	case Given:
		if c.Detail == "" {
			return "set"
		}
		return "set by " + c.Detail
	case Listen:
		return "listen address"
	case Route:
		return "detected via route to node " + c.Detail
	case Interface:
		return "detected via interface " + c.Detail
	}
	return "loopback fallback"
}

// Problem is, when c is Unreachable, the warning to log instead of the
// usual line: that peers on other machines cannot reach it, and what to
// set (listenFlag, such as --miner.listen, and givenFlag, such as
// --miner.external_ip); "" when peers can reach it.
func (c Choice) Problem(peers, listenFlag, givenFlag string) string {
	switch {
	case !c.Unreachable:
		return ""
	case c.How == Loopback:
		return fmt.Sprintf("advertising loopback, which %s on other machines cannot reach: no route to the node and no interface but loopback was found; set %s to the address they reach this machine at", peers, givenFlag)
	}
	return fmt.Sprintf("advertising loopback, which %s on other machines cannot reach: listen on every interface (%s 0.0.0.0:PORT) or set %s to the address they reach this machine at", peers, listenFlag, givenFlag)
}

// Choose picks the address to advertise from c: Given if set, else the
// listen IP if it names one, else Route, else the first usable interface
// address, else 127.0.0.1. Usable means valid, not unspecified, not
// multicast, not link-local (useless without a zone), and IPv4 when the
// listener accepts only IPv4; Route may be loopback (a node on this
// machine: a network of one machine), an interface address may not.
func Choose(c Candidates) Choice {
	if c.Given.IsValid() && !c.Given.IsUnspecified() {
		return Choice{Addr: c.Given.Unmap(), How: Given, Detail: c.GivenBy}
	}
	routeLoopback := c.Route.IsValid() && c.Route.Unmap().IsLoopback()
	mark := func(ch Choice) Choice {
		ch.Unreachable = ch.Addr.IsLoopback() && !routeLoopback
		return ch
	}
	listen := c.Listen.Unmap()
	if listen.IsValid() && !listen.IsUnspecified() {
		return mark(Choice{Addr: listen, How: Listen})
	}
	only4 := listen.IsValid() && listen.Is4()
	usable := func(a netip.Addr) bool {
		return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() &&
			!a.IsLinkLocalUnicast() && !a.IsInterfaceLocalMulticast() && (!only4 || a.Is4())
	}
	if r := c.Route.Unmap(); usable(r) {
		return mark(Choice{Addr: r, How: Route, Detail: c.Node})
	}
	for _, i := range c.Interfaces {
		if a := i.Addr.Unmap(); usable(a) && !a.IsLoopback() {
			return mark(Choice{Addr: a, How: Interface, Detail: i.Name})
		}
	}
	return mark(Choice{Addr: netip.AddrFrom4([4]byte{127, 0, 0, 1}), How: Loopback})
}

// Address chooses the address to advertise, as Choose does, gathering
// the candidates it needs from the system: unless given is set, the
// source address of a UDP "dial" to node (host:port; no packet is sent,
// the kernel only picks the route) and the up interfaces' addresses.
// givenBy names the setting of given, for the log.
func Address(given netip.Addr, givenBy string, listen netip.Addr, node string) Choice {
	c := Candidates{Given: given, GivenBy: givenBy, Listen: listen, Node: node}
	if c.Given.IsValid() && !c.Given.IsUnspecified() {
		return Choose(c)
	}
	network := "udp"
	if l := listen.Unmap(); l.IsValid() && l.Is4() {
		network = "udp4"
	}
	// A node named by a host name is looked up: bounded, as a name that
	// does not resolve only costs the route.
	if conn, err := (&net.Dialer{Timeout: 3 * time.Second}).Dial(network, node); err == nil {
		if a, ok := conn.LocalAddr().(*net.UDPAddr); ok {
			c.Route = a.AddrPort().Addr()
		}
		_ = conn.Close()
	}
	c.Interfaces = interfaces()
	return Choose(c)
}

// interfaces lists the addresses of the interfaces that are up, in the
// system's order; none if they cannot be listed.
func interfaces() []Iface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []Iface
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out = append(out, Iface{Name: i.Name, Addr: ip.Unmap()})
				}
			}
		}
	}
	return out
}
