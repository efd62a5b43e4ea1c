//! Syscall fidelity: each program makes the same system calls as its C
//! twin, in the same session and under every fault; the comparison can
//! tell two different programs apart; and the traces show what the
//! programs teach.

use harness::scratch;
use harness::testing::pass;
use harness::tools::compare::{self, Job, Outcome};
use harness::trace::faults::FAULTS;
use harness::{Kind, PROGRAMS, Result, Twin, exe, program};
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;

/// Runs `job`, tracing into a directory named by `test`.
fn run(job: &Job, test: &str) -> Result<Outcome> {
    compare::run(
        job,
        &scratch!("strace/{test}/{}", job.label().replace(' ', "-")),
    )
}

/// Compares program `name` with its twin; the traces' directory.
fn identical(name: &str, fault: Option<&'static str>, test: &str) -> Result<PathBuf> {
    let outcome = run(&Job::twins(program(name)?, fault), test)?;
    if !outcome.identical {
        return Err(outcome.report);
    }
    Ok(outcome.dir)
}

/// Every normalised task of one run, the main task (the one that ran execve) first.
fn tasks(dir: &Path) -> Vec<Vec<String>> {
    let mut tasks: Vec<Vec<String>> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            p.extension().is_some_and(|x| x == "norm").then(|| {
                fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(String::from)
                    .collect()
            })
        })
        .collect();
    tasks.sort_by_key(|t: &Vec<String>| !t[0].starts_with("execve("));
    tasks
}

/// Index of the first line at or after `from` that starts with `prefix`.
fn find(lines: &[String], from: usize, prefix: &str) -> Option<usize> {
    lines[from..]
        .iter()
        .position(|l| l.starts_with(prefix))
        .map(|i| i + from)
}

/// Comparisons run at a time: each starts two traced servers in turn, and
/// seventy at once on two cores left some unstarted past the deadline.
const AT_ONCE: usize = 12;

