package testnet

import (
	"strings"
	"testing"
)

func TestLoadShippedManifest(t *testing.T) {
	m, err := Load("testdata/four-validators.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.HostsWith(RoleChainValidator)) != 4 || len(m.HostsWith(RoleMiner)) != 3 || len(m.HostsWith(RoleValidator)) != 2 {
		t.Errorf("roles: %+v", m.Hosts)
	}
	if a := m.Host("sync0").Addr().String(); a != "10.77.0.14" {
		t.Errorf("sync0 got %s, want the first free address after the given ones, 10.77.0.14", a)
	}
	g := m.Groups(m.Perturbations[2].Partition)
	if len(g) != 2 || len(g[0]) != 9 || strings.Join(g[1], ",") != "cv2,cv3" {
		t.Errorf("2/2 partition groups: %v", g)
	}
	if g := m.Groups([][]string{{"cv3"}}); len(g) != 2 || len(g[1]) != 10 {
		t.Errorf("unnamed hosts form their own group: %v", g)
	}
}

// TestParseRefuses: every mistake a manifest can hold is refused with
// what is wrong.
func TestParseRefuses(t *testing.T) {
	const hosts = `
hosts:
  - {name: a, role: chain-validator}
  - {name: b, role: chain-validator}
  - {name: c, role: chain-validator}
  - {name: d, role: chain-validator}
  - {name: m, role: miner}
  - {name: late, role: full-node, late: true}
`
	for _, c := range []struct{ name, yaml, want string }{
		{"empty", ``, "the manifest is empty"},
		{"unknown key", "hosts: []\nblock_tme: 1s\n", "field block_tme not found"},
		{"unknown host key", "hosts:\n  - {name: a, role: chain-validator, adress: 10.77.0.3}\n", "field adress not found"},
		{"no hosts", "chain_id: x\n", "no hosts"},
		{"bad role", "hosts:\n  - {name: a, role: validater}\n", `role "validater" does not exist: want one of chain-validator, full-node, miner, validator`},
		{"bad name", "hosts:\n  - {name: A_1, role: miner}\n", `name "A_1"`},
		{"twice", "hosts:\n  - {name: a, role: chain-validator}\n  - {name: a, role: miner}\n", "host a is named twice"},
		{"address clash", "hosts:\n  - {name: a, role: chain-validator, address: 10.77.0.20}\n  - {name: b, role: miner, address: 10.77.0.20}\n", "address 10.77.0.20 is host a's too"},
		{"address outside", "hosts:\n  - {name: a, role: chain-validator, address: 10.78.0.20}\n", "want a host address in 10.77.0.0/24"},
		{"bridge address", "hosts:\n  - {name: a, role: chain-validator, address: 10.77.0.1}\n", "the bridge's"},
		{"bad network", "network: 10.77.0.0/30\nhosts:\n  - {name: a, role: chain-validator}\n", "want an IPv4 prefix"},
		{"no validator", "hosts:\n  - {name: m, role: miner}\n", "no chain-validator host"},
		{"bad node", "hosts:\n  - {name: a, role: chain-validator}\n  - {name: m, role: miner, node: x}\n", `node "x" is not a host`},
		{"node is a miner", "hosts:\n  - {name: a, role: chain-validator}\n  - {name: n, role: miner}\n  - {name: m, role: miner, node: n}\n", "node n is a miner"},
		{"late not joined", hosts, "host late is late but no perturbation joins it"},
		{"bad duration", "block_time: soon\n" + hosts, `"soon" is not a duration`},
		{"two actions", hosts + "perturbations:\n  - {kill: a, join: late}\n", "perturbation 1: want exactly one of kill, partition and join"},
		{"kill unknown", hosts + "perturbations:\n  - {kill: z}\n  - {join: late}\n", `perturbation 1: kill "z": no such host`},
		{"join validator", hosts + "perturbations:\n  - {join: a}\n", "perturbation 1: join a: only a late full-node joins"},
		{"kill before join", hosts + "perturbations:\n  - {kill: late}\n  - {join: late}\n", "kill late: it has not joined yet"},
		{"partition one group", hosts + "perturbations:\n  - {partition: [[a, b]]}\n  - {join: late}\n", "want at least two groups"},
		{"partition twice", hosts + "perturbations:\n  - {partition: [[a], [a, b]]}\n  - {join: late}\n", "a is in two groups"},
		{"partition unknown", hosts + "perturbations:\n  - {partition: [[a], [q]]}\n  - {join: late}\n", `"q" is not a host`},
		{"halts missing", hosts + "perturbations:\n  - {partition: [[a, b], [c, d]]}\n  - {join: late}\n", "the chain halts: say halts: true"},
		{"halts wrong", hosts + "perturbations:\n  - {partition: [[a], ['*']], halts: true}\n  - {join: late}\n", "a group holds 3 of the 4 validators"},
		{"down without kill", hosts + "perturbations:\n  - {join: late, down: 1s}\n", "down is for kill"},
	} {
		_, err := Parse([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
	}
}
