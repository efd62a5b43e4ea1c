//! The io_uring server: its reads, writes and accepts are operations in a
//! ring, so a round trip makes no system call of its own, and strace sees
//! only the io_uring_enter calls that carry them. The comparison reads the
//! operations from the ring instead, and can tell two servers apart by
//! them alone. A kernel that refuses io_uring ends the server with a reason.

use harness::base::{port::free_port, server::Server};
use harness::scratch;
use harness::testing::pass;
use harness::tools::compare::{self, Job};
use harness::{Result, Twin, exe, program};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const NAME: &str = "uring_server";

/// io_uring_setup failing with ENOSYS (no io_uring in this kernel) or EPERM
/// (kernel.io_uring_disabled): the server says so and exits 1, in both
/// twins. strace makes the call fail, as such a kernel would.
#[test]
fn a_kernel_that_refuses_io_uring_ends_the_server_with_the_reason() {
    pass(|| {
        for twin in [Twin::Rust, Twin::C] {
            for (errno, text) in [
                ("ENOSYS", "Function not implemented"),
                ("EPERM", "Operation not permitted"),
            ] {
                let d = scratch!("uring/refused-{errno}-{twin:?}");
                let out = Command::new("strace")
                    .args(["-f", "-qq", "-o"])
                    .arg(d.join("trace"))
                    .arg("-e")
                    .arg(format!("inject=io_uring_setup:error={errno}"))
                    .arg(exe(NAME, twin))
                    .arg(free_port().to_string())
                    .output()
                    .map_err(|e| format!("strace: {e}"))?;
                let stderr = String::from_utf8_lossy(&out.stderr);
                let want = format!(
                    "io_uring_setup: {text}: this kernel refuses io_uring (see /proc/sys/kernel/io_uring_disabled)\n"
                );
                assert_eq!(out.status.code(), Some(1), "{twin:?} {errno}: {stderr}");
                assert_eq!(stderr, want, "{twin:?} {errno}");
                assert!(
                    out.stdout.is_empty(),
                    "{twin:?} {errno}: printed before it failed"
                );
            }
        }
        Ok(())
    });
}

