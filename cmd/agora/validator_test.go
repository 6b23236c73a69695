package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/miner/minertest"
)

// TestValidatorRunBadFlags: each mistake in the validator's flags is an
// error that says what to give instead, before any hotkey is loaded (the
// test's home has none) or its password asked for.
func TestValidatorRunBadFlags(t *testing.T) {
	const ckpt = "../shared/models/babyllama105/babyllama105.bin"
	base := []string{"validator", "run", "--validator.wallet", "alice", "--validator.hotkey", "vali1"}
	twoCheckpoints := t.TempDir()
	for _, f := range []string{"a.bin", "b.bin"} {
		if err := os.WriteFile(filepath.Join(twoCheckpoints, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := minertest.DemoLlama()
	if err != nil {
		t.Fatal(err)
	}
	noLogprobs := minertest.ServeLlama(m, minertest.LlamaOptions{NoPromptLogprobs: true})
	defer noLogprobs.Close()
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no model", nil, 2, "--validator.verify_model is required"},
		{"missing checkpoint", []string{"--validator.verify_model", "/nope/model.bin"}, 2,
			"--validator.verify_model /nope/model.bin: no such file. Give the llama2.c checkpoint"},
		{"a folder of two checkpoints", []string{"--validator.verify_model", twoCheckpoints}, 2,
			"--validator.verify_model folder " + twoCheckpoints + " holds 2 llama2.c checkpoints (a.bin, b.bin): give one of them"},
		{"a name without a server", []string{"--validator.verify_model", "babyllama105"}, 2,
			"the name it serves with --validator.verify_url"},
		{"server without stop ids", []string{"--validator.verify_model", "m", "--validator.verify_url", "http://127.0.0.1:9/v1"}, 2,
			"--validator.verify_stop_ids is required with --validator.verify_url"},
		{"bad stop id", []string{"--validator.verify_model", "m", "--validator.verify_url", "http://127.0.0.1:9/v1", "--validator.verify_stop_ids", "2,x"}, 2,
			`--validator.verify_stop_ids "2,x": "x" is not a token id`},
		{"negative stop id", []string{"--validator.verify_model", "m", "--validator.verify_url", "http://127.0.0.1:9/v1", "--validator.verify_stop_ids", "-1"}, 2,
			`"-1" is not a token id`},
		{"server URL without scheme", []string{"--validator.verify_model", "m", "--validator.verify_url", "127.0.0.1:9", "--validator.verify_stop_ids", "2"}, 2,
			"--validator.verify_url: llm: openai backend: base URL \"127.0.0.1:9\": scheme must be http or https"},
		{"tokenizer with a server", []string{"--validator.verify_model", "m", "--validator.verify_url", "http://127.0.0.1:9/v1", "--validator.verify_stop_ids", "2", "--validator.verify_tokenizer", "t.model"}, 2,
			"--validator.verify_tokenizer is for a llama2.c checkpoint"},
		{"a name for a server's model", []string{"--validator.verify_model", "m", "--validator.verify_url", "http://127.0.0.1:9/v1", "--validator.verify_stop_ids", "2", "--validator.verify_name", "x"}, 2,
			"--validator.verify_name is for a llama2.c checkpoint"},
		{"stop ids without a server", []string{"--validator.verify_model", ckpt, "--validator.verify_stop_ids", "2"}, 2,
			"--validator.verify_stop_ids is for a model server"},
		{"server down", []string{"--validator.verify_model", "m", "--validator.verify_url", "http://127.0.0.1:9/v1", "--validator.verify_stop_ids", "2"}, 1,
			"--validator.verify_url: the verifying server cannot score a prompt"},
		{"server without prompt log-probabilities", []string{"--validator.verify_model", "babyllama105", "--validator.verify_url", noLogprobs.URL + "/v1", "--validator.verify_stop_ids", "1,2"}, 1,
			"returns no prompt log-probabilities, which the statistical checks need"},
		{"judge without model", []string{"--validator.verify_model", ckpt, "--validator.judge_url", "http://127.0.0.1:9/v1"}, 1,
			"validator.judge_url needs validator.judge_model"},
		{"judge model without server", []string{"--validator.verify_model", ckpt, "--validator.judge_model", "m"}, 1,
			"validator.judge_model needs validator.judge_url"},
	} {
		r := agora(t, nil, nil, append(base, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "no such key") {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, r.code, r.stderr, c.code, c.want)
		}
	}
}

// --validator.max_tokens above the built-in engine's context is capped
// at the context, with a warning that gives the value used.
func TestValidatorCapsMaxTokens(t *testing.T) {
	m, err := minertest.DemoLlama()
	if err != nil {
		t.Fatal(err)
	}
	env, _, stderr := testEnv("", nil, nil)
	env.ReadFile = os.ReadFile
	// It stops at the hotkey, which the test's home does not have: after
	// the model is loaded and the cap decided.
	code := execute(t.Context(), env, newRoot("test"), []string{"validator", "run", "--home", t.TempDir(),
		"--validator.wallet", "alice", "--validator.hotkey", "vali1",
		"--validator.verify_model", llmModel, "--validator.max_tokens", "100000"})
	want := fmt.Sprintf("--validator.max_tokens 100000 is above the context of model babyllama105 (%d tokens): asking miners for %d", m.Config().SeqLen, m.Config().SeqLen)
	if code == 0 || !strings.Contains(stderr.String(), want) {
		t.Fatalf("exit %d, stderr %q; want %q", code, stderr, want)
	}
}
