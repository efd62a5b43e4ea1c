//! The figures counted rather than timed: system calls (strace -c) and
//! instructions (callgrind) per connection and per round trip, and the size
//! of the program; and what /proc says of a server's whole process tree:
//! its CPU time in nanoseconds, its memory.

use super::lifecycle::{Measured, Server, remove, scratch};
use super::load;
use crate::{Result, Worker, procfs};
use std::fs;
use std::path::Path;
use std::process::Command;

/// Connections (and round trips on one connection) counted for system
/// calls, and for instructions (callgrind is slow).
const SYSCALL_COUNT: usize = 200;
const CALLGRIND_COUNT: usize = 50;

/// Per connection and per round trip, from three counted runs: none; `n`
/// connections of one round trip each; one connection of 1 + `n` round
/// trips. Each round trip is followed by a wait until the server waits
/// again, each connection's close by a wait until it has settled, so that
/// every connection and every round trip makes the same calls. Per
/// connection (its one round trip included) is the second run less the
/// first, over `n`; per round trip, the third less the first and one
/// connection, over `n`.
fn per_connection_and_trip(
    s: &Measured,
    n: usize,
    wrapper: impl Fn(&Path) -> Vec<String>,
    count: impl Fn(&Path) -> Result<f64>,
) -> Result<(f64, f64)> {
    let mut totals = Vec::new();
    for (i, (conns, trips)) in [(0, 0), (n, 1), (1, 1 + n)].into_iter().enumerate() {
        let dir = scratch(&i.to_string())?;
        let server = Server::start(s, &wrapper(&dir))?;
        for id in 0..conns {
            load::connection(server.port, id, trips, || server.serving(1))?;
            server.serving(0)?;
        }
        server.stop()?;
        totals.push(count(&dir)?);
        remove(&dir);
    }
    let conn = (totals[1] - totals[0]) / n as f64;
    let trip = (totals[2] - totals[0] - conn) / n as f64;
    Ok((conn, trip))
}

/// System calls per connection and per round trip, all tasks together,
/// from `strace -f -c`'s total line.
pub fn syscalls(s: &Measured) -> Result<(f64, f64)> {
    let wrapper = |dir: &Path| {
        let out = dir.join("strace.txt").display().to_string();
        ["strace", "-f", "-c", "-o", &out]
            .map(String::from)
            .to_vec()
    };
    let count = |dir: &Path| -> Result<f64> {
        let text = fs::read_to_string(dir.join("strace.txt")).map_err(|e| e.to_string())?;
        let total = text
            .lines()
            .find(|l| l.trim_end().ends_with("total"))
            .ok_or("no strace total")?;
        total
            .split_whitespace()
            .nth(3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("bad total: {total}"))
    };
    per_connection_and_trip(s, SYSCALL_COUNT, wrapper, count)
}

/// Instructions per connection and per round trip, all processes together,
/// from callgrind's totals. A forked
/// child inherits its parent's counts: zeroed where the child's own work
/// starts, or the parent's start-up would be counted once per connection.
pub fn instructions(s: &Measured) -> Result<(f64, f64)> {
    let wrapper = |dir: &Path| {
        let out = format!("--callgrind-out-file={}/cg.%p", dir.display());
        let mut w: Vec<String> = ["valgrind", "--tool=callgrind", "--log-file=/dev/null", &out]
            .map(String::from)
            .to_vec();
        if s.model.is_some_and(|m| m.worker == Worker::Child) {
            w.push("--zero-before=*echo_upper*".into());
        }
        w
    };
    let count = |dir: &Path| -> Result<f64> {
        let mut sum = 0.0;
        for e in fs::read_dir(dir).map_err(|e| e.to_string())? {
            let text = fs::read_to_string(e.map_err(|e| e.to_string())?.path())
                .map_err(|e| e.to_string())?;
            let totals = text
                .lines()
                .find_map(|l| l.strip_prefix("totals: "))
                .ok_or("no callgrind totals")?;
            sum += totals.trim().parse::<f64>().map_err(|e| e.to_string())?;
        }
        Ok(sum)
    };
    per_connection_and_trip(s, CALLGRIND_COUNT, wrapper, count)
}

/// The server and every process under it.
pub fn tree(pid: i32) -> Vec<i32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        all.extend(procfs::children(all[i]));
        i += 1;
    }
    all
}

/// CPU time of every task of the tree, user and system, in nanoseconds:
/// the first field of /proc/PID/task/TID/schedstat, the scheduler's own
/// count, where /proc/PID/stat has 10 ms clock ticks. Tasks that ended are
/// not in it: take differences over windows in which none ends.
pub fn tree_cpu_ns(pid: i32) -> u64 {
    tree(pid)
        .into_iter()
        .flat_map(|p| procfs::tasks(p).into_iter().map(move |t| (p, t)))
        .filter_map(|(p, t)| {
            fs::read_to_string(format!("/proc/{p}/task/{t}/schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// The proportional set size of the whole tree, in kB: every page a
/// process maps, divided among the processes that share it.
pub fn tree_pss_kb(pid: i32) -> u64 {
    tree(pid)
        .into_iter()
        .filter_map(|p| procfs::kb(p, "smaps_rollup", "Pss"))
        .sum()
}

/// The program's size in bytes, as built and stripped.
pub fn sizes(s: &Measured) -> Result<(f64, f64)> {
    let built = fs::metadata(&s.exe).map_err(|e| e.to_string())?.len();
    let tmp = std::env::temp_dir().join(format!("concserv-strip-{}", std::process::id()));
    let ok = Command::new("strip")
        .arg("-o")
        .arg(&tmp)
        .arg(&s.exe)
        .status()
        .is_ok_and(|st| st.success());
    let stripped = if ok {
        fs::metadata(&tmp).map_err(|e| e.to_string())?.len()
    } else {
        0
    };
    let _ = fs::remove_file(&tmp);
    Ok((built as f64, stripped as f64))
}
