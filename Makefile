# make help lists the targets and the programs.
PORT ?= 8000
HOST ?= 127.0.0.1
CARGO ?= cargo
BENCH_SECONDS ?= 1
STRACE_FLAGS ?= -f -e trace=network,process,signal,read,write,close
MODEL ?= process
EXPLAIN_FLAGS ?=

RUST := target/release
C := target/c

.PHONY: help build test lint clean compare compare-pair bench bench-full \
	run-client run-client-c strace-client strace-client-c

help: ## List the targets and the programs
	@echo "Targets:"
	@awk -F ':.*## ' '/^[a-z%-]+:.*## / { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo "Programs (NAME for run-NAME, strace-NAME; a -c suffix runs the C twin):"
	@awk -F '"' '/^        short: / { s = $$2 } /^        about: / { printf "  %-18s %s\n", s, $$2 }' src/programs.rs | grep -v wrap_driver
	@echo "Variables:"
	@echo "  PORT=$(PORT) HOST=$(HOST)   override the defaults, e.g. make run-thread PORT=9000"
	@echo "  BENCH_SECONDS=$(BENCH_SECONDS)   for make bench: the length of each timed run (make bench-full: 2)"
	@echo "  STRACE_FLAGS='$(STRACE_FLAGS)'   for the strace targets, e.g. STRACE_FLAGS='-f -c'"
	@echo "  A=... B=... MODEL=$(MODEL)   for make compare-pair: two executables, and the program whose session they run"
	@echo "  EXPLAIN_FLAGS='--all' or '--task N'   for make explain-NAME: every task, or one (default: the main task and its first worker)"

build: ## Build the Rust programs and tools (target/release) and the C twins (target/c)
	$(CARGO) build --release --workspace
	$(CARGO) build --release -p harness --features tokio --bin tokio_st_server --bin tokio_mt_server
	@mkdir -p $(C)
	@cp -f "$$($(RUST)/programs c-dir)"/* $(C)/

test: ## Run every test (cargo test), all of them even when one fails
	$(CARGO) test --release --workspace --no-fail-fast

lint: ## clippy with -D warnings and cargo fmt --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) fmt --all --check

clean: ## Remove target/
	$(CARGO) clean

run-client: build ## Run the Rust client against HOST:PORT
	$(RUST)/client $(HOST) $(PORT)

run-client-c: build ## Run the C client against HOST:PORT
	$(C)/client $(HOST) $(PORT)

run-%-c: build ## Run the C twin of server NAME on PORT (run-process-c, ...)
	$(C)/$*_server $(PORT)

run-%: build ## Run the Rust server NAME on PORT (run-process, run-thread, ...)
	$(RUST)/$*_server $(PORT)

strace-client: build ## The Rust client under strace
	strace $(STRACE_FLAGS) $(RUST)/client $(HOST) $(PORT)

strace-client-c: build ## The C client under strace
	strace $(STRACE_FLAGS) $(C)/client $(HOST) $(PORT)

strace-%-c: build ## The C twin of server NAME under strace
	strace $(STRACE_FLAGS) $(C)/$*_server $(PORT)

strace-%: build ## The Rust server NAME under strace
	strace $(STRACE_FLAGS) $(RUST)/$*_server $(PORT)

demo-%-c: build ## The lesson of demo-NAME, on the C twin
	$(RUST)/demo $* --c

demo-%: build ## Show a lesson as it happens: demo-iterative, demo-zombies, demo-sigign, demo-reaper
	$(RUST)/demo $*

compare: build ## Trace every program and its C twin through one session (and the servers under injected faults); identical?
	$(RUST)/trace_compare

# PORT given (on the command line or in the environment): A and B listen on it by themselves.
PAIR_PORT = $(if $(filter command line environment environment override,$(origin PORT)),--port $(PORT))

compare-pair: build ## Compare any two executables A and B through the session of program MODEL (PORT=N: both use port N by themselves)
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make compare-pair A=EXE B=EXE [MODEL=process] [PORT=N]"; exit 2; }
	$(RUST)/trace_compare --model $(MODEL) $(PAIR_PORT) $(A) $(B)

explain-%: build ## Each call of program NAME beside the C and Rust lines that made it; writes target/explain/NAME.html (explain-process, ...)
	$(RUST)/explain $(EXPLAIN_FLAGS) $*

bench: build ## Benchmark every server, Rust and C, std and tokio side by side: the quick curves (BENCH_SECONDS per run)
	$(RUST)/bench --seconds $(BENCH_SECONDS)

bench-full: build ## The full curves, 1 to 10,000 connections, 5 runs of 2 s; the table and charts to target/bench and docs/bench
	$(RUST)/bench --full
	@mkdir -p docs/bench
	cp target/bench/results.md target/bench/results.csv target/bench/*.svg docs/bench/
