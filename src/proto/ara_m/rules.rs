//! Access rule DOs (GPD_SPE_013 §3.4-§3.5) as the ARA-M stores them and the ACE reads them:
//! strict validation of REF-AR-DOs received in STORE DATA (or install parameters), and the
//! encoding a TSM sends.
//!
//! Validation is stricter than Android's parser on purpose: every rule we accept must parse in
//! `AccessRuleCache`'s reader (`shared/reference/globalplatform.md` §C.3), because one rule Android
//! cannot parse makes the whole GET ALL fail and the phone deny every app. The table is in
//! `applet-spec/ara-m.md` ("What a valid rule is").

use crate::sw::Sw;
use crate::tlv::{self, Mode, Tag, Tlv};
use serde::{Deserialize, Serialize};

pub const TAG_REF_AR_DO: Tag = 0xE2;
pub const TAG_REF_DO: Tag = 0xE1;
pub const TAG_AR_DO: Tag = 0xE3;
pub const TAG_AID_REF_DO: Tag = 0x4F;
pub const TAG_AID_DEFAULT: Tag = 0xC0;
pub const TAG_HASH_REF_DO: Tag = 0xC1;
pub const TAG_PKG_REF_DO: Tag = 0xCA;
pub const TAG_APDU_AR_DO: Tag = 0xD0;
pub const TAG_NFC_AR_DO: Tag = 0xD1;
pub const TAG_PERM_AR_DO: Tag = 0xDB;

/// The AID Android gives a REF-DO without AID-REF-DO: a carrier-privilege rule (AOSP
/// `AID_REF_DO.CARRIER_PRIVILEGE_AID`, `REF_DO.interpret`).
pub const CARRIER_PRIVILEGE_AID: [u8; 6] = [0xFF; 6];

/// The AID part of a REF-DO.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AidRef {
    /// `4F`: an AID of 5-16 bytes, or empty for all SE applications.
    Aid(Vec<u8>),
    /// `C0 00`: the default (implicitly selected) application.
    Default,
}

impl AidRef {
    /// `4F 00`.
    pub fn all() -> AidRef {
        AidRef::Aid(Vec::new())
    }

    /// The DO's wire bytes.
    pub fn to_tlv(&self) -> Vec<u8> {
        match self {
            AidRef::Aid(a) => tlv::tlv(TAG_AID_REF_DO, a),
            AidRef::Default => tlv::tlv(TAG_AID_DEFAULT, &[]),
        }
    }

    /// Whether this is the carrier-privilege AID `FFFFFFFFFFFF`.
    pub fn is_carrier(&self) -> bool {
        matches!(self, AidRef::Aid(a) if a[..] == CARRIER_PRIVILEGE_AID)
    }
}

/// A REF-DO as Android compares them (`REF_DO.equals`): AID-REF-DO (the carrier AID when absent),
/// hash, package name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefKey {
    pub aid: AidRef,
    /// Empty = all device applications (`C1 00`).
    pub hash: Vec<u8>,
    pub pkg: Option<Vec<u8>>,
}

impl RefKey {
    /// Whether Android's cache ignores this rule (`AccessRuleCache.putWithMerge`: carrier
    /// privilege rules are for telephony, not for OMAPI).
    pub fn is_carrier_privilege(&self) -> bool {
        self.aid.is_carrier()
    }
}

/// An APDU-AR-DO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApduRule {
    Never,
    Always,
    /// `CLA INS P1 P2 ‖ mask` filters.
    Filters(Vec<[u8; 8]>),
}

/// An AR-DO, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ArRule {
    pub apdu: Option<ApduRule>,
    /// NFC-AR-DO: `true` = ALWAYS.
    pub nfc: Option<bool>,
    /// PERM-AR-DO (Android carrier privilege permissions).
    pub perm: Option<[u8; 8]>,
}

/// One stored rule: the exact DER bytes of its REF-DO and AR-DO TLVs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRule {
    pub ref_do: Vec<u8>,
    pub ar_do: Vec<u8>,
}

impl StoredRule {
    /// The REF-AR-DO TLV (`E2 L E1… E3…`).
    pub fn to_tlv(&self) -> Vec<u8> {
        let mut v = self.ref_do.clone();
        v.extend_from_slice(&self.ar_do);
        tlv::tlv(TAG_REF_AR_DO, &v)
    }

