//! The preforked servers: children made before the clients come, each
//! serving one connection at a time. A child that dies is replaced, a fork
//! that fails is tried again, SIGTERM or SIGINT stops them all and prints
//! the meter, and who takes the next connection is the design's: the
//! kernel's queue, a lock, the parent, or the herd.

use harness::base::procfs;
use harness::base::{server::Server, wait::wait_until};
use harness::testing::each_server;
use harness::testing::{clients_at_once, demo};
use harness::{Call, Model, Result, Twin, Worker};
use std::path::PathBuf;

fn preforked(m: &Model) -> bool {
    matches!(m.worker, Worker::Prefork(_))
}

/// A trace file of the test's own (tests run in parallel).
fn trace_file(test: &str, name: &str, twin: Twin) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("prefork-{test}-{name}-{twin:?}.trace"))
}

/// The child that takes the next connection: the one waiting where the
/// model says a child waits for it (holding the lock, if there is one).
fn next_taker(server: &Server) -> Result<i32> {
    let Worker::Prefork(c) = server.model.worker else {
        return Err("not a preforked server".into());
    };
    procfs::live_children(server.pid)
        .into_iter()
        .find(|&k| procfs::blocked_in(k, k, c.idle_in))
        .ok_or_else(|| format!("no child waits in {:?}", c.idle_in))
}

/// The meter the server printed as it stopped: each child's connections.
fn meter(stdout: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("child ")?.split_once(": "))
        .filter_map(|(_, n)| n.strip_suffix(" connections")?.parse().ok())
        .collect()
}

/// `n` clients one after the other, each served and gone before the next;
/// while each is served, the next child has taken its place (the lock, if
/// there is one), as in the scripted sessions.
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

/// The child that takes connections is killed (SIGKILL, holding the lock
/// or the mutex, if the design has one): the parent says so, forks another
/// in its slot, and the server serves on, every child back where it waits.
fn a_killed_child_is_replaced(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    server.settled()?;
    let victim = next_taker(&server)?;
    // SAFETY: kill(2) takes no pointers.
    unsafe { libc::kill(victim, libc::SIGKILL) };
    wait_until("another child in its place", || {
        let now = procfs::live_children(server.pid);
        now.len() == 2 && !now.contains(&victim)
    })?;
    server.settled()?;
    one_after_another(&server, 4)?;
    let (_, stderr) = server.stop();
    let said: Vec<&str> = stderr.lines().collect();
    if said.len() != 1
        || !said[0].starts_with("child ")
        || !said[0].ends_with(": killed by signal 9")
    {
        return Err(format!("stderr: {stderr:?}"));
    }
    Ok(())
}

/// The meter's spread, as each design spreads six clients one after
/// another over two children.
fn spread_ok(name: &str, m: &[usize]) -> bool {
    match name {
        // The parent passes each to the first idle child: always the first.
        "prefork_passfd_server" => m == [6, 0],
        // With EPOLLEXCLUSIVE each instance's waiter is tried in the order
        // they registered: the first child to register takes all.
        "herd_server" => m == [6, 0] || m == [0, 6],
        // accept's waiters, a lock's, a mutex's: first come, first served,
        // and a child that has served goes to the back.
        _ => m == [3, 3],
    }
}

/// SIGTERM ends the parent with status 0 once it has stopped each child
/// and waited for it (its trace shows a kill and a wait4 for every child
/// before its exit), and the meter gives each child's connections, spread
/// as the design spreads them.
fn sigterm_stops_them_all_and_prints_the_meter(name: &str, twin: Twin) -> Result<()> {
    let trace = trace_file("sigterm", name, twin);
    let server = Server::build(name, twin)
        .traced(
            &["-e", "trace=kill,wait4,exit_group", "-e", "signal=none"],
            &trace,
        )
        .start()?;
    server.settled()?;
    one_after_another(&server, 6)?;
    let children = server.children();
    let (status, stdout, stderr) = {
        let Server { run, .. } = server;
        run.signal(libc::SIGTERM);
        run.wait()?
    };
    if !status.success() || !stderr.is_empty() {
        return Err(format!("{status}, stderr {stderr:?}"));
    }
    let m = meter(&stdout);
    if !spread_ok(name, &m) {
        return Err(format!("meter {m:?}:\n{stdout}"));
    }
    let text = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
    // The parent's lines, strace's padding folded.
    let parent: Vec<String> = text
        .lines()
        .filter(|l| !children.iter().any(|c| l.starts_with(&format!("{c} "))))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let exit = parent
        .iter()
        .position(|l| l.contains("exit_group("))
        .ok_or_else(|| format!("no exit_group in the parent:\n{text}"))?;
    for c in &children {
        let killed = parent[..exit]
            .iter()
            .any(|l| l.contains(&format!("kill({c}, SIGTERM) = 0")));
        let waited = parent[..exit]
            .iter()
            .any(|l| l.contains(&format!("wait4({c}, NULL, 0, NULL) = {c}")));
        if !killed || !waited {
            return Err(format!(
                "child {c}: killed {killed}, waited for {waited}, before the parent's exit:\n{text}"
            ));
        }
    }
    Ok(())
}

