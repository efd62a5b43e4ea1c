//! Syscall fidelity: each Rust program makes the same system calls as its C
//! twin, the comparison can tell two different programs apart, and the
//! traces show what the programs teach.

mod common;

use common::{Twin, program};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `trace_compare [--fault FAULT] NAME RUST C SERVER` into a directory
/// of its own; returns its output and the directory of the traces.
fn trace_compare_under(
    fault: Option<&str>,
    name: &str,
    rust: &Path,
    c: &Path,
    dir: &str,
) -> (Output, PathBuf) {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trace_compare"));
    cmd.arg("--dir").arg(&out_dir);
    if let Some(f) = fault {
        cmd.args(["--fault", f]);
    }
    let out = cmd
        .arg(name)
        .arg(rust)
        .arg(c)
        .arg(program("process_server", Twin::Rust))
        .output()
        .expect("run trace_compare");
    (out, out_dir.join(name).join(fault.unwrap_or("plain")))
}

fn trace_compare(name: &str, rust: &Path, c: &Path, dir: &str) -> (Output, PathBuf) {
    trace_compare_under(None, name, rust, c, dir)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Compares a program with its twin, tracing into a directory named by
/// `test` (tests run in parallel); returns the traces' directory.
fn assert_identical(name: &str, test: &str) -> PathBuf {
    let (out, dir) = trace_compare(
        name,
        &program(name, Twin::Rust),
        &program(name, Twin::C),
        test,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.starts_with(&format!("{name}: identical, ")),
        "{stdout}"
    );
    dir
}

/// Every normalised task of one run, the main task (the one that ran execve) first.
fn tasks(dir: &Path) -> Vec<Vec<String>> {
    let mut tasks: Vec<Vec<String>> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            p.extension().is_some_and(|x| x == "norm").then(|| {
                fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(String::from)
                    .collect()
            })
        })
        .collect();
    tasks.sort_by_key(|t: &Vec<String>| !t[0].starts_with("execve("));
    tasks
}

/// Index of the first line at or after `from` that starts with `prefix`.
fn find(lines: &[String], from: usize, prefix: &str) -> Option<usize> {
    lines[from..]
        .iter()
        .position(|l| l.starts_with(prefix))
        .map(|i| i + from)
}

#[test]
fn process_server_identical_to_twin() {
    assert_identical("process_server", "process_identical");
}

#[test]
fn thread_server_identical_to_twin() {
    assert_identical("thread_server", "thread_identical");
}

#[test]
fn client_identical_to_twin() {
    assert_identical("client", "client_identical");
}

/// The comparison can fail: the process server against the thread server.
#[test]
fn comparison_reports_different_programs() {
    let rust = program("process_server", Twin::Rust);
    let other = program("thread_server", Twin::C);
    let (out, _) = trace_compare("process_server", &rust, &other, "different");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("process_server: DIFFERENT: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("clone3("),
        "the diff shows the thread server's clone3: {stdout}"
    );
}

/// SIGCHLD interrupts the parent's accept: ERESTARTSYS, the handler reaps
/// with wait4 until ECHILD, accept fails with EINTR, and is called again. The
/// parent closes the connection after clone; each child closes the listener.
#[test]
fn process_server_trace_shows_the_lessons() {
    let dir = assert_identical("process_server", "process_lessons");
    for twin in ["rust", "c"] {
        let tasks = tasks(&dir.join(twin));
        let main = &tasks[0];
        let clone = find(main, 0, "clone(").expect("a clone");
        assert_eq!(
            main[clone + 1],
            "close(4) = 0",
            "the parent closes connfd after fork"
        );
        let restart = find(main, clone, "accept(3, ").unwrap();
        assert!(
            main[restart].ends_with("= ? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
            "{}",
            main[restart]
        );
        assert!(
            main[restart + 1].starts_with("--- SIGCHLD {"),
            "{}",
            main[restart + 1]
        );
        assert_eq!(main[restart + 2], "wait4(-1, NULL, WNOHANG, NULL) = PID");
        assert_eq!(
            main[restart + 3],
            "wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD (No child processes)"
        );
        assert_eq!(
            main[restart + 4],
            "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)"
        );
        assert!(
            main[restart + 5].starts_with("accept(3, {sa_family=AF_INET"),
            "accept again: {}",
            main[restart + 5]
        );
        assert_eq!(tasks.len(), 6, "one child per connection");
        for child in &tasks[1..] {
            assert!(
                child.contains(&"close(3) = 0".to_string()),
                "the child closes listenfd: {child:?}"
            );
            assert_eq!(child.last().unwrap(), "+++ exited with 0 +++");
        }
    }
}

/// The thread server starts threads with clone3 and never joins them: the
/// main thread makes no futex wait, and each thread ends with exit, not
/// exit_group.
#[test]
fn thread_server_trace_detaches_rather_than_joins() {
    let dir = assert_identical("thread_server", "thread_lessons");
    for twin in ["rust", "c"] {
        let tasks = tasks(&dir.join(twin));
        let main = &tasks[0];
        assert_eq!(
            main.iter().filter(|l| l.starts_with("clone3(")).count(),
            tasks.len() - 1
        );
        assert!(
            !main.iter().any(|l| l.starts_with("futex(")),
            "the main thread waits for no thread"
        );
        assert!(!main.iter().any(|l| l.starts_with("wait4(")));
        for thread in &tasks[1..] {
            assert_eq!(thread[thread.len() - 2], "exit(0) = ?", "{thread:?}");
        }
    }
}

/// No Rust runtime start-up: no sigaltstack, no poll on fds 0-2, no SIGPIPE
/// disposition set before the program's first socket.
#[test]
fn no_rust_runtime_start_up() {
    for name in ["process_server", "thread_server", "client"] {
        let dir = assert_identical(name, "start_up");
        let main = &tasks(&dir.join("rust"))[0];
        let socket = find(main, 0, "socket(").expect("a socket call");
        for l in &main[..socket] {
            assert!(
                !l.starts_with("sigaltstack(")
                    && !l.starts_with("poll(")
                    && !l.starts_with("rt_sigaction(SIGPIPE"),
                "{name}: runtime start-up call {l}"
            );
        }
    }
}

/// Under each fault injected with strace, both servers stay identical to
/// their twins, and the fault shows in the traces.
#[test]
fn identical_under_injected_faults() {
    for fault in ["accept-emfile", "spawn-eagain", "read-write-eintr"] {
        for name in ["process_server", "thread_server"] {
            let (rust, c) = (program(name, Twin::Rust), program(name, Twin::C));
            let (out, dir) = trace_compare_under(Some(fault), name, &rust, &c, "faults");
            let stdout = text(&out.stdout);
            assert!(out.status.success(), "{stdout}");
            assert!(
                stdout.starts_with(&format!("{name} under {fault}: identical, ")),
                "{stdout}"
            );
            let injected = tasks(&dir.join("rust"))
                .concat()
                .iter()
                .filter(|l| l.ends_with("(INJECTED)"))
                .count();
            assert!(injected >= 1, "{name} under {fault}: nothing injected");
        }
    }
}
