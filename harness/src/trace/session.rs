//! The scripted sessions that every program runs under strace, one per
//! kind of program, stepped by the server's model: each step waits until
//! the server has settled or is serving a known number of waiting
//! connections (polling /proc against a deadline), so that two runs make
//! the same calls in the same order.

use crate::base::client::{Conn, all_bytes};
use crate::base::model::wait_serving;
use crate::base::procfs;
use crate::base::{
    process::{Output, Running},
    wait::wait_until,
};
use crate::trace::faults::{inject, uses_uring};
use crate::{Model, Result, Worker};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// Connections open at once in a server's batch. glibc caches the stacks
/// of exited threads up to 40 MiB, four 8 MiB stacks: with more, the thread
/// that exits when the cache is full unmaps a stack, an extra call.
pub const BATCH: usize = 4;

/// How much of each buffer strace prints (`-s`): the programs' MAXLINE.
pub const STRING_LIMIT: usize = 8192;
// Every byte of a MAXLINE buffer (src/wrap.h) printed: checked as it builds.
const _: () = assert!(STRING_LIMIT >= 8192);

/// Where a session's server listens, and how the programs learn it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// A free port the harness chose, passed as the programs' argument
    /// (the server's first, the client's second, after 127.0.0.1).
    Given(u16),
    /// The port the programs use by themselves (a classic program's
    /// `SERV_PORT`, fixed when it was compiled): they get no argument.
    Fixed(u16),
}

impl Port {
    pub fn number(self) -> u16 {
        match self {
            Port::Given(n) | Port::Fixed(n) => n,
        }
    }

    /// The program's arguments: `given` on a port of the harness's choosing, none on a fixed one.
    fn args(self, given: Vec<String>) -> Vec<String> {
        match self {
            Port::Given(_) => given,
            Port::Fixed(_) => Vec::new(),
        }
    }
}

/// `exe args...` under `strace -ff`, tracing into `dir`, in a small fixed
/// environment: the loader's search (LD_LIBRARY_PATH, which cargo sets)
/// and the count of variables show in a trace, and should not depend on
/// who runs it. Its stdout is a terminal, as when a person runs it, so
/// that printf's lines come out as they are printed, whether or not the
/// program set its own buffering.
///
/// Every buffer is printed whole (`-s`): as long as the programs' largest
/// read or write (MAXLINE, 8192), so that a byte anywhere in it, upper-cased
/// or not, shows in the comparison.
///
/// Address-space randomisation is off ([`no_randomization`](crate::base::process::no_randomization)):
/// a classic program that writes past its buffer (a -1 length passed on
/// to `write`) prints the same memory in every run.
fn traced(
    exe: &Path,
    args: &[String],
    dir: &Path,
    strace_args: &[String],
    stdin: Option<Stdio>,
    stderr_rw: bool,
) -> Result<Running> {
    crate::base::process::require("strace", "strace")?;
    let mut cmd = Command::new("strace");
    cmd.env_clear().env("PATH", "/usr/local/bin:/usr/bin:/bin");
    crate::base::process::no_randomization(&mut cmd);
    cmd.args(["-ff", "-q", "-s", &STRING_LIMIT.to_string(), "-o"])
        .arg(dir.join("trace"))
        .args(strace_args)
        .arg(exe)
        .args(args);
    let stderr = if stderr_rw {
        let null = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| format!("/dev/null: {e}"))?;
        Some(Stdio::from(null))
    } else {
        None
    };
    Running::spawn(cmd, exe, Output::Terminal(stderr), stdin)
}

