//! The card's RSA private key: one type for every private-key operation on the card (the JPKI
//! applet, the Java Card VM's `javacard.security`/`javacardx.crypto` natives).
//!
//! Backend (issue #16, `cargo bench --bench rsa`): key generation draws its prime candidates from
//! the caller's RNG, so that a `--seed`ed card makes the same key from the same
//! [`CardRng`](super::CardRng) stream, and tests them with OpenSSL's primality test; the
//! private-key operation runs in OpenSSL (Debian's libssl, CRT with Montgomery multiplication in
//! assembly, OpenSSL's own base blinding), about 4-5x faster than the `rsa` crate's
//! `num-bigint-dig` arithmetic. Public keys stay [`rsa::RsaPublicKey`] (verification, DER, x509).
//!
//! Paddings are done here, not in OpenSSL, where the card RNG must drive them: the PSS salt is
//! drawn from the caller's RNG (RFC 8017 §9.1.1), so seeded cards stay reproducible.

use ::rsa::traits::{PrivateKeyParts, PublicKeyParts};
use ::rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use openssl::bn::{BigNum, BigNumContext};
use openssl::rsa::{Padding, Rsa};
use rand_core::CryptoRngCore;
use sha2::Digest;
use zeroize::Zeroizing;

use super::SecretBytes;

/// What can go wrong with a private-key operation; the caller maps it to its status word or
/// Java Card exception.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RsaError {
    /// Components that do not make an RSA key (or a modulus size out of range).
    #[error("invalid RSA key")]
    InvalidKey,
    /// Input of the wrong length, or not below the modulus, or too long to pad.
    #[error("RSA input out of range")]
    InputRange,
    /// A ciphertext whose padding does not check.
    #[error("RSA decryption failed")]
    Decrypt,
    /// The backend refused (should not happen with a valid key).
    #[error("RSA operation failed")]
    Backend,
}

/// Hash functions for PSS: the hash the digest was made with, also used for MGF1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PssHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl PssHash {
    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            PssHash::Sha1 => 20,
            PssHash::Sha224 => 28,
            PssHash::Sha256 => 32,
            PssHash::Sha384 => 48,
            PssHash::Sha512 => 64,
        }
    }

    fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        fn h<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            PssHash::Sha1 => h::<sha1::Sha1>(parts),
            PssHash::Sha224 => h::<sha2::Sha224>(parts),
            PssHash::Sha256 => h::<sha2::Sha256>(parts),
            PssHash::Sha384 => h::<sha2::Sha384>(parts),
            PssHash::Sha512 => h::<sha2::Sha512>(parts),
        }
    }

    /// MGF1 (RFC 8017 §B.2.1) XORed into `out`.
    fn mgf1_xor(self, seed: &[u8], out: &mut [u8]) {
        for (counter, chunk) in out.chunks_mut(self.output_len()).enumerate() {
            #[allow(clippy::cast_possible_truncation)] // at most 512 / 20 blocks
            let c = (counter as u32).to_be_bytes();
            for (o, m) in chunk.iter_mut().zip(self.hash(&[seed, &c])) {
                *o ^= m;
            }
        }
    }
}

/// A probable prime of exactly `bits` bits with gcd(p − 1, e) = 1, from an incremental search
/// (step 2) from an odd random start with the two top bits set.
fn prime(rng: &mut impl CryptoRngCore, bits: usize, e: &BigNum, ctx: &mut BigNumContext) -> Result<BigNum, RsaError> {
    let err = |_| RsaError::Backend;
    let nbytes = bits.div_ceil(8);
    let top = (bits - 1) % 8; // the top bit's index in the first byte
    let want = i32::try_from(bits).map_err(|_| RsaError::InvalidKey)?;
    let one = BigNum::from_u32(1).map_err(err)?;
    let rounds = match bits {
        0..=512 => 8,
        513..=1024 => 6,
        _ => 5,
    };
    loop {
        let mut bytes = Zeroizing::new(vec![0u8; nbytes]);
        rng.fill_bytes(&mut bytes);
        // Keep `bits` bits, set the top two (the second may be in the next byte) and the low one.
        bytes[0] &= 0xFF >> (7 - top);
        bytes[0] |= 1 << top;
        if top > 0 {
            bytes[0] |= 1 << (top - 1);
        } else {
            bytes[1] |= 0x80;
        }
        bytes[nbytes - 1] |= 1;
        let mut c = BigNum::from_slice(&bytes).map_err(err)?;
        for _ in 0..bits * 8 {
            if c.num_bits() != want {
                break;
            }
            if c.is_prime_fasttest(rounds, ctx, true).map_err(err)? {
                let (mut cm1, mut g) = (BigNum::new().map_err(err)?, BigNum::new().map_err(err)?);
                cm1.checked_sub(&c, &one).map_err(err)?;
                g.gcd(&cm1, e, ctx).map_err(err)?;
                if g == one {
                    return Ok(c);
                }
            }
            c.add_word(2).map_err(err)?;
        }
    }
}

