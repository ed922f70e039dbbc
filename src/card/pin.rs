//! `OwnerPin`: a PIN with a try limit, as `javacard.framework.OwnerPIN` behaves.
//!
//! The try counter is decremented before the comparison and restored only on success, so a power
//! cut during a VERIFY can never give an attacker a free try (the image is committed with the
//! decrement whatever the result). Whether the PIN is validated is volatile and kept by the
//! applet per channel; this type holds only what persists.

use crate::crypto::SecretBytes;
use serde::{Deserialize, Serialize};

/// The result of presenting a PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinCheck {
    /// Right PIN; the counter is back at the limit.
    Verified,
    /// Wrong PIN; this many tries remain (0 means now blocked).
    Wrong { tries_left: u8 },
    /// Already blocked; nothing was compared and nothing changed.
    Blocked,
}

/// A PIN with its try limit and counter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerPin {
    value: SecretBytes,
    try_limit: u8,
    tries_left: u8,
}

impl OwnerPin {
    /// A PIN with `try_limit` tries, all remaining.
    pub fn new(value: &[u8], try_limit: u8) -> Self {
        OwnerPin { value: SecretBytes::new(value.to_vec()), try_limit, tries_left: try_limit }
    }

    pub fn tries_left(&self) -> u8 {
        self.tries_left
    }

    pub fn try_limit(&self) -> u8 {
        self.try_limit
    }

    pub fn is_blocked(&self) -> bool {
        self.tries_left == 0
    }

    /// Compares in constant time for equal lengths.
    pub fn check(&mut self, candidate: &[u8]) -> PinCheck {
        if self.is_blocked() {
            return PinCheck::Blocked;
        }
        self.tries_left -= 1;
        if ct_eq(self.value.expose(), candidate) {
            self.tries_left = self.try_limit;
            PinCheck::Verified
        } else {
            PinCheck::Wrong { tries_left: self.tries_left }
        }
    }

    /// Sets a new value; tries are restored.
    pub fn update(&mut self, value: &[u8]) {
        self.value = SecretBytes::new(value.to_vec());
        self.tries_left = self.try_limit;
    }

    /// Unblocks: tries back to the limit, value kept.
    pub fn reset_and_unblock(&mut self) {
        self.tries_left = self.try_limit;
    }

    /// Blocks the PIN (tries to 0) without changing its value.
    pub fn block(&mut self) {
        self.tries_left = 0;
    }
}

/// Equality in constant time for equal lengths.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_block_and_unblock() {
        let mut p = OwnerPin::new(b"1234", 3);
        assert_eq!(p.check(b"0000"), PinCheck::Wrong { tries_left: 2 });
        assert_eq!(p.check(b"1234"), PinCheck::Verified);
        assert_eq!(p.tries_left(), 3);
        for left in [2, 1, 0] {
            assert_eq!(p.check(b"9999"), PinCheck::Wrong { tries_left: left });
        }
        assert!(p.is_blocked());
        assert_eq!(p.check(b"1234"), PinCheck::Blocked);
        p.reset_and_unblock();
        assert_eq!(p.check(b"1234"), PinCheck::Verified);
        p.update(b"5678");
        assert_eq!(p.check(b"1234"), PinCheck::Wrong { tries_left: 2 });
        assert_eq!(p.check(b"12345"), PinCheck::Wrong { tries_left: 1 });
    }
}
