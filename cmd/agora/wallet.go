package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
)

// walletCmd is "agora wallet": coldkeys and hotkeys under <home>/wallets.
func walletCmd() *Command {
	return &Command{
		Name:  "wallet",
		Short: "Create, list, show and restore coldkeys and hotkeys",
		Long: `Wallets live in <home>/wallets/<name>/: an encrypted coldkey (holds balance,
owns hotkeys and stake) and hotkeys/<hotkey> (a neuron's identity; unencrypted
with mode 0600 unless created with --encrypt, so daemons can load them
unattended). Addresses are bech32m strings starting "agora1".

Passwords come from, in order: --password-file FILE (its first line), the
environment variable AGORA_PASSWORD, or a prompt when standard input is a
terminal (asked twice for a new key).`,
		Subcommands: []*Command{
			walletCreateCmd(), walletNewHotkeyCmd(), walletListCmd(), walletShowCmd(), walletRegenCmd(), walletProveHotkeyCmd(),
		},
	}
}

// minPasswordLen is the shortest password accepted for a new key.
const minWalletPasswordLen = 8

// maxMnemonicInput bounds what regen reads from standard input.
const maxWalletMnemonicInput = 4096

// keyFlags are the flags that name a key and how to unlock or seal it.
type walletKeyFlags struct {
	name, hotkey, passwordFile string
	encrypt                    bool
	kdfTime, kdfMemMiB         uint
	kdfThreads                 uint
	output                     *string
}

// newWalletKeyFlags defines the flags; hotkey is the usage of --hotkey,
// or "" for a command without it.
func newWalletKeyFlags(fs *flag.FlagSet, hotkey string, seal bool) *walletKeyFlags {
	f := &walletKeyFlags{}
	fs.StringVar(&f.name, "name", "", "the wallet `NAME` (required)")
	if hotkey != "" {
		fs.StringVar(&f.hotkey, "hotkey", "", hotkey)
	}
	if seal {
		fs.StringVar(&f.passwordFile, "password-file", "", "read the password from the first line of `FILE` (else env AGORA_PASSWORD, else a prompt)")
		d := keys.DefaultKDF()
		fs.UintVar(&f.kdfTime, "kdf-time", uint(d.Time), "argon2id passes for a new encrypted key, 1 to "+strconv.Itoa(keys.MaxKDFTime))
		fs.UintVar(&f.kdfMemMiB, "kdf-memory", uint(d.MemoryKiB/1024), "argon2id memory in `MiB` for a new encrypted key, 1 to "+strconv.Itoa(keys.MaxKDFMemoryKiB/1024))
		fs.UintVar(&f.kdfThreads, "kdf-threads", uint(d.Threads), "argon2id lanes for a new encrypted key, 1 to 255")
	}
	f.output = outputFlag(fs, "text", "text", "json")
	return f
}

// check validates the names; hotkeyRequired says --hotkey must be given.
func (f *walletKeyFlags) check(args []string, hotkeyRequired bool) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if err := checkNameFlag("name", f.name, true); err != nil {
		return err
	}
	return checkNameFlag("hotkey", f.hotkey, hotkeyRequired)
}

// checkNameFlag checks a --flag that names a wallet or a key: it must be
// given if required, and well formed if given.
func checkNameFlag(flag, name string, required bool) error {
	if name == "" {
		if required {
			return usageErrorf("--%s is required", flag)
		}
		return nil
	}
	if err := keys.CheckName(name); err != nil {
		return usageErrorf("--%s: %v", flag, err)
	}
	return nil
}

func (f *walletKeyFlags) kdf() (keys.KDFParams, error) {
	// Each flag's own range, in its own unit; Validate below checks how
	// they combine (memory of at least 8 KiB per thread).
	switch {
	case f.kdfTime < 1 || f.kdfTime > keys.MaxKDFTime:
		return keys.KDFParams{}, usageErrorf("--kdf-time %d: want 1 to %d passes", f.kdfTime, keys.MaxKDFTime)
	case f.kdfMemMiB < 1 || f.kdfMemMiB > keys.MaxKDFMemoryKiB/1024:
		return keys.KDFParams{}, usageErrorf("--kdf-memory %d: want 1 to %d MiB", f.kdfMemMiB, keys.MaxKDFMemoryKiB/1024)
	case f.kdfThreads < 1 || f.kdfThreads > 255:
		return keys.KDFParams{}, usageErrorf("--kdf-threads %d: want 1 to 255", f.kdfThreads)
	}
	p := keys.KDFParams{Time: uint32(f.kdfTime), MemoryKiB: uint32(f.kdfMemMiB) * 1024, Threads: uint8(f.kdfThreads)}
	if err := p.Validate(); err != nil {
		return p, usageErrorf("%v", err)
	}
	return p, nil
}

