#![no_main]
//! `card_transmit` from a rich state: the JPKI applet personalised by the SP-TSM (both pairs:
//! keys generated in the chip, certificates, temporary PINs), an authenticated SCP03 session on
//! the basic channel with the ISD. Then any APDU sequence always gets a status word. Input: a
//! native/scriptor/apdutool script (the seed corpus is the vectors' scripts), else APDUs split
//! on a length prefix.
use gpse::card::{Card, CardImage};
use gpse::crypto::CardRng;
use gpse::host::ca::TestCa;
use gpse::host::tsm::sp::{PinDesign, SpSession};
use gpse::platform::profile::{Overrides, Profile};
use gpse::proto::jpki::PairId;
use gpse::scp03::host::{HostSession, OpenOptions};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::script::{parse_text, Action, Chunk};
use gpse::transport::scp::SessionIo;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keys() -> StaticKeys {
    let k = [0x40u8, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F];
    StaticKeys::new(&k, &k, &k).unwrap()
}

/// The personalised image, made once (RSA key generation is slow).
fn image() -> &'static [u8] {
    static I: OnceLock<Vec<u8>> = OnceLock::new();
    I.get_or_init(|| {
        let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(0))).unwrap();
        let mut card = Card::in_memory(img, Some(0)).unwrap();
        card.power_on();
        let mut rng = CardRng::new(Some(5));
        let mut ca = TestCa::new(&mut rng, "fuzz CA").unwrap();
        let mut s = SpSession::open(&mut card, &keys(), 0, &mut rng).unwrap();
        s.setup(PairId::Auth, &mut ca, "fuzz auth", PinDesign::InitialState, b"1234").unwrap();
        s.setup(PairId::Sign, &mut ca, "fuzz sign", PinDesign::InitialState, b"ABC123").unwrap();
        s.close().unwrap();
        card.committed_payload().to_vec()
    })
}

fn apdus(data: &[u8]) -> Vec<Vec<u8>> {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(steps) = parse_text(std::path::Path::new("/nonexistent/fuzz"), text, None) {
            return steps
                .into_iter()
                .filter_map(|s| match s.action {
                    Action::Apdu { chunks, .. } => Some(
                        chunks.into_iter().flat_map(|c| if let Chunk::Bytes(b) = c { b } else { Vec::new() }).collect(),
                    ),
                    _ => None,
                })
                .collect();
        }
    }
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = (n as usize).min(tail.len());
        out.push(tail[..n].to_vec());
        rest = &tail[n..];
    }
    out
}

// The personalised image is made before fuzzing starts (under ASan the RSA key generations take
// longer than libFuzzer's per-input timeout on a busy machine).
fuzz_target!(init: { image(); }, |data: &[u8]| {
    let mut card = Card::in_memory(CardImage::from_bytes(image()).unwrap(), Some(0)).unwrap();
    card.power_on();
    let opts = OpenOptions { kvn: 0, level: SecurityLevel::from_p1(0x01).unwrap(), host_challenge: Some([9; 8]), channel: 0, s16: false };
    HostSession::open(&mut card, &keys(), &opts, &mut CardRng::new(Some(1))).unwrap();
    for a in apdus(data).iter().take(64) {
        let r = card.transmit(a);
        assert!(r.len() >= 2);
    }
});
