//! GET STATUS (GPCS §11.4.2; `globalplatform.md` §B.4): which part of the registry, in which
//! format, filtered by an AID prefix and optionally a tag list.

use super::GP_CLA;
use crate::apdu::Command;
use crate::sw::Sw;
use crate::tlv::{self, Mode, Tag};

/// Which part of the registry (P1, GPCS T11-33).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `80`: the ISD.
    Isd,
    /// `40`: applications and SSDs.
    Applications,
    /// `20`: Executable Load Files.
    LoadFiles,
    /// `10`: Executable Load Files and their modules.
    LoadFilesAndModules,
}

/// What to list and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub scope: Scope,
    /// P2 b2: TLV format (else legacy).
    pub tlv_format: bool,
    /// The AID prefix of `4F` (empty: all).
    pub prefix: Vec<u8>,
    /// A `5C` tag list: only these tags, in this order.
    pub tags: Option<Vec<Tag>>,
}

/// A typed GET STATUS command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetStatus {
    pub query: Query,
    /// P2 b1: next occurrences after `6310`.
    pub next: bool,
}

fn parse_tag_list(b: &[u8]) -> Result<Vec<Tag>, Sw> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] & 0x1F == 0x1F {
            let second = *b.get(i + 1).ok_or(Sw::WrongData)?;
            out.push(((b[i] as u32) << 8) | second as u32);
            i += 2;
        } else {
            out.push(b[i] as u32);
            i += 1;
        }
    }
    Ok(out)
}

impl TryFrom<&Command> for GetStatus {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        let scope = match c.p1 {
            0x80 => Scope::Isd,
            0x40 => Scope::Applications,
            0x20 => Scope::LoadFiles,
            0x10 => Scope::LoadFilesAndModules,
            _ => return Err(Sw::IncorrectP1P2),
        };
        if c.p2 & !0x03 != 0 || (scope == Scope::Isd && c.p2 & 0x01 != 0) {
            return Err(Sw::IncorrectP1P2);
        }
        let tlvs = tlv::parse_all(&c.data, Mode::Ber).map_err(|_| Sw::WrongData)?;
        let aid = tlv::find(&tlvs, 0x4F).ok_or(Sw::WrongData)?;
        if aid.value.len() > 16 {
            return Err(Sw::WrongData);
        }
        let tags = tlv::find(&tlvs, 0x5C).map(|t| parse_tag_list(t.value)).transpose()?;
        Ok(GetStatus {
            query: Query { scope, tlv_format: c.p2 & 0x02 != 0, prefix: aid.value.to_vec(), tags },
            next: c.p2 & 0x01 != 0,
        })
    }
}

impl Scope {
    /// P1 (GPCS T11-33).
    pub fn p1(self) -> u8 {
        match self {
            Scope::Isd => 0x80,
            Scope::Applications => 0x40,
            Scope::LoadFiles => 0x20,
            Scope::LoadFilesAndModules => 0x10,
        }
    }
}

impl GetStatus {
    /// Every entry of `scope` in the TLV format (P2 `02`, or `03` for the next page), `4F 00`:
    /// what GPP sends.
    pub fn all(scope: Scope, next: bool) -> GetStatus {
        GetStatus { query: Query { scope, tlv_format: true, prefix: Vec::new(), tags: None }, next }
    }

    /// `80 F2 P1 P2 Lc 4F prefix [5C tags] 00`.
    // A 5C list holds one- or two-byte tags (parse_tag_list builds nothing larger).
    #[allow(clippy::cast_possible_truncation)]
    pub fn to_command(&self) -> Command {
        let q = &self.query;
        let p2 = if q.tlv_format { 0x02 } else { 0x00 } | if self.next { 0x01 } else { 0x00 };
        let mut data = tlv::tlv(0x4F, &q.prefix);
        if let Some(tags) = &q.tags {
            let mut list = Vec::new();
            for &t in tags {
                if t > 0xFF {
                    list.extend_from_slice(&(t as u16).to_be_bytes());
                } else {
                    list.push(t as u8);
                }
            }
            data.extend(tlv::tlv(0x5C, &list));
        }
        Command::new(GP_CLA, 0xF2, q.scope.p1(), p2).with_data(data).with_ne(256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_bytes() {
        let c = GetStatus::all(Scope::Applications, false).to_command();
        assert_eq!(hex::encode_upper(c.to_bytes()), "80F24002024F0000");
        let c = GetStatus::all(Scope::LoadFilesAndModules, true).to_command();
        assert_eq!(hex::encode_upper(c.to_bytes()), "80F21003024F0000");
    }

    #[test]
    fn card_side_refusals() {
        let p = |h: &str| Command::parse(&hex::decode(h).unwrap()).unwrap();
        assert_eq!(GetStatus::try_from(&p("80F20802024F0000")), Err(Sw::IncorrectP1P2));
        assert_eq!(GetStatus::try_from(&p("80F28003024F0000")), Err(Sw::IncorrectP1P2));
        assert_eq!(GetStatus::try_from(&p("80F28002025C0000")), Err(Sw::WrongData));
    }

    fn tag() -> impl Strategy<Value = Tag> {
        // One-byte tags without the "more bytes" pattern, or two-byte tags that have it.
        prop_oneof![
            any::<u8>().prop_filter("one-byte tag", |b| b & 0x1F != 0x1F).prop_map(Tag::from),
            (any::<u8>(), any::<u8>()).prop_map(|(a, b)| (Tag::from(a | 0x1F) << 8) | Tag::from(b)),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(
            scope in prop_oneof![Just(Scope::Isd), Just(Scope::Applications), Just(Scope::LoadFiles), Just(Scope::LoadFilesAndModules)],
            tlv_format: bool,
            next: bool,
            prefix in proptest::collection::vec(any::<u8>(), 0..=16),
            tags in proptest::option::of(proptest::collection::vec(tag(), 0..6)),
        ) {
            let next = next && scope != Scope::Isd;
            let x = GetStatus { query: Query { scope, tlv_format, prefix, tags }, next };
            prop_assert_eq!(GetStatus::try_from(&x.to_command()), Ok(x));
        }
    }
}
