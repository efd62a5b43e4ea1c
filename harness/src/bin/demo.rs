//! `demo`: the lessons of the small programs, shown as they happen, with
//! timestamps (behind `make demo-iterative`, `demo-zombie`, `demo-sigign`,
//! `demo-reaper`, `demo-prefork`, `demo-herd`, `demo-herd-exclusive`: each
//! demo is named after its program).

use harness::client::Conn;
use harness::process::{Server, wait_until};
use harness::{Call, Result, Twin, procfs};
use std::io::{Read, Write};
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// The demos, each named after its program (the Makefile reads this line).
const DEMOS: &[&str] = &[
    "iterative",
    "zombie",
    "sigign",
    "reaper",
    "prefork",
    "herd",
    "herd-exclusive",
];

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

/// Starts server `name` with `args` after the port, perhaps under
/// `strace -f -o trace` (tracing `calls`), and waits until its `n`
/// children each wait in `call`.
fn start_children(
    name: &str,
    twin: Twin,
    args: &[&str],
    traced: Option<(&std::path::Path, &str)>,
    n: usize,
    call: Call,
) -> Result<Server> {
    let exe = harness::exe(name, twin);
    let cmd = match traced {
        Some((trace, calls)) => {
            let mut cmd = Command::new("strace");
            cmd.args(["-f", "-qq", "-e", &format!("trace={calls}"), "-o"])
                .arg(trace)
                .arg(&exe);
            cmd
        }
        None => Command::new(&exe),
    };
    let server = Server::start_with_args(name, cmd, &exe, harness::process::free_port(), args)?;
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
    let server = start_children("prefork_server", twin, &["4"], None, 4, Call::Accept)?;
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
    let dir = std::env::temp_dir().join(format!("concserv-demo-herd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let trace = dir.join("trace");
    let args: &[&str] = if exclusive {
        &["4", "exclusive"]
    } else {
        &["4"]
    };
    let server = start_children(
        "herd_server",
        twin,
        args,
        Some((&trace, "epoll_wait,accept")),
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
    let _ = std::fs::remove_dir_all(&dir);
    result
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
