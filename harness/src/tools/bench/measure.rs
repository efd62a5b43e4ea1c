//! The figures counted rather than timed: system calls (strace -c) and
//! instructions (callgrind) per connection and per round trip, and the size
//! of the program; what /proc says of a server's whole process tree: its
//! CPU time in nanoseconds, its memory; and what a control group counts of
//! it: the CPU time of a connection, ended processes and threads included.

use super::lifecycle::{Measured, Server};
use super::load;
use crate::base::dir::{remove, scratch};
use crate::base::procfs::{self, tree};
use crate::{Result, Worker};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

/// The name of a scratch directory for one counted run.
fn bench_dir(name: &str) -> String {
    format!("concserv-bench-{}-{name}", std::process::id())
}

/// Connections (and round trips on one connection) counted for system
/// calls, and for instructions (callgrind is slow).
const SYSCALL_COUNT: usize = 200;
const CALLGRIND_COUNT: usize = 50;
/// Connections one after another for the CPU time per connection.
pub const CPU_CONN_COUNT: usize = 100;

/// Per connection and per round trip, from three counted runs: none; `n`
/// connections of one round trip each; one connection of 1 + `n` round
/// trips. Each round trip is followed by a wait until the server waits
/// again, each connection's close by a wait until it has settled, so that
/// every connection and every round trip makes the same calls. Per
/// connection (its one round trip included) is the second run less the
/// first, over `n`; per round trip, the third less the first and one
/// connection, over `n`. `count` may count several things of a run: a
/// (connection, round trip) pair for each.
fn per_connection_and_trip(
    s: &Measured,
    n: usize,
    wrapper: impl Fn(&Path) -> Vec<String>,
    count: impl Fn(&Path) -> Result<Vec<f64>>,
) -> Result<Vec<(f64, f64)>> {
    let mut totals = Vec::new();
    for (i, (conns, trips)) in [(0, 0), (n, 1), (1, 1 + n)].into_iter().enumerate() {
        let dir = scratch(&std::env::temp_dir(), &bench_dir(&i.to_string()))?;
        let server = Server::start(s, &wrapper(&dir))?;
        for id in 0..conns {
            load::connection(server.target(), id, trips, || server.serving(1))?;
            server.serving(0)?;
        }
        server.stop()?;
        totals.push(count(&dir)?);
        remove(&dir);
    }
    Ok((0..totals[0].len())
        .map(|k| {
            let conn = (totals[1][k] - totals[0][k]) / n as f64;
            let trip = (totals[2][k] - totals[0][k] - conn) / n as f64;
            (conn, trip)
        })
        .collect())
}

/// The one pair of a count of one thing.
fn one(pairs: Vec<(f64, f64)>) -> (f64, f64) {
    pairs[0]
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
    let count = |dir: &Path| -> Result<Vec<f64>> {
        let text = fs::read_to_string(dir.join("strace.txt")).map_err(|e| e.to_string())?;
        let total = text
            .lines()
            .find(|l| l.trim_end().ends_with("total"))
            .ok_or("no strace total")?;
        let calls = total
            .split_whitespace()
            .nth(3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("bad total: {total}"))?;
        Ok(vec![calls])
    };
    per_connection_and_trip(s, SYSCALL_COUNT, wrapper, count).map(one)
}

/// Clients at once, and round trips each, for [`syscalls_busy`].
pub const BUSY_CLIENTS: usize = 10;
const BUSY_TRIPS: usize = 200;

