//! The event-loop servers (select, poll, epoll, and the epoll pool): one
//! thread serves thousands, and no client, however it misbehaves, stalls
//! the others or the server.

use harness::base::client::{Conn, at_once, talk, upper};
use harness::base::procfs;
use harness::base::{
    port::free_port,
    process::{Output, Running},
    server::Server,
    wait::wait_until,
};
use harness::testing::{cannot_run, each_server, pass, raise_nofile};
use harness::{Call, Model, Result, Twin, Worker};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// An event loop: no task per connection.
fn event_loop(m: &Model) -> bool {
    m.worker == Worker::Loop
}

/// The io_uring server: its accepts, reads and writes are operations in a
/// ring, not system calls.
fn uring(m: &Model) -> bool {
    m.main_idle_in == Call::UringEnter
}

/// An event loop that makes its own accept calls, with a spare descriptor
/// for when it runs out (the io_uring server waits it out instead).
fn with_spare(m: &Model) -> bool {
    event_loop(m) && !uring(m)
}

/// An event loop that can hold more than FD_SETSIZE connections.
fn beyond_select(m: &Model) -> bool {
    event_loop(m) && m.main_idle_in != Call::Select
}

/// The median and the largest of some round trips' times.
fn timed_round_trips(conn: &mut Conn, n: usize) -> Result<(Duration, Duration)> {
    let mut times = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        conn.check(format!("timed round trip {i}\n").as_bytes())?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times[n / 2], times[n - 1]))
}

/// Three hundred clients at once, each sending messages that together hold
/// every byte value, all get byte-exact replies.
fn three_hundred_concurrent_clients(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    let conns = (0..300)
        .map(|_| server.connect())
        .collect::<Result<Vec<_>>>()?;
    at_once(conns, |id, conn| talk(id, 8, conn))?;
    server.settled()
}

/// A client that sends 10 MiB and never reads does not stall twenty others
/// (their round trips stay fast: median under 50 ms, none stalled for a
/// second), the server's memory stays bounded (back-pressure: it stops
/// reading from a client whose replies it cannot send), and the slow
/// reader gets every byte once it reads.
fn slow_reader_stalls_no_one(name: &str, twin: Twin) -> Result<()> {
    const BIG: usize = 10 << 20;
    /// The server's resident memory may grow by this much: its buffers are
    /// bounded per connection, whatever a client sends.
    const RSS_GROWTH_KB: u64 = 4096;
    let server = Server::start(name, twin)?;
    let rss_before = procfs::kb(server.pid, "status", "VmRSS").unwrap_or(0);
    let slow = server.connect()?;
    let mut writer = slow.0.try_clone().map_err(|e| e.to_string())?;
    let big: Vec<u8> = (0..BIG).map(|i| (i % 253) as u8).collect();
    let expect = upper(&big);
    let sender = thread::spawn(move || writer.write_all(&big));
    // The server fills the slow reader's socket, then stops reading from it.
    wait_until("the slow reader's replies to back up", || {
        server_send_queue(server.port) > 0
    })?;
    let conns = (0..20)
        .map(|_| server.connect())
        .collect::<Result<Vec<_>>>()?;
    at_once(conns, |_, mut conn| {
        let (median, max) = timed_round_trips(&mut conn, 20)?;
        if median > Duration::from_millis(50) || max > Duration::from_secs(1) {
            return Err(format!(
                "round trips beside a slow reader: median {median:?}, max {max:?}"
            ));
        }
        conn.finish()
    })?;
    let rss = procfs::kb(server.pid, "status", "VmRSS").unwrap_or(0);
    if rss > rss_before + RSS_GROWTH_KB {
        return Err(format!("the server grew from {rss_before} kB to {rss} kB"));
    }
    let mut got = vec![0u8; BIG];
    (&slow.0)
        .read_exact(&mut got)
        .map_err(|e| format!("the slow reader's bytes: {e}"))?;
    sender.join().unwrap().map_err(|e| e.to_string())?;
    if got != expect {
        return Err("the slow reader's 10 MiB came back wrong".into());
    }
    slow.finish()
}

/// Bytes waiting in the send queues of the server's sockets on `port` (the
/// replies a slow reader has not taken), from /proc/net/tcp.
fn server_send_queue(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1].ends_with(&local) && f[3] == "01")
                .then(|| usize::from_str_radix(f[4].split(':').next()?, 16).ok())?
        })
        .sum()
}

