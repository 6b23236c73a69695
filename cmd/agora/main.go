// Command agora is the one binary of the Agora network: chain node, miner,
// validator and the tools around them. Run "agora help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is the release of this binary, set at build time with
// -ldflags "-X main.version=v1.2.3"; "dev" otherwise.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := execute(ctx, osEnv(), newRoot(version), os.Args[1:])
	stop()
	os.Exit(code)
}
