//! `make explain-NAME`: runs a program and its C twin through the scripted
//! session of its model under `strace -f -k`, maps every frame of the
//! program's own code on each call's stack to its source file, line and
//! function (inlined frames included), and pairs the two twins' calls in
//! order, task by task (tasks matched as `trace_compare` matches them).
//! The rows are printed in three columns ([`text`]) and written as a page
//! with both sources beside the trace ([`html`]).
//!
//! strace's unwinder (libunwind 1.6 in Debian 12) stops each stack at the
//! first frame of an executable whose code segment does not start on a
//! page of the file, as LLD, rustc's linker, lays them out
//! ([`elf::Elf::needs_aligning`]): the Rust twin's stacks would end at the
//! first Rust function that was not inlined. So the Rust twin runs here as
//! a copy whose program headers start that segment on the page boundary
//! before it: the same bytes mapped at the same addresses, and the same
//! calls (`make compare`, which only needs the innermost frame, traces the
//! executables as built).

pub mod html;
pub mod queued;
pub mod text;

use crate::base::{dir::scratch, server::Server};
use crate::trace::symbols::{Resolved, Site, Symbolizer};
use crate::trace::{check, elf, normalize, session, stack};
use crate::{Kind, Program, Result, Twin};
use std::fs;
use std::path::{Path, PathBuf};

/// One call (or signal, or exit) of one twin's task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The normalised line, as `trace_compare` compares it.
    pub line: String,
    /// What its stack says.
    pub at: Resolved,
}

impl Call {
    /// The system call's name (`close`), or `---` for a signal, `+++` for the end.
    pub fn name(&self) -> &str {
        if self.line.starts_with("--- ") {
            return "---";
        }
        if self.line.starts_with("+++ ") {
            return "+++";
        }
        let end = self
            .line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.line.len());
        &self.line[..end]
    }

    /// The line to show for the call, and what it called there: the
    /// innermost line of the program's own code outside the wrappers
    /// (which only check for errors), `main → Close` where it called one,
    /// `echo_upper → printf` where it called the library itself.
    pub fn site(&self) -> Option<(&Site, String)> {
        let own = &self.at.own;
        let (i, site) = self.at.shown()?;
        let callee = match i {
            0 => self.at.entry.clone(),
            _ => Some(own[i - 1].name().to_string()),
        };
        let label = match callee {
            Some(f) => format!("{} → {f}", site.name()),
            None => site.name().to_string(),
        };
        Some((site, label))
    }

    /// `process_server.c:56 main → Close`, or the module in parentheses
    /// for a call no own code made.
    pub fn site_text(&self) -> String {
        match self.site() {
            Some((s, label)) if self.at.inferred => format!("{} {label} *", s.short()),
            Some((s, label)) => format!("{} {label}", s.short()),
            None if self.name() == "+++" => String::new(),
            None => match &self.at.module {
                Some(m) => format!("({m})"),
                None => "(no stack)".to_string(),
            },
        }
    }

    /// Whether the library function the program called made this call
    /// itself (`close` for close, `fork` for clone), rather than on its
    /// way (printf's write, pthread_create's mmap, exit's flush).
    pub fn direct(&self) -> bool {
        let Some(entry) = &self.at.entry else {
            return true;
        };
        let call = self.name();
        if call == "---" || entry == call {
            return true;
        }
        const WRAPS: &[(&str, &str)] = &[
            ("fork", "clone"),
            ("waitpid", "wait4"),
            ("sigaction", "rt_sigaction"),
            ("signal", "rt_sigaction"),
            ("exit", "exit_group"),
            ("pthread_create", "clone3"),
            ("usleep", "clock_nanosleep"),
            ("sleep", "clock_nanosleep"),
            ("open", "openat"),
        ];
        WRAPS.contains(&(entry.as_str(), call))
    }
}

/// What made a row's calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// No own code on the stack, before any call of the program's own: the
    /// loader and libc's start-up before main, or before a thread's function.
    Startup,
    /// The program's own code, through the library function that makes it.
    Program,
    /// The program's own code called a library function that made this
    /// call on its way (printf's buffered write, pthread_create's mmap).
    Inside,
    /// No own code on the stack, after the program's own calls: libc on
    /// its own (a thread's exit).
    Libc,
    /// The task's end (`+++ exited with 0 +++`).
    End,
}

