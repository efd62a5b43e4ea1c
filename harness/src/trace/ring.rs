//! What strace cannot see of an io_uring program: the operations it queued.
//! `io_uring_enter(2)` shows only how many entries were submitted; the
//! entries themselves are in the submission queue, memory the program
//! shares with the kernel. The kernel leaves each entry there until the
//! program fills its slot again, so at the end of a session shorter than
//! the queue, every entry the program ever queued is still in it, in
//! order. This module reads them from the running process: the queue's
//! tail from `/proc/PID/fdinfo/FD` (SqTail), the entries from the mapping
//! of the ring's descriptor at `IORING_OFF_SQES` through `/proc/PID/mem`.
//! It assumes what both twins do: submission array slot i names entry i
//! (see `uring_open`), so entry `n & mask` is the n-th queued.

use crate::Result;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The offset at which a ring's submission entries are mapped.
const IORING_OFF_SQES: u64 = 0x1000_0000;
/// The size of one submission entry (without IORING_SETUP_SQE128).
pub const SQE_SIZE: usize = 64;

/// The operations a program queued in its ring, oldest first, each as one
/// line of its fields; `lost` entries before them were overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub lines: Vec<String>,
    pub lost: u32,
}

/// The name of an `IORING_OP_*` (linux/io_uring.h), for those it knows.
pub fn opcode_name(op: u8) -> String {
    let name = match op {
        0 => "NOP",
        6 => "POLL_ADD",
        11 => "TIMEOUT",
        13 => "ACCEPT",
        14 => "ASYNC_CANCEL",
        19 => "CLOSE",
        22 => "READ",
        23 => "WRITE",
        26 => "SEND",
        27 => "RECV",
        _ => return format!("OP_{op}"),
    };
    name.to_string()
}

/// `IOSQE_*` flags by name, `|`-joined; "0" for none.
fn sqe_flags(flags: u8) -> String {
    const NAMES: [&str; 8] = [
        "FIXED_FILE",
        "IO_DRAIN",
        "IO_LINK",
        "IO_HARDLINK",
        "ASYNC",
        "BUFFER_SELECT",
        "CQE_SKIP_SUCCESS",
        "BIT7",
    ];
    let set: Vec<&str> = (0..8)
        .filter(|b| flags & (1 << b) != 0)
        .map(|b| NAMES[b])
        .collect();
    if set.is_empty() {
        "0".into()
    } else {
        set.join("|")
    }
}

