# vigil build, test and check entry points. `make` alone lists the targets.
# CI runs .ci/run, which runs `make tools check test`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

MODULE  := github.com/vigil-rmm/vigil
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X $(MODULE)/internal/version.Version=$(VERSION)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"

# Binaries go to bin/, plugins to bin/plugins/.
CMDS := ./controller/cmd/vigil-controller ./agent/cmd/vigil-agent ./agent/cmd/vigil-agentsim ./console/cmd/vigilctl
# Plugins for the host OS (scanners and action runners): bin/plugins/<name> from ./plugins/cmd/vigil-plugin-<name>,
# with bin/plugins/manifest.json holding their SHA-256 (the agent runs nothing else).
GOOS_HOST := $(shell go env GOOS)
ifeq ($(GOOS_HOST),windows)
PLUGINS := windowsupdate reboot script service
else
PLUGINS := pkgupdate reboot script service
endif

# Packages for test and bench; e.g. make test PKGS=./agent/...
PKGS      ?= ./...
TESTFLAGS ?= -race -count=1 -timeout 15m
# Per-target fuzzing time in make test; e.g. make test FUZZTIME=1m
FUZZTIME  ?= 10s

.PHONY: help build test check proto demo bench bench-scale bench-agent tools clean clean-all

help: ## Show this list of targets.
	@echo "usage: make <target> [VAR=value]"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build the controller, agent, vigilctl and the host's plugins (with their manifest) into bin/.
	go build $(GOFLAGS_BUILD) -o bin/ $(CMDS)
	bash scripts/build-plugins.sh bin/plugins $(PLUGINS)

test: ## Run all tests with -race and VIGIL_SLOW_TESTS=1, then a short run of every fuzz target.
	VIGIL_SLOW_TESTS=1 TESTFLAGS="$(TESTFLAGS)" FUZZTIME="$(FUZZTIME)" bash scripts/test.sh $(PKGS)

check: tools ## Run gofmt, vet and staticcheck (linux, windows), darwin build, proto drift, go mod tidy, package boundaries.
	bash scripts/check.sh

proto: ## Regenerate Go code from proto/**/*.proto (needs protoc: make tools).
	bash scripts/genproto.sh

demo: build ## Controller + one local agent on the embedded store under var/demo; prints how to use vigilctl.
	bash scripts/demo.sh

bench: build ## Go benchmarks (ingest, stores, queries, encoding), then a short scale run (500 agents, 90 s).
	go test -run '^$$' -bench . -benchmem -count 1 $(PKGS)
	go run ./scripts/benchscale -agents 500 -duration 90s -interval 10s

# e.g. make bench-scale AGENTS=10000 DURATION=10m
AGENTS   ?= 10000
DURATION ?= 10m
INTERVAL ?= 60s
OUTBOX   ?= bolt
# STORM=false for a soak: no kill -9 of the controller during the run.
STORM    ?= true
# FANOUT=true also measures task fan-out: one signed task per agent.
FANOUT   ?= false
bench-scale: build ## Full scale run: AGENTS simulated agents for DURATION (controller and simulator on separate cores).
	go run ./scripts/benchscale -agents $(AGENTS) -duration $(DURATION) -interval $(INTERVAL) -outbox $(OUTBOX) -storm=$(STORM) -fanout=$(FANOUT)

bench-agent: build ## One real agent beside Prometheus node_exporter for BENCH_AGENT_TIME (default 10m): RSS, CPU, bytes per sample.
	@command -v prometheus-node-exporter >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-node-exporter >/dev/null)
	go run ./scripts/benchagent -duration $(or $(BENCH_AGENT_TIME),10m)

tools: ## Install missing system packages (protoc) with apt-get.
	bash scripts/tools.sh

clean: ## Remove bin/.
	rm -rf bin/

clean-all: clean ## Remove bin/ and var/ (local state).
	rm -rf var/