/// Ten thousand idle connections and one active client: its round trips
/// stay fast (median under 50 ms). Then every one of the ten thousand is
/// served: the tables, which start with 8 slots, grew to hold them all, and
/// none was turned away.
fn ten_thousand_idle_and_one_active(name: &str, twin: Twin) -> Result<()> {
    const IDLE: usize = 10_000;
    let server = Server::start(name, twin)?;
    let mut idle = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        idle.push(server.connect()?);
        if i % 64 == 63 {
            // Let the server keep up: a SYN that finds the backlog (128)
            // full is dropped, and retried only a second later. A reply on
            // the newest connection says it, and all before it, are accepted.
            idle.last_mut().unwrap().check(b"keeping up\n")?;
        }
    }
    // Held at once: every one of them open in the server (and its
    // listening socket, or sockets), as /proc counts its sockets.
    let listeners = harness::base::model::listeners(server.model);
    wait_until(&format!("{IDLE} connections held at once"), || {
        procfs::sockets(server.pid) == IDLE + listeners
    })
    .map_err(|e| format!("{e}: {} sockets", procfs::sockets(server.pid)))?;
    // What holding them costs, for the chapters (--nocapture shows it).
    let kb = |field| procfs::kb(server.pid, "status", field).unwrap_or(0);
    println!(
        "{name} ({twin:?}): {IDLE} idle connections: VmRSS {} kB, VmSize {} kB",
        kb("VmRSS"),
        kb("VmSize")
    );
    let mut active = server.connect()?;
    let (median, _) = timed_round_trips(&mut active, 50)?;
    if median > Duration::from_millis(50) {
        return Err(format!(
            "round trips among {IDLE} idle connections: median {median:?}"
        ));
    }
    active.finish()?;
    // Every connection at once, then every reply: the server takes them
    // in as many as are ready per pass.
    for (i, c) in idle.iter_mut().enumerate() {
        c.0.write_all(format!("idle {i}\n").as_bytes())
            .map_err(|e| format!("send on idle connection {i}: {e}"))?;
    }
    for (i, c) in idle.iter_mut().enumerate() {
        let msg = format!("idle {i}\n");
        let mut reply = vec![0; msg.len()];
        c.0.read_exact(&mut reply)
            .map_err(|e| format!("reply on idle connection {i}: {e}"))?;
        if reply != upper(msg.as_bytes()) {
            return Err(format!("idle connection {i}: wrong reply {reply:?}"));
        }
    }
    println!(
        "{name} ({twin:?}): {IDLE} connections, each served once: VmRSS {} kB, VmSize {} kB",
        kb("VmRSS"),
        kb("VmSize")
    );
    if !server.stderr().is_empty() {
        return Err(format!("stderr: {}", server.stderr()));
    }
    drop(idle);
    server.settled()
}

/// The hard RLIMIT_NOFILE of this process: the highest limit it can give
/// a server.
fn hard_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a struct rlimit, written by getrlimit(2).
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    lim.rlim_max
}

/// Memory at start does not depend on RLIMIT_NOFILE: settled, before any
/// client, the server's resident memory at a limit of 1,024 and at the
/// hard limit, `high`, differ by less than 256 KB (with a slot allocated
/// and touched for every descriptor the limit allows, as the loops had, 48
/// bytes each: 1 MB at 20,000, 48 MB at 1,048,576, per pool worker). The
/// anonymous part of it (RssAnon), where the tables live: the part mapped
/// from files (libc's pages) varies by up to 150 kB from run to run.
fn memory_at_start_does_not_depend_on_the_limit(name: &str, twin: Twin, high: u64) -> Result<()> {
    let rss = |limit: u64| -> Result<u64> {
        let server = Server::build(name, twin).nofile(limit).start()?;
        server.settled()?;
        procfs::kb(server.pid, "status", "RssAnon").ok_or_else(|| "no RssAnon".to_string())
    };
    let (low, at_high) = (rss(1024)?, rss(high)?);
    if low.abs_diff(at_high) >= 256 {
        return Err(format!(
            "resident (anonymous) at start: {low} kB at RLIMIT_NOFILE 1024, {at_high} kB at {high}"
        ));
    }
    Ok(())
}