/// Waits until the server listens on `port` and has settled, whatever it
/// printed; an error, with all it printed, if it ends first, or one that
/// says where it listens if that is another port.
fn ready(server: Running, exe: &Path, port: Port, model: &Model, dir: &Path) -> Result<Running> {
    let pid = server.pid;
    let n = port.number();
    let gone = || procfs::stat(pid).is_none_or(|s| s.state == 'Z');
    let elsewhere = || {
        let ports = procfs::listen_ports(pid);
        !ports.is_empty() && !ports.contains(&n) && procfs::blocked_in(pid, pid, model.main_idle_in)
    };
    wait_until(&format!("{} to listen on port {n}", exe.display()), || {
        procfs::listen_ports(pid).contains(&n) || gone() || elsewhere()
    })?;
    if elsewhere() {
        let ports: Vec<String> = procfs::listen_ports(pid)
            .iter()
            .map(u16::to_string)
            .collect();
        let hint = match port {
            Port::Given(_) => format!(
                "it does not take the port as its argument: compare it with --port {} (make compare-pair ... PORT={})",
                ports[0], ports[0]
            ),
            Port::Fixed(_) => format!(
                "--port is the port both programs listen on by themselves: --port {}?",
                ports[0]
            ),
        };
        return Err(format!(
            "{} listens on port {}, not on {n}: {hint}",
            exe.display(),
            ports.join(", ")
        ));
    }
    if gone() {
        let (_, out, err) = server.wait()?;
        return Err(format!(
            "{} ended before listening on port {n}; it printed {out:?}; stderr: {err:?}",
            exe.display()
        ));
    }
    if let Worker::Prefork(c) = model.worker {
        release_children(pid, &c, &dir.join(format!("trace.{pid}")))?;
    }
    wait_serving(pid, model, 0)?;
    // Behind a lock, the thread made first must be the one in accept.
    if let Worker::Prethread(c) = model.worker
        && c.queued_in.is_some()
    {
        first_thread_in(pid, c.idle_in, dir)?;
    }
    Ok(server)
}

thread_local! {
    /// The client ports left for a session whose server spreads its
    /// connections over listening sockets by their addresses
    /// (SO_REUSEPORT), see [`connect`]; None for the others.
    static SOURCES: std::cell::RefCell<Option<std::vec::IntoIter<u16>>> =
        const { std::cell::RefCell::new(None) };
}

/// A session's client connection to `port`. For a server with a listening
/// socket per thread, from the next of the same client ports, in the same
/// order, in every run: the kernel picks each connection's socket by a hash
/// of its addresses and ports, and so then picks the same one each time.
fn connect(port: u16) -> Result<Conn> {
    let src = SOURCES.with_borrow_mut(|s| s.as_mut().map(Iterator::next));
    match src {
        None => Conn::to(port),
        Some(Some(src)) => Conn::from(src, port),
        Some(None) => Err(format!(
            "a session makes at most {} connections from fixed ports",
            source_ports().len()
        )),
    }
}

/// The client ports of [`connect`], chosen once per process (and held:
/// see [`free_port`](crate::base::port::free_port)).
fn source_ports() -> &'static [u16] {
    static PORTS: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    PORTS.get_or_init(|| (0..32).map(|_| crate::base::port::free_port()).collect())
}

/// What [`first_thread_in`] says when a prethreaded server's threads took
/// their turns out of the order they were made in: the session starts
/// again.
const OUT_OF_ORDER: &str = "the threads took their turns out of the order they were made in";

/// How many times a session starts again after [`OUT_OF_ORDER`].
const ATTEMPTS: usize = 10;

/// Fails with [`OUT_OF_ORDER`] unless the first thread `pid`'s main
/// thread made (its first `clone3`'s result, read in its trace) is blocked
/// in `call`. A prethreaded server's threads then take their turns in the
/// order they were made in every run, so that which thread serves each
/// connection (and the meter's count for each) is the same. Which thread
/// first takes the lock, or first waits on the condition variable, is a
/// race between threads just made: the session checks who won it, and
/// starts again when the other did.
fn first_thread_in(pid: i32, call: crate::Call, dir: &Path) -> Result<()> {
    let main = fs::read_to_string(dir.join(format!("trace.{pid}"))).map_err(|e| e.to_string())?;
    let first = main
        .lines()
        .filter(|l| l.starts_with("clone3(") || l.starts_with("<... clone3 resumed>"))
        .find_map(|l| l.rsplit_once(" = ")?.1.parse::<i32>().ok())
        .ok_or_else(|| format!("no thread made in trace.{pid}"))?;
    if procfs::blocked_in(pid, first, call) {
        Ok(())
    } else {
        Err(format!(
            "{OUT_OF_ORDER}: {}",
            crate::base::model::describe(pid)
        ))
    }
}

