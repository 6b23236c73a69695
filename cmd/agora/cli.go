package main

// A small subcommand framework on the standard flag package.
//
// A Command is either a group (Subcommands, no Run) or a leaf (Run, no
// Subcommands), or a leaf with a few subcommands named right after it
// (agora localnet, agora localnet fund). execute walks the command line level by level: each level
// parses its own flags plus the global flags (--config and the config
// package's flags), so global flags may appear at any level:
//
//	agora --log.level=debug yuma epoch -h
//	agora yuma epoch --log.level=debug input.json
//
// Then it loads the configuration (unless the leaf says NoConfig), builds
// the logger and calls Run with a Runtime. Exit codes: 0 success (and -h,
// and a Run stopped by cancelling ctx), 1 a runtime error, printed as
// "agora: <error>", 2 a usage error (unknown command or flag, bad flag
// value, usageErrorf from Run).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"

	"go.uber.org/zap"
	"golang.org/x/term"

	"github.com/seed0ffb8d46/agora/config"
)

// Exit codes of execute.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line was wrong
)

// Env is everything a command may touch of the process: its standard
// streams, environment, file system reads and home directory. main fills it
// from the os package; tests fill it with buffers and maps so commands run
// in-process. Commands must use it instead of os.Stdout, os.Getenv and the
// like.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer // also where the logger writes
	// LookupEnv is os.LookupEnv or a stand-in.
	LookupEnv func(key string) (string, bool)
	// ReadFile is os.ReadFile or a stand-in.
	ReadFile func(name string) ([]byte, error)
	// WriteFile creates or truncates the file name and writes data to it,
	// like os.WriteFile with mode 0644 (before umask), or a stand-in.
	WriteFile func(name string, data []byte) error
	// UserHomeDir is os.UserHomeDir or a stand-in; "~" in config.home
	// expands to its result.
	UserHomeDir func() (string, error)
	// ReadPassword writes prompt to the terminal and reads a line from it
	// without echo, without the newline. It is nil when standard input is
	// not a terminal: then there is no one to ask.
	ReadPassword func(prompt string) ([]byte, error)
}

// osEnv returns the Env of the running process.
func osEnv() *Env {
	return &Env{
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		LookupEnv: os.LookupEnv,
		ReadFile:  os.ReadFile,
		WriteFile: func(name string, data []byte) error {
			return os.WriteFile(name, data, 0o644)
		},
		UserHomeDir:  os.UserHomeDir,
		ReadPassword: terminalPassword(os.Stdin, os.Stderr),
	}
}

// terminalPassword returns an Env.ReadPassword that prompts on w and reads
// from in without echo, or nil if in is not a terminal.
func terminalPassword(in *os.File, w io.Writer) func(string) ([]byte, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	return func(prompt string) ([]byte, error) {
		fmt.Fprint(w, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(w)
		return b, err
	}
}

// Runtime is what a leaf command's Run receives: the process Env, the
// effective configuration and the logger built from it. Config is nil and
// Log is a no-op logger for commands with NoConfig.
type Runtime struct {
	*Env
	Config *config.Config
	// Origins says where each setting of Config that is not the default
	// came from (config.LoadOrigins), for errors such as a node's that
	// does not answer.
	Origins map[string]string
	Log     *zap.Logger
}

// Command is one node of the command tree.
type Command struct {
	// Name is the word that selects the command, such as "epoch".
	Name string
	// Args is the synopsis of the positional arguments for the usage line,
	// such as "<file>" or "[name...]"; empty if there are none.
	Args string
	// Short is a one-line description shown in the parent's command list.
	Short string
	// Long is an optional longer description shown by --help.
	Long string
	// Flags are the command's own flags, or nil. The framework copies them
	// onto the flag set it parses with, so bind variables with fs.XxxVar
	// when building the Command and read them in Run. Names must not clash
	// with the global flags.
	Flags *flag.FlagSet
	// Subcommands makes the command a group. A command with Run may also
	// have a few: then a subcommand's name must come right after the
	// command's (agora localnet fund ...), and anything else runs it.
	Subcommands []*Command
	// Run runs a leaf command with the positional arguments left after its
	// flags. Returning a usageErrorf error exits 2; any other error exits 1;
	// an error wrapping context.Canceled after ctx is done exits 0.
	Run func(ctx context.Context, rt *Runtime, args []string) error
	// NoConfig skips loading the configuration and building the logger, for
	// commands such as help and version that must work with a broken
	// configuration.
	NoConfig bool
	// ConfigSection names the scoped configuration section (such as
	// "miner") whose --section.key flags this command takes besides the
	// globals: the daemon that the section configures.
	ConfigSection string
}

// usageError is an error in how the command was invoked.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usageErrorf returns an error that makes execute print msg with a pointer
// to --help and exit 2. Run uses it for wrong positional arguments.
func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// noArgs is a check for Run of commands that take no positional arguments.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q", args[0])
	}
	return nil
}

