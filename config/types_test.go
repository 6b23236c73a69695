package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// typed exercises every supported field type, as a future daemon section
// would.
type typed struct {
	Node struct {
		Name         string        `yaml:"name"`
		Debug        bool          `yaml:"debug"`
		Count        int           `yaml:"count"`
		Delta        int32         `yaml:"delta"`
		Port         uint16        `yaml:"port"`
		MaxBodyBytes uint64        `yaml:"max_body_bytes"`
		Timeout      time.Duration `yaml:"timeout"`
		Peers        []string      `yaml:"peers"`
		Ignored      int           `yaml:"-"`
	} `yaml:"node"`
	Tags []string `yaml:"tags"`
}

func typedDefault() typed {
	var d typed
	d.Node.Name = "n"
	d.Node.Port = 26656
	d.Node.Timeout = 5 * time.Second
	d.Node.Peers = []string{"a:1"}
	return d
}

// loadTyped runs the layers of Load on a typed.
func loadTyped(t *testing.T, file string, env map[string]string, args ...string) (typed, error) {
	t.Helper()
	def := typedDefault()
	fl, err := newFlags(reflect.ValueOf(def))
	if err != nil {
		t.Fatal(err)
	}
	if err := parseFlags(t, fl, args...); err != nil {
		return typed{}, err
	}
	got := typedDefault()
	_, _, err = layer(reflect.ValueOf(&got).Elem(), Sources{
		File: []byte(file), FileName: "t.yml", LookupEnv: mapEnv(env), Flags: fl,
	})
	return got, err
}

