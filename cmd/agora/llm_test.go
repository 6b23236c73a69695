package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/miner/minertest"
)

// The demo model lives beside the checkout (../shared), never in it.
const (
	llmModel     = "../../../shared/models/babyllama105/babyllama105.bin"
	llmTokenizer = "../../../shared/models/babyllama105/tok105.model"
)

func TestLLMGenerate(t *testing.T) {
	golden, err := os.ReadFile("../../llm/testdata/greedy_tom.golden")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"llm", "generate", "--model", llmModel, "--tokenizer", llmTokenizer, "--prompt", "Tom had a red ball"}

	// Without --tokenizer, the one beside the checkpoint: the same text.
	r, _ := runWith(t, "", "llm", "generate", "--model", llmModel, "--prompt", "Tom had a red ball", "--max-tokens", "8")
	r2, _ := runWith(t, "", append(base, "--max-tokens", "8")...)
	first, _, _ := strings.Cut(r.stdout, "\n")
	if want, _, _ := strings.Cut(r2.stdout, "\n"); r.code != 0 || first != want {
		t.Errorf("llm generate without --tokenizer: exit %d %q, want %q\n%s", r.code, first, want, r.stderr)
	}
	// The model's folder (here, links to the shared files): the same text.
	r, _ = runWith(t, "", "llm", "generate", "--model", demoFolder(t), "--prompt", "Tom had a red ball", "--max-tokens", "8")
	if got, _, _ := strings.Cut(r.stdout, "\n"); r.code != 0 || got != first {
		t.Errorf("llm generate --model FOLDER: exit %d %q, want %q\n%s", r.code, got, first, r.stderr)
	}

	r, _ = runWith(t, "", append(base, "--max-tokens", "40")...)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	first, _, _ = strings.Cut(r.stdout, "\n")
	if !strings.HasPrefix(string(golden), first) || len(first) < len("Tom had a red ball")+20 {
		t.Errorf("greedy text %q is not a prefix of the golden output %q", first, golden)
	}
	if !strings.Contains(r.stdout, "tokens/s") {
		t.Errorf("no tokens/s in output:\n%s", r.stdout)
	}

	r, _ = runWith(t, "", append(base, "--max-tokens", "10", "--temperature", "0.8", "--seed", "5", "--logprobs", "--output", "json")...)
	if r.code != 0 {
		t.Fatalf("json: exit %d, stderr %s", r.code, r.stderr)
	}
	var out llmGenerateOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, r.stdout)
	}
	if out.CompletionTokens != len(out.Tokens) || out.CompletionTokens == 0 || out.TokensPerSecond <= 0 || out.PromptTokens != 20 {
		t.Errorf("json output = %+v", out)
	}
	var text strings.Builder
	for _, tok := range out.Tokens {
		text.WriteString(tok.Text)
		if tok.Logprob > 0 {
			t.Errorf("token %+v: positive logprob", tok)
		}
	}
	if text.String() != out.Text {
		t.Errorf("tokens spell %q, text is %q", text.String(), out.Text)
	}
	r2, _ = runWith(t, "", append(base, "--max-tokens", "10", "--temperature", "0.8", "--seed", "5", "--output", "json")...)
	var out2 llmGenerateOutput
	if err := json.Unmarshal([]byte(r2.stdout), &out2); err != nil || out2.Text != out.Text {
		t.Errorf("same seed, different text: %q vs %q (%v)", out2.Text, out.Text, err)
	}
}

