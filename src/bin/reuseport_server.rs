//! THREADS threads, each with its own listening socket on the same port
//! (SO_REUSEPORT) and its own epoll loop; the kernel spreads the
//! connections over the sockets (twin of `reuseport_server.c`).
#![no_std]
#![no_main]
#![allow(non_upper_case_globals)]

use concserv::accept::{MAXACCEPT, accept_nb, open_spare};
use concserv::args::{check_args, port_arg, threads_arg};
use concserv::conn::{ConnTable, conn_table_init};
use concserv::epoll_loop::{epoll_add, epoll_open, epoll_pass};
use concserv::fdutil::set_nonblock;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen_reuseport;
use concserv::outbuf::{OutBuf, out_close, out_open};
use concserv::prethread::{
    MAXTHREADS, prethread_init, prethread_served, prethread_start, prethread_wait, threads_online,
};
use concserv::wrap::{Close, sockaddr_in_zero};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::ptr;

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), THREADS threads (default: one per online CPU)\n  created at start, each with its own SO_REUSEPORT listening socket and epoll loop";

/// One thread's listening socket, epoll set, spare descriptor (its own),
/// connections and stdout.
struct Listener {
    listenfd: c_int,
    epfd: c_int,
    /// The thread's alone, once it runs.
    spare: UnsafeCell<c_int>,
    /// The thread's alone, once it runs.
    client: UnsafeCell<ConnTable>,
    /// The thread's alone, once it runs.
    out: UnsafeCell<OutBuf>,
}

/// The listeners, set up by the main thread before each one's thread starts.
struct Listeners(UnsafeCell<[Listener; MAXTHREADS]>);

// SAFETY: the main thread fills in ls[i] before pthread_create, which orders
// those writes before the thread's reads; afterwards thread i alone touches
// ls[i] (its spare, client and out each in an UnsafeCell), and the main
// thread only frees those whose thread never started.
unsafe impl Sync for Listeners {}

static ls: Listeners = Listeners(UnsafeCell::new(
    [const {
        Listener {
            listenfd: -1,
            epfd: -1,
            spare: UnsafeCell::new(-1),
            client: UnsafeCell::new(ConnTable::NONE),
            out: UnsafeCell::new(OutBuf::new()),
        }
    }; MAXTHREADS],
));

/// A listening socket of the port's group (in the order they are made:
/// which socket a connection goes to depends on it), non-blocking, in an
/// epoll set of its own; its spare, its empty table, its stdout. Made
/// here, in order, rather than in the threads, whose race for the lowest
/// free descriptor would number the spares differently from run to run.
fn listener_init(l: &mut Listener, port: c_int) {
    l.listenfd = tcp_listen_reuseport(port);
    set_nonblock(l.listenfd);
    l.epfd = epoll_open(l.listenfd);
    *l.spare.get_mut() = open_spare();
    conn_table_init(l.client.get_mut());
    out_open(l.out.get_mut());
}

/// Undoes [`listener_init`], for a socket whose thread could not be started.
fn listener_free(l: &mut Listener) {
    Close(*l.spare.get_mut());
    Close(l.epfd);
    Close(l.listenfd);
    out_close(l.out.get_mut());
}

/// Thread `i`: serves the connections of its own socket with epoll; for ever.
extern "C" fn do_work(arg: *mut c_void) -> *mut c_void {
    let mut cliaddr = sockaddr_in_zero();
    let i = arg.addr() as c_int;
    // SAFETY: main set up ls[i] before starting this thread, which alone
    // touches it from now on.
    let l = unsafe { &(*ls.0.get())[i as usize] };

    loop {
        // SAFETY: this thread alone touches l's client, out and spare, and
        // holds no other reference to them meanwhile.
        let ready =
            unsafe { epoll_pass(l.epfd, &mut *l.client.get(), l.listenfd, &mut *l.out.get()) };
        if !ready {
            continue;
        }
        // new connections, after the pass
        for _ in 0..MAXACCEPT {
            // SAFETY: as above.
            let connfd = accept_nb(l.listenfd, &mut cliaddr, unsafe { &mut *l.spare.get() });
            if connfd < 0 {
                break;
            }
            prethread_served(i);
            // SAFETY: as above.
            epoll_add(l.epfd, unsafe { &mut *l.client.get() }, connfd, &cliaddr);
        }
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let (port, mut nthreads) = unsafe {
        check_args(argc, argv, 2, USAGE);
        let port = port_arg(argc, argv, 1, USAGE);
        (
            port,
            threads_arg(argc, argv, 2, 0, MAXTHREADS as c_int, USAGE),
        )
    };
    if nthreads == 0 {
        // none given
        nthreads = threads_online(1);
    }
    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listeners = ls.0.get().cast::<Listener>();
    for i in 0..nthreads as usize {
        // SAFETY: i < nthreads <= MAXTHREADS, and no thread runs yet.
        listener_init(unsafe { &mut *listeners.add(i) }, port);
    }
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    prethread_init();
    // SAFETY: argv[0] is main's.
    let started = prethread_start(nthreads, do_work, unsafe { CStr::from_ptr(*argv) });
    for i in started as usize..nthreads as usize {
        // its clients, if any came, are reset
        // SAFETY: i < MAXTHREADS, and ls[i]'s thread never started.
        listener_free(unsafe { &mut *listeners.add(i) });
    }

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    prethread_wait()
}
