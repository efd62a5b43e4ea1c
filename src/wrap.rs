//! One wrapper per call, one check, one `perror` message (twin of `wrap.c`).
//!
//! Names are the C names, so that a program reads the same in both languages.
#![allow(non_snake_case)]

use core::ffi::{CStr, c_int, c_void};
use core::mem::{MaybeUninit, size_of};
use core::ptr;
use libc::{in_addr, sockaddr, sockaddr_in, socklen_t, ssize_t};

pub const MAXLINE: usize = 8192;

/// How long [`Accept`] waits after running out of descriptors or memory.
pub const ACCEPT_BACKOFF_USEC: libc::useconds_t = 100_000;

/// The calling thread's `errno`, see errno(3).
pub fn errno() -> c_int {
    // SAFETY: __errno_location() always returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's `errno`, see errno(3).
pub fn set_errno(e: c_int) {
    // SAFETY: as in errno().
    unsafe { *libc::__errno_location() = e }
}

/// `perror(3)`: the message `s` (a `&CStr`), a colon and the message of
/// `errno` on stderr. A macro, not a function, so that the call is made
/// from the caller's own function, as C's `perror` is: the call-site check
/// of `make compare` names the function that called it in both twins.
#[macro_export]
macro_rules! perror {
    ($s:expr) => {{
        let s: &::core::ffi::CStr = $s;
        // SAFETY: s is NUL-terminated.
        unsafe { ::libc::perror(s.as_ptr()) }
    }};
}
pub use crate::perror;

/// `perror(3)` then `exit(3)` with status 1.
pub fn perr_exit(s: &CStr) -> ! {
    perror!(s);
    // SAFETY: exit(3) takes no pointers and does not return.
    unsafe { libc::exit(1) }
}

/// An all-zero `sockaddr_in`, as C's `memset(&sa, 0, sizeof(sa))` leaves it.
pub const fn sockaddr_in_zero() -> sockaddr_in {
    sockaddr_in {
        sin_family: 0,
        sin_port: 0,
        sin_addr: in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    }
}

/// `socket(2)`, exiting on failure.
pub fn Socket(family: c_int, ty: c_int, protocol: c_int) -> c_int {
    // SAFETY: socket(2) takes no pointers.
    let n = unsafe { libc::socket(family, ty, protocol) };
    if n < 0 {
        perr_exit(c"socket");
    }
    n
}

/// `bind(2)` to an IPv4 address, exiting on failure.
pub fn Bind(fd: c_int, sa: &sockaddr_in) {
    let salen = size_of::<sockaddr_in>() as socklen_t;
    // SAFETY: sa points to a sockaddr_in of salen bytes.
    if unsafe { libc::bind(fd, (sa as *const sockaddr_in).cast::<sockaddr>(), salen) } < 0 {
        perr_exit(c"bind");
    }
}

/// `listen(2)`, exiting on failure.
pub fn Listen(fd: c_int, backlog: c_int) {
    // SAFETY: listen(2) takes no pointers.
    if unsafe { libc::listen(fd, backlog) } < 0 {
        perr_exit(c"listen");
    }
}

/// Errors of the new connection that accept(2) passes up: try the next one.
pub fn accept_transient(e: c_int) -> bool {
    [
        libc::ECONNABORTED,
        libc::EPROTO,
        libc::ENOPROTOOPT,
        libc::EHOSTDOWN,
        libc::ENONET,
        libc::EHOSTUNREACH,
        libc::EOPNOTSUPP,
        libc::ENETUNREACH,
        libc::ENETDOWN,
    ]
    .contains(&e)
}

/// `accept(2)`, retried after the new connection's errors (ECONNABORTED,
/// EPROTO, ..., see [`accept_transient`]) and EINTR, and after a report and
/// a pause when out of descriptors or memory; exits on other failures.
///
/// `*salenptr` is never more than `sa`'s size: the kernel writes that many
/// bytes, and safe code must not be able to make it write past `sa`.
pub fn Accept(fd: c_int, sa: &mut sockaddr_in, salenptr: &mut socklen_t) -> c_int {
    *salenptr = (*salenptr).min(size_of::<sockaddr_in>() as socklen_t);
    loop {
        // SAFETY: sa is writable for *salenptr bytes, at most its size.
        let n = unsafe { libc::accept(fd, (sa as *mut sockaddr_in).cast::<sockaddr>(), salenptr) };
        if n >= 0 {
            return n;
        }
        let e = errno();
        if accept_transient(e) || e == libc::EINTR {
            continue;
        }
        if e == libc::EMFILE || e == libc::ENFILE || e == libc::ENOBUFS || e == libc::ENOMEM {
            // The connection waits in the queue until resources free up.
            perror!(c"accept");
            // SAFETY: usleep(3) takes no pointers.
            unsafe { libc::usleep(ACCEPT_BACKOFF_USEC) };
            continue;
        }
        perr_exit(c"accept");
    }
}

/// `connect(2)` to an IPv4 address, exiting on failure.
pub fn Connect(fd: c_int, sa: &sockaddr_in) {
    let salen = size_of::<sockaddr_in>() as socklen_t;
    // SAFETY: sa points to a sockaddr_in of salen bytes.
    if unsafe { libc::connect(fd, (sa as *const sockaddr_in).cast::<sockaddr>(), salen) } < 0 {
        perr_exit(c"connect");
    }
}

/// `read(2)` into `buf`, retried after EINTR; -1 with a message on other
/// failures, but none on EAGAIN: a non-blocking descriptor had nothing yet.
pub fn Read(fd: c_int, buf: &mut [u8]) -> ssize_t {
    // SAFETY: [u8] and [MaybeUninit<u8>] have the same layout, and ReadUninit
    // only writes initialised bytes into the buffer.
    ReadUninit(fd, unsafe {
        &mut *(ptr::from_mut(buf) as *mut [MaybeUninit<u8>])
    })
}

/// [`Read`] into a buffer that need not be initialised, as C's `Read` takes
/// any `void *`: read(2) fills the first bytes it returns.
pub fn ReadUninit(fd: c_int, buf: &mut [MaybeUninit<u8>]) -> ssize_t {
    loop {
        // SAFETY: buf is writable for buf.len() bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast::<c_void>(), buf.len()) };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            if errno() != libc::EAGAIN {
                perror!(c"read");
            }
        }
        return n;
    }
}

