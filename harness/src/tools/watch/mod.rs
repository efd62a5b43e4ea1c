//! `make watch-NAME`: a server's processes, threads, descriptors and
//! listening socket, live, read from /proc alone; keys that poke it with
//! clients ([`pokes`]); and, without a terminal, `--frames N` plain or
//! JSON snapshots for scripts, tests and the chapters.

pub mod pokes;
pub mod render;
pub mod snapshot;
mod term;

use crate::base::process::{Output, Running};
use crate::base::procfs;
use crate::base::server::Server;
use crate::base::wait::wait_until;
use crate::{Result, Twin};
use render::View;
use snapshot::{Previous, Snapshot};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// What to watch, and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// A program of the table, by name, or an executable of one's own.
    pub name: Option<String>,
    pub exe: Option<PathBuf>,
    pub twin: Twin,
    pub port: Option<u16>,
    /// Plain (or JSON) snapshots rather than the full-screen view.
    pub frames: Option<usize>,
    pub interval: Duration,
    pub json: bool,
    pub args: Vec<String>,
}

/// How many frames the view prints when its output is no terminal and
/// `--frames` is not given.
const DEFAULT_FRAMES: usize = 10;
/// How long the server has to end after SIGTERM before it is killed.
const TERM_GRACE: Duration = Duration::from_secs(5);
/// How many of the server's last lines the view keeps.
const OUTPUT_LINES: usize = 3;

/// Set by SIGINT, SIGTERM or SIGHUP: the view ends.
static STOP: AtomicBool = AtomicBool::new(false);
/// The server's process group, for a panic to kill on its way out.
static GROUP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// sigaction(2) for SIGINT, SIGTERM and SIGHUP: [`on_signal`].
fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to
        // an atomic, which is async-signal-safe.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// Whether a signal asked the view to end.
pub fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The server being watched.
pub struct Watched {
    pub run: Running,
    pub pid: i32,
    pub port: u16,
    pub name: String,
    start: Instant,
    prev: Previous,
    ended: Option<String>,
}

impl Watched {
    /// Starts the server `o` names and waits until it listens.
    pub fn start(o: &Options) -> Result<Watched> {
        let args: Vec<&str> = o.args.iter().map(String::as_str).collect();
        let (run, pid, port, name) = match (&o.name, &o.exe) {
            (Some(name), None) => {
                let exe = server_named(name)?;
                let mut b = Server::build(exe, o.twin).args(&args);
                if let Some(p) = o.port {
                    b = b.port(p);
                }
                let Server { run, pid, port, .. } = b.start()?;
                let twin = if o.twin == Twin::C { " (C)" } else { "" };
                (run, pid, port, format!("{exe}{twin}"))
            }
            (None, Some(exe)) => {
                let (run, port) = start_exe(exe, o.port, &args)?;
                let pid = run.pid;
                (run, pid, port, exe.display().to_string())
            }
            _ => return Err("a program's NAME, or --exe PATH".into()),
        };
        GROUP.store(run.group(), Ordering::Relaxed);
        Ok(Watched {
            run,
            pid,
            port,
            name,
            start: Instant::now(),
            prev: Previous::new(port),
            ended: None,
        })
    }

    /// A frame of the server, or the last one again once it has ended.
    pub fn frame(&mut self, last: &Snapshot) -> Snapshot {
        if self.ended.is_none()
            && let Some(status) = self.run.status()
        {
            self.ended = Some(how(status));
        }
        if let Some(e) = &self.ended {
            let mut s = last.clone();
            s.ended = Some(e.clone());
            return s;
        }
        let ms = self.start.elapsed().as_millis() as u64;
        let s = Snapshot::read(self.pid, self.port, ms, &mut self.prev);
        // A server on its way out has closed its descriptors: the last
        // frame stays, and the next says how it ended.
        let alive = procfs::stat(self.pid).is_some_and(|st| st.state != 'Z')
            && !procfs::status(self.pid, "SigPnd").is_some_and(|p| sigkill(&p))
            && s.fds.iter().any(|f| f.pid == self.pid);
        if alive || last.tasks.is_empty() {
            s
        } else {
            last.clone()
        }
    }

    /// Whether the server has ended.
    pub fn ended(&self) -> bool {
        self.ended.is_some()
    }

    /// The server's last lines of output.
    pub fn output(&self) -> Vec<String> {
        let out = self.run.stdout() + &self.run.stderr();
        let lines: Vec<&str> = out.lines().collect();
        let from = lines.len().saturating_sub(OUTPUT_LINES);
        lines[from..].iter().map(|l| l.to_string()).collect()
    }

