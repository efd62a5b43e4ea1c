//! One-line notes for the differences the project knows between a classic
//! program (a course's `server.c`, say) and its twins here: each explains
//! a hunk of the diff from A's lines and B's lines in it.

use crate::trace::normalize::NEGATIVE_INT;

/// A note's rule: A's lines, B's lines, whether at start-up; its note, if it applies.
type Rule = fn(&[String], &[String], bool) -> Option<String>;

/// The notes for a hunk whose lines are `a` in A and `b` in B; `at_start`:
/// the hunk lies before the task's first `accept` (a server starting up).
pub fn explain(a: &[String], b: &[String], at_start: bool) -> Vec<String> {
    let rules: [Rule; 10] = [
        command_line,
        backlog,
        sigpipe_ignored,
        killed_by_sigpipe,
        reuseaddr,
        reaping,
        stdout_probe,
        stdout_text,
        read_size,
        minus_one,
    ];
    rules
        .iter()
        .filter_map(|rule| rule(a, b, at_start))
        .collect()
}

/// "A" or "B", the side that has lines matching `pred` while the other has none.
fn only(
    a: &[String],
    b: &[String],
    pred: impl Fn(&str) -> bool,
) -> Option<(&'static str, &'static str)> {
    match (a.iter().any(|l| pred(l)), b.iter().any(|l| pred(l))) {
        (true, false) => Some(("A", "B")),
        (false, true) => Some(("B", "A")),
        _ => None,
    }
}

/// The second argument of the first `call(` line in `lines`.
fn second_arg<'a>(lines: &'a [String], call: &str) -> Option<&'a str> {
    let line = lines.iter().find(|l| l.starts_with(call))?;
    let rest = line.split_once(", ")?.1;
    rest.split([',', ')']).next()
}

/// The size a call was passed, its last argument: `read(4, "…", 80) = 80` → 80.
fn last_arg<'a>(lines: &'a [String], call: &str) -> Option<&'a str> {
    let line = lines.iter().find(|l| l.starts_with(call))?;
    let args = line.rsplit_once(") = ")?.0;
    Some(args.rsplit_once(", ")?.1)
}

fn command_line(a: &[String], b: &[String], _: bool) -> Option<String> {
    let first = |lines: &[String]| lines.iter().find(|l| l.starts_with("execve(")).cloned();
    let (x, y) = (first(a)?, first(b)?);
    (x != y).then(|| {
        "the command line: the two were started with other arguments (the project's programs \
         take their port as one; a classic program has it built in)"
            .to_string()
    })
}

fn read_size(a: &[String], b: &[String], _: bool) -> Option<String> {
    let (x, y) = (last_arg(a, "read(")?, last_arg(b, "read(")?);
    (x != y).then(|| {
        format!(
            "the read size: A asks read for up to {x} bytes, B for {y} (a buffer's size, \
             or what it expects): a longer message can take more reads, and more writes"
        )
    })
}

fn backlog(a: &[String], b: &[String], _: bool) -> Option<String> {
    let (x, y) = (second_arg(a, "listen(")?, second_arg(b, "listen(")?);
    (x != y).then(|| {
        format!(
            "the backlog: listen(fd, {x}) in A, listen(fd, {y}) in B: how many connections \
             may wait, not yet accepted; a difference only when more than that arrive at once"
        )
    })
}

fn sigpipe_ignored(a: &[String], b: &[String], _: bool) -> Option<String> {
    let (has, lacks) = only(a, b, |l| {
        l.starts_with("rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN")
    })?;
    Some(format!(
        "SIGPIPE: {has} ignores it, {lacks} does not: in {lacks}, a write to a client that has \
         reset its connection raises SIGPIPE, which kills the writer: a child of a process server, a thread server whole"
    ))
}

fn killed_by_sigpipe(a: &[String], b: &[String], _: bool) -> Option<String> {
    let (killed, _) = only(a, b, |l| l == "+++ killed by SIGPIPE +++")?;
    Some(format!(
        "{killed} was killed by SIGPIPE: it wrote to a connection its client had reset, \
         and does not ignore SIGPIPE"
    ))
}

fn reuseaddr(a: &[String], b: &[String], _: bool) -> Option<String> {
    let (has, lacks) = only(a, b, |l| {
        l.starts_with("setsockopt(") && l.contains("SO_REUSEADDR")
    })?;
    Some(format!(
        "SO_REUSEADDR: only {has} sets it; {lacks}, restarted, cannot bind its port while \
         connections of the old server are closing (TIME_WAIT)"
    ))
}