#[test]
fn memory_at_start_does_not_depend_on_the_limit_every_event_loop() {
    // Below 16,384, the slots the limit allows would fit in 256 KB anyway.
    raise_nofile(65_536);
    let high = hard_nofile();
    if high < 16_384 {
        return cannot_run(&format!(
            "the hard RLIMIT_NOFILE is {high} (ulimit -Hn) and cannot be raised: too low to tell a table sized by it"
        ));
    }
    each_server(event_loop, |name, twin| {
        memory_at_start_does_not_depend_on_the_limit(name, twin, high)
    });
}

#[test]
fn ten_thousand_idle_connections_and_one_active() {
    if !raise_nofile(10_000 + 200) {
        return cannot_run(
            "the hard RLIMIT_NOFILE is below 10,200 (ulimit -Hn) and cannot be raised: too low for 10,000 connections",
        );
    }
    // One server at a time: this process holds the clients' 10,000 descriptors.
    for p in harness::servers().filter(|p| beyond_select(p.model().unwrap())) {
        for twin in Twin::BOTH {
            pass(|| {
                ten_thousand_idle_and_one_active(p.name, twin)
                    .map_err(|e| format!("{} ({twin:?}): {e}", p.name))
            });
        }
    }
}

/// select_server at FD_SETSIZE: a connection whose descriptor would not fit
/// an fd_set is closed with a message; the others go on.
fn select_past_fd_setsize(twin: Twin) -> Result<()> {
    let server = Server::build("select_server", twin).nofile(2048).start()?;
    let mut conns = Vec::new();
    let mut refused = None;
    for _ in 0..(libc::FD_SETSIZE + 8) {
        let mut c = server.connect()?;
        if c.check(b"x").is_err() {
            refused = Some(c);
            break;
        }
        conns.push(c);
    }
    let refused = refused.ok_or("no connection was refused")?;
    drop(refused);
    wait_until("a message for the refused connection", || {
        server
            .stderr()
            .contains(">= FD_SETSIZE, connection closed\n")
    })
    .map_err(|e| format!("{e}: {:?}", server.stderr()))?;
    let n = conns.len();
    for c in conns.iter_mut().step_by(97) {
        c.check(b"still served\n")?;
    }
    if n < 1000 {
        return Err(format!("only {n} connections before the limit"));
    }
    Ok(())
}

/// select_server started with `busy` descriptors from 3 up to FD_SETSIZE
/// already open (inherited), so that its own `what` (the listening socket,
/// the spare or stdout's own description) lands at FD_SETSIZE + 1: it
/// exits with status 1 and says why, and no signal ends it (FD_SET past
/// the set aborted the Rust twin on an index out of bounds and wrote past
/// the C twin's fd_set).
fn select_own_descriptor_past_fd_setsize(twin: Twin, first_busy: i32, what: &str) -> Result<()> {
    let exe = harness::exe("select_server", twin);
    let mut cmd = Command::new(&exe);
    cmd.arg(free_port().to_string());
    let top = libc::FD_SETSIZE as i32;
    // SAFETY: setrlimit(2) and dup2(2) are async-signal-safe, fit for the
    // child before exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: 2048,
                rlim_max: 2048,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            for fd in first_busy..=top {
                if libc::dup2(0, fd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        })
    };
    let (status, out, err) = Running::spawn(cmd, &exe, Output::Capture, None)?.wait()?;
    if status.signal().is_some() || status.code() != Some(1) {
        return Err(format!("{what}: ended by {status:?}; stderr: {err}"));
    }
    let want = format!(
        "select: {what} is fd {}, not below FD_SETSIZE ({top}): too many descriptors open at start\n",
        top + 1
    );
    if err != want || !out.is_empty() {
        return Err(format!("{what}: stdout {out:?}, stderr {err:?}"));
    }
    Ok(())
}

#[test]
fn select_server_with_its_own_descriptors_past_fd_setsize() {
    for twin in Twin::BOTH {
        pass(|| select_own_descriptor_past_fd_setsize(twin, 3, "the listening socket"));
        pass(|| select_own_descriptor_past_fd_setsize(twin, 4, "the spare descriptor"));
        pass(|| select_own_descriptor_past_fd_setsize(twin, 5, "stdout"));
    }
}

#[test]
fn select_server_past_fd_setsize() {
    if !raise_nofile(4096) {
        return cannot_run("the hard RLIMIT_NOFILE is below 4096 and cannot be raised");
    }
    for twin in Twin::BOTH {
        pass(|| select_past_fd_setsize(twin));
    }
}

