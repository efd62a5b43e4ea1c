//! The README is a front page and the chapters under docs/ hold the rest:
//! every relative link of every page leads to a file that exists, and to a
//! heading that exists where it names one; the front page stays short and
//! names every program of the table with its chapter; the chapters'
//! contents list every chapter, and each chapter reads as a lesson.

use harness::{Kind, PROGRAMS};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The README and every Markdown file under docs/, by path from the root.
fn pages() -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                let rel = path.strip_prefix(root()).unwrap().to_path_buf();
                out.insert(rel, fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    out.insert(
        PathBuf::from("README.md"),
        fs::read_to_string(root().join("README.md")).unwrap(),
    );
    walk(&root().join("docs"), &mut out);
    out
}

/// `text` without its fenced blocks and inline code spans: what is left
/// is prose, where a link is a link.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if fenced {
            out.push('\n');
            continue;
        }
        // Code spans hold no links.
        let mut inside = false;
        for part in line.split('`') {
            if !inside {
                out.push_str(part);
            }
            inside = !inside;
        }
        out.push('\n');
    }
    out
}

/// The targets of the Markdown links and images in `text`: `[..](target)`.
fn links(text: &str) -> Vec<String> {
    let text = prose(text);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let end = after.find(')').expect("a link that ends");
        out.push(after[..end].trim().to_string());
        rest = &after[end..];
    }
    out
}

/// A heading's anchor, as GitHub makes it: lower case, letters, digits,
/// `-` and `_` kept, spaces to `-`, the rest dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings, a repeated one numbered as GitHub does.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let s = slug(&line[hashes + 1..]);
            let n = seen.entry(s.clone()).or_insert(0);
            out.push(if *n == 0 {
                s.clone()
            } else {
                format!("{s}-{n}")
            });
            *n += 1;
        }
    }
    out
}

/// What a relative link leads to, checked: the file (or directory) it
/// names exists, and so does the heading its `#anchor` names. `None` when
/// it does; else what is wrong.
fn broken(from: &Path, target: &str, pages: &BTreeMap<PathBuf, String>) -> Option<String> {
    let (file, anchor) = match target.split_once('#') {
        Some((f, a)) => (f, Some(a)),
        None => (target, None),
    };
    let path = if file.is_empty() {
        from.to_path_buf()
    } else {
        let joined = from.parent().unwrap().join(file);
        // Normalise `a/../b` without touching the file system.
        let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
        for c in joined.components() {
            match c {
                std::path::Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Some(format!("{target} leads out of the repository"));
                    }
                }
                std::path::Component::CurDir => {}
                c => parts.push(c.as_os_str()),
            }
        }
        parts.iter().collect()
    };
    if !root().join(&path).exists() {
        return Some(format!("{} does not exist", path.display()));
    }
    let anchor = anchor?;
    let Some(text) = pages.get(&path) else {
        return Some(format!("#{anchor} in {}, not a page", path.display()));
    };
    if anchors(text).iter().any(|a| a == anchor) {
        None
    } else {
        Some(format!("{} has no heading #{anchor}", path.display()))
    }
}

#[test]
fn every_relative_link_resolves() {
    let pages = pages();
    assert!(pages.len() > 5, "the README and the chapters");
    let mut bad = Vec::new();
    let mut checked = 0;
    for (page, text) in &pages {
        for target in links(text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            if let Some(why) = broken(page, &target, &pages) {
                bad.push(format!("{}: ({target}): {why}", page.display()));
            }
        }
    }
    assert!(checked > 50, "only {checked} links found");
    assert!(bad.is_empty(), "broken links:\n{}", bad.join("\n"));
}

/// The checker itself: a link to a missing file, or to a missing heading,
/// is reported; the ones that exist are not.
#[test]
fn the_link_checker_finds_broken_links() {
    let pages = pages();
    let readme = Path::new("README.md");
    assert_eq!(broken(readme, "docs/README.md", &pages), None);
    assert_eq!(broken(readme, "#the-programs", &pages), None);
    assert_eq!(
        broken(readme, "docs/lessons.md#zombies-zombie_server", &pages),
        None
    );
    assert!(broken(readme, "docs/nowhere.md", &pages).is_some());
    assert!(broken(readme, "docs/lessons.md#nowhere", &pages).is_some());
    assert!(broken(Path::new("docs/per-connection.md"), "../../outside", &pages).is_some());
    assert_eq!(
        links("a [b](c.md) `[d](e.md)` ![f](g.svg)\n```\n[h](i.md)\n```\n"),
        ["c.md", "g.svg"]
    );
    assert_eq!(
        slug("One client at a time: `iterative_server`"),
        "one-client-at-a-time-iterative_server"
    );
    assert_eq!(
        anchors("# A\n## A\n```\n# not a heading\n```\n"),
        ["a", "a-1"]
    );
}

