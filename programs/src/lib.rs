//! The table of programs, as data: every program, its C twin's sources, its
//! model (what a server looks like at rest and while it serves), and the
//! demos. A crate of its own, with no dependencies: the product crate's
//! build.rs compiles the C twins from it; the harness re-exports it for the
//! tests, `trace_compare` and `bench`; its `programs` binary answers the
//! Makefile (`programs make`, `programs help`, `programs unknown`). A new
//! server is its two source files, one row here, and its `[[bin]]` in the
//! root Cargo.toml.

/// A system call a task can be seen blocked in (`/proc/PID/task/TID/syscall`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Accept,
    Read,
    Futex,
    EpollWait,
    Poll,
    Select,
    /// `fcntl(2)` F_SETLKW: a child waiting for a record lock.
    Fcntl,
    /// `recvmsg(2)`: a child waiting for a descriptor over its socketpair.
    Recvmsg,
    /// `io_uring_enter(2)`: waiting for completions.
    UringEnter,
}

/// Who serves a connection once it is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Worker {
    /// The main task itself, one connection at a time, blocked in `read`.
    Main,
    /// A child process per connection, blocked in `read` while it waits.
    Child,
    /// A thread per connection, blocked in `read` while it waits.
    Thread,
    /// No one task per connection: an event loop watches them all.
    Loop,
    /// Child processes forked at start, each serving one connection at a
    /// time, blocked in `read` while it waits.
    Prefork(Children),
    /// Threads created at start, each serving one connection at a time,
    /// blocked in `read` while it waits (the same fields as a preforked
    /// server's children).
    Prethread(Children),
}

/// The children a preforked server makes before its clients come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Children {
    /// How many (the session passes this number as CHILDREN).
    pub n: usize,
    /// Where the child that takes the next connection waits for it.
    pub idle_in: Call,
    /// Where the others wait for their turn (a lock), if not there too.
    pub queued_in: Option<Call>,
}

/// Threads a server starts once, whatever its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    /// How many (the session passes this number where the program takes one).
    pub threads: usize,
    /// The call each of them blocks in while there is nothing to do.
    pub idle_in: Call,
    /// Whether each has a listening socket of its own (SO_REUSEPORT).
    pub listens: bool,
}

/// What "settled" and "serving" mean for a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Model {
    /// The call the main task blocks in while it waits for clients.
    pub main_idle_in: Call,
    /// Who serves each connection.
    pub worker: Worker,
    /// The system call that creates a worker (`clone` for `fork`, `clone3`
    /// for `pthread_create`), if the server creates one per connection.
    pub spawn: Option<&'static str>,
    /// Threads started once, beside the main one.
    pub pool: Option<Pool>,
    /// Whether finished children are left as zombies (the lesson of one program).
    pub leaves_zombies: bool,
    /// The most connections it serves at once by design (one for the
    /// iterative server, its slots for a thread server), if it has such a
    /// bound; past it, a new client waits in the accept queue. The bench
    /// measures it up to this many, and takes any other stop for a failure.
    pub holds: Option<usize>,
}

/// What a program is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A server: `NAME [PORT]`.
    Server(Model),
    /// The client: `client [HOST [PORT]]`, lines from stdin.
    Client,
    /// A test driver, not for users.
    Driver,
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Program {
    /// The executable's name, the same for both twins.
    pub name: &'static str,
    /// The name `make run-SHORT`, `strace-SHORT`, `explain-SHORT` and
    /// `watch-SHORT` know it by.
    pub short: &'static str,
    /// One line for `make help`.
    pub about: &'static str,
    /// The C twin's sources (from the repository's root) and compiler flags.
    pub c_sources: &'static [&'static str],
    pub kind: Kind,
    /// What the scripted sessions pass after the port (a pool's size, say).
    pub session_args: &'static [&'static str],
}