/// An RSA private key on the card. Its components live in OpenSSL's memory, which OpenSSL
/// clears when the key is dropped (`BN_clear_free`).
pub struct RsaPrivate {
    key: Rsa<openssl::pkey::Private>,
    public: RsaPublicKey,
}

impl std::fmt::Debug for RsaPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaPrivate({} bits)", self.bits())
    }
}

fn bn_bytes(v: &[u8]) -> Result<BigNum, RsaError> {
    BigNum::from_slice(v).map_err(|_| RsaError::InvalidKey)
}

impl RsaPrivate {
    /// A new key of `bits` bits (512-4096) with public exponent `exponent` (big-endian, odd,
    /// at least 3): two primes of `bits/2` bits, each found by an incremental search from an odd
    /// random start drawn from `rng` with its two top bits set (so that n has exactly `bits`
    /// bits), tested by OpenSSL (`BN_is_prime_fasttest_ex`: trial division, then Miller-Rabin
    /// with random bases: 8, 6 or 5 rounds for primes of up to 512, 1024 or more bits, no fewer
    /// than FIPS 186-4 Table C.2 asks for random candidates; OpenSSL's own default, 64 rounds,
    /// made the median 1.4x longer in `cargo bench --bench rsa`). The candidates are the RNG's, and the test's
    /// answer depends on its random bases only with the negligible error probability of those
    /// rounds, so the same seed gives the same key. d = e^-1 mod lcm(p-1, q-1), more than
    /// 2^(bits/2) (FIPS 186-4 §B.3.1).
    pub fn generate(rng: &mut impl CryptoRngCore, bits: usize, exponent: &[u8]) -> Result<RsaPrivate, RsaError> {
        let err = |_| RsaError::Backend;
        if !(512..=4096).contains(&bits) {
            return Err(RsaError::InvalidKey);
        }
        let e = bn_bytes(exponent)?;
        if !e.is_bit_set(0) || e.num_bits() < 2 || e.num_bits() > 256 {
            return Err(RsaError::InvalidKey);
        }
        let mut ctx = BigNumContext::new_secure().map_err(err)?;
        let one = BigNum::from_u32(1).map_err(err)?;
        let new = || BigNum::new_secure().map_err(|_| RsaError::Backend);
        let p_bits = bits.div_ceil(2);
        loop {
            let p = prime(rng, p_bits, &e, &mut ctx)?;
            let q = prime(rng, bits - p_bits, &e, &mut ctx)?;
            // |p − q| > 2^(bits/2 − 100) (FIPS 186-4 §B.3.3 step 5.4); n of exactly `bits` bits.
            let (mut diff, mut n) = (new()?, new()?);
            diff.checked_sub(&p, &q).map_err(err)?;
            n.checked_mul(&p, &q, &mut ctx).map_err(err)?;
            if diff.num_bits() <= i32::try_from(p_bits).unwrap_or(0) - 100
                || n.num_bits() != i32::try_from(bits).unwrap_or(0)
            {
                continue;
            }
            let (mut pm1, mut qm1, mut g, mut prod, mut lambda, mut d) =
                (new()?, new()?, new()?, new()?, new()?, new()?);
            pm1.checked_sub(&p, &one).map_err(err)?;
            qm1.checked_sub(&q, &one).map_err(err)?;
            g.gcd(&pm1, &qm1, &mut ctx).map_err(err)?;
            prod.checked_mul(&pm1, &qm1, &mut ctx).map_err(err)?;
            lambda.checked_div(&prod, &g, &mut ctx).map_err(err)?;
            d.mod_inverse(&e, &lambda, &mut ctx).map_err(|_| RsaError::InvalidKey)?;
            // d > 2^(bits/2) (FIPS 186-4 §B.3.1 criterion 3); otherwise new primes.
            if d.num_bits() <= i32::try_from(bits / 2).unwrap_or(0) {
                continue;
            }
            let e2 = bn_bytes(exponent)?;
            return RsaPrivate::from_components(
                &n.to_vec(),
                &e2.to_vec(),
                &Zeroizing::new(d.to_vec()),
                &[&Zeroizing::new(p.to_vec()), &Zeroizing::new(q.to_vec())],
            );
        }
    }

