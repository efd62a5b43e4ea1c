//! `watch`: its rendering, on ratatui's test backend; its stories, on
//! real servers through `--frames --json`; and a run under a
//! pseudo-terminal, keys and all.

use harness::base::client::Conn;
use harness::base::port::free_port;
use harness::base::procfs;
use harness::base::pty::pty;
use harness::base::wait::DEADLINE;
use harness::tools::watch::render::{self, View};
use harness::tools::watch::snapshot::{FdRow, Snapshot, TaskRow};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const WATCH: &str = env!("CARGO_BIN_EXE_watch");

/// A `watch --json` run on a port of its own, its frames read as they come.
struct Watch {
    child: Child,
    frames: Receiver<String>,
    port: u16,
}

impl Watch {
    /// `watch NAME --port P --json --frames (many) --interval 50 EXTRA...`.
    fn start(name: &str, extra: &[&str]) -> Watch {
        let port = free_port();
        let mut child = Command::new(WATCH)
            .args([name, "--json", "--frames", "100000", "--interval", "50"])
            .args(["--port", &port.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("watch starts");
        let (tx, frames) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let w = Watch {
            child,
            frames,
            port,
        };
        // The first frame comes once the server listens.
        w.until("a first frame", |_| true);
        w
    }

    /// The first frame for which `pred` holds; fails after the deadline
    /// with the last frame seen.
    fn until(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + DEADLINE;
        let mut last = Value::Null;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            let Ok(line) = self.frames.recv_timeout(left) else {
                break;
            };
            last = serde_json::from_str(&line).expect("a frame is JSON");
            if pred(&last) {
                return last;
            }
        }
        panic!("no frame with {what}; the last: {last}");
    }

    /// Drops the frames read so far.
    fn drain(&self) {
        while self.frames.try_recv().is_ok() {}
    }

    fn conn(&self) -> Conn {
        Conn::to(self.port).expect("connect")
    }
}

impl Drop for Watch {
    /// SIGTERM, as a user's Ctrl-C: watch stops its server and exits.
    fn drop(&mut self) {
        // SAFETY: kill(2) takes no pointers.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + DEADLINE;
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tasks of a frame.
fn tasks(f: &Value) -> &Vec<Value> {
    f["tasks"].as_array().expect("tasks")
}

/// `f`'s tasks in call `call`.
fn in_call<'a>(f: &'a Value, call: &str) -> Vec<&'a Value> {
    tasks(f).iter().filter(|t| t["syscall"] == call).collect()
}

#[test]
fn a_zombie_is_counted_once_its_client_has_left() {
    let w = Watch::start("zombie", &[]);
    let first = w.until("the server in accept", |f| in_call(f, "accept").len() == 1);
    assert_eq!(first["zombies"], 0);
    // listen(listenfd, 128), src/listen.c: from the kernel's socket diagnostics.
    assert_eq!(first["listen"]["backlog"], 128);
    let mut c = w.conn();
    c.check(b"hello\n").unwrap();
    // Held by its child in a frame: counted as accepted, and still after.
    w.until("one accepted", |f| f["accepted"] == 1);
    c.finish().unwrap();
    let f = w.until("a zombie", |f| f["zombies"] == 1);
    assert_eq!(f["accepted"], 1, "{f}");
    // Clients that come and go between two frames: counted by the
    // TIME_WAIT their close leaves at the client's end.
    for _ in 0..2 {
        let mut c = w.conn();
        c.check(b"hello\n").unwrap();
        c.finish().unwrap();
    }
    w.until("three zombies, three accepted", |f| {
        f["zombies"] == 3 && f["accepted"] == 3
    });
    let z: Vec<&Value> = tasks(&f).iter().filter(|t| t["state"] == "Z").collect();
    assert_eq!(z.len(), 1, "{f}");
    assert_eq!(z[0]["depth"], 1, "the zombie is the server's child: {f}");
    assert_ne!(z[0]["pid"], f["pid"]);
}

#[test]
fn a_thread_per_client_each_reading_its_own() {
    let w = Watch::start("thread", &[]);
    let mut conns: Vec<Conn> = (0..3).map(|_| w.conn()).collect();
    for c in &mut conns {
        c.check(b"hi\n").unwrap();
    }
    let peers: Vec<String> = conns
        .iter()
        .map(|c| format!("127.0.0.1:{}", c.0.local_addr().unwrap().port()))
        .collect();
    let f = w.until("three threads in read, one per client", |f| {
        let readers = in_call(f, "read");
        readers.len() == 3
            && peers
                .iter()
                .all(|p| readers.iter().any(|t| t["peer"] == **p))
    });
    let pid = &f["pid"];
    assert!(
        tasks(&f).iter().all(|t| t["pid"] == *pid),
        "threads, no children: {f}"
    );
    assert_eq!(
        tasks(&f).len(),
        4,
        "the main thread and one per client: {f}"
    );
    assert_eq!(f["clients"], 3);
}

/// One thread in epoll_wait, however many clients, and the coroutines
/// alive read from the server's memory: the accept loop's and one per
/// client, one fewer once a client leaves.
#[test]
fn one_thread_and_a_coroutine_per_client() {
    for (name, twin) in [("coroutine", &[][..]), ("fiber", &["--c"][..])] {
        let w = Watch::start(name, twin);
        w.until("the accept loop's coroutine", |f| f["coroutines"] == 1);
        let mut conns: Vec<Conn> = (0..3).map(|_| w.conn()).collect();
        for c in &mut conns {
            c.check(b"hi\n").unwrap();
        }
        let f = w.until("four coroutines", |f| f["coroutines"] == 4);
        assert_eq!(tasks(&f).len(), 1, "one thread: {f}");
        conns.pop().unwrap().finish().unwrap();
        let f = w.until("three coroutines, one thread in epoll_wait", |f| {
            f["coroutines"] == 3 && in_call(f, "epoll_wait").len() == 1
        });
        assert_eq!(f["clients"], 2, "{f}");
    }
    // A server without the count has none.
    let w = Watch::start("epoll", &[]);
    let f = w.until("the loop in epoll_wait", |f| {
        in_call(f, "epoll_wait").len() == 1
    });
    assert_eq!(f["coroutines"], Value::Null, "{f}");
}

#[test]
fn every_prefork_child_waits_in_accept() {
    let w = Watch::start("prefork", &["--", "3"]);
    let f = w.until("three children in accept", |f| {
        let kids: Vec<&Value> = tasks(f).iter().filter(|t| t["depth"] == 1).collect();
        kids.len() == 3 && kids.iter().all(|t| t["syscall"] == "accept")
    });
    let main = &tasks(&f)[0];
    assert_eq!(main["depth"], 0);
    assert_ne!(main["syscall"], "accept", "the parent does not accept: {f}");
}

/// The herd's children, once all four sleep in `epoll_wait`; then the
/// wake-ups of each over `n` clients, one after another (the frames'
/// rates times their intervals, until two frames after the last).
fn herd_wakeups(extra: &[&str], n: usize) -> Vec<f64> {
    let w = Watch::start("herd", extra);
    let children = |f: &Value| -> Vec<Value> {
        tasks(f)
            .iter()
            .filter(|t| t["depth"] == 1)
            .cloned()
            .collect()
    };
    w.until("four children asleep in epoll_wait", |f| {
        let kids = children(f);
        kids.len() == 4
            && kids
                .iter()
                .all(|t| t["syscall"] == "epoll_wait" && t["wakeups"] == 0.0)
    });
    w.drain();
    // The frame the sums start from: the clients come after it.
    let mut last_ms = w.until("a frame", |_| true)["ms"].as_f64().unwrap();
    for i in 0..n {
        let mut c = w.conn();
        c.check(format!("client {i}\n").as_bytes()).unwrap();
        c.finish().unwrap();
    }
    let mut sums = vec![0.0; 4];
    for _ in 0..3 {
        let f = w.until("a frame", |_| true);
        let ms = f["ms"].as_f64().unwrap();
        let secs = (ms - last_ms) / 1000.0;
        last_ms = ms;
        for (sum, t) in sums.iter_mut().zip(children(&f)) {
            *sum += t["wakeups"].as_f64().unwrap_or(0.0) * secs;
        }
    }
    sums
}

/// Every child of the herd wakes for a connection, though one accepts
/// it; with EPOLLEXCLUSIVE one wakes for each, so that of four children
/// two at least sleep through two connections.
#[test]
fn the_herd_wakes_every_child_and_exclusive_one() {
    let all = herd_wakeups(&["--", "4"], 2);
    assert!(all.iter().all(|&n| n >= 0.5), "every child woke: {all:?}");
    let one = herd_wakeups(&["--", "4", "exclusive"], 2);
    let asleep = one.iter().filter(|&&n| n < 0.5).count();
    assert!(asleep >= 2, "two children at least slept: {one:?}");
}

/// The CPU a child used, while it serves and once it is a zombie.
#[test]
fn a_childs_cpu_time_outlives_it() {
    let w = Watch::start("zombie", &[]);
    let mut c = w.conn();
    // Some 6,000 system calls in the child: milliseconds of CPU.
    for i in 0..2000 {
        c.check(format!("line {i}\n").as_bytes()).unwrap();
    }
    let child = |f: &Value| -> Option<Value> { tasks(f).iter().find(|t| t["depth"] == 1).cloned() };
    let f = w.until("the child's CPU time", |f| {
        child(f).is_some_and(|t| t["cpu_ms"].as_u64().unwrap() >= 1)
    });
    let used = child(&f).unwrap()["cpu_ms"].as_u64().unwrap();
    c.finish().unwrap();
    let f = w.until("a zombie", |f| f["zombies"] == 1);
    let z = child(&f).unwrap();
    assert_eq!(z["state"], "Z", "{f}");
    assert!(z["cpu_ms"].as_u64().unwrap() >= used, "{f}");
}

#[test]
fn the_pool_is_one_process_of_epoll_threads() {
    let w = Watch::start("pool", &["--", "2"]);
    let mut conns: Vec<Conn> = (0..2).map(|_| w.conn()).collect();
    for c in &mut conns {
        c.check(b"hi\n").unwrap();
    }
    let f = w.until("three threads in epoll_wait, the clients on workers", |f| {
        tasks(f).len() == 3
            && in_call(f, "epoll_wait").len() == 3
            && tasks(f)
                .iter()
                .map(|t| t["peers"].as_u64().unwrap())
                .sum::<u64>()
                == 2
    });
    let pid = f["pid"].as_i64().unwrap();
    for t in tasks(&f).iter().filter(|t| t["peers"] != 0) {
        assert_ne!(
            t["tid"].as_i64().unwrap(),
            pid,
            "a worker, not the acceptor: {f}"
        );
    }
    let epolls = f["fds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["what"] == "epoll")
        .count();
    assert_eq!(epolls, 3, "an epoll instance per thread: {f}");
}

#[test]
fn a_full_queue_shows_in_the_accept_queue() {
    let w = Watch::start("prethread_queue", &["--", "1"]);
    w.until("its two threads", |f| tasks(f).len() == 2);
    let mut first = w.conn();
    first.check(b"hold the thread\n").unwrap();
    // 32 in the server's own queue; the rest stay in the kernel's.
    let _rest: Vec<Conn> = (0..36).map(|_| w.conn()).collect();
    let f = w.until("connections in the accept queue", |f| {
        f["listen"]["queued"].as_u64().unwrap() > 0
    });
    assert!(f["listen"]["queued"].as_u64().unwrap() <= 4, "{f}");
}

#[test]
fn the_view_survives_its_server() {
    let mut w = Watch::start("zombie", &[]);
    let f = w.until("the server in accept", |f| in_call(f, "accept").len() == 1);
    let pid = f["pid"].as_i64().unwrap() as i32;
    // SAFETY: kill(2) takes no pointers; pid is the server's.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let last = w.until("how it ended", |f| !f["ended"].is_null());
    assert_eq!(last["ended"], "killed by signal 9 (SIGKILL)");
    assert!(!tasks(&last).is_empty(), "the last frame is kept: {last}");
    let end = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(s) = w.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "watch outlived its server");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success());
}

