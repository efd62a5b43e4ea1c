//! How a server of several tasks (threads, children) shared a timed run:
//! which task held each active connection, and the CPU time each spent.
//! A pool that deals connections round robin, or a kernel hash that
//! spreads them, cannot know which will be busy: this shows where the
//! busy ones fell, run by run, rather than leave it to be guessed.

use super::results::Side;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Past this many tasks (a task per connection, by design), a server's
/// balance is not listed: each active connection has a task of its own.
pub const MOST_TASKS: usize = 64;

/// One task's share of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Share {
    pub pid: i32,
    pub tid: i32,
    /// Active connections it held.
    pub active: usize,
    pub cpu_ns: u64,
}

/// A server's tasks in one timed run.
#[derive(Clone, Debug)]
pub struct Balance {
    pub server: String,
    pub side: Side,
    pub n: usize,
    pub run: usize,
    /// By pid, then tid; the first is the main task.
    pub tasks: Vec<Share>,
    /// Active connections no single task could be tied to (a thread in
    /// poll or select, whose arrays are in its memory).
    pub unplaced: usize,
}

impl Balance {
    /// From the CPU time each task spent and the task holding each active
    /// connection (None: not tied to one); None for a server of one task,
    /// or of more than [`MOST_TASKS`].
    pub fn new(
        spent: &BTreeMap<(i32, i32), u64>,
        held_by: &[Option<(i32, i32)>],
        at: (&str, Side, usize, usize),
    ) -> Option<Balance> {
        if spent.len() < 2 || spent.len() > MOST_TASKS {
            return None;
        }
        let tasks = spent
            .iter()
            .map(|(&(pid, tid), &cpu_ns)| Share {
                pid,
                tid,
                active: held_by.iter().filter(|h| **h == Some((pid, tid))).count(),
                cpu_ns,
            })
            .collect();
        let (server, side, n, run) = at;
        Some(Balance {
            server: server.to_string(),
            side,
            n,
            run,
            tasks,
            unplaced: held_by.iter().filter(|h| h.is_none()).count(),
        })
    }

    /// The busiest task's share of the CPU time, 0 to 1.
    pub fn busiest(&self) -> f64 {
        let total: u64 = self.tasks.iter().map(|t| t.cpu_ns).sum();
        let most = self.tasks.iter().map(|t| t.cpu_ns).max().unwrap_or(0);
        if total == 0 {
            0.0
        } else {
            most as f64 / total as f64
        }
    }

    /// "10 active: 0 · 6 · 4 (tasks 101 102 103); CPU 1% · 58% · 41%".
    pub fn line(&self) -> String {
        let total: u64 = self.tasks.iter().map(|t| t.cpu_ns).sum::<u64>().max(1);
        let ids: Vec<String> = self
            .tasks
            .iter()
            .map(|t| {
                if t.pid == t.tid {
                    t.pid.to_string()
                } else {
                    format!("{}/{}", t.pid, t.tid)
                }
            })
            .collect();
        let active: Vec<String> = self.tasks.iter().map(|t| t.active.to_string()).collect();
        let cpu: Vec<String> = self
            .tasks
            .iter()
            .map(|t| format!("{:.0}%", 100.0 * t.cpu_ns as f64 / total as f64))
            .collect();
        let held: usize = self.tasks.iter().map(|t| t.active).sum::<usize>() + self.unplaced;
        let mut s = format!(
            "{held} active: {} (tasks {}); CPU {}",
            active.join(" · "),
            ids.join(" "),
            cpu.join(" · ")
        );
        if self.unplaced > 0 {
            let _ = write!(s, "; {} not tied to one task", self.unplaced);
        }
        s
    }
}

/// The section of results.md: every server of several tasks, by N and
/// run, in the order of `order` (server, side).
pub fn render(balances: &[Balance], order: &[(String, Side)]) -> String {
    let mut s = String::new();
    for (server, side) in order {
        let mine: Vec<&Balance> = balances
            .iter()
            .filter(|b| &b.server == server && b.side == *side)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let name = match side.reference() {
            Some(r) => r.to_string(),
            None => format!("{server} ({})", side.label()),
        };
        let _ = writeln!(s, "- {name}:");
        for b in mine {
            let _ = writeln!(s, "  - N = {}, run {}: {}", b.n, b.run, b.line());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spent(v: &[((i32, i32), u64)]) -> BTreeMap<(i32, i32), u64> {
        v.iter().copied().collect()
    }

    #[test]
    fn a_balance_counts_each_tasks_connections_and_cpu() {
        let s = spent(&[((10, 10), 10), ((10, 11), 600), ((10, 12), 390)]);
        let held = [Some((10, 11)), Some((10, 11)), Some((10, 12)), None];
        let b = Balance::new(&s, &held, ("pool", Side::Rust, 1000, 2)).unwrap();
        let active: Vec<usize> = b.tasks.iter().map(|t| t.active).collect();
        assert_eq!(active, [0, 2, 1]);
        assert_eq!(b.unplaced, 1);
        assert!((b.busiest() - 0.6).abs() < 1e-9);
        assert_eq!(
            b.line(),
            "4 active: 0 · 2 · 1 (tasks 10 10/11 10/12); CPU 1% · 60% · 39%; 1 not tied to one task"
        );
    }

    #[test]
    fn one_task_or_a_task_per_connection_has_no_balance() {
        let one = spent(&[((10, 10), 5)]);
        assert!(Balance::new(&one, &[Some((10, 10))], ("epoll", Side::Rust, 10, 1)).is_none());
        let many: BTreeMap<(i32, i32), u64> =
            (0..=MOST_TASKS as i32).map(|p| ((p, p), 1)).collect();
        assert!(Balance::new(&many, &[], ("process", Side::C, 1000, 1)).is_none());
    }
}
