# mmplugin build entry points. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export GOFLAGS := -buildvcs=false

.PHONY: help setup tools venv generate proto proto-breaking check-generated lint test test-go test-py parity

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

proto-breaking: setup ## fail if proto/ changed incompatibly against the protocol last committed on main (buf breaking)
	cd proto && ../$(VENV)/bin/buf breaking --against '../.git#branch=main,subdir=proto'

check-generated: generate ## fail if generated files differ from the committed ones
	@git add -N . && git diff --exit-code --stat || (echo "generated files are stale: run 'make generate' and commit" >&2; exit 1)

lint: setup ## gofmt, go vet, buf lint, ruff, mypy --strict
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1)
	go vet ./...
	cd proto && ../$(VENV)/bin/buf lint
	cd python && ../$(VENV)/bin/ruff check . && ../$(VENV)/bin/ruff format --check . && ../$(VENV)/bin/mypy src tests

test-go: ## Go unit, protocol and runtime tests
	go test ./...

test-py: setup ## Python unit tests
	cd python && ../$(PY) -m pytest -q

e2e: setup ## end-to-end tests on a real Mattermost server built from its Go module (PostgreSQL via apt)
	cd e2e && ../$(PY) -m mmtest test

test: check-generated lint test-go test-py e2e ## everything CI runs
