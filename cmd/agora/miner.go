package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// minerCmd is "agora miner".
func minerCmd() *Command {
	return &Command{
		Name:        "miner",
		Short:       "Serve model outputs to the subnet's validators",
		Subcommands: []*Command{minerRunCmd(), minerStatusCmd(), minerLabelersCmd()},
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
the built-in llama2.c engine on this CPU (--miner.model, a checkpoint file
or a folder holding one and its tokenizer).

Validators pay only answers the subnet's declared model sampled with the
seed, temperature and top_p they sent, with its token ids, ending at
max_tokens or where the model stops; anything else (another model, edited,
copied or cut answers) is a hard failure that costs the whole epoch. The
model name answers declare is --miner.backend_model, or the checkpoint's
file name without extension: it must be the name validators verify. Each
validator's /scores says why answers scored as they did (README, "Reasons
on /scores").

The miner follows the chain at --miner.node (default: the node every command
finds: --node, env AGORA_NODE, node: in --config FILE, the localnet running
under the home, tcp://127.0.0.1:26657) and publishes its axon (the
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
				return usageErrorf("give a model: --miner.model PATH (a llama2.c checkpoint for the built-in engine, or its folder, such as ../shared/models/babyllama105) or --miner.backend_url URL with --miner.backend_model NAME (an OpenAI-compatible server)")
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
			backend, err := minerBackend(rt, c.BackendURL, c.BackendModel, c.BackendAPIKey, c.Model, c.Tokenizer, c.ModelName)
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
			node := rt.node("miner")
			rt.Log.Info("following the node", zap.String("node", node.Addr), zap.String("from", node.From))
			err = miner.Run(ctx, miner.RunConfig{
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
				Node:      node.Addr,
				Netuid:    c.Netuid,
				Listen:    c.Listen,
				External:  ext,
				LabelsDir: labelsDir,
				LabelURL:  c.LabelURL,
				// The exact command, for this miner's wallet, hotkey,
				// subnet, node and home.
				RegisterHint: commandLine(rt, "tx", "register", "--wallet", c.Wallet, "--hotkey", c.Hotkey,
					"--netuid", strconv.Itoa(int(c.Netuid)), "--node", node.Addr),
				OnListen: func(a net.Addr) {
					fmt.Fprintf(rt.Stdout, "miner %s serving %s on http://%s (netuid %d)\n", key.Address(), backend.Model(), a, c.Netuid)
					if labelsDir != "" {
						which := []string{"--miner.wallet", c.Wallet, "--miner.hotkey", c.Hotkey, "--miner.netuid", strconv.Itoa(int(c.Netuid))}
						if c.Data != "" {
							which = []string{"--miner.data", c.Data}
						}
						fmt.Fprintf(rt.Stdout, "labelling page: http://%s/label/ (add labelers with: %s)\n", a,
							commandLine(rt, append([]string{"miner", "labelers", "add", "NAME"}, which...)...))
					}
				},
			})
			if notServed := (*llm.ModelNotServedError)(nil); errors.As(err, &notServed) {
				return fmt.Errorf("%w; set --miner.backend_model to the name the server lists, or start the server with %s (vLLM: --served-model-name %s)", err, notServed.Model, notServed.Model)
			}
			return node.explain(err)
		},
	}
}

// minerBackend builds the backend: the server at url, else the built-in
// engine on the checkpoint at model, named builtinName (default: after the
// file).
func minerBackend(rt *Runtime, url, name, apiKey, model, tokenizer, builtinName string) (miner.Backend, error) {
	if url != "" {
		s, err := miner.NewServer(llm.OpenAIConfig{BaseURL: url, Model: name, APIKey: apiKey, IdleTimeout: rt.Config.Miner.BackendIdle})
		if err != nil {
			return nil, fmt.Errorf("miner: %w", err)
		}
		return s, nil
	}
	m, name, err := loadLlama(rt, model, tokenizer, "--miner.model", "--miner.tokenizer")
	if err != nil {
		return nil, fmt.Errorf("miner: %w", err)
	}
	if builtinName != "" {
		name = builtinName
	}
	return miner.NewBuiltin(m, name), nil
}

