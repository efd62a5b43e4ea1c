//! Two tasks' normalised lines side by side: only where they differ, in
//! hunks with a little context, each followed by a note for the
//! differences the project knows (see [`super::notes`]).

use super::notes;
use std::fmt::Write as _;

/// Lines of context around each change.
const CONTEXT: usize = 2;
/// Characters of a trace line per column; a longer one wraps.
const WIDTH: usize = 72;
/// A string whose text, as strace escapes it, is longer than this is shown
/// shortened in a changed row: its first bytes and a count of the rest.
const LONG: usize = 64;
/// Characters of a long string's first bytes shown (whole escapes).
const HEAD: usize = 32;
/// Where two long strings first differ: bytes shown before that offset,
/// and from it.
const BEFORE: usize = 8;
const AFTER: usize = 16;
/// Past this many cells (lines of A times lines of B, between their common
/// start and end), no common subsequence is sought: every line differs.
const MAX_CELLS: usize = 16_000_000;

/// One step from A's lines to B's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Line `a` of A is line `b` of B.
    Same(usize, usize),
    /// Line `a` of A only.
    Del(usize),
    /// Line `b` of B only.
    Ins(usize),
}

/// The steps from `a` to `b` that keep a longest common subsequence; at a
/// change, A's lines before B's.
pub fn script(a: &[String], b: &[String]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops: Vec<Op> = (0..head).map(|i| Op::Same(i, i)).collect();
    ops.extend(middle(ma, mb).into_iter().map(|op| match op {
        Op::Same(i, j) => Op::Same(i + head, j + head),
        Op::Del(i) => Op::Del(i + head),
        Op::Ins(j) => Op::Ins(j + head),
    }));
    ops.extend((0..tail).map(|k| Op::Same(a.len() - tail + k, b.len() - tail + k)));
    ops
}

/// The script between two runs of lines that differ at both ends.
fn middle(a: &[String], b: &[String]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        return (0..n).map(Op::Del).chain((0..m).map(Op::Ins)).collect();
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Same(i, j));
            (i, j) = (i + 1, j + 1);
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(Op::Del(i));
            i += 1;
        } else {
            ops.push(Op::Ins(j));
            j += 1;
        }
    }
    ops
}

/// The runs of changed steps: each hunk's range in `ops`, without context.
fn changes(ops: &[Op]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut k = 0;
    while k < ops.len() {
        if matches!(ops[k], Op::Same(..)) {
            k += 1;
            continue;
        }
        let start = k;
        while k < ops.len() && !matches!(ops[k], Op::Same(..)) {
            k += 1;
        }
        runs.push((start, k));
    }
    runs
}

/// Where the task first accepts a connection, if it does: a change before
/// it, in a main task, is at start-up (its banner, say).
fn first_accept(lines: &[String]) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with("accept(") || l.starts_with("accept4("))
        .unwrap_or(0)
}

/// A side-by-side diff of `a` and `b`, every change with CONTEXT lines
/// around it and the notes that explain it; empty when they are alike.
/// Line numbers count from 1, as in the `.norm` files.
pub fn side_by_side(a: &[String], b: &[String]) -> String {
    side_by_side_at(a, b, &[], &[])
}

