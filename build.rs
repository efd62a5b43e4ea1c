//! Compiles the C twins of the table of programs (the `programs` crate) with
//! the system C compiler, so that `cargo build` and `cargo test` always have
//! them, into `$OUT_DIR/c/`, and says where: to the harness, which depends
//! on this crate (`links = "c_twins"`: `DEP_C_TWINS_DIR` in its build.rs),
//! and to make (`C_TWIN_DIR`, in cargo's JSON messages). `make build`
//! copies them to `target/c/`.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("c");
    std::fs::create_dir_all(&out).expect("create OUT_DIR/c");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());

    for p in programs::PROGRAMS {
        let status = Command::new(&cc)
            .args(programs::C_FLAGS)
            .args(p.c_sources)
            .arg("-o")
            .arg(out.join(p.name))
            .status()
            .unwrap_or_else(|e| panic!("cannot run C compiler {cc:?}: {e}"));
        assert!(
            status.success(),
            "{cc} failed to build the C twin {}",
            p.name
        );
        for src in p.c_sources.iter().filter(|s| s.ends_with(".c")) {
            println!("cargo:rerun-if-changed={src}");
        }
    }
    for h in programs::HEADERS {
        println!("cargo:rerun-if-changed={h}");
    }
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rustc-env=C_TWIN_DIR={}", out.display());
    println!("cargo:dir={}", out.display());
}
