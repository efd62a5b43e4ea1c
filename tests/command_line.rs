//! Every program, both twins, answers `-h`/`--help` with its usage line on
//! stdout, and a wrong argument with a message and the usage line on
//! stderr, exit status 2.

use harness::{Kind, PROGRAMS, Twin, exe};
use std::process::{Command, Output, Stdio};

fn run(name: &str, twin: Twin, args: &[&str]) -> Output {
    Command::new(exe(name, twin))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the program")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The programs users run (not the test drivers).
fn programs() -> impl Iterator<Item = (&'static str, Twin)> {
    PROGRAMS
        .iter()
        .filter(|p| p.kind != Kind::Driver)
        .flat_map(|p| Twin::BOTH.map(|t| (p.name, t)))
}

#[test]
fn help_prints_the_usage_line_and_succeeds() {
    for (name, twin) in programs() {
        for flag in ["-h", "--help"] {
            let out = run(name, twin, &[flag]);
            let stdout = text(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} ({twin:?}) {flag}: {out:?}"
            );
            assert!(
                stdout.starts_with("usage: ") && stdout.contains(name),
                "{name} ({twin:?}): {stdout}"
            );
            assert!(
                stdout.contains("default"),
                "the usage line gives the defaults: {stdout}"
            );
            assert!(
                out.stderr.is_empty(),
                "{name} ({twin:?}): {}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn a_wrong_argument_gets_a_message_the_usage_line_and_status_2() {
    for (name, twin) in programs() {
        let too_many: &[&str] = if name == "client" {
            &["127.0.0.1", "8000", "extra"]
        } else {
            &["8000", "extra", "more", "and more"]
        };
        let port_at = if name == "client" {
            &["127.0.0.1", "http"][..]
        } else {
            &["http"][..]
        };
        for (args, message) in [
            (too_many, "too many arguments\n"),
            (port_at, "invalid port: http\n"),
        ] {
            let out = run(name, twin, args);
            let stderr = text(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} ({twin:?}) {args:?}: {stderr}"
            );
            assert!(
                stderr.contains(message),
                "{name} ({twin:?}) {args:?}: {stderr}"
            );
            assert!(
                stderr.contains("\nusage: "),
                "{name} ({twin:?}) {args:?}: {stderr}"
            );
            assert!(out.stdout.is_empty());
        }
    }
}

#[test]
fn twins_say_the_same() {
    for (name, _) in programs().filter(|(_, t)| *t == Twin::Rust) {
        for args in [&["--help"][..], &["http"][..], &["1", "2", "3", "4"][..]] {
            let [r, c] = Twin::BOTH.map(|t| run(name, t, args));
            let paths = Twin::BOTH.map(|t| exe(name, t).display().to_string());
            let mask = |b: &[u8]| {
                text(b)
                    .replace(&paths[0], "NAME")
                    .replace(&paths[1], "NAME")
            };
            let strip = |o: &Output| (mask(&o.stdout), mask(&o.stderr), o.status.code());
            assert_eq!(strip(&r), strip(&c), "{name} {args:?}");
        }
    }
}

/// A coroutine server's stack is 4 to 65,536 KiB: below, not even the
/// accept loop fits; anything else is refused as a port is.
#[test]
fn a_stack_size_out_of_range_is_refused() {
    for name in ["coroutine_server", "fiber_server"] {
        for twin in Twin::BOTH {
            for bad in ["3", "65537", "0", "-4", "12k"] {
                let out = run(name, twin, &["8000", bad]);
                let stderr = text(&out.stderr);
                assert_eq!(
                    out.status.code(),
                    Some(2),
                    "{name} ({twin:?}) {bad}: {stderr}"
                );
                assert!(
                    stderr.contains(&format!("invalid stack size in KiB: {bad}\n")),
                    "{name} ({twin:?}) {bad}: {stderr}"
                );
            }
        }
    }
}
