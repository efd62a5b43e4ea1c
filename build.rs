//! Compiles the C twins with the system C compiler, so that `cargo build`
//! and `cargo test` always have them: into `$OUT_DIR/c/` (the tests find them
//! through `C_TWIN_DIR`) and copied to `target/c/`, where `make` runs them.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const CFLAGS: &[&str] = &["-O2", "-Wall", "-Wextra", "-Werror"];

/// Each C program: its name and sources; all twins share the wrappers.
const PROGRAMS: &[(&str, &[&str])] = &[
    (
        "process_server",
        &[
            "src/bin/process_server.c",
            "src/listen.c",
            "src/echo.c",
            "src/args.c",
            "src/wrap.c",
        ],
    ),
    (
        "thread_server",
        &[
            "src/bin/thread_server.c",
            "src/listen.c",
            "src/echo.c",
            "src/args.c",
            "src/wrap.c",
            "-pthread",
        ],
    ),
    ("client", &["src/bin/client.c", "src/args.c", "src/wrap.c"]),
    (
        "wrap_driver",
        &["tests/drivers/wrap_driver.c", "src/wrap.c"],
    ),
];

const HEADERS: &[&str] = &["src/args.h", "src/echo.h", "src/listen.h", "src/wrap.h"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("c");
    fs::create_dir_all(&out).expect("create OUT_DIR/c");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out.
    let target_c = out
        .ancestors()
        .nth(5)
        .expect("OUT_DIR under target/")
        .join("c");
    fs::create_dir_all(&target_c).expect("create target/c");

    for (name, sources) in PROGRAMS {
        let exe = out.join(name);
        let status = Command::new(&cc)
            .args(CFLAGS)
            .args(sources.iter())
            .arg("-o")
            .arg(&exe)
            .status()
            .unwrap_or_else(|e| panic!("cannot run C compiler {cc:?}: {e}"));
        assert!(status.success(), "{cc} failed to build the C twin {name}");
        install(&exe, &target_c.join(name));
        for src in sources.iter().filter(|s| s.ends_with(".c")) {
            println!("cargo:rerun-if-changed={src}");
        }
    }
    for h in HEADERS {
        println!("cargo:rerun-if-changed={h}");
    }
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rustc-env=C_TWIN_DIR={}", out.display());
}

/// Copies `from` to `to` through a temporary name, so that builds running at
/// once never leave a half-written program behind.
fn install(from: &Path, to: &Path) {
    let tmp = to.with_extension(format!("tmp{}", std::process::id()));
    fs::copy(from, &tmp).expect("copy C twin");
    fs::rename(&tmp, to).expect("install C twin");
}
