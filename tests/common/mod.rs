//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a part

pub mod apdutool;
pub mod capcard;
pub mod cards;
pub mod e2e;
pub mod piv;
