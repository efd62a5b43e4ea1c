//! The tools behind `make compare`, `make compare-pair` and `make bench`,
//! run as a user runs them. (Speed itself is never asserted here.)

use harness::process::require;
use harness::{Twin, exe, servers};
use std::path::PathBuf;
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn trace_compare(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trace_compare"))
        .args(args)
        .output()
        .expect("run trace_compare")
}

/// `make compare-pair`: any two executables through a model's session;
/// identical for a program and its twin, different for two programs.
#[test]
fn compare_pair_tells_alike_from_different() {
    let dir = tmp("compare-pair");
    let dir = dir.to_str().unwrap();
    let rust = exe("process_server", Twin::Rust);
    let c = exe("process_server", Twin::C);
    let other = exe("sigign_server", Twin::C);
    let other = if other.exists() {
        other
    } else {
        exe("thread_server", Twin::C)
    };
    let same = trace_compare(&[
        "--dir",
        dir,
        "--model",
        "process",
        c.to_str().unwrap(),
        rust.to_str().unwrap(),
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    assert!(
        text(&same.stdout).starts_with("process_server: identical, "),
        "{}",
        text(&same.stdout)
    );

    let differ = trace_compare(&[
        "--dir",
        dir,
        "--model",
        "process",
        other.to_str().unwrap(),
        rust.to_str().unwrap(),
    ]);
    assert_eq!(differ.status.code(), Some(1), "{}", text(&differ.stdout));
    assert!(
        text(&differ.stdout).starts_with("process_server: DIFFERENT: "),
        "{}",
        text(&differ.stdout)
    );
}

/// `--help` says how to use it; a wrong argument is an error, status 2.
#[test]
fn tools_answer_help_and_wrong_arguments() {
    for tool in [
        env!("CARGO_BIN_EXE_trace_compare"),
        env!("CARGO_BIN_EXE_bench"),
    ] {
        let help = Command::new(tool).arg("--help").output().unwrap();
        assert_eq!(help.status.code(), Some(0));
        assert!(
            text(&help.stdout).starts_with("usage: "),
            "{}",
            text(&help.stdout)
        );
        let wrong = Command::new(tool).arg("--no-such-option").output().unwrap();
        assert_eq!(wrong.status.code(), Some(2));
        assert!(
            text(&wrong.stderr).contains("usage: "),
            "{}",
            text(&wrong.stderr)
        );
    }
    let unknown = trace_compare(&["no_such_program"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("no program \"no_such_program\""),
        "{}",
        text(&unknown.stderr)
    );
}

/// `make bench` keeps working: a short run measures every server of the
/// table, Rust and C, writes its table, and the twins make the same number
/// of system calls per connection.
#[test]
fn a_short_benchmark_fills_the_table() {
    require("strace", "strace").unwrap();
    require("valgrind", "valgrind").unwrap();
    let out = tmp("bench");
    let run = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--seconds", "0.2", "--reps", "1", "--out"])
        .arg(&out)
        .output()
        .expect("run bench");
    assert!(run.status.success(), "{}", text(&run.stderr));

    let table = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert_eq!(
        text(&run.stdout),
        table,
        "the table on stdout is the one written"
    );
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    for server in servers() {
        // measure (quoted, with commas), model, rust, c, std, rust_c, rust_std, c_spread
        let rows: Vec<&str> = csv
            .lines()
            .filter(|l| l.rsplit(',').nth(6) == Some(server.short))
            .collect();
        assert!(
            rows.len() >= 8,
            "{}: a row per measure:\n{csv}",
            server.short
        );
        for row in &rows {
            let f: Vec<&str> = row.rsplitn(7, ',').collect();
            for v in &f[3..6] {
                assert!(
                    v.is_empty() || v.parse::<f64>().is_ok_and(|x| x > 0.0),
                    "{row}"
                );
            }
            assert!(
                !f[5].is_empty() && !f[4].is_empty(),
                "Rust and C measured: {row}"
            );
        }
        let syscalls = rows
            .iter()
            .find(|l| l.starts_with("\"system calls per connection\","))
            .unwrap();
        // A pool's thread that joins the workers races each worker's exit:
        // its wait for it happens, or not, in either twin.
        let ratio: f64 = syscalls.split(',').nth(5).unwrap().parse().unwrap();
        let tolerance = if server.model().unwrap().pool.is_some() {
            0.02
        } else {
            0.0
        };
        assert!(
            (ratio - 1.0).abs() <= tolerance,
            "Rust and C make the same system calls: {syscalls}"
        );
    }
}

/// `make explain-NAME`: the tool answers `--help`, refuses a wrong
/// argument, and explains the client in three columns, writing its page.
#[test]
fn explain_prints_three_columns_and_writes_the_page() {
    let explain = env!("CARGO_BIN_EXE_explain");
    let help = Command::new(explain).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).starts_with("usage: explain "));
    let wrong = Command::new(explain)
        .arg("--no-such-option")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(text(&wrong.stderr).contains("usage: "));

    let dir = tmp("explain");
    let run = Command::new(explain)
        .arg("--dir")
        .arg(&dir)
        .arg("client")
        .output()
        .expect("run explain");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let out = text(&run.stdout);
    let row = out
        .lines()
        .find(|l| l.contains("connect(3, {…}, 16) = 0"))
        .unwrap_or_else(|| panic!("no connect row:\n{out}"));
    assert!(
        row.starts_with("client.c:") && row.contains("client.rs:"),
        "{row}"
    );
    assert!(dir.join("client.html").exists());
}
