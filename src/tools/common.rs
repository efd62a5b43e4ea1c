//! What `trace_compare` and `bench` share (each includes it with
//! `#[path]`): what they read from /proc, polled against a deadline, and the
//! process groups they start servers in.
#![allow(dead_code)]

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A program started with no input and its output discarded, in a process
/// group of its own, which is killed whole (children too) on drop.
pub struct Group(Child);

impl Group {
    pub fn spawn(mut cmd: Command) -> Result<Group, String> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        Ok(Group(child))
    }

    /// The pid of the program started (the group's leader).
    pub fn id(&self) -> i32 {
        self.0.id() as i32
    }

    /// Whether the program started has exited (and is reaped).
    pub fn exited(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: kill(2) takes no pointers; the group is the one spawn made.
        unsafe { libc::kill(-self.id(), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

pub const DEADLINE: Duration = Duration::from_secs(30);

/// x86_64 system call numbers, as /proc/PID/syscall shows them.
pub const SYS_READ: i64 = 0;
pub const SYS_ACCEPT: i64 = 43;

/// Polls `cond` until it holds; an error naming `what` after `DEADLINE`.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > DEADLINE {
            return Err(format!("timed out after {DEADLINE:?} waiting for {what}"));
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// The children of process `pid`'s main thread.
pub fn children(pid: i32) -> Vec<i32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The thread ids of process `pid`.
pub fn tasks(pid: i32) -> Vec<i32> {
    fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The system call a task is blocked in, None if it is running.
pub fn syscall(pid: i32, tid: i32) -> Option<i64> {
    fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The workers of a server: each child's main thread, each thread but the main one.
pub fn workers(pid: i32) -> Vec<(i32, i32)> {
    let mut w: Vec<(i32, i32)> = tasks(pid)
        .into_iter()
        .filter(|&t| t != pid)
        .map(|t| (pid, t))
        .collect();
    w.extend(children(pid).into_iter().map(|c| (c, c)));
    w
}

/// The child of `parent` that runs the executable `exe`, once there is one.
pub fn child_running(parent: i32, exe: &std::path::Path) -> Result<i32, String> {
    let want = fs::canonicalize(exe).map_err(|e| format!("{}: {e}", exe.display()))?;
    let mut pid = 0;
    wait_until(&format!("{} to start", exe.display()), || {
        let runs = |c: &i32| fs::read_link(format!("/proc/{c}/exe")).is_ok_and(|p| p == want);
        pid = children(parent).into_iter().find(runs).unwrap_or(0);
        pid != 0
    })?;
    Ok(pid)
}

/// A field of /proc/PID/status or smaps_rollup, in kB ("VmRSS", "Pss").
pub fn kb(pid: i32, file: &str, field: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
