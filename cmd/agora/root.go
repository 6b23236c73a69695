package main

// newRoot returns the command tree of the agora binary; version is what
// "agora version" reports.
//
// To add a command, put it in its own file as a function returning a
// *Command, and list it below. A group with leaves looks like this:
//
//	// yuma.go
//	func yumaCmd() *Command {
//		return &Command{Name: "yuma", Short: "Run and simulate Yuma consensus",
//			Subcommands: []*Command{yumaEpochCmd(), yumaSimulateCmd()}}
//	}
//
//	func yumaEpochCmd() *Command {
//		fs := flag.NewFlagSet("epoch", flag.ContinueOnError)
//		output := outputFlag(fs, "text", "text", "json")
//		return &Command{Name: "epoch", Args: "[file]", Short: "Run one epoch on a JSON state",
//			Flags: fs,
//			Run: func(ctx context.Context, rt *Runtime, args []string) error {
//				// read rt.Stdin or args[0], write rt.Stdout per *output,
//				// log with rt.Log, read settings from rt.Config.
//				return nil
//			}}
//	}
//
// Leaves read their flags' variables in Run, return usageErrorf for bad
// arguments, and write only to rt.Stdout and rt.Stderr. "help" is added by
// the framework; the global flags (--config and the config settings) are
// accepted at every level.
func newRoot(version string) *Command {
	return &Command{
		Name:  "agora",
		Short: "Agora: an incentive network for AI work on its own CometBFT chain.",
		Subcommands: []*Command{
			configCmd(),
			yumaCmd(),
			walletCmd(),
			txCmd(), queryCmd(), stakeCmd(),
			labelsCmd(),
			nodeCmd(),
			localnetCmd(),
			testnetCmd(),
			benchCmd(),
			llmCmd(),
			minerCmd(),
			validatorCmd(),
			versionCmd(version),
		},
	}
}
