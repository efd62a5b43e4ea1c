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

/// [`array_grow`], and every new element a copy of `empty` (a free slot),
/// as each table of the event loops grows. Returns the array, or null when
/// out of memory (`a` and `*n` unchanged).
///
/// # Safety
///
/// As for [`array_grow`], with elements of type `T`, which a bitwise copy
/// of `empty` makes valid.
pub unsafe fn array_fit<T>(a: *mut T, n: &mut c_int, i: c_int, empty: &T) -> *mut T {
    let n0 = *n;

    // SAFETY: a is null or malloc(3)'s n elements of T, as the caller promises.
    let p = unsafe { array_grow(a.cast::<c_void>(), n, i, size_of::<T>()) }.cast::<T>();
    if p.is_null() {
        return p;
    }
    for j in n0..*n {
        // SAFETY: element j is within the *n just allocated and not
        // initialised yet: written whole, not dropped.
        unsafe { p.add(j as usize).copy_from_nonoverlapping(empty, 1) };
    }
    p
}
