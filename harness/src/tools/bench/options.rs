//! What a run measures, and where: the command line's choices.

use std::path::PathBuf;

/// The curves' points with `--full`: connections open.
pub const FULL_CONNS: [usize; 5] = [1, 10, 100, 1_000, 10_000];
/// The quick default's.
pub const QUICK_CONNS: [usize; 2] = [10, 1_000];
/// Clients connecting at once, for the connection rate.
pub const RATE_CLIENTS: [usize; 2] = [1, 8];
/// What to measure, and where.
pub struct Options {
    /// The length of each timed run, in seconds.
    pub secs: f64,
    /// Alternating runs per timed figure.
    pub reps: usize,
    /// The curves' points: connections open.
    pub conns: Vec<usize>,
    /// How many of them make round trips (all, when fewer are open).
    pub active: usize,
    pub out: PathBuf,
    pub rust: PathBuf,
    pub c: PathBuf,
    /// The servers (short names); all of the table's when empty.
    pub only: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            secs: 1.0,
            reps: 3,
            conns: QUICK_CONNS.to_vec(),
            active: 10,
            out: PathBuf::from("target/bench"),
            rust: crate::rust_dir(),
            c: crate::c_dir(),
            only: Vec::new(),
        }
    }
}

impl Options {
    /// The full curves: every point from 1 to 10,000 connections, five runs of 2 s.
    pub fn full(&mut self) {
        self.conns = FULL_CONNS.to_vec();
        self.reps = 5;
        self.secs = 2.0;
    }
}
