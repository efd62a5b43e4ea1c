//! `make bench`: each server of the table, Rust and C, and the reference
//! servers a Rust programmer would pick instead (std, tokio on both
//! runtimes), measured in one run, runs alternating between the servers.
//! Cost curves over N connections open (round trips per second, latency,
//! server CPU time per round trip, memory per idle connection), the
//! connection rate, and the counted figures (system calls, instructions);
//! medians with their run-to-run spread, as a markdown table with Rust/C
//! and Rust/tokio ratios, also written to `results.md` and `results.csv`,
//! and a chart per figure (`FIGURE.svg`).

pub mod balance;
pub mod chart;
pub mod format;
pub mod goals;
pub mod lifecycle;
pub mod load;
pub mod measure;
pub mod options;
pub use options::{FULL_CONNS, Options, QUICK_CONNS, RATE_CLIENTS};
pub mod progress;
pub mod render;
pub mod results;

use crate::base::{holders, procfs};
use crate::{Model, Result, Worker};
use lifecycle::{Bench, Measured, Server};
use progress::Progress;
use render::Run;
use results::{Limit, Results, Side};
use std::fs;
use std::net::TcpStream;
use std::time::Instant;

/// Below this many connections, memory per connection is lost in the
/// page granularity of the measure: not reported.
const MEMORY_FROM: usize = 100;

/// The std reference server's model: a thread per connection.
pub const STD_MODEL: Model = Model {
    main_idle_in: crate::Call::Accept,
    worker: Worker::Thread,
    spawn: Some("clone3"),
    pool: None,
    leaves_zombies: false,
    holds: None,
};

/// The most clients a model serves at once, if the table says so.
pub fn max_clients(model: Option<&Model>) -> Option<usize> {
    model?.holds
}

/// Raises the soft limit of open descriptors to the hard one (the
/// servers, started from here, inherit it); returns it.
pub fn raise_nofile() -> Result<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: r is an rlimit for getrlimit(2) to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
    }
    let mut want = r.rlim_max;
    if want == libc::RLIM_INFINITY {
        // The soft limit may not be infinite: the kernel's ceiling instead.
        want = fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1 << 20);
    }
    if r.rlim_cur < want {
        r.rlim_cur = want;
        // SAFETY: r is a valid rlimit, its soft limit within the hard one.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
            return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(r.rlim_cur)
}

/// Planned seconds of one curve point and of the counted figures, for the
/// time left.
fn curve_cost(o: &Options, n: usize) -> f64 {
    o.secs + 0.4 + n as f64 * 4e-4
}
const COUNTED_COST: f64 = 12.0;
/// Planned seconds of one run of the CPU time per connection.
const CPU_CONN_COST: f64 = 1.0;

