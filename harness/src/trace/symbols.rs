//! From a stack strace printed to the program's own source lines: each
//! frame in the executable goes through its line tables (the `addr2line`
//! crate, inlined frames included) and keeps the frames of the program's
//! own code, not those of the Rust core library, the libc crate or the C
//! headers inlined into it.

use super::elf::Elf;
use super::stack::Frame;
use crate::Result;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// A place in the program's own code: a function, and the line in it that
/// called the next frame in (or made the call).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Site {
    /// As the line tables name it: `Close`, or a path such as
    /// `concserv::wrap::Close` where they carry one.
    pub function: String,
    /// The source file, as the line tables name it (absolute here).
    pub file: String,
    pub line: u32,
}

impl Site {
    /// The function's own name: a Rust path's last segment, without
    /// generic arguments (`concserv::wrap::Accept` is `Accept`).
    pub fn name(&self) -> &str {
        short_name(&self.function)
    }

    /// The file's name, without its directory.
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }

    /// `file.c:41`; `file.c: not mapped` where the line tables give the
    /// call line 0 (see [`MERGED`]).
    pub fn short(&self) -> String {
        match self.line {
            0 => format!("{}: not mapped", self.file_name()),
            n => format!("{}:{n}", self.file_name()),
        }
    }

    /// Whether it is in a file that only passes a call on: the
    /// error-checking wrappers (`wrap.c`, `wrap.rs`), and glibc's context
    /// calls behind a coroutine's switch (`uctx.c`, `uctx.rs`). The line
    /// worth showing is their caller's.
    pub fn in_wrappers(&self) -> bool {
        let f = self.file_name();
        f.starts_with("wrap.") || f.starts_with("uctx.")
    }
}

/// Why a call at line 0 is not mapped: the compiler merged the same call
/// from several lines into one instruction, and the line tables cannot say
/// which line made it (the programs are built so that none is merged:
/// `C_FLAGS` in programs/src/lib.rs, `.cargo/config.toml`).
pub const MERGED: &str =
    "not mapped (line 0: the compiler merged this call with the same call from another line)";

/// Why a frame of the program's own code is not mapped when the line
/// tables do not cover its address.
pub const UNCOVERED: &str = "not mapped (an address the line tables do not cover)";

/// Whether a name [`Resolved::innermost`] gave says the call is not mapped.
pub fn unmapped(name: &str) -> bool {
    name.starts_with("not mapped")
}

