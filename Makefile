# kong: everything a fresh machine needs is fetched by these targets.
GO       ?= go
BIN      := $(CURDIR)/bin/kong
export KONG_BIN := $(BIN)

.PHONY: all build setup kube-tools compose test test-unit test-world test-kube-scenarios lint gameday up down bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/kong

# Fetch the Cassandra and ElasticMQ jars (Maven, into ~/.cache/kong), and install
# memcached and chromium (apt-get, system-wide; chromium for the report tests) when
# they are missing, saying so first. KONG_NO_INSTALL=1: install nothing, name it.
# kong up never installs: the worlds of test-world need this first.
setup: build
	$(BIN) setup

# The Kubernetes control plane the kubernetes backend's tests run against
# (kube-apiserver, controller manager, scheduler, etcd and kwok), built from
# Go modules into the cache once: about 20 minutes on 2 cores the first time.
kube-tools: build
	$(BIN) setup --kubernetes

# Linters, pinned, installed by go install on first use into $(TOOLS), one
# folder per version. govulncheck reads the Go vulnerability database from
# VULNDB: by default the snapshot in the golang.org/x/vulndb module (fetched
# from the module proxy into the module cache; vuln.go.dev itself may be out
# of reach), or VULNDB=https://vuln.go.dev for the live one.
STATICCHECK_VERSION := v0.8.2
GOVULNCHECK_VERSION := v1.9.0
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018
TOOLS       ?= $(or $(KONG_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kong)/bin
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
GOVULNCHECK := $(TOOLS)/govulncheck-$(GOVULNCHECK_VERSION)/govulncheck
VULNDB      ?=

# Docker Compose v2 (its v5 module), built from the Go module proxy, for the
# test that brings up the committed docker-compose.yml: Debian's docker.io
# has no compose plugin, and its docker-compose is v1, which lacks inline
# configs. Built in a module of its own in the cache (go install refuses
# compose's go.mod, which has exclude directives); `make compose` prints it.
COMPOSE_VERSION := v5.6.0
COMPOSE     := $(TOOLS)/compose-$(COMPOSE_VERSION)/docker-compose

$(COMPOSE):
	mkdir -p $(@D)
	cd $(@D) && rm -f go.mod go.sum && $(GO) mod init kong.local/compose-build >/dev/null 2>&1 && \
		$(GO) get github.com/docker/compose/v5/cmd@$(COMPOSE_VERSION) && \
		$(GO) build -o $(@F).tmp github.com/docker/compose/v5/cmd && mv $(@F).tmp $(@F)

compose: $(COMPOSE)
	@echo "$(COMPOSE)"

$(STATICCHECK):
	GOBIN=$(@D) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(GOVULNCHECK):
	GOBIN=$(@D) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

# gofmt, go vet and staticcheck must be clean. govulncheck fails the target
# on a vulnerability the code reaches in a module (go get the fixed
# version); one in the standard library is fixed by a newer Go toolchain
# than the builder's, so it is listed, not failed on. Without a database
# (no module proxy and no VULNDB) govulncheck is skipped, saying so.
lint: $(STATICCHECK) $(GOVULNCHECK)
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed on:"; gofmt -l .; exit 1)
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@db="$(VULNDB)"; \
	if [ -z "$$db" ]; then \
		dir=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) 2>/dev/null | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$$/\1/p'); \
		if [ -z "$$dir" ] || [ ! -d "$$dir/data/osv" ]; then \
			echo "govulncheck skipped: the vulnerability database golang.org/x/vulndb@$(VULNDB_VERSION) could not be fetched from the module proxy (set VULNDB=https://vuln.go.dev or VULNDB=file:///a/folder/of/osv/entries)"; \
			exit 0; \
		fi; \
		db="file://$$dir/data/osv"; \
	fi; \
	echo "govulncheck -db $$db ./..."; \
	out=$$($(GOVULNCHECK) -db "$$db" ./... 2>&1); rc=$$?; \
	echo "$$out"; \
	case $$rc in 0) exit 0;; 3) ;; *) echo "govulncheck failed (exit $$rc)"; exit $$rc;; esac; \
	if echo "$$out" | grep -q 'Found in: .*@v[0-9]'; then \
		echo "govulncheck: the code reaches a vulnerability in a module (above): go get its fixed version"; exit 1; \
	fi; \
	echo "govulncheck: the vulnerabilities above are in the standard library of $$($(GO) env GOVERSION); a newer Go toolchain fixes them"

