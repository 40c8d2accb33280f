# changeproof — `make demo` runs the main job on the embedded defaults,
# `make test` runs every test. Both need only Go and the package registries.

GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Race detection needs cgo; fall back to a plain run where there is no C compiler.
RACE    ?= $(shell $(GO) env CGO_ENABLED | grep -q 1 && command -v $$($(GO) env CC) >/dev/null && echo -race)

.PHONY: all build demo test vet tools bench clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/changeproof ./cmd/changeproof
	$(GO) build -trimpath -o $(BIN)/ghfake ./internal/cmd/ghfake
	$(GO) build -trimpath -o $(BIN)/cffake ./internal/cmd/cffake

## demo: a local fake GitHub (testdata/github/sample-org) and fake
## Cloudflare API (testdata/cloudflare/sample-account), all four collectors
## into ./evidence-demo, then verification.
demo: build
	./scripts/demo.sh

## tools: what the tests need besides Go (openssl, for the auditor's
## verification steps). Installed from Debian's packages when missing.
tools:
	@command -v openssl >/dev/null 2>&1 || { \
	  echo "installing openssl (needed by the auditor-verification test)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openssl >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq openssl >/dev/null; fi; }

## versitygw: a real S3 server for the S3/R2 store tests (internal/versitygw),
## built once from the Go module proxy at a pinned version (about a minute).
VERSITYGW_VERSION := v1.8.0
$(BIN)/versitygw:
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

test: tools vet $(BIN)/versitygw
	$(GO) test $(RACE) -count=1 ./...

bench: $(BIN)/versitygw
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN) evidence-demo .demo
