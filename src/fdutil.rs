//! Descriptor helpers of the event loops: non-blocking mode, and tables
//! indexed by descriptor (or slot) that grow with them (twin of
//! `fdutil.c`). Used by `accept`, `conn`, `epoll_loop` and the select,
//! poll, epoll and pool servers.

use crate::wrap::perr_exit;
use core::ffi::{c_int, c_void};

/// Slots a table starts with, the first time it grows.
pub const TABLE_MIN: c_int = 8;

/// `fcntl(2)`: O_NONBLOCK on `fd`; exits on failure.
pub fn set_nonblock(fd: c_int) {
    // SAFETY: fcntl(2) with F_GETFL and F_SETFL takes no pointers.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            perr_exit(c"fcntl");
        }
    }
}

/// `realloc(3)` of `a`, an array of `*n` elements of `size` bytes, so that
/// element `i` exists: `*n` doubles (from [`TABLE_MIN`]) until it is past
/// `i`, as libev's `array_needsize` and redis's `aeResizeSetSize` grow
/// theirs. The new elements are the caller's to initialise. Returns the
/// array, `a` itself when `i` is already in it, or null when out of memory
/// (`a` and `*n` unchanged).
///
/// # Safety
///
/// `a` is null (with `*n` 0) or an array of `*n` elements of `size` bytes
/// from `malloc(3)`; nothing may use it after a non-null return other than `a`.
pub unsafe fn array_grow(a: *mut c_void, n: &mut c_int, i: c_int, size: usize) -> *mut c_void {
    if i < *n {
        return a;
    }
    let mut want = if *n > 0 { *n } else { TABLE_MIN };
    while want <= i {
        want = if want > c_int::MAX / 2 {
            c_int::MAX
        } else {
            want * 2
        };
    }
    // SAFETY: a is null or malloc(3)'s, as the caller promises.
    let p = unsafe { libc::realloc(a, want as usize * size) };
    if p.is_null() {
        return p;
    }
    *n = want;
    p
}