    /// SIGTERM, then SIGKILL if it has not ended within [`TERM_GRACE`];
    /// how it ended.
    pub fn terminate(&mut self) -> String {
        if let Some(e) = &self.ended {
            return e.clone();
        }
        self.run.signal(libc::SIGTERM);
        let run = &mut self.run;
        let mut status = None;
        let deadline = Instant::now() + TERM_GRACE;
        while status.is_none() && Instant::now() < deadline {
            status = run.status();
            std::thread::sleep(Duration::from_millis(10));
        }
        if status.is_none() {
            run.signal(libc::SIGKILL);
            let _ = wait_until("the server to die", || run.exited());
        }
        let e = status.map_or_else(
            || "killed (SIGKILL) after SIGTERM did not end it".into(),
            how,
        );
        self.ended = Some(e.clone());
        e
    }
}

/// The executable of server `name` (`zombie` or `zombie_server`); an
/// error that lists the servers for another name.
fn server_named(name: &str) -> Result<&'static str> {
    let servers: Vec<&str> = crate::servers().map(|p| p.short).collect();
    match crate::program(name) {
        Ok(p) if p.model().is_some() => Ok(p.name),
        Ok(_) => Err(format!(
            "{name} is not a server; the servers: {}",
            servers.join(", ")
        )),
        Err(_) => Err(format!(
            "no server {name:?}; the servers: {}",
            servers.join(", ")
        )),
    }
}

/// Whether a mask of /proc/PID/status (hex) holds SIGKILL.
fn sigkill(mask: &str) -> bool {
    u64::from_str_radix(mask, 16).is_ok_and(|m| m & (1 << (libc::SIGKILL - 1)) != 0)
}

/// `--exe PATH`: runs it with `args` (its port fixed in its source, or
/// `port` among `args`) and waits until it listens on `port`, or on
/// some port if none is given.
fn start_exe(exe: &PathBuf, port: Option<u16>, args: &[&str]) -> Result<(Running, u16)> {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    let run = Running::spawn(cmd, exe, Output::Capture, None)?;
    let mut found = 0;
    wait_until(&format!("{} to listen", exe.display()), || {
        let ports = procfs::listen_ports(run.pid);
        found = port
            .filter(|p| ports.contains(p))
            .or(ports.first().copied())
            .unwrap_or(0);
        found != 0 || procfs::stat(run.pid).is_none_or(|s| s.state == 'Z')
    })?;
    if let Some(p) = port.filter(|&p| found != 0 && p != found) {
        return Err(format!(
            "{} listens on port {found}, not {p}: PORT={found} (make watch), or --port {found}",
            exe.display()
        ));
    }
    if found == 0 {
        return Err(format!(
            "{} ended before it listened; stderr: {}",
            exe.display(),
            run.stderr()
        ));
    }
    Ok((run, found))
}

/// How a process ended, in words: `exit 0`, `killed by signal 9 (SIGKILL)`.
pub fn how(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (_, Some(s)) => format!("killed by signal {s} ({})", signal_name(s)),
        _ => format!("{status}"),
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGABRT => "SIGABRT",
        _ => "?",
    }
}

/// Runs the view as `o` says: full-screen on a terminal, frames otherwise.
pub fn run(o: &Options) -> Result<String> {
    catch_signals();
    std::panic::set_hook(Box::new(|info| {
        term::restore();
        let group = GROUP.load(Ordering::Relaxed);
        if group > 0 {
            // SAFETY: kill(2) takes no pointers; the group is the server's.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        eprintln!("watch: {info}");
    }));
    let mut w = Watched::start(o)?;
    let interactive = o.frames.is_none() && !o.json && std::io::stdout().is_terminal();
    if interactive {
        term::run(&mut w, o.interval)
    } else {
        frames(&mut w, o, o.frames.unwrap_or(DEFAULT_FRAMES))
    }
}

/// Prints `n` frames, `o.interval` apart, or until the server ends (its
/// last frame then says how) or a signal.
fn frames(w: &mut Watched, o: &Options, n: usize) -> Result<String> {
    let mut out = std::io::stdout().lock();
    let mut view = View {
        name: w.name.clone(),
        ..View::default()
    };
    for i in 0..n {
        if i > 0 {
            pause(o.interval);
        }
        if stopped() {
            break;
        }
        view.snap = w.frame(&view.snap);
        view.output = w.output();
        let text = if o.json {
            view.snap.json() + "\n"
        } else {
            render::text(&view) + "\n"
        };
        if out
            .write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            break;
        }
        if view.snap.ended.is_some() {
            return Ok(format!(
                "the server ended: {}",
                view.snap.ended.unwrap_or_default()
            ));
        }
    }
    Ok(format!("the server: {}", w.terminate()))
}

/// Sleeps `d`, in steps, waking early for a signal.
fn pause(d: Duration) {
    let end = Instant::now() + d;
    while !stopped() && Instant::now() < end {
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(20)));
    }
}
