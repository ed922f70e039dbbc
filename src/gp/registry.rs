//! The GP registry as stored in the card image: the ISD with its key sets, load files and
//! application instances (GPCS §5.1, §6.4; coding in `shared/reference/globalplatform.md` §B.11).

use crate::card::Aid;
use crate::crypto::SecretBytes;
use serde::{Deserialize, Serialize};

/// Card life cycle states (GPCS §5.1.1, T11-4).
pub mod card_state {
    pub const OP_READY: u8 = 0x01;
    pub const INITIALIZED: u8 = 0x07;
    pub const SECURED: u8 = 0x0F;
    pub const CARD_LOCKED: u8 = 0x7F;
    pub const TERMINATED: u8 = 0xFF;
}

/// Application and security domain life cycle states (GPCS T11-5/T11-6).
pub mod app_state {
    pub const INSTALLED: u8 = 0x03;
    pub const SELECTABLE: u8 = 0x07;
    pub const PERSONALIZED: u8 = 0x0F;
    /// b8 set on top of the previous state.
    pub const LOCKED_BIT: u8 = 0x80;
    pub const ELF_LOADED: u8 = 0x01;
}

/// Privilege bits (GPCS §11.1.2). Byte 1 unless named `*_B2`.
pub mod privilege {
    pub const SECURITY_DOMAIN: u8 = 0x80;
    pub const CARD_LOCK: u8 = 0x10;
    pub const CARD_TERMINATE: u8 = 0x08;
    pub const CARD_RESET: u8 = 0x04;
    /// Byte 2: Authorized Management.
    pub const AUTHORIZED_MANAGEMENT_B2: u8 = 0x40;
}

/// The security domain package every card has in ROM, and its one module (the ISD's and every
/// SSD's code; the AIDs real GP cards use, `globalplatform.md` §B.4).
pub const SD_PACKAGE_AID: &[u8] = &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50];
pub const SD_MODULE_AID: &[u8] = &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x41];

/// AES key type in key information (GPCS T11-16).
pub const KEY_TYPE_AES: u8 = 0x88;

/// One SCP03 key set: Key-ENC (id 1), Key-MAC (id 2), Key-DEK (id 3) (AmdD T6-1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    pub kvn: u8,
    pub enc: SecretBytes,
    pub mac: SecretBytes,
    pub dek: SecretBytes,
    /// The 3-byte SCP03 sequence counter (AmdD §6.2.2.1).
    pub seq_counter: u32,
}

/// A security domain's own data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainKeys {
    /// SCP03 i parameter (AmdD T5-1).
    pub scp_i: u8,
    pub key_sets: Vec<KeySet>,
    /// Failed EXTERNAL AUTHENTICATE limit and counts per key set (issue #19 §15).
    pub auth_limit: super::auth_limit::AuthLimit,
}

/// Data that identifies the card (GET DATA 9F7F, 42, 45, CF).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// 42 bytes of CPLC (GPP `CPLC.java` field order).
    pub cplc: Vec<u8>,
    pub iin: Vec<u8>,
    pub cin: Vec<u8>,
    /// 10 bytes of key diversification data, returned by INITIALIZE UPDATE.
    pub kdd: Vec<u8>,
}

/// An Executable Load File (a package) and its modules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadFile {
    pub aid: Aid,
    pub version: Vec<u8>,
    pub modules: Vec<Aid>,
    /// The associated security domain.
    pub sd: Aid,
    pub life_cycle: u8,
}

/// What kind of registry entry an instance is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceKind {
    IssuerSecurityDomain,
    SecurityDomain,
    Application,
}

/// An application or security domain instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub aid: Aid,
    pub kind: InstanceKind,
    /// The load file it came from (absent for the ISD).
    pub elf: Option<Aid>,
    /// The module (class) AID it is an instance of.
    pub module: Option<Aid>,
    pub life_cycle: u8,
    pub privileges: [u8; 3],
    /// The associated security domain (itself for the ISD).
    pub sd: Aid,
    /// Keys, for security domains.
    pub keys: Option<DomainKeys>,
    /// The applet's persistent state, as its implementation saved it.
    pub state: Vec<u8>,
}

impl Instance {
    /// SELECTABLE or beyond, and not locked; the ISD always (its life cycle is the card's, and
    /// what the card state allows is decided by the card manager, GPCS §5.1.1).
    pub fn is_selectable(&self) -> bool {
        if self.kind == InstanceKind::IssuerSecurityDomain {
            return true;
        }
        self.life_cycle & app_state::LOCKED_BIT == 0 && self.life_cycle & app_state::SELECTABLE == app_state::SELECTABLE
    }

    pub fn has_privilege(&self, byte0_bit: u8) -> bool {
        self.privileges[0] & byte0_bit == byte0_bit
    }

    /// A security domain (the ISD or an SSD).
    pub fn is_sd(&self) -> bool {
        self.kind != InstanceKind::Application
    }

    pub fn is_locked(&self) -> bool {
        self.life_cycle & app_state::LOCKED_BIT != 0
    }
}

impl DomainKeys {
    pub fn key_set(&self, kvn: u8) -> Option<&KeySet> {
        self.key_sets.iter().find(|k| k.kvn == kvn)
    }
}
