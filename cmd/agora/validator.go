package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/config"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/scoring"
	"github.com/seed0ffb8d46/agora/validator"
)

// validatorCmd is "agora validator".
func validatorCmd() *Command {
	return &Command{
		Name:        "validator",
		Short:       "Score the subnet's miners and set weights",
		Subcommands: []*Command{validatorRunCmd()},
	}
}

func validatorRunCmd() *Command {
	return &Command{
		Name:          "run",
		Short:         "Run the validator: query miners, score them, set weights on chain",
		ConfigSection: "validator",
		Long: `The validator pays only work that the declared model actually sampled.
Every step it sends one task to a sample of the subnet's serving miners, least
recently queried first: a story prompt, sampled with a seed, temperature and
top_p of its own for each miner; in --validator.reference_pct percent of
steps, a reference task (a secret story of the validator's own model, to be
continued greedily); in --validator.preference_pct percent, pairs of
completions (traps among them) for the miners' human labelers, whose labels
are collected every step and scored for quality; labels from good labelers
go to --validator.dataset for agora labels export.

Each answer is checked against the validator's own copy of the declared
model (--validator.verify_model): with the built-in engine, every token is
replayed through the model's sampler with the miner's seed; with a model
server (--validator.verify_url), tokens are checked statistically through
the server's prompt log-probabilities (inside the nucleus, argmax at
temperature 0, no skipped stop, not greedy when sampling was asked) and
copies within a round are compared on tokens. An answer must also end at
max_tokens or where the model itself stops. Failing any of these is a hard
failure: the miner's whole score for the epoch is lost. Answers that pass
score by p(useful) and speed. p(useful) learns from preferences of labelers
who passed the quality checks, from reference results, and, with
--validator.judge_url and --validator.judge_model, from an LLM judge asked
about --validator.judge_pct percent of the answers that pass. Scores become
weights through a sharpening step, (score/best)^4, so a miner that cheats on
part of its work keeps little.

Scores are moving averages per uid, saved atomically after every step and
loaded before anything is saved, so a restart changes nothing. Weights are
set every --validator.weights_interval blocks (commit, then reveal, when the
subnet uses commit-reveal); an all-zero vector is never set.`,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			c := rt.Config.Validator
			if c.Wallet == "" {
				return usageErrorf("--validator.wallet is required (the wallet holding the validator's hotkey)")
			}
			// The model and the judge first: a flag that is wrong says so
			// before the hotkey's password is asked for.
			verify, err := verifier(rt, c)
			if err != nil {
				return err
			}
			// No answer of the built-in engine is longer than its
			// context: asking for more would only hide what is asked.
			maxTokens := c.MaxTokens
			if verify.exact != nil && maxTokens > verify.exact.Config().SeqLen {
				maxTokens = verify.exact.Config().SeqLen
				rt.Log.Warn(fmt.Sprintf("--validator.max_tokens %d is above the context of model %s (%d tokens): asking miners for %d", c.MaxTokens, verify.name, maxTokens, maxTokens),
					zap.Int("max_tokens", c.MaxTokens), zap.Int("context", maxTokens), zap.Int("used", maxTokens))
			}
			if verify.server != nil {
				if err := probeServer(ctx, verify.server); err != nil {
					return err
				}
			}
			var judge *llm.Judge
			if c.JudgeURL != "" {
				if judge, err = llm.NewJudge(llm.JudgeConfig{BaseURL: c.JudgeURL, APIKey: c.JudgeAPIKey, Model: c.JudgeModel}); err != nil {
					return usageErrorf("--validator.judge_url: %v", err)
				}
			}
			key, err := keys.NewStore(rt.Config.Home).LoadHotkey(c.Wallet, c.Hotkey, func() ([]byte, error) {
				return walletPassword(rt, c.PasswordFile, fmt.Sprintf("Password for hotkey %s of wallet %s", c.Hotkey, c.Wallet), false)
			})
			if errors.Is(err, keys.ErrNotFound) {
				return fmt.Errorf("validator: %w (create it with agora wallet new-hotkey --wallet %s --hotkey %s, or name another with --validator.wallet and --validator.hotkey)", err, c.Wallet, c.Hotkey)
			}
			if err != nil {
				return fmt.Errorf("validator: %w", err)
			}
			state := c.State
			if state == "" {
				state = filepath.Join(rt.Config.Home, "validator", strconv.Itoa(int(c.Netuid))+"-"+c.Hotkey+".json")
			}
			dataset := c.Dataset
			if dataset == "" {
				dataset = filepath.Join(rt.Config.Home, "validator", strconv.Itoa(int(c.Netuid))+"-"+c.Hotkey+"-dataset")
			}
			var public netip.AddrPort
			if c.PublicAddr != "" {
				if public, err = parsePublicAddr(c.PublicAddr); err != nil {
					return usageErrorf("--validator.public_addr %q: %v (want IP:PORT, such as 203.0.113.7:9091, or :PORT to detect this machine's IP)", c.PublicAddr, err)
				}
				if c.Listen == "" {
					return usageErrorf("--validator.public_addr needs --validator.listen: it announces where that listener is reached")
				}
			}
			// Load checked them; the error is for a Config built otherwise.
			axonNets, err := c.AxonPrefixes()
			if err != nil {
				return usageErrorf("--%v", err)
			}
			node := rt.node("validator")
			rt.Log.Info("following the node", zap.String("node", node.Addr), zap.String("from", node.From))
			policy := scoring.DefaultPolicy()
			policy.MaxTokens = maxTokens
			cfg := validator.RunConfig{
				Config: validator.Config{
					Key:               key,
					Netuid:            c.Netuid,
					StatePath:         state,
					VerifyModel:       verify.name,
					Exact:             verify.exact,
					Stat:              verify.stat,
					SampleSize:        c.SampleSize,
					StepInterval:      c.StepInterval,
					QueryTimeout:      c.QueryTimeout,
					Policy:            policy,
					ReferenceShare:    float64(c.ReferencePct) / 100,
					PreferenceShare:   float64(c.PreferencePct) / 100,
					DatasetDir:        dataset,
					DatasetEvery:      c.DatasetEvery,
					WeightsInterval:   c.WeightsInterval,
					AllowPrivateAxons: c.AllowPrivateAxons,
					AxonNetworks:      axonNets,
					Logger:            rt.Log,
				},
				Node:       node.Addr,
				Listen:     c.Listen,
				PublicAddr: public,
				RegisterHint: commandLine(rt, "tx", "register", "--wallet", c.Wallet, "--hotkey", c.Hotkey,
					"--netuid", strconv.Itoa(int(c.Netuid)), "--node", node.Addr),
				OnListen: func(a net.Addr) {
					fmt.Fprintf(rt.Stdout, "validator %s on subnet %d: metrics on http://%s/metrics, scores on http://%s/scores\n", key.Address(), c.Netuid, a, a)
				},
			}
			if judge != nil {
				cfg.Judge, cfg.JudgeShare = judge, float64(c.JudgePct)/100
			}
			fmt.Fprintf(rt.Stdout, "validator %s on subnet %d: paying answers of model %q, verified %s, of %d tokens at most\n", key.Address(), c.Netuid, verify.name, verify.how, maxTokens)
			return node.explain(validator.Run(ctx, cfg))
		},
	}
}

