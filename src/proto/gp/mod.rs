//! The commands a GlobalPlatform security domain answers (GPCS 2.3.1 ch. 11; Amendment D §7),
//! and the codings card and host share: privileges (§11.1.2) and card life cycle states
//! (T11-4). [`IsdCommand`] routes an APDU by its INS; each command's own type parses its P1, P2
//! and data once the card state and secure channel checks have passed (`applet-spec/isd.md`,
//! "Which commands need what").

mod dgi;
mod get_status;
mod install;
mod load_file;
pub mod states;

pub use dgi::{encode_dgi, parse_dgis, Dgi};
pub use get_status::{GetStatus, Query, Scope};
pub use install::Install;
pub use load_file::{DapBlock, LoadFile};
pub use states::{AppLifeCycle, CardLifeCycle, Privileges};

use crate::aid::Aid;
use crate::apdu::{Class, Command};
use crate::sw::Sw;
use crate::tlv::{self, Mode};

/// The CLA of every GP command built here: proprietary, basic channel, no SM (GPCS §11.1.4);
/// the host moves it to its channel and the SCP03 session adds the SM bit.
const GP_CLA: u8 = 0x80;

/// A security domain command, by INS.
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
    /// BEGIN R-MAC SESSION (AmdD §7.1.3).
    BeginRmacSession,
    /// END R-MAC SESSION (AmdD §7.1.4).
    EndRmacSession,
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
            0x7A => IsdCommand::BeginRmacSession,
            0x78 => IsdCommand::EndRmacSession,
            _ => return Err(Sw::InsNotSupported),
        };
        // GP commands use the proprietary class (GPCS §11.1.4).
        if !class.proprietary {
            return Err(Sw::ClaNotSupported);
        }
        Ok(cmd)
    }
}

/// GET DATA `80 CA P1 P2 00` (GPCS §11.3): the data object with tag P1P2 (one-byte tags have
/// P1 `00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetData {
    pub tag: u16,
}

impl GetData {
    pub fn to_command(&self) -> Command {
        let [p1, p2] = self.tag.to_be_bytes();
        Command::new(GP_CLA, 0xCA, p1, p2).with_ne(256)
    }
}

impl TryFrom<&Command> for GetData {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        if c.ins != 0xCA {
            return Err(Sw::InsNotSupported);
        }
        Ok(GetData { tag: c.p1p2() })
    }
}

/// INITIALIZE UPDATE `80 50 KVN 00 08 host_challenge 00` (AmdD §7.1.1; Le `00` as GPP and pySim
/// send it); `10` and 16 bytes of challenge in S16 mode (GPP `--s16`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitializeUpdate {
    /// P1: `00` = the card's first key set.
    pub kvn: u8,
    /// 8 bytes (S8) or 16 (S16).
    pub host_challenge: Vec<u8>,
}

impl InitializeUpdate {
    pub fn to_command(&self) -> Command {
        Command::new(GP_CLA, 0x50, self.kvn, 0x00).with_data(self.host_challenge.clone()).with_ne(256)
    }
}

impl TryFrom<&Command> for InitializeUpdate {
    type Error = Sw;
    /// AmdD §7.1.1 and the table in `applet-spec/isd.md`: proprietary class without SM (else
    /// `6E00`), P2 `00` (else `6A86`), 8 or 16 bytes of challenge (else `6700`; which of the two
    /// the key set's mode takes is the security domain's check).
    fn try_from(c: &Command) -> Result<Self, Sw> {
        let class = Class::parse(c.cla)?;
        if !class.proprietary || class.secure_messaging {
            return Err(Sw::ClaNotSupported);
        }
        if c.p2 != 0x00 {
            return Err(Sw::IncorrectP1P2);
        }
        if !matches!(c.data.len(), 8 | 16) {
            return Err(Sw::WrongLength);
        }
        Ok(InitializeUpdate { kvn: c.p1, host_challenge: c.data.clone() })
    }
}

