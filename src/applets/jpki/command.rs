//! JPKI commands, parsed once from the APDU (`applet-spec/jpki.md`).

use crate::apdu::{Class, Command};
use crate::sw::Sw;

/// Which key pair: user authentication (利用者証明用) or signature (署名用).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairId {
    Auth = 0,
    Sign = 1,
}

impl PairId {
    /// From the management P2 (`01` auth, `02` sign).
    pub fn from_p2(p2: u8) -> Result<PairId, Sw> {
        match p2 {
            0x01 => Ok(PairId::Auth),
            0x02 => Ok(PairId::Sign),
            _ => Err(Sw::IncorrectP1P2),
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn both() -> [PairId; 2] {
        [PairId::Auth, PairId::Sign]
    }
}

/// How SET PIN leaves the PIN (`applet-spec/jpki.md`, management path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinSetMode {
    /// Design b (案4): from `AwaitingPin` to a usable temporary PIN.
    Temporary,
    /// Design a (案3): temporary PIN set blocked; UNBLOCK releases it.
    TemporaryBlocked,
    /// PIN reset by the service: a new temporary PIN, tries restored.
    Reset,
}

/// A JPKI AP command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JpkiCommand {
    /// `00 A4 02 xx 02 FID`.
    SelectEf { fid: u16 },
    /// `00 A4 00 0C 02 3F00` and the like: there is no MF in the applet.
    SelectMf,
    /// `00 B0`: `sfi` when P1 b8 is set.
    ReadBinary { sfi: Option<u8>, offset: usize, ne: usize },
    /// `00 20 00 P2 [PIN]`: `sfi` when P2 = 80|SFI with SFI ≠ 0.
    Verify { sfi: Option<u8>, pin: Option<Vec<u8>> },
    /// `00 24 01 80 NEW`.
    ChangePin { new: Vec<u8> },
    /// `80 2A 00 P2 DATA 00`.
    Sign { sfi: Option<u8>, data: Vec<u8> },
    /// `80 47 00 PP`.
    GenerateKeyPair(PairId),
    /// `80 D0 P1 PP DATA`.
    StoreCertificate { pair: PairId, ca: bool, last: bool, data: Vec<u8> },
    /// `80 D2 P1 PP PIN`.
    SetPin { pair: PairId, mode: PinSetMode, pin: Vec<u8> },
    /// `80 D4 00 PP`.
    UnblockPin(PairId),
    /// `80 EE 00 PP`.
    ErasePair(PairId),
    /// `80 CA 00 PP`.
    PairStatus(PairId),
}

impl JpkiCommand {
    /// Whether this is a management command (SP-TSM, needs the secure channel).
    pub fn is_management(&self) -> bool {
        matches!(
            self,
            JpkiCommand::GenerateKeyPair(_)
                | JpkiCommand::StoreCertificate { .. }
                | JpkiCommand::SetPin { .. }
                | JpkiCommand::UnblockPin(_)
                | JpkiCommand::ErasePair(_)
                | JpkiCommand::PairStatus(_)
        )
    }

    /// Whether the command carries a PIN (needs C-DECRYPTION on the management path).
    pub fn carries_pin(&self) -> bool {
        matches!(self, JpkiCommand::SetPin { .. })
    }
}

fn sfi_of(p: u8) -> Option<u8> {
    (p & 0x80 != 0 && p & 0x1F != 0).then_some(p & 0x1F)
}

impl TryFrom<&Command> for JpkiCommand {
    type Error = Sw;

