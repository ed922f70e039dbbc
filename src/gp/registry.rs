//! The card manager's view of the registry: the runtime's registry types
//! ([`crate::card::registry`]) plus what only the card manager knows, the security domain code
//! every card has in ROM.

pub use crate::card::registry::*;
pub use crate::scp03::keyset::{DomainKeys, KeySet};

/// The security domain package every card has in ROM, and its one module (the ISD's and every
/// SSD's code; the AIDs real GP cards use, `globalplatform.md` §B.4).
pub const SD_PACKAGE_AID: &[u8] = &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50];
pub const SD_MODULE_AID: &[u8] = &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x41];

/// AES key type in key information (GPCS T11-16).
pub const KEY_TYPE_AES: u8 = 0x88;
