//! One frame of the view: a server's tasks, descriptors and listening
//! socket, read from /proc alone, and rendered as one line of JSON.

use crate::base::holders::{self, Holder};
use crate::base::{procfs, sockdiag, syscalls};
use crate::trace::memory;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::fs;

/// The most processes a snapshot reads: a server that forks without end
/// is shown in part.
const MAX_PROCS: usize = 2000;

/// One task of the server's tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskRow {
    pub pid: i32,
    pub tid: i32,
    /// How deep its process is in the tree: 0 for the server.
    pub depth: usize,
    /// /proc's letter: R, S, D, Z...
    pub state: char,
    /// The call it is blocked in, by name; None while it runs.
    pub syscall: Option<String>,
    /// Wake-ups per second since the last frame (voluntary context
    /// switches); None in a task's first frame.
    pub wakeups: Option<f64>,
    /// CPU time used, in milliseconds.
    pub cpu_ms: u64,
    /// The first client it serves, `127.0.0.1:41234`, and how many it serves.
    pub peer: Option<String>,
    pub peers: usize,
}

/// One open descriptor of a process of the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct FdRow {
    pub pid: i32,
    pub fd: i32,
    /// `listen :8000`, `tcp 127.0.0.1:41234`, `epoll`, `pipe`, `/dev/null`...
    pub what: String,
}

/// A frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Milliseconds since the view started.
    pub ms: u64,
    pub pid: i32,
    pub port: u16,
    pub tasks: Vec<TaskRow>,
    pub fds: Vec<FdRow>,
    /// The server's children that are zombies, anywhere in its tree.
    pub zombies: usize,
    /// Connections in the accept queue, and its size.
    pub queued: usize,
    pub backlog: usize,
    /// Established connections to the port.
    pub clients: usize,
    /// Connections accepted so far, at least: /proc keeps no count of a
    /// socket's accepts, and one reset between two frames leaves no trace.
    pub accepted: usize,
    /// Coroutines alive, read from the server's memory (its `co_live`),
    /// for a server that keeps that count.
    pub coroutines: Option<i32>,
    /// How the server ended, once it has.
    pub ended: Option<String>,
}

/// What the last frame counted of each task: its context switches, for
/// the wake-ups per second of the next.
#[derive(Default)]
pub struct Previous {
    switches: BTreeMap<(i32, i32), u64>,
    ms: u64,
    /// The connections accepted: how many; the open ones' inodes, and
    /// client ports until they close; when each closed one's TIME_WAIT
    /// ends, by client port, in milliseconds since the view began.
    accepted: usize,
    inodes: BTreeSet<u64>,
    open: BTreeSet<u16>,
    closed: BTreeMap<u16, u64>,
}

/// The tree of `pid` depth first, each process with its depth; at most
/// [`MAX_PROCS`] of them, and none twice.
fn tree(pid: i32) -> Vec<(i32, usize)> {
    let mut out = Vec::new();
    let mut stack = vec![(pid, 0)];
    while let Some((p, depth)) = stack.pop() {
        if out.len() >= MAX_PROCS || out.iter().any(|&(q, _)| q == p) {
            continue;
        }
        out.push((p, depth));
        let mut kids = procfs::children(p);
        kids.sort_unstable_by(|a, b| b.cmp(a));
        stack.extend(kids.into_iter().map(|k| (k, depth + 1)));
    }
    out
}

/// The CPU time task `tid` of `pid` has used, in milliseconds (schedstat).
fn cpu_ms(pid: i32, tid: i32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat"))
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |ns| ns / 1_000_000)
}

/// The tasks of process `pid` at `depth`; a zombie (or a process gone
/// since it was listed) as one row for its pid.
fn task_rows(pid: i32, depth: usize) -> Vec<TaskRow> {
    let state = procfs::stat(pid).map_or('X', |s| s.state);
    let tids = procfs::tasks(pid);
    if state == 'Z' || tids.is_empty() {
        // A zombie keeps its schedstat: the CPU it used.
        return vec![TaskRow {
            pid,
            tid: pid,
            depth,
            state,
            cpu_ms: cpu_ms(pid, pid),
            ..TaskRow::default()
        }];
    }
    tids.into_iter()
        .filter_map(|tid| {
            Some(TaskRow {
                pid,
                tid,
                depth,
                state: procfs::task_state(pid, tid)?,
                syscall: procfs::syscall(pid, tid).map(syscalls::name),
                cpu_ms: cpu_ms(pid, tid),
                ..TaskRow::default()
            })
        })
        .collect()
}

