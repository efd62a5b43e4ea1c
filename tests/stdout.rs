//! The event loops' stdout: one that nobody reads (a pipe, a terminal, a
//! socket) stalls no client and leaves the description the shell shares as
//! it found it; lines that found it full are counted and said so once it
//! drains. A regular file is written in place, and a stdout that cannot be
//! reopened non-blocking is said so.

use harness::base::client::{Conn, upper};
use harness::base::{server::Server, wait::wait_until};
use harness::scratch;
use harness::testing::each_server;
use harness::{Model, Result, Twin, Worker};
use std::fs::{self, File};
use std::io::{PipeReader, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// An event loop: no task per connection.
fn event_loop(m: &Model) -> bool {
    m.worker == Worker::Loop
}

/// Bytes one client pushes through the server: several times what a pipe
/// (64 KiB) and the server's buffer (64 KiB) hold together.
const PUSH: usize = 400_000;

/// Where a server's stdout goes, and the end of it the test reads.
enum Sink {
    Pipe(PipeReader),
    /// The master side of a pseudo-terminal whose slave is stdout.
    Terminal(File),
    Socket(UnixStream),
}

impl Sink {
    fn reader(&self) -> Box<dyn Read + Send> {
        match self {
            Sink::Pipe(r) => Box::new(r.try_clone().unwrap()),
            Sink::Terminal(m) => Box::new(m.try_clone().unwrap()),
            Sink::Socket(s) => Box::new(s.try_clone().unwrap()),
        }
    }
}

/// A new sink of `kind`, and the descriptor to give the server as stdout.
fn sink(kind: &str) -> Result<(Sink, OwnedFd)> {
    match kind {
        "pipe" => {
            let (r, w) = std::io::pipe().map_err(|e| e.to_string())?;
            Ok((Sink::Pipe(r), w.into()))
        }
        "terminal" => {
            let (mut master, mut slave) = (-1, -1);
            // SAFETY: openpty(3) writes the two descriptors; no name, default
            // settings and size.
            let rc = unsafe {
                libc::openpty(
                    &mut master,
                    &mut slave,
                    std::ptr::null_mut(),
                    std::ptr::null(),
                    std::ptr::null(),
                )
            };
            if rc < 0 {
                return Err(format!("openpty: {}", std::io::Error::last_os_error()));
            }
            // SAFETY: openpty returned two open descriptors, now owned here.
            let (master, slave) =
                unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
            Ok((Sink::Terminal(master), slave))
        }
        _ => {
            let (ours, theirs) = UnixStream::pair().map_err(|e| e.to_string())?;
            Ok((Sink::Socket(ours), theirs.into()))
        }
    }
}

/// The flags of the open file description behind `pid`'s descriptor `fd`
/// (`/proc/PID/fdinfo/FD`, octal).
fn fd_flags(pid: i32, fd: i32) -> Result<i32> {
    let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).map_err(|e| e.to_string())?;
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .ok_or("no flags in fdinfo")?;
    i32::from_str_radix(flags.trim(), 8).map_err(|e| e.to_string())
}

