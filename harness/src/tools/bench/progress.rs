//! The progress line on stderr: which step, which server, and the time
//! left, from the planned cost of what is left scaled by how the plan has
//! compared with the clock so far. On a terminal the line is rewritten in
//! place; elsewhere (a log, a pipe) it is a line per step.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    start: Instant,
    /// Planned seconds, in all and done.
    total: f64,
    done: f64,
    tty: bool,
    shown: usize,
}

impl Progress {
    pub fn new(total: f64) -> Progress {
        Progress {
            start: Instant::now(),
            total,
            done: 0.0,
            tty: std::io::stderr().is_terminal(),
            shown: 0,
        }
    }

    /// Says what starts now; `cost` is its planned seconds.
    pub fn step(&mut self, what: &str, cost: f64) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let left_planned = (self.total - self.done).max(0.0);
        let left = if self.done > 0.0 {
            left_planned * elapsed / self.done
        } else {
            left_planned
        };
        let pct = if self.total > 0.0 {
            100.0 * self.done / self.total
        } else {
            0.0
        };
        let line = format!(
            "bench: {pct:3.0}% {what}; about {} left",
            clock(Duration::from_secs_f64(left))
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            let pad = self.shown.saturating_sub(line.chars().count());
            let _ = write!(err, "\r{line}{:pad$}", "");
            self.shown = line.chars().count();
        } else {
            let _ = writeln!(err, "{line}");
        }
        self.done += cost;
    }

    /// Removes planned work that will not be done (a server that holds no more).
    pub fn skip(&mut self, cost: f64) {
        self.total -= cost;
    }

    /// A message of its own, on a line of its own.
    pub fn say(&mut self, msg: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty && self.shown > 0 {
            let _ = writeln!(err);
            self.shown = 0;
        }
        let _ = writeln!(err, "bench: {msg}");
    }

    /// Ends the progress line.
    pub fn finish(&mut self) {
        let took = clock(self.start.elapsed());
        self.say(&format!("done in {took}"));
    }
}

/// "4m05s", "12s".
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
