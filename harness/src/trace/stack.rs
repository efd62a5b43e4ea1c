//! `strace -k` output: after each call (or signal) line, the stack that
//! made it, innermost frame first, one ` > MODULE(SYMBOL+0xOFF) [0xOFFSET]`
//! line per frame, where OFFSET is the frame's offset in MODULE's file.
//! Here the frames are taken apart from the lines, and the lines joined
//! (`<unfinished ...>` with `<... resumed>`) exactly as the normaliser
//! joins them, so that the n-th entry is the n-th normalised line.

/// strace's argument for a stack trace with each call.
pub const STACKS: &str = "-k";

/// One frame of a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The file mapped there: an executable or a library.
    pub module: String,
    /// The nearest symbol strace found, without its `+0x...`.
    pub symbol: Option<String>,
    /// The offset in the module's file.
    pub offset: u64,
}

/// One line of a task's trace, as the normaliser joins them, with its stack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub line: String,
    /// Innermost first; empty for `+++ exited ... +++` lines, and where
    /// strace printed none.
    pub frames: Vec<Frame>,
}

/// A frame line, ` > /path/exe(sym+0x1f) [0x14ab]`.
pub fn frame(line: &str) -> Option<Frame> {
    let rest = line.strip_prefix(" > ")?;
    let (head, off) = rest.rsplit_once(" [0x")?;
    let offset = u64::from_str_radix(off.strip_suffix(']')?, 16).ok()?;
    // The module is a path: its symbol's '(' is the first after the last '/'.
    let slash = head.rfind('/').unwrap_or(0);
    let (module, symbol) = match head[slash..].find('(') {
        Some(i) => {
            let sym = head[slash + i + 1..].strip_suffix(')')?;
            let name = sym.rsplit_once('+').map_or(sym, |(n, _)| n);
            (
                &head[..slash + i],
                (!name.is_empty()).then(|| name.to_string()),
            )
        }
        None => (head, None),
    };
    Some(Frame {
        module: module.to_string(),
        symbol,
        offset,
    })
}

/// The trace without its frame lines: what the normaliser reads.
pub fn strip(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for line in raw.lines().filter(|l| !l.starts_with(" > ")) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Which entry the next frames belong to.
#[derive(Clone, Copy)]
enum Last {
    None,
    Pending,
    /// An entry of the output; `true` when frames that follow replace
    /// those it has (a resumed call's stack, printed at its end).
    Out(usize, bool),
}

/// The trace's lines, joined as [`crate::trace::normalize::join_resumed`]
/// joins them, each with its stack. A call's stack follows its line, or,
/// for a call that ends the task (`exit`), the `+++` line after it.
pub fn entries(raw: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut pending: Option<Entry> = None;
    let mut last = Last::None;
    for line in raw.lines() {
        if line.starts_with(" > ") {
            // A frame strace could not unwind says so on a line of its own.
            let Some(f) = frame(line) else { continue };
            let target = match last {
                Last::None => None,
                Last::Pending => pending.as_mut(),
                Last::Out(i, replace) => {
                    last = Last::Out(i, false);
                    if replace {
                        out[i].frames.clear();
                    }
                    out.get_mut(i)
                }
            };
            if let Some(e) = target {
                e.frames.push(f);
            }
            continue;
        }
        let fresh = |l: &str| Entry {
            line: l.to_string(),
            frames: Vec::new(),
        };
        if let Some(head) = line.strip_suffix(" <unfinished ...>") {
            // As the normaliser does, an unfinished call left unfinished
            // by the next one is dropped.
            pending = Some(fresh(head));
            last = Last::Pending;
        } else if line.starts_with("<... ")
            && let Some(i) = line.find(" resumed>")
        {
            let mut e = pending.take().unwrap_or_default();
            e.line.push_str(&line[i + " resumed>".len()..]);
            out.push(e);
            last = Last::Out(out.len() - 1, true);
        } else if line.starts_with("--- ") {
            out.push(fresh(line));
            last = Last::Out(out.len() - 1, false);
        } else if line.starts_with("+++ ") {
            if let Some(p) = pending.take() {
                out.push(p);
                last = Last::Out(out.len() - 1, false);
            }
            // The call that ended the task may get its stack only now.
            if let Last::Out(i, _) = last {
                last = Last::Out(i, true);
            }
            out.push(fresh(line));
        } else {
            if let Some(p) = pending.take() {
                out.push(p);
            }
            out.push(fresh(line));
            last = Last::Out(out.len() - 1, false);
        }
    }
    out.extend(pending);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::normalize::join_resumed;

    #[test]
    fn frames_are_taken_apart() {
        assert_eq!(
            frame(" > /w/target/release/process_server(concserv::wrap::Close+0x7) [0x17c7]"),
            Some(Frame {
                module: "/w/target/release/process_server".into(),
                symbol: Some("concserv::wrap::Close".into()),
                offset: 0x17c7,
            })
        );
        assert_eq!(
            frame(" > /usr/lib/x86_64-linux-gnu/libc.so.6() [0x2724a]"),
            Some(Frame {
                module: "/usr/lib/x86_64-linux-gnu/libc.so.6".into(),
                symbol: None,
                offset: 0x2724a,
            })
        );
        assert_eq!(frame("close(3) = 0"), None);
    }

    #[test]
    fn stacks_follow_their_lines_and_exit_s_follows_the_end() {
        let raw = "close(3) = 0\n > /e(main+0x1) [0x11]\n > /lib/libc.so.6(__libc_start_main+0x85) [0x27305]\n\
                   exit(0) = ?\n+++ exited with 0 +++\n > /lib/libc.so.6(start_thread+0x1) [0x2]\n";
        let e = entries(raw);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].frames.len(), 2);
        assert_eq!(e[1].line, "exit(0) = ?");
        assert_eq!(e[1].frames.len(), 1);
        assert!(e[2].frames.is_empty());
        assert_eq!(
            strip(raw),
            "close(3) = 0\nexit(0) = ?\n+++ exited with 0 +++\n"
        );
    }

    #[test]
    fn joined_as_the_normaliser_joins() {
        let raw = "accept(3,  <unfinished ...>\n > /e(main+0x1) [0x11]\n--- SIGCHLD {si_signo=SIGCHLD} ---\n > /e(main+0x1) [0x11]\n\
                   <... accept resumed>0x7ffd, [16]) = ? ERESTARTSYS\n > /e(main+0x2) [0x12]\nclose(4) = 0\nread(4,  <unfinished ...>\n";
        let joined: Vec<String> = entries(raw).into_iter().map(|e| e.line).collect();
        assert_eq!(joined, join_resumed(&strip(raw)));
        let e = entries(raw);
        assert_eq!(e[1].frames[0].offset, 0x12, "the resumed call's own stack");
    }
}