/// Everything read from `from` so far, by a thread of its own.
fn drain(mut from: Box<dyn Read + Send>) -> Arc<Mutex<Vec<u8>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    thread::spawn(move || {
        let mut chunk = [0u8; 65536];
        while let Ok(n @ 1..) = from.read(&mut chunk) {
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    got
}

/// Sends `n` bytes through `conn` and reads their echo back, each side
/// bounded by the connection's timeouts.
fn push(conn: &mut Conn, n: usize) -> Result<()> {
    let data: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
    let mut writer = conn.0.try_clone().map_err(|e| e.to_string())?;
    let sent = data.clone();
    let sender = thread::spawn(move || writer.write_all(&sent));
    let mut got = vec![0u8; n];
    conn.0
        .read_exact(&mut got)
        .map_err(|e| format!("the push's echo: {e}"))?;
    sender
        .join()
        .unwrap()
        .map_err(|e| format!("the push: {e}"))?;
    if got != upper(&data) {
        return Err("the push came back wrong".into());
    }
    Ok(())
}

/// The story, with stdout a `kind` that nobody reads: one client pushes
/// 400 KB through the server, and a second client's round trip still takes
/// under a second; the server is alive; the description the server was
/// given (the one a shell would share) is not made non-blocking. Once
/// stdout is read, a line says how many lines were not printed, and lines
/// come out again after it.
fn stdout_nobody_reads(name: &str, twin: Twin, kind: &str) -> Result<()> {
    let (sink, theirs) = sink(kind)?;
    let server = Server::build(name, twin)
        .stdout(|| {
            theirs
                .try_clone()
                .map(Stdio::from)
                .map_err(|e| e.to_string())
        })
        .start()?;
    drop(theirs);
    let flags = fd_flags(server.pid, 1)?;
    if flags & libc::O_NONBLOCK != 0 {
        return Err(format!(
            "stdout's description made non-blocking: flags {flags:o}"
        ));
    }

    let mut pusher = server.connect()?;
    push(&mut pusher, PUSH)?;
    let mut second = server.connect()?;
    let start = Instant::now();
    second.check(b"served while stdout is full\n")?;
    if start.elapsed() > Duration::from_secs(1) {
        return Err(format!("a round trip took {:?}", start.elapsed()));
    }
    if !server.alive() {
        return Err(format!("the server died: {}", server.stderr()));
    }
    if fd_flags(server.pid, 1)? != flags {
        return Err("stdout's flags changed".into());
    }

    let got = drain(sink.reader());
    let text = || String::from_utf8_lossy(&got.lock().unwrap()).into_owned();
    wait_until("the line saying how many lines were not printed", || {
        text().contains(" lines not printed: stdout was full]")
    })
    .map_err(|e| format!("{e}; stderr: {}", server.stderr()))?;
    let all = text();
    let at = all.find(" lines not printed: stdout was full]").unwrap();
    let count = &all[all[..at].rfind('[').ok_or("no '[' before the count")? + 1..at];
    if count.parse::<u64>().map_or(true, |n| n == 0) {
        return Err(format!("not a count of lines: {count:?}"));
    }
    second.check(b"printed again\n")?;
    wait_until("lines printed after the count", || {
        text()[at..].contains("PRINTED AGAIN")
    })?;
    if !server.stderr().is_empty() {
        return Err(format!("stderr: {}", server.stderr()));
    }
    pusher.finish()?;
    second.finish()
}

#[test]
fn stdout_a_pipe_nobody_reads_stalls_no_event_loop() {
    each_server(event_loop, |name, twin| {
        stdout_nobody_reads(name, twin, "pipe")
    });
}

#[test]
fn stdout_a_terminal_nobody_reads_stalls_no_event_loop() {
    each_server(event_loop, |name, twin| {
        stdout_nobody_reads(name, twin, "terminal")
    });
}

#[test]
fn stdout_a_socket_nobody_reads_stalls_no_event_loop() {
    each_server(event_loop, |name, twin| {
        stdout_nobody_reads(name, twin, "socket")
    });
}

/// Stdout a regular file, which stdout's own description writes (a new one
/// would start at offset 0, over the ready line): after a round trip the
/// file holds the ready line, the report and the echo, in that order.
fn stdout_a_file_is_written_in_place(name: &str, twin: Twin) -> Result<()> {
    let dir = scratch!("stdout-file-{name}-{twin:?}");
    let path = dir.join("out");
    let server = Server::build(name, twin)
        .stdout(|| {
            File::create(&path)
                .map(Stdio::from)
                .map_err(|e| e.to_string())
        })
        .start()?;
    let mut c = server.connect()?;
    c.check(b"to a file\n")?;
    c.finish()?;
    let want = format!(
        "listening on 0.0.0.0:{}\nreceived from 127.0.0.1 at PORT N\nTO A FILE\nthe other side has been closed.\n",
        server.port
    );
    let masked = || {
        let text = fs::read_to_string(&path).unwrap_or_default();
        text.lines()
            .map(|l| match l.find(" at PORT ") {
                Some(i) => format!("{} at PORT N\n", &l[..i]),
                None => format!("{l}\n"),
            })
            .collect::<String>()
    };
    wait_until("the file to hold the session", || masked() == want)
        .map_err(|e| format!("{e}: {:?}", masked()))
}

#[test]
fn stdout_a_file_is_written_in_place_every_event_loop() {
    each_server(event_loop, stdout_a_file_is_written_in_place);
}

/// /proc/self/fd/1 cannot be opened (EACCES injected by strace): the loop
/// says so on stderr and prints to stdout itself, blocking, as the classic
/// servers do; it serves, and its lines come out.
fn stdout_that_cannot_be_reopened_is_said_so(name: &str, twin: Twin) -> Result<()> {
    let trace =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("stdout-eacces-{name}-{twin:?}.trace"));
    let server = Server::build(name, twin)
        .traced(
            &["-P", "/proc/self/fd/1", "-e", "inject=openat:error=EACCES"],
            &trace,
        )
        .start()?;
    let mut c = server.connect()?;
    c.check(b"blocking stdout\n")?;
    wait_until("the echo on stdout", || {
        server.stdout().contains("BLOCKING STDOUT\n")
    })?;
    let want = "stdout: /proc/self/fd/1: Permission denied: printing blocks, and a stdout nobody reads stalls the server\n";
    let err = server.stderr();
    if !err.starts_with(want) || err.lines().any(|l| format!("{l}\n") != want) {
        return Err(format!("stderr: {err:?}"));
    }
    let traced = fs::read_to_string(&trace).map_err(|e| e.to_string())?;
    if !traced.contains("(INJECTED)") {
        return Err(format!("nothing injected: {traced}"));
    }
    c.finish()
}

#[test]
fn stdout_that_cannot_be_reopened_is_said_so_every_event_loop() {
    each_server(event_loop, stdout_that_cannot_be_reopened_is_said_so);
}
