package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
)

// result is what one in-process execution produced.
type result struct {
	code           int
	stdout, stderr string
}

// testEnv is an Env over buffers, a map environment and map files. Files
// written through it are added to files.
func testEnv(stdin string, env, files map[string]string) (*Env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	if files == nil {
		files = map[string]string{}
	}
	return &Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: &stdout,
		Stderr: &stderr,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
		WriteFile: func(name string, data []byte) error {
			files[name] = string(data)
			return nil
		},
		UserHomeDir: func() (string, error) { return "/home/test", nil },
	}, &stdout, &stderr
}

// runTree executes args against root in-process.
func runTree(ctx context.Context, root *Command, env map[string]string, args ...string) result {
	e, stdout, stderr := testEnv("", env, nil)
	code := execute(ctx, e, root, args)
	return result{code, stdout.String(), stderr.String()}
}

// seen records what a test leaf received.
type seen struct {
	rt    *Runtime
	args  []string
	count int
}

// testTree is a small tree: "t group leaf", "t fail", "t usage", "t wait".
func testTree(s *seen) *Command {
	fs := flag.NewFlagSet("leaf", flag.ContinueOnError)
	n := fs.Int("n", 1, "how many `times`")
	record := func(_ context.Context, rt *Runtime, args []string) error {
		s.rt, s.args, s.count = rt, args, *n
		return nil
	}
	return &Command{
		Name:  "t",
		Short: "A test tree.",
		Subcommands: []*Command{
			{Name: "group", Short: "A group", Subcommands: []*Command{
				{Name: "leaf", Args: "[arg...]", Short: "A leaf", Long: "Records its inputs.", Flags: fs, Run: record},
			}},
			{Name: "fail", Short: "Fails", Run: func(context.Context, *Runtime, []string) error {
				return fmt.Errorf("fail: open thing: %w", errors.Join(errors.New("first"), errors.New("second")))
			}},
			{Name: "usage", Short: "Rejects its arguments", Run: func(context.Context, *Runtime, []string) error {
				return usageErrorf("need exactly one file")
			}},
			{Name: "wait", Short: "Waits for cancellation", Run: func(ctx context.Context, _ *Runtime, _ []string) error {
				<-ctx.Done()
				return fmt.Errorf("wait: %w", ctx.Err())
			}},
			{Name: "canceled", Short: "Returns context.Canceled on its own", Run: func(context.Context, *Runtime, []string) error {
				return context.Canceled
			}},
			{Name: "log", Short: "Logs a line", Run: func(_ context.Context, rt *Runtime, _ []string) error {
				rt.Log.Debug("debug line")
				rt.Log.Info("info line")
				return nil
			}},
		},
	}
}

func TestExecute(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		code       int
		stdout     []string // substrings
		stderr     []string // substrings
		emptyOut   bool
		wantRecord bool
	}{
		{name: "root help", args: []string{"--help"}, code: 0,
			stdout: []string{"Usage:\n  t <command> [flags]\n", "A test tree.", "Commands:\n  group ", "  help ", "Show help for a command",
				"Global flags:\n  --config FILE", "--log.level string", "(default info)", "Run 't <command> --help'"}},
		{name: "root -h", args: []string{"-h"}, code: 0, stdout: []string{"Usage:\n  t <command> [flags]"}},
		{name: "group help", args: []string{"group", "-help"}, code: 0,
			stdout: []string{"Usage:\n  t group <command> [flags]\n", "Commands:\n  leaf   A leaf\n"}},
		{name: "leaf help", args: []string{"group", "leaf", "--help"}, code: 0,
			stdout: []string{"Usage:\n  t group leaf [flags] [arg...]\n", "A leaf\n\nRecords its inputs.\n",
				"Flags:\n  --n times   how many times (default 1)\n", "Global flags:"}},
		{name: "help command", args: []string{"help", "group", "leaf"}, code: 0,
			stdout: []string{"Usage:\n  t group leaf [flags] [arg...]\n"}},
		{name: "help alone", args: []string{"help"}, code: 0, stdout: []string{"Usage:\n  t <command> [flags]\n"}},
		{name: "help works with broken config", args: []string{"help"}, env: map[string]string{"AGORA_LOG_LEVEL": "loud"}, code: 0,
			stdout: []string{"Usage:"}},
		{name: "help unknown", args: []string{"help", "group", "nope"}, code: 2, emptyOut: true,
			stderr: []string{"t help: unknown command \"nope\" for \"t group\"\nRun 't help --help' for usage.\n"}},
		{name: "unknown command", args: []string{"nope"}, code: 2, emptyOut: true,
			stderr: []string{"t: unknown command \"nope\"\nRun 't --help' for usage.\n"}},
		{name: "unknown subcommand", args: []string{"group", "nope", "x"}, code: 2, emptyOut: true,
			stderr: []string{"t group: unknown command \"nope\"\nRun 't group --help' for usage.\n"}},
		{name: "missing command", args: []string{"group"}, code: 2, emptyOut: true,
			stderr: []string{"t group: missing command\n", "Commands:\n  leaf"}},
		{name: "no arguments", args: nil, code: 2, emptyOut: true, stderr: []string{"t: missing command\n"}},
		{name: "unknown flag", args: []string{"group", "leaf", "--nope"}, code: 2, emptyOut: true,
			stderr: []string{"t group leaf: flag provided but not defined: --nope\nRun 't group leaf --help' for usage.\n"}},
		{name: "bad flag value", args: []string{"group", "leaf", "--n=x"}, code: 2,
			stderr: []string{`t group leaf: invalid value "x" for flag --n: parse error`}},
		{name: "bad config flag value", args: []string{"--log.format=xml", "group", "leaf"}, code: 2,
			stderr: []string{`t: invalid value "xml" for flag --log.format: "xml" is not one of console, json`}},
		{name: "bad env", args: []string{"group", "leaf"}, env: map[string]string{"AGORA_LOG_LEVEL": "loud"}, code: 1,
			stderr: []string{"agora: config: log.level \"loud\" is not one of debug, info, warn, error (set by env AGORA_LOG_LEVEL)\n"}},
		{name: "missing config file", args: []string{"--config", "/no/such.yml", "group", "leaf"}, code: 1,
			stderr: []string{"agora: config: read /no/such.yml: open /no/such.yml: file does not exist\n"}},
		{name: "runtime error", args: []string{"fail"}, code: 1, emptyOut: true,
			stderr: []string{"agora: fail: open thing: first\nagora: second\n"}},
		{name: "usage error from run", args: []string{"usage"}, code: 2,
			stderr: []string{"t usage: need exactly one file\nRun 't usage --help' for usage.\n"}},
		{name: "canceled without signal is an error", args: []string{"canceled"}, code: 1,
			stderr: []string{"agora: context canceled\n"}},
		{name: "leaf runs", args: []string{"group", "leaf", "--n", "3", "a", "b"}, code: 0, wantRecord: true},
		{name: "flags after --", args: []string{"group", "leaf", "--", "--n"}, code: 0, wantRecord: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			r := runTree(t.Context(), testTree(&s), tt.env, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			for _, want := range tt.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if tt.emptyOut && r.stdout != "" {
				t.Errorf("stdout = %q, want empty", r.stdout)
			}
			if tt.code == 0 && r.stderr != "" {
				t.Errorf("stderr = %q, want empty on success", r.stderr)
			}
			if tt.wantRecord != (s.rt != nil) {
				t.Errorf("leaf ran = %v, want %v", s.rt != nil, tt.wantRecord)
			}
		})
	}
}

