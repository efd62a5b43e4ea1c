//! The load generator: real clients on loopback, bounded by time and by
//! count, checking every reply byte. Connection rate uses a blocking thread
//! per client; the curves open N connections one after another and keep
//! them, and a few of them make round trips, multiplexed over two threads
//! with epoll, so that 10,000 clients cost the generator two threads.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// No run counts more than this, whatever its length.
const MAX_COUNT: u64 = 50_000_000;
/// Threads multiplexing the persistent clients.
const RT_THREADS: usize = 2;

use crate::Result;

/// How long a new connection may wait for its connect and its first reply
/// before the server is taken not to hold it.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(3);

fn connect(port: u16) -> Result<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let s = TcpStream::connect_timeout(&addr, OPEN_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// What a server sends back: the bytes upper-cased (every server of the
/// table, and the references), or as they came (the floor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Echo {
    Upper,
    Same,
}

/// A message of `len` bytes for client `id`, and the reply it must get.
fn message(id: usize, len: usize, echo: Echo) -> (Vec<u8>, Vec<u8>) {
    let msg: Vec<u8> = (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i + id) % 36])
        .collect();
    let reply = match echo {
        Echo::Upper => msg.to_ascii_uppercase(),
        Echo::Same => msg.clone(),
    };
    (msg, reply)
}

/// One connection: connect, one 16-byte round trip, close.
pub fn one_connection(port: u16, id: usize, echo: Echo) -> Result<()> {
    connection((port, echo), id, 1, || Ok(()))
}

/// A connection making `trips` 16-byte round trips, running `after_each`
/// after each reply (the last one's just before the close).
pub fn connection(
    (port, echo): (u16, Echo),
    id: usize,
    trips: usize,
    after_each: impl Fn() -> Result<()>,
) -> Result<()> {
    let (msg, reply) = message(id, 16, echo);
    let mut s = connect(port)?;
    for _ in 0..trips {
        s.write_all(&msg).map_err(|e| format!("send: {e}"))?;
        let mut got = [0u8; 16];
        s.read_exact(&mut got).map_err(|e| format!("reply: {e}"))?;
        if got[..] != reply[..] {
            return Err(format!("wrong reply {got:?}"));
        }
        after_each()?;
    }
    Ok(())
}

