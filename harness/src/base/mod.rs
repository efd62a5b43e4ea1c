//! The bottom layer: waiting against one deadline, what `/proc` says,
//! processes and servers, each server's model, client connections and
//! which task serves each, scratch directories, and what the reference
//! servers share. It uses nothing of the crate's above it.

pub mod client;
pub mod dir;
pub mod holders;
pub mod model;
pub mod port;
pub mod process;
pub mod procfs;
pub mod pty;
pub mod reference;
pub mod server;
pub mod sockdiag;
pub mod syscalls;
#[cfg(feature = "tokio")]
pub mod tokio_echo;
pub mod wait;
