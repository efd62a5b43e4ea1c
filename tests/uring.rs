//! The io_uring server: its reads, writes and accepts are operations in a
//! ring, so a round trip makes no system call of its own, and strace sees
//! only the io_uring_enter calls that carry them. The comparison reads the
//! operations from the ring instead, and can tell two servers apart by
//! them alone. A kernel that refuses io_uring, or lacks what the server
//! uses, ends the server with one line that says why.

use concserv::uring::{
    IORING_FEAT_NODROP, IORING_FEAT_SINGLE_MMAP, IORING_OP_ACCEPT, IORING_OP_RECV,
    IORING_SETUP_COOP_TASKRUN, IORING_SETUP_CQSIZE, IORING_SETUP_DEFER_TASKRUN,
    IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_SUBMIT_ALL, URING_CQ_ENTRIES, URING_SQ_ENTRIES,
};
use harness::base::process::{Output, Running};
use harness::base::wait::wait_until;
use harness::base::{port::free_port, server::Server};
use harness::scratch;
use harness::testing::pass;
use harness::tools::compare::{self, Job};
use harness::trace::ring::{SQE_SIZE, sqes_mapping};
use harness::{Result, Twin, exe, program};
use std::fs;
use std::os::unix::fs::FileExt;
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

/// The line a kernel that lacks `what`, which came in Linux `since`, ends
/// the server with.
fn lacks(what: &str, since: &str) -> String {
    format!("uring_server: this kernel lacks {what} (Linux {since} or later needed)\n")
}

/// strace's arguments that inject `spec` (`io_uring_setup:error=EINVAL`).
fn inject(spec: &str) -> Vec<String> {
    vec!["-e".into(), format!("inject={spec}")]
}

/// The io_uring server of `twin` started under strace with `args`, on a
/// free port; its trace in a scratch folder named after `case`.
fn start_traced(twin: Twin, case: &str, args: &[String]) -> Result<(Running, PathBuf)> {
    let trace = scratch!("uring/{case}-{twin:?}").join("trace");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(&trace)
        .args(args)
        .arg(exe(NAME, twin))
        .arg(free_port().to_string());
    let running = Running::spawn(cmd, &exe(NAME, twin), Output::Capture, None)?;
    Ok((running, trace))
}

/// What the server wrote on stderr before it exited 1 with nothing on
/// stdout; an error if it started listening instead, or ended otherwise.
fn refused(r: Running, case: &str) -> Result<String> {
    if r.wait_for_stdout("listening on").is_ok() {
        return Err(format!("{case}: the server started: {}", r.stderr()));
    }
    let (status, out, err) = r.wait()?;
    if status.code() != Some(1) || !out.is_empty() {
        return Err(format!("{case}: {status}, stdout {out:?}, stderr {err:?}"));
    }
    Ok(err)
}

