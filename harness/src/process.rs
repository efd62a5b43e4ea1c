//! Programs started in process groups of their own, their output collected,
//! and the whole group killed when they are dropped; conditions polled
//! against one deadline.

use crate::client::Conn;
use crate::{Model, Result, Twin, model, procfs};
use std::io::Read;
use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any one condition may take before it is an error.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `cond` every few milliseconds until it holds; an error naming
/// `what` once `DEADLINE` has passed.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > DEADLINE {
            return Err(format!("timed out after {DEADLINE:?} waiting for {what}"));
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// A TCP port that was free a moment ago, below the ephemeral range
/// (32768 and up) that the clients' own ports come from, and handed to no
/// one else by this function, in this process or another, while this
/// process lives: each port handed out is held by an flock(2) on a file
/// of its own in the temporary directory, released when the process ends.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static HELD: Mutex<Vec<std::fs::File>> = Mutex::new(Vec::new());
    let seed = std::process::id().wrapping_mul(7919)
        ^ NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(104_729);
    let dir = std::env::temp_dir().join("concserv-ports");
    let _ = std::fs::create_dir_all(&dir);
    (0..4000)
        .map(|i| 20000 + (seed.wrapping_add(i * 6133) % 12000) as u16)
        .find(|&p| {
            let Some(lock) = reserve(&dir, p) else {
                return false;
            };
            if TcpListener::bind(("0.0.0.0", p)).is_err() {
                return false;
            }
            HELD.lock().unwrap().push(lock);
            true
        })
        .expect("a free port below 32000")
}

/// flock(2) LOCK_EX | LOCK_NB on `dir/port`: the open file while the lock
/// is held, None if someone holds it (or the file cannot be opened).
fn reserve(dir: &Path, port: u16) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(port.to_string()))
        .ok()?;
    // SAFETY: flock(2) on a descriptor `file` owns and keeps open.
    let held = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    held.then_some(file)
}

/// Fails, saying how to install it, when `tool` is not on PATH.
pub fn require(tool: &str, package: &str) -> Result<()> {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if found.is_ok_and(|s| s.success()) {
        Ok(())
    } else {
        Err(format!("{tool} is missing: apt-get install -y {package}"))
    }
}

/// A child's pipe, or the master end of its terminal, read to its end in a
/// thread of its own.
struct Capture {
    bytes: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    /// Read from a terminal, which sends each "\n" as "\r\n" (ONLCR).
    terminal: bool,
}

