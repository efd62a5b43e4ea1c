//! Turns one `strace -ff` file (one task) into lines that two runs of the same
//! program, or of two twins, share exactly. Only what legitimately differs
//! between runs is masked: pids and tids, addresses, the clients' ephemeral
//! ports (also inside printed strings), getrandom's bytes, the executable's
//! path, the lengths the loader passes to mprotect for RELRO, how glibc
//! reserved a new thread's malloc heap (its trims, and a try at an aligned
//! address, depend on where ASLR put the last one), and the number of the
//! pseudo-terminal that is stdout. Strace's column padding is folded, as
//! masking changes the widths it pads to.

use std::collections::BTreeSet;

/// Calls whose return value is a pid or tid.
const RETURNS_PID: &[&str] = &[
    "clone",
    "clone3",
    "fork",
    "vfork",
    "wait4",
    "waitid",
    "set_tid_address",
    "getpid",
    "gettid",
    "getppid",
];

/// Calls whose leading numeric arguments are pids or tids, and how many:
/// the signal after them is kept (and wait4's -1, 0 and options).
const TAKES_PID: &[(&str, usize)] = &[("kill", 1), ("tkill", 1), ("tgkill", 2), ("wait4", 1)];

/// What masking needs to know about the run a task belongs to.
#[derive(Debug, Default, Clone)]
pub struct Run {
    /// The server's port: kept; every other port is ephemeral and masked.
    pub keep_port: u16,
    /// Ephemeral ports seen anywhere in the run, masked inside strings too.
    pub ephemeral: BTreeSet<u16>,
    /// The run's pids and thread ids (its trace files' names).
    pub tids: BTreeSet<u32>,
}

impl Run {
    /// Collects the ephemeral ports in `lines` (all tasks of one run).
    pub fn scan<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>) {
        for line in lines {
            let mut rest = line;
            while let Some(i) = rest.find("htons(") {
                rest = &rest[i + 6..];
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(port) = digits.parse::<u16>()
                    && port != self.keep_port
                {
                    self.ephemeral.insert(port);
                }
            }
        }
    }
}

/// Joins `<unfinished ...>` lines with their `<... NAME resumed>` ends, so
/// that every call is one line.
pub fn join_resumed(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending: Option<String> = None;
    for line in raw.lines() {
        if let Some(head) = line.strip_suffix(" <unfinished ...>") {
            pending = Some(head.to_string());
        } else if line.starts_with("<... ")
            && let Some(i) = line.find(" resumed>")
        {
            let head = pending.take().unwrap_or_default();
            out.push(format!("{head}{}", &line[i + " resumed>".len()..]));
        } else if line.starts_with("--- ") {
            // A signal arrived while the call was blocked: it comes first.
            out.push(line.to_string());
        } else {
            out.extend(pending.take());
            out.push(line.to_string());
        }
    }
    out.extend(pending);
    out
}

/// The mapping glibc makes for a thread's first malloc: twice the 64 MiB
/// heap size, of which it unmaps what lies before and after an aligned
/// heap, lengths that depend on where ASLR put the mapping.
const ARENA_MMAP: &str =
    "mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = ";

/// What glibc tries first for a new heap when the last one's mapping
/// happened to be aligned (and so left nothing to unmap before it): 64 MiB
/// at the address just above that heap (`aligned_heap_area`), given back
/// (`HINT_UNMAP`) when the kernel put it elsewhere, unaligned.
const HINT_MMAP: &str =
    "mmap(ADDR, 67108864, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = ";
const HINT_UNMAP: &str = "munmap(ADDR, 67108864) = 0";

/// A whole task's file, joined and masked. A new malloc heap (a thread's
/// arena) becomes one line, its 128 MiB mapping, however glibc made it:
/// the one or two trims after that mapping (none before it when the mapping
/// happens to be aligned) are dropped, and so is a try at the aligned
/// address that failed; one that worked reads as the usual mapping. Which
/// of these happens depends on where ASLR put the previous heap. A
/// `pthread_join`'s wait for a thread still exiting, a race the joining
/// thread may or may not lose, is dropped.
pub fn task(raw: &str, run: &Run) -> Vec<String> {
    task_kept(raw, run).0
}

