//! Conditions polled against one deadline.

use crate::Result;
use std::thread;
use std::time::{Duration, Instant};

/// How long any one condition may take before it is an error.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `cond` every few milliseconds until it holds; an error naming
/// `what` once `DEADLINE` has passed.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > DEADLINE {
            return Err(format!("timed out after {DEADLINE:?} waiting for {what}"));
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}
