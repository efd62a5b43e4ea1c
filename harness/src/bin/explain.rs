//! `explain`: every system call of a program and its C twin, beside the C
//! line and the Rust line that made it (behind `make explain-NAME`).

use harness::program;
use harness::tools::explain::text::View;
use harness::tools::explain::{self, Which, html, text};
use lexopt::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: explain [--dir DIR] [--task PID|INDEX | --all] [--loader] [--width N] NAME

Runs program NAME (process, thread, client, ...: see make help) and its C
twin through the scripted session of its model under strace -f -k, maps
each call's stack to the program's own source lines (inlined functions
included), and prints one row per call: the C line that made it, the call,
the Rust line that made it. Rows pair the twins' calls in order, task by
task, tasks matched as trace_compare matches them. Calls no line of the
program made (the loader, libc on its own) are grouped and marked. Also
writes DIR/NAME.html: both sources beside the trace; choosing a call
highlights the line that made it on each side. For a program with an
io_uring (uring), it then lists the operations each twin queued in its
ring, which strace does not see, beside the C and Rust lines that queued
them.

By default it prints the main task and the first task it started (a child
or a thread, where the model has them), each from its first call of the
program's own, the loader's and libc's start-up folded into one line, in
lines as wide as the terminal: COLUMNS, else the terminal's width, else 100
(the page keeps every call whole). Exit status 0 when every task has
an identical twin and every call the same site, 1 when not, 2 on failure.

  --dir DIR          where the traces and the page go (target/explain)
  --task PID|INDEX   print one task: its index (0 is the main task) or a pid of either twin
  --all              print every task
  --loader           print the calls the loader and libc make before the program's code
  --width N          lines of at most N characters (80 at least)";

struct Args {
    dir: PathBuf,
    which: Which,
    view: View,
    name: String,
}

/// The terminal's width, where stdout is a terminal.
fn terminal_width() -> Option<usize> {
    // SAFETY: a zeroed winsize is valid; TIOCGWINSZ writes one into it.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) == 0)
            .then_some(size.ws_col as usize)
    }
}

fn parse() -> Result<Args, lexopt::Error> {
    let mut dir = PathBuf::from("target/explain");
    let mut which = Which::Default;
    let mut width = None;
    let mut loader = false;
    let mut name = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("dir") => dir = parser.value()?.into(),
            Long("task") => which = Which::One(parser.value()?.parse()?),
            Long("all") => which = Which::All,
            Long("loader") => loader = true,
            Long("width") => width = Some(parser.value()?.parse::<usize>()?),
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Value(v) if name.is_none() => name = Some(v.parse()?),
            _ => return Err(arg.unexpected()),
        }
    }
    let columns = std::env::var("COLUMNS").ok();
    let width = width.unwrap_or_else(|| View::width(columns.as_deref(), terminal_width()));
    Ok(Args {
        dir,
        which,
        view: View {
            width: width.max(View::MIN_WIDTH),
            loader,
        },
        name: name.ok_or("a program NAME is needed")?,
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("explain: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let p = match program(&args.name) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("explain: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let run = explain::run(p, &args.dir.join(p.name)).and_then(|e| {
        let tasks = e.select(&args.which)?;
        let page = args.dir.join(format!("{}.html", p.name));
        std::fs::write(&page, html::page(&e))
            .map_err(|err| format!("{}: {err}", page.display()))?;
        print!("{}", text::render(&e, &tasks, &args.view));
        if let Some(ops) = explain::queued::render(p, &e.dir)? {
            print!("{ops}");
        }
        println!("\npage: {}", page.display());
        Ok(e.alike())
    });
    match run {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("explain: {}: FAILED: {e}", p.name);
            ExitCode::from(2)
        }
    }
}
