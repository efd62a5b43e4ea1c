//! `trace_compare`: runs each program and its C twin through the same
//! scripted session under `strace -ff` and compares the traces, task by
//! task; or any two executables, through the session of a program's model.

use harness::tools::compare::{self, Job};
use harness::trace::faults::{FAULTS, inject};
use harness::{Result, program};
use lexopt::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: trace_compare [--dir DIR] [--fault FAULT] [NAME...]
       trace_compare [--dir DIR] --model NAME [--port N] [--server EXE] A B

Runs each program NAME (all of them by default) and its C twin through the
same scripted session under strace -ff, normalises the traces, and compares
them task by task; with no NAME and no --fault, then every server under every
fault that applies to it. With --model, compares any two executables A and B
through the session of program NAME (its model), without faults; with --port,
A and B get no argument and must listen on port N by themselves (or, for the
client, talk to a server on 127.0.0.1:N): classic programs with a fixed port.
Every program runs with address-space randomisation off (as setarch -R), so
that what a trace prints of memory is the same every run. Prints a line that
says so, then one verdict line per comparison and, where they differ, each
difference side by side, task by task, with a note for those it knows; exit
status 0 when all are identical, 1 when one differs, 2 when a session fails.

  --dir DIR       where the traces go (target/compare): DIR/NAME/{plain,FAULT}/{rust,c}/;
                  a pair's in DIR/pair-NAME/plain/, a folder named after each of A and B
  --fault FAULT   inject FAULT with strace into the servers' sessions
  --model NAME    compare A and B as program NAME
  --port N        A and B use port N by themselves: start them with no argument
  --server EXE    the server the client's session talks to (the Rust process_server)";

struct Args {
    dir: PathBuf,
    fault: Option<&'static str>,
    model: Option<String>,
    port: Option<u16>,
    server: Option<PathBuf>,
    names: Vec<String>,
}

fn parse() -> std::result::Result<Args, lexopt::Error> {
    let mut a = Args {
        dir: PathBuf::from("target/compare"),
        fault: None,
        model: None,
        port: None,
        server: None,
        names: Vec::new(),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("dir") => a.dir = parser.value()?.into(),
            Long("fault") => {
                let f: String = parser.value()?.parse()?;
                a.fault = Some(FAULTS.iter().find(|x| **x == f).ok_or_else(|| {
                    format!("unknown fault {f}; the faults: {}", FAULTS.join(", "))
                })?);
            }
            Long("model") => a.model = Some(parser.value()?.parse()?),
            Long("port") => {
                let n: u16 = parser.value()?.parse()?;
                if n == 0 {
                    return Err("--port takes a port from 1 to 65535".into());
                }
                a.port = Some(n);
            }
            Long("server") => a.server = Some(parser.value()?.into()),
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Value(v) => a.names.push(v.parse()?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(a)
}

fn jobs(a: &Args) -> Result<Vec<Job>> {
    if a.port.is_some() && a.model.is_none() {
        return Err("--port is for a pair: --model NAME --port N A B".into());
    }
    if let Some(model) = &a.model {
        let [first, second] = &a.names[..] else {
            return Err("--model takes two executables, A and B".into());
        };
        if a.fault.is_some() {
            return Err(
                "a pair runs the plain session: --fault is for a program and its twin".into(),
            );
        }
        for exe in [first, second] {
            if !PathBuf::from(exe).is_file() {
                return Err(format!("{exe}: no such executable"));
            }
        }
        let mut job = Job::pair(program(model)?, first.as_ref(), second.as_ref());
        job.port = a.port;
        if let Some(s) = &a.server {
            job.server = s.clone();
        }
        return Ok(vec![job]);
    }
    if a.names.is_empty() && a.fault.is_none() {
        return Ok(compare::all_jobs());
    }
    let programs: Vec<_> = if let (true, Some(f)) = (a.names.is_empty(), a.fault) {
        harness::servers()
            .filter(|p| inject(f, p.model().unwrap()).is_some())
            .collect()
    } else {
        a.names.iter().map(|n| program(n)).collect::<Result<_>>()?
    };
    programs
        .into_iter()
        .map(|p| {
            let mut job = Job::twins(p, a.fault);
            if let Some(s) = &a.server {
                job.server = s.clone();
            }
            Ok(job)
        })
        .collect()
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("trace_compare: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let jobs = match jobs(&args) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("trace_compare: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!("{}", compare::HEADER);
    let mut status = ExitCode::SUCCESS;
    for job in &jobs {
        let top = if args.model.is_some() {
            format!("pair-{}", job.program.name)
        } else {
            job.program.name.to_string()
        };
        let dir = args.dir.join(top).join(job.fault.unwrap_or("plain"));
        match compare::run(job, &dir) {
            Ok(outcome) => {
                print!("{}", outcome.report);
                if !outcome.identical {
                    status = ExitCode::from(1);
                }
            }
            Err(e) => {
                println!("{}: FAILED: {e}", job.label());
                return ExitCode::from(2);
            }
        }
    }
    status
}
