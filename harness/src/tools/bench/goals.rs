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