/// strace's arguments that stop a preforked server's parent (SIGSTOP) as
/// it enters each fork after the first, for [`release_children`].
fn stop_before_forks(model: &Model) -> Vec<String> {
    match model.worker {
        Worker::Prefork(c) if c.n > 1 => vec![
            "-e".into(),
            format!("inject=clone:signal=SIGSTOP:when=2..{}", c.n),
        ],
        _ => Vec::new(),
    }
}

/// Lets a preforked server's parent, stopped before each fork after the
/// first ([`stop_before_forks`]), go on (SIGCONT) only once every child
/// made so far waits where its model says: children wait in the order
/// they were made, so that which child takes each connection (and the
/// meter's count for each) is the same in every run. The parent's stop is
/// read in its trace (`trace`), where strace writes it: a traced process
/// shows the same state (`t`) at every system call it makes, and a
/// SIGCONT sent before the stop would leave it stopped for good.
fn release_children(pid: i32, c: &crate::Children, trace: &Path) -> Result<()> {
    let waits = |k: i32| {
        procfs::blocked_in(k, k, c.idle_in)
            || c.queued_in.is_some_and(|q| procfs::blocked_in(k, k, q))
    };
    let stops =
        || fs::read_to_string(trace).map_or(0, |t| t.matches("--- stopped by SIGSTOP ---").count());
    for made in 1..c.n {
        wait_until(
            &format!("child {made} of {} to wait, and the parent to stop", c.n),
            || {
                let kids = procfs::live_children(pid);
                stops() == made && kids.len() == made && kids.iter().all(|&k| waits(k))
            },
        )
        .map_err(|e| format!("{e}: {}", crate::base::model::describe(pid)))?;
        // SAFETY: kill(2) takes no pointers.
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }
    Ok(())
}

/// The server session: sequential clients with the server settled between
/// them (SIGCHLD interrupts accept), binary messages, a client that resets,
/// one that leaves without a word, then either connections open at once,
/// each served in turn, or, for a server that serves one at a time, a
/// client queued behind another; under `fault`, if one is given. `args`
/// follow the port. Returns the server's stdout.
pub fn server(
    exe: &Path,
    args: &[String],
    model: &Model,
    port: u16,
    dir: &Path,
    fault: Option<&str>,
    extra_strace: &[String],
) -> Result<String> {
    let port = Port::Given(port);
    server_on(exe, args, model, port, dir, fault, extra_strace)
}

/// [`server`], on a port given or fixed: with a fixed one, the server gets
/// no argument at all. Started again, its traces removed, when a
/// prethreaded server's threads take their turns out of order (see
/// [`first_thread_in`]).
pub fn server_on(
    exe: &Path,
    args: &[String],
    model: &Model,
    port: Port,
    dir: &Path,
    fault: Option<&str>,
    extra_strace: &[String],
) -> Result<String> {
    for _ in 0..ATTEMPTS {
        let spread = model.pool.is_some_and(|p| p.listens);
        SOURCES.set(spread.then(|| source_ports().to_vec().into_iter()));
        match server_once(exe, args, model, port, dir, fault, extra_strace) {
            Err(e) if e.starts_with(OUT_OF_ORDER) => remove_traces(dir)?,
            other => return other,
        }
    }
    Err(format!("{OUT_OF_ORDER}, {ATTEMPTS} times"))
}

