//! `make compare-pair` with the programs a learner brings: classic C
//! programs in the course notes' manner (tests/originals/), the port fixed
//! when they are compiled, their own banner, printf without setvbuf. Each
//! compared with itself is identical, run after run; against the project's
//! twin, a diff with notes; and its printf lines come out as on a terminal.

use harness::base::port::free_port;
use harness::tools::compare::{self, Job, Outcome};
use harness::{Result, Twin, exe, program, scratch};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

/// A classic program of tests/originals/, its session's model and our twin.
struct Original {
    source: &'static str,
    model: &'static str,
    twin: &'static str,
}

const ORIGINALS: [Original; 3] = [
    Original {
        source: "server.c",
        model: "process",
        twin: "process_server",
    },
    Original {
        source: "mul_thread.c",
        model: "thread",
        twin: "thread_server",
    },
    Original {
        source: "client.c",
        model: "client",
        twin: "client",
    },
];

/// Compiles `source` as a learner does (`cc -g`: with line tables), its
/// port fixed at `port`.
fn build(source: &str, port: u16, out: &Path) -> PathBuf {
    fs::create_dir_all(out).unwrap();
    let exe = out.join(source.trim_end_matches(".c"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/originals")
        .join(source);
    let built = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-g",
            "-Wall",
            "-pthread",
            &format!("-DSERV_PORT={port}"),
            "-o",
        ])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("run cc");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    exe
}

/// `a` against `b` through the session of `model`, both on the fixed
/// `port`. The session turns address-space randomisation off: server.c's
/// write of -1 bytes shows what lies past its buffer, the same every run.
fn pair(model: &str, a: &Path, b: &Path, port: u16, out: &Path) -> Result<Outcome> {
    let mut job = Job::pair(program(model)?, a, b);
    job.port = Some(port);
    compare::run(&job, out)
}

