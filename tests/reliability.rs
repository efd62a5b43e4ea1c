//! No client and no passing fault can kill a server or lose a byte: resets,
//! half-closes, huge messages, idle crowds, descriptor exhaustion, and
//! failures injected with `strace --inject`.

use harness::base::client::{messages, upper};
use harness::base::{server::Server, wait::wait_until};

use harness::testing::{all, each_server};
use harness::{Model, Result, Twin, Worker, twin_tests};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::path::PathBuf;
use std::thread;

/// A trace file of the test's own (tests run in parallel).
fn trace_file(test: &str, server: &str, twin: Twin) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{test}-{server}-{twin:?}.trace"))
}

/// A child or a thread per connection.
fn worker_per_connection(m: &Model) -> bool {
    matches!(m.worker, Worker::Child | Worker::Thread)
}

/// A hundred clients and more served at a time (not one at a time, not
/// only as many as a preforked server's children).
fn concurrent(m: &Model) -> bool {
    m.holds.is_none_or(|h| h > 100)
}

/// A server that makes its own accept, read and write calls, for strace to
/// fail: all but the io_uring server, whose calls are operations in a ring
/// (its io_uring_enter faults are in tests/multiplexing.rs).
fn own_calls(m: &Model) -> bool {
    m.main_idle_in != harness::Call::UringEnter
}

/// Accepting with the blocking `Accept` wrapper.
fn blocking_accept(m: &Model) -> bool {
    m.worker != Worker::Loop
}

/// Waits until the server serves `n` connections, or has died.
fn down_to(server: &Server, n: usize) -> Result<()> {
    wait_until(&format!("{n} connections left, or the server dead"), || {
        server.workers().len() == n || !server.alive()
    })?;
    if !server.alive() {
        return Err("the server died".into());
    }
    Ok(())
}

/// Clients that reset, one while the server waits to read from it, one
/// while the server is writing to it (its buffers full, the worker blocked
/// in write), end only their own connections: the server (a thread server
/// too, where SIGPIPE would end every connection) and the client beside
/// them carry on.
fn reset_mid_stream_ends_only_that_connection(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    let mut bystander = server.connect()?;
    bystander.check(b"before\n")?;

    let mut reader_reset = server.connect()?;
    reader_reset.check(b"about to reset\n")?;
    server.serving(2)?;
    reader_reset.reset()?;
    down_to(&server, 1)?;
    bystander.check(b"between the resets\n")?;

    // Flood without reading, from a non-blocking socket (one descriptor, so
    // that closing it sends the reset at once), until the server blocks
    // writing back to us.
    let victim = server.connect()?;
    victim.0.set_nonblocking(true).unwrap();
    let chunk = [b'x'; 65536];
    wait_until("a worker blocked writing to the flooding client", || {
        let _ = (&victim.0).write(&chunk);
        server
            .workers()
            .iter()
            .any(|&(p, t)| harness::base::procfs::syscall(p, t) == Some(libc::SYS_write))
    })?;
    victim.reset()?;

    down_to(&server, 1)?;
    bystander.check(b"after the reset\n")?;
    server.connect()?.check(b"a new client\n")?;
    bystander.finish()
}

