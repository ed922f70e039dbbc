//! The card runtime as a host sees it: power, SELECT, channels, class and instruction checks,
//! persistence. Exact bytes throughout.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::store::Durability;

const ISD_FCI: &str = "6F5D8408A000000151000000A551734B06072A864886FC6B01600B06092A864886FC6B020203630906072A864886FC6B03640B06092A864886FC6B040370650D060B2A864886FC6B0507020000660C060A2B060104012A026E01039F6501FF";
const SELECT_ISD: &str = "00A4040008A000000151000000";
const SELECT_TEST: &str = "00A404000AF0475053455445535401";

fn card() -> Card {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut c = Card::in_memory(img, Some(1)).unwrap();
    c.power_on();
    c
}

fn tx(c: &mut Card, apdu: &str) -> String {
    hex::encode_upper(c.transmit(&hex::decode(apdu).unwrap()))
}

#[test]
fn select_isd_returns_the_real_card_fci() {
    let mut c = card();
    // The FCI real ISDs send (globalplatform.md §B.2), with the SD management data (73).
    assert_eq!(tx(&mut c, SELECT_ISD), format!("{ISD_FCI}9000"));
    // With Le, and the empty-AID form of GPCS §11.9.2.3 / GPP discovery `00A4040000`.
    assert_eq!(tx(&mut c, "00A4040008A00000015100000000"), format!("{ISD_FCI}9000"));
    assert_eq!(tx(&mut c, "00A4040000"), format!("{ISD_FCI}9000"));
    // P2 = 0C: no response data.
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "9000");
}

#[test]
fn partial_and_next_occurrence_selection() {
    let mut c = card();
    // A prefix of the test applet's AID selects it (ISO 7816-4 partial DF name).
    assert_eq!(tx(&mut c, "00A4040005F047505345"), "9000");
    assert_eq!(c.selected(0).unwrap().to_string(), "F0475053455445535401");
    // "Next occurrence" after the only match: nothing more matches, forwarded to the current
    // applet, which (the test applet) refuses the interindustry class.
    assert_eq!(tx(&mut c, "00A4040205F047505345"), "6E00");
    // A prefix shared by the ISD and nothing else.
    assert_eq!(tx(&mut c, "00A4040005A000000151"), format!("{ISD_FCI}9000"));
}

#[test]
fn unknown_aid_and_bad_selects() {
    let mut c = card();
    // Unknown AID with the ISD selected: 6A82 (what OpenSC's 29 probes must see, pcsc.md §12.10).
    for probe in
        ["00A4040007627601FF000000", "00A4040006A00000000101", "00A4040C07A000000116DB0000", "00A4040006D2760001240100"]
    {
        assert_eq!(tx(&mut c, probe), "6A82", "{probe}");
    }
    // P2 with RFU bits or "last occurrence".
    assert_eq!(tx(&mut c, "00A4041008A000000151000000"), "6A86");
    assert_eq!(tx(&mut c, "00A4040108A000000151000000"), "6A86");
    // An AID longer than 16 bytes.
    assert_eq!(tx(&mut c, "00A4040011A0000001510000000000000000000000000000"), "6700");
}

#[test]
fn class_and_instruction_checks() {
    let mut c = card();
    assert_eq!(tx(&mut c, "FFA4040000"), "6E00");
    assert_eq!(tx(&mut c, "20CA9F7F00"), "6E00");
    // INS 6x / 9x are invalid.
    assert_eq!(tx(&mut c, "80600000"), "6D00");
    assert_eq!(tx(&mut c, "80900000"), "6D00");
    // An instruction the ISD does not know.
    assert_eq!(tx(&mut c, "80EE0000"), "6D00");
    // A channel that is not open.
    assert_eq!(tx(&mut c, "01A4040000"), "6881");
    assert_eq!(tx(&mut c, "4FA4040000"), "6881");
    // Malformed APDUs.
    assert_eq!(tx(&mut c, "00"), "6700");
    assert_eq!(tx(&mut c, "00A4040008A0000001"), "6700");
}

#[test]
fn logical_channels_open_select_close() {
    let mut c = card();
    assert_eq!(tx(&mut c, "0070000001"), "019000");
    assert_eq!(tx(&mut c, "0070000001"), "029000");
    // The new channel has the default application (the ISD) selected.
    assert_eq!(c.selected(1).unwrap().to_string(), "A000000151000000");
    // Select the test applet on channel 1 and use it there; channel 0 keeps the ISD.
    assert_eq!(tx(&mut c, "01A404000AF0475053455445535401"), "9000");
    assert_eq!(tx(&mut c, "8101000003AABBCC00"), "AABBCC9000");
    assert_eq!(tx(&mut c, "8001000003AABBCC00"), "6D00");
    // Opening from channel 1 gives the new channel channel 1's applet.
    assert_eq!(tx(&mut c, "0170000001"), "039000");
    assert_eq!(c.selected(3).unwrap().to_string(), "F0475053455445535401");
    // Close 2 from channel 0, and close channel 3 from itself (P2 = 00).
    assert_eq!(tx(&mut c, "00708002"), "9000");
    assert_eq!(tx(&mut c, "03708000"), "9000");
    assert_eq!(c.open_channels(), vec![0, 1]);
    // Closing a closed channel is a warning; the basic channel cannot be closed.
    assert_eq!(tx(&mut c, "00708002"), "6200");
    assert_eq!(tx(&mut c, "00708000"), "6A86");
    // A specific channel.
    assert_eq!(tx(&mut c, "0070001300"), "9000");
    assert_eq!(tx(&mut c, "4F708000"), "9000");
    assert_eq!(tx(&mut c, "0070000700"), "9000");
    assert_eq!(tx(&mut c, "0070000700"), "6A81");
    // Bad P1 and a data field.
    assert_eq!(tx(&mut c, "00704000"), "6A86");
    assert_eq!(tx(&mut c, "007000000101"), "6700");
}

