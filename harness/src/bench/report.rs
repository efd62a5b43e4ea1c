//! The results of a run, by measure, server and side, and the table made
//! of them: markdown for people, CSV for tools.

use super::Options;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;

/// Which program of a server a figure is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Rust,
    C,
    /// The std reference server (one, whatever the model).
    Std,
}

/// Every sample taken, by (measure, server's short name, side), measures
/// in the order they were first recorded.
#[derive(Default)]
pub struct Results {
    order: Vec<String>,
    samples: BTreeMap<(String, String, Side), Vec<f64>>,
}

impl Results {
    pub fn add(&mut self, measure: &str, server: &str, side: Side, v: f64) {
        if !self.order.iter().any(|m| m == measure) {
            self.order.push(measure.to_string());
        }
        let server = if side == Side::Std { "std" } else { server };
        self.samples
            .entry((measure.to_string(), server.to_string(), side))
            .or_default()
            .push(v);
    }

    /// The median of the samples, if there are any.
    pub fn median(&self, measure: &str, server: &str, side: Side) -> Option<f64> {
        self.get(measure, server, side).map(|v| median(v.to_vec()))
    }

    /// Half the range of the samples over their median, for repeated figures.
    pub fn spread(&self, measure: &str, server: &str, side: Side) -> Option<f64> {
        let v = self.get(measure, server, side)?;
        if v.len() < 2 {
            return None;
        }
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        Some((hi - lo) / 2.0 / median(v.to_vec()))
    }

    fn get(&self, measure: &str, server: &str, side: Side) -> Option<&Vec<f64>> {
        let server = if side == Side::Std { "std" } else { server };
        self.samples
            .get(&(measure.to_string(), server.to_string(), side))
    }
}

/// Median of the values (the middle one, or the mean of the middle two).
pub fn median(mut v: Vec<f64>) -> f64 {
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
        Some(v) => format!("{v:.1}"),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => format!("{:.3}", a / b),
        _ => "-".into(),
    }
}

/// The markdown table and the CSV: a row per measure and server.
pub fn render(r: &Results, servers: &[&str], o: &Options, took: f64) -> (String, String) {
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
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Machine: {cores} cores ({cpu}), Linux {}; {} alternating runs of {} s per throughput figure, medians; took {took:.0} s.\n",
        kernel.trim(),
        o.reps,
        o.secs
    );
    md.push_str("| measure | model | Rust | C | std | Rust/C | Rust/std | C run to run |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    let mut csv = String::from("measure,model,rust,c,std,rust_c,rust_std,c_spread\n");
    for measure in &r.order {
        let std = r.median(measure, "std", Side::Std);
        for &server in servers {
            let rust = r.median(measure, server, Side::Rust);
            let c = r.median(measure, server, Side::C);
            if rust.is_none() && c.is_none() {
                continue;
            }
            let spread = r.spread(measure, server, Side::C);
            let _ = writeln!(
                md,
                "| {measure} | {server} | {} | {} | {} | {} | {} | {} |",
                fmt(rust),
                fmt(c),
                fmt(std),
                ratio(rust, c),
                ratio(rust, std),
                spread.map_or("-".into(), |s| format!("±{:.0}%", s * 100.0))
            );
            let num = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
            let _ = writeln!(
                csv,
                "\"{measure}\",{server},{},{},{},{},{},{}",
                num(rust),
                num(c),
                num(std),
                ratio(rust, c),
                ratio(rust, std),
                spread.map_or(String::new(), |s| format!("{s:.3}"))
            );
        }
    }
    md.push_str("\nMemory per connection: PSS of each child for the process servers, RSS growth per connection for the others and std (with 100 idle clients, or as many as the model serves at once). Latencies and system calls, instructions, memory, size: lower is better. C run to run: half the range of the C twin's runs over their median, the noise a ratio sits in. A model that serves one client at a time is measured with one client only.\n");
    (md, csv)
}