/// One row: a call of each twin, in order.
#[derive(Clone, Debug)]
pub struct Row {
    pub origin: Origin,
    pub c: Option<Call>,
    pub rust: Option<Call>,
}

impl Row {
    /// Whether both twins made the call alike: the same normalised line.
    pub fn same_line(&self) -> bool {
        matches!((&self.c, &self.rust), (Some(a), Some(b)) if a.line == b.line)
    }

    /// Whether the innermost own functions have the same name (the check).
    pub fn same_site(&self) -> bool {
        let inner = |c: &Option<Call>| c.as_ref().and_then(|c| c.at.innermost().map(String::from));
        check::same_site(inner(&self.c).as_deref(), inner(&self.rust).as_deref())
    }

    /// The normalised line (the C twin's where they differ).
    pub fn line(&self) -> &str {
        self.c
            .as_ref()
            .or(self.rust.as_ref())
            .map_or("", |c| &c.line)
    }
}

/// One twin's task: its pid and calls.
#[derive(Clone, Debug)]
pub struct Task {
    pub pid: u32,
    pub calls: Vec<Call>,
}

/// A task of each twin, matched.
#[derive(Clone, Debug)]
pub struct TaskPair {
    pub c: Option<Task>,
    pub rust: Option<Task>,
    /// Every normalised line equal, as `trace_compare` matches tasks.
    pub identical: bool,
    pub rows: Vec<Row>,
}

impl TaskPair {
    /// `Rust pid 123, C pid 456`.
    pub fn pids(&self) -> String {
        let pid = |t: &Option<Task>| t.as_ref().map_or("none".to_string(), |t| t.pid.to_string());
        format!("Rust pid {}, C pid {}", pid(&self.rust), pid(&self.c))
    }
}

/// Where one twin ran.
#[derive(Clone, Debug)]
pub struct Side {
    /// The executable as built.
    pub exe: PathBuf,
    /// What ran under strace: the executable, or its page-aligned copy.
    pub traced: PathBuf,
}

/// A program explained: every task of both twins, matched, main task first.
pub struct Explained {
    pub program: &'static Program,
    pub c: Side,
    pub rust: Side,
    pub tasks: Vec<TaskPair>,
    /// Where the traces are: `c/` and `rust/`.
    pub dir: PathBuf,
}

/// Runs program `name`'s twins through its session under `strace -f -k`,
/// tracing into `dir`, and pairs their calls.
pub fn run(program: &'static Program, dir: &Path) -> Result<Explained> {
    let [rust, c] = [Twin::Rust, Twin::C].map(|twin| crate::exe(program.name, twin));
    run_pair(program, &rust, &c, dir)
}

/// [`run`] with other executables in the twins' places: `rust` and `c`
/// (a C twin built otherwise, say), through program `name`'s session.
pub fn run_pair(program: &'static Program, rust: &Path, c: &Path, dir: &Path) -> Result<Explained> {
    crate::base::process::require("strace", "strace")?;
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let server = match program.kind {
        Kind::Client => Some(Server::start("process_server", Twin::Rust)?),
        Kind::Server(_) => None,
        Kind::Driver => {
            return Err(format!(
                "{} is a test driver, with no session",
                program.name
            ));
        }
    };
    let args: Vec<String> = program.session_args.iter().map(|s| s.to_string()).collect();
    let stacks = [stack::STACKS.to_string()];
    // One port for both, as in trace_compare: it shows in the calls.
    let port = server
        .as_ref()
        .map_or_else(crate::base::port::free_port, |s| s.port);
    let mut sides = Vec::new();
    let mut traces = Vec::new();
    for (twin, exe) in [(Twin::Rust, rust), (Twin::C, c)] {
        let exe = exe.to_path_buf();
        let traced = runnable(&exe, dir, &format!("{}-exe", twin.label()))?;
        let d = scratch(dir, twin.label())?;
        match program.model() {
            None => session::client(&traced, port, &d, &stacks)?,
            Some(model) => session::server(&traced, &args, model, port, &d, None, &stacks)?,
        };
        traces.push(load(&d, port, &traced)?);
        sides.push(Side { exe, traced });
    }
    let c_tasks = traces.pop().unwrap();
    let rust_tasks = traces.pop().unwrap();
    let c = sides.pop().unwrap();
    let rust = sides.pop().unwrap();
    Ok(Explained {
        program,
        c,
        rust,
        tasks: pair(rust_tasks, c_tasks),
        dir: dir.to_path_buf(),
    })
}