    /// The key an `rsa` crate key holds.
    pub fn from_rsa_crate(key: &RsaPrivateKey) -> Result<RsaPrivate, RsaError> {
        let [p, q] = key.primes() else {
            return Err(RsaError::InvalidKey);
        };
        let z = |v: &BigUint| Zeroizing::new(v.to_bytes_be());
        RsaPrivate::from_components(&key.n().to_bytes_be(), &key.e().to_bytes_be(), &z(key.d()), &[&z(p), &z(q)])
    }

    /// From modulus, public and private exponent and the two primes (big-endian); the CRT
    /// exponents and coefficient are computed.
    pub fn from_components(n: &[u8], e: &[u8], d: &[u8], primes: &[&[u8]; 2]) -> Result<RsaPrivate, RsaError> {
        let (n, e, d) = (bn_bytes(n)?, bn_bytes(e)?, bn_bytes(d)?);
        let (p, q) = (bn_bytes(primes[0])?, bn_bytes(primes[1])?);
        let mut ctx = BigNumContext::new_secure().map_err(|_| RsaError::Backend)?;
        let one = BigNum::from_u32(1).map_err(|_| RsaError::Backend)?;
        let mut pm1 = BigNum::new_secure().map_err(|_| RsaError::Backend)?;
        let mut qm1 = BigNum::new_secure().map_err(|_| RsaError::Backend)?;
        pm1.checked_sub(&p, &one).map_err(|_| RsaError::InvalidKey)?;
        qm1.checked_sub(&q, &one).map_err(|_| RsaError::InvalidKey)?;
        let mut dp = BigNum::new_secure().map_err(|_| RsaError::Backend)?;
        let mut dq = BigNum::new_secure().map_err(|_| RsaError::Backend)?;
        let mut qi = BigNum::new_secure().map_err(|_| RsaError::Backend)?;
        dp.nnmod(&d, &pm1, &mut ctx).map_err(|_| RsaError::InvalidKey)?;
        dq.nnmod(&d, &qm1, &mut ctx).map_err(|_| RsaError::InvalidKey)?;
        qi.mod_inverse(&q, &p, &mut ctx).map_err(|_| RsaError::InvalidKey)?;
        RsaPrivate::assemble(n, e, d, p, q, dp, dq, qi)
    }