/// Runs the benchmark; writes the markdown table, the CSV and the charts;
/// returns the summary, which fits [`render::SUMMARY_WIDTH`] columns.
pub fn run(o: &Options) -> Result<String> {
    let started = Instant::now();
    let nofile = raise_nofile()?;
    lifecycle::kill_server_on_signals();
    let mut o_fit = Options {
        conns: Vec::new(),
        only: o.only.clone(),
        out: o.out.clone(),
        rust: o.rust.clone(),
        c: o.c.clone(),
        ..*o
    };
    for &n in &o.conns {
        // The load generator holds n sockets, and a few more of its own.
        if n as u64 + 64 > nofile {
            eprintln!("bench: N = {n} skipped: RLIMIT_NOFILE's hard limit is {nofile}");
        } else {
            o_fit.conns.push(n);
        }
    }
    let o = &o_fit;
    let bench = Bench::new(o)?;
    let mut results = Results::default();
    for s in &bench.servers {
        if let Some(m) = max_clients(s.model) {
            results.limits.push(Limit {
                server: s.short.to_string(),
                side: s.side,
                holds: m,
                why: match m {
                    1 => "its model serves one client at a time".into(),
                    m if matches!(s.model.map(|m| m.worker), Some(Worker::Prefork(_))) => {
                        format!("its model serves {m} at a time (its children)")
                    }
                    m if matches!(s.model.map(|m| m.worker), Some(Worker::Prethread(_))) => {
                        format!("its model serves {m} at a time (its threads)")
                    }
                    m => format!("its model serves {m} at a time (its slots)"),
                },
            });
        }
    }
    let sides = bench.servers.len() as f64;
    let planned = o.reps as f64
        * sides
        * (o.conns.iter().map(|&n| curve_cost(o, n)).sum::<f64>()
            + RATE_CLIENTS.len() as f64 * (o.secs + 0.3)
            + CPU_CONN_COST)
        + sides * COUNTED_COST;
    let mut progress = Progress::new(planned);
    progress.say(&format!(
        "{} servers; N = {:?} connections, {} active; {} runs of {} s per timed figure",
        bench.servers.len(),
        o.conns,
        o.active,
        o.reps,
        o.secs
    ));
    curves(&bench, o, &mut results, &mut progress);
    rates(&bench, o, &mut results, &mut progress);
    cpu_per_connection(&bench, o, &mut results, &mut progress);
    counted(&bench, &mut results, &mut progress);
    progress.finish();

    let models: Vec<&str> = bench
        .servers
        .iter()
        .filter(|s| s.side == Side::Rust)
        .map(|s| s.short)
        .collect();
    let run = Run {
        o,
        took: started.elapsed().as_secs_f64(),
        nofile,
    };
    let (md, csv) = render::render(&results, &models, &run);
    fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    fs::write(o.out.join("results.md"), &md).map_err(|e| e.to_string())?;
    fs::write(o.out.join("results.csv"), &csv).map_err(|e| e.to_string())?;
    let charts = chart::draw_all(&results, &bench.servers, &o.out)?;
    eprintln!(
        "bench: written to {}: results.md, results.csv and {} charts",
        o.out.display(),
        charts.len()
    );
    let mut summary = render::summary(&results, &models, o, &md);
    let whole = o.out.join("results.md");
    summary.push_str(&format!(
        "\nThe whole table, with each figure's run-to-run spread:\n  {}\n",
        whole.display()
    ));
    if !results.failures.is_empty() {
        eprint!("{summary}");
        return Err(format!(
            "{} steps failed (listed in {}/results.md): {}",
            results.failures.len(),
            o.out.display(),
            results.failures.join("; ")
        ));
    }
    Ok(summary)
}

/// The servers in the order of run `rep`: the table's, and reversed in
/// every other run, so that no server always runs just after another (a
/// server's run may leave the kernel warmer, or busier, for the next).
fn in_turn(servers: &[Measured], rep: usize) -> Box<dyn Iterator<Item = &Measured> + '_> {
    if rep % 2 == 1 {
        Box::new(servers.iter())
    } else {
        Box::new(servers.iter().rev())
    }
}

/// A step that failed: said now, listed in the report, and the run goes
/// on; the tool exits with an error at the end.
fn fail(results: &mut Results, progress: &mut Progress, what: String) {
    progress.say(&format!("FAILED: {what}"));
    results.failures.push(what);
}

/// The curves: for each N, each server started afresh, N connections
/// opened and kept, memory taken, then the active ones timed. Runs
/// alternate between the servers, N by N, repetition by repetition, the
/// servers' order reversed every other repetition.
fn curves(bench: &Bench, o: &Options, results: &mut Results, progress: &mut Progress) {
    for rep in 1..=o.reps {
        for &n in &o.conns {
            for s in in_turn(&bench.servers, rep) {
                let cost = curve_cost(o, n);
                if results.limit(s.short, s.side).is_some_and(|l| n > l.holds) {
                    progress.skip(cost);
                    continue;
                }
                progress.step(
                    &format!("run {rep}/{}: {} with N = {n}", o.reps, s.name()),
                    cost,
                );
                match curve_point(s, o, (n, rep), results) {
                    Ok(Ok(())) => {}
                    Ok(Err(limit)) => {
                        // Not a limit the table declares (those are never
                        // exceeded): a server that stops early has failed.
                        // Bigger Ns are skipped.
                        let what = format!(
                            "{} stopped at {} connections, below N = {n}: {}",
                            s.name(),
                            limit.holds,
                            limit.why
                        );
                        results.limits.push(limit);
                        fail(results, progress, what);
                    }
                    Err(e) => fail(results, progress, format!("{} with N = {n}: {e}", s.name())),
                }
            }
        }
    }
}

