//! What `make explain` needs of an executable's ELF file: its program
//! headers, to turn the file offsets strace prints into the addresses the
//! line tables use, and its sections, for the DWARF. ELF64 little-endian
//! only (x86-64 and aarch64 Linux), read by hand: a few fields.

use crate::Result;
use std::path::Path;

/// `PT_LOAD`: a segment the kernel maps.
const PT_LOAD: u32 = 1;
/// `PF_X`: an executable segment.
const PF_X: u32 = 1;
/// `SHF_COMPRESSED`: a compressed section (not read here).
const SHF_COMPRESSED: u64 = 0x800;

/// One `PT_LOAD` program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Where its program header is in the file.
    header_at: usize,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub align: u64,
}

/// An ELF file, read whole.
pub struct Elf {
    pub bytes: Vec<u8>,
    /// Where the program headers are in the file.
    phoff: u64,
    /// The entry point's address (`e_entry`): `_start`, the C runtime's
    /// start-up code, linked in from crt1.o without line tables.
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// Each section's name, file offset, size and flags.
    sections: Vec<(String, u64, u64, u64)>,
    /// Whether it is position independent (`ET_DYN`): loaded anywhere.
    pub pie: bool,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl Elf {
    pub fn read(path: &Path) -> Result<Elf> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Elf::parse(bytes).ok_or_else(|| {
            format!(
                "{}: not an ELF64 little-endian file this tool can read",
                path.display()
            )
        })
    }

    fn parse(bytes: Vec<u8>) -> Option<Elf> {
        let b = &bytes[..];
        // "\x7fELF", ELFCLASS64, ELFDATA2LSB.
        if b.get(..6)? != b"\x7fELF\x02\x01" {
            return None;
        }
        // ET_DYN: a position-independent executable.
        let pie = u16_at(b, 0x10)? == 3;
        let entry = u64_at(b, 0x18)?;
        let phoff = u64_at(b, 0x20)? as usize;
        let shoff = u64_at(b, 0x28)? as usize;
        let phentsize = u16_at(b, 0x36)? as usize;
        let phnum = u16_at(b, 0x38)? as usize;
        let shentsize = u16_at(b, 0x3a)? as usize;
        let shnum = u16_at(b, 0x3c)? as usize;
        let shstrndx = u16_at(b, 0x3e)? as usize;

        let mut segments = Vec::new();
        for i in 0..phnum {
            let at = phoff + i * phentsize;
            if u32_at(b, at)? == PT_LOAD {
                segments.push(Segment {
                    header_at: at,
                    flags: u32_at(b, at + 4)?,
                    offset: u64_at(b, at + 8)?,
                    vaddr: u64_at(b, at + 16)?,
                    filesz: u64_at(b, at + 32)?,
                    align: u64_at(b, at + 48)?,
                });
            }
        }

        let mut raw = Vec::new();
        for i in 0..shnum {
            let at = shoff + i * shentsize;
            raw.push((
                u32_at(b, at)?,
                u64_at(b, at + 8)?,
                u64_at(b, at + 24)?,
                u64_at(b, at + 32)?,
            ));
        }
        let names_at = raw.get(shstrndx).map_or(0, |s| s.2 as usize);
        let sections = raw
            .iter()
            .map(|&(name, flags, offset, size)| {
                let start = names_at + name as usize;
                let len = b[start.min(b.len())..]
                    .iter()
                    .position(|&c| c == 0)
                    .unwrap_or(0);
                let name = String::from_utf8_lossy(&b[start..start + len]).into_owned();
                (name, offset, size, flags)
            })
            .collect();
        Some(Elf {
            bytes,
            phoff: phoff as u64,
            entry,
            segments,
            sections,
            pie,
        })
    }