    /// From the CRT form alone, as Java Card's `RSAPrivateCrtKey` holds it (P, Q, DP1, DQ1, PQ;
    /// no modulus, no exponent): n = p·q, and e is the inverse of d modulo λ(n) = lcm(p−1, q−1),
    /// made from dp and dq by the CRT (the smallest such e; 65537 for the usual keys), d its
    /// inverse.
    pub fn from_crt(p: &[u8], q: &[u8], dp: &[u8], dq: &[u8], qinv: &[u8]) -> Result<RsaPrivate, RsaError> {
        let err = |_| RsaError::InvalidKey;
        let (p, q, dp, dq, qi) = (bn_bytes(p)?, bn_bytes(q)?, bn_bytes(dp)?, bn_bytes(dq)?, bn_bytes(qinv)?);
        let mut ctx = BigNumContext::new_secure().map_err(|_| RsaError::Backend)?;
        let one = BigNum::from_u32(1).map_err(|_| RsaError::Backend)?;
        let new = || BigNum::new_secure().map_err(|_| RsaError::Backend);
        let (mut n, mut pm1, mut qm1, mut g, mut lambda, mut prod) = (new()?, new()?, new()?, new()?, new()?, new()?);
        n.checked_mul(&p, &q, &mut ctx).map_err(err)?;
        pm1.checked_sub(&p, &one).map_err(err)?;
        qm1.checked_sub(&q, &one).map_err(err)?;
        g.gcd(&pm1, &qm1, &mut ctx).map_err(err)?;
        prod.checked_mul(&pm1, &qm1, &mut ctx).map_err(err)?;
        lambda.checked_div(&prod, &g, &mut ctx).map_err(err)?;
        // e_p = dp⁻¹ mod (p−1), e_q = dq⁻¹ mod (q−1); they agree modulo g, and e mod λ is their
        // CRT combination: e = e_p + (p−1)·((e_q − e_p)/g · ((p−1)/g)⁻¹ mod (q−1)/g).
        let (mut ep, mut eq) = (new()?, new()?);
        ep.mod_inverse(&dp, &pm1, &mut ctx).map_err(err)?;
        eq.mod_inverse(&dq, &qm1, &mut ctx).map_err(err)?;
        let (mut pg, mut qg, mut diff, mut t, mut inv, mut e) = (new()?, new()?, new()?, new()?, new()?, new()?);
        pg.checked_div(&pm1, &g, &mut ctx).map_err(err)?;
        qg.checked_div(&qm1, &g, &mut ctx).map_err(err)?;
        diff.checked_sub(&eq, &ep).map_err(err)?;
        let (mut quot, mut rem) = (new()?, new()?);
        quot.checked_div(&diff, &g, &mut ctx).map_err(err)?;
        rem.checked_rem(&diff, &g, &mut ctx).map_err(err)?;
        if rem.num_bits() != 0 {
            return Err(RsaError::InvalidKey);
        }
        if qg.num_bits() > 1 {
            inv.mod_inverse(&pg, &qg, &mut ctx).map_err(err)?;
            t.mod_mul(&quot, &inv, &qg, &mut ctx).map_err(err)?;
        } else {
            t = BigNum::from_u32(0).map_err(|_| RsaError::Backend)?;
        }
        let mut step = new()?;
        step.checked_mul(&pm1, &t, &mut ctx).map_err(err)?;
        e.checked_add(&ep, &step).map_err(err)?;
        let mut d = new()?;
        d.mod_inverse(&e, &lambda, &mut ctx).map_err(err)?;
        RsaPrivate::assemble(n, e, d, p, q, dp, dq, qi)
    }

    #[allow(clippy::too_many_arguments)] // the eight components of RFC 8017 §A.1.2
    fn assemble(
        n: BigNum,
        e: BigNum,
        d: BigNum,
        p: BigNum,
        q: BigNum,
        dp: BigNum,
        dq: BigNum,
        qi: BigNum,
    ) -> Result<RsaPrivate, RsaError> {
        let public = RsaPublicKey::new(BigUint::from_bytes_be(&n.to_vec()), BigUint::from_bytes_be(&e.to_vec()))
            .map_err(|_| RsaError::InvalidKey)?;
        // No `check_key` (a primality test of p and q, tens of milliseconds): the components are
        // consistent by construction, and a card uses an inconsistent key as given.
        let key = Rsa::from_private_components(n, e, d, p, q, dp, dq, qi).map_err(|_| RsaError::InvalidKey)?;
        Ok(RsaPrivate { key, public })
    }

