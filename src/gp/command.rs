//! The commands a security domain answers, parsed once from the APDU header (GPCS ch. 11). Each
//! command's data field is parsed into its own typed value by its module, after the card state
//! and secure channel checks (`applet-spec/isd.md`, "Which commands need what").

use crate::apdu::{Class, Command};
use crate::sw::Sw;

/// A security domain command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsdCommand {
    /// GET DATA with the tag in P1P2 (GPCS §11.3), any class.
    GetData { tag: u16 },
    /// INITIALIZE UPDATE (AmdD §7.1.1).
    InitializeUpdate,
    /// EXTERNAL AUTHENTICATE (AmdD §7.1.2).
    ExternalAuthenticate,
    /// GET STATUS (GPCS §11.4).
    GetStatus,
    /// INSTALL (GPCS §11.5).
    Install,
    /// LOAD (GPCS §11.6).
    Load,
    /// DELETE (GPCS §11.2).
    Delete,
    /// PUT KEY (GPCS §11.8).
    PutKey,
    /// SET STATUS (GPCS §11.10).
    SetStatus,
    /// STORE DATA (GPCS §11.11).
    StoreData,
}

impl IsdCommand {
    /// GPCS T11-2: the commands that need at least an AUTHENTICATED secure channel.
    pub fn needs_secure_channel(self) -> bool {
        !matches!(self, IsdCommand::GetData { .. } | IsdCommand::InitializeUpdate | IsdCommand::ExternalAuthenticate)
    }
}

impl TryFrom<&Command> for IsdCommand {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        let class = Class::parse(c.cla)?;
        let cmd = match c.ins {
            0xCA => return Ok(IsdCommand::GetData { tag: c.p1p2() }),
            // A SELECT the runtime could not match (unknown AID, or by file ID): a security
            // domain has no files, so "not found", as OpenSC's probes expect (pcsc.md §12.10).
            0xA4 => return Err(Sw::FileNotFound),
            0x50 => IsdCommand::InitializeUpdate,
            0x82 => IsdCommand::ExternalAuthenticate,
            0xF2 => IsdCommand::GetStatus,
            0xE6 => IsdCommand::Install,
            0xE8 => IsdCommand::Load,
            0xE4 => IsdCommand::Delete,
            0xD8 => IsdCommand::PutKey,
            0xF0 => IsdCommand::SetStatus,
            0xE2 => IsdCommand::StoreData,
            _ => return Err(Sw::InsNotSupported),
        };
        // GP commands use the proprietary class (GPCS §11.1.4).
        if !class.proprietary {
            return Err(Sw::ClaNotSupported);
        }
        Ok(cmd)
    }
}