/// Ctrl-C sends SIGINT to the whole foreground group: the children ignore
/// it, the parent stops them, prints the meter and exits 0, nothing on
/// stderr (no child killed by SIGINT behind its back).
fn ctrl_c_stops_them_all_and_prints_the_meter(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    server.settled()?;
    one_after_another(&server, 6)?;
    let children = server.children();
    let Server { mut run, .. } = server;
    // SAFETY: kill(2) takes no pointers; the server leads its own group.
    unsafe { libc::kill(-run.pid, libc::SIGINT) };
    wait_until("the parent to exit", || run.exited())?;
    let (status, stdout, stderr) = run.wait()?;
    if !status.success() || !stderr.is_empty() {
        return Err(format!("{status}, stderr {stderr:?}"));
    }
    if !spread_ok(name, &meter(&stdout)) {
        return Err(format!("meter:\n{stdout}"));
    }
    if let Some(&left) = children
        .iter()
        .find(|&&c| procfs::stat(c).is_some_and(|s| s.state != 'Z'))
    {
        return Err(format!("child {left} outlived its parent"));
    }
    Ok(())
}

/// The parent killed (SIGKILL: no handler runs) takes its children with
/// it: none is left serving on the port (each asked for SIGTERM at its
/// parent's death; passfd's children also see their socketpair's end).
fn a_killed_parent_leaves_no_child(name: &str, twin: Twin) -> Result<()> {
    let mut server = Server::start(name, twin)?;
    server.settled()?;
    let children = server.children();
    server.kill();
    wait_until("every child gone", || {
        children
            .iter()
            .all(|&c| procfs::stat(c).is_none_or(|s| s.state == 'Z'))
    })
}

/// Three hundred clients at once, each sending messages that together hold
/// every byte value: two children serve them all, in turn, byte-exact,
/// while the rest wait in the kernel's queue (or are let in by its
/// retries); see [`clients_at_once`] for why their handshakes are spaced.
fn three_hundred_clients_at_once(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    clients_at_once(&server, 300)?;
    server.settled()
}

/// A fork that fails (EAGAIN, injected) is reported and tried again a
/// second later: both children are made, and serve. One that fails every
/// time leaves its slot empty, tried again each second and said each time,
/// and the other child serves alone; the server neither dies nor hangs,
/// and SIGTERM still stops it.
fn a_failed_fork_is_tried_again(name: &str, twin: Twin) -> Result<()> {
    let trace = trace_file("fork", name, twin);
    let once = Server::build(name, twin)
        .traced(&["-e", "inject=clone:error=EAGAIN:when=2"], &trace)
        .start()?;
    once.settled()?;
    once.connect()?.check(b"after a failed fork\n")?;
    let (_, stderr) = once.stop();
    if stderr != "fork: Resource temporarily unavailable\n" {
        return Err(format!("one failure: stderr {stderr:?}"));
    }
    let always = Server::build(name, twin)
        .traced(&["-e", "inject=clone:error=EAGAIN:when=2+"], &trace)
        .start()?;
    wait_until("the fork tried three times", || {
        always.stderr().matches("fork: ").count() >= 3
    })?;
    always.connect()?.check(b"one child left\n")?;
    let stderr = always.stderr();
    if stderr
        .lines()
        .any(|l| l != "fork: Resource temporarily unavailable")
    {
        return Err(format!("every fork failing: stderr {stderr:?}"));
    }
    let (out, _) = always.terminate()?;
    if meter(&out).len() != 2 {
        return Err(format!("no meter after SIGTERM:\n{out}"));
    }
    Ok(())
}

#[test]
fn a_killed_child_is_replaced_every_preforked_server() {
    each_server(preforked, a_killed_child_is_replaced);
}

#[test]
fn sigterm_stops_them_all_and_prints_the_meter_every_preforked_server() {
    each_server(preforked, sigterm_stops_them_all_and_prints_the_meter);
}

#[test]
fn ctrl_c_stops_them_all_and_prints_the_meter_every_preforked_server() {
    each_server(preforked, ctrl_c_stops_them_all_and_prints_the_meter);
}

#[test]
fn a_killed_parent_leaves_no_child_every_preforked_server() {
    each_server(preforked, a_killed_parent_leaves_no_child);
}

#[test]
fn three_hundred_clients_at_once_every_preforked_server() {
    each_server(preforked, three_hundred_clients_at_once);
}

