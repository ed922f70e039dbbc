//! The ARA-M's commands (GPD_SPE_013 v1.1 §3.4-§3.5, `applet-spec/ara-m.md`): GET DATA for the
//! rules Android's ACE reads, STORE DATA with the command DOs a TSM sends, and the rule DOs both
//! carry ([`rules`]).

pub mod rules;

use crate::apdu::Command;
use crate::sw::Sw;
use crate::tlv;
use rules::{AidRef, NewRule, RefKey};

/// The ARA-M instance AID (`AraController.ARA_M_AID`, GP test applet, pySim `ADF_ARAM`).
pub const ARA_M_AID: &[u8] = &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x41, 0x43, 0x4C, 0x00];

/// ARA-M commands, parsed from the APDU once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AraCommand {
    /// GET DATA `FF40`.
    GetAll,
    /// GET DATA `FF60`.
    GetNext,
    /// GET DATA `FF50` with a REF-DO.
    GetSpecific { aid: AidRef, hash: Vec<u8> },
    /// GET DATA `DF20`.
    GetRefreshTag,
    /// GET DATA `DF21` with the device's interface version.
    GetConfig { device_version: [u8; 3] },
    /// STORE DATA: parsed further ([`StoreCommand::parse`]) once the secure channel has been
    /// checked.
    StoreData { p1: u8, p2: u8, data: Vec<u8> },
}

impl TryFrom<&Command> for AraCommand {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        // A SELECT the runtime forwarded (no instance has that AID): not found, as the ISD says.
        if c.cla & 0x80 == 0 && c.ins == 0xA4 && c.p1 == 0x04 {
            return Err(Sw::FileNotFound);
        }
        if !matches!(c.cla, 0x80..=0x83 | 0xC0..=0xCF) {
            return Err(Sw::ClaNotSupported);
        }
        match c.ins {
            0xCA => {
                let no_data = |cmd: AraCommand| if c.data.is_empty() { Ok(cmd) } else { Err(Sw::WrongLength) };
                match c.p1p2() {
                    0xFF40 => no_data(AraCommand::GetAll),
                    0xFF60 => no_data(AraCommand::GetNext),
                    0xDF20 => no_data(AraCommand::GetRefreshTag),
                    0xFF50 => {
                        let t = rules::der_single(&c.data)?;
                        if t.tag != rules::TAG_REF_DO {
                            return Err(Sw::WrongData);
                        }
                        let k = rules::validate_ref_do(t.value)?.value;
                        Ok(AraCommand::GetSpecific { aid: k.aid, hash: k.hash })
                    }
                    0xDF21 => {
                        let t = rules::der_single(&c.data)?;
                        let kids = rules::der_children(t.value)?;
                        match (t.tag, kids.as_slice()) {
                            (0xE4, [v]) if v.tag == 0xE6 && v.value.len() == 3 => {
                                Ok(AraCommand::GetConfig { device_version: [v.value[0], v.value[1], v.value[2]] })
                            }
                            _ => Err(Sw::WrongData),
                        }
                    }
                    _ => Err(Sw::IncorrectP1P2),
                }
            }
            0xE2 => Ok(AraCommand::StoreData { p1: c.p1, p2: c.p2, data: c.data.clone() }),
            _ => Err(Sw::InsNotSupported),
        }
    }
}

impl AraCommand {
    /// The APDU Android's `AraController` (GET DATA) or a TSM (STORE DATA) sends, on the basic
    /// channel; Le `00` wherever the ARA-M answers data.
    pub fn to_command(&self) -> Command {
        let get = |p1p2: u16| {
            let [p1, p2] = p1p2.to_be_bytes();
            Command::new(0x80, 0xCA, p1, p2).with_ne(256)
        };
        match self {
            AraCommand::GetAll => get(0xFF40),
            AraCommand::GetNext => get(0xFF60),
            AraCommand::GetRefreshTag => get(0xDF20),
            AraCommand::GetSpecific { aid, hash } => {
                let mut v = aid.to_tlv();
                v.extend(tlv::tlv(rules::TAG_HASH_REF_DO, hash));
                get(0xFF50).with_data(tlv::tlv(rules::TAG_REF_DO, &v))
            }
            AraCommand::GetConfig { device_version } => {
                get(0xDF21).with_data(tlv::tlv(0xE4, &tlv::tlv(0xE6, device_version)))
            }
            AraCommand::StoreData { p1, p2, data } => Command::new(0x80, 0xE2, *p1, *p2).with_data(data.clone()),
        }
    }
}