// password gets a password by the documented precedence. A new password
// (confirm) is asked twice at a prompt and must be minPasswordLen long.
func walletPassword(rt *Runtime, file, purpose string, confirm bool) ([]byte, error) {
	var pw []byte
	switch v, ok := rt.LookupEnv("AGORA_PASSWORD"); {
	case file != "":
		data, err := rt.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read password file: %w", err)
		}
		pw, _, _ = bytes.Cut(data, []byte("\n"))
		pw = bytes.TrimSuffix(pw, []byte("\r"))
		if len(pw) == 0 {
			return nil, fmt.Errorf("password file %s: the first line is empty", file)
		}
	case ok:
		if v == "" {
			return nil, errors.New("AGORA_PASSWORD is set but empty")
		}
		pw = []byte(v)
	case rt.ReadPassword == nil:
		return nil, errors.New("no password: give --password-file FILE or set AGORA_PASSWORD (standard input is not a terminal to prompt on)")
	default:
		var err error
		if pw, err = rt.ReadPassword(purpose + ": "); err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		if confirm && len(pw) >= minWalletPasswordLen {
			again, err := rt.ReadPassword("Repeat it: ")
			if err != nil {
				return nil, fmt.Errorf("read password: %w", err)
			}
			if !bytes.Equal(pw, again) {
				return nil, errors.New("the passwords do not match")
			}
		}
	}
	if confirm && len(pw) < minWalletPasswordLen {
		return nil, fmt.Errorf("the password is %d characters, want at least %d", len(pw), minWalletPasswordLen)
	}
	return pw, nil
}