/// A client that sends, half-closes and resets before the server has
/// written its reply (strace slows every read and every write by 0.3 s:
/// the server may have read the message before the reset, but not
/// written) leaves the server a reply to write on
/// a connection already gone: EPIPE, and SIGPIPE, which must end only that
/// connection: not the server (an event loop or the iterative server would
/// die with every client), not the thread server and every client with it.
/// A bystander, where the model serves more than one client at a time,
/// carries on; a new client is served after it either way.
fn reset_after_half_close_is_survived(name: &str, twin: Twin) -> Result<()> {
    let trace = trace_file("sigpipe", name, twin);
    let mut args = vec![
        "-e",
        "trace=read,write,writev,sendto,sendmsg",
        "-e",
        "inject=read:delay_enter=300000",
        "-e",
        "inject=write:delay_enter=300000",
    ];
    let model = harness::program(name)?.model().unwrap();
    if !own_calls(model) {
        // The io_uring server's reads and writes are in its io_uring_enter
        // calls; its send fails with EPIPE, or ECONNRESET if the reset
        // came first (io_uring sends with MSG_NOSIGNAL: never a SIGPIPE).
        args = vec![
            "-e",
            "trace=io_uring_enter",
            "-e",
            "inject=io_uring_enter:delay_enter=300000",
        ];
    }
    let server = Server::build(name, twin).traced(&args, &trace).start()?;
    let mut bystander = None;
    if concurrent(server.model) {
        let mut b = server.connect()?;
        b.check(b"before\n")?;
        bystander = Some(b);
    }
    let others = usize::from(bystander.is_some());

    let mut victim = server.connect()?;
    server.serving(others + 1)?;
    victim.0.write_all(b"a reply nobody will read\n").unwrap();
    victim.0.shutdown(Shutdown::Write).unwrap();
    victim.reset()?;

    wait_until("the failed write reported, or the server dead", || {
        let e = server.stderr();
        e.contains("Broken pipe")
            || (!own_calls(model) && e.contains("Connection reset by peer"))
            || !server.alive()
    })?;
    wait_until("the victim's connection ended, or the server dead", || {
        harness::base::model::serving(server.pid, server.model, others) || !server.alive()
    })?;
    if !server.alive() {
        return Err("the server died of the reset client (SIGPIPE?)".into());
    }
    if let Some(b) = &mut bystander {
        b.check(b"after\n")?;
    }
    server.connect()?.check(b"a new client\n")?;
    if let Some(b) = bystander {
        b.finish()?;
    }
    let (_, stderr) = server.stop();
    if !own_calls(model) {
        // strace cannot see the send; the server's report says it failed.
        assert!(
            stderr == "send: Broken pipe\n" || stderr == "send: Connection reset by peer\n",
            "the failed send reported once: {stderr:?}"
        );
        return Ok(());
    }
    assert_eq!(
        stderr.matches("Broken pipe").count(),
        1,
        "the failed write reported once: {stderr:?}"
    );
    assert!(
        std::fs::read_to_string(&trace)
            .unwrap()
            .contains("= -1 EPIPE (Broken pipe)"),
        "the scenario made the server write to a connection gone"
    );
    Ok(())
}

/// A client that sends everything, then shuts down its writing side, still
/// gets every reply, then end of file.
fn half_close_gets_every_reply(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    let conn = server.connect()?;
    let all: Vec<u8> = messages(7, 50).concat();
    let mut w = conn.0.try_clone().unwrap();
    w.write_all(&all).unwrap();
    w.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    (&conn.0).read_to_end(&mut got).map_err(|e| e.to_string())?;
    if got != upper(&all) {
        return Err(format!(
            "got {} of {} bytes back, or wrong ones",
            got.len(),
            all.len()
        ));
    }
    Ok(())
}

/// One MiB in one send, every byte value, comes back exact (the client
/// reads while it sends, as the server replies while it reads).
fn one_mebibyte_in_one_send(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    let conn = server.connect()?;
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| i as u8).collect();
    assert!((0..=255u8).all(|v| big.contains(&v)), "every byte value");
    let mut w = conn.0.try_clone().unwrap();
    let expect = upper(&big);
    let sender = thread::spawn(move || w.write_all(&big));
    let mut got = vec![0; expect.len()];
    (&conn.0).read_exact(&mut got).map_err(|e| e.to_string())?;
    sender.join().unwrap().map_err(|e| e.to_string())?;
    if got != expect {
        return Err("the 1 MiB reply differs".into());
    }
    conn.finish()
}

/// A hundred idle clients, each holding a child, a thread or a place in
/// the loop, do not keep a new client from being served.
fn idle_clients_do_not_delay_a_new_one(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    let idle = (0..100)
        .map(|_| server.connect())
        .collect::<Result<Vec<_>>>()?;
    server.serving(100)?;
    let mut newcomer = server.connect()?;
    newcomer.check(b"served among the idle\n")?;
    server.serving(101)?;
    newcomer.finish()?;
    drop(idle);
    server.settled()
}

/// A thousand connections one after another leave nothing behind: no
/// zombie, no thread beyond the server's own, the descriptors it started with.
fn a_thousand_sequential_connections(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    // Settled first: a preforked server makes its children (and the
    // passfd server their socketpairs) after its ready line.
    server.settled()?;
    let fds_at_start = server.fds();
    for i in 0..1000 {
        let mut conn = server.connect()?;
        conn.check(format!("connection {i}\n").as_bytes())?;
        conn.finish()?;
    }
    server.settled()?;
    wait_until("descriptors back to the start", || {
        server.fds() == fds_at_start
    })
}

