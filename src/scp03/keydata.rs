//! Key data for PUT KEY under SCP03 (AmdD §6.2.8, §7.2; GPCS §11.8.2.3): the new key encrypted
//! with the static Key-DEK (AES-CBC, ICV zero; there is no session DEK in SCP03), with its key
//! check value.
//!
//! Two codings of one AES key component exist and cards accept both (`globalplatform.md` §A.12):
//!
//! * [`KeyBlockForm::WithLength`], AmdD T7-10 and what GPP sends:
//!   `88 | L | key length | E(key) | 03 | KCV`;
//! * [`KeyBlockForm::Blocks`], GPCS T11-71 and what pySim sends for whole-block keys:
//!   `88 | L | E(key) | 03 | KCV`.
//!
//! The card tells them apart by whether the component length is a multiple of 16
//! (GPCS §11.8.2.3.3).

use super::kdf::kcv;
use super::prim::{AesKey, BadKeyLength, BLOCK};
use crate::crypto::SecretBytes;
use crate::sw::Sw;

/// AES key type (GPCS T11-16).
pub const KEY_TYPE_AES: u8 = 0x88;

/// How a key component is coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyBlockForm {
    /// `88 L keylen E(key) 03 KCV` (AmdD T7-10; GPP `GPSession.encodeKey`).
    WithLength,
    /// `88 L E(key) 03 KCV` (GPCS T11-71; pySim). Only for 16- and 32-byte keys; a 24-byte key
    /// is always sent [`KeyBlockForm::WithLength`].
    Blocks,
}

/// E(key): AES-CBC with the static Key-DEK and a zero ICV. 16- and 32-byte keys are not padded;
/// a 24-byte key gets 8 pad bytes, which AmdD §7.2.1 leaves arbitrary and this emulator makes
/// `00` so that the result is reproducible.
pub fn encrypt_key(dek: &[u8], key: &[u8]) -> Result<Vec<u8>, BadKeyLength> {
    let k = AesKey::new(dek)?;
    AesKey::new(key)?;
    let mut data = key.to_vec();
    data.resize(key.len().div_ceil(BLOCK) * BLOCK, 0);
    k.cbc_encrypt(&[0; BLOCK], &mut data);
    Ok(data)
}

/// Sensitive data for STORE DATA with P1 b7b6 = `11` (GPCS T11-89): AES-CBC with the static
/// Key-DEK and a zero ICV, as keys are (AmdD §6.2.8: SCP03 has no session DEK). The data is
/// whole blocks: the sender pads, the receiver gets the padding too.
pub fn encrypt_data(dek: &[u8], data: &[u8]) -> Result<Vec<u8>, Sw> {
    let k = AesKey::new(dek).map_err(|_| Sw::ReferencedDataNotFound)?;
    if !data.len().is_multiple_of(BLOCK) {
        return Err(Sw::WrongData);
    }
    let mut out = data.to_vec();
    k.cbc_encrypt(&[0; BLOCK], &mut out);
    Ok(out)
}

