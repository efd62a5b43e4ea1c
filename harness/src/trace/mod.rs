//! The middle layer: tracing. strace's scripted session and its fault
//! table, the normaliser of its lines, the kernel ring's reader, stack
//! traces, symbols, ELF, a running program's variables read by name, and
//! the check of each call's site. It uses the bottom layer
//! ([`crate::base`]) alone; the tools use it.

pub mod check;
pub mod elf;
pub mod faults;
pub mod memory;
pub mod normalize;
pub mod ring;
pub mod session;
pub mod stack;
pub mod symbols;