/// [`side_by_side`], each changed call with the source line that made it
/// (`server.c:52`), where `at_a` and `at_b` name one (they are indexed as
/// `a` and `b`; shorter, or empty, where no line is known).
pub fn side_by_side_at(
    a: &[String],
    b: &[String],
    at_a: &[Option<String>],
    at_b: &[Option<String>],
) -> String {
    let ops = script(a, b);
    let (accept_a, accept_b) = (first_accept(a), first_accept(b));
    let mut out = String::new();
    let mut noted: Vec<String> = Vec::new();
    let mut shown_to = 0;
    let hunks = changes(&ops);
    // The changes shown so far in this task, as their lines; and where
    // those seen again since the last one shown are.
    let mut seen: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    let mut again: Vec<String> = Vec::new();
    for (k, &(start, end)) in hunks.iter().enumerate() {
        let dels: Vec<usize> = ops[start..end].iter().filter_map(del).collect();
        let ins: Vec<usize> = ops[start..end].iter().filter_map(ins).collect();
        let shape = (
            dels.iter().map(|&i| a[i].as_str()).collect(),
            ins.iter().map(|&j| b[j].as_str()).collect(),
        );
        if seen.contains(&shape) {
            // The same lines changed as before: named, not shown again.
            again.push(format!("{} beside {}", span(&dels), span(&ins)));
            shown_to = end;
            continue;
        }
        seen.push(shape);
        same_again(&mut out, &mut again);
        let from = start.saturating_sub(CONTEXT).max(shown_to);
        if from > shown_to {
            out.push_str("   ...\n");
        }
        // The context after a change stops where the next change begins.
        let next = hunks.get(k + 1).map_or(ops.len(), |h| h.0);
        let to = (end + CONTEXT).min(next);
        for op in &ops[from..start] {
            context(&mut out, a, b, *op);
        }
        for k in 0..dels.len().max(ins.len()) {
            let (l, r) = (dels.get(k), ins.get(k));
            let mark = match (l, r) {
                (Some(_), Some(_)) => '|',
                (Some(_), None) => '<',
                _ => '>',
            };
            // A long string shortened; beside its twin, where they differ.
            let (lt, rt) = (
                l.map(|&i| shorten(&a[i], r.map(|&j| b[j].as_str()))),
                r.map(|&j| shorten(&b[j], l.map(|&i| a[i].as_str()))),
            );
            let site = |at: &[Option<String>], i: usize| at.get(i).cloned().flatten();
            row(
                &mut out,
                l.zip(lt.as_deref()).map(|(&i, t)| Cell {
                    n: i,
                    text: t,
                    at: site(at_a, i),
                }),
                mark,
                r.zip(rt.as_deref()).map(|(&j, t)| Cell {
                    n: j,
                    text: t,
                    at: site(at_b, j),
                }),
            );
        }
        let at_start = dels.iter().all(|&i| i < accept_a) && ins.iter().all(|&j| j < accept_b);
        let pick = |idx: &[usize], lines: &[String]| -> Vec<String> {
            idx.iter().map(|&i| lines[i].clone()).collect()
        };
        let mut found = notes::explain(&pick(&dels, a), &pick(&ins, b), at_start);
        found.extend(moved(&ops, start, end, a, b));
        for note in found {
            // In full once per task; said again, by its name.
            if noted.contains(&note) {
                let name = note.split(':').next().unwrap_or_default();
                let _ = writeln!(out, "        note: {name}, as above");
            } else {
                let _ = writeln!(out, "        note: {note}");
                noted.push(note);
            }
        }
        for op in &ops[end..to] {
            context(&mut out, a, b, *op);
        }
        shown_to = to;
    }
    same_again(&mut out, &mut again);
    if !out.is_empty() && shown_to < ops.len() {
        out.push_str("   ...\n");
    }
    out
}

/// `53-54`, `53` or `none`: lines (indices from 0) as numbered in the diff.
fn span(idx: &[usize]) -> String {
    match (idx.first(), idx.last()) {
        (Some(f), Some(l)) if f == l => format!("{}", f + 1),
        (Some(f), Some(l)) => format!("{}-{}", f + 1, l + 1),
        _ => "none".to_string(),
    }
}

/// The changes seen again, `again`, in a line or a few: where they are,
/// A's lines beside B's; `again` emptied.
fn same_again(out: &mut String, again: &mut Vec<String>) {
    if again.is_empty() {
        return;
    }
    let mut line = "   ... the same change again, A's lines beside B's:".to_string();
    for (k, place) in again.drain(..).enumerate() {
        let sep = if k == 0 { " " } else { ", " };
        if line.chars().count() + sep.len() + place.len() > 2 * WIDTH {
            let _ = writeln!(out, "{}", line.trim_end_matches(' '));
            line = "       ".to_string();
        } else {
            line.push_str(sep);
        }
        line.push_str(&place);
    }
    let _ = writeln!(out, "{line}");
}