/// What descriptor target `t` is, in a word or two.
fn fd_kind(t: &str, sockets: &BTreeMap<u64, String>) -> String {
    if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
        return match inode.parse().ok().and_then(|i| sockets.get(&i)) {
            Some(name) if name.starts_with("listen") => name.clone(),
            Some(peer) => format!("tcp {peer}"),
            None => "socket".to_string(),
        };
    }
    if let Some(anon) = t.strip_prefix("anon_inode:") {
        return anon.trim_matches(['[', ']']).replace("eventpoll", "epoll");
    }
    if t.starts_with("pipe:") {
        return "pipe".to_string();
    }
    t.to_string()
}

/// The descriptors of every live process of the tree.
fn fd_rows(procs: &[(i32, usize)]) -> Vec<FdRow> {
    let sockets = procfs::socket_names();
    let mut rows = Vec::new();
    for &(pid, _) in procs {
        let mut links = procfs::fd_links(pid).unwrap_or_default();
        links.sort_unstable();
        rows.extend(links.into_iter().map(|(fd, t)| FdRow {
            pid,
            fd,
            what: fd_kind(&t, &sockets),
        }));
    }
    rows
}

/// Which task serves each client of `port`, by the client's address:
/// the thread when one can be told, else the process's main task.
/// Those not yet accepted (in the accept queue: no process holds them)
/// are left out.
fn peers(pid: i32, port: u16, procs: &[(i32, usize)]) -> Vec<((i32, i32), String)> {
    let held: std::collections::BTreeSet<String> = procs
        .iter()
        .flat_map(|&(p, _)| procfs::fd_targets(p))
        .collect();
    let mut ends = procfs::established(port);
    ends.retain(|_, inode| held.contains(&format!("socket:[{inode}]")));
    let ports: Vec<u16> = ends.keys().copied().collect();
    let names = procfs::socket_names();
    let found: Vec<(u16, Holder)> = match holders::holders(pid, port, &ports) {
        Ok(all) => all.into_iter().collect(),
        // A connection that came or went while it was read: one at a time.
        Err(_) => ports
            .iter()
            .filter_map(|&c| Some((c, *holders::holders(pid, port, &[c]).ok()?.get(&c)?)))
            .collect(),
    };
    found
        .into_iter()
        .map(|(c, h)| {
            let task = h.task().map_or_else(|| on_fd(h), Into::into);
            let name = ends.get(&c).and_then(|i| names.get(i));
            (task, name.cloned().unwrap_or_else(|| format!(":{c}")))
        })
        .collect()
}

/// The one thread of `h`'s process in a call on the connection's
/// descriptor (`write`, `sendto`: what holders does not tie), else its
/// main task.
fn on_fd(h: Holder) -> (i32, i32) {
    let on = |&t: &i32| procfs::syscall_args(h.pid, t).is_some_and(|(_, a)| a[0] == h.fd as u64);
    match procfs::tasks(h.pid)
        .iter()
        .filter(|t| on(t))
        .collect::<Vec<_>>()[..]
    {
        [&t] => (h.pid, t),
        _ => (h.pid, h.pid),
    }
}

impl Snapshot {
    /// Reads the tree of server `pid`, listening on `port`, at `ms`;
    /// `prev` has the last frame's counts, and takes this one's.
    pub fn read(pid: i32, port: u16, ms: u64, prev: &mut Previous) -> Snapshot {
        let procs = tree(pid);
        let mut tasks: Vec<TaskRow> = procs.iter().flat_map(|&(p, d)| task_rows(p, d)).collect();
        for (task, peer) in peers(pid, port, &procs) {
            if let Some(row) = tasks.iter_mut().find(|t| (t.pid, t.tid) == task) {
                row.peers += 1;
                if row.peer.as_ref().is_none_or(|p| peer < *p) {
                    row.peer = Some(peer);
                }
            }
        }
        prev.wakeups(&mut tasks, ms);
        let accepted = prev.accepted(port, ms);
        // The kernel's socket diagnostics, or /proc/net/tcp without the backlog.
        let (queued, backlog) = sockdiag::listen_queue(port)
            .or_else(|| procfs::listen_queue(port).map(|(q, _)| (q, 0)))
            .unwrap_or((0, 0));
        Snapshot {
            ms,
            pid,
            port,
            zombies: tasks.iter().filter(|t| t.state == 'Z').count(),
            fds: fd_rows(&procs),
            tasks,
            queued,
            backlog,
            clients: procfs::established(port).len(),
            accepted,
            coroutines: memory::read_i32(pid, "co_live"),
            ended: None,
        }
    }

