# riptide — see README.md. `make dev` runs everything on this machine,
# `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TEMPORAL_CLI_VERSION := v1.5.1
# The multi-service Temporal server (and its schema tool) the production-
# shaped tests run on PostgreSQL: make test-prod-temporal.
TEMPORAL_SERVER_VERSION := v1.32.1
# The Temporal Web UI server (embeds the UI) the job links are tested on.
TEMPORAL_UI_VERSION := v2.55.0
VERSITYGW_VERSION    := v1.8.0
STATICCHECK_VERSION  := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
# The official Standard Webhooks library the tests verify signatures with.
STANDARDWEBHOOKS_VERSION := 1.1.1
# Storage emulators the provider tests run on: Azure's official Azurite
# (npm) and fake-gcs-server (built from its Go module, like versitygw).
AZURITE_VERSION  := 3.37.0
FAKE_GCS_VERSION := v1.56.1

CACHE_DIR ?= $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)/riptide/tools
export TEMPORAL_CLI_VERSION VERSITYGW_VERSION STANDARDWEBHOOKS_VERSION TEMPORAL_SERVER_VERSION TEMPORAL_UI_VERSION AZURITE_VERSION FAKE_GCS_VERSION
export RIPTIDE_STANDARDWEBHOOKS_DIR ?= $(CACHE_DIR)/standardwebhooks-$(STANDARDWEBHOOKS_VERSION)
# playwright-core for the web dashboard's browser test (internal/e2e/ui_test.go),
# installed with npm ci from its lockfile into a directory named by the
# lockfile's hash; it drives Debian's chromium, never a downloaded browser.
UI_E2E_DIR := internal/e2e/testdata/ui
export RIPTIDE_UI_E2E_LOCK := $(UI_E2E_DIR)/package-lock.json
# Where the browser test leaves its screenshots (one PNG per page).
export RIPTIDE_UI_ARTIFACTS ?= $(CURDIR)/$(BIN)/ui-screenshots
export RIPTIDE_PLAYWRIGHT_DIR ?= $(CACHE_DIR)/playwright-core-$(shell sha256sum $(UI_E2E_DIR)/package-lock.json 2>/dev/null | cut -c1-12)
export RIPTIDE_TEMPORAL_BIN  ?= $(CACHE_DIR)/temporal-$(TEMPORAL_CLI_VERSION)/temporal
export RIPTIDE_VERSITYGW_BIN ?= $(CACHE_DIR)/versitygw-$(VERSITYGW_VERSION)/versitygw
export RIPTIDE_AZURITE_BIN   ?= $(CACHE_DIR)/azurite-$(AZURITE_VERSION)/node_modules/.bin/azurite-blob
export RIPTIDE_FAKE_GCS_BIN  ?= $(CACHE_DIR)/fake-gcs-server-$(FAKE_GCS_VERSION)/fake-gcs-server
export RIPTIDE_TEMPORAL_SERVER_BIN   ?= $(CACHE_DIR)/temporal-server-$(TEMPORAL_SERVER_VERSION)/temporal-server
export RIPTIDE_TEMPORAL_SQL_TOOL_BIN ?= $(CACHE_DIR)/temporal-server-$(TEMPORAL_SERVER_VERSION)/temporal-sql-tool
export RIPTIDE_TEMPORAL_UI_BIN       ?= $(CACHE_DIR)/temporal-ui-$(TEMPORAL_UI_VERSION)/temporal-ui-server
STATICCHECK   := $(CACHE_DIR)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
WORKFLOWCHECK := $(CACHE_DIR)/workflowcheck-$(WORKFLOWCHECK_VERSION)/workflowcheck

BIN := bin
BINARIES := $(BIN)/riptide-worker $(BIN)/riptide-api $(BIN)/riptide-starter $(BIN)/riptide-dev

.PHONY: help
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: tools
tools: ## install ffmpeg, yt-dlp, the Temporal CLI and versitygw if missing
	@scripts/install-tools.sh

