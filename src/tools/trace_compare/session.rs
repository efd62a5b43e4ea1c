//! The scripted sessions that every program runs under strace. Each step
//! waits until the programs have settled, polling /proc against a deadline,
//! so that two runs make the same calls in the same order.

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::common::{
    DEADLINE, Group, SYS_ACCEPT, SYS_READ, child_running, children, syscall, tasks, wait_until,
    workers,
};

/// Connections open at once in the thread server's batch. glibc caches the
/// stacks of exited threads up to 40 MiB, four 8 MiB stacks: with more, the
/// thread that exits when the cache is full unmaps a stack, an extra call.
pub const BATCH: usize = 4;

pub type Result<T> = std::result::Result<T, String>;

/// The faults a server's session can run under, injected with strace:
/// - accept-emfile: the first two accepts fail with EMFILE (before any
///   client, so that no SIGCHLD can fall into the pauses after them);
/// - spawn-eagain: the 2nd fork (clone) or thread (clone3) fails with EAGAIN,
///   and that client is closed unserved;
/// - read-write-eintr: every other read and write, in each task, fails with EINTR.
pub const FAULTS: [&str; 3] = ["accept-emfile", "spawn-eagain", "read-write-eintr"];

/// strace's arguments for `fault` in the process or thread server.
fn inject(fault: &str, thread: bool) -> Vec<String> {
    let specs = match fault {
        "accept-emfile" => vec!["accept:error=EMFILE:when=1..2"],
        "spawn-eagain" if thread => vec!["clone3:error=EAGAIN:when=2"],
        "spawn-eagain" => vec!["clone:error=EAGAIN:when=2"],
        "read-write-eintr" => vec!["read:error=EINTR:when=2+2", "write:error=EINTR:when=2+2"],
        _ => unreachable!("unknown fault {fault}"),
    };
    specs
        .into_iter()
        .flat_map(|s| ["-e".to_string(), format!("inject={s}")])
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// strace tracing into `dir`, in a small fixed environment: the loader's
/// search (LD_LIBRARY_PATH, which cargo sets) and the count of variables
/// show in a trace, and should not depend on who runs it.
fn strace(dir: &Path) -> Command {
    let mut cmd = Command::new("strace");
    cmd.env_clear().env("PATH", "/usr/local/bin:/usr/bin:/bin");
    cmd.args(["-ff", "-q", "-s", "64", "-o"])
        .arg(dir.join("trace"));
    cmd
}

/// A program running under `strace -ff`, its output collected.
pub struct Traced {
    strace: Child,
    pub pid: i32,
    stdout: Arc<Mutex<Vec<u8>>>,
}

impl Traced {
    /// Starts `exe args...` under strace, tracing into `dir`.
    pub fn start(
        exe: &Path,
        args: &[&str],
        dir: &Path,
        stdin: Stdio,
        strace_args: &[String],
    ) -> Result<Traced> {
        let mut strace = strace(dir)
            .args(strace_args)
            .arg(exe)
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run strace: {e} (Debian: apt-get install strace)"))?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (mut pipe, sink) = (strace.stdout.take().unwrap(), stdout.clone());
        thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        // strace may have other children for a moment: find the one running exe.
        let pid = child_running(strace.id() as i32, exe)?;
        Ok(Traced {
            strace,
            pid,
            stdout,
        })
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Waits for strace to finish, the program having exited.
    pub fn wait(mut self) -> Result<String> {
        let mut done = false;
        wait_until("strace to finish", || {
            done = matches!(self.strace.try_wait(), Ok(Some(_)));
            done
        })?;
        // The reader thread may still hold the last bytes.
        thread::sleep(Duration::from_millis(20));
        Ok(self.stdout())
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        // SAFETY: kill(2) takes no pointers.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let _ = self.strace.kill();
        let _ = self.strace.wait();
    }
}

/// A server with no connection left: one process, one thread, blocked in accept.
fn settle(server: &Traced) -> Result<()> {
    let pid = server.pid;
    wait_until("the server to settle in accept", || {
        children(pid).is_empty() && tasks(pid) == [pid] && syscall(pid, pid) == Some(SYS_ACCEPT)
    })
    .map_err(|e| {
        format!(
            "{e}: pid {pid}, children {:?}, tasks {:?}, syscall {:?}",
            children(pid),
            tasks(pid),
            syscall(pid, pid)
        )
    })
}

/// `n` connections served, each by a child or thread blocked in read, and
/// the main task back in accept. A step that lets a worker end waits for
/// this first: a child exiting before its parent is back in accept, or a
/// thread ending before it is detached, makes other calls, in other tasks.
fn workers_in_read(server: &Traced, n: usize) -> Result<()> {
    let pid = server.pid;
    wait_until(
        &format!("{n} workers blocked in read, the main task in accept"),
        || {
            let workers = workers(pid);
            workers.len() == n
                && workers
                    .iter()
                    .all(|&(p, t)| syscall(p, t) == Some(SYS_READ))
                && syscall(pid, pid) == Some(SYS_ACCEPT)
        },
    )
}

/// One client connection.
struct Conn(TcpStream);

impl Conn {
    fn to(port: u16) -> Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        s.set_write_timeout(Some(DEADLINE)).unwrap();
        Ok(Conn(s))
    }

    /// Sends `msg` and checks that it comes back upper-cased.
    fn check(&mut self, msg: &[u8]) -> Result<()> {
        self.0.write_all(msg).map_err(|e| format!("send: {e}"))?;
        let mut reply = vec![0; msg.len()];
        self.0
            .read_exact(&mut reply)
            .map_err(|e| format!("reply: {e}"))?;
        if reply != msg.to_ascii_uppercase() {
            return Err(format!("wrong reply to {msg:?}: {reply:?}"));
        }
        Ok(())
    }

    /// Closes the writing side and reads to the server's end of file.
    fn finish(mut self) -> Result<()> {
        self.0
            .shutdown(Shutdown::Write)
            .map_err(|e| e.to_string())?;
        let mut rest = Vec::new();
        self.0
            .read_to_end(&mut rest)
            .map_err(|e| format!("read to EOF: {e}"))?;
        Ok(())
    }

    /// Closes with SO_LINGER 0: the server gets a reset, not an end of file.
    fn reset(self) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: linger is a struct linger of the size passed.
        unsafe {
            libc::setsockopt(
                self.0.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                size_of::<libc::linger>() as libc::socklen_t,
            )
        };
    }
}

