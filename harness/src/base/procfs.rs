//! What `/proc` says about a process: its children, threads, the call each
//! task is blocked in, its descriptors, CPU time and memory.

use crate::Call;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The system call numbers a task blocked in `call` may show: glibc picks
/// one of several for some calls, and std uses others than C.
pub fn numbers(call: Call) -> &'static [i64] {
    match call {
        Call::Accept => &[libc::SYS_accept, libc::SYS_accept4],
        Call::Read => &[libc::SYS_read, libc::SYS_recvfrom],
        Call::Futex => &[libc::SYS_futex],
        #[cfg(target_arch = "x86_64")]
        Call::EpollWait => &[
            libc::SYS_epoll_wait,
            libc::SYS_epoll_pwait,
            libc::SYS_epoll_pwait2,
        ],
        #[cfg(not(target_arch = "x86_64"))]
        Call::EpollWait => &[libc::SYS_epoll_pwait, libc::SYS_epoll_pwait2],
        // poll resumes through restart_syscall after a stop (SIGSTOP, a tracer).
        #[cfg(target_arch = "x86_64")]
        Call::Poll => &[libc::SYS_poll, libc::SYS_ppoll, libc::SYS_restart_syscall],
        #[cfg(not(target_arch = "x86_64"))]
        Call::Poll => &[libc::SYS_ppoll, libc::SYS_restart_syscall],
        #[cfg(target_arch = "x86_64")]
        Call::Select => &[libc::SYS_select, libc::SYS_pselect6],
        #[cfg(not(target_arch = "x86_64"))]
        Call::Select => &[libc::SYS_pselect6],
        Call::Fcntl => &[libc::SYS_fcntl],
        Call::Recvmsg => &[libc::SYS_recvmsg],
        Call::UringEnter => &[libc::SYS_io_uring_enter],
    }
}

/// The system call task `tid` of process `pid` is blocked in, None while it runs.
pub fn syscall(pid: i32, tid: i32) -> Option<i64> {
    fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The system call task `tid` of process `pid` is blocked in and its six
/// arguments, from /proc/PID/task/TID/syscall (proc(5)); None while it
/// runs, or once it has gone.
pub fn syscall_args(pid: i32, tid: i32) -> Option<(i64, [u64; 6])> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?;
    let mut f = text.split_whitespace();
    let nr = f.next()?.parse().ok()?;
    let mut args = [0; 6];
    for a in &mut args {
        *a = u64::from_str_radix(f.next()?.trim_start_matches("0x"), 16).ok()?;
    }
    Some((nr, args))
}

/// Whether task `tid` of process `pid` is blocked in `call`: asleep in it
/// (state S), not stopped at its entry by a tracer, where `accept` has not
/// yet taken the descriptor number it will return.
pub fn blocked_in(pid: i32, tid: i32, call: Call) -> bool {
    syscall(pid, tid).is_some_and(|n| numbers(call).contains(&n))
        && task_state(pid, tid) == Some('S')
}

/// The state of task `tid` of process `pid` (R, S, D, t, Z...).
pub fn task_state(pid: i32, tid: i32) -> Option<char> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    text[text.rfind(')')? + 2..].chars().next()
}

/// A field of /proc/PID/status, as written ("TracerPid", "SigPnd").
pub fn status(pid: i32, field: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    Some(line[field.len() + 1..].trim().to_string())
}

/// Whether a signal is pending for process `pid`, or for its main thread.
pub fn signal_pending(pid: i32) -> bool {
    ["SigPnd", "ShdPnd"]
        .iter()
        .any(|f| status(pid, f).is_some_and(|v| v.chars().any(|c| c != '0')))
}

/// Whether a tracer still holds process `pid` (strace, until it has
/// collected a child's exit and let its parent see it).
pub fn traced(pid: i32) -> bool {
    status(pid, "TracerPid").is_some_and(|v| v != "0")
}

/// The thread ids of process `pid`, the main one first: the program's own
/// threads, not the kernel's io_uring workers (`iou-wrk-PID`, which run in
/// the process to carry out a write the kernel cannot do without blocking,
/// to a regular file say, and which strace cannot trace).
pub fn tasks(pid: i32) -> Vec<i32> {
    let mut t: Vec<i32> = fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|&tid| !io_worker(pid, tid))
                .collect()
        })
        .unwrap_or_default();
    t.sort_by_key(|&tid| (tid != pid, tid));
    t
}

/// `PF_IO_WORKER`, in the flags of /proc/PID/task/TID/stat: a kernel
/// thread an io_uring runs in the process (include/linux/sched.h).
const PF_IO_WORKER: u64 = 0x10;

