//! The accept queue of a listening TCP socket and its size, the backlog,
//! as `ss -l` shows them: /proc/net/tcp has the first but not the second,
//! which only the kernel's socket diagnostics (sock_diag(7)) tell.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `SOCK_DIAG_BY_FAMILY`, linux/sock_diag.h.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `TCP_LISTEN`, the state the request asks for.
const TCP_LISTEN: u32 = 10;

/// `struct inet_diag_sockid`, linux/inet_diag.h.
#[repr(C)]
#[derive(Clone, Copy)]
struct SockId {
    sport: u16,
    dport: u16,
    src: [u32; 4],
    dst: [u32; 4],
    interface: u32,
    cookie: [u32; 2],
}

/// `struct inet_diag_req_v2` behind its `struct nlmsghdr`.
#[repr(C)]
struct Request {
    nl: libc::nlmsghdr,
    family: u8,
    protocol: u8,
    ext: u8,
    pad: u8,
    states: u32,
    id: SockId,
}

/// `struct inet_diag_msg`: what the kernel answers for each socket.
#[repr(C)]
#[derive(Clone, Copy)]
struct Msg {
    family: u8,
    state: u8,
    timer: u8,
    retrans: u8,
    id: SockId,
    expires: u32,
    rqueue: u32,
    wqueue: u32,
    uid: u32,
    inode: u32,
}

const _: () = assert!(size_of::<SockId>() == 48);
const _: () = assert!(size_of::<Request>() == 16 + 56);
const _: () = assert!(size_of::<Msg>() == 72);

/// socket(2) AF_NETLINK NETLINK_SOCK_DIAG, with a second's receive timeout.
fn open() -> Option<OwnedFd> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let tv = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: setsockopt(2) reads a timeval, which tv is.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const tv).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    Some(fd)
}

/// The listening TCP sockets of `family` (AF_INET, AF_INET6), each as
/// (port, queued, backlog); None if the kernel does not answer.
fn listening(family: i32) -> Option<Vec<(u16, usize, usize)>> {
    let fd = open()?;
    // SAFETY: every field of Request is an integer, for which zero is valid.
    let mut req: Request = unsafe { std::mem::zeroed() };
    req.nl.nlmsg_len = size_of::<Request>() as u32;
    req.nl.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nl.nlmsg_flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    req.family = family as u8;
    req.protocol = libc::IPPROTO_TCP as u8;
    req.states = 1 << TCP_LISTEN;
    // SAFETY: send(2) reads the request, of the size passed.
    let sent = unsafe {
        libc::send(
            fd.as_raw_fd(),
            (&raw const req).cast(),
            size_of::<Request>(),
            0,
        )
    };
    if sent < 0 {
        return None;
    }
    let mut found = Vec::new();
    let mut buf = vec![0u8; 32768];
    // A dump of many listeners comes in several datagrams; a bounded number.
    for _ in 0..1000 {
        // SAFETY: recv(2) writes at most buf.len() bytes into buf.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n <= 0 || parse(&buf[..n as usize], &mut found) {
            return Some(found);
        }
    }
    Some(found)
}

/// Adds the sockets of one datagram of netlink messages to `found`;
/// whether the dump is done (NLMSG_DONE, or an error).
fn parse(mut data: &[u8], found: &mut Vec<(u16, usize, usize)>) -> bool {
    let head = size_of::<libc::nlmsghdr>();
    while data.len() >= head {
        // SAFETY: data holds at least a header's bytes; read_unaligned
        // copies them out whatever their alignment.
        let nl: libc::nlmsghdr = unsafe { std::ptr::read_unaligned(data.as_ptr().cast()) };
        let len = (nl.nlmsg_len as usize).max(head);
        match i32::from(nl.nlmsg_type) {
            libc::NLMSG_DONE | libc::NLMSG_ERROR => return true,
            _ if data.len() >= head + size_of::<Msg>() => {
                // SAFETY: as for the header, the message's bytes follow it.
                let m: Msg = unsafe { std::ptr::read_unaligned(data[head..].as_ptr().cast()) };
                found.push((
                    u16::from_be(m.id.sport),
                    m.rqueue as usize,
                    m.wqueue as usize,
                ));
            }
            _ => {}
        }
        let step = (len + 3) & !3;
        data = data.get(step..).unwrap_or_default();
    }
    false
}

/// The accept queue of the socket listening on `port`, IPv4 or IPv6:
/// the connections waiting in it and its size (the backlog `listen`
/// was given, capped by net.core.somaxconn).
pub fn listen_queue(port: u16) -> Option<(usize, usize)> {
    [libc::AF_INET, libc::AF_INET6]
        .into_iter()
        .filter_map(listening)
        .flatten()
        .find(|&(p, _, _)| p == port)
        .map(|(_, queued, backlog)| (queued, backlog))
}
