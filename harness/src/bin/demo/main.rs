//! `demo`: the lessons of the small programs, shown as they happen, with
//! timestamps (behind `make demo-iterative`, `demo-zombie`, `demo-sigign`,
//! `demo-reaper`, `demo-prefork`, `demo-herd`, `demo-herd-exclusive`,
//! `demo-prethread`, `demo-coroutine`: each demo is named after its
//! program, the last three after their family).

mod coroutine;

use harness::base::client::Conn;
use harness::base::server::{Build, Server};
use harness::base::wait::wait_until;
use harness::base::{dir, procfs};
use harness::{Call, DEMOS, Result, Twin};
use std::io::{Read, Write};
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// The usage lines.
fn usage() -> String {
    format!(
        "usage: demo {} [--c]\n\
         Runs the lesson's server (the Rust twin, or the C one with --c) on a free port and shows what it teaches.",
        DEMOS.join("|")
    )
}

/// Prints a line with the time since the demo started.
struct Clock(Instant);

impl Clock {
    fn say(&self, what: &str) {
        println!("[{:6.3} s] {what}", self.0.elapsed().as_secs_f64());
    }
}

/// Two clients: A connects and stays idle; B connects, sends, and waits.
fn iterative(twin: Twin, t: &Clock) -> Result<()> {
    let server = Server::start("iterative_server", twin)?;
    t.say(&format!(
        "iterative_server listening on port {}",
        server.port
    ));
    let mut a = server.connect()?;
    a.check(b"hello from A\n")?;
    t.say("A: connected, sent \"hello from A\", got \"HELLO FROM A\"; now A stays connected, idle");
    let mut b = server.connect()?;
    t.say("B: connect() succeeded at once: the kernel finished the handshake and queued B in the backlog");
    b.0.write_all(b"hello from B\n")
        .map_err(|e| e.to_string())?;
    t.say("B: sent \"hello from B\"; the server is blocked in read() on A's socket, so nobody reads it");
    thread::sleep(Duration::from_secs(2));
    t.say("B: two seconds later, still no reply. A leaves now");
    a.finish()?;
    let mut reply = [0u8; 13];
    b.0.read_exact(&mut reply).map_err(|e| e.to_string())?;
    t.say(&format!(
        "B: reply {:?}, at once: the server read A's end of file, closed, accepted B",
        String::from_utf8_lossy(&reply)
    ));
    b.finish()?;
    t.say(
        "One idle client blocks everyone: that is why servers fork, start threads, or multiplex.",
    );
    Ok(())
}

/// Three clients come and go; then `ps` shows the server's children.
fn children(name: &str, twin: Twin, t: &Clock) -> Result<()> {
    let server = Server::start(name, twin)?;
    t.say(&format!(
        "{name} listening on port {}, pid {}",
        server.port, server.pid
    ));
    for i in 1..=3 {
        let mut c = server.connect()?;
        c.check(format!("client {i}\n").as_bytes())?;
        c.finish()?;
        t.say(&format!(
            "client {i}: served, and gone; its child has exited"
        ));
    }
    if name == "zombie_server" {
        wait_until("three zombies", || server.zombies() == 3)?;
    } else {
        server.settled()?;
    }
    t.say(&format!(
        "ps --ppid {} (the server's children):",
        server.pid
    ));
    let ps = Command::new("ps")
        .args(["-o", "pid,ppid,stat,cmd", "--ppid", &server.pid.to_string()])
        .output()
        .map_err(|e| format!("ps: {e} (Debian: apt-get install procps)"))?;
    print!("{}", String::from_utf8_lossy(&ps.stdout));
    if name == "zombie_server" {
        t.say("Each finished child stays a zombie (<defunct>, state Z) until its parent waits for it, or dies.");
    } else {
        t.say("No child left: with SIGCHLD set to SIG_IGN the kernel reaps them itself; no handler, no wait4.");
    }
    Ok(())
}

