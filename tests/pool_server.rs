//! The pool server: one acceptor, a fixed pool of worker threads each with
//! its own epoll loop, every connection owned by one worker.

use harness::base::client::{Conn, at_once, talk};
use harness::base::procfs;
use harness::base::{port::free_port, process::require, server::Server, wait::wait_until};
use harness::{Result, Twin, exe, scratch, twin_tests};
use std::collections::BTreeMap;
use std::fs;
use std::process::Command;

const NAME: &str = "pool_server";

/// Starts the pool server with `threads` workers, behind `wrapper` if any.
fn start(twin: Twin, threads: &str, wrapper: &[&str]) -> Result<Server> {
    let args = [threads];
    let build = Server::build(NAME, twin).args(&args);
    match wrapper.split_first() {
        Some((first, rest)) => build
            .wrap(|exe| {
                let mut cmd = Command::new(first);
                cmd.args(rest).arg(exe);
                cmd
            })
            .start(),
        None => build.start(),
    }
}

/// The sockets each epoll set of `pid` watches, by the epoll descriptor:
/// the acceptor's holds the listening socket, each worker's its connections.
fn sockets_per_epoll(pid: i32) -> BTreeMap<u32, usize> {
    let fd_dir = format!("/proc/{pid}/fd");
    let is_socket = |fd: &str| {
        fs::read_link(format!("{fd_dir}/{fd}"))
            .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
    };
    let mut per = BTreeMap::new();
    for e in fs::read_dir(&fd_dir).unwrap().flatten() {
        let target = fs::read_link(e.path()).unwrap_or_default();
        if target.to_string_lossy() != "anon_inode:[eventpoll]" {
            continue;
        }
        let fd: u32 = e.file_name().to_string_lossy().parse().unwrap();
        let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
        let n = info
            .lines()
            .filter_map(|l| {
                l.strip_prefix("tfd:")?
                    .split_whitespace()
                    .next()
                    .map(str::to_string)
            })
            .filter(|t| is_socket(t))
            .count();
        per.insert(fd, n);
    }
    per
}

/// Four workers, four hundred connections: handed out in turn, each worker
/// owns about a quarter of them (between 80 and 120), as the kernel's own
/// account of each epoll set shows.
fn connections_spread_over_the_workers(twin: Twin) -> Result<()> {
    let server = start(twin, "4", &[])?;
    let conns: Vec<Conn> = (0..400).map(|_| server.connect()).collect::<Result<_>>()?;
    wait_until("400 connections, each in a worker's epoll set", || {
        sockets_per_epoll(server.pid).values().sum::<usize>() == 401
    })?;
    let per = sockets_per_epoll(server.pid);
    let workers: Vec<usize> = per.values().copied().filter(|&n| n != 1).collect();
    assert_eq!(
        per.len(),
        5,
        "an acceptor's epoll set and four workers': {per:?}"
    );
    assert_eq!(workers.len(), 4, "{per:?}");
    assert!(workers.iter().all(|n| (80..=120).contains(n)), "{per:?}");
    at_once(conns, |id, conn| talk(id, 2, conn))
}

/// A worker that cannot be started is reported, and the server runs with
/// the others; with none, it says so and exits.
fn a_worker_that_cannot_start(twin: Twin) -> Result<()> {
    require("strace", "strace")?;
    let dir = scratch!("pool-spawn-{twin:?}");
    let trace = dir.join("trace").display().to_string();
    let second = [
        "strace",
        "-f",
        "-qq",
        "-o",
        &trace,
        "-e",
        "inject=clone3:error=EAGAIN:when=2",
    ];
    let server = start(twin, "2", &second)?;
    let mut c = server.connect()?;
    c.check(b"served by the one worker\n")?;
    c.finish()?;
    let stderr = server.stderr();
    assert!(
        stderr.starts_with("pthread_create: Resource temporarily unavailable\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(": running with 1 of 2 worker threads\n"),
        "{stderr}"
    );
    server.stop();

    let none = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-o",
            &trace,
            "-e",
            "inject=clone3:error=EAGAIN",
        ])
        .arg(exe(NAME, twin))
        .args([&free_port().to_string(), "2"])
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.ends_with(": no worker thread could be started\n"),
        "{stderr}"
    );
    Ok(())
}

