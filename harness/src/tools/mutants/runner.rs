//! The engine that runs the mutants: a scratch copy of the work tree,
//! each mutant's edits applied to it, built, and its tests run there.

use super::catalogue::Mutant;
use crate::Result;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What became of a mutant.
#[derive(Debug, PartialEq, Eq)]
pub enum Fate {
    /// A test failed on it.
    Killed,
    /// Every test passed: a property unguarded.
    Survived,
    /// An edit's text is not in its file exactly once.
    Stale(String),
    /// The mutated copy does not build.
    Unbuilt(String),
}

/// The files of the work tree at `root` that git knows, or would add.
fn tree_files(root: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git ls-files: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .collect())
}

/// The work tree's files (those git knows, or would add) and their
/// contents, read once: every mutant is a change to the same tree, even
/// if the work tree changes while the mutants run.
pub struct Snapshot {
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Snapshot {
    /// Reads the work tree at `root`.
    pub fn take(root: &Path) -> Result<Snapshot> {
        let mut files = Vec::new();
        for f in tree_files(root)? {
            let from = root.join(&f);
            if from.is_file() {
                let bytes = fs::read(&from).map_err(|e| format!("{}: {e}", from.display()))?;
                files.push((f, bytes));
            }
        }
        Ok(Snapshot { files })
    }
}

/// Makes `dir` a copy of `tree` with `m`'s edits applied (none for
/// `None`: the tree as it is). Only files whose content differs are
/// written, so that one scratch copy serves every mutant in turn and cargo
/// builds again only what a mutant (or the one before it) changed.
/// `Ok(Err(why))` when an edit's file is not in the tree, or its text is
/// not in its file exactly once.
pub fn mutate(
    tree: &Snapshot,
    dir: &Path,
    m: Option<&Mutant>,
) -> Result<std::result::Result<(), String>> {
    let edits = m.map_or(&[][..], |m| m.edits);
    for e in edits {
        if !tree.files.iter().any(|(f, _)| Path::new(e.file) == f) {
            return Ok(Err(format!("{}: no such file in the tree", e.file)));
        }
    }
    for (f, bytes) in &tree.files {
        let to = dir.join(f);
        let mut want = bytes.clone();
        for e in edits.iter().filter(|e| Path::new(e.file) == f) {
            let text = String::from_utf8(want).map_err(|_| format!("{}: not UTF-8", e.file))?;
            match text.matches(e.find).count() {
                1 => want = text.replacen(e.find, e.replace, 1).into_bytes(),
                n => return Ok(Err(format!("{}: {:?} found {n} times", e.file, e.find))),
            }
        }
        if fs::read(&to).is_ok_and(|have| have == want) {
            continue;
        }
        fs::create_dir_all(to.parent().unwrap()).map_err(|e| e.to_string())?;
        fs::write(&to, want).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    prune(tree, dir, Path::new(""))?;
    Ok(Ok(()))
}

/// Removes from the copy in `dir` every file under `sub` that the tree no
/// longer has (one deleted or moved since an earlier run): a stale page
/// or module would fail, or pass, a test the tree itself would not.
fn prune(tree: &Snapshot, dir: &Path, sub: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir.join(sub)) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let rel = sub.join(entry.file_name());
        let kind = entry.file_type().map_err(|e| e.to_string())?;
        if kind.is_dir() {
            if rel != Path::new("target") {
                prune(tree, dir, &rel)?;
            }
        } else if !tree.files.iter().any(|(f, _)| *f == rel) {
            fs::remove_file(dir.join(&rel)).map_err(|e| format!("{}: {e}", rel.display()))?;
        }
    }
    Ok(())
}

/// cargo in the scratch copy `dir`, with the target directory `target`,
/// its output appended to `log`: whether it succeeded, and how many tests
/// it ran (the sum of its "running N tests" lines).
fn cargo(dir: &Path, target: &Path, args: &[&str], log: &Path) -> Result<(bool, usize)> {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cargo: {e}"))?;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    use std::io::Write;
    writeln!(file, "$ cargo {}", args.join(" ")).map_err(|e| e.to_string())?;
    file.write_all(&out.stderr).map_err(|e| e.to_string())?;
    file.write_all(&out.stdout).map_err(|e| e.to_string())?;
    Ok((
        out.status.success(),
        tests_run(&String::from_utf8_lossy(&out.stdout)),
    ))
}

