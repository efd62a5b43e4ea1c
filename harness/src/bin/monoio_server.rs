//! The echo-upper server on monoio, the thread-per-core io_uring runtime,
//! written as monoio's own echo example writes it: a task per connection,
//! buffers lent to the ring and handed back with each result (`read`,
//! `write_all`), the same business logic and printed lines as the tokio
//! servers. For comparison in `make bench` only.
//!
//! One thread, one ring: monoio's model is a runtime per core that shares
//! nothing, each thread with a listener of its own on SO_REUSEPORT and no
//! task moving between them. That is `reuseport_server`'s model, not
//! tokio-mt's work stealing; one core of it is the peer of tokio-st and of
//! `uring_server`, the classic one-thread io_uring loop.
//!
//! io_uring only: the epoll driver monoio could fall back to is not built,
//! so the figures are always io_uring's. A kernel that refuses io_uring
//! (ENOSYS, or EPERM under kernel.io_uring_disabled or a seccomp filter)
//! ends the server with one line on stderr and status 1.
//!
//! ```text
//! monoio_server [PORT]     listen on 0.0.0.0:PORT (8000)
//! ```

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{ListenerOpts, TcpListener, TcpStream};
use monoio::{IoUringDriver, RuntimeBuilder};
use std::net::SocketAddr;
use std::process::ExitCode;

fn main() -> ExitCode {
    let port = match std::env::args().nth(1).map(|p| p.parse::<u16>()) {
        None => 8000,
        Some(Ok(p)) if p > 0 => p,
        Some(_) => {
            eprintln!("monoio_server: invalid port");
            return ExitCode::from(2);
        }
    };
    let mut rt = match RuntimeBuilder::<IoUringDriver>::new().build() {
        Ok(rt) => rt,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
            eprintln!(
                "monoio_server: io_uring_setup: {e}: this kernel refuses io_uring (see /proc/sys/kernel/io_uring_disabled)"
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("monoio_server: runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(serve_all(port))
}

/// Accepts connections, a task for each.
async fn serve_all(port: u16) -> ExitCode {
    // monoio's listeners take SO_REUSEPORT by default: without it, as the
    // others bind, a port already taken is an error, not shared.
    let opts = ListenerOpts::new().reuse_port(false);
    let listener = match TcpListener::bind_with_config(("0.0.0.0", port), &opts) {
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
                monoio::spawn(serve(stream, peer));
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
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut res;
    loop {
        (res, buf) = stream.read(buf).await;
        match res {
            Ok(0) => {
                println!("the other side has been closed.");
                return;
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("read: {e}");
                return;
            }
        }
        println!("received from {} at PORT {}", peer.ip(), peer.port());
        buf.make_ascii_uppercase();
        harness::base::reference::echo_to_stdout(&buf);
        (res, buf) = stream.write_all(buf).await;
        if let Err(e) = res {
            eprintln!("write: {e}");
            return;
        }
        buf.clear();
    }
}
