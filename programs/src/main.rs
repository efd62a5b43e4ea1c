//! `programs`: the table of programs, for the Makefile and for people.
//!
//! ```text
//! programs list                NAME SHORT SESSION-ARGS ABOUT, a line each
//! programs servers             the servers' short names
//! programs demos               the demos' names
//! programs help                SHORT ABOUT, a line each, as make help shows them
//! programs make                the table as make variables (target/programs.mk)
//! programs unknown NAME GOAL   what make says of a program NAME it does not know
//! programs unknown-demo NAME GOAL   the same for a demo
//! ```

use programs::{DEMO_ALIASES, DEMOS, Kind, PROGRAMS, Program};
use std::process::ExitCode;

const USAGE: &str =
    "usage: programs list|servers|demos|help|make|unknown NAME GOAL|unknown-demo NAME GOAL";

/// The programs a user can name: every row but the test drivers.
fn users() -> impl Iterator<Item = &'static Program> {
    PROGRAMS.iter().filter(|p| p.kind != Kind::Driver)
}

/// The width of the widest of `words`.
fn widest<'a>(words: impl Iterator<Item = &'a str>) -> usize {
    words.map(str::len).max().unwrap_or(0)
}

/// `short about`, a line each, the short names in a column that holds the longest.
fn help() -> String {
    let w = widest(users().map(|p| p.short));
    users()
        .map(|p| format!("  {:<w$}  {}\n", p.short, p.about))
        .collect()
}

fn list() -> String {
    let args = |p: &Program| match p.session_args {
        [] => "-".to_string(),
        a => a.join(","),
    };
    let wn = widest(users().map(|p| p.name));
    let ws = widest(users().map(|p| p.short));
    let wa = users().map(|p| args(p).len()).max().unwrap_or(0);
    users()
        .map(|p| {
            let a = args(p);
            format!("{:<wn$}  {:<ws$}  {a:<wa$}  {}\n", p.name, p.short, p.about)
        })
        .collect()
}

/// A value as make reads it after `:=`: `$` and `#` escaped.
fn make_value(s: &str) -> String {
    s.replace('$', "$$").replace('#', "\\#")
}

/// The table as make variables.
fn make() -> String {
    let rows: Vec<String> = users().map(|p| format!("{}:{}", p.short, p.name)).collect();
    format!(
        "# Written by `programs make` from the table of programs: do not edit.\n\
         PROGRAM_ROWS := {}\n\
         DEMO_NAMES := {}\n\
         DEMO_ALIASES := {}\n",
        make_value(&rows.join(" ")),
        make_value(&DEMOS.join(" ")),
        make_value(&DEMO_ALIASES.join(" ")),
    )
}

/// Levenshtein's distance between `a` and `b`, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The name of `names` closest to `typed`, if close enough to be a typo
/// (an edit per three letters, one at least) or a name cut short.
fn closest<'a>(typed: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let names: Vec<&str> = names.collect();
    let cut = names
        .iter()
        .find(|n| typed.len() >= 3 && n.starts_with(typed));
    let near = names
        .iter()
        .map(|n| (distance(typed, n), n))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, n)| *d <= 1.max(n.len() / 3))
        .map(|(_, n)| n);
    near.or(cut).copied()
}

/// The goal `goal` with its name `typed` replaced by `name`.
fn goal_with(goal: &str, typed: &str, name: &str) -> String {
    match goal.rfind(typed) {
        Some(i) => format!("{}{name}{}", &goal[..i], &goal[i + typed.len()..]),
        None => goal.to_string(),
    }
}

/// What make says of `make GOAL` when it names no program: the list, and
/// the closest name (an executable's name gives its short one).
fn unknown(typed: &str, goal: &str) -> String {
    let mut out = format!(
        "no program \"{typed}\" for make {goal}; the programs:\n{}",
        help()
    );
    let exe = users().find(|p| p.name == typed).map(|p| p.short);
    if let Some(name) = exe.or_else(|| closest(typed, users().map(|p| p.short))) {
        out += &format!(
            "did you mean {name}? make {}\n",
            goal_with(goal, typed, name)
        );
    }
    out
}

/// What make says of `make GOAL` when it names no demo.
fn unknown_demo(typed: &str, goal: &str) -> String {
    let mut out = format!(
        "no demo \"{typed}\" for make {goal}; the demos, each named after its program: {}\n",
        DEMOS.join(" ")
    );
    if let Some(name) = closest(typed, DEMOS.iter().copied()) {
        out += &format!(
            "did you mean {name}? make {}\n",
            goal_with(goal, typed, name)
        );
    }
    out
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["list"] => list(),
        ["servers"] => {
            let names: Vec<&str> = PROGRAMS
                .iter()
                .filter(|p| p.model().is_some())
                .map(|p| p.short)
                .collect();
            names.join(" ") + "\n"
        }
        ["demos"] => DEMOS.join(" ") + "\n",
        ["help"] => help(),
        ["make"] => make(),
        ["unknown", typed, goal] => unknown(typed, goal),
        ["unknown-demo", typed, goal] => unknown_demo(typed, goal),
        ["-h"] | ["--help"] => format!("{USAGE}\n"),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    print!("{out}");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_its_name() {
        let shorts = || users().map(|p| p.short);
        assert_eq!(closest("epol", shorts()), Some("epoll"));
        assert_eq!(closest("proces", shorts()), Some("process"));
        assert_eq!(closest("prefork-lock", shorts()), Some("prefork_lock"));
        assert_eq!(closest("threads", shorts()), Some("thread"));
        assert_eq!(closest("proc", shorts()), Some("process"));
        assert_eq!(closest("foo", shorts()), None);
        assert_eq!(closest("nonsense", shorts()), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_goal_is_rewritten_with_the_name() {
        assert_eq!(goal_with("run-epol-c", "epol", "epoll"), "run-epoll-c");
        assert_eq!(goal_with("demo-zombi", "zombi", "zombie"), "demo-zombie");
    }
}