/// The tests a `cargo test` run says it ran: the sum of its binaries'
/// "running N tests" (or "running 1 test") lines.
pub fn tests_run(stdout: &str) -> usize {
    stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("running ")?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

/// `cargo test --release` with `t`'s arguments.
fn test_args<'a>(t: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["test", "--release"];
    args.extend_from_slice(t);
    args
}

/// Runs each of `tests` on the unmutated copy in `dir` (see [`mutate`]):
/// a mutant is killed only by tests that pass without it, and a filter
/// that matches no test would kill nothing. The first command that fails
/// or runs no test is an error that says so.
pub fn baseline(dir: &Path, target: &Path, tests: &[&[&str]], log: &Path) -> Result<()> {
    // The programs, which a harness test runs but does not build (a root
    // test's cargo run builds them with it).
    let programs = ["build", "--release", "-p", "concserv", "--bins"];
    if !cargo(dir, target, &programs, log)?.0 {
        return Err(format!("the programs do not build (see {})", log.display()));
    }
    for t in tests {
        let (ok, ran) = cargo(dir, target, &test_args(t), log)?;
        let line = format!("cargo test --release {}", t.join(" "));
        if ran == 0 {
            return Err(format!("{line}: runs no test (see {})", log.display()));
        }
        if !ok {
            return Err(format!(
                "{line}: fails without any mutant, so it can kill none (see {})",
                log.display()
            ));
        }
    }
    Ok(())
}

/// Builds the mutated copy in `dir` and runs its tests, with cargo's
/// target directory `target`; `log` takes cargo's output.
pub fn try_mutant(dir: &Path, target: &Path, m: &Mutant, log: &Path) -> Result<Fate> {
    // Only what the mutant's tests need: the programs (and their C twins),
    // which every test runs, and the tests' own binaries; so that a test's
    // failure is never a build's.
    if !cargo(
        dir,
        target,
        &["build", "--release", "-p", "concserv", "--bins"],
        log,
    )?
    .0
    {
        return Ok(Fate::Unbuilt(format!("see {}", log.display())));
    }
    for t in m.tests {
        let mut build = vec!["test", "--release", "--no-run"];
        build.extend(t.iter().take_while(|a| **a != "--"));
        if !cargo(dir, target, &build, log)?.0 {
            return Ok(Fate::Unbuilt(format!("see {}", log.display())));
        }
    }
    for t in m.tests {
        match cargo(dir, target, &test_args(t), log)? {
            (false, _) => return Ok(Fate::Killed),
            (true, 0) => return Ok(Fate::Stale(format!("{t:?} runs no test"))),
            (true, _) => {}
        }
    }
    Ok(Fate::Survived)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_loses_what_the_tree_no_longer_has() {
        let dir = std::env::temp_dir().join(format!("mutants-prune-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for stale in ["gone.md", "docs/gone.md", "target/kept"] {
            fs::create_dir_all(dir.join(stale).parent().unwrap()).unwrap();
            fs::write(dir.join(stale), "old").unwrap();
        }
        let tree = Snapshot {
            files: vec![
                (PathBuf::from("kept.md"), b"new".to_vec()),
                (PathBuf::from("docs/kept.md"), b"new".to_vec()),
            ],
        };
        mutate(&tree, &dir, None).unwrap().unwrap();
        let there = |f: &str| dir.join(f).exists();
        let found = (
            there("kept.md"),
            there("docs/kept.md"),
            there("gone.md"),
            there("docs/gone.md"),
            there("target/kept"),
        );
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(found, (true, true, false, false, true));
    }

    #[test]
    fn the_tests_a_run_ran_are_counted_from_its_lines() {
        let out = "running 0 tests\n\ntest result: ok.\nrunning 1 test\ntest a ... ok\nrunning 12 tests\n";
        assert_eq!(tests_run(out), 13);
        assert_eq!(tests_run("running 0 tests\n"), 0);
        assert_eq!(tests_run("test running 5 tests ... ok\n"), 0);
    }
}