// keyJSON is how --output json shows one key.
type walletKeyJSON struct {
	Wallet    string `json:"wallet,omitempty"`
	Name      string `json:"name"` // "coldkey" or the hotkey's name
	Kind      string `json:"kind"`
	Address   string `json:"address,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
	Encrypted bool   `json:"encrypted"`
	Path      string `json:"path"`
	Mnemonic  string `json:"mnemonic,omitempty"`
	Error     string `json:"error,omitempty"`
}

func walletWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newKey makes a key with its mnemonic, seals it as kind, saves it and
// prints the mnemonic once. It serves create and new-hotkey.
func newWalletKey(rt *Runtime, f *walletKeyFlags, kind keys.Kind) error {
	op := "wallet create"
	store := keys.NewStore(rt.Config.Home)
	path := store.ColdkeyPath(f.name)
	if kind == keys.Hotkey {
		op, path = "wallet new-hotkey", store.HotkeyPath(f.name, f.hotkey)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %s already exists; choose another name (or restore over it with `agora wallet regen --force`)", op, path)
	}
	kf, mnemonic, err := sealWalletKey(rt, f, kind, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if kind == keys.Hotkey {
		err = store.SaveHotkey(f.name, f.hotkey, kf, false)
	} else {
		err = store.SaveColdkey(f.name, kf, false)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	what, regen := "coldkey of wallet "+f.name, "agora wallet regen --name "+f.name
	if kind == keys.Hotkey {
		what, regen = fmt.Sprintf("hotkey %s of wallet %s", f.hotkey, f.name), regen+" --hotkey "+f.hotkey
	}
	warning := fmt.Sprintf(`IMPORTANT: the 24 words below are the only backup of this key and are
shown only this once. Write them down and keep them offline: anyone who has
them controls the key. Restore it with: %s`, regen)
	if *f.output == "json" {
		fmt.Fprintln(rt.Stderr, warning)
		return walletWriteJSON(rt.Stdout, walletKeyInfo(f.name, kf, path, mnemonic))
	}
	fmt.Fprintf(rt.Stdout, "Created the %s.\naddress: %s\npath:    %s\n\n%s\n\n    %s\n\n", what, kf.Address(), path, warning, mnemonic)
	return nil
}

// sealNew makes (or, given a mnemonic, restores) a key and wraps it in a
// keyfile of kind, asking for a new password if it is to be encrypted.
func sealWalletKey(rt *Runtime, f *walletKeyFlags, kind keys.Kind, restore *string) (*keys.Keyfile, string, error) {
	var k *keys.PrivateKey
	var mnemonic string
	var err error
	if restore != nil {
		k, err = keys.FromMnemonic(*restore)
	} else {
		k, mnemonic, err = keys.Generate()
	}
	if err != nil {
		return nil, "", err
	}
	if kind == keys.Hotkey && !f.encrypt {
		kf, err := keys.PlainKey(k, kind)
		return kf, mnemonic, err
	}
	p, err := f.kdf()
	if err != nil {
		return nil, "", err
	}
	pw, err := walletPassword(rt, f.passwordFile, "New password for the "+string(kind), true)
	if err != nil {
		return nil, "", err
	}
	defer clear(pw)
	kf, err := keys.EncryptKey(k, kind, pw, p)
	return kf, mnemonic, err
}

func walletKeyInfo(wallet string, kf *keys.Keyfile, path, mnemonic string) walletKeyJSON {
	name := "coldkey"
	if kf.Kind == keys.Hotkey {
		name = filepath.Base(path)
	}
	return walletKeyJSON{Wallet: wallet, Name: name, Kind: string(kf.Kind), Address: kf.Address(), PublicKey: kf.PublicKey.Hex(),
		Encrypted: kf.Encrypted(), Path: path, Mnemonic: mnemonic}
}

func walletCreateCmd() *Command {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	f := newWalletKeyFlags(fs, "", true)
	return &Command{
		Name:  "create",
		Short: "Create a wallet with a new encrypted coldkey; prints its mnemonic once",
		Long: `Creates <home>/wallets/NAME/coldkey: a new ed25519 key from a fresh 24-word
mnemonic, encrypted with a password (argon2id + XChaCha20-Poly1305). Prints
the address and, once, the mnemonic. Never replaces an existing coldkey.`,
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := f.check(args, false); err != nil {
				return err
			}
			return newWalletKey(rt, f, keys.Coldkey)
		},
	}
}

func walletNewHotkeyCmd() *Command {
	fs := flag.NewFlagSet("new-hotkey", flag.ContinueOnError)
	f := newWalletKeyFlags(fs, "the new hotkey's `NAME` (required)", true)
	fs.BoolVar(&f.encrypt, "encrypt", false, "encrypt the hotkey with a password (a daemon then needs --password-file or AGORA_PASSWORD)")
	return &Command{
		Name:  "new-hotkey",
		Short: "Add a new hotkey to a wallet; prints its mnemonic once",
		Long: `Creates <home>/wallets/NAME/hotkeys/HOTKEY from a fresh 24-word mnemonic.
The file is unencrypted with mode 0600 unless --encrypt: a miner or validator
must load its hotkey unattended, and a hotkey cannot move funds. The wallet's
coldkey need not be on this machine. Never replaces an existing hotkey.`,
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := f.check(args, true); err != nil {
				return err
			}
			return newWalletKey(rt, f, keys.Hotkey)
		},
	}
}

func walletListCmd() *Command {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "list",
		Short: "List wallets with their coldkey and hotkey addresses (no password needed)",
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			store := keys.NewStore(rt.Config.Home)
			ws, err := store.List()
			if err != nil {
				return fmt.Errorf("wallet list: %w", err)
			}
			if *output == "json" {
				type walletJSON struct {
					Name    string          `json:"name"`
					Coldkey *walletKeyJSON  `json:"coldkey"`
					Hotkeys []walletKeyJSON `json:"hotkeys"`
				}
				out := struct {
					Dir     string       `json:"dir"`
					Wallets []walletJSON `json:"wallets"`
				}{Dir: store.Dir, Wallets: []walletJSON{}}
				for _, w := range ws {
					wj := walletJSON{Name: w.Name, Hotkeys: []walletKeyJSON{}}
					if w.Coldkey != nil {
						k := walletKeyInfoJSON(*w.Coldkey)
						wj.Coldkey = &k
					}
					for _, h := range w.Hotkeys {
						wj.Hotkeys = append(wj.Hotkeys, walletKeyInfoJSON(h))
					}
					out.Wallets = append(out.Wallets, wj)
				}
				return walletWriteJSON(rt.Stdout, out)
			}
			if len(ws) == 0 {
				fmt.Fprintf(rt.Stdout, "No wallets in %s. Create one with: agora wallet create --name NAME\n", store.Dir)
				return nil
			}
			tw := tabwriter.NewWriter(rt.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "WALLET\tKEY\tADDRESS\tSTORED\n")
			for _, w := range ws {
				if w.Coldkey == nil {
					fmt.Fprintf(tw, "%s\tcoldkey\t-\tnot on this machine\n", w.Name)
				} else {
					fmt.Fprintf(tw, "%s\tcoldkey\t%s\n", w.Name, walletKeyRow(*w.Coldkey))
				}
				for _, h := range w.Hotkeys {
					fmt.Fprintf(tw, "%s\thotkey %s\t%s\n", w.Name, h.Name, walletKeyRow(h))
				}
			}
			return tw.Flush()
		},
	}
}

func walletKeyInfoJSON(k keys.KeyInfo) walletKeyJSON {
	j := walletKeyJSON{Name: k.Name, Kind: string(k.Kind), Address: k.Address, PublicKey: k.PublicKey, Encrypted: k.Encrypted, Path: k.Path}
	if k.Err != nil {
		j.Error = k.Err.Error()
	}
	return j
}

func walletKeyRow(k keys.KeyInfo) string {
	switch {
	case k.Err != nil:
		return "?\tunreadable: " + k.Err.Error()
	case k.Encrypted:
		return k.Address + "\tencrypted"
	default:
		return k.Address + "\tunencrypted"
	}
}

func walletShowCmd() *Command {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	f := newWalletKeyFlags(fs, "show the hotkey of this `NAME` instead of the coldkey", false)
	return &Command{
		Name:  "show",
		Short: "Show a coldkey's (or, with --hotkey, a hotkey's) address and public key",
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := f.check(args, false); err != nil {
				return err
			}
			store := keys.NewStore(rt.Config.Home)
			path := store.ColdkeyPath(f.name)
			var kf *keys.Keyfile
			var err error
			if f.hotkey != "" {
				path = store.HotkeyPath(f.name, f.hotkey)
				kf, err = store.Hotkey(f.name, f.hotkey)
			} else {
				kf, err = store.Coldkey(f.name)
			}
			if err != nil {
				return fmt.Errorf("wallet show: %w", err)
			}
			j := walletKeyInfo(f.name, kf, path, "")
			if *f.output == "json" {
				return walletWriteJSON(rt.Stdout, j)
			}
			enc := "no (file mode 0600 only)"
			if j.Encrypted {
				enc = fmt.Sprintf("yes (argon2id t=%d m=%dMiB p=%d, xchacha20-poly1305)", kf.KDF.Time, kf.KDF.MemoryKiB/1024, kf.KDF.Threads)
			}
			key := "coldkey"
			if kf.Kind == keys.Hotkey {
				key = "hotkey " + j.Name
			}
			fmt.Fprintf(rt.Stdout, "wallet:     %s\nkey:        %s\naddress:    %s\npublic key: %s\nencrypted:  %s\npath:       %s\n",
				f.name, key, j.Address, j.PublicKey, enc, path)
			return nil
		},
	}
}

func walletProveHotkeyCmd() *Command {
	fs := flag.NewFlagSet("prove-hotkey", flag.ContinueOnError)
	f := newWalletKeyFlags(fs, "the `NAME` of the wallet's hotkey that proves (required)", false)
	fs.StringVar(&f.passwordFile, "password-file", "", "read an encrypted hotkey's password from the first line of `FILE` (else env AGORA_PASSWORD, else a prompt)")
	coldkey := fs.String("coldkey-address", "", "the `ADDRESS` of the coldkey that is to own the hotkey (required)")
	chainID := fs.String("chain-id", "", "the `ID` of the chain it is for (default: ask the node at --node)")
	return &Command{
		Name:  "prove-hotkey",
		Short: "Sign a hotkey's consent to a coldkey owning it, for 'tx register --hotkey-proof'",
		Long: `Prints the hotkey's signature that lets the coldkey at --coldkey-address own
it on chain --chain-id: what 'agora tx register --hotkey-address ADDRESS
--hotkey-proof PROOF' needs when the hotkey is kept on another machine than
the coldkey. The proof names no subnet and does not expire: it only ever lets
that coldkey own this hotkey on that chain, so it is not secret. Without
--chain-id the command asks the node at --node for it.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := f.check(args, true); err != nil {
				return err
			}
			if *coldkey == "" {
				return usageErrorf("--coldkey-address is required")
			}
			cold, err := keys.ParseAddress(*coldkey)
			if err != nil {
				return usageErrorf("--coldkey-address: %v", err)
			}
			if *chainID == "" {
				node := rt.node("")
				c, err := node.client()
				if err != nil {
					return err
				}
				defer c.Close()
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if *chainID, err = c.ChainID(ctx); err != nil {
					return fmt.Errorf("wallet prove-hotkey: the chain id (give --chain-id, or --node of a running node): %w", node.explain(err))
				}
			}
			store := keys.NewStore(rt.Config.Home)
			hot, err := store.LoadHotkey(f.name, f.hotkey, func() ([]byte, error) {
				return walletPassword(rt, f.passwordFile, fmt.Sprintf("Password for the hotkey %s of wallet %s", f.hotkey, f.name), false)
			})
			if err != nil {
				return fmt.Errorf("wallet prove-hotkey: wallet %s: %w", f.name, err)
			}
			proof, err := chain.ProveHotkey(hot.Ed25519(), *chainID, chain.AccountID(cold))
			if err != nil {
				return usageErrorf("%v", err)
			}
			j := struct {
				Hotkey  string `json:"hotkey"`
				Coldkey string `json:"coldkey"`
				ChainID string `json:"chain_id"`
				Proof   string `json:"proof"`
			}{hot.Address(), cold.Address(), *chainID, hex.EncodeToString(proof[:])}
			if *f.output == "json" {
				return walletWriteJSON(rt.Stdout, j)
			}
			fmt.Fprintf(rt.Stdout, "hotkey:  %s\ncoldkey: %s\nchain:   %s\nproof:   %s\n\nregister it with:\n  agora tx register --wallet WALLET --netuid N --hotkey-address %s --hotkey-proof %s\n",
				j.Hotkey, j.Coldkey, j.ChainID, j.Proof, j.Hotkey, j.Proof)
			return nil
		},
	}
}

