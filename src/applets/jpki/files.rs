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

/// Byte of EF 0008 for a certificate that is present (myna-card `CertificateAvailability::PRESENT`,
/// from a card carrying both).
pub const CERT_PRESENT: u8 = 0x8F;

/// EF 0008: which certificates the AP carries, 3 bytes `sign auth 00` (J§2 [U], myna-card
/// `src/ap/jpki.rs`: `8F 8F 00` with both). An absent certificate reads `00`, as myna-card's
/// example of a card without the signature certificate; the third byte's meaning is unknown and
/// is `00` as on the card.
pub fn availability(sign: bool, auth: bool) -> Vec<u8> {
    let b = |present: bool| if present { CERT_PRESENT } else { 0x00 };
    vec![b(sign), b(auth), 0x00]
}