    /// The address of the symbol called `name` in the symbol table
    /// (`.symtab`, Elf64_Sym: 24 bytes, its name at 0, its value at 8);
    /// None when absent (stripped) or undefined.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        let (syms, names) = (self.section(".symtab").ok()?, self.section(".strtab").ok()?);
        syms.chunks_exact(24).find_map(|sym| {
            let at = u32_at(sym, 0)? as usize;
            let end = at + names.get(at..)?.iter().position(|&c| c == 0)?;
            let value = u64_at(sym, 8)?;
            (&names[at..end] == name.as_bytes() && value != 0).then_some(value)
        })
    }

    /// Whether `addr` lies in the entry point's code, `_start` (a few dozen
    /// bytes: it calls `__libc_start_main`, which never returns to it).
    pub fn in_start(&self, addr: u64) -> bool {
        (self.entry..self.entry + 64).contains(&addr)
    }

    /// The address (as the symbol and line tables have it) of the byte at
    /// `offset` in the file, if a loaded segment holds it. strace -k prints
    /// file offsets: the same numbers only when each segment's offset and
    /// address are equal, as GNU ld lays them out and LLD does not.
    pub fn address(&self, offset: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|s| s.offset <= offset && offset < s.offset + s.filesz)
            .map(|s| offset - s.offset + s.vaddr)
    }

    /// A section's bytes (empty when absent); an error if compressed.
    pub fn section(&self, name: &str) -> Result<&[u8]> {
        match self.sections.iter().find(|s| s.0 == name) {
            None => Ok(&[]),
            Some(&(_, _, _, flags)) if flags & SHF_COMPRESSED != 0 => {
                Err(format!("section {name} is compressed"))
            }
            Some(&(_, offset, size, _)) => self
                .bytes
                .get(offset as usize..(offset + size) as usize)
                .ok_or_else(|| format!("section {name} lies outside the file")),
        }
    }

    /// The executable segments that start inside a page of the file.
    /// libunwind 1.6, strace's unwinder in Debian 12, finds a mapping's
    /// unwind tables by looking for the segment whose file offset is the
    /// mapping's, a page boundary: it finds none for these (LLD, rustc's
    /// linker, packs segments so), and stops each stack at the first frame
    /// in them.
    fn unaligned(&self) -> impl Iterator<Item = &Segment> {
        self.segments
            .iter()
            .filter(|s| s.flags & PF_X != 0 && s.align > 1 && s.offset % page(s) != 0)
    }

    /// Whether strace's unwinder needs [`Elf::page_aligned`] for this file.
    pub fn needs_aligning(&self) -> bool {
        self.unaligned().next().is_some()
    }

    /// The same file with each executable segment's header moved back to
    /// the page boundary before it: offset and address lowered, sizes
    /// raised, by the same amount. The kernel maps whole pages, so the
    /// process's memory is the same byte for byte; only libunwind now
    /// finds the segment. None when a moved segment would then hold the
    /// program headers themselves (its page is the file's first): the
    /// kernel tells the loader where they are in memory through the last
    /// segment that holds them, and would tell it wrong.
    pub fn page_aligned(&self) -> Option<Vec<u8>> {
        if self
            .unaligned()
            .any(|s| s.offset - s.offset % page(s) <= self.phoff)
        {
            return None;
        }
        let mut out = self.bytes.clone();
        for s in self.unaligned() {
            let delta = s.offset % page(s);
            let at = s.header_at;
            let fields = [(8, true), (16, true), (24, true), (32, false), (40, false)];
            for (field, lower) in fields {
                let v = u64_at(&out, at + field).expect("read above");
                let v = if lower { v - delta } else { v + delta };
                out[at + field..at + field + 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        Some(out)
    }
}

/// The page size a segment is aligned to (at most its alignment).
fn page(s: &Segment) -> u64 {
    s.align.min(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_addresses_through_the_segments() {
        let seg = |offset, vaddr, filesz| Segment {
            header_at: 0,
            flags: PF_X,
            offset,
            vaddr,
            filesz,
            align: 4096,
        };
        let elf = Elf {
            bytes: vec![0; 0x2000],
            phoff: 0x40,
            entry: 0x1090,
            segments: vec![seg(0, 0, 0x108c), seg(0x1090, 0x2090, 0x7b0)],
            sections: Vec::new(),
            pie: true,
        };
        assert_eq!(elf.address(0x14ab), Some(0x24ab));
        assert_eq!(elf.address(0x10), Some(0x10));
        assert_eq!(elf.address(0x9000), None);
        assert!(elf.in_start(0x10b0) && !elf.in_start(0x108f) && !elf.in_start(0x10d0));
        assert!(elf.needs_aligning());
        // Its code's page is the file's first, with the program headers.
        let client = Elf {
            segments: vec![seg(0, 0, 0xc64), seg(0xc70, 0x1c70, 0x5a0)],
            ..elf
        };
        assert!(client.needs_aligning());
        assert!(client.page_aligned().is_none());
    }

    #[test]
    fn symbols_are_found_by_name() {
        let me = Elf::read(Path::new("/proc/self/exe")).unwrap();
        assert!(me.symbol("main").is_some());
        assert_eq!(me.symbol("no such symbol"), None);
    }
}
