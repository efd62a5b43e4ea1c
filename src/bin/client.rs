//! Lines from stdin to the server, replies to stdout (twin of `client.c`).
#![no_std]
#![no_main]

use concserv::args::{check_args, port_arg};
use concserv::ffi::{stderr, stdin};
use concserv::wrap::{Close, Connect, Readn, Socket, Write, Writen};
use core::ffi::{CStr, c_char, c_int};
use core::mem::{size_of, zeroed};
use core::{ptr, slice};
use libc::{addrinfo, sockaddr_in};

concserv::no_std_program!();

const USAGE: &CStr =
    c"[HOST [PORT]]\n  send stdin's lines to HOST:PORT (default 127.0.0.1 8000), print the replies";

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut servaddr: sockaddr_in;
    let mut res: *mut addrinfo = ptr::null_mut();
    let mut line: *mut c_char = ptr::null_mut();
    let mut cap: usize = 0;
    let mut status = 0;

    // SAFETY: argv is main's, as glibc's start-up passes it, and argv[1]
    // exists when argc > 1.
    let (host, port) = unsafe {
        check_args(argc, argv, 2, USAGE);
        let host = if argc > 1 {
            *argv.add(1)
        } else {
            c"127.0.0.1".as_ptr()
        };
        (host, port_arg(argc, argv, 2, USAGE))
    };

    // SAFETY: an all-zero addrinfo is a valid set of hints; host is a C
    // string; on success res points to at least one AF_INET result, whose
    // ai_addr holds a sockaddr_in.
    unsafe {
        let mut hints: addrinfo = zeroed();
        hints.ai_family = libc::AF_INET;
        hints.ai_socktype = libc::SOCK_STREAM;
        let err = libc::getaddrinfo(host, ptr::null(), &hints, &mut res);
        if err != 0 {
            libc::fprintf(
                stderr,
                c"%s: %s: %s\n".as_ptr(),
                *argv,
                host,
                libc::gai_strerror(err),
            );
            libc::exit(1);
        }
        servaddr = zeroed();
        ptr::copy_nonoverlapping(
            (*res).ai_addr.cast::<u8>(),
            (&raw mut servaddr).cast::<u8>(),
            size_of::<sockaddr_in>(),
        );
        servaddr.sin_port = libc::htons(port as u16);
        libc::freeaddrinfo(res);
    }

    let sockfd = Socket(libc::AF_INET, libc::SOCK_STREAM, 0);
    Connect(sockfd, &servaddr);
    // A server that hangs up makes a write fail (EPIPE), not kill the client.
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };

    // A failed read or write has been reported (perror): status 1.
    loop {
        // SAFETY: line and cap are getline(3)'s, starting as NULL and 0.
        let len = unsafe { libc::getline(&mut line, &mut cap, stdin) };
        if len == -1 {
            break;
        }
        // SAFETY: getline(3) stored len bytes at line, in a buffer of cap >= len bytes.
        let buf = unsafe { slice::from_raw_parts_mut(line.cast::<u8>(), len as usize) };
        if Writen(sockfd, buf) < 0 {
            status = 1;
            break;
        }
        let n = Readn(sockfd, buf);
        if n == 0 {
            // SAFETY: a format without conversions.
            unsafe { libc::printf(c"the other side has been closed.\n".as_ptr()) };
            break;
        }
        if n < 0 || Write(libc::STDOUT_FILENO, &buf[..n as usize]) < 0 {
            status = 1;
            break;
        }
    }
    // SAFETY: line is getline(3)'s buffer, or NULL.
    unsafe { libc::free(line.cast()) };
    Close(sockfd);
    status
}
