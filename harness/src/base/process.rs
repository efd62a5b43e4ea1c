//! Programs started in process groups of their own, their output collected,
//! and the whole group killed when they are dropped.

use crate::Result;
use crate::base::procfs;
use crate::base::pty::pty;
use crate::base::wait::wait_until;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

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
                // A program that ends at once can come and go between two
                // looks: once the wrapper has ended too, it stands for it.
                if running.pid == 0 && procfs::stat(leader).is_none_or(|s| s.state == 'Z') {
                    running.pid = leader;
                }
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

    /// How the group's leader ended, once it has (reaped, waitpid(2) WNOHANG).
    pub fn status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The process group: the leader's pid.
    pub fn group(&self) -> i32 {
        self.child.id() as i32
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
    use crate::base::port::free_port;
    use std::path::PathBuf;

    /// A traced program never seen running is started all the same once
    /// the wrapper has ended: its status is the wrapper's (strace exits
    /// with its program's). A server refusing its kernel lives a few ms,
    /// and once lived between two looks of a loaded machine: 30 s later,
    /// "timed out waiting for uring_server to start". Here the program
    /// is named by a path no process runs, so that it is never seen.
    #[test]
    fn a_traced_program_never_seen_running_has_started() {
        require("strace", "strace").unwrap();
        let unseen = PathBuf::from("/nonexistent/false");
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-o", "/dev/null", "/bin/false"]);
        let run = Running::spawn(cmd, &unseen, Output::Capture, None).unwrap();
        let (status, _, _) = run.wait().unwrap();
        assert_eq!(status.code(), Some(1));
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
