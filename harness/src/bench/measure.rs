//! The figures counted rather than timed: system calls (strace -c) and
//! instructions (callgrind) per connection, memory per connection, and the
//! size of the program.

use super::lifecycle::{Measured, Server, remove, scratch};
use super::load;
use crate::{Result, Worker, procfs};
use std::fs;
use std::path::Path;
use std::process::Command;

/// Connections counted for system calls, and for instructions (callgrind is slow).
const SYSCALL_CONNS: usize = 200;
const CALLGRIND_CONNS: usize = 50;
/// Idle clients held open to measure memory per connection.
const IDLE: usize = 100;

/// The difference between `conns` connections and none, divided by
/// `conns`: each connection closes only once the server serves it and
/// waits, and the next starts once the server has settled, so that every
/// connection makes the same calls.
fn per_connection(
    s: &Measured,
    conns: usize,
    wrapper: impl Fn(&Path) -> Vec<String>,
    count: impl Fn(&Path) -> Result<f64>,
) -> Result<f64> {
    let mut totals = Vec::new();
    for (i, n) in [0, conns].into_iter().enumerate() {
        let dir = scratch(&i.to_string())?;
        let server = Server::start(s, &wrapper(&dir))?;
        for id in 0..n {
            load::connection(server.port, id, || server.serving(1))?;
            server.serving(0)?;
        }
        server.stop()?;
        totals.push(count(&dir)?);
        remove(&dir);
    }
    Ok((totals[1] - totals[0]) / conns as f64)
}

/// System calls, all tasks together, from `strace -f -c`'s total line.
pub fn syscalls(s: &Measured) -> Result<f64> {
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
    per_connection(s, SYSCALL_CONNS, wrapper, count)
}

/// Instructions, all processes together, from callgrind's totals. A forked
/// child inherits its parent's counts: zeroed where the child's own work
/// starts, or the parent's start-up would be counted once per connection.
pub fn instructions(s: &Measured) -> Result<f64> {
    let wrapper = |dir: &Path| {
        let out = format!("--callgrind-out-file={}/cg.%p", dir.display());
        let mut w: Vec<String> = ["valgrind", "--tool=callgrind", "--log-file=/dev/null", &out]
            .map(String::from)
            .to_vec();
        if s.model.worker == Worker::Child {
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
    per_connection(s, CALLGRIND_CONNS, wrapper, count)
}

/// kB per connection with IDLE clients connected (or as many as the model
/// serves at once): the PSS of each child of a process server, or the RSS
/// the server grows by per connection.
pub fn memory(s: &Measured) -> Result<f64> {
    let idle = super::max_clients(s.model).unwrap_or(IDLE).min(IDLE);
    let server = Server::start(s, &[])?;
    let before = procfs::kb(server.pid(), "status", "VmRSS").ok_or("no VmRSS")?;
    let mut conns = Vec::new();
    for id in 0..idle {
        let mut c = crate::client::Conn::to(server.port)?;
        c.check(format!("idle {id:>10}\n").as_bytes())?;
        conns.push(c);
    }
    server.serving(idle)?;
    let kb = if s.model.worker == Worker::Child {
        let pss: Vec<u64> = procfs::live_children(server.pid())
            .iter()
            .filter_map(|&c| procfs::kb(c, "smaps_rollup", "Pss"))
            .collect();
        pss.iter().sum::<u64>() as f64 / pss.len().max(1) as f64
    } else {
        let after = procfs::kb(server.pid(), "status", "VmRSS").ok_or("no VmRSS")?;
        (after as f64 - before as f64) / idle as f64
    };
    drop(conns);
    server.stop()?;
    Ok(kb)
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
