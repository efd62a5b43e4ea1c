//! The servers a benchmark measures, and each one's life: started on a free
//! port (perhaps under strace or valgrind), known ready, stepped between
//! connections by its model, and stopped.

use super::report::{Results, Side};
use super::{Options, STD_MODEL, max_clients};
use crate::model::wait_serving;
use crate::process::{Output, Running, free_port, wait_until};
use crate::{Model, Result};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A server measured: which one, which side, its model and executable.
pub struct Measured {
    /// The table's short name ("process"), or "std".
    pub short: &'static str,
    pub side: Side,
    pub model: &'static Model,
    pub exe: PathBuf,
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
            let model = p.model().unwrap();
            servers.push(Measured {
                short: p.short,
                side: Side::Rust,
                model,
                exe: o.rust.join(p.name),
            });
            servers.push(Measured {
                short: p.short,
                side: Side::C,
                model,
                exe: o.c.join(p.name),
            });
        }
        servers.push(Measured {
            short: "std",
            side: Side::Std,
            model: &STD_MODEL,
            exe: o.rust.join("std_server"),
        });
        for s in &servers {
            if !s.exe.exists() {
                return Err(format!("{} is missing: run make build", s.exe.display()));
            }
        }
        Ok(Bench { servers })
    }

    /// Runs `run` on every server that can hold `clients` at once, `o.reps`
    /// times, servers alternating, and records each of the figures `run`
    /// returns under the names given.
    pub fn alternate(
        &self,
        o: &Options,
        clients: usize,
        results: &mut Results,
        names: &[&str],
        run: impl Fn(u16) -> Result<Vec<f64>>,
    ) -> Result<()> {
        for _ in 0..o.reps {
            for s in &self.servers {
                if max_clients(s.model).is_some_and(|m| clients > m) {
                    continue;
                }
                let server = Server::start(s, &[])?;
                let figures = run(server.port)?;
                server.stop()?;
                for (name, f) in names.iter().zip(figures) {
                    results.add(name, s.short, s.side, f);
                }
            }
        }
        Ok(())
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
        cmd.arg(port.to_string());
        let run = Running::spawn(cmd, &m.exe, Output::Discard, None)?;
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

    /// Waits until `n` connections are open and waiting (0: settled).
    pub fn serving(&self, n: usize) -> Result<()> {
        wait_serving(self.run.pid, self.measured.model, n)
    }

    /// SIGTERM, and a wait for it (and its wrapper) to finish writing.
    pub fn stop(self) -> Result<()> {
        self.run.finish(libc::SIGTERM).map(|_| ())
    }
}

/// A scratch directory for one counted run.
pub fn scratch(name: &str) -> Result<PathBuf> {
    crate::process::scratch(
        &std::env::temp_dir(),
        &format!("concserv-bench-{}-{name}", std::process::id()),
    )
}

/// Removes a scratch directory.
pub fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
