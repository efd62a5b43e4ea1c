//! One thread serving every connection with select (twin of `select_server.c`).
#![no_std]
#![no_main]

use concserv::accept::{MAXACCEPT, accept_nb, open_spare};
use concserv::args::{check_args, port_arg};
use concserv::conn::{
    Conn, ConnTable, ConnWant, conn_close, conn_fit, conn_open, conn_ready, conn_table_init,
};
use concserv::fdutil::set_nonblock;
use concserv::ffi::{stderr, stdout};
use concserv::listen::tcp_listen;
use concserv::outbuf::{OutBuf, out_flush, out_open, out_pending};
use concserv::wrap::{Close, errno, perr_exit, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int};
use core::mem::zeroed;
use core::ptr;
use libc::{FD_SETSIZE, fd_set};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread serving every connection with select";

/// One of the server's own descriptors, `what`, must go in an fd_set: at
/// or past FD_SETSIZE (the server started with that many open), FD_SET
/// would write past it. Exits with a message.
fn check_fd(fd: c_int, what: &CStr) {
    if (fd as usize) < FD_SETSIZE {
        return;
    }
    // SAFETY: a format whose %s gets a C string and each %d a c_int;
    // exit(3) does not return.
    unsafe {
        libc::fprintf(
            stderr,
            c"select: %s is fd %d, not below FD_SETSIZE (%d): too many descriptors open at start\n"
                .as_ptr(),
            what.as_ptr(),
            fd,
            FD_SETSIZE as c_int,
        );
        libc::exit(1);
    }
}

/// Watches `c`'s descriptor for what it wants next, in the sets each select
/// starts from: reading, or writing while a reply waits; or closes it.
fn watch(c: &mut Conn, want: ConnWant, allrset: &mut fd_set, allwset: &mut fd_set) {
    // SAFETY: c.fd is below FD_SETSIZE, checked when it was accepted.
    unsafe {
        libc::FD_CLR(c.fd, allrset);
        libc::FD_CLR(c.fd, allwset);
    }
    if want == ConnWant::Read {
        // SAFETY: as above.
        unsafe { libc::FD_SET(c.fd, allrset) };
    } else if want == ConnWant::Write {
        // SAFETY: as above.
        unsafe { libc::FD_SET(c.fd, allwset) };
    } else {
        conn_close(c);
    }
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
    check_fd(listenfd, c"the listening socket");
    check_fd(spare, c"the spare descriptor");
    check_fd(out.fd, c"stdout");

    let mut maxfd = if listenfd > out.fd { listenfd } else { out.fd }; // the highest descriptor in the sets
    let mut maxi: c_int = -1; // the highest slot of client in use
    conn_table_init(&mut client);
    // SAFETY: all zeroes is the fd_set with no descriptor in it, FD_ZERO's result.
    let (mut allrset, mut allwset): (fd_set, fd_set) = unsafe { (zeroed(), zeroed()) };
    // SAFETY: listenfd is below FD_SETSIZE (check_fd).
    unsafe { libc::FD_SET(listenfd, &mut allrset) };

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        let mut rset = allrset; // select overwrites the sets it is given
        let mut wset = allwset;
        if out_pending(&out) {
            // stdout, while lines wait
            // SAFETY: out.fd is below FD_SETSIZE (check_fd).
            unsafe { libc::FD_SET(out.fd, &mut wset) };
        }
        // SAFETY: both sets are fd_sets select(2) may write; no exception set, no timeout.
        let mut nready = unsafe {
            libc::select(
                maxfd + 1,
                &mut rset,
                &mut wset,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if nready < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            perr_exit(c"select");
        }

        // SAFETY: listenfd is below FD_SETSIZE (check_fd).
        if unsafe { libc::FD_ISSET(listenfd, &rset) } {
            // new connections
            for _ in 0..MAXACCEPT {
                let connfd = accept_nb(listenfd, &mut cliaddr, &mut spare);
                if connfd < 0 {
                    break;
                }
                if connfd as usize >= FD_SETSIZE {
                    // SAFETY: a format whose one %d gets a c_int.
                    unsafe {
                        libc::fprintf(
                            stderr,
                            c"select: fd %d >= FD_SETSIZE, connection closed\n".as_ptr(),
                            connfd,
                        )
                    };
                    Close(connfd);
                    continue;
                }
                // The first free slot, the table grown when none is.
                let mut i = 0;
                while i < client.slots().len() && client.slots()[i].fd >= 0 {
                    i += 1;
                }
                if conn_fit(&mut client, i as c_int) < 0 {
                    // SAFETY: a format whose one %d gets a c_int.
                    unsafe {
                        libc::fprintf(
                            stderr,
                            c"select: no memory for fd %d, connection closed\n".as_ptr(),
                            connfd,
                        )
                    };
                    Close(connfd);
                    continue;
                }
                conn_open(&mut client.slots()[i], connfd, &cliaddr);
                // SAFETY: connfd is below FD_SETSIZE.
                unsafe { libc::FD_SET(connfd, &mut allrset) };
                if connfd > maxfd {
                    maxfd = connfd;
                }
                if i as c_int > maxi {
                    maxi = i as c_int;
                }
            }
            nready -= 1;
            if nready <= 0 {
                continue; // no client is ready
            }
        }

        // SAFETY: out.fd is below FD_SETSIZE (check_fd).
        if out_pending(&out) && unsafe { libc::FD_ISSET(out.fd, &wset) } {
            // stdout takes more
            out_flush(&mut out);
            nready -= 1;
            if nready <= 0 {
                continue;
            }
        }

        // the clients ready
        for c in client.slots().iter_mut().take((maxi + 1) as usize) {
            let sockfd = c.fd;
            if sockfd < 0 {
                continue;
            }
            // SAFETY: sockfd is below FD_SETSIZE, checked when it was accepted.
            if unsafe { libc::FD_ISSET(sockfd, &rset) || libc::FD_ISSET(sockfd, &wset) } {
                let want = conn_ready(c, &mut out);
                watch(c, want, &mut allrset, &mut allwset);
                nready -= 1;
                if nready <= 0 {
                    break; // no more ready
                }
            }
        }
    }
}