fn reaping(a: &[String], b: &[String], _: bool) -> Option<String> {
    let first = |lines: &[String]| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix("wait4("))
            .and_then(|r| r.split(',').next())
            .map(str::to_string)
    };
    let (x, y) = (first(a)?, first(b)?);
    (x != y).then(|| {
        format!(
            "reaping: waitpid({x}, …) in A, waitpid({y}, …) in B: 0 waits only for children \
             in the caller's process group, -1 for any child"
        )
    })
}

/// Whether `l` is a call of stdio's on its first output to stdout.
fn probes_stdout(l: &str) -> bool {
    l.starts_with("ioctl(1, TCGETS")
        || l.starts_with("newfstatat(1, \"\"")
        || l.starts_with("fstat(1,")
}

fn stdout_probe(a: &[String], b: &[String], _: bool) -> Option<String> {
    (a.iter().chain(b).any(|l| probes_stdout(l))).then(|| {
        "stdout buffering: stdio looks at stdout (newfstatat; ioctl TCGETS: a terminal?) when \
         it first writes to it; setvbuf, or a first printf elsewhere, moves or removes these calls"
            .to_string()
    })
}

/// The text of each `write(1, "…", n)` in `lines`, as strace shows it.
fn stdout_writes(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("write(1, \""))
        .filter_map(|r| r.rsplit_once("\", ").map(|(text, _)| text))
        .collect()
}

fn stdout_text(a: &[String], b: &[String], at_start: bool) -> Option<String> {
    let (x, y) = (stdout_writes(a), stdout_writes(b));
    if x.is_empty() || y.is_empty() || x == y {
        return None;
    }
    Some(if x.concat() == y.concat() {
        "stdout buffering: the same text on stdout, written in other pieces".to_string()
    } else if at_start {
        format!(
            "a different banner: A prints \"{}\", B \"{}\"",
            x.concat(),
            y.concat()
        )
    } else {
        let (p, q) = x
            .iter()
            .zip(&y)
            .find(|(p, q)| p != q)
            .unwrap_or((&x[0], &y[0]));
        format!(
            "other text on stdout: A prints \"{}\", B \"{}\"",
            cut(p),
            cut(q)
        )
    })
}

/// At most 40 characters of `s`, "…" where it was cut.
fn cut(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((k, _)) => format!("{}…", &s[..k]),
        None => s.to_string(),
    }
}

/// The first argument of `line` (outside its strings) that is a negative
/// int passed as a size: `write(1, ADDR, 18446744073709551615)` → (-1,
/// 18446744073709551615).
fn negative_size(line: &str) -> Option<(i64, u64)> {
    let args = super::diff::strings_masked(line);
    let args = args.rsplit_once(") = ").map_or(&args[..], |(x, _)| x);
    args.split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse::<u64>().ok())
        .find(|&n| n >= NEGATIVE_INT)
        .map(|n| (-((u64::MAX - n) as i64) - 1, n))
}

