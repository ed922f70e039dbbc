//! The SCP03 data derivation (AmdD §4.1.5): NIST SP 800-108 KDF in counter mode with AES-CMAC as
//! PRF, and what GP derives with it (AmdD T4-1, §6.2.1-§6.2.2): session keys, card and host
//! cryptograms, the pseudo-random card challenge. Also the AES key check value (AmdD §7.2.2).

use super::prim::{AesKey, BadKeyLength, BLOCK};
use super::StaticKeys;
use crate::crypto::SecretBytes;
use std::fmt;
use zeroize::Zeroizing;

/// Derivation constants (AmdD T4-1).
pub mod constant {
    /// Card cryptogram (with S-MAC).
    pub const CARD_CRYPTOGRAM: u8 = 0x00;
    /// Host cryptogram (with S-MAC).
    pub const HOST_CRYPTOGRAM: u8 = 0x01;
    /// Pseudo-random card challenge (with the static Key-ENC).
    pub const CARD_CHALLENGE: u8 = 0x02;
    /// S-ENC (from Key-ENC).
    pub const S_ENC: u8 = 0x04;
    /// S-MAC (from Key-MAC).
    pub const S_MAC: u8 = 0x06;
    /// S-RMAC (from Key-MAC).
    pub const S_RMAC: u8 = 0x07;
}

/// SP 800-108 KDF in counter mode with a one-byte counter placed between a fixed prefix and a
/// fixed suffix: output = PRF(prefix ‖ 01 ‖ suffix) ‖ PRF(prefix ‖ 02 ‖ suffix) ‖ …, truncated to
/// `out_len` bytes. This is the BouncyCastle `KDFCounterBytesGenerator` form GPP uses
/// (`GPCrypto.scp03_kdf(key, a, b, bytes)`).
pub fn kdf_counter(key: &AesKey, prefix: &[u8], suffix: &[u8], out_len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(out_len.div_ceil(BLOCK) * BLOCK));
    let mut i: u8 = 1;
    while out.len() < out_len {
        out.extend_from_slice(&key.cmac(&[prefix, &[i], suffix]));
        i = i.wrapping_add(1);
    }
    out.truncate(out_len);
    out
}

/// The GP derivation (AmdD §4.1.5): label = 11 × `00` ‖ constant, separator `00`, L (2 bytes,
/// bits), counter, context.
pub fn derive(key: &AesKey, constant: u8, context: &[u8], l_bits: u16) -> Zeroizing<Vec<u8>> {
    let mut prefix = [0u8; 15];
    prefix[11] = constant;
    prefix[13..15].copy_from_slice(&l_bits.to_be_bytes());
    kdf_counter(key, &prefix, context, (l_bits / 8) as usize)
}

/// An 8-byte cryptogram (S8 mode): card (constant 00) or host (01) with S-MAC over
/// host challenge ‖ card challenge (AmdD §6.2.2.2-§6.2.2.3).
pub fn cryptogram(s_mac: &AesKey, constant: u8, host_challenge: &[u8], card_challenge: &[u8]) -> [u8; 8] {
    let d = cryptogram_of_len(s_mac, constant, host_challenge, card_challenge, 8);
    let mut out = [0u8; 8];
    out.copy_from_slice(&d);
    out
}

/// A cryptogram of `len` bytes: 8 in S8 mode, 16 in S16 mode (i b1, AmdD v1.2; GPP
/// `InitUpdateResponse`: challenges and cryptograms of 16 bytes), L = 8 × `len` bits.
pub fn cryptogram_of_len(
    s_mac: &AesKey,
    constant: u8,
    host_challenge: &[u8],
    card_challenge: &[u8],
    len: usize,
) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(host_challenge.len() + card_challenge.len());
    ctx.extend_from_slice(host_challenge);
    ctx.extend_from_slice(card_challenge);
    // A cryptogram is 8 or 16 bytes (S8/S16, AmdD §6.2.2.2-3): 64 or 128 bits.
    #[allow(clippy::cast_possible_truncation)]
    let bits = (len * 8) as u16;
    derive(s_mac, constant, &ctx, bits).to_vec()
}

/// The pseudo-random card challenge (AmdD §6.2.2.1): KDF(Key-ENC, 02, L=64, sequence counter
/// (3 bytes) ‖ AID of the security domain).
pub fn pseudo_random_challenge(key_enc: &AesKey, counter: u32, sd_aid: &[u8]) -> [u8; 8] {
    let d = pseudo_random_challenge_of_len(key_enc, counter, sd_aid, 8);
    let mut out = [0u8; 8];
    out.copy_from_slice(&d);
    out
}

