//! `make bench`: each server of the table, Rust and C, and the std
//! reference server, measured in one run: runs alternate between the
//! servers, medians are reported with each C twin's run-to-run spread, as a
//! markdown table with Rust/C and Rust/std ratios, also written to
//! `results.md` and `results.csv`.

pub mod lifecycle;
pub mod load;
pub mod measure;
pub mod report;

use crate::{Model, Result, Twin, Worker};
use lifecycle::Bench;
use report::{Results, Side};
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

/// What to measure, and where.
pub struct Options {
    /// The length of each throughput run, in seconds.
    pub secs: f64,
    /// Alternating runs per throughput figure.
    pub reps: usize,
    pub out: PathBuf,
    pub rust: PathBuf,
    pub c: PathBuf,
    /// The servers (short names); all of the table's when empty.
    pub only: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            secs: 2.0,
            reps: 5,
            out: PathBuf::from("target/bench"),
            rust: crate::rust_dir(),
            c: crate::c_dir(),
            only: Vec::new(),
        }
    }
}

/// The std reference server's model: a thread per connection.
pub const STD_MODEL: Model = Model {
    main_idle_in: crate::Call::Accept,
    worker: Worker::Thread,
    spawn: Some("clone3"),
    pool: None,
    leaves_zombies: false,
};

/// The most clients a model serves at once, if it has a limit.
pub fn max_clients(model: &Model) -> Option<usize> {
    match model.worker {
        Worker::Main => Some(1),
        _ => None,
    }
}

/// Runs the benchmark; returns the markdown table.
pub fn run(o: &Options) -> Result<String> {
    let started = Instant::now();
    let bench = Bench::new(o)?;
    let mut results = Results::default();
    let clients_rates = [1, 8];
    let clients_rt = [1, 16, 256];
    eprintln!(
        "bench: throughput, {} alternating runs of {} s per server and figure...",
        o.reps, o.secs
    );
    for clients in clients_rates {
        let measure = format!("connections/s, {clients} clients");
        bench.alternate(o, clients, &mut results, &[&measure], |port| {
            Ok(vec![load::connection_rate(port, clients, o.secs)?])
        })?;
    }
    for clients in clients_rt {
        let names = [
            format!("round trips/s, {clients} clients"),
            format!("p50 latency (µs), {clients} clients"),
            format!("p99 latency (µs), {clients} clients"),
        ];
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        bench.alternate(o, clients, &mut results, &names, |port| {
            let rt = load::round_trips(port, clients, o.secs)?;
            Ok(vec![rt.per_sec, rt.p50_us, rt.p99_us])
        })?;
    }
    eprintln!("bench: system calls (strace -c), instructions (callgrind), memory, sizes...");
    for s in &bench.servers {
        let one =
            |results: &mut Results, measure: &str, v: f64| results.add(measure, s.short, s.side, v);
        one(
            &mut results,
            "system calls per connection",
            measure::syscalls(s)?,
        );
        one(
            &mut results,
            "instructions per connection",
            measure::instructions(s)?,
        );
        one(
            &mut results,
            "memory per connection (kB)",
            measure::memory(s)?,
        );
        let (built, stripped) = measure::sizes(s)?;
        one(&mut results, "binary size (bytes)", built);
        one(&mut results, "binary size, stripped (bytes)", stripped);
    }
    let models: Vec<&str> = bench
        .servers
        .iter()
        .filter(|s| s.side == Side::Rust)
        .map(|s| s.short)
        .collect();
    let (md, csv) = report::render(&results, &models, o, started.elapsed().as_secs_f64());
    fs::create_dir_all(&o.out).map_err(|e| e.to_string())?;
    fs::write(o.out.join("results.md"), &md).map_err(|e| e.to_string())?;
    fs::write(o.out.join("results.csv"), &csv).map_err(|e| e.to_string())?;
    eprintln!(
        "bench: written to {}/results.md and results.csv",
        o.out.display()
    );
    Ok(md)
}

/// Which twin a side is, for the program's executables.
pub fn twin(side: Side) -> Option<Twin> {
    match side {
        Side::Rust => Some(Twin::Rust),
        Side::C => Some(Twin::C),
        Side::Std => None,
    }
}
