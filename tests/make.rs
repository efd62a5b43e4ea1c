//! The make targets forgive a newcomer: an unknown NAME lists the programs
//! and stops before building anything; the demos are named after their
//! programs; a program's own arguments pass through (`THREADS=4`, and a
//! word such as herd's `exclusive` from `EXCLUSIVE=1`); Ctrl-C
//! ends a `run-` target without a word from make; `strace-NAME` keeps the
//! program's stdout out of strace's lines; and `make deps` names what it
//! cannot install; a bare number or a lower-case variable gets a hint, a
//! mistyped name the closest one, and the Makefile reads the table from
//! the programs crate's binary, never from Rust source. Each runs the real
//! make on the real Makefile, with the programs of this build (`-o
//! programs`: not built again).

use harness::base::procfs;
use harness::base::{
    port::free_port,
    process::{Output, Running},
    wait::wait_until,
};
use harness::{DEMOS, Kind, PROGRAMS, c_dir, rust_dir, scratch};
use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;

/// The Makefile's table (target/programs.mk, from the programs crate's
/// binary), made once with the real cargo: the tests' make has none.
fn table() {
    static TABLE: Once = Once::new();
    TABLE.call_once(|| {
        let out = Command::new("make")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["--no-print-directory", "--silent", "help"])
            .arg(format!("CARGO={}", env!("CARGO")))
            .output()
            .unwrap();
        assert!(out.status.success(), "make help: {out:?}");
    });
}

/// `make ARGS` in the repository, with this build's programs, and cargo
/// replaced by `false`: a target that tried to build would fail.
fn make(args: &[&str]) -> Command {
    table();
    let mut cmd = Command::new("make");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--no-print-directory", "-o", "programs", "CARGO=false"])
        .arg(format!("RUST={}", rust_dir().display()))
        .arg(format!("C={}", c_dir().display()))
        .args(args);
    // SAFETY: signal(2) takes no pointers and is async-signal-safe; the
    // child starts with SIGINT at its default, as a shell's job does.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    cmd
}

/// The programs a user can name: every row but the test drivers.
fn names() -> Vec<&'static str> {
    PROGRAMS
        .iter()
        .filter(|p| p.kind != Kind::Driver)
        .map(|p| p.short)
        .collect()
}

/// The process below `pid` (at any depth) that runs `exe`.
fn descendant(pid: i32, exe: &Path) -> Option<i32> {
    procfs::children(pid).into_iter().find_map(|c| {
        if procfs::runs(c, exe) {
            Some(c)
        } else {
            descendant(c, exe)
        }
    })
}

