# make help lists the targets.
PORT ?= 8000
HOST ?= 127.0.0.1
CARGO ?= cargo
BENCH_SECONDS ?= 2
STRACE_FLAGS ?= -f -e trace=network,process,signal,read,write,close

RUST := target/release
C := target/c

.PHONY: help build test lint clean compare bench run-process run-thread run-client \
	run-process-c run-thread-c run-client-c strace-process strace-thread \
	strace-client strace-process-c strace-thread-c strace-client-c

help: ## List the targets
	@awk -F ':.*## ' '/^[a-z-]+:.*## / { printf "  %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo "  PORT=$(PORT) HOST=$(HOST) override the defaults, e.g. make run-thread PORT=9000"
	@echo "  BENCH_SECONDS=$(BENCH_SECONDS) for make bench: the length of each run"
	@echo "  STRACE_FLAGS='$(STRACE_FLAGS)' for the strace targets, e.g. STRACE_FLAGS='-f -c'"

build: ## Build the Rust programs (target/release) and C twins (target/c)
	$(CARGO) build --release

test: ## Run every test (cargo test)
	$(CARGO) test --release

lint: ## clippy with -D warnings and cargo fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) fmt --check

clean: ## Remove target/
	$(CARGO) clean

run-process: build ## Run the Rust multi-process server on PORT
	$(RUST)/process_server $(PORT)

run-thread: build ## Run the Rust multi-thread server on PORT
	$(RUST)/thread_server $(PORT)

run-client: build ## Run the Rust client against HOST:PORT
	$(RUST)/client $(HOST) $(PORT)

run-process-c: build ## Run the C multi-process server on PORT
	$(C)/process_server $(PORT)

run-thread-c: build ## Run the C multi-thread server on PORT
	$(C)/thread_server $(PORT)

run-client-c: build ## Run the C client against HOST:PORT
	$(C)/client $(HOST) $(PORT)

compare: build ## Trace each program and its C twin through one session (and both servers under injected faults); identical?
	$(RUST)/trace_compare

strace-process: build ## The Rust multi-process server under strace
	strace $(STRACE_FLAGS) $(RUST)/process_server $(PORT)

strace-thread: build ## The Rust multi-thread server under strace
	strace $(STRACE_FLAGS) $(RUST)/thread_server $(PORT)

strace-client: build ## The Rust client under strace
	strace $(STRACE_FLAGS) $(RUST)/client $(HOST) $(PORT)

strace-process-c: build ## The C multi-process server under strace
	strace $(STRACE_FLAGS) $(C)/process_server $(PORT)

strace-thread-c: build ## The C multi-thread server under strace
	strace $(STRACE_FLAGS) $(C)/thread_server $(PORT)

strace-client-c: build ## The C client under strace
	strace $(STRACE_FLAGS) $(C)/client $(HOST) $(PORT)

bench: build ## Benchmark Rust, C and a std server side by side (BENCH_SECONDS per run)
	$(RUST)/bench --seconds $(BENCH_SECONDS)
