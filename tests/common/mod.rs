//! What every test needs: the programs, free ports, servers that clean up
//! after themselves, clients, and `/proc` polled against a deadline.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any one condition may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Which twin of a program.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Twin {
    Rust,
    C,
}

pub const TWINS: [Twin; 2] = [Twin::Rust, Twin::C];

/// Path of program `name` ("process_server", "thread_server", "client", "wrap_driver").
pub fn program(name: &str, twin: Twin) -> PathBuf {
    match twin {
        Twin::C => PathBuf::from(env!("C_TWIN_DIR")).join(name),
        Twin::Rust => PathBuf::from(match name {
            "process_server" => env!("CARGO_BIN_EXE_process_server"),
            "thread_server" => env!("CARGO_BIN_EXE_thread_server"),
            "client" => env!("CARGO_BIN_EXE_client"),
            "wrap_driver" => env!("CARGO_BIN_EXE_wrap_driver"),
            _ => panic!("no program {name}"),
        }),
    }
}

/// Fails the test, saying how to install it, when `tool` is not on PATH.
pub fn require(tool: &str, package: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        found.is_ok_and(|s| s.success()),
        "{tool} is missing: apt-get install -y {package}"
    );
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `cond` every few milliseconds until it holds; fails the test with
/// `what` when `DEADLINE` passes first.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Collects a child's pipe in the background.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn spawn(mut pipe: impl Read + Send + 'static) -> Capture {
        let cap = Capture::default();
        let buf = cap.0.clone();
        thread::spawn(move || {
            let mut chunk = [0u8; 65536];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        cap
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    pub fn wait_for(&self, needle: &str) {
        wait_until(&format!("{needle:?} in output"), || {
            self.text().contains(needle)
        });
    }
}

/// A server program running in its own process group, killed with it on drop.
pub struct Server {
    child: Child,
    pub pid: i32,
    pub port: u16,
    pub stdout: Capture,
    pub stderr: Capture,
}

impl Server {
    /// Starts `name` on a free port and waits for its ready line.
    pub fn start(name: &str, twin: Twin) -> Server {
        Server::start_on(name, twin, free_port())
    }

    pub fn start_on(name: &str, twin: Twin, port: u16) -> Server {
        Server::start_with(Command::new(program(name, twin)), port)
    }

    /// Starts `cmd` (a server, or a wrapper such as strace around one) with
    /// the port as its last argument, and waits for the ready line.
    pub fn start_with(mut cmd: Command, port: u16) -> Server {
        let mut child = cmd
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start server");
        let stdout = Capture::spawn(child.stdout.take().unwrap());
        let stderr = Capture::spawn(child.stderr.take().unwrap());
        let pid = child.id() as i32;
        let server = Server {
            child,
            pid,
            port,
            stdout,
            stderr,
        };
        let ready = format!("listening on 0.0.0.0:{port}\n");
        let start = Instant::now();
        while !server.stdout.text().contains(&ready) {
            assert!(
                start.elapsed() < DEADLINE,
                "no ready line; stderr: {}",
                server.stderr.text()
            );
            thread::sleep(Duration::from_millis(5));
        }
        server
    }

    /// Starts `name` under `strace -f ARGS -o TRACE` (fault injection, say);
    /// `pid` is then the server's, not strace's.
    pub fn start_traced(
        name: &str,
        twin: Twin,
        strace_args: &[&str],
        trace: &std::path::Path,
    ) -> Server {
        require("strace", "strace");
        let exe = program(name, twin);
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq"])
            .args(strace_args)
            .arg("-o")
            .arg(trace)
            .arg(&exe);
        let mut server = Server::start_with(cmd, free_port());
        let exe = std::fs::canonicalize(exe).unwrap();
        let runs_exe =
            |p: &i32| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e == exe);
        server.pid = children_of(server.pid)
            .iter()
            .map(|p| p.pid)
            .find(runs_exe)
            .expect("the traced server");
        server
    }

    /// Connections being served: child processes, or threads beside the main one.
    pub fn workers(&self) -> usize {
        self.children().len() + self.tasks().saturating_sub(1)
    }

    /// The (pid, tid) of every worker: each child's main thread, each thread but the main one.
    pub fn worker_tasks(&self) -> Vec<(i32, i32)> {
        let mut tasks: Vec<(i32, i32)> = task_ids(self.pid)
            .into_iter()
            .filter(|&t| t != self.pid)
            .map(|t| (self.pid, t))
            .collect();
        tasks.extend(self.children().iter().map(|c| (c.pid, c.pid)));
        tasks
    }

    /// CPU time the server process has used, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        rest.split(' ')
            .skip(11)
            .take(2)
            .filter_map(|f| f.parse::<u64>().ok())
            .sum()
    }

    pub fn alive(&self) -> bool {
        proc_stat(self.pid).is_some_and(|p| p.state != 'Z')
    }

    pub fn connect(&self) -> Conn {
        Conn::to(self.port)
    }

    /// Live children (zombies included) of the server process.
    pub fn children(&self) -> Vec<Proc> {
        children_of(self.pid)
    }

    pub fn zombies(&self) -> usize {
        self.children().iter().filter(|p| p.state == 'Z').count()
    }

    /// Number of threads of the server process.
    pub fn tasks(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.pid))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Number of open descriptors of the server process.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Kills the server process alone (not its children) and reaps it.
    pub fn kill(&mut self) {
        // SAFETY: kill(2) takes no pointers.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let _ = self.child.wait();
    }

    /// Ends the server with SIGTERM, as a user's Ctrl-C would, waits for it
    /// (and whatever runs it) to exit, and returns what it printed.
    pub fn terminate(mut self) -> (String, String) {
        // SAFETY: kill(2) takes no pointers.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        wait_until("the server to exit", || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        (self.stdout.text(), self.stderr.text())
    }

    /// Kills the whole process group and returns what the server printed.
    pub fn stop(mut self) -> (String, String) {
        self.kill_group();
        (self.stdout.text(), self.stderr.text())
    }

    fn kill_group(&mut self) {
        // SAFETY: kill(2) takes no pointers; the group is the one the server
        // (or the strace or valgrind running it) was started in.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// The thread ids of process `pid`.
pub fn task_ids(pid: i32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The system call a task is blocked in (x86_64 numbers: read 0, write 1,
/// accept 43), or None while it runs.
pub fn blocked_in(pid: i32, tid: i32) -> Option<i64> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall"))
        .ok()?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

pub const SYS_READ: i64 = 0;
pub const SYS_WRITE: i64 = 1;

/// One line of /proc/PID/stat, the fields the tests need.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: i32,
    pub state: char,
    pub ppid: i32,
}

pub fn proc_stat(pid: i32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some(Proc { pid, state, ppid })
}

pub fn children_of(pid: i32) -> Vec<Proc> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(proc_stat)
        .filter(|p| p.ppid == pid)
        .collect()
}

/// A client connection with timeouts, so that no test can hang on it.
pub struct Conn(pub TcpStream);

impl Conn {
    pub fn to(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        s.set_write_timeout(Some(DEADLINE)).unwrap();
        Conn(s)
    }

    /// Sends `msg` and returns exactly as many bytes of reply.
    pub fn round_trip(&mut self, msg: &[u8]) -> Vec<u8> {
        self.0.write_all(msg).expect("send");
        let mut reply = vec![0; msg.len()];
        self.0.read_exact(&mut reply).expect("reply");
        reply
    }

    /// Sends `msg` and asserts that the reply is its upper-cased copy.
    pub fn check(&mut self, msg: &[u8]) {
        assert_eq!(self.round_trip(msg), upper(msg), "reply to {msg:?}");
    }

    /// Closes with SO_LINGER 0, so that the server gets a reset.
    pub fn reset(self) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: linger is a struct linger of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&self.0),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "SO_LINGER");
    }

    /// Closes the writing side and waits for the server's EOF.
    pub fn finish(mut self) {
        self.0.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        self.0.read_to_end(&mut rest).expect("read to EOF");
        assert!(
            rest.is_empty(),
            "unexpected bytes after the last reply: {rest:?}"
        );
    }
}