/// System calls per round trip with [`BUSY_CLIENTS`] clients making round
/// trips at once, from `strace -f -c`'s total: two runs, each client making
/// one round trip, then 1 + [`BUSY_TRIPS`]; the difference over the extra
/// round trips. A server that serves each connection on its own (a task
/// per client) makes the same calls per round trip as with one client; an
/// event loop may serve several clients ready at once per wait, and an
/// io_uring carries several clients' operations in one call. strace slows
/// every call the server makes, so more clients are ready at each: the
/// batches are larger than they would be untraced.
pub fn syscalls_busy(s: &Measured) -> Result<f64> {
    let mut totals = Vec::new();
    for (i, trips) in [1, 1 + BUSY_TRIPS].into_iter().enumerate() {
        let dir = scratch(&std::env::temp_dir(), &bench_dir(&format!("busy{i}")))?;
        let out = dir.join("strace.txt").display().to_string();
        let wrapper = ["strace", "-f", "-c", "-o", &out].map(String::from);
        let server = Server::start(s, &wrapper)?;
        let target = server.target();
        std::thread::scope(|sc| {
            let clients: Vec<_> = (0..BUSY_CLIENTS)
                .map(|id| sc.spawn(move || load::connection(target, id, trips, || Ok(()))))
                .collect();
            clients
                .into_iter()
                .try_for_each(|c| c.join().map_err(|_| "a client panicked".to_string())?)
        })?;
        server.serving(0)?;
        server.stop()?;
        totals.push(strace_total(&dir)?);
        remove(&dir);
    }
    Ok((totals[1] - totals[0]) / (BUSY_CLIENTS * BUSY_TRIPS) as f64)
}

/// The calls `strace -c` counted, from the total line of `dir/strace.txt`.
fn strace_total(dir: &Path) -> Result<f64> {
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
    let count = |dir: &Path| -> Result<Vec<f64>> {
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
        Ok(vec![sum])
    };
    per_connection_and_trip(s, CALLGRIND_COUNT, wrapper, count).map(one)
}

/// Writes of a connection and of a round trip, counted as system calls
/// (write, writev, send, sendto, sendmsg) that succeeded, by where they
/// went: to stdout (descriptor 1, or any other open on what descriptor 1
/// is: `/dev/null` here) and to a socket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Writes {
    pub stdout_per_conn: f64,
    pub stdout_per_trip: f64,
    pub socket_per_conn: f64,
    pub socket_per_trip: f64,
}

/// Counted as [`syscalls`] counts, over `n` connections and round trips,
/// from `strace -ff -y` (a file per task, so that no call is split by
/// another task's; each descriptor followed by what it is open on).
pub fn writes(s: &Measured, n: usize) -> Result<Writes> {
    let wrapper = |dir: &Path| {
        let out = dir.join("trace").display().to_string();
        [
            "strace",
            "-ff",
            "-y",
            "-e",
            "trace=write,writev,send,sendto,sendmsg",
            "-e",
            "signal=none",
            "-o",
            &out,
        ]
        .map(String::from)
        .to_vec()
    };
    let count = |dir: &Path| -> Result<Vec<f64>> {
        let (mut stdout, mut socket) = (0.0, 0.0);
        for e in fs::read_dir(dir).map_err(|e| e.to_string())? {
            let text = fs::read_to_string(e.map_err(|e| e.to_string())?.path())
                .map_err(|e| e.to_string())?;
            for line in text.lines() {
                match write_target(line) {
                    Some(WriteTo::Stdout) => stdout += 1.0,
                    Some(WriteTo::Socket) => socket += 1.0,
                    None => {}
                }
            }
        }
        Ok(vec![stdout, socket])
    };
    let pairs = per_connection_and_trip(s, n, wrapper, count)?;
    Ok(Writes {
        stdout_per_conn: pairs[0].0,
        stdout_per_trip: pairs[0].1,
        socket_per_conn: pairs[1].0,
        socket_per_trip: pairs[1].1,
    })
}

/// Where a traced write went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteTo {
    Stdout,
    Socket,
}

/// Where the write of one line of a task's `strace -y` trace went, if the
/// line is a write that succeeded and not to stderr.
pub fn write_target(line: &str) -> Option<WriteTo> {
    let (name, args) = line.split_once('(')?;
    if !["write", "writev", "send", "sendto", "sendmsg"].contains(&name) {
        return None;
    }
    let result = line.rsplit_once(") = ")?.1;
    if result.starts_with('-') || result.starts_with('?') {
        return None;
    }
    let fd = args.split_once(['<', ','])?.0;
    let what = args.split_once('<')?.1.split_once('>')?.0;
    if what.starts_with("TCP") || what.starts_with("socket:") {
        Some(WriteTo::Socket)
    } else if fd == "2" {
        None
    } else if fd == "1" || what == "/dev/null" {
        Some(WriteTo::Stdout)
    } else {
        None
    }
}