/// Whether task `tid` of `pid` is an io_uring worker (`PF_IO_WORKER`).
pub fn io_worker(pid: i32, tid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) else {
        return false;
    };
    // The flags: the seventh field after the command's closing parenthesis
    // (state, ppid, pgrp, session, tty_nr, tpgid, flags).
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(6)?.parse::<u64>().ok())
        .is_some_and(|flags| flags & PF_IO_WORKER != 0)
}

/// One process's line of /proc/PID/stat, the fields the harness needs.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub pid: i32,
    pub state: char,
    pub ppid: i32,
    /// The process group.
    pub pgrp: i32,
    /// User and system time, its own and its reaped children's, in clock ticks.
    pub utime: u64,
    pub stime: u64,
    pub cutime: u64,
    pub cstime: u64,
}

pub fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: split after the last ')'.
    let f: Vec<&str> = text[text.rfind(')')? + 2..].split(' ').collect();
    let n = |i: usize| f.get(i)?.parse::<u64>().ok();
    Some(Stat {
        pid,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        utime: n(11)?,
        stime: n(12)?,
        cutime: n(13)?,
        cstime: n(14)?,
    })
}

/// Whether a process of group `pgrp` is alive (has not yet exited: a
/// zombie has closed its descriptors, and counts as gone).
pub fn group_alive(pgrp: i32) -> bool {
    let Ok(dir) = fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .any(|s| s.pgrp == pgrp && !matches!(s.state, 'Z' | 'X'))
}

