//! Memory and thread safety: memcheck on every server and helgrind on
//! every server with threads, Rust and C, under concurrent clients, report
//! no error.

use harness::base::client::{at_once, talk};
use harness::base::{process::require, server::Server};
use harness::scratch;
use harness::testing::{all, each_server_by};
use harness::{Model, Result, Twin, Worker};
use std::fs;
use std::path::Path;
use std::process::Command;

/// Runs `name` under valgrind's `tool` while eight clients (fifty: see
/// below) talk to it at once, ends it with SIGTERM, and checks every process's error summary.
fn valgrind_finds_no_error(tool: &str, name: &str, twin: Twin) -> Result<()> {
    // Fifty for helgrind on the prethreaded servers, whose threads share
    // a lock, a queue or the kernel's spreading: more hand-overs to check.
    let model = harness::program(name)?.model().ok_or("not a server")?;
    let prethreaded =
        matches!(model.worker, Worker::Prethread(_)) || model.pool.is_some_and(|p| p.listens);
    let clients = if tool == "helgrind" && prethreaded {
        50
    } else {
        8
    };
    require("valgrind", "valgrind")?;
    let dir = scratch!("valgrind-{tool}-{name}-{twin:?}");
    let valgrind = |exe: &Path| {
        let mut cmd = Command::new("valgrind");
        cmd.arg(format!("--tool={tool}"))
            .arg(format!("--log-file={}/vg.%p", dir.display()));
        if tool == "memcheck" {
            cmd.args(["--leak-check=full", "--errors-for-leak-kinds=definite"]);
        } else {
            // Two reports of designs, not races (each explained in the file).
            cmd.arg(concat!(
                "--suppressions=",
                env!("CARGO_MANIFEST_DIR"),
                "/tests/helgrind.supp"
            ));
        }
        cmd.arg(exe);
        cmd
    };
    let server = Server::build(name, twin).wrap(valgrind).start()?;

    let conns = (0..clients)
        .map(|_| server.connect())
        .collect::<Result<Vec<_>>>()?;
    at_once(conns, |id, conn| talk(id, 10, conn))?;
    server.settled()?;
    let processes = match server.model.worker {
        Worker::Child => 1 + clients,
        Worker::Prefork(c) => 1 + c.n,
        _ => 1,
    };
    if model.main_idle_in == harness::Call::UringEnter {
        // Valgrind holds SIGTERM back inside io_uring_enter (see sigterm_uring).
        harness::base::server::sigterm_uring(&server.run, server.port)?;
    }
    server.terminate()?;

    let logs: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    if logs.len() != processes {
        return Err(format!(
            "{} logs, not one per process ({processes})",
            logs.len()
        ));
    }
    for log in &logs {
        if !log.contains("ERROR SUMMARY: 0 errors from 0 contexts") {
            return Err(format!("{tool}:\n{log}"));
        }
    }
    Ok(())
}

/// Servers under valgrind at a time: each costs seconds of CPU time to
/// start, and two cores shared by 36 at once left some unstarted past the
/// deadline.
const VALGRIND_AT_ONCE: usize = 8;

/// A server with more than one thread.
fn threaded(model: &Model) -> bool {
    matches!(model.worker, Worker::Thread | Worker::Prethread(_)) || model.pool.is_some()
}

#[test]
fn memcheck_every_server() {
    each_server_by(VALGRIND_AT_ONCE, all, |name, twin| {
        valgrind_finds_no_error("memcheck", name, twin)
    });
}

#[test]
fn helgrind_every_threaded_server() {
    each_server_by(VALGRIND_AT_ONCE, threaded, |name, twin| {
        valgrind_finds_no_error("helgrind", name, twin)
    });
}
