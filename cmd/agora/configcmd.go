package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/seed0ffb8d46/agora/config"
)

// configCmd is "agora config": inspecting the configuration.
func configCmd() *Command {
	return &Command{
		Name:        "config",
		Short:       "Inspect the configuration",
		Subcommands: []*Command{configShowCmd()},
	}
}

// configSecrets are the settings config show hides unless --show-secrets:
// each one's dotted key and its field.
var configSecrets = []struct {
	key   string
	field func(*config.Config) *string
}{
	{"miner.backend_api_key", func(c *config.Config) *string { return &c.Miner.BackendAPIKey }},
}

// redactedSecret is what --output json shows for a secret that is set.
const redactedSecret = "(set)"

// configShowCmd is "agora config show": the effective configuration after
// defaults, --config file, AGORA_* environment and flags.
func configShowCmd() *Command {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	output := outputFlag(fs, "yaml", "yaml", "json")
	showSecrets := fs.Bool("show-secrets", false, "print secrets (miner.backend_api_key) in clear instead of hiding them")
	return &Command{
		Name:  "show",
		Short: "Print the effective configuration",
		Long: "Print the configuration this command line resolves to: defaults, then the\n" +
			"--config file, then AGORA_* environment variables, then flags that were set.\n" +
			"The YAML output is a valid --config file.\n\n" +
			"Secrets (miner.backend_api_key) are hidden unless --show-secrets: one that is\n" +
			"set shows as empty with the comment \"# (set) hidden\" in YAML, so the output\n" +
			"stays loadable (set the secret with its AGORA_* variable), and as \"" + redactedSecret + "\" in\n" +
			"JSON. One that is not set shows as empty.",
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			shown := *rt.Config
			var hidden []string
			for _, s := range configSecrets {
				if v := s.field(&shown); *v != "" && !*showSecrets {
					*v = ""
					hidden = append(hidden, s.key)
				}
			}
			var doc yaml.Node
			if err := doc.Encode(&shown); err != nil {
				return fmt.Errorf("config show: %w", err)
			}
			var out []byte
			if *output == "json" {
				// Through YAML, so JSON keys are the YAML keys.
				var m map[string]any
				if err := doc.Decode(&m); err != nil {
					return fmt.Errorf("config show: %w", err)
				}
				for _, key := range hidden {
					setDotted(m, key, redactedSecret)
				}
				var err error
				if out, err = json.MarshalIndent(m, "", "  "); err != nil {
					return fmt.Errorf("config show: %w", err)
				}
				out = append(out, '\n')
			} else {
				for _, key := range hidden {
					if n := yamlValue(&doc, key); n != nil {
						n.LineComment = "(set) hidden; agora config show --show-secrets prints it"
					}
				}
				var buf bytes.Buffer
				enc := yaml.NewEncoder(&buf)
				enc.SetIndent(2)
				if err := enc.Encode(&doc); err != nil {
					return fmt.Errorf("config show: %w", err)
				}
				if err := enc.Close(); err != nil {
					return fmt.Errorf("config show: %w", err)
				}
				out = buf.Bytes()
			}
			_, err := rt.Stdout.Write(out)
			return err
		},
	}
}

// yamlValue returns the value node of the dotted key in a YAML document of
// nested mappings, or nil.
func yamlValue(doc *yaml.Node, key string) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for part := range strings.SplitSeq(key, ".") {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// setDotted sets the dotted key in nested maps, if its parents exist.
func setDotted(m map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			return
		}
		m = sub
	}
	m[parts[len(parts)-1]] = v
}
