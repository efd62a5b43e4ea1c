//! The server a Rust programmer would write instead of the classic ones:
//! `std::net::TcpListener` and a `std::thread::spawn` per connection, with
//! the same business logic. For comparison in `make bench` only; the
//! faithful programs are in `src/bin/`.
//!
//! ```text
//! std_server [PORT]     listen on 0.0.0.0:PORT (8000)
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

fn main() -> ExitCode {
    let port = match std::env::args().nth(1).map(|p| p.parse::<u16>()) {
        None => 8000,
        Some(Ok(p)) if p > 0 => p,
        Some(_) => {
            eprintln!("std_server: invalid port");
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
    println!("listening on 0.0.0.0:{port}");
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                if let Err(e) = thread::Builder::new().spawn(move || serve(stream)) {
                    eprintln!("spawn: {e}");
                }
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
    ExitCode::SUCCESS
}

/// Read, upper-case, write to stdout and back, until the client closes.
fn serve(mut stream: TcpStream) {
    let peer = stream
        .peer_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let mut buf = [0u8; 8192];
    loop {
        let n = match stream.read(&mut buf) {
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
        harness::base::reference::echo_to_stdout(&buf[..n]);
        if let Err(e) = stream.write_all(&buf[..n]) {
            eprintln!("write: {e}");
            return;
        }
    }
}
