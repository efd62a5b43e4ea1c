//! The goals a run's numbers are judged by, met or not.

use super::Options;
use super::format::{fmt, ratio_of};
use super::results::*;
use std::fmt::Write as _;

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
    peers(&mut s, r, models, o);
    floor(&mut s, r, models, o);
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
                    [Side::Std, Side::TokioSt, Side::TokioMt, Side::Monoio]
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

/// The Ns the goals against peers and the floor are judged at.
const AT: [usize; 2] = [10, 1000];

/// A server of the table (Rust) or a reference, for the goals.
#[derive(Clone, Copy)]
struct Who<'a>(&'a str, Side);

impl Who<'_> {
    fn median(self, r: &Results, f: &Figure, x: usize) -> Option<f64> {
        r.median(f, x, self.0, self.1)
    }

    fn name(self) -> String {
        match self.1.reference() {
            Some(n) => n.to_string(),
            None => format!("{}_server (Rust)", self.0),
        }
    }
}

/// "met (A against B, A/B)", "not met (…)", or why not measured: `a` at
/// or below `b` on `f` (at or above, for a figure where higher is better),
/// within `factor` of it.
fn judge(r: &Results, f: &Figure, x: usize, a: Who, b: Who, factor: f64) -> String {
    let Some(va) = a.median(r, f, x) else {
        return format!("not measured: {} at N = {x}", a.name());
    };
    let Some(vb) = b.median(r, f, x) else {
        return format!("not measured: {} at N = {x}", b.name());
    };
    let q = va / vb;
    let ok = if f.lower_is_better {
        q <= factor
    } else {
        q >= factor
    };
    let verdict = if ok { "met" } else { "not met" };
    format!(
        "{verdict} ({} against {}, {q:.3})",
        fmt(Some(va)),
        fmt(Some(vb))
    )
}

/// The Ns of [`AT`] this run measured.
fn at(o: &Options) -> Vec<usize> {
    AT.into_iter().filter(|x| o.conns.contains(x)).collect()
}

/// The peers a Rust programmer would pick instead: io_uring against
/// monoio, the event loop against tokio's current-thread runtime, the
/// pool and SO_REUSEPORT against its multi-thread runtime.
fn peers(s: &mut String, r: &Results, models: &[&str], o: &Options) {
    let monoio = Who("", Side::Monoio);
    let mut goals: Vec<(&str, &Figure, usize, Who)> = Vec::new();
    for x in at(o) {
        goals.push(("uring", &CPU, x, monoio));
        goals.push(("uring", &ROUND_TRIPS, x, monoio));
        goals.push(("epoll", &CPU, x, Who("", Side::TokioSt)));
    }
    if o.conns.contains(&1000) {
        for m in ["pool", "reuseport"] {
            goals.push((m, &ROUND_TRIPS, 1000, Who("", Side::TokioMt)));
        }
    }
    for (m, f, x, peer) in goals {
        let side = if f.lower_is_better {
            "at or below"
        } else {
            "at or above"
        };
        let line = if models.contains(&m) {
            judge(r, f, x, Who(m, Side::Rust), peer, 1.0)
        } else {
            format!("not measured: no {m} server in this run")
        };
        let _ = writeln!(
            s,
            "- {m}_server (Rust) {side} {} on {} at N = {x}: {line}",
            peer.name(),
            f.title
        );
    }
}

/// Within 1.25× of the floor's CPU time per round trip: the event loop,
/// the pool, SO_REUSEPORT and io_uring; select and poll, whose scans grow
/// with N, shown against it as well.
fn floor(s: &mut String, r: &Results, models: &[&str], o: &Options) {
    let floor = Who("", Side::Floor);
    for x in at(o) {
        for m in ["epoll", "pool", "reuseport", "uring", "select", "poll"] {
            if !models.contains(&m) {
                continue;
            }
            let line = judge(r, &CPU, x, Who(m, Side::Rust), floor, FLOOR_FACTOR);
            let shown = if matches!(m, "select" | "poll") {
                ", shown, not a goal: its scan grows with N"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "- {m}_server (Rust) within {FLOOR_FACTOR}× the floor's {} at N = {x}{shown}: {line}",
                CPU.title
            );
        }
    }
}

/// How far above the floor the goals let a server's CPU time go.
const FLOOR_FACTOR: f64 = 1.25;

#[cfg(test)]
mod tests {
    use super::*;

    /// A run where the io_uring server beats monoio at N = 10 only, the
    /// event loop stands 1.2× above the floor and poll 2×.
    fn run() -> Results {
        let mut r = Results::default();
        for (m, side, x, cpu, trips) in [
            ("uring", Side::Rust, 10, 4.0, 150.0),
            ("uring", Side::Rust, 1000, 6.0, 90.0),
            ("", Side::Monoio, 10, 5.0, 100.0),
            ("", Side::Monoio, 1000, 5.0, 100.0),
            ("epoll", Side::Rust, 10, 6.0, 100.0),
            ("poll", Side::Rust, 10, 10.0, 50.0),
            ("", Side::Floor, 10, 5.0, 200.0),
            ("", Side::TokioSt, 10, 5.5, 100.0),
        ] {
            r.add(&CPU, x, m, side, cpu);
            r.add(&ROUND_TRIPS, x, m, side, trips);
        }
        r
    }

    #[test]
    fn goals_against_peers_and_the_floor_are_judged_with_their_figures() {
        let o = Options {
            conns: vec![10, 1000],
            ..Options::default()
        };
        let g = goals(&run(), &["uring", "epoll", "poll"], &o);
        for line in [
            "- uring_server (Rust) at or below monoio on server CPU time per round trip (µs) at N = 10: met (4.00 against 5.00, 0.800)",
            "- uring_server (Rust) at or above monoio on round trips per second at N = 10: met (150 against 100, 1.500)",
            "- uring_server (Rust) at or below monoio on server CPU time per round trip (µs) at N = 1000: not met (6.00 against 5.00, 1.200)",
            "- uring_server (Rust) at or above monoio on round trips per second at N = 1000: not met (90.0 against 100, 0.900)",
            "- epoll_server (Rust) at or below tokio-st on server CPU time per round trip (µs) at N = 10: not met (6.00 against 5.50, 1.091)",
            "- epoll_server (Rust) within 1.25× the floor's server CPU time per round trip (µs) at N = 10: met (6.00 against 5.00, 1.200)",
            "- poll_server (Rust) within 1.25× the floor's server CPU time per round trip (µs) at N = 10, shown, not a goal: its scan grows with N: not met (10.0 against 5.00, 2.000)",
            "- uring_server (Rust) within 1.25× the floor's server CPU time per round trip (µs) at N = 1000: not measured: floor at N = 1000",
            "- pool_server (Rust) at or above tokio-mt on round trips per second at N = 1000: not measured: no pool server in this run",
        ] {
            assert!(g.contains(&format!("{line}\n")), "{line}\nnot in:\n{g}");
        }
    }
}
