//! The lessons as programs: what the iterative, zombie, SIG_IGN and reaper
//! servers teach, each shown on both twins, from the outside and in their
//! traces.

use harness::base::client::Conn;
use harness::base::procfs::{accept_queue, tasks};
use harness::base::{server::Server, wait::wait_until};
use harness::{Result, Twin, twin_tests};
use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;

/// A trace file of the test's own (tests run in parallel).
fn trace_file(test: &str, twin: Twin) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lesson-{test}-{twin:?}.trace"))
}

/// Whether `conn` has nothing to read yet (and is not at end of file).
fn nothing_yet(conn: &Conn) -> Result<bool> {
    conn.0.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut b = [0u8; 1];
    let r = (&conn.0).read(&mut b);
    conn.0.set_nonblocking(false).map_err(|e| e.to_string())?;
    match r {
        Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(true),
        Ok(_) => Ok(false),
        Err(e) => Err(format!("read: {e}")),
    }
}

/// One idle client blocks everyone: with A connected, B's connect succeeds
/// (the kernel queues it) but its message waits unread while the server
/// sits in A's read; when A leaves, B is accepted and answered at once.
/// Then clients one after another are all served exactly.
fn iterative_one_idle_client_blocks_the_next(twin: Twin) -> Result<()> {
    let server = Server::start("iterative_server", twin)?;
    let mut a = server.connect()?;
    a.check(b"A is here\n")?;
    server.serving(1)?;

    let mut b = server.connect()?;
    b.0.write_all(b"B waits\n").map_err(|e| e.to_string())?;
    wait_until("B in the accept queue", || {
        accept_queue(server.port) == Some(1)
    })?;
    for _ in 0..3 {
        // A idle, the server in A's read, B unaccepted: no reply for B.
        a.check(b"A still here\n")?;
        server.serving(1)?;
        assert_eq!(
            accept_queue(server.port),
            Some(1),
            "B stays queued while A stays"
        );
        assert!(nothing_yet(&b)?, "B got a reply while A was connected");
    }
    a.finish()?;
    // At once: within a second of A's leaving (the server accepts B and
    // reads the message already waiting).
    let mut reply = [0u8; 8];
    b.0.set_read_timeout(Some(std::time::Duration::from_secs(1)))
        .map_err(|e| e.to_string())?;
    b.0.read_exact(&mut reply)
        .map_err(|e| format!("B's reply, within 1 s of A's leaving: {e}"))?;
    b.0.set_read_timeout(Some(harness::base::wait::DEADLINE))
        .map_err(|e| e.to_string())?;
    assert_eq!(&reply, b"B WAITS\n");
    b.finish()?;
    server.settled()?;

    for i in 0..20 {
        let mut c = server.connect()?;
        c.check(format!("client {i} of 20\n").as_bytes())?;
        c.check(&harness::base::client::all_bytes())?;
        c.finish()?;
    }
    server.settled()
}

/// Nobody waits for the children: each one that ends stays a zombie,
/// exactly one per client gone, and the server goes on serving.
fn zombie_server_keeps_one_zombie_per_client(twin: Twin) -> Result<()> {
    const N: usize = 5;
    let server = Server::start("zombie_server", twin)?;
    for i in 0..N {
        let mut c = server.connect()?;
        c.check(format!("client {i}\n").as_bytes())?;
        c.finish()?;
        wait_until(&format!("{} zombies", i + 1), || server.zombies() == i + 1)?;
    }
    assert_eq!(
        server.children().len(),
        N,
        "every child still in the process table"
    );
    server.connect()?.check(b"still serving\n")?;
    Ok(())
}

/// With SIGCHLD ignored the kernel reaps the children itself: no zombie,
/// no handler, no wait4, and accept is never interrupted.
fn sigign_server_leaves_no_zombie_and_never_waits(twin: Twin) -> Result<()> {
    const N: usize = 5;
    let trace = trace_file("sigign", twin);
    let server = Server::build("sigign_server", twin)
        .traced(&[], &trace)
        .start()?;
    for i in 0..N {
        let mut c = server.connect()?;
        c.check(format!("client {i}\n").as_bytes())?;
        c.finish()?;
        server.settled()?;
    }
    assert_eq!(server.zombies(), 0);
    assert!(server.children().is_empty());
    server.stop();
    let trace = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
    assert!(
        trace.contains("rt_sigaction(SIGCHLD, {sa_handler=SIG_IGN"),
        "SIGCHLD ignored"
    );
    assert!(!trace.contains("wait4("), "nobody waits");
    assert!(!trace.contains("ERESTARTSYS"), "accept never interrupted");
    assert_eq!(trace.matches("clone(").count(), N, "a child per client");
    Ok(())
}

/// The reaper joins every worker as it ends and prints its exit value;
/// afterwards two threads remain (main and reaper) and the descriptors the
/// server started with.
fn reaper_joins_every_worker(twin: Twin) -> Result<()> {
    const N: usize = 6;
    let server = Server::start("reaper_server", twin)?;
    let fds_at_start = server.fds();
    let conns = (0..N)
        .map(|_| server.connect())
        .collect::<Result<Vec<_>>>()?;
    server.serving(N)?;
    for (i, mut c) in conns.into_iter().enumerate() {
        c.check(format!("worker {i}\n").as_bytes())?;
        c.finish()?;
        server.serving(N - 1 - i)?;
    }
    server.settled()?;
    wait_until("every worker joined", || {
        server.stdout().matches("joined worker ").count() == N
    })?;
    assert_eq!(tasks(server.pid).len(), 2, "main and reaper");
    wait_until("descriptors back to the start", || {
        server.fds() == fds_at_start
    })?;
    let out = server.stdout();
    for n in 1..=N {
        assert!(
            out.contains(&format!("joined worker {n}\n")),
            "worker {n} joined: {out}"
        );
    }
    Ok(())
}

twin_tests!(
    iterative_one_idle_client_blocks_the_next,
    zombie_server_keeps_one_zombie_per_client,
    sigign_server_leaves_no_zombie_and_never_waits,
    reaper_joins_every_worker,
);