#[test]
fn an_unknown_name_lists_the_programs_and_stops_before_building() {
    for goal in [
        "run-epol",
        "run-epol-c",
        "strace-epol",
        "strace-epol-c",
        "explain-proces",
        "run-process run-epol",
    ] {
        let out = make(&goal.split(' ').collect::<Vec<_>>()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "make {goal}: {err}");
        let bad = goal.split(' ').next_back().unwrap();
        let name = bad.split_once('-').unwrap().1.trim_end_matches("-c");
        assert!(
            err.starts_with(&format!(
                "no program \"{name}\" for make {bad}; the programs:\n"
            )),
            "make {goal}: {err}"
        );
        assert!(err.contains("stopped before building anything"), "{err}");
        assert!(
            !err.contains("Error 1"),
            "make {goal} tried to build: {err}"
        );
        // The closest name, in the goal as it should have been typed.
        let meant = if name == "epol" { "epoll" } else { "process" };
        let fixed = bad.replacen(name, meant, 1);
        assert!(
            err.contains(&format!("\ndid you mean {meant}? make {fixed}\n")),
            "make {goal}: {err}"
        );
        // The list is the table's, in its order, each with its line.
        let listed: Vec<&str> = err
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(listed, names(), "make {goal}: {err}");
        for p in PROGRAMS.iter().filter(|p| p.kind != Kind::Driver) {
            assert!(err.contains(p.about), "{}: {err}", p.short);
        }
    }
    let out = make(&["demo-process"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(
            "no demo \"process\" for make demo-process; the demos, each named after its program: iterative zombie sigign reaper prefork herd herd-exclusive prethread coroutine\n"
        ),
        "{err}"
    );
    let out = make(&["demo-zombi"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\ndid you mean zombie? make demo-zombie\n"),
        "{err}"
    );
    // A name close to none gets the list alone.
    let out = make(&["run-nonsense"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("did you mean"), "{err}");
}

/// The lines of `text` that list the programs: `  SHORT  ABOUT`.
fn listed(text: &str) -> Vec<&str> {
    let abouts: Vec<&str> = PROGRAMS
        .iter()
        .filter(|p| p.kind != Kind::Driver)
        .map(|p| p.about)
        .collect();
    text.lines()
        .filter(|l| l.starts_with("  ") && abouts.iter().any(|a| l.ends_with(a)))
        .collect()
}

/// The program lists of `make help` and of an unknown name: every program
/// with its line, the lines in one column that holds the longest name.
#[test]
fn the_lists_of_programs_hold_the_longest_name() {
    let longest = names().iter().map(|n| n.len()).max().unwrap();
    let help = make(&["help"]).output().unwrap();
    assert!(help.status.success(), "{help:?}");
    let unknown = make(&["run-epol"]).output().unwrap();
    for (what, text) in [
        ("make help", String::from_utf8_lossy(&help.stdout)),
        ("make run-epol", String::from_utf8_lossy(&unknown.stderr)),
    ] {
        let lines = listed(&text);
        assert_eq!(lines.len(), names().len(), "{what}: {text}");
        let columns: Vec<usize> = PROGRAMS
            .iter()
            .filter(|p| p.kind != Kind::Driver)
            .zip(&lines)
            .map(|(p, l)| {
                assert_eq!(l.split_whitespace().next(), Some(p.short), "{what}: {l}");
                l.len() - p.about.len()
            })
            .collect();
        assert!(
            columns.iter().all(|c| *c == columns[0] && *c > 2 + longest),
            "{what}: the lines begin at {columns:?}, the longest name is {longest}: {text}"
        );
    }
}

/// `make run-process 9000` and `make run-process port=9000` would start on
/// 8000: each stops make with a one-line hint, before anything would run
/// (`-n`: nothing printed to run).
#[test]
fn a_bare_number_or_a_lower_case_variable_gets_a_hint() {
    for (args, hint) in [
        (
            &["run-process", "9000"][..],
            "make: \"9000\" is not a target: use PORT=9000, as in make run-process PORT=9000",
        ),
        (
            &["run-process", "port=9000"][..],
            "make: port=9000 sets nothing (make's variables are upper case): use PORT=9000, as in make run-process PORT=9000",
        ),
        (
            &["run-pool", "threads=4"][..],
            "make: threads=4 sets nothing (make's variables are upper case): use THREADS=4, as in make run-pool THREADS=4",
        ),
        (
            &["mutants", "names=a b"][..],
            "make: names='a b' sets nothing (make's variables are upper case): use NAMES='a b', as in make mutants NAMES='a b'",
        ),
    ] {
        let mut all = vec!["-n"];
        all.extend_from_slice(args);
        let out = make(&all).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "make {args:?}: {err}");
        assert_eq!(err.lines().next(), Some(hint), "make {args:?}: {err}");
        assert!(err.contains("stopped before building anything"), "{err}");
        assert!(out.stdout.is_empty(), "make -n {args:?} would run: {out:?}");
    }
}

/// The Makefile asks the programs crate's binary for the table: no line of
/// it reads Rust source (it used to parse src/programs.rs with awk).
#[test]
fn the_makefile_reads_no_rust_source() {
    let makefile =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Makefile")).unwrap();
    let lines: Vec<&str> = makefile.lines().filter(|l| l.contains(".rs")).collect();
    assert!(
        lines.is_empty(),
        "the Makefile names Rust source: {lines:?}"
    );
}

/// A first build says what it builds and about how long it takes; a build
/// with the programs there says nothing.
#[test]
fn a_first_build_says_what_it_builds() {
    table();
    let empty = scratch!("make/first_build");
    let say = "make: building the programs and their C twins (the first time: ";
    for (rust, says) in [(empty, true), (rust_dir(), false)] {
        let out = Command::new("make")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["--no-print-directory", "-n", "programs", "CARGO=false"])
            .arg(format!("RUST={}", rust.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.contains(say), says, "RUST={}: {text}", rust.display());
    }
}

/// Every program of the table, and every demo, is a name the Makefile
/// knows, and `run-NAME` runs the table's executable for it.
#[test]
fn every_program_of_the_table_is_known() {
    for p in PROGRAMS.iter().filter(|p| p.kind != Kind::Driver) {
        for (goal, dir) in [
            (format!("run-{}", p.short), rust_dir()),
            (format!("run-{}-c", p.short), c_dir()),
            (format!("strace-{}", p.short), rust_dir()),
            (format!("strace-{}-c", p.short), c_dir()),
        ] {
            let out = make(&["-n", &goal]).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "make -n {goal}: {out:?}");
            let exe = format!("{}/{} \"$@\"", dir.display(), p.name);
            assert!(text.contains(&exe), "make -n {goal}: {text}");
        }
        let out = make(&["-n", &format!("explain-{}", p.short)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    for demo in DEMOS.iter().copied().chain(["zombies"]) {
        let out = make(&["-n", &format!("demo-{demo}-c")]).output().unwrap();
        assert!(out.status.success(), "demo-{demo}-c: {out:?}");
    }
}

/// `make run-pool THREADS=4` starts four workers (and the C twin three
/// with THREADS=3); the client takes HOST and PORT the same way.
#[test]
fn a_programs_own_arguments_pass_through() {
    for (target, threads, dir) in [("run-pool", 4, rust_dir()), ("run-pool-c", 3, c_dir())] {
        let port = free_port();
        let exe = dir.join("pool_server");
        let mut cmd = make(&[target, &format!("THREADS={threads}")]);
        cmd.arg(format!("PORT={port}"));
        let run = Running::spawn(cmd, &exe, Output::Capture, None).unwrap();
        run.wait_for_stdout(&format!("listening on 0.0.0.0:{port}\n"))
            .unwrap();
        let pid = descendant(run.pid, &exe).expect("the pool server");
        // The acceptor and the workers.
        wait_until("the workers", || procfs::tasks(pid).len() == threads + 1)
            .unwrap_or_else(|e| panic!("{target}: {e}: {:?}", procfs::tasks(pid)));

        let client = make(&["run-client", "HOST=localhost", &format!("PORT={port}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        client
            .stdin
            .as_ref()
            .unwrap()
            .write_all(b"four workers\n")
            .unwrap();
        let out = client.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "FOUR WORKERS\n");
        run.stop();
    }
}

/// A word of a usage line in lower case passes when its name in upper case
/// is set: `make run-herd CHILDREN=2 EXCLUSIVE=1` runs `herd_server PORT 2
/// exclusive`. Set without the argument before it, it stops make with the
/// usage line: the program would not have seen it.
#[test]
fn a_lower_case_word_passes_from_its_upper_case_name() {
    let exe = rust_dir().join("herd_server");
    let port = free_port();
    let mut cmd = make(&["run-herd", "CHILDREN=2", "EXCLUSIVE=1"]);
    cmd.arg(format!("PORT={port}"));
    let run = Running::spawn(cmd, &exe, Output::Capture, None).unwrap();
    run.wait_for_stdout(&format!("listening on 0.0.0.0:{port}\n"))
        .unwrap();
    let pid = descendant(run.pid, &exe).expect("the herd server");
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<_> = cmdline.split(|&b| b == 0).skip(1).collect();
    assert_eq!(
        args,
        [port.to_string().as_bytes(), b"2", b"exclusive", b""],
        "{:?}",
        String::from_utf8_lossy(&cmdline)
    );
    run.stop();

    let out = make(&["run-herd", "EXCLUSIVE=1"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.lines().next(),
        Some(
            "make: EXCLUSIVE is set but CHILDREN is not: herd_server [PORT [CHILDREN [exclusive]]] \
             takes its arguments in order; set CHILDREN too"
        ),
        "{err}"
    );
}

/// Ctrl-C reaches make, its shell and the server at once: the server ends,
/// and make dies of the signal, as a program does, without a word.
#[test]
fn ctrl_c_ends_a_run_target_quietly() {
    for _ in 0..3 {
        let port = free_port();
        let exe = rust_dir().join("process_server");
        let mut cmd = make(&["run-process"]);
        cmd.arg(format!("PORT={port}"));
        let run = Running::spawn(cmd, &exe, Output::Capture, None).unwrap();
        run.wait_for_stdout(&format!("listening on 0.0.0.0:{port}\n"))
            .unwrap();
        let server = descendant(run.pid, &exe).unwrap();
        // SAFETY: kill(2) takes no pointers; the group is make's own.
        unsafe { libc::kill(-run.pid, libc::SIGINT) };
        let (status, out, err) = run.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}: {err}");
        assert_eq!(err, "", "make said something: {out}");
        assert!(procfs::stat(server).is_none(), "the server is still there");
    }
}

/// `make strace-NAME` on a free port, its program's output to a folder of
/// the test's own, once the server's first line is there: the run, the
/// server's executable, the file of its output, and the port.
fn strace_target(name: &str) -> (Running, PathBuf, PathBuf, u16) {
    let out_dir = scratch!("make/strace-{name}");
    let port = free_port();
    let exe = rust_dir().join(harness::program(name).unwrap().name);
    let mut cmd = make(&[&format!("strace-{name}")]);
    cmd.arg(format!("PORT={port}"))
        .arg(format!("STRACE_OUT={}", out_dir.display()));
    let run = Running::spawn(cmd, &exe, Output::Capture, None).unwrap();
    let file = out_dir.join(format!("{name}.out"));
    let first = format!("listening on 0.0.0.0:{port}\n");
    let printed = || fs::read_to_string(&file).unwrap_or_default();
    wait_until("the server's first line", || printed() == first)
        .unwrap_or_else(|e| panic!("{e}: {:?} {}", printed(), run.stderr()));
    (run, exe, file, port)
}

/// `make strace-process`: strace's lines on stderr, whole; the server's
/// own output, stdout and stderr, in STRACE_OUT/process.out, as the first
/// line says. A client that resets makes the server's child print an
/// error: that too stays out of strace's lines.
#[test]
fn strace_keeps_the_programs_output_out_of_its_lines() {
    let (run, exe, file, port) = strace_target("process");
    let printed = || fs::read_to_string(&file).unwrap_or_default();
    let mut conn = harness::base::client::Conn::to(port).unwrap();
    conn.check(b"hello\n").unwrap();
    conn.finish().unwrap();
    let mut conn = harness::base::client::Conn::to(port).unwrap();
    conn.check(b"reset\n").unwrap();
    conn.reset().unwrap();
    wait_until("the second child's error", || {
        printed().ends_with("read: Connection reset by peer\n")
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}", printed()));
    wait_until("both children's ends in strace's lines", || {
        run.stderr().matches("+++ exited with ").count() == 2
    })
    .unwrap_or_else(|e| panic!("{e}: {}", run.stderr()));
    // Ctrl-C: the server ends, and the rest of the trace comes out.
    // SAFETY: kill(2) takes no pointers; the group is make's own.
    unsafe { libc::kill(-run.pid, libc::SIGINT) };
    let (status, _, err) = run.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGINT), "{err}");
    assert!(
        !file.with_extension("trace").exists(),
        "the FIFO is removed"
    );

    let first = err.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "strace: {}'s own output goes to {}; strace's lines follow",
            exe.display(),
            file.display()
        )
    );
    // Another task's call may cut one in two (`<unfinished ...>`, then
    // `<... write resumed>`): each task's calls joined first.
    let joined = joined_by_task(err.lines().skip(1));
    for whole in [
        format!("write(1, \"listening on 0.0.0.0:{port}\\n\", 27) = 27"),
        "write(2, \"read: Connection reset by peer\\n\", 31) = 31".to_string(),
        "--- SIGINT {si_signo=SIGINT, ".to_string(),
    ] {
        assert!(
            joined.iter().any(|l| l.starts_with(&whole)),
            "{whole:?} in\n{err}"
        );
    }
    for line in err.lines().skip(1) {
        // A call strace shows whole, or cut by another task's and resumed;
        // a signal; an exit; each after its task's pid. Never a call with
        // the server's words inside.
        let (pid, call) = line.split_once(' ').unwrap_or_default();
        assert!(pid.parse::<u32>().is_ok(), "{line:?}");
        let call = call.trim_start();
        let open = call.find('(').unwrap_or(0);
        let named = open > 0
            && call[..open]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        let whole = ((named || call.starts_with("<... "))
            && (call.contains(" = ") || call.ends_with("<unfinished ...>")))
            || call.starts_with("--- ")
            || call.starts_with("+++ ");
        assert!(whole, "a line that is not strace's: {line:?} in\n{err}");
    }
    let lines: Vec<String> = printed().lines().map(String::from).collect();
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert_eq!(lines[0], format!("listening on 0.0.0.0:{port}"));
    assert!(lines[1].starts_with("received from 127.0.0.1 at PORT "));
    assert_eq!(lines[2..4], ["HELLO", "the other side has been closed."]);
    assert!(lines[4].starts_with("received from 127.0.0.1 at PORT "));
    assert_eq!(lines[5..], ["RESET", "read: Connection reset by peer"]);
}

/// The calls of `strace -f`'s lines (each after its task's pid), each
/// task's cut calls joined as the comparison joins them: task by task, in
/// the order each task first shows, each task's calls in its order.
fn joined_by_task<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut tasks: Vec<(&str, String)> = Vec::new();
    for line in lines {
        let (pid, call) = line.split_once(' ').unwrap_or_default();
        let i = tasks
            .iter()
            .position(|(p, _)| *p == pid)
            .unwrap_or_else(|| {
                tasks.push((pid, String::new()));
                tasks.len() - 1
            });
        tasks[i].1.push_str(call.trim_start());
        tasks[i].1.push('\n');
    }
    tasks
        .iter()
        .flat_map(|(_, text)| harness::trace::normalize::join_resumed(text))
        .map(|l| unpadded(&l))
        .collect()
}

/// `call)   = ret` as `call) = ret`: strace pads a short line's result to
/// its 40th column, a resumed call's too (`<... write resumed>)   = 31`),
/// so a call cut in two comes out padded once joined.
fn unpadded(line: &str) -> String {
    match line.rfind(" = ") {
        Some(eq) if line[..eq].trim_end().ends_with(')') => {
            format!("{}{}", line[..eq].trim_end(), &line[eq..])
        }
        _ => line.to_string(),
    }
}

#[test]
fn tasks_calls_cut_by_another_are_joined() {
    let lines = [
        "12 write(2, \"read: x\\n\", 8 <unfinished ...>",
        "11 accept(3, NULL, NULL <unfinished ...>",
        "12 <... write resumed>)              = 8",
        "11 <... accept resumed>) = 4",
    ];
    let joined = joined_by_task(lines.into_iter());
    assert_eq!(
        joined,
        [
            "write(2, \"read: x\\n\", 8) = 8",
            "accept(3, NULL, NULL) = 4"
        ]
    );
}

/// `make demo-zombie`, named after its program, and `demo-zombies`, its
/// first name: three clients leave three zombies.
#[test]
fn demos_are_named_after_their_programs() {
    let demo = rust_dir().join("demo");
    assert!(
        demo.exists(),
        "{} is missing: make test builds it (cargo build --release -p harness)",
        demo.display()
    );
    for goal in ["demo-zombie", "demo-zombies-c"] {
        // cargo as true: the demo is built already.
        let out = make(&[goal, "CARGO=true"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "make {goal}: {out:?}");
        let zombies = text.lines().filter(|l| l.ends_with(" <defunct>")).count();
        assert_eq!(zombies, 3, "make {goal}: {text}");
    }
}

/// `make deps` where the tools are missing and nothing can install them:
/// one line naming the packages, status 2, before any test runs.
#[test]
fn deps_names_what_it_cannot_install() {
    let bin = scratch!("make/bin");
    for tool in ["awk", "sed", "tr", "grep", "id"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
        assert!(!path.is_empty(), "{tool}");
        std::os::unix::fs::symlink(path, bin.join(tool)).unwrap();
    }
    let make = Command::new("sh")
        .args(["-c", "command -v make"])
        .output()
        .unwrap();
    let make = String::from_utf8_lossy(&make.stdout).trim().to_string();
    for goal in ["deps", "test"] {
        let out = Command::new(&make)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg(goal)
            .env_clear()
            .env("PATH", &bin)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(
                "the tests need strace valgrind chromium procps binutils netcat-openbsd, \
                 and make cannot install them here: sudo apt-get install -y strace valgrind \
                 chromium procps binutils netcat-openbsd"
            ),
            "{err}"
        );
    }
    // Here, where make test has run it, nothing is left to install.
    let out = Command::new(&make)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--no-print-directory", "-n", "deps"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("apt-get"),
        "{out:?}"
    );
}

/// The calls of `make strace-uring`'s lines (strace's, after the first
/// line) from the server's first line on, up to its interruption, the
/// client's port masked.
fn uring_calls(err: &str) -> Vec<String> {
    let port_masked = |l: &str| match l.split_once("htons(") {
        Some((a, b)) => format!("{a}htons(PORT{}", &b[b.find(')').unwrap_or(0)..]),
        None => l.to_string(),
    };
    joined_by_task(err.lines().skip(1))
        .into_iter()
        .skip_while(|l| !l.starts_with("write(1, \"listening on "))
        .skip(1)
        .take_while(|l| !l.contains("EINTR") && !l.starts_with("--- "))
        .map(|l| port_masked(&l))
        .collect()
}

/// The enter that waits and returns with nothing submitted.
const ASLEEP: &str = "io_uring_enter(4, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0) = 0";

/// `calls` with each run of [`ASLEEP`] as one: a line typed costs one
/// such enter or two, whether the stdout write's completion came back
/// with the send's or apart; None if a run is longer.
fn asleep_runs_joined(calls: &[String]) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut run = 0;
    for c in calls {
        run = if c == ASLEEP { run + 1 } else { 0 };
        match run {
            0 | 1 => out.push(c.clone()),
            2 => {}
            _ => return None,
        }
    }
    Some(out)
}

