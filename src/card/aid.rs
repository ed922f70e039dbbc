//! Application identifiers: the type lives at the bottom ([`crate::aid`]), since the protocol
//! layer names AIDs too.

pub use crate::aid::*;
