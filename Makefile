# make help lists the targets and the programs.
PORT ?= 8000
HOST ?= 127.0.0.1
CARGO ?= cargo
BENCH_SECONDS ?= 1
STRACE_FLAGS ?= -f -q -e trace=network,process,signal,read,write,close
STRACE_OUT ?= target/strace
MODEL ?= process
EXPLAIN_FLAGS ?=
# A program's arguments come from the make variables its usage line names
# (`pool_server [PORT [THREADS]]`: PORT, then THREADS if set).
export PORT HOST

RUST := target/release
C := target/c

# The programs, from the table (src/programs.rs): each row's short name and
# executable, `short:name`, the test drivers left out. The demos, from the
# demo tool's own list.
PROGRAM_ROWS := $(shell awk -F '"' '/^        name: / { n = $$2 } /^        short: / { s = $$2 } \
	/^        kind: / { if ($$0 !~ /Driver/) print s ":" n }' src/programs.rs)
PROGRAM_NAMES := $(foreach r,$(PROGRAM_ROWS),$(firstword $(subst :, ,$(r))))
DEMO_NAMES := $(strip $(shell sed -n '/^const DEMOS:/,/\];/p' harness/src/bin/demo.rs | grep -o '"[^"]*"' | tr -d '"' | tr '\n' ' '))
# The executable of program $(1): process_server for process.
exe = $(lastword $(subst :, ,$(filter $(1):%,$(PROGRAM_ROWS))))

# An unknown NAME in run-NAME, run-NAME-c, strace-NAME, demo-NAME or
# explain-NAME stops make here, before it builds anything, with the list.
stem = $(patsubst %-c,%,$(patsubst $(1)-%,%,$(2)))
unknown = $(strip $(foreach g,$(MAKECMDGOALS),\
	$(if $(filter run-% strace-%,$(g)),$(if $(filter $(call stem,$(firstword $(subst -, ,$(g))),$(g)),$(PROGRAM_NAMES)),,$(g)),\
	$(if $(filter explain-%,$(g)),$(if $(filter $(patsubst explain-%,%,$(g)),$(PROGRAM_NAMES)),,$(g)),\
	$(if $(filter demo-%,$(g)),$(if $(filter $(call stem,demo,$(g)),$(DEMO_NAMES) zombies),,$(g)))))))
ifneq ($(unknown),)
bad := $(firstword $(unknown))
ifneq ($(filter demo-%,$(bad)),)
$(shell echo 'no demo "$(call stem,demo,$(bad))" for make $(bad); the demos, each named after its program: $(DEMO_NAMES)' >&2)
else
$(shell { echo 'no program "$(call stem,$(firstword $(subst -, ,$(bad))),$(bad))" for make $(bad); the programs:'; \
	awk -F '"' '/^        short: / { s = $$2 } /^        about: / { a = $$2 } \
	/^        kind: / && !/Driver/ { printf "  %-10s %s\n", s, a }' src/programs.rs; } >&2)
endif
$(error make $(bad): stopped before building anything)
endif

# Ctrl-C reaches make, the recipe's shell and the program at once. The shell
# then exits 0, so that make reports nothing of the recipe; but only once
# make has begun to handle its own SIGINT (its handler first resets SIGINT
# to the default, which takes it out of SigCgt in /proc): had make seen the
# shell end first, it would report `wait: No child processes`.
QUIET_EXIT = i=0; while [ $$i -lt 100 ] && grep -q "^SigCgt:.*[2367abef]$$" /proc/$$PPID/status 2>/dev/null; \
	do sleep 0.01; i=$$((i+1)); done; exit 0
# Sets the shell's arguments to those executable $(1) takes, from its usage
# line, each from the variable of that name, up to the first one unset.
ARGS = set --; for w in $$($(1) --help | sed -n '1s/^usage: [^ ]* //p' | tr -d '[]'); do \
	eval "v=\$${$$w-}"; [ -n "$$v" ] || break; set -- "$$@" "$$v"; done;
