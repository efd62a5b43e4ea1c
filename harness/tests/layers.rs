//! The harness's layers, read from its sources: each module imports only
//! from its own layer or the layers below (a tool from no other tool), no
//! two modules import each other round a cycle, and no file is longer than
//! `MAX_LINES` outside its test module. See docs/harness.md, "Layers".

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The longest a source file may be, its `#[cfg(test)] mod tests` aside.
const MAX_LINES: usize = 600;

/// Each top-level module of the harness and its layer, bottom first. The
/// crate root (lib.rs: the table and where the executables are) is below
/// them all; the binaries are above them all.
const LAYERS: &[(&str, usize)] = &[
    ("base", 0),
    ("trace", 1),
    ("tools", 2),
    ("testing", 2),
    ("bin", 3),
];

/// Top-level modules whose submodules may not import one another: each
/// tool stands on the layers below alone.
const APART: &[&str] = &["tools"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `base/server.rs` is [base, server],
/// `tools/bench/mod.rs` is [tools, bench], lib.rs is [].
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// A file's text without its `#[cfg(test)]` module, which comes last.
fn outside_tests(text: &str) -> &str {
    text.find("\n#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i + 1])
}

/// `text` with its comments and the contents of its string and char
/// literals blanked out: what is left is code.
fn code(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let at = |j: usize| c.get(j).copied().unwrap_or('\0');
        if at(i) == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if at(i) == 'r' && (at(i + 1) == '"' || (at(i + 1) == '#' && at(i + 2) == '"')) {
            let hashes = if at(i + 1) == '#' { 1 } else { 0 };
            i += 2 + hashes;
            while i < c.len() && !(c[i] == '"' && (hashes == 0 || at(i + 1) == '#')) {
                i += 1;
            }
            i += 1 + hashes;
            out.push_str("\"\"");
        } else if at(i) == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if at(i) == '\'' && (at(i + 2) == '\'' || at(i + 1) == '\\') {
            i += 2;
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(at(i));
            i += 1;
        }
    }
    out
}

/// The module paths `code` names from the crate: `crate::a::b`,
/// `harness::a::b`, `$crate::a::b`, and `super::b` resolved from `module`
/// (a file's module: `super` from base/server.rs is base, from
/// tools/bench/mod.rs tools). Grouped `use`s are followed, nested too.
fn imports(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let starts_word = code[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let mut prefix = Vec::new();
        let mut r = rest;
        if starts_word {
            if let Some(x) = rest
                .strip_prefix("crate::")
                .or(rest.strip_prefix("harness::"))
            {
                r = x;
            } else if rest.starts_with("super::") {
                prefix = module.to_vec();
                while let Some(x) = r.strip_prefix("super::") {
                    prefix.pop();
                    r = x;
                }
            }
        }
        if r.len() == rest.len() {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        tree(r, &prefix, &mut found);
        i += rest.len() - r.len();
    }
    found
}

/// The paths of a use tree `s` (`a::b`, `a::{b, c::{d}}`) after `prefix`.
fn tree(s: &str, prefix: &[String], found: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    let mut r = s;
    loop {
        let name: String = r
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_lowercase()) {
            path.push(name.clone());
            r = &r[name.len()..];
            if let Some(x) = r.strip_prefix("::") {
                r = x;
                continue;
            }
        } else if let Some(group) = r.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (k, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        tree(group[start..k].trim(), &path, found);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        tree(group[start..k].trim(), &path, found);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
        break;
    }
    if path.len() > prefix.len() {
        found.push(path);
    }
}

fn layer(top: &str) -> Option<usize> {
    LAYERS.iter().find(|(n, _)| *n == top).map(|(_, l)| *l)
}

/// The unit a module belongs to for the cycle check: its first two
/// segments (`base::server`, `tools::bench`), or its first alone.
fn unit(path: &[String]) -> String {
    path.iter().take(2).cloned().collect::<Vec<_>>().join("::")
}

/// A source file, its module, and the module paths it names.
type Source = (PathBuf, Vec<String>, Vec<Vec<String>>);

/// What the sources say, file by file.
fn read_all() -> Vec<Source> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = fs::read_to_string(&f).unwrap();
            let module = module_of(&f);
            // In a test module `super` is the file itself: there only
            // the crate's paths are read.
            let (outside, inside) = text.split_at(outside_tests(&text).len());
            let mut named = imports(&code(outside), &module);
            named.extend(
                imports(&code(inside), &module)
                    .into_iter()
                    .filter(|p| p.first().is_some_and(|t| layer(t).is_some())),
            );
            (f, module, named)
        })
        .collect()
}

