//! For the tests: run a story on every server of the table, both twins, in
//! parallel, and fail with every failure, readably.

use crate::{Model, Result, Twin};
use std::thread;

/// Runs `story`: passes, or fails the test with the error as it reads.
pub fn pass(story: impl FnOnce() -> Result<()>) {
    if let Err(e) = story() {
        panic!("{e}");
    }
}

/// Runs `story` on each server whose model `select` picks, Rust and C, all
/// at once; fails the test with every failure, named.
pub fn each_server(
    select: impl Fn(&Model) -> bool,
    story: impl Fn(&str, Twin) -> Result<()> + Sync,
) {
    let runs: Vec<(&str, Twin)> = crate::servers()
        .filter(|p| select(p.model().unwrap()))
        .flat_map(|p| Twin::BOTH.map(|t| (p.name, t)))
        .collect();
    assert!(!runs.is_empty(), "no server fits");
    let failures: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|&(name, twin)| {
                let story = &story;
                (name, twin, s.spawn(move || story(name, twin)))
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|(name, twin, h)| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{name} ({twin:?}): {e}")),
                Err(_) => Some(format!("{name} ({twin:?}): panicked")),
            })
            .collect()
    });
    if !failures.is_empty() {
        panic!(
            "{} of {} failed:\n{}",
            failures.len(),
            runs.len(),
            failures.join("\n")
        );
    }
}

/// Every server.
pub fn all(_: &Model) -> bool {
    true
}

/// Declares each named story `fn name(twin: Twin) -> Result<()>` as two
/// tests, `name::rust` and `name::c`.
#[macro_export]
macro_rules! twin_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn rust() {
                $crate::testing::pass(|| super::$name($crate::Twin::Rust))
            }
            #[test]
            fn c() {
                $crate::testing::pass(|| super::$name($crate::Twin::C))
            }
        }
    )*};
}
