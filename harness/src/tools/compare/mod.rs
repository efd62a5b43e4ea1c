//! `make compare`: runs a program and its C twin (or any two executables)
//! through the same scripted session under `strace -ff`, normalises the
//! traces, and compares them task by task (process or thread), matched
//! regardless of pid order. With each call's stack (`strace -k`), it also
//! checks the call sites: in matched tasks, every call was made by the
//! innermost function of the program's own code of the same name in both
//! (see [`crate::trace::check`]).

pub mod diff;
pub mod notes;
pub mod sides;

use crate::base::port::free_port;
use crate::trace::session::{self, Port};
use crate::trace::{faults, normalize, ring};
use crate::{Kind, Program, Result, Twin};
use sides::{plain_server, port_free, side_port};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// What `trace_compare` says first: how every program it compares is run.
pub const HEADER: &str = "Each program runs under strace -ff with address-space randomisation off (personality ADDR_NO_RANDOMIZE, as setarch -R).";

/// One comparison: two executables through the session of a program's kind
/// and model, perhaps under a fault.
pub struct Job {
    /// The program whose session (and model) is run.
    pub program: &'static Program,
    pub fault: Option<&'static str>,
    /// The two executables: a program and its twin, or any pair.
    pub a: PathBuf,
    pub b: PathBuf,
    /// The server the client session talks to.
    pub server: PathBuf,
    /// The port the two programs use by themselves, without an argument
    /// (a classic program's fixed port); None: a free port, passed to them.
    pub port: Option<u16>,
    /// The folders A's traces and B's go in: `rust` and `c` for the twins,
    /// named after the executables for a pair (see [`side_names`]).
    pub sides: [String; 2],
    /// Made by [`Job::pair`]: two executables a user chose, not twins.
    pub pair: bool,
}

impl Job {
    /// `program` against its twin, from where the build put them.
    pub fn twins(program: &'static Program, fault: Option<&'static str>) -> Job {
        Job {
            program,
            fault,
            a: crate::exe(program.name, Twin::Rust),
            b: crate::exe(program.name, Twin::C),
            server: crate::exe("process_server", Twin::Rust),
            port: None,
            sides: ["rust".to_string(), "c".to_string()],
            pair: false,
        }
    }

    /// Any two executables through the session of `program`, without a
    /// fault; their traces in folders named after them.
    pub fn pair(program: &'static Program, a: &Path, b: &Path) -> Job {
        Job {
            a: a.to_path_buf(),
            b: b.to_path_buf(),
            sides: side_names(a, b),
            pair: true,
            ..Job::twins(program, None)
        }
    }

    /// "NAME" or "NAME under FAULT".
    pub fn label(&self) -> String {
        match self.fault {
            Some(f) => format!("{} under {f}", self.program.name),
            None => self.program.name.to_string(),
        }
    }
}

/// The folders of a pair's traces: each executable's file name, or, when
/// the two have the same, `A-NAME` and `B-NAME`.
pub fn side_names(a: &Path, b: &Path) -> [String; 2] {
    let name = |p: &Path| {
        p.file_name()
            .map_or_else(|| "exe".to_string(), |n| n.to_string_lossy().into_owned())
    };
    let (x, y) = (name(a), name(b));
    if x == y {
        [format!("A-{x}"), format!("B-{y}")]
    } else {
        [x, y]
    }
}

/// The comparisons `make compare` runs: every program that has a session,
/// then every server under every fault that applies to it.
pub fn all_jobs() -> Vec<Job> {
    let comparable = || crate::PROGRAMS.iter().filter(|p| p.kind != Kind::Driver);
    let plain = comparable().map(|p| Job::twins(p, None));
    let faulty = faults::FAULTS.iter().flat_map(move |f| {
        crate::servers()
            .filter(|p| faults::inject(f, p.model().unwrap()).is_some())
            .map(|p| Job::twins(p, Some(f)))
    });
    plain.chain(faulty).collect()
}

