package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/config"
)

// agora runs the real command tree in-process.
func agora(t *testing.T, env, files map[string]string, args ...string) result {
	t.Helper()
	e, stdout, stderr := testEnv("", env, files)
	code := execute(t.Context(), e, newRoot("v9.9.9-test"), args)
	return result{code, stdout.String(), stderr.String()}
}

// TestCommandTree checks every command of the binary: a group or a leaf,
// described, with flags that do not clash, and a working --help.
func TestCommandTree(t *testing.T) {
	var visit func(path []string, c *Command)
	visit = func(path []string, c *Command) {
		path = append(path, c.Name)
		name := strings.Join(path, " ")
		if (c.Run == nil) == (len(c.Subcommands) == 0) {
			t.Errorf("%s: must have either Run or Subcommands", name)
		}
		if c.Short == "" {
			t.Errorf("%s: no Short description", name)
		}
		r := agora(t, nil, nil, append(path[1:], "--help")...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage:\n  "+name) {
			t.Errorf("%s --help: exit %d, stdout:\n%s\nstderr:\n%s", name, r.code, r.stdout, r.stderr)
		}
		for _, sub := range c.Subcommands {
			visit(path, sub)
		}
	}
	visit(nil, withHelp(newRoot("test")))
}

func TestVersion(t *testing.T) {
	r := agora(t, map[string]string{"AGORA_LOG_LEVEL": "loud"}, nil, "version")
	want := "agora v9.9.9-test (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("version: exit %d, stdout %q, want %q; stderr %q", r.code, r.stdout, want, r.stderr)
	}
	r = agora(t, nil, nil, "version", "--output=json")
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["version"] != "v9.9.9-test" || v["go"] != runtime.Version() {
		t.Errorf("version --output=json: %q, %v", r.stdout, err)
	}
	if r := agora(t, nil, nil, "version", "--output=xml"); r.code != 2 ||
		!strings.Contains(r.stderr, `invalid value "xml" for flag --output: "xml" is not one of text, json`) {
		t.Errorf("version --output=xml: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := agora(t, nil, nil, "version", "extra"); r.code != 2 || !strings.Contains(r.stderr, `unexpected argument "extra"`) {
		t.Errorf("version extra: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestConfigShow(t *testing.T) {
	files := map[string]string{"/etc/agora.yml": "home: /srv/agora\nlog:\n  level: debug\n"}
	env := map[string]string{"AGORA_LOG_FORMAT": "json"}

	r := agora(t, env, files, "--config", "/etc/agora.yml", "config", "show", "--log.level=warn")
	want := "home: /srv/agora\nlog:\n  level: warn\n  format: json\nminer:\n"
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "\nvalidator:\n") {
		t.Fatalf("config show: exit %d, stdout:\n%s\nwant it to start:\n%s\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}
	// The YAML output is a config file that loads to the same config.
	c, err := config.Load(config.Sources{File: []byte(r.stdout), FileName: "shown.yml"})
	wantCfg := config.Default()
	wantCfg.Home, wantCfg.Log = "/srv/agora", config.Log{Level: "warn", Format: "json"}
	if err != nil || *c != wantCfg {
		t.Errorf("reloading shown config: %+v, %v", c, err)
	}

	// A secret is never printed.
	if r := agora(t, map[string]string{"AGORA_MINER_BACKEND_API_KEY": "sk-secret-123"}, nil, "config", "show"); r.code != 0 || strings.Contains(r.stdout, "sk-secret-123") {
		t.Errorf("config show printed the backend API key: exit %d\n%s", r.code, r.stdout)
	}

	r = agora(t, nil, nil, "config", "show", "--output", "json")
	var shown map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &shown); r.code != 0 || err != nil {
		t.Fatalf("config show --output json: exit %d, %v:\n%s", r.code, err, r.stdout)
	}
	if shown["home"] != "/home/test/.agora" || shown["log"].(map[string]any)["level"] != "info" ||
		shown["miner"].(map[string]any)["listen"] != "127.0.0.1:8091" || shown["validator"].(map[string]any)["sample_size"] != float64(8) {
		t.Errorf("config show --output json: %v", shown)
	}

	r = agora(t, nil, map[string]string{"bad.yml": "log:\n  lvel: debug\n"}, "config", "show", "--config=bad.yml")
	if r.code != 1 || r.stderr != "agora: config: bad.yml:2: unknown key \"log.lvel\" (known keys under log: format, level)\n" {
		t.Errorf("bad file: exit %d, stderr %q", r.code, r.stderr)
	}
}
