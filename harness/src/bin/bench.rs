//! `bench`: the numbers behind `make bench` (see `harness::tools::bench`).

use harness::tools::bench::{Options, run};
use lexopt::prelude::*;
use std::process::ExitCode;

const USAGE: &str = "\
usage: bench [--full] [--seconds S] [--reps R] [--conns N,N...] [--active K]
             [--out DIR] [--rust-dir DIR] [--c-dir DIR] [SERVER...]

Measures each server of the table (or those named), Rust and C, and the
reference servers (std, tokio on the current-thread and the multi-thread
runtime) in one run, runs alternating: with N connections open, K of them
making round trips (round trips per second, p50 and p99 latency, server CPU
time per round trip, memory per idle connection); memory at start;
connections per second; system calls and instructions per connection and
per round trip, and system calls per round trip with 10 clients at once.
Prints a summary (100 columns) and the goals; writes the
whole table to DIR/results.md and results.csv, and a chart per figure,
DIR/FIGURE.svg. Progress goes to stderr.

  --full          the full curves: N = 1,10,100,1000,10000, 5 runs of 2 s
                  (the options after it override its choices)
  --seconds S     the length of each timed run (1)
  --reps R        alternating runs per timed figure (3)
  --conns N,N...  the connections open, the curves' points (10,1000)
  --active K      how many of them make round trips (10; all, when fewer)
  --out DIR       where the results go (target/bench)
  --rust-dir DIR  the Rust programs and reference servers (beside this tool)
  --c-dir DIR     the C twins (where the build put them)";

fn parse() -> Result<Options, lexopt::Error> {
    let mut o = Options::default();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            // First, so that the options after it change what it sets.
            Long("full") => o.full(),
            Long("conns") => {
                let list: String = parser.value()?.parse()?;
                o.conns = list
                    .split(',')
                    .map(|n| n.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| "--conns takes positive numbers, N,N...")?;
                if o.conns.is_empty() || o.conns.contains(&0) {
                    return Err("--conns takes positive numbers, N,N...".into());
                }
                o.conns.sort_unstable();
                o.conns.dedup();
            }
            Long("active") => {
                o.active = parser.value()?.parse()?;
                if o.active == 0 {
                    return Err("--active takes a positive number".into());
                }
            }
            Long("seconds") => {
                o.secs = parser.value()?.parse()?;
                if o.secs <= 0.0 || !o.secs.is_finite() {
                    return Err("--seconds takes a positive number".into());
                }
            }
            Long("reps") => {
                o.reps = parser.value()?.parse()?;
                if o.reps == 0 {
                    return Err("--reps takes a positive number".into());
                }
            }
            Long("out") => o.out = parser.value()?.into(),
            Long("rust-dir") => o.rust = parser.value()?.into(),
            Long("c-dir") => o.c = parser.value()?.into(),
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Value(v) => o.only.push(v.parse()?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
