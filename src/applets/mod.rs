//! Built-in applets: the modules whose implementation the emulator has.

pub mod ara_m;
pub mod jpki;
pub mod testapp;