/// What a comparison found: a verdict line, and a side-by-side diff of the
/// tasks that differ.
pub struct Outcome {
    pub identical: bool,
    pub report: String,
    /// Where the traces are: a folder for each side, named by `Job::sides`.
    pub dir: PathBuf,
    /// A's folder and B's, in `dir`, each with `trace.PID` and `trace.PID.norm`.
    pub traces: [PathBuf; 2],
}

/// One task's trace: its pid, its normalised lines, and for each the
/// innermost own function that made it, and its source line (`server.c:52`).
struct Task {
    pid: u32,
    lines: Vec<String>,
    sites: Vec<Option<String>>,
    at: Vec<Option<String>>,
}

/// Runs both executables through the session, tracing into `dir/SIDE`
/// for each of `job.sides` (`rust` and `c`, or a pair's), and compares.
pub fn run(job: &Job, dir: &Path) -> Result<Outcome> {
    // A free port may be taken by another program between the moment it
    // is chosen and the server's bind (tests run in parallel): on a port
    // of our choosing, another try on another port.
    let mut tries = 1;
    loop {
        match run_once(job, dir) {
            Err(e) if job.port.is_none() && e.contains("Address already in use") && tries < 3 => {
                tries += 1
            }
            other => return other,
        }
    }
}

fn run_once(job: &Job, dir: &Path) -> Result<Outcome> {
    let port = match job.port {
        Some(n) => {
            port_free(n, false)?;
            Port::Fixed(n)
        }
        None => Port::Given(free_port()),
    };
    let server = match job.program.kind {
        Kind::Client => Some(plain_server(&job.server, port.number())?),
        _ => None,
    };
    let args: Vec<String> = job
        .program
        .session_args
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut runs = Vec::new();
    let mut rings = Vec::new();
    let mut unchecked = Vec::new();
    let stacks = [crate::trace::stack::STACKS.to_string()];
    let [side_a, side_b] = &job.sides;
    for (side, exe, letter) in [(side_a, &job.a, "A"), (side_b, &job.b, "B")] {
        let d = crate::base::dir::scratch(dir, side)?;
        let port = match port {
            Port::Fixed(n) => side_port(exe, n, job.program),
            given => given,
        };
        let out = match job.program.model() {
            Some(model) => {
                if letter == "B" && job.port.is_some() {
                    // A's server has just ended: its socket may still be closing.
                    port_free(port.number(), true)?;
                }
                session::server_on(exe, &args, model, port, &d, job.fault, &stacks)?
            }
            None => session::client_on(exe, port, &d, &stacks)?,
        };
        fs::write(d.join("stdout"), out).map_err(|e| e.to_string())?;
        let (tasks, symbols) = load(&d, port.number(), exe)?;
        if !symbols {
            unchecked.push(format!("{letter} ({}) has no line tables", exe.display()));
        }
        runs.push(tasks);
        rings.push(ring::load(&d)?);
    }
    drop(server);
    if job.port.is_some() {
        // The next comparison on this port must find it free: a server's
        // listening socket can outlive it a moment (an io_uring server's
        // ring, holding its multishot accept, is torn down after it exits).
        port_free(port.number(), true)?;
    }
    let b = runs.pop().unwrap();
    let a = runs.pop().unwrap();
    let (mut identical, mut report) = report(job, a, b, dir, &unchecked);
    if let Some((same, text)) = ring::verdict(rings[0].as_ref(), rings[1].as_ref()) {
        identical &= same;
        report.push_str(&text);
    }
    if identical && job.pair {
        report.push_str(&folders(job, dir));
    }
    Ok(Outcome {
        identical,
        report,
        dir: dir.to_path_buf(),
        traces: job.sides.clone().map(|s| dir.join(s)),
    })
}

/// Where each side's traces are: "  A: EXE (traces in DIR)", and B's.
fn folders(job: &Job, dir: &Path) -> String {
    let mut out = String::new();
    for (letter, exe, side) in [("A", &job.a, &job.sides[0]), ("B", &job.b, &job.sides[1])] {
        let _ = writeln!(
            out,
            "  {letter}: {} (traces in {})",
            exe.display(),
            dir.join(side).display()
        );
    }
    out
}