/// [`task`], and for each call of the joined task (see [`join_resumed`])
/// whether a line stands for it (a dropped join wait, an arena's trims and
/// a failed try at the aligned address do not), so that what else is known
/// of each call can follow.
pub fn task_kept(raw: &str, run: &Run) -> (Vec<String>, Vec<bool>) {
    let masked: Vec<String> = join_resumed(raw).iter().map(|l| line(l, run)).collect();
    let mut out: Vec<String> = Vec::new();
    let mut kept = Vec::new();
    let mut trims = 0;
    let mut hint_unmap = false;
    for (i, s) in masked.iter().enumerate() {
        if hint_unmap || (trims > 0 && s.starts_with("munmap(")) {
            kept.push(false);
            trims = if hint_unmap { 0 } else { trims - 1 };
            hint_unmap = false;
            continue;
        }
        trims = if s.starts_with(ARENA_MMAP) { 2 } else { 0 };
        if s.starts_with(HINT_MMAP) {
            hint_unmap = masked.get(i + 1).is_some_and(|n| n == HINT_UNMAP);
            kept.push(!hint_unmap);
            if !hint_unmap {
                out.push(format!("{ARENA_MMAP}ADDR"));
            }
            continue;
        }
        let dropped = is_join_wait(s, run) || is_tempname_redraw(s, &masked[i + 1..]);
        kept.push(!dropped);
        if !dropped {
            out.push(s.clone());
        }
    }
    (out, kept)
}

/// A futex wait on a task's own thread id: `pthread_join` waiting for the
/// kernel to clear it as the thread exits.
fn is_join_wait(s: &str, run: &Run) -> bool {
    s.starts_with("futex(")
        && s.contains("FUTEX_WAIT")
        && s.split(", ")
            .nth(2)
            .and_then(|v| v.parse::<u32>().ok())
            .is_some_and(|v| run.tids.contains(&v))
}

/// A getrandom(2) just before mkstemp(3)'s open: glibc draws the name's
/// random letters from the clock first, and from getrandom only when that
/// draw falls in the range that would favour some letters (about one time
/// in 22), and again while the new draw does (one time in 22 of those), so
/// the calls come and go from run to run. `rest`: the lines after `s`.
fn is_tempname_redraw(s: &str, rest: &[String]) -> bool {
    const REDRAW: &str = "getrandom(RANDOM, 8, GRND_NONBLOCK) = 8";
    s.starts_with(REDRAW)
        && rest
            .iter()
            .find(|n| !n.starts_with(REDRAW))
            .is_some_and(|n| {
                n.starts_with("openat(AT_FDCWD, \"/tmp/")
                    && n.contains(".XXXXXX\", O_RDWR|O_CREAT|O_EXCL")
            })
}

/// One line, masked.
pub fn line(l: &str, run: &Run) -> String {
    let name: String = l
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let mut s = fold_spaces(&mask_hex(&mask_pty(l)));
    if name == "execve" {
        s = mask_execve(&s);
    }
    if name == "getrandom" {
        s = mask_first_string(&s, "RANDOM");
    }
    if name == "mprotect" && s.ends_with(", PROT_READ) = 0") {
        s = mask_arg(&s, 1, "LEN");
    }
    if RETURNS_PID.contains(&name.as_str()) {
        s = mask_return(&s);
    }
    if let Some(&(_, n)) = TAKES_PID.iter().find(|(call, _)| *call == name) {
        for i in 0..n {
            s = mask_pid_arg(&s, i);
        }
    }
    if name == "futex" {
        s = mask_futex_owner(&s, run);
    }
    if name == "openat" || name == "unlink" {
        s = mask_temp_name(&s);
    }
    s = mask_past_the_buffer(&s);
    s = drop_seconds(&s);
    for key in [
        "si_pid=",
        "si_utime=",
        "si_stime=",
        "parent_tid=[",
        "child_tid=[",
    ] {
        s = mask_number_after(&s, key);
    }
    mask_ports(&s, run)
}

/// A robust or priority-inheriting mutex's futex word holds its owner's
/// thread id and, once someone waits, the FUTEX_WAITERS bit (0x80000000):
/// in a wait's expected value, the bit and the id of one of the run's
/// tasks become OWNER|WAITERS. Any other value is kept (a join's wait,
/// on a thread id without the bit, is told apart by [`is_join_wait`]).
fn mask_futex_owner(s: &str, run: &Run) -> String {
    const WAITERS: u32 = 0x8000_0000;
    if !s.contains("FUTEX_WAIT") {
        return s.to_string();
    }
    let Some(v) = nth_arg(s, 2).and_then(|v| v.parse::<u32>().ok()) else {
        return s.to_string();
    };
    if v & WAITERS == 0 || !run.tids.contains(&(v & 0x3fff_ffff)) {
        return s.to_string();
    }
    mask_arg(s, 2, "OWNER|WAITERS")
}

/// The name mkstemp(3) made: "/tmp/NAME.XXXXXX", its six random letters
/// masked as XXXXXX, in the call's first string. A name of another form
/// is kept.
fn mask_temp_name(s: &str) -> String {
    let Some((a, b)) = first_string(s) else {
        return s.to_string();
    };
    let name = &s[a + 1..b - 1];
    let random = name.len().checked_sub(6).map(|i| &name[i..]);
    let made = name.starts_with("/tmp/")
        && name.len() > 12
        && name.as_bytes()[name.len() - 7] == b'.'
        && random.is_some_and(|r| r.bytes().all(|c| c.is_ascii_alphanumeric()));
    if !made {
        return s.to_string();
    }
    format!("{}XXXXXX{}", &s[..b - 7], &s[b - 1..])
}