    /// From PKCS#1 `RSAPrivateKey` DER (RFC 8017 §A.1.2).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<RsaPrivate, RsaError> {
        use ::rsa::pkcs1::DecodeRsaPrivateKey;
        RsaPrivate::from_rsa_crate(&RsaPrivateKey::from_pkcs1_der(der).map_err(|_| RsaError::InvalidKey)?)
    }

    /// PKCS#1 `RSAPrivateKey` DER, in a zeroizing container.
    pub fn to_pkcs1_der(&self) -> Result<SecretBytes, RsaError> {
        Ok(SecretBytes::new(self.key.private_key_to_der().map_err(|_| RsaError::Backend)?))
    }

    /// The public half.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        usize::try_from(self.key.n().num_bits()).unwrap_or(0)
    }

    /// The modulus length in bytes (k of RFC 8017).
    pub fn size(&self) -> usize {
        usize::try_from(self.key.size()).unwrap_or(0)
    }

    /// A big-endian component, for a key getter (`getP`, `getDP1`…): P, Q, DP, DQ, QInv, D.
    pub fn component(&self, which: Component) -> Option<Vec<u8>> {
        let v = match which {
            Component::P => self.key.p(),
            Component::Q => self.key.q(),
            Component::Dp => self.key.dmp1(),
            Component::Dq => self.key.dmq1(),
            Component::Qinv => self.key.iqmp(),
            Component::D => Some(self.key.d()),
        };
        v.map(|b| b.to_vec())
    }

    fn private(&self, input: &[u8], padding: Padding) -> Result<Vec<u8>, RsaError> {
        let mut out = vec![0u8; self.size()];
        let len = self.key.private_encrypt(input, &mut out, padding).map_err(|_| RsaError::InputRange)?;
        out.truncate(len);
        Ok(out)
    }

    /// RSADP / RSASP1 (RFC 8017 §5.1.2, §5.2.1): `input^d mod n`, `input` exactly k bytes and
    /// below the modulus; the result is k bytes.
    pub fn raw(&self, input: &[u8]) -> Result<Vec<u8>, RsaError> {
        if input.len() != self.size() {
            return Err(RsaError::InputRange);
        }
        self.private(input, Padding::NONE)
    }

    /// RSASSA-PKCS1-v1_5 over `t` as given (RFC 8017 §9.2 steps 3-5: `00 01 FF… 00 T`): `t` is the
    /// DigestInfo, or whatever the applet pads (JPKI's verbatim mode, `ALG_RSA_PKCS1` Cipher).
    pub fn sign_pkcs1v15(&self, t: &[u8]) -> Result<Vec<u8>, RsaError> {
        if t.len() + 11 > self.size() {
            return Err(RsaError::InputRange);
        }
        self.private(t, Padding::PKCS1)
    }

    /// RSASSA-PSS (RFC 8017 §8.1.1, EMSA-PSS §9.1.1) over the hash `m_hash`, MGF1 with the same
    /// hash, a salt of `salt_len` bytes drawn from `rng`.
    pub fn sign_pss(
        &self,
        rng: &mut impl CryptoRngCore,
        hash: PssHash,
        m_hash: &[u8],
        salt_len: usize,
    ) -> Result<Vec<u8>, RsaError> {
        let mut salt = Zeroizing::new(vec![0u8; salt_len]);
        rng.fill_bytes(&mut salt);
        self.sign_pss_with_salt(hash, m_hash, &salt)
    }

    /// RSASSA-PSS with a given salt (known-answer tests).
    pub fn sign_pss_with_salt(&self, hash: PssHash, m_hash: &[u8], salt: &[u8]) -> Result<Vec<u8>, RsaError> {
        let h_len = hash.output_len();
        if m_hash.len() != h_len {
            return Err(RsaError::InputRange);
        }
        // emBits = modBits − 1; emLen = ⌈emBits/8⌉ (§8.1.1 step 1).
        let em_bits = self.bits() - 1;
        let em_len = em_bits.div_ceil(8);
        if em_len < h_len + salt.len() + 2 {
            return Err(RsaError::InputRange);
        }
        // §9.1.1 steps 5-12: H = Hash(00×8 ‖ mHash ‖ salt); DB = PS ‖ 01 ‖ salt; maskedDB ‖ H ‖ BC.
        let h = hash.hash(&[&[0u8; 8], m_hash, salt]);
        let db_len = em_len - h_len - 1;
        let mut em = Zeroizing::new(vec![0u8; em_len]);
        em[db_len - salt.len() - 1] = 0x01;
        em[db_len - salt.len()..db_len].copy_from_slice(salt);
        hash.mgf1_xor(&h, &mut em[..db_len]);
        em[0] &= 0xFF >> (8 * em_len - em_bits);
        em[db_len..em_len - 1].copy_from_slice(&h);
        em[em_len - 1] = 0xBC;
        // RSASP1 on the k-byte integer (EM is one byte shorter when modBits ≡ 1 mod 8).
        let mut input = Zeroizing::new(vec![0u8; self.size() - em_len]);
        input.extend_from_slice(&em);
        self.raw(&input)
    }

    /// RSAES-PKCS1-v1_5 decryption (RFC 8017 §7.2.2).
    pub fn decrypt_pkcs1v15(&self, c: &[u8]) -> Result<Vec<u8>, RsaError> {
        self.decrypt(c, Padding::PKCS1)
    }

    /// RSAES-OAEP decryption with SHA-1 and MGF1-SHA-1, empty label (RFC 8017 §7.1.2), Java
    /// Card's `ALG_RSA_PKCS1_OAEP`.
    pub fn decrypt_oaep_sha1(&self, c: &[u8]) -> Result<Vec<u8>, RsaError> {
        self.decrypt(c, Padding::PKCS1_OAEP)
    }

    fn decrypt(&self, c: &[u8], padding: Padding) -> Result<Vec<u8>, RsaError> {
        if c.len() != self.size() {
            return Err(RsaError::InputRange);
        }
        let mut out = Zeroizing::new(vec![0u8; self.size()]);
        let len = self.key.private_decrypt(c, &mut out, padding).map_err(|_| RsaError::Decrypt)?;
        Ok(out[..len].to_vec())
    }
}

