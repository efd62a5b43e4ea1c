//! The multi-thread server: a detached thread per connection, in a slot.

use concserv::slots::MAXSLOTS;
use harness::base::client::{Conn, at_once};
use harness::base::procfs::accept_queue;
use harness::base::{server::Server, wait::wait_until};
use harness::{Result, Twin, twin_tests};

const NAME: &str = "thread_server";

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

    at_once(conns, |i, mut conn| {
        conn.check(format!("client {i}\n").as_bytes())?;
        conn.finish()
    })?;
    server.settled()
}

twin_tests!(more_clients_than_slots);