#[test]
fn the_readme_is_a_front_page() {
    let readme = &pages()[Path::new("README.md")];
    let lines = readme.lines().count();
    assert!(lines <= 300, "the README has {lines} lines: at most 300");
    // The two commands first.
    let run = readme.find("make run-process").unwrap();
    let test = readme.find("make test").unwrap();
    assert!(run < readme.find("\n## Talking to the servers").unwrap() && test > run);
    // Every program of the table, with the chapter it is taught in.
    let table = &readme[readme.find("\n## The programs\n").expect("the programs")..];
    let table = &table[..table[1..].find("\n## ").unwrap()];
    for p in PROGRAMS.iter().filter(|p| p.kind != Kind::Driver) {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", p.short)))
            .unwrap_or_else(|| panic!("{} has no row in the README's table", p.short));
        assert!(row.contains("](docs/"), "{}: no chapter: {row}", p.short);
    }
    // Every tool, one line each.
    for tool in [
        "make compare`",
        "make compare-pair",
        "make explain-NAME`",
        "make strace-NAME`",
        "make demo-NAME`",
        "make bench`",
        "make watch-NAME`",
    ] {
        assert!(readme.contains(&format!("- `{tool}")), "{tool}");
    }
}

/// docs/README.md lists every chapter, in reading order, and each chapter
/// is a lesson: its question first, what to try next at its end.
#[test]
fn every_chapter_is_listed_and_reads_as_a_lesson() {
    let pages = pages();
    let contents = &pages[Path::new("docs/README.md")];
    let mut listed: Vec<String> = Vec::new();
    for l in links(contents) {
        if l.ends_with(".md") && !l.contains('/') && !listed.contains(&l) {
            listed.push(l);
        }
    }
    let chapters: Vec<&PathBuf> = pages
        .keys()
        .filter(|p| p.parent() == Some(Path::new("docs")) && !p.ends_with("README.md"))
        .collect();
    for chapter in &chapters {
        let name = chapter.file_name().unwrap().to_str().unwrap();
        assert!(
            listed.iter().any(|l| l == name),
            "docs/README.md does not list {name}"
        );
        let text = &pages[*chapter];
        assert!(text.starts_with("# "), "{name}: a title first");
        let question = text.find("**The question.**");
        assert!(
            question.is_some_and(|q| q < 400),
            "{name}: the question, straight after the title"
        );
        assert!(
            text.contains("\n## Try next\n") || text.contains("\nNext: ["),
            "{name}: what to try, or read, next"
        );
    }
    assert_eq!(listed.len(), chapters.len(), "{listed:?}");
}

/// The pages name programs by what they are: no word a reader cannot know
/// for where the project came from.
#[test]
fn no_page_speaks_of_seeds() {
    let said: Vec<String> = pages()
        .iter()
        .filter(|(_, text)| text.to_lowercase().contains("seeds"))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(said.is_empty(), "\"seeds\" in {said:?}");
}

/// The house rule of docs/harness.md: every commit since the rule was
/// written has a subject line of at most 72 characters.
#[test]
fn commit_subjects_fit_on_one_line() {
    // The last commit before the rule; older subjects are left as they are.
    const RULE_SINCE: &str = "fd15ffa";
    let out = std::process::Command::new("git")
        .args(["log", "--format=%h %s", &format!("{RULE_SINCE}..HEAD")])
        .current_dir(root())
        .output()
        .expect("git, to read the commit subjects");
    assert!(
        out.status.success(),
        "git log: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let long: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, subject)| subject.chars().count() > 72)
        .map(|(hash, subject)| format!("{hash}: {} characters", subject.chars().count()))
        .collect();
    assert!(long.is_empty(), "subjects over 72 characters: {long:?}");
}