/// RSADP / RSASP1 (RFC 8017 §5.1.2, §5.2.1) with a private key in its first representation, the
/// pair (n, d) (§3.2; Java Card's `RSAPrivateKey`, which has no primes): `input^d mod n` by
/// OpenSSL's constant-time Montgomery exponentiation (`BN_mod_exp_mont_consttime`, chosen by
/// the exponent's `BN_FLG_CONSTTIME`), `k` bytes big-endian. `input` must be below n.
pub fn raw_exponent(n: &[u8], d: &[u8], input: &[u8], k: usize) -> Result<Vec<u8>, RsaError> {
    let err = |_| RsaError::Backend;
    let (n, c) = (bn_bytes(n)?, bn_bytes(input)?);
    let mut d = bn_bytes(d)?;
    d.set_const_time();
    if !n.is_bit_set(0) || n.num_bits() < 2 {
        return Err(RsaError::InvalidKey);
    }
    if c >= n {
        return Err(RsaError::InputRange);
    }
    let mut ctx = BigNumContext::new_secure().map_err(err)?;
    let mut r = BigNum::new_secure().map_err(err)?;
    r.mod_exp(&c, &d, &n, &mut ctx).map_err(err)?;
    let v = r.to_vec();
    if v.len() > k {
        return Err(RsaError::InputRange);
    }
    let mut out = vec![0u8; k - v.len()];
    out.extend_from_slice(&v);
    Ok(out)
}