impl Capture {
    /// Reads `pipe` until its end of file, or, for a terminal's master end,
    /// until EIO: the last program holding the terminal has closed it.
    fn spawn(mut pipe: impl Read + Send + 'static, terminal: bool) -> Capture {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let sink = bytes.clone();
        let reader = thread::spawn(move || {
            let mut chunk = [0u8; 65536];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Capture {
            bytes,
            reader: Some(reader),
            terminal,
        }
    }

    /// What was written: from a terminal, with each "\r\n" back to the
    /// "\n" the program wrote (a "\r" it wrote itself stays, before it).
    fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned();
        if self.terminal {
            text.replace("\r\n", "\n")
        } else {
            text
        }
    }

    /// Whether the pipe has reached its end of file.
    fn done(&self) -> bool {
        self.reader.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the pipe's end of file: every byte is in.
    fn join(&mut self) {
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// What becomes of a program's stdout and stderr.
pub enum Output {
    /// Both collected.
    Capture,
    /// Both to /dev/null.
    Discard,
    /// Stdout collected, stderr where it says (/dev/null opened read-write, say).
    CaptureStdout(Stdio),
    /// Stdout on a pseudo-terminal, as in a person's terminal, so that
    /// stdio line-buffers it; the harness reads the other end. Stderr
    /// collected through a pipe, or where it says.
    Terminal(Option<Stdio>),
    /// Stdout where it says (a pipe nobody reads, a terminal, a file),
    /// stderr collected.
    CaptureStderr(Stdio),
}

/// A new pseudo-terminal: its master end, for the harness to read, and its
/// slave end, for a program's stdout. What openpty(3) makes, but with both
/// descriptors close-on-exec from the start (openpty's are not): a program
/// that another thread starts meanwhile would inherit the slave, hold the
/// terminal open, and its reader would never see the end.
fn pty() -> Result<(std::fs::File, OwnedFd)> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    let err = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: posix_openpt(3) takes flags and returns a new descriptor or -1.
    let fd = unsafe { libc::posix_openpt(flags) };
    if fd < 0 {
        return Err(err("posix_openpt"));
    }
    // SAFETY: fd is a descriptor just opened, owned by nothing else.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: grantpt(3) and unlockpt(3) take a descriptor, no pointer.
    if unsafe { libc::grantpt(fd) } != 0 || unsafe { libc::unlockpt(fd) } != 0 {
        return Err(err("unlockpt"));
    }
    // SAFETY: TIOCGPTPEER opens the slave end with the flags given; no pointer.
    let slave = unsafe { libc::ioctl(fd, libc::TIOCGPTPEER, flags) };
    if slave < 0 {
        return Err(err("TIOCGPTPEER"));
    }
    // SAFETY: as for the master.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    Ok((std::fs::File::from(master), slave))
}

/// SIGTERM to a server `run` that waits in io_uring_enter, then clients of
/// `port` that connect and reset until it has gone (5 s at most). Under
/// valgrind 3.19 the signal would wait for ever: valgrind blocks every
/// signal while it runs a system call it does not know may block, and
/// io_uring_enter is one; the server's write(2) of its message about the
/// reset lets the signal in. Without valgrind the first SIGTERM ends it.
pub fn sigterm_uring(run: &Running, port: u16) -> Result<()> {
    run.signal(libc::SIGTERM);
    for _ in 0..50 {
        if procfs::stat(run.pid).is_none_or(|s| s.state == 'Z') {
            return Ok(());
        }
        if let Ok(c) = crate::client::Conn::to(port) {
            let _ = c.reset();
        }
        thread::sleep(Duration::from_millis(100));
    }
    Err("SIGTERM did not end the io_uring server".into())
}

/// A program running in a process group of its own, perhaps behind a
/// wrapper (strace, valgrind); killed, with the whole group, on drop.
pub struct Running {
    child: Child,
    /// The program's pid: the wrapper's child that runs the executable.
    pub pid: i32,
    stdout: Option<Capture>,
    stderr: Option<Capture>,
}

impl Running {
    /// Starts `cmd`, which runs `exe` itself or behind a wrapper: strace
    /// runs it as a child, valgrind in its own process. Its stdin is null
    /// unless one is given.
    pub fn spawn(
        mut cmd: Command,
        exe: &Path,
        output: Output,
        stdin: Option<Stdio>,
    ) -> Result<Running> {
        let mut master = None;
        let (out, err) = match output {
            Output::Capture => (Stdio::piped(), Stdio::piped()),
            Output::Discard => (Stdio::null(), Stdio::null()),
            Output::CaptureStdout(err) => (Stdio::piped(), err),
            Output::Terminal(err) => {
                let (m, slave) = pty()?;
                master = Some(m);
                (Stdio::from(slave), err.unwrap_or_else(Stdio::piped))
            }
            Output::CaptureStderr(out) => (out, Stdio::piped()),
        };
        let wrapped = Path::new(cmd.get_program()).file_name() == Some("strace".as_ref());
        let mut child = cmd
            .stdin(stdin.unwrap_or_else(Stdio::null))
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        // The program has its own copy of the slave end now: the harness's
        // must close, or the master would never see the terminal's end.
        drop(cmd);
        let stdout = match master {
            Some(m) => Some(Capture::spawn(m, true)),
            None => child.stdout.take().map(|p| Capture::spawn(p, false)),
        };
        let stderr = child.stderr.take().map(|p| Capture::spawn(p, false));
        let leader = child.id() as i32;
        let mut running = Running {
            child,
            pid: leader,
            stdout,
            stderr,
        };
        if wrapped {
            // The wrapper may have other children for a moment.
            wait_until(&format!("{} to start", exe.display()), || {
                running.pid = procfs::children(leader)
                    .into_iter()
                    .find(|&c| procfs::runs(c, exe))
                    .unwrap_or(0);
                running.pid != 0
            })?;
        }
        Ok(running)
    }

    /// What it has written to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.as_ref().map_or_else(String::new, Capture::text)
    }

    /// What it has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.as_ref().map_or_else(String::new, Capture::text)
    }

    /// Waits until stdout holds `needle`; an error as soon as the program ends without.
    pub fn wait_for_stdout(&self, needle: &str) -> Result<()> {
        let gone = || procfs::stat(self.pid).is_none_or(|s| s.state == 'Z');
        wait_until(&format!("{needle:?} on stdout"), || {
            self.stdout().contains(needle) || gone()
        })
        .map_err(|e| format!("{e}; stderr: {}", self.stderr()))?;
        if !self.stdout().contains(needle) {
            // Every byte it wrote before it ended, for the message.
            let _ = wait_until("its output", || {
                [&self.stdout, &self.stderr]
                    .iter()
                    .all(|c| c.as_ref().is_none_or(Capture::done))
            });
            return Err(format!(
                "the program ended before printing {needle:?}; stderr: {}",
                self.stderr()
            ));
        }
        Ok(())
    }

    /// Whether the group's leader (the program, or its wrapper) has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Sends `sig` to the program (not to its wrapper or children).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) takes no pointers.
        unsafe { libc::kill(self.pid, sig) };
    }

