//! The echo-upper server on tokio's current-thread runtime: one thread, an
//! event loop, a task per connection. For comparison in `make bench` only.
//!
//! ```text
//! tokio_st_server [PORT]     listen on 0.0.0.0:PORT (8000)
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    harness::base::tokio_echo::main("tokio_st_server", || {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
    })
}
