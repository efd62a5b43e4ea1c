//! The operations an io_uring program queued, each beside the C line and
//! the Rust line that queued it. strace shows only the `io_uring_enter`
//! calls that carry them (and `strace -k` the line of each); the session
//! leaves the operations themselves, read from the program's ring
//! ([`crate::trace::ring`]), beside its traces. The line that queued an
//! operation is found in the sources: the one call of `uring_sqe` with its
//! opcode, `IORING_OP_RECV` say, in the function that queues it.

use crate::trace::ring::{self, Queued};
use crate::{Program, Result};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Where an operation is queued: `uring_server.c:88 queue_recv`, say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub file: String,
    pub line: usize,
    pub function: String,
}

impl Site {
    pub fn text(&self) -> String {
        format!("{}:{} {}", self.file, self.line, self.function)
    }
}

/// The repository's root: the harness's parent.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The sources of one twin of `program` that may queue operations: the C
/// twin's files, or the Rust program and the library's `uring.rs`.
fn sources(program: &Program, c: bool) -> Vec<PathBuf> {
    if c {
        program
            .c_sources
            .iter()
            .filter(|s| s.ends_with(".c"))
            .map(|s| root().join(s))
            .collect()
    } else {
        vec![
            root().join(format!("src/bin/{}.rs", program.name)),
            root().join("src/uring.rs"),
        ]
    }
}

/// The function a line of `lines` at index `i` is in: the nearest
/// definition above it (`static void queue_recv(` in C, `fn queue_recv(`
/// in Rust).
fn function_of(lines: &[&str], i: usize) -> String {
    for l in lines[..=i].iter().rev() {
        let head = l.split('(').next().unwrap_or("");
        let is_def = (l.starts_with("fn ") || l.starts_with("pub fn "))
            || (!l.starts_with(|c: char| c.is_whitespace() || c == '#' || c == '/' || c == '*')
                && l.contains('(')
                && !l.trim_end().ends_with(';'));
        if is_def && let Some(name) = head.split_whitespace().last() {
            return name.trim_start_matches('*').to_string();
        }
    }
    "?".into()
}

/// Where the operation `op` (`RECV fd=6 ...`, or its opcode alone) is
/// queued in these sources: the line of the `uring_sqe` call that names
/// `IORING_OP_RECV`. Where several do, the one that passes -1 as the
/// descriptor if the operation's fd is -1 (the start-up trial of
/// `uring_open`), else the first that does not.
pub fn site(files: &[PathBuf], op: &str) -> Option<Site> {
    let opcode = op.split(' ').next()?;
    let no_fd = op.split(' ').any(|f| f == "fd=-1");
    let sites = sites(files, opcode);
    let pick = sites.iter().find(|(_, minus_one)| *minus_one == no_fd);
    pick.or(sites.first()).map(|(s, _)| s.clone())
}

/// Every `uring_sqe` call of `IORING_OP_{opcode}` in these sources, and
/// whether it passes -1 as the descriptor.
fn sites(files: &[PathBuf], opcode: &str) -> Vec<(Site, bool)> {
    let constant = format!("IORING_OP_{opcode}");
    let mut found = Vec::new();
    for f in files {
        let Ok(text) = fs::read_to_string(f) else {
            continue;
        };
        let Some(file) = f.file_name() else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let Some(at) = l.find("uring_sqe(") else {
                continue;
            };
            // The call, and its arguments on the lines after it if it is
            // split, up to the end of its statement.
            let rest = lines[i..lines.len().min(i + 6)]
                .iter()
                .map(|l| l.trim())
                .collect::<Vec<_>>()
                .join(" ");
            let rest = &rest[rest.find("uring_sqe(").unwrap_or(at)..];
            let call = rest.split(';').next().unwrap_or(rest);
            if call.contains(&format!("{constant},")) || call.contains(&format!("{constant})")) {
                let site = Site {
                    file: file.to_string_lossy().into_owned(),
                    line: i + 1,
                    function: function_of(&lines, i),
                };
                found.push((site, call.contains(&format!("{constant}, -1,"))));
            }
        }
    }
    found
}

/// Both twins' queued operations, as their sessions left them in `dir`
/// (`dir/c`, `dir/rust`); None when the program has no ring.
pub fn load(dir: &Path) -> Result<Option<(Queued, Queued)>> {
    match (ring::load(&dir.join("c"))?, ring::load(&dir.join("rust"))?) {
        (Some(c), Some(r)) => Ok(Some((c, r))),
        (None, None) => Ok(None),
        _ => Err("only one twin has an io_uring".into()),
    }
}

