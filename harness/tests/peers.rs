//! The peers `make bench` measures the classic servers against, beyond
//! std and tokio: monoio's io_uring runtime (`monoio_server`, built apart
//! with the harness's monoio feature, as `make build` builds it) and the
//! kernel's floor (`floor_server`), run as the bench runs them.

use harness::base::client::{Conn, at_once, messages, talk};
use harness::base::port::free_port;
use harness::base::process::{Output, Running, require};
use harness::base::wait::wait_until;
use harness::testing::pass;
use harness::{Result, Twin, exe, scratch};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// Clients at once, and messages from each.
const CLIENTS: usize = 20;
const MESSAGES: usize = 8;

/// `monoio_server`, built as `make build` builds it: apart, with the
/// harness's monoio feature (see harness/Cargo.toml).
fn monoio_server() -> PathBuf {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .args(["--features", "monoio", "--bin", "monoio_server"]);
    if !cfg!(debug_assertions) {
        cargo.arg("--release");
    }
    let built = cargo.output().expect("run cargo");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    exe("monoio_server", Twin::Rust)
}

/// Starts `exe`, behind `wrapper` (strace and its options) if not empty,
/// on a free port, and waits for its ready line; on another port if
/// something took that one meanwhile.
fn start(exe: &Path, wrapper: &[&str]) -> Result<(Running, u16)> {
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = match wrapper.split_first() {
            Some((tool, args)) => {
                let mut c = Command::new(tool);
                c.args(args).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.arg(port.to_string());
        let run = Running::spawn(cmd, exe, Output::Capture, None)?;
        match run.wait_for_stdout(&format!("listening on 0.0.0.0:{port}\n")) {
            Ok(()) => return Ok((run, port)),
            Err(e) if e.contains("Address already in use") => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// `CLIENTS` connections to `port`.
fn clients(port: u16) -> Result<Vec<Conn>> {
    (0..CLIENTS).map(|_| Conn::to(port)).collect()
}

/// SIGTERM ends it, as it ends the tokio servers (none of them catches
/// it), with nothing on stderr: what it wrote to stdout, and its status.
fn terminate(run: Running) -> Result<(ExitStatus, String)> {
    run.signal(libc::SIGTERM);
    let (status, out, err) = run.wait()?;
    if !err.is_empty() {
        return Err(format!("stderr: {err}"));
    }
    Ok((status, out))
}

/// The floor sends back exactly the bytes it read, every byte value, to
/// twenty clients at once, writes nothing but its ready line, and ends on
/// SIGTERM.
#[test]
fn the_floor_echoes_every_byte_as_it_came_to_twenty_clients_at_once() {
    pass(|| {
        let (run, port) = start(Path::new(env!("CARGO_BIN_EXE_floor_server")), &[])?;
        at_once(clients(port)?, |id, mut conn| {
            for msg in messages(id, MESSAGES) {
                let reply = conn.round_trip(&msg)?;
                if reply != msg {
                    return Err(format!("client {id}: {reply:?} for {msg:?}"));
                }
            }
            conn.finish()
        })?;
        let (status, out) = terminate(run)?;
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
        assert_eq!(out, format!("listening on 0.0.0.0:{port}\n"));
        Ok(())
    });
}

/// The floor is the least a round trip can cost: for a client that sends
/// its lines one after another, one epoll_wait(2), one read(2) and one
/// write(2) each, and nothing else (counted from the accept to the close:
/// a second accept4(2) finds the queue empty, and the end of file takes a
/// wakeup and a read of its own).
#[test]
fn the_floor_makes_three_calls_per_round_trip() {
    require("strace", "strace").unwrap();
    pass(|| {
        const TRIPS: usize = 50;
        let trace = scratch!("peers/floor").join("trace");
        let trace_arg = trace.to_str().unwrap();
        let floor = Path::new(env!("CARGO_BIN_EXE_floor_server"));
        let (run, port) = start(floor, &["strace", "-f", "-qq", "-o", trace_arg])?;
        let mut conn = Conn::to(port)?;
        for i in 0..TRIPS {
            let msg = format!("round trip {i}\n");
            if conn.round_trip(msg.as_bytes())? != msg.as_bytes() {
                return Err(format!("wrong reply to {msg:?}"));
            }
        }
        conn.finish()?;
        terminate(run)?;
        let text = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once(' ')?.1.trim_start().split_once('('))
            .map(|(name, _)| name)
            .skip_while(|&name| name != "accept4")
            .collect();
        let end = names
            .iter()
            .position(|&n| n == "close")
            .map_or(0, |i| i + 1);
        let mut counts = std::collections::BTreeMap::new();
        for name in &names[..end] {
            *counts.entry(*name).or_insert(0) += 1;
        }
        let want = std::collections::BTreeMap::from([
            ("accept4", 2),
            ("close", 1),
            ("epoll_ctl", 1),
            ("epoll_wait", TRIPS + 1),
            ("read", TRIPS + 1),
            ("write", TRIPS),
        ]);
        assert_eq!(counts, want, "{text}");
        Ok(())
    });
}

/// monoio's server replies upper-cased, every byte value, to twenty
/// clients at once, prints what the tokio servers print, and does its I/O
/// on io_uring: the ring set up, io_uring_enter called, and no read(2),
/// recv or send call, no epoll, poll or select, no write(2) but to stdout.
#[test]
fn monoio_serves_twenty_clients_at_once_on_io_uring() {
    require("strace", "strace").unwrap();
    let exe = monoio_server();
    pass(|| {
        let trace = scratch!("peers/monoio").join("trace");
        let traced = "trace=io_uring_setup,io_uring_enter,read,recvfrom,recvmsg,write,sendto,\
            sendmsg,epoll_wait,epoll_pwait,?epoll_pwait2,poll,ppoll,select,pselect6";
        let trace_arg = trace.to_str().unwrap();
        let (run, port) = start(
            &exe,
            &["strace", "-f", "-qq", "-e", traced, "-o", trace_arg],
        )?;
        at_once(clients(port)?, |id, conn| talk(id, MESSAGES, conn))?;
        let closed = "the other side has been closed.\n";
        wait_until("a line for each closed connection", || {
            run.stdout().matches(closed).count() == CLIENTS
        })?;
        let (status, out) = terminate(run)?;
        // strace ends as its one tracee did.
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
        let lines = out.matches("received from 127.0.0.1 at PORT ").count();
        assert!(lines >= CLIENTS * MESSAGES, "{lines} lines: {out}");
        let text = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
        check_io_uring(&text)
    });
}

/// What a trace of `monoio_server` must hold: a ring, and from its setup
/// on (before it, the loader and std's start-up read files and poll
/// descriptors 0 to 2), no I/O outside it.
fn check_io_uring(trace: &str) -> Result<()> {
    let calls: Vec<&str> = trace
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, call)| call.trim_start()))
        .filter(|c| !c.starts_with("---") && !c.starts_with("+++"))
        .skip_while(|c| !c.starts_with("io_uring_setup("))
        .collect();
    let setup = calls.first().ok_or("no io_uring_setup in the trace")?;
    if setup.contains(" = -1 ") {
        return Err(format!("the ring failed: {setup}"));
    }
    let enters = calls
        .iter()
        .filter(|c| c.starts_with("io_uring_enter("))
        .count();
    if enters < CLIENTS {
        return Err(format!(
            "{enters} io_uring_enter calls for {CLIENTS} clients"
        ));
    }
    let outside: Vec<&&str> = calls
        .iter()
        .filter(|c| !c.starts_with("io_uring_") && !c.starts_with("write(1, "))
        .collect();
    if !outside.is_empty() {
        return Err(format!("I/O outside the ring: {outside:?}"));
    }
    Ok(())
}

/// A kernel that refuses io_uring (ENOSYS: none; EPERM: disabled, or a
/// seccomp filter) ends monoio's server at once with one line and status
/// 1: it has no epoll driver to fall back to. strace makes the call fail,
/// as such a kernel would.
#[test]
fn monoio_on_a_kernel_that_refuses_io_uring_says_so_and_exits_1() {
    require("strace", "strace").unwrap();
    let exe = monoio_server();
    for (errno, text) in [
        ("ENOSYS", "Function not implemented"),
        ("EPERM", "Operation not permitted"),
    ] {
        let out = Command::new("strace")
            .args(["-f", "-qq", "-o"])
            .arg(scratch!("peers/refused-{errno}").join("trace"))
            .arg("-e")
            .arg(format!("inject=io_uring_setup:error={errno}"))
            .arg(&exe)
            .arg(free_port().to_string())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{errno}: {stderr}");
        assert!(
            stderr.starts_with(&format!("monoio_server: io_uring_setup: {text} ("))
                && stderr.ends_with(
                    ": this kernel refuses io_uring (see /proc/sys/kernel/io_uring_disabled)\n"
                )
                && stderr.lines().count() == 1,
            "{errno}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{errno}: printed before it failed");
    }
}
