//! The three-column view: the C line that made each call, the call, the
//! Rust line that made it.
//!
//! ```text
//! process_server.c:56 main → Close      close(3) = 0      process_server.rs:68
//! ```
//!
//! (the Rust side names the functions only where they differ from C's),
//! laid out to a width ([`View`]): long calls are cut with `…`, the
//! legend wrapped. Runs of calls that no line of the program made (the loader and libc
//! before main, libc on its own) and runs that one library call made on
//! its way (getaddrinfo's, pthread_create's) are grouped under a line
//! that says so. A mark before the call: `≠` the twins' lines differ,
//! `≉` the innermost own functions differ (the call-site check).

use super::{Explained, Origin, Row, TaskPair};
use std::fmt::Write as _;

/// A call as the middle column shows it: structures as `{…}`, long
/// strings cut, the whole at most `width` characters; where it must be
/// cut, strings are cut shorter first, then the arguments, keeping what
/// the call returned.
pub fn compact(line: &str, width: usize) -> String {
    let mut out = String::new();
    for limit in [20, 14, 8] {
        out = fold(line, limit);
        if out.chars().count() <= width {
            return out;
        }
    }
    // `accept(3, ADDR, [16]) = ? ERESTARTSYS (…)`: the arguments cut,
    // the result kept (itself cut to a dozen characters).
    if let Some(i) = out.rfind(") = ") {
        let result = cut(&out[i + 1..], 14);
        let room = width.saturating_sub(result.chars().count() + 1);
        if room >= 8 {
            return format!("{}){result}", cut(&out[..i], room));
        }
    }
    cut(&out, width)
}

/// `line` with its structures as `{…}` and strings longer than `limit`
/// cut to about `limit` characters.
fn fold(line: &str, limit: usize) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut depth = 0;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::from('"');
                let mut escaped = false;
                for d in chars.by_ref() {
                    s.push(d);
                    match d {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
                if chars.peek() == Some(&'.') {
                    // strace's own "..." after a cut string.
                    while chars.peek() == Some(&'.') {
                        chars.next();
                    }
                    s.pop();
                    s.push_str("…\"");
                }
                if depth == 0 {
                    if s.chars().count() > limit + 4 {
                        s = s.chars().take(limit).collect::<String>() + "…\"";
                    }
                    out.push_str(&s);
                }
            }
            '{' => {
                if depth == 0 {
                    out.push_str("{…");
                }
                depth += 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    out.push('}');
                }
            }
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// The heading of a group of rows, if `row` starts one; `main` for the
/// main task's rows.
pub fn group(rows: &[Row], i: usize, main: bool) -> Option<String> {
    let row = &rows[i];
    let key = |r: &Row| {
        (
            r.origin,
            r.c.as_ref().map(|c| c.site_text()),
            r.rust.as_ref().map(|c| c.site_text()),
        )
    };
    if i > 0 && key(&rows[i - 1]) == key(row) {
        return None;
    }
    if i > 0
        && matches!(row.origin, Origin::Startup | Origin::Libc)
        && rows[i - 1].origin == row.origin
    {
        return None;
    }
    let n = rows[i..]
        .iter()
        .take_while(|r| {
            if matches!(row.origin, Origin::Startup | Origin::Libc) {
                r.origin == row.origin
            } else {
                key(r) == key(row)
            }
        })
        .count();
    let calls = if n == 1 {
        "1 call".to_string()
    } else {
        format!("{n} calls")
    };
    match row.origin {
        Origin::Startup if main => Some(format!(
            "before main: the loader and libc starting the program ({calls})"
        )),
        Origin::Startup => Some(format!(
            "before the program's code: libc starting the new task ({calls})"
        )),
        Origin::Libc => Some(format!("libc on its own, no line of the program ({calls})")),
        Origin::Inside if n > 1 => {
            let entry = row
                .c
                .as_ref()
                .or(row.rust.as_ref())
                .and_then(|c| c.at.entry.clone())
                .unwrap_or_default();
            Some(format!("made inside {entry}, on its way ({calls})"))
        }
        _ => None,
    }
}