/// A hunk of lines on one side only that another hunk has on the other
/// side, the same lines in the same order: the same calls, at another
/// moment.
fn moved(ops: &[Op], start: usize, end: usize, a: &[String], b: &[String]) -> Option<String> {
    let here: Vec<&Op> = ops[start..end].iter().collect();
    let (mine, theirs, other) = if here.iter().all(|op| matches!(op, Op::Del(_))) {
        (
            here.iter()
                .filter_map(|op| del(op))
                .map(|i| &a[i])
                .collect::<Vec<_>>(),
            b,
            "B",
        )
    } else if here.iter().all(|op| matches!(op, Op::Ins(_))) {
        (
            here.iter()
                .filter_map(|op| ins(op))
                .map(|j| &b[j])
                .collect(),
            a,
            "A",
        )
    } else {
        return None;
    };
    let pick = |op: &Op| if other == "B" { ins(op) } else { del(op) };
    let elsewhere: Vec<usize> = changes(ops)
        .into_iter()
        .filter(|&(s, _)| s != start)
        .flat_map(|(s, e)| ops[s..e].iter().filter_map(pick).collect::<Vec<_>>())
        .collect();
    let at = elsewhere.windows(mine.len()).find(|w| {
        w.windows(2).all(|p| p[1] == p[0] + 1)
            && w.iter().zip(&mine).all(|(&k, l)| &theirs[k] == *l)
    })?;
    Some(format!(
        "moved: the same calls, at another moment ({other}'s lines {}-{})",
        at[0] + 1,
        at[at.len() - 1] + 1
    ))
}

fn del(op: &Op) -> Option<usize> {
    match op {
        Op::Del(i) => Some(*i),
        _ => None,
    }
}

fn ins(op: &Op) -> Option<usize> {
    match op {
        Op::Ins(j) => Some(*j),
        _ => None,
    }
}

/// A line alike on both sides, around a change: cut at WIDTH, not wrapped,
/// as it only shows where the change is.
fn context(out: &mut String, a: &[String], b: &[String], op: Op) {
    if let Op::Same(i, j) = op {
        let cut = |s: &str| match s.char_indices().nth(WIDTH - 1) {
            Some((k, _)) => format!("{}…", &s[..k]),
            None => s.to_string(),
        };
        let (l, r) = (cut(&a[i]), cut(&b[j]));
        let cell = |n, text| Some(Cell { n, text, at: None });
        row(out, cell(i, &l), ' ', cell(j, &r));
    }
}

/// One side of a row: a line's index, its text, and the source line that
/// made the call, if known.
struct Cell<'a> {
    n: usize,
    text: &'a str,
    at: Option<String>,
}

/// One row: A's line, the mark, B's line, each wrapped at WIDTH, the
/// source line that made each call at the right of its column's last row.
fn row(out: &mut String, left: Option<Cell>, mark: char, right: Option<Cell>) {
    let l = left
        .as_ref()
        .map_or_else(|| wrap(""), |c| wrap_at(c.text, c.at.as_deref()));
    let r = right
        .as_ref()
        .map_or_else(|| wrap(""), |c| wrap_at(c.text, c.at.as_deref()));
    let number = |x: &Option<Cell>, k: usize| match x {
        Some(c) if k == 0 => format!("{:>5}", c.n + 1),
        _ => " ".repeat(5),
    };
    for k in 0..l.len().max(r.len()) {
        let text = l.get(k).map_or("", String::as_str);
        let m = if k == 0 { mark } else { ' ' };
        let line = format!(
            "{} {text:<WIDTH$} {m} {} {}",
            number(&left, k),
            number(&right, k),
            r.get(k).map_or("", String::as_str)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// `line` with what each of its strings holds replaced by "…": what is
/// left is the shape of the call.
pub fn strings_masked(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let (mut in_str, mut escaped) = (false, false);
    for c in line.chars() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    in_str = false;
                    out.push_str("…\"");
                }
                _ => {}
            }
        } else {
            in_str = c == '"';
            out.push(c);
        }
    }
    out
}

