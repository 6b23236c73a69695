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
	"strings"
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
			walletCreateCmd(), walletNewHotkeyCmd(), walletListCmd(), walletShowCmd(), walletRegenCmd(), walletImportCmd(),
			walletProveHotkeyCmd(), walletOverviewCmd(), walletBalanceCmd(),
		},
	}
}

// minPasswordLen is the shortest password accepted for a new key.
const minWalletPasswordLen = 8

// maxWalletMnemonicInput bounds what regen reads from standard input and
// import from a mnemonic or seed file.
const maxWalletMnemonicInput = 4096

// keyFlags are the flags that name a key and how to unlock or seal it.
type walletKeyFlags struct {
	name, hotkey, passwordFile string
	encrypt                    bool
	words                      *string // "12" or "24", for commands that make a key
	kdfTime, kdfMemMiB         uint
	kdfThreads                 uint
	output                     *string
}

// newWalletKeyFlags defines the flags; hotkey is the usage of --hotkey,
// or "" for a command without it.
func newWalletKeyFlags(fs *flag.FlagSet, hotkey string, seal bool) *walletKeyFlags {
	f := &walletKeyFlags{}
	fs.StringVar(&f.name, "wallet", "", "the wallet `NAME` (required)")
	fs.StringVar(&f.name, "name", "", "the same as --wallet (its older spelling)")
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
	if err := checkNameFlag("wallet", f.name, true); err != nil {
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
// A hotkey goes only into a wallet that exists, unless newWallet.
func newWalletKey(rt *Runtime, f *walletKeyFlags, kind keys.Kind, newWallet bool) error {
	op := "wallet create"
	store := keys.NewStore(rt.Config.Home)
	path := store.ColdkeyPath(f.name)
	if kind == keys.Hotkey {
		op, path = "wallet new-hotkey", store.HotkeyPath(f.name, f.hotkey)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %s already exists; choose another name (or restore over it with `agora wallet regen --force`)", op, path)
	}
	if kind == keys.Hotkey {
		if err := walletMustExist(store, f.name, newWallet); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	words, _ := strconv.Atoi(*f.words)
	k, mnemonic, err := keys.GenerateWords(words)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	kf, err := sealWalletKey(rt, f, kind, k)
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
	what, regen := "coldkey of wallet "+f.name, "agora wallet import --wallet "+f.name+" --mnemonic-file FILE"
	if kind == keys.Hotkey {
		what, regen = fmt.Sprintf("hotkey %s of wallet %s", f.hotkey, f.name), "agora wallet import --wallet "+f.name+" --hotkey "+f.hotkey+" --mnemonic-file FILE"
	}
	warning := fmt.Sprintf(`IMPORTANT: the %d words below are the only backup of this key and are
shown only this once. Write them down and keep them offline: anyone who has
them controls the key. Restore it with: %s`, words, regen)
	if *f.output == "json" {
		fmt.Fprintln(rt.Stderr, warning)
		return walletWriteJSON(rt.Stdout, walletKeyInfo(f.name, kf, path, mnemonic))
	}
	fmt.Fprintf(rt.Stdout, "Created the %s.\naddress: %s\npath:    %s\n\n%s\n\n    %s\n\n", what, kf.Address(), path, warning, mnemonic)
	return nil
}

// sealWalletKey wraps k in a keyfile of kind, asking for a new password if
// it is to be encrypted.
func sealWalletKey(rt *Runtime, f *walletKeyFlags, kind keys.Kind, k *keys.PrivateKey) (*keys.Keyfile, error) {
	if kind == keys.Hotkey && !f.encrypt {
		return keys.PlainKey(k, kind)
	}
	p, err := f.kdf()
	if err != nil {
		return nil, err
	}
	pw, err := walletPassword(rt, f.passwordFile, "New password for the "+string(kind), true)
	if err != nil {
		return nil, err
	}
	defer clear(pw)
	return keys.EncryptKey(k, kind, pw, p)
}

// walletMustExist returns nil if the wallet exists or newWallet allows
// starting it; else the error lists the wallets there are, so that a
// mistyped name does not quietly start a second wallet.
func walletMustExist(store *keys.Store, wallet string, newWallet bool) error {
	err := store.CheckWallet(wallet)
	if err == nil || newWallet {
		return nil
	}
	var me *keys.MissingError
	if errors.As(err, &me) {
		return fmt.Errorf("%w (to start a wallet that holds only hotkeys, its coldkey kept on another machine, pass --new-wallet)", err)
	}
	return err
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
	f.words = choiceFlag(fs, "words", "24", "the new mnemonic's number of words: 24 (256 bits) or 12 (128 bits)", "24", "12")
	return &Command{
		Name:  "create",
		Short: "Create a wallet with a new encrypted coldkey; prints its mnemonic once",
		Long: `Creates <home>/wallets/NAME/coldkey: a new ed25519 key from a fresh 24-word
(or, with --words 12, 12-word) mnemonic, encrypted with a password (argon2id + XChaCha20-Poly1305). Prints
the address and, once, the mnemonic. Never replaces an existing coldkey.`,
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := f.check(args, false); err != nil {
				return err
			}
			return newWalletKey(rt, f, keys.Coldkey, true)
		},
	}
}

func walletNewHotkeyCmd() *Command {
	fs := flag.NewFlagSet("new-hotkey", flag.ContinueOnError)
	f := newWalletKeyFlags(fs, "the new hotkey's `NAME` (required)", true)
	fs.BoolVar(&f.encrypt, "encrypt", false, "encrypt the hotkey with a password (a daemon then needs --password-file or AGORA_PASSWORD)")
	f.words = choiceFlag(fs, "words", "24", "the new mnemonic's number of words: 24 (256 bits) or 12 (128 bits)", "24", "12")
	newWallet := fs.Bool("new-wallet", false, "start the wallet if it does not exist (one holding only hotkeys; its coldkey is elsewhere)")
	return &Command{
		Name:  "new-hotkey",
		Short: "Add a new hotkey to a wallet; prints its mnemonic once",
		Long: `Creates <home>/wallets/NAME/hotkeys/HOTKEY from a fresh 24-word mnemonic.
The file is unencrypted with mode 0600 unless --encrypt: a miner or validator
must load its hotkey unattended, and a hotkey cannot move funds. The wallet's
coldkey need not be on this machine, but the wallet must exist (a mistyped
--wallet is an error listing the wallets) unless --new-wallet. Never
replaces an existing hotkey.`,
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := f.check(args, true); err != nil {
				return err
			}
			return newWalletKey(rt, f, keys.Hotkey, *newWallet)
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
				fmt.Fprintf(rt.Stdout, "No wallets in %s. Create one with: agora wallet create --wallet NAME\n", store.Dir)
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
			coldID, err := parseAccount(*coldkey)
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
			cold := keys.PublicKey(coldID)
			proof, err := chain.ProveHotkey(hot.Ed25519(), *chainID, coldID)
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

// restoreFlags are regen's and import's own flags.
type restoreFlags struct {
	force, newWallet bool
}

func newRestoreFlags(set *flag.FlagSet, f *walletKeyFlags) *restoreFlags {
	r := &restoreFlags{}
	set.BoolVar(&r.force, "force", false, "replace an existing key (it is lost unless you have its mnemonic)")
	set.BoolVar(&f.encrypt, "encrypt", false, "with --hotkey: encrypt the restored hotkey with a password")
	set.BoolVar(&r.newWallet, "new-wallet", false, "with --hotkey: start the wallet if it does not exist (one holding only hotkeys)")
	return r
}

// restoreWalletKey writes k, restored from words or a seed, as the
// wallet's coldkey or (f.hotkey) hotkey. secret names where k came from,
// for messages. It refuses to replace a key without --force, to add a
// hotkey to a wallet that does not exist without --new-wallet, and to
// store a key as a hotkey that is a coldkey in the store, or the reverse.
func restoreWalletKey(rt *Runtime, op string, f *walletKeyFlags, r *restoreFlags, k *keys.PrivateKey, secret string) error {
	store, kind, path, err := restoreTarget(rt, op, f, r)
	if err != nil {
		return err
	}
	if err := checkKeyRole(store, k.PublicKey(), kind, secret); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	kf, err := sealWalletKey(rt, f, kind, k)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if kind == keys.Hotkey {
		err = store.SaveHotkey(f.name, f.hotkey, kf, r.force)
	} else {
		err = store.SaveColdkey(f.name, kf, r.force)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	j := walletKeyInfo(f.name, kf, path, "")
	if *f.output == "json" {
		return walletWriteJSON(rt.Stdout, j)
	}
	what := "coldkey"
	if kind == keys.Hotkey {
		what = "hotkey " + f.hotkey
	}
	fmt.Fprintf(rt.Stdout, "Restored the %s of wallet %s.\naddress: %s\npath:    %s\n", what, f.name, j.Address, path)
	return nil
}

// restoreTarget checks, before any secret is read, that the key may be
// written: the wallet exists (or --new-wallet) for a hotkey, and the file
// does not (or --force).
func restoreTarget(rt *Runtime, op string, f *walletKeyFlags, r *restoreFlags) (*keys.Store, keys.Kind, string, error) {
	kind := keys.Coldkey
	store := keys.NewStore(rt.Config.Home)
	path := store.ColdkeyPath(f.name)
	if f.hotkey != "" {
		kind, path = keys.Hotkey, store.HotkeyPath(f.name, f.hotkey)
		if err := walletMustExist(store, f.name, r.newWallet); err != nil {
			return nil, kind, "", fmt.Errorf("%s: %w", op, err)
		}
	}
	if _, err := os.Lstat(path); err == nil && !r.force {
		return nil, kind, "", fmt.Errorf("%s: %s already exists; pass --force to replace it (the key in it is lost unless you have its mnemonic)", op, path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, kind, "", fmt.Errorf("%s: %w", op, err)
	}
	return store, kind, path, nil
}

// checkKeyRole refuses to store pk as a key of kind when a wallet in the
// store holds it in the other role: a hotkey restored from a coldkey's
// words would put the coldkey's secret, unencrypted, on the machine that
// runs the neuron, and one account would be both owner and neuron.
func checkKeyRole(store *keys.Store, pk keys.PublicKey, kind keys.Kind, secret string) error {
	ws, err := store.List()
	if err != nil {
		return err
	}
	addr := pk.Address()
	for _, w := range ws {
		if kind == keys.Hotkey && w.Coldkey != nil && w.Coldkey.Address == addr {
			return fmt.Errorf("%s gives %s, the coldkey of wallet %s: refusing to store a coldkey as a hotkey, "+
				"which would keep the coldkey's secret unencrypted beside the neuron and make one account both owner and neuron; "+
				"restore the hotkey from its own mnemonic or seed", secret, addr, w.Name)
		}
		for _, h := range w.Hotkeys {
			if kind == keys.Coldkey && h.Address == addr {
				return fmt.Errorf("%s gives %s, the hotkey %s of wallet %s: refusing to store a hotkey as a coldkey, "+
					"since its secret has been kept unencrypted beside a neuron; restore the coldkey from its own mnemonic or seed",
					secret, addr, h.Name, w.Name)
			}
		}
	}
	return nil
}

func walletRegenCmd() *Command {
	set := flag.NewFlagSet("regen", flag.ContinueOnError)
	f := newWalletKeyFlags(set, "restore the hotkey of this `NAME` instead of the coldkey", true)
	r := newRestoreFlags(set, f)
	return &Command{
		Name:  "regen",
		Short: "Restore a coldkey (or, with --hotkey, a hotkey) from its mnemonic typed at a prompt or on standard input",
		Long: `Reads a 12- or 24-word mnemonic from a hidden prompt when standard input is
a terminal, else from standard input, and writes the key it backs up to
<home>/wallets/NAME/coldkey (asking for a new password) or, with --hotkey,
to <home>/wallets/NAME/hotkeys/HOTKEY. Refuses to replace an existing key
unless --force, and to restore a wallet's coldkey as a hotkey. 'agora wallet
import' does the same from a file.`,
		Flags: set,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := f.check(args, false); err != nil {
				return err
			}
			if _, _, _, err := restoreTarget(rt, "wallet regen", f, r); err != nil {
				return err
			}
			m, err := readWalletMnemonic(rt)
			if err != nil {
				return fmt.Errorf("wallet regen: %w", err)
			}
			k, err := keys.FromMnemonic(m)
			if err != nil {
				return fmt.Errorf("wallet regen: %w", err)
			}
			return restoreWalletKey(rt, "wallet regen", f, r, k, "the mnemonic")
		},
	}
}

func walletImportCmd() *Command {
	set := flag.NewFlagSet("import", flag.ContinueOnError)
	f := newWalletKeyFlags(set, "import the hotkey of this `NAME` instead of the coldkey", true)
	r := newRestoreFlags(set, f)
	mnemonicFile := set.String("mnemonic-file", "", "read the key's 12- or 24-word BIP-39 mnemonic from `FILE`")
	seedFile := set.String("seed-file", "", "read the key's 32-byte ed25519 seed, as 64 hex digits, from `FILE`")
	return &Command{
		Name:  "import",
		Short: "Import a coldkey (or, with --hotkey, a hotkey) from a mnemonic file or a hex seed file",
		Long: `Writes the key backed up by a 12- or 24-word BIP-39 mnemonic
(--mnemonic-file) or given by its 32-byte ed25519 seed in hex
(--seed-file; a "0x" prefix and surrounding white space are allowed) to
<home>/wallets/NAME/coldkey (asking for a new password) or, with --hotkey,
to <home>/wallets/NAME/hotkeys/HOTKEY. Secrets are read from files only,
never from arguments, which other users can see in the process list.
Refuses to replace an existing key unless --force, to add a hotkey to a
wallet that does not exist unless --new-wallet, and to import a wallet's
coldkey as a hotkey (or a hotkey as a coldkey).`,
		Flags: set,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := f.check(args, false); err != nil {
				return err
			}
			if (*mnemonicFile == "") == (*seedFile == "") {
				return usageErrorf("give one of --mnemonic-file FILE or --seed-file FILE")
			}
			if _, _, _, err := restoreTarget(rt, "wallet import", f, r); err != nil {
				return err
			}
			var k *keys.PrivateKey
			var secret string
			if *mnemonicFile != "" {
				secret = "the mnemonic in " + *mnemonicFile
				m, err := readSecretFile(rt, *mnemonicFile)
				if err != nil {
					return fmt.Errorf("wallet import: %w", err)
				}
				if k, err = keys.FromMnemonic(m); err != nil {
					return fmt.Errorf("wallet import: %s: %w", *mnemonicFile, err)
				}
			} else {
				secret = "the seed in " + *seedFile
				s, err := readSecretFile(rt, *seedFile)
				if err != nil {
					return fmt.Errorf("wallet import: %w", err)
				}
				if k, err = parseHexSeed(s); err != nil {
					return fmt.Errorf("wallet import: %s: %w", *seedFile, err)
				}
			}
			return restoreWalletKey(rt, "wallet import", f, r, k, secret)
		},
	}
}

// readSecretFile reads a mnemonic or seed file of at most
// maxWalletMnemonicInput bytes.
func readSecretFile(rt *Runtime, path string) (string, error) {
	b, err := rt.ReadFile(path)
	if err != nil {
		return "", err
	}
	defer clear(b)
	if len(b) > maxWalletMnemonicInput {
		return "", fmt.Errorf("%s is %d bytes; a mnemonic or seed file has at most %d", path, len(b), maxWalletMnemonicInput)
	}
	return string(b), nil
}

// parseHexSeed parses a 32-byte ed25519 seed written as 64 hex digits,
// with an optional 0x prefix and white space around it.
func parseHexSeed(s string) (*keys.PrivateKey, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) != 2*keys.SeedSize {
		return nil, fmt.Errorf("want a %d-byte ed25519 seed as %d hex digits, got %d characters", keys.SeedSize, 2*keys.SeedSize, len(s))
	}
	seed, err := hex.DecodeString(s)
	if err != nil {
		var ie hex.InvalidByteError
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("the seed has %q at character %d; want hex digits 0-9 and a-f", rune(ie), strings.IndexByte(s, byte(ie))+1)
		}
		return nil, fmt.Errorf("the seed is not hex: %v", err)
	}
	defer clear(seed)
	return keys.NewPrivateKeyFromSeed(seed)
}

// readMnemonic reads the words from a hidden prompt, or from standard
// input when it is not a terminal.
func readWalletMnemonic(rt *Runtime) (string, error) {
	if rt.ReadPassword != nil {
		b, err := rt.ReadPassword("Mnemonic (12 or 24 words): ")
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
		return "", fmt.Errorf("standard input is longer than %d bytes; want a 12- or 24-word mnemonic", maxWalletMnemonicInput)
	}
	return string(b), nil
}
