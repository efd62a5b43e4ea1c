//! One detached thread per connection (twin of `thread_server.c`).
#![no_std]
#![no_main]

use concserv::args::{check_args, port_arg};
use concserv::echo::echo_upper;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::slots::{find_slot, release_slot, s_info};
use concserv::wrap::{Accept, Close, perror, set_errno, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::size_of;
use core::ptr;
use libc::{sockaddr_in, socklen_t};

concserv::no_std_program!();

const USAGE: &CStr =
    c"[PORT]\n  listen on 0.0.0.0:PORT (default 8000), a detached thread per connection";

extern "C" fn do_work(arg: *mut c_void) -> *mut c_void {
    // SAFETY: arg is the &ts[i] that main passed to pthread_create, a slot
    // this thread owns until it releases it.
    let (info, connfd, cliaddr) = unsafe {
        let info = &*arg.cast::<s_info>();
        (info, *info.connfd.get(), &*info.cliaddr.get())
    };

    echo_upper(connfd, cliaddr);
    Close(connfd);
    release_slot(info);
    ptr::null_mut()
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut cliaddr = sockaddr_in_zero();
    let mut cliaddr_len: socklen_t;
    let mut tid: libc::pthread_t = 0;
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

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        let info = find_slot();
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        let connfd = Accept(listenfd, &mut cliaddr, &mut cliaddr_len);
        // SAFETY: the slot is free, so no other thread touches it.
        unsafe {
            *info.cliaddr.get() = cliaddr;
            *info.connfd.get() = connfd;
        }
        let arg = ptr::from_ref(info).cast_mut().cast::<c_void>();
        // SAFETY: do_work has the signature pthread_create(3) expects and arg
        // points into the static ts, which outlives every thread.
        let ret = unsafe { libc::pthread_create(&mut tid, ptr::null(), do_work, arg) };
        if ret != 0 {
            set_errno(ret);
            perror!(c"pthread_create");
            Close(connfd);
            release_slot(info);
            continue;
        }
        // SAFETY: tid is the thread just created, not yet detached or joined.
        unsafe { libc::pthread_detach(tid) };
    }
}