impl Program {
    /// The server's model, if it is a server.
    pub fn model(&self) -> Option<&Model> {
        match &self.kind {
            Kind::Server(m) => Some(m),
            _ => None,
        }
    }
}

/// How build.rs compiles and links every C twin (and the tests that build
/// one again). `-g` for line tables (make explain maps each system call to
/// its line). `-z now` and `-z relro`: linked as rustc links the Rust
/// programs (`readelf -d` shows `BIND_NOW` in both), so that neither twin
/// resolves its symbols lazily, in every forked child again, and the
/// benchmark compares the languages rather than a linker flag.
/// `-fno-crossjumping`: at -O2 GCC merges the same call ending two
/// branches (the parent's `Close(connfd)` and the fork-failure branch's)
/// into one instruction, and gives it one of the two lines, perhaps the
/// one that did not run; `-fno-optimize-sibling-calls`: a call ending a
/// function (`return listen_on(...)`) stays a call, so that its caller
/// stays on the stack strace prints. Neither changes a system call.
pub const C_FLAGS: &[&str] = &[
    "-O2",
    "-g",
    "-fno-crossjumping",
    "-fno-optimize-sibling-calls",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wl,-z,now",
    "-Wl,-z,relro",
];

/// The sources every server's twin is built from, besides its own.
macro_rules! server_sources {
    ($main:literal $(, $more:literal)*) => {
        &[$main, "src/listen.c", "src/echo.c", "src/args.c", "src/wrap.c" $(, $more)*]
    };
}

/// The sources every event-loop server's twin is built from, besides its own
/// and [`server_sources`]'s: one module per job (see each one's header);
/// the epoll loops add `src/epoll_loop.c`.
macro_rules! loop_sources {
    ($main:literal $(, $more:literal)*) => {
        server_sources!(
            $main,
            "src/fdutil.c",
            "src/accept.c",
            "src/outbuf.c",
            "src/conn.c"
            $(, $more)*
        )
    };
}

/// The sources of the coroutine servers' twins, besides their own and
/// its switch: the event loops' modules ([`loop_sources`]), the
/// coroutines (`coro.c`), their calls (`coio.c`) and the server
/// (`coserver.c`). `-fstack-clash-protection`: a frame larger than a page
/// (serve's, with its MAXLINE buffer) touches each of its pages in turn,
/// as rustc's stack probes do in the Rust twin, so that a stack too small
/// faults in its guard page rather than past it.
macro_rules! coroutine_sources {
    ($main:literal, $switch:literal) => {
        loop_sources!(
            $main,
            "src/epoll_loop.c",
            "src/coro.c",
            "src/coio.c",
            "src/coserver.c",
            $switch,
            "-fstack-clash-protection"
        )
    };
}

/// The children the scripted sessions (tests, comparison, bench) give a
/// preforked server: two, so that which child takes each connection is
/// set by the kernel's order alone. With more, an fcntl lock's release
/// wakes every waiter, and whichever runs first takes it.
pub const PREFORK_SESSION_CHILDREN: &str = "2";

/// A preforked server's model: its parent waits in `main_idle_in`; its
/// children ([`PREFORK_SESSION_CHILDREN`] of them) as [`Children`] says;
/// it holds as many connections at once as it has children.
const fn prefork_model(main_idle_in: Call, idle_in: Call, queued_in: Option<Call>) -> Model {
    Model {
        main_idle_in,
        worker: Worker::Prefork(Children {
            n: 2,
            idle_in,
            queued_in,
        }),
        spawn: None,
        pool: None,
        leaves_zombies: false,
        holds: Some(2),
    }
}

/// The threads the scripted sessions give a prethreaded server: two, as
/// the preforked servers' children, for the same reason.
pub const PRETHREAD_SESSION_THREADS: &str = "2";