/// EXTERNAL AUTHENTICATE `80 82 level 00 08 host_cryptogram` before its C-MAC (AmdD §7.1.2):
/// the host's SCP03 session wraps it (SM bit, MAC); the card parses it once unwrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalAuthenticate {
    /// P1: the security level asked for (AmdD T7-3).
    pub level: u8,
    /// 8 bytes (S8) or 16 (S16).
    pub host_cryptogram: Vec<u8>,
}

impl ExternalAuthenticate {
    pub fn to_command(&self) -> Command {
        Command::new(GP_CLA, 0x82, self.level, 0x00).with_data(self.host_cryptogram.clone())
    }
}

impl TryFrom<&Command> for ExternalAuthenticate {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        if c.ins != 0x82 {
            return Err(Sw::InsNotSupported);
        }
        if c.p2 != 0x00 {
            return Err(Sw::IncorrectP1P2);
        }
        if !matches!(c.data.len(), 8 | 16) {
            return Err(Sw::WrongLength);
        }
        Ok(ExternalAuthenticate { level: c.p1, host_cryptogram: c.data.clone() })
    }
}

/// A typed LOAD command (GPCS §11.6.2): one block of the Load File.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load<'a> {
    /// P1 `80`: the last block.
    pub last: bool,
    /// P2: the block number, from 0.
    pub block: u8,
    pub data: &'a [u8],
}

impl Load<'_> {
    pub fn to_command(&self) -> Command {
        Command::new(GP_CLA, 0xE8, if self.last { 0x80 } else { 0x00 }, self.block)
            .with_data(self.data.to_vec())
            .with_ne(256)
    }
}

impl<'a> TryFrom<&'a Command> for Load<'a> {
    type Error = Sw;
    fn try_from(c: &'a Command) -> Result<Self, Sw> {
        let last = match c.p1 {
            0x00 => false,
            0x80 => true,
            _ => return Err(Sw::IncorrectP1P2),
        };
        Ok(Load { last, block: c.p2, data: &c.data })
    }
}

/// A typed DELETE command (GPCS §11.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delete {
    /// `4F` (GPCS T11-22); `related` is P2 = `80`.
    Object { aid: Aid, related: bool },
    /// `D2 KVN` with or without `D0 id` (GPCS T11-23): the whole key set.
    KeySet { kvn: u8 },
}

impl Delete {
    pub fn to_command(&self) -> Command {
        let (p2, data) = match self {
            Delete::Object { aid, related } => (if *related { 0x80 } else { 0x00 }, tlv::tlv(0x4F, aid.as_bytes())),
            Delete::KeySet { kvn } => (0x00, tlv::tlv(0xD2, &[*kvn])),
        };
        Command::new(GP_CLA, 0xE4, 0x00, p2).with_data(data).with_ne(256)
    }
}

impl TryFrom<&Command> for Delete {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        let related = match c.p2 {
            0x00 => false,
            0x80 => true,
            _ => return Err(Sw::IncorrectP1P2),
        };
        let tlvs = tlv::parse_all(&c.data, Mode::Ber).map_err(|_| Sw::WrongData)?;
        if let Some(a) = tlv::find(&tlvs, 0x4F) {
            return Ok(Delete::Object { aid: Aid::new(a.value).ok_or(Sw::WrongData)?, related });
        }
        match tlv::find(&tlvs, 0xD2).map(|t| t.value) {
            Some(&[kvn]) => Ok(Delete::KeySet { kvn }),
            _ => Err(Sw::WrongData),
        }
    }
}

/// A typed PUT KEY command (GPCS §11.8.2; the key data stays encrypted until the DEK is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutKey<'a> {
    /// P1 b7-b1: `00` adds a key set, else the KVN replaced.
    pub replace: Option<u8>,
    /// P2 b7-b1: the first key identifier.
    pub first_id: u8,
    /// P2 b8: several keys.
    pub multiple: bool,
    pub new_kvn: u8,
    /// The key components (GPCS T11-68), each encrypted with the DEK.
    pub components: &'a [u8],
}

impl PutKey<'_> {
    pub fn to_command(&self) -> Command {
        let mut data = vec![self.new_kvn];
        data.extend_from_slice(self.components);
        let p2 = if self.multiple { 0x80 } else { 0x00 } | self.first_id;
        Command::new(GP_CLA, 0xD8, self.replace.unwrap_or(0), p2).with_data(data).with_ne(256)
    }
}

