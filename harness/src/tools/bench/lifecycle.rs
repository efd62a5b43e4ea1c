//! The servers a benchmark measures, and each one's life: started on a free
//! port (perhaps under strace or valgrind), known ready, stepped between
//! connections by its model, and stopped.

use super::load::Echo;
use super::results::Side;
use super::{Options, STD_MODEL};
use crate::base::model::wait_serving;
use crate::base::procfs::{self, blocked_in};
use crate::base::server::sigterm_uring;
use crate::base::{
    port::free_port,
    process::{Output, Running},
    wait::wait_until,
};
use crate::{Call, Model, Result};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

/// A server measured: which one, which side, its model and executable.
pub struct Measured {
    /// The table's short name ("process"), or the reference's ("std").
    pub short: &'static str,
    pub side: Side,
    /// The model from the table; None for a runtime with a model of its
    /// own (tokio, monoio, the floor), which is at rest when every task
    /// waits in futex, epoll_wait or io_uring_enter and it holds a socket
    /// per connection and the listener.
    pub model: Option<&'static Model>,
    pub exe: PathBuf,
    /// What it takes after the port (a pool's size, say).
    pub args: &'static [&'static str],
}

impl Measured {
    /// What it sends back: the floor echoes, the others upper-case.
    pub fn echo(&self) -> Echo {
        if self.side == Side::Floor {
            Echo::Same
        } else {
            Echo::Upper
        }
    }

    /// Whether it waits in io_uring_enter (see [`sigterm_uring`]).
    pub fn uses_uring(&self) -> bool {
        self.side == Side::Monoio || self.model.is_some_and(crate::trace::faults::uses_uring)
    }

    /// "process (Rust)", or "tokio-st".
    pub fn name(&self) -> String {
        match self.side.reference() {
            Some(r) => r.to_string(),
            None => format!("{} ({})", self.short, self.side.label()),
        }
    }
}

/// The servers of one run.
pub struct Bench {
    pub servers: Vec<Measured>,
}

impl Bench {
    /// The table's servers (those `o.only` names, or all), Rust and C, and std.
    pub fn new(o: &Options) -> Result<Bench> {
        let mut servers = Vec::new();
        for p in crate::servers() {
            if !o.only.is_empty() && !o.only.iter().any(|n| n == p.short || n == p.name) {
                continue;
            }
            for (side, dir) in [(Side::Rust, &o.rust), (Side::C, &o.c)] {
                servers.push(Measured {
                    short: p.short,
                    side,
                    model: p.model(),
                    exe: dir.join(p.name),
                    args: p.session_args,
                });
            }
        }
        for (side, exe, model) in [
            (Side::Std, "std_server", Some(&STD_MODEL)),
            (Side::TokioSt, "tokio_st_server", None),
            (Side::TokioMt, "tokio_mt_server", None),
            (Side::Monoio, "monoio_server", None),
            (Side::Floor, "floor_server", None),
        ] {
            servers.push(Measured {
                short: side.reference().unwrap(),
                side,
                model,
                exe: o.rust.join(exe),
                args: &[],
            });
        }
        for s in &servers {
            if !s.exe.exists() {
                return Err(format!("{} is missing: run make build", s.exe.display()));
            }
        }
        Ok(Bench { servers })
    }
}

/// A server running, perhaps behind strace or valgrind, in its own process group.
pub struct Server<'a> {
    run: Running,
    pub measured: &'a Measured,
    pub port: u16,
}

