//! The card's global PIN: the Cardholder Verification Method that `GPSystem.getCVM(
//! CVM_GLOBAL_PIN)` hands applets (GP Card API v1.7 `org.globalplatform.CVM`, GPCS v2.3 §8.2.2).
//!
//! One per card, shared by every application (that is what makes it global): its value, try
//! limit, try counter and BLOCKED state persist in the card image; whether it was submitted or
//! validated in this card session is volatile ([`CvmSession`], cleared by every reset). The state
//! machine is the API's: NOT_READY until both the value and the try limit have been set, then
//! ACTIVE, INVALID_SUBMISSION, VALIDATED or BLOCKED. Changing the value, the try limit or the
//! BLOCKED state needs the CVM Management privilege (GPCS T11-7 byte 1 `02`); comparing does not.
//!
//! The try counter is decremented before the comparison and restored only on success, as
//! [`super::OwnerPin`] does, so a power cut during a comparison never gives a free try; the
//! counter does not follow a transaction in progress (the API: "shall not revert to a previous
//! value if a transaction in progress is aborted"): it lives in the card image, not in the VM's
//! heap.

use super::pin::ct_eq;
use crate::crypto::SecretBytes;
use serde::{Deserialize, Serialize};

/// The longest value accepted (bytes as stored): the API sets no bound; 16 holds any PIN an
/// ISO 9564 format or PIV uses.
pub const MAX_VALUE_LEN: usize = 16;

/// How a CVM value is coded (`CVM.FORMAT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CvmFormat {
    /// `FORMAT_ASCII` (1): one character per byte.
    Ascii,
    /// `FORMAT_BCD` (2): digits on nibbles, left justified, an odd length padded with `F`.
    Bcd,
    /// `FORMAT_HEX` (3): binary.
    Hex,
}

impl CvmFormat {
    /// The format of a `bFormat` argument; `None` for an unknown one.
    pub fn from_byte(b: u8) -> Option<CvmFormat> {
        match b {
            1 => Some(CvmFormat::Ascii),
            2 => Some(CvmFormat::Bcd),
            3 => Some(CvmFormat::Hex),
            _ => None,
        }
    }
}

/// The persistent part of the global PIN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalPin {
    value: Option<(CvmFormat, SecretBytes)>,
    try_limit: Option<u8>,
    tries: u8,
    blocked: bool,
}

/// What happened in this card session (volatile: every reset clears it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CvmSession {
    /// No comparison since the CVM last became ACTIVE.
    #[default]
    None,
    /// INVALID_SUBMISSION: the last comparison failed.
    InvalidSubmission,
    /// VALIDATED.
    Validated,
}

/// The digits of a value that is all decimal digits in its format (ASCII `'0'..='9'`; BCD
/// nibbles `0-9` with at most one trailing `F` pad); `None` when it is not.
fn digits(format: CvmFormat, v: &[u8]) -> Option<Vec<u8>> {
    match format {
        CvmFormat::Ascii => v.iter().map(|c| c.is_ascii_digit().then(|| c - b'0')).collect(),
        CvmFormat::Bcd => {
            let nibbles: Vec<u8> = v.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
            let n = match nibbles.last() {
                Some(0x0F) => nibbles.len() - 1,
                _ => nibbles.len(),
            };
            nibbles[..n].iter().all(|d| *d <= 9).then(|| nibbles[..n].to_vec())
        }
        CvmFormat::Hex => None,
    }
}

/// Whether a value is consistent with its format (`update`): ASCII printable characters, BCD
/// digits (pad `F` only in the last nibble), HEX anything; never empty or longer than
/// [`MAX_VALUE_LEN`].
fn consistent(format: CvmFormat, v: &[u8]) -> bool {
    if v.is_empty() || v.len() > MAX_VALUE_LEN {
        return false;
    }
    match format {
        CvmFormat::Ascii => v.iter().all(|c| (0x20..0x7F).contains(c)),
        CvmFormat::Bcd => digits(format, v).is_some(),
        CvmFormat::Hex => true,
    }
}

