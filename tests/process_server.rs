//! The multi-process server: a child per connection, reaped on SIGCHLD.

use harness::base::server::Server;
use harness::{Result, Twin, twin_tests};

const NAME: &str = "process_server";

/// While a client is connected its child is alive; once it leaves the child
/// is reaped, never left a zombie.
fn one_child_per_connection_reaped_on_exit(twin: Twin) -> Result<()> {
    let server = Server::start(NAME, twin)?;
    let conns = (0..3)
        .map(|_| server.connect())
        .collect::<Result<Vec<_>>>()?;
    for (i, mut c) in conns.into_iter().enumerate() {
        c.check(b"ping\n")?;
        server.serving(3 - i)?;
        c.finish()?;
    }
    server.settled()?;
    assert_eq!(server.zombies(), 0);
    assert!(server.children().is_empty());
    Ok(())
}

twin_tests!(one_child_per_connection_reaped_on_exit);
