# kong: everything a fresh machine needs is fetched by these targets.
GO       ?= go
BIN      := $(CURDIR)/bin/kong
export KONG_BIN := $(BIN)

.PHONY: all build setup test test-unit test-world lint gameday up down bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/kong

# Fetch the Cassandra and ElasticMQ jars (Maven, into ~/.cache/kong), and install
# memcached and chromium (apt-get, system-wide; chromium for the report tests) when
# they are missing, saying so first. KONG_NO_INSTALL=1: install nothing, name it.
# kong up never installs: the worlds of test-world need this first.
setup: build
	$(BIN) setup

lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed on:"; gofmt -l .; exit 1)
	$(GO) vet ./...

# Pure logic under the race detector (tests that need real servers skip with -short).
# The scenarios package is left to test-world: its -short run is the fast subset
# of game days, on a real world.
test-unit: build
	$(GO) test -race -short -count=1 $$($(GO) list ./... | grep -v '/scenarios$$')

# Everything, against real Cassandra, memcached, ElasticMQ and toxiproxy. One
# package at a time (-p 1): two packages' worlds on one small machine would
# compete for its cores and skew each other's latency and replication figures.
test-world: setup
	$(GO) test -p 1 -count=1 -timeout 80m ./...

test: lint test-unit test-world

# The main job: a game day on the default local topology, with its reports in kong-reports/.
gameday: build
	$(BIN) gameday

up: build
	$(BIN) up

down: build
	$(BIN) down

bench: setup
	$(BIN) bench world --profile small
	$(BIN) bench world --profile default
	$(GO) test -run '^$$' -bench . -benchtime 3x ./topology/...

clean:
	rm -rf bin