/// The violations of the layer rules in what the sources say.
fn violations(files: &[Source]) -> Vec<String> {
    let mut bad = Vec::new();
    for (file, module, named) in files {
        let Some(from) = module.first() else { continue };
        let Some(from_layer) = layer(from) else {
            bad.push(format!("{}: module {from} has no layer", file.display()));
            continue;
        };
        for path in named {
            let Some(to) = path.first() else { continue };
            let Some(to_layer) = layer(to) else { continue };
            let what = format!("{} names {}", file.display(), path.join("::"));
            if to_layer > from_layer {
                bad.push(format!("{what}: layer {to_layer} above {from_layer}"));
            } else if to == from
                && APART.contains(&to.as_str())
                && path.get(1).is_some()
                && path.get(1) != module.get(1)
            {
                bad.push(format!("{what}: one of {to} from another"));
            } else if to != from && to_layer == from_layer && from != "bin" {
                bad.push(format!("{what}: sideways, in layer {to_layer}"));
            }
        }
    }
    bad
}

/// The first cycle among the units (see [`unit`]) in what the sources
/// say, if any.
fn cycle(files: &[Source]) -> Option<Vec<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, module, named) in files {
        if module.is_empty() || module[0] == "bin" {
            continue;
        }
        let from = unit(module);
        for p in named
            .iter()
            .filter(|p| p.first().is_some_and(|t| layer(t).is_some()))
        {
            let to = unit(p);
            if to != from && !from.starts_with(&format!("{to}::")) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth first, with the path so far: a unit met again on it closes a cycle.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if !done.insert(n.to_string()) {
            return None;
        }
        path.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        if let Some(c) = visit(n, &edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_module_imports_from_a_layer_above_or_sideways() {
    let files = read_all();
    assert!(files.len() > 40, "too few sources read: {}", files.len());
    let bad = violations(&files);
    assert!(bad.is_empty(), "layer rules broken:\n{}", bad.join("\n"));
}

#[test]
fn no_cycle_between_modules() {
    let files = read_all();
    assert_eq!(cycle(&files), None, "a cycle of imports");
}

#[test]
fn no_file_is_longer_than_the_limit_outside_its_tests() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = fs::read_to_string(f).unwrap();
            let n = outside_tests(&text).lines().count();
            (n > MAX_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// The checks catch what they are for: an upward import, a tool importing
/// another, a cycle, each made up and fed to them.
#[test]
fn the_checks_see_a_made_up_violation() {
    let m = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    let upward = vec![(
        PathBuf::from("w.rs"),
        m("base::wait"),
        vec![m("tools::bench")],
    )];
    assert_eq!(violations(&upward).len(), 1);
    let across = vec![(
        PathBuf::from("c.rs"),
        m("tools::compare"),
        vec![m("tools::explain::html")],
    )];
    assert_eq!(violations(&across).len(), 1);
    let round = vec![
        (PathBuf::from("a.rs"), m("base::a"), vec![m("base::b")]),
        (PathBuf::from("b.rs"), m("base::b"), vec![m("base::a::x")]),
    ];
    assert!(cycle(&round).is_some());
    let named = imports(
        &code(
            "use crate::base::{\n    dir::scratch,\n    process::{Output, wait::{a, b}},\n};\n// crate::tools::x\nf(\"crate::tools::y\");",
        ),
        &m("tools::x"),
    );
    let want = [
        "base::dir::scratch",
        "base::process::wait::a",
        "base::process::wait::b",
    ];
    assert_eq!(named, want.map(m));
    let up = imports("use super::load;", &m("tools::bench::measure"));
    assert_eq!(up, vec![m("tools::bench::load")]);
}