func TestLLMGenerateErrors(t *testing.T) {
	// A checkpoint with no tokenizer beside it.
	noTokenizer := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(noTokenizer, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	twoCheckpoints, noCheckpoint := t.TempDir(), t.TempDir()
	for _, f := range []string{filepath.Join(twoCheckpoints, "a.bin"), filepath.Join(twoCheckpoints, "b.bin"), filepath.Join(noCheckpoint, "README.md"), filepath.Join(noCheckpoint, "tok.model")} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--prompt", "hi"}, exitUsage, "give --model PATH"},
		{[]string{"--model", noTokenizer, "--prompt", "hi"}, exitUsage, "--model " + noTokenizer + ": no tokenizer beside " + noTokenizer + " (looked for tokenizer.model and one *.model; the folder holds model.bin): give the tokenizer's path with --tokenizer FILE"},
		{[]string{"--model", twoCheckpoints, "--prompt", "hi"}, exitUsage, "--model folder " + twoCheckpoints + " holds 2 llama2.c checkpoints (a.bin, b.bin): give one of them, such as " + filepath.Join(twoCheckpoints, "a.bin")},
		{[]string{"--model", noCheckpoint, "--prompt", "hi"}, exitUsage, "--model folder " + noCheckpoint + " holds no llama2.c checkpoint (*.bin); it holds README.md, tok.model: give the checkpoint file itself"},
		{[]string{"--model", llmModel, "--tokenizer", llmTokenizer, "--top-p", "2"}, exitUsage, "--top-p 2: want a number from 0 to 1"},
		{[]string{"--model", llmModel, "--top-p", "NaN"}, exitUsage, "--top-p NaN: want a number from 0 to 1"},
		{[]string{"--model", llmModel, "--temperature", "-0.5"}, exitUsage, "--temperature -0.5: want a number from 0 (greedy) up"},
		{[]string{"--model", llmModel, "--max-tokens", "-1"}, exitUsage, "--max-tokens -1: want 0 (until the context is full) or more"},
		{[]string{"--model", "missing.bin", "--tokenizer", llmTokenizer}, exitError, "missing.bin"},
		{[]string{"--model", llmTokenizer, "--tokenizer", llmTokenizer}, exitError, "bad header"},
		{[]string{"--model", llmModel, "--tokenizer", llmTokenizer, "--prompt", "a=b"}, exitError, `cannot encode character '='`},
		{[]string{"--model", llmModel, "--tokenizer", llmTokenizer, "extra"}, exitUsage, "unexpected argument"},
	} {
		r, _ := runWith(t, "", append([]string{"llm", "generate"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
}

// --backend asks an OpenAI-compatible server (the in-process stand-in for
// vLLM) and prints its tokens and speed.
func TestLLMGenerateBackend(t *testing.T) {
	srv := minertest.Serve(&minertest.Model{})
	defer srv.Close()
	r, _ := runWith(t, "", "llm", "generate", "--backend", srv.URL+"/v1", "--backend-model", "test-model", "--prompt", "the cat", "--max-tokens", "5", "--logprobs", "--output", "json")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	var out llmGenerateOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.CompletionTokens != 5 || len(out.Tokens) != 5 || out.FinishReason != "length" || out.Text == "" {
		t.Fatalf("output %+v", out)
	}
	r, _ = runWith(t, "", "llm", "generate", "--backend", srv.URL+"/v1", "--model", llmModel, "--prompt", "x")
	if r.code != 2 || !strings.Contains(r.stderr, "not both") {
		t.Fatalf("--model with --backend: exit %d, %s", r.code, r.stderr)
	}
}

// demoFolder is a temporary folder of links to the demo model's files: a
// model folder as an operator would give one, without copying the model.
func demoFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{llmModel, llmTokenizer} {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// --max-tokens beyond what the context leaves after the prompt is capped
// with a warning that gives the value used, and the generation keeps to it.
func TestLLMGenerateCapsMaxTokens(t *testing.T) {
	m, err := minertest.DemoLlama()
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "Tom had a red ball"
	ids, err := m.Tokenizer().Encode(prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	seqLen := m.Config().SeqLen
	room := seqLen - len(ids)
	r, _ := runWith(t, "", "llm", "generate", "--model", llmModel, "--prompt", prompt, "--max-tokens", "100000", "--output", "json")
	want := fmt.Sprintf("warning: --max-tokens 100000 is more than the model's context leaves: %d tokens of context, %d taken by the prompt; generating at most %d", seqLen, len(ids), room)
	var out llmGenerateOutput
	if r.code != 0 || !strings.Contains(r.stderr, want) || json.Unmarshal([]byte(r.stdout), &out) != nil || out.CompletionTokens > room || out.CompletionTokens == 0 {
		t.Fatalf("exit %d, %d tokens (want at most %d), stderr %q; want %q", r.code, out.CompletionTokens, room, r.stderr, want)
	}
	// Within the context: no warning.
	r, _ = runWith(t, "", "llm", "generate", "--model", llmModel, "--prompt", prompt, "--max-tokens", strconv.Itoa(room))
	if r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Fatalf("--max-tokens %d: exit %d, stderr %q", room, r.code, r.stderr)
	}
}