/// One server at one N, in run `rep`; Ok(Err(limit)) when it does not
/// hold N connections. The active connections are drawn with the run's
/// number as the seed: the same set for every server of a run, another
/// in each run.
fn curve_point(
    s: &Measured,
    o: &Options,
    (n, rep): (usize, usize),
    results: &mut Results,
) -> Result<std::result::Result<(), Limit>> {
    let server = Server::start(s, &[])?;
    let pid = server.pid();
    let pss_before = measure::tree_pss_kb(pid);
    let open = match load::open(server.target(), n) {
        Ok(open) => open,
        Err(refused) => {
            server.stop()?;
            return Ok(Err(Limit {
                server: s.short.to_string(),
                side: s.side,
                holds: refused.opened.streams.len(),
                why: refused.why,
            }));
        }
    };
    if n >= MEMORY_FROM {
        let pss = measure::tree_pss_kb(pid);
        let per = (pss as f64 - pss_before as f64) / n as f64;
        results.add(&results::MEMORY, n, s.short, s.side, per);
    }
    let active = open.draw(o.active.min(n), rep as u64);
    let held_by = held_by(&server, &active, n);
    let cpu_before = measure::CpuSample::take(pid);
    let rt =
        load::round_trips(&active, s.echo(), o.secs).map_err(|e| format!("{}: {e}", s.name()))?;
    let spent = cpu_before.by_task(&measure::CpuSample::take(pid))?;
    server.stop()?;
    drop(open);
    results.add(&results::ROUND_TRIPS, n, s.short, s.side, rt.per_sec);
    results.add(&results::P50, n, s.short, s.side, rt.p50_us);
    results.add(&results::P99, n, s.short, s.side, rt.p99_us);
    let cpu_us = spent.values().sum::<u64>() as f64 / 1000.0 / rt.count as f64;
    results.add(&results::CPU, n, s.short, s.side, cpu_us);
    // A task per connection, by design, shares nothing: not listed.
    let shared = s
        .model
        .is_none_or(|m| !matches!(m.worker, Worker::Main | Worker::Child | Worker::Thread));
    if shared {
        let at = (s.short, s.side, n, rep);
        results
            .balances
            .extend(balance::Balance::new(&spent, &held_by, at));
    }
    Ok(Ok(()))
}

/// The task of the tree of `pid` that holds each of the `active`
/// connections, read once the server is at rest; None where no single
/// task can be named, for a server of one task or of a task per
/// connection (see [`balance::MOST_TASKS`]), for a runtime, and where
/// /proc could not tell (said on stderr).
fn held_by(server: &Server, active: &[&TcpStream], n: usize) -> Vec<Option<(i32, i32)>> {
    let pid = server.pid();
    let tasks: usize = procfs::tree(pid)
        .iter()
        .map(|&p| procfs::tasks(p).len())
        .sum();
    let none = vec![None; active.len()];
    // A runtime's tasks (tokio's) own no connection: any worker may
    // serve any ready one, and only its driver's thread waits on them.
    if server
        .measured
        .model
        .is_none_or(|m| matches!(m.worker, Worker::Main | Worker::Child | Worker::Thread))
        || !(2..=balance::MOST_TASKS).contains(&tasks)
    {
        return none;
    }
    let ports: Vec<u16> = active
        .iter()
        .filter_map(|s| s.local_addr().ok().map(|a| a.port()))
        .collect();
    let tied = server
        .serving(n)
        .and_then(|()| holders::holders(pid, server.port, &ports));
    match tied {
        Ok(map) => ports
            .iter()
            .map(|p| map.get(p).and_then(|h| h.task()).map(Into::into))
            .collect(),
        Err(e) => {
            eprintln!("bench: which task holds each active connection: {e}");
            none
        }
    }
}

