//! `make mutants`: named mutations of the programs (and of the harness's
//! own checks), each a small edit that breaks one property a test claims
//! to guard. Each is applied to a scratch copy of the work tree, built,
//! and the tests that must catch it are run there: a mutant those tests
//! fail on is killed; one they pass is a test that does not check what
//! its name says. An edit whose text is not found exactly once is stale,
//! and fails the run like a survivor: the list must follow the code.
//! The list is [`catalogue`] and [`tool_mutants`]; what runs it, [`runner`].

pub mod catalogue;
pub mod runner;
pub mod tool_mutants;