# Runs executable $(1) with its arguments.
run = trap '$(QUIET_EXIT)' INT; $(call ARGS,$(1)) $(1) "$$@"
# Runs executable $(1) under strace: the program's stdout and stderr to
# $(STRACE_OUT)/$(2).out, strace's lines to the terminal, through a FIFO
# that a reader holds open until the line that ends it is written. strace's
# own messages share the program's stderr: shown from the file on failure.
strace = mkdir -p $(STRACE_OUT) && f=$(STRACE_OUT)/$(2).trace && rm -f $$f && mkfifo $$f || exit 1; \
	end='concserv: the end of the trace'; \
	sed -u -n "/^$$end\$$/q; p" 0<>$$f >&2 & \
	trap 'echo "$$end" > $$f; wait; rm -f $$f; $(QUIET_EXIT)' INT; \
	echo "strace: $(1)'s own output goes to $(STRACE_OUT)/$(2).out; strace's lines follow" >&2; \
	$(call ARGS,$(1)) strace -o $$f $(STRACE_FLAGS) $(1) "$$@" > $(STRACE_OUT)/$(2).out 2>&1; s=$$?; \
	echo "$$end" > $$f; wait; rm -f $$f; [ $$s = 0 ] || { echo "strace: exit status $$s; the end of \
	$(STRACE_OUT)/$(2).out, where strace's own messages went too:" >&2; tail -n 5 $(STRACE_OUT)/$(2).out >&2; }; exit $$s

.PHONY: help build programs deps test test-loaded lint clean compare compare-pair bench bench-full mutants cargo-mutants

help: ## List the targets and the programs
	@echo "Targets:"
	@awk -F ':.*## ' '/^[a-z%-]+:.*## / { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo "Programs (NAME for run-NAME, strace-NAME, explain-NAME; a -c suffix runs the C twin):"
	@awk -F '"' '/^        short: / { s = $$2 } /^        about: / { a = $$2 } \
		/^        kind: / && !/Driver/ { printf "  %-18s %s\n", s, a }' src/programs.rs
	@echo "Demos (demo-NAME, demo-NAME-c): $(DEMO_NAMES)"
	@echo "Variables:"
	@echo "  PORT=$(PORT) HOST=$(HOST)   override the defaults, e.g. make run-thread PORT=9000"
	@echo "  THREADS=N   and any other argument a program's usage line names: make run-pool THREADS=4"
	@echo "  STRACE_FLAGS='$(STRACE_FLAGS)'   for the strace targets, e.g. STRACE_FLAGS='-f -c'"
	@echo "  STRACE_OUT=$(STRACE_OUT)   where the strace targets put the program's own output (NAME.out)"
	@echo "  A=... B=... MODEL=$(MODEL)   for make compare-pair: two executables, and the program whose session they run"
	@echo "  EXPLAIN_FLAGS='--all', '--task N', '--loader' or '--width N'   for make explain-NAME"
	@echo "  BENCH_SECONDS=$(BENCH_SECONDS)   for make bench: the length of each timed run (make bench-full: 2)"
	@echo "Chapters: docs/README.md"