func TestLeafReceivesArgsConfigAndFlags(t *testing.T) {
	var s seen
	e, _, stderr := testEnv("", map[string]string{"AGORA_LOG_FORMAT": "json"},
		map[string]string{"a.yml": "home: /srv\nlog:\n  level: warn\n"})
	// Global flags at several levels, before and after the command names.
	code := execute(t.Context(), e, testTree(&s), []string{
		"--config", "a.yml", "group", "--home=~/x", "leaf", "--log.level=debug", "--n=2", "p", "q",
	})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := strings.Join(s.args, " "); got != "p q" || s.count != 2 {
		t.Errorf("args = %q, n = %d", got, s.count)
	}
	c := s.rt.Config
	if c.Home != "/home/test/x" || c.Log.Level != "debug" || c.Log.Format != "json" {
		t.Errorf("config = %+v", *c)
	}
	if s.rt.Stdin == nil || s.rt.Stdout == nil || s.rt.Log == nil {
		t.Errorf("runtime not filled: %+v", s.rt)
	}
}

func TestLoggerFromConfig(t *testing.T) {
	var s seen
	r := runTree(t.Context(), testTree(&s), map[string]string{"AGORA_LOG_FORMAT": "json"}, "log")
	if r.code != 0 || !strings.Contains(r.stderr, `"msg":"info line"`) || strings.Contains(r.stderr, "debug line") {
		t.Errorf("json/info: code %d, stderr:\n%s", r.code, r.stderr)
	}
	r = runTree(t.Context(), testTree(&s), nil, "log", "--log.level=debug")
	if r.code != 0 || !strings.Contains(r.stderr, "DEBUG\tdebug line") || !strings.Contains(r.stderr, "INFO\tinfo line") {
		t.Errorf("console/debug: code %d, stderr:\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("logger wrote to stdout: %q", r.stdout)
	}
}

func TestCancellationIsNotAnError(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // as SIGINT would, through signal.NotifyContext
	var s seen
	r := runTree(ctx, testTree(&s), nil, "wait")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
}

func TestStdinIsInjected(t *testing.T) {
	root := &Command{Name: "t", Subcommands: []*Command{{
		Name: "cat", Short: "Copies stdin", NoConfig: true,
		Run: func(_ context.Context, rt *Runtime, _ []string) error {
			_, err := io.Copy(rt.Stdout, rt.Stdin)
			return err
		},
	}}}
	e, stdout, _ := testEnv("hello\n", nil, nil)
	if code := execute(t.Context(), e, root, []string{"cat"}); code != 0 || stdout.String() != "hello\n" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
}

func TestWriteFileIsInjected(t *testing.T) {
	root := &Command{Name: "t", Subcommands: []*Command{{
		Name: "save", Short: "Writes its argument to out.txt", NoConfig: true,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			return rt.WriteFile("out.txt", []byte(args[0]))
		},
	}}}
	files := map[string]string{}
	e, _, _ := testEnv("", nil, files)
	if code := execute(t.Context(), e, root, []string{"save", "data"}); code != 0 || files["out.txt"] != "data" {
		t.Errorf("exit %d, files %q", code, files)
	}
}

func TestFlagClashPanics(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("home", "", "clashes with the global --home")
	root := &Command{Name: "t", Subcommands: []*Command{{Name: "x", Flags: fs, Run: func(context.Context, *Runtime, []string) error { return nil }}}}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "t x: flag --home clashes with a global flag") {
			t.Errorf("recover() = %v", r)
		}
	}()
	runTree(t.Context(), root, nil, "x")
}