/// The minor number of a pseudo-terminal's slave (majors 136 to 143), as
/// `newfstatat` shows stdout: which one a run gets depends on who else
/// holds one.
fn mask_pty(s: &str) -> String {
    let mut out = s.to_string();
    for major in 0x88..=0x8f {
        let key = format!("st_rdev=makedev({major:#x}, ");
        if let Some(i) = out.find(&key) {
            let from = i + key.len();
            if let Some(len) = out[from..].find(')') {
                out.replace_range(from..from + len, "PTY");
            }
        }
    }
    out
}

/// The seconds strace adds after a child's CPU time, when not 0
/// (`si_stime=1 /* 0.01 s */`): masked with the ticks they stand for.
fn drop_seconds(s: &str) -> String {
    let mut out = s.to_string();
    let mut from = 0;
    while let Some(i) = out[from..].find(" /* ").map(|i| i + from) {
        let rest = &out[i + 4..];
        match rest.find(" s */") {
            Some(k) if rest[..k].parse::<f64>().is_ok() => out.replace_range(i..i + 4 + k + 5, ""),
            _ => from = i + 4,
        }
    }
    out
}

/// Every hexadecimal number, 0x..., becomes ADDR: addresses, and the few
/// constants strace prints in hex, which two twins pass alike anyway; not
/// inside a quoted string, which is data.
fn mask_hex(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let (mut in_str, mut escaped) = (false, false);
    while i < b.len() {
        if in_str {
            match b[i] {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
        } else if b[i] == b'"' {
            in_str = true;
        }
        let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'\\');
        if !in_str
            && word_start
            && b[i] == b'0'
            && b.get(i + 1) == Some(&b'x')
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            i += 2;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            out.push_str("ADDR");
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Runs of spaces outside strings become one space (strace pads results to a column).
fn fold_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_str = false;
    let mut escaped = false;
    for c in s.chars() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
        } else if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    out
}

/// The span of the first quoted string in `s`, quotes included.
fn first_string(s: &str) -> Option<(usize, usize)> {
    let start = s.find('"')?;
    let mut escaped = false;
    for (i, c) in s[start + 1..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some((start, start + 1 + i + 1)),
            _ => {}
        }
    }
    None
}

/// The first quoted string, and the "..." strace adds when it cut it short,
/// becomes `with`.
fn mask_first_string(s: &str, with: &str) -> String {
    match first_string(s) {
        Some((a, b)) => {
            let rest = &s[b..];
            format!(
                "{}{with}{}",
                &s[..a],
                rest.strip_prefix("...").unwrap_or(rest)
            )
        }
        None => s.to_string(),
    }
}

/// The least a negative `int` becomes as a `size_t`: (size_t)INT_MIN.
pub const NEGATIVE_INT: u64 = u64::MAX - i32::MAX as u64;

/// A call whose last argument, its size, is a negative int cast to a size
/// (`write(1, buf, 18446744073709551615)`: read's -1 passed on): its
/// buffer becomes ADDR. strace shows either the memory past the buffer or,
/// where it cannot read it, the address; what lies there (a stack canary,
/// pointers mangled with a random key) can differ from run to run even
/// with address-space randomisation off.
fn mask_past_the_buffer(s: &str) -> String {
    let Some((call, _)) = s.rsplit_once(") = ") else {
        return s.to_string();
    };
    let size = call
        .rsplit_once(", ")
        .and_then(|(_, n)| n.parse::<u64>().ok());
    if size.is_some_and(|n| n >= NEGATIVE_INT) {
        mask_arg(s, 1, "ADDR")
    } else {
        s.to_string()
    }
}

/// execve("PATH", ["ARGV0", ...]: the executable's path, twice.
fn mask_execve(s: &str) -> String {
    let s = mask_first_string(s, "EXE");
    match s.find(", [") {
        Some(i) => format!("{}{}", &s[..i + 3], mask_first_string(&s[i + 3..], "EXE")),
        None => s,
    }
}

/// The call's n-th argument (0-based, top level only) becomes `with`.
fn mask_arg(s: &str, n: usize, with: &str) -> String {
    let Some(open) = s.find('(') else {
        return s.to_string();
    };
    let (mut depth, mut arg, mut start) = (0, 0, open + 1);
    let (mut in_str, mut escaped) = (false, false);
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i <= open) {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth > 0 => depth -= 1,
            ',' | ')' if depth == 0 => {
                if arg == n {
                    let lead = if start > open + 1 { " " } else { "" };
                    return format!("{}{lead}{with}{}", &s[..start], &s[i..]);
                }
                arg += 1;
                start = i + 1;
                if c == ')' {
                    break;
                }
            }
            _ => {}
        }
    }
    s.to_string()
}

