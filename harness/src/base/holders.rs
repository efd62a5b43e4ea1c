//! Which task of a server's tree serves each client connection, and the
//! CPU time each task has used: how a server's connections and its work
//! fall across its threads and children.
//!
//! A connection is found by its client's port: the server's end of it in
//! /proc/net/tcp (and tcp6), the process of the tree whose descriptors
//! hold that socket, then, in a process of several threads (one table of
//! descriptors for them all), the thread by what it waits in: `read`,
//! `recvfrom` or `recvmsg` on it, `epoll_wait` on an epoll set that
//! watches it, or `io_uring_enter` when that thread is the process's only
//! one there (one ring per thread). Read with the server at rest: a task
//! that runs shows no call.

use crate::base::procfs::{self, numbers, syscall_args};
use crate::{Call, Result};
use std::collections::BTreeMap;
use std::fs;

/// A task of a server's tree: its process and thread ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Task {
    pub pid: i32,
    pub tid: i32,
}

impl From<Task> for (i32, i32) {
    fn from(t: Task) -> (i32, i32) {
        (t.pid, t.tid)
    }
}

/// How a connection was tied to its thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tie {
    /// The thread is blocked in `read`, `recvfrom` or `recvmsg` on it.
    Read,
    /// The thread is blocked in `epoll_wait` on an epoll set watching it.
    Epoll,
    /// The thread is its process's only one in `io_uring_enter`, and no
    /// other waits on the connection.
    Ring,
    /// The process has one task, which shows nothing of the connection
    /// (it runs, or waits in `poll` or `select`, whose arrays are in its
    /// memory).
    Alone,
}

/// Who holds a connection: the process, the connection's descriptor
/// there, and the thread serving it with how it was told, None when the
/// process has several threads and none can be tied to the connection
/// (one waits in `poll` or `select`, or runs). Such a connection is the
/// process's, not its main thread's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: i32,
    pub fd: i32,
    pub thread: Option<(i32, Tie)>,
}

impl Holder {
    /// The task serving the connection, if its thread is known.
    pub fn task(&self) -> Option<Task> {
        self.thread.map(|(tid, _)| Task { pid: self.pid, tid })
    }
}

/// Which task of the tree of `pid` holds each client connection, the
/// clients named by their own ports (the client ends of connections to
/// the server's port `port`). An error when a client port has no
/// ESTABLISHED connection to `port`, or when no process of the tree holds
/// its server end (closed, or its process gone while it was read).
pub fn holders(pid: i32, port: u16, client_ports: &[u16]) -> Result<BTreeMap<u16, Holder>> {
    let ends = procfs::established(port);
    // A process gone between listing the tree and reading it holds nothing.
    let procs: Vec<Proc> = procfs::tree(pid).into_iter().filter_map(read).collect();
    client_ports
        .iter()
        .map(|&c| {
            let inode = ends
                .get(&c)
                .ok_or_else(|| format!("no ESTABLISHED connection to :{port} from :{c}"))?;
            let holder = procs
                .iter()
                .filter_map(|p| p.holder(*inode))
                .max_by_key(rank)
                .ok_or_else(|| {
                    format!(
                        "the connection from :{c} (socket {inode}) is held by no process \
                         of the tree of {pid}: closed, or its process gone"
                    )
                })?;
            Ok((c, holder))
        })
        .collect()
}

/// How sure a holder is: a thread waiting on the connection over a lone
/// task over no thread. Of equals the later process of the tree wins
/// ([`Iterator::max_by_key`] keeps the last): a child that serves a
/// connection its parent has not yet closed.
fn rank(h: &Holder) -> u8 {
    match h.thread {
        Some((_, Tie::Read | Tie::Epoll | Tie::Ring)) => 2,
        Some((_, Tie::Alone)) => 1,
        None => 0,
    }
}

/// A process of the tree: its sockets (descriptor, inode) and, for each of
/// its threads, what it waits on.
struct Proc {
    pid: i32,
    sockets: Vec<(i32, u64)>,
    threads: Vec<(i32, Option<Wait>)>,
}

/// What a thread waits on: the inodes of the files its call watches (none
/// for a ring, whose requests /proc does not show), and how.
struct Wait {
    inodes: Vec<u64>,
    tie: Tie,
}

/// Process `pid`'s sockets and threads; None once it has gone.
fn read(pid: i32) -> Option<Proc> {
    let sockets: Vec<(i32, u64)> = procfs::fd_links(pid)?
        .into_iter()
        .filter_map(|(fd, t)| {
            Some((
                fd,
                t.strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse()
                    .ok()?,
            ))
        })
        .collect();
    let threads = procfs::tasks(pid)
        .into_iter()
        .map(|t| (t, wait(pid, t, &sockets)))
        .collect();
    Some(Proc {
        pid,
        sockets,
        threads,
    })
}

/// What thread `tid` of `pid` waits on, None if nothing this module reads
/// (it runs, has gone, or waits elsewhere).
fn wait(pid: i32, tid: i32, sockets: &[(i32, u64)]) -> Option<Wait> {
    let (nr, args) = syscall_args(pid, tid)?;
    let fd = i32::try_from(args[0]).ok()?;
    let is = |call| numbers(call).contains(&nr);
    if is(Call::Read) || is(Call::Recvmsg) {
        let inodes = sockets.iter().filter(|s| s.0 == fd).map(|s| s.1).collect();
        Some(Wait {
            inodes,
            tie: Tie::Read,
        })
    } else if is(Call::EpollWait) {
        Some(Wait {
            inodes: procfs::epoll_watched(pid, fd),
            tie: Tie::Epoll,
        })
    } else if is(Call::UringEnter) {
        Some(Wait {
            inodes: Vec::new(),
            tie: Tie::Ring,
        })
    } else {
        None
    }
}

impl Proc {
    /// This process's hold on the socket `inode`, if it has it open.
    fn holder(&self, inode: u64) -> Option<Holder> {
        let &(fd, _) = self.sockets.iter().find(|s| s.1 == inode)?;
        Some(Holder {
            pid: self.pid,
            fd,
            thread: self.thread(inode),
        })
    }

    /// The one thread waiting on `inode`; else the one thread in a ring;
    /// else a lone task.
    fn thread(&self, inode: u64) -> Option<(i32, Tie)> {
        let one = |pick: &dyn Fn(&Wait) -> bool| {
            let mut found = self
                .threads
                .iter()
                .filter_map(|(t, w)| Some((*t, w.as_ref().filter(|w| pick(w))?.tie)));
            let first = found.next();
            found.next().is_none().then_some(first).flatten()
        };
        one(&|w| w.inodes.contains(&inode))
            .or_else(|| one(&|w| w.tie == Tie::Ring))
            .or_else(|| match self.threads[..] {
                [(t, _)] => Some((t, Tie::Alone)),
                _ => None,
            })
    }
}

/// The CPU time each task of the tree of `pid` has used, in nanoseconds,
/// by (pid, tid): the first field of /proc/PID/task/TID/schedstat, the
/// scheduler's own count (/proc/PID/stat has 10 ms clock ticks). A task
/// gone while the tree is read is left out; the kernel's io_uring workers
/// are not counted (see [`procfs::tasks`]).
pub fn task_cpu_ns(pid: i32) -> BTreeMap<(i32, i32), u64> {
    procfs::tree(pid)
        .into_iter()
        .flat_map(|p| procfs::tasks(p).into_iter().map(move |t| (p, t)))
        .filter_map(|(p, t)| {
            let ns = fs::read_to_string(format!("/proc/{p}/task/{t}/schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some(((p, t), ns))
        })
        .collect()
}
