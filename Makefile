# changeproof — `make demo` runs the main job on the embedded defaults,
# `make test` runs every test. Both need only Go and the package registries.

GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Race detection needs cgo; fall back to a plain run where there is no C compiler.
RACE    ?= $(shell $(GO) env CGO_ENABLED | grep -q 1 && command -v $$($(GO) env CC) >/dev/null && echo -race)

.PHONY: all build demo test vet tools demo-tools bench dist clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/changeproof ./cmd/changeproof
	$(GO) build -trimpath -o $(BIN)/ghfake ./internal/cmd/ghfake
	$(GO) build -trimpath -o $(BIN)/cffake ./internal/cmd/cffake

## demo: a local fake GitHub (testdata/github/sample-org) and fake
## Cloudflare API (testdata/cloudflare/sample-account), all four collectors
## into ./evidence-demo, then verification.
demo: build demo-tools
	./scripts/demo.sh

## tools: what the tests need besides Go, from Debian's packages when
## missing: openssl (the auditor's verification steps), unzip (the demo
## unpacks its bundle for them) and chromium (the coverage page's browser
## test). demo-tools: the first two, for make demo.
DEMO_TOOLS := openssl unzip
TEST_TOOLS := $(DEMO_TOOLS) chromium
define install-missing
	@missing=""; for t in $(1); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian's packages"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq$$missing >/dev/null; \
	fi
endef
tools:
	$(call install-missing,$(TEST_TOOLS))
demo-tools:
	$(call install-missing,$(DEMO_TOOLS))

## versitygw: a real S3 server for the S3/R2 store tests (internal/versitygw),
## built once from the Go module proxy at a pinned version (about a minute).
VERSITYGW_VERSION := v1.8.0
$(BIN)/versitygw:
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

## helm: renders the chart in deploy/helm for its test, pinned, built from
## the Go module proxy into ./bin (a few minutes, once).
HELM_VERSION := v3.22.0
$(BIN)/helm:
	GOBIN=$(abspath $(BIN)) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

test: tools vet $(BIN)/versitygw $(BIN)/helm
	$(GO) test $(RACE) -count=1 ./...

## dist: static release binaries (CGO off) for linux and darwin, amd64 and
## arm64, stamped with the version and commit, and their SHA256SUMS. The
## Dockerfile packages dist/changeproof-linux-$TARGETARCH.
DIST      := dist
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
dist:
	rm -rf $(DIST) && mkdir -p $(DIST)
	@for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; \
	  echo "building $(DIST)/changeproof-$$os-$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
	    -o $(DIST)/changeproof-$$os-$$arch ./cmd/changeproof || exit 1; done
	cd $(DIST) && if command -v sha256sum >/dev/null; then sha256sum changeproof-* > SHA256SUMS; \
	  else shasum -a 256 changeproof-* > SHA256SUMS; fi
	@cat $(DIST)/SHA256SUMS

bench: $(BIN)/versitygw
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN) $(DIST) evidence-demo .demo