/// Four clients at once; each worker's end, and its join by the reaper.
fn reaper(twin: Twin, t: &Clock) -> Result<()> {
    let server = Server::start("reaper_server", twin)?;
    t.say(&format!(
        "reaper_server listening on port {}, pid {}",
        server.port, server.pid
    ));
    let conns: Vec<Conn> = (0..4).map(|_| server.connect()).collect::<Result<_>>()?;
    server.serving(4)?;
    t.say(&format!(
        "4 clients connected: {} threads (main, reaper, a worker each)",
        server.tasks()
    ));
    for (i, mut c) in conns.into_iter().enumerate() {
        c.check(format!("client {}\n", i + 1).as_bytes())?;
        c.finish()?;
        wait_until("the join", || {
            server.stdout().matches("joined worker").count() == i + 1
        })?;
        let line = server
            .stdout()
            .lines()
            .rfind(|l| l.starts_with("joined worker"))
            .unwrap_or_default()
            .to_string();
        t.say(&format!(
            "client {} left; the server printed {line:?}; {} threads left",
            i + 1,
            server.tasks()
        ));
    }
    t.say("Every worker joined as it ended, its exit value printed; main and reaper remain.");
    Ok(())
}

/// A fresh directory of this demo's own under the system's temporary one.
fn temp_dir(demo: &str) -> Result<std::path::PathBuf> {
    let name = format!("concserv-demo-{demo}-{}", std::process::id());
    dir::scratch(&std::env::temp_dir(), &name)
}

/// Starts the server `build` says and waits until its `n` children each
/// wait in `call`.
fn start_children(build: Build, n: usize, call: Call) -> Result<Server> {
    let server = build.start()?;
    children_wait(&server, n, call)?;
    Ok(server)
}

/// Waits until the server's `n` children each wait in `call`.
fn children_wait(server: &Server, n: usize, call: Call) -> Result<()> {
    wait_until(&format!("{n} children in {call:?}"), || {
        let kids = procfs::live_children(server.pid);
        kids.len() == n && kids.iter().all(|&k| procfs::blocked_in(k, k, call))
    })
}

/// The server's children, in the order they were made (by pid).
fn children_made(server: &Server) -> Vec<i32> {
    let mut kids = procfs::live_children(server.pid);
    kids.sort_unstable();
    kids
}

/// Ends the server with SIGTERM and shows the meter it prints.
fn show_meter(server: Server, t: &Clock) -> Result<()> {
    let (stdout, _) = server.terminate()?;
    t.say("SIGTERM: the parent stops each child, waits for it, and prints its meter:");
    for line in stdout.lines().filter(|l| l.starts_with("child ")) {
        println!("    {line}");
    }
    Ok(())
}

/// Twelve clients one after another against four children blocked in
/// accept: which child takes each, and the meter.
fn prefork(twin: Twin, t: &Clock) -> Result<()> {
    let server = start_children(
        Server::build("prefork_server", twin).args(&["4"]),
        4,
        Call::Accept,
    )?;
    let kids = children_made(&server);
    t.say(&format!(
        "prefork_server on port {}: parent {}, four children made before any client, each blocked in accept: {kids:?}",
        server.port, server.pid
    ));
    for i in 0..12 {
        let mut c = server.connect()?;
        c.check(format!("client {i}\n").as_bytes())?;
        // The child that took it waits for the client's next message.
        let mut slot = None;
        wait_until("the child serving it to wait for its client", || {
            slot = kids
                .iter()
                .position(|&k| procfs::blocked_in(k, k, Call::Read));
            slot.is_some()
        })?;
        let serving = slot.map_or(String::new(), |s| format!("child {s} (pid {})", kids[s]));
        c.finish()?;
        t.say(&format!("client {i:2}: served by {serving}"));
        children_wait(&server, 4, Call::Accept)?;
    }
    t.say("Round robin: Linux wakes one waiter of a blocking accept, the one that waited longest (FIFO), and a child that has served goes to the back of the queue.");
    show_meter(server, t)
}

