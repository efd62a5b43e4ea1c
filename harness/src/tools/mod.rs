//! The top layer: the tools. `trace_compare`, `explain`, `bench`,
//! `mutants` and `watch`, each on the layers below ([`crate::trace`],
//! [`crate::base`]) and none on another tool.

pub mod bench;
pub mod compare;
pub mod explain;
pub mod mutants;
#[cfg(feature = "watch")]
pub mod watch;
