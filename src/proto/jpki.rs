//! The JPKI AP's commands, pair states and files (`applet-spec/jpki.md`; J§n is
//! `shared/reference/jpki.md`): the user path of the card-compatible clients (SELECT EF, READ
//! BINARY, VERIFY, CHANGE REFERENCE DATA, COMPUTE DIGITAL SIGNATURE) and the SP-TSM management
//! path (`80 47/D0/D2/D4/EE/CA`).

use crate::apdu::{Class, Command};
use crate::sw::Sw;
use serde::{Deserialize, Serialize};

/// JPKI AP AID (J§1).
pub const AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// Which key pair: user authentication (利用者証明用) or signature (署名用). The one type for
/// the applet, the SP-TSM, the app client, scenarios and the CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

    /// The management P2 (`applet-spec/jpki.md`, management path).
    pub fn p2(self) -> u8 {
        self as u8 + 1
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn both() -> [PairId; 2] {
        [PairId::Auth, PairId::Sign]
    }
}

/// An EF of the JPKI AP (J§2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ef {
    /// `0001` (sign) / `000A` (auth): the pair's certificate.
    Cert(PairId),
    /// `0002` / `000B`: the CA certificate.
    CaCert(PairId),
    /// `0006`: token info.
    Token,
    /// `0008`: certificate availability, 3 bytes (myna-card `CertificateAvailability`, J§2).
    Availability,
    /// `001A` / `0017`: the private key (internal EF, never readable).
    Key(PairId),
    /// `001B` / `0018`: the PIN (IEF).
    Pin(PairId),
}

impl Ef {
    /// Every EF, for the FID lookup.
    const ALL: [Ef; 10] = [
        Ef::Cert(PairId::Sign),
        Ef::CaCert(PairId::Sign),
        Ef::Cert(PairId::Auth),
        Ef::CaCert(PairId::Auth),
        Ef::Token,
        Ef::Availability,
        Ef::Key(PairId::Auth),
        Ef::Pin(PairId::Auth),
        Ef::Key(PairId::Sign),
        Ef::Pin(PairId::Sign),
    ];

    /// The EF with this FID (equal to its SFI for the FIDs in use).
    pub fn from_fid(fid: u16) -> Option<Ef> {
        Ef::ALL.into_iter().find(|e| e.fid() == fid)
    }

    /// The FID of this EF (J§2).
    pub fn fid(self) -> u16 {
        match self {
            Ef::Cert(PairId::Sign) => 0x0001,
            Ef::CaCert(PairId::Sign) => 0x0002,
            Ef::Cert(PairId::Auth) => 0x000A,
            Ef::CaCert(PairId::Auth) => 0x000B,
            Ef::Token => 0x0006,
            Ef::Availability => 0x0008,
            Ef::Key(PairId::Auth) => 0x0017,
            Ef::Pin(PairId::Auth) => 0x0018,
            Ef::Key(PairId::Sign) => 0x001A,
            Ef::Pin(PairId::Sign) => 0x001B,
        }
    }
}

/// Lifecycle of a pair (`applet-spec/jpki.md`, "Pair states"), as the applet persists it and
/// PAIR STATUS reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairState {
    Empty,
    KeyGenerated,
    AwaitingPin,
    TemporaryPin,
    Active,
}

impl PairState {
    const ALL: [PairState; 5] =
        [PairState::Empty, PairState::KeyGenerated, PairState::AwaitingPin, PairState::TemporaryPin, PairState::Active];

    /// The status byte of PAIR STATUS.
    pub fn code(self) -> u8 {
        match self {
            PairState::Empty => 0,
            PairState::KeyGenerated => 1,
            PairState::AwaitingPin => 2,
            PairState::TemporaryPin => 3,
            PairState::Active => 4,
        }
    }

    /// The state a PAIR STATUS byte names.
    pub fn from_code(b: u8) -> Option<PairState> {
        PairState::ALL.into_iter().find(|s| s.code() == b)
    }