/// Every `trace.PID` file strace -ff wrote in `dir`: its PID and text, by PID.
pub fn traces(dir: &Path) -> Result<Vec<(u32, String)>> {
    let mut raw = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(pid) = file
            .strip_prefix("trace.")
            .and_then(|p| p.parse::<u32>().ok())
        {
            raw.push((pid, fs::read_to_string(&path).map_err(|e| e.to_string())?));
        }
    }
    raw.sort();
    Ok(raw)
}

/// Removes the `trace.*` files of a session that starts again.
fn remove_traces(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path
            .file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with("trace."))
        {
            fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// One run of [`server_on`]'s session.
#[allow(clippy::too_many_arguments)]
fn server_once(
    exe: &Path,
    args: &[String],
    model: &Model,
    port: Port,
    dir: &Path,
    fault: Option<&str>,
    extra_strace: &[String],
) -> Result<String> {
    let mut strace_args = match fault {
        Some(f) => inject(f, model).ok_or_else(|| format!("{f} does not apply to this server"))?,
        None => Vec::new(),
    };
    strace_args.extend_from_slice(extra_strace);
    strace_args.extend(stop_before_forks(model));
    let mut all_args = vec![port.number().to_string()];
    all_args.extend_from_slice(args);
    let server = traced(
        exe,
        &port.args(all_args),
        dir,
        &strace_args,
        None,
        fault == Some("stderr-rw"),
    )?;
    let pid = server.pid;
    let server = ready(server, exe, port, model, dir)?;
    let port = port.number();
    let settled = || wait_serving(pid, model, 0);
    let serving = |n| wait_serving(pid, model, n);

    for round in 0..3 {
        let mut c = connect(port)?;
        c.check(format!("round {round}: Hello, server!\n").as_bytes())?;
        // Settled after each message: an event loop's reply goes out before
        // its stdout lines, which may wait for a pass of their own (under
        // read-write-eagain); the next message must not race that pass.
        serving(1)?;
        // Without a lock, the thread made first must be the one that took it.
        if let Worker::Prethread(c) = model.worker
            && round == 0
            && c.queued_in.is_none()
        {
            first_thread_in(pid, crate::Call::Read, dir)?;
        }
        c.check(&all_bytes())?;
        serving(1)?;
        c.finish()?;
        settled()?;
        if round == 0 && fault == Some("spawn-eagain") {
            // No child or thread for this one: closed unserved.
            connect(port)?.read_to_end()?;
            settled()?;
        }
    }

    let mut c = connect(port)?;
    c.check(b"this client will reset\n")?;
    serving(1)?;
    c.reset()?;
    settled()?;

    let c = connect(port)?;
    serving(1)?;
    drop(c);
    settled()?;

    // As many at once as the server holds (its children, say), the rest
    // queued by the kernel.
    match model.holds.map_or(BATCH, |h| h.min(BATCH)) {
        1 => queued(port, &serving)?,
        n => batch(port, n, &serving)?,
    }
    settled()?;

    // Each preforked child serving a client as the parent stops them: none
    // then holds a lock whose release would wake another child between two
    // of the parent's kills (see `hold_every_child`).
    let held = hold_every_child(port, pid, model, &serving)?;
    // What strace cannot see: the operations an io_uring server queued.
    super::ring::save(pid, dir, uses_uring(model))?;
    let out = server.finish(libc::SIGTERM).map(|(out, _)| out);
    drop(held);
    out
}

/// For a preforked server, a connection for each child, each served once
/// and held: every child then waits for its client in `read`, and none
/// holds the lock (or sits in `accept`) when it is stopped. A child killed
/// holding an fcntl lock or a robust mutex wakes the next waiter, which
/// then runs until its own SIGTERM comes, further or not from one run to
/// the next. Nothing for the other models.
/// Children already serving a client (`pid`'s) count: only the others
/// get one.
pub fn hold_every_child(
    port: u16,
    pid: i32,
    model: &Model,
    serving: &dyn Fn(usize) -> Result<()>,
) -> Result<Vec<Conn>> {
    let Worker::Prefork(c) = model.worker else {
        return Ok(Vec::new());
    };
    // Each child asleep first, so that one still on its way back to its
    // client's `read` is counted as serving.
    let asleep = |k: i32| {
        [crate::Call::Read, c.idle_in]
            .into_iter()
            .chain(c.queued_in)
            .any(|call| procfs::blocked_in(k, k, call))
    };
    wait_until("every child asleep", || {
        procfs::live_children(pid).iter().all(|&k| asleep(k))
    })?;
    let already = crate::base::model::workers(pid, model).len();
    let mut held = Vec::new();
    for i in already..c.n {
        let mut conn = connect(port)?;
        conn.check(format!("held {i}\n").as_bytes())?;
        serving(i + 1)?;
        held.push(conn);
    }
    Ok(held)
}

/// `n` connections open at once, each accepted, then each served (settled
/// after each message, as in the rounds) and closed, in turn: threads printing at the same moment contend for
/// stdout's lock, and the futex calls that makes differ between two runs
/// of the same program.
fn batch(port: u16, n: usize, serving: &dyn Fn(usize) -> Result<()>) -> Result<()> {
    let mut conns = Vec::new();
    for i in 0..n {
        conns.push(connect(port)?);
        serving(i + 1)?;
    }
    for (i, c) in conns.iter_mut().enumerate() {
        c.check(format!("batch client {i}\n").as_bytes())?;
        serving(n)?;
        c.check(&all_bytes())?;
        serving(n)?;
    }
    for (i, c) in conns.into_iter().enumerate() {
        c.finish()?;
        serving(n - 1 - i)?;
    }
    Ok(())
}

/// A server that serves one client at a time: a second client connects
/// (the kernel queues it), sends, and gets its reply only once the first
/// has left.
fn queued(port: u16, serving: &dyn Fn(usize) -> Result<()>) -> Result<()> {
    let mut first = connect(port)?;
    first.check(b"first in line\n")?;
    serving(1)?;
    let mut second = connect(port)?;
    wait_until("the second client in the accept queue", || {
        procfs::accept_queue(port) == Some(1)
    })?;
    let msg = b"second in line\n";
    std::io::Write::write_all(&mut second.0, msg).map_err(|e| format!("send: {e}"))?;
    first.check(b"still first\n")?;
    first.finish()?;
    let mut reply = vec![0; msg.len()];
    std::io::Read::read_exact(&mut second.0, &mut reply).map_err(|e| format!("reply: {e}"))?;
    if reply != msg.to_ascii_uppercase() {
        return Err(format!("wrong reply to the second client: {reply:?}"));
    }
    serving(1)?;
    second.finish()
}

/// The client session: lines from a file on stdin, against an untraced
/// server on `port`; returns the client's stdout.
pub fn client(exe: &Path, port: u16, dir: &Path, extra_strace: &[String]) -> Result<String> {
    client_on(exe, Port::Given(port), dir, extra_strace)
}

/// [`client`], on a port given or fixed. A client that takes no argument
/// (a classic one, its server's address fixed) may print what it likes:
/// its output is not checked; one that takes them must print the replies.
pub fn client_on(exe: &Path, port: Port, dir: &Path, extra_strace: &[String]) -> Result<String> {
    let input = dir.join("input.txt");
    let lines = "hello, server\nMixed Case 123\n\t tabs and  spaces \u{e9}\nlast line, no newline";
    fs::write(&input, lines).map_err(|e| e.to_string())?;
    let stdin = fs::File::open(&input).map_err(|e| e.to_string())?;
    let args = port.args(vec!["127.0.0.1".to_string(), port.number().to_string()]);
    let client = traced(
        exe,
        &args,
        dir,
        extra_strace,
        Some(Stdio::from(stdin)),
        false,
    )?;
    let (_, out, _) = client.wait()?;
    if matches!(port, Port::Given(_)) && out != lines.to_ascii_uppercase() {
        return Err(format!("the client printed {out:?}"));
    }
    Ok(out)
}