/// Runs `f` for each of `items`, [`AT_ONCE`] at a time; fails with every
/// failure.
fn all_at_once<T: Sync>(
    items: &[T],
    label: impl Fn(&T) -> String + Sync,
    f: impl Fn(&T) -> Result<()> + Sync,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failures: Vec<String> = thread::scope(|s| {
        let workers: Vec<_> = (0..AT_ONCE.min(items.len()))
            .map(|_| {
                let (next, label, f) = (&next, &label, &f);
                s.spawn(move || {
                    let mut failed = Vec::new();
                    while let Some(i) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                        match thread::scope(|t| t.spawn(|| f(i)).join()) {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => failed.push(format!("{}: {e}", label(i))),
                            Err(_) => failed.push(format!("{}: panicked", label(i))),
                        }
                    }
                    failed
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What docs/strace.md and docs/coroutines.md quote of `make compare`:
/// its verdict lines, by the label they start with (`NAME`, `NAME under
/// FAULT`).
fn quoted_verdicts() -> Vec<(String, String)> {
    let block = harness::testing::doc_block("strace.md", "$ make compare");
    assert_eq!(block.first().map(String::as_str), Some(compare::HEADER));
    let coroutines = harness::testing::doc_block(
        "coroutines.md",
        "<!-- quoted: make compare: the coroutine servers -->",
    );
    block
        .into_iter()
        .skip(1)
        .chain(coroutines)
        .filter(|l| l != "..." && !l.starts_with("$ "))
        .map(|l| (l.split_once(": ").map_or("", |x| x.0).to_string(), l))
        .collect()
}

/// The verdict docs/strace.md quotes for `job`, if it quotes one, against
/// the verdict of a run.
fn as_quoted(job: &Job, outcome: &Outcome) -> Result<()> {
    let got = outcome.report.lines().next().unwrap_or("");
    match quoted_verdicts()
        .into_iter()
        .find(|(l, _)| *l == job.label())
    {
        Some((_, quoted)) if quoted != got => Err(format!(
            "docs/strace.md quotes\n  {quoted}\nwhere make compare prints\n  {got}"
        )),
        _ => Ok(()),
    }
}

/// docs/strace.md says how many verdicts `make compare` prints, and
/// quotes some: the count is the tool's, and each quoted line names a
/// comparison it makes (what each says is checked where it runs).
#[test]
fn the_chapter_counts_and_names_the_verdicts_as_the_tool_does() {
    let jobs: Vec<String> = compare::all_jobs().iter().map(Job::label).collect();
    let page =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/strace.md")).unwrap();
    let said = page
        .replace('\n', " ")
        .split_once(" verdicts, every one `identical`")
        .and_then(|(before, _)| before.rsplit(' ').next().map(String::from))
        .expect("docs/strace.md says how many verdicts make compare prints");
    assert_eq!(
        said,
        jobs.len().to_string(),
        "the verdicts make compare prints"
    );
    let quoted = quoted_verdicts();
    assert!(quoted.len() >= 10, "{quoted:?}");
    for (label, line) in &quoted {
        assert!(jobs.contains(label), "no comparison makes {line:?}");
    }
}

/// docs/uring.md's excerpt of the io_uring server's session (its notes
/// after four spaces aside) stands in `main`, the normalised main task,
/// line after line.
fn session_as_quoted(main: &[String]) -> Result<()> {
    let quoted: Vec<String> =
        harness::testing::doc_block("uring.md", "<!-- quoted: the io_uring server's session -->")
            .iter()
            .map(|l| l.split_once("    ").map_or(l.as_str(), |x| x.0).to_string())
            .collect();
    if quoted.len() < 5 || !main.windows(quoted.len()).any(|w| w == quoted) {
        return Err(format!(
            "docs/uring.md quotes\n{}\nwhich its session does not make",
            quoted.join("\n")
        ));
    }
    Ok(())
}

/// How many times in a row each program is compared with its twin: the
/// verdict must be the same every run.
const RUNS: usize = 3;

/// Every program of the table makes the same calls as its twin, three
/// runs in a row, each run the very calls of the first; and the Rust twin
/// starts with no Rust runtime start-up: no sigaltstack, no poll on fds
/// 0-2, no SIGPIPE disposition set before its first socket.
#[test]
fn every_program_identical_to_its_twin() {
    let programs: Vec<_> = PROGRAMS.iter().filter(|p| p.kind != Kind::Driver).collect();
    all_at_once(
        &programs,
        |p| p.name.to_string(),
        |p| {
            // One port for the three runs: the port shows in the calls.
            let mut job = Job::twins(p, None);
            job.port = Some(harness::base::port::free_port());
            let mut first: Option<Vec<Vec<String>>> = None;
            for run in 1..=RUNS {
                let outcome = compare::run(&job, &scratch!("strace/plain-{run}/{}", p.name))?;
                if !outcome.identical {
                    return Err(format!("run {run} of {RUNS}: {}", outcome.report));
                }
                if run == 1 {
                    as_quoted(&job, &outcome)?;
                }
                let dir = outcome.dir;
                let mut calls = tasks(&dir.join("rust"));
                calls[1..].sort();
                match &first {
                    None => first = Some(calls),
                    Some(f) if *f != calls => {
                        return Err(format!("run {run} made other calls than run 1"));
                    }
                    Some(_) => {}
                }
            }
            if p.name == "uring_server" {
                session_as_quoted(&first.as_ref().unwrap()[0])?;
            }
            let main = &first.unwrap()[0];
            let socket = find(main, 0, "socket(").ok_or("no socket call")?;
            for l in &main[..socket] {
                if l.starts_with("sigaltstack(")
                    || l.starts_with("poll(")
                    || l.starts_with("rt_sigaction(SIGPIPE")
                {
                    return Err(format!("runtime start-up call {l}"));
                }
            }
            Ok(())
        },
    );
}

/// Under each fault that applies to it, every server stays identical to
/// its twin, and the fault shows in the traces.
#[test]
fn every_server_identical_under_injected_faults() {
    let jobs: Vec<Job> = compare::all_jobs()
        .into_iter()
        .filter(|j| j.fault.is_some())
        .collect();
    // Which servers each fault is for, said here from the models, not from
    // the session's own choice: every fault runs on exactly those.
    for fault in FAULTS {
        let uring = |m: &harness::Model| m.main_idle_in == harness::Call::UringEnter;
        let applies = |m: &harness::Model| match fault {
            "spawn-eagain" => m.spawn.is_some(),
            // The io_uring server makes none of these calls itself.
            "accept-emfile" | "read-write-eintr" => !uring(m),
            "read-write-eagain" => m.worker == harness::Worker::Loop && !uring(m),
            "uring-enter-eintr" => uring(m),
            // Not the reuseport server: its threads take connections by
            // the port's hash, and a count cannot name the call meant.
            "epoll-ctl-enomem" => {
                (m.main_idle_in == harness::Call::EpollWait
                    || m.pool
                        .is_some_and(|p| p.idle_in == harness::Call::EpollWait))
                    && !m.pool.is_some_and(|p| p.listens)
            }
            _ => true,
        };
        let mut want: Vec<&str> = harness::servers()
            .filter(|p| applies(p.model().unwrap()))
            .map(|p| p.name)
            .collect();
        let mut got: Vec<&str> = jobs
            .iter()
            .filter(|j| j.fault == Some(fault))
            .map(|j| j.program.name)
            .collect();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want, "the servers {fault} runs on");
    }
    all_at_once(&jobs, Job::label, |job| {
        let outcome = run(job, "faults")?;
        if !outcome.identical {
            return Err(outcome.report);
        }
        as_quoted(job, &outcome)?;
        let injected = tasks(&outcome.dir.join("rust"))
            .concat()
            .iter()
            .filter(|l| l.ends_with("(INJECTED)"))
            .count();
        if job.fault != Some("stderr-rw") && injected == 0 {
            return Err("nothing injected".into());
        }
        Ok(())
    });
}

/// With stderr read-write, a thread's first perror mallocs in a new arena,
/// whose trims the normaliser drops: the thread server's reset client shows
/// it, the heap's mapping followed at once by its first pages made writable.
#[test]
fn a_threads_first_perror_maps_an_arena() {
    pass(|| {
        let dir = identical("thread_server", Some("stderr-rw"), "arena")?;
        let lines = tasks(&dir.join("c")).concat();
        let arena = find(&lines, 0, "mmap(NULL, 134217728, PROT_NONE").ok_or("no arena mapped")?;
        assert!(
            lines[arena + 1].starts_with("mprotect(ADDR, 135168, PROT_READ|PROT_WRITE)"),
            "{}",
            lines[arena + 1]
        );
        Ok(())
    });
}

/// The comparison can fail: the process server against the thread server,
/// and a pair compared through `--model`.
#[test]
fn comparison_reports_different_programs() {
    pass(|| {
        let mut job = Job::twins(program("process_server")?, None);
        job.b = exe("thread_server", Twin::C);
        let outcome = run(&job, "different")?;
        assert!(!outcome.identical, "{}", outcome.report);
        assert!(
            outcome.report.starts_with("process_server: DIFFERENT: "),
            "{}",
            outcome.report
        );
        assert!(
            outcome.report.contains("clone3("),
            "the diff shows the thread server's clone3: {}",
            outcome.report
        );
        Ok(())
    });
}

/// SIGCHLD interrupts the parent's accept: ERESTARTSYS, the handler reaps
/// with wait4 until ECHILD, accept fails with EINTR, and is called again. The
/// parent closes the connection after clone; each child closes the listener.
#[test]
fn process_server_trace_shows_the_lessons() {
    pass(|| {
        let dir = identical("process_server", None, "process_lessons")?;
        for twin in ["rust", "c"] {
            let tasks = tasks(&dir.join(twin));
            let main = &tasks[0];
            let clone = find(main, 0, "clone(").expect("a clone");
            assert_eq!(
                main[clone + 1],
                "close(4) = 0",
                "the parent closes connfd after fork"
            );
            let restart = find(main, clone, "accept(3, ").unwrap();
            assert!(
                main[restart].ends_with("= ? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
                "{}",
                main[restart]
            );
            assert!(
                main[restart + 1].starts_with("--- SIGCHLD {"),
                "{}",
                main[restart + 1]
            );
            assert_eq!(main[restart + 2], "wait4(-1, NULL, WNOHANG, NULL) = PID");
            assert_eq!(
                main[restart + 3],
                "wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD (No child processes)"
            );
            assert_eq!(
                main[restart + 4],
                "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)"
            );
            assert!(
                main[restart + 5].starts_with("accept(3, {sa_family=AF_INET"),
                "accept again: {}",
                main[restart + 5]
            );
            assert_eq!(tasks.len(), 10, "one child per connection");
            for child in &tasks[1..] {
                assert!(
                    child.contains(&"close(3) = 0".to_string()),
                    "the child closes listenfd: {child:?}"
                );
                assert_eq!(child.last().unwrap(), "+++ exited with 0 +++");
            }
        }
        Ok(())
    });
}

/// The thread server starts threads with clone3 and detaches them: a
/// detached thread's stack goes back to glibc when it ends, and the next
/// thread takes it, so the session's connections (four at once at most)
/// map fewer stacks than they start threads (without `pthread_detach`, an
/// ended thread keeps its stack until joined: a new 8 MiB mapping for
/// every thread). Nobody joins them: the main thread never waits on a
/// thread's id (read from the raw trace, whose futex waits the normaliser
/// leaves out), and each thread ends with exit, not exit_group.
#[test]
fn thread_server_trace_detaches_rather_than_joins() {
    pass(|| {
        let dir = identical("thread_server", None, "thread_lessons")?;
        for twin in ["rust", "c"] {
            let tasks = tasks(&dir.join(twin));
            let main = &tasks[0];
            let clones = main.iter().filter(|l| l.starts_with("clone3(")).count();
            assert_eq!(clones, tasks.len() - 1);
            let stacks = main
                .iter()
                .filter(|l| l.starts_with("mmap(") && l.contains("MAP_STACK"))
                .count();
            assert!(
                stacks < clones,
                "{twin}: ended threads' stacks are reused: {stacks} stacks mapped for {clones} threads"
            );
            let (raw_main, tids) = raw_tasks(&dir.join(twin));
            let joins: Vec<&str> = raw_main
                .lines()
                .filter(|l| l.starts_with("futex(") && l.contains("FUTEX_WAIT"))
                .filter(|l| {
                    let val = l.split(", ").nth(2).unwrap_or("");
                    tids.iter().any(|t| t.to_string() == val)
                })
                .collect();
            assert!(joins.is_empty(), "{twin}: the main thread joins: {joins:?}");
            assert!(!main.iter().any(|l| l.starts_with("wait4(")));
            for thread in &tasks[1..] {
                assert_eq!(thread[thread.len() - 2], "exit(0) = ?", "{thread:?}");
            }
        }
        Ok(())
    });
}

/// The raw trace of the main task (the one that ran execve), and the ids
/// of the other tasks.
fn raw_tasks(dir: &Path) -> (String, Vec<u32>) {
    let mut main = String::new();
    let mut others = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let Some(tid) = p
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_prefix("trace."))
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        let text = fs::read_to_string(&p).unwrap();
        if text.starts_with("execve(") {
            main = text;
        } else {
            others.push(tid);
        }
    }
    assert!(!main.is_empty() && !others.is_empty(), "{}", dir.display());
    (main, others)
}

/// The sessions start their programs as `setarch -R` does: a classic
/// client that writes its personality to a file, run through the
/// client's session, finds ADDR_NO_RANDOMIZE set; the same program run
/// outside a session does not.
#[test]
fn sessions_run_with_randomisation_off() {
    pass(|| {
        let d = scratch!("strace/personality");
        let found = d.join("personality");
        let source = d.join("client.c");
        fs::write(
            &source,
            format!(
                "#include <stdio.h>\n#include <sys/personality.h>\n\
                 int main(void) {{ FILE *f = fopen(\"{}\", \"w\"); \
                 fprintf(f, \"%x\\n\", personality(0xffffffff)); return fclose(f); }}\n",
                found.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let client = d.join("client");
        let cc = std::process::Command::new("cc")
            .arg("-o")
            .arg(&client)
            .arg(&source)
            .status();
        assert!(cc.is_ok_and(|s| s.success()), "cc");
        let flags = || -> Result<u32> {
            let text = fs::read_to_string(&found).map_err(|e| e.to_string())?;
            u32::from_str_radix(text.trim(), 16).map_err(|e| format!("{text:?}: {e}"))
        };
        let mut job = Job::pair(program("client")?, &client, &client);
        job.port = Some(harness::base::port::free_port());
        let outcome = compare::run(&job, &d.join("traces"))?;
        assert!(outcome.identical, "{}", outcome.report);
        let off = libc::ADDR_NO_RANDOMIZE as u32;
        assert_eq!(flags()? & off, off, "randomisation on in the session");
        let plain = std::process::Command::new(&client).status();
        assert!(plain.is_ok_and(|s| s.success()));
        assert_eq!(
            flags()? & 0x0040000,
            0,
            "randomisation is off for every process"
        );
        Ok(())
    });
}

/// The reuseport server's spare descriptors are opened by its main thread,
/// one after each listener, before any thread starts: opened by the
/// threads, they raced for the lowest free number and came out in another
/// order from run to run.
#[test]
fn reuseports_spares_are_opened_in_order_by_the_main_thread() {
    pass(|| {
        let dir = identical("reuseport_server", None, "spares")?;
        let threads = program("reuseport_server")?
            .model()
            .and_then(|m| m.pool)
            .expect("the reuseport server's pool")
            .threads;
        for side in ["rust", "c"] {
            let tasks = tasks(&dir.join(side));
            let spare = |l: &String| l.starts_with("openat(AT_FDCWD, \"/dev/null\", O_RDONLY)");
            let first_thread = find(&tasks[0], 0, "clone3(").ok_or("no thread made")?;
            let before = tasks[0][..first_thread].iter().filter(|l| spare(l)).count();
            assert_eq!(before, threads, "{side}: spares opened by the main thread");
            for t in &tasks[1..] {
                let wait = find(t, 0, "epoll_wait(").unwrap_or(t.len());
                assert!(
                    !t[..wait].iter().any(spare),
                    "{side}: a thread opened a spare of its own"
                );
            }
        }
        Ok(())
    });
}
