//! Life cycle states and privileges as types (GPCS §5.1-5.3, §11.1.2): what the registry stores,
//! GET STATUS and SET STATUS carry, and host and card both read, so that no component does bit
//! arithmetic on bare bytes.

use serde::{Deserialize, Serialize};

/// Card life cycle states (GPCS §5.1.1, T11-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
#[repr(u8)]
pub enum CardLifeCycle {
    OpReady = 0x01,
    Initialized = 0x07,
    Secured = 0x0F,
    CardLocked = 0x7F,
    Terminated = 0xFF,
}

impl CardLifeCycle {
    /// The coding of GET STATUS and SET STATUS (GPCS T11-4).
    pub fn byte(self) -> u8 {
        self as u8
    }

    /// Whether instances other than the ISD may be selected: not in CARD_LOCKED or TERMINATED
    /// (GPCS §5.1.1.4-5).
    pub fn applications_selectable(self) -> bool {
        !matches!(self, CardLifeCycle::CardLocked | CardLifeCycle::Terminated)
    }
}

impl From<CardLifeCycle> for u8 {
    fn from(s: CardLifeCycle) -> u8 {
        s as u8
    }
}

impl TryFrom<u8> for CardLifeCycle {
    type Error = String;
    fn try_from(b: u8) -> Result<Self, String> {
        Ok(match b {
            0x01 => CardLifeCycle::OpReady,
            0x07 => CardLifeCycle::Initialized,
            0x0F => CardLifeCycle::Secured,
            0x7F => CardLifeCycle::CardLocked,
            0xFF => CardLifeCycle::Terminated,
            _ => return Err(format!("{b:02X} is not a card life cycle state (GPCS T11-4)")),
        })
    }
}

/// The life cycle of an application or security domain (GPCS §5.3, T11-5/T11-6): INSTALLED
/// `03`, SELECTABLE `07`, then application-specific states (b4-b7 on top of SELECTABLE; an SSD's
/// PERSONALIZED `0F`), with b8 LOCKED on top of whichever state it had. The ISD's own life cycle
/// is the card's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AppLifeCycle(u8);

impl AppLifeCycle {
    pub const INSTALLED: AppLifeCycle = AppLifeCycle(0x03);
    pub const SELECTABLE: AppLifeCycle = AppLifeCycle(0x07);
    /// An SSD's PERSONALIZED state (GPCS T11-6).
    pub const PERSONALIZED: AppLifeCycle = AppLifeCycle(0x0F);
    const LOCKED: u8 = 0x80;

    /// From the byte of GET STATUS / SET STATUS.
    pub fn from_byte(b: u8) -> AppLifeCycle {
        AppLifeCycle(b)
    }

    pub fn byte(self) -> u8 {
        self.0
    }

    pub fn is_locked(self) -> bool {
        self.0 & Self::LOCKED != 0
    }

    /// The same state with b8 set.
    pub fn locked(self) -> AppLifeCycle {
        AppLifeCycle(self.0 | Self::LOCKED)
    }

    /// The state it had before it was locked.
    pub fn unlocked(self) -> AppLifeCycle {
        AppLifeCycle(self.0 & !Self::LOCKED)
    }

    /// SELECTABLE or beyond (GPCS §5.3.1.2: b1-b3 all set) and not locked.
    pub fn is_selectable(self) -> bool {
        !self.is_locked() && self.0 & 0x07 == 0x07
    }
}

/// An Executable Load File's life cycle: LOADED is the only one (GPCS §5.2, T11-5).
pub const ELF_LOADED: u8 = 0x01;

bitflags::bitflags! {
    /// The three privilege bytes (GPCS §11.1.2, T11-7/8/9), byte 1 in bits 23-16.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Privileges: u32 {
        const SECURITY_DOMAIN = 0x80_0000;
        /// DAP Verification is coded `C0` with the SD bit (T11-7).
        const DAP_VERIFICATION = 0x40_0000;
        /// Delegated Management is coded `A0` with the SD bit (T11-7).
        const DELEGATED_MANAGEMENT = 0x20_0000;
        const CARD_LOCK = 0x10_0000;
        const CARD_TERMINATE = 0x08_0000;
        const CARD_RESET = 0x04_0000;
        const CVM_MANAGEMENT = 0x02_0000;
        /// Mandated DAP Verification is coded `C1` (T11-7).
        const MANDATED_DAP_VERIFICATION = 0x01_0000;
        const TRUSTED_PATH = 0x8000;
        const AUTHORIZED_MANAGEMENT = 0x4000;
        const TOKEN_VERIFICATION = 0x2000;
        const GLOBAL_DELETE = 0x1000;
        const GLOBAL_LOCK = 0x0800;
        const GLOBAL_REGISTRY = 0x0400;
        const FINAL_APPLICATION = 0x0200;
        const GLOBAL_SERVICE = 0x0100;
        const RECEIPT_GENERATION = 0x80;
        const CIPHERED_LOAD_FILE_DATA_BLOCK = 0x40;
        const CONTACTLESS_ACTIVATION = 0x20;
        const CONTACTLESS_SELF_ACTIVATION = 0x10;
        const PRIVACY_TRUSTED = 0x08;
        // Bits GPCS reserves are kept as they came (INSTALL may set them; GET STATUS returns them).
        const _ = !0;
    }
}

