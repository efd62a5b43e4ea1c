//! `mutants`: the mutation check behind `make mutants` (see `harness::tools::mutants`).

use harness::tools::mutants::catalogue::{self, Mutant};
use harness::tools::mutants::runner::{Fate, Snapshot, baseline, mutate, try_mutant};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
usage: mutants [--list] [NAME...]

First runs the tests the chosen mutants name on an unmutated scratch copy
of the work tree (target/mutants/tree/): each must pass and run at least
one test, or nothing could be killed. Then applies each named mutation
(all, with no NAME) to that copy, builds it, and runs the tests that must
catch it; prints killed or survived for each, and exits 1 if any survived,
was stale (its edit no longer matches the code, or its tests ran none) or
did not build. --list prints the mutants and the tests each names.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--list") {
        for m in catalogue::all() {
            println!("{:<26} {}", m.name, m.breaks);
            for t in m.tests {
                println!("{:<26}   cargo test --release {}", "", t.join(" "));
            }
        }
        return ExitCode::SUCCESS;
    }
    for a in &args {
        if !catalogue::all().any(|m| m.name == a) {
            let names: Vec<&str> = catalogue::all().map(|m| m.name).collect();
            eprintln!(
                "mutants: no mutant {a:?}; the mutants: {}\n{USAGE}",
                names.join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let base = root.join("target/mutants");
    let (dir, target) = (base.join("tree"), base.join("target"));
    let chosen: Vec<&Mutant> = catalogue::all()
        .filter(|m| args.is_empty() || args.iter().any(|a| a == m.name))
        .collect();
    let mut tests: Vec<&[&str]> = chosen
        .iter()
        .flat_map(|m| m.tests.iter().copied())
        .collect();
    tests.sort_unstable();
    tests.dedup();
    let started = Instant::now();
    let log = base.join("baseline.log");
    let _ = std::fs::create_dir_all(&base);
    let _ = std::fs::remove_file(&log);
    let tree = match Snapshot::take(&root) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mutants: {e}");
            return ExitCode::from(2);
        }
    };
    let unmutated = match mutate(&tree, &dir, None) {
        Ok(Ok(())) => baseline(&dir, &target, &tests, &log),
        Ok(Err(e)) | Err(e) => Err(e),
    };
    if let Err(e) = unmutated {
        eprintln!("mutants: unmutated: {e}");
        return ExitCode::from(2);
    }
    println!(
        "{:<26} {} test runs pass ({} s)",
        "(unmutated)",
        tests.len(),
        started.elapsed().as_secs()
    );
    let mut bad = 0;
    for m in chosen {
        let started = Instant::now();
        let log = base.join(format!("{}.log", m.name));
        let _ = std::fs::remove_file(&log);
        let fate = match mutate(&tree, &dir, Some(m)) {
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