/// The pseudo-random card challenge of `len` bytes (16 in S16 mode, L = 128).
pub fn pseudo_random_challenge_of_len(key_enc: &AesKey, counter: u32, sd_aid: &[u8], len: usize) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(3 + sd_aid.len());
    ctx.extend_from_slice(&counter.to_be_bytes()[1..]);
    ctx.extend_from_slice(sd_aid);
    // A card challenge is 8 or 16 bytes (S8/S16): 64 or 128 bits.
    #[allow(clippy::cast_possible_truncation)]
    let bits = (len * 8) as u16;
    derive(key_enc, constant::CARD_CHALLENGE, &ctx, bits).to_vec()
}

/// The key check value of an AES key: the first 3 bytes of AES-ECB(key, 16 × `01`) (AmdD §7.2.2).
pub fn kcv(key: &[u8]) -> Result<[u8; 3], BadKeyLength> {
    let k = AesKey::new(key)?;
    let mut b = [0x01u8; BLOCK];
    k.encrypt_block(&mut b);
    Ok([b[0], b[1], b[2]])
}

/// The session keys of one session (AmdD §6.2.1): S-ENC, S-MAC, S-RMAC, as long as the static
/// keys. There is no session DEK: Key-DEK is used statically.
#[derive(Clone)]
pub struct SessionKeys {
    pub(crate) enc: AesKey,
    pub(crate) mac: AesKey,
    pub(crate) rmac: AesKey,
    raw: [SecretBytes; 3],
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKeys(AES-{})", self.enc.bits())
    }
}

impl SessionKeys {
    /// Derives the session keys from the static Key-ENC and Key-MAC and the two challenges.
    /// S-RMAC is derived whatever i says (AmdD §6.2.1 derives it only with R-MAC support; it is
    /// harmless and GPP and pySim do the same).
    pub fn derive(
        key_enc: &[u8],
        key_mac: &[u8],
        host_challenge: &[u8],
        card_challenge: &[u8],
    ) -> Result<SessionKeys, BadKeyLength> {
        let enc = AesKey::new(key_enc)?;
        let mac = AesKey::new(key_mac)?;
        let bits = enc.bits();
        let mut ctx = Vec::with_capacity(host_challenge.len() + card_challenge.len());
        ctx.extend_from_slice(host_challenge);
        ctx.extend_from_slice(card_challenge);
        let s_enc = derive(&enc, constant::S_ENC, &ctx, bits);
        let s_mac = derive(&mac, constant::S_MAC, &ctx, mac.bits());
        let s_rmac = derive(&mac, constant::S_RMAC, &ctx, mac.bits());
        Ok(SessionKeys {
            enc: AesKey::new(&s_enc)?,
            mac: AesKey::new(&s_mac)?,
            rmac: AesKey::new(&s_rmac)?,
            raw: [
                SecretBytes::new(s_enc.to_vec()),
                SecretBytes::new(s_mac.to_vec()),
                SecretBytes::new(s_rmac.to_vec()),
            ],
        })
    }

    /// From a static key set.
    pub fn from_static(
        keys: &StaticKeys,
        host_challenge: &[u8],
        card_challenge: &[u8],
    ) -> Result<SessionKeys, BadKeyLength> {
        SessionKeys::derive(keys.enc().expose(), keys.mac().expose(), host_challenge, card_challenge)
    }

    /// S-ENC, S-MAC and S-RMAC bytes, for an explicit `--show-keys` trace only.
    pub fn expose(&self) -> [&[u8]; 3] {
        [self.raw[0].expose(), self.raw[1].expose(), self.raw[2].expose()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn pysim_v1_aes128_session_keys() {
        // globalplatform.md §A.14, AES128 level 11: hc b13e5f938fc108c4, cc 3eb51047495b249f.
        let sk = SessionKeys::derive(
            &h("000102030405060708090a0b0c0d0e0f"),
            &h("101112131415161718191a1b1c1d1e1f"),
            &h("b13e5f938fc108c4"),
            &h("3eb51047495b249f"),
        )
        .unwrap();
        let [e, m, r] = sk.expose();
        assert_eq!(hex::encode(e), "c4e87149f2114da66bb015a567d751f9");
        assert_eq!(hex::encode(m), "8b2635556e987a6b84f43d9ffc197d3f");
        assert_eq!(hex::encode(r), "3f6b2ce3b3abd9a99bd4453afa54cc7b");
        assert_eq!(
            hex::encode(cryptogram(&sk.mac, constant::CARD_CRYPTOGRAM, &h("b13e5f938fc108c4"), &h("3eb51047495b249f"))),
            "66c484c1d2ef1948"
        );
        assert_eq!(format!("{sk:?}"), "SessionKeys(AES-128)");
    }

    #[test]
    fn kcvs() {
        assert_eq!(kcv(&h("000102030405060708090a0b0c0d0e0f")).unwrap(), [0xC3, 0x52, 0x80]);
        assert_eq!(kcv(&h("404142434445464748494A4B4C4D4E4F")).unwrap(), [0x50, 0x4A, 0x77]);
        assert!(kcv(&[0; 5]).is_err());
    }
}
