//! The glibc declarations that the `libc` crate does not carry for Linux.

use libc::{FILE, c_char, c_int, c_void, socklen_t};

/// `INET_ADDRSTRLEN` from `<netinet/in.h>`: room for "255.255.255.255".
pub const INET_ADDRSTRLEN: usize = 16;

unsafe extern "C" {
    /// `stdin`, see stdin(3).
    pub static stdin: *mut FILE;
    /// `stdout`, see stdout(3).
    pub static stdout: *mut FILE;
    /// `stderr`, see stderr(3).
    pub static stderr: *mut FILE;
    /// `inet_ntop(3)`.
    pub fn inet_ntop(
        af: c_int,
        src: *const c_void,
        dst: *mut c_char,
        size: socklen_t,
    ) -> *const c_char;
    /// `__ctype_toupper_loc()`: the calling thread's toupper table for its
    /// locale, indexable by -128..=255; glibc's `<ctype.h>` inlines
    /// `toupper(c)` as `(*__ctype_toupper_loc())[c]` in optimised C.
    pub fn __ctype_toupper_loc() -> *mut *const i32;
    /// `inet_pton(3)`.
    pub fn inet_pton(af: c_int, src: *const c_char, dst: *mut c_void) -> c_int;
}