    /// The state's name (scenario files and `gpse tsm status` use it).
    pub fn name(self) -> &'static str {
        match self {
            PairState::Empty => "empty",
            PairState::KeyGenerated => "key generated",
            PairState::AwaitingPin => "awaiting PIN",
            PairState::TemporaryPin => "temporary PIN",
            PairState::Active => "active",
        }
    }

    /// Whether the pair has a PIN a user may present.
    pub fn has_usable_pin(self) -> bool {
        matches!(self, PairState::TemporaryPin | PairState::Active)
    }

    /// A set-up the SP-TSM began and has not handed to the user (key made, certificates or the
    /// temporary PIN missing): what a resumed set-up erases first.
    pub fn is_setup_in_progress(self) -> bool {
        matches!(self, PairState::KeyGenerated | PairState::AwaitingPin | PairState::TemporaryPin)
    }
}

/// What PAIR STATUS answers: `DF0p 05 state tries_left try_limit temporary blocked`
/// (`applet-spec/jpki.md`, management path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairStatus {
    pub state: PairState,
    pub tries_left: u8,
    pub try_limit: u8,
    pub temporary: bool,
    pub blocked: bool,
}

impl PairStatus {
    /// The response data for `pair`.
    pub fn to_tlv(&self, pair: PairId) -> Vec<u8> {
        let v = [self.state.code(), self.tries_left, self.try_limit, u8::from(self.temporary), u8::from(self.blocked)];
        crate::tlv::tlv(0xDF00 | u32::from(pair.p2()), &v)
    }

    /// Parses the response data for `pair`; `None` for anything else.
    pub fn parse(pair: PairId, d: &[u8]) -> Option<PairStatus> {
        match d {
            [0xDF, p, 0x05, state, left, limit, temp @ (0 | 1), blocked @ (0 | 1)] if *p == pair.p2() => {
                Some(PairStatus {
                    state: PairState::from_code(*state)?,
                    tries_left: *left,
                    try_limit: *limit,
                    temporary: *temp != 0,
                    blocked: *blocked != 0,
                })
            }
            _ => None,
        }
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

/// The signature scheme in P1 of COMPUTE DIGITAL SIGNATURE (myna-card `SignatureScheme`,
/// `src/ap/jpki.rs`: found by exercising every P1 on a card; any other P1 answers `6A86`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignScheme {
    /// `00`: PKCS#1 v1.5 type 1 over the data as given, 1-245 bytes (J§5).
    Verbatim,
    /// `01`: the card hashes the data with SHA-256 and pads the bare 32-byte hash.
    Sha256Bare,
    /// `02`: the data is a 32-byte SHA-256 hash; the card wraps it in a DigestInfo.
    PreHashedDigestInfo,
    /// `03`: the card hashes with SHA-256 and wraps the hash in a DigestInfo.
    Sha256DigestInfo,
    /// `04`: the data is a 32-byte SHA-256 hash, signed with RSASSA-PSS.
    PreHashedPss,
    /// `05`: the card hashes with SHA-256 and signs with RSASSA-PSS.
    Sha256Pss,
}

impl SignScheme {
    const ALL: [SignScheme; 6] = [
        SignScheme::Verbatim,
        SignScheme::Sha256Bare,
        SignScheme::PreHashedDigestInfo,
        SignScheme::Sha256DigestInfo,
        SignScheme::PreHashedPss,
        SignScheme::Sha256Pss,
    ];

    /// The P1 byte.
    pub fn p1(self) -> u8 {
        self as u8
    }

    /// The scheme P1 names; `6A86` for any other (myna-card).
    pub fn from_p1(p1: u8) -> Result<SignScheme, Sw> {
        SignScheme::ALL.into_iter().find(|s| s.p1() == p1).ok_or(Sw::IncorrectP1P2)
    }

    /// The data lengths the scheme takes (myna-card `check_input`): a pre-hashed scheme exactly
    /// one SHA-256 hash, verbatim what PKCS#1 v1.5 leaves under a 2048-bit key (k − 11), a
    /// hashing scheme anything a short APDU carries.
    pub fn data_len(self) -> std::ops::RangeInclusive<usize> {
        match self {
            SignScheme::Verbatim => 1..=245,
            SignScheme::PreHashedDigestInfo | SignScheme::PreHashedPss => 32..=32,
            SignScheme::Sha256Bare | SignScheme::Sha256DigestInfo | SignScheme::Sha256Pss => 1..=255,
        }
    }

