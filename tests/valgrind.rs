//! Memory and thread safety: memcheck on both servers and helgrind on the
//! thread servers, Rust and C, under concurrent clients, report no error.

#[macro_use]
mod common;

use common::*;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::thread;

/// Runs `name` under valgrind's `tool` while eight clients talk to it at
/// once, ends it with SIGTERM, and checks every process's error summary.
fn valgrind_finds_no_error(tool: &str, name: &str, twin: Twin) {
    require("valgrind", "valgrind");
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("valgrind-{tool}-{name}-{twin:?}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new("valgrind");
    cmd.arg(format!("--tool={tool}"))
        .arg(format!("--log-file={}/vg.%p", dir.display()));
    if tool == "memcheck" {
        cmd.args(["--leak-check=full", "--errors-for-leak-kinds=definite"]);
    }
    cmd.arg(program(name, twin));
    let server = Server::start_with(cmd, free_port());

    thread::scope(|s| {
        for id in 0..8 {
            let server = &server;
            s.spawn(move || {
                let mut conn = server.connect();
                for msg in messages(id, 10) {
                    conn.check(&msg);
                }
                conn.finish();
            });
        }
    });
    wait_until("every worker to end", || server.workers() == 0);
    server.terminate();

    let logs: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let processes = if name == "process_server" { 9 } else { 1 };
    assert_eq!(logs.len(), processes, "one log per process");
    for log in &logs {
        assert!(
            log.contains("ERROR SUMMARY: 0 errors from 0 contexts"),
            "{tool} on {name} ({twin:?}):\n{log}"
        );
    }
}

fn memcheck_process_server(twin: Twin) {
    valgrind_finds_no_error("memcheck", "process_server", twin);
}

fn memcheck_thread_server(twin: Twin) {
    valgrind_finds_no_error("memcheck", "thread_server", twin);
}

fn helgrind_thread_server(twin: Twin) {
    valgrind_finds_no_error("helgrind", "thread_server", twin);
}

twin_tests!(
    memcheck_process_server,
    memcheck_thread_server,
    helgrind_thread_server
);