/// Clients one after another against four children of herd_server, each
/// in epoll_wait on the listener (with EPOLLEXCLUSIVE if `exclusive`):
/// per connection, from the trace, how many woke, how many found nothing
/// to accept, and who served it.
fn herd(twin: Twin, t: &Clock, exclusive: bool) -> Result<()> {
    let dir = temp_dir("herd")?;
    let trace = dir.join("trace");
    let args: &[&str] = if exclusive {
        &["4", "exclusive"]
    } else {
        &["4"]
    };
    let server = start_children(
        Server::build("herd_server", twin)
            .args(args)
            .traced(&["-e", "trace=epoll_wait,accept"], &trace),
        4,
        Call::EpollWait,
    )?;
    let kids = children_made(&server);
    t.say(&format!(
        "herd_server {} under strace -f: four children, each with an epoll instance of its own watching the listener{}: {kids:?}",
        args.join(" "),
        if exclusive { " with EPOLLEXCLUSIVE" } else { "" }
    ));
    let mut seen = 0;
    let (mut all_woken, mut all_eagain) = (0, 0);
    let clients = 8;
    for i in 0..clients {
        let mut c = server.connect()?;
        c.check(format!("client {i}\n").as_bytes())?;
        c.finish()?;
        children_wait(&server, 4, Call::EpollWait)?;
        let text = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
        let new: Vec<&str> = text.lines().skip(seen).collect();
        seen += new.len();
        // A child that wakes goes on to accept: one accept per child woken
        // (strace -f -o FILE starts each line with the pid).
        let pid_of = |l: &str| l.split_whitespace().next()?.parse::<i32>().ok();
        let accepts: Vec<&&str> = new
            .iter()
            .filter(|l| l.contains(" accept(") || l.contains("<... accept resumed>"))
            .filter(|l| !l.ends_with("<unfinished ...>"))
            .collect();
        let woken = accepts.len();
        let eagain = accepts.iter().filter(|l| l.contains("EAGAIN")).count();
        let who = accepts
            .iter()
            .find(|l| l.contains("sin_port="))
            .and_then(|l| pid_of(l))
            .and_then(|p| {
                kids.iter()
                    .position(|&k| k == p)
                    .map(|s| format!("child {s} (pid {p})"))
            })
            .unwrap_or_else(|| "?".to_string());
        all_woken += woken;
        all_eagain += eagain;
        t.say(&format!(
            "client {i}: {woken} of 4 children woke and called accept, {eagain} found nothing (EAGAIN); {who} served it"
        ));
    }
    t.say(&format!(
        "{clients} connections: {all_woken} children woke and called accept, {all_eagain} in vain"
    ));
    if exclusive {
        t.say("EPOLLEXCLUSIVE wakes one epoll instance: no herd. Each instance registered on the listener in turn, and the kernel tries them in that order, so the first child that is idle takes every connection: the load is not spread (Cloudflare saw the like with NGINX: one worker busiest). A blocking accept wakes the longest waiter instead (make demo-prefork).");
    } else {
        t.say("Every connection wakes every child waiting on the listener: all but one wake for nothing (some not even to the accept, when the winner was quicker). That is the thundering herd (惊群); make demo-herd-exclusive shows EPOLLEXCLUSIVE.");
    }
    let result = show_meter(server, t);
    dir::remove(&dir);
    result
}

/// The tids of the threads the main thread (`pid`) made, in order, read
/// in a `strace -f` trace: its `clone3` calls' results.
fn threads_made(text: &str, pid: i32) -> Vec<i32> {
    // The call may be cut in two ("<unfinished ...>", "<... clone3
    // resumed>") by another thread's line: its result ends the second half.
    let main = format!("{pid} ");
    text.lines()
        .filter(|l| l.starts_with(&main) && l.contains("clone3"))
        .filter_map(|l| l.rsplit_once(" = ")?.1.parse().ok())
        .collect()
}

