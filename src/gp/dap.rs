//! DAP verification (GPCS §9.2.1, §11.6.2.3 T11-58, appendix C; `applet-spec/isd.md`, "DAP
//! verification"): which security domains check a Load File's DAP blocks, with which of their
//! keys, and the two schemes both sides compute.
//!
//! * RSA: PKCS#1 v1.5 signature with SHA-1 over the Load File Data Block Hash, the hash of
//!   INSTALL [for load] being the message (GPCS's scheme 1; GlobalPlatformPro `DAPSigner.sign`:
//!   `SHA1withRSA` over `getLoadFileDataHash`), with an RSA public key the SD holds (PUT KEY
//!   `A1`/`A0`, GPP `--put-key dap.pem`). Any modulus of 1024-4096 bits.
//! * AES: AES-CMAC (NIST SP 800-38B) over the Load File Data Block Hash with the SD's AES DAP
//!   key (key 1 of KVN `73`, the DAP key version of GP's KVN conventions and GPP's default DAP
//!   version), the whole 16 bytes or their leftmost 8 (SCP03's truncation of a CMAC, AmdD §6.2.4).

use super::registry::Privileges;
use crate::card::{Aid, CardImage};
use crate::scp03::keyset::{DomainKeys, KeyKind};
use crate::scp03::prim::{ct_eq, AesKey};
use rsa::{BigUint, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::Digest;

/// The key version of an SD's AES DAP key (GPP's default DAP version `0x73`; the KVN
/// conventions of `globalplatform.md` §A.13).
pub const DAP_KVN: u8 = 0x73;

/// The DigestInfo of SHA-1 before the digest (RFC 8017 §9.2 note 1): PKCS#1 v1.5 signs
/// `30 21 30 09 06 05 2B0E03021A 05 00 04 14 ‖ SHA-1(message)`.
pub const SHA1_DIGEST_INFO: [u8; 15] =
    [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14];

/// `DigestInfo(SHA-1(hash))`, what the RSA scheme signs.
fn sha1_digest_info(hash: &[u8]) -> Vec<u8> {
    let mut v = SHA1_DIGEST_INFO.to_vec();
    v.extend_from_slice(&sha1::Sha1::digest(hash));
    v
}

/// The security domains that must find their DAP block in a Load File associated with `target`
/// (GPCS §9.2.1): `target` itself when it has DAP Verification (or Mandated DAP Verification,
/// which includes it, T11-7), and every SD with Mandated DAP Verification, whatever the target.
pub fn verifiers(img: &CardImage, target: &Aid) -> Vec<Aid> {
    let mut out = Vec::new();
    for i in img.instances.iter().filter(|i| i.is_sd()) {
        let own = &i.aid == target
            && (i.has_privilege(Privileges::DAP_VERIFICATION)
                || i.has_privilege(Privileges::MANDATED_DAP_VERIFICATION));
        if own || i.has_privilege(Privileges::MANDATED_DAP_VERIFICATION) {
            out.push(i.aid.clone());
        }
    }
    out
}

/// Whether `signature` is a valid DAP over `hash` for an SD with these keys: by any of its RSA
/// public keys (a signature as long as the modulus), or by its AES DAP key (8 or 16 bytes).
pub fn verify(keys: &DomainKeys, hash: &[u8], signature: &[u8]) -> bool {
    keys.single_keys.iter().any(|k| match k.kind() {
        Some(KeyKind::RsaPublic { modulus, exponent }) => verify_rsa(modulus, exponent, hash, signature),
        Some(KeyKind::Aes(key)) if k.kvn == DAP_KVN && k.id == 1 => verify_aes(key, hash, signature),
        _ => false,
    })
}

fn verify_rsa(modulus: &[u8], exponent: &[u8], hash: &[u8], signature: &[u8]) -> bool {
    if signature.len() != modulus.len() {
        return false;
    }
    let Ok(key) = RsaPublicKey::new(BigUint::from_bytes_be(modulus), BigUint::from_bytes_be(exponent)) else {
        return false;
    };
    key.verify(Pkcs1v15Sign::new_unprefixed(), &sha1_digest_info(hash), signature).is_ok()
}

fn verify_aes(key: &[u8], hash: &[u8], mac: &[u8]) -> bool {
    matches!(mac.len(), 8 | 16) && aes_dap(key, hash).is_ok_and(|m| ct_eq(&m[..mac.len()], mac))
}

/// The AES DAP: AES-CMAC of the hash with the DAP key (16 bytes; a host may send the leftmost 8).
pub fn aes_dap(key: &[u8], hash: &[u8]) -> Result<[u8; 16], String> {
    Ok(AesKey::new(key).map_err(|e| format!("AES DAP key: {e}"))?.cmac(&[hash]))
}

/// Host side: the RSA DAP of `hash` (deterministic, as PKCS#1 v1.5 is).
pub fn rsa_dap(key: &RsaPrivateKey, hash: &[u8]) -> Result<Vec<u8>, String> {
    key.sign(Pkcs1v15Sign::new_unprefixed(), &sha1_digest_info(hash)).map_err(|e| format!("RSA DAP: {e}"))
}
