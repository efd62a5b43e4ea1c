//! What a server's model (its row in the table of programs) means for the
//! state of its tasks: "settled", no connection left and every task back
//! where it waits; and "serving n", n connections open, each waiting for
//! its client. The scripted sessions step only from such a state, so that
//! two runs make the same calls in the same order.

use crate::base::procfs::{self, blocked_in};
use crate::base::wait::wait_until;
use crate::{Model, Result, Worker};

/// The tasks that serve one connection each: the live children, and the
/// threads beside the main one and the pool. A process model and a thread
/// model count alike, so that a session can run a program of the other
/// (the comparison then shows how they differ). None for the main-task and
/// event-loop models.
pub fn workers(pid: i32, model: &Model) -> Vec<(i32, i32)> {
    match model.worker {
        Worker::Child | Worker::Thread => {
            let mut w: Vec<(i32, i32)> = procfs::live_children(pid)
                .into_iter()
                .map(|c| (c, c))
                .collect();
            w.extend(split_pool(pid, model).1.into_iter().map(|t| (pid, t)));
            w
        }
        // The children serving a connection: those waiting for their client.
        Worker::Prefork(_) => procfs::live_children(pid)
            .into_iter()
            .filter(|&c| blocked_in(c, c, crate::Call::Read))
            .map(|c| (c, c))
            .collect(),
        // The threads serving a connection: those waiting for their client.
        Worker::Prethread(_) => threads(pid)
            .into_iter()
            .filter(|&t| blocked_in(pid, t, crate::Call::Read))
            .map(|t| (pid, t))
            .collect(),
        Worker::Main | Worker::Loop => Vec::new(),
    }
}

/// Whether a preforked server's children are all there, `n` of them
/// serving (waiting for their clients), and the others where
/// [`Children`](crate::Children) says they wait: all in `idle_in`, or,
/// behind a lock, one there and the rest in `queued_in`.
fn children_serving(pid: i32, c: &crate::Children, n: usize) -> bool {
    let live = procfs::live_children(pid);
    let tasks: Vec<(i32, i32)> = live.iter().map(|&k| (k, k)).collect();
    live.len() == c.n && procfs::children(pid).len() == c.n && tasks_serving(&tasks, c, n)
}

/// Whether a prethreaded server's threads are all there, as
/// [`children_serving`] says of a preforked server's children.
fn threads_serving(pid: i32, c: &crate::Children, n: usize) -> bool {
    let tasks: Vec<(i32, i32)> = threads(pid).into_iter().map(|t| (pid, t)).collect();
    tasks.len() == c.n && tasks_serving(&tasks, c, n)
}

/// Whether, of `tasks` (pid, tid), `n` wait for their clients and the
/// others where [`Children`](crate::Children) says they wait.
fn tasks_serving(tasks: &[(i32, i32)], c: &crate::Children, n: usize) -> bool {
    let count = |call| {
        tasks
            .iter()
            .filter(|&&(p, t)| blocked_in(p, t, call))
            .count()
    };
    let Some(rest) = c.n.checked_sub(n) else {
        return false;
    };
    let waiting = match c.queued_in {
        None => count(c.idle_in) == rest,
        Some(q) => count(c.idle_in) == rest.min(1) && count(q) == rest - rest.min(1),
    };
    count(crate::Call::Read) == n && waiting
}

fn pool_size(model: &Model) -> usize {
    model.pool.map_or(0, |p| p.threads)
}

/// The threads of `pid` beside the main one.
fn threads(pid: i32) -> Vec<i32> {
    procfs::tasks(pid)
        .into_iter()
        .filter(|&t| t != pid)
        .collect()
}

/// The threads beside the main one, split into the pool (up to its size,
/// those blocked where a pool thread idles) and the others. Told apart by
/// what they do, not by their ids, which wrap around.
fn split_pool(pid: i32, model: &Model) -> (Vec<i32>, Vec<i32>) {
    let (mut pool, mut others) = (Vec::new(), Vec::new());
    for tid in threads(pid) {
        match model.pool {
            Some(p) if pool.len() < p.threads && blocked_in(pid, tid, p.idle_in) => pool.push(tid),
            _ => others.push(tid),
        }
    }
    (pool, others)
}

