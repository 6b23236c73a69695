package config

import (
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// mapEnv is a LookupEnv over a map.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// parseFlags registers fl on a fresh flag set and parses args with it.
func parseFlags(t *testing.T, fl *Flags, args ...string) error {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fl.Register(fs)
	return fs.Parse(args)
}

func TestLoadPrecedence(t *testing.T) {
	const home = "/home/u"
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags []string
		want  Config
	}{
		{
			name: "defaults",
			want: Config{Home: "/home/u/.agora", Log: Log{Level: "info", Format: "console"}},
		},
		{
			name: "file overrides defaults",
			file: "home: /srv/agora\nlog:\n  level: debug\n",
			want: Config{Home: "/srv/agora", Log: Log{Level: "debug", Format: "console"}},
		},
		{
			name: "env overrides file",
			file: "log:\n  level: debug\n  format: json\n",
			env:  map[string]string{"AGORA_LOG_LEVEL": "warn"},
			want: Config{Home: "/home/u/.agora", Log: Log{Level: "warn", Format: "json"}},
		},
		{
			name:  "flag overrides env",
			file:  "log:\n  level: debug\n",
			env:   map[string]string{"AGORA_LOG_LEVEL": "warn"},
			flags: []string{"--log.level=error"},
			want:  Config{Home: "/home/u/.agora", Log: Log{Level: "error", Format: "console"}},
		},
		{
			name:  "flag not set does not override env or file",
			file:  "log:\n  format: json\n",
			env:   map[string]string{"AGORA_LOG_LEVEL": "warn"},
			flags: []string{"--home", "/data"},
			want:  Config{Home: "/data", Log: Log{Level: "warn", Format: "json"}},
		},
		{
			name:  "flag set to the default value still overrides",
			env:   map[string]string{"AGORA_LOG_LEVEL": "warn"},
			flags: []string{"-log.level", "info"},
			want:  Config{Home: "/home/u/.agora", Log: Log{Level: "info", Format: "console"}},
		},
		{
			name: "empty env variable is unset",
			file: "log:\n  level: debug\n",
			env:  map[string]string{"AGORA_LOG_LEVEL": ""},
			want: Config{Home: "/home/u/.agora", Log: Log{Level: "debug", Format: "console"}},
		},
		{
			name: "unrelated env ignored",
			env:  map[string]string{"LOG_LEVEL": "error", "AGORA_LOG": "x"},
			want: Config{Home: "/home/u/.agora", Log: Log{Level: "info", Format: "console"}},
		},
		{
			name:  "tilde expanded from any layer",
			env:   map[string]string{"AGORA_HOME": "/env"},
			flags: []string{"--home=~/node1"},
			want:  Config{Home: "/home/u/node1", Log: Log{Level: "info", Format: "console"}},
		},
		{
			name:  "last flag wins",
			flags: []string{"--log.format=json", "--log.format=console"},
			want:  Config{Home: "/home/u/.agora", Log: Log{Level: "info", Format: "console"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := NewFlags()
			if err := parseFlags(t, fl, tt.flags...); err != nil {
				t.Fatal(err)
			}
			got, err := Load(Sources{
				File:      []byte(tt.file),
				FileName:  "agora.yml",
				LookupEnv: mapEnv(tt.env),
				Flags:     fl,
				UserHome:  home,
			})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.Miner == (Miner{}) {
				want.Miner = Default().Miner
			}
			if want.Validator == (Validator{}) {
				want.Validator = Default().Validator
			}
			if *got != want {
				t.Errorf("Load = %+v, want %+v", *got, want)
			}
		})
	}
}

// fullMiner is the miner section of testdata/full.good.yml.
func fullMiner() Miner {
	m := Default().Miner
	m.Listen, m.BackendURL, m.QueueTimeout, m.MinStake = "0.0.0.0:9000", "http://127.0.0.1:8000/v1", 3*time.Second, 1000
	return m
}

// Scoped flags: only a command that registers the miner section takes
// --miner.*; the environment reaches it whatever the command.
func TestScopedSection(t *testing.T) {
	fl := NewFlags()
	plain := flag.NewFlagSet("plain", flag.ContinueOnError)
	plain.SetOutput(io.Discard)
	fl.Register(plain)
	if err := plain.Parse([]string{"--miner.listen=:1"}); err == nil {
		t.Fatal("a command without the miner section accepted --miner.listen")
	}
	daemon := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fl.Register(daemon)
	fl.RegisterSection(daemon, "miner")
	if err := daemon.Parse([]string{"--miner.listen=:1", "--miner.rate_limit=5"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Sources{Flags: fl, UserHome: "/h", LookupEnv: mapEnv(map[string]string{"AGORA_MINER_NETUID": "7"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Miner.Listen != ":1" || c.Miner.RateLimit != 5 || c.Miner.Netuid != 7 {
		t.Fatalf("Miner = %+v", c.Miner)
	}
	if _, err := Load(Sources{UserHome: "/h", LookupEnv: mapEnv(map[string]string{"AGORA_MINER_MAX_QUEUE": "-1"})}); err == nil ||
		!strings.Contains(err.Error(), "miner.max_queue must not be negative (set by env AGORA_MINER_MAX_QUEUE)") {
		t.Fatalf("negative max_queue: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("RegisterSection of an unscoped section did not panic")
		}
	}()
	fl.RegisterSection(flag.NewFlagSet("x", flag.ContinueOnError), "log")
}

func TestLoadZeroSources(t *testing.T) {
	_, err := Load(Sources{})
	if err == nil || !strings.Contains(err.Error(), `home "~/.agora": cannot expand "~"`) {
		t.Fatalf("Load(Sources{}) error = %v, want cannot expand ~", err)
	}
	got, err := Load(Sources{UserHome: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Home != "/.agora" {
		t.Errorf("Home = %q, want /.agora", got.Home)
	}
}

func TestGoodFiles(t *testing.T) {
	want := map[string]Config{
		"full.good.yml":    {Home: "/var/lib/agora", Log: Log{Level: "debug", Format: "json"}, Miner: fullMiner()},
		"partial.good.yml": {Home: "/h/.agora", Log: Log{Level: "warn", Format: "console"}},
		"empty.good.yml":   {Home: "/h/.agora", Log: Log{Level: "info", Format: "console"}},
		"null.good.yml":    {Home: "/h/.agora", Log: Log{Level: "info", Format: "console"}},
	}
	files, _ := filepath.Glob("testdata/*.good.yml")
	if len(files) != len(want) {
		t.Errorf("testdata has %d good files, test knows %d", len(files), len(want))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Load(Sources{File: data, FileName: path, UserHome: "/h"})
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want[filepath.Base(path)]
			if !ok {
				t.Fatalf("no expectation for %s", path)
			}
			if w.Miner == (Miner{}) {
				w.Miner = Default().Miner
			}
			if w.Validator == (Validator{}) {
				w.Validator = Default().Validator
			}
			if *got != w {
				t.Errorf("Load = %+v, want %+v", *got, w)
			}
		})
	}
}

func TestBadFiles(t *testing.T) {
	want := map[string]string{
		"unknown-key.bad.yml":     `config: testdata/unknown-key.bad.yml:3: unknown key "log.lvel" (known keys under log: format, level)`,
		"unknown-section.bad.yml": `config: testdata/unknown-section.bad.yml:2: unknown key "logging" (known keys: home, log, miner, node, validator)`,
		"bad-level.bad.yml":       `config: log.level "loud" is not one of debug, info, warn, error (set by testdata/bad-level.bad.yml:2)`,
		"bad-format.bad.yml":      `config: log.format "xml" is not one of console, json (set by testdata/bad-format.bad.yml:2)`,
		"section-scalar.bad.yml":  `config: testdata/section-scalar.bad.yml:1: log must be a mapping, not str "debug"`,
		"level-list.bad.yml":      `config: testdata/level-list.bad.yml:2: log.level: cannot unmarshal !!seq into string`,
		"duplicate.bad.yml":       `config: testdata/duplicate.bad.yml:3: duplicate key "log.level"`,
		"syntax.bad.yml":          `config: parse testdata/syntax.bad.yml: line 2: found unexpected end of stream`,
		"two-docs.bad.yml":        `config: testdata/two-docs.bad.yml:2: more than one YAML document`,
		"top-list.bad.yml":        `config: testdata/top-list.bad.yml:1: the top level must be a mapping, not a sequence`,
		"empty-home.bad.yml":      `config: home must not be empty (set by testdata/empty-home.bad.yml:1)`,
		"axon-networks.bad.yml":   `config: validator.axon_networks: "192.168.1/24" is not a CIDR prefix (an address, a slash and a length, such as 10.77.0.0/16 or fd00::/8) (set by testdata/axon-networks.bad.yml:2)`,
	}
	files, _ := filepath.Glob("testdata/*.bad.yml")
	if len(files) != len(want) {
		t.Errorf("testdata has %d bad files, test knows %d", len(files), len(want))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Load(Sources{File: data, FileName: path, UserHome: "/h"})
			if err == nil {
				t.Fatalf("Load = %+v, want error", got)
			}
			if got != nil {
				t.Errorf("Load returned a config with its error")
			}
			w, ok := want[filepath.Base(path)]
			if !ok {
				t.Fatalf("no expectation for %s; error is %q", path, err)
			}
			if err.Error() != w {
				t.Errorf("error:\n got %s\nwant %s", err, w)
			}
		})
	}
}

func TestBadEnvAndFlags(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		flags []string
		want  string // substring of the Load or flag parse error
	}{
		{"env bad level", map[string]string{"AGORA_LOG_LEVEL": "loud"}, nil,
			`config: log.level "loud" is not one of debug, info, warn, error (set by env AGORA_LOG_LEVEL)`},
		{"flag bad level", nil, []string{"--log.level=loud"},
			`invalid value "loud" for flag -log.level: "loud" is not one of debug, info, warn, error`},
		{"flag bad format", nil, []string{"--log.format", "xml"},
			`invalid value "xml" for flag -log.format: "xml" is not one of console, json`},
		{"two errors", map[string]string{"AGORA_LOG_LEVEL": "loud", "AGORA_LOG_FORMAT": "xml"}, nil,
			"config: log.level \"loud\" is not one of debug, info, warn, error (set by env AGORA_LOG_LEVEL)\n" +
				"config: log.format \"xml\" is not one of console, json (set by env AGORA_LOG_FORMAT)"},
		{"unknown flag", nil, []string{"--log.lvel=debug"}, "flag provided but not defined: -log.lvel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := NewFlags()
			err := parseFlags(t, fl, tt.flags...)
			if err == nil {
				_, err = Load(Sources{LookupEnv: mapEnv(tt.env), Flags: fl, UserHome: "/h"})
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestAxonNetworks: validator.axon_networks is a comma-separated list of
// CIDR prefixes from any layer; each bad item is refused at load, named,
// with the layer that set it.
func TestAxonNetworks(t *testing.T) {
	a := netip.MustParsePrefix
	for _, tt := range []struct {
		name  string
		env   map[string]string
		flags []string
		want  []netip.Prefix
		err   string
	}{
		{name: "unset", want: nil},
		{name: "flag", flags: []string{"--validator.axon_networks", "10.77.0.0/16,192.168.1.0/24"},
			want: []netip.Prefix{a("10.77.0.0/16"), a("192.168.1.0/24")}},
		{name: "env with spaces and IPv6", env: map[string]string{"AGORA_VALIDATOR_AXON_NETWORKS": " fd00:77::/32 , 127.0.0.0/8,"},
			want: []netip.Prefix{a("fd00:77::/32"), a("127.0.0.0/8")}},
		{name: "not a prefix", flags: []string{"--validator.axon_networks", "10.0.0.0/8,lan"},
			err: `config: validator.axon_networks: "lan" is not a CIDR prefix (an address, a slash and a length, such as 10.77.0.0/16 or fd00::/8) (set by flag --validator.axon_networks)`},
		{name: "an address without a length", env: map[string]string{"AGORA_VALIDATOR_AXON_NETWORKS": "10.0.0.5"},
			err: `config: validator.axon_networks: "10.0.0.5" is not a CIDR prefix (an address, a slash and a length, such as 10.77.0.0/16 or fd00::/8) (set by env AGORA_VALIDATOR_AXON_NETWORKS)`},
		{name: "a length too long", flags: []string{"--validator.axon_networks", "10.0.0.0/33"},
			err: `"10.0.0.0/33" is not a CIDR prefix`},
		{name: "host bits set", flags: []string{"--validator.axon_networks", "192.168.1.20/24"},
			err: `config: validator.axon_networks: "192.168.1.20/24" has address bits set beyond its length 24: write the network, 192.168.1.0/24 (set by flag --validator.axon_networks)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fl := NewFlags()
			fs := flag.NewFlagSet("validator run", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fl.Register(fs)
			fl.RegisterSection(fs, "validator")
			if err := fs.Parse(tt.flags); err != nil {
				t.Fatal(err)
			}
			c, err := Load(Sources{LookupEnv: mapEnv(tt.env), Flags: fl, UserHome: "/h"})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Load error = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Validator.AxonPrefixes()
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("AxonPrefixes = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	c.Log.Level = "loud"
	want := `config: log.level "loud" is not one of debug, info, warn, error`
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
}

func TestFlagsRegister(t *testing.T) {
	fl := NewFlags()
	// One Flags on two flag sets, as cmd/agora does per subcommand level.
	a := flag.NewFlagSet("a", flag.ContinueOnError)
	b := flag.NewFlagSet("b", flag.ContinueOnError)
	fl.Register(a)
	fl.Register(b)
	if err := a.Parse([]string{"--log.level=debug"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Parse([]string{"--log.format=json"}); err != nil {
		t.Fatal(err)
	}
	if got := fl.SetNames(); !reflect.DeepEqual(got, []string{"log.level", "log.format"}) {
		t.Errorf("SetNames() = %v", got)
	}
	f := a.Lookup("log.level")
	if f == nil || f.DefValue != "info" || !strings.Contains(f.Usage, "debug, info, warn, error") || !strings.Contains(f.Usage, "AGORA_LOG_LEVEL") {
		t.Errorf("log.level flag = %+v", f)
	}
	c, err := Load(Sources{Flags: fl, UserHome: "/h"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Log != (Log{Level: "debug", Format: "json"}) {
		t.Errorf("Log = %+v", c.Log)
	}
}

// TestSchemaOfConfig keeps Config loadable as fields are added: tags well
// formed, types supported, environment names unique.
func TestSchemaOfConfig(t *testing.T) {
	fields, err := schema(reflect.TypeFor[Config]())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fields {
		got = append(got, f.key+" "+f.env+" --"+f.flag)
	}
	want := []string{
		"home AGORA_HOME --home",
		"node AGORA_NODE --node",
		"log.level AGORA_LOG_LEVEL --log.level",
		"log.format AGORA_LOG_FORMAT --log.format",
	}
	for _, f := range fields[len(want):] {
		if section, _, _ := strings.Cut(f.key, "."); (section != "miner" && section != "validator") || f.scope != section {
			t.Errorf("field %s: scope %q, want every key after log's in its scoped section", f.key, f.scope)
		}
	}
	if got = got[:len(want)]; !reflect.DeepEqual(got, want) {
		t.Errorf("schema:\n got %q\nwant %q", got, want)
	}
	def := reflect.ValueOf(Default())
	for _, f := range fields {
		if f.help == "" {
			t.Errorf("%s has no help tag", f.key)
		}
		if len(f.oneof) > 0 && !strings.Contains(","+strings.Join(f.oneof, ",")+",", ","+def.FieldByIndex(f.index).String()+",") {
			t.Errorf("%s: default is not one of %v", f.key, f.oneof)
		}
	}
}

// TestNodeLayers checks the node setting's four layers and that
// LoadOrigins says which one gave it: what cmd/agora names in its errors
// when no node answers.
func TestNodeLayers(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		env        map[string]string
		flags      []string
		want, from string
	}{
		{name: "default is empty (find it)", want: "", from: ""},
		{name: "file", file: "node: tcp://f:1\n", want: "tcp://f:1", from: "agora.yml:1"},
		{name: "env over file", file: "node: tcp://f:1\n", env: map[string]string{"AGORA_NODE": "tcp://e:2"}, want: "tcp://e:2", from: "env AGORA_NODE"},
		{name: "flag over env", file: "node: tcp://f:1\n", env: map[string]string{"AGORA_NODE": "tcp://e:2"},
			flags: []string{"--node", "http://g:3"}, want: "http://g:3", from: "flag --node"},
		{name: "empty env is unset", file: "node: tcp://f:1\n", env: map[string]string{"AGORA_NODE": ""}, want: "tcp://f:1", from: "agora.yml:1"},
		{name: "miner.node is its own key", env: map[string]string{"AGORA_MINER_NODE": "tcp://m:4"}, want: "", from: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := NewFlags()
			if err := parseFlags(t, fl, tt.flags...); err != nil {
				t.Fatal(err)
			}
			got, origin, err := LoadOrigins(Sources{File: []byte(tt.file), FileName: "agora.yml", LookupEnv: mapEnv(tt.env), Flags: fl, UserHome: "/h"})
			if err != nil {
				t.Fatal(err)
			}
			if got.Node != tt.want || origin["node"] != tt.from {
				t.Errorf("node = %q from %q, want %q from %q", got.Node, origin["node"], tt.want, tt.from)
			}
		})
	}
}