programs: ## Build only the programs: the Rust ones in target/release, the C twins in target/c
	@json=$$($(CARGO) build --release -p concserv --bins --message-format=json-render-diagnostics) || exit; \
	dir=$$(printf '%s\n' "$$json" | sed -n 's/.*\["C_TWIN_DIR","\([^"]*\)"\].*/\1/p' | tail -n 1); \
	[ -d "$$dir" ] || { echo "make programs: cargo did not say where build.rs put the C twins" >&2; exit 1; }; \
	mkdir -p $(C) && cp -f "$$dir"/* $(C)/

build: programs ## Build the Rust programs and tools (target/release) and the C twins (target/c)
	$(CARGO) build --release --workspace
	$(CARGO) build --release -p harness --features tokio --bin tokio_st_server --bin tokio_mt_server
	$(CARGO) build --release -p harness --features monoio --bin monoio_server

# What the tests need beyond the Rust toolchain, gcc and make: a command
# that shows the package is there, and the package. netcat must be
# netcat-openbsd, whose nc has -N.
DEPS := strace:strace valgrind:valgrind chromium:chromium ps:procps strip:binutils
ifneq ($(filter deps test test-loaded,$(MAKECMDGOALS)),)
MISSING := $(strip $(foreach d,$(DEPS),$(if $(shell command -v $(firstword $(subst :, ,$(d))) 2>/dev/null),,$(lastword $(subst :, ,$(d))))) \
	$(if $(shell nc -h 2>&1 | grep -q -- -N && echo yes),,netcat-openbsd))
ifneq ($(MISSING),)
ifneq ($(shell [ "$$(id -u)" = 0 ] && command -v apt-get),)
APT := apt-get
else ifneq ($(shell command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get),)
APT := sudo apt-get
else
$(error the tests need $(MISSING), and make cannot install them here: sudo apt-get install -y $(MISSING))
endif
endif
endif

deps: ## Install what the tests need, when missing: strace valgrind chromium netcat-openbsd procps (apt-get)
	@$(if $(MISSING),echo "make deps: installing $(MISSING)",:)
ifneq ($(MISSING),)
	$(APT) update -qq
	DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq $(MISSING) >/dev/null
endif

test: deps ## Run every test (cargo test), all of them even when one fails; make deps first
	$(CARGO) test --release --workspace --no-fail-fast

test-loaded: deps ## make test while every core is kept busy (a spinning process per core, normal priority)
	$(CARGO) build --release -p harness --bin busy
	$(RUST)/busy -- $(CARGO) test --release --workspace --no-fail-fast

lint: ## clippy with -D warnings and cargo fmt --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) fmt --all --check

clean: ## Remove target/
	$(CARGO) clean

run-%-c: programs ## Run the C twin of program NAME (run-process-c, run-client-c, ...)
	@$(call run,$(C)/$(call exe,$*))

run-%: programs ## Run program NAME on PORT (run-process, run-pool THREADS=4; run-client on HOST PORT)
	@$(call run,$(RUST)/$(call exe,$*))

strace-%-c: programs ## The C twin of program NAME under strace
	@$(call strace,$(C)/$(call exe,$*),$*-c)

strace-%: programs ## Program NAME under strace; its own output to STRACE_OUT/NAME.out
	@$(call strace,$(RUST)/$(call exe,$*),$*)

demo-%-c: programs ## The lesson of demo-NAME, on the C twin
	@$(CARGO) build --release --quiet -p harness --bin demo
	$(RUST)/demo $* --c

demo-%: programs ## Show a lesson as it happens: demo-iterative, demo-zombie, demo-sigign, demo-reaper, demo-prefork, demo-herd, demo-herd-exclusive, demo-prethread
	@$(CARGO) build --release --quiet -p harness --bin demo
	$(RUST)/demo $*

compare: build ## Trace every program and its C twin through one session (and the servers under injected faults); identical?
	@$(RUST)/trace_compare

# PORT given (on the command line or in the environment): A and B listen on it by themselves.
PAIR_PORT = $(if $(filter command line environment environment override,$(origin PORT)),--port $(PORT))

compare-pair: build ## Compare any two executables A and B through the session of program MODEL (PORT=N: both use port N by themselves)
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make compare-pair A=EXE B=EXE [MODEL=process] [PORT=N]"; exit 2; }
	@$(RUST)/trace_compare --model $(MODEL) $(PAIR_PORT) $(A) $(B)

explain-%: programs ## Each call of program NAME beside the C and Rust lines that made it; writes target/explain/NAME.html
	@$(CARGO) build --release --quiet -p harness --bin explain
	$(RUST)/explain $(EXPLAIN_FLAGS) $*

bench: build ## Benchmark every server, Rust and C, std and tokio side by side: the quick curves (BENCH_SECONDS per run)
	$(RUST)/bench --seconds $(BENCH_SECONDS)

mutants: ## Break each guarded property on purpose, in a scratch copy; the tests must catch every one (NAMES='a b' for some)
	@$(CARGO) build --release --quiet -p harness --bin mutants
	$(RUST)/mutants $(NAMES)

cargo-mutants: ## cargo-mutants over the normaliser, against the harness's unit tests (SHARD=1/8 for a part; installs cargo-mutants)
	@command -v cargo-mutants >/dev/null || $(CARGO) install --locked cargo-mutants
	$(CARGO) mutants --package harness $(if $(SHARD),--shard $(SHARD))

bench-full: build ## The full curves, 1 to 10,000 connections, 5 runs of 2 s; the table and charts to target/bench and docs/bench
	$(RUST)/bench --full
	@mkdir -p docs/bench
	cp target/bench/results.md target/bench/results.csv target/bench/*.svg docs/bench/
