//! The tables made of a run's results: markdown for people, CSV for
//! tools, and the summary the run ends with.

use super::Options;
use super::format::{fmt, pct, ratio, ratio_of};
use super::goals::goals;
use super::results::*;
use std::fmt::Write as _;
use std::fs;

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

/// The CSV's first line: its columns.
pub const CSV_HEAD: &str = "figure,x,model,rust,c,std,tokio_st,tokio_mt,monoio,floor,rust_c,rust_tokio_st,rust_tokio_mt,rust_floor,rust_spread,c_spread,std_spread,tokio_st_spread,tokio_mt_spread,monoio_spread,floor_spread";

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
        "| figure | x | model | Rust | C | std | tokio-st | tokio-mt | monoio | floor | Rust/C | Rust/tokio-st | Rust/tokio-mt | Rust/floor | run to run: Rust / C / std / tokio-st / tokio-mt / monoio / floor |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut csv = String::from(CSV_HEAD);
    csv.push('\n');
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    let q = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
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
            let [_, tokio_st, tokio_mt, _, floor] = refs[..] else {
                unreachable!("five references")
            };
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
                let spreads: Vec<Option<f64>> = [
                    r.spread(figure, x, model, Side::Rust),
                    r.spread(figure, x, model, Side::C),
                ]
                .into_iter()
                .chain(ref_spreads.iter().copied())
                .collect();
                let values: Vec<String> = [rust, c].iter().chain(&refs).map(|&v| fmt(v)).collect();
                let ratios = [
                    ratio(rust, c),
                    ratio(rust, tokio_st),
                    ratio(rust, tokio_mt),
                    ratio(rust, floor),
                ];
                let pcts: Vec<String> = spreads.iter().map(|&v| pct(v)).collect();
                let _ = writeln!(
                    md,
                    "| {} | {} | {model} | {} | {} | {} |",
                    figure.title,
                    x_label(figure, x),
                    values.join(" | "),
                    ratios.join(" | "),
                    pcts.join(" / "),
                );
                let cells: Vec<String> = [rust, c]
                    .iter()
                    .chain(&refs)
                    .map(|&v| num(v))
                    .chain(
                        [
                            ratio_of(rust, c),
                            ratio_of(rust, tokio_st),
                            ratio_of(rust, tokio_mt),
                            ratio_of(rust, floor),
                        ]
                        .map(q),
                    )
                    .chain(spreads.iter().map(|&v| q(v)))
                    .collect();
                let _ = writeln!(csv, "{},{x},{model},{}", figure.id, cells.join(","));
            }
        }
    }
    md.push_str(
        "\nN connections are opened one after another, each with one round trip, and stay open; \
         then the active ones make round trips, 64 bytes each, as fast as the server answers. The \
         active ones are drawn at random among the open ones, the run's number the seed: the same \
         set for every server of a run, another set in each run, so that no server is handed a \
         set that suits it (every hundredth connection falls in step with a round robin over two \
         workers). Server CPU time: user and system time of every task of the \
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
         half the range of the runs over their median, the runs' active sets differing as well. \
         The floor: an epoll loop of the bench's own that only reads and writes back, the least \
         a server on this kernel's loopback TCP can cost; Rust/floor is what a model and its \
         work (stdout, upper-casing) add to it. Latencies, CPU time, memory, system calls, \
         instructions and sizes: lower is better.\n",
    );
    let limits = render_limits(r, models);
    if !limits.is_empty() {
        md.push_str("\nWhere a server stops:\n\n");
        md.push_str(&limits);
    }
    let mut order: Vec<(String, Side)> = Vec::new();
    for m in models {
        order.extend([Side::Rust, Side::C].map(|side| (m.to_string(), side)));
    }
    for side in Side::REFERENCES {
        order.push((side.reference().unwrap_or_default().to_string(), side));
    }
    let balances = super::balance::render(&r.balances, &order);
    if !balances.is_empty() {
        md.push_str(
            "\nHow each server whose tasks share the connections (a pool, threads or children made \
             at start, a runtime's workers; up to 64 tasks) shared the timed runs: the active \
             connections each task held (read at rest, before the run; a runtime's tasks own none) \
             and the share of the CPU time each spent, tasks in order of process and thread id, the \
             main one first.\n\n",
        );
        md.push_str(&balances);
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
    let median = |f: &'static Figure, x: usize| move |m: &str, side: Side| r.median(f, x, m, side);
    let floor = r.median(&CPU, at, "", Side::Floor);
    let over_floor = |m: &str, side: Side| ratio_of(r.median(&CPU, at, m, side), floor);
    type Col<'a> = (&'static str, Box<dyn Fn(&str, Side) -> Option<f64> + 'a>);
    let cols: [Col; 9] = [
        ("trips/s", Box::new(median(&ROUND_TRIPS, at))),
        ("CPU µs", Box::new(median(&CPU, at))),
        ("×floor", Box::new(over_floor)),
        ("µs/conn", Box::new(median(&CPU_CONN, 0))),
        ("p99 µs", Box::new(median(&P99, at))),
        ("kB idle", Box::new(median(&MEMORY_START, 0))),
        ("kB/conn", Box::new(median(&MEMORY, at))),
        ("sys/rt", Box::new(median(&SYSCALLS_RT, 0))),
        ("ins/rt", Box::new(median(&INSTR_RT, 0))),
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
    let value = 8;
    let name = rows
        .iter()
        .map(|r| r.0.chars().count() + 1)
        .max()
        .unwrap_or(0)
        .clamp(8, SUMMARY_WIDTH - value * cols.len());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Medians. trips/s (round trips per second), CPU µs (server CPU time per round trip, and over"
    );
    let _ = writeln!(
        out,
        "the floor's: ×floor), p99 µs and kB/conn at N = {at} connections open ({} active, drawn at",
        o.active
    );
    let _ = writeln!(
        out,
        "random); - where a server holds fewer by design. µs/conn: server CPU time per connection;"
    );
    let _ = writeln!(
        out,
        "kB idle: memory at start; sys/rt, ins/rt: system calls and instructions per round trip."
    );
    let _ = write!(out, "{:<name$}", "server");
    for (head, _) in &cols {
        let _ = write!(out, "{head:>value$}");
    }
    out.push('\n');
    for (label, m, side) in rows {
        let label: String = label.chars().take(name - 1).collect();
        let _ = write!(out, "{label:<name$}");
        for (head, get) in &cols {
            let v = get(m, side);
            let cell = if *head == "×floor" {
                v.map_or("-".into(), |v| format!("{v:.2}"))
            } else {
                fmt(v)
            };
            let _ = write!(out, "{cell:>value$}");
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
