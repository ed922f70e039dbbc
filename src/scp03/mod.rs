//! SCP03, the GlobalPlatform AES secure channel (GP Card Specification Amendment D, "AmdD";
//! facts and vectors in `shared/reference/globalplatform.md` §A).
//!
//! * [`prim`]: AES-ECB/CBC/CMAC for 128/192/256-bit keys and the `80` padding (AmdD §4.1).
//! * [`kdf`]: the SP 800-108 counter-mode KDF with the GP derivation constants, session keys,
//!   cryptograms, the pseudo-random card challenge and key check values (AmdD §4.1.5, §6.2).
//! * [`sm`]: secure messaging shared by both sides: C-MAC, C-DECRYPTION, R-MAC, R-ENC
//!   (AmdD §6.2.4-§6.2.7).
//! * [`card`]: the card side as a state machine `Idle → Initialized → Authenticated(level)`.
//! * [`host`]: the host side as a state machine `Opening → Authenticating → HostSession`, with
//!   no I/O (the transport layer drives it), and DEK encryption of key data for PUT KEY
//!   (AmdD §7.2).
//!
//! Keys live in zeroizing containers ([`crate::crypto::SecretBytes`], expanded AES schedules
//! that wipe on drop) and no `Debug` output in this module shows a key byte.

pub mod card;
pub mod host;
pub mod kdf;
pub mod keydata;
pub mod keyset;
pub mod prim;
pub mod sm;

use crate::crypto::SecretBytes;
use std::fmt;

pub use prim::BadKeyLength;

/// The SCP identifier in the INITIALIZE UPDATE response (AmdD T7-2).
pub const SCP_ID: u8 = 0x03;

/// i parameter bits (AmdD T5-1).
pub mod i_param {
    /// b5: pseudo-random card challenge; the sequence counter is in the IU response.
    pub const PSEUDO_RANDOM: u8 = 0x10;
    /// b6: R-MAC supported.
    pub const R_MAC: u8 = 0x20;
    /// b7: R-ENC supported (with R-MAC).
    pub const R_ENC: u8 = 0x40;
    /// b1: S16 mode, 16-byte challenges and cryptograms (AmdD v1.2; GPP `--s16` reads it as
    /// `(i & 0x01)`; `globalplatform.md` §A.4). C-MAC and R-MAC stay 8 bytes, as GPP's wrapper
    /// has them.
    pub const S16: u8 = 0x01;

    /// The challenge and cryptogram length of the mode `i` names: 16 (S16) or 8 (S8).
    pub fn challenge_len(i: u8) -> usize {
        if i & S16 != 0 {
            16
        } else {
            8
        }
    }
}

/// The security level asked for in EXTERNAL AUTHENTICATE P1 (AmdD T7-3). Its bits are those of
/// the Current Security Level of GPCS T10-1 (C_MAC 01, C_DECRYPTION 02, R_MAC 10, R_ENCRYPTION
/// 20); [`SecurityLevel::current`] adds AUTHENTICATED (80).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SecurityLevel(u8);

impl SecurityLevel {
    /// `00`: authenticated, no secure messaging.
    pub const NONE: SecurityLevel = SecurityLevel(0x00);
    /// `01`: C-MAC.
    pub const C_MAC: SecurityLevel = SecurityLevel(0x01);
    /// `03`: C-DECRYPTION and C-MAC.
    pub const C_DEC_C_MAC: SecurityLevel = SecurityLevel(0x03);
    /// `11`: C-MAC and R-MAC.
    pub const C_MAC_R_MAC: SecurityLevel = SecurityLevel(0x11);
    /// `13`: C-DECRYPTION, C-MAC and R-MAC.
    pub const C_DEC_C_MAC_R_MAC: SecurityLevel = SecurityLevel(0x13);
    /// `33`: C-DECRYPTION, C-MAC, R-ENCRYPTION and R-MAC.
    pub const ALL: SecurityLevel = SecurityLevel(0x33);

    /// Every level AmdD T7-3 defines.
    pub const LEVELS: [SecurityLevel; 6] =
        [Self::NONE, Self::C_MAC, Self::C_DEC_C_MAC, Self::C_MAC_R_MAC, Self::C_DEC_C_MAC_R_MAC, Self::ALL];

    /// The level coded in EXTERNAL AUTHENTICATE P1; `None` for a combination AmdD T7-3 does not
    /// define (e.g. `02`, C-DECRYPTION without C-MAC, or `21`, R-ENC without R-MAC).
    pub fn from_p1(p1: u8) -> Option<SecurityLevel> {
        Self::LEVELS.iter().copied().find(|l| l.0 == p1)
    }

    /// The P1 value.
    pub fn p1(self) -> u8 {
        self.0
    }

    pub fn c_mac(self) -> bool {
        self.0 & 0x01 != 0
    }
    pub fn c_dec(self) -> bool {
        self.0 & 0x02 != 0
    }
    pub fn r_mac(self) -> bool {
        self.0 & 0x10 != 0
    }
    pub fn r_enc(self) -> bool {
        self.0 & 0x20 != 0
    }

