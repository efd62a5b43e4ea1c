//! The tools behind `make compare`, `make compare-pair` and `make bench`,
//! run as a user runs them. (Speed itself is never asserted here.)

use harness::base::process::require;
use harness::tools::bench::render::SUMMARY_WIDTH;
use harness::tools::bench::results::{self as report, Axis, FIGURES, Side};
use harness::{Twin, exe, scratch, servers};
use std::path::PathBuf;
use std::process::{Command, Output};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `trace_compare ARGS`, its stdout without the header that opens it
/// (which must be there once it has compared anything).
fn trace_compare(args: &[&str]) -> Output {
    let mut out = Command::new(env!("CARGO_BIN_EXE_trace_compare"))
        .args(args)
        .output()
        .expect("run trace_compare");
    let header = format!("{}\n", harness::tools::compare::HEADER);
    match out.stdout.strip_prefix(header.as_bytes()) {
        Some(rest) => out.stdout = rest.to_vec(),
        None => assert!(
            !matches!(out.status.code(), Some(0 | 1)),
            "no header: {}",
            text(&out.stdout)
        ),
    }
    out
}

/// `make compare-pair`: any two executables through a model's session;
/// identical for a program and its twin, different for two programs.
#[test]
fn compare_pair_tells_alike_from_different() {
    let dir = scratch!("tools/compare-pair");
    let dir = dir.to_str().unwrap();
    let rust = exe("process_server", Twin::Rust);
    let c = exe("process_server", Twin::C);
    let other = exe("sigign_server", Twin::C);
    let other = if other.exists() {
        other
    } else {
        exe("thread_server", Twin::C)
    };
    let same = trace_compare(&[
        "--dir",
        dir,
        "--model",
        "process",
        c.to_str().unwrap(),
        rust.to_str().unwrap(),
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    assert!(
        text(&same.stdout).starts_with("process_server: identical, "),
        "{}",
        text(&same.stdout)
    );

    let differ = trace_compare(&[
        "--dir",
        dir,
        "--model",
        "process",
        other.to_str().unwrap(),
        rust.to_str().unwrap(),
    ]);
    assert_eq!(differ.status.code(), Some(1), "{}", text(&differ.stdout));
    assert!(
        text(&differ.stdout).starts_with("process_server: DIFFERENT: "),
        "{}",
        text(&differ.stdout)
    );
}

/// A learner's classic server (tests/originals/server.c), its port fixed
/// when compiled, compared as a learner would: without `--port`, the
/// session fails at once, saying which port it listens on and what to
/// pass; with it, a diff (exit 1, not a failed session) whose notes name
/// the backlog and SIGPIPE.
#[test]
fn compare_pair_takes_a_classic_server_on_its_own_port() {
    let dir = scratch!("tools/compare-classic");
    let port = harness::base::port::free_port();
    let server = dir.join("server");
    let built = Command::new("cc")
        .arg(format!("-DSERV_PORT={port}"))
        .arg("-o")
        .arg(&server)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/originals/server.c"
        ))
        .output()
        .expect("run cc");
    assert!(built.status.success(), "{}", text(&built.stderr));
    let traces = dir.join("traces");
    let rust = exe("process_server", Twin::Rust);
    let run = |extra: &[&str]| {
        let mut args = vec!["--dir", traces.to_str().unwrap(), "--model", "process"];
        args.extend_from_slice(extra);
        args.extend([server.to_str().unwrap(), rust.to_str().unwrap()]);
        let out = trace_compare(&args);
        (out.status.code(), text(&out.stdout))
    };
    let (status, out) = run(&[]);
    assert_eq!(status, Some(2), "{out}");
    assert!(
        out.contains(&format!("listens on port {port}, not on "))
            && out.contains(&format!("--port {port}")),
        "{out}"
    );
    let port = port.to_string();
    let (status, out) = run(&["--port", &port]);
    assert_eq!(status, Some(1), "{out}");
    assert!(out.starts_with("process_server: DIFFERENT: "), "{out}");
    for note in ["note: the backlog: ", "note: SIGPIPE: "] {
        assert!(out.contains(note), "{note} in:\n{out}");
    }
}

