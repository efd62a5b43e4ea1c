//! The echo-upper server as a Rust programmer would write it on tokio: a
//! task per connection, the same business logic and printed lines as the
//! classic servers. The bins `tokio_st_server` (current-thread runtime) and
//! `tokio_mt_server` (multi-thread runtime) run it; `make bench` measures
//! them beside the others. The programs of `src/` keep `libc` as their only
//! dependency: tokio is the harness's.

use std::net::SocketAddr;
use std::process::ExitCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

/// `NAME [PORT]`: listens on 0.0.0.0:PORT (8000) on the runtime `rt` makes.
pub fn main(name: &str, rt: impl FnOnce() -> std::io::Result<Runtime>) -> ExitCode {
    let port = match std::env::args().nth(1).map(|p| p.parse::<u16>()) {
        None => 8000,
        Some(Ok(p)) if p > 0 => p,
        Some(_) => {
            eprintln!("{name}: invalid port");
            return ExitCode::from(2);
        }
    };
    let rt = match rt() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(serve_all(port))
}

/// Accepts connections, a task for each.
async fn serve_all(port: u16) -> ExitCode {
    let listener = match TcpListener::bind(("0.0.0.0", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bind: {e}");
            return ExitCode::from(1);
        }
    };
    println!("listening on 0.0.0.0:{port}");
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(serve(stream, peer));
            }
            Err(e) => {
                // Out of descriptors, say: wait, as the classic Accept does,
                // rather than spin.
                eprintln!("accept: {e}");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

/// Read, upper-case, write to stdout and back, until the client closes.
async fn serve(mut stream: TcpStream, peer: SocketAddr) {
    let mut buf = [0u8; 8192];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => {
                println!("the other side has been closed.");
                return;
            }
            Ok(n) => n,
            Err(e) => {
                eprintln!("read: {e}");
                return;
            }
        };
        println!("received from {} at PORT {}", peer.ip(), peer.port());
        buf[..n].make_ascii_uppercase();
        crate::base::reference::echo_to_stdout(&buf[..n]);
        if let Err(e) = stream.write_all(&buf[..n]).await {
            eprintln!("write: {e}");
            return;
        }
    }
}
