//! Host-side clients that drive any `Transport`: the test CA, GP client, TSMs, ACE, JPKI client.

pub mod ace;
pub mod ca;
pub mod gp;
pub mod jpki;
pub mod scenario;
pub mod tsm;