/// What the servers make of `msg`: a–z upper-cased, every other byte kept.
pub fn upper(msg: &[u8]) -> Vec<u8> {
    msg.to_ascii_uppercase()
}

/// `count` messages from client `id` that together hold every byte value.
pub fn messages(id: usize, count: usize) -> Vec<Vec<u8>> {
    let mut next = id * 37;
    (0..count)
        .map(|m| {
            let len = 1 + (m * 97 + id * 13) % 300;
            (0..len)
                .map(|_| {
                    next += 1;
                    (next % 256) as u8
                })
                .collect()
        })
        .collect()
}

/// The server's stdout with each client's ephemeral port masked: the one
/// thing that differs between two runs of the same session.
pub fn mask_ports(out: &str) -> String {
    let mut masked = String::new();
    for line in out.split_inclusive('\n') {
        match line.find(" at PORT ") {
            Some(i) if line.starts_with("received from ") => {
                masked.push_str(&line[..i]);
                masked.push_str(" at PORT N\n");
            }
            _ => masked.push_str(line),
        }
    }
    masked
}

pub mod scenarios;

/// Declares each named scenario `fn name(server: &str, twin: Twin)` as four
/// tests: `name::process_rust`, `name::process_c`, `name::thread_rust`, `name::thread_c`.
#[macro_export]
macro_rules! server_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::common::Twin;
            #[test]
            fn process_rust() {
                super::$name("process_server", Twin::Rust)
            }
            #[test]
            fn process_c() {
                super::$name("process_server", Twin::C)
            }
            #[test]
            fn thread_rust() {
                super::$name("thread_server", Twin::Rust)
            }
            #[test]
            fn thread_c() {
                super::$name("thread_server", Twin::C)
            }
        }
    )*};
}

/// Declares each named scenario `fn name(twin: Twin)` as two tests,
/// `name::rust` and `name::c`.
#[macro_export]
macro_rules! twin_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn rust() {
                super::$name($crate::common::Twin::Rust)
            }
            #[test]
            fn c() {
                super::$name($crate::common::Twin::C)
            }
        }
    )*};
}

/// Connections waiting in the accept queue of the socket listening on
/// `port` (for a LISTEN socket, /proc/net/tcp's rx_queue is that count).
pub fn accept_queue(port: u16) -> Option<usize> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!(":{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[1].ends_with(&local) && f[3] == "0A")
            .then(|| usize::from_str_radix(f[4].split(':').nth(1)?, 16).ok())
            .flatten()
    })
}
