//! The results of a run, by figure, x (connections open, or clients),
//! server and side: the figures measured and what each means.

use std::collections::BTreeMap;

/// Which program of a server a figure is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Rust,
    C,
    /// The std reference server (one, whatever the model).
    Std,
    /// The tokio reference servers: current-thread and multi-thread runtimes.
    TokioSt,
    TokioMt,
    /// The monoio reference server: io_uring, one thread.
    Monoio,
    /// The kernel's floor: an epoll loop that only echoes.
    Floor,
}

impl Side {
    /// The reference servers, in the order of the table's columns.
    pub const REFERENCES: [Side; 5] = [
        Side::Std,
        Side::TokioSt,
        Side::TokioMt,
        Side::Monoio,
        Side::Floor,
    ];

    /// The name of a reference server, which stands for its own model.
    pub fn reference(self) -> Option<&'static str> {
        match self {
            Side::Rust | Side::C => None,
            Side::Std => Some("std"),
            Side::TokioSt => Some("tokio-st"),
            Side::TokioMt => Some("tokio-mt"),
            Side::Monoio => Some("monoio"),
            Side::Floor => Some("floor"),
        }
    }

    /// "Rust", "C", or the reference's name.
    pub fn label(self) -> &'static str {
        match self {
            Side::Rust => "Rust",
            Side::C => "C",
            s => s.reference().unwrap(),
        }
    }
}

/// What the x of a figure is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Connections open, of which a fixed number active.
    Conns,
    /// Clients connecting at once.
    Clients,
    /// A single number per server.
    None,
}

/// One figure: a row group of the table, a chart.
#[derive(Debug)]
pub struct Figure {
    /// Its name in the CSV and the chart's file name.
    pub id: &'static str,
    pub title: &'static str,
    pub axis: Axis,
    pub lower_is_better: bool,
    /// Whether its chart has a logarithmic value axis.
    pub log_y: bool,
}

macro_rules! figure {
    ($name:ident, $id:literal, $title:literal, $axis:ident, $lower:literal, $log:literal) => {
        pub const $name: Figure = Figure {
            id: $id,
            title: $title,
            axis: Axis::$axis,
            lower_is_better: $lower,
            log_y: $log,
        };
    };
}

figure!(
    ROUND_TRIPS,
    "round_trips_per_sec",
    "round trips per second",
    Conns,
    false,
    true
);
figure!(P50, "p50_latency_us", "p50 latency (µs)", Conns, true, true);
figure!(P99, "p99_latency_us", "p99 latency (µs)", Conns, true, true);
figure!(
    CPU,
    "cpu_us_per_round_trip",
    "server CPU time per round trip (µs)",
    Conns,
    true,
    true
);
figure!(
    CPU_CONN,
    "cpu_us_per_connection",
    "server CPU time per connection (µs: connect, one round trip, close; the whole tree)",
    None,
    true,
    true
);
figure!(
    MEMORY,
    "memory_kb_per_idle_connection",
    "memory per idle connection (kB, PSS)",
    Conns,
    true,
    true
);
figure!(
    MEMORY_START,
    "memory_kb_at_start",
    "memory at start (kB, PSS of the idle server)",
    None,
    true,
    true
);
figure!(
    CONN_RATE,
    "connections_per_sec",
    "connections per second (connect, one round trip, close)",
    Clients,
    false,
    true
);
figure!(
    SYSCALLS_CONN,
    "syscalls_per_connection",
    "system calls per connection",
    None,
    true,
    false
);
figure!(
    SYSCALLS_RT,
    "syscalls_per_round_trip",
    "system calls per round trip",
    None,
    true,
    false
);
figure!(
    SYSCALLS_RT_BUSY,
    "syscalls_per_round_trip_10_busy",
    "system calls per round trip, 10 clients at once (under strace, which slows every call: larger batches than untraced)",
    None,
    true,
    false
);
figure!(
    INSTR_CONN,
    "instructions_per_connection",
    "instructions per connection",
    None,
    true,
    true
);
figure!(
    INSTR_RT,
    "instructions_per_round_trip",
    "instructions per round trip",
    None,
    true,
    true
);
figure!(
    SIZE,
    "binary_bytes",
    "binary size (bytes)",
    None,
    true,
    true
);
figure!(
    SIZE_STRIPPED,
    "binary_bytes_stripped",
    "binary size, stripped (bytes)",
    None,
    true,
    true
);

/// Every figure, in the order of the table.
pub const FIGURES: [&Figure; 15] = [
    &ROUND_TRIPS,
    &P50,
    &P99,
    &CPU,
    &CPU_CONN,
    &MEMORY,
    &MEMORY_START,
    &CONN_RATE,
    &SYSCALLS_CONN,
    &SYSCALLS_RT,
    &SYSCALLS_RT_BUSY,
    &INSTR_CONN,
    &INSTR_RT,
    &SIZE,
    &SIZE_STRIPPED,
];

/// Where a server stops: it held `holds` connections, and the next failed.
#[derive(Clone, Debug)]
pub struct Limit {
    pub server: String,
    pub side: Side,
    pub holds: usize,
    pub why: String,
}

/// Every sample taken, by (figure, x, server's short name, side). A
/// reference server is filed under its own name, whatever the model.
#[derive(Default)]
pub struct Results {
    samples: BTreeMap<(&'static str, usize, String, Side), Vec<f64>>,
    pub limits: Vec<Limit>,
    /// How the servers of several tasks shared each timed run.
    pub balances: Vec<super::balance::Balance>,
    /// Steps that failed, in words.
    pub failures: Vec<String>,
}

impl Results {
    pub fn add(&mut self, figure: &Figure, x: usize, server: &str, side: Side, v: f64) {
        let server = side.reference().unwrap_or(server);
        self.samples
            .entry((figure.id, x, server.to_string(), side))
            .or_default()
            .push(v);
    }

    /// The samples of one figure, if there are any.
    pub fn get(&self, figure: &Figure, x: usize, server: &str, side: Side) -> Option<&[f64]> {
        let server = side.reference().unwrap_or(server);
        self.samples
            .get(&(figure.id, x, server.to_string(), side))
            .map(Vec::as_slice)
    }

    /// The median of the samples, if there are any.
    pub fn median(&self, figure: &Figure, x: usize, server: &str, side: Side) -> Option<f64> {
        self.get(figure, x, server, side).map(median)
    }

    /// Half the range of the samples over their median, for repeated figures.
    pub fn spread(&self, figure: &Figure, x: usize, server: &str, side: Side) -> Option<f64> {
        let v = self.get(figure, x, server, side)?;
        if v.len() < 2 {
            return None;
        }
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        Some((hi - lo) / 2.0 / median(v))
    }

    /// The xs a figure was measured at, in order.
    pub fn xs(&self, figure: &Figure) -> Vec<usize> {
        let mut xs: Vec<usize> = self
            .samples
            .keys()
            .filter(|k| k.0 == figure.id)
            .map(|k| k.1)
            .collect();
        xs.dedup();
        xs.sort_unstable();
        xs.dedup();
        xs
    }

    /// The limit of a server, if it met one.
    pub fn limit(&self, server: &str, side: Side) -> Option<&Limit> {
        let server = side.reference().unwrap_or(server);
        self.limits
            .iter()
            .find(|l| l.server == server && l.side == side)
    }
}

/// Median of the values (the middle one, or the mean of the middle two).
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