/// A Rust path's last segment, without generic arguments.
pub fn short_name(function: &str) -> &str {
    let mut depth = 0;
    let mut cut = function.len();
    // Drop a trailing <...>, then take what follows the last top-level ::.
    if function.ends_with('>') {
        for (i, c) in function.char_indices().rev() {
            match c {
                '>' => depth += 1,
                '<' => {
                    depth -= 1;
                    if depth == 0 {
                        cut = i;
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    let f = &function[..cut];
    f.rsplit("::").next().unwrap_or(f)
}

/// Whether a source file is the program's own: not the Rust toolchain's
/// (`/rustc/HASH/library/...`), not a crate's from Cargo's registry (the
/// libc crate's inline functions), not the system's headers (`/usr/...`).
pub fn own_file(file: &str) -> bool {
    !(file.starts_with("/rustc/")
        || file.contains("/.cargo/registry/")
        || file.contains("/rustlib/")
        || file.starts_with("/usr/"))
}

/// What the stack of one call says about the program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// The frames of the program's own code, innermost first.
    pub own: Vec<Site>,
    /// The library function the innermost of them called (`close`,
    /// `printf`), as strace named its frame.
    pub entry: Option<String>,
    /// The innermost frame's file (its module), for calls with no own
    /// frame: `ld-linux-x86-64.so.2`, `libc.so.6`.
    pub module: Option<String>,
    /// Not on this call's own stack, which stops inside the library
    /// (clone3's, marked as the stack's end for the new thread's sake),
    /// but taken from the calls either side, made by the same line
    /// through the same library function.
    pub inferred: bool,
    /// A frame of the program's own code that its line tables do not
    /// cover (an address in a gap between functions' ranges, as some
    /// unwinds of LLD-linked programs give): it cannot be checked.
    pub unresolved: bool,
}

impl Resolved {
    /// The line worth showing for the call: the innermost of the program's
    /// own code outside the error-checking wrappers (which only pass a
    /// call on), or the innermost if all are wrappers; and its place in
    /// [`own`](Self::own).
    pub fn shown(&self) -> Option<(usize, &Site)> {
        let i = self.own.iter().position(|s| !s.in_wrappers()).unwrap_or(0);
        Some((i, self.own.get(i)?))
    }

    /// The innermost function of the program's own code that made the
    /// call; [`MERGED`] where the compiler merged calls from several lines
    /// into one instruction (line 0: LLVM drops the inlined frames there),
    /// [`UNCOVERED`] where the line tables do not cover the frame.
    pub fn innermost(&self) -> Option<&str> {
        match self.own.first() {
            Some(s) => Some(if s.line == 0 { MERGED } else { s.name() }),
            None if self.unresolved => Some(UNCOVERED),
            None => None,
        }
    }

    /// Why the line shown for the call (`site`, one of `own`) is not
    /// mapped, if it is not.
    pub fn why_unmapped(site: &Site) -> Option<&'static str> {
        (site.line == 0).then_some(MERGED)
    }
}

type Reader = gimli::EndianArcSlice<gimli::RunTimeEndian>;

/// The line tables of one executable.
pub struct Symbolizer {
    /// The executable's path as strace names it in frames (canonical).
    pub path: String,
    elf: Elf,
    ctx: addr2line::Context<Reader>,
    cache: RefCell<HashMap<u64, Vec<Site>>>,
}

impl Symbolizer {
    pub fn new(exe: &Path) -> Result<Symbolizer> {
        let path = std::fs::canonicalize(exe)
            .map_err(|e| format!("{}: {e}", exe.display()))?
            .to_string_lossy()
            .into_owned();
        let elf = Elf::read(Path::new(&path))?;
        let dwarf = gimli::Dwarf::load(|id| -> Result<Reader> {
            let data = elf.section(id.name())?;
            Ok(Reader::new(Arc::from(data), gimli::RunTimeEndian::Little))
        })?;
        let ctx =
            addr2line::Context::from_dwarf(dwarf).map_err(|e| format!("{path}: its DWARF: {e}"))?;
        Ok(Symbolizer {
            path,
            elf,
            ctx,
            cache: RefCell::new(HashMap::new()),
        })
    }

    /// Whether the executable has line tables (`.debug_line`): without
    /// them (stripped, or built without `-g`), no frame can be named, and
    /// no call site checked.
    pub fn has_line_tables(&self) -> bool {
        self.elf.section(".debug_line").is_ok_and(|s| !s.is_empty())
    }

    /// The own-code frames, innermost first, at the instruction at file
    /// offset `offset`; `symbol` names the function there when the line
    /// tables do not (they name only the inlined functions, with LTO).
    pub fn sites(&self, offset: u64, symbol: Option<&str>) -> Vec<Site> {
        if let Some(s) = self.cache.borrow().get(&offset) {
            return s.clone();
        }
        let mut sites = Vec::new();
        if let Some(addr) = self.elf.address(offset)
            && let Ok(mut frames) = self.ctx.find_frames(addr).skip_all_loads()
        {
            let mut all = Vec::new();
            while let Ok(Some(f)) = frames.next() {
                let function = f
                    .function
                    .as_ref()
                    .and_then(|n| n.demangle().ok())
                    .map(|n| n.into_owned());
                all.push((function, f.location));
            }
            // The outermost is the function strace named.
            if let Some((function @ None, _)) = all.last_mut() {
                *function = symbol.map(String::from);
            }
            for (function, loc) in all {
                let (Some(function), Some(loc)) = (function, loc) else {
                    continue;
                };
                // Line 0: the compiler merged calls from several lines
                // into one instruction, and cannot tell which.
                if let Some(file) = loc.file
                    && own_file(file)
                {
                    sites.push(Site {
                        function,
                        file: file.to_string(),
                        line: loc.line.unwrap_or(0),
                    });
                }
            }
        }
        self.cache.borrow_mut().insert(offset, sites.clone());
        sites
    }

    /// What a call's stack says: the own frames of every frame in this
    /// executable, innermost first, and the library function called.
    pub fn resolve(&self, frames: &[Frame]) -> Resolved {
        let mut r = Resolved {
            module: frames
                .first()
                .map(|f| f.module.rsplit('/').next().unwrap_or(&f.module).to_string()),
            ..Resolved::default()
        };
        let mut called: Option<&str> = None;
        for (i, f) in frames.iter().enumerate() {
            if f.module != self.path {
                if !r.own.is_empty() {
                    // Past the program's own frames, back in a library: a
                    // signal handler's frames end here (what lies beyond
                    // is the code the signal interrupted, not a caller),
                    // and a thread's at start_thread.
                    break;
                }
                called = f.symbol.as_deref();
                continue;
            }
            // Past the innermost frame, each is a return address: the call
            // is the instruction before it.
            let at = if i > 0 { f.offset - 1 } else { f.offset };
            if r.own.is_empty() && self.elf.address(at).is_some_and(|a| self.elf.in_start(a)) {
                // `_start`, under main or under the exit after main
                // returns: the C runtime's, not the program's own code.
                continue;
            }
            let sites = self.sites(at, f.symbol.as_deref());
            if r.own.is_empty() && !sites.is_empty() {
                r.entry = called.map(library_name);
            }
            r.unresolved |= sites.is_empty();
            r.own.extend(sites);
            called = None;
        }
        r
    }
}

/// A C library function as its callers know it: `__close` is `close`,
/// `_IO_printf` is `printf`, `__libc_fork` is `fork`.
pub fn library_name(symbol: &str) -> String {
    let s = symbol.trim_start_matches('_');
    let s = s
        .strip_prefix("IO_")
        .or_else(|| s.strip_prefix("libc_"))
        .unwrap_or(s);
    // glibc's signal is ssignal, under another name.
    if s == "ssignal" { "signal" } else { s }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_name("concserv::wrap::Accept"), "Accept");
        assert_eq!(short_name("Accept"), "Accept");
        assert_eq!(short_name("core::ptr::null_mut<i8>"), "null_mut");
        assert_eq!(short_name("<T as Foo<u8>>::bar"), "bar");
    }

    #[test]
    fn own_files() {
        assert!(own_file("/work/concserv/src/wrap.rs"));
        assert!(own_file("/tmp/variant/process_server.c"));
        assert!(!own_file("/rustc/59807616e/library/core/src/ptr/mod.rs"));
        assert!(!own_file(
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/libc-0.2.191/src/unix/mod.rs"
        ));
        assert!(!own_file("/usr/include/x86_64-linux-gnu/bits/stdio2.h"));
    }

    #[test]
    fn a_call_at_line_0_is_not_mapped_and_says_why() {
        let site = |line| Site {
            function: "main".into(),
            file: "/src/bin/process_server.rs".into(),
            line,
        };
        assert_eq!(site(0).short(), "process_server.rs: not mapped");
        assert_eq!(site(74).short(), "process_server.rs:74");
        assert_eq!(Resolved::why_unmapped(&site(0)), Some(MERGED));
        assert_eq!(Resolved::why_unmapped(&site(74)), None);
        let r = Resolved {
            own: vec![site(0)],
            ..Resolved::default()
        };
        assert!(r.innermost().is_some_and(unmapped));
        let r = Resolved {
            unresolved: true,
            ..Resolved::default()
        };
        assert_eq!(r.innermost(), Some(UNCOVERED));
    }

    #[test]
    fn library_names() {
        assert_eq!(library_name("__close"), "close");
        assert_eq!(library_name("_IO_printf"), "printf");
        assert_eq!(library_name("__libc_fork"), "fork");
        assert_eq!(library_name("accept"), "accept");
    }
}
