//! The prethreaded servers: threads made before the clients come, each
//! serving one connection at a time behind a mutex (prethread) or a queue
//! (prethread_queue), or each with an epoll loop on a listening socket of
//! its own (reuseport). SIGTERM or SIGINT prints the meter and exits 0; a
//! thread that cannot be made leaves the others to serve; a full queue
//! makes the main thread wait; running out of descriptors is waited out.

use harness::base::procfs;
use harness::base::{port::free_port, server::Server, wait::wait_until};
use harness::testing::each_server;
use harness::testing::{clients_at_once, demo};
use harness::{Call, Model, Result, Twin, Worker};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::Duration;

/// Threads made at start: behind a lock or a queue, or each listening.
fn prethreaded(m: &Model) -> bool {
    matches!(m.worker, Worker::Prethread(_)) || m.pool.is_some_and(|p| p.listens)
}

/// Threads made at start, each blocked in a connection's `read` while it
/// serves it.
fn blocking(m: &Model) -> bool {
    matches!(m.worker, Worker::Prethread(_))
}

/// A trace file of the test's own (tests run in parallel).
fn trace_file(test: &str, name: &str, twin: Twin) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("prethread-{test}-{name}-{twin:?}.trace"))
}

/// The meter the server printed as it stopped: each thread's connections.
fn meter(stdout: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("thread ")?.split_once(": "))
        .filter_map(|(_, n)| n.strip_suffix(" connections")?.parse().ok())
        .collect()
}

/// `n` clients one after the other, each served and gone before the next,
/// the server settled in between, as in the scripted sessions.
fn one_after_another(server: &Server, n: usize) -> Result<()> {
    for i in 0..n {
        let mut c = server.connect()?;
        c.check(format!("client {i}\n").as_bytes())?;
        server.serving(1)?;
        c.finish()?;
        server.settled()?;
    }
    Ok(())
}

/// Whether the meter `m` (two threads, six clients one after another)
/// spreads them as the design does: behind the mutex or the queue, with
/// the server settled between two clients, the threads take turns; over
/// SO_REUSEPORT sockets the kernel's hash of each client's port decides,
/// so only the total is known.
fn spread_ok(name: &str, m: &[usize]) -> bool {
    match name {
        "reuseport_server" => m.len() == 2 && m.iter().sum::<usize>() == 6,
        _ => m == [3, 3],
    }
}

/// SIGTERM (`sig`) or a Ctrl-C (SIGINT to the whole group, `group`): the
/// server exits 0, nothing on stderr, and its meter gives each thread's
/// connections.
fn stop_prints_the_meter(name: &str, twin: Twin, sig: i32, group: bool) -> Result<()> {
    let server = Server::start(name, twin)?;
    server.settled()?;
    one_after_another(&server, 6)?;
    let Server { mut run, .. } = server;
    let target = if group { -run.pid } else { run.pid };
    // SAFETY: kill(2) takes no pointers.
    unsafe { libc::kill(target, sig) };
    wait_until("the server to exit", || run.exited())?;
    let (status, stdout, stderr) = run.wait()?;
    if !status.success() || !stderr.is_empty() {
        return Err(format!("{status}, stderr {stderr:?}"));
    }
    let m = meter(&stdout);
    if !spread_ok(name, &m) {
        return Err(format!("meter {m:?}:\n{stdout}"));
    }
    Ok(())
}

#[test]
fn sigterm_prints_the_meter_every_prethreaded_server() {
    each_server(prethreaded, |name, twin| {
        stop_prints_the_meter(name, twin, libc::SIGTERM, false)
    });
}

#[test]
fn ctrl_c_prints_the_meter_every_prethreaded_server() {
    each_server(prethreaded, |name, twin| {
        stop_prints_the_meter(name, twin, libc::SIGINT, true)
    });
}

/// Three hundred clients at once, each sending messages that together hold
/// every byte value: two threads serve them all, byte-exact, while the
/// rest wait (in the queue, or in the kernel's); see
/// [`clients_at_once`] for why their handshakes are spaced.
fn three_hundred_clients_at_once(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    clients_at_once(&server, 300)?;
    server.settled()?;
    let (out, _) = server.terminate()?;
    let total: usize = meter(&out).iter().sum();
    if total != 300 {
        return Err(format!(
            "the meter counts {total} connections, not 300:\n{out}"
        ));
    }
    Ok(())
}

#[test]
fn three_hundred_clients_at_once_every_prethreaded_server() {
    each_server(prethreaded, three_hundred_clients_at_once);
}