/// `make strace-uring`, as docs/uring.md quotes it: one client's three
/// lines, typed as a person types them (each once the server has printed
/// the last and sleeps again), each cost an io_uring_enter that submits
/// the send and the stdout write together, and one or two that return
/// with their completions (the write to a file usually completes apart);
/// then its end; and nothing else but the one getpeername.
#[test]
fn strace_uring_shows_what_its_chapter_quotes() {
    let quoted = harness::testing::doc_block("uring.md", "$ make strace-uring");
    let (run, exe, file, port) = strace_target("uring");
    let printed = || fs::read_to_string(&file).unwrap_or_default();
    let lines = |n: usize| printed().lines().count() == n;
    let server = descendant(run.pid, &exe).expect("the server under strace");
    // Each line's send submitted, its stdout lines written, and the
    // server asleep again.
    let asleep_after = |sends: usize, out_lines: usize| {
        wait_until(&format!("send {sends} and {out_lines} lines"), || {
            let submitted = uring_calls(&run.stderr())
                .iter()
                .filter(|c| c.starts_with("io_uring_enter(4, 2, "))
                .count();
            submitted == sends
                && lines(out_lines)
                && procfs::blocked_in(server, server, harness::Call::UringEnter)
        })
        .unwrap_or_else(|e| panic!("{e}: {}", run.stderr()))
    };
    let mut conn = harness::base::client::Conn::to(port).unwrap();
    for (i, msg) in ["one\n", "two\n", "three\n"].into_iter().enumerate() {
        conn.check(msg.as_bytes()).unwrap();
        asleep_after(i + 1, 3 + 2 * i);
    }
    conn.finish().unwrap();
    asleep_after(4, 8);
    // SAFETY: kill(2) takes no pointers; the group is make's own.
    unsafe { libc::kill(-run.pid, libc::SIGINT) };
    let (_, _, err) = run.wait().unwrap();
    let calls = uring_calls(&err);
    assert_eq!(
        asleep_runs_joined(&calls),
        asleep_runs_joined(&quoted),
        "make strace-uring, against docs/uring.md\n{err}"
    );
    assert!(
        asleep_runs_joined(&quoted).is_some_and(|q| q.len() >= 8),
        "{quoted:?}"
    );
}

#[test]
fn runs_of_enters_that_sleep_are_joined() {
    let c = |s: &str| s.to_string();
    let two = [c("x"), c(ASLEEP), c(ASLEEP), c("y")];
    let one = [c("x"), c(ASLEEP), c("y")];
    assert_eq!(asleep_runs_joined(&two), asleep_runs_joined(&one));
    assert_eq!(asleep_runs_joined(&one).unwrap().len(), 3);
    assert_eq!(asleep_runs_joined(&[c(ASLEEP), c(ASLEEP), c(ASLEEP)]), None);
    assert_ne!(
        asleep_runs_joined(&[c("x"), c("y")]),
        asleep_runs_joined(&one)
    );
}