/// RSADP / RSASP1 with a private key in its second representation, the CRT quintuple (RFC 8017
/// §3.2; Java Card's `RSAPrivateCrtKey`: P, Q, DP1, DQ1, PQ and nothing else): §5.1.2 step 2.b,
/// m1 = c^dP mod p, m2 = c^dQ mod q, h = (m1 − m2)·qInv mod p, m = m2 + q·h, each exponentiation
/// OpenSSL's constant-time Montgomery one. Unlike [`RsaPrivate::from_crt`] this needs neither e
/// nor d (recovering them costs more than the operation: an applet's key object is used as it
/// stands, call after call). `input` must be below p·q; the result is `k` bytes.
pub fn raw_crt(comps: [&[u8]; 5], input: &[u8], k: usize) -> Result<Vec<u8>, RsaError> {
    let err = |_| RsaError::Backend;
    let [p, q, dp, dq, qinv] = comps;
    let (p, q, qinv, c) = (bn_bytes(p)?, bn_bytes(q)?, bn_bytes(qinv)?, bn_bytes(input)?);
    let (mut dp, mut dq) = (bn_bytes(dp)?, bn_bytes(dq)?);
    dp.set_const_time();
    dq.set_const_time();
    // Montgomery needs odd moduli; primes > 2 are.
    if !p.is_bit_set(0) || !q.is_bit_set(0) || p.num_bits() < 2 || q.num_bits() < 2 {
        return Err(RsaError::InvalidKey);
    }
    let mut ctx = BigNumContext::new_secure().map_err(err)?;
    let new = || BigNum::new_secure().map_err(|_| RsaError::Backend);
    let mut n = new()?;
    n.checked_mul(&p, &q, &mut ctx).map_err(err)?;
    if c >= n {
        return Err(RsaError::InputRange);
    }
    let (mut cp, mut cq, mut m1, mut m2, mut diff, mut h, mut qh, mut m) =
        (new()?, new()?, new()?, new()?, new()?, new()?, new()?, new()?);
    cp.nnmod(&c, &p, &mut ctx).map_err(err)?;
    cq.nnmod(&c, &q, &mut ctx).map_err(err)?;
    m1.mod_exp(&cp, &dp, &p, &mut ctx).map_err(err)?;
    m2.mod_exp(&cq, &dq, &q, &mut ctx).map_err(err)?;
    // (m1 − m2) mod p, then times qInv mod p.
    diff.mod_sub(&m1, &m2, &p, &mut ctx).map_err(err)?;
    h.mod_mul(&diff, &qinv, &p, &mut ctx).map_err(err)?;
    qh.checked_mul(&q, &h, &mut ctx).map_err(err)?;
    m.checked_add(&m2, &qh).map_err(err)?;
    let v = m.to_vec();
    if v.len() > k {
        return Err(RsaError::InputRange);
    }
    let mut out = vec![0u8; k - v.len()];
    out.extend_from_slice(&v);
    Ok(out)
}