impl<'a> Server<'a> {
    /// Starts the server on a free port behind `wrapper` (empty, or
    /// strace/valgrind and their options), its output discarded, and waits
    /// until it accepts.
    pub fn start(m: &'a Measured, wrapper: &[String]) -> Result<Server<'a>> {
        let port = free_port();
        let mut cmd = match wrapper.split_first() {
            Some((tool, args)) => {
                let mut c = Command::new(tool);
                c.args(args).arg(&m.exe);
                c
            }
            None => Command::new(&m.exe),
        };
        cmd.arg(port.to_string()).args(m.args);
        let run = Running::spawn(cmd, &m.exe, Output::Discard, None)?;
        // SAFETY: getpgid(2) takes no pointers.
        RUNNING.store(unsafe { libc::getpgid(run.pid) }, Ordering::SeqCst);
        let server = Server {
            run,
            measured: m,
            port,
        };
        // A first connection, stepped like those counted, says it is ready.
        let mut probe = None;
        wait_until("the server to listen", || {
            probe = TcpStream::connect(("127.0.0.1", port)).ok();
            probe.is_some()
        })?;
        server.serving(1)?;
        drop(probe);
        server.serving(0)?;
        Ok(server)
    }

    pub fn pid(&self) -> i32 {
        self.run.pid
    }

    /// Where the load goes, and what it must get back.
    pub fn target(&self) -> (u16, Echo) {
        (self.port, self.measured.echo())
    }

    /// Waits until `n` connections are open and waiting (0: settled).
    pub fn serving(&self, n: usize) -> Result<()> {
        let pid = self.run.pid;
        match self.measured.model {
            Some(model) => wait_serving(pid, model, n),
            None => wait_until(
                &format!("the server to be at rest with {n} connections"),
                || at_rest(pid, n),
            )
            .map_err(|e| format!("{e}: {}", crate::base::model::describe(pid))),
        }
    }

    /// SIGTERM, and a wait for it (and its wrapper) to finish writing.
    /// Then waits until every process of its tree has ended, so that the
    /// kernel's tearing down of thousands of them is not measured in the
    /// next run.
    pub fn stop(self) -> Result<()> {
        let tree = procfs::tree(self.run.pid);
        let exe = self.measured.exe.clone();
        // A preforked server's children each serving, so that its stop
        // makes the same calls every run (see hold_every_child).
        let held = match self.measured.model {
            Some(model) => {
                crate::trace::session::hold_every_child(self.port, self.run.pid, model, &|n| {
                    self.serving(n)
                })?
            }
            None => Vec::new(),
        };
        if self.measured.uses_uring() {
            sigterm_uring(&self.run, self.port)?;
        }
        self.run.finish(libc::SIGTERM)?;
        drop(held);
        RUNNING.store(0, Ordering::SeqCst);
        // A pid taken again by another program is not waited for.
        wait_until("the server's processes to end", || {
            tree.iter()
                .all(|&p| procfs::stat(p).is_none_or(|s| s.state == 'Z') || !procfs::runs(p, &exe))
        })
    }
}

/// The process group of the server running, 0 when none: what an
/// interrupted bench kills on its way out.
static RUNNING: AtomicI32 = AtomicI32::new(0);

/// On SIGINT, SIGTERM or SIGHUP, kills the running server's group (a group
/// of its own, which the terminal's signal does not reach), then dies of
/// the signal.
pub fn kill_server_on_signals() {
    extern "C" fn on_signal(sig: libc::c_int) {
        let group = RUNNING.load(Ordering::SeqCst);
        // SAFETY: kill(2), signal(2) and raise(3) are async-signal-safe and
        // take no pointers; the default action then ends the process.
        unsafe {
            if group > 0 {
                libc::kill(-group, libc::SIGKILL);
            }
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: on_signal is an extern "C" fn(c_int) that only makes
        // async-signal-safe calls.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

/// Whether every task of `pid` (io_uring's kernel workers aside) waits in
/// futex, epoll_wait or io_uring_enter, and it holds the listening socket
/// and `n` more: a runtime's event loop at rest.
fn at_rest(pid: i32, n: usize) -> bool {
    let waits = |t| {
        [Call::Futex, Call::EpollWait, Call::UringEnter]
            .into_iter()
            .any(|c| blocked_in(pid, t, c))
    };
    procfs::tasks(pid)
        .into_iter()
        .filter(|&t| !procfs::io_worker(pid, t))
        .all(waits)
        && procfs::sockets(pid) == 1 + n
}