/// `--port` belongs to a pair, and a pair runs the plain session.
#[test]
fn compare_pair_refuses_a_port_or_fault_out_of_place() {
    let rust = exe("process_server", Twin::Rust);
    let rust = rust.to_str().unwrap();
    for args in [
        &["--port", "8000", "process_server"][..],
        &["--model", "process", "--port", "0", rust, rust],
        &["--model", "process", "--port", "x", rust, rust],
        &["--model", "process", "--fault", "accept-emfile", rust, rust],
        &[
            "--model",
            "process",
            "--port",
            "8000",
            rust,
            "/no/such/program",
        ],
    ] {
        let out = trace_compare(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains("usage: "), "{args:?}");
    }
}

/// A pair whose calls are identical but whose executables carry no line
/// tables: the calls are compared, the call sites cannot be, and the
/// verdict says so rather than count them as matches; with one side
/// stripped, the same, naming that side.
#[test]
fn a_stripped_pair_says_its_call_sites_are_not_checked() {
    let dir = scratch!("tools/compare-stripped");
    let strip = |twin: Twin| {
        let out = dir.join(format!("process_server.{}.stripped", twin.label()));
        let st = Command::new("strip")
            .arg("--strip-all")
            .arg("-o")
            .arg(&out)
            .arg(exe("process_server", twin))
            .status()
            .expect("run strip");
        assert!(st.success());
        out
    };
    let (rust, c) = (strip(Twin::Rust), strip(Twin::C));
    let run = |a: &PathBuf, b: &PathBuf| {
        let out = trace_compare(&[
            "--dir",
            dir.join("traces").to_str().unwrap(),
            "--model",
            "process",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        text(&out.stdout)
    };
    let both = run(&rust, &c);
    let verdict = both.lines().next().unwrap();
    assert!(
        verdict.starts_with("process_server: identical calls, ")
            && verdict.contains("call sites not checked: A (")
            && verdict.contains("B (")
            && !verdict.contains(" lines, "),
        "{both}"
    );
    let one = run(&exe("process_server", Twin::Rust), &c);
    let verdict = one.lines().next().unwrap();
    assert!(
        verdict.contains("call sites not checked: B (") && !verdict.contains("A ("),
        "{one}"
    );
    // Unstripped, they are checked, and counted.
    let whole = run(
        &exe("process_server", Twin::Rust),
        &exe("process_server", Twin::C),
    );
    let verdict = whole.lines().next().unwrap();
    let sites: usize = verdict
        .split(" lines, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count of call sites: {whole}"));
    assert!(sites > 0 && !verdict.contains("not checked: "), "{whole}");
}

/// Every server the benchmark measures, the table's (Rust and C) and the
/// reference servers (std, tokio on both runtimes, monoio), makes the same writes
/// per round trip: the "received from" line and the echoed bytes each in
/// a write of its own to stdout, as the classic servers' `printf` on a
/// line-buffered stdout and `Write(STDOUT_FILENO, …)` make them, and one
/// to the socket. Otherwise the benchmark would compare stdout buffering,
/// not server models. Counted from strace, as the benchmark counts system
/// calls: connections and round trips of 16 bytes without a newline. The
/// io_uring servers are the exception, by design: their socket writes are
/// operations in a ring, not system calls; ours puts its stdout lines in
/// the ring too (its figures say so), monoio writes them with write(2).
/// The floor writes nothing to stdout.
#[test]
fn every_bench_server_makes_the_same_writes_per_round_trip() {
    use harness::tools::bench::{Options, lifecycle::Bench, measure};
    require("strace", "strace").unwrap();
    build_peers();
    let bench = Bench::new(&Options::default()).unwrap();
    assert!(bench.servers.len() >= 2 * servers().count() + 5);
    let mut wrong = Vec::new();
    for s in &bench.servers {
        let w = measure::writes(s, 5).unwrap_or_else(|e| panic!("{}: {e}", s.name()));
        eprintln!("{}: {w:?}", s.name());
        // (stdout, socket) writes per round trip, as system calls.
        let expected = if s
            .model
            .is_some_and(|m| m.main_idle_in == harness::Call::UringEnter)
        {
            (0.0, 0.0)
        } else if s.side == Side::Monoio {
            (2.0, 0.0)
        } else if s.side == Side::Floor {
            (0.0, 1.0)
        } else {
            (2.0, 1.0)
        };
        if (w.stdout_per_trip, w.socket_per_trip) != expected {
            wrong.push(format!("{}: {w:?}, not {expected:?}", s.name()));
        }
    }
    assert!(
        wrong.is_empty(),
        "two writes to stdout and one to the socket per round trip, or as said:\n{}",
        wrong.join("\n")
    );
}

/// `--help` says how to use it; a wrong argument is an error, status 2.
#[test]
fn tools_answer_help_and_wrong_arguments() {
    for tool in [
        env!("CARGO_BIN_EXE_trace_compare"),
        env!("CARGO_BIN_EXE_bench"),
    ] {
        let help = Command::new(tool).arg("--help").output().unwrap();
        assert_eq!(help.status.code(), Some(0));
        assert!(
            text(&help.stdout).starts_with("usage: "),
            "{}",
            text(&help.stdout)
        );
        let wrong = Command::new(tool).arg("--no-such-option").output().unwrap();
        assert_eq!(wrong.status.code(), Some(2));
        assert!(
            text(&wrong.stderr).contains("usage: "),
            "{}",
            text(&wrong.stderr)
        );
    }
    let unknown = trace_compare(&["no_such_program"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("no program \"no_such_program\""),
        "{}",
        text(&unknown.stderr)
    );
}

/// The tokio and monoio reference servers, built as `make build` builds
/// them: apart, each with a feature of the harness (see harness/Cargo.toml).
fn build_peers() {
    for (feature, bins) in [
        ("tokio", &["tokio_st_server", "tokio_mt_server"][..]),
        ("monoio", &["monoio_server"][..]),
    ] {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--quiet", "--manifest-path"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .args(["--features", feature]);
        for bin in bins {
            cargo.args(["--bin", bin]);
        }
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        let built = cargo.output().expect("run cargo");
        assert!(built.status.success(), "{}", text(&built.stderr));
    }
}

/// `make bench` keeps working: a short run measures every server of the
/// table, Rust and C, and the std, tokio, monoio and floor servers, on every figure of
/// the curves and the counted ones; writes its table and a chart per
/// figure; and the twins make the same number of system calls per
/// connection and per round trip.
#[test]
fn a_short_benchmark_fills_the_table_and_draws_the_charts() {
    require("strace", "strace").unwrap();
    require("valgrind", "valgrind").unwrap();
    build_peers();
    let out = scratch!("tools/bench");
    let run = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--seconds", "0.2", "--reps", "1", "--conns", "1,100"])
        .args(["--active", "4", "--out"])
        .arg(&out)
        .output()
        .expect("run bench");
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains("bench: ") && text(&run.stderr).contains(" left"),
        "a progress line: {}",
        text(&run.stderr)
    );

    let table = std::fs::read_to_string(out.join("results.md")).unwrap();
    let summary = text(&run.stdout);
    assert!(
        summary.contains("\nGoals:\n")
            && summary.contains(&out.join("results.md").display().to_string()),
        "a summary, its goals, and where the whole table is: {summary}"
    );
    for line in summary.lines() {
        assert!(
            line.chars().count() <= SUMMARY_WIDTH,
            "{} columns at most: {line:?}",
            SUMMARY_WIDTH
        );
    }
    for server in servers() {
        assert!(
            summary.contains(&format!("\n{} (Rust) ", server.short))
                && summary.contains(&format!("\n{} (C) ", server.short)),
            "a row for each twin of {}: {summary}",
            server.short
        );
    }
    for peer in ["std", "tokio-st", "tokio-mt", "monoio", "floor"] {
        assert!(
            summary.contains(&format!("\n{peer} ")),
            "a row for {peer}: {summary}"
        );
    }
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "figure,x,model,rust,c,std,tokio_st,tokio_mt,monoio,floor,rust_c,rust_tokio_st,rust_tokio_mt,rust_floor,rust_spread,c_spread,std_spread,tokio_st_spread,tokio_mt_spread,monoio_spread,floor_spread"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let row = |figure: &str, x: usize, model: &str| {
        rows.iter()
            .find(|r| r[0] == figure && r[1] == x.to_string() && r[2] == model)
    };
    let positive = |v: &str| v.parse::<f64>().is_ok_and(|x| x > 0.0);
    for r in &rows {
        assert_eq!(r.len(), 21, "{r:?}");
        for v in &r[3..] {
            assert!(v.is_empty() || v.parse::<f64>().is_ok(), "{r:?}");
        }
    }
    for server in servers() {
        let m = server.short;
        // A server holds fewer than 100 connections only where the table
        // says so (one client at a time); any other stop fails the run.
        let stops = server.model().unwrap().holds.is_some_and(|h| h < 100);
        assert!(
            !stops || table.contains(&format!("- {m} (Rust): holds ")),
            "{m}: the table's limit in the report"
        );
        let mut expect = vec![(report::CONN_RATE.id, 1)];
        for f in FIGURES.iter().filter(|f| f.axis == Axis::None) {
            expect.push((f.id, 0));
        }
        for f in [
            &report::ROUND_TRIPS,
            &report::P50,
            &report::P99,
            &report::CPU,
        ] {
            expect.push((f.id, 1));
            if !stops {
                expect.push((f.id, 100));
            }
        }
        if !stops {
            expect.push((report::MEMORY.id, 100));
        }
        for (figure, x) in expect {
            let r = row(figure, x, m).unwrap_or_else(|| panic!("{m}: no {figure} at {x}:\n{csv}"));
            if figure.starts_with("memory") {
                // PSS grows by pages: a difference, which may be small.
                assert!(!r[3].is_empty() && !r[4].is_empty(), "{r:?}");
            } else {
                assert!(
                    positive(r[3]) && positive(r[4]),
                    "Rust and C measured: {r:?}"
                );
            }
        }
        // Some calls race, and happen in one run and not in the next, in
        // either twin: the reaper's sem_post wakes the reaper only if it
        // already sleeps, its sem_wait sleeps only if nothing was posted
        // yet, and its pthread_join waits only if the worker has not yet
        // exited (three calls a connection at most). A pool's hand-over,
        // preforked children that queue for a lock (fcntl, a
        // process-shared mutex) or wake on epoll (EPOLLEXCLUSIVE wakes
        // "one or more", epoll_ctl(2)), and prethreaded threads behind a
        // mutex (glibc's is not fair: the thread that has just served may
        // take it back before the one it woke runs) race the same way,
        // by a wait and its wake-up. Idle, a call or two in 200
        // connections differs; on a loaded machine, nearly one in each.
        // `make compare`'s session, settled at every step, makes the same
        // calls every run: there they must be equal.
        let model = server.model().unwrap();
        let wake_race = matches!(
            model.worker,
            harness::Worker::Prefork(c)
                if c.queued_in.is_some() || c.idle_in == harness::Call::EpollWait
        ) || matches!(model.worker, harness::Worker::Prethread(_));
        let racing = model.pool.is_some() || wake_race;
        let conn = row(report::SYSCALLS_CONN.id, 0, m).unwrap();
        let (rust, c): (f64, f64) = (conn[3].parse().unwrap(), conn[4].parse().unwrap());
        let per_conn = if racing { 3.0 } else { 0.0 };
        assert!(
            (rust - c).abs() <= per_conn,
            "Rust and C make the same system calls per connection (within {per_conn}): {conn:?}"
        );
        // A race is a connection's: over 200 round trips it is a few
        // hundredths of a call each.
        let trip = row(report::SYSCALLS_RT.id, 0, m).unwrap();
        let ratio: f64 = trip[10].parse().unwrap();
        let tolerance = if racing { 0.02 } else { 0.0 };
        assert!(
            (ratio - 1.0).abs() <= tolerance,
            "Rust and C make the same system calls per round trip: {trip:?}"
        );
    }
    // The reference servers, beside every model.
    for (figure, x) in [
        (report::ROUND_TRIPS.id, 100),
        (report::CPU.id, 100),
        (report::CONN_RATE.id, 8),
        (report::INSTR_RT.id, 0),
    ] {
        let r = rows
            .iter()
            .find(|r| r[0] == figure && r[1] == x.to_string())
            .unwrap_or_else(|| panic!("no {figure} at {x}:\n{csv}"));
        assert!(
            r[5..10].iter().all(|v| positive(v)),
            "std, tokio-st, tokio-mt, monoio and the floor measured: {r:?}"
        );
    }
    // Where the busy connections of a server of several tasks fell: the
    // pool's acceptor holds none, its workers all four, each tied.
    let pool = table
        .split_once("\n- pool (Rust):\n")
        .and_then(|(_, rest)| {
            rest.lines()
                .take_while(|l| l.starts_with("  - "))
                .find_map(|l| l.strip_prefix("  - N = 100, run 1: "))
        })
        .unwrap_or_else(|| panic!("the pool's balance at N = 100: {table}"));
    let counts: Vec<usize> = pool
        .split_once(" active: ")
        .and_then(|(_, r)| r.split_once(" ("))
        .map(|(c, _)| c.split(" · ").filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    assert!(
        pool.starts_with("4 active: ")
            && counts.len() == 3
            && counts[0] == 0
            && counts.iter().sum::<usize>() == 4
            && !pool.contains("not tied"),
        "{pool}"
    );
    // A chart per figure, each a whole SVG document.
    let svgs = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("svg".as_ref()))
        .count();
    assert_eq!(svgs, FIGURES.len(), "one chart per figure");
    for f in FIGURES {
        let svg = std::fs::read_to_string(out.join(format!("{}.svg", f.id))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{}",
            f.id
        );
        assert!(svg.contains("<text") && svg.contains("<rect"), "{}", f.id);
    }
}

/// `make explain-NAME`: the tool answers `--help`, refuses a wrong
/// argument, and explains the client in three columns, writing its page.
#[test]
fn explain_prints_three_columns_and_writes_the_page() {
    let explain = env!("CARGO_BIN_EXE_explain");
    let help = Command::new(explain).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).starts_with("usage: explain "));
    let wrong = Command::new(explain)
        .arg("--no-such-option")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(text(&wrong.stderr).contains("usage: "));

    let dir = scratch!("tools/explain");
    let run = Command::new(explain)
        .arg("--dir")
        .arg(&dir)
        .arg("client")
        .output()
        .expect("run explain");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let out = text(&run.stdout);
    let row = out
        .lines()
        .find(|l| l.contains("connect(3, {…}, 16) = 0"))
        .unwrap_or_else(|| panic!("no connect row:\n{out}"));
    assert!(
        row.starts_with("client.c:") && row.contains("client.rs:"),
        "{row}"
    );
    assert!(dir.join("client.html").exists());
}