    /// The frame as one line of JSON.
    pub fn json(&self) -> String {
        let mut j = format!(
            "{{\"ms\":{},\"pid\":{},\"port\":{},\"zombies\":{},\"clients\":{},\
             \"accepted\":{},\"coroutines\":{},\"listen\":{{\"queued\":{},\"backlog\":{}}},\
             \"ended\":{},\"tasks\":[",
            self.ms,
            self.pid,
            self.port,
            self.zombies,
            self.clients,
            self.accepted,
            self.coroutines
                .map_or_else(|| "null".to_string(), |n| n.to_string()),
            self.queued,
            self.backlog,
            opt(&self.ended)
        );
        for (i, t) in self.tasks.iter().enumerate() {
            let _ = write!(
                j,
                "{}{{\"pid\":{},\"tid\":{},\"depth\":{},\"state\":\"{}\",\"syscall\":{},\
                 \"wakeups\":{},\"cpu_ms\":{},\"peer\":{},\"peers\":{}}}",
                if i > 0 { "," } else { "" },
                t.pid,
                t.tid,
                t.depth,
                t.state,
                opt(&t.syscall),
                t.wakeups
                    .map_or_else(|| "null".to_string(), |w| format!("{w:.1}")),
                t.cpu_ms,
                opt(&t.peer),
                t.peers
            );
        }
        j.push_str("],\"fds\":[");
        for (i, f) in self.fds.iter().enumerate() {
            let _ = write!(
                j,
                "{}{{\"pid\":{},\"fd\":{},\"what\":{}}}",
                if i > 0 { "," } else { "" },
                f.pid,
                f.fd,
                quote(&f.what)
            );
        }
        j.push_str("]}");
        j
    }
}

impl Previous {
    /// Sets each task's wake-ups per second from its context switches
    /// since the last frame, and keeps this frame's counts.
    fn wakeups(&mut self, tasks: &mut [TaskRow], ms: u64) {
        let mut now = BTreeMap::new();
        let secs = ms.saturating_sub(self.ms) as f64 / 1000.0;
        for t in tasks.iter_mut() {
            let Some(n) = procfs::sleeps(t.pid, t.tid) else {
                continue;
            };
            if let Some(&before) = self.switches.get(&(t.pid, t.tid))
                && secs > 0.0
            {
                t.wakeups = Some(n.saturating_sub(before) as f64 / secs);
            }
            now.insert((t.pid, t.tid), n);
        }
        self.switches = now;
        self.ms = ms;
    }

    /// The view of connections to `port`, those closed before it left
    /// out.
    pub fn new(port: u16) -> Previous {
        Previous {
            closed: procfs::accepted_ends(port).1,
            ..Previous::default()
        }
    }

    /// How many connections to `port` were accepted since the view began:
    /// each open one once by its inode; each closed one by its client's
    /// port and when its TIME_WAIT ends, unless it was seen open. (One
    /// reset between two frames leaves nothing to count.)
    fn accepted(&mut self, port: u16, ms: u64) -> usize {
        let (open, closed) = procfs::accepted_ends(port);
        for (client, inode) in open {
            if self.inodes.insert(inode) {
                self.open.insert(client);
                self.accepted += 1;
            }
        }
        for (client, left) in closed {
            let ends = ms + left;
            // The same TIME_WAIT ends at the same time, frame after frame.
            let seen = self
                .closed
                .get(&client)
                .is_some_and(|&e| e.abs_diff(ends) < 1000);
            if !seen {
                self.closed.insert(client, ends);
                if !self.open.remove(&client) {
                    self.accepted += 1;
                }
            }
        }
        self.accepted
    }
}

/// A JSON string, or null.
fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "null".to_string(), quote)
}

/// `s` as a JSON string.
pub fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }

    #[test]
    fn descriptors_are_named() {
        let sockets = BTreeMap::from([(7, "listen :8000".to_string())]);
        assert_eq!(fd_kind("socket:[7]", &sockets), "listen :8000");
        assert_eq!(fd_kind("anon_inode:[eventpoll]", &sockets), "epoll");
        assert_eq!(fd_kind("pipe:[99]", &sockets), "pipe");
        assert_eq!(fd_kind("/dev/null", &sockets), "/dev/null");
    }
}