.PHONY: test-tools
test-tools: ## tools, plus what only the tests use (Standard Webhooks verifier, PostgreSQL, Temporal server and UI)
	@RIPTIDE_INSTALL_TEST_TOOLS=1 scripts/install-tools.sh

.PHONY: build
build: ## build the binaries into bin/
	go build -o $(BIN)/riptide-worker ./worker/cmd
	go build -o $(BIN)/riptide-api ./api/cmd
	go build -o $(BIN)/riptide-starter ./starter
	go build -o $(BIN)/riptide-dev ./internal/cmd/riptide-dev

.PHONY: dev
dev: tools build ## run Temporal, S3, the worker and the API on this machine (restarts one that dies; Ctrl-C stops all)
	$(BIN)/riptide-dev up

.PHONY: temporal s3 worker api
temporal: tools build ## run only the Temporal dev server (state in $RIPTIDE_DATA_DIR; settings as make dev's)
	$(BIN)/riptide-dev temporal
s3: tools build ## run only the local S3 server
	$(BIN)/riptide-dev s3
worker: build ## run only the worker (RIPTIDE_* variables, then make dev's .riptide/dev.env)
	$(BIN)/riptide-worker
api: build ## run only the HTTP API (RIPTIDE_* variables, then make dev's .riptide/dev.env)
	$(BIN)/riptide-api

.PHONY: test
test: test-tools lint ## run every test: unit, replay and integration (real Temporal, S3, yt-dlp, ffmpeg), then fuzz briefly
	RIPTIDE_REQUIRE_INTEGRATION=1 go test -tags integration -race -count=1 -timeout 25m ./...
	@$(MAKE) --no-print-directory test-prod-temporal-run
	@$(MAKE) --no-print-directory fuzz

# The integration tests that run a second time on the production-shaped
# Temporal server (temporal-server on PostgreSQL, internal/pgtemporal):
# crashes and restarts of the worker and of the server, search attributes
# and the listings on SQL visibility, update-with-start, batches that
# continue as new, idempotent starts, the job's link into the Web UI.
PROD_TEMPORAL_TESTS := TestJobLinksToItsRunInTheTemporalUI|TestSegmentedDownloadResumesAfterAWorkerRestart|TestBatchSurvivesWorkerAndTemporalCrashes|TestWorkerCrashRestartsChainOnAnotherWorker|TestWorkerCrashAfterDownloadRestartsChainElsewhere|TestWorkerRefusesNamespaceWithoutSearchAttributes|TestListJobsFiltersAndPages|TestListJobsOfABatch|TestDashboardAndUsageFromVisibility|TestCreateBatchAnswersWithTheListOrLater|TestIdempotencyKeyOnRealTemporal|TestTenantsAreIsolatedAndQuotaStopsABatch
.PHONY: test-prod-temporal test-prod-temporal-run
test-prod-temporal: test-tools ## run the crash, restart, search-attribute and batch tests on Temporal with PostgreSQL
	@$(MAKE) --no-print-directory test-prod-temporal-run
test-prod-temporal-run:
	RIPTIDE_REQUIRE_INTEGRATION=1 RIPTIDE_TEMPORAL_BACKEND=postgres \
		go test -tags integration -count=1 -timeout 15m -run '^($(PROD_TEMPORAL_TESTS))$$' ./internal/e2e

# Fuzz targets as package:Target. `make fuzz FUZZTIME=10m` fuzzes longer by
# hand; new crashers land in testdata/fuzz and then run as regression tests.
# The default is a count, not a duration: a duration's deadline can fail a
# target that found nothing ("context deadline exceeded", a race in Go's
# fuzz coordinator, golang/go#75804, unfixed in Go 1.26), as it did once in
# make test. 20,000 inputs are about 5 s a target here.
FUZZ_TARGETS := ./api:FuzzDecodeJobRequest ./api:FuzzCleanFolder \
	./internal/ytdlp:FuzzClassifyYtdlpError ./internal/ytdlp:FuzzYtdlpTracker ./internal/mp4:FuzzReadMP4Info