    /// The comparison key; `None` only for a damaged stored rule (never matches anything).
    pub fn key(&self) -> Option<RefKey> {
        let (t, _) = tlv::parse_one(&self.ref_do, Mode::Der).ok()?;
        validate_ref_do(t.value).ok().map(|v| v.value)
    }

    /// The decoded AR-DO.
    pub fn ar(&self) -> Option<ArRule> {
        let (t, _) = tlv::parse_one(&self.ar_do, Mode::Der).ok()?;
        validate_ar_do(t.value).ok().map(|v| v.value)
    }
}

/// A validated DO: its decoded value, its TLV bytes with unknown DOs removed, and whether any were.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validated<T> {
    pub value: T,
    pub bytes: Vec<u8>,
    pub discarded: bool,
}

/// A REF-AR-DO ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRule {
    pub key: RefKey,
    pub ar: ArRule,
    pub stored: StoredRule,
    /// Unknown DOs were discarded (STORE DATA answers `6382`).
    pub discarded: bool,
}

fn bad() -> Sw {
    Sw::WrongData
}

/// The children of a constructed DO, in strict DER.
pub fn der_children(value: &[u8]) -> Result<Vec<Tlv<'_>>, Sw> {
    tlv::parse_all(value, Mode::Der).map_err(|_| bad())
}

/// Exactly one DER TLV and nothing after it.
pub fn der_single(data: &[u8]) -> Result<Tlv<'_>, Sw> {
    let (t, rest) = tlv::parse_one(data, Mode::Der).map_err(|_| bad())?;
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok(t)
}

/// Whether Android's `BerTlv.decode` reads this tag as we do: one byte, or two bytes after `FF`
/// or `DF` (it has no other multi-byte tags). An unknown DO with another tag would be misread by
/// the phone, so it is refused rather than discarded.
fn android_readable(tag: Tag) -> bool {
    match tag {
        0..=0xFF => true,
        0x100..=0xFFFF => matches!(tag >> 8, 0xFF | 0xDF),
        _ => false,
    }
}

/// Handles a child the validator does not know: discard it if the phone could skip it too.
fn unknown(t: &Tlv<'_>, discarded: &mut bool) -> Result<(), Sw> {
    if !android_readable(t.tag) {
        return Err(bad());
    }
    *discarded = true;
    Ok(())
}

fn keep(t: &Tlv<'_>, out: &mut Vec<u8>) {
    tlv::encode(t.tag, t.value, out);
}

/// Validates the value of a REF-DO (`E1`).
pub fn validate_ref_do(value: &[u8]) -> Result<Validated<RefKey>, Sw> {
    let mut aid: Option<AidRef> = None;
    let mut hash: Option<Vec<u8>> = None;
    let mut pkg: Option<Vec<u8>> = None;
    let mut inner = Vec::new();
    let mut discarded = false;
    for t in der_children(value)? {
        match t.tag {
            TAG_AID_REF_DO | TAG_AID_DEFAULT => {
                if aid.is_some() {
                    return Err(bad());
                }
                aid = Some(match t.tag {
                    TAG_AID_REF_DO if t.value.is_empty() || (5..=16).contains(&t.value.len()) => {
                        AidRef::Aid(t.value.to_vec())
                    }
                    TAG_AID_DEFAULT if t.value.is_empty() => AidRef::Default,
                    _ => return Err(bad()),
                });
                keep(&t, &mut inner);
            }
            TAG_HASH_REF_DO => {
                if hash.is_some() || ![0, 20, 32].contains(&t.value.len()) {
                    return Err(bad());
                }
                hash = Some(t.value.to_vec());
                keep(&t, &mut inner);
            }
            TAG_PKG_REF_DO => {
                let printable = t.value.iter().all(|b| (0x20..=0x7E).contains(b));
                if pkg.is_some() || t.value.is_empty() || t.value.len() > 128 || !printable {
                    return Err(bad());
                }
                pkg = Some(t.value.to_vec());
                keep(&t, &mut inner);
            }
            _ => unknown(&t, &mut discarded)?,
        }
    }
    let hash = hash.ok_or_else(bad)?;
    let aid = aid.unwrap_or_else(|| AidRef::Aid(CARRIER_PRIVILEGE_AID.to_vec()));
    // AOSP REF_DO.interpret: a package name only in carrier-privilege rules; ours: and only with a
    // certificate hash, since a package name without a signer means nothing.
    if pkg.is_some() && (!aid.is_carrier() || hash.is_empty()) {
        return Err(bad());
    }
    Ok(Validated { value: RefKey { aid, hash, pkg }, bytes: tlv::tlv(TAG_REF_DO, &inner), discarded })
}

