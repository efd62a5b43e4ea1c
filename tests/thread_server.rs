//! The multi-thread server: a detached thread per connection, in a slot.

use harness::client::Conn;
use harness::process::{Server, wait_until};
use harness::procfs::accept_queue;
use harness::{Result, Twin, twin_tests};
use std::sync::Barrier;
use std::thread;

const NAME: &str = "thread_server";
const MAXSLOTS: usize = 256;

/// With every slot taken the server stops accepting (one thread per slot,
/// no more), and the clients beyond wait in the backlog until slots free up.
fn more_clients_than_slots(twin: Twin) -> Result<()> {
    const EXTRA: usize = 12;
    let server = Server::start(NAME, twin)?;
    let conns = (0..MAXSLOTS + EXTRA)
        .map(|_| server.connect())
        .collect::<Result<Vec<Conn>>>()?;
    wait_until(
        "a thread in every slot, the rest waiting to be accepted",
        || server.tasks() == 1 + MAXSLOTS && accept_queue(server.port) == Some(EXTRA),
    )?;

    let barrier = Barrier::new(conns.len());
    thread::scope(|s| {
        let clients: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(i, mut conn)| {
                let barrier = &barrier;
                s.spawn(move || -> Result<()> {
                    barrier.wait();
                    conn.check(format!("client {i}\n").as_bytes())?;
                    conn.finish()
                })
            })
            .collect();
        clients.into_iter().try_for_each(|c| c.join().unwrap())
    })?;
    server.settled()
}

twin_tests!(more_clients_than_slots);