/// The command DO of a STORE DATA (SEAC v1.1 Table 5-1 as pySim lists it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreCommand {
    /// `F0`: Command-Store-REF-AR-DO.
    Store(NewRule),
    /// `F1 00`.
    DeleteAll,
    /// `F1 {4F|C0}`.
    DeleteAid(AidRef),
    /// `F1 {E1}`.
    DeleteRef(RefKey),
    /// `F1 {E2}`.
    DeleteRule(NewRule),
    /// `F2 00`: Command-UpdateRefreshTag.
    UpdateRefreshTag,
    /// `F3 {4F|C0}`: Command-Get.
    Get(AidRef),
    /// `F4 00`: Command-Get-All.
    GetAll,
    /// `F5 00`: Command-Get-Next.
    GetNext,
}

impl StoreCommand {
    /// Parses P1 P2 and the data field (`applet-spec/ara-m.md`, STORE DATA checks).
    pub fn parse(p1: u8, p2: u8, data: &[u8]) -> Result<StoreCommand, Sw> {
        // GPCS T11-89: b8 last block (more blocks are not supported), b7-b6 `00` not encrypted,
        // b5-b4 `10` BER-TLV or `00` no structure information (GPP `--store-data` sends `81`),
        // b3-b2 RFU, b1 case 4. DGI (`01`) is a structure the command DOs are not in: `6A80`.
        if p1 & 0x80 == 0 || p1 & 0x66 != 0 || p1 & 0x18 == 0x18 || p2 != 0x00 {
            return Err(Sw::IncorrectP1P2);
        }
        if p1 & 0x18 == 0x08 {
            return Err(Sw::WrongData);
        }
        let t = rules::der_single(data)?;
        let empty = |cmd: StoreCommand| if t.value.is_empty() { Ok(cmd) } else { Err(Sw::WrongData) };
        let cmd = match t.tag {
            0xF0 => {
                let e2 = rules::der_single(t.value)?;
                if e2.tag != rules::TAG_REF_AR_DO {
                    return Err(Sw::WrongData);
                }
                StoreCommand::Store(rules::validate_ref_ar_do(e2.value)?)
            }
            0xF1 if t.value.is_empty() => StoreCommand::DeleteAll,
            0xF1 => {
                let inner = rules::der_single(t.value)?;
                match inner.tag {
                    rules::TAG_REF_DO => StoreCommand::DeleteRef(rules::validate_ref_do(inner.value)?.value),
                    rules::TAG_REF_AR_DO => StoreCommand::DeleteRule(rules::validate_ref_ar_do(inner.value)?),
                    _ => StoreCommand::DeleteAid(rules::validate_aid_ref(&inner)?),
                }
            }
            0xF2 => empty(StoreCommand::UpdateRefreshTag)?,
            0xF3 => StoreCommand::Get(rules::validate_aid_ref(&rules::der_single(t.value)?)?),
            0xF4 => empty(StoreCommand::GetAll)?,
            0xF5 => empty(StoreCommand::GetNext)?,
            // Known SEAC DOs this ARA-M does not implement (pySim `sw_aram` 6981).
            0xF6 | 0xF7 | 0xF8 | 0xE7 => return Err(Sw::CommandIncompatible),
            _ => return Err(Sw::WrongData),
        };
        // A case-3 STORE DATA must not return data (GPCS §11.11.3.1).
        if matches!(cmd, StoreCommand::Get(_) | StoreCommand::GetAll | StoreCommand::GetNext) && p1 & 0x01 == 0 {
            return Err(Sw::IncorrectP1P2);
        }
        Ok(cmd)
    }

    /// The command DO (the STORE DATA data field).
    pub fn to_data(&self) -> Vec<u8> {
        match self {
            StoreCommand::Store(r) => tlv::tlv(0xF0, &r.stored.to_tlv()),
            StoreCommand::DeleteAll => tlv::tlv(0xF1, &[]),
            StoreCommand::DeleteAid(a) => tlv::tlv(0xF1, &a.to_tlv()),
            StoreCommand::DeleteRef(k) => tlv::tlv(0xF1, &k.to_tlv()),
            StoreCommand::DeleteRule(r) => tlv::tlv(0xF1, &r.stored.to_tlv()),
            StoreCommand::UpdateRefreshTag => tlv::tlv(0xF2, &[]),
            StoreCommand::Get(a) => tlv::tlv(0xF3, &a.to_tlv()),
            StoreCommand::GetAll => tlv::tlv(0xF4, &[]),
            StoreCommand::GetNext => tlv::tlv(0xF5, &[]),
        }
    }

    /// Whether the ARA-M answers data: P1 `91` (GPCS T11-89 b1) and Le `00`.
    fn returns_data(&self) -> bool {
        matches!(self, StoreCommand::Get(_) | StoreCommand::GetAll | StoreCommand::GetNext)
    }

