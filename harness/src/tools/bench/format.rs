//! The numbers of the tables and the goals, as text.

pub(super) fn fmt(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

pub(super) fn ratio_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => Some(a / b),
        _ => None,
    }
}

pub(super) fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    ratio_of(a, b).map_or("-".into(), |r| format!("{r:.3}"))
}

pub(super) fn pct(s: Option<f64>) -> String {
    s.map_or("-".into(), |s| format!("±{:.0}%", s * 100.0))
}
