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

# A newcomer's `make run-process 9000` or `make run-process port=9000`:
# make would take the number for a goal and `port` for a variable no one
# reads, and start on 8000. Each stops make here with a one-line hint,
# before anything is built or run. The variables are upper case.
comma := ,
say = $(shell printf '%s\n' '$(subst ','\'',$(1))' >&2)
LOWER := a b c d e f g h i j k l m n o p q r s t u v w x y z
UPPER := A B C D E F G H I J K L M N O P Q R S T U V W X Y Z
# $(1) with each letter of the list $(2) replaced by the one of $(3).
tr = $(if $(2),$(call tr,$(subst $(firstword $(2)),$(firstword $(3)),$(1)),$(wordlist 2,26,$(2)),$(wordlist 2,26,$(3))),$(1))
nodigits = $(subst 0,,$(subst 1,,$(subst 2,,$(subst 3,,$(subst 4,,$(subst 5,,$(subst 6,,$(subst 7,,$(subst 8,,$(subst 9,,$(1)))))))))))
NUMBER_GOALS := $(strip $(foreach g,$(MAKECMDGOALS),$(if $(call nodigits,$(g)),,$(g))))
LOWER_VARS := $(strip $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),\
	$(if $(filter $(v),$(call tr,$(v),$(UPPER),$(LOWER))),$(if $(call nodigits,$(subst _,,$(v))),$(v))))))
