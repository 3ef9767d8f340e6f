//! Test doubles for Estrade's core, shared by its tests instead of private
//! copies in each test file: a scripted Janus on an in-memory link
//! ([`scripted`]), fake peer connections ([`peers`]), and a class machine run
//! on virtual time against a Janus that is a pure function ([`virtual_class`]).
//! Fakes are for tests of logic only: everything they stand for runs for real
//! in the repository's `tests/`.

#![allow(clippy::unwrap_used)] // test doubles: a poisoned lock is a failed test

pub mod peers;
pub mod scripted;
pub mod virtual_class;