/// Reads and normalises every `trace.PID` file in `dir`, writing each
/// normalised task beside it as `trace.PID.norm`, and the functions of
/// `exe` that made its calls as `trace.PID.sites`; and whether `exe` has
/// the line tables that name them (without, no site is named).
fn load(dir: &Path, keep_port: u16, exe: &Path) -> Result<(Vec<Task>, bool)> {
    use crate::trace::{check, stack, symbols::Symbolizer};
    let sym = Symbolizer::new(exe)
        .ok()
        .filter(Symbolizer::has_line_tables);
    let raw: Vec<_> = session::traces(dir)?
        .into_iter()
        .map(|(pid, text)| (pid, stack::strip(&text), stack::entries(&text)))
        .collect();
    let mut run = normalize::Run {
        keep_port,
        ..Default::default()
    };
    run.scan(raw.iter().flat_map(|(_, text, _)| text.lines()));
    run.tids = raw.iter().map(|(pid, _, _)| *pid).collect();
    let mut tasks = Vec::new();
    for (pid, text, entries) in raw {
        let (lines, kept) = normalize::task_kept(&text, &run);
        fs::write(
            dir.join(format!("trace.{pid}.norm")),
            lines.join("\n") + "\n",
        )
        .map_err(|e| e.to_string())?;
        let sites = check::innermost_functions(&entries, sym.as_ref());
        if sites.len() != kept.len() {
            return Err(format!("trace.{pid}: stacks and calls do not pair up"));
        }
        let only_kept = |all: Vec<Option<String>>| -> Vec<Option<String>> {
            all.into_iter()
                .zip(&kept)
                .filter(|(_, k)| **k)
                .map(|(s, _)| s)
                .collect()
        };
        let at = only_kept(
            entries
                .iter()
                .map(|e| source_line(e, sym.as_ref()))
                .collect(),
        );
        let sites = only_kept(sites);
        if sites.len() != lines.len() {
            return Err(format!("trace.{pid}: stacks and lines do not pair up"));
        }
        fs::write(
            dir.join(format!("trace.{pid}.sites")),
            check::sites_file(&lines, &sites),
        )
        .map_err(|e| e.to_string())?;
        tasks.push(Task {
            pid,
            lines,
            sites,
            at,
        });
    }
    Ok((tasks, sym.is_some()))
}

/// The line of the program's own source that made the call of `entry`
/// (`server.c:52`): its innermost own frame's, or, where that is in the
/// error-checking wrappers, their caller's; None without line tables, or
/// where no own frame made it (the loader's calls).
fn source_line(
    entry: &crate::trace::stack::Entry,
    sym: Option<&crate::trace::symbols::Symbolizer>,
) -> Option<String> {
    let resolved = sym?.resolve(&entry.frames);
    resolved.shown().map(|(_, s)| s.short())
}

/// Matches each task of `a` with an identical task of `b`; the verdict,
/// and a side-by-side diff of what is left unmatched (see [`differences`]).
/// `unchecked`: why the call sites cannot be checked at all, if they cannot.
fn report(
    job: &Job,
    a: Vec<Task>,
    mut b: Vec<Task>,
    dir: &Path,
    unchecked: &[String],
) -> (bool, String) {
    let label = job.label();
    let total = a.len();
    let lines: usize = a.iter().map(|t| t.lines.len()).sum();
    let mut unmatched = Vec::new();
    let mut matched = Vec::new();
    // The tasks come in pid order: a task's number is its place in it.
    for (i, task) in a.into_iter().enumerate() {
        match b.iter().position(|o| o.lines == task.lines) {
            Some(k) => matched.push((task, b.remove(k))),
            None => unmatched.push((task, i + 1)),
        }
    }
    if unmatched.is_empty() && b.is_empty() {
        if !unchecked.is_empty() {
            return (
                true,
                format!(
                    "{label}: identical calls, {total} tasks, {lines} lines; call sites not checked: {}\n",
                    unchecked.join(", ")
                ),
            );
        }
        return sites_report(&label, total, lines, &matched, dir, &job.sides);
    }
    let mut out = format!(
        "{label}: DIFFERENT: {} of {total} tasks have no identical twin ({} left over on the other side)\n",
        unmatched.len(),
        b.len()
    );
    out.push_str(&folders(job, dir));
    out.push_str(&differences(&unmatched, total, &b));
    (false, out)
}