/// One row per operation: the C site, the operation (without its empty
/// fields), the Rust site, and whether the twins queued the same; and how
/// many were overwritten before the end. None when the program has no ring.
#[allow(clippy::type_complexity)]
pub fn rows(
    program: &Program,
    dir: &Path,
) -> Result<Option<(Vec<(String, String, String, bool)>, u32)>> {
    let Some((c, rust)) = load(dir)? else {
        return Ok(None);
    };
    let (cfiles, rfiles) = (sources(program, true), sources(program, false));
    let at = |files: &[PathBuf], line: Option<&String>| {
        line.and_then(|l| site(files, l))
            .map_or_else(|| "?".to_string(), |s| s.text())
    };
    let rows = (0..c.lines.len().max(rust.lines.len()))
        .map(|i| {
            let (x, y) = (c.lines.get(i), rust.lines.get(i));
            let op = x.or(y).map_or("", |s| s.as_str());
            (at(&cfiles, x), short(op), at(&rfiles, y), x == y)
        })
        .collect();
    Ok(Some((rows, c.lost.max(rust.lost))))
}

/// The table for the terminal: one row per operation, the C site, the
/// operation, the Rust site; a `≠` where the twins queued different
/// operations. None when the program has no ring.
pub fn render(program: &Program, dir: &Path) -> Result<Option<String>> {
    let Some((rows, lost)) = rows(program, dir)? else {
        return Ok(None);
    };
    let mut out = format!(
        "\nThe {} operations queued in the ring, which strace does not show (read from each twin's submission queue):\n",
        rows.len()
    );
    if lost > 0 {
        let _ = writeln!(
            out,
            "(the first {lost} were overwritten in the ring before the end)"
        );
    }
    for (c, op, r, same) in rows {
        let mark = if same { ' ' } else { '≠' };
        let _ = writeln!(out, "{c:<34} {mark} {op:<48} {r}");
    }
    Ok(Some(out))
}

/// An operation's line without the fields that are zero or unset.
fn short(op: &str) -> String {
    op.split(' ')
        .filter(|f| {
            !matches!(
                *f,
                "flags=0"
                    | "ioprio=0x0"
                    | "op_flags=0x0"
                    | "off=0"
                    | "buf_group=0"
                    | "optlen=0"
                    | "addr=0"
            ) && !f.starts_with("user_data=")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_opcode_of_the_uring_server_is_queued_on_one_line_of_each_twin() {
        let p = crate::program("uring_server").unwrap();
        for c in [true, false] {
            for op in [
                "ACCEPT",
                "RECV",
                "SEND",
                "WRITE",
                "CLOSE",
                "ASYNC_CANCEL",
                "TIMEOUT",
            ] {
                let s = site(&sources(p, c), op).unwrap_or_else(|| panic!("{op} (C: {c})"));
                assert!(
                    s.function.starts_with("queue_") || s.function == "conn_end",
                    "{s:?}"
                );
            }
        }
        let s = site(&sources(p, true), "RECV").unwrap();
        assert_eq!(
            (s.file.as_str(), s.function.as_str()),
            ("uring_server.c", "queue_recv")
        );
    }

    #[test]
    fn the_start_up_trial_is_told_from_the_server_by_its_descriptor() {
        let p = crate::program("uring_server").unwrap();
        for (c, file) in [(true, "uring.c"), (false, "uring.rs")] {
            let mut lines = Vec::new();
            for op in ["ACCEPT", "RECV"] {
                let trial = site(&sources(p, c), &format!("{op} fd=-1 len=0")).unwrap();
                assert_eq!(
                    (trial.file.as_str(), trial.function.as_str()),
                    (file, "uring_trial")
                );
                lines.push(trial.line);
                let server = site(&sources(p, c), &format!("{op} fd=6 len=0")).unwrap();
                assert!(server.function.starts_with("queue_"), "{server:?}");
            }
            assert!(lines[0] < lines[1], "each on its own line: {lines:?}");
        }
    }

    #[test]
    fn an_operation_is_shown_without_its_empty_fields() {
        assert_eq!(
            short(
                "RECV fd=5 len=0 flags=BUFFER_SELECT ioprio=0x2 op_flags=0x0 off=0 buf_group=0 optlen=8192 user_data=0x02 addr=0"
            ),
            "RECV fd=5 len=0 flags=BUFFER_SELECT ioprio=0x2 optlen=8192"
        );
    }
}
