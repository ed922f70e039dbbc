//! Host-side clients that drive any `Transport`: the test CA, GP client, TSMs, ACE, JPKI client.

pub mod ace;
pub mod ca;
pub mod channel;
pub mod gp;
pub mod harness;
pub mod jpki;
pub mod scenario;
pub mod tsm;
