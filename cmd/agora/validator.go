package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/seed0ffb8d46/agora/keys"
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
		Long: `Every step the validator sends one task to a sample of the subnet's serving
miners, least recently queried first: a story prompt (each miner with its own
sampling seed); in --validator.reference_pct percent of steps, a task with a
known answer; in --validator.redundancy_pct percent, one greedy prompt to all,
where answers outside the majority score 0; in --validator.preference_pct
percent, pairs of completions (traps among them) for the miners' human
labelers, whose labels are collected every step and scored for quality
(traps, agreement, time on task, position bias); labels from good labelers
go to --validator.dataset for agora labels export. Each answer is scored: hard rules (empty, gibberish,
repetition, echo), copies of an earlier answer by another miner, the declared
model's log-probabilities recomputed (--validator.verify_model), p(useful),
and latency from the miner's own start. Scores are moving averages per uid,
updated only for the miners queried, saved atomically after every step, and
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
			cfg := validator.RunConfig{
				Config: validator.Config{
					Key:               key,
					Netuid:            c.Netuid,
					StatePath:         state,
					SampleSize:        c.SampleSize,
					StepInterval:      c.StepInterval,
					QueryTimeout:      c.QueryTimeout,
					MaxTokens:         c.MaxTokens,
					ReferenceShare:    float64(c.ReferencePct) / 100,
					RedundancyShare:   float64(c.RedundancyPct) / 100,
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
			if c.VerifyModel != "" {
				m, name, err := loadLlama(rt, c.VerifyModel, c.VerifyTokenizer, "--validator.verify_tokenizer")
				if err != nil {
					return fmt.Errorf("validator: %w", err)
				}
				cfg.Verifier, cfg.VerifyModel = m, name
			}
			return validator.Run(ctx, cfg)
		},
	}
}
