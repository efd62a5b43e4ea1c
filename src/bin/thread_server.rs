//! One detached thread per connection (twin of `thread_server.c`).
#![no_std]
#![no_main]
#![allow(non_camel_case_types, non_upper_case_globals)]

use concserv::args::port_arg;
use concserv::echo::echo_upper;
use concserv::ffi::stdout;
use concserv::wrap::{Accept, Bind, Close, Listen, Socket, perr_exit, set_errno};
use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_void};
use core::mem::size_of;
use core::ptr;
use core::sync::atomic::{AtomicI32, Ordering};
use libc::{in_addr, sa_family_t, sockaddr_in, socklen_t};

concserv::no_std_program!();

const MAXSLOTS: usize = 128;

/// What one connection's thread needs; `connfd == -1` marks a free slot.
#[repr(C)]
struct s_info {
    cliaddr: UnsafeCell<sockaddr_in>,
    connfd: AtomicI32,
}

// SAFETY: cliaddr is written only by the main thread while the slot is free
// (connfd == -1, so no thread owns it), and read only by the slot's thread,
// which pthread_create starts after the write.
unsafe impl Sync for s_info {}

static ts: [s_info; MAXSLOTS] = [const {
    s_info {
        cliaddr: UnsafeCell::new(sockaddr_in {
            sin_family: 0,
            sin_port: 0,
            sin_addr: in_addr { s_addr: 0 },
            sin_zero: [0; 8],
        }),
        connfd: AtomicI32::new(-1),
    }
}; MAXSLOTS];

extern "C" fn do_work(arg: *mut c_void) -> *mut c_void {
    // SAFETY: arg is the &ts[i] that main passed to pthread_create.
    let info = unsafe { &*arg.cast::<s_info>() };

    // SAFETY: main finished writing cliaddr before it started this thread.
    echo_upper(info.connfd.load(Ordering::Relaxed), unsafe {
        &*info.cliaddr.get()
    });
    Close(info.connfd.load(Ordering::Relaxed));
    info.connfd.store(-1, Ordering::Release);
    ptr::null_mut()
}

/// A free slot; while every slot is busy, look again each second.
fn free_slot() -> &'static s_info {
    loop {
        for info in &ts {
            if info.connfd.load(Ordering::Acquire) == -1 {
                return info;
            }
        }
        // SAFETY: sleep(3) takes no pointers.
        unsafe { libc::sleep(1) };
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
    let mut cliaddr_len: socklen_t;
    let mut tid: libc::pthread_t = 0;
    let opt: c_int = 1;
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let port = unsafe { port_arg(argc, argv, 1) };

    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listenfd = Socket(libc::AF_INET, libc::SOCK_STREAM, 0);
    // SAFETY: opt is a c_int of the size passed.
    if unsafe {
        libc::setsockopt(
            listenfd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&raw const opt).cast::<c_void>(),
            size_of::<c_int>() as socklen_t,
        )
    } < 0
    {
        perr_exit(c"setsockopt");
    }
    let servaddr = sockaddr_in {
        sin_family: libc::AF_INET as sa_family_t,
        sin_port: libc::htons(port as u16),
        sin_addr: in_addr {
            s_addr: libc::htonl(libc::INADDR_ANY),
        },
        sin_zero: [0; 8],
    };
    Bind(listenfd, &servaddr);
    Listen(listenfd, 128);

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        let info = free_slot();
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        let connfd = Accept(listenfd, &mut cliaddr, &mut cliaddr_len);
        // SAFETY: the slot is free, so no thread reads its cliaddr.
        unsafe { *info.cliaddr.get() = cliaddr };
        info.connfd.store(connfd, Ordering::Relaxed);
        let arg = ptr::from_ref(info).cast_mut().cast::<c_void>();
        // SAFETY: do_work has the signature pthread_create(3) expects and arg
        // points into the static ts, which outlives every thread.
        let ret = unsafe { libc::pthread_create(&mut tid, ptr::null(), do_work, arg) };
        if ret != 0 {
            set_errno(ret);
            perr_exit(c"pthread_create");
        }
        // SAFETY: tid is the thread just created, not yet detached or joined.
        unsafe { libc::pthread_detach(tid) };
    }
}
