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
