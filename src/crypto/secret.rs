//! Secret byte strings (keys, PINs) that zeroize on drop and never show in Debug output or logs.

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Key or PIN material. `Debug` prints only the length; the bytes are wiped when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize, Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(b: impl Into<Vec<u8>>) -> Self {
        SecretBytes(b.into())
    }
    /// The secret itself; callers must not log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_hides_the_bytes() {
        let s = super::SecretBytes::new(vec![0x40, 0x41]);
        assert_eq!(format!("{s:?}"), "SecretBytes(<2 bytes>)");
    }
}