#[test]
fn children_that_come_and_go_do_not_stop_the_view() {
    let w = Watch::start("process", &[]);
    let mut held: Vec<Conn> = (0..3).map(|_| w.conn()).collect();
    for c in &mut held {
        c.check(b"hold\n").unwrap();
    }
    w.until("a child per client", |f| {
        tasks(f).iter().filter(|t| t["depth"] == 1).count() == 3
    });
    for c in held {
        c.finish().unwrap();
    }
    for i in 0..20 {
        let mut c = w.conn();
        c.check(format!("client {i}\n").as_bytes()).unwrap();
        c.finish().unwrap();
    }
    // Each child lived, died and was reaped between or during frames.
    w.drain();
    let f = w.until("the server alone again", |f| tasks(f).len() == 1);
    assert_eq!(f["zombies"], 0);
    assert_eq!(f["ended"], Value::Null);
    w.until("a frame after that", |_| true);
}

/// `make watch-pool THREADS=2 WATCH_FLAGS=...` passes the port and the
/// pool's size to the server, and the flags to watch (`-o`: the programs
/// and the tool of this build, not built again).
#[test]
fn make_watch_passes_the_programs_arguments() {
    let port = free_port();
    let dir = std::path::Path::new(WATCH).parent().unwrap();
    let out = Command::new("make")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["--no-print-directory", "-o", "programs", "-o", "watch-tool"])
        .arg(format!("CARGO={}", env!("CARGO")))
        .arg(format!("RUST={}", dir.display()))
        .arg(format!("C={}", harness::c_dir().display()))
        .args(["watch-pool", "THREADS=2", &format!("PORT={port}")])
        .arg("WATCH_FLAGS=--json --frames 2")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(text.lines().last().expect("a frame")).unwrap();
    assert_eq!(last["port"], port, "{last}");
    assert_eq!(
        tasks(&last).len(),
        3,
        "the acceptor and two workers: {last}"
    );
}

