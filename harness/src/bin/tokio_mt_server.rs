//! The echo-upper server on tokio's multi-thread runtime: a worker thread
//! per core, tasks stolen between them, a task per connection; the accept
//! loop runs in `block_on` on the main thread, as under `#[tokio::main]`.
//! For comparison in `make bench` only.
//!
//! ```text
//! tokio_mt_server [PORT]     listen on 0.0.0.0:PORT (8000)
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    harness::base::tokio_echo::main("tokio_mt_server", || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_io()
            .build()
    })
}
