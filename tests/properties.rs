//! Property tests: APDU and TLV round trips, arbitrary input never panics the card, and a power
//! cut at every write of a multi-write APDU leaves the before- or the after-image.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::Command;
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::store::{Durability, Tearing};
use gpse::tlv::{Mode, Node};
use proptest::prelude::*;

fn arb_command() -> impl Strategy<Value = Command> {
    (
        any::<[u8; 4]>(),
        prop_oneof![3 => prop::collection::vec(any::<u8>(), 0..300), 1 => prop::collection::vec(any::<u8>(), 0..70000).prop_map(|mut v| { v.truncate(65535); v })],
        prop_oneof![Just(None), (1usize..=65536).prop_map(Some), (1usize..=256).prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(|(h, data, ne, extended)| Command { cla: h[0], ins: h[1], p1: h[2], p2: h[3], data, ne, extended })
}

fn arb_tag(constructed: bool) -> impl Strategy<Value = u32> {
    let cbit = if constructed { 0x20u32 } else { 0 };
    prop_oneof![
        // One byte: not 00, low five bits not 1F.
        (0u32..=0xFF)
            .prop_filter("one-byte tag", |b| b & 0x1F != 0x1F && b & 0xDF != 0)
            .prop_map(move |b| (b & !0x20) | cbit),
        // Two bytes: xx1F yy with yy < 80.
        (0u32..8, 0x1Fu32..0x80).prop_map(move |(cls, b2)| (((cls << 5) & 0xC0 | 0x1F | cbit) << 8) | b2),
        // Three bytes.
        (0u32..4, 0x81u32..0x100, 0u32..0x80)
            .prop_map(move |(cls, b2, b3)| (((cls << 6) | 0x1F | cbit) << 16) | (b2 << 8) | b3),
    ]
}

fn arb_node() -> impl Strategy<Value = Node> {
    let leaf = (arb_tag(false), prop::collection::vec(any::<u8>(), 0..300)).prop_map(|(t, v)| Node::Primitive(t, v));
    leaf.prop_recursive(3, 24, 4, |inner| {
        (arb_tag(true), prop::collection::vec(inner, 0..4)).prop_map(|(t, kids)| Node::Constructed(t, kids))
    })
}

fn default_card() -> Card {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap();
    Card::in_memory(img, Some(3)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn apdu_build_parse_round_trip(c in arb_command()) {
        let wire = c.to_bytes();
        let back = Command::parse(&wire).unwrap();
        prop_assert_eq!((back.cla, back.ins, back.p1, back.p2), (c.cla, c.ins, c.p1, c.p2));
        prop_assert_eq!(&back.data, &c.data);
        prop_assert_eq!(back.ne, c.ne);
        prop_assert_eq!(back.extended, c.needs_extended());
        prop_assert_eq!(back.to_bytes(), wire);
    }

    #[test]
    fn tlv_build_parse_round_trip(nodes in prop::collection::vec(arb_node(), 1..4)) {
        let mut wire = Vec::new();
        for n in &nodes {
            wire.extend(n.to_bytes());
        }
        let back = Node::parse_all(&wire, Mode::Der).unwrap();
        prop_assert_eq!(back, nodes);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_always_answer_a_status(apdus in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..20)) {
        let mut card = default_card();
        card.power_on();
        for a in apdus {
            let r = card.transmit(&a);
            prop_assert!(r.len() >= 2);
        }
    }
}

/// A card on disk whose test applet holds a blob big enough that the image spans several write
/// chunks, so one APDU's commit is many writes.
fn card_with_blob(dir: &std::path::Path) -> Card {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(5))).unwrap();
    let mut c = Card::create(dir, img, Durability::Fsync, Some(5), false).unwrap();
    c.power_on();
    assert_eq!(c.transmit(&hex::decode("00A404000AF0475053455445535401").unwrap()), [0x90, 0x00]);
    let r = c.transmit(&blob_apdu(0x11, 9000));
    assert_eq!(r, [0x90, 0x00]);
    c
}

fn blob_apdu(fill: u8, len: usize) -> Vec<u8> {
    let mut a = vec![0x80, 0x04, 0x00, 0x00, 0x00, (len >> 8) as u8, len as u8];
    a.extend(std::iter::repeat_n(fill, len));
    a
}

#[test]
fn power_cut_at_every_write_of_a_multi_write_apdu() {
    let apdu = blob_apdu(0x22, 12000);
    // The before- and after-images, from an uncut run.
    let d = tempfile::tempdir().unwrap();
    let mut c = card_with_blob(d.path());
    let before = c.committed_payload().to_vec();
    c.store_mut().set_tearing(Some(Tearing::count_only()));
    assert_eq!(c.transmit(&apdu), [0x90, 0x00]);
    let steps = c.store_mut().tearing().unwrap().steps();
    let after = c.committed_payload().to_vec();
    assert_ne!(before, after);
    // create + 4 chunks of ~12 KB + fsync + rename + directory fsync
    assert!(steps >= 6, "only {steps} write steps");
    drop(c);

    let (mut saw_before, mut saw_after) = (0, 0);
    for n in 0..steps {
        let d = tempfile::tempdir().unwrap();
        let mut c = card_with_blob(d.path());
        c.store_mut().set_tearing(Some(Tearing::cut_after(n)));
        let r = c.transmit(&apdu);
        assert_eq!(r, [0x65, 0x81], "cut at step {n} must not report success");
        drop(c);
        let c = Card::open(d.path(), Durability::Fsync, None).unwrap();
        let got = c.committed_payload();
        if got == before.as_slice() {
            saw_before += 1;
        } else if got == after.as_slice() {
            saw_after += 1;
        } else {
            panic!("cut at step {n}: image is neither the before nor the after state");
        }
    }
    // Cuts before the rename leave the old image; the cut of the final directory fsync comes
    // after the rename, so the new one is there.
    assert!(saw_before >= 5 && saw_after >= 1, "before {saw_before}, after {saw_after}");
}

// Issue #18 #11/#14: the Load File, DGI and RSA key-component codecs round-trip and never panic.
proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn dgi_build_parse_round_trip(dgis in prop::collection::vec((any::<u16>(), prop::collection::vec(any::<u8>(), 0..400)), 0..4)) {
        let mut wire = Vec::new();
        for (tag, value) in &dgis {
            gpse::proto::gp::encode_dgi(*tag, value, &mut wire);
        }
        let back: Vec<(u16, Vec<u8>)> =
            gpse::proto::gp::parse_dgis(&wire).unwrap().into_iter().map(|d| (d.tag, d.value.to_vec())).collect();
        prop_assert_eq!(back, dgis);
    }

    #[test]
    fn load_file_build_parse_round_trip(
        daps in prop::collection::vec((prop::collection::vec(any::<u8>(), 5..=16), prop::collection::vec(any::<u8>(), 0..300)), 0..3),
        lfdb in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let daps: Vec<gpse::proto::gp::DapBlock> = daps
            .into_iter()
            .map(|(a, s)| gpse::proto::gp::DapBlock { sd: gpse::Aid::new(&a).unwrap(), signature: s })
            .collect();
        let f = gpse::proto::gp::LoadFile { daps, lfdb: &lfdb };
        let wire = f.encode();
        prop_assert_eq!(gpse::proto::gp::LoadFile::parse(&wire).unwrap(), f);
    }

    #[test]
    fn new_codecs_never_panic(b in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = gpse::proto::gp::LoadFile::parse(&b);
        let _ = gpse::proto::gp::parse_dgis(&b);
        let _ = gpse::scp03::keydata::decode_rsa_public(&b);
        let _ = gpse::scp03::keyset::KeyKind::from_stored(&b);
        let _ = gpse::scp03::keydata::decrypt_data(&[0x40; 16], &b);
    }
}
