//! Read, upper-case, write to stdout and back: the servers' business logic
//! (twin of `echo.c`).

use crate::ffi::{INET_ADDRSTRLEN, inet_ntop};
use crate::wrap::{MAXLINE, Read, Write, Writen};
use core::ffi::{c_char, c_int, c_void};
use libc::{sockaddr_in, socklen_t};

/// Serves one client until it closes or fails; the caller closes `connfd`.
pub fn echo_upper(connfd: c_int, cliaddr: &sockaddr_in) {
    let mut buf = [0u8; MAXLINE];
    let mut str = [0 as c_char; INET_ADDRSTRLEN];

    loop {
        let n = Read(connfd, &mut buf);
        if n == 0 {
            // SAFETY: a NUL-terminated format without conversions.
            unsafe { libc::printf(c"the other side has been closed.\n".as_ptr()) };
            break;
        }
        if n < 0 {
            break;
        }
        let buf = &mut buf[..n as usize];
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
        for b in buf.iter_mut() {
            // SAFETY: toupper(3) is defined for every unsigned char value.
            *b = unsafe { libc::toupper(c_int::from(*b)) } as u8;
        }
        Write(libc::STDOUT_FILENO, buf);
        if Writen(connfd, buf) < 0 {
            break;
        }
    }
}