/// `exe` itself, or, if strace's unwinder cannot walk its stacks, a
/// page-aligned copy of it in `dir/sub` under the same name, where one can
/// be made (else its stacks stop at its first frame, with the functions
/// inlined there).
fn runnable(exe: &Path, dir: &Path, sub: &str) -> Result<PathBuf> {
    let elf = elf::Elf::read(exe)?;
    let Some(aligned) = elf.page_aligned().filter(|_| elf.needs_aligning()) else {
        return Ok(exe.to_path_buf());
    };
    let copy_dir = scratch(dir, sub)?;
    let copy = copy_dir.join(exe.file_name().ok_or("an executable's name")?);
    fs::write(&copy, aligned).map_err(|e| format!("{}: {e}", copy.display()))?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", copy.display()))?;
    Ok(copy)
}

/// Reads every `trace.PID` in `dir`: its lines normalised as
/// `trace_compare` normalises them, each with what its stack says.
pub fn load(dir: &Path, keep_port: u16, exe: &Path) -> Result<Vec<Task>> {
    let sym = Symbolizer::new(exe)?;
    let raw = session::traces(dir)?;
    let plain: Vec<String> = raw.iter().map(|(_, t)| stack::strip(t)).collect();
    let mut run = normalize::Run {
        keep_port,
        ..Default::default()
    };
    run.scan(plain.iter().flat_map(|t| t.lines()));
    run.tids = raw.iter().map(|(pid, _)| *pid).collect();
    let mut tasks = Vec::new();
    for ((pid, text), plain) in raw.iter().zip(&plain) {
        let (lines, kept) = normalize::task_kept(plain, &run);
        let entries = stack::entries(text);
        if kept.len() != entries.len() {
            return Err(format!(
                "trace.{pid}: {} calls but {} calls with stacks",
                kept.len(),
                entries.len()
            ));
        }
        let entries = entries
            .into_iter()
            .zip(kept)
            .filter(|(_, k)| *k)
            .map(|(e, _)| e);
        let calls = lines
            .into_iter()
            .zip(entries)
            .map(|(line, e)| Call {
                line,
                at: sym.resolve(&e.frames),
            })
            .collect();
        tasks.push(Task { pid: *pid, calls });
    }
    // The main task (the one that ran execve) first, then in pid order.
    tasks.sort_by_key(|t| {
        (
            !t.calls
                .first()
                .is_some_and(|c| c.line.starts_with("execve(")),
            t.pid,
        )
    });
    Ok(tasks)
}

/// Matches each Rust task with a C task of the same normalised lines, in
/// order; what is left is paired in order too, marked as not identical.
pub fn pair(rust: Vec<Task>, mut c: Vec<Task>) -> Vec<TaskPair> {
    let mut pairs = Vec::new();
    let mut unmatched = Vec::new();
    for r in rust {
        let lines = |t: &Task| t.calls.iter().map(|c| c.line.clone()).collect::<Vec<_>>();
        match c.iter().position(|o| lines(o) == lines(&r)) {
            Some(i) => pairs.push((Some(r), Some(c.remove(i)))),
            None => unmatched.push(r),
        }
    }
    let mut c = c.into_iter();
    for r in unmatched {
        pairs.push((Some(r), c.next()));
    }
    pairs.extend(c.map(|t| (None, Some(t))));
    // Keep the Rust side's order (main task first), strays last.
    let order = |p: &(Option<Task>, Option<Task>)| {
        p.0.as_ref().map_or((true, true, u32::MAX), |t| {
            (
                !t.calls
                    .first()
                    .is_some_and(|c| c.line.starts_with("execve(")),
                false,
                t.pid,
            )
        })
    };
    pairs.sort_by_key(order);
    pairs
        .into_iter()
        .map(|(rust, c)| {
            let identical = match (&rust, &c) {
                (Some(a), Some(b)) => {
                    a.calls.len() == b.calls.len()
                        && a.calls.iter().zip(&b.calls).all(|(x, y)| x.line == y.line)
                }
                _ => false,
            };
            let rows = rows(rust.as_ref(), c.as_ref());
            TaskPair {
                c,
                rust,
                identical,
                rows,
            }
        })
        .collect()
}