    /// `80 E2 90 00 <command DO>` (`91` and Le `00` for the commands that answer data), one
    /// block in BER-TLV format (GPCS T11-89).
    pub fn to_command(&self) -> Command {
        let c =
            AraCommand::StoreData { p1: if self.returns_data() { 0x91 } else { 0x90 }, p2: 0, data: self.to_data() }
                .to_command();
        if self.returns_data() {
            c.with_ne(256)
        } else {
            c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rules::ArRule;
    use super::*;
    use proptest::prelude::*;

    fn wire(c: Command) -> String {
        hex::encode_upper(c.to_bytes())
    }

    #[test]
    fn exact_bytes() {
        assert_eq!(wire(AraCommand::GetRefreshTag.to_command()), "80CADF2000");
        assert_eq!(wire(AraCommand::GetAll.to_command()), "80CAFF4000");
        assert_eq!(wire(AraCommand::GetNext.to_command()), "80CAFF6000");
        let spec = AraCommand::GetSpecific { aid: AidRef::Aid(vec![0xA0, 0, 0, 1, 0x51]), hash: vec![0xAB; 20] };
        assert_eq!(wire(spec.to_command()), format!("80CAFF501FE11D4F05A000000151C114{}00", "AB".repeat(20)));
        let del = StoreCommand::DeleteAid(AidRef::Aid(vec![0xD3, 0x92, 0xF0, 0x00, 0x26]));
        assert_eq!(wire(del.to_command()), "80E2900009F1074F05D392F00026");
        assert_eq!(wire(StoreCommand::GetAll.to_command()), "80E2910002F40000");
        let rule = NewRule::new(
            RefKey { aid: AidRef::Aid(vec![0xD3, 0x92, 0xF0, 0x00, 0x26]), hash: vec![0x11; 20], pkg: None },
            ArRule { apdu: Some(rules::ApduRule::Always), nfc: Some(true), perm: None },
        );
        // The rule the SEI-TSM stores: E2{E1{4F aid, C1 hash}, E3{D0 01 01, D1 01 01}}.
        assert_eq!(
            hex::encode_upper(StoreCommand::Store(rule).to_data()),
            format!("F029E227E11D4F05D392F00026C114{}E306D00101D10101", "11".repeat(20))
        );
    }

    fn aid_ref() -> impl Strategy<Value = AidRef> {
        prop_oneof![
            Just(AidRef::Default),
            Just(AidRef::all()),
            proptest::collection::vec(any::<u8>(), 5..=16).prop_map(AidRef::Aid),
        ]
    }

    fn hash() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(vec![]),
            proptest::collection::vec(any::<u8>(), 20),
            proptest::collection::vec(any::<u8>(), 32)
        ]
    }

    fn ref_key() -> impl Strategy<Value = RefKey> {
        (aid_ref(), hash()).prop_map(|(aid, hash)| RefKey { aid, hash, pkg: None })
    }

    fn ar() -> impl Strategy<Value = ArRule> {
        let apdu = prop_oneof![
            Just(rules::ApduRule::Never),
            Just(rules::ApduRule::Always),
            proptest::collection::vec(any::<[u8; 8]>(), 1..4).prop_map(rules::ApduRule::Filters),
        ];
        (apdu, proptest::option::of(any::<bool>())).prop_map(|(a, nfc)| ArRule { apdu: Some(a), nfc, perm: None })
    }

    fn store() -> impl Strategy<Value = StoreCommand> {
        prop_oneof![
            (ref_key(), ar()).prop_map(|(k, a)| StoreCommand::Store(NewRule::new(k, a))),
            Just(StoreCommand::DeleteAll),
            aid_ref().prop_map(StoreCommand::DeleteAid),
            ref_key().prop_map(StoreCommand::DeleteRef),
            (ref_key(), ar()).prop_map(|(k, a)| StoreCommand::DeleteRule(NewRule::new(k, a))),
            Just(StoreCommand::UpdateRefreshTag),
            aid_ref().prop_map(StoreCommand::Get),
            Just(StoreCommand::GetAll),
            Just(StoreCommand::GetNext),
        ]
    }

    proptest! {
        #[test]
        fn store_data_round_trips(x in store()) {
            let c = x.to_command();
            let AraCommand::StoreData { p1, p2, data } = AraCommand::try_from(&c).unwrap() else {
                return Err(TestCaseError::fail("not a STORE DATA"));
            };
            prop_assert_eq!(StoreCommand::parse(p1, p2, &data), Ok(x));
        }

        #[test]
        fn get_data_round_trips(aid in aid_ref(), hash in hash(), v: [u8; 3], which in 0usize..5) {
            let x = match which {
                0 => AraCommand::GetAll,
                1 => AraCommand::GetNext,
                2 => AraCommand::GetRefreshTag,
                3 => AraCommand::GetConfig { device_version: v },
                _ => AraCommand::GetSpecific { aid, hash },
            };
            prop_assert_eq!(AraCommand::try_from(&x.to_command()), Ok(x));
        }
    }
}