/// The second thread cannot be made (clone3 fails with EAGAIN, injected):
/// the server says so, and that it runs with one of two, and serves with
/// it alone (reuseport: the second listening socket closed, so that no
/// client waits on a socket nobody accepts from). When no thread can be
/// made, it exits 1 and says why.
fn a_thread_not_made_leaves_the_others_serving(name: &str, twin: Twin) -> Result<()> {
    let trace = trace_file("clone3", name, twin);
    let server = Server::build(name, twin)
        .traced(&["-e", "inject=clone3:error=EAGAIN:when=2"], &trace)
        .start()?;
    for i in 0..4 {
        let mut c = server.connect()?;
        c.check(format!("served by the one thread, {i}\n").as_bytes())?;
        c.finish()?;
    }
    let stderr = server.stderr();
    let said = format!(
        "pthread_create: Resource temporarily unavailable\n{}: running with 1 of 2 threads\n",
        harness::exe(name, twin).display()
    );
    if stderr != said {
        return Err(format!("stderr {stderr:?}, not {said:?}"));
    }
    // Its one listening socket, once the clients' are closed.
    wait_until("one socket left", || procfs::sockets(server.pid) == 1)?;
    let (out, _) = server.terminate()?;
    if meter(&out) != [4] {
        return Err(format!("the meter of the one thread:\n{out}"));
    }

    let none = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .args(["-e", "inject=clone3:error=EAGAIN"])
        .arg(harness::exe(name, twin))
        .args([&free_port().to_string(), "2"])
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&none.stderr);
    let said = format!(
        "pthread_create: Resource temporarily unavailable\n{}: no thread could be started\n",
        harness::exe(name, twin).display()
    );
    if none.status.code() != Some(1) || stderr != said || !none.stdout.is_empty() {
        return Err(format!(
            "no thread at all: {}, stderr {stderr:?}, stdout {:?}",
            none.status,
            String::from_utf8_lossy(&none.stdout)
        ));
    }
    Ok(())
}

#[test]
fn a_thread_not_made_leaves_the_others_serving_every_prethreaded_server() {
    each_server(prethreaded, a_thread_not_made_leaves_the_others_serving);
}