/// helgrind finds no race with fifty clients at once on four workers: no
/// lock guards a connection, because one thread owns it.
fn helgrind_under_fifty_clients(twin: Twin) -> Result<()> {
    require("valgrind", "valgrind")?;
    let dir = scratch!("pool-helgrind-{twin:?}");
    let log = format!("--log-file={}/vg.%p", dir.display());
    let server = start(twin, "4", &["valgrind", "--tool=helgrind", &log])?;
    let conns = (0..50)
        .map(|_| server.connect())
        .collect::<Result<Vec<_>>>()?;
    at_once(conns, |id, conn| talk(id, 4, conn))?;
    wait_until("every connection closed", || {
        procfs::sockets(server.pid) == 1
    })?;
    server.terminate()?;
    let mut logs = 0;
    for e in fs::read_dir(&dir).map_err(|e| e.to_string())? {
        let log = fs::read_to_string(e.unwrap().path()).unwrap();
        if !log.contains("ERROR SUMMARY: 0 errors from 0 contexts") {
            return Err(format!("helgrind:\n{log}"));
        }
        logs += 1;
    }
    if logs != 1 {
        return Err(format!(
            "one helgrind log, of the server: {logs} in {}",
            dir.display()
        ));
    }
    Ok(())
}

/// The read end of each pipe created in `trace`, one task's `strace` file.
fn pipe_read_ends(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter_map(|l| {
            let rest = l
                .strip_prefix("pipe([")
                .or_else(|| l.strip_prefix("pipe2(["))?;
            Some(rest.split(',').next()?.to_string())
        })
        .collect()
}

/// A burst of connections handed over while a worker is held is taken in
/// with one read of its pipe: every record waiting, whole. strace holds
/// every epoll_wait 200 ms on its way back, so that the acceptor takes all
/// eight connections in one pass and four records wait in each worker's
/// pipe by the time it reads. Every client is then served.
fn a_burst_is_taken_in_with_one_read(twin: Twin) -> Result<()> {
    const RECORD: usize = 20; // an int and a sockaddr_in
    require("strace", "strace")?;
    let dir = scratch!("pool-burst-{twin:?}");
    let t = dir.join("trace").display().to_string();
    let held = [
        "strace",
        "-ff",
        "-qq",
        "-o",
        &t,
        "-e",
        "inject=epoll_wait:delay_exit=200000",
    ];
    let server = start(twin, "2", &held)?;
    let conns: Vec<Conn> = (0..8).map(|_| server.connect()).collect::<Result<_>>()?;
    at_once(conns, |id, conn| talk(id, 1, conn))?;
    server.stop();
    // A file per task (strace -ff): the main task's makes the pipes.
    let tasks: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    let pipes: Vec<String> = tasks.iter().flat_map(|t| pipe_read_ends(t)).collect();
    if pipes.len() != 2 {
        return Err(format!("not two workers' pipes: {pipes:?}"));
    }
    // What each read of a worker's pipe returned.
    let taken: Vec<usize> = tasks
        .iter()
        .flat_map(|t| t.lines())
        .filter_map(|l| {
            let fd = l.strip_prefix("read(")?.split(',').next()?;
            if !pipes.iter().any(|p| p == fd) {
                return None;
            }
            l.rsplit_once(" = ")?.1.trim().parse().ok()
        })
        .collect();
    if taken.iter().any(|n| n % RECORD != 0) || taken.iter().sum::<usize>() != 8 * RECORD {
        return Err(format!("the hand-over reads returned {taken:?} bytes"));
    }
    if !taken.contains(&(4 * RECORD)) {
        return Err(format!(
            "no worker took its four connections with one read: {taken:?} bytes"
        ));
    }
    Ok(())
}

twin_tests!(
    connections_spread_over_the_workers,
    a_burst_is_taken_in_with_one_read,
    a_worker_that_cannot_start,
    helgrind_under_fifty_clients,
);
