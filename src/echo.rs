//! Read, upper-case, write to stdout and back: the servers' business logic
//! (twin of `echo.c`).

use crate::ffi::{__ctype_toupper_loc, INET_ADDRSTRLEN, inet_ntop};
use crate::wrap::{MAXLINE, ReadUninit, Write, Writen};
use core::ffi::{c_char, c_int, c_void};
use core::mem::MaybeUninit;
use core::slice;
use libc::{sockaddr_in, socklen_t};

/// Serves one client until it closes or fails; the caller closes `connfd`.
pub fn echo_upper(connfd: c_int, cliaddr: &sockaddr_in) {
    // Left uninitialised, as in C: zeroing 8 KiB for every connection
    // would cost thousands of instructions.
    let mut buf = [MaybeUninit::<u8>::uninit(); MAXLINE];
    let mut str = [0 as c_char; INET_ADDRSTRLEN];

    loop {
        let n = ReadUninit(connfd, &mut buf);
        if n == 0 {
            // SAFETY: a NUL-terminated format without conversions.
            unsafe { libc::printf(c"the other side has been closed.\n".as_ptr()) };
            break;
        }
        if n < 0 {
            break;
        }
        // SAFETY: read(2) initialised the first n bytes.
        let buf = unsafe { slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), n as usize) };
        // SAFETY: str has the INET_ADDRSTRLEN bytes inet_ntop(3) needs for an
        // IPv4 address, so it returns str, which the format's %s reads.
        unsafe {
            libc::printf(
                c"received from %s at PORT %d\n".as_ptr(),
                inet_ntop(
                    libc::AF_INET,
                    (&raw const cliaddr.sin_addr).cast::<c_void>(),
                    str.as_mut_ptr(),
                    str.len() as socklen_t,
                ),
                c_int::from(libc::ntohs(cliaddr.sin_port)),
            )
        };
        // toupper(3), as glibc's <ctype.h> inlines it in the C twin: one
        // lookup of the locale's table, then an index per byte.
        // SAFETY: the table is valid for every unsigned char value.
        let toupper = unsafe { *__ctype_toupper_loc() };
        for b in buf.iter_mut() {
            // SAFETY: as above; *b is an unsigned char value.
            *b = unsafe { *toupper.add(usize::from(*b)) } as u8;
        }
        Write(libc::STDOUT_FILENO, buf);
        if Writen(connfd, buf) < 0 {
            break;
        }
    }
}
