//! The faults a server's session runs under: strace's arguments that
//! inject each, for the servers each applies to.

use crate::{Model, Worker};

/// The faults a server's session can run under:
/// - accept-emfile: the first two accepts fail with EMFILE (for a blocking
///   server, before any client, so that no SIGCHLD can fall into the
///   pauses after them);
/// - spawn-eagain: the 2nd fork (clone) or thread (clone3) fails with
///   EAGAIN, and that client is closed unserved (servers that create a
///   worker per connection);
/// - read-write-eintr: every other read and write, in each task, fails with EINTR;
/// - stderr-rw: nothing injected, but stderr is /dev/null opened
///   read-write, so that a thread's first `perror` opens a stream on a
///   `dup` of it and mallocs in a new arena;
/// - read-write-eagain: every third read and write fails with EAGAIN (event
///   loops, whose sockets do not block);
/// - epoll-ctl-enomem: the third epoll_ctl fails with ENOMEM (servers that
///   wait in epoll, but the reuseport server: a count of calls in a thread
///   cannot name the call the fault means, a connection's EPOLL_CTL_DEL,
///   since which thread takes which connection depends on the hash of the
///   port the session runs on);
/// - uring-enter-eintr: every other io_uring_enter fails with EINTR, before
///   it submits anything (the io_uring server, which makes no accept, read
///   or write call of its own for the faults above to fail: its operations
///   fail only in the ring, where strace cannot reach).
pub const FAULTS: [&str; 7] = [
    "accept-emfile",
    "spawn-eagain",
    "read-write-eintr",
    "stderr-rw",
    "read-write-eagain",
    "epoll-ctl-enomem",
    "uring-enter-eintr",
];

/// strace's arguments for `fault` in a server of `model`; None when the
/// fault does not apply to it.
pub fn inject(fault: &str, model: &Model) -> Option<Vec<String>> {
    let specs = match fault {
        "accept-emfile" | "read-write-eintr" | "read-write-eagain" if uses_uring(model) => {
            return None;
        }
        "accept-emfile" => vec![
            "accept:error=EMFILE:when=1..2".to_string(),
            "accept4:error=EMFILE:when=1..2".to_string(),
        ],
        "spawn-eagain" => vec![format!(
            "{}:error=EAGAIN:when={}",
            model.spawn?,
            2 + model.pool.map_or(0, |p| p.threads)
        )],
        "read-write-eintr" => vec![
            "read:error=EINTR:when=2+2".into(),
            "write:error=EINTR:when=2+2".into(),
        ],
        "stderr-rw" => vec![],
        "read-write-eagain" if model.worker == Worker::Loop => vec![
            "read:error=EAGAIN:when=3+3".into(),
            "write:error=EAGAIN:when=3+3".into(),
        ],
        "epoll-ctl-enomem" if uses_epoll(model) && !model.pool.is_some_and(|p| p.listens) => {
            vec![format!(
                "epoll_ctl:error=ENOMEM:when={}",
                epoll_ctl_fault_when(model)
            )]
        }
        "uring-enter-eintr" if uses_uring(model) => {
            vec!["io_uring_enter:error=EINTR:when=2+2".into()]
        }
        _ => return None,
    };
    Some(
        specs
            .into_iter()
            .flat_map(|s| ["-e".to_string(), format!("inject={s}")])
            .collect(),
    )
}

/// Which `epoll_ctl` (counted in each task) the epoll-ctl-enomem fault
/// fails: the first connection's EPOLL_CTL_DEL in the task that serves it,
/// past the calls a pool's main task makes at start-up (one for the
/// listening socket, one for each worker's pipe).
pub fn epoll_ctl_fault_when(model: &Model) -> usize {
    match model.pool {
        None => 3,
        Some(p) => (p.threads + 2).next_multiple_of(2),
    }
}

/// Whether a server of `model` waits in epoll.
fn uses_epoll(model: &Model) -> bool {
    let epoll = crate::Call::EpollWait;
    model.main_idle_in == epoll || model.pool.is_some_and(|p| p.idle_in == epoll)
}

/// Whether a server of `model` waits in io_uring_enter: its accepts, reads
/// and writes are operations in a ring.
pub fn uses_uring(model: &Model) -> bool {
    model.main_idle_in == crate::Call::UringEnter
}
