//! `demo`: the lessons of the small programs, shown as they happen, with
//! timestamps (behind `make demo-iterative`, `demo-zombie`, `demo-sigign`,
//! `demo-reaper`: each demo is named after its program).

use harness::client::Conn;
use harness::process::{Server, wait_until};
use harness::{Result, Twin};
use std::io::{Read, Write};
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// The demos, each named after its program (the Makefile reads this line).
const DEMOS: &[&str] = &["iterative", "zombie", "sigign", "reaper"];

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