/// The children of process `pid` (of any of its threads), zombies included.
pub fn children(pid: i32) -> Vec<i32> {
    tasks(pid)
        .iter()
        .flat_map(|t| {
            fs::read_to_string(format!("/proc/{pid}/task/{t}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// The children of `pid` that are zombies.
pub fn zombies(pid: i32) -> usize {
    children(pid)
        .into_iter()
        .filter(|&c| stat(c).is_some_and(|s| s.state == 'Z'))
        .count()
}

/// The children of `pid` still running (not zombies).
pub fn live_children(pid: i32) -> Vec<i32> {
    children(pid)
        .into_iter()
        .filter(|&c| stat(c).is_some_and(|s| s.state != 'Z'))
        .collect()
}

/// What each open descriptor of `pid` is (`socket:[…]`, `anon_inode:[eventpoll]`…).
pub fn fd_targets(pid: i32) -> Vec<String> {
    fd_links(pid).map_or_else(Vec::new, |l| l.into_iter().map(|(_, t)| t).collect())
}

/// Each open descriptor of `pid` and what it is, from /proc/PID/fd; None
/// once the process has gone. A descriptor closed while the directory is
/// read is left out.
pub fn fd_links(pid: i32) -> Option<Vec<(i32, String)>> {
    let dir = fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        dir.filter_map(|e| {
            let e = e.ok()?;
            let fd = e.file_name().to_str()?.parse().ok()?;
            Some((fd, fs::read_link(e.path()).ok()?.display().to_string()))
        })
        .collect(),
    )
}

/// The inodes of the files epoll instance `epfd` of `pid` watches: the
/// `ino:` (hex) of its `tfd:` lines in /proc/PID/fdinfo/EPFD (proc(5)).
pub fn epoll_watched(pid: i32, epfd: i32) -> Vec<u64> {
    fs::read_to_string(format!("/proc/{pid}/fdinfo/{epfd}"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("tfd:"))
        .filter_map(|l| {
            let ino = l.split_whitespace().find_map(|w| w.strip_prefix("ino:"))?;
            u64::from_str_radix(ino, 16).ok()
        })
        .collect()
}

/// How many descriptors `pid` has open.
pub fn fds(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// How many of them are sockets.
pub fn sockets(pid: i32) -> usize {
    fd_targets(pid)
        .iter()
        .filter(|t| t.starts_with("socket:"))
        .count()
}

/// CPU time of `pid` alone, in clock ticks.
pub fn cpu_ticks(pid: i32) -> u64 {
    stat(pid).map_or(0, |s| s.utime + s.stime)
}

/// CPU time of `pid`'s whole tree: itself, its live children, and the
/// children it has reaped, in clock ticks.
pub fn tree_cpu_ticks(pid: i32) -> u64 {
    let own = stat(pid).map_or(0, |s| s.utime + s.stime + s.cutime + s.cstime);
    own + children(pid).into_iter().map(tree_cpu_ticks).sum::<u64>()
}

/// A field of /proc/PID/status or smaps_rollup, in kB ("VmRSS", "Pss").
pub fn kb(pid: i32, file: &str, field: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether process `pid` runs the executable `exe`.
pub fn runs(pid: i32, exe: &Path) -> bool {
    let Ok(want) = fs::canonicalize(exe) else {
        return false;
    };
    fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == want)
}

/// Connections waiting in the accept queue of the socket listening on
/// `port` (for a LISTEN socket, /proc/net/tcp's rx_queue is that count).
pub fn accept_queue(port: u16) -> Option<usize> {
    let table = fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!(":{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[1].ends_with(&local) && f[3] == "0A")
            .then(|| usize::from_str_radix(f[4].split(':').nth(1)?, 16).ok())
            .flatten()
    })
}

/// The accept queue of the socket listening on `port`, IPv4 or IPv6:
/// the connections waiting in it (/proc/net/tcp's rx_queue for a LISTEN
/// socket), and its tx_queue (0: the backlog is not there, see
/// [`crate::base::sockdiag`]).
pub fn listen_queue(port: u16) -> Option<(usize, usize)> {
    tcp_sockets()
        .into_iter()
        .find(|s| s.listening && s.port == port)
        .map(|s| (s.unread, s.unsent))
}

/// What each TCP socket is, by inode: `listen :8000` for a listening
/// one, the peer's `127.0.0.1:41234` for another.
pub fn socket_names() -> BTreeMap<u64, String> {
    tcp_sockets()
        .into_iter()
        .map(|s| {
            let name = if s.listening {
                format!("listen :{}", s.port)
            } else {
                format!("{}:{}", s.peer_addr, s.peer)
            };
            (s.inode, name)
        })
        .collect()
}

/// The times task `tid` of `pid` gave up the CPU to wait (its voluntary
/// context switches, from /proc/PID/task/TID/status): each a sleep, and
/// the wake-up after it.
pub fn sleeps(pid: i32, tid: i32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
    let line = text
        .lines()
        .find(|l| l.starts_with("voluntary_ctxt_switches:"))?;
    line["voluntary_ctxt_switches:".len()..].trim().parse().ok()
}

/// An address of /proc/net/tcp (hex, in the kernel's byte order) in
/// words: `127.0.0.1`; an IPv6 one as `[v6]` unless it maps an IPv4 one.
fn address(hex: &str) -> String {
    let v4 = match hex.len() {
        8 => hex,
        32 if hex.starts_with("0000000000000000FFFF0000") => &hex[24..],
        _ => return "[v6]".to_string(),
    };
    u32::from_str_radix(v4, 16).map_or_else(
        |_| "?".to_string(),
        |v| std::net::Ipv4Addr::from(v.to_le_bytes()).to_string(),
    )
}

/// One socket of /proc/net/tcp or tcp6: its local port, state and inode,
/// its peer's address and port, the bytes received and not yet read and
/// those not yet sent (for a LISTEN socket: the accept queue and backlog).
struct TcpSocket {
    port: u16,
    listening: bool,
    inode: u64,
    peer: u16,
    peer_addr: String,
    state: u8,
    unread: usize,
    unsent: usize,
    /// What is left of its timer, in clock ticks (1/100 s).
    timer: u64,
}

/// Every TCP socket of this network namespace, IPv4 and IPv6.
fn tcp_sockets() -> Vec<TcpSocket> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|t| fs::read_to_string(t).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    let port =
                        |i: usize| u16::from_str_radix(f.get(i)?.rsplit(':').next()?, 16).ok();
                    let queue =
                        |i: usize| usize::from_str_radix(f.get(4)?.split(':').nth(i)?, 16).ok();
                    Some(TcpSocket {
                        port: port(1)?,
                        listening: *f.get(3)? == "0A",
                        inode: f.get(9)?.parse().ok()?,
                        peer: port(2)?,
                        peer_addr: address(f.get(2)?.split(':').next()?),
                        state: u8::from_str_radix(f.get(3)?, 16).ok()?,
                        unread: queue(1)?,
                        unsent: queue(0)?,
                        timer: u64::from_str_radix(f.get(5)?.split(':').nth(1)?, 16).ok()?,
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The ports process `pid` listens on: its descriptors' sockets in LISTEN
/// state, sorted.
pub fn listen_ports(pid: i32) -> Vec<u16> {
    let own: Vec<String> = fd_targets(pid);
    let mut ports: Vec<u16> = tcp_sockets()
        .into_iter()
        .filter(|s| s.listening && own.contains(&format!("socket:[{}]", s.inode)))
        .map(|s| s.port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// What task `tid` of `pid`, blocked in a call on a descriptor (`read`),
/// waits on: `fd 5: TCP :8000 from :41234, ESTABLISHED, 0 bytes unread,
/// its client's end FIN_WAIT2`,
/// or what the descriptor is; None while it runs.
pub fn waits_on(pid: i32, tid: i32) -> Option<String> {
    let fd = syscall_args(pid, tid)?.1[0];
    let target = fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    let target = target.to_string_lossy();
    const STATES: [&str; 12] = [
        "?",
        "ESTABLISHED",
        "SYN_SENT",
        "SYN_RECV",
        "FIN_WAIT1",
        "FIN_WAIT2",
        "TIME_WAIT",
        "CLOSE",
        "CLOSE_WAIT",
        "LAST_ACK",
        "LISTEN",
        "CLOSING",
    ];
    let sockets = tcp_sockets();
    let state = |s: &TcpSocket| *STATES.get(s.state as usize).unwrap_or(&"?");
    let Some(s) = sockets
        .iter()
        .find(|s| target == format!("socket:[{}]", s.inode))
    else {
        return Some(format!("fd {fd}: {target}"));
    };
    // On loopback the client's end is in the same table: a server end
    // whose client end is gone or in TIME_WAIT is a connection no client
    // holds (a SYN cookie's late ACK can make one).
    let client = match sockets
        .iter()
        .find(|c| c.port == s.peer && c.peer == s.port)
    {
        Some(c) => format!("its client's end {}", state(c)),
        None => "no client end on this host".to_string(),
    };
    Some(format!(
        "fd {fd}: TCP :{} from :{}, {}, {} bytes unread, {client}",
        s.port,
        s.peer,
        state(s),
        s.unread
    ))
}

/// The inode of the server's end of each ESTABLISHED connection to local
/// port `port`, by its peer's port.
pub fn established(port: u16) -> BTreeMap<u16, u64> {
    tcp_sockets()
        .into_iter()
        .filter(|s| s.port == port && s.state == 1)
        .map(|s| (s.peer, s.inode))
        .collect()
}

/// Bytes waiting to be read at the server's end of the connection from
/// client port `peer` to local port `port` (its rx_queue in /proc/net/tcp).
pub fn unread(port: u16, peer: u16) -> Option<usize> {
    tcp_sockets()
        .into_iter()
        .find(|s| s.port == port && s.peer == peer && !s.listening)
        .map(|s| s.unread)
}

/// The connections to `port` that were accepted, as far as /proc still
/// shows them, by their client's port: those open, with the inode
/// `accept` gave the server's end; and those closed, in TIME_WAIT at
/// either end (the client's when it is on this host), with the
/// milliseconds left of it (sixty seconds at first). A connection reset,
/// or still in the accept queue, is in neither.
pub fn accepted_ends(port: u16) -> (BTreeMap<u16, u64>, BTreeMap<u16, u64>) {
    const TIME_WAIT: u8 = 6;
    let local = |a: &str| a.starts_with("127.") || a == "[v6]";
    let (mut open, mut closed) = (BTreeMap::new(), BTreeMap::new());
    for s in tcp_sockets() {
        if s.port == port && s.state == TIME_WAIT {
            closed.insert(s.peer, s.timer * 10);
        } else if s.port == port && !s.listening && s.inode != 0 {
            open.insert(s.peer, s.inode);
        } else if s.peer == port && s.state == TIME_WAIT && local(&s.peer_addr) {
            closed.insert(s.port, s.timer * 10);
        }
    }
    (open, closed)
}

/// Who listens on `port`: each process holding such a socket, in words
/// (`pid 123 (herd_server, S), parent 120`); a socket no process holds
/// (closing) as `no process`.
pub fn listeners(port: u16) -> Vec<String> {
    let inodes: Vec<String> = tcp_sockets()
        .into_iter()
        .filter(|s| s.listening && s.port == port)
        .map(|s| format!("socket:[{}]", s.inode))
        .collect();
    let mut who: Vec<String> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| fd_targets(pid).iter().any(|t| inodes.contains(t)))
        .map(|pid| {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let st = stat(pid);
            format!(
                "pid {pid} ({}, {}), parent {}",
                comm.trim(),
                st.map_or('?', |s| s.state),
                st.map_or(0, |s| s.ppid)
            )
        })
        .collect();
    if who.is_empty() && !inodes.is_empty() {
        who.push("no process".to_string());
    }
    who
}

/// Whether any socket, whoever's, listens on `port`.
pub fn port_listened(port: u16) -> bool {
    tcp_sockets().iter().any(|s| s.listening && s.port == port)
}

/// `pid` and every process under it.
pub fn tree(pid: i32) -> Vec<i32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        all.extend(children(all[i]));
        i += 1;
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_named_by_its_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id();
        let who = listeners(port);
        assert_eq!(who.len(), 1, "{who:?}");
        assert!(who[0].starts_with(&format!("pid {me} (")), "{who:?}");
        drop(l);
        assert!(listeners(port).is_empty());
    }
}