/// The rows of a pair of tasks, call by call, each with its origin.
fn rows(rust: Option<&Task>, c: Option<&Task>) -> Vec<Row> {
    let len = |t: Option<&Task>| t.map_or(0, |t| t.calls.len());
    let get = |t: Option<&Task>, i: usize| t.and_then(|t| t.calls.get(i)).cloned();
    let mut seen_own = false;
    let mut rows: Vec<Row> = (0..len(rust).max(len(c)))
        .map(|i| {
            let (r, c) = (get(rust, i), get(c, i));
            let calls = [&r, &c];
            let own = calls
                .iter()
                .any(|x| x.as_ref().is_some_and(|x| !x.at.own.is_empty()));
            let origin = if calls
                .iter()
                .any(|x| x.as_ref().is_some_and(|x| x.name() == "+++"))
            {
                Origin::End
            } else if own {
                seen_own = true;
                if calls.iter().all(|x| x.as_ref().is_none_or(Call::direct)) {
                    Origin::Program
                } else {
                    Origin::Inside
                }
            } else if seen_own {
                Origin::Libc
            } else {
                Origin::Startup
            };
            Row { origin, c, rust: r }
        })
        .collect();
    infer(&mut rows);
    rows
}

/// A call with no own frame between two made by the same line through
/// the same library function was made by it too: its stack stopped short.
fn infer(rows: &mut [Row]) {
    let made = |r: &Row| matches!(r.origin, Origin::Program | Origin::Inside);
    for i in 1..rows.len().saturating_sub(1) {
        let (before, after) = (&rows[i - 1], &rows[i + 1]);
        if rows[i].origin != Origin::Libc || !made(before) || !made(after) {
            continue;
        }
        let at = |c: &Option<Call>| c.as_ref().map(|c| c.at.clone());
        if at(&before.c) != at(&after.c) || at(&before.rust) != at(&after.rust) {
            continue;
        }
        let (c, rust) = (at(&before.c), at(&before.rust));
        let row = &mut rows[i];
        for (call, at) in [(&mut row.c, c), (&mut row.rust, rust)] {
            if let (Some(call), Some(mut at)) = (call.as_mut(), at) {
                at.inferred = true;
                call.at = at;
            }
        }
        row.origin = if [&row.c, &row.rust]
            .iter()
            .all(|x| x.as_ref().is_none_or(Call::direct))
        {
            Origin::Program
        } else {
            Origin::Inside
        };
    }
}

/// The tasks a view shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Which {
    /// The main task and the first task it started (a child or thread):
    /// the two halves of a concurrent server's lesson.
    Default,
    All,
    /// By index (0 is the main task) or by either twin's pid.
    One(u32),
}

impl Explained {
    /// The indices of the tasks `which` names.
    pub fn select(&self, which: &Which) -> Result<Vec<usize>> {
        match which {
            Which::All => Ok((0..self.tasks.len()).collect()),
            Which::Default => Ok((0..self.tasks.len().min(2)).collect()),
            Which::One(n) => {
                if (*n as usize) < self.tasks.len() {
                    return Ok(vec![*n as usize]);
                }
                let pid = |t: &Option<Task>| t.as_ref().is_some_and(|t| t.pid == *n);
                self.tasks
                    .iter()
                    .position(|p| pid(&p.rust) || pid(&p.c))
                    .map(|i| vec![i])
                    .ok_or_else(|| {
                        format!(
                            "no task {n}: give an index below {} or a pid of either twin",
                            self.tasks.len()
                        )
                    })
            }
        }
    }

    /// Whether every task has an identical twin and every call the same site.
    pub fn alike(&self) -> bool {
        self.tasks
            .iter()
            .all(|t| t.identical && t.rows.iter().all(Row::same_site))
    }
}
