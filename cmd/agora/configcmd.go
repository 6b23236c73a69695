package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// configCmd is "agora config": inspecting the configuration.
func configCmd() *Command {
	return &Command{
		Name:        "config",
		Short:       "Inspect the configuration",
		Subcommands: []*Command{configShowCmd()},
	}
}

// configShowCmd is "agora config show": the effective configuration after
// defaults, --config file, AGORA_* environment and flags.
func configShowCmd() *Command {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	output := outputFlag(fs, "yaml", "yaml", "json")
	return &Command{
		Name:  "show",
		Short: "Print the effective configuration",
		Long: "Print the configuration this command line resolves to: defaults, then the\n" +
			"--config file, then AGORA_* environment variables, then flags that were set.\n" +
			"The YAML output is a valid --config file. Secrets are left out of it\n" +
			"(miner.backend_api_key shows as empty): set them with AGORA_* variables.",
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			shown := *rt.Config
			shown.Miner.BackendAPIKey = "" // a secret: never printed
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(&shown); err != nil {
				return fmt.Errorf("config show: %w", err)
			}
			if err := enc.Close(); err != nil {
				return fmt.Errorf("config show: %w", err)
			}
			out := buf.Bytes()
			if *output == "json" {
				// Through YAML, so JSON keys are the YAML keys.
				var m map[string]any
				if err := yaml.Unmarshal(out, &m); err != nil {
					return fmt.Errorf("config show: %w", err)
				}
				var err error
				if out, err = json.MarshalIndent(m, "", "  "); err != nil {
					return fmt.Errorf("config show: %w", err)
				}
				out = append(out, '\n')
			}
			_, err := rt.Stdout.Write(out)
			return err
		},
	}
}
