//! Deterministic ECDSA (RFC 6979) over a hash of any length, for `Signature.ALG_ECDSA_*`.
//!
//! RustCrypto's `SigningKey::sign_prehash` draws the RFC 6979 nonce with HMAC over the curve's
//! own digest (SHA-256 for P-256) whatever hash signed the message; RFC 6979 §3.2 keys its
//! HMAC_DRBG with the message's hash H. A JC applet asks for ECDSA with SHA-1, SHA-224, SHA-384
//! or SHA-512 on P-256 as well, so the nonce is made here with the HMAC of that hash (known by
//! the hash length: 20, 28, 32, 48, 64 bytes), and the signature equals RFC 6979 appendix A's
//! for every hash (`tests/jcvm_kat.rs`, `vectors/kat/ecdsa/rfc6979-P256.txt`).

use ecdsa::elliptic_curve::{
    generic_array::{typenum::Unsigned, ArrayLength},
    ops::Reduce,
    sec1, CurveArithmetic, FieldBytes, FieldBytesSize, NonZeroScalar, PrimeField, Scalar,
};
use ecdsa::{hazmat, PrimeCurve, SignatureSize};
use rfc6979::HmacDrbg;
use std::ops::Add;

/// RFC 6979 §3.2 steps b-g: the HMAC_DRBG of the message's hash, seeded with int2octets(x) and
/// bits2octets(h1).
enum Drbg {
    Sha1(HmacDrbg<sha1::Sha1>),
    Sha224(HmacDrbg<sha2::Sha224>),
    Sha256(HmacDrbg<sha2::Sha256>),
    Sha384(HmacDrbg<sha2::Sha384>),
    Sha512(HmacDrbg<sha2::Sha512>),
}

impl Drbg {
    fn new(hash_len: usize, x: &[u8], h: &[u8]) -> Option<Drbg> {
        Some(match hash_len {
            20 => Drbg::Sha1(HmacDrbg::new(x, h, &[])),
            28 => Drbg::Sha224(HmacDrbg::new(x, h, &[])),
            32 => Drbg::Sha256(HmacDrbg::new(x, h, &[])),
            48 => Drbg::Sha384(HmacDrbg::new(x, h, &[])),
            64 => Drbg::Sha512(HmacDrbg::new(x, h, &[])),
            _ => return None,
        })
    }

    /// Step h: T of qlen bits (V || V || ... cut to the field size), then the K, V update that
    /// step h.3 asks before another candidate (`HmacDrbg::fill_bytes` does both).
    fn fill(&mut self, out: &mut [u8]) {
        match self {
            Drbg::Sha1(d) => d.fill_bytes(out),
            Drbg::Sha224(d) => d.fill_bytes(out),
            Drbg::Sha256(d) => d.fill_bytes(out),
            Drbg::Sha384(d) => d.fill_bytes(out),
            Drbg::Sha512(d) => d.fill_bytes(out),
        }
    }
}

/// The hash as ECDSA reads it (SEC 1 §4.1.3 step 5, RFC 6979 §2.3.2 bits2int) when it is
/// shorter than the field: the same integer, left-padded to the field size. RustCrypto's
/// `bits2field` refuses a hash under half the field (SHA-1 on P-384), which JC's
/// `ALG_ECDSA_SHA` on a 384-bit key asks for; a longer hash is returned as it is (the leftmost
/// bits are taken by `bits2field`).
pub fn field_hash(hash: &[u8], field_len: usize) -> Vec<u8> {
    let mut v = vec![0u8; field_len.saturating_sub(hash.len())];
    v.extend_from_slice(hash);
    v
}

/// Candidates tried before giving up: each is below the group order with probability
/// > 1 - 2^-32 on the NIST curves, so this is never reached in practice.
const TRIES: usize = 64;