/// The tasks of A without an identical twin beside those of B, paired
/// main task first, then in the order they were created (by pid); each
/// pair's diff once, under a header that names every pair it stands for,
/// and first, each note the diffs hold, once.
fn differences(a: &[(Task, usize)], total: usize, b: &[Task]) -> String {
    let main_first = |t: &Task| (!is_main(t), t.pid);
    let mut order: Vec<usize> = (0..a.len()).collect();
    order.sort_by_key(|&i| main_first(&a[i].0));
    let mut bs: Vec<&Task> = b.iter().collect();
    bs.sort_by_key(|t| main_first(t));
    // Each distinct diff, and the (A task, B task) pairs that make it: two
    // pairs go together when their diffs differ only inside strings (the
    // bytes each client sent).
    let mut groups: Vec<(String, String, Vec<Pair>)> = Vec::new();
    let none: Vec<String> = Vec::new();
    let none_at: Vec<Option<String>> = Vec::new();
    for k in 0..a.len().max(bs.len()) {
        let left = order.get(k).map(|&i| (&a[i].0, a[i].1));
        let right = bs.get(k).copied();
        let (la, lb) = (
            left.map_or(&none, |t| &t.0.lines),
            right.map_or(&none, |t| &t.lines),
        );
        let shape = |lines: &[String]| -> Vec<String> {
            lines.iter().map(|l| diff::strings_masked(l)).collect()
        };
        let key = diff::side_by_side(&shape(la), &shape(lb));
        let pair = (left.map(|t| t.0), left.map(|t| t.1), right);
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.2.push(pair),
            None => {
                let (at_a, at_b) = (
                    left.map_or(&none_at, |t| &t.0.at),
                    right.map_or(&none_at, |t| &t.at),
                );
                let body = diff::side_by_side_at(la, lb, at_a, at_b);
                groups.push((key, body, vec![pair]))
            }
        }
    }
    // Each kind of note once, as it first shows (its name before the ':').
    let mut notes: Vec<&str> = Vec::new();
    for line in groups.iter().flat_map(|g| g.1.lines()) {
        if let Some(n) = line.trim_start().strip_prefix("note: ")
            && !n.ends_with(", as above")
            && !notes
                .iter()
                .any(|m| m.split(':').next() == n.split(':').next())
        {
            notes.push(n);
        }
    }
    let mut out = String::new();
    if !notes.is_empty() {
        out.push_str("Known differences, each noted below where it shows:\n");
        for n in &notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    for (_, body, pairs) in &groups {
        let _ = writeln!(out, "\n=== {}", header(pairs, total));
        out.push_str(body);
    }
    out
}

/// Whether `task` is the one that ran the program (its first call execve).
fn is_main(task: &Task) -> bool {
    task.lines.first().is_some_and(|l| l.starts_with("execve("))
}

/// A task of A (and its number) beside a task of B, either missing.
type Pair<'a> = (Option<&'a Task>, Option<usize>, Option<&'a Task>);

/// "the main task (A pid 12 | B pid 34)", or "task 3 of 10 (A pid 15 | B
/// pid 37); alike, strings aside, in task 4 (…)", for the pairs of one diff.
fn header(pairs: &[Pair], total: usize) -> String {
    let name = |(a, n, b): &Pair| {
        let pid = |t: &Option<&Task>| t.map_or("none".to_string(), |t| format!("pid {}", t.pid));
        let what = match (a, n) {
            (Some(t), _) if is_main(t) => "the main task".to_string(),
            (Some(_), Some(n)) => format!("task {n} of {total}"),
            _ => "a task B alone has".to_string(),
        };
        format!("{what} (A {} | B {})", pid(a), pid(b))
    };
    let mut text = name(&pairs[0]);
    if pairs.len() > 1 {
        let rest: Vec<String> = pairs[1..].iter().map(name).collect();
        text.push_str(&format!("; alike, strings aside, in {}", rest.join(", ")));
    }
    text
}