/// One submission entry as a line: every field but the addresses (`addr`,
/// `addr3`), which differ between two programs' memory, and are given as
/// whether they are set; for `ASYNC_CANCEL`, whose `addr` is the user_data
/// of the operation to cancel, a value, `addr` in full.
pub fn describe(e: &[u8]) -> String {
    let u16_at = |o: usize| u16::from_le_bytes([e[o], e[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(e[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(e[o..o + 8].try_into().unwrap());
    let off = u64_at(8);
    let off = if off == u64::MAX {
        "-1".to_string()
    } else {
        off.to_string()
    };
    let addr = match (e[0], u64_at(16)) {
        (14, a) => format!("{a:#018x}"),
        (_, 0) => "0".into(),
        _ => "set".into(),
    };
    format!(
        "{} fd={} len={} flags={} ioprio={:#x} op_flags={:#x} off={off} buf_group={} personality={} optlen={} user_data={:#018x} addr={addr} addr3={}",
        opcode_name(e[0]),
        u32_at(4) as i32,
        u32_at(24),
        sqe_flags(e[1]),
        u16_at(2),
        u32_at(28),
        u16_at(40),
        u16_at(42),
        u32_at(44),
        u64_at(32),
        if u64_at(48) != 0 { "set" } else { "0" },
    )
}

/// The descriptor of `pid`'s io_uring, if it has one.
fn ring_fd(pid: i32) -> Option<String> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| e.ok())
        .find(|e| fs::read_link(e.path()).is_ok_and(|t| t == Path::new("anon_inode:[io_uring]")))
        .map(|e| e.file_name().to_string_lossy().into_owned())
}

/// A field of `/proc/PID/fdinfo/FD`: "SqTail:\t4" gives 4.
fn fdinfo_field(info: &str, name: &str) -> Option<u64> {
    let v = info
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Where `pid` has its ring's submission entries mapped, and how long the mapping is.
pub fn sqes_mapping(pid: i32) -> Result<(u64, u64)> {
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).map_err(|e| e.to_string())?;
    for line in maps
        .lines()
        .filter(|l| l.ends_with("anon_inode:[io_uring]"))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (start, end) = f[0].split_once('-').ok_or("bad maps line")?;
        let off = u64::from_str_radix(f[2], 16).map_err(|e| e.to_string())?;
        if off == IORING_OFF_SQES {
            let start = u64::from_str_radix(start, 16).map_err(|e| e.to_string())?;
            let end = u64::from_str_radix(end, 16).map_err(|e| e.to_string())?;
            return Ok((start, end - start));
        }
    }
    Err(format!(
        "pid {pid}: no mapping of its ring's submission entries"
    ))
}

/// The operations `pid` has queued in its io_uring, oldest first; None if
/// it has no ring. Read while it waits: everything it queued has been
/// submitted, and the tail is final.
pub fn queued(pid: i32) -> Result<Option<Queued>> {
    let Some(fd) = ring_fd(pid) else {
        return Ok(None);
    };
    let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).map_err(|e| e.to_string())?;
    let tail = fdinfo_field(&info, "SqTail").ok_or("no SqTail in the ring's fdinfo")?;
    let mask = fdinfo_field(&info, "SqMask").ok_or("no SqMask in the ring's fdinfo")?;
    let (start, len) = sqes_mapping(pid)?;
    let entries = mask + 1;
    if len < entries * SQE_SIZE as u64 {
        return Err(format!(
            "the submission entries' mapping is {len} bytes, for {entries} entries"
        ));
    }
    let mem =
        fs::File::open(format!("/proc/{pid}/mem")).map_err(|e| format!("/proc/{pid}/mem: {e}"))?;
    let first = tail.saturating_sub(entries);
    let mut lines = Vec::new();
    let mut e = [0u8; SQE_SIZE];
    for n in first..tail {
        let at = start + (n & mask) * SQE_SIZE as u64;
        mem.read_exact_at(&mut e, at)
            .map_err(|err| format!("/proc/{pid}/mem at {at:#x}: {err}"))?;
        lines.push(describe(&e));
    }
    Ok(Some(Queued {
        lines,
        lost: first as u32,
    }))
}

/// The file a session leaves its server's queued operations in, beside its traces.
pub const FILE: &str = "queued.ops";

/// Writes `pid`'s queued operations to `dir/queued.ops`, if it has a ring:
/// a first line with how many were lost, then one per operation. A server
/// whose model says it has one (`expected`) and has none is an error: the
/// comparison must not pass without the operations.
pub fn save(pid: i32, dir: &Path, expected: bool) -> Result<()> {
    let found = queued(pid)?;
    if expected && found.is_none() {
        return Err(format!(
            "pid {pid} has no io_uring to read its operations from"
        ));
    }
    if let Some(q) = found {
        let mut text = format!("lost {}\n", q.lost);
        for l in &q.lines {
            text.push_str(l);
            text.push('\n');
        }
        fs::write(dir.join(FILE), text).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// What [`save`] wrote in `dir`, if anything.
pub fn load(dir: &Path) -> Result<Option<Queued>> {
    let Ok(text) = fs::read_to_string(dir.join(FILE)) else {
        return Ok(None);
    };
    let mut lines = text.lines();
    let lost = lines
        .next()
        .and_then(|l| l.strip_prefix("lost "))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{}: no 'lost' line", dir.join(FILE).display()))?;
    Ok(Some(Queued {
        lines: lines.map(String::from).collect(),
        lost,
    }))
}

/// The verdict on two programs' queued operations: None when neither has
/// a ring; else whether they are identical, and a line (or a diff) saying so.
pub fn verdict(a: Option<&Queued>, b: Option<&Queued>) -> Option<(bool, String)> {
    match (a, b) {
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => Some((
            false,
            format!(
                "  queued operations: only {} has an io_uring\n",
                if a.is_some() { "A" } else { "B" }
            ),
        )),
        (Some(a), Some(b)) => {
            let lost = match a.lost.max(b.lost) {
                0 => String::new(),
                n => format!("; the first {n} were overwritten in the ring, not compared"),
            };
            if a == b {
                return Some((
                    true,
                    format!(
                        "  and the {} operations they queued in their rings: identical (opcode, fd, len, flags, user_data...){lost}\n",
                        a.lines.len()
                    ),
                ));
            }
            let mut out = format!(
                "  queued operations DIFFERENT ({} in A, {} in B){lost}:\n",
                a.lines.len(),
                b.lines.len()
            );
            let n = a.lines.len().max(b.lines.len());
            for i in 0..n {
                let (x, y) = (a.lines.get(i), b.lines.get(i));
                if x != y {
                    out.push_str(&format!(
                        "    #{i}\n    A: {}\n    B: {}\n",
                        x.map_or("-", |s| s.as_str()),
                        y.map_or("-", |s| s.as_str())
                    ));
                }
            }
            Some((false, out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(op: u8, flags: u8, fd: i32, len: u32, user_data: u64) -> [u8; SQE_SIZE] {
        let mut e = [0u8; SQE_SIZE];
        e[0] = op;
        e[1] = flags;
        e[4..8].copy_from_slice(&fd.to_le_bytes());
        e[24..28].copy_from_slice(&len.to_le_bytes());
        e[32..40].copy_from_slice(&user_data.to_le_bytes());
        e
    }

    #[test]
    fn an_entry_reads_as_its_fields_without_its_address() {
        let mut e = entry(26, 0, 5, 12, 0x0300_0001_0000_0005);
        e[16..24].copy_from_slice(&0x7f00_dead_beefu64.to_le_bytes());
        let line = describe(&e);
        assert_eq!(
            line,
            "SEND fd=5 len=12 flags=0 ioprio=0x0 op_flags=0x0 off=0 buf_group=0 personality=0 optlen=0 user_data=0x0300000100000005 addr=set addr3=0"
        );
        let mut other = e;
        other[16..24].copy_from_slice(&0x5500_0000_1000u64.to_le_bytes());
        assert_eq!(describe(&other), line, "addresses are not compared");
    }

    #[test]
    fn a_cancel_shows_what_it_cancels() {
        let mut e = entry(14, 1 << 6, -1, 0, 0x0600_0001_0000_0005);
        e[16..24].copy_from_slice(&0x0200_0001_0000_0005u64.to_le_bytes());
        assert!(
            describe(&e).contains("addr=0x0200000100000005"),
            "{}",
            describe(&e)
        );
    }

    #[test]
    fn flags_are_named() {
        let e = entry(27, (1 << 5) | (1 << 6), 7, 0, 0);
        assert!(describe(&e).contains("flags=BUFFER_SELECT|CQE_SKIP_SUCCESS"));
    }

    #[test]
    fn two_lists_are_the_same_or_their_differences_shown() {
        let a = Queued {
            lines: vec!["ACCEPT fd=3".into(), "RECV fd=5".into()],
            lost: 0,
        };
        let mut b = a.clone();
        assert!(verdict(Some(&a), Some(&b)).unwrap().0);
        b.lines[1] = "RECV fd=6".into();
        let (same, text) = verdict(Some(&a), Some(&b)).unwrap();
        assert!(!same);
        assert!(text.contains("#1") && text.contains("RECV fd=6"), "{text}");
        assert!(!verdict(Some(&a), None).unwrap().0);
        assert!(verdict(None, None).is_none());
    }

    #[test]
    fn overwritten_entries_are_said() {
        let a = Queued {
            lines: vec!["NOP".into()],
            lost: 3,
        };
        let (_, text) = verdict(Some(&a), Some(&a)).unwrap();
        assert!(text.contains("the first 3 were overwritten"), "{text}");
    }
}
