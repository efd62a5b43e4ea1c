//! A coroutine's accept, read and write, written as the blocking servers
//! call theirs: each waits ([`co_wait`]) where a blocking call would block
//! (twin of `coio.c`). Used by `coserver`.

use crate::accept::accept_nb;
use crate::coro::{Co, co_turn, co_wait};
use crate::wrap::{ReadUninit, Write, errno};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use libc::{sockaddr_in, ssize_t};

/// [`accept_nb`] on `c`'s listening socket: the next connection,
/// non-blocking. While none waits (or one was turned away: out of
/// descriptors), `c` waits for the socket to be readable. -1 only when `c`
/// cannot wait.
///
/// # Safety
///
/// `c` is the coroutine running.
pub unsafe fn co_accept(c: *mut Co, cliaddr: &mut sockaddr_in, spare: &mut c_int) -> c_int {
    // SAFETY: the caller's guarantee, for each call below.
    unsafe {
        if co_turn(c, libc::EPOLLIN as u32) < 0 {
            return -1;
        }
        loop {
            let connfd = accept_nb((*c).fd, cliaddr, spare);
            if connfd >= 0 {
                return connfd;
            }
            if co_wait(c, libc::EPOLLIN as u32) < 0 {
                return -1;
            }
        }
    }
}

/// [`ReadUninit`] of at most `buf.len()` bytes from `c`'s connection;
/// while none is there (EAGAIN), `c` waits for it to be readable. As
/// `read(2)`: the bytes read, 0 at end of file, -1 on error.
///
/// # Safety
///
/// `c` is the coroutine running.
pub unsafe fn co_read(c: *mut Co, buf: &mut [MaybeUninit<u8>]) -> ssize_t {
    // SAFETY: the caller's guarantee, for each call below.
    unsafe {
        if co_turn(c, libc::EPOLLIN as u32) < 0 {
            return -1;
        }
        loop {
            let nr = ReadUninit((*c).fd, buf);
            if nr >= 0 || errno() != libc::EAGAIN {
                return nr;
            }
            if co_wait(c, libc::EPOLLIN as u32) < 0 {
                return -1;
            }
        }
    }
}

/// [`Write`] of all of `buf` to `c`'s connection; while the socket takes
/// no more (EAGAIN), `c` waits for it to be writable, and reads nothing
/// meanwhile: back-pressure. `buf.len()`, or -1 on error.
///
/// # Safety
///
/// `c` is the coroutine running.
pub unsafe fn co_write(c: *mut Co, buf: &[u8]) -> ssize_t {
    let mut p = 0;

    while p < buf.len() {
        // SAFETY: the caller's guarantee.
        let nw = Write(unsafe { (*c).fd }, &buf[p..]);
        if nw < 0 {
            // SAFETY: the caller's guarantee.
            if errno() != libc::EAGAIN || unsafe { co_wait(c, libc::EPOLLOUT as u32) } < 0 {
                return -1;
            }
            continue;
        }
        p += nw as usize;
    }
    buf.len() as ssize_t
}
