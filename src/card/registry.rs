//! The registry the runtime hosts instances from: the JCRE's applet table as GlobalPlatform's
//! OPEN extends it (GPCS §5.1, §6.4; coding in `shared/reference/globalplatform.md` §B.11).
//!
//! The runtime reads it to select (which instances exist, which are selectable, which one is
//! implicitly selected) and to find the code of an instance; the card manager (the ISD and SSDs,
//! hosted beside the applets) changes it through [`super::Open`]. Life cycles and privileges
//! are typed ([`crate::proto::gp::states`]) so that no component does bit arithmetic on bytes.

use crate::card::Aid;
pub use crate::proto::gp::states::{AppLifeCycle, CardLifeCycle, Privileges, ELF_LOADED};
use crate::scp03::keyset::DomainKeys;
use serde::{Deserialize, Serialize};

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
    /// [`ELF_LOADED`].
    pub life_cycle: u8,
}

/// What kind of registry entry an instance is (GPCS §6.4: GET STATUS lists the ISD apart, and
/// an instance's kind never changes).
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
    /// For the ISD, the card's life cycle byte (GPCS §5.1.1).
    pub life_cycle: AppLifeCycle,
    pub privileges: Privileges,
    /// The associated security domain (itself for the ISD).
    pub sd: Aid,
    /// Keys, for security domains.
    pub keys: Option<DomainKeys>,
    /// The instance's persistent state, as its implementation saved it.
    pub state: Vec<u8>,
}

impl Instance {
    /// SELECTABLE or beyond, and not locked; the ISD always (its life cycle is the card's, and
    /// what the card state allows is decided by the card manager, GPCS §5.1.1).
    pub fn is_selectable(&self) -> bool {
        self.kind == InstanceKind::IssuerSecurityDomain || self.life_cycle.is_selectable()
    }

    pub fn has_privilege(&self, p: Privileges) -> bool {
        self.privileges.contains(p)
    }

    /// A security domain (the ISD or an SSD).
    pub fn is_sd(&self) -> bool {
        self.kind != InstanceKind::Application
    }

    pub fn is_locked(&self) -> bool {
        self.life_cycle.is_locked()
    }
}
