//! The results of a run, by figure, x (connections open, or clients), server
//! and side, and the tables made of them: markdown for people, CSV for
//! tools; and the goals the numbers are judged by, met or not.

use super::Options;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;

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
}

impl Side {
    /// The reference servers, in the order of the table's columns.
    pub const REFERENCES: [Side; 3] = [Side::Std, Side::TokioSt, Side::TokioMt];

    /// The name of a reference server, which stands for its own model.
    pub fn reference(self) -> Option<&'static str> {
        match self {
            Side::Rust | Side::C => None,
            Side::Std => Some("std"),
            Side::TokioSt => Some("tokio-st"),
            Side::TokioMt => Some("tokio-mt"),
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

fn fmt(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

fn ratio_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    ratio_of(a, b).map_or("-".into(), |r| format!("{r:.3}"))
}

fn pct(s: Option<f64>) -> String {
    s.map_or("-".into(), |s| format!("±{:.0}%", s * 100.0))
}

/// The x of a row, in words.
pub fn x_label(figure: &Figure, x: usize) -> String {
    match figure.axis {
        Axis::Conns => format!("N = {x}"),
        Axis::Clients if x == 1 => "1 client".into(),
        Axis::Clients => format!("{x} clients"),
        Axis::None => String::new(),
    }
}

/// What a run was, for the head of the table.
pub struct Run<'a> {
    pub o: &'a Options,
    pub took: f64,
    /// The RLIMIT_NOFILE the servers ran under (their tables may be sized by it).
    pub nofile: u64,
}

/// The markdown table and the CSV: a row per figure, x and model, the
/// reference servers in columns of their own.
pub fn render(r: &Results, models: &[&str], run: &Run) -> (String, String) {
    let o = run.o;
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let conns: Vec<String> = o.conns.iter().map(usize::to_string).collect();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Machine: {cores} cores ({cpu}), Linux {}; servers run under RLIMIT_NOFILE {}; N = {} connections open, {} of them active (all when fewer); {} alternating runs of {} s per timed figure, medians; took {:.0} s.\n",
        kernel.trim(),
        run.nofile,
        conns.join(", "),
        o.active,
        o.reps,
        o.secs,
        run.took
    );
    md.push_str(
        "| figure | x | model | Rust | C | std | tokio-st | tokio-mt | Rust/C | Rust/tokio-st | Rust/tokio-mt | run to run: Rust / C / tokio-st / tokio-mt |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut csv = String::from(
        "figure,x,model,rust,c,std,tokio_st,tokio_mt,rust_c,rust_tokio_st,rust_tokio_mt,rust_spread,c_spread,std_spread,tokio_st_spread,tokio_mt_spread\n",
    );
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    for figure in FIGURES {
        for x in r.xs(figure) {
            let refs: Vec<Option<f64>> = Side::REFERENCES
                .iter()
                .map(|&s| r.median(figure, x, "", s))
                .collect();
            let ref_spreads: Vec<Option<f64>> = Side::REFERENCES
                .iter()
                .map(|&s| r.spread(figure, x, "", s))
                .collect();
            let spread_csv = |s: Option<f64>| s.map_or(String::new(), |s| format!("{s:.3}"));
            // The models of the table; with none measured at this x, the
            // references alone.
            let mut rows: Vec<&str> = models
                .iter()
                .copied()
                .filter(|m| {
                    r.get(figure, x, m, Side::Rust).is_some()
                        || r.get(figure, x, m, Side::C).is_some()
                })
                .collect();
            if rows.is_empty() && refs.iter().any(Option::is_some) {
                rows.push("-");
            }
            for model in rows {
                let rust = r.median(figure, x, model, Side::Rust);
                let c = r.median(figure, x, model, Side::C);
                let rs = r.spread(figure, x, model, Side::Rust);
                let cs = r.spread(figure, x, model, Side::C);
                let _ = writeln!(
                    md,
                    "| {} | {} | {model} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} / {} |",
                    figure.title,
                    x_label(figure, x),
                    fmt(rust),
                    fmt(c),
                    fmt(refs[0]),
                    fmt(refs[1]),
                    fmt(refs[2]),
                    ratio(rust, c),
                    ratio(rust, refs[1]),
                    ratio(rust, refs[2]),
                    pct(rs),
                    pct(cs),
                    pct(ref_spreads[1]),
                    pct(ref_spreads[2]),
                );
                let _ = writeln!(
                    csv,
                    "{},{x},{model},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    figure.id,
                    num(rust),
                    num(c),
                    num(refs[0]),
                    num(refs[1]),
                    num(refs[2]),
                    ratio_of(rust, c).map_or(String::new(), |v| format!("{v:.3}")),
                    ratio_of(rust, refs[1]).map_or(String::new(), |v| format!("{v:.3}")),
                    ratio_of(rust, refs[2]).map_or(String::new(), |v| format!("{v:.3}")),
                    spread_csv(rs),
                    spread_csv(cs),
                    spread_csv(ref_spreads[0]),
                    spread_csv(ref_spreads[1]),
                    spread_csv(ref_spreads[2]),
                );
            }
        }
    }
    md.push_str(
        "\nN connections are opened one after another, each with one round trip, and stay open; \
         then the active ones (spread evenly among them) make round trips, 64 bytes each, as fast \
         as the server answers. Server CPU time: user and system time of every task of the \
         server's process tree, from /proc/PID/task/TID/schedstat (nanoseconds), over the timed \
         window, divided by the round trips; a window in which a task of the tree ended is an \
         error, not a figure. Memory at start: PSS of the whole tree (every process, from \
         smaps_rollup), started and settled after the one probe connection that says it is ready, \
         before any other, under the RLIMIT_NOFILE above. \
         Memory per idle connection: that PSS with N idle connections, less that at start, over \
         N; the kernel's share \
         (socket buffers, kernel stacks, page tables) is not in it. Connections per second: each \
         client connects, makes one 16-byte round trip and closes, over and over. System calls \
         (strace -f -c) and instructions (callgrind): counted runs, each connection or round trip \
         stepped until the server waits again, the difference between runs divided. Run to run: \
         half the range of the runs over their median. Latencies, CPU time, memory, system calls, \
         instructions and sizes: lower is better.\n",
    );
    let limits = render_limits(r, models);
    if !limits.is_empty() {
        md.push_str("\nWhere a server stops:\n\n");
        md.push_str(&limits);
    }
    if !r.failures.is_empty() {
        md.push_str("\nFAILED:\n\n");
        for f in &r.failures {
            let _ = writeln!(md, "- {f}");
        }
    }
    md.push_str("\nGoals:\n\n");
    md.push_str(&goals(r, models, o));
    (md, csv)
}

