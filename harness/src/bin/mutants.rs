//! `mutants`: the mutation check behind `make mutants` (see `harness::mutants`).

use harness::mutants::{Fate, MUTANTS, mutate, try_mutant};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
usage: mutants [--list] [NAME...]

Applies each named mutation (all, with no NAME) to a scratch copy of the
work tree in target/mutants/, builds it, and runs the tests that must catch
it; prints killed or survived for each, and exits 1 if any survived, was
stale (its edit no longer matches the code) or did not build. --list prints
the mutants and the tests each names.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--list") {
        for m in MUTANTS {
            println!("{:<26} {}", m.name, m.breaks);
            for t in m.tests {
                println!("{:<26}   cargo test --release {}", "", t.join(" "));
            }
        }
        return ExitCode::SUCCESS;
    }
    for a in &args {
        if !MUTANTS.iter().any(|m| m.name == a) {
            let names: Vec<&str> = MUTANTS.iter().map(|m| m.name).collect();
            eprintln!(
                "mutants: no mutant {a:?}; the mutants: {}\n{USAGE}",
                names.join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let base = root.join("target/mutants");
    let target = base.join("target");
    let mut bad = 0;
    for m in MUTANTS
        .iter()
        .filter(|m| args.is_empty() || args.iter().any(|a| a == m.name))
    {
        let started = Instant::now();
        let dir = base.join(m.name);
        let log = base.join(format!("{}.log", m.name));
        let _ = std::fs::remove_file(&log);
        let fate = match mutate(&root, &dir, m) {
            Err(e) => {
                eprintln!("mutants: {e}");
                return ExitCode::from(2);
            }
            Ok(Err(stale)) => Fate::Stale(stale),
            Ok(Ok(())) => match try_mutant(&dir, &target, m, &log) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("mutants: {e}");
                    return ExitCode::from(2);
                }
            },
        };
        let secs = started.elapsed().as_secs();
        let verdict = match &fate {
            Fate::Killed => "killed".to_string(),
            Fate::Survived => "SURVIVED".to_string(),
            Fate::Stale(why) => format!("STALE: {why}"),
            Fate::Unbuilt(why) => format!("DID NOT BUILD: {why}"),
        };
        println!("{:<26} {verdict} ({secs} s)", m.name);
        if fate != Fate::Killed {
            bad += 1;
        }
    }
    if bad > 0 {
        println!("{bad} mutants not killed");
        return ExitCode::FAILURE;
    }
    println!("every mutant killed");
    ExitCode::SUCCESS
}