/// Every byte value, for the binary messages.
fn all_bytes() -> Vec<u8> {
    (0..=255).collect()
}

/// The server session: sequential clients with the server settled between
/// them (SIGCHLD interrupts accept), binary messages, a client that resets,
/// one that leaves without a word, and, for the thread server, concurrent
/// clients; under `fault`, if one is given.
pub fn server(
    exe: &Path,
    port: u16,
    dir: &Path,
    thread: bool,
    fault: Option<&str>,
) -> Result<String> {
    let strace_args = fault.map(|f| inject(f, thread)).unwrap_or_default();
    let server = Traced::start(exe, &[&port.to_string()], dir, Stdio::null(), &strace_args)?;
    let ready = format!("listening on 0.0.0.0:{port}\n");
    wait_until("the ready line", || server.stdout().contains(&ready))?;
    settle(&server)?;

    for round in 0..3 {
        let mut c = Conn::to(port)?;
        c.check(format!("round {round}: Hello, server!\n").as_bytes())?;
        c.check(&all_bytes())?;
        workers_in_read(&server, 1)?;
        c.finish()?;
        settle(&server)?;
        if round == 0 && fault == Some("spawn-eagain") {
            // No child or thread for this one: closed unserved.
            let mut refused = Conn::to(port)?;
            let mut rest = Vec::new();
            refused
                .0
                .read_to_end(&mut rest)
                .map_err(|e| format!("read to EOF: {e}"))?;
            settle(&server)?;
        }
    }

    let mut c = Conn::to(port)?;
    c.check(b"this client will reset\n")?;
    workers_in_read(&server, 1)?;
    c.reset();
    settle(&server)?;

    let c = Conn::to(port)?;
    workers_in_read(&server, 1)?;
    drop(c);
    settle(&server)?;

    if thread {
        // BATCH connections open at once, a thread each; each accepted, then
        // each served and closed, in turn: threads printing at the same
        // moment contend for stdout's lock, and the futex calls that makes
        // differ between two runs of the same program.
        let mut conns = Vec::new();
        for i in 0..BATCH {
            conns.push(Conn::to(port)?);
            workers_in_read(&server, i + 1)?;
        }
        for (i, c) in conns.iter_mut().enumerate() {
            c.check(format!("batch client {i}\n").as_bytes())?;
            c.check(&all_bytes())?;
            workers_in_read(&server, BATCH)?;
        }
        for (i, c) in conns.into_iter().enumerate() {
            c.finish()?;
            workers_in_read(&server, BATCH - 1 - i)?;
        }
        settle(&server)?;
    }

    // SAFETY: kill(2) takes no pointers.
    unsafe { libc::kill(server.pid, libc::SIGTERM) };
    server.wait()
}

/// The client session: lines from a file on stdin, against an untraced
/// server on `port`; returns the client's stdout.
pub fn client(exe: &Path, port: u16, dir: &Path) -> Result<String> {
    let input = dir.join("input.txt");
    let lines = "hello, server\nMixed Case 123\n\t tabs and  spaces \u{e9}\nlast line, no newline";
    fs::write(&input, lines).map_err(|e| e.to_string())?;
    let stdin = fs::File::open(&input).map_err(|e| e.to_string())?;
    let client = Traced::start(
        exe,
        &["127.0.0.1", &port.to_string()],
        dir,
        Stdio::from(stdin),
        &[],
    )?;
    let out = client.wait()?;
    if out != lines.to_ascii_uppercase() {
        return Err(format!("the client printed {out:?}"));
    }
    Ok(out)
}

/// An untraced server for the client session, killed on drop.
pub fn plain_server(exe: &Path, port: u16) -> Result<Group> {
    let mut cmd = Command::new(exe);
    cmd.arg(port.to_string());
    let server = Group::spawn(cmd)?;
    wait_until("the server to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    })?;
    Ok(server)
}
