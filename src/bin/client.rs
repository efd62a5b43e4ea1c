//! Lines from stdin to the server, replies to stdout (twin of `client.c`).
#![no_std]
#![no_main]

use concserv::args::port_arg;
use concserv::ffi::{fprintf, inet_pton, stderr, stdin};
use concserv::wrap::{Close, Connect, MAXLINE, Readn, Socket, Write, Writen};
use core::ffi::{c_char, c_int, c_void};
use libc::{in_addr, sa_family_t, sockaddr_in};

concserv::no_std_program!();

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut buf = [0u8; MAXLINE];
    // SAFETY: argv is main's, as glibc's start-up passes it, and argv[1] exists when argc > 1.
    let host = if argc > 1 {
        unsafe { *argv.add(1) }
    } else {
        c"127.0.0.1".as_ptr()
    };
    // SAFETY: as above.
    let port = unsafe { port_arg(argc, argv, 2) };

    let mut servaddr = sockaddr_in {
        sin_family: libc::AF_INET as sa_family_t,
        sin_port: libc::htons(port as u16),
        sin_addr: in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    // SAFETY: host is a C string and sin_addr has room for an IPv4 address.
    if unsafe {
        inet_pton(
            libc::AF_INET,
            host,
            (&raw mut servaddr.sin_addr).cast::<c_void>(),
        )
    } != 1
    {
        // SAFETY: both %s conversions get C strings.
        unsafe {
            fprintf(
                stderr,
                c"%s: invalid IPv4 address: %s\n".as_ptr(),
                *argv,
                host,
            );
            libc::exit(2);
        }
    }

    let sockfd = Socket(libc::AF_INET, libc::SOCK_STREAM, 0);
    Connect(sockfd, &servaddr);

    // SAFETY: buf has room for the MAXLINE bytes fgets(3) may store.
    while !unsafe { libc::fgets(buf.as_mut_ptr().cast::<c_char>(), MAXLINE as c_int, stdin) }
        .is_null()
    {
        // SAFETY: fgets(3) NUL-terminated buf.
        let len = unsafe { libc::strlen(buf.as_ptr().cast::<c_char>()) };
        if Writen(sockfd, &buf[..len]) < 0 {
            break;
        }
        let n = Readn(sockfd, &mut buf[..len]);
        if n == 0 {
            // SAFETY: a format without conversions.
            unsafe { libc::printf(c"the other side has been closed.\n".as_ptr()) };
            break;
        }
        if n < 0 {
            break;
        }
        Write(libc::STDOUT_FILENO, &buf[..n as usize]);
    }
    Close(sockfd);
    0
}