    fn try_from(c: &Command) -> Result<Self, Sw> {
        let class = Class::parse(c.cla)?;
        let interindustry = |cmd: JpkiCommand| if class.proprietary { Err(Sw::ClaNotSupported) } else { Ok(cmd) };
        // Proprietary instructions do not exist in the interindustry class: "INS not supported".
        let proprietary = |cmd: JpkiCommand| if class.proprietary { Ok(cmd) } else { Err(Sw::InsNotSupported) };
        match c.ins {
            0xA4 => {
                if class.proprietary {
                    return Err(Sw::ClaNotSupported);
                }
                match c.p1 {
                    0x02 => {
                        if !matches!(c.p2, 0x0C | 0x00) {
                            return Err(Sw::IncorrectP1P2);
                        }
                        if c.data.len() != 2 {
                            return Err(Sw::WrongLength);
                        }
                        Ok(JpkiCommand::SelectEf { fid: u16::from_be_bytes([c.data[0], c.data[1]]) })
                    }
                    0x00 if c.data.len() == 2 => Ok(JpkiCommand::SelectMf),
                    _ => Err(Sw::IncorrectP1P2),
                }
            }
            0xB0 => {
                if !c.data.is_empty() {
                    return Err(Sw::WrongLength);
                }
                let ne = c.ne.ok_or(Sw::WrongLength)?;
                let cmd = match sfi_of(c.p1) {
                    Some(sfi) => JpkiCommand::ReadBinary { sfi: Some(sfi), offset: c.p2 as usize, ne },
                    None if c.p1 & 0x80 != 0 => return Err(Sw::IncorrectP1P2),
                    None => JpkiCommand::ReadBinary { sfi: None, offset: c.p1p2() as usize, ne },
                };
                interindustry(cmd)
            }
            0x20 => {
                if c.p1 != 0x00 || c.p2 & 0x80 == 0 || c.p2 & 0x60 != 0 {
                    return Err(Sw::IncorrectP1P2);
                }
                // `00 20 00 80 00` (Le present) is refused by the real card (J§4 [R 2]).
                if c.ne.is_some() {
                    return Err(Sw::WrongLength);
                }
                let pin = (!c.data.is_empty()).then(|| c.data.clone());
                interindustry(JpkiCommand::Verify { sfi: sfi_of(c.p2), pin })
            }
            0x24 => {
                if c.p1 != 0x01 || c.p2 != 0x80 {
                    return Err(Sw::IncorrectP1P2);
                }
                if c.data.is_empty() || c.ne.is_some() {
                    return Err(Sw::WrongLength);
                }
                interindustry(JpkiCommand::ChangePin { new: c.data.clone() })
            }
            0x2A | 0x47 | 0xD0 | 0xD2 | 0xD4 | 0xEE | 0xCA if !class.proprietary => Err(Sw::InsNotSupported),
            0x2A => {
                if c.p1 != 0x00 || !(c.p2 == 0x80 || sfi_of(c.p2).is_some()) {
                    return Err(Sw::IncorrectP1P2);
                }
                if c.data.is_empty() || c.data.len() > 245 {
                    return Err(Sw::WrongLength);
                }
                proprietary(JpkiCommand::Sign { sfi: sfi_of(c.p2), data: c.data.clone() })
            }
            0x47 => {
                if c.p1 != 0 {
                    return Err(Sw::IncorrectP1P2);
                }
                proprietary(JpkiCommand::GenerateKeyPair(PairId::from_p2(c.p2)?))
            }
            0xD0 => {
                if c.p1 & 0x7E != 0 {
                    return Err(Sw::IncorrectP1P2);
                }
                if c.data.is_empty() {
                    return Err(Sw::WrongLength);
                }
                proprietary(JpkiCommand::StoreCertificate {
                    pair: PairId::from_p2(c.p2)?,
                    ca: c.p1 & 0x01 != 0,
                    last: c.p1 & 0x80 != 0,
                    data: c.data.clone(),
                })
            }
            0xD2 => {
                let mode = match c.p1 {
                    0x00 => PinSetMode::Temporary,
                    0x01 => PinSetMode::TemporaryBlocked,
                    0x02 => PinSetMode::Reset,
                    _ => return Err(Sw::IncorrectP1P2),
                };
                if c.data.is_empty() {
                    return Err(Sw::WrongLength);
                }
                proprietary(JpkiCommand::SetPin { pair: PairId::from_p2(c.p2)?, mode, pin: c.data.clone() })
            }
            0xD4 | 0xEE | 0xCA => {
                if c.p1 != 0 {
                    return Err(Sw::IncorrectP1P2);
                }
                let pair = PairId::from_p2(c.p2)?;
                proprietary(match c.ins {
                    0xD4 => JpkiCommand::UnblockPin(pair),
                    0xEE => JpkiCommand::ErasePair(pair),
                    _ => JpkiCommand::PairStatus(pair),
                })
            }
            _ => Err(Sw::InsNotSupported),
        }
    }
}
