//! A variable of a running program, read by its name as a debugger reads
//! it: its address from the executable's symbol table, where the program
//! was loaded from /proc/PID/maps, its bytes from /proc/PID/mem (which
//! asks what ptrace(2) asks: the same user, and under Yama's
//! `ptrace_scope` 1, a parent, as `make watch` is of its server).

use super::elf::Elf;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Where process `pid`'s executable was loaded: the start of its mapping
/// of the file's first page, less the address the first segment asks for.
fn load_base(pid: i32, elf: &Elf) -> Option<u64> {
    if !elf.pie {
        return Some(0);
    }
    let exe = fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    // "start-end perms offset dev inode path"
    let start = maps.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() >= 6 && f[2] == "00000000" && Path::new(f[5]) == exe)
            .then(|| u64::from_str_radix(f[0].split('-').next()?, 16).ok())?
    })?;
    let first = elf.segments.iter().find(|s| s.offset == 0)?;
    Some(start - first.vaddr)
}

/// The `i32` called `name` in process `pid`; None when its executable has
/// no such symbol, or its memory cannot be read.
pub fn read_i32(pid: i32, name: &str) -> Option<i32> {
    let elf = Elf::read(Path::new(&format!("/proc/{pid}/exe"))).ok()?;
    let at = load_base(pid, &elf)? + elf.symbol(name)?;
    let mem = fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut b = [0u8; 4];
    mem.read_exact_at(&mut b, at).ok()?;
    Some(i32::from_ne_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read from this process, whose own static is known.
    #[unsafe(no_mangle)]
    #[used]
    #[allow(non_upper_case_globals)]
    static memory_test_value: i32 = 27_182;

    #[test]
    fn a_static_is_read_by_its_name() {
        let pid = std::process::id() as i32;
        assert_eq!(read_i32(pid, "memory_test_value"), Some(memory_test_value));
        assert_eq!(read_i32(pid, "no such symbol"), None);
    }
}
