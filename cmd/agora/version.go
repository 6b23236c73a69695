package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
)

// versionCmd is "agora version": the release, Go version and platform.
func versionCmd(version string) *Command {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:     "version",
		Short:    "Print the version of this binary",
		Flags:    fs,
		NoConfig: true,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			platform := runtime.GOOS + "/" + runtime.GOARCH
			if *output == "json" {
				enc := json.NewEncoder(rt.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]string{
					"version":  version,
					"go":       runtime.Version(),
					"platform": platform,
				})
			}
			_, err := fmt.Fprintf(rt.Stdout, "agora %s (%s %s)\n", version, runtime.Version(), platform)
			return err
		},
	}
}