/// Connections per second, 1 and 8 clients, runs alternating.
fn rates(bench: &Bench, o: &Options, results: &mut Results, progress: &mut Progress) {
    for rep in 1..=o.reps {
        for clients in RATE_CLIENTS {
            for s in in_turn(&bench.servers, rep) {
                let cost = o.secs + 0.3;
                if max_clients(s.model).is_some_and(|m| clients > m) {
                    progress.skip(cost);
                    continue;
                }
                progress.step(
                    &format!(
                        "run {rep}/{}: {} connecting, {clients} clients",
                        o.reps,
                        s.name()
                    ),
                    cost,
                );
                let rate = Server::start(s, &[]).and_then(|server| {
                    let rate = load::connection_rate(server.target(), clients, o.secs);
                    server.stop()?;
                    rate
                });
                match rate {
                    Ok(rate) => results.add(&results::CONN_RATE, clients, s.short, s.side, rate),
                    Err(e) => fail(
                        results,
                        progress,
                        format!("{} connecting, {clients} clients: {e}", s.name()),
                    ),
                }
            }
        }
    }
}

/// Server CPU time per connection (UNP's figure 30.1 compares its designs
/// by it), runs alternating.
fn cpu_per_connection(bench: &Bench, o: &Options, results: &mut Results, progress: &mut Progress) {
    for rep in 1..=o.reps {
        for s in in_turn(&bench.servers, rep) {
            progress.step(
                &format!(
                    "run {rep}/{}: {}, CPU time per connection",
                    o.reps,
                    s.name()
                ),
                CPU_CONN_COST,
            );
            match measure::cpu_per_connection(s, measure::CPU_CONN_COUNT) {
                Ok(us) => results.add(&results::CPU_CONN, 0, s.short, s.side, us),
                Err(e) => fail(
                    results,
                    progress,
                    format!("{}, CPU time per connection: {e}", s.name()),
                ),
            }
        }
    }
}

/// Memory at start, system calls and instructions per connection and per
/// round trip, sizes.
fn counted(bench: &Bench, results: &mut Results, progress: &mut Progress) {
    for s in &bench.servers {
        progress.step(
            &format!(
                "{}: system calls (strace), instructions (callgrind)",
                s.name()
            ),
            COUNTED_COST,
        );
        let mut one = |f, v| results.add(f, 0, s.short, s.side, v);
        let syscalls = measure::syscalls(s).map(|(conn, trip)| {
            one(&results::SYSCALLS_CONN, conn);
            one(&results::SYSCALLS_RT, trip);
        });
        let busy = measure::syscalls_busy(s).map(|trip| one(&results::SYSCALLS_RT_BUSY, trip));
        let instructions = measure::instructions(s).map(|(conn, trip)| {
            one(&results::INSTR_CONN, conn);
            one(&results::INSTR_RT, trip);
        });
        // Memory at start: every server, whatever N it holds.
        let at_start = Server::start(s, &[]).and_then(|server| {
            let kb = measure::tree_pss_kb(server.pid());
            server.stop()?;
            one(&results::MEMORY_START, kb as f64);
            Ok(())
        });
        let sizes = measure::sizes(s).map(|(built, stripped)| {
            one(&results::SIZE, built);
            one(&results::SIZE_STRIPPED, stripped);
        });
        for (what, r) in [
            ("memory at start", at_start),
            ("system calls", syscalls),
            ("system calls with 10 clients busy", busy),
            ("instructions", instructions),
            ("sizes", sizes),
        ] {
            if let Err(e) = r {
                fail(results, progress, format!("{}, {what}: {e}", s.name()));
            }
        }
    }
}