/// Validates the value of an AR-DO (`E3`).
pub fn validate_ar_do(value: &[u8]) -> Result<Validated<ArRule>, Sw> {
    let mut ar = ArRule::default();
    let mut inner = Vec::new();
    let mut discarded = false;
    for t in der_children(value)? {
        match t.tag {
            TAG_APDU_AR_DO => {
                if ar.apdu.is_some() {
                    return Err(bad());
                }
                ar.apdu = Some(match t.value {
                    [] | [0x00] => ApduRule::Never,
                    [0x01] => ApduRule::Always,
                    v if v.len() % 8 == 0 => {
                        ApduRule::Filters(v.chunks_exact(8).map(|c| c.try_into().unwrap_or([0; 8])).collect())
                    }
                    _ => return Err(bad()),
                });
                keep(&t, &mut inner);
            }
            TAG_NFC_AR_DO => {
                if ar.nfc.is_some() {
                    return Err(bad());
                }
                ar.nfc = Some(match t.value {
                    [0x00] => false,
                    [0x01] => true,
                    _ => return Err(bad()),
                });
                keep(&t, &mut inner);
            }
            TAG_PERM_AR_DO => {
                if ar.perm.is_some() {
                    return Err(bad());
                }
                ar.perm = Some(t.value.try_into().map_err(|_| bad())?);
                keep(&t, &mut inner);
            }
            _ => unknown(&t, &mut discarded)?,
        }
    }
    if ar.apdu.is_none() && ar.nfc.is_none() && ar.perm.is_none() {
        return Err(bad());
    }
    Ok(Validated { value: ar, bytes: tlv::tlv(TAG_AR_DO, &inner), discarded })
}

/// Validates the value of a REF-AR-DO (`E2`).
pub fn validate_ref_ar_do(value: &[u8]) -> Result<NewRule, Sw> {
    let mut r: Option<Validated<RefKey>> = None;
    let mut a: Option<Validated<ArRule>> = None;
    let mut discarded = false;
    for t in der_children(value)? {
        match t.tag {
            TAG_REF_DO if r.is_none() => r = Some(validate_ref_do(t.value)?),
            TAG_AR_DO if a.is_none() => a = Some(validate_ar_do(t.value)?),
            TAG_REF_DO | TAG_AR_DO => return Err(bad()),
            _ => unknown(&t, &mut discarded)?,
        }
    }
    let (r, a) = (r.ok_or_else(bad)?, a.ok_or_else(bad)?);
    Ok(NewRule {
        discarded: discarded || r.discarded || a.discarded,
        key: r.value,
        ar: a.value,
        stored: StoredRule { ref_do: r.bytes, ar_do: a.bytes },
    })
}

/// Validates an AID-REF-DO given on its own (delete by AID, Command-Get).
pub fn validate_aid_ref(t: &Tlv<'_>) -> Result<AidRef, Sw> {
    match t.tag {
        TAG_AID_REF_DO if t.value.is_empty() || (5..=16).contains(&t.value.len()) => Ok(AidRef::Aid(t.value.to_vec())),
        TAG_AID_DEFAULT if t.value.is_empty() => Ok(AidRef::Default),
        _ => Err(bad()),
    }
}

impl RefKey {
    /// The REF-DO TLV (`E1 {4F|C0, C1, [CA]}`), the AID-REF-DO always present.
    pub fn to_tlv(&self) -> Vec<u8> {
        let mut v = self.aid.to_tlv();
        v.extend(tlv::tlv(TAG_HASH_REF_DO, &self.hash));
        if let Some(p) = &self.pkg {
            v.extend(tlv::tlv(TAG_PKG_REF_DO, p));
        }
        tlv::tlv(TAG_REF_DO, &v)
    }
}