/// CPU time of every task of a tree at one moment: user and system, in
/// nanoseconds, the first field of /proc/PID/task/TID/schedstat (the
/// scheduler's own count, where /proc/PID/stat has 10 ms clock ticks), by
/// task.
pub struct CpuSample(BTreeMap<(i32, i32), u64>);

impl CpuSample {
    /// Every task of the tree of `pid`, now.
    pub fn take(pid: i32) -> CpuSample {
        CpuSample(crate::base::holders::task_cpu_ns(pid))
    }

    /// The CPU time the tree spent from `self` to `later`. A task that
    /// started in between is counted whole (all its time is in the
    /// window); one that ended took its time with it, which /proc no
    /// longer shows: then the window's figure would be short, and it is
    /// an error, naming the tasks, rather than a figure.
    pub fn until(&self, later: &CpuSample) -> Result<u64> {
        Ok(self.by_task(later)?.values().sum())
    }

    /// The CPU time each task spent from `self` to `later`, by (pid,
    /// tid); an error as [`CpuSample::until`] says.
    pub fn by_task(&self, later: &CpuSample) -> Result<BTreeMap<(i32, i32), u64>> {
        let ended: Vec<String> = self
            .0
            .keys()
            .filter(|k| !later.0.contains_key(k))
            .map(|(p, t)| format!("{p}/{t}"))
            .collect();
        if !ended.is_empty() {
            return Err(format!(
                "tasks ended inside the CPU time window, their time lost: {}",
                ended.join(", ")
            ));
        }
        let mut spent = BTreeMap::new();
        for (k, &ns) in &later.0 {
            let before = self.0.get(k).copied().unwrap_or(0);
            let d = ns.checked_sub(before).ok_or_else(|| {
                format!(
                    "task {}/{}: CPU time went back, {before} to {ns} ns",
                    k.0, k.1
                )
            })?;
            spent.insert(*k, d);
        }
        Ok(spent)
    }
}

/// A control group of the bench's own, which counts the CPU time of every
/// process moved into it and of every one they start, ended ones included
/// (a child the kernel reaped, a zombie, a thread gone): cgroup v1's
/// `cpuacct.usage`, or v2's `usage_usec` in `cpu.stat` (see cgroups(7)).
/// Removed when dropped, once its processes have ended.
pub struct CpuGroup {
    dir: std::path::PathBuf,
    v2: bool,
}

impl CpuGroup {
    /// A new group `name` in the first hierarchy mounted that counts CPU
    /// time and lets the bench make one; an error naming each it tried.
    pub fn new(name: &str) -> Result<CpuGroup> {
        let mounts = fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        let mut tried = Vec::new();
        for l in mounts.lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            let Some(sep) = f.iter().position(|x| *x == "-") else {
                continue;
            };
            let (mount, fstype, opts) = (f[4], f[sep + 1], f.get(sep + 3).unwrap_or(&""));
            let v2 = fstype == "cgroup2";
            let v1 = fstype == "cgroup" && opts.split(',').any(|o| o == "cpuacct");
            if !v1 && !v2 {
                continue;
            }
            let dir = Path::new(mount).join(name);
            let _ = fs::remove_dir(&dir);
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(CpuGroup { dir, v2 }),
                Err(e) => tried.push(format!("{}: {e}", dir.display())),
            }
        }
        Err(format!(
            "no control group to count CPU time in (cgroup v1 cpuacct or v2, writable): {}",
            if tried.is_empty() {
                "none is mounted".to_string()
            } else {
                tried.join("; ")
            }
        ))
    }

    /// Moves every process of the tree of `pid` into the group; those they
    /// start from then on are born in it.
    pub fn add_tree(&self, pid: i32) -> Result<()> {
        for p in tree(pid) {
            let moved = fs::write(self.dir.join("cgroup.procs"), p.to_string());
            // A process that ended meanwhile is no error.
            if let Err(e) = moved
                && procfs::stat(p).is_some_and(|s| s.state != 'Z')
            {
                return Err(format!("{}: pid {p}: {e}", self.dir.display()));
            }
        }
        Ok(())
    }

    /// The CPU time the group's processes have spent, user and system, in
    /// nanoseconds.
    pub fn usage_ns(&self) -> Result<u64> {
        let read = |f: &str| {
            fs::read_to_string(self.dir.join(f))
                .map_err(|e| format!("{}/{f}: {e}", self.dir.display()))
        };
        let parsed = if self.v2 {
            read("cpu.stat")?
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|us| us * 1000)
        } else {
            read("cpuacct.usage")?.trim().parse::<u64>().ok()
        };
        parsed.ok_or_else(|| format!("{}: no CPU time to read", self.dir.display()))
    }
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.dir);
    }
}