/// Out of descriptors (RLIMIT_NOFILE 32, a hundred clients): the server
/// neither exits nor spins (its CPU time stays under a tenth of the time
/// it spends exhausted), and serves normally once clients leave.
fn out_of_descriptors_neither_exits_nor_spins(name: &str, twin: Twin) -> Result<()> {
    let server = Server::build(name, twin).nofile(32).start()?;
    let fds_at_start = server.fds();
    let mut conns = Vec::new();
    for _ in 0..100 {
        conns.push(server.connect()?);
    }
    wait_until("the server to run out of descriptors", || {
        server.fds() >= 31
    })?;
    let (ticks, start) = (server.cpu_ticks(), Instant::now());
    // A measurement window: CPU time against wall time, over one second.
    thread::sleep(Duration::from_secs(1));
    let used = (server.cpu_ticks() - ticks) as f64 / 100.0;
    let wall = start.elapsed().as_secs_f64();
    if used > wall / 10.0 {
        return Err(format!(
            "the server spins while out of descriptors: {used} s of CPU in {wall:.1} s"
        ));
    }
    if !server.alive() {
        return Err("the server exited".into());
    }
    drop(conns);
    wait_until("the server's descriptors back to the start", || {
        server.fds() == fds_at_start
    })?;
    let mut c = server.connect()?;
    c.check(b"served again\n")?;
    c.finish()
}

