//! Read, upper-case, write to stdout and back: the servers' business logic
//! (twin of `echo.c`): [`echo_upper`] for the servers that give a
//! connection a process or a thread of its own, [`echo_reply`] for every
//! read, in those and in the event loops (`conn`).

use crate::ffi::{__ctype_toupper_loc, INET_ADDRSTRLEN, inet_ntop, stdout};
use crate::wrap::{MAXLINE, ReadUninit, Write, Writen};
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::MaybeUninit;
use core::slice;
use libc::{sockaddr_in, socklen_t};

/// What a server prints when its client has closed.
pub const ECHO_CLOSED: &CStr = c"the other side has been closed.\n";

/// Room for the report line of one read.
pub const ECHO_LINEMAX: usize = 64;

/// `snprintf(3)` of one read's report line, and `toupper(3)` of its bytes:
/// the business of one read. `buf`'s bytes came from `cliaddr`; the report
/// line for them goes into `line` (NUL-terminated), and `buf` is
/// upper-cased in place: what is printed after the line, and sent back.
/// Returns the line's length.
pub fn echo_reply(line: &mut [c_char], cliaddr: &sockaddr_in, buf: &mut [u8]) -> usize {
    let mut str = [0 as c_char; INET_ADDRSTRLEN];

    // SAFETY: line has line.len() bytes for snprintf(3); str has the
    // INET_ADDRSTRLEN bytes inet_ntop(3) needs for an IPv4 address, so it
    // returns str, which the format's %s reads; %d gets a c_int.
    let len = unsafe {
        libc::snprintf(
            line.as_mut_ptr(),
            line.len(),
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
    (len as usize).min(line.len() - 1)
}

/// Serves one client until it closes or fails, blocking, printing with
/// stdio; the caller closes `connfd`.
pub fn echo_upper(connfd: c_int, cliaddr: &sockaddr_in) {
    // Left uninitialised, as in C: zeroing 8 KiB for every connection
    // would cost thousands of instructions.
    let mut buf = [MaybeUninit::<u8>::uninit(); MAXLINE];
    let mut line = [0 as c_char; ECHO_LINEMAX];

    loop {
        let n = ReadUninit(connfd, &mut buf);
        if n == 0 {
            // SAFETY: a NUL-terminated string; stdout is glibc's stream.
            unsafe { libc::fputs(ECHO_CLOSED.as_ptr(), stdout) };
            break;
        }
        if n < 0 {
            break;
        }
        // SAFETY: read(2) initialised the first n bytes.
        let buf = unsafe { slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), n as usize) };
        echo_reply(&mut line, cliaddr, buf);
        // SAFETY: echo_reply left a NUL-terminated line; stdout is glibc's stream.
        unsafe { libc::fputs(line.as_ptr(), stdout) };
        Write(libc::STDOUT_FILENO, buf);
        if Writen(connfd, buf) < 0 {
            break;
        }
    }
}
