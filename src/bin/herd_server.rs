//! CHILDREN processes forked before the clients come, each in epoll_wait on
//! the shared, non-blocking listener: a connection wakes them all, and all
//! but one find nothing to accept (the thundering herd); with "exclusive",
//! EPOLLEXCLUSIVE wakes one (twin of `herd_server.c`).
#![no_std]
#![no_main]

use concserv::accept::accept_ready;
use concserv::args::{check_args, children_arg, port_arg, word_arg};
use concserv::echo::echo_upper;
use concserv::fdutil::set_nonblock;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::prefork::{CHILDREN_DEFAULT, MAXCHILDREN, Prefork, prefork_init, prefork_wait};
use concserv::wrap::{Close, errno, perr_exit, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int};
use core::ptr;

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [CHILDREN [exclusive]]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start, each in epoll_wait (with EPOLLEXCLUSIVE: exclusive)";

/// A child: an epoll instance of its own, watching the listener; then
/// wait, accept (EAGAIN when another child took the connection), serve;
/// for ever.
fn child_main(pf: &mut Prefork, i: c_int) -> ! {
    let mut cliaddr = sockaddr_in_zero();
    // SAFETY: arg points to main's exclusive, which lives as long as the process.
    let exclusive = unsafe { *pf.arg.cast::<c_int>() };

    // SAFETY: epoll_create1(2) takes no pointers.
    let epfd = unsafe { libc::epoll_create1(0) };
    if epfd < 0 {
        perr_exit(c"epoll_create1");
    }
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLIN
            | if exclusive != 0 {
                libc::EPOLLEXCLUSIVE
            } else {
                0
            }) as u32,
        u64: pf.listenfd as u64,
    };
    // SAFETY: ev is an epoll_event, read by epoll_ctl(2).
    if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, pf.listenfd, &mut ev) } < 0 {
        perr_exit(c"epoll_ctl");
    }
    loop {
        // SAFETY: ev has room for the one event asked for.
        if unsafe { libc::epoll_wait(epfd, &mut ev, 1, -1) } < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            perr_exit(c"epoll_wait");
        }
        let connfd = accept_ready(pf.listenfd, &mut cliaddr);
        if connfd < 0 {
            continue;
        }
        pf.counted(i);
        echo_upper(connfd, &cliaddr);
        Close(connfd);
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let (port, nchildren, mut exclusive) = unsafe {
        check_args(argc, argv, 3, USAGE);
        (
            port_arg(argc, argv, 1, USAGE),
            children_arg(argc, argv, 2, CHILDREN_DEFAULT, MAXCHILDREN as c_int, USAGE),
            word_arg(argc, argv, 3, c"exclusive", USAGE) as c_int,
        )
    };
    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listenfd = tcp_listen(port);
    set_nonblock(listenfd);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let arg = (&raw mut exclusive).cast();
    let mut pf = prefork_init(listenfd, nchildren, child_main, arg);

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    prefork_wait(&mut pf);
}
