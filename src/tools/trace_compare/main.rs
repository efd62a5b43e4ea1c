//! `trace_compare`: runs each program and its C twin through the same
//! scripted session under `strace -ff`, normalises the traces, and compares
//! them task by task (process or thread), matched regardless of pid order.
//!
//! ```text
//! trace_compare [--dir DIR] [NAME...]
//! trace_compare [--dir DIR] NAME RUST_EXE C_EXE [SERVER_EXE]
//! ```
//! NAME is process_server, thread_server or client (all three by default);
//! programs come from target/release and target/c unless given. Prints one
//! verdict line per program and a side-by-side diff of each task that
//! differs; exits 1 on any difference, 2 when a session fails.

mod normalize;
mod session;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const NAMES: [&str; 3] = ["process_server", "thread_server", "client"];

/// One task's trace: its pid and its normalised lines.
struct Task {
    pid: u32,
    lines: Vec<String>,
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = PathBuf::from("target/compare");
    if args.first().is_some_and(|a| a == "--dir") && args.len() > 1 {
        dir = PathBuf::from(args.remove(1));
        args.remove(0);
    }
    if args.iter().any(|a| a.starts_with('-'))
        || (args.len() > 1 && !NAMES.contains(&args[1].as_str()) && args.len() < 3)
    {
        eprintln!(
            "usage: trace_compare [--dir DIR] [NAME...] | [--dir DIR] NAME RUST_EXE C_EXE [SERVER_EXE]"
        );
        return ExitCode::from(2);
    }
    let jobs: Vec<[PathBuf; 4]> = if args.len() >= 3 && !NAMES.contains(&args[1].as_str()) {
        let server = args
            .get(3)
            .map_or_else(|| release("process_server"), PathBuf::from);
        vec![[
            PathBuf::from(&args[0]),
            PathBuf::from(&args[1]),
            PathBuf::from(&args[2]),
            server,
        ]]
    } else {
        let names: Vec<&str> = if args.is_empty() {
            NAMES.to_vec()
        } else {
            args.iter().map(String::as_str).collect()
        };
        names
            .iter()
            .map(|n| {
                [
                    PathBuf::from(n),
                    release(n),
                    PathBuf::from("target/c").join(n),
                    release("process_server"),
                ]
            })
            .collect()
    };

    let mut status = ExitCode::SUCCESS;
    for [name, rust, c, server] in &jobs {
        let name = name.to_string_lossy();
        match compare(&name, rust, c, server, &dir.join(&*name)) {
            Ok(true) => {}
            Ok(false) => status = ExitCode::from(1),
            Err(e) => {
                println!("{name}: FAILED: {e}");
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
fn compare(name: &str, rust: &Path, c: &Path, server: &Path, dir: &Path) -> session::Result<bool> {
    let port = session::free_port();
    let _plain = if name == "client" {
        Some(session::Plain::start(server, port)?)
    } else {
        None
    };
    let mut runs = Vec::new();
    for (label, exe) in [("rust", rust), ("c", c)] {
        let d = dir.join(label);
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        match name {
            "client" => session::client(exe, port, &d)?,
            _ => session::server(exe, port, &d, name == "thread_server")?,
        };
        runs.push(load(&d, port)?);
    }
    let c_tasks = runs.pop().unwrap();
    let rust_tasks = runs.pop().unwrap();
    Ok(report(name, rust_tasks, c_tasks, dir))
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