/// The call's n-th argument, a pid (or a process group, negative), becomes
/// PID (-PID); 0 and -1 (the caller's group, every process) are kept.
fn mask_pid_arg(s: &str, n: usize) -> String {
    let Some(arg) = nth_arg(s, n) else {
        return s.to_string();
    };
    match arg.parse::<i64>() {
        Ok(v) if v > 1 => mask_arg(s, n, "PID"),
        Ok(v) if v < -1 => mask_arg(s, n, "-PID"),
        _ => s.to_string(),
    }
}

/// The call's n-th argument (0-based, top level, trimmed), if it is a
/// plain word (no nesting, no string).
fn nth_arg(s: &str, n: usize) -> Option<&str> {
    let open = s.find('(')?;
    let close = s[open..].find(')')? + open;
    s[open + 1..close].split(',').nth(n).map(str::trim)
}

/// `... = N` at the end of a line becomes `... = PID` (not -1 errors).
fn mask_return(s: &str) -> String {
    match s.rfind(" = ") {
        Some(i)
            if s[i + 3..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit()) =>
        {
            let tail = &s[i + 3..];
            let digits = tail.chars().take_while(char::is_ascii_digit).count();
            format!("{} = PID{}", &s[..i], &tail[digits..])
        }
        _ => s.to_string(),
    }
}

