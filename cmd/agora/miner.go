package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/localnet"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// minerCmd is "agora miner".
func minerCmd() *Command {
	return &Command{
		Name:        "miner",
		Short:       "Serve model outputs to the subnet's validators",
		Subcommands: []*Command{minerRunCmd(), minerLabelersCmd()},
	}
}

func minerRunCmd() *Command {
	return &Command{
		Name:          "run",
		Short:         "Run the miner: an OpenAI-compatible axon for validators, on a model server or the built-in engine",
		ConfigSection: "miner",
		Long: `Serves POST /v1/chat/completions and /v1/completions (streaming or not, with
log-probabilities when asked) to the subnet's validators only: every request
must be signed (Epistula v2) by a registered hotkey with a validator permit
(or --miner.min_stake), and every answer is signed by the miner's hotkey.
Requests wait in a queue ordered by the caller's stake, with a rate limit per
caller. /healthz, /readyz and /metrics (Prometheus) are served beside them.

The model is an OpenAI-compatible server (--miner.backend_url and
--miner.backend_model: vLLM, Ollama, llama.cpp's server) or, without one,
the built-in llama2.c engine on this CPU (--miner.model, a checkpoint file).

The miner follows the chain at --miner.node and publishes its axon (the
address validators reach it at) with a serve_axon transaction signed by the
hotkey, once the hotkey is registered (agora tx register). The hotkey's
password comes from --miner.password_file, env AGORA_PASSWORD or a prompt.`,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			c := rt.Config.Miner
			if c.Wallet == "" {
				return usageErrorf("--miner.wallet is required (the wallet holding the miner's hotkey)")
			}
			if c.BackendURL == "" && c.Model == "" {
				return usageErrorf("give a model: --miner.model FILE (a llama2.c checkpoint for the built-in engine, such as ../shared/models/babyllama105/babyllama105.bin) or --miner.backend_url URL with --miner.backend_model NAME (an OpenAI-compatible server)")
			}
			if c.BackendURL != "" && c.BackendModel == "" {
				return usageErrorf("--miner.backend_model is required with --miner.backend_url (the model name the server serves)")
			}
			var ext netip.AddrPort
			if c.ExternalIP != "" {
				ip, err := netip.ParseAddr(c.ExternalIP)
				if err != nil {
					return usageErrorf("--miner.external_ip: %v", err)
				}
				ext = netip.AddrPortFrom(ip, c.ExternalPort)
			} else if c.ExternalPort != 0 {
				ext = netip.AddrPortFrom(netip.Addr{}, c.ExternalPort)
			}
			key, err := keys.NewStore(rt.Config.Home).LoadHotkey(c.Wallet, c.Hotkey, func() ([]byte, error) {
				return walletPassword(rt, c.PasswordFile, fmt.Sprintf("Password for hotkey %s of wallet %s", c.Hotkey, c.Wallet), false)
			})
			if err != nil {
				return fmt.Errorf("miner: %w", err)
			}
			backend, err := minerBackend(rt, c.BackendURL, c.BackendModel, c.BackendAPIKey, c.Model, c.Tokenizer)
			if err != nil {
				return err
			}
			labelsDir := ""
			if c.Labels {
				labelsDir = minerDataDir(rt)
				if err := os.MkdirAll(labelsDir, 0o700); err != nil {
					return fmt.Errorf("miner: %w", err)
				}
			}
			return miner.Run(ctx, miner.RunConfig{
				Config: miner.Config{
					Key:            key,
					Backend:        backend,
					MinStake:       c.MinStake,
					MaxConcurrent:  c.MaxConcurrent,
					MaxQueue:       c.MaxQueue,
					QueueTimeout:   c.QueueTimeout,
					RequestTimeout: c.RequestTimeout,
					RateLimit:      c.RateLimit,
					RateBurst:      c.RateBurst,
					MaxBody:        int64(c.MaxBody),
					Logger:         rt.Log,
				},
				Node:      c.Node,
				Netuid:    c.Netuid,
				Listen:    c.Listen,
				External:  ext,
				LabelsDir: labelsDir,
				RegisterHint: fmt.Sprintf("agora tx register --wallet %s --hotkey %s --netuid %d --node %s",
					c.Wallet, c.Hotkey, c.Netuid, c.Node),
				OnListen: func(a net.Addr) {
					fmt.Fprintf(rt.Stdout, "miner %s serving %s on http://%s (netuid %d)\n", key.Address(), backend.Model(), a, c.Netuid)
					if labelsDir != "" {
						fmt.Fprintf(rt.Stdout, "labelling page: http://%s/label/ (add labelers with: agora miner labelers add NAME --miner.netuid %d --miner.hotkey %s)\n", a, c.Netuid, c.Hotkey)
					}
				},
			})
		},
	}
}

// minerBackend builds the backend: the server at url, else the built-in
// engine on the checkpoint at model.
func minerBackend(rt *Runtime, url, name, apiKey, model, tokenizer string) (miner.Backend, error) {
	if url != "" {
		s, err := miner.NewServer(llm.OpenAIConfig{BaseURL: url, Model: name, APIKey: apiKey, IdleTimeout: rt.Config.Miner.BackendIdle})
		if err != nil {
			return nil, fmt.Errorf("miner: %w", err)
		}
		return s, nil
	}
	m, name, err := loadLlama(rt, model, tokenizer)
	if err != nil {
		return nil, fmt.Errorf("miner: %w", err)
	}
	return miner.NewBuiltin(m, name), nil
}