#[test]
fn a_failed_fork_is_tried_again_every_preforked_server() {
    each_server(preforked, a_failed_fork_is_tried_again);
}

/// The children of `pid` (`n` of them) each blocked in `call`.
fn all_children_in(pid: i32, n: usize, call: Call) -> bool {
    let kids = procfs::live_children(pid);
    kids.len() == n && kids.iter().all(|&k| procfs::blocked_in(k, k, call))
}

/// Wake-ups and EAGAINs over ten connections one after another, for four
/// children of herd_server with `args`, counted in the trace: (children
/// woken, accepts that found nothing).
fn herd_counts(twin: Twin, args: &[&str]) -> Result<(usize, usize)> {
    let trace = trace_file(&format!("herd-{}", args.join("-")), "herd_server", twin);
    let server = Server::build("herd_server", twin)
        .args(args)
        .traced(&["-e", "trace=epoll_wait,accept"], &trace)
        .start()?;
    for i in 0..10 {
        wait_until("four children in epoll_wait", || {
            all_children_in(server.pid, 4, Call::EpollWait)
        })?;
        let mut c = server.connect()?;
        c.check(format!("client {i}\n").as_bytes())?;
        c.finish()?;
    }
    wait_until("four children in epoll_wait", || {
        all_children_in(server.pid, 4, Call::EpollWait)
    })?;
    server.stop();
    let text = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
    let woken = text
        .lines()
        .filter(|l| l.contains("epoll_wait") && l.ends_with(") = 1"))
        .count();
    let eagain = text
        .lines()
        .filter(|l| l.contains("accept") && l.contains("EAGAIN"))
        .count();
    let served = text
        .lines()
        .filter(|l| l.contains("accept") && l.contains("sin_port="))
        .count();
    if served != 10 {
        return Err(format!(
            "{served} accepts took a connection, not 10:\n{text}"
        ));
    }
    Ok((woken, eagain))
}

/// The thundering herd: with four children in epoll_wait on the listener,
/// ten connections wake more children than they need (some find nothing
/// to accept: EAGAIN); with EPOLLEXCLUSIVE, fewer wake, and fewer accept
/// in vain.
fn the_herd_wakes_many_and_exclusive_fewer(twin: Twin) -> Result<()> {
    let (herd_woken, herd_eagain) = herd_counts(twin, &["4"])?;
    let (excl_woken, excl_eagain) = herd_counts(twin, &["4", "exclusive"])?;
    if herd_woken <= 10 || herd_eagain == 0 {
        return Err(format!(
            "no herd: {herd_woken} wake-ups and {herd_eagain} EAGAIN for 10 connections"
        ));
    }
    if excl_woken >= herd_woken || excl_eagain >= herd_eagain {
        return Err(format!(
            "exclusive: {excl_woken} wake-ups, {excl_eagain} EAGAIN; without: {herd_woken}, {herd_eagain}"
        ));
    }
    Ok(())
}

harness::twin_tests!(the_herd_wakes_many_and_exclusive_fewer);

/// `make demo-prefork`: twelve clients over four children in accept, one
/// after another, go round robin: the meter gives each child three.
#[test]
fn demo_prefork_goes_round_robin() {
    for twin in [&[][..], &["--c"][..]] {
        let out = demo(&[&["prefork"][..], twin].concat()).unwrap();
        let m = meter(&out);
        assert_eq!(m, [3, 3, 3, 3], "{out}");
        let served: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split("served by child ").nth(1)?.split(' ').next())
            .collect();
        assert_eq!(served.len(), 12, "{out}");
        // Each child again after the three others.
        assert!(served.windows(5).all(|w| w[0] == w[4]), "{served:?}");
    }
}

/// `make demo-herd` and `demo-herd-exclusive`: the herd's demo counts
/// wake-ups and vain accepts per connection; with EPOLLEXCLUSIVE no accept
/// is in vain, and the meter gives one child every connection.
#[test]
fn demo_herd_counts_the_wake_ups() {
    let herd = demo(&["herd"]).unwrap();
    let per_client = herd
        .lines()
        .filter(|l| {
            l.contains(" of 4 children woke and called accept, ") && !l.ends_with("? served it")
        })
        .count();
    assert_eq!(per_client, 8, "{herd}");
    assert_eq!(meter(&herd).iter().sum::<usize>(), 8, "{herd}");
    let exclusive = demo(&["herd-exclusive"]).unwrap();
    assert!(exclusive.contains("8 connections: "), "{exclusive}");
    assert!(
        exclusive.contains(" called accept, 0 in vain"),
        "{exclusive}"
    );
    let mut m = meter(&exclusive);
    m.sort_unstable();
    assert_eq!(m, [0, 0, 0, 8], "{exclusive}");
}