/// Server CPU time per connection, UNP's figure for its designs: `n`
/// connections one after another, each a connect, one 16-byte round trip
/// and a close, the server settled after each; user and system time of the
/// whole tree, as its control group counts it (children reaped, by the
/// server or by the kernel, and threads ended included), over `n`, in µs.
/// The server joins the group once settled: its start-up is not counted.
pub fn cpu_per_connection(s: &Measured, n: usize) -> Result<f64> {
    let group = CpuGroup::new(&format!("concserv-bench-{}", std::process::id()))?;
    let server = Server::start(s, &[])?;
    group.add_tree(server.pid())?;
    let before = group.usage_ns()?;
    for id in 0..n {
        load::connection(server.target(), id, 1, || server.serving(1))?;
        server.serving(0)?;
    }
    let after = group.usage_ns()?;
    server.stop()?;
    Ok(after.saturating_sub(before) as f64 / 1000.0 / n as f64)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_told_apart_by_where_they_went() {
        let t = |l| write_target(l);
        assert_eq!(
            t(r#"write(1</dev/null>, "received from 127.0.0.1 at PORT 5"..., 37) = 37"#),
            Some(WriteTo::Stdout)
        );
        assert_eq!(
            t(r#"write(4</dev/null>, "ABC", 3) = 3"#),
            Some(WriteTo::Stdout)
        );
        assert_eq!(
            t(r#"write(5<TCP:[127.0.0.1:8000->127.0.0.1:5000]>, "ABC", 3) = 3"#),
            Some(WriteTo::Socket)
        );
        assert_eq!(
            t(r#"sendto(9<socket:[1234]>, "ABC", 3, MSG_NOSIGNAL, NULL, 0) = 3"#),
            Some(WriteTo::Socket)
        );
        assert_eq!(t(r#"write(2</dev/null>, "read: x\n", 8) = 8"#), None);
        assert_eq!(
            t(r#"write(5<TCP:[1->2]>, "ABC", 3) = -1 EPIPE (Broken pipe)"#),
            None
        );
        assert_eq!(t(r#"read(5<TCP:[1->2]>, "ABC", 3) = 3"#), None);
        assert_eq!(t("+++ exited with 0 +++"), None);
    }

    fn sample(tasks: &[((i32, i32), u64)]) -> CpuSample {
        CpuSample(tasks.iter().copied().collect())
    }

    #[test]
    fn a_cpu_window_counts_new_tasks_whole_and_refuses_ended_ones() {
        let before = sample(&[((10, 10), 1_000), ((10, 11), 500)]);
        let later = sample(&[((10, 10), 1_600), ((10, 11), 500), ((12, 12), 300)]);
        assert_eq!(before.until(&later), Ok(900));
        let ended = sample(&[((10, 10), 5_000)]);
        let e = before.until(&ended).unwrap_err();
        assert!(e.contains("ended inside") && e.contains("10/11"), "{e}");
        let back = sample(&[((10, 10), 10), ((10, 11), 500)]);
        assert!(before.until(&back).unwrap_err().contains("went back"));
    }
}
