# Agora's build, test and check targets. Run `make test` before you push;
# CI runs .ci/run, which runs `make test`.

GO ?= go
# Release string baked into `agora version`; "dev" outside a tagged checkout.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Upper bound for one package's tests under the race detector.
TEST_TIMEOUT ?= 8m
# Packages that vet, test, bench and fuzz cover: `make test PKGS=./config/...`.
PKGS ?= ./...
# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 10s

.DEFAULT_GOAL := build
.PHONY: build test test-busy testnet bench bench-statesync lint vet fmt-check fuzz clean demo

## build: the agora binary in bin/agora
build:
	$(GO) build -trimpath -ldflags '-X main.version=$(VERSION)' -o bin/agora ./cmd/agora

# Flags of `agora localnet` in `make demo`: `make demo DEMO_FLAGS='--miners 5 --dashboard 127.0.0.1:9000'`.
DEMO_FLAGS ?= --adversaries

## demo: the whole network on this machine on the built-in model (chain, miners with
## simulated labelers, validators, dashboard); prints the dashboard and labelling URLs.
## Ctrl-C stops it; the data stays in ~/.agora/localnet (add --reset to start afresh)
demo: build
	bin/agora localnet $(DEMO_FLAGS)

## test: lint, then every test under the race detector. The localnet test runs a whole
## network whose validators must keep up with its chain and judge every miner often enough
## to measure pay, so it runs alone, after the others, and without the race detector (which
## makes the model an order of magnitude slower; its packages are race-tested on their own).
## The scoring package's label-market simulations (files tagged !race: pure single-goroutine
## code) run in that pass too.
test: lint
	@pkgs=$$($(GO) list $(PKGS)); \
	rest=$$(echo "$$pkgs" | grep -v '/localnet$$' || true); \
	alone=$$(echo "$$pkgs" | grep '/localnet$$' || true); \
	if [ -n "$$rest" ]; then $(GO) test -race -timeout $(TEST_TIMEOUT) $$rest || exit 1; fi; \
	if echo "$$pkgs" | grep -q '/scoring$$'; then $(GO) test -timeout $(TEST_TIMEOUT) -run '^TestLabel(Attacks|CopyFalsePositives|SmallNetworks)$$' ./scoring || exit 1; fi; \
	if [ -n "$$alone" ]; then $(GO) test -timeout $(TEST_TIMEOUT) $$alone || exit 1; fi

## testnet: Agora across eleven hosts on this machine (network namespaces: needs root and
## iproute2): four chain validators, two late full nodes (state sync and replay), three
## miners, two validators; kill -9, partitions and late joins, with the invariants checked
## after each (testnet/testdata/four-validators.yaml). Under 5 minutes on 2 cores
TESTNET_MANIFEST ?= testnet/testdata/four-validators.yaml
testnet: build
	bin/agora testnet run $(TESTNET_MANIFEST) --timeout 10m

# The per-package timeout of `make test-busy`: with every core taken, the race-tested
# validator package alone needs more than make test's 8m.
BUSY_TEST_TIMEOUT ?= 20m

## test-busy: `make test` while a CPU hog keeps every core busy (one shell busy loop per
## core, each ending when this recipe's shell does, however it ends), as on a shared CI
## machine: tests must wait for events, not for time
test-busy:
	@n=$$(nproc); pids=""; \
	for i in $$(seq $$n); do (while kill -0 $$$$ 2>/dev/null; do :; done) & pids="$$pids $$!"; done; \
	trap 'kill $$pids 2>/dev/null' EXIT INT TERM HUP; \
	start=$$(date +%s); $(MAKE) test TEST_TIMEOUT=$(BUSY_TEST_TIMEOUT); status=$$?; \
	echo "make test next to $$n busy loops: exit $$status after $$(( $$(date +%s) - start )) s"; \
	exit $$status

# The chain length of `make bench-statesync`: `make bench-statesync STATESYNC_BLOCKS=20000`.
STATESYNC_BLOCKS ?= 10000

## bench-statesync: a node joining a chain of STATESYNC_BLOCKS blocks (transfers, a subnet with
## epochs) by state sync and another by replay from genesis; logs both times and their ratio
## (make test runs the same at 2000 blocks)
bench-statesync:
	$(GO) test -count=1 -run '^TestStateSyncJoin$$' -v -timeout 60m ./node -args -statesync.blocks=$(STATESYNC_BLOCKS)

# Flags of `agora bench chain` in `make bench`: `make bench CHAIN_BENCH_FLAGS='--txs 100000'`.
CHAIN_BENCH_FLAGS ?=

## bench: every benchmark, with allocations (no tests), then `agora bench chain`:
## committed tx/s against CometBFT's kvstore and FinalizeBlock+Commit at 4096 neurons
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	bin/agora bench chain --log.level warn $(CHAIN_BENCH_FLAGS)

## lint: go vet and the gofmt check
lint: vet fmt-check

vet:
	$(GO) vet $(PKGS)

# Fails listing every Go file (outside testdata/) that gofmt would change.
fmt-check:
	@out=$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -not -path './bin/*' -print0 \
		| xargs -0 -r gofmt -l); \
	if [ -n "$$out" ]; then \
		echo "gofmt: these files are not formatted (run gofmt -w on them):"; echo "$$out"; exit 1; \
	fi

## fuzz: each fuzz target of each package for FUZZTIME
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

clean:
	rm -rf bin/