    /// Whether a key set with this i parameter may run at this level: R-MAC needs i b6, R-ENC
    /// needs i b7 (AmdD T5-1, §7.1.2.1).
    pub fn allowed_by_i(self, i: u8) -> bool {
        (!self.r_mac() || i & i_param::R_MAC != 0) && (!self.r_enc() || i & i_param::R_ENC != 0)
    }

    /// The Current Security Level of an authenticated session (GPCS T10-1): AUTHENTICATED
    /// plus the level bits. GET DATA `D3` returns its byte.
    pub fn current(self) -> SecurityStatus {
        SecurityStatus::AUTHENTICATED | SecurityStatus::from_bits_retain(self.0)
    }
}

bitflags::bitflags! {
    /// The Current Security Level of a channel (GPCS §10.5, T10-1; GP Card API
    /// `SecureChannel.getSecurityLevel`): what the runtime tells an applet about the secure
    /// channel session of its security domain on the channel in hand.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct SecurityStatus: u8 {
        const AUTHENTICATED = 0x80;
        const ANY_AUTHENTICATED = 0x40;
        const R_ENCRYPTION = 0x20;
        const R_MAC = 0x10;
        const C_DECRYPTION = 0x02;
        const C_MAC = 0x01;
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)
    }
}

impl std::str::FromStr for SecurityLevel {
    type Err = String;
    /// `00`, `01`, `03`, `11`, `13` or `33` (hex, an optional `0x` prefix).
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
        u8::from_str_radix(t, 16)
            .ok()
            .and_then(SecurityLevel::from_p1)
            .ok_or_else(|| format!("security level '{s}': use 00, 01, 03, 11, 13 or 33 (AmdD T7-3)"))
    }
}

/// A static SCP03 key set: Key-ENC, Key-MAC and Key-DEK, all of one AES length (AmdD §6.1).
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKeys {
    enc: SecretBytes,
    mac: SecretBytes,
    dek: SecretBytes,
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaticKeys(AES-{})", self.enc.len() * 8)
    }
}

/// Why a key set is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    #[error(transparent)]
    Length(#[from] BadKeyLength),
    #[error("ENC, MAC and DEK must have the same length (AmdD §6.1)")]
    Mixed,
}

impl StaticKeys {
    /// Checks the lengths: 16, 24 or 32 bytes each, all the same.
    pub fn new(enc: &[u8], mac: &[u8], dek: &[u8]) -> Result<StaticKeys, KeySetError> {
        for k in [enc, mac, dek] {
            if ![16, 24, 32].contains(&k.len()) {
                return Err(BadKeyLength(k.len()).into());
            }
        }
        if enc.len() != mac.len() || mac.len() != dek.len() {
            return Err(KeySetError::Mixed);
        }
        Ok(StaticKeys { enc: SecretBytes::new(enc), mac: SecretBytes::new(mac), dek: SecretBytes::new(dek) })
    }

    pub fn enc(&self) -> &SecretBytes {
        &self.enc
    }
    pub fn mac(&self) -> &SecretBytes {
        &self.mac
    }
    pub fn dek(&self) -> &SecretBytes {
        &self.dek
    }
    /// The key length in bytes.
    pub fn len(&self) -> usize {
        self.enc.len()
    }
    pub fn is_empty(&self) -> bool {
        self.enc.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        for p1 in 0..=255u8 {
            let ok = [0x00, 0x01, 0x03, 0x11, 0x13, 0x33].contains(&p1);
            assert_eq!(SecurityLevel::from_p1(p1).is_some(), ok, "{p1:02X}");
        }
        assert!(SecurityLevel::ALL.allowed_by_i(0x70));
        assert!(!SecurityLevel::ALL.allowed_by_i(0x30));
        assert!(SecurityLevel::C_DEC_C_MAC_R_MAC.allowed_by_i(0x30));
        assert!(!SecurityLevel::C_MAC_R_MAC.allowed_by_i(0x10));
        assert!(SecurityLevel::C_DEC_C_MAC.allowed_by_i(0x00));
        assert_eq!(SecurityLevel::ALL.current().bits(), 0xB3);
        assert_eq!("0x13".parse::<SecurityLevel>().unwrap(), SecurityLevel(0x13));
        assert!("02".parse::<SecurityLevel>().is_err());
    }

    #[test]
    fn key_sets_check_lengths_and_hide_bytes() {
        assert!(StaticKeys::new(&[1; 16], &[1; 16], &[1; 16]).is_ok());
        assert_eq!(StaticKeys::new(&[1; 16], &[1; 24], &[1; 16]), Err(KeySetError::Mixed));
        assert_eq!(StaticKeys::new(&[1; 8], &[1; 8], &[1; 8]), Err(KeySetError::Length(BadKeyLength(8))));
        let k = StaticKeys::new(&[0x41; 32], &[0x42; 32], &[0x43; 32]).unwrap();
        assert_eq!(format!("{k:?}"), "StaticKeys(AES-256)");
    }
}