/// The number right after each `key` becomes N.
fn mask_number_after(s: &str, key: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push('N');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// htons(EPHEMERAL) for every port but the server's, and the ephemeral
/// ports inside strings: as digits (the servers print the client's port),
/// and as the bytes of a sockaddr_in copied whole (the pool server hands a
/// connection's address to a worker through a pipe).
fn mask_ports(s: &str, run: &Run) -> String {
    let mut s = s.to_string();
    for port in &run.ephemeral {
        s = s.replace(&format!("htons({port})"), "htons(EPHEMERAL)");
        if s.contains('"') {
            s = replace_number_in_strings(&s, &port.to_string(), "EPHEMERAL");
            let [hi, lo] = port.to_be_bytes();
            let raw = format!(
                "\\2\\0{}{}\\177\\0\\0\\1",
                escaped(hi, lo),
                escaped(lo, b'\\')
            );
            s = replace_in_strings(&s, &raw, "\\2\\0EPHEMERAL\\177\\0\\0\\1");
        }
    }
    s
}

/// Byte `b` as strace prints it inside a string (no `-x`), before byte
/// `next`: in octal, three digits when an octal digit follows.
fn escaped(b: u8, next: u8) -> String {
    match b {
        b'\t' => "\\t".into(),
        b'\n' => "\\n".into(),
        0x0b => "\\v".into(),
        0x0c => "\\f".into(),
        b'\r' => "\\r".into(),
        b'"' => "\\\"".into(),
        b'\\' => "\\\\".into(),
        0x20..=0x7e => (b as char).to_string(),
        _ if (b'0'..=b'7').contains(&next) => format!("\\{b:03o}"),
        _ => format!("\\{b:o}"),
    }
}

/// [`replace_in_strings`], for a number: only where it stands alone, not
/// inside a longer run of digits (the port 45678 is not in "0123456789").
fn replace_number_in_strings(s: &str, number: &str, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((a, b)) = first_string(rest) {
        out.push_str(&rest[..a]);
        let span = &rest[a..b];
        let mut from = 0;
        while let Some(i) = span[from..].find(number).map(|i| i + from) {
            let end = i + number.len();
            let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
            out.push_str(&span[from..i]);
            if digit(span[..i].chars().next_back()) || digit(span[end..].chars().next()) {
                out.push_str(number);
            } else {
                out.push_str(to);
            }
            from = end;
        }
        out.push_str(&span[from..]);
        rest = &rest[b..];
    }
    out.push_str(rest);
    out
}

fn replace_in_strings(s: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((a, b)) = first_string(rest) {
        out.push_str(&rest[..a]);
        out.push_str(&rest[a..b].replace(from, to));
        rest = &rest[b..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        let mut r = Run {
            keep_port: 9000,
            ..Run::default()
        };
        r.scan(["accept(3, {sa_family=AF_INET, sin_port=htons(43252), sin_addr=inet_addr(\"127.0.0.1\")}, [16]) = 4"]);
        r
    }

    #[test]
    fn ephemeral_ports_are_collected_but_not_the_servers() {
        let mut r = run();
        r.scan(["bind(3, {sa_family=AF_INET, sin_port=htons(9000), sin_addr=inet_addr(\"0.0.0.0\")}, 16) = 0"]);
        assert_eq!(r.ephemeral.iter().copied().collect::<Vec<_>>(), vec![43252]);
    }

    #[test]
    fn accept_masks_the_client_port_keeps_the_rest() {
        let l = "accept(3, {sa_family=AF_INET, sin_port=htons(43252), sin_addr=inet_addr(\"127.0.0.1\")}, [16]) = 4";
        assert_eq!(
            line(l, &run()),
            "accept(3, {sa_family=AF_INET, sin_port=htons(EPHEMERAL), sin_addr=inet_addr(\"127.0.0.1\")}, [16]) = 4"
        );
        let bind = "bind(3, {sa_family=AF_INET, sin_port=htons(9000), sin_addr=inet_addr(\"0.0.0.0\")}, 16) = 0";
        assert_eq!(line(bind, &run()), bind);
    }

    #[test]
    fn port_digits_in_printed_strings_are_masked() {
        let l = "write(1, \"received from 127.0.0.1 at PORT 43252\\n\", 38) = 38";
        assert_eq!(
            line(l, &run()),
            "write(1, \"received from 127.0.0.1 at PORT EPHEMERAL\\n\", 38) = 38"
        );
    }

    #[test]
    fn a_sockaddr_copied_into_a_buffer_loses_its_port() {
        // 43252 is 0xa8f4: \250 and \364 as strace prints them.
        let l = r#"write(7, "\r\0\0\0\2\0\250\364\177\0\0\1\0\0\0\0\0\0\0\0", 20) = 20"#;
        assert_eq!(
            line(l, &run()),
            r#"write(7, "\r\0\0\0\2\0EPHEMERAL\177\0\0\1\0\0\0\0\0\0\0\0", 20) = 20"#
        );
    }

    #[test]
    fn padding_is_folded_but_not_inside_strings() {
        let l = "close(4)                                = 0";
        assert_eq!(line(l, &run()), "close(4) = 0");
        let w = "write(4, \"a  b\", 4)                      = 4";
        assert_eq!(line(w, &run()), "write(4, \"a  b\", 4) = 4");
    }

    #[test]
    fn addresses_and_pids_are_masked() {
        let clone = "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f87de54ba10) = 2339";
        assert_eq!(
            line(clone, &run()),
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=ADDR) = PID"
        );
        let clone3 = "clone3({flags=CLONE_VM, child_tid=0x7efd10b22990, stack_size=0x7fff80} => {parent_tid=[5932]}, 88) = 5932";
        assert_eq!(
            line(clone3, &run()),
            "clone3({flags=CLONE_VM, child_tid=ADDR, stack_size=ADDR} => {parent_tid=[N]}, 88) = PID"
        );
        assert_eq!(
            line("wait4(-1, NULL, WNOHANG, NULL)          = 2339", &run()),
            "wait4(-1, NULL, WNOHANG, NULL) = PID"
        );
        assert_eq!(
            line(
                "wait4(-1, NULL, WNOHANG, NULL)          = -1 ECHILD (No child processes)",
                &run()
            ),
            "wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD (No child processes)"
        );
        assert_eq!(
            line("tgkill(2339, 2340, SIGABRT) = 0", &run()),
            "tgkill(PID, PID, SIGABRT) = 0"
        );
    }

    /// Each mask hides only what varies from run to run: a different
    /// signal, a different target of kill, hex inside data, a byte past
    /// the 64th of a buffer all still show.
    #[test]
    fn masks_keep_real_differences() {
        let r = run();
        let differ = |a: &str, b: &str| assert_ne!(line(a, &r), line(b, &r), "{a} | {b}");
        differ("kill(2339, SIGTERM) = 0", "kill(2339, SIGKILL) = 0");
        differ("kill(-1, SIGKILL) = 0", "kill(2339, SIGKILL) = 0");
        differ("kill(0, SIGTERM) = 0", "kill(2339, SIGTERM) = 0");
        differ("tkill(2339, SIGTERM) = 0", "tkill(2339, SIGUSR1) = 0");
        differ(
            "tgkill(2339, 2340, SIGTERM) = 0",
            "tgkill(2339, 2340, SIGABRT) = 0",
        );
        assert_eq!(
            line("kill(2339, SIGTERM) = 0", &r),
            line("kill(4242, SIGTERM) = 0", &r)
        );
        assert_eq!(
            line("kill(-2339, SIGTERM) = 0", &r),
            "kill(-PID, SIGTERM) = 0"
        );
        differ(
            r#"write(1, "addr 0x1f\n", 10) = 10"#,
            r#"write(1, "addr 0x2e\n", 10) = 10"#,
        );
        assert_eq!(
            line(r#"read(3, 0x7ffd10, 8192) = 5"#, &r),
            "read(3, ADDR, 8192) = 5"
        );
        let long = |c: char| {
            let data: String = "a".repeat(80) + &c.to_string();
            format!("write(4, \"{data}\", 81) = 81")
        };
        differ(&long('b'), &long('B'));
        // A port of the run inside a longer number is data, not the port.
        let mut r = run();
        r.ephemeral.insert(45678);
        assert_eq!(
            line(r#"write(1, "0123456789 at PORT 45678\n", 25) = 25"#, &r),
            r#"write(1, "0123456789 at PORT EPHEMERAL\n", 25) = 25"#
        );
    }

    /// A preforked parent waits for each child by pid; a robust mutex's
    /// futex word holds its owner's id; mkstemp's name is random: each is
    /// masked, and what is not a pid, an owner or a random name still shows.
    #[test]
    fn a_childs_pid_an_owners_id_and_a_temporary_name_are_masked() {
        let mut r = run();
        r.tids.extend([2339, 2340]);
        let differ = |a: &str, b: &str| assert_ne!(line(a, &r), line(b, &r), "{a} | {b}");
        assert_eq!(
            line("wait4(2339, NULL, 0, NULL) = 2339", &r),
            "wait4(PID, NULL, 0, NULL) = PID"
        );
        differ(
            "wait4(-1, NULL, 0, NULL) = 2339",
            "wait4(2339, NULL, 0, NULL) = 2339",
        );
        differ(
            "wait4(2339, NULL, 0, NULL) = 2339",
            "wait4(2339, NULL, WNOHANG, NULL) = 2339",
        );
        assert_eq!(
            line("futex(0x7f00, FUTEX_WAIT, 2147485987, NULL) = 0", &r),
            "futex(ADDR, FUTEX_WAIT, OWNER|WAITERS, NULL) = 0"
        );
        assert_eq!(
            line("futex(0x7f00, FUTEX_WAIT, 2147485988, NULL) = 0", &r),
            line("futex(0x7f00, FUTEX_WAIT, 2147485987, NULL) = 0", &r)
        );
        differ(
            "futex(0x7f00, FUTEX_WAIT, 2, NULL) = 0",
            "futex(0x7f00, FUTEX_WAIT, 2147485987, NULL) = 0",
        );
        differ(
            "futex(0x7f00, FUTEX_WAIT, 2339, NULL) = 0",
            "futex(0x7f00, FUTEX_WAIT, 2340, NULL) = 0",
        );
        // The waiters bit and an id that is none of the run's: a value.
        differ(
            "futex(0x7f00, FUTEX_WAIT, 2147485987, NULL) = 0",
            "futex(0x7f00, FUTEX_WAIT, 2147493647, NULL) = 0",
        );
        differ(
            "futex(0x7f00, FUTEX_WAIT, 2, NULL) = 0",
            "futex(0x7f00, FUTEX_WAIT, 1, NULL) = 0",
        );
        assert_eq!(
            line(r#"unlink("/tmp/prefork_lock.OvoJ7l") = 0"#, &r),
            line(r#"unlink("/tmp/prefork_lock.IyQOCD") = 0"#, &r)
        );
        differ(
            r#"unlink("/tmp/prefork_lock.OvoJ7l") = 0"#,
            r#"unlink("/tmp/prefork_lack.OvoJ7l") = 0"#,
        );
        differ(
            r#"unlink("/etc/prefork_lock.OvoJ7l") = 0"#,
            r#"unlink("/etc/prefork_lock.IyQOCD") = 0"#,
        );
    }

    #[test]
    fn a_getrandom_before_mkstemps_open_is_dropped_and_no_other() {
        let open =
            "openat(AT_FDCWD, \"/tmp/prefork_lock.Ab3dE9\", O_RDWR|O_CREAT|O_EXCL, 0600) = 4\n";
        let draw =
            "getrandom(\"\\x12\\x34\\x56\\x78\\x9a\\xbc\\xde\\xf0\", 8, GRND_NONBLOCK) = 8\n";
        let elsewhere = "openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY|O_CLOEXEC) = 4\n";
        let r = run();
        assert_eq!(task(&format!("{draw}{open}"), &r), task(open, &r));
        // Drawn again, the new draw unfair too: both dropped.
        assert_eq!(task(&format!("{draw}{draw}{open}"), &r), task(open, &r));
        assert_ne!(task(&format!("{draw}{elsewhere}"), &r), task(elsewhere, &r));
        assert_ne!(
            task(&format!("{draw}{draw}{elsewhere}"), &r),
            task(elsewhere, &r)
        );
        assert_ne!(task(&format!("{open}{draw}"), &r), task(open, &r));
        // Another file in /tmp, not made by mkstemp: the draw is kept.
        let tmp = "openat(AT_FDCWD, \"/tmp/notes\", O_RDONLY) = 4\n";
        assert_ne!(task(&format!("{draw}{tmp}"), &r), task(tmp, &r));
    }

    #[test]
    fn signal_lines_lose_pid_and_times() {
        let l = "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2339, si_uid=0, si_status=0, si_utime=1, si_stime=0} ---";
        assert_eq!(
            line(l, &run()),
            "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=N, si_uid=0, si_status=0, si_utime=N, si_stime=N} ---"
        );
    }

    #[test]
    fn a_childs_cpu_seconds_are_masked_with_its_ticks() {
        let l = "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2339, si_uid=0, si_status=0, si_utime=0, si_stime=1 /* 0.01 s */} ---";
        assert_eq!(
            line(l, &run()),
            "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=N, si_uid=0, si_status=0, si_utime=N, si_stime=N} ---"
        );
    }

    #[test]
    fn the_terminals_number_is_masked() {
        for minor in ["0", "0x5", "0x1a"] {
            let l = format!(
                "newfstatat(1, \"\", {{st_mode=S_IFCHR|0600, st_rdev=makedev(0x88, {minor}), ...}}, AT_EMPTY_PATH) = 0"
            );
            assert_eq!(
                line(&l, &run()),
                "newfstatat(1, \"\", {st_mode=S_IFCHR|0600, st_rdev=makedev(ADDR, PTY), ...}, AT_EMPTY_PATH) = 0"
            );
        }
        // /dev/null's number is kept.
        let null = "newfstatat(2, \"\", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}, AT_EMPTY_PATH) = 0";
        assert_eq!(
            line(null, &run()),
            "newfstatat(2, \"\", {st_mode=S_IFCHR|0666, st_rdev=makedev(ADDR, ADDR), ...}, AT_EMPTY_PATH) = 0"
        );
    }

    #[test]
    fn exit_lines_are_kept() {
        assert_eq!(
            line("+++ exited with 0 +++", &run()),
            "+++ exited with 0 +++"
        );
        assert_eq!(
            line("+++ killed by SIGTERM +++", &run()),
            "+++ killed by SIGTERM +++"
        );
    }

    #[test]
    fn execve_getrandom_and_relro_are_masked() {
        let e = "execve(\"/w/target/release/client\", [\"/w/target/release/client\", \"127.0.0.1\"], 0x7ffe /* 35 vars */) = 0";
        assert_eq!(
            line(e, &run()),
            "execve(EXE, [EXE, \"127.0.0.1\"], ADDR /* 35 vars */) = 0"
        );
        let long = r#"execve("/w/target/release/build/concserv-5465547d6fcdb886/out/c/client", ["/w/target/release/build/concserv-5465547d6fcdb886/out/c/"..., "8000"], 0x7fff832402f0 /* 1 var */) = 0"#;
        assert_eq!(
            line(long, &run()),
            "execve(EXE, [EXE, \"8000\"], ADDR /* 1 var */) = 0"
        );
        let g = "getrandom(\"\\x7a\\x8e\\x3e\\xa1\\xe6\\x1a\\xc1\\x3c\", 8, GRND_NONBLOCK) = 8";
        assert_eq!(line(g, &run()), "getrandom(RANDOM, 8, GRND_NONBLOCK) = 8");
        assert_eq!(
            line("mprotect(0x56311b0c3000, 4096, PROT_READ) = 0", &run()),
            "mprotect(ADDR, LEN, PROT_READ) = 0"
        );
        // Thread stacks are mprotected too, and their lengths are kept.
        let stack = "mprotect(0x7efd10323000, 8388608, PROT_READ|PROT_WRITE) = 0";
        assert_eq!(
            line(stack, &run()),
            "mprotect(ADDR, 8388608, PROT_READ|PROT_WRITE) = 0"
        );
    }

    #[test]
    fn a_new_arenas_trims_are_dropped_and_nothing_else() {
        let raw = "mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f1c4c000000\n\
                   munmap(0x7f1c48000000, 67108864) = 0\n\
                   munmap(0x7f1c50000000, 0) = 0\n\
                   munmap(0x7f1c58000000, 4096) = 0\n\
                   mprotect(0x7f1c4c000000, 135168, PROT_READ|PROT_WRITE) = 0\n";
        let raw = raw.replace("                   ", "");
        assert_eq!(
            task_kept(&raw, &run()),
            (
                vec![
                    "mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = ADDR".to_string(),
                    "munmap(ADDR, 4096) = 0".to_string(),
                    "mprotect(ADDR, 135168, PROT_READ|PROT_WRITE) = 0".to_string(),
                ],
                vec![true, false, false, true, true]
            )
        );
        // Elsewhere, an munmap's length is kept.
        assert_eq!(
            task("munmap(0x7f1c58000000, 8192) = 0\n", &run()),
            vec!["munmap(ADDR, 8192) = 0"]
        );
    }

    #[test]
    fn every_way_glibc_maps_a_heap_reads_the_same() {
        // Aligned by chance: one trim.
        let one = "mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f1c48000000\n\
                   munmap(0x7f1c4c000000, 67108864) = 0\n\
                   mprotect(0x7f1c48000000, 135168, PROT_READ|PROT_WRITE) = 0\n";
        // Unaligned: two.
        let two = "mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f1c4a000000\n\
                   munmap(0x7f1c4a000000, 33554432) = 0\n\
                   munmap(0x7f1c50000000, 33554432) = 0\n\
                   mprotect(0x7f1c4c000000, 135168, PROT_READ|PROT_WRITE) = 0\n";
        // After an aligned heap: 64 MiB just above it, which the kernel gave.
        let hinted = "mmap(0x7fb3e8000000, 67108864, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7fb3e8000000\n\
                      mprotect(0x7fb3e8000000, 135168, PROT_READ|PROT_WRITE) = 0\n";
        // ... or put elsewhere, unaligned: given back, then the usual way.
        let refused = "mmap(0x7fb3e8000000, 67108864, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7fb3e1000000\n\
                       munmap(0x7fb3e1000000, 67108864) = 0\n\
                       mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f1c4a000000\n\
                       munmap(0x7f1c4a000000, 33554432) = 0\n\
                       munmap(0x7f1c50000000, 33554432) = 0\n\
                       mprotect(0x7f1c4c000000, 135168, PROT_READ|PROT_WRITE) = 0\n";
        let norm = |raw: &str| task(&raw.replace("  ", ""), &run());
        assert_eq!(norm(one).len(), 2, "{:?}", norm(one));
        assert_eq!(norm(one), norm(two));
        assert_eq!(norm(one), norm(hinted));
        assert_eq!(norm(one), norm(refused));
        let (_, kept) = task_kept(&refused.replace("  ", ""), &run());
        assert_eq!(kept, vec![false, false, true, false, false, true]);
    }

    #[test]
    fn a_joins_wait_for_an_exiting_thread_is_dropped() {
        let mut r = run();
        r.tids.insert(5932);
        let raw = "futex(0x7efd10b22990, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 5932, NULL, FUTEX_BITSET_MATCH_ANY) = 0\n\
                   futex(0x7efd10b22990, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 2, NULL, FUTEX_BITSET_MATCH_ANY) = 0\n\
                   write(1, \"joined worker 1\\n\", 16) = 16\n";
        assert_eq!(
            task(raw, &r),
            vec![
                "futex(ADDR, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 2, NULL, FUTEX_BITSET_MATCH_ANY) = 0",
                "write(1, \"joined worker 1\\n\", 16) = 16",
            ]
        );
    }

    #[test]
    fn unfinished_and_resumed_lines_are_joined() {
        let raw = "accept(3,  <unfinished ...>\n--- SIGCHLD {si_signo=SIGCHLD} ---\n<... accept resumed>0x7ffd, [16]) = ? ERESTARTSYS\nclose(4) = 0\n";
        assert_eq!(
            join_resumed(raw),
            vec![
                "--- SIGCHLD {si_signo=SIGCHLD} ---",
                "accept(3, 0x7ffd, [16]) = ? ERESTARTSYS",
                "close(4) = 0"
            ]
        );
    }

    #[test]
    fn an_unfinished_line_at_the_end_is_kept() {
        assert_eq!(
            join_resumed("read(4,  <unfinished ...>\n"),
            vec!["read(4, "]
        );
    }

    #[test]
    fn strings_with_quotes_and_hex_escapes_survive() {
        let l = "read(4, \"\\x00\\x01 \\\"0x41\\\"\", 8192) = 8";
        assert_eq!(line(l, &run()), l, "data is data, hex or not");
    }

    #[test]
    fn the_memory_past_a_buffer_given_a_negative_size_is_masked() {
        let run = Run::default();
        let dump =
            "write(1, \"\\0\\1garbage\\377\"..., 18446744073709551615) = -1 EFAULT (Bad address)";
        let addr = "write(1, 0x7ffffffed000, 18446744073709551615) = -1 EFAULT (Bad address)";
        let want = "write(1, ADDR, 18446744073709551615) = -1 EFAULT (Bad address)";
        assert_eq!(line(dump, &run), want);
        assert_eq!(line(addr, &run), want);
        // A size that is no negative int keeps its data, whatever it holds.
        let plain = "write(4, \"18446744073709551615\", 20) = 20";
        assert_eq!(line(plain, &run), plain);
        let read = "read(4, \"round 0\", 8192) = 7";
        assert_eq!(line(read, &run), read);
    }
}