/// The private components a key getter may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    P,
    Q,
    Dp,
    Dq,
    Qinv,
    D,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::CardRng;
    use ::rsa::{Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, Pss};

    fn key(seed: u64, bits: usize) -> RsaPrivate {
        RsaPrivate::generate(&mut CardRng::new(Some(seed)), bits, &[1, 0, 1]).unwrap()
    }

    #[test]
    fn seeded_generation_is_reproducible() {
        let (a, b) = (key(5, 1024), key(5, 1024));
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.to_pkcs1_der().unwrap().expose(), b.to_pkcs1_der().unwrap().expose());
        assert_ne!(a.public_key(), key(6, 1024).public_key());
        assert_eq!(a.bits(), 1024);
        assert_eq!(a.size(), 128);
    }

    #[test]
    fn matches_the_rsa_crate() {
        // The rsa crate (an independent implementation) takes the key (its own checks:
        // `validate`) and signs alike; PKCS#1 v1.5 signatures are deterministic, so equal.
        let mut rng = CardRng::new(Some(9));
        let k = key(9, 2048);
        let reference = {
            use ::rsa::pkcs1::DecodeRsaPrivateKey;
            RsaPrivateKey::from_pkcs1_der(k.to_pkcs1_der().unwrap().expose()).unwrap()
        };
        reference.validate().unwrap();
        assert_eq!(k.public_key(), &RsaPublicKey::from(&reference));
        assert_eq!(k.bits(), 2048);
        let t = [0x5A; 51];
        let sig = k.sign_pkcs1v15(&t).unwrap();
        assert_eq!(sig, reference.sign(Pkcs1v15Sign::new_unprefixed(), &t).unwrap());
        k.public_key().verify(Pkcs1v15Sign::new_unprefixed(), &t, &sig).unwrap();
        // Raw: m^d then ^e gives m back.
        let mut m = vec![0u8; 256];
        m[1..].fill(0x33);
        let s = k.raw(&m).unwrap();
        assert_eq!(s.len(), 256);
        let back = BigUint::from_bytes_be(&s).modpow(k.public_key().e(), k.public_key().n());
        assert_eq!(back, BigUint::from_bytes_be(&m));
        // PSS verifies with the rsa crate's verifier (salt 32, SHA-256).
        let h = sha2::Sha256::digest(b"abc");
        let pss = k.sign_pss(&mut rng, PssHash::Sha256, &h, 32).unwrap();
        k.public_key().verify(Pss::new::<sha2::Sha256>(), &h, &pss).unwrap();
        let h1 = sha1::Sha1::digest(b"abc");
        let pss1 = k.sign_pss(&mut rng, PssHash::Sha1, &h1, 20).unwrap();
        k.public_key().verify(Pss::new::<sha1::Sha1>(), &h1, &pss1).unwrap();
        // Decryption of what the rsa crate encrypts.
        let c = k.public_key().encrypt(&mut rng, Pkcs1v15Encrypt, b"secret").unwrap();
        assert_eq!(k.decrypt_pkcs1v15(&c).unwrap(), b"secret");
        let c = k.public_key().encrypt(&mut rng, Oaep::new::<sha1::Sha1>(), b"oaep").unwrap();
        assert_eq!(k.decrypt_oaep_sha1(&c).unwrap(), b"oaep");
        assert_eq!(k.decrypt_pkcs1v15(&[0u8; 256]), Err(RsaError::Decrypt));
        assert_eq!(k.decrypt_pkcs1v15(&[0u8; 255]), Err(RsaError::InputRange));
    }

    #[test]
    fn sizes_and_exponents() {
        let mut rng = CardRng::new(Some(4));
        for (bits, e) in [(512, &[3u8][..]), (1536, &[1, 0, 1][..]), (4096, &[1, 0, 1][..]), (1023, &[0x11][..])] {
            let k = RsaPrivate::generate(&mut rng, bits, e).unwrap();
            assert_eq!(k.bits(), bits);
            assert_eq!(k.public_key().e(), &BigUint::from_bytes_be(e));
            let sig = k.sign_pkcs1v15(b"abc").unwrap();
            k.public_key().verify(Pkcs1v15Sign::new_unprefixed(), b"abc", &sig).unwrap();
        }
        assert_eq!(RsaPrivate::generate(&mut rng, 256, &[1, 0, 1]).unwrap_err(), RsaError::InvalidKey);
        assert_eq!(RsaPrivate::generate(&mut rng, 1024, &[2]).unwrap_err(), RsaError::InvalidKey);
        assert_eq!(RsaPrivate::generate(&mut rng, 1024, &[1]).unwrap_err(), RsaError::InvalidKey);
    }

    #[test]
    fn pss_odd_modulus_length() {
        // modBits ≡ 1 (mod 8): EM is one byte shorter than k (RFC 8017 §8.1.1 step 1).
        let mut rng = CardRng::new(Some(3));
        let k = RsaPrivate::generate(&mut rng, 1025, &[1, 0, 1]).unwrap();
        let h = sha2::Sha256::digest(b"x");
        let sig = k.sign_pss(&mut rng, PssHash::Sha256, &h, 32).unwrap();
        k.public_key().verify(Pss::new::<sha2::Sha256>(), &h, &sig).unwrap();
    }

    #[test]
    fn crt_form_gives_back_the_key() {
        let k = key(11, 1024);
        let c = |w| k.component(w).unwrap();
        let crt = RsaPrivate::from_crt(
            &c(Component::P),
            &c(Component::Q),
            &c(Component::Dp),
            &c(Component::Dq),
            &c(Component::Qinv),
        )
        .unwrap();
        assert_eq!(crt.public_key(), k.public_key());
        assert_eq!(crt.sign_pkcs1v15(b"t").unwrap(), k.sign_pkcs1v15(b"t").unwrap());
        // A DP1 with no inverse modulo p − 1 (even) makes no key.
        assert_eq!(
            RsaPrivate::from_crt(&c(Component::P), &c(Component::Q), &[2], &c(Component::Dq), &c(Component::Qinv))
                .unwrap_err(),
            RsaError::InvalidKey
        );
        assert!(RsaPrivate::from_pkcs1_der(&[0x30, 0x00]).is_err());
        let der = k.to_pkcs1_der().unwrap();
        assert_eq!(RsaPrivate::from_pkcs1_der(der.expose()).unwrap().public_key(), k.public_key());
    }
}