    /// Whether the card hashes the data itself.
    pub fn hashes_on_card(self) -> bool {
        matches!(self, SignScheme::Sha256Bare | SignScheme::Sha256DigestInfo | SignScheme::Sha256Pss)
    }
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
    /// `80 2A P1 P2 DATA 00`: P1 the scheme.
    Sign { scheme: SignScheme, sfi: Option<u8>, data: Vec<u8> },
    /// `00 84 00 00 Le`: GET CHALLENGE, 1-256 bytes (myna-card `Card::get_challenge`; OpenSC
    /// `pkcs11-tool --test` C_GenerateRandom).
    GetChallenge { ne: usize },
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
            0x84 => {
                if c.p1 != 0 || c.p2 != 0 {
                    return Err(Sw::IncorrectP1P2);
                }
                if !c.data.is_empty() {
                    return Err(Sw::WrongLength);
                }
                // The card honours every Le of 1-256 exactly and refuses the extended form with
                // `6985` (myna-card `Card::get_challenge`); no Le is a wrong length.
                let ne = c.ne.ok_or(Sw::WrongLength)?;
                if c.extended {
                    return Err(Sw::ConditionsNotSatisfied);
                }
                interindustry(JpkiCommand::GetChallenge { ne })
            }
            0x2A | 0x47 | 0xD0 | 0xD2 | 0xD4 | 0xEE | 0xCA if !class.proprietary => Err(Sw::InsNotSupported),
            0x2A => {
                let scheme = SignScheme::from_p1(c.p1)?;
                if !(c.p2 == 0x80 || sfi_of(c.p2).is_some()) {
                    return Err(Sw::IncorrectP1P2);
                }
                if !scheme.data_len().contains(&c.data.len()) {
                    return Err(Sw::WrongLength);
                }
                proprietary(JpkiCommand::Sign { scheme, sfi: sfi_of(c.p2), data: c.data.clone() })
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

impl JpkiCommand {
    /// The APDU a client sends (J§1-§5 for the user path: OpenSC's forms; the management path
    /// as the SP-TSM sends it, Le `00` where the card answers data). READ BINARY codes what its
    /// P1-P2 can hold (ISO 7816-4 §11.3.3): an offset up to `FF` with an SFI, `7FFF` without;
    /// callers keep to that (the parser never gives more).
    // Offsets are masked to the bits P1/P2 carry (JPKI READ BINARY, ISO 7816-4 §11.2.3).
    #[allow(clippy::cast_possible_truncation)]
    pub fn to_command(&self) -> Command {
        let p2_sfi = |sfi: Option<u8>| 0x80 | sfi.unwrap_or(0);
        match self {
            JpkiCommand::SelectEf { fid } => Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(fid.to_be_bytes().to_vec()),
            JpkiCommand::SelectMf => Command::new(0x00, 0xA4, 0x00, 0x0C).with_data(vec![0x3F, 0x00]),
            JpkiCommand::ReadBinary { sfi: Some(sfi), offset, ne } => {
                Command::new(0x00, 0xB0, 0x80 | sfi, (*offset & 0xFF) as u8).with_ne(*ne)
            }
            JpkiCommand::ReadBinary { sfi: None, offset, ne } => {
                Command::new(0x00, 0xB0, ((*offset >> 8) & 0x7F) as u8, (*offset & 0xFF) as u8).with_ne(*ne)
            }
            JpkiCommand::Verify { sfi, pin } => {
                Command::new(0x00, 0x20, 0x00, p2_sfi(*sfi)).with_data(pin.clone().unwrap_or_default())
            }
            JpkiCommand::ChangePin { new } => Command::new(0x00, 0x24, 0x01, 0x80).with_data(new.clone()),
            JpkiCommand::Sign { scheme, sfi, data } => {
                Command::new(0x80, 0x2A, scheme.p1(), p2_sfi(*sfi)).with_data(data.clone()).with_ne(256)
            }
            JpkiCommand::GetChallenge { ne } => Command::new(0x00, 0x84, 0x00, 0x00).with_ne(*ne),
            // The 269-byte public key template needs extended Le (the runtime answers a short Le
            // with 61xx, which JPKI clients do not follow; `reference/jpki.md` §5).
            JpkiCommand::GenerateKeyPair(p) => Command::new(0x80, 0x47, 0x00, p.p2()).with_ne(65536),
            JpkiCommand::StoreCertificate { pair, ca, last, data } => {
                let p1 = if *last { 0x80 } else { 0x00 } | u8::from(*ca);
                Command::new(0x80, 0xD0, p1, pair.p2()).with_data(data.clone())
            }
            JpkiCommand::SetPin { pair, mode, pin } => {
                let p1 = match mode {
                    PinSetMode::Temporary => 0x00,
                    PinSetMode::TemporaryBlocked => 0x01,
                    PinSetMode::Reset => 0x02,
                };
                Command::new(0x80, 0xD2, p1, pair.p2()).with_data(pin.clone())
            }
            JpkiCommand::UnblockPin(p) => Command::new(0x80, 0xD4, 0x00, p.p2()),
            JpkiCommand::ErasePair(p) => Command::new(0x80, 0xEE, 0x00, p.p2()),
            JpkiCommand::PairStatus(p) => Command::new(0x80, 0xCA, 0x00, p.p2()).with_ne(256),
        }
    }
}

/// PIN policy per pair (J§4; seeds.md §2): auth = 4 ASCII digits, 3 tries; sign = 6-16 of
/// `A-Z0-9`, 5 tries.
pub fn pin_well_formed(pair: PairId, pin: &[u8]) -> bool {
    match pair {
        PairId::Auth => pin.len() == 4 && pin.iter().all(u8::is_ascii_digit),
        PairId::Sign => {
            (6..=16).contains(&pin.len()) && pin.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn wire(c: JpkiCommand) -> String {
        hex::encode_upper(c.to_command().to_bytes())
    }

    #[test]
    fn exact_bytes_of_the_clients() {
        // J§1-§5: what OpenSC and the JPKI app send.
        assert_eq!(wire(JpkiCommand::SelectEf { fid: 0x0018 }), "00A4020C020018");
        assert_eq!(wire(JpkiCommand::ReadBinary { sfi: None, offset: 0x0100, ne: 256 }), "00B0010000");
        assert_eq!(wire(JpkiCommand::ReadBinary { sfi: None, offset: 0, ne: 4 }), "00B0000004");
        assert_eq!(wire(JpkiCommand::Verify { sfi: None, pin: None }), "00200080");
        assert_eq!(wire(JpkiCommand::Verify { sfi: None, pin: Some(b"1234".to_vec()) }), "002000800431323334");
        assert_eq!(wire(JpkiCommand::ChangePin { new: b"5678".to_vec() }), "002401800435363738");
        assert_eq!(
            wire(JpkiCommand::Sign { scheme: SignScheme::Verbatim, sfi: None, data: vec![0xAB] }),
            "802A008001AB00"
        );
        // myna-card `signing_names_the_key_in_p2_instead_of_selecting_it` / `each_scheme_has_its_own_p1_and_key`.
        assert_eq!(
            wire(JpkiCommand::Sign { scheme: SignScheme::Verbatim, sfi: Some(0x17), data: vec![1, 2] }),
            "802A009702010200"
        );
        assert_eq!(
            &wire(JpkiCommand::Sign { scheme: SignScheme::Sha256Pss, sfi: Some(0x1A), data: vec![0; 32] })[..8],
            "802A059A"
        );
        // myna-card `Card::get_challenge` (Le 1-256; 00 = 256).
        assert_eq!(wire(JpkiCommand::GetChallenge { ne: 8 }), "0084000008");
        assert_eq!(wire(JpkiCommand::GetChallenge { ne: 256 }), "0084000000");
        assert_eq!(wire(JpkiCommand::GenerateKeyPair(PairId::Sign)), "80470002000000");
        assert_eq!(
            wire(JpkiCommand::StoreCertificate { pair: PairId::Auth, ca: true, last: true, data: vec![0x30] }),
            "80D081010130"
        );
        assert_eq!(
            wire(JpkiCommand::SetPin { pair: PairId::Sign, mode: PinSetMode::TemporaryBlocked, pin: b"A".to_vec() }),
            "80D201020141"
        );
        assert_eq!(wire(JpkiCommand::UnblockPin(PairId::Auth)), "80D40001");
        assert_eq!(wire(JpkiCommand::ErasePair(PairId::Sign)), "80EE0002");
        assert_eq!(wire(JpkiCommand::PairStatus(PairId::Auth)), "80CA000100");
    }

    #[test]
    fn pair_status_codes() {
        let s =
            PairStatus { state: PairState::TemporaryPin, tries_left: 2, try_limit: 3, temporary: true, blocked: false };
        assert_eq!(hex::encode_upper(s.to_tlv(PairId::Auth)), "DF01050302030100");
        assert_eq!(PairStatus::parse(PairId::Auth, &s.to_tlv(PairId::Auth)), Some(s));
        assert_eq!(PairStatus::parse(PairId::Sign, &s.to_tlv(PairId::Auth)), None);
        assert_eq!(PairStatus::parse(PairId::Auth, &hex::decode("DF01050502030100").unwrap()), None);
        for st in PairState::ALL {
            assert_eq!(PairState::from_code(st.code()), Some(st));
        }
        for e in Ef::ALL {
            assert_eq!(Ef::from_fid(e.fid()), Some(e));
        }
        assert_eq!(Ef::from_fid(0x3F00), None);
    }

    fn pair() -> impl Strategy<Value = PairId> {
        prop_oneof![Just(PairId::Auth), Just(PairId::Sign)]
    }

    fn sfi() -> impl Strategy<Value = Option<u8>> {
        proptest::option::of(1u8..=0x1F)
    }

    fn bytes(r: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), r)
    }

    fn command() -> impl Strategy<Value = JpkiCommand> {
        prop_oneof![
            any::<u16>().prop_map(|fid| JpkiCommand::SelectEf { fid }),
            Just(JpkiCommand::SelectMf),
            (1u8..=0x1F, 0usize..=0xFF, 1usize..=256).prop_map(|(s, offset, ne)| JpkiCommand::ReadBinary {
                sfi: Some(s),
                offset,
                ne
            }),
            (0usize..=0x7FFF, 1usize..=256).prop_map(|(offset, ne)| JpkiCommand::ReadBinary { sfi: None, offset, ne }),
            (sfi(), proptest::option::of(bytes(1..=16))).prop_map(|(sfi, pin)| JpkiCommand::Verify { sfi, pin }),
            bytes(1..=16).prop_map(|new| JpkiCommand::ChangePin { new }),
            (sfi(), bytes(1..=245)).prop_map(|(sfi, data)| JpkiCommand::Sign {
                scheme: SignScheme::Verbatim,
                sfi,
                data
            }),
            (sfi(), prop_oneof![Just(SignScheme::PreHashedDigestInfo), Just(SignScheme::PreHashedPss)], bytes(32..=32))
                .prop_map(|(sfi, scheme, data)| JpkiCommand::Sign { scheme, sfi, data }),
            (
                sfi(),
                prop_oneof![
                    Just(SignScheme::Sha256Bare),
                    Just(SignScheme::Sha256DigestInfo),
                    Just(SignScheme::Sha256Pss)
                ],
                bytes(1..=255)
            )
                .prop_map(|(sfi, scheme, data)| JpkiCommand::Sign { scheme, sfi, data }),
            (1usize..=256).prop_map(|ne| JpkiCommand::GetChallenge { ne }),
            pair().prop_map(JpkiCommand::GenerateKeyPair),
            (pair(), any::<bool>(), any::<bool>(), bytes(1..=200))
                .prop_map(|(pair, ca, last, data)| JpkiCommand::StoreCertificate { pair, ca, last, data }),
            (
                pair(),
                prop_oneof![Just(PinSetMode::Temporary), Just(PinSetMode::TemporaryBlocked), Just(PinSetMode::Reset)],
                bytes(1..=16)
            )
                .prop_map(|(pair, mode, pin)| JpkiCommand::SetPin { pair, mode, pin }),
            pair().prop_map(JpkiCommand::UnblockPin),
            pair().prop_map(JpkiCommand::ErasePair),
            pair().prop_map(JpkiCommand::PairStatus),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(x in command()) {
            prop_assert_eq!(JpkiCommand::try_from(&x.to_command()), Ok(x));
        }

        /// A management command on its SP-TSM channel (CLA `81`-`83`, `C0`-`CF`) parses the same.
        #[test]
        fn round_trips_on_a_channel(x in command(), ch in 1u8..=19) {
            let c = x.to_command().on_channel(ch).unwrap();
            prop_assert_eq!(JpkiCommand::try_from(&c), Ok(x));
        }
    }
}
