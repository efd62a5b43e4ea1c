//! `programs`: the table of programs, for the Makefile and for people.
//!
//! ```text
//! programs list        NAME SHORT KIND ABOUT, a line each
//! programs servers     the servers' short names
//! programs c-dir       where the build put the C twins
//! ```

use harness::{Kind, PROGRAMS};
use std::process::ExitCode;

const USAGE: &str = "usage: programs list|servers|c-dir";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["list"] => {
            for p in PROGRAMS.iter().filter(|p| p.kind != Kind::Driver) {
                println!("{:<16} {:<10} {}", p.name, p.short, p.about);
            }
        }
        ["servers"] => {
            let names: Vec<&str> = harness::servers().map(|p| p.short).collect();
            println!("{}", names.join(" "));
        }
        ["c-dir"] => println!("{}", harness::c_dir().display()),
        ["-h"] | ["--help"] => println!("{USAGE}"),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
