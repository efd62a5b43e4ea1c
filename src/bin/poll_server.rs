//! One thread serving every connection with poll (twin of `poll_server.c`).
#![no_std]
#![no_main]

use concserv::args::{check_args, port_arg};
use concserv::conn::{
    Conn, ConnWant, MAXACCEPT, accept_nb, conn_close, conn_open, conn_ready, conn_table, open_max,
    open_spare, set_nonblock,
};
use concserv::ffi::{stderr, stdout};
use concserv::listen::tcp_listen;
use concserv::wrap::{Close, errno, perr_exit};
use core::ffi::{CStr, c_char, c_int};
use core::mem::size_of;
use core::ptr;
use core::slice;
use libc::{in_addr, pollfd, sockaddr_in};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread serving every connection with poll";

/// Watches a slot's descriptor for what its connection wants next:
/// reading, or writing while a reply waits; or closes it and frees the slot.
fn watch(pfd: &mut pollfd, c: &mut Conn, want: ConnWant) {
    if want == ConnWant::Read {
        pfd.events = libc::POLLIN;
    } else if want == ConnWant::Write {
        pfd.events = libc::POLLOUT;
    } else {
        conn_close(c);
        pfd.fd = -1;
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut cliaddr = sockaddr_in {
        sin_family: 0,
        sin_port: 0,
        sin_addr: in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let port = unsafe {
        check_args(argc, argv, 1, USAGE);
        port_arg(argc, argv, 1, USAGE)
    };

    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listenfd = tcp_listen(port);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    set_nonblock(listenfd);
    let mut spare = open_spare();

    // Every descriptor is below RLIMIT_NOFILE: a slot each, fds[i] and client[i].
    let nslots = open_max();
    // SAFETY: calloc(3) takes no pointers.
    let fds = unsafe { libc::calloc(nslots as usize, size_of::<pollfd>()) }.cast::<pollfd>();
    if fds.is_null() {
        perr_exit(c"calloc");
    }
    // SAFETY: fds points to nslots zeroed pollfds, never freed.
    let fds = unsafe { slice::from_raw_parts_mut(fds, nslots as usize) };
    let client = conn_table(nslots);
    fds[0].fd = listenfd; // slot 0: the listening socket
    fds[0].events = libc::POLLIN;
    for pfd in fds.iter_mut().skip(1) {
        pfd.fd = -1; // a free slot, which poll skips
    }
    let mut maxi: usize = 0; // the highest slot in use

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        // SAFETY: fds holds more than maxi pollfds, which poll(2) may write.
        let mut nready = unsafe { libc::poll(fds.as_mut_ptr(), (maxi + 1) as libc::nfds_t, -1) };
        if nready < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            perr_exit(c"poll");
        }

        if fds[0].revents & libc::POLLIN != 0 {
            // new connections
            for _ in 0..MAXACCEPT {
                let connfd = accept_nb(listenfd, &mut cliaddr, &mut spare);
                if connfd < 0 {
                    break;
                }
                if connfd >= nslots {
                    // SAFETY: a format whose one %d gets a c_int.
                    unsafe {
                        libc::fprintf(
                            stderr,
                            c"poll: no slot for fd %d, connection closed\n".as_ptr(),
                            connfd,
                        )
                    };
                    Close(connfd);
                    continue;
                }
                // Below nslots, one of the nslots slots is free.
                let mut i = 1;
                while fds[i].fd >= 0 {
                    i += 1;
                }
                fds[i].fd = connfd;
                fds[i].events = libc::POLLIN;
                fds[i].revents = 0;
                conn_open(&mut client[i], connfd, &cliaddr);
                if i > maxi {
                    maxi = i;
                }
            }
            nready -= 1;
            if nready <= 0 {
                continue; // no client is ready
            }
        }

        // the clients ready
        for (pfd, c) in fds.iter_mut().zip(client.iter_mut()).take(maxi + 1).skip(1) {
            if pfd.fd < 0 || pfd.revents == 0 {
                continue;
            }
            if pfd.revents & libc::POLLNVAL != 0 {
                // not open: conn_close reports it
                watch(pfd, c, ConnWant::Close);
            } else {
                // POLLERR, POLLHUP: the call tells
                let want = conn_ready(c);
                watch(pfd, c, want);
            }
            nready -= 1;
            if nready <= 0 {
                break; // no more ready
            }
        }
    }
}
