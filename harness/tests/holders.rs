//! Which task of a server serves each connection (`base::holders`), told
//! on real servers at rest: a pool's workers, reuseport's threads, a
//! preforked server's children, a prethreaded server's threads, a child
//! per connection; and the CPU time by task that follows the work.

use harness::base::client::Conn;
use harness::base::holders::{Holder, Task, Tie, holders, task_cpu_ns};
use harness::base::procfs;
use harness::base::server::Server;
use harness::{Result, Twin, twin_tests};
use std::collections::BTreeMap;

/// A 64-byte line.
const LINE: &[u8; 64] = b"the quick brown fox jumps over the lazy dog, again and again ok\n";

/// Starts `name`, opens `n` connections, each making one round trip,
/// waits until the server is at rest serving them all; the server, the
/// connections (kept open) and their holders.
fn at_rest(name: &str, twin: Twin, n: usize) -> Result<(Server, Vec<Conn>, Vec<Holder>)> {
    let server = Server::start(name, twin)?;
    let mut conns = Vec::new();
    for _ in 0..n {
        let mut c = server.connect()?;
        c.check(LINE)?;
        conns.push(c);
    }
    server.serving(n)?;
    let ports: Vec<u16> = conns
        .iter()
        .map(|c| c.0.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| e.to_string())?;
    let by_port = holders(server.pid, server.port, &ports)?;
    let held = ports.iter().map(|p| by_port[p]).collect();
    Ok((server, conns, held))
}

/// How many connections each task holds; an error for one tied to no
/// thread.
fn counts(held: &[Holder]) -> Result<BTreeMap<Task, usize>> {
    let mut n = BTreeMap::new();
    for h in held {
        let t = h
            .task()
            .ok_or_else(|| format!("tied to no thread: {h:?}"))?;
        *n.entry(t).or_insert(0) += 1;
    }
    Ok(n)
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<()> {
    if ok { Ok(()) } else { Err(what()) }
}

/// Every connection `how`-tied to a thread of the server process that is
/// not its main one.
fn worker_threads(server: &Server, held: &[Holder], how: Tie) -> Result<()> {
    for h in held {
        check(
            h.pid == server.pid
                && h.thread
                    .is_some_and(|(t, tie)| t != server.pid && tie == how),
            || format!("not a worker thread's by {how:?}: {h:?}"),
        )?;
    }
    Ok(())
}

/// The pool's acceptor hands connections round robin to its two workers:
/// ten connections, five each, the first and second apart; the work on
/// one connection is its worker's CPU time.
fn pool_round_robin(twin: Twin) -> Result<()> {
    let (server, mut conns, held) = at_rest("pool_server", twin, 10)?;
    worker_threads(&server, &held, Tie::Epoll)?;
    let n = counts(&held)?;
    check(n.values().eq([5, 5].iter()), || {
        format!("not 5 and 5: {n:?}")
    })?;
    check(held[0].task() != held[1].task(), || {
        format!("first two on one worker: {held:?}")
    })?;
    // The busy time follows the connection: its worker's, no other's.
    let before = task_cpu_ns(server.pid);
    for _ in 0..200 {
        conns[0].check(LINE)?;
    }
    server.serving(10)?;
    let after = task_cpu_ns(server.pid);
    let busiest = after
        .iter()
        .max_by_key(|(k, ns)| ns.saturating_sub(before.get(k).copied().unwrap_or(0)))
        .map(|(k, _)| *k);
    check(busiest == held[0].task().map(Into::into), || {
        format!(
            "busiest {busiest:?}, not {:?}: {before:?} to {after:?}",
            held[0]
        )
    })
}

/// reuseport's kernel hash spreads connections over its threads' own
/// listening sockets: each connection one thread's, in its epoll set.
fn reuseport_threads(twin: Twin) -> Result<()> {
    let (server, _conns, held) = at_rest("reuseport_server", twin, 10)?;
    worker_threads(&server, &held, Tie::Epoll)?;
    let n = counts(&held)?;
    check(n.len() <= 2 && n.values().sum::<usize>() == 10, || {
        format!("not 10 over at most 2 threads: {n:?}")
    })
}

/// A preforked server's two children take a connection each, and wait in
/// read on it.
fn prefork_children(twin: Twin) -> Result<()> {
    let (server, _conns, held) = at_rest("prefork_server", twin, 2)?;
    children(&server, &held)
}

/// A child per connection, each waiting in read on its own.
fn process_children(twin: Twin) -> Result<()> {
    let (server, _conns, held) = at_rest("process_server", twin, 3)?;
    children(&server, &held)
}

/// Each connection a distinct live child's, tied to it by its read.
fn children(server: &Server, held: &[Holder]) -> Result<()> {
    let live = procfs::live_children(server.pid);
    for h in held {
        check(
            live.contains(&h.pid) && h.thread == Some((h.pid, Tie::Read)),
            || format!("not a child's, in read: {h:?}, children {live:?}"),
        )?;
    }
    let n = counts(held)?;
    check(n.len() == held.len(), || format!("shared: {n:?}"))
}

/// A prethreaded server's two threads take a connection each, and wait in
/// read on it: on that descriptor.
fn prethread_threads(twin: Twin) -> Result<()> {
    let (server, _conns, held) = at_rest("prethread_server", twin, 2)?;
    worker_threads(&server, &held, Tie::Read)?;
    for h in &held {
        let (_, args) = h
            .task()
            .and_then(|t| procfs::syscall_args(t.pid, t.tid))
            .ok_or_else(|| format!("no call: {h:?}"))?;
        check(args[0] == h.fd as u64, || {
            format!("reads {}: {h:?}", args[0])
        })?;
    }
    let n = counts(&held)?;
    check(n.len() == 2, || format!("not two threads: {n:?}"))
}

/// A client port with no connection to the server is an error, not a
/// holder made up.
#[test]
fn an_unknown_client_is_an_error() {
    harness::testing::pass(|| {
        let (server, conns, _) = at_rest("prefork_server", Twin::Rust, 1)?;
        let port = conns[0].0.local_addr().map_err(|e| e.to_string())?.port();
        let stray = port.wrapping_add(1).max(1);
        match holders(server.pid, server.port, &[port, stray]) {
            Err(e) if e.contains(&format!(":{stray}")) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
}

twin_tests!(
    pool_round_robin,
    reuseport_threads,
    prefork_children,
    process_children,
    prethread_threads,
);