/// Lowers the running server's RLIMIT_NOFILE to leave room for one more
/// descriptor: a limit one above the lowest descriptor free (the next one
/// opened takes it), whatever the numbers held above it.
fn room_for_one_more(server: &Server) -> Result<()> {
    let open: Vec<u64> = std::fs::read_dir(format!("/proc/{}/fd", server.pid))
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let free = (0..).find(|n| !open.contains(n)).unwrap();
    let lim = libc::rlimit {
        rlim_cur: free + 1,
        rlim_max: free + 1,
    };
    // SAFETY: lim is a valid struct rlimit; the old limit is not wanted.
    if unsafe { libc::prlimit(server.pid, libc::RLIMIT_NOFILE, &lim, std::ptr::null_mut()) } != 0 {
        return Err(format!("prlimit: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Out of descriptors for real (RLIMIT_NOFILE lowered, as the server runs,
/// to leave room for one connection): a second client waits, the thread in
/// accept (or the main thread) reports EMFILE and pauses rather than
/// spins, and serves it once the first leaves.
fn out_of_descriptors_is_waited_out(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    server.settled()?;
    let fds_at_start = server.fds();
    room_for_one_more(&server)?;
    let mut first = server.connect()?;
    first.check(b"the one that fits\n")?;
    let mut second = server.connect()?;
    harness::testing::pauses_out_of_descriptors(&server)?;
    first.finish()?;
    second.check(b"the second, served at last\n")?;
    second.finish()?;
    server.settled()?;
    wait_until("descriptors back to the start", || {
        server.fds() == fds_at_start
    })
}

/// SIGTERM while a client waits for a descriptor: the main thread still
/// takes it, prints the meter and exits 0. In prethread_queue_server the
/// main thread itself pauses between tries at accept, its listener ready
/// all along (a `ppoll` that finds it ready delivers no signal); in
/// prethread_server a thread pauses, holding the mutex, and the main
/// thread waits on no descriptor.
fn sigterm_stops_it_out_of_descriptors(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    server.settled()?;
    room_for_one_more(&server)?;
    let mut first = server.connect()?;
    first.check(b"the one that fits\n")?;
    let _second = server.connect()?;
    wait_until("EMFILE reported", || {
        server.stderr().contains("accept: Too many open files\n")
    })?;
    let Server { mut run, .. } = server;
    run.signal(libc::SIGTERM);
    wait_until("the server to exit", || run.exited())?;
    let (status, stdout, _) = run.wait()?;
    if !status.success() || meter(&stdout).iter().sum::<usize>() != 1 {
        return Err(format!("{status}:\n{stdout}"));
    }
    Ok(())
}

#[test]
fn sigterm_stops_it_out_of_descriptors_every_blocking_prethreaded_server() {
    each_server(blocking, sigterm_stops_it_out_of_descriptors);
}

#[test]
fn out_of_descriptors_is_waited_out_every_blocking_prethreaded_server() {
    each_server(blocking, out_of_descriptors_is_waited_out);
}

/// prethread_queue_server with one thread: the thread serves one client
/// (held), the main thread accepts 32 more into the queue, and then stops
/// accepting: the 34th client's connection waits in the kernel's accept
/// queue while the main thread waits in ppoll, not in accept. When the
/// first leaves, the thread takes the next from the queue, the main thread
/// accepts the 34th, and every client is served, in the order it came.
fn a_full_queue_makes_the_main_thread_wait(twin: Twin) -> Result<()> {
    const QSIZE: usize = 32;
    let name = "prethread_queue_server";
    let server = Server::build(name, twin).args(&["1"]).start()?;
    let mut first = server.connect()?;
    first.check(b"first, served at once\n")?;
    let mut waiting = Vec::new();
    for i in 0..QSIZE {
        let mut c = server.connect()?;
        std::io::Write::write_all(&mut c.0, format!("queued {i}\n").as_bytes())
            .map_err(|e| e.to_string())?;
        waiting.push((c, format!("queued {i}\n")));
        wait_until("the main thread to accept it", || {
            procfs::accept_queue(server.port) == Some(0)
        })?;
    }
    let mut last = server.connect()?;
    std::io::Write::write_all(&mut last.0, b"the one past the queue\n")
        .map_err(|e| e.to_string())?;
    let waits = || {
        procfs::accept_queue(server.port) == Some(1)
            && procfs::blocked_in(server.pid, server.pid, Call::Poll)
    };
    wait_until(
        "the 34th in the kernel's queue, the main thread in ppoll",
        waits,
    )?;
    // And still, a fifth of a second later: a main thread that polled the
    // listener would have taken it by then.
    thread::sleep(Duration::from_millis(200));
    if !waits() {
        return Err("the 34th client was accepted past a full queue".into());
    }
    waiting.push((last, "the one past the queue\n".to_string()));
    first.finish()?;
    wait_until("the 34th accepted", || {
        procfs::accept_queue(server.port) == Some(0)
    })?;
    for (mut c, msg) in waiting {
        let mut reply = vec![0; msg.len()];
        std::io::Read::read_exact(&mut c.0, &mut reply).map_err(|e| format!("{msg:?}: {e}"))?;
        if reply != msg.to_ascii_uppercase().as_bytes() {
            return Err(format!(
                "{msg:?}: reply {:?}",
                String::from_utf8_lossy(&reply)
            ));
        }
        c.finish()?;
    }
    let (out, _) = server.terminate()?;
    if meter(&out) != [QSIZE + 2] {
        return Err(format!("meter:\n{out}"));
    }
    Ok(())
}

harness::twin_tests!(a_full_queue_makes_the_main_thread_wait);

/// `make demo-prethread`: eight clients to each design, each attributed to
/// a thread; behind the mutex and the queue every connection costs futex
/// calls, over SO_REUSEPORT none; each meter counts the eight.
#[test]
fn demo_prethread_shows_the_spread_and_the_futex_calls() {
    for twin in [&[][..], &["--c"][..]] {
        let out = demo(&[&["prethread"][..], twin].concat()).unwrap();
        let clients: Vec<(&str, usize)> = out
            .lines()
            .filter_map(|l| {
                let (_, rest) = l.split_once("] client ")?;
                let who = rest.split("served by ").nth(1)?.split(';').next()?;
                let futex = rest.split(", ").nth(1)?.split(' ').next()?.parse().ok()?;
                Some((who, futex))
            })
            .collect();
        assert_eq!(clients.len(), 24, "{out}");
        assert!(
            clients.iter().all(|(who, _)| who.starts_with("thread ")),
            "{out}"
        );
        assert!(clients[..16].iter().all(|&(_, f)| f > 0), "{out}");
        assert!(clients[16..].iter().all(|&(_, f)| f == 0), "{out}");
        let m = meter(
            &out.lines()
                .map(str::trim_start)
                .collect::<Vec<_>>()
                .join("\n"),
        );
        assert_eq!(m.len(), 12, "{out}");
        assert!(m.chunks(4).all(|c| c.iter().sum::<usize>() == 8), "{out}");
    }
}