/// `s` wrapped at WIDTH, and `at` (a source line) at the right of the last
/// piece, or of a piece of its own where it does not fit after the text.
fn wrap_at(s: &str, at: Option<&str>) -> Vec<String> {
    let mut pieces = wrap(s);
    if let Some(at) = at {
        let width = at.chars().count();
        let last = pieces.last().map_or(0, |p| p.chars().count());
        if last + 2 + width > WIDTH {
            pieces.push(String::new());
        }
        let p = pieces.last_mut().unwrap();
        let pad = WIDTH.saturating_sub(p.chars().count() + width);
        p.push_str(&" ".repeat(pad));
        p.push_str(at);
    }
    pieces
}

/// One quoted string of a trace line: where it starts and ends in the line
/// (its quotes, and the `...` strace adds where it cut it, included), and
/// the text of each byte, as strace escapes it (`a`, `\n`, `\377`).
#[derive(Debug)]
struct Quoted<'a> {
    start: usize,
    end: usize,
    bytes: Vec<&'a str>,
}

impl Quoted<'_> {
    /// The length of its text, escapes as strace writes them.
    fn text_len(&self) -> usize {
        self.bytes.iter().map(|b| b.len()).sum()
    }
}

/// The quoted strings of `line`, as strace writes them.
fn quoted(line: &str) -> Vec<Quoted<'_>> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut k = 0;
    while k < bytes.len() {
        if bytes[k] != b'"' {
            k += 1;
            continue;
        }
        let start = k;
        let mut q = Quoted {
            start,
            end: line.len(),
            bytes: Vec::new(),
        };
        k += 1;
        while k < bytes.len() && bytes[k] != b'"' {
            let from = k;
            if bytes[k] == b'\\' && k + 1 < bytes.len() {
                k += 2;
                let digits = |k: usize, n: usize, f: fn(&u8) -> bool| {
                    bytes[k..].iter().take(n).take_while(|c| f(c)).count()
                };
                match bytes[k - 1] {
                    b'0'..=b'7' => k += digits(k, 2, |c| (b'0'..=b'7').contains(c)),
                    b'x' => k += digits(k, 2, u8::is_ascii_hexdigit),
                    _ => {}
                }
            } else {
                // A character of its own: all of its UTF-8 bytes.
                k += line[k..].chars().next().map_or(1, char::len_utf8);
            }
            q.bytes.push(&line[from..k]);
        }
        k = (k + 1).min(bytes.len());
        if line[k..].starts_with("...") {
            k += 3;
        }
        q.end = k;
        out.push(q);
    }
    out
}

/// `n` with a comma every three digits: 8,150.
fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `line` with each long string (a dump of memory, binary data) cut to its
/// first bytes and a count of the rest: `"THIS\0\0"… 8,150 more bytes`.
/// Beside `other`, the line it is shown against, a long string that
/// begins as the other's does (the same place in the other line) shows
/// also where the two first differ, with a little context: a difference
/// deep inside a dump still shows.
pub fn shorten(line: &str, other: Option<&str>) -> String {
    let theirs: Vec<Quoted> = other
        .map(quoted)
        .unwrap_or_default()
        .into_iter()
        .filter(|q| q.text_len() > LONG)
        .collect();
    let mut out = String::new();
    let mut at = 0;
    let long = quoted(line).into_iter().filter(|q| q.text_len() > LONG);
    for (k, q) in long.enumerate() {
        out.push_str(&line[at..q.start]);
        out.push_str(&short(&q.bytes, theirs.get(k).map(|t| &t.bytes[..])));
        at = q.end;
    }
    out.push_str(&line[at..]);
    out
}