impl ArRule {
    /// The AR-DO TLV (`E3 {[D0], [D1], [DB]}`).
    pub fn to_tlv(&self) -> Vec<u8> {
        let mut v = Vec::new();
        match &self.apdu {
            Some(ApduRule::Never) => v.extend(tlv::tlv(TAG_APDU_AR_DO, &[0x00])),
            Some(ApduRule::Always) => v.extend(tlv::tlv(TAG_APDU_AR_DO, &[0x01])),
            Some(ApduRule::Filters(f)) => v.extend(tlv::tlv(TAG_APDU_AR_DO, &f.concat())),
            None => {}
        }
        if let Some(n) = self.nfc {
            v.extend(tlv::tlv(TAG_NFC_AR_DO, &[u8::from(n)]));
        }
        if let Some(p) = &self.perm {
            v.extend(tlv::tlv(TAG_PERM_AR_DO, p));
        }
        tlv::tlv(TAG_AR_DO, &v)
    }
}

impl NewRule {
    /// A rule to send: its stored form is the DER of `key` and `ar` (host side, e.g. the rule
    /// the SEI-TSM writes for the JPKI app).
    pub fn new(key: RefKey, ar: ArRule) -> NewRule {
        let stored = StoredRule { ref_do: key.to_tlv(), ar_do: ar.to_tlv() };
        NewRule { key, ar, stored, discarded: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(h: &str) -> Vec<u8> {
        hex::decode(h).unwrap()
    }

    #[test]
    fn carrier_rule_without_aid_gets_the_carrier_aid() {
        let r = validate_ref_do(&v("C114E46872F28B350B7E1F140DE535C2A8D5804F0BE3")).unwrap();
        assert!(r.value.is_carrier_privilege());
        assert!(!r.discarded);
        assert_eq!(r.bytes, v("E116C114E46872F28B350B7E1F140DE535C2A8D5804F0BE3"));
    }

    #[test]
    fn ref_do_rules() {
        // No hash, bad AID lengths, C0 with a value, two AIDs, PKG with a real AID.
        for h in [
            "4F00",
            "4F0401020304C100",
            "C001AAC100",
            "4F00C000C100",
            "4F00C100C100",
            "4F05A000000001C114E46872F28B350B7E1F140DE535C2A8D5804F0BE3CA03616263",
            "C115E46872F28B350B7E1F140DE535C2A8D5804F0BE300",
            // A multi-byte unknown tag Android would misread.
            "4F00C1009F0100",
        ] {
            assert_eq!(validate_ref_do(&v(h)), Err(Sw::WrongData), "{h}");
        }
        let r = validate_ref_do(&v("4F00C10085020102")).unwrap();
        assert!(r.discarded);
        assert_eq!(r.bytes, v("E1044F00C100"));
        let r = validate_ref_do(&v("C100DF0100C000")).unwrap();
        assert_eq!((r.value.aid, r.discarded, r.bytes), (AidRef::Default, true, v("E104C100C000")));
    }

    #[test]
    fn ar_do_rules() {
        for h in ["", "D00102", "D003010203", "D10100D10101", "D1020000", "DB0401020304", "D00101D00101"] {
            assert_eq!(validate_ar_do(&v(h)), Err(Sw::WrongData), "{h}");
        }
        assert_eq!(validate_ar_do(&v("D000")).unwrap().value.apdu, Some(ApduRule::Never));
        let all = ArRule { apdu: Some(ApduRule::Always), nfc: Some(false), perm: Some([7; 8]) };
        assert_eq!(all.to_tlv(), v("E310D00101D10100DB080707070707070707"));
        assert_eq!(validate_ar_do(&all.to_tlv()[2..]).unwrap().value, all);
        let f = validate_ar_do(&v("D0100010010000FFFFFF00A40000FFFBFFFF")).unwrap();
        assert_eq!(
            f.value.apdu,
            Some(ApduRule::Filters(vec![
                v("0010010000FFFFFF").try_into().unwrap(),
                v("00A40000FFFBFFFF").try_into().unwrap()
            ]))
        );
    }
}
