//! An acceptor and a pool of worker threads, each with its own epoll loop,
//! each connection owned by one worker for its whole life (twin of
//! `pool_server.c`).
#![no_std]
#![no_main]
#![allow(non_upper_case_globals)]

use concserv::accept::{MAXACCEPT, accept_nb, open_spare};
use concserv::args::{check_args, port_arg, threads_arg};
use concserv::conn::{ConnTable, conn_table_init};
use concserv::epoll_loop::{epoll_add, epoll_open, epoll_pass};
use concserv::fdutil::set_nonblock;
use concserv::ffi::{stderr, stdout};
use concserv::listen::tcp_listen;
use concserv::outbuf::{OutBuf, out_close, out_init, out_open};
use concserv::wrap::{Close, ReadUninit, errno, perr_exit, perror, set_errno, sockaddr_in_zero};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::{MaybeUninit, size_of};
use core::{ptr, slice};
use libc::sockaddr_in;

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), one acceptor handing each connection to one of THREADS worker threads (default: one per online CPU), each with its own epoll loop";

const MAXWORKERS: usize = 64;

/// A new connection on its way from the acceptor to a worker.
#[repr(C)]
struct handoff {
    connfd: c_int,
    cliaddr: sockaddr_in,
}

/// One worker: its epoll set, the pipe it is handed connections on, its
/// connections, its stdout.
#[repr(C)]
struct worker {
    epfd: c_int,
    pipefd: [c_int; 2],
    /// The worker thread's alone, once it runs.
    client: UnsafeCell<ConnTable>,
    /// The worker thread's alone, once it runs.
    out: UnsafeCell<OutBuf>,
}

/// The workers, set up by the main thread before each one's thread starts.
struct Workers(UnsafeCell<[worker; MAXWORKERS]>);

// SAFETY: the main thread fills in ws[i] before pthread_create, which
// orders those writes before the worker's reads; afterwards the main thread
// only reads pipefd[1], which nobody writes again, and the worker alone
// touches its client and out (each in an UnsafeCell).
unsafe impl Sync for Workers {}

static ws: Workers = Workers(UnsafeCell::new(
    [const {
        worker {
            epfd: -1,
            pipefd: [-1, -1],
            client: UnsafeCell::new(ConnTable::NONE),
            out: UnsafeCell::new(OutBuf::new()),
        }
    }; MAXWORKERS],
));

/// A worker's pipe (its read end non-blocking: the worker reads until it is
/// empty), its epoll set watching the pipe, its empty table of connections,
/// its stdout.
fn worker_init(w: &mut worker) {
    // SAFETY: pipefd has room for the two descriptors pipe(2) returns.
    if unsafe { libc::pipe(w.pipefd.as_mut_ptr()) } < 0 {
        perr_exit(c"pipe");
    }
    set_nonblock(w.pipefd[0]);
    w.epfd = epoll_open(w.pipefd[0]);
    conn_table_init(w.client.get_mut());
    out_open(w.out.get_mut());
}

/// Undoes [`worker_init`], for a worker whose thread could not be started.
fn worker_free(w: &mut worker) {
    Close(w.epfd);
    Close(w.pipefd[0]);
    Close(w.pipefd[1]);
    out_close(w.out.get_mut());
}

/// Takes in every connection waiting in `w`'s pipe: `read(2)`s whole
/// records, as many as there are (they are written whole, so the pipe holds
/// whole records only), until the pipe is empty; `epoll_add`s each.
fn take_over(w: &worker) {
    let mut h = [const { MaybeUninit::<handoff>::uninit() }; MAXACCEPT];

    loop {
        // SAFETY: h is size_of_val(&h) bytes of plain data: any bytes
        // read(2) puts in it make values.
        let bytes = unsafe {
            slice::from_raw_parts_mut(
                h.as_mut_ptr().cast::<MaybeUninit<u8>>(),
                size_of::<[handoff; MAXACCEPT]>(),
            )
        };
        let n = ReadUninit(w.pipefd[0], bytes);
        if n < 0 && errno() == libc::EAGAIN {
            return;
        }
        if n <= 0 || !(n as usize).is_multiple_of(size_of::<handoff>()) {
            // only a bug cuts a record, or closes the pipe
            perr_exit(c"hand-over");
        }
        for r in &h[..n as usize / size_of::<handoff>()] {
            // SAFETY: read(2) filled this record whole; the worker thread
            // alone touches its client.
            unsafe {
                let r = r.assume_init_ref();
                epoll_add(w.epfd, &mut *w.client.get(), r.connfd, &r.cliaddr);
            }
        }
        if (n as usize) < size_of::<[handoff; MAXACCEPT]>() {
            return; // it was all there was
        }
    }
}

/// Serves the worker's connections; takes in those handed over, after a pass.
extern "C" fn do_work(arg: *mut c_void) -> *mut c_void {
    // SAFETY: arg is the &ws[i] main passed to pthread_create, set up before
    // it, and only read by other threads from now on.
    let w = unsafe { &*arg.cast::<worker>() };

    loop {
        // SAFETY: the worker thread alone touches its client and out, and
        // holds no other reference to them meanwhile.
        let ready =
            unsafe { epoll_pass(w.epfd, &mut *w.client.get(), w.pipefd[0], &mut *w.out.get()) };
        if !ready {
            continue;
        }
        take_over(w);
    }
}

/// Hands `connfd` to a worker: one write to `pipefd`, its pipe's write end,
/// whole (at most PIPE_BUF bytes), waiting while the pipe is full; the write
/// is retried after EINTR or EAGAIN.
fn hand_over(pipefd: c_int, connfd: c_int, cliaddr: &sockaddr_in) {
    let h = handoff {
        connfd,
        cliaddr: *cliaddr,
    };

    // SAFETY: h is size_of::<handoff>() bytes of plain data without padding.
    while unsafe { libc::write(pipefd, (&raw const h).cast(), size_of::<handoff>()) }
        != size_of::<handoff>() as isize
    {
        if errno() != libc::EINTR && errno() != libc::EAGAIN {
            perror!(c"hand-over");
            Close(connfd);
            return;
        }
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut cliaddr = sockaddr_in_zero();
    let mut noconn = ConnTable::NONE;
    let mut noout = OutBuf::new();
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
    conn_table_init(&mut noconn); // the acceptor serves no connection,
    out_init(&mut noout); // and prints nothing

    let workers = ws.0.get().cast::<worker>();
    while nworkers < nthreads {
        // SAFETY: nworkers < MAXWORKERS, and ws[nworkers] has no thread yet:
        // main alone touches it.
        let w = unsafe { &mut *workers.add(nworkers) };
        worker_init(w);
        // SAFETY: do_work has the signature pthread_create(3) expects and w
        // is in the static ws, which outlives every thread.
        let ret = unsafe {
            libc::pthread_create(&mut tid, ptr::null(), do_work, ptr::from_mut(w).cast())
        };
        if ret != 0 {
            set_errno(ret);
            perror!(c"pthread_create");
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
        if !epoll_pass(epfd, &mut noconn, listenfd, &mut noout) {
            continue;
        }
        // new connections, each to the next worker
        for _ in 0..MAXACCEPT {
            let connfd = accept_nb(listenfd, &mut cliaddr, &mut spare);
            if connfd < 0 {
                break;
            }
            // SAFETY: next < nworkers: a worker set up before its thread
            // started, whose pipefd nobody writes any more.
            hand_over(unsafe { (*workers.add(next)).pipefd[1] }, connfd, &cliaddr);
            next = (next + 1) % nworkers;
        }
    }
}
