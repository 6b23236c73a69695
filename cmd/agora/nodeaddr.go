package main

// Finding the node (DESIGN.md section 10): every command that talks to a
// chain takes its address from, in order, --node, AGORA_NODE, node: in the
// --config file (the config package's node setting, one key for every
// command), the localnet running under the home folder (its record,
// <home>/localnet/localnet.json), else the default port. The miner and the
// validator may override it with miner.node and validator.node.

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/localnet"
)

// nodeAddr is the node a command talks to and where its address came
// from, for errors that say what to do when it does not answer.
type nodeAddr struct {
	// Addr is the RPC address, as given.
	Addr string
	// From says where Addr came from: "flag --node", "env AGORA_NODE",
	// "FILE:LINE" of the config file, "the localnet record PATH" or
	// "the default".
	From string
	// Skipped says why a localnet record was not used, or is "".
	Skipped string
}

// nodeSources are the inputs of findNode: the layered settings and probes
// of a localnet record, which tests replace.
type nodeSources struct {
	// Node and NodeFrom are the node setting and its origin ("" if it is
	// the default, which is empty).
	Node, NodeFrom string
	// Section and SectionFrom are miner.node or validator.node, for the
	// daemons, with their origin; empty for other commands.
	Section, SectionFrom string
	// Home is the configured home folder; its localnet's record is read.
	Home string
	// Default is the address used when nothing else gives one.
	Default string
	// Alive reports whether a record's process still runs.
	Alive func(localnet.Record) bool
	// Answers reports whether something accepts connections at addr.
	Answers func(addr string) error
}

// findNode picks the node by the order in the file comment. It does no
// I/O but reading the localnet record and what s's probes do.
func findNode(s nodeSources) nodeAddr {
	switch {
	case s.Section != "":
		return nodeAddr{Addr: s.Section, From: orDefault(s.SectionFrom)}
	case s.Node != "":
		return nodeAddr{Addr: s.Node, From: orDefault(s.NodeFrom)}
	}
	dir := filepath.Join(s.Home, "localnet")
	path := filepath.Join(dir, localnet.RecordFile)
	def := nodeAddr{Addr: s.Default, From: "the default"}
	r, err := localnet.ReadRecord(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return def
	case err != nil:
		def.Skipped = fmt.Sprintf("ignored the localnet record: %v", err)
	case !s.Alive(r):
		def.Skipped = fmt.Sprintf("ignored the localnet record %s: its process %d is gone (the localnet was killed; run agora localnet again)", path, r.PID)
	default:
		if err := s.Answers(r.RPC); err != nil {
			def.Skipped = fmt.Sprintf("ignored the localnet record %s: nothing answers at %s: %v", path, r.RPC, err)
		} else {
			return nodeAddr{Addr: r.RPC, From: "the localnet record " + path}
		}
	}
	return def
}

// orDefault describes a config.LoadOrigins origin: "flag --node" and
// "env AGORA_NODE" as they are, a file's "FILE:LINE" as "config file
// FILE:LINE", none as "the default".
func orDefault(from string) string {
	switch {
	case from == "":
		return "the default"
	case strings.HasPrefix(from, "flag ") || strings.HasPrefix(from, "env "):
		return from
	}
	return "config file " + from
}

// node finds the node of rt's command; section is "miner" or "validator"
// for the daemons (whose miner.node or validator.node comes first), else
// "".
func (rt *Runtime) node(section string) nodeAddr {
	s := nodeSources{
		Node: rt.Config.Node, NodeFrom: rt.Origins["node"],
		Home: rt.Config.Home, Default: chainclient.DefaultAddress,
		Alive: localnet.Record.Alive, Answers: dialRPC,
	}
	switch section {
	case "miner":
		s.Section, s.SectionFrom = rt.Config.Miner.Node, rt.Origins["miner.node"]
	case "validator":
		s.Section, s.SectionFrom = rt.Config.Validator.Node, rt.Origins["validator.node"]
	}
	return findNode(s)
}

// dialRPC reports whether a TCP connection to the RPC address addr
// (tcp://, http:// or host:port) opens within a second.
func dialRPC(addr string) error {
	hostport := addr
	for _, p := range []string{"tcp://", "http://", "https://"} {
		hostport = strings.TrimPrefix(hostport, p)
	}
	hostport, _, _ = strings.Cut(hostport, "/")
	c, err := net.DialTimeout("tcp", hostport, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// client returns a client of the node, or a usage error naming where a
// malformed address came from.
func (n nodeAddr) client() (*chainclient.Client, error) {
	c, err := chainclient.New(n.Addr)
	switch {
	case err != nil && strings.HasPrefix(n.From, "flag --"):
		return nil, usageErrorf("%s: %v", strings.TrimPrefix(n.From, "flag "), err)
	case err != nil:
		return nil, usageErrorf("node %q (from %s): %v", n.Addr, n.From, err)
	}
	return c, nil
}

// explain wraps err, an error of talking to the node, with where its
// address came from and what to do, if the node does not answer; an
// error of a node that answers is returned as it is.
func (n nodeAddr) explain(err error) error {
	if err == nil || dialRPC(n.Addr) == nil {
		return err
	}
	var do string
	switch {
	case n.From == "flag --node":
		do = "check --node, or start that node"
	case strings.HasPrefix(n.From, "flag --"):
		do = "check " + strings.TrimPrefix(n.From, "flag ") + ", or start that node"
	case strings.HasPrefix(n.From, "env "):
		do = "check " + strings.TrimPrefix(n.From, "env ") + " (or unset it), or start that node"
	case strings.HasPrefix(n.From, "the localnet record"):
		do = "the localnet seems to be stopping; run agora localnet again"
	case n.From == "the default":
		do = "start a node (agora localnet, or agora node start), or give its address with --node ADDRESS, env AGORA_NODE or node: in --config FILE"
	default: // config file FILE:LINE
		do = "check the node setting in the config file, or start that node"
	}
	from := n.From
	if n.Skipped != "" {
		from += "; " + n.Skipped
	}
	return fmt.Errorf("no node answers at %s (from %s): %w\n%s", n.Addr, from, err, do)
}