/// Card side of [`encrypt_data`]; data that is not whole blocks is `6A80`.
pub fn decrypt_data(dek: &[u8], data: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, Sw> {
    let k = AesKey::new(dek).map_err(|_| Sw::ReferencedDataNotFound)?;
    if !data.len().is_multiple_of(BLOCK) {
        return Err(Sw::WrongData);
    }
    let mut out = zeroize::Zeroizing::new(data.to_vec());
    k.cbc_decrypt(&[0; BLOCK], &mut out);
    Ok(out)
}

/// One AES key component for the PUT KEY data field: type, lengths, E(key), KCV.
// AES keys are 16, 24 or 32 bytes (encrypt_key checks), so E(key) is at most 32.
#[allow(clippy::cast_possible_truncation)]
pub fn key_component(dek: &[u8], key: &[u8], form: KeyBlockForm) -> Result<Vec<u8>, BadKeyLength> {
    let e = encrypt_key(dek, key)?;
    let check = kcv(key)?;
    let mut out = vec![KEY_TYPE_AES];
    if form == KeyBlockForm::Blocks && key.len().is_multiple_of(BLOCK) {
        out.push(e.len() as u8);
    } else {
        out.push(e.len() as u8 + 1);
        out.push(key.len() as u8);
    }
    out.extend_from_slice(&e);
    out.push(3);
    out.extend_from_slice(&check);
    Ok(out)
}

/// Card side: decodes one AES key component at the start of `data`, decrypting with Key-DEK and
/// checking the KCV when one is present. Returns the key and the bytes consumed. A malformed
/// component is `6A80`; a KCV mismatch `6982` (GPCS T11-78).
pub fn decode_key_component(dek: &[u8], data: &[u8]) -> Result<(SecretBytes, usize), Sw> {
    let k = AesKey::new(dek).map_err(|_| Sw::ReferencedDataNotFound)?;
    let (&ty, rest) = data.split_first().ok_or(Sw::WrongData)?;
    if ty != KEY_TYPE_AES {
        return Err(Sw::WrongData);
    }
    let (&l, rest) = rest.split_first().ok_or(Sw::WrongData)?;
    let block = rest.get(..l as usize).ok_or(Sw::WrongData)?;
    let (key_len, ct) = if block.len().is_multiple_of(BLOCK) {
        (block.len(), block)
    } else {
        let (&kl, ct) = block.split_first().ok_or(Sw::WrongData)?;
        (kl as usize, ct)
    };
    if ct.is_empty() || !ct.len().is_multiple_of(BLOCK) || ![16, 24, 32].contains(&key_len) || key_len > ct.len() {
        return Err(Sw::WrongData);
    }
    let mut clear = zeroize::Zeroizing::new(ct.to_vec());
    k.cbc_decrypt(&[0; BLOCK], &mut clear);
    let key = SecretBytes::new(clear[..key_len].to_vec());
    let mut used = 2 + l as usize;
    let kcv_len = *data.get(used).ok_or(Sw::WrongData)? as usize;
    let given = data.get(used + 1..used + 1 + kcv_len).ok_or(Sw::WrongData)?;
    used += 1 + kcv_len;
    match kcv_len {
        0 => {}
        3 => {
            let want = kcv(key.expose()).map_err(|_| Sw::WrongData)?;
            if !super::prim::ct_eq(&want, given) {
                return Err(Sw::SecurityNotSatisfied);
            }
        }
        _ => return Err(Sw::WrongData),
    }
    Ok((key, used))
}

/// RSA public key component types (GPCS T11-16): modulus `A1`, public exponent `A0`.
pub const KEY_TYPE_RSA_MODULUS: u8 = 0xA1;
pub const KEY_TYPE_RSA_EXPONENT: u8 = 0xA0;
/// The RSA moduli a DAP key may have: 1024 to 4096 bits.
const RSA_MODULUS_BYTES: std::ops::RangeInclusive<usize> = 128..=512;

/// A component length: one byte up to `80` (GPP writes a 1024-bit modulus as `80`), else BER
/// `81 xx` or `82 xx xx` (the tolerance of INSTALL's lengths, `globalplatform.md` §B.5).
fn component_len(data: &[u8]) -> Result<(usize, usize), Sw> {
    match data {
        [l @ 0..=0x80, ..] => Ok((usize::from(*l), 1)),
        [0x81, l, ..] => Ok((usize::from(*l), 2)),
        [0x82, a, b, ..] => Ok((usize::from(u16::from_be_bytes([*a, *b])), 3)),
        _ => Err(Sw::WrongData),
    }
}

// Each arm casts only a length its pattern bounds.
#[allow(clippy::cast_possible_truncation)]
fn push_len(out: &mut Vec<u8>, n: usize) {
    match n {
        0..=0x80 => out.push(n as u8),
        0x81..=0xFF => out.extend_from_slice(&[0x81, n as u8]),
        _ => {
            out.push(0x82);
            out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
        }
    }
}

/// Host side: an RSA public key for PUT KEY as GlobalPlatformPro sends it
/// (`GPSession.putKey(RSAPublicKey, version)`): `A1 L modulus A0 L exponent 00` (no KCV).
pub fn rsa_public_components(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let mut out = vec![KEY_TYPE_RSA_MODULUS];
    push_len(&mut out, modulus.len());
    out.extend_from_slice(modulus);
    out.push(KEY_TYPE_RSA_EXPONENT);
    push_len(&mut out, exponent.len());
    out.extend_from_slice(exponent);
    out.push(0x00);
    out
}

/// Card side: an RSA public key at the start of `data`, `A1 L n [00] A0 L e [00]` (a KCV
/// length `00` after each component, or only after the last as GPP sends it; a public key has
/// no KCV). The modulus is 1024-4096 bits without a leading zero byte and the exponent odd, of
/// 1-8 bytes; anything else `6A80`. Returns the modulus, the exponent and the bytes consumed.
pub fn decode_rsa_public(data: &[u8]) -> Result<(&[u8], &[u8], usize), Sw> {
    let mut at = 0;
    let component = |want: u8, at: &mut usize| -> Result<&[u8], Sw> {
        if data.get(*at) != Some(&want) {
            return Err(Sw::WrongData);
        }
        let (n, used) = component_len(data.get(*at + 1..).unwrap_or_default())?;
        let start = *at + 1 + used;
        let v = data.get(start..start + n).ok_or(Sw::WrongData)?;
        *at = start + n;
        // An optional KCV length of zero.
        if data.get(*at) == Some(&0x00) {
            *at += 1;
        }
        Ok(v)
    };
    let n = component(KEY_TYPE_RSA_MODULUS, &mut at)?;
    let e = component(KEY_TYPE_RSA_EXPONENT, &mut at)?;
    let n_ok = RSA_MODULUS_BYTES.contains(&n.len()) && n[0] != 0;
    let e_ok = (1..=8).contains(&e.len()) && e[0] != 0 && e[e.len() - 1] & 1 == 1;
    if !n_ok || !e_ok {
        return Err(Sw::WrongData);
    }
    Ok((n, e, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_and_form() {
        let dek = [0x20u8; 16];
        for len in [16, 24, 32] {
            // len is 16, 24 or 32.
            #[allow(clippy::cast_possible_truncation)]
            let key: Vec<u8> = (0..len as u8).collect();
            for form in [KeyBlockForm::WithLength, KeyBlockForm::Blocks] {
                let c = key_component(&dek, &key, form).unwrap();
                let (k, used) = decode_key_component(&dek, &c).unwrap();
                assert_eq!(k.expose(), &key[..]);
                assert_eq!(used, c.len());
            }
        }
    }

    #[test]
    fn rsa_public_key_components() {
        let n = [0xC5u8; 128];
        let c = rsa_public_components(&n, &[1, 0, 1]);
        // GPP's form (`GPSession.putKey(RSAPublicKey)`): a 1024-bit modulus has length `80`.
        assert_eq!(hex::encode_upper(&c[..3]), "A180C5");
        assert_eq!(hex::encode_upper(&c[130..]), "A00301000100");
        assert_eq!(decode_rsa_public(&c).unwrap(), (&n[..], &[1u8, 0, 1][..], c.len()));
        // A KCV length after each component, and a 2048-bit modulus with `82 01 00`.
        let mut each = vec![0xA1, 0x80];
        each.extend_from_slice(&n);
        each.extend_from_slice(&[0x00, 0xA0, 0x01, 0x03, 0x00]);
        assert_eq!(decode_rsa_public(&each).unwrap().2, each.len());
        let big = rsa_public_components(&[0xC5; 256], &[3]);
        assert_eq!(hex::encode_upper(&big[..4]), "A1820100");
        assert_eq!(decode_rsa_public(&big).unwrap().0.len(), 256);
        // Too short a modulus, a leading zero, an even exponent, truncated: 6A80.
        for bad in [
            rsa_public_components(&[0xC5; 64], &[1, 0, 1]),
            rsa_public_components(&[&[0u8][..], &[0xC5; 127]].concat(), &[1, 0, 1]),
            rsa_public_components(&n, &[2]),
            c[..100].to_vec(),
        ] {
            assert_eq!(decode_rsa_public(&bad).unwrap_err(), Sw::WrongData);
        }
    }

    #[test]
    fn bad_kcv_is_6982_and_garbage_6a80() {
        let dek = [0x20u8; 16];
        let mut c = key_component(&dek, &[7; 16], KeyBlockForm::WithLength).unwrap();
        let n = c.len();
        c[n - 1] ^= 1;
        assert_eq!(decode_key_component(&dek, &c).unwrap_err(), Sw::SecurityNotSatisfied);
        for bad in [&[][..], &[0x88], &[0x88, 0x11, 0x10], &[0x80, 0x10]] {
            assert_eq!(decode_key_component(&dek, bad).unwrap_err(), Sw::WrongData);
        }
    }
}
