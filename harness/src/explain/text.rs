//! The three-column view: the C line that made each call, the call, the
//! Rust line that made it.
//!
//! ```text
//! process_server.c:56 main → Close      close(3) = 0      process_server.rs:68 main → Close
//! ```
//!
//! Runs of calls that no line of the program made (the loader and libc
//! before main, libc on its own) and runs that one library call made on
//! its way (getaddrinfo's, pthread_create's) are grouped under a line
//! that says so. A mark before the call: `≠` the twins' lines differ,
//! `≉` the innermost own functions differ (the call-site check).

use super::{Explained, Origin, Row, TaskPair};
use std::fmt::Write as _;

/// The widest the call column gets; longer calls are cut with `…`.
pub const CALL_WIDTH: usize = 64;

/// A call as the middle column shows it: structures as `{…}`, long
/// strings cut, the whole at most `width` characters.
pub fn compact(line: &str, width: usize) -> String {
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
                    if s.chars().count() > 24 {
                        s = s.chars().take(20).collect::<String>() + "…\"";
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
    if out.chars().count() > width {
        out = out.chars().take(width - 1).collect::<String>() + "…";
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

/// One task pair's rows, aligned.
pub fn task(out: &mut String, index: usize, t: &TaskPair) {
    let verdict = if t.identical {
        "identical"
    } else {
        "DIFFERENT lines"
    };
    let _ = writeln!(
        out,
        "== task {index}{} ({}): {verdict}, {} calls",
        if index == 0 { ", the main task" } else { "" },
        t.pids(),
        t.rows.len()
    );
    let cells: Vec<(String, String, String)> = t
        .rows
        .iter()
        .map(|r| {
            let site =
                |c: &Option<super::Call>| c.as_ref().map_or(String::new(), |c| c.site_text());
            let mark = if !r.same_line() {
                '≠'
            } else if !r.same_site() {
                '≉'
            } else {
                ' '
            };
            let mut call = format!("{mark} {}", compact(r.line(), CALL_WIDTH));
            if !r.same_line()
                && let Some(rust) = &r.rust
            {
                call.push_str(&format!("  (Rust: {})", compact(&rust.line, CALL_WIDTH)));
            }
            (site(&r.c), call, site(&r.rust))
        })
        .collect();
    let width = |f: fn(&(String, String, String)) -> &String| {
        cells
            .iter()
            .map(|c| f(c).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w1, w2) = (width(|c| &c.0).max(1), width(|c| &c.1).max(6));
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let _ = writeln!(out, "{}   {}   Rust", pad("C", w1), pad("  call", w2));
    for (i, (c, call, rust)) in cells.iter().enumerate() {
        if let Some(g) = group(&t.rows, i, index == 0) {
            let _ = writeln!(out, "-- {g}");
        }
        let line = format!("{}   {}   {rust}", pad(c, w1), pad(call, w2));
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// What the marks mean.
pub const LEGEND: &str = "FILE:LINE CALLER → CALLEE: the line of the program's own code (outside the \
error-checking wrappers) that made the call, and what it called there; :? the compiler merged \
calls from several lines into that instruction; * the call's stack stops inside libc, and the \
line is that of the calls either side; (MODULE) no line of the program on the stack. \
≠ the twins' calls differ; ≉ they were made from functions of different names.";

/// The given tasks, one after another.
pub fn render(e: &Explained, tasks: &[usize]) -> String {
    let mut out = format!(
        "{}: every system call, the C line and the Rust line that made it ({} tasks; traces in {})\n{LEGEND}\n",
        e.program.name,
        e.tasks.len(),
        e.dir.display()
    );
    for &i in tasks {
        out.push('\n');
        task(&mut out, i, &e.tasks[i]);
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
    }
}