    /// Waits for the leader to exit, then for every byte of its output (the
    /// rest of the group is killed, so that no child keeps a pipe open).
    pub fn wait(mut self) -> Result<(ExitStatus, String, String)> {
        let mut status = None;
        wait_until("the program to exit", || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        })?;
        self.kill_group();
        Ok((
            status.unwrap(),
            self.take(|r| &mut r.stdout),
            self.take(|r| &mut r.stderr),
        ))
    }

    /// Sends `sig` to the program, and [`wait`](Self::wait)s.
    pub fn finish(self, sig: i32) -> Result<(String, String)> {
        self.signal(sig);
        self.wait().map(|(_, out, err)| (out, err))
    }

    /// Kills the whole group and returns what the program printed.
    pub fn stop(mut self) -> (String, String) {
        self.kill_group();
        (self.take(|r| &mut r.stdout), self.take(|r| &mut r.stderr))
    }

    fn take(&mut self, which: impl Fn(&mut Running) -> &mut Option<Capture>) -> String {
        match which(self).as_mut() {
            Some(c) => {
                c.join();
                c.text()
            }
            None => String::new(),
        }
    }

    /// Kills the group and waits for every member to exit, not only the
    /// leader: a traced server may outlive strace by a moment, still
    /// holding its port.
    fn kill_group(&mut self) {
        let group = self.child.id() as i32;
        // SAFETY: kill(2) takes no pointers; the group is the one spawn made.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
        let _ = wait_until("the program's group to exit", || {
            !procfs::group_alive(group)
        });
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// A server running on a port, with its model.
pub struct Server {
    pub run: Running,
    pub pid: i32,
    pub port: u16,
    pub model: &'static Model,
}

impl Server {
    /// Starts server `name` on a free port and waits for its ready line.
    pub fn start(name: &str, twin: Twin) -> Result<Server> {
        let exe = crate::exe(name, twin);
        let args = crate::program(name)?.session_args;
        Server::start_fresh(name, || Command::new(&exe), &exe, args)
    }

    /// Starts `make_cmd()` (server `name`, `exe`, or a wrapper around it)
    /// on a free port, with `args` after it; on another, if something took
    /// that one meanwhile.
    /// Starts server `name` (`exe`, run by the command `make_cmd` makes:
    /// the executable, or a wrapper around it) on a free port, with `args`
    /// after the port. A port free a moment ago may be taken by another
    /// program before the server binds it: then again, on another port.
    pub fn start_fresh(
        name: &str,
        make_cmd: impl Fn() -> Command,
        exe: &Path,
        args: &[&str],
    ) -> Result<Server> {
        let mut last = String::new();
        for _ in 0..5 {
            match Server::start_with_args(name, make_cmd(), exe, free_port(), args) {
                Err(e) if e.contains("Address already in use") => last = e,
                other => return other,
            }
        }
        Err(last)
    }

    /// Starts server `name` on `port` and waits for its ready line.
    pub fn start_on(name: &str, twin: Twin, port: u16) -> Result<Server> {
        let exe = crate::exe(name, twin);
        Server::start_with(name, Command::new(&exe), &exe, port)
    }

    /// Starts `cmd`, server `name` (`exe`) or a wrapper around it, with the
    /// port and the table's session arguments last, and waits for the ready line.
    pub fn start_with(name: &str, cmd: Command, exe: &Path, port: u16) -> Result<Server> {
        let args = crate::program(name)?.session_args;
        Server::start_with_args(name, cmd, exe, port, args)
    }

    /// [`start_with`](Self::start_with), with `args` after the port rather
    /// than the table's (a pool's size, say).
    pub fn start_with_args(
        name: &str,
        mut cmd: Command,
        exe: &Path,
        port: u16,
        args: &[&str],
    ) -> Result<Server> {
        let model = crate::program(name)?
            .model()
            .ok_or_else(|| format!("{name} is not a server"))?;
        cmd.arg(port.to_string()).args(args);
        let run = Running::spawn(cmd, exe, Output::Capture, None)?;
        run.wait_for_stdout(&format!("listening on 0.0.0.0:{port}\n"))?;
        Ok(Server {
            pid: run.pid,
            run,
            port,
            model,
        })
    }

    /// Starts server `name` on a free port with its stdout sent where
    /// `stdout()` says (a pipe nobody reads, say: its ready line cannot be
    /// read there) and its stderr collected; ready once its main task waits
    /// for clients where its model says. On another port if something took
    /// that one meanwhile.
    pub fn start_stdout_to(
        name: &str,
        twin: Twin,
        stdout: impl Fn() -> Result<Stdio>,
    ) -> Result<Server> {
        let exe = crate::exe(name, twin);
        let program = crate::program(name)?;
        let model = program
            .model()
            .ok_or_else(|| format!("{name} is not a server"))?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = Command::new(&exe);
            cmd.arg(port.to_string()).args(program.session_args);
            let run = Running::spawn(cmd, &exe, Output::CaptureStderr(stdout()?), None)?;
            let pid = run.pid;
            let gone = || procfs::stat(pid).is_none_or(|s| s.state == 'Z');
            wait_until(&format!("{name} to wait for clients"), || {
                procfs::blocked_in(pid, pid, model.main_idle_in) || gone()
            })
            .map_err(|e| format!("{e}; stderr: {}", run.stderr()))?;
            if !gone() {
                return Ok(Server {
                    pid,
                    run,
                    port,
                    model,
                });
            }
            let (_, err) = run.stop();
            if !err.contains("Address already in use") {
                return Err(format!("{name} ended at start; stderr: {err}"));
            }
            last = err;
        }
        Err(last)
    }

    /// Starts server `name` with RLIMIT_NOFILE `n`, soft and hard: at most
    /// `n` descriptors.
    pub fn start_limited(name: &str, twin: Twin, n: u64) -> Result<Server> {
        let exe = crate::exe(name, twin);
        let make_cmd = || {
            let mut cmd = Command::new(&exe);
            // SAFETY: setrlimit(2) is async-signal-safe, fit for the child before exec.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                })
            };
            cmd
        };
        let args = crate::program(name)?.session_args;
        Server::start_fresh(name, make_cmd, &exe, args)
    }

    /// Starts server `name` under `strace -f ARGS -o TRACE` (fault
    /// injection, say); `pid` is the server's, not strace's.
    pub fn start_traced(
        name: &str,
        twin: Twin,
        strace_args: &[&str],
        trace: &Path,
    ) -> Result<Server> {
        let args = crate::program(name)?.session_args;
        Server::start_traced_args(name, twin, strace_args, trace, args)
    }

    /// [`start_traced`](Self::start_traced), with `args` after the port
    /// rather than the table's (one child, say: the model's settled state,
    /// which counts the table's, is then not to be waited for).
    pub fn start_traced_args(
        name: &str,
        twin: Twin,
        strace_args: &[&str],
        trace: &Path,
        args: &[&str],
    ) -> Result<Server> {
        require("strace", "strace")?;
        let exe = crate::exe(name, twin);
        let make_cmd = || {
            let mut cmd = Command::new("strace");
            cmd.args(["-f", "-qq"])
                .args(strace_args)
                .arg("-o")
                .arg(trace)
                .arg(&exe);
            cmd
        };
        Server::start_fresh(name, make_cmd, &exe, args)
    }

    /// A new client connection.
    pub fn connect(&self) -> Result<Conn> {
        Conn::to(self.port)
    }

    pub fn stdout(&self) -> String {
        self.run.stdout()
    }

    pub fn stderr(&self) -> String {
        self.run.stderr()
    }

    /// Whether the server process is alive (not a zombie).
    pub fn alive(&self) -> bool {
        procfs::stat(self.pid).is_some_and(|s| s.state != 'Z')
    }

    /// Its children, zombies included.
    pub fn children(&self) -> Vec<i32> {
        procfs::children(self.pid)
    }

    pub fn zombies(&self) -> usize {
        procfs::zombies(self.pid)
    }

    /// How many threads the server process has.
    pub fn tasks(&self) -> usize {
        procfs::tasks(self.pid).len()
    }

    /// How many descriptors the server process has open.
    pub fn fds(&self) -> usize {
        procfs::fds(self.pid)
    }

    /// CPU time of the server process, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        procfs::cpu_ticks(self.pid)
    }

    /// The (pid, tid) of each task that serves one connection (see [`model::workers`]).
    pub fn workers(&self) -> Vec<(i32, i32)> {
        model::workers(self.pid, self.model)
    }

    /// Waits until no connection is left and every task is back where it waits.
    pub fn settled(&self) -> Result<()> {
        model::wait_serving(self.pid, self.model, 0)
    }

    /// Waits until `n` connections are open, each waiting for its client.
    pub fn serving(&self, n: usize) -> Result<()> {
        model::wait_serving(self.pid, self.model, n)
    }

    /// Kills the server process alone (not its children) and reaps it (or
    /// whatever runs it: strace ends with it).
    pub fn kill(&mut self) {
        self.run.signal(libc::SIGKILL);
        // Reaped, not only a zombie: a killed process's main thread is a
        // zombie while its other threads, and the descriptors they share,
        // are still on their way out.
        let run = &mut self.run;
        let _ = wait_until("the server to die", || run.exited());
    }

    /// Ends the server with SIGTERM, as a user's Ctrl-C would, waits for it
    /// (and whatever runs it) to exit, and returns what it printed.
    pub fn terminate(self) -> Result<(String, String)> {
        self.run.finish(libc::SIGTERM)
    }

    /// Kills the whole process group and returns what the server printed.
    pub fn stop(self) -> (String, String) {
        self.run.stop()
    }
}