/// What `make bench` prints: a row per server, the figures a reader looks
/// at first, in at most [`SUMMARY_WIDTH`] columns, then the goals, wrapped;
/// the whole table is in `results.md`.
pub fn summary(r: &Results, models: &[&str], o: &Options, table: &str) -> String {
    let at = o.conns.iter().copied().max().unwrap_or(0);
    let cols: [(&Figure, usize, &str); 8] = [
        (&ROUND_TRIPS, at, "trips/s"),
        (&CPU, at, "CPU µs"),
        (&CPU_CONN, 0, "µs/conn"),
        (&P99, at, "p99 µs"),
        (&MEMORY_START, 0, "kB start"),
        (&MEMORY, at, "kB/conn"),
        (&SYSCALLS_RT, 0, "calls/rt"),
        (&INSTR_RT, 0, "instr/rt"),
    ];
    let mut rows: Vec<(String, &str, Side)> = Vec::new();
    for m in models {
        for side in [Side::Rust, Side::C] {
            rows.push((format!("{m} ({})", side.label()), m, side));
        }
    }
    for side in Side::REFERENCES {
        rows.push((side.label().to_string(), "", side));
    }
    // The name's column as wide as the longest, within the width.
    let value = 9;
    let name = rows
        .iter()
        .map(|r| r.0.chars().count() + 1)
        .max()
        .unwrap_or(0)
        .clamp(8, SUMMARY_WIDTH - value * cols.len());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Medians. trips/s (round trips per second), CPU µs (server CPU time per round trip), p99 µs"
    );
    let _ = writeln!(
        out,
        "and kB/conn at N = {at} connections open ({} active); - where a server holds fewer by design.",
        o.active
    );
    let _ = writeln!(
        out,
        "µs/conn: server CPU time per connection (connect, one round trip, close), the whole tree."
    );
    let _ = write!(out, "{:<name$}", "server");
    for (_, _, head) in cols {
        let _ = write!(out, "{head:>value$}");
    }
    out.push('\n');
    for (label, m, side) in rows {
        let label: String = label.chars().take(name - 1).collect();
        let _ = write!(out, "{label:<name$}");
        for (f, x, _) in cols {
            let _ = write!(out, "{:>value$}", fmt(r.median(f, x, m, side)));
        }
        out.push('\n');
    }
    let rest = table.split_once("\nGoals:\n").map_or("", |(_, g)| g);
    out.push_str("\nGoals:\n");
    for line in rest.lines().filter(|l| !l.is_empty()) {
        out.push_str(&wrap(line, SUMMARY_WIDTH, "  "));
    }
    if !r.failures.is_empty() {
        let _ = writeln!(out, "\n{} steps FAILED: see results.md", r.failures.len());
    }
    out
}

