//! The mutants of the harness's own checks and tools: the normaliser,
//! the sessions and their faults, the bench, watch, the Makefile, the
//! layers and the words of the docs. Each breaks one property a test
//! claims to guard, as those of the programs in [`super::catalogue`] do.

use super::catalogue::{Edit, Mutant, edit};

/// The mutants of the harness, one property each.
pub const MUTANTS: &[Mutant] = &[
    Mutant {
        name: "normaliser-masks-signals",
        breaks: "the normaliser masks only real pids: kill(-1, SIGKILL) and kill(PID, SIGKILL) differ",
        edits: &[
            edit!("harness/src/trace/normalize.rs", "        Ok(v) if v < -1 => mask_arg(s, n, \"-PID\"),\n        _ => s.to_string()," => "        Ok(v) if v < -1 => mask_arg(s, n, \"-PID\"),\n        _ => mask_arg(s, n, \"PID\"),"),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--lib",
            "--",
            "masks_keep_real_differences",
        ]],
    },
    Mutant {
        name: "reference-buffers-stdout",
        breaks: "the std server writes each echoed buffer to stdout at once, as the classic servers do",
        edits: &[
            edit!("harness/src/bin/std_server.rs", "        harness::base::reference::echo_to_stdout(&buf[..n]);" => "        let _ = std::io::stdout().write_all(&buf[..n]);"),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--test",
            "tools",
            "--",
            "every_bench_server_makes_the_same_writes",
        ]],
    },
    Mutant {
        name: "faults-never-fire",
        breaks: "each injected fault fires: the read and write EINTR faults aimed past the session's last call inject nothing",
        edits: &[
            edit!("harness/src/trace/faults.rs", "\"read:error=EINTR:when=2+2\".into(),\n            \"write:error=EINTR:when=2+2\".into()," => "\"read:error=EINTR:when=9999\".into(),\n            \"write:error=EINTR:when=9999\".into(),"),
        ],
        tests: &[&[
            "--test",
            "strace",
            "--",
            "every_server_identical_under_injected_faults",
        ]],
    },
    Mutant {
        name: "fault-skips-the-pool",
        breaks: "every fault runs on exactly the servers it applies to: read-write-eagain left off the pool server",
        edits: &[
            edit!("harness/src/trace/faults.rs", "\"read-write-eagain\" if model.worker == Worker::Loop =>" => "\"read-write-eagain\" if model.worker == Worker::Loop && model.pool.is_none() =>"),
        ],
        tests: &[&[
            "--test",
            "strace",
            "--",
            "every_server_identical_under_injected_faults",
        ]],
    },
    Mutant {
        name: "calls-merged",
        breaks: "each call at its own line: the compilers merge none (build flags), and explain names the line that made it",
        edits: &[
            edit!("programs/src/lib.rs", "    \"-fno-crossjumping\",\n    \"-fno-optimize-sibling-calls\",\n" => ""),
            // Set back to LLVM's defaults rather than removed: cargo joins
            // the rustflags of the scratch copy's config to those of the
            // work tree's (its ancestor), the copy's last, and the last wins.
            edit!(".cargo/config.toml", "sink-common=false\",\n    \"-C\", \"llvm-args=-enable-tail-merge=false" => "sink-common=true\",\n    \"-C\", \"llvm-args=-enable-tail-merge=true"),
        ],
        tests: &[&[
            "--test",
            "explain",
            "--",
            "every_mapped_call_is_made_by_the_lines_it_names",
        ]],
    },
    Mutant {
        name: "randomisation-on",
        breaks: "the sessions run every program with address-space randomisation off, so that memory a program prints by mistake is the same every run",
        edits: &[
            edit!("harness/src/trace/session.rs", "    crate::base::process::no_randomization(&mut cmd);\n" => ""),
        ],
        tests: &[&[
            "--test",
            "strace",
            "--",
            "sessions_run_with_randomisation_off",
        ]],
    },
    Mutant {
        name: "dumps-uncut",
        breaks: "a long string (a dump of memory) shows in a diff as its first bytes and a count, and where two such differ",
        edits: &[
            edit!("harness/src/tools/compare/diff.rs", "const LONG: usize = 64;" => "const LONG: usize = usize::MAX;"),
        ],
        tests: &[&["-p", "harness", "--lib", "--", "compare::diff"]],
    },
    Mutant {
        name: "past-the-buffer-unmasked",
        breaks: "what strace shows past a buffer given a negative size (a dump, or an address) is masked: it can differ from run to run",
        edits: &[
            edit!("harness/src/trace/normalize.rs", "if size.is_some_and(|n| n >= NEGATIVE_INT) {" => "if size.is_some_and(|n| n >= NEGATIVE_INT && n == 0) {"),
        ],
        tests: &[&["-p", "harness", "--lib", "--", "the_memory_past_a_buffer"]],
    },
    Mutant {
        name: "negative-size-unnoted",
        breaks: "a negative int passed as a size (read's -1 written on) gets its note in a diff",
        edits: &[
            edit!("harness/src/tools/compare/notes.rs", ".find(|&n| n >= NEGATIVE_INT)" => ".find(|&n| n >= NEGATIVE_INT && n == 0)"),
        ],
        tests: &[
            &[
                "-p",
                "harness",
                "--lib",
                "--",
                "a_negative_size_gets_its_note",
            ],
            &["--test", "originals", "--", "an_original_against_our_twin"],
        ],
    },
    Mutant {
        name: "make-number-unhinted",
        breaks: "make run-process 9000 stops with a hint (use PORT=9000) rather than start on 8000",
        edits: &[
            edit!("Makefile", "NUMBER_GOALS := $(strip $(foreach g,$(MAKECMDGOALS),$(if $(call nodigits,$(g)),,$(g))))" => "NUMBER_GOALS :="),
        ],
        tests: &[&[
            "--test",
            "make",
            "--",
            "a_bare_number_or_a_lower_case_variable_gets_a_hint",
        ]],
    },
    Mutant {
        name: "make-word-unpassed",
        breaks: "make run-herd CHILDREN=2 EXCLUSIVE=1 passes herd's word exclusive",
        edits: &[edit!("Makefile", "u=$$(echo $$w | tr a-z A-Z); eval" => "u=$$w; eval")],
        tests: &[&[
            "--test",
            "make",
            "--",
            "a_lower_case_word_passes_from_its_upper_case_name",
        ]],
    },
    Mutant {
        name: "watch-zombies-uncounted",
        breaks: "watch counts the server's zombies, and shows each in its tree",
        edits: &[
            edit!("harness/src/tools/watch/snapshot.rs", "zombies: tasks.iter().filter(|t| t.state == 'Z').count()," => "zombies: tasks.iter().filter(|t| t.state == 'X').count(),"),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--features",
            "watch",
            "--test",
            "watch",
            "--",
            "a_zombie_is_counted",
        ]],
    },
    Mutant {
        name: "watch-accepted-uncounted",
        breaks: "watch counts the connections accepted so far",
        edits: &[
            edit!("harness/src/tools/watch/snapshot.rs", "        self.accepted\n    }" => "        0\n    }"),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--features",
            "watch",
            "--test",
            "watch",
            "--",
            "a_zombie_is_counted_once_its_client_has_left",
        ]],
    },
    Mutant {
        name: "watch-zombie-cpu-lost",
        breaks: "watch shows the CPU time a child used once it is a zombie",
        edits: &[
            edit!("harness/src/tools/watch/snapshot.rs", "            cpu_ms: cpu_ms(pid, pid),\n" => ""),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--features",
            "watch",
            "--test",
            "watch",
            "--",
            "a_childs_cpu_time_outlives_it",
        ]],
    },
    Mutant {
        name: "watch-closes-oldest",
        breaks: "watch's c key closes the newest client",
        edits: &[
            edit!("harness/src/tools/watch/pokes.rs", "match self.open.pop() {" => "match (!self.open.is_empty()).then(|| self.open.remove(0)) {"),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--features",
            "watch",
            "--test",
            "watch",
            "--",
            "keys_add_and_remove_clients_and_q_restores_the_terminal",
        ]],
    },
    Mutant {
        name: "watch-raw-mode-kept",
        breaks: "watch leaves the terminal as it found it: raw mode ends with the view",
        edits: &[
            edit!("harness/src/tools/watch/term.rs", "    let _ = terminal::disable_raw_mode();\n" => ""),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--features",
            "watch",
            "--test",
            "watch",
            "--",
            "q_restores_the_terminal",
        ]],
    },
    Mutant {
        name: "layers-upward",
        breaks: "the harness's bottom layer imports nothing from a layer above it (a tool)",
        edits: &[
            edit!("harness/src/base/wait.rs", "use crate::Result;\n" => "use crate::Result;\n#[allow(unused_imports)]\nuse crate::tools::compare::Job;\n"),
        ],
        tests: &[&["-p", "harness", "--test", "layers"]],
    },
    Mutant {
        name: "seeds-said",
        breaks: "no page of the docs speaks of \"the seeds\"",
        edits: &[
            edit!("docs/per-connection.md", "# A process or a thread per connection\n" => "# The seeds' two servers\n"),
        ],
        tests: &[&["--test", "docs", "--", "no_page_speaks_of_seeds"]],
    },
    Mutant {
        name: "active-set-in-step",
        breaks: "the bench's active connections are drawn at random, not every (n/k)th, in step with a round robin",
        edits: &[edit!(
            "harness/src/tools/bench/load.rs",
            "let j = i + (next() % (n - i) as u64) as usize;" => "let j = (i * (n / k)).max(i) + (next() % 1) as usize;"
        )],
        tests: &[&["-p", "harness", "--lib", "--", "bench::load"]],
    },
    Mutant {
        name: "floor-goal-lenient",
        breaks: "a server more than 1.25 times the floor's CPU per round trip is not met",
        edits: &[edit!(
            "harness/src/tools/bench/goals.rs",
        "        q <= factor\n" => "        q <= factor * 2.0\n"
        )],
        tests: &[&["-p", "harness", "--lib", "--", "bench::goals"]],
    },
    Mutant {
        name: "balance-untied",
        breaks: "the bench names the task that holds each active connection of a server of several tasks",
        edits: &[edit!(
            "harness/src/tools/bench/mod.rs",
            ".map(|p| map.get(p).and_then(|h| h.task()).map(Into::into))" => ".map(|p| map.get(p).and_then(|_| None))"
        )],
        tests: &[&[
            "-p",
            "harness",
            "--test",
            "tools",
            "--",
            "a_short_benchmark",
        ]],
    },
    Mutant {
        name: "floor-upper-cased",
        breaks: "the bench checks the floor's replies against the bytes sent, as it echoes them",
        edits: &[edit!(
            "harness/src/tools/bench/lifecycle.rs",
            "        if self.side == Side::Floor {" => "        if self.side == Side::Std {"
        )],
        tests: &[&[
            "-p",
            "harness",
            "--test",
            "tools",
            "--",
            "a_short_benchmark",
        ]],
    },
    Mutant {
        name: "traced-exit-unseen",
        breaks: "a traced program that ends at once counts as started, not as a 30 s time-out",
        edits: &[
            edit!("harness/src/base/process.rs", "                    running.pid = leader;\n" => ""),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--lib",
            "--",
            "a_traced_program_never_seen_running_has_started",
        ]],
    },
    Mutant {
        name: "explain-switch-in-uctx",
        breaks: "make explain shows a coroutine's switch where the scheduler makes it, not in uctx.c, which passes it on",
        edits: &[
            edit!("harness/src/trace/symbols.rs", "f.starts_with(\"wrap.\") || f.starts_with(\"uctx.\")" => "f.starts_with(\"wrap.\")"),
        ],
        tests: &[&[
            "--test",
            "explain",
            "--",
            "coroutine_switches_are_shown_where_the_scheduler_switches",
        ]],
    },
];