/// accept failing with EMFILE, then ENFILE, is reported, waited out (no
/// busy loop: a pause between tries) and survived; the waiting client is
/// served. A preforked (prethreaded) server runs one child (thread):
/// strace counts the failures it injects in each task, and every child
/// (thread) in accept would take three.
fn accept_out_of_descriptors_is_survived(name: &str, twin: Twin) -> Result<()> {
    let program = harness::program(name)?;
    let args = match program.model().unwrap().worker {
        Worker::Prefork(_) | Worker::Prethread(_) => &["1"][..],
        _ => program.session_args,
    };
    for (errno, message) in [
        ("EMFILE", "Too many open files"),
        ("ENFILE", "Too many open files in system"),
    ] {
        let trace = trace_file(&format!("accept-{errno}"), name, twin);
        let inject = format!("inject=accept:error={errno}:when=1..3");
        let server = Server::build(name, twin)
            .args(args)
            .traced(
                &["-e", "trace=accept,clock_nanosleep", "-e", &inject],
                &trace,
            )
            .start()?;
        server.connect()?.check(b"served after three failures\n")?;
        let (_, stderr) = server.stop();
        assert_eq!(stderr, format!("accept: {message}\n").repeat(3));
        let trace = std::fs::read_to_string(&trace).unwrap();
        let calls: Vec<&str> = trace
            .lines()
            .filter(|l| l.contains("accept(") || l.contains("clock_nanosleep("))
            .collect();
        for pair in calls[..6].chunks(2) {
            assert!(
                pair[0].contains(&format!("{errno} ({message}) (INJECTED)")),
                "{pair:?}"
            );
            assert!(
                pair[1].contains("clock_nanosleep(") && pause_ns(pair[1]) >= 50_000_000,
                "a pause of 50 ms at least after each failure: {pair:?}"
            );
        }
    }
    Ok(())
}