// parsePublicAddr parses --validator.public_addr: IP:PORT, or :PORT,
// 0.0.0.0:PORT or [::]:PORT, whose unspecified IP validator.Run detects.
func parsePublicAddr(s string) (netip.AddrPort, error) {
	if strings.HasPrefix(s, ":") {
		s = "0.0.0.0" + s
	}
	return netip.ParseAddrPort(s)
}

// verification is the validator's own copy of the declared model.
type verification struct {
	name  string // the model name miners must declare
	how   string // how answers are verified, for the start-up line
	exact *llm.Llama
	stat  scoring.TokenModel
	// server is the model server behind stat, probed at start.
	server *llm.OpenAI
}

// probeServer asks the verifying model server for the prompt
// log-probabilities of a short text, as every verification will: a server
// that is down, or that does not return them (an OpenAI-compatible server
// other than vLLM), could judge nobody, so the validator does not start.
func probeServer(ctx context.Context, server *llm.OpenAI) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ids, err := server.Tokenize(ctx, "Once upon a time")
	if err == nil {
		_, err = server.PromptLogprobs(ctx, ids, 1)
	}
	switch {
	case errors.Is(err, llm.ErrNoLogprobs):
		return fmt.Errorf("validator: --validator.verify_url %s returns no prompt log-probabilities, which the statistical checks need: serve the model with vLLM (or a server that answers prompt_logprobs), or verify with a llama2.c checkpoint (--validator.verify_model FILE): %w", server.BaseURL(), err)
	case err != nil:
		return fmt.Errorf("validator: --validator.verify_url: the verifying server cannot score a prompt: %w", err)
	}
	return nil
}