// loadLlama loads a llama2.c checkpoint and its tokenizer (found beside it
// when tokenizer is ""), and names the model after the file.
func loadLlama(rt *Runtime, model, tokenizer string) (*llm.Llama, string, error) {
	if tokenizer == "" {
		found, err := localnet.FindTokenizer(model)
		if err != nil {
			return nil, "", usageErrorf("%v: give --miner.tokenizer or --validator.verify_tokenizer", err)
		}
		tokenizer = found
	}
	data, err := rt.ReadFile(tokenizer)
	if err != nil {
		return nil, "", fmt.Errorf("tokenizer: %w", err)
	}
	tok, err := llm.ParseTokenizer(data)
	if err != nil {
		return nil, "", fmt.Errorf("tokenizer %s: %w", tokenizer, err)
	}
	data, err = rt.ReadFile(model)
	if err != nil {
		return nil, "", fmt.Errorf("model: %w", err)
	}
	m, err := llm.ParseLlama(data, tok)
	if err != nil {
		return nil, "", fmt.Errorf("model %s: %w", model, err)
	}
	return m, localnet.ModelName(model), nil
}

// minerDataDir is the miner's data folder: miner.data, or
// <home>/miner/<netuid>-<hotkey>.
func minerDataDir(rt *Runtime) string {
	c := rt.Config.Miner
	if c.Data != "" {
		return c.Data
	}
	return filepath.Join(rt.Config.Home, "miner", fmt.Sprintf("%d-%s", c.Netuid, c.Hotkey))
}

// minerLabelersCmd is "agora miner labelers": the people who label on this
// miner's page.
func minerLabelersCmd() *Command {
	// open opens the labelers' tokens file. Without --miner.data the
	// folder is named after the hotkey, which must then be in the wallet:
	// a typo would otherwise issue tokens to a miner that does not exist.
	open := func(rt *Runtime) (*rlhf.Tokens, error) {
		if c := rt.Config.Miner; c.Data == "" {
			if _, err := keys.NewStore(rt.Config.Home).Hotkey(c.Wallet, c.Hotkey); err != nil {
				return nil, fmt.Errorf("miner labelers: labelers are kept per miner hotkey, and --miner.wallet %q has no hotkey %q ('agora wallet list' shows them; or give --miner.data): %w", c.Wallet, c.Hotkey, err)
			}
		}
		dir := minerDataDir(rt)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("miner labelers: %w", err)
		}
		return rlhf.OpenTokens(filepath.Join(dir, miner.LabelersFile))
	}
	name := func(args []string) (string, error) {
		if len(args) != 1 {
			return "", usageErrorf("want one NAME, got %d arguments", len(args))
		}
		if err := rlhf.ValidateLabelerName(args[0]); err != nil {
			return "", usageErrorf("%v", err)
		}
		return args[0], nil
	}
	add := &Command{
		Name: "add", Args: "NAME", ConfigSection: "miner",
		Short: "Add a labeler and print its sign-in token (shown once)",
		Long: `Issues a labeler a random token for the miner's labelling page (only its
SHA-256 is stored). Give it to the labeler; it is not shown again. A running
miner picks the change up at once. The miner is chosen by --miner.netuid and
--miner.hotkey (or --miner.data).`,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			n, err := name(args)
			if err != nil {
				return err
			}
			t, err := open(rt)
			if err != nil {
				return err
			}
			token, err := t.Add(n)
			if err != nil {
				return fmt.Errorf("miner labelers add: %w", err)
			}
			fmt.Fprintf(rt.Stdout, "labeler %s added; sign-in token (shown once):\n%s\n", n, token)
			return nil
		},
	}
	list := &Command{
		Name: "list", ConfigSection: "miner",
		Short: "List the miner's labelers",
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			t, err := open(rt)
			if err != nil {
				return err
			}
			ls, err := t.List()
			if err != nil {
				return fmt.Errorf("miner labelers list: %w", err)
			}
			tw := tabwriter.NewWriter(rt.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tADDED\tSTATUS")
			for _, l := range ls {
				status := "active"
				if l.Revoked() {
					status = "revoked " + l.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Name, l.CreatedAt.Format(time.RFC3339), status)
			}
			return tw.Flush()
		},
	}
	revoke := &Command{
		Name: "revoke", Args: "NAME", ConfigSection: "miner",
		Short: "Revoke a labeler's token (a running miner disconnects it)",
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			n, err := name(args)
			if err != nil {
				return err
			}
			t, err := open(rt)
			if err != nil {
				return err
			}
			if err := t.Revoke(n); err != nil {
				return fmt.Errorf("miner labelers revoke: %w", err)
			}
			fmt.Fprintf(rt.Stdout, "labeler %s revoked\n", n)
			return nil
		},
	}
	return &Command{
		Name:        "labelers",
		Short:       "Add, list and revoke the labelers of the miner's labelling page",
		Subcommands: []*Command{add, list, revoke},
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
