//! Application identifiers (ISO 7816-4 §8.2.1.2, 5 to 16 bytes).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An AID of 5-16 bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Aid(Vec<u8>);

/// Why bytes are not an AID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an AID is 5 to 16 bytes of hex, got {0}")]
pub struct AidError(String);

impl Aid {
    /// An AID from bytes; `None` unless 5-16 bytes long.
    pub fn new(b: &[u8]) -> Option<Aid> {
        (5..=16).contains(&b.len()).then(|| Aid(b.to_vec()))
    }

    /// From a constant known to be valid.
    ///
    /// # Panics
    /// When the length is outside 5-16 (a programming error).
    // A wrong constant is a programming error (the documented panic), never card input.
    #[allow(clippy::expect_used)]
    pub fn from_static(b: &[u8]) -> Aid {
        Aid::new(b).expect("static AID must be 5-16 bytes")
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether this AID begins with `prefix` (partial selection, ISO 7816-4 §11.2.2.2).
    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.0.starts_with(prefix)
    }
}

impl fmt::Display for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(&self.0))
    }
}

impl fmt::Debug for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aid({self})")
    }
}

impl FromStr for Aid {
    type Err = AidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = crate::hexutil::parse_hex(s).map_err(|_| AidError(s.to_string()))?;
        Aid::new(&b).ok_or_else(|| AidError(s.to_string()))
    }
}
