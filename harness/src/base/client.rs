//! Client connections to a server on 127.0.0.1, with timeouts so that
//! nothing can hang on them, and the messages the servers must echo.

use crate::Result;
use crate::base::wait::DEADLINE;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;

/// One client connection.
pub struct Conn(pub TcpStream);

impl Conn {
    pub fn to(port: u16) -> Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(DEADLINE))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(DEADLINE))
            .map_err(|e| e.to_string())?;
        Ok(Conn(s))
    }

    /// A connection from 127.0.0.1:`src` to `port`. The socket is bound
    /// with SO_REUSEADDR, so that a port whose last connection still lies
    /// in TIME_WAIT can be bound again; `connect` then fails with
    /// EADDRNOTAVAIL until it may take that connection's addresses over
    /// (`tcp_tw_reuse`: on loopback, once a second has passed since its
    /// last segment), and is tried again until then.
    pub fn from(src: u16, port: u16) -> Result<Conn> {
        let mut last = String::new();
        let mut conn = None;
        crate::base::wait::wait_until(&format!("a connection from port {src}"), || {
            match connect_from(src, port) {
                Ok(s) => conn = Some(s),
                Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => last = e.to_string(),
                Err(e) => {
                    last = e.to_string();
                    return true;
                }
            }
            conn.is_some()
        })
        .map_err(|e| format!("{e}: {last}"))?;
        let s = conn.ok_or_else(|| format!("connect from port {src}: {last}"))?;
        s.set_read_timeout(Some(DEADLINE))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(DEADLINE))
            .map_err(|e| e.to_string())?;
        Ok(Conn(s))
    }

    /// Sends `msg` and returns exactly as many bytes of reply.
    pub fn round_trip(&mut self, msg: &[u8]) -> Result<Vec<u8>> {
        self.0.write_all(msg).map_err(|e| format!("send: {e}"))?;
        let mut reply = vec![0; msg.len()];
        self.0
            .read_exact(&mut reply)
            .map_err(|e| format!("reply: {e}"))?;
        Ok(reply)
    }

    /// Sends `msg` and checks that the reply is its upper-cased copy.
    pub fn check(&mut self, msg: &[u8]) -> Result<()> {
        let reply = self.round_trip(msg)?;
        if reply != upper(msg) {
            return Err(format!(
                "wrong reply to {:?}: {:?}",
                preview(msg),
                preview(&reply)
            ));
        }
        Ok(())
    }

    /// Reads until the server's end of file; what came before it.
    pub fn read_to_end(&mut self) -> Result<Vec<u8>> {
        let mut rest = Vec::new();
        self.0
            .read_to_end(&mut rest)
            .map_err(|e| format!("read to EOF: {e}"))?;
        Ok(rest)
    }

    /// Closes the writing side and waits for the server's end of file,
    /// with nothing after the last reply.
    pub fn finish(mut self) -> Result<()> {
        self.0
            .shutdown(Shutdown::Write)
            .map_err(|e| format!("shutdown: {e}"))?;
        let rest = self.read_to_end()?;
        if !rest.is_empty() {
            return Err(format!(
                "unexpected bytes after the last reply: {:?}",
                preview(&rest)
            ));
        }
        Ok(())
    }

    /// Closes with SO_LINGER 0: the server gets a reset, not an end of file.
    pub fn reset(self) -> Result<()> {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: linger is a struct linger of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                self.0.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(format!("SO_LINGER: {}", std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

/// What the servers make of `msg`: a–z upper-cased, every other byte kept.
pub fn upper(msg: &[u8]) -> Vec<u8> {
    msg.to_ascii_uppercase()
}

/// The first bytes of `b`, for a message.
fn preview(b: &[u8]) -> String {
    let shown = String::from_utf8_lossy(&b[..b.len().min(64)]).into_owned();
    if b.len() > 64 {
        format!("{shown}… ({} bytes)", b.len())
    } else {
        shown
    }
}

/// Every byte value, in order.
pub fn all_bytes() -> Vec<u8> {
    (0..=255).collect()
}

/// `count` messages from client `id` that together hold every byte value.
pub fn messages(id: usize, count: usize) -> Vec<Vec<u8>> {
    let mut next = id * 37;
    (0..count)
        .map(|m| {
            let len = 1 + (m * 97 + id * 13) % 300;
            (0..len)
                .map(|_| {
                    next += 1;
                    (next % 256) as u8
                })
                .collect()
        })
        .collect()
}

/// A server's stdout with each client's ephemeral port masked: the one
/// thing that differs between two runs of the same session.
pub fn mask_ports(out: &str) -> String {
    let mut masked = String::new();
    for line in out.split_inclusive('\n') {
        match line.find(" at PORT ") {
            Some(i) if line.starts_with("received from ") => {
                masked.push_str(&line[..i]);
                masked.push_str(" at PORT N\n");
            }
            _ => masked.push_str(line),
        }
    }
    masked
}

/// Runs `story` on each connection in a thread of its own, all released at
/// once; the first error.
pub fn at_once(conns: Vec<Conn>, story: impl Fn(usize, Conn) -> Result<()> + Sync) -> Result<()> {
    let barrier = std::sync::Barrier::new(conns.len());
    std::thread::scope(|s| {
        let threads: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(id, conn)| {
                let (story, barrier) = (&story, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    story(id, conn)
                })
            })
            .collect();
        threads
            .into_iter()
            .try_for_each(|t| t.join().unwrap_or_else(|_| Err("a client panicked".into())))
    })
}

/// Sends client `id`'s `count` messages, each checked, then finishes.
pub fn talk(id: usize, count: usize, mut conn: Conn) -> Result<()> {
    for msg in messages(id, count) {
        conn.check(&msg)?;
    }
    conn.finish()
}

/// socket(2), SO_REUSEADDR, bind(2) to 127.0.0.1:`src`, connect(2) to
/// 127.0.0.1:`port`.
fn connect_from(src: u16, port: u16) -> std::io::Result<TcpStream> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let sockaddr = |p: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: p.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let check = |r: i32| {
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(r)
        }
    };
    // SAFETY: socket(2) takes no pointers.
    let fd =
        check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fd is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    let (from, to) = (sockaddr(src), sockaddr(port));
    // SAFETY: each pointer is to a local of the size passed with it.
    unsafe {
        check(libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&raw const one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ))?;
        check(libc::bind(fd.as_raw_fd(), (&raw const from).cast(), len))?;
        check(libc::connect(fd.as_raw_fd(), (&raw const to).cast(), len))?;
    }
    Ok(TcpStream::from(fd))
}