OTHER_GOALS := $(filter-out $(NUMBER_GOALS),$(MAKECMDGOALS))
quoted = $(if $(word 2,$(1)),'$(1)',$(1))
ifneq ($(NUMBER_GOALS),)
n := $(firstword $(NUMBER_GOALS))
$(call say,make: "$(n)" is not a target: use PORT=$(n)$(comma) as in make $(OTHER_GOALS) PORT=$(n))
$(error make $(MAKECMDGOALS): stopped before building anything)
endif
ifneq ($(LOWER_VARS),)
v := $(firstword $(LOWER_VARS))
fix := $(call tr,$(v),$(LOWER),$(UPPER))=$(call quoted,$(value $(v)))
$(call say,make: $(v)=$(call quoted,$(value $(v))) sets nothing (make's variables are upper case): use $(fix)$(comma) as in make $(MAKECMDGOALS) $(fix))
$(error make $(MAKECMDGOALS): stopped before building anything)
endif

.DEFAULT_GOAL := help

# The table of programs, from the programs crate's own binary (built in a
# second, unoptimised), as make variables in target/programs.mk (in
# CARGO_TARGET_DIR if set): each program's short name and executable,
# `short:name`, the test drivers left out (PROGRAM_ROWS); the demos
# (DEMO_NAMES, DEMO_ALIASES). make remakes it when the crate changes, and
# then reads this file again.
TARGET := $(or $(CARGO_TARGET_DIR),target)
TABLE := $(TARGET)/debug/programs
TABLE_MK := $(TARGET)/programs.mk
ifneq ($(MAKECMDGOALS),clean)
include $(TABLE_MK)
endif
TABLE_SOURCES := $(wildcard programs/Cargo.toml programs/src/*)
$(TABLE): $(TABLE_SOURCES)
	@$(CARGO) build --quiet -p programs && touch $@
$(TABLE_MK): $(TABLE)
	@$(TABLE) make > $@.$$$$ && mv -f $@.$$$$ $@
PROGRAM_NAMES := $(foreach r,$(PROGRAM_ROWS),$(firstword $(subst :, ,$(r))))
PROGRAM_EXES := $(foreach r,$(PROGRAM_ROWS),$(lastword $(subst :, ,$(r))))
# The executable of program $(1): process_server for process.
exe = $(lastword $(subst :, ,$(filter $(1):%,$(PROGRAM_ROWS))))

# An unknown NAME in run-NAME, run-NAME-c, strace-NAME, watch-NAME,
# demo-NAME or explain-NAME stops make here, before it builds anything, with the list
# and the closest name. (Not while target/programs.mk is missing or older
# than the crate: make makes it, and reads this file again.)
stem = $(patsubst %-c,%,$(patsubst $(1)-%,%,$(2)))
unknown = $(strip $(foreach g,$(MAKECMDGOALS),\
	$(if $(filter run-% strace-% watch-%,$(g)),$(if $(filter $(call stem,$(firstword $(subst -, ,$(g))),$(g)),$(PROGRAM_NAMES)),,$(g)),\
	$(if $(filter explain-%,$(g)),$(if $(filter $(patsubst explain-%,%,$(g)),$(PROGRAM_NAMES)),,$(g)),\
	$(if $(filter demo-%,$(g)),$(if $(filter $(call stem,demo,$(g)),$(DEMO_NAMES) $(DEMO_ALIASES)),,$(g)))))))
ifneq ($(PROGRAM_ROWS),)
ifeq ($(shell find $(TABLE_SOURCES) -newer $(TABLE_MK) 2>/dev/null),)
ifneq ($(unknown),)
bad := $(firstword $(unknown))
ifneq ($(filter demo-%,$(bad)),)
$(shell $(TABLE) unknown-demo '$(call stem,demo,$(bad))' '$(bad)' >&2)
else ifneq ($(filter explain-%,$(bad)),)
$(shell $(TABLE) unknown '$(patsubst explain-%,%,$(bad))' '$(bad)' >&2)
else
$(shell $(TABLE) unknown '$(call stem,$(firstword $(subst -, ,$(bad))),$(bad))' '$(bad)' >&2)
endif
$(error make $(bad): stopped before building anything)
endif
endif
endif

# Says what a first build builds, and about how long it takes, when one of
# the executables $(1) is missing: cargo can be silent for a minute.
first_build = $(if $(filter-out $(wildcard $(1)),$(1)),echo "make: building $(2) (the first time: $(3))..." >&2;)

# Ctrl-C reaches make, the recipe's shell and the program at once. The shell
# then exits 0, so that make reports nothing of the recipe; but only once
# make has begun to handle its own SIGINT (its handler first resets SIGINT
# to the default, which takes it out of SigCgt in /proc): had make seen the
# shell end first, it would report `wait: No child processes`.
QUIET_EXIT = i=0; while [ $$i -lt 100 ] && grep -q "^SigCgt:.*[2367abef]$$" /proc/$$PPID/status 2>/dev/null; \
	do sleep 0.01; i=$$((i+1)); done; exit 0
# Sets the shell's arguments to those executable $(1) takes, from its usage
# line, each from the variable of that name, up to the first one unset. A
# word in lower case is a word the program takes as it is (herd's
# `exclusive`): passed when its upper-case variable is set (EXCLUSIVE=1;
# not 0 or no). A variable set after one unset stops make: the program
# would not see it.
ARGS = set --; gap=; for w in $$($(1) --help | sed -n '1s/^usage: [^ ]* //p' | tr -d '[]'); do \
	case $$w in *[a-z]*) u=$$(echo $$w | tr a-z A-Z); eval "v=\$${$$u-}"; case $$v in ""|0|no) v=;; *) v=$$w;; esac;; \
	*) u=$$w; eval "v=\$${$$w-}";; esac; \
	if [ -z "$$v" ]; then gap=$${gap:-$$u}; elif [ -z "$$gap" ]; then set -- "$$@" "$$v"; \
	else echo "make: $$u is set but $$gap is not: $$($(1) --help | sed -n '1s/^usage: [^ ]*\///p') takes its arguments in order; set $$gap too" >&2; exit 2; fi; done;
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

# Builds tool $(1) of the harness: quietly once it is there.
tool = $(call first_build,$(RUST)/$(1),the $(1) tool and the harness,about a minute) \
	$(CARGO) build --release $(if $(wildcard $(RUST)/$(1)),--quiet) -p harness --bin $(1)

.PHONY: help build programs deps test test-loaded lint clean compare compare-pair bench bench-full mutants cargo-mutants watch watch-tool

help: ## List the targets and the programs
	@echo "Targets:"
	@awk -F ':.*## ' '/^[a-z%-]+:.*## / { printf "  %-18s %s\n", $$1, $$2 }' $(firstword $(MAKEFILE_LIST))
	@echo "Programs (NAME for run-NAME, strace-NAME, watch-NAME, explain-NAME; a -c suffix runs the C twin):"
	@$(TABLE) help
	@echo "Demos (demo-NAME, demo-NAME-c): $(DEMO_NAMES)"
	@echo "Variables (upper case, after the target; a lower-case one, port=9000, or a bare number stops make with a hint):"
	@echo "  PORT=$(PORT) HOST=$(HOST)   override the defaults, e.g. make run-thread PORT=9000"
	@echo "  THREADS=N   and any other argument a program's usage line names: make run-pool THREADS=4"
	@echo "  EXCLUSIVE=1   a word of a usage line in lower case, from its name in upper case: make watch-herd CHILDREN=4 EXCLUSIVE=1"
	@echo "  STRACE_FLAGS='$(STRACE_FLAGS)'   for the strace targets, e.g. STRACE_FLAGS='-f -c'"
	@echo "  STRACE_OUT=$(STRACE_OUT)   where the strace targets put the program's own output (NAME.out)"
	@echo "  A=... B=... MODEL=$(MODEL)   for make compare-pair: two executables, and the program whose session they run"
	@echo "  EXE=./server PORT=8000   for make watch: your own server, the port fixed in its source"
	@echo "  WATCH_FLAGS='--frames 3' or '--json --frames 1'   for the watch targets: snapshots, not the full-screen view"
	@echo "  EXPLAIN_FLAGS='--all', '--task N', '--loader' or '--width N'   for make explain-NAME"
	@echo "  BENCH_SECONDS=$(BENCH_SECONDS)   for make bench: the length of each timed run (make bench-full: 2)"
	@echo "Chapters: docs/README.md"

programs: ## Build only the programs: the Rust ones in target/release, the C twins in target/c
	@$(call first_build,$(addprefix $(RUST)/,$(PROGRAM_EXES)),the programs and their C twins,about half a minute)
	@json=$$($(CARGO) build --release -p concserv --bins --message-format=json-render-diagnostics) || exit; \
	dir=$$(printf '%s\n' "$$json" | sed -n 's/.*\["C_TWIN_DIR","\([^"]*\)"\].*/\1/p' | tail -n 1); \
	[ -d "$$dir" ] || { echo "make programs: cargo did not say where the build script put the C twins" >&2; exit 1; }; \
	mkdir -p $(C) && cp -f "$$dir"/* $(C)/

TOOLS := trace_compare explain demo bench mutants busy watch std_server floor_server tokio_st_server tokio_mt_server monoio_server
# The watch tool and its tests, with its terminal library: built apart,
# as tokio is (crossterm brings libc with its std feature).
WATCH_FEATURE := -p harness --features watch

build: programs ## Build the Rust programs and tools (target/release) and the C twins (target/c)
	@$(call first_build,$(addprefix $(RUST)/,$(TOOLS)),the tools and the tokio and monoio servers,about two minutes)
	$(CARGO) build --release --workspace
	$(CARGO) build --release -p harness --features tokio --bin tokio_st_server --bin tokio_mt_server
	$(CARGO) build --release -p harness --features monoio --bin monoio_server
	$(CARGO) build --release $(WATCH_FEATURE) --bin watch

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
	@s=0; $(CARGO) test --release --workspace --no-fail-fast || s=$$?; \
	$(CARGO) test --release $(WATCH_FEATURE) --test watch || s=$$?; exit $$s

test-loaded: deps ## make test while every core is kept busy (a spinning process per core, normal priority)
	$(CARGO) build --release -p harness --bin busy
	@s=0; $(RUST)/busy -- $(CARGO) test --release --workspace --no-fail-fast || s=$$?; \
	$(RUST)/busy -- $(CARGO) test --release $(WATCH_FEATURE) --test watch || s=$$?; exit $$s

lint: ## clippy with -D warnings (the tokio and monoio servers and watch too) and cargo fmt --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy --release -p harness --features tokio,monoio --bins -- -D warnings
	$(CARGO) clippy --release $(WATCH_FEATURE) --bins --tests -- -D warnings
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
	@$(call tool,demo)
	$(RUST)/demo $* --c

demo-%: programs ## Show a lesson as it happens: demo-zombie, and each demo listed below
	@$(call tool,demo)
	$(RUST)/demo $*

compare: build ## Trace every program and its C twin through one session (and the servers under injected faults); identical?
	@$(RUST)/trace_compare

# PORT given (on the command line or in the environment): A and B listen on it by themselves.
PAIR_PORT = $(if $(filter command line environment environment override,$(origin PORT)),--port $(PORT))

compare-pair: build ## Compare any two executables A and B through the session of program MODEL (PORT=N: both use port N by themselves)
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make compare-pair A=EXE B=EXE [MODEL=process] [PORT=N]"; exit 2; }
	@$(RUST)/trace_compare --model $(MODEL) $(PAIR_PORT) $(A) $(B)

# Builds the watch tool: quietly once it is there.
WATCH_TOOL = $(call first_build,$(RUST)/watch,the watch tool and the harness,about a minute) \
	$(CARGO) build --release $(if $(wildcard $(RUST)/watch),--quiet) $(WATCH_FEATURE) --bin watch
# Runs watch on executable $(1), with the port (when its usage line
# starts with PORT: a server's) and the arguments its usage line names,
# and $(2) and WATCH_FLAGS.
watch_run = trap '$(QUIET_EXIT)' INT; $(call ARGS,$(1)) \
	case "$$($(1) --help | sed -n '1s/^usage: [^ ]* //p')" in \
	"[PORT"*) p=$$1; shift; set -- --port $$p -- "$$@";; *) set -- -- "$$@";; esac; \
	$(RUST)/watch $(2) $(WATCH_FLAGS) "$$@"

# The watch tool: a target of its own, so that tests can take it as made (-o watch-tool).
watch-tool:
	@$(WATCH_TOOL)

watch-%-c: programs watch-tool ## Watch the C twin of server NAME live (watch-zombie-c)
	@$(call watch_run,$(C)/$(call exe,$*),$* --c)

watch-%: programs watch-tool ## Watch server NAME live: tasks, calls, descriptors, accept queue; keys add clients (PORT=, THREADS=...)
	@$(call watch_run,$(RUST)/$(call exe,$*),$*)

watch: watch-tool ## Watch your own server live: make watch EXE=./server PORT=8000 (the port fixed in its source)
	@test -n "$(EXE)" || { echo "usage: make watch EXE=./server [PORT=8000]; make watch-NAME for a program of the table"; exit 2; }
	@trap '$(QUIET_EXIT)' INT; $(RUST)/watch --exe $(EXE) $(PAIR_PORT) $(WATCH_FLAGS)

explain-%: programs ## Each call of program NAME beside the C and Rust lines that made it; writes target/explain/NAME.html
	@$(call tool,explain)
	$(RUST)/explain $(EXPLAIN_FLAGS) $*

bench: build ## Benchmark every server, Rust and C, beside std, tokio, monoio and the floor (BENCH_SECONDS per run)
	$(RUST)/bench --seconds $(BENCH_SECONDS)

mutants: ## Break each guarded property on purpose, in a scratch copy; the tests must catch every one (NAMES='a b' for some)
	@$(call tool,mutants)
	$(RUST)/mutants $(NAMES)

cargo-mutants: ## cargo-mutants over the normaliser, against the harness's unit tests (SHARD=1/8 for a part; installs cargo-mutants)
	@command -v cargo-mutants >/dev/null || $(CARGO) install --locked cargo-mutants
	$(CARGO) mutants --package harness $(if $(SHARD),--shard $(SHARD))

bench-full: build ## The full curves, 1 to 10,000 connections, 5 runs of 2 s; the table and charts to target/bench and docs/bench
	$(RUST)/bench --full
	@mkdir -p docs/bench
	cp target/bench/results.md target/bench/results.csv target/bench/*.svg docs/bench/
