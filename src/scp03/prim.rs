//! The SCP03 primitives (AmdD §4.1): AES-ECB on one block, AES-CBC and AES-CMAC with the full
//! 16-byte output, for AES-128/192/256 keys, and the `80 00..` padding of AmdD §4.1.4.
//!
//! Keys are expanded once ([`AesKey::new`]) and kept expanded for the session, so a wrapped APDU
//! costs no key schedule. The expanded schedules zeroize on drop (`aes` crate feature `zeroize`).

use aes::cipher::{BlockDecrypt, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, InnerIvInit, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use cmac::digest::core_api::CoreWrapper;
use cmac::digest::InnerInit;
use cmac::{CmacCore, Mac};
use std::fmt;

/// The AES block length.
pub const BLOCK: usize = 16;

/// A key of a length AES does not have (AmdD §4.1: 16, 24 or 32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an AES key is 16, 24 or 32 bytes, not {0}")]
pub struct BadKeyLength(pub usize);

/// An expanded AES key of any of the three sizes.
#[derive(Clone)]
pub enum AesKey {
    A128(Aes128),
    A192(Aes192),
    A256(Aes256),
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AesKey(AES-{})", self.bits())
    }
}

macro_rules! with_cipher {
    ($key:expr, $c:ident => $body:expr) => {
        match $key {
            AesKey::A128($c) => $body,
            AesKey::A192($c) => $body,
            AesKey::A256($c) => $body,
        }
    };
}

impl AesKey {
    /// Expands a 16-, 24- or 32-byte key.
    pub fn new(key: &[u8]) -> Result<AesKey, BadKeyLength> {
        match key.len() {
            16 => Ok(AesKey::A128(Aes128::new_from_slice(key).map_err(|_| BadKeyLength(16))?)),
            24 => Ok(AesKey::A192(Aes192::new_from_slice(key).map_err(|_| BadKeyLength(24))?)),
            32 => Ok(AesKey::A256(Aes256::new_from_slice(key).map_err(|_| BadKeyLength(32))?)),
            n => Err(BadKeyLength(n)),
        }
    }

    /// 128, 192 or 256.
    pub fn bits(&self) -> u16 {
        match self {
            AesKey::A128(_) => 128,
            AesKey::A192(_) => 192,
            AesKey::A256(_) => 256,
        }
    }

    /// AES-ECB of one block, in place.
    pub fn encrypt_block(&self, block: &mut [u8; BLOCK]) {
        with_cipher!(self, c => c.encrypt_block(block.into()))
    }

    /// AES-CBC encryption in place; `data` is a whole number of blocks (the caller pads).
    pub fn cbc_encrypt(&self, iv: &[u8; BLOCK], data: &mut [u8]) {
        debug_assert!(data.len().is_multiple_of(BLOCK));
        with_cipher!(self, c => {
            let mut enc = cbc::Encryptor::inner_iv_init(c.clone(), iv.into());
            for b in data.chunks_exact_mut(BLOCK) {
                enc.encrypt_block_mut(b.into());
            }
        })
    }

    /// AES-CBC decryption in place; `data` is a whole number of blocks.
    pub fn cbc_decrypt(&self, iv: &[u8; BLOCK], data: &mut [u8]) {
        debug_assert!(data.len().is_multiple_of(BLOCK));
        with_cipher!(self, c => {
            let mut dec = cbc::Decryptor::inner_iv_init(c.clone(), iv.into());
            for b in data.chunks_exact_mut(BLOCK) {
                dec.decrypt_block_mut(b.into());
            }
        })
    }

    /// Plain AES decryption of one block (used only to check round trips in tests).
    pub fn decrypt_block(&self, block: &mut [u8; BLOCK]) {
        with_cipher!(self, c => c.decrypt_block(block.into()))
    }

    /// The full 16-byte AES-CMAC (NIST SP 800-38B) of the concatenation of `parts`.
    pub fn cmac(&self, parts: &[&[u8]]) -> [u8; BLOCK] {
        with_cipher!(self, c => {
            let mut m = CoreWrapper::from_core(CmacCore::inner_init(c.clone()));
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().into()
        })
    }
}

/// Appends `80` and then `00` up to a multiple of 16; a full block is added when the data is
/// already a multiple of 16 (AmdD §4.1.4).
pub fn pad80(data: &mut Vec<u8>) {
    data.push(0x80);
    while !data.len().is_multiple_of(BLOCK) {
        data.push(0);
    }
}

/// Removes `80 00..` padding; `None` when the last block does not end in a valid padding.
pub fn unpad80(data: &mut Vec<u8>) -> Option<()> {
    let pos = data.iter().rposition(|&b| b != 0)?;
    if data[pos] != 0x80 || data.len() - pos > BLOCK {
        return None;
    }
    data.truncate(pos);
    Some(())
}

/// Constant-time comparison of MACs and cryptograms.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmac_matches_sp800_38b_examples() {
        // NIST SP 800-38B, D.1 (AES-128) Example 2 and D.3 (AES-256) Example 2.
        let k = AesKey::new(&hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap()).unwrap();
        let m = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        assert_eq!(hex::encode(k.cmac(&[&m])), "070a16b46b4d4144f79bdd9dd04a287c");
        let k = AesKey::new(&hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4").unwrap())
            .unwrap();
        assert_eq!(hex::encode(k.cmac(&[&m[..8], &m[8..]])), "28a7023f452e8f82bd4bf28d8c37c35c");
    }

    #[test]
    fn padding() {
        let mut v = vec![1, 2, 3];
        pad80(&mut v);
        assert_eq!(v.len(), 16);
        assert_eq!(v[3], 0x80);
        unpad80(&mut v).unwrap();
        assert_eq!(v, vec![1, 2, 3]);
        let mut w = vec![7u8; 16];
        pad80(&mut w);
        assert_eq!(w.len(), 32);
        unpad80(&mut w).unwrap();
        assert_eq!(w, vec![7u8; 16]);
        assert!(unpad80(&mut vec![0u8; 16]).is_none());
        assert!(unpad80(&mut vec![1u8; 16]).is_none());
        let mut long = vec![0x80];
        long.extend([0u8; 16]);
        assert!(unpad80(&mut long).is_none());
    }

    #[test]
    fn bad_key_lengths() {
        assert_eq!(AesKey::new(&[0; 15]).unwrap_err(), BadKeyLength(15));
        assert_eq!(AesKey::new(&[0; 24]).unwrap().bits(), 192);
        assert_eq!(format!("{:?}", AesKey::new(&[0; 32]).unwrap()), "AesKey(AES-256)");
    }
}
