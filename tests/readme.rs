//! The README's first two sections work as shown: every command in "Run it,
//! test it" and "Talking to the servers" is run (on a free port instead of
//! 8000), and prints what the README says it prints, but for the clients'
//! ephemeral ports. And the table of files, in the harness chapter
//! (docs/harness.md), matches the tree.

use harness::base::{
    port::free_port,
    process::{Output, Running},
    wait::wait_until,
};
use harness::testing::pass;
use harness::{Result, rust_dir};
use std::path::Path;
use std::process::{Command, Stdio};

const README: &str = include_str!("../README.md");
const HARNESS: &str = include_str!("../docs/harness.md");
const STRACE: &str = include_str!("../docs/strace.md");

/// The text of the README's section under `## heading`, up to the next one.
fn section(heading: &str) -> &'static str {
    section_of(README, heading)
}

/// The text of `doc`'s section under `## heading`, up to the next one.
fn section_of(doc: &'static str, heading: &str) -> &'static str {
    let start = doc
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("the section {heading}"))
        + 1;
    let end = doc[start + 3..]
        .find("\n## ")
        .map_or(doc.len(), |i| start + 3 + i);
    &doc[start..end]
}

/// The fenced blocks of `text`: (language, body).
fn blocks(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("```") {
        let after = &rest[i + 3..];
        let nl = after.find('\n').unwrap();
        let end = after.find("\n```").unwrap();
        out.push((&after[..nl], &after[nl + 1..end + 1]));
        rest = &after[end + 4..];
    }
    out
}

/// A console block's commands, each with the output lines shown after it.
fn commands(body: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in body.lines() {
        if let Some(cmd) = line.strip_prefix("$ ") {
            let cmd = cmd.split("  #").next().unwrap().trim().to_string();
            out.push((cmd, Vec::new()));
        } else if !line.is_empty() {
            out.last_mut()
                .expect("a command first")
                .1
                .push(line.to_string());
        }
    }
    out
}