// verifier checks the --validator.verify_* flags and loads the model they
// name: a llama2.c checkpoint, or a model server with verify_url. Each
// mistake is an error that says what to give instead.
func verifier(rt *Runtime, c config.Validator) (verification, error) {
	switch {
	case c.VerifyModel == "":
		return verification{}, usageErrorf("--validator.verify_model is required: the validator pays only work the declared model sampled, so it needs that model (a llama2.c checkpoint, or with --validator.verify_url the name a model server serves)")
	case c.VerifyURL != "":
		if c.VerifyName != "" {
			return verification{}, usageErrorf("--validator.verify_name is for a llama2.c checkpoint; with --validator.verify_url, --validator.verify_model is the name the server serves: drop one of them")
		}
		if c.VerifyTokenizer != "" {
			return verification{}, usageErrorf("--validator.verify_tokenizer is for a llama2.c checkpoint; with --validator.verify_url the model server tokenizes: drop one of them")
		}
		stop, err := stopIDs(c.VerifyStopIDs)
		if err != nil {
			return verification{}, err
		}
		server, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: c.VerifyURL, APIKey: c.VerifyAPIKey, Model: c.VerifyModel})
		if err != nil {
			return verification{}, usageErrorf("--validator.verify_url: %v", err)
		}
		stat, err := scoring.NewLogprobModel(server, stop)
		if err != nil {
			return verification{}, fmt.Errorf("validator: --validator.verify_url: %w", err)
		}
		return verification{name: c.VerifyModel, how: "statistically through " + c.VerifyURL, stat: stat, server: server}, nil
	case c.VerifyStopIDs != "":
		return verification{}, usageErrorf("--validator.verify_stop_ids is for a model server (--validator.verify_url); a llama2.c checkpoint knows its own stop tokens: drop it, or add --validator.verify_url")
	}
	m, name, err := loadLlama(rt, c.VerifyModel, c.VerifyTokenizer, "--validator.verify_model", "--validator.verify_tokenizer")
	var pe *fs.PathError
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return verification{}, err
	case err == nil:
		if c.VerifyName != "" {
			name = c.VerifyName
		}
		return verification{name: name, how: "by exact replay of " + c.VerifyModel, exact: m}, nil
	case errors.As(err, &pe) && pe.Path == c.VerifyModel && errors.Is(err, fs.ErrNotExist):
		return verification{}, usageErrorf("--validator.verify_model %s: no such file. Give the llama2.c checkpoint of the model the subnet pays for, or its folder (the demo's is ../shared/models/babyllama105), or, to verify through a model server, the name it serves with --validator.verify_url and --validator.verify_stop_ids", c.VerifyModel)
	case errors.As(err, &pe) && c.VerifyTokenizer != "" && pe.Path == c.VerifyTokenizer:
		return verification{}, usageErrorf("--validator.verify_tokenizer %s: %v: give the checkpoint's tokenizer.model, or leave the flag out to use the one beside the checkpoint", c.VerifyTokenizer, pe.Err)
	}
	return verification{}, fmt.Errorf("validator: --validator.verify_model: %w", err)
}

// stopIDs parses --validator.verify_stop_ids: the token ids at which the
// verifying server's model ends a generation (a server does not say).
func stopIDs(list string) ([]int, error) {
	items := strings.Split(list, ",")
	if strings.TrimSpace(list) == "" {
		return nil, usageErrorf("--validator.verify_stop_ids is required with --validator.verify_url: the token ids at which the model stops (its eos_token_id, e.g. 2 for Llama 2, 128001,128009 for Llama 3)")
	}
	out := make([]int, 0, len(items))
	for _, s := range items {
		id, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || id < 0 {
			return nil, usageErrorf("--validator.verify_stop_ids %q: %q is not a token id (a whole number, 0 or more; comma-separated, such as 128001,128009)", list, strings.TrimSpace(s))
		}
		out = append(out, id)
	}
	return out, nil
}
