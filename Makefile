# mmplugin build entry points. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export GOFLAGS := -buildvcs=false
# The one version number of a release (the mmplugin and mmplugin-host wheels): mmplugin.__version__.
VERSION = $(shell sed -n 's/^__version__ = "\([^"]*\)".*/\1/p' python/src/mmplugin/__init__.py)
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

.PHONY: help setup tools venv generate check-generated lint test test-go test-py parity parity-strict exercised host-wheels dist e2e conformance demo bench proto-breaking proto-baseline

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: venv tools ## install every build and test dependency (Python venv, Go tools)

venv: $(VENV)/.installed ## Python virtualenv with the SDK (editable) and dev tools
$(VENV)/.installed: python/pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e "python[dev]"
	touch $@

tools: bin/protoc-gen-go bin/protoc-gen-go-grpc ## Go protoc plugins pinned in go.mod
bin/protoc-gen-go bin/protoc-gen-go-grpc: go.mod
	GOBIN=$(CURDIR)/bin go install tool

generate: setup ## regenerate every generated file (proto, Go, Python)
	go run ./cmd/mmplugin-gen
	$(PY) scripts/compile_protos.py
	$(PY) -m mmplugin._hookdoc docs/sdk/hooks.md

proto-breaking: setup ## fail if proto/ changed incompatibly against the released baseline (buf breaking, FILE rules)
	cd proto && ../$(VENV)/bin/buf breaking --against baseline/mmplugin-v1.binpb

proto-baseline: setup ## record the current protocol as the baseline later changes must stay compatible with (at a release)
	mkdir -p proto/baseline && cd proto && ../$(VENV)/bin/buf build --exclude-source-info -o baseline/mmplugin-v1.binpb

check-generated: generate ## fail if generated files differ from the committed ones
	@git add -N . && git diff --exit-code --stat || (echo "generated files are stale: run 'make generate' and commit" >&2; exit 1)

lint: setup ## gofmt, go vet, buf lint, ruff, mypy --strict, actionlint (.github/workflows)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1)
	go vet ./...
	cd proto && ../$(VENV)/bin/buf lint
	cd python && ../$(VENV)/bin/ruff check . && ../$(VENV)/bin/ruff format --check . && ../$(VENV)/bin/mypy src tests
	for d in examples/*/; do (cd $$d && ../../$(VENV)/bin/ruff check . && ../../$(VENV)/bin/ruff format --check . && ../../$(VENV)/bin/mypy .) || exit 1; done
	cd conformance && ../$(VENV)/bin/ruff check . && ../$(VENV)/bin/ruff format --check . && ../$(VENV)/bin/mypy
	cd conformance/goprobe && go vet ./...
	go run $(ACTIONLINT)

test-go: ## Go unit, protocol and runtime tests
	go test ./...

test-py: setup ## Python unit tests, and each example plugin's tests
	cd python && ../$(PY) -m pytest -q
	for d in examples/*/; do (cd $$d && ../../$(PY) -m pytest -q -p no:cacheprovider) || exit 1; done

exercised: setup ## run the host's runtime tests recording what crosses the real host, then the parity report with the exercised line
	rm -f build/exercised.json && mkdir -p build
	MMPLUGIN_EXERCISED_OUT=$(CURDIR)/build/exercised.json go test -count=1 ./internal/host/
	MMPLUGIN_EXERCISED_OUT=$(CURDIR)/build/exercised.json go run ./cmd/mmplugin-parity $(PARITY_FLAGS)

parity-strict: setup ## the parity report, failing on any missing or unsupported method (part of make test)
	go run ./cmd/mmplugin-parity -strict

parity: setup ## parity report: RPC, Go glue and Python method of every API method, hook and Driver call (PARITY_FLAGS=-strict to fail on gaps)
	go run ./cmd/mmplugin-parity $(PARITY_FLAGS)

