//! Card-level helpers: the default image, power-cut sweeps, finding key material in an image.

use gpse::apdu::Response;
use gpse::card::{Card, CardImage};
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::store::{Durability, Tearing};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::RsaPrivateKey;
use std::path::Path;

/// The default profile's image, seeded.
pub fn default_image(seed: u64) -> CardImage {
    Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(seed))).unwrap()
}

/// Runs `setup` on a fresh on-disk card, then `apdu` with a power cut at every write step of its
/// commit; after each cut the reopened image must be the before- or the after-image, and the
/// uncut run must answer 9000 and leave the after-image.
pub fn power_cut_everywhere<S>(
    name: &str,
    setup: &dyn Fn(&mut Card) -> S,
    apdu: &dyn Fn(&mut Card, &mut S) -> Response,
) {
    let run = |dir: &Path, cut: Option<u64>| -> (Vec<u8>, Vec<u8>, Option<u64>) {
        let mut card = Card::create(dir, default_image(3), Durability::Fsync, Some(3), false).unwrap();
        let mut s = setup(&mut card);
        let before = card.committed_payload().to_vec();
        card.store_mut().set_tearing(Some(match cut {
            Some(n) => Tearing::cut_after(n),
            None => Tearing::count_only(),
        }));
        let r = apdu(&mut card, &mut s);
        assert!(cut.is_some() || r.sw == gpse::Sw::Ok, "{name}: {r:?}");
        let steps = card.store_mut().tearing().unwrap().steps();
        let after = card.committed_payload().to_vec();
        drop(card);
        let reopened = Card::open(dir, Durability::Fsync, None).unwrap().committed_payload().to_vec();
        assert!(cut.is_some() || reopened == after, "{name}: uncut run must leave the after-image");
        (before, reopened, cut.is_none().then_some(steps))
    };
    let d = tempfile::tempdir().unwrap();
    let (before, after, steps) = run(d.path(), None);
    assert_ne!(before, after, "{name}: the command must change the image");
    let steps = steps.unwrap();
    assert!(steps >= 3, "{name}: {steps} write steps");
    for n in 0..steps {
        let d = tempfile::tempdir().unwrap();
        let (b, got, _) = run(d.path(), Some(n));
        assert!(b == before, "{name}: the setup must be reproducible");
        assert!(got == before || got == after, "{name}: cut at write {n} left a third state");
    }
}

/// The PKCS#1 RSA-2048 private keys held in an applet's saved state
/// (`RSAPrivateKey ::= SEQUENCE { version 0, modulus INTEGER … }`).
pub fn private_keys_in(state: &[u8]) -> Vec<RsaPrivateKey> {
    let mut out = Vec::new();
    for i in 0..state.len().saturating_sub(12) {
        if state[i] == 0x30
            && state[i + 1] == 0x82
            && state[i + 4..i + 11] == [0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01]
        {
            let len = u16::from_be_bytes([state[i + 2], state[i + 3]]) as usize + 4;
            if let Ok(k) = RsaPrivateKey::from_pkcs1_der(&state[i..(i + len).min(state.len())]) {
                out.push(k);
            }
        }
    }
    out
}