/// A server of one's own that listens on another port than the one
/// given is named with the port it took, at once.
#[test]
fn a_server_on_another_port_is_told_so() {
    let (p, q) = (free_port(), free_port());
    let exe = harness::rust_dir().join("pool_server");
    let out = Command::new(WATCH)
        .args(["--exe", exe.to_str().unwrap(), "--port", &q.to_string()])
        .args(["--frames", "1", "--", &p.to_string()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("listens on port {p}, not {q}: PORT={p}")),
        "{err}"
    );
    assert!(!procfs::port_listened(p), "the server is stopped");
}

/// A frame of three processes, by hand.
fn view() -> View {
    let task = |pid, depth, state, call: Option<&str>, peer: Option<&str>| TaskRow {
        pid,
        tid: pid,
        depth,
        state,
        syscall: call.map(String::from),
        peer: peer.map(String::from),
        peers: usize::from(peer.is_some()),
        ..TaskRow::default()
    };
    View {
        name: "zombie_server".into(),
        snap: Snapshot {
            pid: 100,
            port: 8000,
            tasks: vec![
                task(100, 0, 'S', Some("accept"), None),
                task(101, 1, 'Z', None, None),
                task(102, 1, 'S', Some("read"), Some("127.0.0.1:40000")),
            ],
            fds: vec![FdRow {
                pid: 100,
                fd: 3,
                what: "listen :8000".into(),
            }],
            zombies: 1,
            clients: 1,
            accepted: 2,
            backlog: 128,
            ..Snapshot::default()
        },
        ..View::default()
    }
}