/// The DER ECDSA-Sig-Value (RFC 3279 §2.2.3) of `hash` under the private scalar `sk`
/// (big-endian, the field size), with the RFC 6979 nonce of the hash's own algorithm; `None` for
/// a scalar out of range or a hash of no SHA length.
pub fn sign_rfc6979<C>(sk: &[u8], hash: &[u8]) -> Option<Vec<u8>>
where
    C: PrimeCurve + CurveArithmetic,
    SignatureSize<C>: ArrayLength<u8>,
    ecdsa::der::MaxSize<C>: ArrayLength<u8>,
    <FieldBytesSize<C> as Add>::Output: Add<ecdsa::der::MaxOverhead> + ArrayLength<u8>,
    FieldBytesSize<C>: sec1::ModulusSize,
{
    let d = NonZeroScalar::<C>::try_from(sk).ok()?;
    // bits2int (§2.3.2): the leftmost qlen bits of the hash; bits2octets (§2.3.4): that mod q.
    let z = hazmat::bits2field::<C>(&field_hash(hash, FieldBytesSize::<C>::USIZE)).ok()?;
    let h1 = <Scalar<C> as Reduce<C::Uint>>::reduce_bytes(&z).to_repr();
    let mut drbg = Drbg::new(hash.len(), &d.to_repr(), &h1)?;
    for _ in 0..TRIES {
        let mut t = FieldBytes::<C>::default();
        drbg.fill(&mut t);
        // Step h.3: k in [1, q-1], else the next candidate.
        let Some(k) = Option::<NonZeroScalar<C>>::from(NonZeroScalar::<C>::from_repr(t)) else { continue };
        if let Ok((sig, _)) = hazmat::sign_prehashed::<C, Scalar<C>>(d.as_ref(), *k.as_ref(), &z) {
            return Some(sig.to_der().as_bytes().to_vec());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sha2::Digest;

    /// RFC 6979 appendix A.2.5 (P-256), message "sample": the r and s of each hash.
    #[test]
    fn rfc6979_a25_sample() {
        let x = hex::decode("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721").unwrap();
        let m = b"sample";
        let cases: [(Vec<u8>, &str, &str); 5] = [
            (
                sha1::Sha1::digest(m).to_vec(),
                "61340C88C3AAEBEB4F6D667F672CA9759A6CCAA9FA8811313039EE4A35471D32",
                "6D7F147DAC089441BB2E2FE8F7A3FA264B9C475098FDCF6E00D7C996E1B8B7EB",
            ),
            (
                sha2::Sha224::digest(m).to_vec(),
                "53B2FFF5D1752B2C689DF257C04C40A587FABABB3F6FC2702F1343AF7CA9AA3F",
                "B9AFB64FDC03DC1A131C7D2386D11E349F070AA432A4ACC918BEA988BF75C74C",
            ),
            (
                sha2::Sha256::digest(m).to_vec(),
                "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
                "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
            ),
            (
                sha2::Sha384::digest(m).to_vec(),
                "0EAFEA039B20E9B42309FB1D89E213057CBF973DC0CFC8F129EDDDC800EF7719",
                "4861F0491E6998B9455193E34E7B0D284DDD7149A74B95B9261F13ABDE940954",
            ),
            (
                sha2::Sha512::digest(m).to_vec(),
                "8496A60B5E9B47C825488827E0495B0E3FA109EC4568FD3F8D1097678EB97F00",
                "2362AB1ADBE2B8ADF9CB9EDAB740EA6049C028114F2460F96554F61FAE3302FE",
            ),
        ];
        for (hash, r, s) in cases {
            let der = sign_rfc6979::<p256::NistP256>(&x, &hash).unwrap();
            let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
            let (rb, sb) = sig.split_bytes();
            assert_eq!(
                (hex::encode_upper(rb), hex::encode_upper(sb)),
                (r.to_string(), s.to_string()),
                "{}",
                hash.len()
            );
        }
        // A hash of no SHA length, and the zero scalar.
        assert!(sign_rfc6979::<p256::NistP256>(&x, &[0; 33]).is_none());
        assert!(sign_rfc6979::<p256::NistP256>(&[0; 32], &[0; 32]).is_none());
    }
}
