//! The SEI-TSM updates ARA-M rules over the ISD's SCP03 session opened through the ARA-M on its
//! own channel; Android's ACE then sees the new refresh tag and decides with the new rule.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::{Class, Command};
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::host::ace::{Ace, Refresh};
use gpse::platform::profile::{Overrides, Profile};
use gpse::scp03::host::{HostSession, OpenOptions};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::transport::scp::SessionIo;
use gpse::Sw;

const TEST_HASH: &str = "2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD";
const OTHER_HASH: &str = "0102030405060708090A0B0C0D0E0F1011121314";
const JPKI: &str = "D392F000260100000001";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn sei_tsm_adds_a_rule_over_scp03_and_the_ace_follows_without_restart() {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(4))).unwrap();
    let mut card = Card::in_memory(img, Some(4)).unwrap();
    card.power_on();
    let mut ace = Ace::new();
    assert_eq!(ace.refresh(&mut card).unwrap(), Refresh::Reloaded);
    assert!(ace.check_open(&[h(TEST_HASH)], Some(&h(JPKI))).allowed);
    assert!(!ace.check_open(&[h(OTHER_HASH)], Some(&h(JPKI))).allowed);
    let tag = ace.refresh_tag();

    // STORE DATA without a secure channel is refused.
    let ref_do = format!("4F0A{JPKI}C114{OTHER_HASH}");
    let body = format!("E1{:02X}{ref_do}E303D00101", ref_do.len() / 2);
    let rule = format!("E2{:02X}{body}", body.len() / 2);
    let store = format!("F0{:02X}{rule}", rule.len() / 2);
    let plain = format!("80E29000{:02X}{store}", store.len() / 2);
    assert_eq!(card.transmit(&h("0070000001")), h("019000"));
    assert_eq!(card.transmit(&h("01A4040009A00000015141434C00")), h("9000"));
    assert_eq!(card.transmit(&h(&plain.replacen("80", "81", 1))), h("6982"));
    // Inside the ISD's session, on the ARA-M's channel.
    let k = h("404142434445464748494A4B4C4D4E4F");
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    let opts =
        OpenOptions { kvn: 0, level: SecurityLevel::C_DEC_C_MAC, host_challenge: Some([9; 8]), channel: 1, s16: false };
    let mut s = HostSession::open(&mut card, &keys, &opts, &mut CardRng::new(Some(1))).unwrap();
    let mut cmd = Command::parse(&h(&plain)).unwrap();
    cmd.cla = Class::encode(1, true, false).unwrap();
    assert_eq!(s.transmit(&mut card, &cmd).unwrap().sw, Sw::Ok);
    assert_eq!(card.transmit(&h("00708001")), h("9000"));

    // The ACE re-reads because the refresh tag changed, and allows the second app.
    assert_eq!(ace.refresh(&mut card).unwrap(), Refresh::Reloaded);
    assert_ne!(ace.refresh_tag(), tag);
    assert!(ace.check_open(&[h(OTHER_HASH)], Some(&h(JPKI))).allowed);
    // The first app keeps its own rule (case A for each hash).
    assert!(ace.check_open(&[h(TEST_HASH)], Some(&h(JPKI))).allowed);
    assert!(!ace.check_open(&[h("AA".repeat(20).as_str())], Some(&h(JPKI))).allowed);
}