/// A long string's bytes as [`shorten`] shows them.
fn short(mine: &[&str], theirs: Option<&[&str]>) -> String {
    let mut head = 0;
    let mut width = 0;
    while head < mine.len() && (head == 0 || width + mine[head].len() <= HEAD) {
        width += mine[head].len();
        head += 1;
    }
    let more = |from: usize| match mine.len().saturating_sub(from) {
        0 => String::new(),
        1 => "… 1 more byte".to_string(),
        n => format!("… {} more bytes", count(n)),
    };
    let mut out = format!("\"{}\"", mine[..head].concat());
    let Some(theirs) = theirs else {
        out.push_str(&more(head));
        return out;
    };
    let first = mine.iter().zip(theirs).position(|(x, y)| x != y);
    let differ = match first {
        Some(d) => d,
        None if mine.len() == theirs.len() => {
            out.push_str(&more(head));
            out.push_str(", alike in A and B");
            return out;
        }
        None => mine.len().min(theirs.len()),
    };
    if differ < head {
        // The difference shows in the first bytes.
        out.push_str(&more(head));
        return out;
    }
    let from = differ.saturating_sub(BEFORE).max(head);
    let to = (differ + AFTER).min(mine.len());
    let gap = if from > head { "… " } else { " " };
    let _ = write!(
        out,
        "{gap}first difference at byte {}: {}\"{}\"",
        count(differ),
        if from > head { "…" } else { "" },
        mine[from..to].concat()
    );
    if to == mine.len() {
        out.push_str(" (its end)");
    } else {
        out.push_str(&more(to));
    }
    out
}