# Pure logic under the race detector (tests that need real servers skip with -short).
# The scenarios package is left to test-world: its -short run is the fast subset
# of game days, on a real world.
test-unit: build
	$(GO) test -race -short -count=1 $$($(GO) list ./... | grep -v '/scenarios$$')

# Everything, against real Cassandra, memcached, ElasticMQ and toxiproxy. One
# package at a time (-p 1): two packages' worlds on one small machine would
# compete for its cores and skew each other's latency and replication figures.
#
# The global profile's game days (three regions, nine Cassandra nodes) run in
# a test binary of their own, after the other tests: their world is the
# largest this machine holds, and it is measured in a fresh process with no
# other world up, as a user's kong gameday --profile global runs.
#
# The container backend runs for real too, on a Docker engine: where none
# answers and this is root, kong setup --engine installs Debian's docker.io
# and starts dockerd; kong images build makes the images from package
# registries (no registry is needed). The container tests then run within
# go test ./..., the committed docker-compose.yml comes up with $(COMPOSE),
# and the fast game days run again on a container world. The engine that
# make test started is stopped at the end, whatever the outcome (one that
# answered before is left as it was). Without root and without an engine,
# the container tests skip, saying why. At the end it prints how long each
# game day and broken world took (bin/test-times.txt).
test-world: setup kube-tools $(COMPOSE)
	@status=0; engine=0; started=0; times=$(CURDIR)/bin/test-times.txt; rm -f $$times; export KONG_TEST_TIMES=$$times; \
	trap '[ $$started = 0 ] || $(BIN) setup --stop-engine; [ ! -s $$times ] || { echo "where the game days took their time:"; cat $$times; }' EXIT; trap 'exit 130' INT TERM; \
	if out=$$($(BIN) setup --engine); then echo "$$out"; case "$$out" in *"started "*) started=1;; esac; \
		$(BIN) images build && engine=1; \
	else echo "$$out"; fi; \
	if [ $$engine = 1 ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then echo "make test: the container backend's engine or images could not be readied (above)"; exit 1; \
	else echo "make test: no Docker engine and not root: the container tests skip"; fi; \
	KONG_COMPOSE=$(COMPOSE) $(GO) test -p 1 -count=1 -timeout 80m -skip '^TestGlobalScenarios$$' ./... || status=$$?; \
	echo "go test -run TestGlobalScenarios ./scenarios/: the global profile's game days, in a test binary of their own"; \
	$(GO) test -count=1 -timeout 30m -run '^TestGlobalScenarios$$' ./scenarios/ || status=$$?; \
	if [ $$engine = 1 ]; then \
		echo "KONG_BACKEND=containers go test -short ./scenarios/: the fast game days on a container world"; \
		KONG_BACKEND=containers $(GO) test -short -count=1 -timeout 30m ./scenarios/ || status=$$?; \
	fi; \
	exit $$status

test: lint test-unit test-world

# The fast game days on the kubernetes backend: the control plane and one real
# node of this machine (kubelet, Debian's containerd, kube-proxy, CoreDNS), kong's
# images imported from Docker into it, a default world brought up as Kubernetes
# objects; a game day and a replication check sent into the cluster as a user
# sends them (run Jobs), then the game days run from here through its cluster
# IPs. About 15 minutes; not part of make test, whose budget it does not fit.
test-kube-scenarios: setup kube-tools
	@started=0; trap '[ $$started = 0 ] || $(BIN) setup --stop-engine' EXIT; trap 'exit 130' INT TERM; \
	out=$$($(BIN) setup --engine) || { echo "$$out"; exit 1; }; echo "$$out"; case "$$out" in *"started "*) started=1;; esac; \
	$(BIN) images build && KONG_BACKEND=kubernetes $(GO) test -short -count=1 -timeout 40m ./scenarios/

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