/// The call-site check of tasks whose lines are identical: the verdict,
/// and a side-by-side diff of each pair's `.sites` where they differ. A
/// call is a call site checked where both sides name the function that
/// made it; it is not checked where either side cannot (not mapped: a merged
/// instruction, or a frame the line tables do not cover), and the verdict
/// says how many; a call that neither side's own code made (the loader's,
/// a library's) is no call site.
fn sites_report(
    label: &str,
    total: usize,
    lines: usize,
    matched: &[(Task, Task)],
    dir: &Path,
    sides: &[String; 2],
) -> (bool, String) {
    use crate::trace::check::{SiteCheck, check_sites};
    let pairs = || {
        matched
            .iter()
            .flat_map(|(a, b)| a.sites.iter().zip(&b.sites))
            .map(|(x, y)| check_sites(x.as_deref(), y.as_deref()))
    };
    let differs = |a: &Task, b: &Task| {
        a.sites
            .iter()
            .zip(&b.sites)
            .filter(|(x, y)| check_sites(x.as_deref(), y.as_deref()) == SiteCheck::Differ)
            .count()
    };
    let bad = pairs().filter(|c| *c == SiteCheck::Differ).count();
    let sites = pairs().filter(|c| *c == SiteCheck::Same).count();
    let not_checked = pairs().filter(|c| *c == SiteCheck::NotChecked).count();
    if bad == 0 && sites == 0 {
        // Line tables, but no call made from a frame they name: nothing
        // was checked, and the verdict must not read as if it had been.
        return (
            true,
            format!(
                "{label}: identical calls, {total} tasks, {lines} lines; call sites not checked: no call's frame in the programs' own code could be named ({not_checked} unnamed)\n"
            ),
        );
    }
    if bad == 0 {
        let rest = match not_checked {
            0 => String::new(),
            n => format!(
                " checked, {n} not checked: not mapped (merged calls, or addresses the line tables do not cover: see the .sites)"
            ),
        };
        return (
            true,
            format!("{label}: identical, {total} tasks, {lines} lines, {sites} call sites{rest}\n"),
        );
    }
    let mut out = format!(
        "{label}: DIFFERENT call sites: {bad} of {lines} calls made from functions of different names\n"
    );
    for (a, b) in matched.iter().filter(|(a, b)| differs(a, b) > 0) {
        let _ = writeln!(
            out,
            "--- {}  |  {}",
            dir.join(&sides[0])
                .join(format!("trace.{}.sites", a.pid))
                .display(),
            dir.join(&sides[1])
                .join(format!("trace.{}.sites", b.pid))
                .display()
        );
        let name = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
        for ((line, x), y) in a.lines.iter().zip(&a.sites).zip(&b.sites) {
            if check_sites(x.as_deref(), y.as_deref()) == SiteCheck::Differ {
                let _ = writeln!(out, "{line:<64} {:>14} | {}", name(x), name(y));
            }
        }
    }
    (false, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pairs_folders_are_named_after_its_executables() {
        let names = |a: &str, b: &str| side_names(Path::new(a), Path::new(b));
        assert_eq!(
            names("./server", "target/release/process_server"),
            ["server", "process_server"]
        );
        assert_eq!(
            names("target/c/process_server", "target/release/process_server"),
            ["A-process_server", "B-process_server"]
        );
        assert_eq!(names("a/server", "a/server"), ["A-server", "B-server"]);
        let job = Job::pair(
            crate::program("process").unwrap(),
            Path::new("x/s"),
            Path::new("t"),
        );
        assert!(job.pair);
        assert!(!Job::twins(crate::program("process").unwrap(), None).pair);
    }
}
