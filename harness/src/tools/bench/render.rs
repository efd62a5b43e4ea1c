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
