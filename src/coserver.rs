//! The coroutine servers, whole but for how they switch (twin of
//! `coserver.c`): a coroutine per connection, serving it as the blocking
//! servers do, and one accepting. Used by coroutine_server and fiber_server.

use crate::accept::open_spare;
use crate::args::{check_args, port_arg, stack_arg};
use crate::coio::{co_accept, co_read, co_write};
use crate::coro::{Co, CoSwitch, Sched, co_init, co_run, co_spawn};
use crate::echo::{ECHO_CLOSED, ECHO_LINEMAX, echo_reply};
use crate::fdutil::set_nonblock;
use crate::ffi::stdout;
use crate::listen::tcp_listen;
use crate::outbuf::{OutBuf, out_open, out_put};
use crate::wrap::{MAXLINE, perr_exit, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::MaybeUninit;
use core::ptr;
use core::slice;

/// Each coroutine's stack, in KiB, by default: serve's frame holds a
/// MAXLINE (8 KiB) buffer, and the printf family, which `echo_reply`
/// calls, wants a few KiB more; 64 leaves room to spare. Only the pages a
/// coroutine touches take memory: an idle connection costs its address
/// space (64 KiB and a guard page) and a few resident pages.
pub const CO_STACK_KB: c_int = 64;

/// The smallest stack STACK_KB may ask for: a page, too small for serve.
pub const CO_STACK_MIN_KB: c_int = 4;

/// The largest: 64 MiB.
pub const CO_STACK_MAX_KB: c_int = 65536;

/// One client, served until it closes or fails, as the process server's
/// child serves it, printing to the loop's stdout (`arg`); [`co_read`] and
/// [`co_write`] wait where `Read` and `Write` would block.
///
/// # Safety
///
/// `co` is the coroutine running; `arg` the loop's [`OutBuf`].
unsafe fn serve(co: *mut Co, arg: *mut c_void) {
    // SAFETY: the caller's guarantee; only the coroutine running uses it.
    let o = unsafe { &mut *arg.cast::<OutBuf>() };
    // Left uninitialised, as in C and echo.rs.
    let mut buf = [MaybeUninit::<u8>::uninit(); MAXLINE];
    let mut line = [0 as c_char; ECHO_LINEMAX];

    loop {
        // SAFETY: the caller's guarantee.
        let n = unsafe { co_read(co, &mut buf) };
        if n == 0 {
            out_put(o, ECHO_CLOSED.to_bytes());
            break;
        }
        if n < 0 {
            break;
        }
        // SAFETY: read(2) initialised the first n bytes.
        let buf = unsafe { slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), n as usize) };
        // SAFETY: the caller's guarantee: co is valid.
        let len = echo_reply(&mut line, unsafe { &(*co).peer }, buf);
        // SAFETY: echo_reply wrote len bytes of line; c_char and u8 have one layout.
        out_put(o, unsafe {
            slice::from_raw_parts(line.as_ptr().cast::<u8>(), len)
        });
        out_put(o, buf);
        // SAFETY: the caller's guarantee.
        if unsafe { co_write(co, buf) } < 0 {
            break;
        }
    }
}

/// The listening socket's coroutine: a coroutine for each connection
/// (`arg`: the spare descriptor).
///
/// # Safety
///
/// `co` is the coroutine running; `arg` the spare descriptor.
unsafe fn acceptor(co: *mut Co, arg: *mut c_void) {
    let mut cliaddr = sockaddr_in_zero();
    // SAFETY: the caller's guarantee.
    let spare = unsafe { &mut *arg.cast::<c_int>() };

    loop {
        // SAFETY: the caller's guarantee.
        let connfd = unsafe { co_accept(co, &mut cliaddr, spare) };
        if connfd < 0 {
            break;
        }
        // SAFETY: co's scheduler is valid; serve takes the loop's stdout.
        unsafe {
            let s = (*co).s;
            co_spawn(s, connfd, Some(&cliaddr), serve, (*s).o.cast::<c_void>());
        }
    }
    perr_exit(c"accept");
}

/// The server: its arguments, the listening socket, the coroutine that
/// accepts, and the scheduler, for ever; `sw` switches the coroutines.
///
/// # Safety
///
/// `argv` holds `argc` valid C strings, as `main` receives it.
pub unsafe fn co_server(
    argc: c_int,
    argv: *const *const c_char,
    usage: &CStr,
    sw: &'static CoSwitch,
) -> c_int {
    let mut s = Sched::NONE;
    let mut out = OutBuf::new();
    // SAFETY: the caller's guarantee.
    let (port, stack_kb) = unsafe {
        check_args(argc, argv, 2, usage);
        let port = port_arg(argc, argv, 1, usage);
        let stack_kb = stack_arg(
            argc,
            argv,
            2,
            CO_STACK_KB,
            CO_STACK_MIN_KB,
            CO_STACK_MAX_KB,
            usage,
        );
        (port, stack_kb)
    };
    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listenfd = tcp_listen(port);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    set_nonblock(listenfd);
    let mut spare = open_spare();
    out_open(&mut out);

    // SAFETY: s, out and spare live as long as the process: co_run never returns.
    unsafe {
        co_init(&mut s, sw, stack_kb as usize, &mut out);
        let arg = (&raw mut spare).cast::<c_void>();
        if co_spawn(&mut s, listenfd, None, acceptor, arg) < 0 {
            libc::exit(1);
        }

        libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port);
        co_run(&mut s)
    }
}
