//! Stories that both servers, and both twins of each, must get through.

use super::*;
use std::sync::Barrier;

/// Twenty clients at once, each sending messages that together hold every
/// byte value, get byte-exact replies; once they leave, the server is back to
/// one process (no zombies) or one thread, with the descriptors it started with.
pub fn concurrent_clients_then_nothing_left(name: &str, twin: Twin) {
    const CLIENTS: usize = 20;
    let server = Server::start(name, twin);
    let fds_at_start = server.fds();
    let barrier = Barrier::new(CLIENTS);

    thread::scope(|s| {
        for id in 0..CLIENTS {
            let (server, barrier) = (&server, &barrier);
            s.spawn(move || {
                let mut conn = server.connect();
                barrier.wait();
                for msg in messages(id, 40) {
                    conn.check(&msg);
                }
                conn.finish();
            });
        }
    });

    wait_until("no children, zombie or alive", || {
        server.children().is_empty()
    });
    wait_until("one thread", || server.tasks() == 1);
    wait_until("descriptors back to the start", || {
        server.fds() == fds_at_start
    });
}

/// Clients one after another, each waiting until the server has cleaned up
/// after the last: a process server has then been interrupted in `accept` by
/// SIGCHLD, and must have retried it.
pub fn sequential_clients_after_cleanup(name: &str, twin: Twin) {
    let server = Server::start(name, twin);
    for round in 0..5 {
        let mut conn = server.connect();
        conn.check(format!("round {round}: hello\n").as_bytes());
        conn.finish();
        wait_until("no children", || server.children().is_empty());
        wait_until("one thread", || server.tasks() == 1);
    }
    let (out, _) = server.stop();
    assert_eq!(
        out.matches("the other side has been closed.\n").count(),
        5,
        "{out}"
    );
}

/// A server killed while it holds a connection comes back on the same port at
/// once (SO_REUSEADDR), and serves.
pub fn restart_on_same_port(name: &str, twin: Twin) {
    let mut first = Server::start(name, twin);
    let mut conn = first.connect();
    conn.check(b"still here\n");
    first.kill();

    let second = Server::start_on(name, twin, first.port);
    second.connect().check(b"served again\n");
    drop(conn);
}

/// The same scripted session gives the same stdout from the Rust program and
/// its C twin, but for the clients' ephemeral ports.
pub fn stdout_same_as_twin(name: &str) {
    let port = free_port();
    let outputs: Vec<String> = TWINS
        .iter()
        .map(|&twin| {
            let server = Server::start_on(name, twin, port);
            for (i, text) in ["hello\n", "Mixed Case 123 \u{e9}\n"].iter().enumerate() {
                let mut conn = server.connect();
                conn.check(text.as_bytes());
                conn.check(b"second message\n");
                conn.finish();
                wait_until("the closed message", || {
                    server.stdout.text().matches("closed.\n").count() > i
                });
            }
            mask_ports(&server.stop().0)
        })
        .collect();
    assert!(
        outputs[0].contains("received from 127.0.0.1 at PORT N\nHELLO\n"),
        "{}",
        outputs[0]
    );
    assert_eq!(outputs[0], outputs[1], "Rust and C stdout differ");
}
