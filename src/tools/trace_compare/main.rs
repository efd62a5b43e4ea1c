//! `trace_compare`: runs each program and its C twin through the same
//! scripted session under `strace -ff`, normalises the traces, and compares
//! them task by task (process or thread), matched regardless of pid order.
//!
//! ```text
//! trace_compare [--dir DIR] [--fault FAULT] [NAME...]
//! trace_compare [--dir DIR] [--fault FAULT] NAME RUST_EXE C_EXE [SERVER_EXE]
//! ```
//! NAME is process_server, thread_server or client; programs come from
//! target/release and target/c unless given. With neither NAME nor --fault:
//! all three programs, then both servers under every fault. A FAULT (see
//! `session::FAULTS`) is injected with strace into a server's session.
//! Prints one verdict line per comparison and a side-by-side diff of each
//! task that differs; exits 1 on any difference, 2 when a session fails.

#[path = "../common.rs"]
mod common;
mod normalize;
mod session;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const NAMES: [&str; 3] = ["process_server", "thread_server", "client"];
const SERVERS: [&str; 2] = ["process_server", "thread_server"];

/// One task's trace: its pid and its normalised lines.
struct Task {
    pid: u32,
    lines: Vec<String>,
}

/// One comparison: a program, the fault injected if any, and the executables.
struct Job {
    name: String,
    fault: Option<&'static str>,
    rust: PathBuf,
    c: PathBuf,
    server: PathBuf,
}

impl Job {
    fn new(name: &str, fault: Option<&'static str>) -> Job {
        Job {
            name: name.to_string(),
            fault,
            rust: release(name),
            c: PathBuf::from("target/c").join(name),
            server: release("process_server"),
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: trace_compare [--dir DIR] [--fault FAULT] [NAME...]");
    eprintln!("       trace_compare [--dir DIR] [--fault FAULT] NAME RUST_EXE C_EXE [SERVER_EXE]");
    eprintln!(
        "NAME: {}; FAULT: {}",
        NAMES.join(", "),
        session::FAULTS.join(", ")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = PathBuf::from("target/compare");
    let mut fault = None;
    while args.len() >= 2 && args[0].starts_with("--") {
        let value = args.remove(1);
        match args.remove(0).as_str() {
            "--dir" => dir = PathBuf::from(value),
            "--fault" => match session::FAULTS.iter().find(|f| **f == value) {
                Some(f) => fault = Some(*f),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let explicit = args.len() >= 3 && !NAMES.contains(&args[1].as_str());
    if args.iter().any(|a| a.starts_with('-'))
        || (!explicit && args.iter().any(|a| !NAMES.contains(&a.as_str())))
        || (fault.is_some() && args.first().is_some_and(|a| a == "client"))
    {
        return usage();
    }
    let jobs: Vec<Job> = if explicit {
        let mut job = Job::new(&args[0], fault);
        job.rust = PathBuf::from(&args[1]);
        job.c = PathBuf::from(&args[2]);
        if let Some(server) = args.get(3) {
            job.server = PathBuf::from(server);
        }
        vec![job]
    } else if !args.is_empty() {
        args.iter().map(|n| Job::new(n, fault)).collect()
    } else if let Some(f) = fault {
        SERVERS.iter().map(|n| Job::new(n, Some(f))).collect()
    } else {
        let plain = NAMES.iter().map(|n| Job::new(n, None));
        let faulty = session::FAULTS
            .iter()
            .flat_map(|f| SERVERS.iter().map(|n| Job::new(n, Some(f))));
        plain.chain(faulty).collect()
    };

    let mut status = ExitCode::SUCCESS;
    for job in &jobs {
        let label = match job.fault {
            Some(f) => format!("{} under {f}", job.name),
            None => job.name.clone(),
        };
        let sub = dir.join(&job.name).join(job.fault.unwrap_or("plain"));
        match compare(job, &label, &sub) {
            Ok(true) => {}
            Ok(false) => status = ExitCode::from(1),
            Err(e) => {
                println!("{label}: FAILED: {e}");
                return ExitCode::from(2);
            }
        }
    }
    status
}

fn release(name: &str) -> PathBuf {
    PathBuf::from("target/release").join(name)
}

/// Runs both twins, compares, prints the verdict; true when identical.
fn compare(job: &Job, label: &str, dir: &Path) -> session::Result<bool> {
    let port = session::free_port();
    let _plain = if job.name == "client" {
        Some(session::plain_server(&job.server, port)?)
    } else {
        None
    };
    let mut runs = Vec::new();
    for (twin, exe) in [("rust", &job.rust), ("c", &job.c)] {
        let d = dir.join(twin);
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        match job.name.as_str() {
            "client" => session::client(exe, port, &d)?,
            name => session::server(exe, port, &d, name == "thread_server", job.fault)?,
        };
        runs.push(load(&d, port)?);
    }
    let c_tasks = runs.pop().unwrap();
    let rust_tasks = runs.pop().unwrap();
    Ok(report(label, rust_tasks, c_tasks, dir))
}

/// Reads and normalises every `trace.PID` file in `dir`, writing each
/// normalised task beside it as `trace.PID.norm`.
fn load(dir: &Path, keep_port: u16) -> session::Result<Vec<Task>> {
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
    let mut run = normalize::Run {
        keep_port,
        ..Default::default()
    };
    run.scan(raw.iter().flat_map(|(_, text)| text.lines()));
    raw.sort();
    let mut tasks = Vec::new();
    for (pid, text) in raw {
        let lines = normalize::task(&text, &run);
        fs::write(
            dir.join(format!("trace.{pid}.norm")),
            lines.join("\n") + "\n",
        )
        .map_err(|e| e.to_string())?;
        tasks.push(Task { pid, lines });
    }
    Ok(tasks)
}

/// Matches each Rust task with an identical C task; prints the verdict and a
/// side-by-side diff of what is left unmatched, paired in pid order.
fn report(name: &str, rust: Vec<Task>, mut c: Vec<Task>, dir: &Path) -> bool {
    let total = rust.len();
    let lines: usize = rust.iter().map(|t| t.lines.len()).sum();
    let mut unmatched = Vec::new();
    for task in rust {
        match c.iter().position(|o| o.lines == task.lines) {
            Some(i) => drop(c.remove(i)),
            None => unmatched.push(task),
        }
    }
    if unmatched.is_empty() && c.is_empty() {
        println!("{name}: identical, {total} tasks, {lines} lines");
        return true;
    }
    println!(
        "{name}: DIFFERENT: {} of {total} Rust tasks have no identical C task ({} C tasks left over)",
        unmatched.len(),
        c.len()
    );
    for i in 0..unmatched.len().max(c.len()) {
        let left = unmatched
            .get(i)
            .map(|t| dir.join(format!("rust/trace.{}.norm", t.pid)));
        let right = c
            .get(i)
            .map(|t| dir.join(format!("c/trace.{}.norm", t.pid)));
        let none = PathBuf::from("/dev/null");
        let (l, r) = (left.unwrap_or_else(|| none.clone()), right.unwrap_or(none));
        println!("--- {}  |  {}", l.display(), r.display());
        let out = Command::new("diff")
            .args(["--side-by-side", "--width=200", "--left-column"])
            .arg(&l)
            .arg(&r)
            .output();
        match out {
            Ok(o) => print!("{}", String::from_utf8_lossy(&o.stdout)),
            Err(e) => println!("(cannot run diff: {e})"),
        }
    }
    false
}
