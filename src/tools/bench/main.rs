//! `bench`: the numbers behind `make bench`. Each faithful server, Rust and C,
//! and the std reference server, measured in one run, runs alternating
//! (A B C A B C ...), medians reported, as a markdown table with Rust/C and
//! Rust/std ratios, also written to `target/bench/results.md` and `.csv`.
//!
//! ```text
//! bench [--seconds S] [--reps R] [--out DIR] [--rust-dir DIR] [--c-dir DIR]
//! ```

#[path = "../common.rs"]
mod common;
mod load;

use load::Result;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Connections counted for system calls, and for instructions (callgrind is slow).
const SYSCALL_CONNS: usize = 200;
const CALLGRIND_CONNS: usize = 50;
/// Idle clients held open to measure memory per connection.
const IDLE: usize = 100;

/// accept4 (std's accept) and recvfrom (std's read), as /proc/PID/syscall numbers them.
const SYS_ACCEPT4: i64 = 288;
const SYS_RECVFROM: i64 = 45;

#[derive(Clone, Copy, PartialEq)]
enum Model {
    Process,
    Thread,
}

/// A server measured: its model (none for std) and its program.
struct Server {
    model: Option<Model>,
    exe: PathBuf,
}

/// The servers, from the directories of the Rust programs and the C twins.
fn servers(rust: &Path, c: &Path) -> Vec<Server> {
    let s = |model, dir: &Path, name: &str| Server {
        model,
        exe: dir.join(name),
    };
    vec![
        s(Some(Model::Process), rust, "process_server"),
        s(Some(Model::Process), c, "process_server"),
        s(Some(Model::Thread), rust, "thread_server"),
        s(Some(Model::Thread), c, "thread_server"),
        s(None, rust, "std_server"),
    ]
}

/// A server running, perhaps under strace or valgrind, in its own process group.
struct Running {
    group: common::Group,
    pid: i32,
    port: u16,
}