/// The rows of a test backend's screen, each trimmed at its end.
fn screen(width: u16, height: u16, v: &View) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| render::draw(f, v)).unwrap();
    let buf = t.backend().buffer();
    (0..height)
        .map(|y| {
            let row: String = (0..width).map(|x| buf[(x, y)].symbol()).collect();
            row.trim_end().to_string()
        })
        .collect()
}

#[test]
fn the_view_draws_tasks_as_a_tree() {
    let rows = screen(100, 16, &view());
    assert_eq!(
        rows[0],
        "zombie_server pid 100 :8000  accept queue 0/128  accepted ≥2  clients 1  zombies 1  tasks 3  fds 1"
    );
    let at = rows
        .iter()
        .position(|r| r.starts_with("PID"))
        .expect("a header");
    assert!(rows[at + 1].starts_with("100 "), "{rows:#?}");
    assert!(
        rows[at + 2].starts_with("  101") && rows[at + 2].contains("(zombie)"),
        "{rows:#?}"
    );
    assert!(
        rows[at + 3].contains("read") && rows[at + 3].ends_with("127.0.0.1:40000"),
        "{rows:#?}"
    );
    assert!(rows.iter().any(|r| r == "100: 3 listen :8000"), "{rows:#?}");
    assert!(rows[15].starts_with("keys: i idle"), "{rows:#?}");
}

