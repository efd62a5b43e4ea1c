//! One thread serving every connection with poll (twin of `poll_server.c`).
#![no_std]
#![no_main]

use concserv::accept::{MAXACCEPT, accept_nb, open_spare};
use concserv::args::{check_args, port_arg};
use concserv::conn::{
    Conn, ConnTable, ConnWant, conn_close, conn_fit, conn_open, conn_ready, conn_table_init,
};
use concserv::fdutil::{array_fit, set_nonblock};
use concserv::ffi::{stderr, stdout};
use concserv::listen::tcp_listen;
use concserv::outbuf::{OutBuf, out_flush, out_open, out_pending};
use concserv::wrap::{Close, errno, perr_exit, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int};
use core::ptr;
use core::slice;
use libc::pollfd;

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread serving every connection with poll";

/// The slots of `fds` that are not connections.
const LISTEN_SLOT: usize = 0;
const STDOUT_SLOT: usize = 1;

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

/// A free slot of `fds`, which poll skips (C: `pollfd_free`).
const POLLFD_FREE: pollfd = pollfd {
    fd: -1,
    events: 0,
    revents: 0,
};

/// Makes slot `i` exist in `fds` (`nfds` slots) and in `client`: each grows
/// ([`array_fit`], [`conn_fit`]), a new slot free. Returns 0, or -1 when
/// out of memory. Not inlined, so that `fds` lives in main's frame, where
/// memcheck's leak check finds it (inlined, the optimised main kept no
/// pointer to the array's start that memcheck could see, and it reported
/// the array as definitely lost).
#[inline(never)]
fn fit(fds: &mut *mut pollfd, nfds: &mut c_int, client: &mut ConnTable, i: usize) -> c_int {
    // SAFETY: *fds is null (nfds 0) or malloc(3)'s nfds pollfds; on
    // success the old pointer is replaced below and not used again.
    let p = unsafe { array_fit(*fds, nfds, i as c_int, &POLLFD_FREE) };
    if p.is_null() {
        return -1;
    }
    *fds = p;
    conn_fit(client, i as c_int)
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut client = ConnTable::NONE;
    let mut cliaddr = sockaddr_in_zero();
    let mut out = OutBuf::new();
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
    out_open(&mut out);

    // Slot i is fds[i] and client's slot i; both grow as slots are needed.
    let mut fds: *mut pollfd = ptr::null_mut();
    let mut nfds: c_int = 0;
    conn_table_init(&mut client);
    if fit(&mut fds, &mut nfds, &mut client, STDOUT_SLOT) < 0 {
        perr_exit(c"realloc");
    }
    // SAFETY: fds points to nfds pollfds, kept until the next fit.
    let slots = unsafe { slice::from_raw_parts_mut(fds, nfds as usize) };
    slots[LISTEN_SLOT].fd = listenfd;
    slots[LISTEN_SLOT].events = libc::POLLIN;
    slots[STDOUT_SLOT].events = libc::POLLOUT; // its fd is set while lines wait
    let mut maxi = STDOUT_SLOT; // the highest slot in use

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        // SAFETY: fds points to nfds pollfds (fit keeps it so).
        let slots = unsafe { slice::from_raw_parts_mut(fds, nfds as usize) };
        slots[STDOUT_SLOT].fd = if out_pending(&out) { out.fd } else { -1 };
        // SAFETY: fds holds more than maxi pollfds, which poll(2) may write.
        let mut nready = unsafe { libc::poll(fds, (maxi + 1) as libc::nfds_t, -1) };
        if nready < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            perr_exit(c"poll");
        }

        if slots[LISTEN_SLOT].revents & libc::POLLIN != 0 {
            // new connections
            for _ in 0..MAXACCEPT {
                let connfd = accept_nb(listenfd, &mut cliaddr, &mut spare);
                if connfd < 0 {
                    break;
                }
                // The first free slot, or one past the last in use.
                let mut i = STDOUT_SLOT + 1;
                // SAFETY: fds points to nfds pollfds, more than maxi.
                while i <= maxi && unsafe { (*fds.add(i)).fd } >= 0 {
                    i += 1;
                }
                if fit(&mut fds, &mut nfds, &mut client, i) < 0 {
                    // SAFETY: a format whose one %d gets a c_int.
                    unsafe {
                        libc::fprintf(
                            stderr,
                            c"poll: no memory for fd %d, connection closed\n".as_ptr(),
                            connfd,
                        )
                    };
                    Close(connfd);
                    continue;
                }
                // SAFETY: fit made slot i exist in fds.
                let pfd = unsafe { &mut *fds.add(i) };
                pfd.fd = connfd;
                pfd.events = libc::POLLIN;
                pfd.revents = 0;
                conn_open(&mut client.slots()[i], connfd, &cliaddr);
                if i > maxi {
                    maxi = i;
                }
            }
            nready -= 1;
            if nready <= 0 {
                continue; // no client is ready
            }
        }

        // SAFETY: fds points to nfds pollfds (fit keeps it so).
        let slots = unsafe { slice::from_raw_parts_mut(fds, nfds as usize) };
        if slots[STDOUT_SLOT].revents != 0 {
            // stdout takes more, or fails
            out_flush(&mut out);
            nready -= 1;
            if nready <= 0 {
                continue;
            }
        }

        // the clients ready
        let conns = client.slots();
        for (pfd, c) in slots
            .iter_mut()
            .zip(conns.iter_mut())
            .take(maxi + 1)
            .skip(STDOUT_SLOT + 1)
        {
            if pfd.fd < 0 || pfd.revents == 0 {
                continue;
            }
            if pfd.revents & libc::POLLNVAL != 0 {
                // not open: conn_close reports it
                watch(pfd, c, ConnWant::Close);
            } else {
                // POLLERR, POLLHUP: the call tells
                let want = conn_ready(c, &mut out);
                watch(pfd, c, want);
            }
            nready -= 1;
            if nready <= 0 {
                break; // no more ready
            }
        }
    }
}