/// Eight clients one after another against each prethreaded design, four
/// threads each, under `strace -f`: which thread served each, what system
/// calls the connection cost in the server (the futex calls among them),
/// and the meter.
fn prethread(twin: Twin, t: &Clock) -> Result<()> {
    let dir = temp_dir("prethread")?;
    let result = [
        ("prethread_server", "one thread holds the mutex and waits in accept; the others wait for the mutex (futex)"),
        ("prethread_queue_server", "the main thread waits in ppoll on the listener; the four wait on the condition variable (futex)"),
        ("reuseport_server", "each thread waits in epoll_wait on a listening socket of its own, all four bound to the port with SO_REUSEPORT"),
    ]
    .into_iter()
    .try_for_each(|(name, how)| prethread_design(name, how, twin, &dir, t));
    dir::remove(&dir);
    result?;
    t.say("The mutex and the condition variable pass the connections round in the order the threads came to wait, mostly: neither is fair (a thread that has just served may take the mutex back before the one it woke runs), and each hand-over costs futex calls. SO_REUSEPORT lets the kernel pick the socket by a hash of the client's address and port: no lock, no futex, and no balance either: a thread may get none, and a busy connection stays on its thread for life.");
    Ok(())
}

/// One design of [`prethread`].
fn prethread_design(
    name: &str,
    how: &str,
    twin: Twin,
    dir: &std::path::Path,
    t: &Clock,
) -> Result<()> {
    let trace = dir.join(name);
    let server = Server::build(name, twin)
        .args(&["4"])
        .traced(&[], &trace)
        .start()?;
    let text = || std::fs::read_to_string(&trace).unwrap_or_default();
    wait_until("four threads made", || {
        threads_made(&text(), server.pid).len() == 4
    })?;
    let tids = threads_made(&text(), server.pid);
    t.say(&format!(
        "{name} 4 on port {}, under strace -f: four threads made before any client; {how}",
        server.port
    ));
    let mut seen = text().lines().count();
    for i in 0..8 {
        let msg = format!("client {i}\n");
        let mut c = server.connect()?;
        c.check(msg.as_bytes())?;
        c.finish()?;
        // Every thread back where it waits: one in read, write or close has
        // not finished with the client.
        wait_until("every thread back where it waits", || {
            tids.iter().all(|&k| {
                [Call::Accept, Call::Futex, Call::EpollWait]
                    .into_iter()
                    .any(|call| procfs::blocked_in(server.pid, k, call))
            }) && procfs::sockets(server.pid) == if name == "reuseport_server" { 4 } else { 1 }
        })?;
        let all = text();
        let new: Vec<&str> = all.lines().skip(seen).collect();
        seen += new.len();
        // strace -f starts each line with the tid; a call cut in two by
        // another's counts once, at its end.
        let calls: Vec<&&str> = new
            .iter()
            .filter(|l| {
                !l.ends_with("<unfinished ...>") && !l.contains(" +++ ") && !l.contains(" --- ")
            })
            .collect();
        let futex = calls
            .iter()
            .filter(|l| l.contains("futex(") || l.contains("<... futex resumed>"))
            .count();
        let who = new
            .iter()
            .find(|l| {
                l.contains(&format!("\"{}\\n\"", msg.trim_end()))
                    && (l.contains(" read(") || l.contains("<... read resumed>"))
            })
            .and_then(|l| l.split_whitespace().next()?.parse::<i32>().ok())
            .and_then(|tid| tids.iter().position(|&k| k == tid))
            .map_or_else(|| "?".to_string(), |i| format!("thread {i}"));
        t.say(&format!(
            "client {i}: served by {who}; {} system calls in the server, {futex} of them futex",
            calls.len()
        ));
    }
    let (stdout, _) = server.terminate()?;
    t.say("SIGTERM: the main thread prints the meter and exits:");
    for line in stdout.lines().filter(|l| l.starts_with("thread ")) {
        println!("    {line}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let twin = if args.iter().any(|a| a == "--c") {
        Twin::C
    } else {
        Twin::Rust
    };
    let t = Clock(Instant::now());
    let result = match args.first().map(String::as_str) {
        Some("iterative") => iterative(twin, &t),
        // zombies: the demo's first name.
        Some("zombie" | "zombies") => children("zombie_server", twin, &t),
        Some("sigign") => children("sigign_server", twin, &t),
        Some("reaper") => reaper(twin, &t),
        Some("prefork") => prefork(twin, &t),
        Some("herd") => herd(twin, &t, false),
        Some("herd-exclusive") => herd(twin, &t, true),
        Some("prethread") => prethread(twin, &t),
        Some("coroutine") => coroutine::coroutine(twin, &t),
        Some("-h" | "--help") => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}