#[test]
fn a_small_terminal_is_told_so() {
    let rows = screen(30, 5, &view());
    assert_eq!(rows[0], "terminal 30x5: the view needs");
    assert!(rows.iter().all(|r| !r.contains("PID")), "{rows:#?}");
}

/// On a terminal of 80 columns the title takes two lines, and a tree
/// taller than the terminal ends with a row that says how many are left
/// out; so do the descriptors.
#[test]
fn what_does_not_fit_is_said() {
    let mut v = view();
    let rows = screen(80, 16, &v);
    assert_eq!(
        rows[..2],
        [
            "zombie_server pid 100 :8000  accept queue 0/128  accepted ≥2  clients 1",
            "  zombies 1  tasks 3  fds 1",
        ],
        "{rows:#?}"
    );
    let child = |pid| TaskRow {
        pid,
        tid: pid,
        depth: 1,
        state: 'S',
        syscall: Some("read".into()),
        ..TaskRow::default()
    };
    v.snap.tasks.extend((200..240).map(child));
    v.snap.fds.extend((200..240).map(|pid| FdRow {
        pid,
        fd: 4,
        what: "tcp 127.0.0.1:40000".into(),
    }));
    let rows = screen(80, 24, &v);
    let more = rows
        .iter()
        .find(|r| r.contains("more tasks"))
        .unwrap_or_else(|| panic!("no row for the tasks left out: {rows:#?}"));
    // The task rows shown: those that start with a pid.
    let shown = rows
        .iter()
        .filter(|r| {
            r.trim_start()
                .split(' ')
                .next()
                .is_some_and(|w| w.parse::<i32>().is_ok())
        })
        .count();
    assert!(shown > 3, "{rows:#?}");
    assert!(
        more.contains(&format!("{} more tasks", 43 - shown)),
        "{more}; {shown} shown: {rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("... ") && r.contains("more lines")),
        "{rows:#?}"
    );
}

#[test]
fn the_plain_frame_holds_the_same_rows() {
    let text = render::text(&view());
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("zombie_server pid 100"));
    assert!(
        lines[3].starts_with("  101") && lines[3].contains("(zombie)"),
        "{text}"
    );
}