/// `s` in pieces of WIDTH characters (one empty piece for an empty line).
fn wrap(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(WIDTH).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(String::from).collect()
    }

    #[test]
    fn alike_tasks_make_no_diff() {
        let a = lines("x\ny\nz");
        assert_eq!(side_by_side(&a, &a), "");
        assert!(script(&a, &a).iter().all(|op| matches!(op, Op::Same(..))));
    }

    #[test]
    fn a_changed_line_shows_beside_its_twin_with_context() {
        let a = lines("1\n2\n3\nlisten(3, 20) = 0\n5\n6\n7\n8");
        let b = lines("1\n2\n3\nlisten(3, 128) = 0\n5\n6\n7\n8");
        let d = side_by_side(&a, &b);
        let rows: Vec<&str> = d.lines().collect();
        assert_eq!(rows[0], "   ...");
        assert!(rows[1].starts_with("    2 2 ") && rows[1].ends_with("    2 2"));
        let changed = rows.iter().find(|r| r.contains(" | ")).unwrap();
        assert!(changed.starts_with("    4 listen(3, 20) = 0"));
        assert!(changed.ends_with("    4 listen(3, 128) = 0"));
        assert!(d.contains("note: the backlog"), "{d}");
        assert_eq!(rows.last(), Some(&"   ..."));
        assert!(!d.contains(" 1 1"), "only two lines of context: {d}");
    }

    #[test]
    fn lines_on_one_side_only_are_marked_so() {
        let a = lines("a\nb\nc");
        let b = lines("a\nnew\nb\nc\nend");
        let ops = script(&a, &b);
        assert_eq!(
            ops,
            vec![
                Op::Same(0, 0),
                Op::Ins(1),
                Op::Same(1, 2),
                Op::Same(2, 3),
                Op::Ins(4)
            ]
        );
        let d = side_by_side(&a, &b);
        assert!(d.lines().any(|r| r.contains(" >     2 new")), "{d}");
        assert!(d.lines().any(|r| r.contains(" >     5 end")), "{d}");
    }

    #[test]
    fn strings_are_masked_whatever_they_hold() {
        assert_eq!(
            strings_masked(r#"write(1, "a \"quoted\" \\ b", 12) = 12"#),
            r#"write(1, "…", 12) = 12"#
        );
        assert_eq!(strings_masked("close(4) = 0"), "close(4) = 0");
    }

    #[test]
    fn changes_closer_than_their_context_share_it() {
        let a = lines("1\n2\nx\n3\ny\n4\n5");
        let b = lines("1\n2\nX\n3\nY\n4\n5");
        let d = side_by_side(&a, &b);
        let numbers: Vec<&str> = d.lines().map(|r| r[..5].trim()).collect();
        assert_eq!(numbers, ["1", "2", "3", "4", "5", "6", "7"], "{d}");
    }

    #[test]
    fn calls_made_at_another_moment_are_noted_as_moved() {
        let a = lines("x\nsocket\nconnect\ny\nz\nw");
        let b = lines("x\ny\nz\nsocket\nconnect\nw");
        let d = side_by_side(&a, &b);
        assert!(
            d.contains("note: moved: the same calls, at another moment (B's lines 4-5)"),
            "{d}"
        );
        assert!(
            d.contains("note: moved: the same calls, at another moment (A's lines 2-3)"),
            "{d}"
        );
    }

    #[test]
    fn a_long_line_wraps_in_its_column() {
        let long = "w".repeat(WIDTH + 10);
        let d = side_by_side(&lines(&long), &lines("short"));
        let rows: Vec<&str> = d.lines().collect();
        assert_eq!(rows.len(), 2, "{d}");
        assert!(rows[0].contains(" | ") && rows[0].ends_with("short"));
        assert!(rows[1].trim() == "w".repeat(10), "{d}");
    }

    /// A write of a dump: `n` escaped bytes of `fill` after `head`.
    fn dump(head: &str, fill: &str, n: usize) -> String {
        format!(
            "write(1, \"{head}{}\"..., 18446744073709551615) = -1 EFAULT (Bad address)",
            fill.repeat(n)
        )
    }

    #[test]
    fn a_long_string_shows_its_first_bytes_and_a_count() {
        let line = dump("THIS\\n", "\\0", 8186);
        let s = shorten(&line, None);
        assert_eq!(
            s,
            "write(1, \"THIS\\n\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\"… 8,173 more bytes, \
             18446744073709551615) = -1 EFAULT (Bad address)"
        );
        // Short strings, and lines without any, are left as they are.
        let short = "read(4, \"round 0: Hello, server!\\n\", 80) = 24";
        assert_eq!(shorten(short, None), short);
        assert_eq!(shorten("close(4) = 0", Some(&line)), "close(4) = 0");
    }

    #[test]
    fn two_long_strings_alike_show_where_they_first_differ() {
        let mut x = "\\0".repeat(2000);
        let mut y = x.clone();
        x.push_str("\\4\\0\\0\\0\\3");
        y.push_str("\\5\\0\\0\\0\\3");
        x.push_str(&"\\0".repeat(100));
        y.push_str(&"\\0".repeat(100));
        let (a, b) = (dump("", &x, 1), dump("", &y, 1));
        let s = shorten(&a, Some(&b));
        assert!(
            s.contains(
                "… first difference at byte 2,000: …\"\\0\\0\\0\\0\\0\\0\\0\\0\\4\\0\\0\\0\\3"
            ),
            "{s}"
        );
        assert!(s.contains("… 89 more bytes, 18446744073709551615"), "{s}");
        assert!(shorten(&b, Some(&a)).contains("\\0\\5\\0\\0\\0\\3"));
        // Alike throughout: said so.
        assert!(shorten(&a, Some(&a)).contains("more bytes, alike in A and B, "));
        // Differing in the first bytes: the first bytes show it.
        let c = dump("X", "\\0", 500);
        assert!(!shorten(&c, Some(&a)).contains("first difference"));
        // One a beginning of the other: where it ends.
        let d = dump("", &"\\0".repeat(1000), 1);
        let s = shorten(&d, Some(&a));
        assert!(
            s.contains("first difference at byte 1,000: …\"\\0\\0\\0\\0\\0\\0\\0\\0\" (its end)"),
            "{s}"
        );
    }

    #[test]
    fn a_difference_deep_in_a_dump_shows_through_the_diff() {
        let a = lines(&format!("x\n{}\ny", dump("", &"\\0".repeat(5000), 1)));
        let mut b = a.clone();
        b[1] = b[1].replacen(
            &"\\0".repeat(4000),
            &("\\0".repeat(3000) + "\\1" + &"\\0".repeat(999)),
            1,
        );
        assert_ne!(a, b);
        let d = side_by_side(&a, &b);
        assert!(d.lines().count() <= 6, "{d}");
        assert!(d.contains("note: a length of -1 in A and B: "), "{d}");
        // B's column, its pieces joined again.
        let right: String = d.lines().flat_map(|r| r.chars().skip(WIDTH + 15)).collect();
        assert!(right.contains("first difference at byte 3,000"), "{d}");
        assert!(right.contains("\\0\\1\\0"), "{d}");
    }

    #[test]
    fn strace_escapes_count_as_one_byte_each() {
        let q = quoted(r#"write(1, "a\n\0\377\x1f\"b"..., 9) = 9"#);
        assert_eq!(q.len(), 1);
        assert_eq!(
            q[0].bytes,
            ["a", "\\n", "\\0", "\\377", "\\x1f", "\\\"", "b"]
        );
        assert_eq!(
            &r#"write(1, "a\n\0\377\x1f\"b"..., 9) = 9"#[q[0].end..],
            ", 9) = 9"
        );
        assert_eq!(count(8150), "8,150");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(999), "999");
    }

    #[test]
    fn a_changed_call_shows_the_source_line_that_made_it() {
        let a = lines("x\nlisten(3, 20) = 0\ny");
        let b = lines("x\nlisten(3, 128) = 0\nnew\ny");
        let at = |v: &[Option<&str>]| -> Vec<Option<String>> {
            v.iter().map(|s| s.map(String::from)).collect()
        };
        let d = side_by_side_at(
            &a,
            &b,
            &at(&[None, Some("server.c:85")]),
            &at(&[None, Some("listen.rs:30"), Some("echo.rs:9")]),
        );
        let changed = d.lines().find(|r| r.contains(" | ")).unwrap();
        let (left, right) = changed.split_once(" | ").unwrap();
        assert!(left.ends_with("server.c:85"), "{d}");
        assert!(right.ends_with("listen.rs:30"), "{d}");
        assert!(
            d.lines()
                .any(|r| r.contains(" >     3 new") && r.ends_with("echo.rs:9")),
            "{d}"
        );
        // Context rows name none.
        assert!(
            !d.lines()
                .any(|r| r.contains("    1 x") && r.contains(".c:")),
            "{d}"
        );
    }

    #[test]
    fn a_change_seen_again_is_named_not_shown() {
        let a = lines(
            "1\n2\nwait4(0) = PID\n3\n4\n5\n6\nwait4(0) = PID\n7\n8\n9\n10\nwait4(0) = PID\n11",
        );
        let b = a
            .iter()
            .map(|l| l.replace("(0)", "(-1)"))
            .collect::<Vec<_>>();
        let d = side_by_side(&a, &b);
        assert_eq!(d.matches(" | ").count(), 1, "{d}");
        assert!(
            d.contains(
                "   ... the same change again, A's lines beside B's: 8 beside 8, 13 beside 13\n"
            ),
            "{d}"
        );
        assert_eq!(span(&[]), "none");
        assert_eq!(span(&[4, 5]), "5-6");
    }
}