/// `write(2)` of `buf`, retried after EINTR; -1 with a message on other
/// failures, but none on EAGAIN: a non-blocking descriptor had no room.
pub fn Write(fd: c_int, buf: &[u8]) -> ssize_t {
    loop {
        // SAFETY: buf is readable for buf.len() bytes.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast::<c_void>(), buf.len()) };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            if errno() != libc::EAGAIN {
                perror!(c"write");
            }
        }
        return n;
    }
}

/// `close(2)`, exiting on failure.
pub fn Close(fd: c_int) {
    // SAFETY: close(2) takes no pointers; the caller owns fd.
    if unsafe { libc::close(fd) } < 0 {
        perr_exit(c"close");
    }
}

/// Reads until `buf` is full, fewer bytes only at end of file; -1 on failure.
pub fn Readn(fd: c_int, buf: &mut [u8]) -> ssize_t {
    let n = buf.len();
    let mut nleft = n;

    while nleft > 0 {
        let nread = Read(fd, &mut buf[n - nleft..]);
        if nread < 0 {
            return -1;
        }
        if nread == 0 {
            break;
        }
        nleft -= nread as usize;
    }
    (n - nleft) as ssize_t
}

/// Writes all of `buf`; -1 on failure.
pub fn Writen(fd: c_int, buf: &[u8]) -> ssize_t {
    let n = buf.len();
    let mut nleft = n;

    while nleft > 0 {
        let nwritten = Write(fd, &buf[n - nleft..]);
        if nwritten < 0 {
            return -1;
        }
        nleft -= nwritten as usize;
    }
    n as ssize_t
}

/// Per-caller state for [`Readline`]: one per (caller, fd), never shared
/// (C: `struct rline`).
pub struct Rline {
    fd: c_int,
    cnt: ssize_t,
    pos: usize,
    buf: [u8; MAXLINE],
}

impl Rline {
    /// Empty state reading from `fd` (C: `rline_init`).
    pub const fn new(fd: c_int) -> Rline {
        Rline {
            fd,
            cnt: 0,
            pos: 0,
            buf: [0; MAXLINE],
        }
    }

    /// One byte from the buffer, refilled with one `Read` when empty.
    fn byte(&mut self, c: &mut u8) -> ssize_t {
        if self.cnt <= 0 {
            self.cnt = Read(self.fd, &mut self.buf);
            if self.cnt <= 0 {
                return self.cnt;
            }
            self.pos = 0;
        }
        self.cnt -= 1;
        *c = self.buf[self.pos];
        self.pos += 1;
        1
    }
}

/// Reads a line of at most `buf.len() - 1` bytes into `buf`, newline kept,
/// NUL added; returns its length, 0 at end of file, -1 on failure.
pub fn Readline(rl: &mut Rline, buf: &mut [u8]) -> ssize_t {
    let maxlen = buf.len();
    let mut n = 0;
    let mut c = 0u8;

    if maxlen == 0 {
        return 0;
    }
    while n < maxlen - 1 {
        let rc = rl.byte(&mut c);
        if rc < 0 {
            return -1;
        }
        if rc == 0 {
            break;
        }
        buf[n] = c;
        n += 1;
        if c == b'\n' {
            break;
        }
    }
    buf[n] = 0;
    n as ssize_t
}
