//! The kernel's floor: the least a server on loopback TCP can do per round
//! trip. One thread, one epoll set; each connection's bytes are read and
//! written back as they are, nothing else: no stdout, no upper-casing, no
//! line of its own but the ready one. Every figure of `make bench` is read
//! against it: what a server costs above the floor is what its model (and
//! its business logic) adds to what the kernel costs anyway.
//!
//! Level-triggered: a readable connection gets one read(2) and one
//! write(2) per wakeup, and epoll_wait(2) says again if bytes are left.
//! Edge-triggered would need a read until EAGAIN, a call more per round
//! trip, and the floor would stand higher than the servers it measures.
//! What the socket does not take at once waits for EPOLLOUT, the
//! connection not read meanwhile.
//!
//! ```text
//! floor_server [PORT]     listen on 0.0.0.0:PORT (8000)
//! ```

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;

/// Bytes read at a time, as the reference servers read.
const BUFSIZE: usize = 8192;

/// Events taken per epoll_wait(2).
const MAXEVENTS: usize = 64;

/// A connection and what of its last read the socket has not taken yet.
struct Conn {
    fd: OwnedFd,
    unsent: Vec<u8>,
}

fn main() -> ExitCode {
    let port = match std::env::args().nth(1).map(|p| p.parse::<u16>()) {
        None => 8000,
        Some(Ok(p)) if p > 0 => p,
        Some(_) => {
            eprintln!("floor_server: invalid port");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bind: {e}");
            return ExitCode::from(1);
        }
    };
    let ep = match listener
        .set_nonblocking(true)
        .and_then(|()| epoll_create())
        .and_then(|ep| {
            epoll_ctl(
                &ep,
                libc::EPOLL_CTL_ADD,
                listener.as_raw_fd(),
                libc::EPOLLIN,
            )
            .map(|()| ep)
        }) {
        Ok(ep) => ep,
        Err(e) => {
            eprintln!("epoll: {e}");
            return ExitCode::from(1);
        }
    };
    println!("listening on 0.0.0.0:{port}");
    let e = serve(&ep, &listener);
    eprintln!("epoll_wait: {e}");
    ExitCode::from(1)
}

/// The event loop; returns only epoll_wait(2)'s error.
fn serve(ep: &OwnedFd, listener: &TcpListener) -> io::Error {
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; MAXEVENTS];
    let mut buf = [0u8; BUFSIZE];
    loop {
        let n = match epoll_wait(ep, &mut events) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return e,
        };
        for ev in &events[..n] {
            let fd = ev.u64 as RawFd;
            if fd == listener.as_raw_fd() {
                accept_all(ep, listener, &mut conns);
            } else if let Some(slot) = conns.get_mut(fd as usize) {
                let open = slot.as_mut().is_some_and(|c| ready(ep, c, &mut buf));
                if !open {
                    // close(2) takes it out of the epoll set too.
                    *slot = None;
                }
            }
        }
    }
}

/// Accepts until the queue is empty, each connection nonblocking and in
/// the set for reading.
fn accept_all(ep: &OwnedFd, listener: &TcpListener, conns: &mut Vec<Option<Conn>>) {
    loop {
        let fd = match accept(listener) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => continue,
            Err(e) => {
                // Out of descriptors, say: wait, as the classic Accept does,
                // rather than spin on a listener that stays readable.
                eprintln!("accept: {e}");
                std::thread::sleep(std::time::Duration::from_millis(100));
                return;
            }
        };
        let i = fd.as_raw_fd() as usize;
        if let Err(e) = epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd.as_raw_fd(), libc::EPOLLIN) {
            eprintln!("epoll_ctl: {e}");
            continue;
        }
        if conns.len() <= i {
            conns.resize_with(i + 1, || None);
        }
        conns[i] = Some(Conn {
            fd,
            unsent: Vec::new(),
        });
    }
}

/// One step of connection `c`, readable or (with bytes unsent) writable:
/// a read and its write back, or the rest of the last one. False once it
/// is over: end of file, or an error.
fn ready(ep: &OwnedFd, c: &mut Conn, buf: &mut [u8]) -> bool {
    let waiting = !c.unsent.is_empty();
    let step = if waiting {
        write(&c.fd, &c.unsent).map(|n| {
            c.unsent.drain(..n);
        })
    } else {
        match read(&c.fd, buf) {
            Ok(0) => return false,
            Ok(n) => write(&c.fd, &buf[..n]).map(|m| c.unsent.extend_from_slice(&buf[m..n])),
            Err(e) => Err(e),
        }
    };
    match step {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
        Err(_) => return false,
    }
    if waiting == c.unsent.is_empty() {
        let want = if waiting {
            libc::EPOLLIN
        } else {
            libc::EPOLLOUT
        };
        return epoll_ctl(ep, libc::EPOLL_CTL_MOD, c.fd.as_raw_fd(), want).is_ok();
    }
    true
}

/// The result of a call that returns -1 and sets errno on failure.
fn check(rc: isize) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// epoll_create1(2) with EPOLL_CLOEXEC: a new epoll set.
fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: epoll_create1(2) takes no pointers.
    let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } as isize)?;
    // SAFETY: fd is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// epoll_ctl(2): `op` for `fd` with `events`, the descriptor as its data.
fn epoll_ctl(ep: &OwnedFd, op: i32, fd: RawFd, events: i32) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events: events as u32,
        u64: fd as u64,
    };
    // SAFETY: ev is a struct epoll_event that outlives the call.
    check(unsafe { libc::epoll_ctl(ep.as_raw_fd(), op, fd, &raw mut ev) } as isize).map(|_| ())
}

/// epoll_wait(2) with no timeout: how many of `events` it filled.
fn epoll_wait(ep: &OwnedFd, events: &mut [libc::epoll_event]) -> io::Result<usize> {
    // SAFETY: events points to events.len() writable epoll_event structs.
    let n =
        unsafe { libc::epoll_wait(ep.as_raw_fd(), events.as_mut_ptr(), events.len() as i32, -1) };
    check(n as isize)
}

/// accept4(2) with SOCK_NONBLOCK and SOCK_CLOEXEC; the peer's address is
/// not asked for.
fn accept(listener: &TcpListener) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: null address and length pointers: accept4(2) fills neither.
    let rc = unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            flags,
        )
    };
    let fd = check(rc as isize)?;
    // SAFETY: fd is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// read(2) of at most `buf.len()` bytes.
fn read(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is writable for buf.len() bytes.
    check(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
}

/// write(2) of at most `buf.len()` bytes; how many went.
fn write(fd: &OwnedFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is readable for buf.len() bytes.
    check(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
}