func walletRegenCmd() *Command {
	set := flag.NewFlagSet("regen", flag.ContinueOnError)
	f := newWalletKeyFlags(set, "restore the hotkey of this `NAME` instead of the coldkey", true)
	force := set.Bool("force", false, "replace an existing key (it is lost unless you have its mnemonic)")
	set.BoolVar(&f.encrypt, "encrypt", false, "with --hotkey: encrypt the restored hotkey with a password")
	return &Command{
		Name:  "regen",
		Short: "Restore a coldkey (or, with --hotkey, a hotkey) from its 24-word mnemonic",
		Long: `Reads a 24-word mnemonic from a hidden prompt when standard input is a
terminal, else from standard input, and writes the key it backs up to
<home>/wallets/NAME/coldkey (asking for a new password) or, with --hotkey,
to <home>/wallets/NAME/hotkeys/HOTKEY. Refuses to replace an existing key
unless --force.`,
		Flags: set,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := f.check(args, false); err != nil {
				return err
			}
			kind := keys.Coldkey
			store := keys.NewStore(rt.Config.Home)
			path := store.ColdkeyPath(f.name)
			if f.hotkey != "" {
				kind, path = keys.Hotkey, store.HotkeyPath(f.name, f.hotkey)
			}
			if _, err := os.Lstat(path); err == nil && !*force {
				return fmt.Errorf("wallet regen: %s already exists; pass --force to replace it (the key in it is lost unless you have its mnemonic)", path)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("wallet regen: %w", err)
			}
			m, err := readWalletMnemonic(rt)
			if err != nil {
				return fmt.Errorf("wallet regen: %w", err)
			}
			kf, _, err := sealWalletKey(rt, f, kind, &m)
			if err != nil {
				return fmt.Errorf("wallet regen: %w", err)
			}
			if kind == keys.Hotkey {
				err = store.SaveHotkey(f.name, f.hotkey, kf, *force)
			} else {
				err = store.SaveColdkey(f.name, kf, *force)
			}
			if err != nil {
				return fmt.Errorf("wallet regen: %w", err)
			}
			j := walletKeyInfo(f.name, kf, path, "")
			if *f.output == "json" {
				return walletWriteJSON(rt.Stdout, j)
			}
			fmt.Fprintf(rt.Stdout, "Restored the %s of wallet %s.\naddress: %s\npath:    %s\n", kind, f.name, j.Address, path)
			return nil
		},
	}
}

// readMnemonic reads the words from a hidden prompt, or from standard
// input when it is not a terminal.
func readWalletMnemonic(rt *Runtime) (string, error) {
	if rt.ReadPassword != nil {
		b, err := rt.ReadPassword("Mnemonic (24 words): ")
		if err != nil {
			return "", fmt.Errorf("read mnemonic: %w", err)
		}
		return string(b), nil
	}
	b, err := io.ReadAll(io.LimitReader(rt.Stdin, maxWalletMnemonicInput+1))
	if err != nil {
		return "", fmt.Errorf("read mnemonic from standard input: %w", err)
	}
	if len(b) > maxWalletMnemonicInput {
		return "", fmt.Errorf("standard input is longer than %d bytes; want a 24-word mnemonic", maxWalletMnemonicInput)
	}
	return string(b), nil
}