/// Whether the pool's threads are all there, each blocked where it idles.
fn pool_idle(pid: i32, model: &Model) -> bool {
    split_pool(pid, model).0.len() == pool_size(model)
}

/// Whether the server is serving exactly `n` connections, each waiting for
/// its client, with the main task and the pool where they wait.
pub fn serving(pid: i32, model: &Model, n: usize) -> bool {
    // Read in this order: under strace, a child's exit reaches its parent
    // (SIGCHLD) only once strace has collected it; then the signal is
    // pending; then the parent stops to take it, and only then sleeps in
    // its call again. Nothing may be on its way.
    // A traced child is either a worker asleep (S) or on its way out.
    let children_collected = procfs::children(pid)
        .iter()
        .all(|&c| !procfs::traced(c) || procfs::stat(c).is_some_and(|s| s.state == 'S'));
    if !children_collected || procfs::signal_pending(pid) {
        return false;
    }
    // The workers before the pool: a worker gone has woken whoever joins
    // it, so a pool asleep after that has done what the worker's end asked.
    let threads = threads(pid).len();
    let w = workers(pid, model);
    let stray_children = matches!(
        model.worker,
        Worker::Main | Worker::Loop | Worker::Prethread(_)
    ) && !procfs::live_children(pid).is_empty();
    if stray_children || !pool_idle(pid, model) {
        return false;
    }
    let main_waits = blocked_in(pid, pid, model.main_idle_in);
    match model.worker {
        Worker::Main => match n {
            0 => main_waits && threads == pool_size(model),
            1 => blocked_in(pid, pid, crate::Call::Read),
            _ => false,
        },
        Worker::Child | Worker::Thread => {
            main_waits
                && w.len() == n
                && w.iter().all(|&(p, t)| blocked_in(p, t, crate::Call::Read))
                // Every finished child reaped, unless reaping is not the lesson.
                && (model.leaves_zombies
                    || procfs::live_children(pid).len() == procfs::children(pid).len())
        }
        Worker::Prefork(c) => main_waits && threads == 0 && children_serving(pid, &c, n),
        Worker::Prethread(c) => main_waits && threads_serving(pid, &c, n),
        // The listening sockets (one, or one per pool thread) and one per connection.
        Worker::Loop => {
            main_waits
                && threads == pool_size(model)
                && procfs::sockets(pid) == listeners(model) + n
        }
    }
}

/// The listening sockets of a server of `model`: one, or one per pool
/// thread when each has its own (SO_REUSEPORT).
pub fn listeners(model: &Model) -> usize {
    match model.pool {
        Some(p) if p.listens => p.threads,
        _ => 1,
    }
}

/// What the tasks of `pid` are doing, for an error message.
pub fn describe(pid: i32) -> String {
    let tasks: Vec<String> = procfs::tasks(pid)
        .iter()
        .map(|&t| match procfs::syscall(pid, t) {
            // A task in read: on what, and from whom.
            Some(n) if procfs::numbers(crate::Call::Read).contains(&n) => format!(
                "{t} in read ({})",
                procfs::waits_on(pid, t).unwrap_or_else(|| "?".into())
            ),
            n => format!("{t} in {n:?}"),
        })
        .collect();
    let children: Vec<String> = procfs::children(pid)
        .iter()
        .map(|&c| {
            let state = procfs::stat(c).map_or('?', |s| s.state);
            format!("{c} ({state}) in {:?}", procfs::syscall(c, c))
        })
        .collect();
    format!(
        "pid {pid}: tasks [{}], children [{}], {} sockets",
        tasks.join(", "),
        children.join(", "),
        procfs::sockets(pid)
    )
}

/// Waits until [`serving`] `n`; the error says what the tasks were doing.
pub fn wait_serving(pid: i32, model: &Model, n: usize) -> Result<()> {
    let what = if n == 0 {
        "the server to settle".to_string()
    } else {
        format!("the server to be serving {n} waiting connections")
    };
    wait_until(&what, || serving(pid, model, n)).map_err(|e| format!("{e}: {}", describe(pid)))
}