// globals are the flags accepted at every level of the command line. One
// globals belongs to one execution.
type globals struct {
	configFile stringValue
	config     *config.Flags
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.Var(&g.configFile, "config", "read configuration from the YAML `FILE` (settings: defaults < file < env AGORA_* < flags)")
	g.config.Register(fs)
}

// stringValue is a flag.Value that, unlike flag.StringVar, does not reset
// its variable when registered on another flag set.
type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }

// choiceValue is a string flag restricted to a set of choices.
type choiceValue struct {
	val     *string
	choices []string
}

func (c *choiceValue) String() string {
	if c.val == nil {
		return ""
	}
	return *c.val
}

func (c *choiceValue) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		return fmt.Errorf("%q is not one of %s", s, strings.Join(c.choices, ", "))
	}
	*c.val = s
	return nil
}

// choiceFlag defines a string flag on fs that accepts only choices, with
// default def, and returns its variable. A bad value is a usage error that
// names the flag.
func choiceFlag(fs *flag.FlagSet, name, def, usage string, choices ...string) *string {
	v := def
	fs.Var(&choiceValue{&v, choices}, name, usage+": "+strings.Join(choices, ", "))
	return &v
}

// outputFlag defines the --output flag that CLI commands share.
func outputFlag(fs *flag.FlagSet, def string, choices ...string) *string {
	return choiceFlag(fs, "output", def, "output format", choices...)
}

// execute runs the command line args (without the program name) against the
// tree under root and returns the process exit code. It writes only to env's
// streams and never calls os.Exit, so tests run it in-process.
// parseInterspersed parses a leaf's flags wherever they stand among its
// positional arguments (`agora yuma simulate s.json --output json`), as
// users expect; "--" ends the flags. It returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// flag.Parse stops at the first non-flag, or after "--".
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func execute(ctx context.Context, env *Env, root *Command, args []string) int {
	root = withHelp(root)
	g := &globals{config: config.NewFlags()}
	path := []*Command{root}
	for {
		cmd := path[len(path)-1]
		if cmd.Run != nil && len(args) > 0 {
			if sub := find(cmd, args[0]); sub != nil {
				path, args = append(path, sub), args[1:]
				continue
			}
		}
		fs := flagSet(path, g)
		var err error
		if cmd.Run != nil {
			args, err = parseInterspersed(fs, args)
		} else {
			err = fs.Parse(args)
			args = fs.Args()
		}
		if errors.Is(err, flag.ErrHelp) {
			printHelp(env.Stdout, path)
			return exitOK
		}
		if err != nil {
			return usage(env, path, dashes(err.Error()))
		}
		if cmd.Run != nil {
			break
		}
		if len(args) == 0 {
			fmt.Fprintf(env.Stderr, "%s: missing command\n\n", fullName(path))
			printHelp(env.Stderr, path)
			return exitUsage
		}
		sub := find(cmd, args[0])
		if sub == nil {
			return usage(env, path, fmt.Sprintf("unknown command %q", args[0]))
		}
		path = append(path, sub)
		args = args[1:]
	}

	cmd := path[len(path)-1]
	rt := &Runtime{Env: env, Log: zap.NewNop()}
	if !cmd.NoConfig {
		cfg, origins, err := loadConfig(env, g)
		if err != nil {
			return finish(ctx, env, path, err)
		}
		log, err := newLogger(cfg.Log, env.Stderr)
		if err != nil {
			return finish(ctx, env, path, err)
		}
		defer func() { _ = log.Sync() }() // syncing a terminal can fail harmlessly
		rt.Config, rt.Origins, rt.Log = cfg, origins, log
	}
	return finish(ctx, env, path, cmd.Run(ctx, rt, args))
}

// finish turns the error of a command into an exit code, printing it.
func finish(ctx context.Context, env *Env, path []*Command, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return usage(env, path, ue.msg)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return exitOK // stopped by SIGINT/SIGTERM: not an error
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(env.Stderr, "agora: %s\n", line)
	}
	return exitError
}

// usage prints a usage error for the command at the end of path.
func usage(env *Env, path []*Command, msg string) int {
	name := fullName(path)
	fmt.Fprintf(env.Stderr, "%s: %s\nRun '%s --help' for usage.\n", name, msg, name)
	return exitUsage
}

// dashes rewrites the flag package's "-name" in its error messages as
// "--name", the spelling the help text uses.
func dashes(msg string) string {
	msg = strings.Replace(msg, " for flag -", " for flag --", 1)
	return strings.Replace(msg, "not defined: -", "not defined: --", 1)
}

// loadConfig reads the --config file, if any, and loads the configuration.
func loadConfig(env *Env, g *globals) (*config.Config, map[string]string, error) {
	src := config.Sources{LookupEnv: env.LookupEnv, Flags: g.config}
	if name := string(g.configFile); name != "" {
		data, err := env.ReadFile(name)
		if err != nil {
			return nil, nil, fmt.Errorf("config: read %s: %w", name, err)
		}
		src.File, src.FileName = data, name
	}
	if env.UserHomeDir != nil {
		if home, err := env.UserHomeDir(); err == nil {
			src.UserHome = home
		}
	}
	return config.LoadOrigins(src)
}