/// One `CVM` method call, with its arguments (`bFormat` as it came).
#[derive(Clone, Copy, Debug)]
pub enum CvmCall<'a> {
    IsActive,
    IsSubmitted,
    IsVerified,
    IsBlocked,
    GetTriesRemaining,
    Update(&'a [u8], u8),
    ResetState,
    BlockState,
    ResetAndUnblockState,
    SetTryLimit(i8),
    Verify(&'a [u8], u8),
}

impl GlobalPin {
    /// Runs one `CVM` method for an application (`may_manage`: it has the CVM Management
    /// privilege) and returns its Java value: booleans as 0/1, the try counter, and for `verify`
    /// `CVM_SUCCESS` (0) or `CVM_FAILURE` (-1).
    pub fn call(&mut self, may_manage: bool, call: CvmCall<'_>, s: &mut CvmSession) -> i16 {
        let b = i16::from;
        match call {
            CvmCall::IsActive => b(self.is_active()),
            CvmCall::IsSubmitted => b(self.is_submitted(*s)),
            CvmCall::IsVerified => b(self.is_verified(*s)),
            CvmCall::IsBlocked => b(self.is_blocked()),
            CvmCall::GetTriesRemaining => i16::from(self.tries),
            CvmCall::Update(v, f) => b(self.update(may_manage, CvmFormat::from_byte(f), v, s)),
            CvmCall::ResetState => b(self.reset_state(s)),
            CvmCall::BlockState => b(self.block_state(may_manage, s)),
            CvmCall::ResetAndUnblockState => b(self.reset_and_unblock(may_manage, s)),
            CvmCall::SetTryLimit(n) => b(self.set_try_limit(may_manage, n, s)),
            CvmCall::Verify(v, f) => {
                if self.verify(CvmFormat::from_byte(f), v, s) {
                    0
                } else {
                    -1
                }
            }
        }
    }

    /// `isActive`: the value and the try limit have both been set.
    pub fn is_active(&self) -> bool {
        self.value.is_some() && self.try_limit.is_some()
    }

    /// `isBlocked`.
    pub fn is_blocked(&self) -> bool {
        self.is_active() && self.blocked
    }

    /// `isSubmitted`: INVALID_SUBMISSION or VALIDATED.
    pub fn is_submitted(&self, s: CvmSession) -> bool {
        self.is_active() && !self.blocked && s != CvmSession::None
    }

    /// `isVerified`: VALIDATED.
    pub fn is_verified(&self, s: CvmSession) -> bool {
        self.is_active() && !self.blocked && s == CvmSession::Validated
    }

    /// `getTriesRemaining`: the try counter.
    pub fn tries_remaining(&self) -> u8 {
        self.tries
    }

    /// (Re)enters ACTIVE once both the value and the limit are there: counter at the limit.
    fn activate(&mut self, s: &mut CvmSession) {
        if let (Some(_), Some(limit)) = (&self.value, self.try_limit) {
            self.tries = limit;
            self.blocked = false;
            *s = CvmSession::None;
        }
    }

    /// `update`: a new value, if the caller may manage the CVM and the value fits its format.
    pub fn update(&mut self, may_manage: bool, format: Option<CvmFormat>, v: &[u8], s: &mut CvmSession) -> bool {
        let Some(format) = format.filter(|f| may_manage && consistent(*f, v)) else {
            return false;
        };
        self.value = Some((format, SecretBytes::new(v.to_vec())));
        self.activate(s);
        true
    }

    /// `setTryLimit`: a limit of 1 to 127 (a `byte`; 0 or negative would leave no try at all).
    pub fn set_try_limit(&mut self, may_manage: bool, limit: i8, s: &mut CvmSession) -> bool {
        let Ok(limit) = u8::try_from(limit) else {
            return false;
        };
        if !may_manage || limit == 0 {
            return false;
        }
        self.try_limit = Some(limit);
        self.tries = limit;
        self.activate(s);
        true
    }

    /// `resetState`: back to ACTIVE from ACTIVE, INVALID_SUBMISSION or VALIDATED.
    pub fn reset_state(&self, s: &mut CvmSession) -> bool {
        if !self.is_active() || self.blocked {
            return false;
        }
        *s = CvmSession::None;
        true
    }

    /// `blockState`: BLOCKED (already BLOCKED answers `true`).
    pub fn block_state(&mut self, may_manage: bool, s: &mut CvmSession) -> bool {
        if !may_manage || !self.is_active() {
            return false;
        }
        self.blocked = true;
        *s = CvmSession::None;
        true
    }

    /// `resetAndUnblockState`: ACTIVE with the counter at the limit, even from BLOCKED.
    pub fn reset_and_unblock(&mut self, may_manage: bool, s: &mut CvmSession) -> bool {
        if !may_manage || !self.is_active() {
            return false;
        }
        self.activate(s);
        true
    }

    /// `verify`: the comparison, with the API's format conversions (ASCII and BCD digits compare
    /// with each other; HEX only with HEX). An unknown format (`None`) is an unsuccessful
    /// comparison, as the API deems it. NOT_READY or BLOCKED: failure and nothing changes.
    /// Returns whether it succeeded.
    pub fn verify(&mut self, format: Option<CvmFormat>, v: &[u8], s: &mut CvmSession) -> bool {
        let (Some((stored_format, stored)), Some(limit), false) = (&self.value, self.try_limit, self.blocked) else {
            return false;
        };
        self.tries = self.tries.saturating_sub(1);
        let same = match format {
            None => false,
            Some(f) if f == *stored_format => ct_eq(stored.expose(), v),
            Some(f) => match (digits(*stored_format, stored.expose()), digits(f, v)) {
                (Some(a), Some(b)) => ct_eq(&a, &b),
                _ => false,
            },
        };
        if same {
            self.tries = limit;
            *s = CvmSession::Validated;
        } else if self.tries == 0 {
            self.blocked = true;
            *s = CvmSession::None;
        } else {
            *s = CvmSession::InvalidSubmission;
        }
        same
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASCII: Option<CvmFormat> = Some(CvmFormat::Ascii);
    const BCD: Option<CvmFormat> = Some(CvmFormat::Bcd);
    const HEX: Option<CvmFormat> = Some(CvmFormat::Hex);

    fn ready(format: Option<CvmFormat>, v: &[u8], limit: i8) -> (GlobalPin, CvmSession) {
        let (mut p, mut s) = (GlobalPin::default(), CvmSession::None);
        assert!(p.update(true, format, v, &mut s));
        assert!(!p.is_active(), "NOT_READY until the try limit is set too");
        assert!(p.set_try_limit(true, limit, &mut s));
        assert!(p.is_active());
        (p, s)
    }

    #[test]
    fn not_ready_until_value_and_limit_then_the_states_of_the_api() {
        let (mut p, mut s) = (GlobalPin::default(), CvmSession::None);
        assert!(!p.verify(ASCII, b"1234", &mut s), "NOT_READY: no comparison");
        assert!(!p.reset_state(&mut s) && !p.block_state(true, &mut s) && !p.reset_and_unblock(true, &mut s));
        let (mut p, mut s) = ready(ASCII, b"1234", 3);
        assert_eq!(p.tries_remaining(), 3);
        assert!(!p.is_submitted(s) && !p.is_verified(s));
        assert!(!p.verify(ASCII, b"0000", &mut s));
        assert_eq!((s, p.tries_remaining()), (CvmSession::InvalidSubmission, 2));
        assert!(p.is_submitted(s) && !p.is_verified(s));
        assert!(p.verify(ASCII, b"1234", &mut s));
        assert!(p.is_verified(s) && p.is_submitted(s));
        assert_eq!(p.tries_remaining(), 3);
        assert!(p.reset_state(&mut s));
        assert!(!p.is_submitted(s));
        for left in [2, 1, 0] {
            assert!(!p.verify(ASCII, b"9", &mut s));
            assert_eq!(p.tries_remaining(), left);
        }
        assert!(p.is_blocked());
        assert!(!p.verify(ASCII, b"1234", &mut s), "BLOCKED: deemed unsuccessful");
        assert_eq!(p.tries_remaining(), 0, "and the counter stays");
        assert!(!p.reset_state(&mut s), "resetState cannot leave BLOCKED");
        assert!(!p.reset_and_unblock(false, &mut s), "needs CVM Management");
        assert!(p.reset_and_unblock(true, &mut s));
        assert_eq!((p.is_blocked(), p.tries_remaining()), (false, 3));
        assert!(p.block_state(true, &mut s) && p.block_state(true, &mut s), "already BLOCKED answers true");
    }

    #[test]
    fn management_needs_the_privilege_and_a_consistent_value() {
        let (mut p, mut s) = ready(HEX, &[0xDE, 0xAD], 5);
        assert!(!p.update(false, HEX, b"\x01", &mut s));
        assert!(!p.set_try_limit(false, 3, &mut s));
        assert!(!p.block_state(false, &mut s));
        assert!(!p.set_try_limit(true, 0, &mut s) && !p.set_try_limit(true, -1, &mut s));
        assert!(!p.update(true, None, b"1", &mut s), "unknown format");
        assert!(!p.update(true, ASCII, b"", &mut s), "empty");
        assert!(!p.update(true, ASCII, b"12\x0034", &mut s), "not ASCII characters");
        assert!(!p.update(true, BCD, &[0x12, 0xA4], &mut s), "A is no digit");
        assert!(!p.update(true, BCD, &[0x1F, 0x34], &mut s), "F pads only the last nibble");
        assert!(!p.update(true, HEX, &[0; MAX_VALUE_LEN + 1], &mut s));
        assert!(p.verify(HEX, &[0xDE, 0xAD], &mut s), "the value is unchanged");
        assert!(!p.verify(Some(CvmFormat::Ascii), &[0xDE, 0xAD], &mut s), "HEX never compares with ASCII");
        assert_eq!(p.tries_remaining(), 4, "and that cost a try");
        assert!(!p.verify(None, &[0xDE, 0xAD], &mut s), "an unknown format is an unsuccessful comparison");
        assert_eq!(p.tries_remaining(), 3);
    }

    #[test]
    fn ascii_and_bcd_convert_into_each_other() {
        let (mut p, mut s) = ready(ASCII, b"12345", 3);
        assert!(p.verify(BCD, &[0x12, 0x34, 0x5F], &mut s));
        assert!(!p.verify(BCD, &[0x12, 0x34, 0x50], &mut s), "a 0 is not the pad");
        let (mut p, mut s) = ready(BCD, &[0x12, 0x34], 3);
        assert!(p.verify(ASCII, b"1234", &mut s));
        assert!(!p.verify(ASCII, b"123A", &mut s));
        assert!(!p.verify(HEX, &[0x12, 0x34], &mut s), "BCD never compares with HEX");
        // The stored ASCII value is not all digits: no conversion.
        let (mut p, mut s) = ready(ASCII, b"12a", 3);
        assert!(!p.verify(BCD, &[0x12, 0xAF], &mut s));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let (p, _) = ready(ASCII, b"424242", 3);
        assert!(!format!("{p:?}").contains("52"), "{p:?}");
    }
}
