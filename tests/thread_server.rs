//! The multi-thread server: a detached thread per connection, in a slot.

#[macro_use]
mod common;

use common::{Conn, Server, Twin, accept_queue, scenarios, wait_until};
use std::sync::Barrier;
use std::thread;

const NAME: &str = "thread_server";
const MAXSLOTS: usize = 256;

fn concurrent_clients_then_nothing_left(twin: Twin) {
    scenarios::concurrent_clients_then_nothing_left(NAME, twin);
}

fn sequential_clients_after_cleanup(twin: Twin) {
    scenarios::sequential_clients_after_cleanup(NAME, twin);
}

fn restart_on_same_port(twin: Twin) {
    scenarios::restart_on_same_port(NAME, twin);
}

/// With every slot taken the server stops accepting (one thread per slot,
/// no more), and the clients beyond wait in the backlog until slots free up.
fn more_clients_than_slots(twin: Twin) {
    const EXTRA: usize = 12;
    let server = Server::start(NAME, twin);
    let conns: Vec<Conn> = (0..MAXSLOTS + EXTRA).map(|_| server.connect()).collect();
    wait_until(
        "a thread in every slot, the rest waiting to be accepted",
        || server.tasks() == 1 + MAXSLOTS && accept_queue(server.port) == Some(EXTRA),
    );

    let barrier = Barrier::new(conns.len());
    thread::scope(|s| {
        for (i, mut conn) in conns.into_iter().enumerate() {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                conn.check(format!("client {i}\n").as_bytes());
                conn.finish();
            });
        }
    });
    wait_until("one thread", || server.tasks() == 1);
}

twin_tests!(
    concurrent_clients_then_nothing_left,
    sequential_clients_after_cleanup,
    restart_on_same_port,
    more_clients_than_slots,
);

#[test]
fn stdout_same_as_twin() {
    scenarios::stdout_same_as_twin(NAME);
}