// flagSet builds the flag set of the command at the end of path: its own
// flags and the globals. It panics if they clash, a programming error the
// tests catch.
func flagSet(path []*Command, g *globals) *flag.FlagSet {
	cmd := path[len(path)-1]
	fs := flag.NewFlagSet(fullName(path), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	g.register(fs)
	if cmd.ConfigSection != "" {
		g.config.RegisterSection(fs, cmd.ConfigSection)
	}
	if cmd.Flags != nil {
		cmd.Flags.VisitAll(func(f *flag.Flag) {
			if fs.Lookup(f.Name) != nil {
				panic(fmt.Sprintf("%s: flag --%s clashes with a global flag", fullName(path), f.Name))
			}
			fs.Var(f.Value, f.Name, f.Usage)
		})
	}
	return fs
}

func find(cmd *Command, name string) *Command {
	for _, sub := range cmd.Subcommands {
		if sub.Name == name {
			return sub
		}
	}
	return nil
}

func fullName(path []*Command) string {
	names := make([]string, len(path))
	for i, c := range path {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

// withHelp returns root with a "help" subcommand added, unless it has one.
func withHelp(root *Command) *Command {
	if find(root, "help") != nil {
		return root
	}
	r := *root
	r.Subcommands = append(slices.Clip(r.Subcommands), &Command{
		Name:     "help",
		Args:     "[command...]",
		Short:    "Show help for a command",
		NoConfig: true,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			return runHelp(rt.Stdout, &r, args)
		},
	})
	return &r
}

// runHelp prints the help of the command under root named by args.
func runHelp(w io.Writer, root *Command, args []string) error {
	path := []*Command{root}
	for _, name := range args {
		sub := find(path[len(path)-1], name)
		if sub == nil {
			return usageErrorf("unknown command %q for %q", name, fullName(path))
		}
		path = append(path, sub)
	}
	printHelp(w, path)
	return nil
}

// printHelp writes the --help text of the command at the end of path.
func printHelp(w io.Writer, path []*Command) {
	cmd := path[len(path)-1]
	name := fullName(path)
	synopsis := name
	if len(cmd.Subcommands) > 0 {
		synopsis += " <command>"
	}
	synopsis += " [flags]"
	if cmd.Args != "" {
		synopsis += " " + cmd.Args
	}
	if cmd.Run != nil && len(cmd.Subcommands) > 0 { // it runs itself too
		synopsis = strings.TrimSpace(name+" [flags] "+cmd.Args) + "\n  " + name + " <command> [flags]"
	}
	fmt.Fprintf(w, "Usage:\n  %s\n", synopsis)
	if cmd.Short != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.Short)
	}
	if cmd.Long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.Long))
	}
	if len(cmd.Subcommands) > 0 {
		fmt.Fprintf(w, "\nCommands:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		for _, sub := range cmd.Subcommands {
			fmt.Fprintf(tw, "  %s\t%s\n", sub.Name, sub.Short)
		}
		_ = tw.Flush()
	}
	if cmd.Flags != nil {
		var n int
		cmd.Flags.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(w, "\nFlags:\n")
			printFlags(w, cmd.Flags)
		}
	}
	gfs := flag.NewFlagSet("globals", flag.ContinueOnError)
	// Fresh globals, so the help shows defaults, not this command line.
	(&globals{config: config.NewFlags()}).register(gfs)
	if cmd.ConfigSection != "" {
		sfs := flag.NewFlagSet(cmd.ConfigSection, flag.ContinueOnError)
		config.NewFlags().RegisterSection(sfs, cmd.ConfigSection)
		fmt.Fprintf(w, "\nSettings (flags, env AGORA_%s_*, or the %s: section of --config FILE):\n", strings.ToUpper(cmd.ConfigSection), cmd.ConfigSection)
		printFlags(w, sfs)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n")
	printFlags(w, gfs)
	if len(cmd.Subcommands) > 0 {
		fmt.Fprintf(w, "\nRun '%s <command> --help' for more about a command.\n", name)
	}
}

// printFlags lists the flags of fs, sorted by name, with their types and
// defaults.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		typ, text := flag.UnquoteUsage(f)
		if typ == "value" {
			typ = typeName(f.Value)
		}
		if typ != "" {
			typ = " " + typ
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "false" && f.DefValue != "[]" {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, typ, text)
	})
	_ = tw.Flush()
}

// typeName names the type a custom flag value holds, for the help text.
func typeName(v flag.Value) string {
	switch v.(type) {
	case *choiceValue, *stringValue:
		return "string"
	}
	g, ok := v.(flag.Getter)
	if !ok {
		return "value"
	}
	switch t := reflect.TypeOf(g.Get()); {
	case t == nil:
		return "value"
	case t.Kind() == reflect.Bool:
		return ""
	case t.String() == "time.Duration":
		return "duration"
	case t.Kind() == reflect.Slice:
		return "list"
	default:
		return t.Kind().String()
	}
}