impl Running {
    /// Starts `exe` on a free port behind `wrapper` (empty, or strace/valgrind
    /// and their options), its output discarded, and waits until it accepts.
    fn start(exe: &Path, wrapper: &[String]) -> Result<Running> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut cmd = match wrapper.split_first() {
            Some((tool, args)) => {
                let mut c = Command::new(tool);
                c.args(args).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.arg(port.to_string());
        let group = common::Group::spawn(cmd)?;
        let pid = if wrapper.first().is_some_and(|t| t == "strace") {
            common::child_running(group.id(), exe)?
        } else {
            group.id()
        };
        let running = Running { group, pid, port };
        // A first connection, stepped like those counted, says it is ready.
        let mut probe = None;
        common::wait_until("the server to listen", || {
            probe = std::net::TcpStream::connect(("127.0.0.1", port)).ok();
            probe.is_some()
        })?;
        running.steady()?;
        drop(probe);
        running.settle()?;
        Ok(running)
    }

    /// No worker left and the main thread back in accept.
    fn settle(&self) -> Result<()> {
        common::wait_until("the server to settle", || {
            common::workers(self.pid).is_empty()
                && matches!(
                    common::syscall(self.pid, self.pid),
                    Some(common::SYS_ACCEPT | SYS_ACCEPT4)
                )
        })
    }

    /// Its one worker blocked reading and the main thread in accept: a
    /// connection closed then ends the same way every time (a child that
    /// exited before its parent was back in accept would skip a call).
    fn steady(&self) -> Result<()> {
        common::wait_until(
            "the worker blocked reading, the main thread in accept",
            || {
                let w = common::workers(self.pid);
                w.len() == 1
                    && w.iter().all(|&(p, t)| {
                        matches!(common::syscall(p, t), Some(common::SYS_READ | SYS_RECVFROM))
                    })
                    && matches!(
                        common::syscall(self.pid, self.pid),
                        Some(common::SYS_ACCEPT | SYS_ACCEPT4)
                    )
            },
        )
    }

    /// SIGTERM, and a wait for it (and its wrapper) to finish writing.
    fn stop(mut self) -> Result<()> {
        // SAFETY: kill(2) takes no pointers.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        common::wait_until("the server to exit", || self.group.exited())
    }
}

/// Median of the values (the middle one, or the mean of the middle two).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// One row of results: a measure, each server's value, and for repeated
/// runs each server's spread, (max - min) / median.
struct Row {
    measure: String,
    values: Vec<f64>,
    spread: Option<Vec<f64>>,
}

/// (max - min) / median of a server's runs.
fn spread(v: &[f64]) -> f64 {
    let (lo, hi) = v
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    (hi - lo) / median(v.to_vec())
}

/// Runs `run` on every server, `reps` times, servers alternating; the median
/// of each server's values, for each of the figures `run` returns.
fn alternate(
    servers: &[Server],
    reps: usize,
    names: &[&str],
    run: impl Fn(&Running) -> Result<Vec<f64>>,
) -> Result<Vec<Row>> {
    let mut samples = vec![vec![Vec::new(); servers.len()]; names.len()];
    for _ in 0..reps {
        for (i, s) in servers.iter().enumerate() {
            let server = Running::start(&s.exe, &[])?;
            let figures = run(&server)?;
            server.stop()?;
            for (k, f) in figures.into_iter().enumerate() {
                samples[k][i].push(f);
            }
        }
    }
    Ok(names
        .iter()
        .zip(samples)
        .map(|(n, per_server)| Row {
            measure: n.to_string(),
            spread: Some(per_server.iter().map(|v| spread(v)).collect()),
            values: per_server.into_iter().map(median).collect(),
        })
        .collect())
}

/// difference between `conns` connections and none, divided by `conns`.
fn per_connection(
    s: &Server,
    conns: usize,
    wrapper: impl Fn(&Path) -> Vec<String>,
    count: impl Fn(&Path) -> Result<f64>,
) -> Result<f64> {
    let mut totals = Vec::new();
    for (i, n) in [0, conns].into_iter().enumerate() {
        let dir = std::env::temp_dir().join(format!("concserv-bench-{}-{i}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let server = Running::start(&s.exe, &wrapper(&dir))?;
        for id in 0..n {
            load::connection(server.port, id, || server.steady())?;
            server.settle()?;
        }
        server.stop()?;
        totals.push(count(&dir)?);
        let _ = fs::remove_dir_all(&dir);
    }
    Ok((totals[1] - totals[0]) / conns as f64)
}

/// System calls, all tasks together, from `strace -f -c`'s total line.
fn syscalls(s: &Server) -> Result<f64> {
    let wrapper = |dir: &Path| {
        let out = dir.join("strace.txt").display().to_string();
        ["strace", "-f", "-c", "-o", &out]
            .map(String::from)
            .to_vec()
    };
    let count = |dir: &Path| -> Result<f64> {
        let text = fs::read_to_string(dir.join("strace.txt")).map_err(|e| e.to_string())?;
        let total = text
            .lines()
            .find(|l| l.trim_end().ends_with("total"))
            .ok_or("no strace total")?;
        total
            .split_whitespace()
            .nth(3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("bad total: {total}"))
    };
    per_connection(s, SYSCALL_CONNS, wrapper, count)
}

/// Instructions, all processes together, from callgrind's totals. A forked
/// child inherits its parent's counts: zeroed where the child's own work
/// starts, or the parent's start-up would be counted once per connection.
fn instructions(s: &Server) -> Result<f64> {
    let wrapper = |dir: &Path| {
        let out = format!("--callgrind-out-file={}/cg.%p", dir.display());
        let mut w: Vec<String> = ["valgrind", "--tool=callgrind", "--log-file=/dev/null", &out]
            .map(String::from)
            .to_vec();
        if s.model == Some(Model::Process) {
            w.push("--zero-before=*echo_upper*".into());
        }
        w
    };
    let count = |dir: &Path| -> Result<f64> {
        let mut sum = 0.0;
        for e in fs::read_dir(dir).map_err(|e| e.to_string())? {
            let text = fs::read_to_string(e.map_err(|e| e.to_string())?.path())
                .map_err(|e| e.to_string())?;
            let totals = text
                .lines()
                .find_map(|l| l.strip_prefix("totals: "))
                .ok_or("no callgrind totals")?;
            sum += totals.trim().parse::<f64>().map_err(|e| e.to_string())?;
        }
        Ok(sum)
    };
    per_connection(s, CALLGRIND_CONNS, wrapper, count)
}

/// kB per connection with IDLE clients connected: the PSS of each child of a
/// process server, or the RSS a thread server grows by per thread.
fn memory(s: &Server) -> Result<f64> {
    let server = Running::start(&s.exe, &[])?;
    let before = common::kb(server.pid, "status", "VmRSS").ok_or("no VmRSS")?;
    let mut conns = Vec::new();
    for id in 0..IDLE {
        let mut c =
            std::net::TcpStream::connect(("127.0.0.1", server.port)).map_err(|e| e.to_string())?;
        let (msg, _) = (format!("idle {id:>10}\n"), ());
        std::io::Write::write_all(&mut c, msg.as_bytes()).map_err(|e| e.to_string())?;
        let mut got = vec![0u8; msg.len()];
        std::io::Read::read_exact(&mut c, &mut got).map_err(|e| e.to_string())?;
        conns.push(c);
    }
    common::wait_until("a worker per idle client", || {
        common::workers(server.pid).len() == IDLE
    })?;
    let kb = if s.model == Some(Model::Process) {
        let pss: Vec<u64> = common::children(server.pid)
            .iter()
            .filter_map(|&c| common::kb(c, "smaps_rollup", "Pss"))
            .collect();
        pss.iter().sum::<u64>() as f64 / pss.len().max(1) as f64
    } else {
        let after = common::kb(server.pid, "status", "VmRSS").ok_or("no VmRSS")?;
        (after as f64 - before as f64) / IDLE as f64
    };
    drop(conns);
    server.stop()?;
    Ok(kb)
}

/// The program's size in bytes, as built and stripped.
fn sizes(s: &Server) -> Result<(f64, f64)> {
    let built = fs::metadata(&s.exe).map_err(|e| e.to_string())?.len();
    let tmp = std::env::temp_dir().join(format!("concserv-strip-{}", std::process::id()));
    let ok = Command::new("strip")
        .arg("-o")
        .arg(&tmp)
        .arg(&s.exe)
        .status()
        .is_ok_and(|st| st.success());
    let stripped = if ok {
        fs::metadata(&tmp).map_err(|e| e.to_string())?.len()
    } else {
        0
    };
    let _ = fs::remove_file(&tmp);
    Ok((built as f64, stripped as f64))
}

/// What to measure, and where.
struct Options {
    secs: f64,
    reps: usize,
    out: PathBuf,
    rust: PathBuf,
    c: PathBuf,
}

fn main() -> ExitCode {
    let mut o = Options {
        secs: 2.0,
        reps: 5,
        out: PathBuf::from("target/bench"),
        rust: PathBuf::from("target/release"),
        c: PathBuf::from("target/c"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        match (pair[0].as_str(), pair.get(1)) {
            ("--seconds", Some(v)) if v.parse::<f64>().is_ok_and(|s| s > 0.0) => {
                o.secs = v.parse().unwrap()
            }
            ("--reps", Some(v)) if v.parse::<usize>().is_ok_and(|r| r > 0) => {
                o.reps = v.parse().unwrap()
            }
            ("--out", Some(v)) => o.out = PathBuf::from(v),
            ("--rust-dir", Some(v)) => o.rust = PathBuf::from(v),
            ("--c-dir", Some(v)) => o.c = PathBuf::from(v),
            _ => {
                eprintln!(
                    "usage: bench [--seconds S] [--reps R] [--out DIR] [--rust-dir DIR] [--c-dir DIR]"
                );
                return ExitCode::from(2);
            }
        }
    }
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(o: &Options) -> Result<()> {
    let (secs, reps, out) = (o.secs, o.reps, &o.out);
    let started = Instant::now();
    let servers = servers(&o.rust, &o.c);
    for s in &servers {
        if !s.exe.exists() {
            return Err(format!("{} is missing: run make build", s.exe.display()));
        }
    }
    let mut rows = Vec::new();
    eprintln!("bench: throughput, {reps} alternating runs of {secs} s per server and figure...");
    rows.extend(alternate(
        &servers,
        reps,
        &["connections/s, 1 client"],
        |r| Ok(vec![load::connection_rate(r.port, 1, secs)?]),
    )?);
    rows.extend(alternate(
        &servers,
        reps,
        &["connections/s, 8 clients"],
        |r| Ok(vec![load::connection_rate(r.port, 8, secs)?]),
    )?);
    for clients in [1, 16, 256] {
        let names = [
            format!("round trips/s, {clients} clients"),
            format!("p50 latency (µs), {clients} clients"),
            format!("p99 latency (µs), {clients} clients"),
        ];
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        rows.extend(alternate(&servers, reps, &names, |r| {
            let rt = load::round_trips(r.port, clients, secs)?;
            Ok(vec![rt.per_sec, rt.p50_us, rt.p99_us])
        })?);
    }
    eprintln!("bench: system calls (strace -c), instructions (callgrind), memory, sizes...");
    let mut per = |measure: &str, f: &dyn Fn(&Server) -> Result<f64>| -> Result<()> {
        let values = servers.iter().map(f).collect::<Result<Vec<_>>>()?;
        rows.push(Row {
            measure: measure.to_string(),
            values,
            spread: None,
        });
        Ok(())
    };
    per("system calls per connection", &syscalls)?;
    per("instructions per connection", &instructions)?;
    per("memory per connection (kB)", &memory)?;
    per("binary size (bytes)", &|s| sizes(s).map(|(b, _)| b))?;
    per("binary size, stripped (bytes)", &|s| {
        sizes(s).map(|(_, st)| st)
    })?;

    let (md, csv) = render(&rows, secs, reps, started.elapsed().as_secs_f64());
    print!("{md}");
    fs::create_dir_all(out).map_err(|e| e.to_string())?;
    fs::write(out.join("results.md"), &md).map_err(|e| e.to_string())?;
    fs::write(out.join("results.csv"), &csv).map_err(|e| e.to_string())?;
    eprintln!(
        "bench: written to {}/results.md and results.csv",
        out.display()
    );
    Ok(())
}

fn fmt(v: f64) -> String {
    if v == 0.0 {
        "-".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The markdown table and the CSV: a row per measure and model.
fn render(rows: &[Row], secs: f64, reps: usize, took: f64) -> (String, String) {
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Machine: {cores} cores ({cpu}), Linux {}; {reps} alternating runs of {secs} s per throughput figure, medians; took {took:.0} s.\n",
        kernel.trim()
    );
    md.push_str("| measure | model | Rust | C | std | Rust/C | Rust/std | C run to run |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    let mut csv = String::from("measure,model,rust,c,std,rust_c,rust_std,c_spread\n");
    for row in rows {
        let v = &row.values;
        for (model, rust, c, ci) in [("process", v[0], v[1], 1), ("thread", v[2], v[3], 3)] {
            let std = v[4];
            let ratio = |a: f64, b: f64| {
                if a > 0.0 && b > 0.0 {
                    format!("{:.3}", a / b)
                } else {
                    "-".into()
                }
            };
            let c_spread = row
                .spread
                .as_ref()
                .map_or(String::from("-"), |sp| format!("±{:.0}%", sp[ci] * 50.0));
            let _ = writeln!(
                md,
                "| {} | {model} | {} | {} | {} | {} | {} | {c_spread} |",
                row.measure,
                fmt(rust),
                fmt(c),
                fmt(std),
                ratio(rust, c),
                ratio(rust, std)
            );
            let csv_spread = row
                .spread
                .as_ref()
                .map_or(String::new(), |sp| format!("{:.3}", sp[ci]));
            let _ = writeln!(
                csv,
                "\"{}\",{model},{rust},{c},{std},{},{},{csv_spread}",
                row.measure,
                ratio(rust, c),
                ratio(rust, std)
            );
        }
    }
    md.push_str("\nMemory per connection: PSS of each child for the process servers, RSS growth per thread for the thread servers and std (with 100 idle clients). Latencies and system calls, instructions, memory, size: lower is better. C run to run: half the range of the C twin's runs over their median, the noise a ratio sits in.\n");
    (md, csv)
}