/// `text` with every number after "PORT " masked, and the free port shown as 8000.
fn mask(text: &str, port: u16) -> String {
    text.lines()
        .map(|l| match l.find(" at PORT ") {
            Some(i) => format!("{} at PORT N", &l[..i]),
            None => l.replace(&port.to_string(), "8000"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `make TARGET PORT=port`, with the programs from this build (not rebuilt).
fn make(target: &str, port: u16) -> Result<Running> {
    let exe = rust_dir().join(target.strip_prefix("run-").unwrap().to_string() + "_server");
    let mut cmd = Command::new("make");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--silent", "--no-print-directory", "-o", "programs", target])
        .arg(format!("PORT={port}"))
        .arg(format!("RUST={}", rust_dir().display()))
        .arg(format!("C={}", harness::c_dir().display()));
    Running::spawn(cmd, &exe, Output::Capture, None)
}

/// Runs a shell command as the README shows it, on `port`, with this
/// build's programs; its stdout.
fn shell(cmd: &str, port: u16, stdin: &str) -> Result<String> {
    let dir = rust_dir();
    let cmd = cmd
        .replace("8000", &port.to_string())
        .replace("target/release/", &format!("{}/", dir.display()))
        .replace("target/c/", &format!("{}/", harness::c_dir().display()));
    let cmd = if cmd.ends_with("/client") {
        format!("{cmd} 127.0.0.1 {port}")
    } else {
        cmd
    };
    let mut child = Command::new("sh")
        .args(["-c", &cmd])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    // A command that does not read its input may have ended already.
    match std::io::Write::write_all(child.stdin.as_mut().unwrap(), stdin.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.to_string()),
        _ => {}
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{cmd}: {out:?}"));
    }
    // The C twins' directory lies inside the Rust programs': it first.
    let exe_dirs = [
        (harness::c_dir().display().to_string() + "/", "target/c/"),
        (dir.display().to_string() + "/", "target/release/"),
    ];
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    for (from, to) in exe_dirs {
        text = text.replace(&from, to);
    }
    Ok(text)
}

/// Runs a section's console blocks, in order: servers started by `make
/// run-…` in the background (they keep running for the blocks after, as in
/// a user's terminal), every other command in turn; each command's output,
/// and then what each server printed first, as the blocks show it.
fn console(bodies: &[&str]) -> Result<()> {
    let port = free_port();
    let mut servers = Vec::new();
    for (cmd, shown) in bodies.iter().flat_map(|b| commands(b)) {
        if let Some(target) = cmd.strip_prefix("make ").filter(|t| t.starts_with("run-")) {
            let server = make(target, port)?;
            server.wait_for_stdout(&format!("listening on 0.0.0.0:{port}\n"))?;
            servers.push((server, shown));
            continue;
        }
        // A command typed into a terminal gets a line, then Ctrl-D.
        let out = shell(&cmd, port, if cmd.contains('|') { "" } else { "hello\n" })?;
        let want = if shown.is_empty() {
            "HELLO".to_string()
        } else {
            mask(&shown.join("\n"), port)
        };
        if mask(&out, port).trim_end() != want {
            return Err(format!("{cmd}: printed {out:?}, the README shows {want:?}"));
        }
    }
    for (server, shown) in servers {
        let want = mask(&shown.join("\n"), port);
        let got = || mask(&server.stdout(), port);
        wait_until("the server's lines", || {
            got().trim_end().len() >= want.len()
        })
        .map_err(|e| format!("{e}: the server printed {:?}", got()))?;
        if !got().starts_with(&want) {
            return Err(format!(
                "the server printed {:?}, the README shows {want:?}",
                got()
            ));
        }
        server.stop();
    }
    Ok(())
}

#[test]
fn quick_start_commands_work_as_shown() {
    pass(|| {
        let blocks = blocks(section("Run it, test it"));
        assert!(blocks.len() >= 2, "the quick start and the usage lines");
        for (lang, body) in blocks {
            match lang {
                "sh" => {
                    for line in body.lines().filter(|l| !l.trim().is_empty()) {
                        let cmd = line.split('#').next().unwrap().trim();
                        match cmd {
                            // This test is part of it.
                            "make test" => {}
                            c if c.starts_with("make run-") => {
                                let port = free_port();
                                let server = make(c.strip_prefix("make ").unwrap(), port)?;
                                server
                                    .wait_for_stdout(&format!("listening on 0.0.0.0:{port}\n"))?;
                                server.stop();
                            }
                            c => return Err(format!("a command this test does not know: {c}")),
                        }
                    }
                }
                "console" => console(&[body])?,
                other => return Err(format!("a block of {other}")),
            }
        }
        Ok(())
    });
}

#[test]
fn talking_to_the_servers_works_as_shown() {
    pass(|| {
        let blocks = blocks(section("Talking to the servers"));
        assert!(blocks.len() >= 2, "the client and nc");
        assert!(blocks.iter().all(|(lang, _)| *lang == "console"));
        console(&blocks.iter().map(|(_, body)| *body).collect::<Vec<_>>())
    });
}

/// The table of files (in the harness chapter) names every program's
/// sources and every shared module, both twins, as git knows them.
#[test]
fn the_file_table_matches_the_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = Command::new("git")
        .args(["ls-files", "src", "tests/drivers"])
        .current_dir(root)
        .output()
        .unwrap();
    let files = String::from_utf8_lossy(&files.stdout);
    let table = section_of(HARNESS, "Where things are");
    for file in files
        .lines()
        .filter(|f| f.ends_with(".rs") || f.ends_with(".c") || f.ends_with(".h"))
    {
        assert!(
            table.contains(&format!("`{file}`")),
            "{file} is missing from the table of files in docs/harness.md"
        );
    }
    for named in table
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| n.starts_with("src/") || n.starts_with("tests/drivers/"))
    {
        assert!(
            files.lines().any(|f| f == named),
            "docs/harness.md names {named}, which is not in the tree"
        );
    }
}

/// The strace chapter's `make compare-pair`, run as shown (with this
/// build's tools), prints what the chapter shows.
#[test]
fn compare_pair_works_as_its_chapter_shows() {
    pass(|| {
        let blocks = blocks(section_of(STRACE, "Comparing your own pair"));
        let (_, body) = blocks
            .iter()
            .find(|(lang, _)| *lang == "console")
            .ok_or("a console block")?;
        let mut ran = 0;
        for (cmd, shown) in commands(body) {
            let cmd = cmd
                .strip_prefix("make ")
                .ok_or(format!("not make: {cmd}"))?;
            let cmd = format!(
                "make --no-print-directory -o build RUST={} {cmd}",
                rust_dir().display()
            );
            let out = shell(&cmd, free_port(), "")?;
            if out.trim_end() != shown.join("\n") {
                return Err(format!(
                    "{cmd}: printed {out:?}, the chapter shows {shown:?}"
                ));
            }
            ran += 1;
        }
        if ran == 0 {
            return Err("no command".into());
        }
        Ok(())
    });
}
