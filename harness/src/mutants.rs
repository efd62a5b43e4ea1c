//! `make mutants`: named mutations of the programs (and of the harness's
//! own checks), each a small edit that breaks one property a test claims
//! to guard. Each is applied to a scratch copy of the work tree, built,
//! and the tests that must catch it are run there: a mutant those tests
//! fail on is killed; one they pass is a test that does not check what
//! its name says. An edit whose text is not found exactly once is stale,
//! and fails the run like a survivor: the list must follow the code.

use crate::Result;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One textual edit: the only occurrence of `find` in `file` becomes `replace`.
pub struct Edit {
    pub file: &'static str,
    pub find: &'static str,
    pub replace: &'static str,
}

/// A mutation, and the tests that must catch it.
pub struct Mutant {
    pub name: &'static str,
    /// The property it breaks, in words.
    pub breaks: &'static str,
    pub edits: &'static [Edit],
    /// `cargo test --release` arguments, one run each: `--test FILE -- FILTER`.
    pub tests: &'static [&'static [&'static str]],
}

macro_rules! edit {
    ($file:literal, $find:literal => $replace:literal) => {
        Edit {
            file: $file,
            find: $find,
            replace: $replace,
        }
    };
}

/// The mutants, one property each.
pub const MUTANTS: &[Mutant] = &[
    Mutant {
        name: "epoll-sigpipe",
        breaks: "the epoll server ignores SIGPIPE: a reset client cannot kill it",
        edits: &[
            edit!("src/bin/epoll_server.c", "\tsignal(SIGPIPE, SIG_IGN);" => "\t/* mutant */"),
            edit!("src/bin/epoll_server.rs", "    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };" => "    let _ = 0;"),
        ],
        tests: &[&["--test", "reliability", "--", "reset_after_half_close"]],
    },
    Mutant {
        name: "iterative-sigpipe",
        breaks: "the iterative server ignores SIGPIPE",
        edits: &[
            edit!("src/bin/iterative_server.c", "\tsignal(SIGPIPE, SIG_IGN);" => "\t/* mutant */"),
            edit!("src/bin/iterative_server.rs", "    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };" => "    let _ = 0;"),
        ],
        tests: &[&["--test", "reliability", "--", "reset_after_half_close"]],
    },
    Mutant {
        name: "accept-spins",
        breaks: "out of descriptors, Accept pauses 100 ms between tries rather than spin",
        edits: &[
            edit!("src/wrap.h", "#define ACCEPT_BACKOFF_USEC 100000" => "#define ACCEPT_BACKOFF_USEC 1"),
            edit!("src/wrap.rs", "pub const ACCEPT_BACKOFF_USEC: libc::useconds_t = 100_000;" => "pub const ACCEPT_BACKOFF_USEC: libc::useconds_t = 1;"),
        ],
        tests: &[&[
            "--test",
            "reliability",
            "--",
            "descriptor_limit_is_waited_out",
            "accept_out_of_descriptors",
        ]],
    },
    Mutant {
        name: "thread-not-detached",
        breaks: "the thread server detaches its threads, whose stacks are then reused",
        edits: &[
            edit!("src/bin/thread_server.c", "\t\tpthread_detach(tid);" => "\t\t/* mutant */"),
            edit!("src/bin/thread_server.rs", "        unsafe { libc::pthread_detach(tid) };" => "        let _ = tid;"),
        ],
        tests: &[&[
            "--test",
            "strace",
            "--",
            "thread_server_trace_detaches_rather_than_joins",
        ]],
    },
    Mutant {
        name: "process-not-reaped",
        breaks: "the process server reaps its children on SIGCHLD: no zombies",
        edits: &[
            edit!("src/bin/process_server.c", "\twhile (waitpid(-1, NULL, WNOHANG) > 0)" => "\twhile (0)"),
            edit!("src/bin/process_server.rs", "    while unsafe { libc::waitpid(-1, ptr::null_mut(), libc::WNOHANG) } > 0 {}" => "    let _ = ptr::null_mut::<i32>();"),
        ],
        tests: &[
            &["--test", "process_server"],
            &["--test", "reliability", "--", "a_thousand_sequential"],
        ],
    },
    Mutant {
        name: "thread-slots-50",
        breaks: "the thread server holds the 256 connections the table declares; the bench takes no other stop",
        edits: &[
            edit!("src/slots.h", "#define MAXSLOTS 256" => "#define MAXSLOTS 50"),
            edit!("src/slots.rs", "pub const MAXSLOTS: usize = 256;" => "pub const MAXSLOTS: usize = 50;"),
        ],
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
        name: "normaliser-masks-signals",
        breaks: "the normaliser masks only real pids: kill(-1, SIGKILL) and kill(PID, SIGKILL) differ",
        edits: &[
            edit!("harness/src/compare/normalize.rs", "        Ok(v) if v < -1 => mask_arg(s, n, \"-PID\"),\n        _ => s.to_string()," => "        Ok(v) if v < -1 => mask_arg(s, n, \"-PID\"),\n        _ => mask_arg(s, n, \"PID\"),"),
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
            edit!("harness/src/bin/std_server.rs", "        harness::reference::echo_to_stdout(&buf[..n]);" => "        let _ = std::io::stdout().write_all(&buf[..n]);"),
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
        name: "echo-upper-64",
        breaks: "every byte of a read is upper-cased, not only the first 64 (which is all strace -s 64 showed)",
        edits: &[
            edit!("src/echo.c", "\tfor (i = 0; i < n; i++)\n\t\tbuf[i] = toupper" => "\tfor (i = 0; i < n && i < 64; i++)\n\t\tbuf[i] = toupper"),
            edit!("src/echo.rs", "    for b in buf.iter_mut() {" => "    for b in buf.iter_mut().take(64) {"),
        ],
        tests: &[&["--test", "reliability", "--", "one_mebibyte_in_one_send"]],
    },
    Mutant {
        name: "spare-not-retried",
        breaks: "an event loop reopens its spare descriptor once it could not (else every EMFILE pauses it)",
        edits: &[
            edit!("src/accept.c", "\tif (*spare < 0)\n\t\t*spare = open(\"/dev/null\", O_RDONLY);\nagain:" => "again:"),
            edit!("src/accept.rs", "    if *spare < 0 {\n        // SAFETY: a NUL-terminated path.\n        *spare = unsafe { libc::open(c\"/dev/null\".as_ptr(), libc::O_RDONLY) };\n    }\n    loop {" => "    loop {"),
        ],
        tests: &[&[
            "--test",
            "multiplexing",
            "--",
            "spare_reopened_after_a_failed_reopen",
        ]],
    },
    Mutant {
        name: "pool-one-handover",
        breaks: "a pool worker takes in every connection waiting in its pipe in one pass",
        edits: &[
            edit!("src/bin/pool_server.c", "Read(w->pipefd[0], h, sizeof(h))" => "Read(w->pipefd[0], h, sizeof(h[0]))"),
            edit!("src/bin/pool_server.rs", "                size_of::<[handoff; MAXACCEPT]>(),\n            )" => "                size_of::<handoff>(),\n            )"),
        ],
        tests: &[&[
            "--test",
            "pool_server",
            "--",
            "a_burst_is_taken_in_with_one_read",
        ]],
    },
    Mutant {
        name: "stdout-blocks-the-loop",
        breaks: "an event loop's stdout never blocks it: a stdout nobody reads stalls no client",
        edits: &[
            edit!("src/outbuf.c", "O_WRONLY | O_NONBLOCK | O_NOCTTY" => "O_WRONLY | O_NOCTTY"),
            edit!("src/outbuf.rs", "libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY" => "libc::O_WRONLY | libc::O_NOCTTY"),
        ],
        tests: &[&["--test", "stdout", "--", "stdout_a_pipe_nobody_reads"]],
    },
    Mutant {
        name: "epoll-drops-idle",
        breaks: "the epoll server holds every connection it is given: 10,000 idle at once, counted in /proc (the test may not skip under CI)",
        edits: &[
            edit!("src/bin/epoll_server.c", "\t\t\tepoll_add(epfd, &client, connfd, &cliaddr);" => "\t\t\tepoll_add(epfd, &client, connfd, &cliaddr);\n\t\t\tif (connfd > 1010)\n\t\t\t\tClose(connfd - 1000);"),
            edit!("src/bin/epoll_server.rs", "            epoll_add(epfd, &mut client, connfd, &cliaddr);" => "            epoll_add(epfd, &mut client, connfd, &cliaddr);\n            if connfd > 1010 {\n                unsafe { libc::close(connfd - 1000) };\n            }"),
        ],
        tests: &[&[
            "--test",
            "multiplexing",
            "--",
            "ten_thousand_idle_connections_and_one_active",
        ]],
    },
    Mutant {
        name: "faults-never-fire",
        breaks: "each injected fault fires: the read and write EINTR faults aimed past the session's last call inject nothing",
        edits: &[
            edit!("harness/src/compare/session.rs", "\"read:error=EINTR:when=2+2\".into(),\n            \"write:error=EINTR:when=2+2\".into()," => "\"read:error=EINTR:when=9999\".into(),\n            \"write:error=EINTR:when=9999\".into(),"),
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
            edit!("harness/src/compare/session.rs", "\"read-write-eagain\" if model.worker == Worker::Loop =>" => "\"read-write-eagain\" if model.worker == Worker::Loop && model.pool.is_none() =>"),
        ],
        tests: &[&[
            "--test",
            "strace",
            "--",
            "every_server_identical_under_injected_faults",
        ]],
    },
    Mutant {
        name: "loop-waits-for-a-reader",
        breaks: "back-pressure: a reply the socket cannot take waits in the connection's buffer, and the loop goes on serving the others",
        edits: &[
            edit!("src/conn.c", "\tif ((size_t)nw == n)\n\t\treturn CONN_READ;\n\tif ((c->out = malloc" => "\twhile ((size_t)nw < n) {\n\t\tssize_t k = Write(c->fd, buf + nw, n - nw);\n\t\tif (k > 0)\n\t\t\tnw += k;\n\t}\n\tif ((size_t)nw == n)\n\t\treturn CONN_READ;\n\tif ((c->out = malloc"),
            edit!("src/conn.rs", "    let nw = nw as usize;\n    if nw == n {" => "    let mut nw = nw as usize;\n    while nw < n {\n        let k = Write(c.fd, &buf[nw..]);\n        if k > 0 {\n            nw += k as usize;\n        }\n    }\n    if nw == n {"),
        ],
        tests: &[&["--test", "multiplexing", "--", "slow_reader_stalls_no_one"]],
    },
    Mutant {
        name: "echo-high-bytes",
        breaks: "every byte value comes back upper-cased, 251 to 255 too (a test that sent i % 251 never saw them)",
        edits: &[
            edit!("src/echo.c", "\t\tbuf[i] = toupper((unsigned char)buf[i]);" => "\t\tbuf[i] = (unsigned char)buf[i] >= 251 ? 0 : toupper((unsigned char)buf[i]);"),
            edit!("src/echo.rs", "        *b = unsafe { *toupper.add(usize::from(*b)) } as u8;" => "        *b = if *b >= 251 { 0 } else { (unsafe { *toupper.add(usize::from(*b)) }) as u8 };"),
        ],
        tests: &[&["--test", "reliability", "--", "one_mebibyte_in_one_send"]],
    },
    Mutant {
        name: "prefork-not-replaced",
        breaks: "a preforked server forks another child in the slot of one that died",
        edits: &[
            edit!("src/prefork.c", "\tpf->pid[i] = 0;\n\tif (WIFSIGNALED" => "\tif (WIFSIGNALED"),
            edit!("src/prefork.rs", "    pf.pid[i as usize] = 0;\n    // SAFETY: each format's" => "    // SAFETY: each format's"),
        ],
        tests: &[&["--test", "prefork", "--", "a_killed_child_is_replaced"]],
    },
    Mutant {
        name: "prefork-stop-no-wait",
        breaks: "a preforked server's parent waits for each child it stops before it exits",
        edits: &[
            edit!("src/prefork.c", "\t\tkill(pf->pid[i], SIGTERM);\n\t\twaitpid(pf->pid[i], NULL, 0);" => "\t\tkill(pf->pid[i], SIGTERM);"),
            edit!("src/prefork.rs", "            libc::kill(pid, libc::SIGTERM);\n            libc::waitpid(pid, ptr::null_mut(), 0);" => "            libc::kill(pid, libc::SIGTERM);"),
        ],
        tests: &[&["--test", "prefork", "--", "sigterm_stops_them_all"]],
    },
    Mutant {
        name: "slot-freed-not-signalled",
        breaks: "a thread that frees its slot wakes the main thread waiting for one",
        edits: &[
            edit!("src/slots.c", "\tinfo->connfd = -1;\n\tpthread_cond_signal(&slot_freed);" => "\tinfo->connfd = -1;"),
            edit!("src/slots.rs", "        *info.connfd.get() = -1;\n        libc::pthread_cond_signal(slot_freed.0.get());" => "        *info.connfd.get() = -1;"),
        ],
        tests: &[&["--test", "thread_server", "--", "more_clients_than_slots"]],
    },
    Mutant {
        name: "prethread-no-lock",
        breaks: "prethread_server's threads take turns at accept behind the mutex",
        edits: &[
            edit!("src/bin/prethread_server.c", "\t\tpthread_mutex_lock(&accept_lock);\n" => "\t\t(void)&accept_lock;\n"),
            edit!("src/bin/prethread_server.c", "\t\tpthread_mutex_unlock(&accept_lock);\n" => ""),
            edit!("src/bin/prethread_server.rs", "        unsafe { libc::pthread_mutex_lock(ACCEPT_LOCK.0.get()) };" => ""),
            edit!("src/bin/prethread_server.rs", "        unsafe { libc::pthread_mutex_unlock(ACCEPT_LOCK.0.get()) };" => ""),
        ],
        tests: &[&["--test", "prethread", "--", "sigterm_prints_the_meter"]],
    },
    Mutant {
        name: "queue-unbounded",
        breaks: "prethread_queue_server's main thread stops accepting while its queue is full",
        edits: &[
            edit!("src/bin/prethread_queue_server.c", "\tfull = qcount == QSIZE;\n\tpthread_mutex_unlock(&qlock);\n\tpthread_cond_signal" => "\tfull = 0;\n\tpthread_mutex_unlock(&qlock);\n\tpthread_cond_signal"),
            edit!("src/bin/prethread_queue_server.rs", "        let full = *QUEUE.count.get() == QSIZE;\n        libc::pthread_mutex_unlock(QLOCK.0.get());\n        libc::pthread_cond_signal" => "        let full = false;\n        libc::pthread_mutex_unlock(QLOCK.0.get());\n        libc::pthread_cond_signal"),
        ],
        tests: &[&["--test", "prethread", "--", "a_full_queue"]],
    },
    Mutant {
        name: "prethread-meter-one-thread",
        breaks: "each prethreaded thread counts its own connections in the meter",
        edits: &[
            edit!("src/prethread.c", "__atomic_fetch_add(&count[i], 1" => "__atomic_fetch_add(&count[i * 0], 1"),
            edit!("src/prethread.rs", "    COUNT[i as usize].fetch_add(1" => "    COUNT[i as usize * 0].fetch_add(1"),
        ],
        tests: &[&["--test", "prethread", "--", "sigterm_prints_the_meter"]],
    },
    Mutant {
        name: "calls-merged",
        breaks: "each call at its own line: the compilers merge none (build flags), and explain names the line that made it",
        edits: &[
            edit!("src/programs.rs", "    \"-fno-crossjumping\",\n    \"-fno-optimize-sibling-calls\",\n" => ""),
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
        name: "spares-in-threads",
        breaks: "the reuseport server's main thread opens the spares in order: threads racing for the lowest descriptor numbered them differently from run to run",
        edits: &[
            edit!("src/bin/reuseport_server.c", "\tl->spare = open_spare();\n" => ""),
            edit!("src/bin/reuseport_server.c", "\tfor (;;) {\n\t\tif (!epoll_pass" => "\tl->spare = open_spare();\n\tfor (;;) {\n\t\tif (!epoll_pass"),
            edit!("src/bin/reuseport_server.rs", "    *l.spare.get_mut() = open_spare();\n" => ""),
            edit!("src/bin/reuseport_server.rs", "\n    loop {\n" => "\n    unsafe { *l.spare.get() = open_spare() };\n    loop {\n"),
        ],
        tests: &[&[
            "--test",
            "strace",
            "--",
            "reuseports_spares_are_opened_in_order_by_the_main_thread",
        ]],
    },
    Mutant {
        name: "randomisation-on",
        breaks: "the sessions run every program with address-space randomisation off, so that memory a program prints by mistake is the same every run",
        edits: &[
            edit!("harness/src/compare/session.rs", "    crate::process::no_randomization(&mut cmd);\n" => ""),
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
            edit!("harness/src/compare/diff.rs", "const LONG: usize = 64;" => "const LONG: usize = usize::MAX;"),
        ],
        tests: &[&["-p", "harness", "--lib", "--", "compare::diff"]],
    },
    Mutant {
        name: "past-the-buffer-unmasked",
        breaks: "what strace shows past a buffer given a negative size (a dump, or an address) is masked: it can differ from run to run",
        edits: &[
            edit!("harness/src/compare/normalize.rs", "if size.is_some_and(|n| n >= NEGATIVE_INT) {" => "if size.is_some_and(|n| n >= NEGATIVE_INT && n == 0) {"),
        ],
        tests: &[&["-p", "harness", "--lib", "--", "the_memory_past_a_buffer"]],
    },
    Mutant {
        name: "negative-size-unnoted",
        breaks: "a negative int passed as a size (read's -1 written on) gets its note in a diff",
        edits: &[
            edit!("harness/src/compare/notes.rs", ".find(|&n| n >= NEGATIVE_INT)" => ".find(|&n| n >= NEGATIVE_INT && n == 0)"),
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
];

/// What became of a mutant.
#[derive(Debug, PartialEq, Eq)]
pub enum Fate {
    /// A test failed on it.
    Killed,
    /// Every test passed: a property unguarded.
    Survived,
    /// An edit's text is not in its file exactly once.
    Stale(String),
    /// The mutated copy does not build.
    Unbuilt(String),
}

/// The files of the work tree at `root` that git knows, or would add.
fn tree_files(root: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git ls-files: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .collect())
}

/// The work tree's files (those git knows, or would add) and their
/// contents, read once: every mutant is a change to the same tree, even
/// if the work tree changes while the mutants run.
pub struct Snapshot {
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Snapshot {
    /// Reads the work tree at `root`.
    pub fn take(root: &Path) -> Result<Snapshot> {
        let mut files = Vec::new();
        for f in tree_files(root)? {
            let from = root.join(&f);
            if from.is_file() {
                let bytes = fs::read(&from).map_err(|e| format!("{}: {e}", from.display()))?;
                files.push((f, bytes));
            }
        }
        Ok(Snapshot { files })
    }
}

/// Makes `dir` a copy of `tree` with `m`'s edits applied (none for
/// `None`: the tree as it is). Only files whose content differs are
/// written, so that one scratch copy serves every mutant in turn and cargo
/// builds again only what a mutant (or the one before it) changed.
/// `Ok(Err(why))` when an edit's file is not in the tree, or its text is
/// not in its file exactly once.
pub fn mutate(
    tree: &Snapshot,
    dir: &Path,
    m: Option<&Mutant>,
) -> Result<std::result::Result<(), String>> {
    let edits = m.map_or(&[][..], |m| m.edits);
    for e in edits {
        if !tree.files.iter().any(|(f, _)| Path::new(e.file) == f) {
            return Ok(Err(format!("{}: no such file in the tree", e.file)));
        }
    }
    for (f, bytes) in &tree.files {
        let to = dir.join(f);
        let mut want = bytes.clone();
        for e in edits.iter().filter(|e| Path::new(e.file) == f) {
            let text = String::from_utf8(want).map_err(|_| format!("{}: not UTF-8", e.file))?;
            match text.matches(e.find).count() {
                1 => want = text.replacen(e.find, e.replace, 1).into_bytes(),
                n => return Ok(Err(format!("{}: {:?} found {n} times", e.file, e.find))),
            }
        }
        if fs::read(&to).is_ok_and(|have| have == want) {
            continue;
        }
        fs::create_dir_all(to.parent().unwrap()).map_err(|e| e.to_string())?;
        fs::write(&to, want).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(Ok(()))
}

/// cargo in the scratch copy `dir`, with the target directory `target`,
/// its output appended to `log`: whether it succeeded, and how many tests
/// it ran (the sum of its "running N tests" lines).
fn cargo(dir: &Path, target: &Path, args: &[&str], log: &Path) -> Result<(bool, usize)> {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cargo: {e}"))?;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    use std::io::Write;
    writeln!(file, "$ cargo {}", args.join(" ")).map_err(|e| e.to_string())?;
    file.write_all(&out.stderr).map_err(|e| e.to_string())?;
    file.write_all(&out.stdout).map_err(|e| e.to_string())?;
    Ok((
        out.status.success(),
        tests_run(&String::from_utf8_lossy(&out.stdout)),
    ))
}

/// The tests a `cargo test` run says it ran: the sum of its binaries'
/// "running N tests" (or "running 1 test") lines.
pub fn tests_run(stdout: &str) -> usize {
    stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("running ")?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

/// `cargo test --release` with `t`'s arguments.
fn test_args<'a>(t: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["test", "--release"];
    args.extend_from_slice(t);
    args
}

/// Runs each of `tests` on the unmutated copy in `dir` (see [`mutate`]):
/// a mutant is killed only by tests that pass without it, and a filter
/// that matches no test would kill nothing. The first command that fails
/// or runs no test is an error that says so.
pub fn baseline(dir: &Path, target: &Path, tests: &[&[&str]], log: &Path) -> Result<()> {
    for t in tests {
        let (ok, ran) = cargo(dir, target, &test_args(t), log)?;
        let line = format!("cargo test --release {}", t.join(" "));
        if ran == 0 {
            return Err(format!("{line}: runs no test (see {})", log.display()));
        }
        if !ok {
            return Err(format!(
                "{line}: fails without any mutant, so it can kill none (see {})",
                log.display()
            ));
        }
    }
    Ok(())
}

/// Builds the mutated copy in `dir` and runs its tests, with cargo's
/// target directory `target`; `log` takes cargo's output.
pub fn try_mutant(dir: &Path, target: &Path, m: &Mutant, log: &Path) -> Result<Fate> {
    // Only what the mutant's tests need: the programs (and their C twins),
    // which every test runs, and the tests' own binaries; so that a test's
    // failure is never a build's.
    if !cargo(
        dir,
        target,
        &["build", "--release", "-p", "concserv", "--bins"],
        log,
    )?
    .0
    {
        return Ok(Fate::Unbuilt(format!("see {}", log.display())));
    }
    for t in m.tests {
        let mut build = vec!["test", "--release", "--no-run"];
        build.extend(t.iter().take_while(|a| **a != "--"));
        if !cargo(dir, target, &build, log)?.0 {
            return Ok(Fate::Unbuilt(format!("see {}", log.display())));
        }
    }
    for t in m.tests {
        match cargo(dir, target, &test_args(t), log)? {
            (false, _) => return Ok(Fate::Killed),
            (true, 0) => return Ok(Fate::Stale(format!("{t:?} runs no test"))),
            (true, _) => {}
        }
    }
    Ok(Fate::Survived)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every edit still finds its text exactly once in the tree: the list
    /// follows the code (a stale mutant would only show in `make mutants`).
    #[test]
    fn every_mutant_applies_to_the_tree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for m in MUTANTS {
            assert!(!m.edits.is_empty() && !m.tests.is_empty(), "{}", m.name);
            for e in m.edits {
                let text = fs::read_to_string(root.join(e.file)).unwrap();
                assert_eq!(
                    text.matches(e.find).count(),
                    1,
                    "{}: {} {:?}",
                    m.name,
                    e.file,
                    e.find
                );
                assert_ne!(e.find, e.replace, "{}", m.name);
            }
        }
        let mut names: Vec<&str> = MUTANTS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), MUTANTS.len(), "names are unique");
    }

    #[test]
    fn the_tests_a_run_ran_are_counted_from_its_lines() {
        let out = "running 0 tests\n\ntest result: ok.\nrunning 1 test\ntest a ... ok\nrunning 12 tests\n";
        assert_eq!(tests_run(out), 13);
        assert_eq!(tests_run("running 0 tests\n"), 0);
        assert_eq!(tests_run("test running 5 tests ... ok\n"), 0);
    }
}
