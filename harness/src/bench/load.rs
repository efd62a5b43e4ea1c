//! The load generator: real clients on loopback, bounded by time and by
//! count, checking every reply byte. Connection rate uses a blocking thread
//! per client; round trips multiplex all clients over a few threads with
//! epoll, so that 256 clients cost the generator 2 threads, not 256.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// No run counts more than this, whatever its length.
const MAX_COUNT: u64 = 50_000_000;
/// Threads multiplexing the persistent clients.
const RT_THREADS: usize = 2;

use crate::Result;

fn connect(port: u16) -> Result<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// A message of `len` bytes for client `id`, and the reply it must get.
fn message(id: usize, len: usize) -> (Vec<u8>, Vec<u8>) {
    let msg: Vec<u8> = (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i + id) % 36])
        .collect();
    let reply = msg.to_ascii_uppercase();
    (msg, reply)
}

/// One connection: connect, one 16-byte round trip, close.
pub fn one_connection(port: u16, id: usize) -> Result<()> {
    connection(port, id, || Ok(()))
}

/// [`one_connection`], running `before_close` between the reply and the close.
pub fn connection(port: u16, id: usize, before_close: impl FnOnce() -> Result<()>) -> Result<()> {
    let (msg, reply) = message(id, 16);
    let mut s = connect(port)?;
    s.write_all(&msg).map_err(|e| format!("send: {e}"))?;
    let mut got = [0u8; 16];
    s.read_exact(&mut got).map_err(|e| format!("reply: {e}"))?;
    if got[..] != reply[..] {
        return Err(format!("wrong reply {got:?}"));
    }
    before_close()
}

/// Connections per second with `clients` clients, each connecting, making
/// one 16-byte round trip and closing, over and over, for `secs` seconds.
pub fn connection_rate(port: u16, clients: usize, secs: f64) -> Result<f64> {
    let count = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|id| {
                let count = &count;
                s.spawn(move || -> Result<()> {
                    while Instant::now() < deadline && count.load(Ordering::Relaxed) < MAX_COUNT {
                        one_connection(port, id)?;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().unwrap())
    })?;
    Ok(count.into_inner() as f64 / start.elapsed().as_secs_f64())
}

/// Round trips per second and latency percentiles, in microseconds.
pub struct RoundTrips {
    pub per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// A persistent client's state in the round-trip loop.
struct Client {
    stream: TcpStream,
    msg: Vec<u8>,
    reply: Vec<u8>,
    got: Vec<u8>,
    sent_at: Instant,
}

/// `clients` persistent clients, each sending a 64-byte message and waiting
/// for its whole reply before the next, for `secs` seconds.
pub fn round_trips(port: u16, clients: usize, secs: f64) -> Result<RoundTrips> {
    let mut all = Vec::with_capacity(clients);
    for id in 0..clients {
        let (msg, reply) = message(id, 64);
        let mut stream = connect(port)?;
        // One blocking round trip first: the server has a worker for it.
        stream.write_all(&msg).map_err(|e| e.to_string())?;
        let mut got = vec![0u8; 64];
        stream.read_exact(&mut got).map_err(|e| e.to_string())?;
        stream.set_nonblocking(true).map_err(|e| e.to_string())?;
        all.push(Client {
            stream,
            msg,
            reply,
            got: Vec::with_capacity(64),
            sent_at: Instant::now(),
        });
    }
    let mut groups: Vec<Vec<Client>> = (0..RT_THREADS).map(|_| Vec::new()).collect();
    for (i, c) in all.into_iter().enumerate() {
        groups[i % RT_THREADS].push(c);
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let results: Vec<Result<Vec<u32>>> = thread::scope(|s| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|g| s.spawn(move || drive(g, deadline)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat = Vec::new();
    for r in results {
        lat.extend(r?);
    }
    if lat.is_empty() {
        return Err("no round trip completed".into());
    }
    lat.sort_unstable();
    let pct = |p: f64| f64::from(lat[((lat.len() - 1) as f64 * p) as usize]);
    Ok(RoundTrips {
        per_sec: lat.len() as f64 / elapsed,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    })
}

/// One thread's share of the clients, until `deadline`; returns the latency
/// of every completed round trip, in microseconds.
fn drive(mut clients: Vec<Client>, deadline: Instant) -> Result<Vec<u32>> {
    // SAFETY: epoll_create1(2) takes no pointers.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err("epoll_create1 failed".into());
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: ev is a valid epoll_event; the fd is the client's open socket.
        if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, c.stream.as_raw_fd(), &mut ev) } < 0 {
            return Err("epoll_ctl failed".into());
        }
        send(c)?;
    }
    let mut lat = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; clients.len()];
    let mut buf = [0u8; 64];
    while Instant::now() < deadline && (lat.len() as u64) < MAX_COUNT {
        // SAFETY: events has room for the count passed.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 100) };
        for ev in &events[..n.max(0) as usize] {
            let c = &mut clients[ev.u64 as usize];
            loop {
                match c.stream.read(&mut buf[..64 - c.got.len()]) {
                    Ok(0) => return Err("the server closed a connection".into()),
                    Ok(k) => c.got.extend_from_slice(&buf[..k]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(format!("read: {e}")),
                }
                if c.got.len() == 64 {
                    if c.got != c.reply {
                        return Err("wrong reply".into());
                    }
                    lat.push(c.sent_at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    c.got.clear();
                    send(c)?;
                    break;
                }
            }
        }
    }
    // SAFETY: ep is this function's own epoll descriptor.
    unsafe { libc::close(ep) };
    Ok(lat)
}

/// Sends the client's message; 64 bytes always fit an idle socket's buffer.
fn send(c: &mut Client) -> Result<()> {
    c.sent_at = Instant::now();
    match c.stream.write(&c.msg) {
        Ok(64) => Ok(()),
        Ok(k) => Err(format!("short send of {k} bytes")),
        Err(e) => Err(format!("send: {e}")),
    }
}
