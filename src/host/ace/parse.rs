//! The GET DATA responses parsed exactly as Android's SecureElement service parses them
//! (AOSP `security/gpac/BerTlv.java` and the `interpret()` methods of `REF_AR_DO`, `REF_DO`,
//! `AID_REF_DO`, `Hash_REF_DO`, `AR_DO`, `APDU_AR_DO`, `NFC_AR_DO`, `PERM_AR_DO`,
//! `Response_ALL_AR_DO`, `Response_RefreshTag_DO`; `shared/reference/globalplatform.md` §C.3).
//!
//! Deliberately not the crate's `tlv` module: Android's reader has its own rules (two-byte tags
//! only after `FF`/`DF`, minimal lengths, a child is checked against the end of the *whole*
//! buffer, a constructed DO always reads at least one child), and one rule it rejects makes the
//! whole rule set fail. Copying those rules is what lets `gpse ace` say what a phone would do.

use crate::proto::ara_m::rules::{AidRef, ApduRule, ArRule, RefKey, CARRIER_PRIVILEGE_AID};

/// Android's `ParserException`: the message says what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(m: &str) -> Result<T, ParseError> {
    Err(ParseError(m.to_string()))
}

/// A TLV header found in a buffer (`BerTlv`): the value is `data[value_index..][..value_len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BerTlv {
    pub tag: u32,
    pub value_index: usize,
    pub value_len: usize,
}

/// `BerTlv.decode(data, start, containsAllData)`.
pub fn decode(data: &[u8], start: usize, contains_all: bool) -> Result<BerTlv, ParseError> {
    if data.is_empty() {
        return err("No data given!");
    }
    let mut i = start;
    let byte = |i: usize| data.get(i).copied().ok_or_else(|| ParseError(format!("Index {i} out of range")));
    let first = byte(i)?;
    i += 1;
    let tag = if first == 0xFF || first == 0xDF {
        let second = byte(i)?;
        i += 1;
        (u32::from(first) << 8) | u32::from(second)
    } else {
        u32::from(first)
    };
    let l0 = byte(i)?;
    i += 1;
    let (len, min) = match l0 {
        0..=0x7F => (l0 as usize, 0),
        0x81 => (byte(i)? as usize, 0x80),
        0x82 => ((byte(i)? as usize) << 8 | byte(i + 1)? as usize, 0x100),
        0x83 => ((byte(i)? as usize) << 16 | (byte(i + 1)? as usize) << 8 | byte(i + 2)? as usize, 0x10000),
        _ => return err("Invalid TLV length encoding!"),
    };
    i += match l0 {
        0x81 => 1,
        0x82 => 2,
        0x83 => 3,
        _ => 0,
    };
    if len < min {
        return err("Invalid TLV length encoding!");
    }
    if contains_all && data.len() < i + len {
        return err("Not enough data provided!");
    }
    Ok(BerTlv { tag, value_index: i, value_len: len })
}

fn value<'a>(data: &'a [u8], t: &BerTlv) -> Result<&'a [u8], ParseError> {
    data.get(t.value_index..t.value_index + t.value_len).ok_or_else(|| ParseError("Not enough data".into()))
}

/// The children of a constructed DO as AOSP walks them: `do { decode } while (end > index)`.
fn children(data: &[u8], parent: &BerTlv) -> Result<Vec<BerTlv>, ParseError> {
    if parent.value_index + parent.value_len > data.len() {
        return err("Not enough data for DO!");
    }
    let end = parent.value_index + parent.value_len;
    let mut out = Vec::new();
    let mut index = parent.value_index;
    loop {
        let t = decode(data, index, true)?;
        index = t.value_index + t.value_len;
        out.push(t);
        if end <= index {
            return Ok(out);
        }
    }
}

/// One REF-AR-DO as Android reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRule {
    pub key: RefKey,
    /// The AID-REF-DO was absent (Android then uses the carrier-privilege AID).
    pub aid_absent: bool,
    pub ar: ArRule,
    /// The REF-AR-DO's bytes as received.
    pub raw: Vec<u8>,
}

/// `REF_DO.interpret`.
fn ref_do(data: &[u8], t: &BerTlv) -> Result<(RefKey, bool), ParseError> {
    let mut aid = None;
    let mut hash = None;
    let mut pkg = None;
    for c in children(data, t)? {
        let v = value(data, &c)?;
        match c.tag {
            0xC0 => {
                if c.value_len != 0 {
                    return err("Invalid value length for AID-REF-DO!");
                }
                aid = Some(AidRef::Default);
            }
            0x4F => {
                if (c.value_len < 5 || c.value_len > 16) && c.value_len != 0 {
                    return err("Invalid value length for AID-REF-DO!");
                }
                aid = Some(AidRef::Aid(v.to_vec()));
            }
            0xC1 => {
                if ![0, 20, 32].contains(&c.value_len) {
                    return err("Invalid value length for Hash-REF-DO!");
                }
                hash = Some(v.to_vec());
            }
            0xCA => {
                if c.value_len > 128 {
                    return err("Invalid value length for PKG-REF-DO!");
                }
                pkg = Some(v.to_vec());
            }
            _ => {}
        }
    }
    let absent = aid.is_none();
    if aid.is_none() && hash.is_some() {
        aid = Some(AidRef::Aid(CARRIER_PRIVILEGE_AID.to_vec()));
    }
    let Some(aid) = aid else { return err("Missing AID-REF-DO in REF-DO!") };
    let Some(hash) = hash else { return err("Missing Hash-REF-DO in REF-DO!") };
    if pkg.is_some() && !aid.is_carrier() {
        return err("Unexpected combination of SEAC DOs and DAC DO");
    }
    Ok((RefKey { aid, hash, pkg }, absent))
}