// loadLlama loads a llama2.c model, given as a checkpoint file or a folder
// holding one (llm.FindCheckpoint), and its tokenizer (found beside the
// checkpoint when tokenizer is ""), and names the model after the
// checkpoint. modelFlag and tokenizerFlag name the flags that give them,
// for the errors; a model that does not exist is an error wrapping its
// *fs.PathError.
func loadLlama(rt *Runtime, model, tokenizer, modelFlag, tokenizerFlag string) (*llm.Llama, string, error) {
	checkpoint, err := llm.FindCheckpoint(model)
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return nil, "", fmt.Errorf("model: %w", err)
	case err != nil:
		return nil, "", usageErrorf("%s %v", modelFlag, err)
	}
	// The model first: if it is unreadable, that is the error, not that
	// no tokenizer is beside it.
	modelData, err := rt.ReadFile(checkpoint)
	if err != nil {
		return nil, "", fmt.Errorf("model: %w", err)
	}
	if tokenizer == "" {
		found, err := llm.FindTokenizer(checkpoint)
		if err != nil {
			return nil, "", usageErrorf("%s %s: %v: give the tokenizer's path with %s FILE", modelFlag, model, err, tokenizerFlag)
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
	m, err := llm.ParseLlama(modelData, tok)
	if err != nil {
		return nil, "", fmt.Errorf("model %s: %w", checkpoint, err)
	}
	return m, llm.ModelName(checkpoint), nil
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
	// open opens the labelers' tokens file; only add creates its folder.
	open := func(rt *Runtime, create bool) (*rlhf.Tokens, error) {
		if err := checkLabelersMiner(rt); err != nil {
			return nil, err
		}
		dir := minerDataDir(rt)
		if create {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("miner labelers: %w", err)
			}
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
miner picks the change up at once. The miner is chosen by --miner.wallet,
--miner.hotkey and --miner.netuid, as for agora miner run (or by
--miner.data); the hotkey must be in the wallet.`,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			n, err := name(args)
			if err != nil {
				return err
			}
			t, err := open(rt, true)
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
	listFlags := flag.NewFlagSet("list", flag.ContinueOnError)
	output := outputFlag(listFlags, "text", "text", "json")
	list := &Command{
		Name: "list", ConfigSection: "miner", Flags: listFlags,
		Short: "List the miner's labelers",
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			t, err := open(rt, false)
			if err != nil {
				return err
			}
			ls, err := t.List()
			if err != nil {
				return fmt.Errorf("miner labelers list: %w", err)
			}
			if *output == "json" {
				type labelerJSON struct {
					Name      string     `json:"name"`
					Status    string     `json:"status"` // "active" or "revoked"
					CreatedAt time.Time  `json:"created_at"`
					RevokedAt *time.Time `json:"revoked_at,omitempty"`
				}
				out := struct {
					Dir      string        `json:"dir"`
					Labelers []labelerJSON `json:"labelers"`
				}{Dir: minerDataDir(rt), Labelers: []labelerJSON{}}
				for _, l := range ls {
					j := labelerJSON{Name: l.Name, Status: "active", CreatedAt: l.CreatedAt}
					if l.Revoked() {
						j.Status, j.RevokedAt = "revoked", &l.RevokedAt
					}
					out.Labelers = append(out.Labelers, j)
				}
				return walletWriteJSON(rt.Stdout, out)
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
			t, err := open(rt, false)
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

// checkLabelersMiner checks that the labelers commands name a miner.
// Without --miner.data its folder is named after the hotkey, which must
// then be in the wallet: a typo would otherwise issue tokens to a miner
// that does not exist.
func checkLabelersMiner(rt *Runtime) error {
	c := rt.Config.Miner
	if c.Data != "" {
		return nil
	}
	if c.Wallet == "" {
		return usageErrorf("--miner.wallet is required: the wallet holding the miner's hotkey (--miner.hotkey %s), or give the miner's folder with --miner.data DIR", c.Hotkey)
	}
	if err := checkNameFlag("miner.wallet", c.Wallet, true); err != nil {
		return err
	}
	if err := checkNameFlag("miner.hotkey", c.Hotkey, true); err != nil {
		return err
	}
	store := keys.NewStore(rt.Config.Home)
	if _, err := store.Hotkey(c.Wallet, c.Hotkey); err == nil {
		return nil
	} else if !errors.Is(err, keys.ErrNotFound) {
		return fmt.Errorf("miner labelers: wallet %s: %w", c.Wallet, err)
	}
	ws, err := store.List()
	if err != nil {
		return fmt.Errorf("miner labelers: %w", err)
	}
	i := slices.IndexFunc(ws, func(w keys.WalletInfo) bool { return w.Name == c.Wallet })
	if i < 0 {
		return fmt.Errorf("miner labelers: there is no wallet %q in %s ('agora wallet list' shows the wallets and their hotkeys; or give --miner.data)", c.Wallet, store.Dir)
	}
	var names []string
	for _, h := range ws[i].Hotkeys {
		names = append(names, h.Name)
	}
	has := "it has no hotkeys"
	if len(names) > 0 {
		has = "its hotkeys: " + strings.Join(names, ", ")
	}
	return fmt.Errorf("miner labelers: labelers are kept per miner hotkey, and --miner.wallet %q has no hotkey %q (%s; 'agora wallet list' shows them; or give --miner.data)", c.Wallet, c.Hotkey, has)
}

// commandLine is "agora args...", with --home when this command's home is
// not the default, its words quoted for a POSIX shell where they need it:
// a command for the user to copy.
func commandLine(rt *Runtime, args ...string) string {
	def := ""
	if rt.UserHomeDir != nil {
		if home, err := rt.UserHomeDir(); err == nil {
			def = filepath.Join(home, ".agora")
		}
	}
	if filepath.Clean(rt.Config.Home) != def {
		args = append(args, "--home", rt.Config.Home)
	}
	words := []string{"agora"}
	for _, a := range args {
		words = append(words, shellQuote(a))
	}
	return strings.Join(words, " ")
}

// shellQuote quotes s for a POSIX shell unless it needs no quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:/@%+=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
