//! The JPKI AP's elementary files (J§2) and the token EF (J§1).

use super::command::PairId;

/// An EF of the JPKI AP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ef {
    /// `0001` (sign) / `000A` (auth): the pair's certificate.
    Cert(PairId),
    /// `0002` / `000B`: the CA certificate.
    CaCert(PairId),
    /// `0006`: token info.
    Token,
    /// `001A` / `0017`: the private key (internal EF, never readable).
    Key(PairId),
    /// `001B` / `0018`: the PIN (IEF).
    Pin(PairId),
}

impl Ef {
    /// The EF with this FID (equal to its SFI for the FIDs in use).
    pub fn from_fid(fid: u16) -> Option<Ef> {
        Some(match fid {
            0x0001 => Ef::Cert(PairId::Sign),
            0x0002 => Ef::CaCert(PairId::Sign),
            0x000A => Ef::Cert(PairId::Auth),
            0x000B => Ef::CaCert(PairId::Auth),
            0x0006 => Ef::Token,
            0x0017 => Ef::Key(PairId::Auth),
            0x0018 => Ef::Pin(PairId::Auth),
            0x001A => Ef::Key(PairId::Sign),
            0x001B => Ef::Pin(PairId::Sign),
            _ => return None,
        })
    }
}

fn padded(s: &str, n: usize) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(n, b' ');
    v
}

/// EF 0006: a serialised PKCS#11 CK_TOKEN_INFO, 160 bytes, 32-bit big-endian numbers (layout
/// from myna-card, J§1 [U]). The label is `JPKIAPGPSETOKEN` on the GP-SE and `JPKIAPICCTOKEN2`
/// on the card, space-padded to 32 bytes, which is what clients compare.
pub fn token(card_profile: bool) -> Vec<u8> {
    let mut t = padded(if card_profile { "JPKIAPICCTOKEN2" } else { "JPKIAPGPSETOKEN" }, 32);
    t.extend(padded("gpse emulated GP-SE", 32));
    t.extend(padded("GPSE-JPKI", 16));
    t.extend(padded("0000000000000001", 16));
    // flags, maxSessionCount, sessionCount, maxRwSessionCount, rwSessionCount, maxPinLen, minPinLen
    for v in [0x0000_040Du32, 1, 0, 1, 0, 16, 6] {
        t.extend(v.to_be_bytes());
    }
    // total/free public and private memory: unavailable
    for _ in 0..4 {
        t.extend(u32::MAX.to_be_bytes());
    }
    t.extend(b"03"); // hardware version
    t.extend(b"01"); // firmware version
    t.extend(padded("", 16)); // utcTime
    debug_assert_eq!(t.len(), 160);
    t
}
