//! GET DATA (GPCS §11.3; `globalplatform.md` §B.3): card data, key information, identity,
//! sequence counter, security level, capabilities and resources.

use super::env::Env;
use super::registry::{InstanceKind, KEY_TYPE_AES};
use crate::apdu::Response;
use crate::card::{Aid, CardImage, Outcome};
use crate::scp03::keydata::{KEY_TYPE_RSA_EXPONENT, KEY_TYPE_RSA_MODULUS};
use crate::scp03::keyset::KeyKind;
use crate::sw::Sw;
use crate::tlv;

/// GP's OID arc `{iso(1) member-body(2) us(840) globalPlatform(114283)}`.
const GP_OID: [u8; 6] = [0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B];

fn oid(tag: u32, arc: &[u8]) -> Vec<u8> {
    let mut o = GP_OID.to_vec();
    o.extend_from_slice(arc);
    tlv::tlv(tag, &tlv::tlv(0x06, &o))
}

/// The card recognition data (GPCS H.2), the value of `73` in card data `66` and in the SELECT
/// FCI: the GP OID, GP version 2.2.3, card identification scheme, SCP03 with the SD's i, card
/// configuration details and Java Card 3 — byte for byte the real card of B§3 when i = 70.
pub fn card_recognition_data(img: &CardImage, sd: &Aid) -> Vec<u8> {
    let i = img.instance(sd).and_then(|s| s.keys.as_ref()).map_or(0x70, |k| k.scp_i);
    let mut v = tlv::tlv(0x06, &[&GP_OID[..], &[0x01]].concat());
    v.extend(oid(0x60, &[0x02, 0x02, 0x03]));
    v.extend(oid(0x63, &[0x03]));
    v.extend(oid(0x64, &[0x04, 0x03, i]));
    v.extend(oid(0x65, &[0x05, 0x07, 0x02, 0x00, 0x00]));
    // Java Card 3: {1 3 6 1 4 1 42 2 110 1 3}.
    v.extend(tlv::tlv(0x66, &tlv::tlv(0x06, &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x6E, 0x01, 0x03])));
    v
}

/// The key information template value (GPCS §11.3.3.1.1): `C0 04 id KVN 88 len` for keys 1-3 of
/// every key set of the SD, sets in registry order, then the single keys.
pub fn key_information(img: &CardImage, sd: &Aid) -> Vec<u8> {
    let mut v = Vec::new();
    if let Some(k) = img.instance(sd).and_then(|s| s.keys.as_ref()) {
        for ks in &k.key_sets {
            for (id, key) in [(1u8, &ks.enc), (2, &ks.mac), (3, &ks.dek)] {
                // AES keys are 16, 24 or 32 bytes.
                #[allow(clippy::cast_possible_truncation)]
                v.extend(tlv::tlv(0xC0, &[id, ks.kvn, KEY_TYPE_AES, key.len() as u8]));
            }
        }
        // Keys added one by one (PUT KEY P1 00, single key), after the whole sets.
        // An RSA public key (a DAP key) has two components, `A1 len A0 len` (GPCS T11-16); a
        // length the one byte cannot hold (a modulus of 2048 bits and more) is given as `00`.
        let len = |n: usize| u8::try_from(n).unwrap_or(0);
        for sk in &k.single_keys {
            match sk.kind() {
                Some(KeyKind::RsaPublic { modulus, exponent }) => v.extend(tlv::tlv(
                    0xC0,
                    &[
                        sk.id,
                        sk.kvn,
                        KEY_TYPE_RSA_MODULUS,
                        len(modulus.len()),
                        KEY_TYPE_RSA_EXPONENT,
                        len(exponent.len()),
                    ],
                )),
                _ => v.extend(tlv::tlv(0xC0, &[sk.id, sk.kvn, KEY_TYPE_AES, len(sk.key.len())])),
            }
        }
    }
    v
}

/// Free non-volatile memory reported in `FF21` (a constant: the image has no fixed size).
const FREE_NVM: u32 = 0x0010_0000;

/// GET DATA returns the full TLV whatever the class (what real cards do; `globalplatform.md`
/// §B.3 uncertain point 4).
pub fn get_data(card: &Env<'_, '_>, ch: u8, sd: &Aid, tag: u16) -> Outcome {
    let img = card.image();
    let keys = img.instance(sd).and_then(|s| s.keys.as_ref());
    let value: Vec<u8> = match tag {
        0x0066 => tlv::tlv(0x73, &card_recognition_data(img, sd)),
        0x00E0 => key_information(img, sd),
        0x9F7F => img.identity.cplc.clone(),
        0x0042 => img.identity.iin.clone(),
        0x0045 => img.identity.cin.clone(),
        0x00CF => img.identity.kdd.clone(),
        0x00C1 => {
            // Sequence counter of the default key set, 3 bytes for SCP03 (§A.5, uncertain point 3).
            let ks = keys.and_then(|k| k.key_sets.first()).ok_or(Sw::ReferencedDataNotFound)?;
            ks.seq_counter.to_be_bytes()[1..].to_vec()
        }
        // Current Security Level of this channel's session (GPCS T10-1, §11.3.3.1).
        0x00D3 => vec![card.session(ch).map_or(0, |s| s.security_status().bits())],
        // Card capability information (GPCS H.4): SCP03 with i, AES-128/192/256; privileges
        // SSDs and applications may get; LFDB hash SHA-256.
        0x0067 => {
            let i = keys.map_or(0x70, |k| k.scp_i);
            let mut v = tlv::tlv(0xA0, &[0x80, 0x01, 0x03, 0x81, 0x01, i, 0x82, 0x01, 0x07]);
            v.extend(tlv::tlv(0x81, &[0xFF, 0x9E, 0x00]));
            v.extend(tlv::tlv(0x82, &[0x1E, 0x16, 0x00]));
            v.extend(tlv::tlv(0x83, &[0x02]));
            v
        }
        // Extended card resources (ETSI TS 102 226 §8.2.1.7.2): installed applications and free
        // non-volatile memory.
        0xFF21 => {
            let apps = u16::try_from(img.instances.iter().filter(|i| i.kind == InstanceKind::Application).count())
                .unwrap_or(u16::MAX);
            let mut v = tlv::tlv(0x81, &apps.to_be_bytes());
            v.extend(tlv::tlv(0x82, &FREE_NVM.to_be_bytes()));
            v
        }
        _ => return Err(Sw::ReferencedDataNotFound),
    };
    let t = if tag > 0xFF { tag as u32 } else { tag as u32 & 0xFF };
    Ok(Response::data(tlv::tlv(t, &value)))
}