/// Sets RLIMIT_NOFILE of the running process `pid` to `n`, soft and hard.
fn set_nofile(pid: i32, n: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: lim is a valid struct rlimit; the old limit is not wanted.
    if unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &lim, std::ptr::null_mut()) } != 0 {
        return Err(format!("prlimit: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// The spare could not be reopened once: strace fails the second open of
/// /dev/null (the reopen after the first client turned away) with EMFILE,
/// at RLIMIT_NOFILE 32 with a hundred clients. It is opened again on a
/// later pass, and the clients beyond the limit go on being turned away at
/// once: they leave the accept queue, and a bystander's round trips stay
/// under 50 ms (median of 9). Without the retry, the loop paused 100 ms on
/// every pass for as long as clients waited, and they waited for good.
/// The reuseport server runs one thread here: with two, each thread's
/// spare makes room that the other thread's `accept` may take first (they
/// share one descriptor table), and a thread left without a spare pauses
/// 100 ms per pass, as docs/prethread.md says.
fn spare_reopened_after_a_failed_reopen(name: &str, twin: Twin) -> Result<()> {
    let trace = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("spare-reopen-{name}-{twin:?}.trace"));
    let program = harness::program(name)?;
    let args = match program.model().unwrap().pool {
        Some(p) if p.listens => &["1"][..],
        _ => program.session_args,
    };
    let server = Server::build(name, twin)
        .args(args)
        .traced(
            &["-P", "/dev/null", "-e", "inject=openat:error=EMFILE:when=2"],
            &trace,
        )
        .start()?;
    set_nofile(server.pid, 32)?;
    let mut bystander = server.connect()?;
    bystander.check(b"before\n")?;
    let mut others = Vec::new();
    for _ in 0..100 {
        others.push(server.connect()?);
    }
    wait_until("the spare's reopen to fail", || {
        std::fs::read_to_string(&trace)
            .unwrap_or_default()
            .contains("= -1 EMFILE (Too many open files) (INJECTED)")
    })?;
    let mut times = Vec::new();
    for i in 0..9 {
        let t = Instant::now();
        bystander.check(format!("bystander {i}\n").as_bytes())?;
        times.push(t.elapsed());
    }
    times.sort();
    if times[4] > Duration::from_millis(50) {
        return Err(format!("the bystander's round trips: {times:?}"));
    }
    wait_until("the clients beyond the limit to be turned away", || {
        procfs::accept_queue(server.port) == Some(0)
    })?;
    if !server
        .stderr()
        .contains("accept: Too many open files, connection closed\n")
    {
        return Err(format!("stderr: {}", server.stderr()));
    }
    drop(others);
    bystander.check(b"after\n")?;
    bystander.finish()
}

#[test]
fn spare_reopened_after_a_failed_reopen_every_event_loop() {
    each_server(with_spare, spare_reopened_after_a_failed_reopen);
}

/// A client that sends and resets at once, one that resets with replies
/// pending (flooding, never reading), one that half-closes, and one that
/// connects and leaves without a word end only themselves.
fn misbehaving_clients_end_only_themselves(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    let mut bystander = server.connect()?;
    bystander.check(b"before\n")?;

    let mut reset_reader = server.connect()?;
    reset_reader
        .0
        .write_all(b"about to reset\n")
        .map_err(|e| e.to_string())?;
    reset_reader.reset()?;

    let flood = server.connect()?;
    flood.0.set_nonblocking(true).map_err(|e| e.to_string())?;
    let chunk = [b'y'; 65536];
    wait_until("the flooding client's replies to back up", || {
        let _ = (&flood.0).write(&chunk);
        server_send_queue(server.port) > 0
    })?;
    flood.reset()?;

    let half = server.connect()?;
    (&half.0)
        .write_all(b"half closed\n")
        .map_err(|e| e.to_string())?;
    half.0
        .shutdown(Shutdown::Write)
        .map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    (&half.0).read_to_end(&mut got).map_err(|e| e.to_string())?;
    assert_eq!(got, b"HALF CLOSED\n");

    drop(server.connect()?);
    bystander.check(b"after\n")?;
    server.serving(1)?;
    bystander.finish()?;
    server.settled()
}

/// A client that connects and resets before the server accepts it (the
/// server stopped meanwhile) costs the server nothing.
fn reset_before_accept(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    server.run.signal(libc::SIGSTOP);
    let early = Conn::to(server.port)?;
    early.reset()?;
    server.run.signal(libc::SIGCONT);
    let mut next = server.connect()?;
    next.check(b"after a reset before accept\n")?;
    next.finish()?;
    server.settled()
}

/// Faults injected by strace: accept EMFILE, read and write EINTR and
/// EAGAIN, epoll_ctl ENOMEM; for the io_uring server, which makes none of
/// those calls, io_uring_enter EINTR, EAGAIN and EBUSY. The server survives
/// each and serves.
fn injected_faults_are_survived(name: &str, twin: Twin) -> Result<()> {
    let model = harness::program(name)?.model().unwrap();
    let mut faults = if uring(model) {
        vec![
            "inject=io_uring_enter:error=EINTR:when=2+2",
            "inject=io_uring_enter:error=EAGAIN:when=3+3",
            "inject=io_uring_enter:error=EBUSY:when=3+3",
        ]
    } else {
        vec![
            "inject=accept,accept4:error=EMFILE:when=1..2",
            "inject=read:error=EINTR:when=2+2",
            "inject=write:error=EINTR:when=2+2",
            "inject=read:error=EAGAIN:when=2+3",
            "inject=write:error=EAGAIN:when=2+3",
        ]
    };
    let epoll_ctl = format!(
        "inject=epoll_ctl:error=ENOMEM:when={}",
        harness::trace::faults::epoll_ctl_fault_when(model)
    );
    if model.main_idle_in == Call::EpollWait {
        faults.push(&epoll_ctl);
    }
    for fault in faults {
        let trace = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("mux-fault-{name}-{twin:?}.trace"));
        let server = Server::build(name, twin)
            .traced(&["-e", fault], &trace)
            .start()?;
        for id in 0..4 {
            talk(id, 5, server.connect()?).map_err(|e| format!("under {fault}: {e}"))?;
        }
        if !server.alive() {
            return Err(format!("the server died under {fault}"));
        }
        server.stop();
        // The fault fired: strace marks each call it failed.
        let errno = fault
            .split("error=")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .unwrap();
        let text = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
        let fired = text
            .lines()
            .filter(|l| l.contains(&format!("= -1 {errno} (")) && l.ends_with("(INJECTED)"))
            .count();
        if fired == 0 {
            return Err(format!("{fault}: never injected"));
        }
    }
    Ok(())
}

#[test]
fn three_hundred_concurrent_clients_every_event_loop() {
    each_server(event_loop, three_hundred_concurrent_clients);
}

#[test]
fn slow_reader_stalls_no_one_every_event_loop() {
    each_server(event_loop, slow_reader_stalls_no_one);
}

#[test]
fn out_of_descriptors_neither_exits_nor_spins_every_event_loop() {
    each_server(event_loop, out_of_descriptors_neither_exits_nor_spins);
}

#[test]
fn misbehaving_clients_end_only_themselves_every_event_loop() {
    each_server(event_loop, misbehaving_clients_end_only_themselves);
}

#[test]
fn reset_before_accept_every_event_loop() {
    each_server(event_loop, reset_before_accept);
}

#[test]
fn injected_faults_are_survived_every_event_loop() {
    each_server(event_loop, injected_faults_are_survived);
}
