//! `busy`: runs a command while every core is kept busy, for `make
//! test-loaded`: the suite must pass on a machine that has other work.

use lexopt::prelude::*;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitCode};

const USAGE: &str = "\
usage: busy [--spinners N] -- COMMAND [ARG...]

Runs COMMAND while N processes (one per online core by default) spin at
normal priority, each a loop that never sleeps; stops them when COMMAND
ends, and exits with its status. Each spinner also ends if busy dies.";

/// One spinner: this program again, as `busy --spin`.
fn spinner() -> std::io::Result<Child> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--spin");
    let busy = std::process::id() as libc::pid_t;
    // SAFETY: prctl(2) with PR_SET_PDEATHSIG, getppid(2) and _exit(2) take
    // no pointers and are async-signal-safe, fit for the child before exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // busy died before the prctl: nobody would kill this one.
            if libc::getppid() != busy {
                libc::_exit(0);
            }
            Ok(())
        })
    };
    cmd.spawn()
}

/// Spins until killed; its parent's death kills it.
fn spin() -> ! {
    loop {
        std::hint::black_box(());
    }
}

fn main() -> ExitCode {
    let mut spinners = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut command: Vec<String> = Vec::new();
    let mut parser = lexopt::Parser::from_env();
    let parsed: Result<(), lexopt::Error> = (|| {
        while let Some(arg) = parser.next()? {
            match arg {
                Long("spin") => spin(),
                Long("spinners") => spinners = parser.value()?.parse()?,
                Short('h') | Long("help") => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                Value(v) => {
                    command.push(v.string()?);
                    command.extend(parser.raw_args()?.map(|a| a.to_string_lossy().into_owned()));
                }
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(())
    })();
    if let Err(e) = parsed {
        eprintln!("busy: {e}\n{USAGE}");
        return ExitCode::from(2);
    }
    let Some((program, args)) = command.split_first() else {
        eprintln!("busy: no command\n{USAGE}");
        return ExitCode::from(2);
    };
    let mut spinning = Vec::new();
    for _ in 0..spinners {
        match spinner() {
            Ok(c) => spinning.push(c),
            Err(e) => {
                eprintln!("busy: cannot start a spinner: {e}");
                return ExitCode::from(2);
            }
        }
    }
    eprintln!(
        "busy: {} spinning processes beside `{}`",
        spinning.len(),
        command.join(" ")
    );
    let status = Command::new(program).args(args).status();
    for mut c in spinning {
        let _ = c.kill();
        let _ = c.wait();
    }
    match status {
        Ok(s) => ExitCode::from(s.code().map_or(1, |c| c as u8)),
        Err(e) => {
            eprintln!("busy: {program}: {e}");
            ExitCode::from(2)
        }
    }
}
