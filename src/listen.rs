//! The servers' listening socket (twin of `listen.c`).

use crate::wrap::{Bind, Listen, Socket, perr_exit, sockaddr_in_zero};
use core::ffi::{c_int, c_void};
use core::mem::size_of;
use libc::{sa_family_t, socklen_t};

/// `setsockopt(2)` SOL_SOCKET `optname` to 1, or exit.
fn sockopt_on(fd: c_int, optname: c_int) {
    let opt: c_int = 1;
    // SAFETY: opt is a c_int of the size passed.
    if unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            optname,
            (&raw const opt).cast::<c_void>(),
            size_of::<c_int>() as socklen_t,
        )
    } < 0
    {
        perr_exit(c"setsockopt");
    }
}

/// A socket listening on 0.0.0.0:`port`; with `reuseport`, SO_REUSEPORT
/// set before bind.
fn listen_on(port: c_int, reuseport: bool) -> c_int {
    let listenfd = Socket(libc::AF_INET, libc::SOCK_STREAM, 0);
    sockopt_on(listenfd, libc::SO_REUSEADDR);
    if reuseport {
        sockopt_on(listenfd, libc::SO_REUSEPORT);
    }
    let mut servaddr = sockaddr_in_zero();
    servaddr.sin_family = libc::AF_INET as sa_family_t;
    servaddr.sin_port = libc::htons(port as u16);
    servaddr.sin_addr.s_addr = libc::htonl(libc::INADDR_ANY);
    Bind(listenfd, &servaddr);
    Listen(listenfd, 128);
    listenfd
}

/// A socket listening on 0.0.0.0:`port`. SO_REUSEADDR lets a restarted
/// server bind at once, while connections of the old one still hold the port.
pub fn tcp_listen(port: c_int) -> c_int {
    listen_on(port, false)
}

/// The same, with SO_REUSEPORT (socket(7)): every socket of the same user
/// bound so to the port has its own accept queue, and the kernel gives each
/// new connection to one of them, chosen by a hash of its addresses and
/// ports.
pub fn tcp_listen_reuseport(port: c_int) -> c_int {
    listen_on(port, true)
}
