//! `make compare-pair` with the programs a learner brings: classic C
//! programs in the course notes' manner (tests/originals/), the port fixed
//! when they are compiled, their own banner, printf without setvbuf. Each
//! compared with itself is identical, run after run; against the project's
//! twin, a diff with notes; and its printf lines come out as on a terminal.

use harness::compare::{self, Job, Outcome};
use harness::process::free_port;
use harness::{Result, Twin, exe, program};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

/// A classic program of tests/originals/, its session's model and our twin.
struct Original {
    source: &'static str,
    model: &'static str,
    twin: &'static str,
}

const ORIGINALS: [Original; 3] = [
    Original {
        source: "server.c",
        model: "process",
        twin: "process_server",
    },
    Original {
        source: "mul_thread.c",
        model: "thread",
        twin: "thread_server",
    },
    Original {
        source: "client.c",
        model: "client",
        twin: "client",
    },
];

/// A directory of the test's own.
fn dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("originals")
        .join(test)
}

/// Compiles `source` as a learner does, its port fixed at `port`.
fn build(source: &str, port: u16, out: &Path) -> PathBuf {
    fs::create_dir_all(out).unwrap();
    let exe = out.join(source.trim_end_matches(".c"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/originals")
        .join(source);
    let built = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-Wall", "-pthread", &format!("-DSERV_PORT={port}"), "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("run cc");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    exe
}

/// `a` against `b` through the session of `model`, both on the fixed `port`.
fn pair(model: &str, a: &Path, b: &Path, port: u16, out: &Path) -> Result<Outcome> {
    let mut job = Job::twins(program(model)?, None);
    job.a = a.to_path_buf();
    job.b = b.to_path_buf();
    job.port = Some(port);
    compare::run(&job, out)
}

/// Runs `f` on each original at once, each on a port of its own; fails
/// with every failure.
fn each_original(test: &str, f: impl Fn(&Original, u16, &Path) -> Result<()> + Sync) {
    let failures: Vec<String> = thread::scope(|s| {
        let runs: Vec<_> = ORIGINALS
            .iter()
            .map(|o| {
                let f = &f;
                (
                    o.source,
                    s.spawn(move || f(o, free_port(), &dir(test).join(o.model))),
                )
            })
            .collect();
        runs.into_iter()
            .filter_map(|(name, h)| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{name}: {e}")),
                Err(_) => Some(format!("{name}: panicked")),
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every normalised task of one side of a comparison, sorted.
fn norm_tasks(side: &Path) -> Vec<String> {
    let mut tasks: Vec<String> = fs::read_dir(side)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "norm"))
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    tasks.sort();
    tasks
}

/// An original compared with itself is identical, and a second run makes
/// the very same calls as the first: the session is deterministic, even
/// for programs that print what they like and take no port argument.
#[test]
fn an_original_compared_with_itself_is_identical_twice() {
    each_original("itself", |o, port, out| {
        let exe = build(o.source, port, out);
        let mut runs = Vec::new();
        for run in ["first", "second"] {
            let outcome = pair(o.model, &exe, &exe, port, &out.join(run))?;
            if !outcome.identical {
                return Err(format!("{run} run: {}", outcome.report));
            }
            runs.push(norm_tasks(&outcome.dir.join("rust")));
        }
        if runs[0] != runs[1] {
            return Err("the second run made other calls than the first".into());
        }
        Ok(())
    });
}

/// The original against the project's twin: not a failed session but a
/// diff, task by task, whose notes explain the known differences: a
/// server's backlog and SIGPIPE, the client's read size.
#[test]
fn an_original_against_our_twin_is_a_readable_diff() {
    each_original("twin", |o, port, out| {
        let original = build(o.source, port, out);
        let outcome = pair(o.model, &original, &exe(o.twin, Twin::Rust), port, out)?;
        let report = &outcome.report;
        let expect: &[&str] = if o.model == "client" {
            &["note: the read size: A asks read for up to 80 bytes"]
        } else {
            &[
                "note: the backlog: listen(fd, 20) in A, listen(fd, 128) in B",
                "note: SIGPIPE: B ignores it, A does not",
                "note: a different banner: A prints ",
            ]
        };
        let verdict = format!("{}: DIFFERENT: ", program(o.model)?.name);
        if outcome.identical || !report.starts_with(&verdict) {
            return Err(format!("not a diff: {report}"));
        }
        let missing: Vec<&&str> = expect.iter().filter(|e| !report.contains(*e)).collect();
        if !report.contains("\n=== the main task (A pid ") || !missing.is_empty() {
            return Err(format!("{missing:?} missing from:\n{report}"));
        }
        Ok(())
    });
}

/// On a terminal, printf is line-buffered: the original's banner and each
/// line it prints come out in a write of their own, at once, though it
/// never calls setvbuf and is killed at the end (through a pipe, printf
/// would keep them in its buffer, and the kill would lose them).
#[test]
fn an_originals_printf_lines_come_out_as_on_a_terminal() {
    let out = dir("terminal");
    let port = free_port();
    let server = build("server.c", port, &out);
    let outcome = pair("process", &server, &server, port, &out.join("trace")).unwrap();
    assert!(outcome.identical, "{}", outcome.report);
    let printed = fs::read_to_string(outcome.dir.join("rust/stdout")).unwrap();
    assert!(
        printed.starts_with("server up, waiting for clients ...\n24 bytes from 127.0.0.1:"),
        "{printed}"
    );
    assert_eq!(printed.matches("client hung up\n").count(), 8, "{printed}");
    let main = norm_tasks(&outcome.dir.join("rust"))
        .into_iter()
        .find(|t| t.starts_with("execve("))
        .unwrap();
    let banner = main
        .find("write(1, \"server up, waiting for clients ...\\n\", 35) = 35\n")
        .expect("the banner in a write of its own");
    assert!(
        banner < main.find("accept(").unwrap(),
        "before the first accept"
    );
}