/// The first 24 bytes of `io_uring_setup(2)`'s answer to the server, as
/// strace's `poke_exit` writes them: its entries and flags as it asked,
/// and `features`.
fn params_with(features: u32) -> String {
    let flags = IORING_SETUP_CQSIZE
        | IORING_SETUP_SUBMIT_ALL
        | IORING_SETUP_COOP_TASKRUN
        | IORING_SETUP_SINGLE_ISSUER
        | IORING_SETUP_DEFER_TASKRUN;
    [URING_SQ_ENTRIES, URING_CQ_ENTRIES, flags, 0, 0, features]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A kernel with io_uring but without a setup flag, a feature, the probe
/// or the buffer ring the server uses (strace fails the call, or rewrites
/// its answer, as such a kernel would give it): one line naming it, exit
/// status 1, in both twins, before anything is printed. A probe that fails
/// otherwise (ENOMEM) is an error of the call, said as such.
#[test]
fn a_kernel_without_what_the_server_uses_ends_it_naming_what() {
    pass(|| {
        let cases = [
            (
                "setup-einval",
                inject("io_uring_setup:error=EINVAL"),
                lacks("IORING_SETUP_DEFER_TASKRUN", "6.1"),
            ),
            (
                "no-single-mmap",
                inject(&format!(
                    "io_uring_setup:poke_exit=@arg2={}",
                    params_with(IORING_FEAT_NODROP)
                )),
                lacks("IORING_FEAT_SINGLE_MMAP", "5.4"),
            ),
            (
                "no-nodrop",
                inject(&format!(
                    "io_uring_setup:poke_exit=@arg2={}",
                    params_with(IORING_FEAT_SINGLE_MMAP)
                )),
                lacks("IORING_FEAT_NODROP", "5.5"),
            ),
            (
                "probe-einval",
                inject("io_uring_register:error=EINVAL:when=1"),
                lacks("IORING_REGISTER_PROBE", "5.6"),
            ),
            (
                "probe-enomem",
                inject("io_uring_register:error=ENOMEM:when=1"),
                "io_uring_register: Cannot allocate memory\n".to_string(),
            ),
            (
                "pbuf-ring-einval",
                inject("io_uring_register:error=EINVAL:when=2"),
                lacks("IORING_REGISTER_PBUF_RING", "5.19"),
            ),
        ];
        for twin in [Twin::Rust, Twin::C] {
            for (case, args, want) in &cases {
                let (r, _) = start_traced(twin, case, args)?;
                assert_eq!(refused(r, case)?, *want, "{twin:?} {case}");
            }
        }
        Ok(())
    });
}

/// `IORING_REGISTER_PROBE`'s answer as strace's `poke_exit` writes it: the
/// kernel's opcodes 0 to 27 (`IORING_OP_RECV`), each supported but `missing`.
fn probe_without(missing: u8) -> String {
    const LAST: u8 = 27;
    let mut b = vec![LAST, LAST + 1, 0, 0];
    b.extend([0; 12]);
    for op in 0..=LAST {
        let flags: u16 = if op == missing { 0 } else { 1 };
        b.extend([op, 0]);
        b.extend(flags.to_le_bytes());
        b.extend([0; 4]);
    }
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// A kernel whose probe does not list one of the operations the server
/// queues: the line names that operation and the Linux it came in, for
/// each of the eight, in both twins.
#[test]
fn a_kernel_without_an_operation_ends_the_server_naming_it() {
    pass(|| {
        let ops = [
            (6, "IORING_OP_POLL_ADD", "5.1"),
            (11, "IORING_OP_TIMEOUT", "5.4"),
            (13, "IORING_OP_ACCEPT", "5.5"),
            (14, "IORING_OP_ASYNC_CANCEL", "5.5"),
            (19, "IORING_OP_CLOSE", "5.6"),
            (23, "IORING_OP_WRITE", "5.6"),
            (26, "IORING_OP_SEND", "5.6"),
            (27, "IORING_OP_RECV", "5.6"),
        ];
        for twin in [Twin::Rust, Twin::C] {
            for (op, name, since) in ops {
                let args = inject(&format!(
                    "io_uring_register:poke_exit=@arg3={}:when=1",
                    probe_without(op)
                ));
                let (r, _) = start_traced(twin, &format!("probe-{op}"), &args)?;
                assert_eq!(refused(r, name)?, lacks(name, since), "{twin:?}");
            }
        }
        Ok(())
    });
}

/// Makes the kernel fail the start-up trial's `opcode` entry (on fd -1) at
/// prep with EINVAL, as a kernel without it does: a length for the
/// accept, MSG_WAITALL for the multishot recv, written into the entry in
/// `pid`'s ring through /proc/PID/mem while it waits to be submitted.
fn spoil_trial(pid: i32, opcode: u8) -> Result<()> {
    let (start, len) = sqes_mapping(pid)?;
    let mem = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .map_err(|e| format!("/proc/{pid}/mem: {e}"))?;
    let mut e = [0u8; SQE_SIZE];
    for at in (start..start + len).step_by(SQE_SIZE) {
        mem.read_exact_at(&mut e, at).map_err(|e| e.to_string())?;
        if e[0] == opcode && e[4..8] == (-1i32).to_le_bytes() {
            let (field, value) = match opcode {
                IORING_OP_ACCEPT => (24, 1u32),
                _ => (28, libc::MSG_WAITALL as u32),
            };
            return mem
                .write_all_at(&value.to_le_bytes(), at + field)
                .map_err(|e| e.to_string());
        }
    }
    Err(format!(
        "no trial entry of opcode {opcode} in pid {pid}'s ring"
    ))
}

/// What no probe tells (multishot accept, 5.19; multishot recv with a
/// byte limit, 6.17) the server tries at start, on fd -1. This kernel has
/// both, so the test makes each trial entry one the kernel refuses at
/// prep, with EINVAL, as an older kernel does: strace fails the trial's
/// io_uring_enter before it submits anything (EINTR) and stops the server
/// (SIGSTOP); the entry is rewritten in its ring; SIGCONT, and the server
/// enters again. One line naming what is missing, exit status 1.
#[test]
fn a_kernel_that_fails_the_trial_ends_the_server_naming_what() {
    pass(|| {
        let stop = inject("io_uring_enter:error=EINTR:signal=SIGSTOP:when=1");
        for twin in [Twin::Rust, Twin::C] {
            for (opcode, what, since) in [
                (IORING_OP_ACCEPT, "multishot accept", "5.19"),
                (IORING_OP_RECV, "multishot recv with a length limit", "6.17"),
            ] {
                let case = format!("trial-{opcode}");
                let (r, trace) = start_traced(twin, &case, &stop)?;
                wait_until("the server stopped in its trial", || {
                    fs::read_to_string(&trace).is_ok_and(|t| t.contains("--- stopped by SIGSTOP"))
                })?;
                spoil_trial(r.pid, opcode)?;
                r.signal(libc::SIGCONT);
                assert_eq!(refused(r, &case)?, lacks(what, since), "{twin:?}");
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
/// line of each twin that queued it (the `uring_sqe` call of its opcode;
/// for the start-up trial's, on fd -1, the call that passes -1), in the
/// terminal and on the page.
#[test]
fn explain_shows_each_queued_operation_beside_the_lines_that_queued_it() {
    pass(|| {
        let p = program(NAME)?;
        let d = scratch!("uring/explain");
        let e = harness::tools::explain::run(p, &d)?;
        let text = harness::tools::explain::queued::render(p, &e.dir)?
            .ok_or("no operations for the io_uring server")?;
        let row = |op: &str| {
            text.lines()
                .find(|l| l.contains(op))
                .ok_or_else(|| format!("no {op} row: {text}"))
        };
        for op in [" ACCEPT fd=-1 ", " RECV fd=-1 "] {
            let trial = row(op)?;
            assert!(
                trial.starts_with("uring.c:")
                    && trial.contains(" uring_trial ")
                    && trial.contains("uring.rs:")
                    && trial.trim_end().ends_with(" uring_trial"),
                "{trial}"
            );
        }
        let recv = row(" RECV fd=6 ")?;
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