/// The widest line of [`summary`].
pub const SUMMARY_WIDTH: usize = 100;

/// `text` cut at spaces into lines of at most `width` characters, the
/// lines after the first indented by `indent`.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
        } else if len > 0 && line != indent {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

fn render_limits(r: &Results, models: &[&str]) -> String {
    let mut s = String::new();
    let mut ordered: Vec<&Limit> = Vec::new();
    for m in models {
        for side in [Side::Rust, Side::C] {
            ordered.extend(r.limit(m, side));
        }
    }
    for side in Side::REFERENCES {
        ordered.extend(r.limit("", side));
    }
    for l in ordered {
        let name = match l.side.reference() {
            Some(n) => n.to_string(),
            None => format!("{} ({})", l.server, l.side.label()),
        };
        let _ = writeln!(
            s,
            "- {name}: holds {} connections at most: {}",
            l.holds, l.why
        );
    }
    s
}

/// Each goal, met or not, with the figures.
pub fn goals(r: &Results, models: &[&str], o: &Options) -> String {
    let mut s = String::new();
    let met = |ok: bool| if ok { "met" } else { "not met" };
    // Rust/C CPU time per round trip ≤ 1.03, every model, every N.
    for m in models {
        let ratios: Vec<(usize, f64)> = r
            .xs(&CPU)
            .into_iter()
            .filter_map(|x| {
                ratio_of(
                    r.median(&CPU, x, m, Side::Rust),
                    r.median(&CPU, x, m, Side::C),
                )
                .map(|q| (x, q))
            })
            .collect();
        if ratios.is_empty() {
            continue;
        }
        let ok = ratios.iter().all(|&(_, q)| q <= 1.03);
        let list: Vec<String> = ratios
            .iter()
            .map(|(x, q)| format!("{q:.3} at N = {x}"))
            .collect();
        let _ = writeln!(
            s,
            "- {m}: Rust/C CPU time per round trip ≤ 1.03: {} ({})",
            met(ok),
            list.join(", ")
        );
    }
    // Instructions ≤ C.
    for m in models {
        for f in [&INSTR_CONN, &INSTR_RT] {
            let (rust, c) = (r.median(f, 0, m, Side::Rust), r.median(f, 0, m, Side::C));
            if let (Some(a), Some(b)) = (rust, c) {
                let _ = writeln!(
                    s,
                    "- {m}: {} ≤ C: {} ({a:.0} against {b:.0}, {:.3})",
                    f.title,
                    met(a <= b),
                    a / b
                );
            }
        }
    }
    // The event loop, the pool and the SO_REUSEPORT loops against tokio,
    // at 1,000 connections.
    let at = 1000;
    for (m, side) in [
        ("epoll", Side::TokioSt),
        ("pool", Side::TokioMt),
        ("reuseport", Side::TokioMt),
    ] {
        let who = side.label();
        if !models.contains(&m) {
            let _ = writeln!(
                s,
                "- {m}_server ahead of {who} at N = {at}: not measured: no {m} server in the table"
            );
            continue;
        }
        for (f, higher) in [(&ROUND_TRIPS, true), (&CPU, false)] {
            let (a, b) = (r.median(f, at, m, Side::Rust), r.median(f, at, "", side));
            let line = match (a, b) {
                (Some(a), Some(b)) => {
                    let ok = if higher { a > b } else { a < b };
                    format!(
                        "{} ({} against {}, {:.3})",
                        met(ok),
                        fmt(Some(a)),
                        fmt(Some(b)),
                        a / b
                    )
                }
                _ => format!("not measured at N = {at}"),
            };
            let _ = writeln!(
                s,
                "- {m}_server (Rust) ahead of {who} on {} at N = {at}: {line}",
                f.title
            );
        }
    }
    // The io_uring server: under one system call per round trip with ten
    // clients busy, and the least CPU per round trip of the table at each N.
    if models.contains(&"uring") {
        let line = match r.median(&SYSCALLS_RT_BUSY, 0, "uring", Side::Rust) {
            Some(a) => format!("{} ({a:.2})", met(a < 1.0)),
            None => "not measured".into(),
        };
        let _ = writeln!(
            s,
            "- uring (Rust): {} below 1: {line}",
            SYSCALLS_RT_BUSY.title
        );
        for x in r.xs(&CPU) {
            let Some(a) = r.median(&CPU, x, "uring", Side::Rust) else {
                continue;
            };
            let cheaper: Vec<String> = models
                .iter()
                .filter(|&&m| m != "uring")
                .filter_map(|&m| {
                    let b = r.median(&CPU, x, m, Side::Rust)?;
                    (b < a).then(|| format!("{m} {}", fmt(Some(b))))
                })
                .chain(
                    [Side::Std, Side::TokioSt, Side::TokioMt]
                        .into_iter()
                        .filter_map(|t| {
                            let b = r.median(&CPU, x, "", t)?;
                            (b < a).then(|| format!("{} {}", t.label(), fmt(Some(b))))
                        }),
                )
                .collect();
            let line = if cheaper.is_empty() {
                format!("met ({})", fmt(Some(a)))
            } else {
                format!("not met ({} against {})", fmt(Some(a)), cheaper.join(", "))
            };
            let _ = writeln!(
                s,
                "- uring (Rust): the least {} of the table at N = {x}: {line}",
                CPU.title
            );
        }
    }
    // Memory per idle connection below tokio's.
    for m in models {
        for x in [1000, 10000] {
            if !o.conns.contains(&x) {
                continue;
            }
            let a = r.median(&MEMORY, x, m, Side::Rust);
            let tokio: Vec<f64> = [Side::TokioSt, Side::TokioMt]
                .iter()
                .filter_map(|&t| r.median(&MEMORY, x, "", t))
                .collect();
            let line = match a {
                Some(a) => below_tokio(a, &tokio),
                None => "not measured: the server does not hold them".into(),
            };
            let _ = writeln!(
                s,
                "- {m} (Rust): memory per idle connection below tokio's at N = {x}: {line}"
            );
        }
    }
    // Memory at start below tokio's.
    let tokio: Vec<f64> = [Side::TokioSt, Side::TokioMt]
        .iter()
        .filter_map(|&t| r.median(&MEMORY_START, 0, "", t))
        .collect();
    for m in models {
        let line = match r.median(&MEMORY_START, 0, m, Side::Rust) {
            Some(a) => below_tokio(a, &tokio),
            None => "not measured".into(),
        };
        let _ = writeln!(s, "- {m} (Rust): memory at start below tokio's: {line}");
    }
    s
}

/// "met (A kB against tokio's T1 and T2 kB)": `a` below the lowest of
/// tokio's figures, or not; "tokio not measured" without them.
fn below_tokio(a: f64, tokio: &[f64]) -> String {
    if tokio.is_empty() {
        return "tokio not measured".into();
    }
    let lowest = tokio.iter().copied().fold(f64::MAX, f64::min);
    let theirs: Vec<String> = tokio.iter().map(|&t| fmt(Some(t))).collect();
    let met = if a < lowest { "met" } else { "not met" };
    format!(
        "{met} ({} kB against tokio's {} kB)",
        fmt(Some(a)),
        theirs.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_fits_its_width_whatever_the_names() {
        let o = Options::default();
        for models in [
            vec!["process"],
            vec!["process", "a_model_with_a_very_long_name_indeed_x"],
        ] {
            let s = summary(&Results::default(), &models, &o, "x\nGoals:\n- a goal\n");
            assert!(s.lines().all(|l| l.chars().count() <= SUMMARY_WIDTH), "{s}");
            assert!(
                s.contains("\nprocess (Rust) ") && s.contains("\ntokio-mt "),
                "{s}"
            );
        }
    }

    #[test]
    fn wrap_cuts_at_spaces_and_indents_what_follows() {
        assert_eq!(wrap("aaa bbb ccc", 7, "  "), "aaa bbb\n  ccc\n");
        assert_eq!(wrap("short", 100, "  "), "short\n");
        let long = "- epoll (Rust): memory per idle connection below tokio's at N = 1000: met (0.03 kB against tokio's 4.1 kB and 4.3 kB)";
        assert!(
            wrap(long, 100, "  ")
                .lines()
                .all(|l| l.chars().count() <= 100)
        );
    }
}
