//! An acceptor and a pool of worker threads, each with its own epoll loop,
//! each connection owned by one worker for its whole life (twin of
//! `pool_server.c`).
#![no_std]
#![no_main]
#![allow(non_upper_case_globals)]

use concserv::args::{check_args, port_arg, threads_arg};
use concserv::conn::{
    Conn, MAXACCEPT, accept_nb, conn_table, epoll_add, epoll_open, epoll_pass, open_max,
    open_spare, set_nonblock,
};
use concserv::ffi::{stderr, stdout};
use concserv::listen::tcp_listen;
use concserv::wrap::{Close, errno, perr_exit, set_errno};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::{size_of, zeroed};
use core::{ptr, slice};
use libc::{in_addr, sockaddr_in};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), one acceptor handing each connection to one of THREADS worker threads (default: one per online CPU), each with its own epoll loop";

const MAXWORKERS: usize = 64;

/// A new connection on its way from the acceptor to a worker.
#[repr(C)]
struct handoff {
    connfd: c_int,
    cliaddr: sockaddr_in,
}

/// One worker: its epoll set, the pipe it is handed connections on, its connections.
#[repr(C)]
struct worker {
    epfd: c_int,
    pipefd: [c_int; 2],
    client: *mut Conn,
    nclient: c_int,
}

/// The workers, set up by the main thread before each one's thread starts.
struct Workers(UnsafeCell<[worker; MAXWORKERS]>);

// SAFETY: the main thread fills in ws[i] before pthread_create, which
// orders those writes before the worker's reads; afterwards the main thread
// only reads pipefd[1], which nobody writes again.
unsafe impl Sync for Workers {}

static ws: Workers = Workers(UnsafeCell::new(
    [const {
        worker {
            epfd: -1,
            pipefd: [-1, -1],
            client: ptr::null_mut(),
            nclient: 0,
        }
    }; MAXWORKERS],
));

/// A worker's pipe, its epoll set watching the pipe, its table of connections.
fn worker_init(w: &mut worker, nclient: c_int) {
    // SAFETY: pipefd has room for the two descriptors pipe(2) returns.
    if unsafe { libc::pipe(w.pipefd.as_mut_ptr()) } < 0 {
        perr_exit(c"pipe");
    }
    w.epfd = epoll_open(w.pipefd[0]);
    w.client = conn_table(nclient).as_mut_ptr();
    w.nclient = nclient;
}

/// Undoes [`worker_init`], for a worker whose thread could not be started.
fn worker_free(w: &mut worker) {
    Close(w.epfd);
    Close(w.pipefd[0]);
    Close(w.pipefd[1]);
    // SAFETY: client is conn_table's calloc(3) block, used by no thread.
    unsafe { libc::free(w.client.cast()) };
}

/// Serves the worker's connections; takes in each one handed over, after a pass.
extern "C" fn do_work(arg: *mut c_void) -> *mut c_void {
    // SAFETY: arg is the &ws[i] main passed to pthread_create, set up before
    // it; client is that worker's own table of nclient connections, which no
    // other thread touches.
    let (w, client) = unsafe {
        let w = &*arg.cast::<worker>();
        (w, slice::from_raw_parts_mut(w.client, w.nclient as usize))
    };
    // SAFETY: an all-zero handoff is a valid value (integers only).
    let mut h: handoff = unsafe { zeroed() };

    loop {
        if !epoll_pass(w.epfd, client, w.pipefd[0]) {
            continue;
        }
        // SAFETY: h is plain data, size_of::<handoff>() bytes: any bytes
        // read(2) puts in it make a value.
        let n = unsafe { libc::read(w.pipefd[0], (&raw mut h).cast(), size_of::<handoff>()) };
        if n == size_of::<handoff>() as isize {
            epoll_add(w.epfd, client, h.connfd, &h.cliaddr);
        } else if n >= 0 || (errno() != libc::EINTR && errno() != libc::EAGAIN) {
            // a record is written whole: only a bug cuts one
            perr_exit(c"hand-over");
        }
    }
}