impl<'a> TryFrom<&'a Command> for PutKey<'a> {
    type Error = Sw;
    fn try_from(c: &'a Command) -> Result<Self, Sw> {
        let replace = match c.p1 & 0x7F {
            0 => None,
            k => Some(k),
        };
        let (multiple, first_id) = (c.p2 & 0x80 != 0, c.p2 & 0x7F);
        // Several keys start at key 1 (a whole SCP03 key set); a single key is key 1-3 of its
        // version, added (P1 = 00, "add a single new key", GPCS §11.8.1 T11-65/66) or replaced.
        let ok = matches!((multiple, first_id), (true, 1) | (false, 1..=3));
        if !ok {
            return Err(Sw::IncorrectP1P2);
        }
        let (&new_kvn, components) = c.data.split_first().ok_or(Sw::WrongData)?;
        if new_kvn == 0 || new_kvn >= 0x80 {
            return Err(Sw::WrongData);
        }
        Ok(PutKey { replace, first_id, multiple, new_kvn, components })
    }
}

/// A typed SET STATUS command (GPCS §11.10.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetStatus {
    /// P1 `80`: the card (the ISD's life cycle); the data is ignored.
    Card { to: CardLifeCycle },
    /// P1 `40`: one application or SSD; P1 `60`: an SSD and its applications.
    Application { aid: Aid, with_associated: bool, p2: u8 },
}

impl SetStatus {
    pub fn to_command(&self) -> Command {
        match self {
            SetStatus::Card { to } => Command::new(GP_CLA, 0xF0, 0x80, to.byte()),
            SetStatus::Application { aid, with_associated, p2 } => {
                Command::new(GP_CLA, 0xF0, if *with_associated { 0x60 } else { 0x40 }, *p2)
                    .with_data(aid.as_bytes().to_vec())
            }
        }
    }
}

impl TryFrom<&Command> for SetStatus {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        match c.p1 {
            0x80 => {
                let to = CardLifeCycle::try_from(c.p2).map_err(|_| Sw::WrongData)?;
                Ok(SetStatus::Card { to })
            }
            0x40 | 0x60 => Ok(SetStatus::Application {
                aid: Aid::new(&c.data).ok_or(Sw::WrongData)?,
                with_associated: c.p1 == 0x60,
                p2: c.p2,
            }),
            _ => Err(Sw::IncorrectP1P2),
        }
    }
}

/// A typed STORE DATA command (GPCS §11.11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreData<'a> {
    /// P1 b8.
    pub last: bool,
    /// P1 b7-b1 (GPCS T11-89: b7-b6 encryption, b5-b4 data structure, b1 response expected).
    pub structure: u8,
    /// P2.
    pub block: u8,
    pub data: &'a [u8],
}

/// STORE DATA P1 b7b6 (GPCS T11-89): what the data's encryption is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreEncryption {
    /// `00`: no encryption information.
    None,
    /// `01`: application dependent encryption (the application's business).
    ApplicationDependent,
    /// `11`: encrypted data, with the data encryption key (Key-DEK) of the secure channel's key
    /// set (AmdD §6.2.8 under SCP03).
    Encrypted,
}

/// STORE DATA P1 b5b4 (GPCS T11-89): how the data is structured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFormat {
    /// `00`: no general data structure information.
    None,
    /// `01`: DGI format ([`parse_dgis`]).
    Dgi,
    /// `10`: BER-TLV.
    BerTlv,
}

