//! One thread serving every connection with epoll (twin of `epoll_server.c`).
#![no_std]
#![no_main]

use concserv::accept::{MAXACCEPT, accept_nb, open_spare};
use concserv::args::{check_args, port_arg};
use concserv::conn::{ConnTable, conn_table_init};
use concserv::epoll_loop::{epoll_add, epoll_open, epoll_pass};
use concserv::fdutil::set_nonblock;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::outbuf::{OutBuf, out_open};

use concserv::wrap::sockaddr_in_zero;
use core::ffi::{CStr, c_char, c_int};
use core::ptr;

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread serving every connection with epoll";

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

    // client's slots are indexed by descriptor, and grow as they do (epoll_add).
    conn_table_init(&mut client);
    let epfd = epoll_open(listenfd);

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        if !epoll_pass(epfd, &mut client, listenfd, &mut out) {
            continue;
        }
        // new connections, after the pass
        for _ in 0..MAXACCEPT {
            let connfd = accept_nb(listenfd, &mut cliaddr, &mut spare);
            if connfd < 0 {
                break;
            }
            epoll_add(epfd, &mut client, connfd, &cliaddr);
        }
    }
}
