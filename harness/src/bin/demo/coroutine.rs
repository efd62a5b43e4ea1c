//! `demo coroutine`: coroutine_server, then fiber_server, each under
//! `strace -f`: one thread, an idle client that does not block another,
//! what a round trip costs in system calls, and what a hundred idle
//! connections cost in memory.

use crate::{Clock, temp_dir};
use harness::base::client::Conn;
use harness::base::server::Server;
use harness::base::{dir, procfs};
use harness::{Call, Result, Twin};
use std::path::Path;
use std::time::Instant;

/// The idle clients added once A and B have been served.
const MORE: usize = 100;

/// Both servers, then the lesson.
pub fn coroutine(twin: Twin, t: &Clock) -> Result<()> {
    let dir = temp_dir("coroutine")?;
    let result = [
        ("coroutine_server", "swapcontext"),
        ("fiber_server", "fiber_swap"),
    ]
    .into_iter()
    .try_for_each(|(name, switch)| one_server(name, switch, twin, &dir, t));
    dir::remove(&dir);
    result?;
    t.say("A coroutine keeps a connection's code blocking-style, read then write in one loop as in the process server's child, on one thread for all: a connection's place is its stack, 68 KiB of address space with its guard page, of which it touches a page before it serves and about three after. swapcontext sets the signal mask at every switch, an rt_sigprocmask each, two per round trip, though the mask never changes; fiber_swap saves only the registers a called function must keep, and makes no system call.");
    Ok(())
}

/// What one server shows: A idle, B served, B's calls, 100 more clients.
fn one_server(name: &str, switch: &str, twin: Twin, dir: &Path, t: &Clock) -> Result<()> {
    let trace = dir.join(name);
    let server = Server::build(name, twin).traced(&[], &trace).start()?;
    server.settled()?;
    t.say(&format!(
        "{name} on port {}, under strace -f: {} thread, {}",
        server.port,
        server.tasks(),
        waits(&server)
    ));
    let mut a = server.connect()?;
    a.check(b"hello from A\n")?;
    server.serving(1)?;
    t.say("A: connected, sent \"hello from A\", got \"HELLO FROM A\"; now A stays connected, idle: its coroutine waits in co_read, on its own stack");
    let mut b = server.connect()?;
    server.serving(2)?;
    let seen = complete_lines(&trace).len();
    let sent = Instant::now();
    let reply = b.round_trip(b"hello from B\n")?;
    let ms = sent.elapsed().as_secs_f64() * 1000.0;
    server.serving(2)?;
    t.say(&format!(
        "B: connected, sent \"hello from B\", got {:?} {ms:.1} ms later, A still idle: {} thread, {}; A does not block B (make demo-iterative: there it did)",
        String::from_utf8_lossy(&reply).trim_end(),
        server.tasks(),
        waits(&server)
    ));
    let calls = round_trip(&trace, seen);
    let masks = calls
        .iter()
        .filter(|l| l.starts_with("rt_sigprocmask("))
        .count();
    t.say(&format!(
        "B's round trip in the trace: {} system calls in the server besides epoll_wait, {masks} of them rt_sigprocmask ({switch}):",
        calls.len()
    ));
    for l in &calls {
        println!("    {l}");
    }
    more_clients(&server, t)
}

/// Where the server's one thread is.
fn waits(server: &Server) -> &'static str {
    if procfs::blocked_in(server.pid, server.pid, Call::EpollWait) {
        "blocked in epoll_wait"
    } else {
        "not in epoll_wait"
    }
}

/// [`MORE`] idle clients more, and the server's memory before and after.
fn more_clients(server: &Server, t: &Clock) -> Result<()> {
    let before = memory(server.pid)?;
    let conns: Vec<Conn> = (0..MORE).map(|_| server.connect()).collect::<Result<_>>()?;
    server.serving(MORE + 2)?;
    let after = memory(server.pid)?;
    let each = |i: usize| (after[i] as f64 - before[i] as f64) / MORE as f64;
    t.say(&format!(
        "{MORE} more idle clients: {} connections held, still {} thread; VmSize {} -> {} kB, {:.1} KiB a connection (its stack and guard page, mapped); VmRSS {} -> {} kB, {:.1} KiB a connection (touched: the top page of each mapping, written before its coroutine first runs)",
        procfs::sockets(server.pid) - 1,
        server.tasks(),
        before[0],
        after[0],
        each(0),
        before[1],
        after[1],
        each(1)
    ));
    drop(conns);
    Ok(())
}

/// VmSize and VmRSS of process `pid`, in kB.
fn memory(pid: i32) -> Result<[u64; 2]> {
    let kb = |f| procfs::kb(pid, "status", f).ok_or(format!("no {f} for pid {pid}"));
    Ok([kb("VmSize")?, kb("VmRSS")?])
}

/// The trace's complete lines, without the pid `strace -f` puts first
/// (a call's first half is written as it starts: the server asleep in
/// epoll_wait leaves an unfinished last line).
fn complete_lines(trace: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(trace).unwrap_or_default();
    let end = text.rfind('\n').map_or(0, |i| i + 1);
    text[..end]
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((pid, rest)) if pid.parse::<u32>().is_ok() => rest.trim_start().to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// The calls after line `seen` of the trace, the server asleep again:
/// each but epoll_wait, which woke it for them.
fn round_trip(trace: &Path, seen: usize) -> Vec<String> {
    complete_lines(trace)
        .into_iter()
        .skip(seen)
        .filter(|l| !l.contains("epoll_wait") && !l.starts_with("---") && !l.starts_with("+++"))
        .collect()
}
