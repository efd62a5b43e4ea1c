//! A server of the table, started and waited for, and what it is doing.

use crate::base::client::Conn;
use crate::base::port::free_port;
use crate::base::process::{Output, Running, require};
use crate::base::wait::wait_until;
use crate::base::{model, procfs};
use crate::{Model, Result, Twin};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

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
        if let Ok(c) = crate::base::client::Conn::to(port) {
            let _ = c.reset();
        }
        thread::sleep(Duration::from_millis(100));
    }
    Err("SIGTERM did not end the io_uring server".into())
}

/// A server running on a port, with its model.
pub struct Server {
    pub run: Running,
    pub pid: i32,
    pub port: u16,
    pub model: &'static Model,
}

/// A command that runs an executable under a wrapper (valgrind, say).
type Wrap<'a> = Box<dyn Fn(&Path) -> Command + 'a>;

/// How to start a server of the table: [`Server::build`], then what
/// differs from the common case, then [`start`](Build::start).
pub struct Build<'a> {
    name: &'a str,
    twin: Twin,
    port: Option<u16>,
    args: Option<&'a [&'a str]>,
    wrap: Option<Wrap<'a>>,
    traced: Option<(&'a [&'a str], &'a Path)>,
    stdout: Option<Box<dyn Fn() -> Result<Stdio> + 'a>>,
    nofile: Option<u64>,
}

impl<'a> Build<'a> {
    /// On `port` (once: no other if it is taken) rather than a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// With `args` after the port rather than the table's session
    /// arguments (a pool's size, say).
    pub fn args(mut self, args: &'a [&'a str]) -> Self {
        self.args = Some(args);
        self
    }

    /// Run by the command `wrap(exe)` makes: a wrapper (valgrind, say)
    /// with the executable last.
    pub fn wrap(mut self, wrap: impl Fn(&Path) -> Command + 'a) -> Self {
        self.wrap = Some(Box::new(wrap));
        self
    }

    /// Under `strace -f -qq STRACE_ARGS -o TRACE` (fault injection, say);
    /// the server's `pid` is the server's, not strace's.
    pub fn traced(mut self, strace_args: &'a [&'a str], trace: &'a Path) -> Self {
        self.traced = Some((strace_args, trace));
        self
    }

    /// With its stdout sent where `stdout()` says (a pipe nobody reads,
    /// say: its ready line cannot be read there) and its stderr collected;
    /// ready once its main task waits for clients where its model says.
    pub fn stdout(mut self, stdout: impl Fn() -> Result<Stdio> + 'a) -> Self {
        self.stdout = Some(Box::new(stdout));
        self
    }

    /// With RLIMIT_NOFILE `n`, soft and hard: at most `n` descriptors.
    pub fn nofile(mut self, n: u64) -> Self {
        self.nofile = Some(n);
        self
    }

    /// Starts the server and waits until it is ready. With no port given,
    /// on a free one; a port free a moment ago may be taken by another
    /// program before the server binds it: then again, on another port.
    pub fn start(self) -> Result<Server> {
        let program = crate::program(self.name)?;
        let model = program
            .model()
            .ok_or_else(|| format!("{} is not a server", self.name))?;
        if self.traced.is_some() {
            require("strace", "strace")?;
        }
        let args = self.args.unwrap_or(program.session_args);
        let mut last = String::new();
        for _ in 0..if self.port.is_some() { 1 } else { 5 } {
            let port = self.port.unwrap_or_else(free_port);
            match self.start_on(port, args, model) {
                Err(e) if e.contains("Address already in use") => last = e,
                other => return other,
            }
        }
        Err(last)
    }

    /// One try of [`start`](Self::start), on `port`.
    fn start_on(&self, port: u16, args: &[&str], model: &'static Model) -> Result<Server> {
        let exe = crate::exe(self.name, self.twin);
        let mut cmd = self.command(&exe);
        cmd.arg(port.to_string()).args(args);
        let run = match &self.stdout {
            None => {
                let run = Running::spawn(cmd, &exe, Output::Capture, None)?;
                run.wait_for_stdout(&format!("listening on 0.0.0.0:{port}\n"))?;
                run
            }
            Some(stdout) => {
                let run = Running::spawn(cmd, &exe, Output::CaptureStderr(stdout()?), None)?;
                self.wait_idle(run, model)?
            }
        };
        Ok(Server {
            pid: run.pid,
            run,
            port,
            model,
        })
    }

    /// The command that runs `exe`, before the port and arguments.
    fn command(&self, exe: &Path) -> Command {
        let mut cmd = match (&self.traced, &self.wrap) {
            (Some((strace_args, trace)), _) => {
                let mut cmd = Command::new("strace");
                cmd.args(["-f", "-qq"])
                    .args(*strace_args)
                    .arg("-o")
                    .arg(trace)
                    .arg(exe);
                cmd
            }
            (None, Some(wrap)) => wrap(exe),
            (None, None) => Command::new(exe),
        };
        if let Some(n) = self.nofile {
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
        }
        cmd
    }

    /// Waits until `run`'s main task waits for clients where `model` says,
    /// or it ends (at start: its stderr says why).
    fn wait_idle(&self, run: Running, model: &Model) -> Result<Running> {
        let pid = run.pid;
        let gone = || procfs::stat(pid).is_none_or(|s| s.state == 'Z');
        wait_until(&format!("{} to wait for clients", self.name), || {
            procfs::blocked_in(pid, pid, model.main_idle_in) || gone()
        })
        .map_err(|e| format!("{e}; stderr: {}", run.stderr()))?;
        if !gone() {
            return Ok(run);
        }
        let (_, err) = run.stop();
        Err(format!("{} ended at start; stderr: {err}", self.name))
    }
}

impl Server {
    /// How to start server `name`, `twin`: on a free port, with the
    /// table's session arguments, its ready line on stdout, unless told
    /// otherwise.
    pub fn build(name: &str, twin: Twin) -> Build<'_> {
        Build {
            name,
            twin,
            port: None,
            args: None,
            wrap: None,
            traced: None,
            stdout: None,
            nofile: None,
        }
    }

    /// Starts server `name` on a free port and waits for its ready line.
    pub fn start(name: &str, twin: Twin) -> Result<Server> {
        Server::build(name, twin).start()
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