/// Connections per second with `clients` clients, each connecting, making
/// one 16-byte round trip and closing, over and over, for `secs` seconds.
pub fn connection_rate((port, echo): (u16, Echo), clients: usize, secs: f64) -> Result<f64> {
    let count = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|id| {
                let count = &count;
                s.spawn(move || -> Result<()> {
                    while Instant::now() < deadline && count.load(Ordering::Relaxed) < MAX_COUNT {
                        one_connection(port, id, echo)?;
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

/// Connections held open, each having made one round trip.
pub struct Open {
    pub streams: Vec<TcpStream>,
}

/// Why the server held no more connections than it did.
pub struct Refused {
    pub opened: Open,
    pub why: String,
}

/// Opens `n` connections one after another, each making one 64-byte round
/// trip, so that the server serves every one; stops at the first the
/// server does not answer within [`OPEN_TIMEOUT`], or closes.
pub fn open((port, echo): (u16, Echo), n: usize) -> std::result::Result<Open, Refused> {
    let mut opened = Open {
        streams: Vec::with_capacity(n),
    };
    for id in 0..n {
        match open_one(port, id, echo) {
            Ok(s) => opened.streams.push(s),
            Err(why) => {
                return Err(Refused {
                    opened,
                    why: format!("connection {}: {why}", id + 1),
                });
            }
        }
    }
    Ok(opened)
}

fn open_one(port: u16, id: usize, echo: Echo) -> Result<TcpStream> {
    let (msg, reply) = message(id, 64, echo);
    let mut s = connect(port)?;
    s.set_read_timeout(Some(OPEN_TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.write_all(&msg).map_err(|e| format!("send: {e}"))?;
    let mut got = vec![0u8; 64];
    match s.read_exact(&mut got) {
        Ok(()) if got == reply => Ok(s),
        Ok(()) => Err("wrong reply".into()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(format!("no reply within {} s", OPEN_TIMEOUT.as_secs()))
        }
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
            Err("closed by the server before its reply".into())
        }
        Err(e) => Err(format!("reply: {e}")),
    }
}

impl Open {
    /// `k` of the connections, drawn at random with `seed`: the same
    /// ones, for the same seed and count, whatever the server. A server
    /// cannot know which of its connections will be busy; a set chosen
    /// by a rule (every hundredth) may fall in step with the server's
    /// own (a round robin over two workers).
    pub fn draw(&self, k: usize, seed: u64) -> Vec<&TcpStream> {
        draw(self.streams.len(), k, seed)
            .into_iter()
            .map(|i| &self.streams[i])
            .collect()
    }
}

/// `k` distinct indices below `n` (all, when k ≥ n), in order, drawn
/// with `seed`: a partial Fisher–Yates shuffle driven by SplitMix64, an
/// algorithm written out here so that a seed names the same set in every
/// build.
pub fn draw(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut all: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = i + (next() % (n - i) as u64) as usize;
        all.swap(i, j);
    }
    let mut chosen = all[..k].to_vec();
    chosen.sort_unstable();
    chosen
}

/// Round trips per second and latency percentiles, in microseconds.
pub struct RoundTrips {
    pub count: u64,
    pub per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// A persistent client's state in the round-trip loop.
struct Client<'a> {
    stream: &'a TcpStream,
    msg: Vec<u8>,
    reply: Vec<u8>,
    got: Vec<u8>,
    sent_at: Instant,
}

/// The clients `active` (open connections, each idle), each sending a
/// 64-byte message and waiting for its whole reply before the next, for
/// `secs` seconds.
pub fn round_trips(active: &[&TcpStream], echo: Echo, secs: f64) -> Result<RoundTrips> {
    let mut groups: Vec<Vec<Client>> = (0..RT_THREADS).map(|_| Vec::new()).collect();
    for (id, &stream) in active.iter().enumerate() {
        let (msg, reply) = message(id, 64, echo);
        stream.set_nonblocking(true).map_err(|e| e.to_string())?;
        groups[id % RT_THREADS].push(Client {
            stream,
            msg,
            reply,
            got: Vec::with_capacity(64),
            sent_at: Instant::now(),
        });
    }
    groups.retain(|g| !g.is_empty());
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
        count: lat.len() as u64,
        per_sec: lat.len() as f64 / elapsed,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    })
}

/// One thread's share of the clients, until `deadline`; returns the latency
/// of every completed round trip, in microseconds. A round trip still
/// under way at the deadline is waited for, so that the connections are
/// idle again when it returns.
fn drive(mut clients: Vec<Client>, deadline: Instant) -> Result<Vec<u32>> {
    // SAFETY: epoll_create1(2) takes no pointers.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err("epoll_create1 failed".into());
    }
    let result = drive_on(ep, &mut clients, deadline);
    // SAFETY: ep is this function's own epoll descriptor.
    unsafe { libc::close(ep) };
    result
}

fn drive_on(ep: i32, clients: &mut [Client], deadline: Instant) -> Result<Vec<u32>> {
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
    let mut waiting = clients.len();
    let hard_stop = deadline + Duration::from_secs(10);
    while waiting > 0 {
        let now = Instant::now();
        if now > hard_stop {
            return Err("replies still missing 10 s after the run".into());
        }
        let running = now < deadline && (lat.len() as u64) < MAX_COUNT;
        // SAFETY: events has room for the count passed.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 100) };
        for ev in &events[..n.max(0) as usize] {
            let c = &mut clients[ev.u64 as usize];
            loop {
                let mut stream = c.stream;
                match stream.read(&mut buf[..64 - c.got.len()]) {
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
                    if running {
                        send(c)?;
                    } else {
                        waiting -= 1;
                    }
                    break;
                }
            }
        }
    }
    Ok(lat)
}

/// Sends the client's message; 64 bytes always fit an idle socket's buffer.
fn send(c: &mut Client) -> Result<()> {
    c.sent_at = Instant::now();
    let mut stream = c.stream;
    match stream.write(&c.msg) {
        Ok(64) => Ok(()),
        Ok(k) => Err(format!("short send of {k} bytes")),
        Err(e) => Err(format!("send: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::draw;

    #[test]
    fn a_seed_draws_the_same_distinct_set_every_time() {
        let a = draw(1000, 10, 1);
        assert_eq!(a, draw(1000, 10, 1));
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a[9] < 1000, "{a:?}");
        assert_ne!(a, draw(1000, 10, 2));
        assert_eq!(draw(10, 10, 7), (0..10).collect::<Vec<_>>());
        assert_eq!(draw(5, 10, 7), (0..5).collect::<Vec<_>>());
    }

    /// Drawn at random, not in step with a round robin: over 200 draws,
    /// odd and even connections are drawn about as often, where "every
    /// hundredth" drew only even ones.
    #[test]
    fn draws_fall_on_both_parities() {
        let odd: usize = (1..=200)
            .map(|seed| draw(1000, 10, seed).iter().filter(|&&i| i % 2 == 1).count())
            .sum();
        assert!((800..1200).contains(&odd), "{odd} odd of 2000");
    }
}