/// The CPU time per connection is counted by a control group, which keeps
/// the time of processes that ended: a child that burns CPU time in the
/// group and exits is still in the group's count once it is reaped.
#[test]
fn the_cpu_group_counts_a_process_that_ended() {
    use harness::tools::bench::measure::CpuGroup;
    use std::io::Write;
    let group = match CpuGroup::new(&format!("concserv-test-{}", std::process::id())) {
        Ok(g) => g,
        Err(e) => return harness::testing::cannot_run(&e),
    };
    let mut child = Command::new("sh")
        .args([
            "-c",
            "read go; i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    group.add_tree(child.id() as i32).unwrap();
    let before = group.usage_ns().unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(child.wait().unwrap().success());
    let spent = group.usage_ns().unwrap() - before;
    assert!(
        spent > 20_000_000,
        "a loop of 300,000 shell steps, ended: {spent} ns counted"
    );
}

/// `busy`, behind `make test-loaded`: while the command runs, a spinning
/// process per core asked for, each running (`R`); its exit status passed
/// on; no spinner left once it ends.
#[test]
fn busy_spins_beside_a_command_and_stops_with_it() {
    // Polls (at most 5 s) until both spinners run, then lists them.
    let script = "for i in $(seq 100); do \
        n=$(ps --ppid $PPID -o stat=,args= | grep -c '^R.*busy --spin'); \
        [ \"$n\" = 2 ] && break; sleep 0.05; done; \
        ps --ppid $PPID -o pid=,stat=,args=; exit 3";
    let out = Command::new(env!("CARGO_BIN_EXE_busy"))
        .args(["--spinners", "2", "--", "sh", "-c", script])
        .output()
        .expect("run busy");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    let spinners: Vec<Vec<&str>> = listed
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.last() == Some(&"--spin"))
        .collect();
    assert_eq!(spinners.len(), 2, "{listed}");
    for w in &spinners {
        assert!(w[1].starts_with('R'), "not running: {listed}");
        let pid = w[0];
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "spinner {pid} left running"
        );
    }
}
