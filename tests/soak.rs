//! Soak: set-up → activate → sign → reset → erase, over and over on one card image. The image
//! must not grow from one round to the next, and no byte run of any private key made in an
//! earlier round may be left in it.
//!
//! `GPSE_SOAK_ITERATIONS` sets the rounds (default 30; the closing note's figure uses 200).

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::host::ca::TestCa;
use gpse::host::jpki::{sha256_digest_info, JpkiClient};
use gpse::host::tsm::sp::{PinDesign, SpSession};
use gpse::platform::profile::{Overrides, Profile};
use gpse::proto::jpki::PairId;
use gpse::scp03::StaticKeys;
use gpse::store::Durability;
use rsa::traits::PrivateKeyParts;

mod common;

use common::cards::private_keys_in;

#[test]
fn soak_setup_sign_reset_erase() {
    let rounds: usize = std::env::var("GPSE_SOAK_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let d = tempfile::tempdir().unwrap();
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(9))).unwrap();
    let mut card = Card::create(d.path(), img, Durability::NoSync, Some(9), false).unwrap();
    card.power_on();
    let k = hex::decode("404142434445464748494A4B4C4D4E4F").unwrap();
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    let mut rng = CardRng::new(Some(10));
    let mut ca = TestCa::new(&mut rng, "soak CA").unwrap();
    let jpki = gpse::Aid::from_static(gpse::applets::jpki::JPKI_AID);
    let file = d.path().join("card.gpse");
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    let mut sizes = Vec::new();
    let mut applet_sizes = Vec::new();
    for round in 0..rounds {
        let mut s = SpSession::open(&mut card, &keys, 0, &mut rng).unwrap();
        s.setup(PairId::Auth, &mut ca, "soak", PinDesign::InitialState, b"0000").unwrap();
        s.close().unwrap();
        // Collect this round's key material from the image.
        let state = card.image().instance(&jpki).unwrap().state.clone();
        for key in private_keys_in(&state) {
            secrets.extend(key.primes().iter().map(|p| p.to_bytes_be()));
            secrets.push(key.d().to_bytes_be());
        }
        let mut app = JpkiClient::open(&mut card).unwrap();
        app.change_pin(PairId::Auth, b"0000", b"1234").unwrap();
        app.sign(PairId::Auth, b"1234", &sha256_digest_info(&[round as u8; 32])).unwrap();
        let mut s = SpSession::open(&mut card, &keys, 0, &mut rng).unwrap();
        s.reset_pin(PairId::Auth, b"5678").unwrap();
        s.erase(PairId::Auth).unwrap();
        s.close().unwrap();
        sizes.push(std::fs::metadata(&file).unwrap().len());
        applet_sizes.push(card.image().instance(&jpki).unwrap().state.len());
    }
    let image = std::fs::read(&file).unwrap();
    let leftover = secrets.iter().any(|sec| sec.windows(32).any(|w| image.windows(32).any(|x| x == w)));
    eprintln!(
        "soak: {rounds} rounds, image after each round: min {} max {} bytes, {} key components checked, leftover key bytes: {leftover}",
        sizes.iter().min().unwrap(),
        sizes.iter().max().unwrap(),
        secrets.len()
    );
    assert_eq!(secrets.len(), rounds * 3, "one key per round was found in the image while it existed");
    // The applet's state is back to the same size every round; the whole image may only grow by
    // the varint of the SCP03 sequence counter (two INITIALIZE UPDATEs a round: 1 byte past 127,
    // 2 past 16383; postcard encoding).
    assert!(applet_sizes.windows(2).all(|w| w[0] == w[1]), "the applet's state grew: {applet_sizes:?}");
    let counter_bytes = |n: usize| {
        if n < 128 {
            1
        } else if n < 16384 {
            2
        } else {
            3
        }
    };
    let allowed = (counter_bytes(2 * rounds) - counter_bytes(2)) as u64;
    assert!(sizes.iter().max().unwrap() - sizes[0] <= allowed, "the image grew: {sizes:?}");
    assert!(!leftover, "bytes of an erased private key are still in the image");
}