/// How the three columns are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// The widest a line gets: long calls are cut with `…` to fit, and
    /// the site columns too where the call would get too little.
    pub width: usize,
    /// Every call the loader and libc make before the program's code, or
    /// (the default) one line that counts them.
    pub loader: bool,
}

impl View {
    /// The narrowest view laid out: the sites and a short call.
    pub const MIN_WIDTH: usize = 80;

    /// The width of `COLUMNS`, else `terminal`'s (the terminal's, where
    /// stdout is one), else 100; never below [`View::MIN_WIDTH`].
    pub fn width(columns: Option<&str>, terminal: Option<usize>) -> usize {
        columns
            .and_then(|c| c.trim().parse().ok())
            .filter(|&c: &usize| c > 0)
            .or(terminal.filter(|&t| t > 0))
            .unwrap_or(100)
            .max(View::MIN_WIDTH)
    }
}

impl Default for View {
    fn default() -> View {
        View {
            width: 100,
            loader: false,
        }
    }
}

/// `text` cut to `width` characters, the last one `…` where it was longer.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    kept.trim_end().to_string() + "…"
}

/// `text` in lines of at most `width` characters, broken between words.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let n = line.chars().count();
        if n > 0 && n + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The site column of one twin: `FILE:LINE CALLER → CALLEE`; on the Rust
/// side only what differs from the C side's: `FILE:LINE`, or `FILE:LINE →
/// CALLEE` where only what the same function called there differs.
fn site_cell(call: &Option<super::Call>, same_as: Option<&super::Call>) -> String {
    let Some(call) = call else {
        return String::new();
    };
    let theirs = same_as.and_then(|c| c.site().map(|(_, label)| label));
    let Some((site, label)) = call.site() else {
        return call.site_text();
    };
    let star = if call.at.inferred { " *" } else { "" };
    let Some(theirs) = theirs else {
        return call.site_text();
    };
    if theirs == label {
        return format!("{}{star}", site.short());
    }
    match (label.split_once(" → "), theirs.split_once(" → ")) {
        (Some((caller, callee)), Some((their_caller, _))) if caller == their_caller => {
            format!("{} → {callee}{star}", site.short())
        }
        _ => call.site_text(),
    }
}

