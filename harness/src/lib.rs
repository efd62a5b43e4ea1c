//! What the tools (`trace_compare`, `bench`) and the tests share: the table
//! of programs and where their executables are, processes in groups of
//! their own, what `/proc` says about them, what each server's model means
//! for "settled" and "serving", and client connections.

pub mod base;
pub mod testing;
pub mod tools;
pub mod trace;

pub use programs::{Call, Children, DEMOS, Kind, Model, PROGRAMS, Pool, Program, Worker};
use std::path::PathBuf;

/// Every fallible step says what failed, in words.
pub type Result<T> = std::result::Result<T, String>;

/// Which twin of a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Twin {
    Rust,
    C,
}

impl Twin {
    pub const BOTH: [Twin; 2] = [Twin::Rust, Twin::C];

    /// "rust" or "c", for file names.
    pub fn label(self) -> &'static str {
        match self {
            Twin::Rust => "rust",
            Twin::C => "c",
        }
    }
}

/// The row of `name` (its executable's name, or the short one `make` uses).
pub fn program(name: &str) -> Result<&'static Program> {
    programs::find(name).ok_or_else(|| {
        let names: Vec<&str> = PROGRAMS.iter().map(|p| p.short).collect();
        format!("no program {name:?}; the programs: {}", names.join(", "))
    })
}

/// The servers of the table.
pub fn servers() -> impl Iterator<Item = &'static Program> {
    PROGRAMS.iter().filter(|p| p.model().is_some())
}

/// The directory of the Rust programs: the one the running executable is in
/// (a tool in target/release, or a test in target/release/deps).
pub fn rust_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable");
    let dir = exe.parent().expect("a directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.parent().expect("target/PROFILE").to_path_buf()
    } else {
        dir
    }
}

/// Where the product crate's build.rs put the C twins (`$OUT_DIR/c`).
pub const C_TWIN_DIR: &str = env!("C_TWIN_DIR");

/// The directory of the C twins, where build.rs compiled them.
pub fn c_dir() -> PathBuf {
    PathBuf::from(C_TWIN_DIR)
}

/// The executable of program `name`, in one twin.
pub fn exe(name: &str, twin: Twin) -> PathBuf {
    match twin {
        Twin::Rust => rust_dir().join(name),
        Twin::C => c_dir().join(name),
    }
}
