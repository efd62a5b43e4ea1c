//! Command-line arguments shared by the programs (twin of `args.c`).

use crate::ffi::{fprintf, stderr};
use core::ffi::{c_char, c_int};
use core::ptr;

pub const DEFAULT_PORT: c_int = 8000;

/// `argv[i]` as a TCP port, [`DEFAULT_PORT`] when absent; exit 2 when invalid.
///
/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings, as `main` receives it.
pub unsafe fn port_arg(argc: c_int, argv: *const *const c_char, i: c_int) -> c_int {
    let mut end: *mut c_char = ptr::null_mut();

    if i >= argc {
        return DEFAULT_PORT;
    }
    // SAFETY: the caller guarantees argv[0..argc] are valid C strings, and i < argc.
    unsafe {
        let arg = *argv.add(i as usize);
        let port = libc::strtol(arg, &mut end, 10);
        if ptr::eq(end, arg) || *end != 0 || !(1..=65535).contains(&port) {
            fprintf(stderr, c"%s: invalid port: %s\n".as_ptr(), *argv, arg);
            libc::exit(2);
        }
        port as c_int
    }
}
