//! `make bench` keeps working: a short run of the benchmark measures every
//! server and writes its table, and the faithful twins make the same number
//! of system calls per connection. (Speed itself is never asserted here.)

mod common;

use common::{Twin, program, require};
use std::path::PathBuf;
use std::process::Command;

#[test]
fn a_short_benchmark_fills_the_table() {
    require("strace", "strace");
    require("valgrind", "valgrind");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench");
    let rust_dir = program("process_server", Twin::Rust)
        .parent()
        .unwrap()
        .to_path_buf();
    let c_dir = program("process_server", Twin::C)
        .parent()
        .unwrap()
        .to_path_buf();
    let run = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--seconds", "0.2", "--reps", "1", "--out"])
        .arg(&out)
        .arg("--rust-dir")
        .arg(&rust_dir)
        .arg("--c-dir")
        .arg(&c_dir)
        .output()
        .expect("run bench");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");

    let table = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        table,
        "the table on stdout is the one written"
    );
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 2 * 16,
        "a header, then a row per measure and model:\n{csv}"
    );
    for row in csv.lines().skip(1) {
        let f: Vec<&str> = row.rsplitn(7, ',').collect();
        for v in &f[3..6] {
            assert!(
                v.parse::<f64>().is_ok_and(|x| x > 0.0),
                "every server measured: {row}"
            );
        }
    }
    for model in ["process", "thread"] {
        let row = csv
            .lines()
            .find(|l| l.starts_with(&format!("\"system calls per connection\",{model},")))
            .unwrap();
        assert!(
            row.ends_with(",1.000,") || row.contains(",1.000,"),
            "Rust and C make the same system calls: {row}"
        );
    }
}