#[test]
fn a_run_of_client_sockets_is_one_item() {
    let fd = |pid, fd, what: &str| FdRow {
        pid,
        fd,
        what: what.into(),
    };
    let mut fds = vec![fd(1, 3, "listen :8000")];
    fds.extend((4..9).map(|n| fd(1, n, "tcp 127.0.0.1:4000")));
    fds.extend([fd(1, 10, "tcp a"), fd(1, 11, "tcp b"), fd(2, 4, "tcp c")]);
    assert_eq!(
        render::fd_lines(&fds),
        [
            "1: 3 listen :8000, 4-8 tcp (5), 10 tcp a, 11 tcp b",
            "2: 4 tcp c"
        ]
    );
}

/// tcgetattr(3) of terminal `fd`: its local modes.
fn lflag(fd: i32) -> libc::tcflag_t {
    // SAFETY: a zeroed termios is valid; tcgetattr writes one into it.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(fd, &mut t), 0);
        t.c_lflag
    }
}

#[test]
fn keys_add_and_remove_clients_and_q_restores_the_terminal() {
    keys_then(b"q");
}

/// Ctrl-C, in raw mode a key and not a signal, quits as q does.
#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    keys_then(b"\x03");
}

/// watch under a pseudo-terminal: keys open and close clients, then
/// `quit` ends it, with the terminal as it found it and its server gone.
fn keys_then(quit: &[u8]) {
    let (mut master, slave) = pty().unwrap();
    let size = libc::winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize, which `size` is.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    assert_eq!(rc, 0, "TIOCSWINSZ");
    let before = lflag(slave.as_raw_fd());
    let port = free_port();
    let io = || Stdio::from(slave.try_clone().unwrap());
    let mut child = Command::new(WATCH)
        .args(["thread", "--port", &port.to_string(), "--interval", "50"])
        .stdin(io())
        .stdout(io())
        .stderr(io())
        .spawn()
        .unwrap();
    let mut reader = master.try_clone().unwrap();
    let screen = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = reader.read_to_end(&mut all);
        all
    });
    let clients = |n: usize| {
        let end = Instant::now() + DEADLINE;
        while procfs::established(port).len() != n {
            assert!(Instant::now() < end, "never {n} clients");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let wait_listen = Instant::now() + DEADLINE;
    while !procfs::port_listened(port) {
        assert!(Instant::now() < wait_listen, "the server never listened");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The clients' ports after each key: c closes the newest.
    let mut opened = Vec::new();
    for (key, n) in [(b'i', 1), (b'i', 2), (b'b', 3), (b'c', 2), (b'c', 1)] {
        let before: Vec<u16> = procfs::established(port).into_keys().collect();
        master.write_all(&[key]).unwrap();
        clients(n);
        let after: Vec<u16> = procfs::established(port).into_keys().collect();
        if key == b'c' {
            let gone: Vec<u16> = before.into_iter().filter(|p| !after.contains(p)).collect();
            assert_eq!(
                gone,
                opened.pop().into_iter().collect::<Vec<_>>(),
                "c closes the newest"
            );
        } else {
            opened.extend(after.into_iter().filter(|p| !before.contains(p)));
        }
    }
    master.write_all(quit).unwrap();
    let end = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "q did not end watch");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success());
    assert_eq!(
        lflag(slave.as_raw_fd()),
        before,
        "the terminal's modes are back"
    );
    assert!(!procfs::port_listened(port), "the server is gone");
    drop(slave);
    let out = String::from_utf8_lossy(&screen.join().unwrap()).into_owned();
    let entered = out.rfind("\x1b[?1049h").expect("the alternate screen");
    assert!(
        out[entered..].contains("\x1b[?1049l"),
        "left the alternate screen"
    );
    assert!(out.contains("accept queue"), "the view was drawn");
    assert!(
        out.contains("the server: killed by signal 15 (SIGTERM)"),
        "{out}"
    );
}
