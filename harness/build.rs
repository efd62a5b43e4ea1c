//! Tells the harness where the product crate's build.rs put the C twins
//! (`C_TWIN_DIR`, for `c_dir()`): cargo passes it to the build scripts of
//! the crates that depend on it as `DEP_C_TWINS_DIR`.

fn main() {
    let dir =
        std::env::var("DEP_C_TWINS_DIR").expect("concserv's build.rs says where the C twins are");
    println!("cargo:rustc-env=C_TWIN_DIR={dir}");
    println!("cargo:rerun-if-env-changed=DEP_C_TWINS_DIR");
}
