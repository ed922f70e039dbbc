//! The JPKI AP's elementary files (J§2) and the token EF (J§1).

/// The EFs: the type the host shares.
pub use crate::proto::jpki::Ef;

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