/// A prethreaded server's model: its main thread waits in `main_idle_in`;
/// its threads ([`PRETHREAD_SESSION_THREADS`] of them) as [`Children`]
/// says; it serves as many connections at once as it has threads.
const fn prethread_model(main_idle_in: Call, idle_in: Call, queued_in: Option<Call>) -> Model {
    Model {
        main_idle_in,
        worker: Worker::Prethread(Children {
            n: 2,
            idle_in,
            queued_in,
        }),
        spawn: None,
        pool: None,
        leaves_zombies: false,
        holds: Some(2),
    }
}

pub const PROGRAMS: &[Program] = &[
    Program {
        name: "process_server",
        short: "process",
        about: "a child process per connection, reaped on SIGCHLD",
        c_sources: server_sources!("src/bin/process_server.c"),
        kind: Kind::Server(Model {
            main_idle_in: Call::Accept,
            worker: Worker::Child,
            spawn: Some("clone"),
            pool: None,
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &[],
    },
    Program {
        name: "thread_server",
        short: "thread",
        about: "a detached thread per connection",
        c_sources: server_sources!("src/bin/thread_server.c", "src/slots.c", "-pthread"),
        kind: Kind::Server(Model {
            main_idle_in: Call::Accept,
            worker: Worker::Thread,
            spawn: Some("clone3"),
            pool: None,
            leaves_zombies: false,
            holds: Some(256),
        }),
        session_args: &[],
    },
    Program {
        name: "iterative_server",
        short: "iterative",
        about: "one client at a time: the blocking baseline",
        c_sources: server_sources!("src/bin/iterative_server.c"),
        kind: Kind::Server(Model {
            main_idle_in: Call::Accept,
            worker: Worker::Main,
            spawn: None,
            pool: None,
            leaves_zombies: false,
            holds: Some(1),
        }),
        session_args: &[],
    },
    Program {
        name: "zombie_server",
        short: "zombie",
        about: "a child process per connection, never reaped: zombies",
        c_sources: server_sources!("src/bin/zombie_server.c"),
        kind: Kind::Server(Model {
            main_idle_in: Call::Accept,
            worker: Worker::Child,
            spawn: Some("clone"),
            pool: None,
            leaves_zombies: true,
            holds: None,
        }),
        session_args: &[],
    },
    Program {
        name: "sigign_server",
        short: "sigign",
        about: "a child process per connection, SIGCHLD ignored: the kernel reaps",
        c_sources: server_sources!("src/bin/sigign_server.c"),
        kind: Kind::Server(Model {
            main_idle_in: Call::Accept,
            worker: Worker::Child,
            spawn: Some("clone"),
            pool: None,
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &[],
    },
    Program {
        name: "reaper_server",
        short: "reaper",
        about: "a joinable thread per connection, joined by a reaper thread",
        c_sources: server_sources!("src/bin/reaper_server.c", "src/slots.c", "-pthread"),
        kind: Kind::Server(Model {
            main_idle_in: Call::Accept,
            worker: Worker::Thread,
            spawn: Some("clone3"),
            pool: Some(Pool {
                threads: 1,
                idle_in: Call::Futex,
                listens: false,
            }),
            leaves_zombies: false,
            holds: Some(256),
        }),
        session_args: &[],
    },
    Program {
        name: "select_server",
        short: "select",
        about: "one thread, every connection in a select loop",
        c_sources: loop_sources!("src/bin/select_server.c"),
        kind: Kind::Server(Model {
            main_idle_in: Call::Select,
            worker: Worker::Loop,
            spawn: None,
            pool: None,
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &[],
    },
    Program {
        name: "poll_server",
        short: "poll",
        about: "one thread, every connection in a poll loop",
        c_sources: loop_sources!("src/bin/poll_server.c"),
        kind: Kind::Server(Model {
            main_idle_in: Call::Poll,
            worker: Worker::Loop,
            spawn: None,
            pool: None,
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &[],
    },
    Program {
        name: "epoll_server",
        short: "epoll",
        about: "one thread, every connection in an epoll loop",
        c_sources: loop_sources!("src/bin/epoll_server.c", "src/epoll_loop.c"),
        kind: Kind::Server(Model {
            main_idle_in: Call::EpollWait,
            worker: Worker::Loop,
            spawn: None,
            pool: None,
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &[],
    },
    Program {
        name: "coroutine_server",
        short: "coroutine",
        about: "one thread, a coroutine per connection, switched by swapcontext",
        c_sources: coroutine_sources!("src/bin/coroutine_server.c", "src/uctx.c"),
        kind: Kind::Server(Model {
            main_idle_in: Call::EpollWait,
            worker: Worker::Loop,
            spawn: None,
            pool: None,
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &[],
    },
    Program {
        name: "fiber_server",
        short: "fiber",
        about: "one thread, a coroutine per connection, switched by our own fiber_swap",
        c_sources: coroutine_sources!("src/bin/fiber_server.c", "src/fiber.c"),
        kind: Kind::Server(Model {
            main_idle_in: Call::EpollWait,
            worker: Worker::Loop,
            spawn: None,
            pool: None,
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &[],
    },
    Program {
        name: "pool_server",
        short: "pool",
        about: "an acceptor and a pool of threads, each with its own epoll loop",
        c_sources: loop_sources!("src/bin/pool_server.c", "src/epoll_loop.c", "-pthread"),
        kind: Kind::Server(Model {
            main_idle_in: Call::EpollWait,
            worker: Worker::Loop,
            spawn: None,
            pool: Some(Pool {
                threads: 2,
                idle_in: Call::EpollWait,
                listens: false,
            }),
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &["2"],
    },
    Program {
        name: "prefork_server",
        short: "prefork",
        about: "CHILDREN processes forked at start, each in accept, no lock",
        c_sources: server_sources!("src/bin/prefork_server.c", "src/prefork.c"),
        kind: Kind::Server(prefork_model(Call::Poll, Call::Accept, None)),
        session_args: &[PREFORK_SESSION_CHILDREN],
    },
    Program {
        name: "prefork_lock_server",
        short: "prefork_lock",
        about: "CHILDREN processes forked at start, accept serialised by an fcntl lock",
        c_sources: server_sources!("src/bin/prefork_lock_server.c", "src/prefork.c"),
        kind: Kind::Server(prefork_model(Call::Poll, Call::Accept, Some(Call::Fcntl))),
        session_args: &[PREFORK_SESSION_CHILDREN],
    },
    Program {
        name: "prefork_mutex_server",
        short: "prefork_mutex",
        about: "CHILDREN processes forked at start, accept serialised by a process-shared mutex",
        c_sources: server_sources!(
            "src/bin/prefork_mutex_server.c",
            "src/prefork.c",
            "-pthread"
        ),
        kind: Kind::Server(prefork_model(Call::Poll, Call::Accept, Some(Call::Futex))),
        session_args: &[PREFORK_SESSION_CHILDREN],
    },
    Program {
        name: "prefork_passfd_server",
        short: "prefork_passfd",
        about: "CHILDREN processes forked at start; the parent accepts and passes each descriptor",
        c_sources: server_sources!(
            "src/bin/prefork_passfd_server.c",
            "src/prefork.c",
            "src/fdutil.c",
            "src/accept.c"
        ),
        kind: Kind::Server(prefork_model(Call::Poll, Call::Recvmsg, None)),
        session_args: &[PREFORK_SESSION_CHILDREN],
    },
    Program {
        name: "herd_server",
        short: "herd",
        about: "CHILDREN processes forked at start, each in epoll_wait: the thundering herd",
        c_sources: server_sources!(
            "src/bin/herd_server.c",
            "src/prefork.c",
            "src/fdutil.c",
            "src/accept.c"
        ),
        kind: Kind::Server(prefork_model(Call::Poll, Call::EpollWait, None)),
        session_args: &[PREFORK_SESSION_CHILDREN, "exclusive"],
    },
    Program {
        name: "prethread_server",
        short: "prethread",
        about: "THREADS threads created at start, accept serialised by a mutex",
        c_sources: server_sources!("src/bin/prethread_server.c", "src/prethread.c", "-pthread"),
        kind: Kind::Server(prethread_model(Call::Poll, Call::Accept, Some(Call::Futex))),
        session_args: &[PRETHREAD_SESSION_THREADS],
    },
    Program {
        name: "prethread_queue_server",
        short: "prethread_queue",
        about: "THREADS threads created at start, fed through a queue by the accepting main thread",
        c_sources: server_sources!(
            "src/bin/prethread_queue_server.c",
            "src/prethread.c",
            "src/fdutil.c",
            "src/accept.c",
            "-pthread"
        ),
        kind: Kind::Server(prethread_model(Call::Poll, Call::Futex, None)),
        session_args: &[PRETHREAD_SESSION_THREADS],
    },
    Program {
        name: "reuseport_server",
        short: "reuseport",
        about: "THREADS threads, each with its own SO_REUSEPORT listening socket and epoll loop",
        c_sources: loop_sources!(
            "src/bin/reuseport_server.c",
            "src/epoll_loop.c",
            "src/prethread.c",
            "-pthread"
        ),
        kind: Kind::Server(Model {
            main_idle_in: Call::Poll,
            worker: Worker::Loop,
            spawn: None,
            pool: Some(Pool {
                threads: 2,
                idle_in: Call::EpollWait,
                listens: true,
            }),
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &[PRETHREAD_SESSION_THREADS],
    },
    Program {
        name: "uring_server",
        short: "uring",
        about: "one thread, every read, write and accept queued in an io_uring ring",
        c_sources: server_sources!(
            "src/bin/uring_server.c",
            "src/uring.c",
            "src/fdutil.c",
            "src/outbuf.c"
        ),
        kind: Kind::Server(Model {
            main_idle_in: Call::UringEnter,
            worker: Worker::Loop,
            spawn: None,
            pool: None,
            leaves_zombies: false,
            holds: None,
        }),
        session_args: &[],
    },
    Program {
        name: "client",
        short: "client",
        about: "sends stdin's lines to a server, prints the replies",
        c_sources: &["src/bin/client.c", "src/args.c", "src/wrap.c"],
        kind: Kind::Client,
        session_args: &[],
    },
    Program {
        name: "wrap_driver",
        short: "wrap_driver",
        about: "runs one wrapper for the tests",
        c_sources: &["tests/drivers/wrap_driver.c", "src/wrap.c"],
        kind: Kind::Driver,
        session_args: &[],
    },
];

/// The C headers the twins include.
pub const HEADERS: &[&str] = &[
    "src/accept.h",
    "src/args.h",
    "src/conn.h",
    "src/coio.h",
    "src/coro.h",
    "src/coserver.h",
    "src/echo.h",
    "src/epoll_loop.h",
    "src/fdutil.h",
    "src/fiber.h",
    "src/listen.h",
    "src/outbuf.h",
    "src/prefork.h",
    "src/prethread.h",
    "src/slots.h",
    "src/uctx.h",
    "src/uring.h",
    "src/wrap.h",
];

/// The demos (`make demo-NAME`, the `demo` tool), each named after its
/// program (the last three after their family: `herd`, `prethread` and
/// `coroutine`, which shows `fiber` too).
pub const DEMOS: &[&str] = &[
    "iterative",
    "zombie",
    "sigign",
    "reaper",
    "prefork",
    "herd",
    "herd-exclusive",
    "prethread",
    "coroutine",
];

/// The demos' other names: `zombies`, the zombie demo's first name.
pub const DEMO_ALIASES: &[&str] = &["zombies"];

/// The row of the program called `name` (or known by `short`).
pub fn find(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name || p.short == name)
}
