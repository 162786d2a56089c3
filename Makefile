# FieldFix: `make run` starts a working server with a demo city; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
SQLC_VERSION := v1.30.0
SQLC := $(BIN)/sqlc-$(SQLC_VERSION)
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/fieldfix_test?sslmode=disable

.PHONY: run build static check-static test fuzz vet generate check-generated check-tidy bench-solver bench-cityday bench-cityday-parts bench-vroom bench-schedule bench-geo bench-slots bench-load bench-replicas bench-push bench-attachments bench-faults bench-console clean

build:
	$(GO) build -o $(BIN)/fieldfix ./cmd/fieldfix

# The container's binary: the Dockerfile's build stage runs this same target, and `make test`
# builds and checks it, so the image's build step is proven here though no container engine runs
# on the CI machine. Static with cgo (H3 is a C library, so CGO_ENABLED=0 cannot build it): the C
# library linked in, Go's own DNS resolver and user lookups instead of glibc's (netgo, osusergo),
# the time zone database embedded (timetzdata), no build-machine paths (-trimpath), stripped;
# HEIC pictures decoded only by the WebAssembly build of libheif that gen2brain/heic embeds, never
# a shared libheif looked up at run time (nodynamic).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
STATIC_FLAGS = -trimpath -tags netgo,osusergo,timetzdata,nodynamic -ldflags '-s -w -X main.version=$(VERSION) -linkmode external -extldflags "-static"'
static:
	CGO_ENABLED=1 $(GO) build $(STATIC_FLAGS) -o $(BIN)/fieldfix-static ./cmd/fieldfix

# Fails unless the static binary is static (file, ldd) and runs.
check-static: static
	@file $(BIN)/fieldfix-static | grep -q 'statically linked' || { echo "bin/fieldfix-static is not statically linked:"; file $(BIN)/fieldfix-static; exit 1; }
	@if ldd $(BIN)/fieldfix-static >/dev/null 2>&1; then echo "bin/fieldfix-static needs shared libraries:"; ldd $(BIN)/fieldfix-static; exit 1; fi
	@$(BIN)/fieldfix-static version

run: build
	@url=$$(scripts/dev-db.sh) || exit 1; \
	export DATABASE_URL=$$url; \
	export FIELDFIX_TIME_ZONE=$${FIELDFIX_TIME_ZONE:-Europe/Paris}; \
	$(BIN)/fieldfix seed && \
	echo "console: http://localhost:$${FIELDFIX_PORT:-8080}/console   API: http://localhost:$${FIELDFIX_PORT:-8080}/openapi.json" && \
	exec $(BIN)/fieldfix serve --addr "$${FIELDFIX_ADDR:-:$${FIELDFIX_PORT:-8080}}"

# Every test against a real PostgreSQL (TEST_DATABASE_URL; scripts/dev-db.sh brings one up),
# then a short run of each fuzzer: 4,000 inputs each (a second or two), counted rather than timed
# because Go 1.26's fuzzer can fail a timed run at its deadline on a busy machine without any
# failing input (golang/go#75804, fixed in Go 1.27).
test: check-generated check-tidy vet check-static
	@url=$$(DATABASE_URL=$(TEST_DATABASE_URL) scripts/dev-db.sh) || exit 1; \
	TEST_DATABASE_URL=$$url $(GO) test -race -count=1 -timeout 20m ./... && \
	TEST_DATABASE_URL=$$url $(MAKE) --no-print-directory fuzz FUZZTIME=4000x