/// A scratch directory of the caller's own (tests and runs go in parallel),
/// emptied first.
pub fn scratch(parent: &Path, name: &str) -> Result<PathBuf> {
    let dir = parent.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Makes `cmd` start with address-space randomisation off, as `setarch -R`
/// does: `personality(2)` in the child before exec, kept across exec and
/// by every process it makes. Stacks, libraries and the heap then sit at
/// the same addresses in every run, so that whatever a trace prints of
/// memory (a buffer a call runs past, a pointer a program prints) is the
/// same too.
pub fn no_randomization(cmd: &mut Command) {
    // SAFETY: personality(2) takes no pointers and is async-signal-safe,
    // fit for the child before exec.
    unsafe {
        cmd.pre_exec(|| {
            let current = libc::personality(0xffff_ffff);
            let flag = libc::ADDR_NO_RANDOMIZE as libc::c_ulong;
            if current == -1 || libc::personality(current as libc::c_ulong | flag) == -1 {
                let e = std::io::Error::last_os_error();
                // A container's seccomp filter (Docker's default) allows
                // personality(2) only a few values, not this one.
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("personality(ADDR_NO_RANDOMIZE), to turn address-space randomisation off: {e} (a seccomp filter, as a container's, may forbid it)"),
                ));
            }
            Ok(())
        })
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_is_handed_out_once_whoever_asks() {
        let ports: Vec<u16> = thread::scope(|s| {
            let asks: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..25).map(|_| free_port()).collect::<Vec<_>>()))
                .collect();
            asks.into_iter().flat_map(|a| a.join().unwrap()).collect()
        });
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "a port handed out twice");
        // Another opening of their files, as another process would make, finds
        // each of them held.
        let dir = std::env::temp_dir().join("concserv-ports");
        assert!(ports.iter().all(|&p| reserve(&dir, p).is_none()));
    }

    /// A traced listener killed with its group has let its port go by the
    /// time the drop returns: a fixed-port comparison starts its next run
    /// at once (CI once found the first run's server still listening).
    #[test]
    fn a_killed_traced_group_has_released_its_port() {
        require("strace", "strace").unwrap();
        for _ in 0..10 {
            let port = free_port();
            let listen = format!(
                "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',{port}))\ns.listen()\ntime.sleep(60)"
            );
            let mut cmd = Command::new("strace");
            let python = PathBuf::from("/usr/bin/python3");
            cmd.args(["-f", "-o", "/dev/null"])
                .arg(&python)
                .args(["-c", &listen]);
            let run = Running::spawn(cmd, &python, Output::Discard, None).unwrap();
            wait_until("python to listen", || procfs::port_listened(port)).unwrap();
            drop(run);
            assert!(!procfs::port_listened(port), "port {port} still listened");
        }
    }
}