func TestTypedLayers(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		got, err := loadTyped(t, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, typedDefault()) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("file", func(t *testing.T) {
		got, err := loadTyped(t, `
node:
  name: x
  debug: true
  count: -3
  delta: 7
  port: 80
  max_body_bytes: 18446744073709551615
  timeout: 1m30s
  peers: [b:2, c:3]
tags: []
`, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := got.Node
		if n.Name != "x" || !n.Debug || n.Count != -3 || n.Delta != 7 || n.Port != 80 ||
			n.MaxBodyBytes != 1<<64-1 || n.Timeout != 90*time.Second ||
			!reflect.DeepEqual(n.Peers, []string{"b:2", "c:3"}) || got.Tags == nil || len(got.Tags) != 0 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("env", func(t *testing.T) {
		got, err := loadTyped(t, "node:\n  port: 1\n", map[string]string{
			"AGORA_NODE_NAME":           "e",
			"AGORA_NODE_DEBUG":          "1",
			"AGORA_NODE_COUNT":          "-9",
			"AGORA_NODE_PORT":           "2",
			"AGORA_NODE_MAX_BODY_BYTES": "1024",
			"AGORA_NODE_TIMEOUT":        "250ms",
			"AGORA_NODE_PEERS":          " x:1 , y:2,,",
			"AGORA_TAGS":                "t",
		})
		if err != nil {
			t.Fatal(err)
		}
		n := got.Node
		if n.Name != "e" || !n.Debug || n.Count != -9 || n.Port != 2 || n.MaxBodyBytes != 1024 ||
			n.Timeout != 250*time.Millisecond || !reflect.DeepEqual(n.Peers, []string{"x:1", "y:2"}) ||
			!reflect.DeepEqual(got.Tags, []string{"t"}) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("flags", func(t *testing.T) {
		got, err := loadTyped(t, "node:\n  peers: [f:1]\n",
			map[string]string{"AGORA_NODE_PORT": "2", "AGORA_NODE_DEBUG": "true"},
			"--node.debug=false", "--node.port", "3", "--node.timeout=2h",
			"--node.peers=p:1,p:2", "--node.peers", "p:3", "--node.max_body_bytes=0")
		if err != nil {
			t.Fatal(err)
		}
		n := got.Node
		if n.Debug || n.Port != 3 || n.Timeout != 2*time.Hour || n.MaxBodyBytes != 0 ||
			!reflect.DeepEqual(n.Peers, []string{"p:1", "p:2", "p:3"}) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("bool flag without value", func(t *testing.T) {
		got, err := loadTyped(t, "", nil, "--node.debug")
		if err != nil || !got.Node.Debug {
			t.Errorf("got %+v, %v", got, err)
		}
	})
}

func TestTypedErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string
		want string
	}{
		{name: "env int", env: map[string]string{"AGORA_NODE_COUNT": "ten"},
			want: `config: env AGORA_NODE_COUNT: "ten" is not a base-10 int`},
		{name: "env uint range", env: map[string]string{"AGORA_NODE_PORT": "70000"},
			want: `config: env AGORA_NODE_PORT: "70000" is out of range for uint16`},
		{name: "env negative uint", env: map[string]string{"AGORA_NODE_MAX_BODY_BYTES": "-1"},
			want: `config: env AGORA_NODE_MAX_BODY_BYTES: "-1" is not a base-10 uint64`},
		{name: "env bool", env: map[string]string{"AGORA_NODE_DEBUG": "yes"},
			want: `config: env AGORA_NODE_DEBUG: "yes" is not a bool (true or false)`},
		{name: "env duration", env: map[string]string{"AGORA_NODE_TIMEOUT": "5"},
			want: `config: env AGORA_NODE_TIMEOUT: "5" is not a duration (such as 30s or 1h30m)`},
		{name: "flag duration", args: []string{"--node.timeout=soon"},
			want: `invalid value "soon" for flag -node.timeout: "soon" is not a duration`},
		{name: "flag int8 range", args: []string{"--node.delta=9999999999"},
			want: `invalid value "9999999999" for flag -node.delta: "9999999999" is out of range for int32`},
		{name: "file uint negative", file: "node:\n  port: -1\n",
			want: "config: t.yml:2: node.port: cannot unmarshal !!int `-1` into uint16"},
		{name: "file duration", file: "node:\n  timeout: forever\n",
			want: "config: t.yml:2: node.timeout: cannot unmarshal !!str `forever` into time.Duration"},
		{name: "file list", file: "node:\n  peers: a:1\n",
			want: "config: t.yml:2: node.peers: cannot unmarshal !!str `a:1` into []string"},
		{name: "file ignored key", file: "node:\n  ignored: 1\n",
			want: `config: t.yml:2: unknown key "node.ignored" (known keys under node: count, debug, delta, max_body_bytes, name, peers, port, timeout)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadTyped(t, tt.file, tt.env, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSchemaErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"untagged", reflect.TypeFor[struct{ A string }](), `yaml tag "" is not lower snake_case`},
		{"camel", reflect.TypeFor[struct {
			A string `yaml:"maxBody"`
		}](), `yaml tag "maxBody" is not lower snake_case`},
		{"map", reflect.TypeFor[struct {
			A map[string]string `yaml:"a"`
		}](), "a: unsupported type map[string]string"},
		{"pointer", reflect.TypeFor[struct {
			A *int `yaml:"a"`
		}](), "a: unsupported type *int"},
		{"oneof on int", reflect.TypeFor[struct {
			A int `yaml:"a" oneof:"1,2"`
		}](), "a: oneof tag on non-string type int"},
		{"env collision", reflect.TypeFor[struct {
			AB string `yaml:"a_b"`
			A  struct {
				B string `yaml:"b"`
			} `yaml:"a"`
		}](), "keys a_b and a.b share environment variable AGORA_A_B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := schema(tt.typ)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("schema error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// FuzzLoadFile checks that no file content makes Load panic and that every
// error it returns is a config error.
func FuzzLoadFile(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(Sources{File: data, FileName: "f.yml", UserHome: "/h"})
		if err != nil {
			if c != nil || !strings.HasPrefix(err.Error(), "config: ") {
				t.Fatalf("Load = %v, %v", c, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load returned an invalid config: %v", err)
		}
	})
}
