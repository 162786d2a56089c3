# FieldFix: `make run` starts a working server with a demo city; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
SQLC_VERSION := v1.30.0
SQLC := $(BIN)/sqlc-$(SQLC_VERSION)
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/fieldfix_test?sslmode=disable

.PHONY: run build test fuzz vet generate check-generated check-tidy bench-solver bench-vroom bench-schedule bench-geo bench-slots bench-load bench-push bench-faults clean

build:
	$(GO) build -o $(BIN)/fieldfix ./cmd/fieldfix

run: build
	@url=$$(scripts/dev-db.sh) || exit 1; \
	export DATABASE_URL=$$url; \
	$(BIN)/fieldfix seed && \
	echo "console: http://localhost:$${FIELDFIX_PORT:-8080}/console   API: http://localhost:$${FIELDFIX_PORT:-8080}/openapi.json" && \
	exec $(BIN)/fieldfix serve --addr "$${FIELDFIX_ADDR:-:$${FIELDFIX_PORT:-8080}}"

# Every test against a real PostgreSQL (TEST_DATABASE_URL; scripts/dev-db.sh brings one up),
# then a short run of each fuzzer: 4,000 inputs each (a second or two), counted rather than timed
# because Go 1.26's fuzzer can fail a timed run at its deadline on a busy machine without any
# failing input (golang/go#75804, fixed in Go 1.27).
test: check-generated check-tidy vet
	@url=$$(DATABASE_URL=$(TEST_DATABASE_URL) scripts/dev-db.sh) || exit 1; \
	TEST_DATABASE_URL=$$url $(GO) test -race -count=1 -timeout 20m ./... && \
	TEST_DATABASE_URL=$$url $(MAKE) --no-print-directory fuzz FUZZTIME=4000x

# Each fuzzer for FUZZTIME, a duration or a count of inputs such as 4000x (a crasher fails the run
# and is written to the package's testdata/fuzz).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzBookingDecoder$$' -fuzztime $(FUZZTIME) ./api
	$(GO) test -run '^$$' -fuzz '^FuzzSolveKeepsRoutesFeasible$$' -fuzztime $(FUZZTIME) ./scheduling/vrptw
	$(GO) test -run '^$$' -fuzz '^FuzzPlanOperations$$' -fuzztime $(FUZZTIME) ./scheduling
	$(GO) test -run '^$$' -fuzz '^FuzzPointValidate$$' -fuzztime $(FUZZTIME) ./geo
	$(GO) test -run '^$$' -fuzz '^FuzzParseCell$$' -fuzztime $(FUZZTIME) ./geo

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

# Solomon's 56 VRPTW instances: gap to the distance-only best known, per class.
bench-solver:
	$(GO) run ./internal/benchmarks/solver -dir $(CURDIR)/../shared/benchmarks/vrptw -time-limit 990ms

bench-vroom:
	$(GO) run ./internal/benchmarks/vroom -dir $(CURDIR)/../shared/benchmarks/vrptw -time-limit 1s

bench-schedule:
	$(GO) run ./internal/benchmarks/schedule -optimize 20s

bench-geo:
	scripts/bench-geo.sh

# Slot evaluation and online insertion on a 300-technician region (scratch schema on TEST_DATABASE_URL).
bench-slots:
	$(GO) run ./internal/benchmarks/slots

# 10,000 queued pushes drained: outbox → worker → Firebase SDK → local FCM fake.
bench-push:
	$(GO) run ./internal/benchmarks/push

# Faults from outside against real server processes: SIGKILL mid-send, the database cut across a
# tick, FCM refusing connections for 30 s (docs/reliability.md). BIN_UNDER_TEST=path probes another build.
bench-faults:
	$(GO) run ./internal/benchmarks/faults $(if $(BIN_UNDER_TEST),-bin $(BIN_UNDER_TEST))

# Bookings/s and latency of a real server at fixed rates, and pgbench's ceiling for the same work.
bench-load: build
	$(GO) run ./internal/benchmarks/load -bin $(BIN)/fieldfix

clean:
	rm -rf $(BIN)