/// One task pair's rows, laid out to `view`.
pub fn task(out: &mut String, index: usize, t: &TaskPair, view: &View) {
    let verdict = if t.identical {
        "identical"
    } else {
        "DIFFERENT lines"
    };
    let head = format!(
        "== task {index}{} ({}): {verdict}, {} calls",
        if index == 0 { ", the main task" } else { "" },
        t.pids(),
        t.rows.len()
    );
    let _ = writeln!(out, "{}", cut(&head, view.width));
    let shown = |r: &Row| view.loader || r.origin != Origin::Startup;
    let sites: Vec<(String, String)> = t
        .rows
        .iter()
        .map(|r| (site_cell(&r.c, None), site_cell(&r.rust, r.c.as_ref())))
        .collect();
    let widest = |f: fn(&(String, String)) -> &String| {
        t.rows
            .iter()
            .zip(&sites)
            .filter(|(r, _)| shown(r))
            .map(|(_, s)| f(s).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (mut w1, mut w3) = (widest(|s| &s.0).max(1), widest(|s| &s.1).max(4));
    let calls = t
        .rows
        .iter()
        .filter(|r| shown(r))
        .map(|r| {
            let n = compact(r.line(), usize::MAX).chars().count() + 2;
            match (&r.rust, r.same_line()) {
                (Some(rust), false) => n + 9 + compact(&rust.line, usize::MAX).chars().count(),
                _ => n,
            }
        })
        .max()
        .unwrap_or(6);
    // The call gets what the sites leave, but never less than MIN_CALL
    // (or than it needs): then the sites are cut, the wider one first.
    const GAPS: usize = 6;
    const MIN_CALL: usize = 30;
    let need = calls.min(MIN_CALL);
    while w1 + w3 + GAPS + need > view.width && w1.max(w3) > 20 {
        if w1 >= w3 {
            w1 -= 1;
        } else {
            w3 -= 1;
        }
    }
    let w2 = view
        .width
        .saturating_sub(w1 + w3 + GAPS)
        .clamp(6, calls.max(6));
    let pad = |s: &str, w: usize| {
        let s = cut(s, w);
        let n = s.chars().count();
        s + &" ".repeat(w - n)
    };
    let _ = writeln!(out, "{}   {}   Rust", pad("C", w1), pad("  call", w2));
    for (i, (r, (c, rust))) in t.rows.iter().zip(&sites).enumerate() {
        if let Some(g) = group(&t.rows, i, index == 0) {
            let g = if shown(r) {
                g
            } else {
                format!("{g}, folded (--loader shows them)")
            };
            let _ = writeln!(out, "{}", cut(&format!("-- {g}"), view.width));
        }
        if !shown(r) {
            continue;
        }
        let mark = if !r.same_line() {
            '≠'
        } else if !r.same_site() {
            '≉'
        } else {
            ' '
        };
        let room = w2 - 2;
        let call = match &r.rust {
            Some(rust) if !r.same_line() => {
                let half = room.saturating_sub(9) / 2;
                format!(
                    "{} (Rust: {})",
                    compact(r.line(), half.max(4)),
                    compact(&rust.line, half.max(4))
                )
            }
            _ => compact(r.line(), room),
        };
        let line = format!(
            "{}   {}   {}",
            pad(c, w1),
            pad(&format!("{mark} {call}"), w2),
            cut(rust, w3)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// What the marks mean.
pub const LEGEND: &str = "FILE:LINE CALLER → CALLEE: the line of the program's own code (outside the \
error-checking wrappers) that made the call, and what it called there; the Rust column names \
them only where they differ from C's (`→ ReadUninit`: the same function called ReadUninit). FILE: not mapped: the compiler merged the same call from several lines into \
one instruction, and the line tables cannot say which made it; * the call's stack stops inside libc, and the line is that of the calls either \
side; (MODULE) no line of the program on the stack. ≠ the twins' calls differ; ≉ they were made \
from functions of different names.";

/// The given tasks, one after another, laid out to `view`.
pub fn render(e: &Explained, tasks: &[usize], view: &View) -> String {
    let mut out = wrap(
        &format!(
            "{}: every system call, the C line and the Rust line that made it ({} tasks; traces in {})",
            e.program.name,
            e.tasks.len(),
            e.dir.display()
        ),
        view.width,
    );
    out.push_str(&wrap(LEGEND, view.width));
    for &i in tasks {
        out.push('\n');
        task(&mut out, i, &e.tasks[i], view);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_compacted() {
        assert_eq!(
            compact(
                "accept(3, {sa_family=AF_INET, sin_port=htons(EPHEMERAL), sin_addr=inet_addr(\"127.0.0.1\")}, [16]) = 4",
                64
            ),
            "accept(3, {…}, [16]) = 4"
        );
        assert_eq!(
            compact(
                "write(1, \"received from 127.0.0.1 at PORT EPHEMERAL\\n\", 42) = 42",
                64
            ),
            "write(1, \"received from 127.0…\", 42) = 42"
        );
        assert_eq!(compact("close(3) = 0", 64), "close(3) = 0");
        assert_eq!(compact("abcdefgh", 5), "abcd…");
        // Cut to fit: shorter strings first, then the arguments; the result stays.
        assert_eq!(
            compact(
                "write(1, \"received from 127.0.0.1 at PORT EPHEMERAL\\n\", 42) = 42",
                30
            ),
            "write(1, \"receive…\", 42) = 42"
        );
        assert_eq!(
            compact(
                "wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD (No child processes)",
                30
            ),
            "wait4(-1, NULL,…) = -1 ECHILD…"
        );
    }

    #[test]
    fn the_width_is_columns_else_the_terminals_else_100() {
        assert_eq!(View::width(Some("132"), Some(80)), 132);
        assert_eq!(View::width(None, Some(90)), 90);
        assert_eq!(View::width(Some("wide"), None), 100);
        assert_eq!(View::width(None, None), 100);
        assert_eq!(View::width(Some("60"), None), View::MIN_WIDTH);
    }

    #[test]
    fn text_wraps_between_words() {
        let text = wrap(LEGEND, 72);
        assert!(text.lines().all(|l| l.chars().count() <= 72), "{text}");
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            LEGEND.split_whitespace().collect::<Vec<_>>()
        );
        assert!(text.lines().count() > 1);
    }
}
