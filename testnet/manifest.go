package testnet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The roles a host may have.
const (
	// RoleChainValidator runs a chain node that holds voting power.
	RoleChainValidator = "chain-validator"
	// RoleFullNode runs a chain node without voting power.
	RoleFullNode = "full-node"
	// RoleMiner runs `agora miner run` on the built-in model, with a
	// program labeler on its labelling page.
	RoleMiner = "miner"
	// RoleValidator runs `agora validator run`.
	RoleValidator = "validator"
)

var roles = []string{RoleChainValidator, RoleFullNode, RoleMiner, RoleValidator}

// Rest, in a partition group, stands for every host no group names.
const Rest = "*"

// Manifest describes a testnet: its hosts, their roles and the
// perturbations applied to them in order. Load reads one from YAML.
type Manifest struct {
	// ChainID names the chain (default agora-testnet).
	ChainID string `yaml:"chain_id"`
	// Network is the hosts' IPv4 prefix; hosts without an address get
	// the next free one from it, from .10 up (default 10.77.0.0/24).
	Network string `yaml:"network"`
	// BlockTime is the chain's pause after each block (default 250ms).
	BlockTime Duration `yaml:"block_time"`
	// Tempo is the subnet's epoch length in blocks (default 20).
	Tempo uint16 `yaml:"tempo"`
	// SnapshotInterval is how often, in blocks, chain nodes take a state
	// sync snapshot (default 50).
	SnapshotInterval int `yaml:"snapshot_interval"`
	// Hosts are the machines, each with one role.
	Hosts []Host `yaml:"hosts"`
	// Perturbations are applied in order once every miner is paid.
	Perturbations []Perturbation `yaml:"perturbations"`

	prefix netip.Prefix
}

// Host is one machine of the testnet.
type Host struct {
	// Name names the host (and its network namespace): lower-case letters,
	// digits and dashes, at most 12.
	Name string `yaml:"name"`
	// Role is one of chain-validator, full-node, miner, validator.
	Role string `yaml:"role"`
	// Address is the host's IPv4 address in Network (default: the next
	// free one).
	Address string `yaml:"address"`
	// Node names the chain node a miner or validator talks to (default:
	// the first chain validator).
	Node string `yaml:"node"`
	// Late, for a full node, starts it only when a join perturbation says
	// so, instead of with the chain.
	Late bool `yaml:"late"`
	// StateSync, for a full node, has it join from a snapshot of the
	// chain's state instead of replaying every block.
	StateSync bool `yaml:"state_sync"`

	addr netip.Addr
}

// Addr is the host's address, set by Load.
func (h *Host) Addr() netip.Addr { return h.addr }

// Perturbation is one fault: exactly one of Kill, Partition and Join.
type Perturbation struct {
	// Kill names a host whose process is killed with SIGKILL, then
	// restarted after Down.
	Kill string `yaml:"kill"`
	// Down is how long a killed host stays down (default 2s).
	Down Duration `yaml:"down"`
	// Partition splits the hosts into groups that cannot reach each other
	// for For, then heals. A group of "*" holds every host no group names;
	// without one, those hosts form a group of their own.
	Partition [][]string `yaml:"partition"`
	// For is how long a partition lasts (default 8s).
	For Duration `yaml:"for"`
	// Halts says the partition leaves no group with more than 2/3 of the
	// voting power: the chain must stop, and resume when healed. Load
	// checks it against the groups.
	Halts bool `yaml:"halts"`
	// Join names a late full node to start now.
	Join string `yaml:"join"`
}

// Duration is a time.Duration written as "250ms" or "8s" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 250ms or 8s", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 250ms or 8s", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// Std is d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String describes the perturbation, as the run's report names it.
func (p Perturbation) String() string {
	switch {
	case p.Kill != "":
		return fmt.Sprintf("kill -9 %s, restart after %v", p.Kill, p.Down.Std())
	case p.Join != "":
		return "join " + p.Join
	default:
		gs := make([]string, len(p.Partition))
		for i, g := range p.Partition {
			gs[i] = strings.Join(g, ",")
		}
		return fmt.Sprintf("partition %s for %v", strings.Join(gs, " | "), p.For.Std())
	}
}

// Load reads and checks the manifest at path.
func Load(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("testnet: %s: %w", path, err)
	}
	return m, nil
}