/// The pause a traced `clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=S,
/// tv_nsec=N}, …)` asks for, in nanoseconds (0 if the line says none).
fn pause_ns(line: &str) -> u64 {
    let field = |name: &str| -> u64 {
        line.split(name)
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    field("tv_sec=") * 1_000_000_000 + field("tv_nsec=")
}

/// accept passing up an error of the new connection (EPROTO, ENETDOWN,
/// EHOSTUNREACH...: accept(2) says to retry them) ends nothing: the server
/// tries the next connection and serves it.
fn accept_network_errors_are_retried(name: &str, twin: Twin) -> Result<()> {
    for errno in ["EPROTO", "ENETDOWN", "EHOSTUNREACH", "ENONET"] {
        let trace = trace_file(&format!("accept-{errno}"), name, twin);
        let inject = format!("inject=accept,accept4:error={errno}:when=1");
        let server = Server::build(name, twin)
            .traced(&["-e", "trace=accept,accept4", "-e", &inject], &trace)
            .start()?;
        server.connect()?.check(b"served after the failure\n")?;
        assert!(server.alive(), "{errno} ended the server");
        server.stop();
        let trace = std::fs::read_to_string(&trace).unwrap();
        assert!(
            trace.contains(&format!("{errno} (")) && trace.contains("(INJECTED)"),
            "{trace}"
        );
    }
    Ok(())
}

/// Out of descriptors for real (RLIMIT_NOFILE 8: a thread server can hold
/// four connections): the fifth waits, the server reports EMFILE and pauses
/// rather than spins, and serves the fifth once one of the four leaves.
fn descriptor_limit_is_waited_out(twin: Twin) -> Result<()> {
    let server = Server::build("thread_server", twin).nofile(8).start()?;
    let fds_at_start = server.fds();
    let mut four = (0..4)
        .map(|_| server.connect())
        .collect::<Result<Vec<_>>>()?;
    for c in &mut four {
        c.check(b"one of four\n")?;
    }
    let mut fifth = server.connect()?;
    harness::testing::pauses_out_of_descriptors(&server)?;

    four.pop().unwrap().finish()?;
    fifth.check(b"the fifth, served at last\n")?;
    drop(four);
    fifth.finish()?;
    wait_until("descriptors back to the start", || {
        server.fds() == fds_at_start
    })
}

/// fork or pthread_create failing (clone/clone3 with EAGAIN): the server
/// reports it, closes that connection (its client sees end of file, no
/// descriptor leaks) and serves the next client.
fn failed_spawn_closes_only_that_connection(name: &str, twin: Twin) -> Result<()> {
    let server_model = harness::program(name)?.model().unwrap();
    let call = server_model.spawn.unwrap();
    let what = if call == "clone" {
        "fork"
    } else {
        "pthread_create"
    };
    let trace = trace_file("clone-eagain", name, twin);
    // The first worker's: a pool's threads are created before it.
    let first = 1 + server_model.pool.map_or(0, |p| p.threads);
    let inject = format!("inject={call}:error=EAGAIN:when={first}");
    let server = Server::build(name, twin)
        .traced(&["-e", &format!("trace={call}"), "-e", &inject], &trace)
        .start()?;
    let fds_at_start = server.fds();

    // (Nothing is sent: closing a socket with unread data resets it.)
    let rest = server.connect()?.read_to_end()?;
    assert!(
        rest.is_empty(),
        "nothing but end of file without a {what}: {rest:?}"
    );

    let mut next = server.connect()?;
    next.check(b"the next client\n")?;
    next.finish()?;
    wait_until("descriptors back to the start", || {
        server.fds() == fds_at_start
    })?;
    server.settled()?;
    let (_, stderr) = server.stop();
    assert_eq!(
        stderr,
        format!("{what}: Resource temporarily unavailable\n")
    );
    assert!(
        std::fs::read_to_string(&trace)
            .unwrap()
            .contains("EAGAIN (Resource temporarily unavailable) (INJECTED)")
    );
    Ok(())
}

/// read and write interrupted (EINTR, every other call) are retried: the
/// replies stay exact and no error is reported.
fn interrupted_reads_and_writes_are_retried(name: &str, twin: Twin) -> Result<()> {
    let trace = trace_file("eintr", name, twin);
    let args = [
        "-e",
        "trace=read,write",
        "-e",
        "inject=read:error=EINTR:when=2+2",
        "-e",
        "inject=write:error=EINTR:when=2+2",
    ];
    let server = Server::build(name, twin).traced(&args, &trace).start()?;
    let mut conn = server.connect()?;
    for msg in messages(3, 10) {
        conn.check(&msg)?;
    }
    conn.finish()?;
    server.settled()?;
    let (_, stderr) = server.stop();
    assert_eq!(stderr, "", "no error reported");
    let trace = std::fs::read_to_string(&trace).unwrap();
    assert!(
        trace.contains("read(") && trace.contains("EINTR (Interrupted system call) (INJECTED)")
    );
    Ok(())
}

#[test]
fn reset_mid_stream_ends_only_that_connection_every_server() {
    each_server(
        worker_per_connection,
        reset_mid_stream_ends_only_that_connection,
    );
}

#[test]
fn reset_after_half_close_is_survived_every_server() {
    each_server(all, reset_after_half_close_is_survived);
}

#[test]
fn half_close_gets_every_reply_every_server() {
    each_server(all, half_close_gets_every_reply);
}

#[test]
fn one_mebibyte_in_one_send_every_server() {
    each_server(all, one_mebibyte_in_one_send);
}

#[test]
fn idle_clients_do_not_delay_a_new_one_every_server() {
    each_server(concurrent, idle_clients_do_not_delay_a_new_one);
}

#[test]
fn a_thousand_sequential_connections_every_server() {
    each_server(all, a_thousand_sequential_connections);
}

#[test]
fn accept_out_of_descriptors_is_survived_every_server() {
    each_server(blocking_accept, accept_out_of_descriptors_is_survived);
}

#[test]
fn accept_network_errors_are_retried_every_server() {
    each_server(own_calls, accept_network_errors_are_retried);
}

#[test]
fn failed_spawn_closes_only_that_connection_every_server() {
    each_server(
        |m| m.spawn.is_some(),
        failed_spawn_closes_only_that_connection,
    );
}

#[test]
fn interrupted_reads_and_writes_are_retried_every_server() {
    each_server(own_calls, interrupted_reads_and_writes_are_retried);
}

twin_tests!(descriptor_limit_is_waited_out);