/// `AR_DO.interpret` with its three children.
fn ar_do(data: &[u8], t: &BerTlv) -> Result<ArRule, ParseError> {
    let mut ar = ArRule::default();
    for c in children(data, t)? {
        let v = value(data, &c)?;
        match c.tag {
            0xD0 => {
                ar.apdu = Some(match v.len() {
                    1 if v[0] == 0x01 => ApduRule::Always,
                    1 | 0 => ApduRule::Never,
                    n if n % 8 == 0 => {
                        ApduRule::Filters(v.chunks_exact(8).map(|f| f.try_into().unwrap_or([0; 8])).collect())
                    }
                    _ => return err("Invalid length of APDU-AR-DO!"),
                })
            }
            0xD1 => {
                if v.len() != 1 {
                    return err("Invalid length of NFC-AR-DO!");
                }
                ar.nfc = Some(v[0] == 0x01);
            }
            0xDB => {
                ar.perm = Some(v.try_into().map_err(|_| ParseError("Invalid length of PERM-AR-DO!".into()))?);
            }
            _ => {}
        }
    }
    if ar.apdu.is_none() && ar.nfc.is_none() && ar.perm.is_none() {
        return err("No valid DO in AR-DO!");
    }
    Ok(ar)
}

/// `REF_AR_DO.interpret`.
fn ref_ar_do(data: &[u8], t: &BerTlv) -> Result<ParsedRule, ParseError> {
    let mut r = None;
    let mut a = None;
    for c in children(data, t)? {
        match c.tag {
            0xE1 => r = Some(ref_do(data, &c)?),
            0xE3 => a = Some(ar_do(data, &c)?),
            _ => {}
        }
    }
    let Some((key, aid_absent)) = r else { return err("Missing Ref-DO in REF-AR-DO!") };
    let Some(ar) = a else { return err("Missing AR-DO in REF-AR-DO!") };
    let raw =
        data.get(t.value_index.saturating_sub(header_len(t))..t.value_index + t.value_len).unwrap_or(&[]).to_vec();
    Ok(ParsedRule { key, aid_absent, ar, raw })
}

fn header_len(t: &BerTlv) -> usize {
    let l = match t.value_len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        0x100..=0xFFFF => 3,
        _ => 4,
    };
    l + if t.tag > 0xFF { 2 } else { 1 }
}

/// The whole GET ALL answer (`FF40`, after NEXT blocks were appended) as `AraController.readAllAccessRules`
/// and `Response_ALL_AR_DO.interpret` read it. Unknown DOs between REF-AR-DOs are skipped.
pub fn response_all(data: &[u8]) -> Result<Vec<ParsedRule>, ParseError> {
    let top = decode(data, 0, true)?;
    if top.tag != 0xFF40 {
        return err("No valid data object found");
    }
    if top.value_len == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for c in children(data, &top)? {
        if c.tag == 0xE2 {
            out.push(ref_ar_do(data, &c)?);
        }
    }
    Ok(out)
}

/// The GET DATA [Refresh tag] answer (`AccessRuleApplet.readRefreshTag`): `DF20 08 <8 bytes>`.
pub fn refresh_tag(data: &[u8]) -> Result<[u8; 8], ParseError> {
    let t = decode(data, 0, true)?;
    if t.tag != 0xDF20 {
        return err("GET REFRESH TAG returned invalid Tlv.");
    }
    value(data, &t)?.try_into().map_err(|_| ParseError("Invalid length of RefreshTag DO!".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(h: &str) -> Result<Vec<ParsedRule>, ParseError> {
        response_all(&hex::decode(h).unwrap())
    }

    #[test]
    fn lengths_must_be_minimal() {
        assert!(decode(&hex::decode("4F8105A000000001").unwrap(), 0, true).is_err());
        assert!(decode(&hex::decode("FF40820010").unwrap(), 0, false).is_err());
        assert_eq!(decode(&hex::decode("FF408180").unwrap(), 0, false).unwrap().value_len, 0x80);
    }

    #[test]
    fn empty_and_bad_sets() {
        assert_eq!(p("FF4000").unwrap(), vec![]);
        // Missing C1: the whole set fails.
        assert!(p("FF400EE20CE1064F04A0000001E302D001").is_err());
        assert!(p("FF400CE20AE1044F00C100E302D101").is_err());
        // D0 of 3 bytes.
        assert!(p("FF400DE20BE1044F00C100E303D00301").is_err());
        // A 1-byte D0 other than 01 is NEVER, not an error (APDU_AR_DO.interpret).
        let r = p("FF400DE20BE1044F00C100E303D00102").unwrap();
        assert_eq!(r[0].ar.apdu, Some(ApduRule::Never));
        assert_eq!(r[0].raw, hex::decode("E20BE1044F00C100E303D00102").unwrap());
    }
}