# Each fuzzer for FUZZTIME, a duration or a count of inputs such as 4000x (a crasher fails the run
# and is written to the package's testdata/fuzz).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzBookingDecoder$$' -fuzztime $(FUZZTIME) ./api
	$(GO) test -run '^$$' -fuzz '^FuzzSolveKeepsRoutesFeasible$$' -fuzztime $(FUZZTIME) ./scheduling/solomon
	$(GO) test -run '^$$' -fuzz '^FuzzPlanOperations$$' -fuzztime $(FUZZTIME) ./scheduling
	$(GO) test -run '^$$' -fuzz '^FuzzPointValidate$$' -fuzztime $(FUZZTIME) ./geo
	$(GO) test -run '^$$' -fuzz '^FuzzParseCell$$' -fuzztime $(FUZZTIME) ./geo
	$(GO) test -run '^$$' -fuzz '^FuzzEXIF$$' -fuzztime $(FUZZTIME) ./dispatch/proof
	$(GO) test -run '^$$' -fuzz '^FuzzHEIF$$' -fuzztime $(FUZZTIME) ./dispatch/proof
	$(GO) test -run '^$$' -fuzz '^FuzzVerifySignature$$' -fuzztime $(FUZZTIME) ./dispatch/money

# Fails when `go mod tidy` would change go.mod or go.sum.
check-tidy:
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit"; $(GO) mod tidy -diff; exit 1; }

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

$(SQLC):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) GOFLAGS= $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	mv $(BIN)/sqlc $(SQLC)

# Regenerate the sqlc code from dispatch/postgres/queries and migrations.
generate: $(SQLC)
	$(SQLC) generate

# Fails when the committed generated code is stale.
check-generated: $(SQLC)
	@$(SQLC) diff || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }

# Solomon's 56 VRPTW instances: gap to the distance-only best known, per class and per instance, by
# scheduling.Optimize, the one planner, spending the whole 990 ms on each.
bench-solver:
	$(GO) run ./internal/benchmarks/solver -dir $(CURDIR)/../shared/benchmarks/vrptw -time-limit 990ms

# The three public city days through the VROOM path at VROOM's limits and a quarter of each, against
# VROOM 1.14's recorded answers (../shared/benchmarks/cityday).
bench-cityday:
	$(GO) run ./internal/benchmarks/cityday -dir $(CURDIR)/../shared/benchmarks/cityday

# The parts variant of two city days (issue 25): parts-aware planning with pick-up stops against a
# planner that ignores parts, and how many of its visits would have failed for want of a part.
bench-cityday-parts:
	$(GO) run ./internal/benchmarks/cityday -parts -days city_p11_150x20,city_p12_500x60 -runs 2

bench-vroom:
	$(GO) run ./internal/benchmarks/vroom -dir $(CURDIR)/../shared/benchmarks/vrptw -time-limit 1s

bench-schedule:
	$(GO) run ./internal/benchmarks/schedule -optimize 20s

bench-geo:
	scripts/bench-geo.sh

# Slot evaluation and online insertion on a 300-technician region (scratch schema on TEST_DATABASE_URL).
bench-slots:
	$(GO) run ./internal/benchmarks/slots

# The console on a 150-technician, 1,200-visit day in headless Chromium (Performance API): the
# first drawing and live changes applied. Needs Debian's chromium.
bench-console:
	FIELDFIX_BENCH_CONSOLE=1 $(GO) test ./api -run TestConsoleBenchmark -count=1 -v

# 10,000 queued pushes drained: outbox → worker → Firebase SDK → local FCM fake.
bench-push:
	$(GO) run ./internal/benchmarks/push

# 1,000 photos of 3 MB through the API into PostgreSQL: throughput, heap, database growth per photo.
bench-attachments:
	$(GO) run ./internal/benchmarks/attachments

# Faults from outside against real server processes: SIGKILL mid-send, the database cut across a
# tick, FCM refusing connections for 30 s (docs/reliability.md). BIN_UNDER_TEST=path probes another build.
bench-faults:
	$(GO) run ./internal/benchmarks/faults $(if $(BIN_UNDER_TEST),-bin $(BIN_UNDER_TEST))

# Bookings/s and latency of a real server at fixed rates, and pgbench's ceiling for the same work.
bench-load: build
	$(GO) run ./internal/benchmarks/load -bin $(BIN)/fieldfix

# The same load spread over 1, 2 and 3 `fieldfix serve` replicas on the one PostgreSQL (round-robin,
# then each replica given a sector of the city), with each replica's plan-cache counters.
bench-replicas: build
	$(GO) run ./internal/benchmarks/load -bin $(BIN)/fieldfix -replicas 1,2,3

clean:
	rm -rf $(BIN)