impl StoreData<'_> {
    /// P1 b7b6; the RFU coding `10` is `6A86`.
    pub fn encryption(&self) -> Result<StoreEncryption, Sw> {
        match (self.structure >> 5) & 0x03 {
            0b00 => Ok(StoreEncryption::None),
            0b01 => Ok(StoreEncryption::ApplicationDependent),
            0b11 => Ok(StoreEncryption::Encrypted),
            _ => Err(Sw::IncorrectP1P2),
        }
    }

    /// P1 b5b4; the RFU coding `11` is `6A86`.
    pub fn format(&self) -> Result<StoreFormat, Sw> {
        match (self.structure >> 3) & 0x03 {
            0b00 => Ok(StoreFormat::None),
            0b01 => Ok(StoreFormat::Dgi),
            0b10 => Ok(StoreFormat::BerTlv),
            _ => Err(Sw::IncorrectP1P2),
        }
    }

    pub fn to_command(&self) -> Command {
        let p1 = if self.last { 0x80 } else { 0x00 } | (self.structure & 0x7F);
        Command::new(GP_CLA, 0xE2, p1, self.block).with_data(self.data.to_vec())
    }
}

impl<'a> TryFrom<&'a Command> for StoreData<'a> {
    type Error = Sw;
    fn try_from(c: &'a Command) -> Result<Self, Sw> {
        Ok(StoreData { last: c.p1 & 0x80 != 0, structure: c.p1 & 0x7F, block: c.p2, data: &c.data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn wire(c: Command) -> String {
        hex::encode_upper(c.to_bytes())
    }

    fn aid() -> impl Strategy<Value = Aid> {
        proptest::collection::vec(any::<u8>(), 5..=16).prop_map(|v| Aid::new(&v).unwrap())
    }

    #[test]
    fn exact_bytes() {
        assert_eq!(wire(GetData { tag: 0x9F7F }.to_command()), "80CA9F7F00");
        assert_eq!(wire(GetData { tag: 0x66 }.to_command()), "80CA006600");
        let iu = InitializeUpdate { kvn: 0x30, host_challenge: vec![1, 2, 3, 4, 5, 6, 7, 8] };
        assert_eq!(wire(iu.to_command()), "8050300008010203040506070800");
        let ea = ExternalAuthenticate { level: 0x33, host_cryptogram: vec![0xAA; 8] };
        assert_eq!(wire(ea.to_command()), "8082330008AAAAAAAAAAAAAAAA");
        assert_eq!(wire(Load { last: true, block: 2, data: &[0xC4, 0x01, 0x00] }.to_command()), "80E8800203C4010000");
        let jpki = Aid::from_static(&[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01]);
        assert_eq!(
            wire(Delete::Object { aid: jpki.clone(), related: false }.to_command()),
            "80E400000C4F0AD392F00026010000000100"
        );
        assert_eq!(wire(Delete::KeySet { kvn: 0x30 }.to_command()), "80E4000003D2013000");
        let pk = PutKey { replace: Some(0x30), first_id: 1, multiple: true, new_kvn: 0x31, components: &[0x88] };
        assert_eq!(wire(pk.to_command()), "80D830810231 8800".replace(' ', ""));
        assert_eq!(wire(SetStatus::Card { to: CardLifeCycle::CardLocked }.to_command()), "80F0807F");
        let lock = SetStatus::Application { aid: jpki, with_associated: false, p2: 0x80 };
        assert_eq!(wire(lock.to_command()), "80F040800AD392F000260100000001");
        let sd = StoreData { last: true, structure: 0x10, block: 0, data: &[0xF2, 0x00] };
        assert_eq!(wire(sd.to_command()), "80E2900002F200");
    }

    #[test]
    fn card_side_refusals() {
        let p = |h: &str| Command::parse(&hex::decode(h).unwrap()).unwrap();
        assert_eq!(IsdCommand::try_from(&p("00F28002024F0000")), Err(Sw::ClaNotSupported));
        assert_eq!(IsdCommand::try_from(&p("80A4040000")), Err(Sw::FileNotFound));
        assert_eq!(IsdCommand::try_from(&p("80AA000000")), Err(Sw::InsNotSupported));
        assert_eq!(IsdCommand::try_from(&p("00CA006600")), Ok(IsdCommand::GetData { tag: 0x66 }));
        assert_eq!(InitializeUpdate::try_from(&p("80500000070102030405060700")), Err(Sw::WrongLength));
        assert_eq!(InitializeUpdate::try_from(&p("8450000008010203040506070800")), Err(Sw::ClaNotSupported));
        assert_eq!(InitializeUpdate::try_from(&p("8050000108010203040506070800")), Err(Sw::IncorrectP1P2));
        assert_eq!(Delete::try_from(&p("80E4004003D2013000")), Err(Sw::IncorrectP1P2));
        assert_eq!(Delete::try_from(&p("80E4000002D20000")), Err(Sw::WrongData));
        // "Add a single new key" (GPCS §11.8.1, T11-65/66): P1 00, P2 01 (issue #18 #3).
        assert_eq!(
            PutKey::try_from(&p("80D80001013000")),
            Ok(PutKey { replace: None, first_id: 1, multiple: false, new_kvn: 0x30, components: &[] })
        );
        assert_eq!(PutKey::try_from(&p("80D80004013000")), Err(Sw::IncorrectP1P2));
        assert_eq!(PutKey::try_from(&p("80D80082013000")), Err(Sw::IncorrectP1P2));
        assert_eq!(PutKey::try_from(&p("80D80081018000")), Err(Sw::WrongData));
        assert_eq!(SetStatus::try_from(&p("80F0800300")), Err(Sw::WrongData));
        assert_eq!(Load::try_from(&p("80E8010001C400")), Err(Sw::IncorrectP1P2));
    }

    proptest! {
        #[test]
        fn get_data_round_trips(tag: u16) {
            prop_assert_eq!(GetData::try_from(&GetData { tag }.to_command()), Ok(GetData { tag }));
        }

        #[test]
        fn initialize_update_round_trips(kvn: u8, host_challenge in prop_oneof![
            proptest::collection::vec(any::<u8>(), 8..=8),
            proptest::collection::vec(any::<u8>(), 16..=16)
        ]) {
            let x = InitializeUpdate { kvn, host_challenge };
            prop_assert_eq!(InitializeUpdate::try_from(&x.to_command()), Ok(x));
        }

        #[test]
        fn external_authenticate_round_trips(level: u8, host_cryptogram in prop_oneof![
            proptest::collection::vec(any::<u8>(), 8..=8),
            proptest::collection::vec(any::<u8>(), 16..=16)
        ]) {
            let x = ExternalAuthenticate { level, host_cryptogram };
            prop_assert_eq!(ExternalAuthenticate::try_from(&x.to_command()), Ok(x));
        }

        #[test]
        fn load_round_trips(last: bool, block: u8, data in proptest::collection::vec(any::<u8>(), 0..240)) {
            let x = Load { last, block, data: &data };
            let c = x.to_command();
            prop_assert_eq!(Load::try_from(&c), Ok(x));
        }

        #[test]
        fn delete_round_trips(a in aid(), related: bool, kvn: u8, object: bool) {
            let x = if object { Delete::Object { aid: a, related } } else { Delete::KeySet { kvn } };
            prop_assert_eq!(Delete::try_from(&x.to_command()), Ok(x));
        }

        #[test]
        fn put_key_round_trips(
            replace in proptest::option::of(1u8..0x80),
            first_id in 1u8..=3,
            multiple: bool,
            new_kvn in 1u8..0x80,
            components in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            // The forms GPCS T11-65/66 allow: several keys from key 1, or one key added or replaced.
            prop_assume!(!multiple || first_id == 1);
            let x = PutKey { replace, first_id, multiple, new_kvn, components: &components };
            let c = x.to_command();
            prop_assert_eq!(PutKey::try_from(&c), Ok(x));
        }

        #[test]
        fn set_status_round_trips(a in aid(), with_associated: bool, p2: u8, card: bool, state in 0usize..5) {
            use CardLifeCycle::*;
            let x = if card {
                SetStatus::Card { to: [OpReady, Initialized, Secured, CardLocked, Terminated][state] }
            } else {
                SetStatus::Application { aid: a, with_associated, p2 }
            };
            prop_assert_eq!(SetStatus::try_from(&x.to_command()), Ok(x));
        }

        #[test]
        fn store_data_round_trips(last: bool, structure in 0u8..0x80, block: u8, data in proptest::collection::vec(any::<u8>(), 1..200)) {
            let x = StoreData { last, structure, block, data: &data };
            let c = x.to_command();
            prop_assert_eq!(StoreData::try_from(&c), Ok(x));
        }
    }
}
