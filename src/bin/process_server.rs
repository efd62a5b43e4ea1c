//! One child process per connection (twin of `process_server.c`).
#![no_std]
#![no_main]

use concserv::args::{check_args, port_arg};
use concserv::echo::echo_upper;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::wrap::{Accept, Close, errno, perror, set_errno, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int};
use core::mem::{size_of, zeroed};
use core::ptr;
use libc::{sockaddr_in, socklen_t};

concserv::no_std_program!();

const USAGE: &CStr =
    c"[PORT]\n  listen on 0.0.0.0:PORT (default 8000), a child process per connection";

/// Reaps every child that has exited, keeping errno for the code interrupted.
extern "C" fn do_sigchild(_num: c_int) {
    let saved_errno = errno();

    // SAFETY: waitpid(2) accepts a null status pointer and is async-signal-safe.
    while unsafe { libc::waitpid(-1, ptr::null_mut(), libc::WNOHANG) } > 0 {}
    set_errno(saved_errno);
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut cliaddr = sockaddr_in_zero();
    let mut cliaddr_len: socklen_t;
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let port = unsafe {
        check_args(argc, argv, 1, USAGE);
        port_arg(argc, argv, 1, USAGE)
    };

    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    // SAFETY: an all-zero sigaction is valid; every pointer passed outlives the call.
    unsafe {
        let mut newact: libc::sigaction = zeroed();
        newact.sa_sigaction = do_sigchild as extern "C" fn(c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut newact.sa_mask);
        newact.sa_flags = 0;
        libc::sigaction(libc::SIGCHLD, &newact, ptr::null_mut());
    }

    let listenfd = tcp_listen(port);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        let connfd = Accept(listenfd, &mut cliaddr, &mut cliaddr_len);
        // SAFETY: the process has one thread, so the child may go on running anything.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            Close(listenfd);
            echo_upper(connfd, &cliaddr);
            Close(connfd);
            // SAFETY: exit(3) flushes stdio and does not return.
            unsafe { libc::exit(0) };
        } else if pid > 0 {
            Close(connfd);
        } else {
            perror!(c"fork");
            Close(connfd);
        }
    }
}
