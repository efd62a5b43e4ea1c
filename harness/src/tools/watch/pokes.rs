//! The clients the keys open: idle, busy, resetting, never reading, a
//! hundred at once; each closed by its key or when the view ends.

use crate::Result;
use crate::base::client::Conn;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The most clients the view keeps open.
pub const MAX_CLIENTS: usize = 1000;
/// How many lines a busy client sends at most: a minute's worth.
const BUSY_LINES: usize = 600;
/// How many bytes a client that never reads sends at most.
const UNREAD_BYTES: usize = 64 << 20;

/// What a client does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Idle,
    Busy,
    NeverReads,
}

impl Kind {
    /// The kind in a word, for the status line.
    fn word(self) -> &'static str {
        match self {
            Kind::Idle => "idle",
            Kind::Busy => "busy",
            Kind::NeverReads => "never-reading",
        }
    }
}

/// One open client: its connection, and the thread that drives it.
struct Client {
    kind: Kind,
    stream: TcpStream,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl Client {
    /// Stops its thread, then closes the connection.
    fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The clients the view has opened to one port, oldest first.
pub struct Clients {
    port: u16,
    open: Vec<Client>,
}

/// connect(2) to 127.0.0.1:`port`, a second at most.
fn connect(port: u16) -> Result<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| format!("connect: {e}"))
}

/// The local port of `s`, for the messages.
fn local(s: &TcpStream) -> u16 {
    s.local_addr().map_or(0, |a| a.port())
}

/// A line every 100 ms, each reply read, until `stop` or [`BUSY_LINES`].
fn busy(s: TcpStream, stop: Arc<AtomicBool>) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut conn = Conn(s);
    for i in 0..BUSY_LINES {
        if stop.load(Ordering::Relaxed) || conn.check(format!("line {i}\n").as_bytes()).is_err() {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Sends without ever reading, until the server's replies fill both
/// buffers and it blocks writing them; then waits for `stop`.
fn never_reads(mut s: TcpStream, stop: Arc<AtomicBool>) {
    let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
    let line = [b'x'; 1023]
        .iter()
        .chain(b"\n")
        .copied()
        .collect::<Vec<u8>>();
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) {
        if sent < UNREAD_BYTES && s.write_all(&line).is_ok() {
            sent += line.len();
        } else {
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Clients {
    pub fn new(port: u16) -> Clients {
        Clients {
            port,
            open: Vec::new(),
        }
    }

    /// How many are open.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Opens a client of `kind`; what it did, in words.
    pub fn open(&mut self, kind: Kind) -> Result<String> {
        if self.open.len() >= MAX_CLIENTS {
            return Err(format!("{MAX_CLIENTS} clients open already"));
        }
        let stream = connect(self.port)?;
        let port = local(&stream);
        let stop = Arc::new(AtomicBool::new(false));
        let worker = match kind {
            Kind::Idle => None,
            Kind::Busy => Some(Self::spawn(&stream, &stop, busy)?),
            Kind::NeverReads => Some(Self::spawn(&stream, &stop, never_reads)?),
        };
        self.open.push(Client {
            kind,
            stream,
            stop,
            worker,
        });
        Ok(format!("{} client from :{port}", kind.word()))
    }

    /// A thread running `drive` on a copy of `stream`.
    fn spawn(
        stream: &TcpStream,
        stop: &Arc<AtomicBool>,
        drive: fn(TcpStream, Arc<AtomicBool>),
    ) -> Result<JoinHandle<()>> {
        let s = stream.try_clone().map_err(|e| e.to_string())?;
        let stop = stop.clone();
        Ok(thread::spawn(move || drive(s, stop)))
    }

    /// Connects and resets at once (SO_LINGER 0): the server reads ECONNRESET.
    pub fn reset(&mut self) -> Result<String> {
        let stream = connect(self.port)?;
        let port = local(&stream);
        Conn(stream).reset()?;
        Ok(format!("client from :{port} reset"))
    }

    /// `n` idle clients; stops at the first that cannot connect.
    pub fn burst(&mut self, n: usize) -> Result<String> {
        for i in 0..n {
            if let Err(e) = self.open(Kind::Idle) {
                return Err(format!("{i} of {n} connected, then {e}"));
            }
        }
        Ok(format!("{n} idle clients"))
    }

    /// Closes the newest client.
    pub fn close_newest(&mut self) -> String {
        match self.open.pop() {
            Some(c) => {
                let what = format!("{} client from :{} closed", c.kind.word(), local(&c.stream));
                c.close();
                what
            }
            None => "no client to close".to_string(),
        }
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        for c in self.open.drain(..).rev() {
            c.close();
        }
    }
}