/// Runs `f` on each original at once, each on a port of its own; fails
/// with every failure.
fn each_original(test: &str, f: impl Fn(&Original, u16, &Path) -> Result<()> + Sync) {
    let failures: Vec<String> = thread::scope(|s| {
        let runs: Vec<_> = ORIGINALS
            .iter()
            .map(|o| {
                let f = &f;
                (
                    o.source,
                    s.spawn(move || f(o, free_port(), &scratch!("originals/{test}/{}", o.model))),
                )
            })
            .collect();
        runs.into_iter()
            .filter_map(|(name, h)| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{name}: {e}")),
                Err(_) => Some(format!("{name}: panicked")),
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each call of a diff's rows (a numbered row and the rows its lines
/// wrapped into), its pieces joined: both columns, and the source lines.
fn calls(report: &str) -> Vec<String> {
    let mut calls: Vec<String> = Vec::new();
    for row in report.lines() {
        let number = row
            .get(..5)
            .is_some_and(|n| n.trim().parse::<u32>().is_ok());
        let wrapped = row.starts_with("      ") && !row.trim_start().starts_with("note:");
        match calls.last_mut() {
            Some(c) if wrapped && !number => c.push_str(row.trim()),
            _ if number || wrapped => calls.push(row.to_string()),
            _ => {}
        }
    }
    calls
}

/// Every normalised task of one side of a comparison, sorted.
fn norm_tasks(side: &Path) -> Vec<String> {
    let mut tasks: Vec<String> = fs::read_dir(side)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "norm"))
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    tasks.sort();
    tasks
}

/// An original compared with itself is identical three runs in a row, and
/// each later run makes the very same calls as the first: the session is
/// deterministic, even for programs that print what they like and take no
/// port argument, and for server.c's write of -1 bytes.
#[test]
fn an_original_compared_with_itself_is_identical_three_times() {
    each_original("itself", |o, port, out| {
        let exe = build(o.source, port, out);
        let mut runs = Vec::new();
        let mut verdicts = Vec::new();
        for run in ["first", "second", "third"] {
            let outcome = pair(o.model, &exe, &exe, port, &out.join(run))?;
            if !outcome.identical {
                return Err(format!("{run} run: {}", outcome.report));
            }
            verdicts.push(outcome.report.lines().next().unwrap_or("").to_string());
            runs.push(norm_tasks(&outcome.traces[0]));
        }
        if runs.iter().any(|r| *r != runs[0]) {
            return Err("a later run made other calls than the first".into());
        }
        if o.source == "mul_thread.c" {
            // The count of tasks and lines docs/strace.md quotes for it.
            let quoted = harness::testing::doc_block(
                "strace.md",
                "$ target/release/trace_compare --model thread --port 8000 target/mul_thread target/mul_thread",
            );
            let counts = |v: &str| {
                let v = v.split(';').next().unwrap_or("");
                v.split(", ").skip(1).take(2).collect::<Vec<_>>().join(", ")
            };
            let (q, got) = (counts(&quoted[1]), counts(&verdicts[0]));
            if q != got || q.is_empty() {
                return Err(format!("docs/strace.md quotes {q:?}, the run says {got:?}"));
            }
        }
        Ok(())
    });
}

/// The original against the project's twin: not a failed session but a
/// diff, task by task, whose notes explain the known differences: a
/// server's backlog and SIGPIPE, the client's read size.
#[test]
fn an_original_against_our_twin_is_a_readable_diff() {
    each_original("twin", |o, port, out| {
        let original = build(o.source, port, out);
        let outcome = pair(
            o.model,
            &original,
            &exe(o.twin, Twin::Rust),
            port,
            &out.join("traces"),
        )?;
        let report = &outcome.report;
        let expect: &[&str] = if o.model == "client" {
            &["note: the read size: A asks read for up to 80 bytes"]
        } else if o.source == "server.c" {
            &[
                "note: the backlog: listen(fd, 20) in A, listen(fd, 128) in B",
                "note: SIGPIPE: B ignores it, A does not",
                "note: a different banner: A prints ",
                "note: a length of -1 in A: an error return (read's), passed unchecked to write",
            ]
        } else {
            &[
                "note: the backlog: listen(fd, 20) in A, listen(fd, 128) in B",
                "note: SIGPIPE: B ignores it, A does not",
                "note: a different banner: A prints ",
            ]
        };
        let verdict = format!("{}: DIFFERENT: ", program(o.model)?.name);
        if outcome.identical || !report.starts_with(&verdict) {
            return Err(format!("not a diff: {report}"));
        }
        let missing: Vec<&&str> = expect.iter().filter(|e| !report.contains(*e)).collect();
        if !report.contains("\n=== the main task (A pid ") || !missing.is_empty() {
            return Err(format!("{missing:?} missing from:\n{report}"));
        }
        // One screen per task: long strings (the dump a write of -1 bytes
        // shows) cut short, a change seen again named, not shown.
        for task in report.split("\n=== ").skip(1) {
            let n = task.lines().count();
            if n > 60 {
                return Err(format!("a task's diff {n} lines long:\n=== {task}"));
            }
        }
        // Each differing call beside the line of the learner's source
        // that made it: the original's, built with -g.
        let source = fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/originals")
                .join(o.source),
        )
        .unwrap();
        let line_of = |text: &str| {
            source
                .lines()
                .position(|l| l.contains(text))
                .map(|i| format!("{}:{}", o.source, i + 1))
                .unwrap()
        };
        let calls = calls(report);
        let beside =
            |call: &str, at: &str| calls.iter().any(|c| c.contains(call) && c.contains(at));
        let (call, made_by) = match o.model {
            "client" => ("read(3, ", line_of("read(")),
            _ => ("listen(3, 20) = 0", line_of("listen(")),
        };
        if !beside(call, &made_by) {
            return Err(format!("{call} not beside {made_by}:\n{report}"));
        }
        if o.source == "server.c" {
            // The writes of -1 bytes, beside the two unchecked writes.
            for (fd, text) in [
                (1, "write(STDOUT_FILENO, buf, n)"),
                (4, "write(fd, buf, n)"),
            ] {
                let at = line_of(text);
                let minus_one = calls.iter().any(|c| {
                    c.contains(&format!("write({fd}, "))
                        && c.contains(", 18446744073709551615) = -1 EFAULT")
                        && c.contains(&at)
                });
                if !minus_one {
                    return Err(format!("no write({fd}) of -1 bytes beside {at}:\n{report}"));
                }
            }
            as_the_chapter_shows(report, port)?;
        }
        Ok(())
    });
}

/// A line of a diff as the strace chapter's excerpt and a run on another
/// port can both give it: the port (and, on the banner's line, every
/// number, whose length it sets) masked, pids masked, spaces folded.
fn comparable(line: &str, port: &str) -> String {
    let mut l = String::new();
    let mut rest = &line.replace(port, "PORT")[..];
    while let Some(i) = rest.find("pid ") {
        l.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            l.push_str("PID");
            rest = &rest[digits..];
        }
    }
    l.push_str(rest);
    // A call cut short (`…`) after the port cuts where the port's length
    // leaves it.
    let mut cut = String::new();
    let mut rest = &l[..];
    while let Some(i) = rest.find("PORT") {
        let after = &rest[i + 4..];
        cut.push_str(&rest[..i + 4]);
        rest = match after.find('…').filter(|&e| !after[..e].contains("PORT")) {
            Some(e) if after[..e].len() <= 24 => {
                cut.push('…');
                &after[e + '…'.len_utf8()..]
            }
            _ => after,
        };
    }
    cut.push_str(rest);
    l = cut;
    if l.contains("0.0.0.0:PORT") {
        l = l
            .chars()
            .map(|c| if c.is_ascii_digit() { 'N' } else { c })
            .collect();
    }
    l.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// docs/strace.md's excerpt of `make compare-pair` for server.c against
/// the process server (on port 8000) stands in `report`, line after line,
/// in order (what it leaves out aside, and where the traces are).
fn as_the_chapter_shows(report: &str, port: u16) -> Result<()> {
    const COMMAND: &str = "$ make compare-pair A=target/server B=target/release/process_server MODEL=process PORT=8000";
    let quoted = harness::testing::doc_block("strace.md", COMMAND);
    let printed: Vec<String> = report
        .lines()
        .map(|l| comparable(l, &port.to_string()))
        .collect();
    let mut from = 0;
    let mut shown = 0;
    for q in &quoted {
        let skip = ["...", "(cut here)", ""].contains(&q.as_str())
            || q.starts_with("  A: ")
            || q.starts_with("  B: ")
            || q == harness::tools::compare::HEADER;
        if skip {
            continue;
        }
        let q = comparable(q, "8000");
        match printed[from..].iter().position(|p| *p == q) {
            Some(i) => from += i + 1,
            None => {
                return Err(format!(
                    "docs/strace.md quotes {q:?}, not printed (in order) in:\n{report}"
                ));
            }
        }
        shown += 1;
    }
    if shown < 40 {
        return Err(format!("the chapter's excerpt holds {shown} lines"));
    }
    Ok(())
}

/// On a terminal, printf is line-buffered: the original's banner and each
/// line it prints come out in a write of their own, at once, though it
/// never calls setvbuf and is killed at the end (through a pipe, printf
/// would keep them in its buffer, and the kill would lose them).
#[test]
fn an_originals_printf_lines_come_out_as_on_a_terminal() {
    let out = scratch!("originals/terminal");
    let port = free_port();
    let server = build("server.c", port, &out);
    let outcome = pair("process", &server, &server, port, &out.join("trace")).unwrap();
    assert!(outcome.identical, "{}", outcome.report);
    let printed = fs::read(outcome.traces[0].join("stdout")).unwrap();
    let printed = String::from_utf8_lossy(&printed);
    assert!(
        printed.starts_with("server up, waiting for clients ...\n24 bytes from 127.0.0.1:"),
        "{printed}"
    );
    // Every client hangs up, the one that resets its connection too: its
    // read's -1 goes on (a line of "-1 bytes"), and the next read gives 0.
    assert_eq!(printed.matches("client hung up\n").count(), 9, "{printed}");
    assert_eq!(
        printed.matches("-1 bytes from 127.0.0.1:").count(),
        1,
        "{printed}"
    );
    let main = norm_tasks(&outcome.traces[0])
        .into_iter()
        .find(|t| t.starts_with("execve("))
        .unwrap();
    let banner = main
        .find("write(1, \"server up, waiting for clients ...\\n\", 35) = 35\n")
        .expect("the banner in a write of its own");
    assert!(
        banner < main.find("accept(").unwrap(),
        "before the first accept"
    );
}
