package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"text/tabwriter"
	"time"

	"github.com/seed0ffb8d46/agora/llm"
)

// llmCmd is "agora llm": try a model before joining as a miner.
func llmCmd() *Command {
	return &Command{
		Name:        "llm",
		Short:       "Run a language model locally",
		Subcommands: []*Command{llmGenerateCmd()},
	}
}

// llmGenerateOutput is the JSON of "agora llm generate".
type llmGenerateOutput struct {
	Prompt           string             `json:"prompt"`
	Text             string             `json:"text"`
	FinishReason     string             `json:"finish_reason"`
	PromptTokens     int                `json:"prompt_tokens"`
	CompletionTokens int                `json:"completion_tokens"`
	Seconds          float64            `json:"seconds"`
	TokensPerSecond  float64            `json:"tokens_per_second"`
	Tokens           []llm.TokenLogprob `json:"tokens,omitempty"` // with --logprobs
}

// llmGenerateCmd is "agora llm generate": the built-in llama2.c engine.
func llmGenerateCmd() *Command {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	model := fs.String("model", "", "llama2.c checkpoint `PATH` (v0 format): the file, or a folder holding one *.bin and its tokenizer, such as ../shared/models/babyllama105")
	tokenizer := fs.String("tokenizer", "", "SentencePiece tokenizer.model `FILE` (default: tokenizer.model, or the one *.model, beside the checkpoint)")
	prompt := fs.String("prompt", "", "text to continue")
	temperature := fs.Float64("temperature", 0, "sampling temperature, 0 or more; 0 is greedy (deterministic)")
	topP := fs.Float64("top-p", 0.9, "nucleus sampling, 0 to 1: sample from the most likely tokens holding this probability (0 or 1: all)")
	seed := fs.Uint64("seed", 1, "sampler seed; one seed gives one output")
	maxTokens := fs.Int("max-tokens", 128, "tokens to generate at most (0: until the context is full; more than the context leaves is capped, with a warning)")
	logprobs := fs.Bool("logprobs", false, "print each generated token with its log-probability")
	backend := fs.String("backend", "", "an OpenAI-compatible server's `URL` (such as http://127.0.0.1:8000/v1) instead of --model")
	backendModel := fs.String("backend-model", "", "the model `NAME` the --backend server serves")
	apiKey := fs.String("api-key", "", "bearer `TOKEN` for the --backend server (default env AGORA_MINER_BACKEND_API_KEY)")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "generate",
		Short: "Generate text with the built-in engine or an OpenAI-compatible server and print tokens/s",
		Long: `Loads a llama2.c checkpoint (--model: the file, or a folder holding one
*.bin) and its SentencePiece tokenizer (--tokenizer; by default
tokenizer.model or the one *.model in the checkpoint's folder, as the miner
and validator find it), continues --prompt
on one CPU core, and prints the text and
the speed in tokens per second (prompt processing included). Temperature 0
is greedy and deterministic; above 0 the output is fixed by --seed. With
--logprobs each generated token is listed with its log-probability at
temperature 1, which a validator running the same model can recompute.
Characters the tokenizer cannot encode are an error naming them.

With --backend URL --backend-model NAME it asks an OpenAI-compatible server
(vLLM, Ollama, llama.cpp's server) instead, through the completions API,
with temperature 0 sent explicitly: what a miner would forward to.`,
		Flags:    fs,
		NoConfig: true,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			// !(x >= 0) also refuses NaN.
			switch {
			case !(*temperature >= 0) || math.IsInf(*temperature, 1):
				return usageErrorf("--temperature %v: want a number from 0 (greedy) up", *temperature)
			case !(*topP >= 0 && *topP <= 1):
				return usageErrorf("--top-p %v: want a number from 0 to 1", *topP)
			case *maxTokens < 0:
				return usageErrorf("--max-tokens %d: want 0 (until the context is full) or more", *maxTokens)
			}
			opts := llm.GenOptions{MaxTokens: *maxTokens, Temperature: float32(*temperature), TopP: float32(*topP), Seed: *seed}
			if *backend != "" {
				if *model != "" {
					return usageErrorf("give --model or --backend, not both")
				}
				if *backendModel == "" {
					return usageErrorf("--backend-model NAME is required with --backend")
				}
				key := *apiKey
				if key == "" {
					key, _ = rt.LookupEnv("AGORA_MINER_BACKEND_API_KEY")
				}
				o, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: *backend, Model: *backendModel, APIKey: key})
				if err != nil {
					return usageErrorf("%v", err)
				}
				start := time.Now()
				g, err := o.Complete(ctx, *prompt, llm.OpenAIOptions{GenOptions: opts, NoLogprobs: !*logprobs})
				if err != nil {
					return fmt.Errorf("llm generate: %w", err)
				}
				return printGeneration(rt, *output, *prompt, &g.Generation, g.PromptTokenCount, max(g.CompletionTokenCount, len(g.Tokens)), time.Since(start).Seconds(), *logprobs)
			}
			if *model == "" {
				return usageErrorf("give --model PATH (a llama2.c checkpoint or its folder, such as ../shared/models/babyllama105) or --backend URL")
			}
			m, _, err := loadLlama(rt, *model, *tokenizer, "--model", "--tokenizer")
			if err != nil {
				return fmt.Errorf("llm generate: %w", err)
			}
			// The prompt takes its share of the context; a longer prompt
			// than the context is Generate's error.
			if ids, err := m.Tokenizer().Encode(*prompt, true); err == nil && len(ids) < m.Config().SeqLen {
				room := m.Config().SeqLen - len(ids)
				if opts.MaxTokens > room {
					fmt.Fprintf(rt.Stderr, "warning: --max-tokens %d is more than the model's context leaves: %d tokens of context, %d taken by the prompt; generating at most %d\n",
						opts.MaxTokens, m.Config().SeqLen, len(ids), room)
					opts.MaxTokens = room
				}
			}
			start := time.Now()
			g, err := m.Generate(ctx, *prompt, opts)
			if err != nil {
				return fmt.Errorf("llm generate: %w", err)
			}
			return printGeneration(rt, *output, *prompt, g, len(g.PromptTokens), len(g.Tokens), time.Since(start).Seconds(), *logprobs)
		},
	}
}

// printGeneration prints a generation and its speed: prompt processing
// included, so tokens/s counts prompt and generated tokens.
func printGeneration(rt *Runtime, output, prompt string, g *llm.Generation, promptTokens, completionTokens int, secs float64, logprobs bool) error {
	out := llmGenerateOutput{
		Prompt: prompt, Text: g.Text, FinishReason: g.FinishReason,
		PromptTokens: promptTokens, CompletionTokens: completionTokens, Seconds: secs,
	}
	if secs > 0 {
		out.TokensPerSecond = float64(max(promptTokens-1, 0)+completionTokens) / secs
	}
	if logprobs {
		out.Tokens = g.Tokens
	}
	if output == "json" {
		return json.NewEncoder(rt.Stdout).Encode(out)
	}
	fmt.Fprintf(rt.Stdout, "%s%s\n", prompt, g.Text)
	if logprobs {
		fmt.Fprintln(rt.Stdout)
		tw := tabwriter.NewWriter(rt.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tID\tTEXT\tLOGPROB")
		for i, t := range g.Tokens {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%.6f\n", i, t.ID, fmt.Sprintf("%q", t.Text), t.Logprob)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(rt.Stdout, "\n%d prompt + %d generated tokens in %.3f s: %.0f tokens/s (%s)\n",
		out.PromptTokens, out.CompletionTokens, secs, out.TokensPerSecond, g.FinishReason)
	return nil
}