bench: venv ## Python plugin against its Go twin (latency, throughput, activation, memory), then the footprint (RSS of examples/hello, growth over 100,000 requests); writes docs/benchmarks.md
	go test ./bench -run '^$$' -bench '^BenchmarkTwins$$' -benchtime 1x -timeout 15m -args -out $(CURDIR)/docs/benchmarks.md
	go test ./bench -run '^$$' -bench '^BenchmarkFootprint$$' -benchtime 1x -timeout 15m

e2e: setup ## end-to-end matrix: the suite on real Mattermost 9.11, 10.10 and 11.4 servers built from their Go modules (PostgreSQL via apt)
	cd e2e && ../$(PY) -m mmtest test

conformance: setup ## the same plugin.API calls from a Go and a Python plugin on a real server, compared (report: build/conformance.json)
	$(PY) -m pip install -q -r e2e/requirements.txt
	cd conformance/goprobe && go test -count=1 ./...
	cd conformance && ../$(PY) -m pytest -q -p no:cacheprovider
	cd conformance && PYTHONPATH=../e2e:pyprobe ../$(PY) -m confrun --strict --json $(CURDIR)/build/conformance.json

demo: setup ## a Python plugin on a real Mattermost server, with curl steps to try (DEMO_FLAGS=--check: run them and exit)
	$(PY) scripts/demo.py $(DEMO_FLAGS)

# The host binaries an author's `mmplugin bundle` puts into a plugin, as pip-installable platform
# wheels (mmplugin_host-<version>-py3-none-<platform>.whl): static, so one per OS/arch fits every
# Linux. Authors then need no Go: `mmplugin bundle --find-links dist/host-wheels`.
HOST_PLATFORMS ?= linux-amd64 linux-arm64
HOST_WHEEL_DIR ?= dist/host-wheels
host-wheels: venv ## mmplugin-host platform wheels in dist/host-wheels (HOST_PLATFORMS="linux-amd64 linux-arm64")
	@mkdir -p build/host $(HOST_WHEEL_DIR)
	@for p in $(HOST_PLATFORMS); do \
		echo "go build mmplugin-host for $$p"; \
		CGO_ENABLED=0 GOOS=$${p%-*} GOARCH=$${p#*-} go build -trimpath -ldflags="-s -w" \
			-o build/host/mmplugin-host-$$p ./cmd/mmplugin-host || exit 1; \
	done
	$(PY) -m mmplugin.bundle.hostwheel --out $(HOST_WHEEL_DIR) --version $(VERSION) \
		$(foreach p,$(HOST_PLATFORMS),$(p)=build/host/mmplugin-host-$(p))

# A release: everything `pip install --find-links DIST "mmplugin[cli]"` and `mmplugin bundle` need,
# what .github/workflows/release.yml publishes. The sdist is built first and the wheel from it, so
# a file missing from the sdist fails here. Earlier artifacts of any version are removed first.
DIST ?= dist
dist: venv ## release artifacts in dist/ (DIST=dir): mmplugin wheel + sdist, mmplugin-host wheels (HOST_PLATFORMS), SHA256SUMS
	@test -n "$(VERSION)" || (echo "no __version__ in python/src/mmplugin/__init__.py" >&2; exit 1)
	@mkdir -p $(DIST)
	rm -f $(DIST)/mmplugin-*.whl $(DIST)/mmplugin-*.tar.gz $(DIST)/mmplugin_host-*.whl $(DIST)/SHA256SUMS
	$(PY) -m build --no-isolation --outdir $(abspath $(DIST)) python
	$(MAKE) --no-print-directory host-wheels HOST_WHEEL_DIR=$(DIST)
	cd $(DIST) && sha256sum mmplugin-$(VERSION)-*.whl mmplugin-$(VERSION).tar.gz mmplugin_host-$(VERSION)-*.whl > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

test: check-generated lint proto-breaking parity-strict test-go test-py e2e conformance ## everything CI runs
