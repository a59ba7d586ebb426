# adpilot: `make run` serves the app, `make test` runs every test.
# Both set up what they need (PostgreSQL, dev secrets, Chromium) by themselves.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
BIN     := bin/adpilot
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: help run test lint generate build bench fuzz

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/adpilot
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

run: build ## Serve on http://localhost:8000 (local PostgreSQL, generated dev secrets)
	@DATABASE_URL="$$(scripts/ensure-postgres.sh)"; export DATABASE_URL; \
	echo "adpilot: starting on $${BASE_URL:-http://localhost:8000}"; \
	exec ./$(BIN) serve

test: ## Run every test on real PostgreSQL and headless Chromium
	@ADPILOT_TEST_DATABASE_URL="$$(scripts/ensure-postgres.sh postgres)"; \
	CHROME_PATH="$$(scripts/ensure-chromium.sh)"; \
	export ADPILOT_TEST_DATABASE_URL CHROME_PATH; \
	$(GO) test -race -count=1 ./...; \
	scripts/fuzz-brief.sh

bench: ## Run the benchmarks (speed targets live here, never in timed tests)
	@ADPILOT_TEST_DATABASE_URL="$$(scripts/ensure-postgres.sh postgres)"; export ADPILOT_TEST_DATABASE_URL; \
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## Run every fuzz target for FUZZTIME (default 5s) each
	@FUZZTIME="$${FUZZTIME:-30s}" scripts/fuzz-brief.sh

lint: ## gofmt, go mod tidy, go vet, staticcheck, and generated templ code in step with its sources
	@unformatted="$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@scripts/check-generated.sh

generate: ## Regenerate the templ code (commit the *_templ.go files)
	$(GO) tool templ generate
