//! `bench`: the numbers behind `make bench` (see `harness::bench`).

use harness::bench::{Options, run};
use lexopt::prelude::*;
use std::process::ExitCode;

const USAGE: &str = "\
usage: bench [--seconds S] [--reps R] [--out DIR] [--rust-dir DIR] [--c-dir DIR] [SERVER...]

Measures each server of the table (or those named), Rust and C, and the std
reference server, in one run, runs alternating; prints the table, and writes
it to DIR/results.md and results.csv.

  --seconds S     the length of each throughput run (2)
  --reps R        alternating runs per throughput figure (5)
  --out DIR       where the results go (target/bench)
  --rust-dir DIR  the Rust programs (beside this tool)
  --c-dir DIR     the C twins (where the build put them)";

fn parse() -> Result<Options, lexopt::Error> {
    let mut o = Options::default();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
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
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
