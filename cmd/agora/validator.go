package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

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
about --validator.judge_pct percent of the answers that pass. Scores become weights through a sharpening
step (score/best)^4, so a miner that cheats on part of its work keeps little.

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
			key, err := keys.NewStore(rt.Config.Home).LoadHotkey(c.Wallet, c.Hotkey, func() ([]byte, error) {
				return walletPassword(rt, c.PasswordFile, fmt.Sprintf("Password for hotkey %s of wallet %s", c.Hotkey, c.Wallet), false)
			})
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
			policy := scoring.DefaultPolicy()
			policy.MaxTokens = c.MaxTokens
			cfg := validator.RunConfig{
				Config: validator.Config{
					Key:               key,
					Netuid:            c.Netuid,
					StatePath:         state,
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
					Logger:            rt.Log,
				},
				Node:   c.Node,
				Listen: c.Listen,
				OnListen: func(a net.Addr) {
					fmt.Fprintf(rt.Stdout, "validator %s on subnet %d: metrics on http://%s/metrics\n", key.Address(), c.Netuid, a)
				},
			}
			if c.JudgeURL != "" {
				judge, err := llm.NewJudge(llm.JudgeConfig{BaseURL: c.JudgeURL, APIKey: c.JudgeAPIKey, Model: c.JudgeModel})
				if err != nil {
					return fmt.Errorf("validator: --validator.judge_url: %w", err)
				}
				cfg.Judge, cfg.JudgeShare = judge, float64(c.JudgePct)/100
			}
			switch {
			case c.VerifyModel == "":
				return usageErrorf("--validator.verify_model is required: the validator pays only work the declared model sampled, so it needs that model (a llama2.c checkpoint, or with --validator.verify_url the name a model server serves)")
			case c.VerifyURL != "":
				stop, err := stopIDs(c.VerifyStopIDs)
				if err != nil {
					return err
				}
				server, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: c.VerifyURL, APIKey: c.VerifyAPIKey, Model: c.VerifyModel})
				if err != nil {
					return fmt.Errorf("validator: --validator.verify_url: %w", err)
				}
				stat, err := scoring.NewLogprobModel(server, stop)
				if err != nil {
					return fmt.Errorf("validator: --validator.verify_url: %w", err)
				}
				cfg.Stat, cfg.VerifyModel = stat, c.VerifyModel
			default:
				m, name, err := loadLlama(rt, c.VerifyModel, c.VerifyTokenizer, "--validator.verify_tokenizer")
				if err != nil {
					return fmt.Errorf("validator: %w", err)
				}
				cfg.Exact, cfg.VerifyModel = m, name
			}
			return validator.Run(ctx, cfg)
		},
	}
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
			return nil, usageErrorf("--validator.verify_stop_ids: %q is not a token id (a whole number, 0 or more)", s)
		}
		out = append(out, id)
	}
	return out, nil
}
