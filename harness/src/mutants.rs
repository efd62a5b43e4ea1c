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
            edit!("src/bin/thread_server.c", "#define MAXSLOTS 256" => "#define MAXSLOTS 50"),
            edit!("src/bin/thread_server.rs", "const MAXSLOTS: usize = 256;" => "const MAXSLOTS: usize = 50;"),
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
            edit!("src/bin/pool_server.c", "read_again(w->pipefd[0], h, sizeof(h))" => "read_again(w->pipefd[0], h, sizeof(h[0]))"),
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

/// A copy of the work tree at `root` in `dir`, `m`'s edits applied.
pub fn mutate(root: &Path, dir: &Path, m: &Mutant) -> Result<std::result::Result<(), String>> {
    let _ = fs::remove_dir_all(dir);
    for f in tree_files(root)? {
        let (from, to) = (root.join(&f), dir.join(&f));
        if !from.is_file() {
            continue;
        }
        fs::create_dir_all(to.parent().unwrap()).map_err(|e| e.to_string())?;
        fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    for e in m.edits {
        let path = dir.join(e.file);
        let text = fs::read_to_string(&path).map_err(|err| format!("{}: {err}", e.file))?;
        match text.matches(e.find).count() {
            1 => fs::write(&path, text.replacen(e.find, e.replace, 1))
                .map_err(|err| err.to_string())?,
            n => return Ok(Err(format!("{}: {:?} found {n} times", e.file, e.find))),
        }
    }
    Ok(Ok(()))
}

/// Builds the mutated copy in `dir` and runs its tests, with cargo's
/// target directory `target` (shared between mutants, so that only what
/// a mutant changes is built again); `log` takes cargo's output.
pub fn try_mutant(dir: &Path, target: &Path, m: &Mutant, log: &Path) -> Result<Fate> {
    let log_file = || {
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))
    };
    let cargo = |args: &[&str]| -> Result<bool> {
        let status = Command::new(env!("CARGO"))
            .args(args)
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", target)
            .stdin(Stdio::null())
            .stdout(log_file()?)
            .stderr(log_file()?)
            .status()
            .map_err(|e| format!("cargo: {e}"))?;
        Ok(status.success())
    };
    if !cargo(&["build", "--release", "--workspace", "--tests"])? {
        return Ok(Fate::Unbuilt(format!("see {}", log.display())));
    }
    for t in m.tests {
        let mut args = vec!["test", "--release"];
        args.extend_from_slice(t);
        if !cargo(&args)? {
            return Ok(Fate::Killed);
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
}
