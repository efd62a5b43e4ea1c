//! CHILDREN processes forked before the clients come, each blocked in
//! accept on the shared listener, no lock (twin of `prefork_server.c`).
#![no_std]
#![no_main]

use concserv::args::{check_args, children_arg, port_arg};
use concserv::echo::echo_upper;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::prefork::{CHILDREN_DEFAULT, MAXCHILDREN, Prefork, prefork_init, prefork_wait};
use concserv::wrap::{Accept, Close, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int};
use core::mem::size_of;
use core::ptr;
use libc::{sockaddr_in, socklen_t};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [CHILDREN]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start, each in accept";

/// A child: accept, serve, and again, for ever.
fn child_main(pf: &mut Prefork, i: c_int) -> ! {
    let mut cliaddr = sockaddr_in_zero();
    let mut cliaddr_len: socklen_t;

    loop {
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        let connfd = Accept(pf.listenfd, &mut cliaddr, &mut cliaddr_len);
        pf.counted(i);
        echo_upper(connfd, &cliaddr);
        Close(connfd);
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let (port, nchildren) = unsafe {
        check_args(argc, argv, 2, USAGE);
        (
            port_arg(argc, argv, 1, USAGE),
            children_arg(argc, argv, 2, CHILDREN_DEFAULT, MAXCHILDREN as c_int, USAGE),
        )
    };
    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listenfd = tcp_listen(port);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut pf = prefork_init(listenfd, nchildren, child_main, ptr::null_mut());

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    prefork_wait(&mut pf);
}