fn minus_one(a: &[String], b: &[String], _: bool) -> Option<String> {
    fn first(lines: &[String]) -> Option<(&String, (i64, u64))> {
        lines.iter().find_map(|l| negative_size(l).map(|n| (l, n)))
    }
    let (side, (line, (value, size))) = match (first(a), first(b)) {
        (Some(x), None) => ("A", x),
        (None, Some(y)) => ("B", y),
        (Some(x), Some(_)) => ("A and B", x),
        (None, None) => return None,
    };
    let call = line.split('(').next().unwrap_or("a call");
    Some(if value == -1 {
        format!(
            "a length of -1 in {side}: an error return (read's), passed unchecked to {call} as \
             its size, {size}: the kernel refuses it (EFAULT); strace shows the memory past \
             the buffer as its data, or its address, and the comparison masks both as ADDR"
        )
    } else {
        format!(
            "a negative length in {side}: {value}, passed to {call} as its size, {size}: the \
             kernel refuses it (EFAULT); the memory past the buffer, or its address, shows as ADDR"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_known_difference_gets_its_note() {
        let n = explain(
            &v(&["listen(3, 20) = 0"]),
            &v(&["listen(3, 128) = 0"]),
            true,
        );
        assert_eq!(n.len(), 1);
        assert!(n[0].starts_with("the backlog: listen(fd, 20) in A, listen(fd, 128) in B"));

        let ign = "rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[PIPE], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=ADDR}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0";
        let n = explain(&[], &v(&[ign]), true);
        assert!(
            n[0].starts_with("SIGPIPE: B ignores it, A does not"),
            "{n:?}"
        );

        let n = explain(
            &v(&["write(1, \"Accepting connections ...\\n\", 26) = 26"]),
            &v(&["write(1, \"listening on 0.0.0.0:8000\\n\", 26) = 26"]),
            true,
        );
        assert_eq!(
            n,
            [
                "a different banner: A prints \"Accepting connections ...\\n\", B \"listening on 0.0.0.0:8000\\n\""
            ]
        );

        let n = explain(
            &v(&["wait4(0, NULL, WNOHANG, NULL) = PID"]),
            &v(&["wait4(-1, NULL, WNOHANG, NULL) = PID"]),
            false,
        );
        assert!(n[0].starts_with("reaping: waitpid(0, …) in A, waitpid(-1, …) in B"));

        let n = explain(&v(&["ioctl(1, TCGETS, {c_iflag=ICRNL}) = 0"]), &[], true);
        assert!(n[0].starts_with("stdout buffering: "));

        let n = explain(
            &v(&["write(1, \"a\\nb\\n\", 4) = 4"]),
            &v(&["write(1, \"a\\n\", 2) = 2", "write(1, \"b\\n\", 2) = 2"]),
            false,
        );
        assert_eq!(
            n,
            ["stdout buffering: the same text on stdout, written in other pieces"]
        );
    }

    #[test]
    fn sizes_arguments_and_messages_are_told_apart() {
        let n = explain(
            &v(&["read(4, \"ab\", 80) = 2"]),
            &v(&["read(4, \"ab\", 8192) = 2"]),
            false,
        );
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].starts_with("the read size: A asks read for up to 80 bytes, B for 8192"));
        let n = explain(
            &v(&["execve(EXE, [EXE], ADDR /* 1 var */) = 0"]),
            &v(&["execve(EXE, [EXE, \"9000\"], ADDR /* 1 var */) = 0"]),
            true,
        );
        assert!(n[0].starts_with("the command line: "), "{n:?}");
        let n = explain(
            &v(&["write(1, \"2 bytes from 127.0.0.1\\n\", 23) = 23"]),
            &v(&["write(1, \"received from 127.0.0.1\\n\", 24) = 24"]),
            false,
        );
        assert_eq!(
            n,
            [
                "other text on stdout: A prints \"2 bytes from 127.0.0.1\\n\", B \"received from 127.0.0.1\\n\""
            ]
        );
    }

    #[test]
    fn a_negative_size_gets_its_note() {
        let dump = "write(1, \"THIS\\0\\0\"..., 18446744073709551615) = -1 EFAULT (Bad address)";
        let n = explain(&v(&[dump]), &v(&["dup(2) = 3"]), false);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].starts_with("a length of -1 in A: an error return (read's), passed unchecked to write as its size, 18446744073709551615"),
            "{n:?}"
        );
        // Shown as an address, on B's side.
        let addr = "write(4, ADDR, 18446744073709551615) = -1 EFAULT (Bad address)";
        let n = explain(&v(&["close(4) = 0"]), &v(&[addr]), false);
        assert!(n[0].starts_with("a length of -1 in B: "), "{n:?}");
        // Other negative values, cast from an int.
        let n = explain(
            &v(&["read(4, ADDR, 18446744073709551611) = -1 EFAULT (Bad address)"]),
            &[],
            false,
        );
        assert!(
            n[0].starts_with(
                "a negative length in A: -5, passed to read as its size, 18446744073709551611"
            ),
            "{n:?}"
        );
        assert_eq!(
            negative_size("write(1, ADDR, 18446744071562067968) = -1 EFAULT"),
            Some((i32::MIN as i64, 18446744071562067968))
        );
        // Large, but no int's: no note; nor digits inside the data.
        assert_eq!(
            negative_size("write(1, ADDR, 18446744071562067967) = -1 EFAULT"),
            None
        );
        assert_eq!(
            negative_size("write(1, \"18446744073709551615\", 20) = 20"),
            None
        );
        assert_eq!(
            negative_size("lseek(3, 0, SEEK_END) = 18446744073709551615"),
            None
        );
    }

    #[test]
    fn unknown_differences_get_no_note() {
        assert!(explain(&v(&["close(4) = 0"]), &v(&["close(5) = 0"]), false).is_empty());
        // The same backlog on both sides, in a hunk for another reason.
        assert!(
            explain(
                &v(&["listen(3, 20) = 0", "x"]),
                &v(&["listen(3, 20) = 0"]),
                true
            )
            .is_empty()
        );
    }
}