impl Privileges {
    /// From the three bytes of INSTALL and GET STATUS `C5` (GPCS §11.1.2).
    pub fn from_bytes(b: [u8; 3]) -> Privileges {
        Privileges::from_bits_retain(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// The three bytes.
    pub fn to_bytes(self) -> [u8; 3] {
        let [_, a, b, c] = self.bits().to_be_bytes();
        [a, b, c]
    }

    /// The names GlobalPlatformPro prints, in coding order.
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [(Privileges, &str); 21] = [
            (Privileges::SECURITY_DOMAIN, "SecurityDomain"),
            (Privileges::DAP_VERIFICATION, "DAPVerification"),
            (Privileges::DELEGATED_MANAGEMENT, "DelegatedManagement"),
            (Privileges::CARD_LOCK, "CardLock"),
            (Privileges::CARD_TERMINATE, "CardTerminate"),
            (Privileges::CARD_RESET, "CardReset"),
            (Privileges::CVM_MANAGEMENT, "CVMManagement"),
            (Privileges::MANDATED_DAP_VERIFICATION, "MandatedDAPVerification"),
            (Privileges::TRUSTED_PATH, "TrustedPath"),
            (Privileges::AUTHORIZED_MANAGEMENT, "AuthorizedManagement"),
            (Privileges::TOKEN_VERIFICATION, "TokenVerification"),
            (Privileges::GLOBAL_DELETE, "GlobalDelete"),
            (Privileges::GLOBAL_LOCK, "GlobalLock"),
            (Privileges::GLOBAL_REGISTRY, "GlobalRegistry"),
            (Privileges::FINAL_APPLICATION, "FinalApplication"),
            (Privileges::GLOBAL_SERVICE, "GlobalService"),
            (Privileges::RECEIPT_GENERATION, "ReceiptGeneration"),
            (Privileges::CIPHERED_LOAD_FILE_DATA_BLOCK, "CipheredLoadFileDataBlock"),
            (Privileges::CONTACTLESS_ACTIVATION, "ContactlessActivation"),
            (Privileges::CONTACTLESS_SELF_ACTIVATION, "ContactlessSelfActivation"),
            (Privileges::PRIVACY_TRUSTED, "PrivacyTrusted"),
        ];
        NAMES.iter().filter(|(p, _)| self.contains(*p)).map(|(_, n)| *n).collect()
    }
}

impl Serialize for Privileges {
    /// Three bytes, as the card image has always stored them.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_bytes().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Privileges {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <[u8; 3]>::deserialize(d).map(Privileges::from_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_round_trip_their_three_bytes() {
        for b in [[0x9E, 0xFE, 0x80], [0x80, 0xC0, 0x00], [0x00, 0x00, 0x00], [0xFF, 0xFF, 0xFF]] {
            assert_eq!(Privileges::from_bytes(b).to_bytes(), b);
        }
        let p = Privileges::from_bytes([0x9E, 0x40, 0x00]);
        assert!(p.contains(Privileges::SECURITY_DOMAIN | Privileges::CARD_RESET | Privileges::AUTHORIZED_MANAGEMENT));
        assert_eq!(
            p.names(),
            ["SecurityDomain", "CardLock", "CardTerminate", "CardReset", "CVMManagement", "AuthorizedManagement"]
        );
        assert_eq!(postcard::to_stdvec(&p).unwrap(), vec![0x9E, 0x40, 0x00]);
    }

    #[test]
    fn life_cycles() {
        assert!(AppLifeCycle::SELECTABLE.is_selectable());
        assert!(AppLifeCycle::from_byte(0x0F).is_selectable());
        assert!(!AppLifeCycle::INSTALLED.is_selectable());
        assert_eq!(AppLifeCycle::from_byte(0x07).locked().byte(), 0x87);
        assert_eq!(AppLifeCycle::from_byte(0x8F).unlocked(), AppLifeCycle::PERSONALIZED);
        assert!(!AppLifeCycle::from_byte(0x87).is_selectable());
        assert_eq!(CardLifeCycle::try_from(0x7F), Ok(CardLifeCycle::CardLocked));
        assert!(CardLifeCycle::try_from(0x03).is_err());
        assert_eq!(postcard::to_stdvec(&CardLifeCycle::Secured).unwrap(), vec![0x0F]);
    }
}