FUZZTIME ?= 20000x
.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 20000x: 20,000 inputs)
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		go test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) "$${t%%:*}"; \
	done

.PHONY: bench
bench: tools ## measure riptide against raw baselines on this machine (~20 min, writes bench/RESULTS.md)
	go run ./internal/cmd/riptide-bench $(BENCH_FLAGS)

.PHONY: unit
unit: ## run the unit and replay tests: no server is started (tests needing ffmpeg or yt-dlp skip without them)
	go test -race -count=1 ./...

# The scenarios whose histories workflows/testdata holds, by the e2e test
# that runs each (internal/e2e: recordHistory).
RECORD_TESTS := TestDASHJobMergesStreamsAndSendsEveryWebhook|TestDirectMediaURLUsesNativeDownload|TestMissingSourceFailsWithJobFailed|TestWebhooksVerifiedByStandardWebhooksLibrary|TestMaxResolutionPicksRenditionAndFilenameNamesObject|TestCancelRunningDownload|TestRetryFailedJobRunsUnderANewID|TestWorkerCrashAfterDownload|TestCancelDuringMultipartUpload|TestBatchSurvives|TestCreateBatchAnswers|TestBatchCountsTerminatedEpisodeFailed|TestMetadataLookupIsRecorded|TestDeleteJobFileLeavesThePresignedURLDead|TestPausedBatchRenamedAndStarted|TestTenantStorageVerifiedSavedAndOverridden|TestSubscriptionSweepsOnlyNewEpisodes|TestRunningBatchPausedAndStarted
.PHONY: record-histories
record-histories: test-tools ## record workflows/testdata from real runs (after a versioned workflow change), then replay them
	rm -f workflows/testdata/*.json
	RIPTIDE_REQUIRE_INTEGRATION=1 RIPTIDE_RECORD_HISTORIES=$(CURDIR)/workflows/testdata \
		go test -tags integration -count=1 -timeout 15m -run '$(RECORD_TESTS)' ./internal/e2e
	go test -count=1 -run 'TestReplay' ./workflows

$(STATICCHECK):
	GOBIN=$(dir $@) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
$(WORKFLOWCHECK):
	GOBIN=$(dir $@) go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

.PHONY: lint
lint: $(STATICCHECK) $(WORKFLOWCHECK) ## gofmt, go vet, staticcheck, workflowcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet -tags integration ./...
	$(STATICCHECK) -tags integration ./...
	$(WORKFLOWCHECK) ./workflows/...

N ?= 1000
CONCURRENCY ?= 20
WINDOW ?= 20
.PHONY: bench-batch
bench-batch: tools ## run a batch of N tiny local episodes end to end and print its figures (N=1000)
	go build -o $(BIN)/riptide-worker ./worker/cmd
	go run ./internal/cmd/riptide-bench-batch -n $(N) -concurrency $(CONCURRENCY) -window $(WINDOW) -worker $(BIN)/riptide-worker

.PHONY: clean
clean: ## remove binaries (not the data directory)
	rm -rf $(BIN)

# The soak (README "Soak"): a batch plus single jobs with the worker killed
# with SIGKILL at random, against the same load without faults. Sizes and
# the kill schedule: RIPTIDE_SOAK_EPISODES/JOBS, RIPTIDE_SOAK_KILL_MIN/MAX,
# RIPTIDE_SOAK_SEED (replay).
.PHONY: soak
soak: test-tools ## soak: 500 episodes + 500 jobs, the worker SIGKILLed every 20-40 s, vs the same load without faults
	RIPTIDE_REQUIRE_INTEGRATION=1 RIPTIDE_SOAK=1 go test -tags integration -count=1 -v -timeout 3h \
		-run 'TestSoakWorkerKilledAtRandom' ./internal/e2e