#[test]
fn all_nineteen_channels_then_none_free() {
    let mut c = card();
    for ch in 1..=19u8 {
        assert_eq!(tx(&mut c, "0070000001"), format!("{ch:02X}9000"));
    }
    assert_eq!(tx(&mut c, "0070000001"), "6A81");
    // Channels 4-19 use the further interindustry class.
    assert_eq!(tx(&mut c, "4FA404000AF0475053455445535401"), "9000");
    assert_eq!(tx(&mut c, "CF01000002010200"), "01029000");
}

#[test]
fn power_cycle_clears_volatile_state_and_channels() {
    let mut c = card();
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    assert_eq!(tx(&mut c, "8006000000"), "000000019000");
    assert_eq!(tx(&mut c, "8006000000"), "000000029000");
    assert_eq!(tx(&mut c, "8003000000"), "000000019000");
    assert_eq!(tx(&mut c, "0070000001"), "019000");
    let atr = c.reset();
    assert_eq!(hex::encode_upper(atr), "3B8C800147502D53452D454D554C21211D");
    // Back to the ISD on channel 0, channel 1 closed, volatile counter reset, persistent kept.
    assert_eq!(c.selected(0).unwrap().to_string(), "A000000151000000");
    assert_eq!(c.open_channels(), vec![0]);
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    assert_eq!(tx(&mut c, "8006000000"), "000000019000");
    assert_eq!(tx(&mut c, "8003000000"), "000000029000");
    c.power_off();
    c.power_on();
    assert_eq!(c.selected(0).unwrap().to_string(), "A000000151000000");
}

#[test]
fn extended_length_both_ways() {
    let mut c = card();
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    let data: Vec<u8> = (0..4000u32).map(|i| (i * 7) as u8).collect();
    let mut apdu = vec![0x80, 0x01, 0x00, 0x00, 0x00, 0x0F, 0xA0];
    apdu.extend(&data);
    apdu.extend([0x00, 0x00]);
    let r = c.transmit(&apdu);
    assert_eq!(&r[..4000], &data[..]);
    assert_eq!(&r[4000..], &[0x90, 0x00]);
    let r = c.transmit(&hex::decode("80020FA0000000").unwrap());
    assert_eq!(r.len(), 4002);
    assert_eq!(r[255], 255);
}

#[test]
fn persistent_state_survives_reopen_and_reads_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut c = Card::create(d.path(), img, Durability::NoSync, None, false).unwrap();
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    let before = c.store_mut().commits();
    // Commands that change nothing persistent write nothing.
    assert_eq!(tx(&mut c, "8001000002AAAA"), "AAAA9000");
    assert_eq!(tx(&mut c, "8006000000"), "000000019000");
    assert_eq!(tx(&mut c, "80CA9F7F00"), "6D00");
    assert_eq!(c.store_mut().commits(), before);
    // One that does writes once.
    assert_eq!(tx(&mut c, "8003000000"), "000000019000");
    assert_eq!(c.store_mut().commits(), before + 1);
    drop(c);
    let mut c = Card::open(d.path(), Durability::NoSync, None).unwrap();
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    assert_eq!(tx(&mut c, "8003000000"), "000000029000");
}

/// A full disk at commit (issue #19 point 13): that APDU alone fails with 6581 and is undone;
/// channels, selections and the other instances stay; no partial `card.gpse.new` is left; the
/// next commit works.
#[test]
fn a_failed_commit_fails_one_apdu_and_keeps_the_rest() {
    use gpse::store::Tearing;
    let d = tempfile::tempdir().unwrap();
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut c = Card::create(d.path(), img, Durability::NoSync, None, false).unwrap();
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    assert_eq!(tx(&mut c, "8003000000"), "000000019000");
    // Channel 1 with the ISD, channel 2 with the test applet, a volatile count on channel 2's
    // object... which is the same object: the test applet is one instance.
    assert_eq!(tx(&mut c, "0070000001"), "019000");
    assert_eq!(tx(&mut c, "01A4040008A000000151000000"), ISD_FCI.to_string() + "9000");
    for cut in [0, 1, 2] {
        c.store_mut().set_tearing(Some(Tearing::fail_at(cut)));
        assert_eq!(tx(&mut c, "8003000000"), "6581", "write step {cut} fails");
        c.store_mut().set_tearing(None);
        assert!(!d.path().join("card.gpse.new").exists(), "no partial image after step {cut}");
        // Everything else is as it was: channel 1 still has the ISD, channel 0 the applet.
        assert_eq!(c.open_channels(), vec![0, 1]);
        assert_eq!(tx(&mut c, "81CA9F7F00").len(), 2 * 47);
        assert_eq!(c.selected(0).map(|a| a.to_string()), Some("F0475053455445535401".into()));
    }
    // The counter was not advanced by the failed APDUs; the next commit works.
    assert_eq!(tx(&mut c, "8003000000"), "000000029000");
    drop(c);
    let mut c = Card::open(d.path(), Durability::NoSync, None).unwrap();
    assert_eq!(tx(&mut c, SELECT_TEST), "9000");
    assert_eq!(tx(&mut c, "8003000000"), "000000039000");
}
