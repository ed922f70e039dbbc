//! RSA-2048 private-key operation, backend by backend (issue #16): the `rsa` crate as the JPKI
//! applet used it (`sign_with_rng`: CRT with blinding), the `rsa` crate without blinding, and
//! `crypto::rsa::RsaPrivate` (OpenSSL); key generation through `RsaPrivate::generate` (seeded).
//!
//! `cargo bench --bench rsa` prints the figures; `-- N` sets the key generation count (default
//! 30). Compare with `openssl speed -seconds 3 rsa2048` on the same machine. Under `cargo test`
//! it runs one of each as a smoke test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::crypto::rsa::RsaPrivate;
use gpse::crypto::CardRng;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use std::time::{Duration, Instant};

mod common;
use common::stats;

fn time(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(if bench { 30 } else { 1 });
    let sigs = if bench { 2000 } else { 1 };
    let mut rng = CardRng::new(Some(1));
    stats(
        "RSA-2048 key generation, RsaPrivate::generate (seeded)",
        time(n, || {
            RsaPrivate::generate(&mut rng, 2048, &[1, 0, 1]).unwrap();
        }),
    );

    let key = RsaPrivate::generate(&mut rng, 2048, &[1, 0, 1]).unwrap();
    let crate_key = {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        RsaPrivateKey::from_pkcs1_der(key.to_pkcs1_der().unwrap().expose()).unwrap()
    };
    // The DigestInfo of a SHA-256 hash, as COMPUTE DIGITAL SIGNATURE gets it.
    let mut t = hex::decode("3031300D060960864801650304020105000420").unwrap();
    t.extend([0xAB; 32]);
    let expect = key.sign_pkcs1v15(&t).unwrap();

    stats(
        "PKCS#1 v1.5 sign, rsa 0.9 sign_with_rng (CRT, blinded)",
        time(sigs, || {
            let s = crate_key.sign_with_rng(&mut rng, Pkcs1v15Sign::new_unprefixed(), &t).unwrap();
            assert_eq!(s, expect);
        }),
    );
    stats(
        "PKCS#1 v1.5 sign, rsa 0.9 sign (CRT, no blinding)",
        time(sigs, || {
            let s = crate_key.sign(Pkcs1v15Sign::new_unprefixed(), &t).unwrap();
            assert_eq!(s, expect);
        }),
    );
    stats(
        "PKCS#1 v1.5 sign, RsaPrivate (OpenSSL, CRT, blinded)",
        time(sigs, || {
            let s = key.sign_pkcs1v15(&t).unwrap();
            assert_eq!(s, expect);
        }),
    );
}