/// The calls a trace holds, by name, from the line that matches `from` on.
fn calls_after(trace: &Path, from: &str) -> Result<Vec<String>> {
    let text = fs::read_to_string(trace).map_err(|e| e.to_string())?;
    let start = text
        .lines()
        .position(|l| l.contains(from))
        .ok_or_else(|| format!("no {from} in the trace"))?;
    Ok(text
        .lines()
        .skip(start + 1)
        .filter_map(|l| {
            let l = l.split_once(' ')?.1.trim_start();
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect())
}

/// Twenty round trips on one connection: once it is accepted (the one
/// getpeername, for the client's address), the server makes no system call
/// but io_uring_enter, the reply's send and its stdout line go to the
/// kernel in one of them, and each round trip takes at most two (the one
/// that submits, and the one that waits for the next message).
#[test]
fn a_round_trip_makes_no_system_call_of_its_own() {
    pass(|| {
        for twin in [Twin::Rust, Twin::C] {
            let trace = scratch!("uring/trips-{twin:?}").join("trace");
            let server = Server::build(NAME, twin).traced(&[], &trace).start()?;
            let mut c = server.connect()?;
            const TRIPS: usize = 20;
            for i in 0..TRIPS {
                c.check(format!("round trip {i}\n").as_bytes())?;
            }
            server.serving(1)?;
            c.finish()?;
            server.settled()?;
            server.stop();
            let calls = calls_after(&trace, "getpeername(")?;
            let others: Vec<&String> = calls
                .iter()
                .filter(|n| n.as_str() != "io_uring_enter")
                .collect();
            assert!(others.is_empty(), "{twin:?}: other calls {others:?}");
            let enters = calls.len();
            assert!(
                enters <= 2 * TRIPS + 4,
                "{twin:?}: {enters} io_uring_enter for {TRIPS} round trips"
            );
            let text = fs::read_to_string(&trace).map_err(|e| e.to_string())?;
            let batches = text
                .lines()
                .filter(|l| {
                    l.contains("io_uring_enter(") && l.contains(", 2, 1, IORING_ENTER_GETEVENTS")
                })
                .count();
            assert!(
                batches >= TRIPS,
                "{twin:?}: {batches} io_uring_enter submitting a send and a write together"
            );
        }
        Ok(())
    });
}

/// Compiles the C twin of the io_uring server from the repository's
/// sources into `out`, its main source first edited by `edit`.
fn build_c_variant(out: &Path, edit: impl Fn(&str) -> String) -> Result<PathBuf> {
    let p = program(NAME)?;
    let repo = |s: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join(s);
    let main = repo(p.c_sources[0]);
    let src = out.join("uring_server.c");
    fs::write(
        &src,
        edit(&fs::read_to_string(&main).map_err(|e| e.to_string())?),
    )
    .map_err(|e| e.to_string())?;
    let exe = out.join(NAME);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(programs::C_FLAGS)
        .arg("-iquote")
        .arg(main.parent().unwrap())
        .arg(&src)
        .args(p.c_sources[1..].iter().map(|s| {
            if s.ends_with(".c") {
                repo(s).into_os_string()
            } else {
                s.into()
            }
        }))
        .arg("-o")
        .arg(&exe)
        .status()
        .map_err(|e| format!("cc: {e}"))?;
    if !status.success() {
        return Err("the variant did not build".into());
    }
    Ok(exe)
}

/// The comparison reads the operations from the rings: a C twin whose
/// receives stop after 4096 bytes rather than 8192 makes the very same
/// system calls (the limit is a field of an operation, which strace does
/// not see), and the comparison finds it in the queued operations. The
/// same sources unedited compare identical, operations included.
#[test]
fn queued_operations_are_compared_and_can_differ() {
    pass(|| {
        let pair = |b: PathBuf, test: &str| -> Result<compare::Outcome> {
            let mut job = Job::twins(program(NAME)?, None);
            job.b = b;
            compare::run(&job, &scratch!("uring/{test}"))
        };
        let same = build_c_variant(&scratch!("uring/ops-same-build"), str::to_string)?;
        let outcome = pair(same, "ops-same")?;
        assert!(outcome.identical, "{}", outcome.report);
        assert!(
            outcome
                .report
                .contains("operations they queued in their rings: identical"),
            "{}",
            outcome.report
        );
        let edited = |src: &str| {
            let from = "sqe->optlen = URING_BUFSIZE;";
            assert!(src.contains(from), "the edit no longer applies");
            src.replace(from, "sqe->optlen = URING_BUFSIZE / 2;")
        };
        let half = build_c_variant(&scratch!("uring/ops-half-build"), edited)?;
        let outcome = pair(half, "ops-half")?;
        assert!(!outcome.identical, "{}", outcome.report);
        let (calls, ops) = outcome
            .report
            .split_once("  queued operations DIFFERENT")
            .ok_or_else(|| format!("no difference in the operations: {}", outcome.report))?;
        assert!(calls.starts_with("uring_server: identical"), "{calls}");
        assert!(
            ops.contains("optlen=8192") && ops.contains("optlen=4096"),
            "{ops}"
        );
        Ok(())
    });
}

/// `make explain-uring` lists every operation each twin queued, beside the
/// line of each twin that queued it (the `uring_sqe` call of its opcode),
/// in the terminal and on the page.
#[test]
fn explain_shows_each_queued_operation_beside_the_lines_that_queued_it() {
    pass(|| {
        let p = program(NAME)?;
        let d = scratch!("uring/explain");
        let e = harness::tools::explain::run(p, &d)?;
        let text = harness::tools::explain::queued::render(p, &e.dir)?
            .ok_or("no operations for the io_uring server")?;
        let recv = text
            .lines()
            .find(|l| l.contains(" RECV fd="))
            .ok_or_else(|| format!("no RECV row: {text}"))?;
        assert!(
            recv.starts_with("uring_server.c:")
                && recv.contains("queue_recv")
                && recv.trim_end().ends_with("queue_recv")
                && recv.contains("uring_server.rs:"),
            "{recv}"
        );
        assert!(!text.contains('≠'), "the twins queued the same: {text}");
        let page = harness::tools::explain::html::page(&e);
        assert!(
            page.contains("operations queued in the ring"),
            "the page lists them"
        );
        assert!(page.contains("queue_send"), "the page names the lines");
        Ok(())
    });
}
