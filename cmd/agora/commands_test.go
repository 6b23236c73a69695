package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/config"
	"github.com/seed0ffb8d46/agora/scoring"
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
		if c.Run == nil && len(c.Subcommands) == 0 {
			t.Errorf("%s: must have Run or Subcommands", name)
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
	want := "home: /srv/agora\nnode: \"\"\nlog:\n  level: warn\n  format: json\nminer:\n"
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

	// A secret is hidden, but shown to be set, unless --show-secrets; the
	// YAML still loads, without it.
	secret := map[string]string{"AGORA_MINER_BACKEND_API_KEY": "sk-secret-123"}
	r = agora(t, secret, nil, "config", "show")
	if r.code != 0 || strings.Contains(r.stdout, "sk-secret-123") ||
		!strings.Contains(r.stdout, `  backend_api_key: "" # (set) hidden; agora config show --show-secrets prints it`+"\n") {
		t.Errorf("config show with a backend API key: exit %d\n%s", r.code, r.stdout)
	}
	if c, err := config.Load(config.Sources{File: []byte(r.stdout), UserHome: "/h"}); err != nil || c.Miner.BackendAPIKey != "" {
		t.Errorf("reloading a config with a hidden secret: %+v, %v", c, err)
	}
	r = agora(t, secret, nil, "config", "show", "--output", "json")
	if r.code != 0 || strings.Contains(r.stdout, "sk-secret-123") || !strings.Contains(r.stdout, `"backend_api_key": "(set)"`) {
		t.Errorf("config show --output json with a backend API key: exit %d\n%s", r.code, r.stdout)
	}
	if r = agora(t, secret, nil, "config", "show", "--show-secrets"); r.code != 0 || !strings.Contains(r.stdout, "  backend_api_key: sk-secret-123\n") {
		t.Errorf("config show --show-secrets: exit %d\n%s", r.code, r.stdout)
	}
	if r = agora(t, nil, nil, "config", "show"); r.code != 0 || !strings.Contains(r.stdout, "  backend_api_key: \"\"\n") {
		t.Errorf("config show without a backend API key: exit %d\n%s", r.code, r.stdout)
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

	// A number out of range says the range.
	for _, c := range []struct{ env, value, want string }{
		{"AGORA_VALIDATOR_SAMPLE_SIZE", "-1", "config: validator.sample_size -1 is out of range: want at least 1 (set by env AGORA_VALIDATOR_SAMPLE_SIZE)"},
		{"AGORA_VALIDATOR_MAX_TOKENS", "0", "validator.max_tokens 0 is out of range: want at least 1"},
		{"AGORA_VALIDATOR_STEP_INTERVAL", "0s", "validator.step_interval 0s is out of range: want a positive duration"},
		{"AGORA_VALIDATOR_REFERENCE_PCT", "101", "validator.reference_pct 101 is out of range: want 0 to 100"},
		{"AGORA_VALIDATOR_PREFERENCE_PCT", "90", "validator.preference_pct 90 is out of range: want 0 to 80 (validator.reference_pct and it add up to at most 100)"},
		{"AGORA_VALIDATOR_DATASET_EVERY", "-2", "validator.dataset_every -2 is out of range: want at least 0"},
		{"AGORA_MINER_MAX_BODY", "10", "miner.max_body 10 is out of range: want at least 1024 (bytes)"},
	} {
		if r := agora(t, map[string]string{c.env: c.value}, nil, "config", "show"); r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s=%s: exit %d, stderr %q, want %q", c.env, c.value, r.code, r.stderr, c.want)
		}
	}

	r = agora(t, nil, map[string]string{"bad.yml": "log:\n  lvel: debug\n"}, "config", "show", "--config=bad.yml")
	if r.code != 1 || r.stderr != "agora: config: bad.yml:2: unknown key \"log.lvel\" (known keys under log: format, level)\n" {
		t.Errorf("bad file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// The help says what is true of each flag: which are required, what a
// hotkey does, the ranges and defaults.
func TestHelpSaysWhatIsTrue(t *testing.T) {
	for _, c := range []struct {
		cmd       []string
		want, not []string
	}{
		{[]string{"tx", "serve-axon"}, []string{"it signs: serve_axon has no fee"}, []string{"pays"}},
		{[]string{"tx", "stake", "remove"}, []string{"hotkey to unstake from (this or --hotkey-address is required)"}, []string{"to stake on"}},
		{[]string{"tx", "stake", "add"}, []string{"hotkey to stake on (this or --hotkey-address is required)"}, nil},
		{[]string{"tx", "weights", "set"}, []string{"hotkey that signs (required; weights transactions have no fee)"}, nil},
		{[]string{"tx", "dataset", "commit"}, []string{"hotkey that signs (required; it needs a validator permit"}, nil},
		{[]string{"wallet", "new-hotkey"}, []string{"--hotkey NAME          the new hotkey's NAME (required)", "1 to 4096 (default 64)"}, nil},
		{[]string{"wallet", "prove-hotkey"}, []string{"hotkey that proves (required)"}, nil},
		{[]string{"wallet", "show"}, []string{"instead of the coldkey"}, nil},
		{[]string{"llm", "generate"}, []string{"(default: tokenizer.model, or the one *.model, beside the checkpoint)", "0 to 1"}, nil},
		{[]string{"miner", "labelers", "list"}, []string{"--output string", "json"}, nil},
		{[]string{"config", "show"}, []string{"--show-secrets"}, nil},
	} {
		r := agora(t, nil, nil, append(c.cmd, "--help")...)
		for _, w := range c.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v --help: no %q in\n%s", c.cmd, w, r.stdout)
			}
		}
		for _, w := range c.not {
			if strings.Contains(r.stdout, w) {
				t.Errorf("%v --help: %q in\n%s", c.cmd, w, r.stdout)
			}
		}
	}
}

// TestDefaultsAgree: the validator's defaults in config are the judgement
// policy's, the one place they live (scoring.DefaultPolicy).
func TestDefaultsAgree(t *testing.T) {
	c, p := config.Default().Validator, scoring.DefaultPolicy()
	if c.MaxTokens != p.MaxTokens {
		t.Errorf("config's validator.max_tokens is %d, the policy's %d", c.MaxTokens, p.MaxTokens)
	}
	if c.ReferencePct > 0 && p.KindWeights[scoring.KindReference] == 0 || c.PreferencePct > 0 && p.KindWeights[scoring.KindPreference] == 0 {
		t.Errorf("config sends task kinds the policy does not weigh: %+v, %v", c, p.KindWeights)
	}
}
