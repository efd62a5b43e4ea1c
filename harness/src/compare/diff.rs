//! Two tasks' normalised lines side by side: only where they differ, in
//! hunks with a little context, each followed by a note for the
//! differences the project knows (see [`super::notes`]).

use super::notes;
use std::fmt::Write as _;

/// Lines of context around each change.
const CONTEXT: usize = 2;
/// Characters of a trace line per column; a longer one wraps.
const WIDTH: usize = 72;
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
    let ops = script(a, b);
    let (accept_a, accept_b) = (first_accept(a), first_accept(b));
    let mut out = String::new();
    let mut noted: Vec<String> = Vec::new();
    let mut shown_to = 0;
    let hunks = changes(&ops);
    for (k, &(start, end)) in hunks.iter().enumerate() {
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
        let dels: Vec<usize> = ops[start..end].iter().filter_map(del).collect();
        let ins: Vec<usize> = ops[start..end].iter().filter_map(ins).collect();
        for k in 0..dels.len().max(ins.len()) {
            let (l, r) = (dels.get(k), ins.get(k));
            let mark = match (l, r) {
                (Some(_), Some(_)) => '|',
                (Some(_), None) => '<',
                _ => '>',
            };
            row(
                &mut out,
                l.map(|&i| (i, a[i].as_str())),
                mark,
                r.map(|&j| (j, b[j].as_str())),
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
    if !out.is_empty() && shown_to < ops.len() {
        out.push_str("   ...\n");
    }
    out
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
        row(out, Some((i, &cut(&a[i]))), ' ', Some((j, &cut(&b[j]))));
    }
}

/// One row: A's line, the mark, B's line, each wrapped at WIDTH.
fn row(out: &mut String, left: Option<(usize, &str)>, mark: char, right: Option<(usize, &str)>) {
    let l = wrap(left.map_or("", |x| x.1));
    let r = wrap(right.map_or("", |x| x.1));
    let number = |x: Option<(usize, &str)>, k: usize| match x {
        Some((i, _)) if k == 0 => format!("{:>5}", i + 1),
        _ => " ".repeat(5),
    };
    for k in 0..l.len().max(r.len()) {
        let text = l.get(k).map_or("", String::as_str);
        let m = if k == 0 { mark } else { ' ' };
        let line = format!(
            "{} {text:<WIDTH$} {m} {} {}",
            number(left, k),
            number(right, k),
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
}