var hostName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,11}$`)

// Parse reads a manifest from YAML, refusing unknown keys, and checks it:
// names, roles, addresses (in the network, no clashes), the nodes miners
// and validators use, and the perturbations' hosts. Defaults fill what is
// left out.
func Parse(b []byte) (*Manifest, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the manifest is empty")
		}
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) check() error {
	if m.ChainID == "" {
		m.ChainID = "agora-testnet"
	}
	if m.Network == "" {
		m.Network = "10.77.0.0/24"
	}
	if m.BlockTime == 0 {
		m.BlockTime = Duration(250 * time.Millisecond)
	}
	if m.Tempo == 0 {
		m.Tempo = 20
	}
	if m.SnapshotInterval == 0 {
		m.SnapshotInterval = 50
	}
	if m.SnapshotInterval < 0 {
		return fmt.Errorf("snapshot_interval %d: want a positive number of blocks", m.SnapshotInterval)
	}
	p, err := netip.ParsePrefix(m.Network)
	if err != nil || !p.Addr().Is4() || p.Bits() > 28 || p.Bits() < 8 {
		return fmt.Errorf("network %q: want an IPv4 prefix from /8 to /28, such as 10.77.0.0/24", m.Network)
	}
	m.prefix = p.Masked()
	if len(m.Hosts) == 0 {
		return errors.New("no hosts")
	}
	byName := map[string]*Host{}
	byAddr := map[netip.Addr]string{}
	// The bridge takes the network's first address.
	bridge := m.prefix.Addr().Next()
	for i := range m.Hosts {
		h := &m.Hosts[i]
		if !hostName.MatchString(h.Name) {
			return fmt.Errorf("host %d: name %q: want lower-case letters, digits and dashes, starting with a letter, at most 12", i+1, h.Name)
		}
		if byName[h.Name] != nil {
			return fmt.Errorf("host %s is named twice", h.Name)
		}
		byName[h.Name] = h
		if !slices.Contains(roles, h.Role) {
			return fmt.Errorf("host %s: role %q does not exist: want one of %s", h.Name, h.Role, strings.Join(roles, ", "))
		}
		if h.Address != "" {
			a, err := netip.ParseAddr(h.Address)
			if err != nil {
				return fmt.Errorf("host %s: address %q: %v", h.Name, h.Address, err)
			}
			if !m.prefix.Contains(a) || a == m.prefix.Addr() || a == bridge || a == lastAddr(m.prefix) {
				return fmt.Errorf("host %s: address %s: want a host address in %s other than %s (the bridge's)", h.Name, a, m.prefix, bridge)
			}
			if other, ok := byAddr[a]; ok {
				return fmt.Errorf("host %s: address %s is host %s's too", h.Name, a, other)
			}
			h.addr, byAddr[a] = a, h.Name
		}
		if (h.Late || h.StateSync) && h.Role != RoleFullNode {
			return fmt.Errorf("host %s: late and state_sync are for a full-node, not a %s", h.Name, h.Role)
		}
	}
	next := m.prefix.Addr()
	for i := 0; i < 9; i++ {
		next = next.Next()
	}
	for i := range m.Hosts {
		h := &m.Hosts[i]
		if h.addr.IsValid() {
			continue
		}
		for next = next.Next(); byAddr[next] != ""; next = next.Next() {
		}
		if !m.prefix.Contains(next) || next == lastAddr(m.prefix) {
			return fmt.Errorf("network %s has no free address left for host %s", m.prefix, h.Name)
		}
		h.addr, byAddr[next] = next, h.Name
	}
	var firstValidator string
	validators := 0
	for _, h := range m.Hosts {
		if h.Role == RoleChainValidator {
			if firstValidator == "" {
				firstValidator = h.Name
			}
			validators++
		}
	}
	if validators == 0 {
		return errors.New("no chain-validator host: the chain needs one")
	}
	for i := range m.Hosts {
		h := &m.Hosts[i]
		switch h.Role {
		case RoleMiner, RoleValidator:
			if h.Node == "" {
				h.Node = firstValidator
			}
			n := byName[h.Node]
			if n == nil {
				return fmt.Errorf("host %s: node %q is not a host", h.Name, h.Node)
			}
			if n.Role != RoleChainValidator && (n.Role != RoleFullNode || n.Late) {
				return fmt.Errorf("host %s: node %s is a %s: want a chain-validator or a full-node that starts with the chain", h.Name, h.Node, roleDesc(n))
			}
		default:
			if h.Node != "" {
				return fmt.Errorf("host %s: node is for miners and validators, not a %s", h.Name, h.Role)
			}
		}
	}
	joined := map[string]bool{}
	for i := range m.Perturbations {
		if err := m.checkPerturbation(&m.Perturbations[i], byName, joined); err != nil {
			return fmt.Errorf("perturbation %d: %w", i+1, err)
		}
	}
	for _, h := range m.Hosts {
		if h.Late && !joined[h.Name] {
			return fmt.Errorf("host %s is late but no perturbation joins it", h.Name)
		}
	}
	return nil
}

func roleDesc(h *Host) string {
	if h.Late {
		return "late " + h.Role
	}
	return h.Role
}

func (m *Manifest) checkPerturbation(p *Perturbation, byName map[string]*Host, joined map[string]bool) error {
	actions := 0
	for _, set := range []bool{p.Kill != "", p.Partition != nil, p.Join != ""} {
		if set {
			actions++
		}
	}
	if actions != 1 {
		return errors.New("want exactly one of kill, partition and join")
	}
	if p.Down != 0 && p.Kill == "" {
		return errors.New("down is for kill")
	}
	if (p.For != 0 || p.Halts) && p.Partition == nil {
		return errors.New("for and halts are for partition")
	}
	switch {
	case p.Kill != "":
		h := byName[p.Kill]
		if h == nil {
			return fmt.Errorf("kill %q: no such host", p.Kill)
		}
		if h.Late && !joined[h.Name] {
			return fmt.Errorf("kill %s: it has not joined yet", h.Name)
		}
		if p.Down == 0 {
			p.Down = Duration(2 * time.Second)
		}
	case p.Join != "":
		h := byName[p.Join]
		if h == nil {
			return fmt.Errorf("join %q: no such host", p.Join)
		}
		if !h.Late {
			return fmt.Errorf("join %s: only a late full-node joins", h.Name)
		}
		if joined[h.Name] {
			return fmt.Errorf("join %s: joined already", h.Name)
		}
		joined[h.Name] = true
	default:
		if len(p.Partition) < 2 {
			return errors.New("partition: want at least two groups")
		}
		if p.For == 0 {
			p.For = Duration(8 * time.Second)
		}
		seen := map[string]bool{}
		for _, g := range p.Partition {
			if len(g) == 0 {
				return errors.New("partition: an empty group")
			}
			for _, n := range g {
				if n != Rest && byName[n] == nil {
					return fmt.Errorf("partition: %q is not a host", n)
				}
				if seen[n] {
					return fmt.Errorf("partition: %s is in two groups", n)
				}
				seen[n] = true
			}
		}
		groups := m.Groups(p.Partition)
		total, most := 0, 0
		for _, g := range groups {
			power := 0
			for _, n := range g {
				if byName[n].Role == RoleChainValidator {
					power++
				}
			}
			total += power
			most = max(most, power)
		}
		if halts := 3*most <= 2*total; halts != p.Halts {
			if halts {
				return fmt.Errorf("partition: no group holds more than 2/3 of the %d validators, so the chain halts: say halts: true", total)
			}
			return fmt.Errorf("partition: a group holds %d of the %d validators, so the chain goes on: remove halts: true", most, total)
		}
	}
	return nil
}

// Groups resolves a partition: every group by host name, "*" replaced by
// the hosts no group names, and those hosts as a group of their own when
// no group has "*".
func (m *Manifest) Groups(partition [][]string) [][]string {
	named := map[string]bool{}
	for _, g := range partition {
		for _, n := range g {
			named[n] = true
		}
	}
	var rest []string
	for _, h := range m.Hosts {
		if !named[h.Name] {
			rest = append(rest, h.Name)
		}
	}
	var out [][]string
	for _, g := range partition {
		var group []string
		for _, n := range g {
			if n == Rest {
				group = append(group, rest...)
			} else {
				group = append(group, n)
			}
		}
		out = append(out, group)
	}
	if !named[Rest] && len(rest) > 0 {
		out = append(out, rest)
	}
	return out
}

// Prefix is the hosts' network.
func (m *Manifest) Prefix() netip.Prefix { return m.prefix }

// Host returns the host named name, or nil.
func (m *Manifest) Host(name string) *Host {
	for i := range m.Hosts {
		if m.Hosts[i].Name == name {
			return &m.Hosts[i]
		}
	}
	return nil
}

// HostsWith returns the hosts with role, in manifest order.
func (m *Manifest) HostsWith(role string) []*Host {
	var out []*Host
	for i := range m.Hosts {
		if m.Hosts[i].Role == role {
			out = append(out, &m.Hosts[i])
		}
	}
	return out
}

// lastAddr is p's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
