//! `watch`: a running server's processes, threads, descriptors and
//! listening socket, live from /proc, with keys that poke it with clients
//! (behind `make watch-NAME`, `make watch-NAME-c` and `make watch EXE=...`).

use harness::Twin;
use harness::tools::watch::{self, Options};
use lexopt::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: watch NAME|--exe PATH [--c] [--port N] [--frames N] [--interval MS] [--json] [-- ARGS...]

Starts server NAME (process, zombie, thread, prefork, pool...: see make
help; its C twin with --c) on PORT (a free one if not given) with ARGS
after the port, or executable PATH with ARGS (its port fixed in its
source, or among ARGS; --port says which to watch), and shows its tasks
(state, the call each is blocked in, wake-ups per second, CPU time, the
client it serves), its descriptors, its accept queue and its zombies,
read from /proc, several times a second.

On a terminal the view is full-screen, and keys connect clients of the
harness's own: i idle, b busy (a line every 100 ms), r one that resets,
n one that never reads, c closes the newest, m a burst of 100, ? help,
q stops the server (SIGTERM) and quits. Otherwise, or with --frames N, it
prints N snapshots as plain text, or with --json one JSON object per line
per frame, then stops the server.

  --c              the C twin
  --port N         the port to serve on (NAME) or to watch (--exe)
  --frames N       N snapshots on stdout, not the full-screen view (10 when stdout is no terminal)
  --interval MS    between frames (250)
  --json           the snapshots as JSON, one object per line (never full-screen)";

fn parse() -> Result<Options, lexopt::Error> {
    let mut o = Options {
        name: None,
        exe: None,
        twin: Twin::Rust,
        port: None,
        frames: None,
        interval: Duration::from_millis(250),
        json: false,
        args: Vec::new(),
    };
    let mut p = lexopt::Parser::from_env();
    while let Some(arg) = p.next()? {
        match arg {
            Long("c") => o.twin = Twin::C,
            Long("exe") => o.exe = Some(PathBuf::from(p.value()?)),
            Long("port") => o.port = Some(p.value()?.parse()?),
            Long("frames") => o.frames = Some(p.value()?.parse()?),
            Long("interval") => o.interval = Duration::from_millis(p.value()?.parse()?),
            Long("json") => o.json = true,
            Long("help") | Short('h') => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Value(v) if o.name.is_none() && o.exe.is_none() => o.name = Some(v.string()?),
            Value(v) => o.args.push(v.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    o.args
        .extend(p.raw_args()?.map(|a| a.to_string_lossy().into_owned()));
    match (&o.name, &o.exe) {
        (None, None) => return Err("which server? a program's NAME, or --exe PATH".into()),
        (Some(n), Some(_)) => return Err(format!("{n:?} and --exe: one server, not both").into()),
        _ => {}
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("watch: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match watch::run(&o) {
        Ok(said) => {
            eprintln!("{said}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("watch: {e}");
            ExitCode::FAILURE
        }
    }
}
