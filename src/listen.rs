//! The servers' listening socket (twin of `listen.c`).

use crate::wrap::{Bind, Listen, Socket, perr_exit};
use core::ffi::{c_int, c_void};
use core::mem::size_of;
use libc::{in_addr, sa_family_t, sockaddr_in, socklen_t};

/// A socket listening on 0.0.0.0:`port`. SO_REUSEADDR lets a restarted
/// server bind at once, while connections of the old one still hold the port.
pub fn tcp_listen(port: c_int) -> c_int {
    let opt: c_int = 1;

    let listenfd = Socket(libc::AF_INET, libc::SOCK_STREAM, 0);
    // SAFETY: opt is a c_int of the size passed.
    if unsafe {
        libc::setsockopt(
            listenfd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&raw const opt).cast::<c_void>(),
            size_of::<c_int>() as socklen_t,
        )
    } < 0
    {
        perr_exit(c"setsockopt");
    }
    let servaddr = sockaddr_in {
        sin_family: libc::AF_INET as sa_family_t,
        sin_port: libc::htons(port as u16),
        sin_addr: in_addr {
            s_addr: libc::htonl(libc::INADDR_ANY),
        },
        sin_zero: [0; 8],
    };
    Bind(listenfd, &servaddr);
    Listen(listenfd, 128);
    listenfd
}