/// Hands `connfd` to worker `w`: one write to its pipe, whole (at most
/// PIPE_BUF bytes), waiting while the pipe is full; the write is retried
/// after EINTR or EAGAIN.
fn hand_over(w: &worker, connfd: c_int, cliaddr: &sockaddr_in) {
    let h = handoff {
        connfd,
        cliaddr: *cliaddr,
    };

    // SAFETY: h is size_of::<handoff>() bytes of plain data without padding.
    while unsafe { libc::write(w.pipefd[1], (&raw const h).cast(), size_of::<handoff>()) }
        != size_of::<handoff>() as isize
    {
        if errno() != libc::EINTR && errno() != libc::EAGAIN {
            // SAFETY: a NUL-terminated message.
            unsafe { libc::perror(c"hand-over".as_ptr()) };
            Close(connfd);
            return;
        }
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
    let mut tid: libc::pthread_t = 0;
    let mut nworkers: usize = 0;
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let (port, mut nthreads) = unsafe {
        check_args(argc, argv, 2, USAGE);
        let port = port_arg(argc, argv, 1, USAGE);
        (
            port,
            threads_arg(argc, argv, 2, 0, MAXWORKERS as c_int, USAGE) as usize,
        )
    };
    if nthreads == 0 {
        // none given: one per online CPU
        // SAFETY: sysconf(3) takes no pointers.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        nthreads = online.clamp(1, MAXWORKERS as libc::c_long) as usize;
    }

    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listenfd = tcp_listen(port);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    set_nonblock(listenfd);
    let mut spare = open_spare();
    let epfd = epoll_open(listenfd);

    // Every descriptor is below RLIMIT_NOFILE: each client[] is indexed by it.
    let nclient = open_max();
    let workers = ws.0.get().cast::<worker>();
    while nworkers < nthreads {
        // SAFETY: nworkers < MAXWORKERS, and ws[nworkers] has no thread yet:
        // main alone touches it.
        let w = unsafe { &mut *workers.add(nworkers) };
        worker_init(w, nclient);
        // SAFETY: do_work has the signature pthread_create(3) expects and w
        // is in the static ws, which outlives every thread.
        let ret = unsafe {
            libc::pthread_create(&mut tid, ptr::null(), do_work, ptr::from_mut(w).cast())
        };
        if ret != 0 {
            set_errno(ret);
            // SAFETY: a NUL-terminated message.
            unsafe { libc::perror(c"pthread_create".as_ptr()) };
            worker_free(w);
            break;
        }
        // SAFETY: tid is the thread just created, not yet detached or joined.
        unsafe { libc::pthread_detach(tid) };
        nworkers += 1;
    }
    if nworkers == 0 {
        // SAFETY: argv[0] is a C string for %s.
        unsafe {
            libc::fprintf(
                stderr,
                c"%s: no worker thread could be started\n".as_ptr(),
                *argv,
            );
            libc::exit(1);
        }
    }
    if nworkers < nthreads {
        // SAFETY: argv[0] is a C string; each %d gets a c_int.
        unsafe {
            libc::fprintf(
                stderr,
                c"%s: running with %d of %d worker threads\n".as_ptr(),
                *argv,
                nworkers as c_int,
                nthreads as c_int,
            )
        };
    }

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    let mut next = 0;
    loop {
        if !epoll_pass(epfd, &mut [], listenfd) {
            continue;
        }
        // new connections, each to the next worker
        for _ in 0..MAXACCEPT {
            let connfd = accept_nb(listenfd, &mut cliaddr, &mut spare);
            if connfd < 0 {
                break;
            }
            // SAFETY: next < nworkers: a worker set up before its thread
            // started, and only read from now on.
            hand_over(unsafe { &*workers.add(next) }, connfd, &cliaddr);
            next = (next + 1) % nworkers;
        }
    }
}
