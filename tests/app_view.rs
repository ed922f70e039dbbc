//! Issue #19, points 1-6: `serve --app` is what an app gets through OMAPI on a phone. Each test
//! is an attack on the app's view (`gpse::host::ace::app_view`) over an in-process card shared
//! with reader 0 (the card as the TSMs see it), as `gpse serve --app` shares card 0; each
//! failed before the app got card channels of its own.

// Test code: a failing unwrap is a failing run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gpse::apdu::Command;
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::host::ace::app_view::{AppView, MAX_APP_CHANNELS};
use gpse::host::ca::TestCa;
use gpse::host::jpki::{sha256_digest_info, JpkiClient};
use gpse::host::tsm::sp::{PinDesign, SpSession};
use gpse::platform::profile::{Overrides, Profile};
use gpse::proto::jpki::{Ef, JpkiCommand, PairId, SignScheme};
use gpse::scp03::host::{HostSession, OpenOptions};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::transport::scp::SessionIo;
use gpse::Aid;

/// The default profile's ARA-M rule: this app reaches the JPKI AP, APDU always.
const JPKI_APP: &str = "2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD";
/// An app without a rule.
const OTHER_APP: &str = "0102030405060708090A0B0C0D0E0F1011121314";
const SELECT_JPKI: &str = "00A4040C0AD392F000260100000001";
const SELECT_ISD: &str = "00A4040008A000000151000000";
const JPKI_AID: &[u8] = gpse::applets::jpki::JPKI_AID;
const ISD_AID: &[u8] = &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn up(b: &[u8]) -> String {
    hex::encode_upper(b)
}

fn card() -> Card {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut c = Card::in_memory(img, Some(1)).unwrap();
    c.power_on();
    c
}

fn view(hash: &str) -> AppView {
    AppView::new(vec![h(hash)])
}

/// Reader 0's APDU on the shared card.
fn r0(card: &mut Card, apdu: &str) -> String {
    up(&card.transmit(&h(apdu)))
}

/// The app's APDU through its view.
fn app(v: &mut AppView, card: &mut Card, apdu: &str) -> String {
    up(&v.transmit(card, &h(apdu)).unwrap())
}

fn jpki_cmd(c: JpkiCommand, channel: u8) -> String {
    up(&c.to_command().on_channel(channel).unwrap().to_bytes())
}

fn select_ef(ef: Ef, ch: u8) -> String {
    jpki_cmd(JpkiCommand::SelectEf { fid: ef.fid() }, ch)
}

fn verify(pin: &[u8], ch: u8) -> String {
    jpki_cmd(JpkiCommand::Verify { sfi: None, pin: Some(pin.to_vec()) }, ch)
}

fn sign(ch: u8) -> String {
    jpki_cmd(JpkiCommand::Sign { scheme: SignScheme::Verbatim, sfi: None, data: sha256_digest_info(&[0x5A; 32]) }, ch)
}

fn isd_keys() -> StaticKeys {
    let k = h("404142434445464748494A4B4C4D4E4F");
    StaticKeys::new(&k, &k, &k).unwrap()
}

/// Point 1: the app opens its own card channel; reader 0's selection on channel 0 is never the
/// app's (before: the app's CLA 00 was reader 0's channel 0, so after reader 0 selected the ISD
/// the app's GET DATA answered the CPLC with 9000).
#[test]
fn the_app_never_sees_what_reader_0_selected() {
    let mut card = card();
    let mut v = view(JPKI_APP);
    let cplc = r0(&mut card, "80CA9F7F00");
    assert!(cplc.ends_with("9000") && cplc.len() > 4, "{cplc}");
    assert_eq!(app(&mut v, &mut card, "80CA9F7F00"), "6982", "nothing opened yet");
    assert_eq!(app(&mut v, &mut card, SELECT_JPKI), "9000");
    // Reader 0 selects the ISD on its basic channel again: the app's GET DATA still goes to JPKI.
    assert!(r0(&mut card, SELECT_ISD).ends_with("9000"));
    let got = app(&mut v, &mut card, "80CA9F7F00");
    assert_ne!(got, cplc);
    assert_eq!(got, up(&card.transmit(&h("81CA9F7F00"))), "JPKI's own answer on the app's channel");
    assert!(!got.ends_with("9000"), "{got}");
    // A card logical channel of its own; reader 0's channel 0 keeps the ISD.
    assert_eq!(v.card_channels(), [(0, 1)]);
    let isd = Aid::from_static(ISD_AID);
    assert_eq!(card.selected(0), Some(&isd));
    assert_eq!(card.selected(1), Some(&Aid::from_static(JPKI_AID)));
    // The app's SELECT EF reaches JPKI, not the ISD on channel 0.
    assert_eq!(app(&mut v, &mut card, "00A4020C020006"), "9000");
    assert_eq!(card.selected(0), Some(&isd));
}

/// Point 2: a reset from reader 0 ends the app's channels (before: the view kept the app's
/// selection and sent its APDUs to whatever reader 0 had on that channel after the reset).
#[test]
fn a_card_reset_from_reader_0_ends_the_apps_channels() {
    let mut card = card();
    let mut v = view(JPKI_APP);
    assert_eq!(app(&mut v, &mut card, SELECT_JPKI), "9000");
    assert_eq!(app(&mut v, &mut card, "00A4020C020006"), "9000");
    card.reset();
    // Reader 0 takes channel 1, the one the app had, for the ISD.
    assert_eq!(r0(&mut card, "0070000001"), "019000");
    assert!(r0(&mut card, "01A4040008A000000151000000").ends_with("9000"));
    // The app's channel is gone: nothing it sends reaches reader 0's channel 1 or 0.
    assert_eq!(app(&mut v, &mut card, "00A4020C020006"), "6982");
    assert_eq!(app(&mut v, &mut card, "00B0000004"), "6982");
    assert_eq!(app(&mut v, &mut card, "80CA9F7F00"), "6982");
    assert!(v.card_channels().is_empty());
    assert_eq!(card.selected(1), Some(&Aid::from_static(ISD_AID)));
    // It opens again, on a new card channel, with a fresh JPKI selection (no EF selected).
    assert_eq!(app(&mut v, &mut card, SELECT_JPKI), "9000");
    assert_eq!(v.card_channels(), [(0, 2)]);
    assert_eq!(app(&mut v, &mut card, "00B0000004"), "6986", "no current EF after the reset");
    // A power cycle from reader 0 does the same.
    card.power_off();
    card.power_on();
    assert_eq!(app(&mut v, &mut card, "00A4020C020006"), "6982");
    assert!(v.card_channels().is_empty());
}

/// A reset of the app's own reader closes its card channels and leaves reader 0 alone.
#[test]
fn a_reset_of_the_apps_reader_closes_only_the_apps_channels() {
    let mut card = card();
    let mut v = view(JPKI_APP);
    assert_eq!(r0(&mut card, "0070000001"), "019000");
    assert_eq!(app(&mut v, &mut card, SELECT_JPKI), "9000");
    assert_eq!(app(&mut v, &mut card, "0070000001"), "019000");
    assert_eq!(app(&mut v, &mut card, "01A4040C0AD392F000260100000001"), "9000");
    assert_eq!(v.card_channels(), [(0, 2), (1, 3)]);
    let resets = card.resets();
    v.reset(&mut card).unwrap();
    assert_eq!(card.resets(), resets, "the app's reader never resets the SE");
    assert_eq!(card.open_channels(), [0, 1]);
    assert!(v.card_channels().is_empty());
    assert_eq!(app(&mut v, &mut card, "00A4020C020006"), "6982");
}

/// Point 3: SELECT with P2 other than 00/04/08/0C is refused at the open, as
/// `SecureElementSession.openLogicalChannel` refuses it; on an open channel any SELECT by DF
/// name is `Channel.transmit`'s refusal (before: P2=02 reached the card and selected JPKI or
/// the next matching applet).
#[test]
fn select_next_occurrence_is_refused_as_omapi_refuses_it() {
    let mut card = card();
    let mut v = view(JPKI_APP);
    for p2 in ["02", "01", "03", "0E", "10"] {
        assert_eq!(app(&mut v, &mut card, &format!("00A404{p2}0AD392F000260100000001")), "6982", "P2={p2}");
        assert!(
            v.last_decision().unwrap().reason.contains(&format!("p2 not supported: {}", p2.to_lowercase())),
            "{:?}",
            v.last_decision()
        );
    }
    assert_eq!(card.open_channels(), [0], "nothing reached the card");
    assert!(!card.is_selected_anywhere(&Aid::from_static(JPKI_AID)));
    // AIDs Android's Terminal refuses: 1-4 or more than 16 bytes.
    assert_eq!(app(&mut v, &mut card, "00A4040004D392F000"), "6982");
    assert_eq!(app(&mut v, &mut card, &format!("00A4040011{}", "00".repeat(17))), "6982");
    assert_eq!(card.open_channels(), [0]);
    // Every P2 OMAPI accepts opens a channel.
    for (i, p2) in ["00", "04", "08", "0C"].iter().enumerate() {
        if i > 0 {
            assert_eq!(app(&mut v, &mut card, "0070000001"), format!("{i:02X}9000"));
        }
        let r = app(&mut v, &mut card, &format!("0{i}A404{p2}0AD392F000260100000001"));
        assert!(r.ends_with("9000"), "P2={p2}: {r}");
    }
    assert_eq!(v.card_channels().len(), 4);
    // Next occurrence on an open channel: SELECT by DF name through transmit.
    assert_eq!(app(&mut v, &mut card, "00A404020AD392F000260100000001"), "6982");
    assert!(v.last_decision().unwrap().reason.contains("SELECT by DF name command not allowed"));
    assert_eq!(app(&mut v, &mut card, SELECT_JPKI), "6982");
}

/// Personalises JPKI's authentication pair (PIN 1234, active) over the SP-TSM's session.
fn personalised_card() -> Card {
    let mut card = card();
    let mut rng = CardRng::new(Some(9));
    let mut ca = TestCa::new(&mut rng, "gpse app view test CA").unwrap();
    {
        let mut sp = SpSession::open(&mut card, &isd_keys(), 0, &mut rng).unwrap();
        sp.setup(PairId::Auth, &mut ca, "auth", PinDesign::InitialState, b"0000").unwrap();
        sp.close().unwrap();
    }
    JpkiClient::open(&mut card).unwrap().change_pin(PairId::Auth, b"0000", b"1234").unwrap();
    card.reset();
    card
}

/// Point 4: a PIN verified on one channel lets no other channel sign, whichever reader (before:
/// reader 0's VERIFY on channel 0 was the app's, so the app signed without the PIN).
#[test]
fn a_pin_verified_on_one_channel_never_signs_on_another() {
    let mut card = personalised_card();
    let mut v = view(JPKI_APP);
    assert_eq!(app(&mut v, &mut card, SELECT_JPKI), "9000");
    // Reader 0 verifies on its basic channel.
    assert_eq!(r0(&mut card, SELECT_JPKI), "9000");
    assert_eq!(r0(&mut card, &select_ef(Ef::Pin(PairId::Auth), 0)), "9000");
    assert_eq!(r0(&mut card, &verify(b"1234", 0)), "9000");
    // The app selects the key and signs: its channel's security status is its own.
    assert_eq!(app(&mut v, &mut card, &select_ef(Ef::Key(PairId::Auth), 0)), "9000");
    assert_eq!(app(&mut v, &mut card, &sign(0)), "6982");
    // Reader 0 signs on the channel where it verified (the PIN is right).
    assert_eq!(r0(&mut card, &select_ef(Ef::Key(PairId::Auth), 0)), "9000");
    assert!(r0(&mut card, &sign(0)).ends_with("9000"));

    // The other way round: the app verifies, reader 0's fresh selection cannot sign. (Reader 0
    // selects another application first: re-selecting the JPKI AP keeps its own verified PIN,
    // JICSAP 5.1.3 rule 2, issue #18.)
    assert_eq!(app(&mut v, &mut card, &select_ef(Ef::Pin(PairId::Auth), 0)), "9000");
    assert_eq!(app(&mut v, &mut card, &verify(b"1234", 0)), "9000");
    assert!(r0(&mut card, "00A4040008A000000151000000").ends_with("9000"));
    assert_eq!(r0(&mut card, SELECT_JPKI), "9000");
    assert_eq!(r0(&mut card, &select_ef(Ef::Key(PairId::Auth), 0)), "9000");
    assert_eq!(r0(&mut card, &sign(0)), "6982");
    assert_eq!(app(&mut v, &mut card, &select_ef(Ef::Key(PairId::Auth), 0)), "9000");
    let sig = app(&mut v, &mut card, &sign(0));
    assert!(sig.ends_with("9000") && sig.len() == 2 * 258, "{sig}");

    // On the card alone: channels 1 and 2 of one reader, and a channel closed and reopened.
    assert_eq!(r0(&mut card, "0070000001"), "029000");
    assert_eq!(r0(&mut card, "0070000001"), "039000");
    for ch in [2u8, 3] {
        assert_eq!(r0(&mut card, &format!("0{ch}A4040C0AD392F000260100000001")), "9000");
    }
    assert_eq!(r0(&mut card, &select_ef(Ef::Pin(PairId::Auth), 2)), "9000");
    assert_eq!(r0(&mut card, &verify(b"1234", 2)), "9000");
    assert_eq!(r0(&mut card, &select_ef(Ef::Key(PairId::Auth), 3)), "9000");
    assert_eq!(r0(&mut card, &sign(3)), "6982", "channel 2's PIN is not channel 3's");
    assert_eq!(r0(&mut card, &select_ef(Ef::Key(PairId::Auth), 2)), "9000");
    assert!(r0(&mut card, &sign(2)).ends_with("9000"));
    assert_eq!(r0(&mut card, "02708002"), "9000");
    assert_eq!(r0(&mut card, "0070000001"), "029000");
    assert_eq!(r0(&mut card, "02A4040C0AD392F000260100000001"), "9000");
    assert_eq!(r0(&mut card, &select_ef(Ef::Key(PairId::Auth), 2)), "9000");
    assert_eq!(r0(&mut card, &sign(2)), "6982", "a reopened channel starts unverified");
}

/// Point 5: what OMAPI's `Channel.transmit` refuses (`CommandApduValidator`, CLA `FF`, INS
/// `6x`/`9x`, ISO MANAGE CHANNEL, ISO SELECT by DF name) is refused in the view, never reaches
/// the card and leaves reader 0's secure channel session alive (before: `0000` from the app
/// went to channel 0 and ended reader 0's SCP03 session).
#[test]
fn omapi_transmit_refusals_never_reach_the_card_nor_end_reader_0s_session() {
    let mut card = card();
    let opts =
        OpenOptions { kvn: 0, level: SecurityLevel::C_MAC, host_challenge: Some([3; 8]), channel: 0, s16: false };
    let mut s = HostSession::open(&mut card, &isd_keys(), &opts, &mut CardRng::new(Some(4))).unwrap();
    let get_cplc = Command::new(0x80, 0xCA, 0x9F, 0x7F).with_ne(256);
    assert_eq!(s.transmit(&mut card, &get_cplc).unwrap().sw, gpse::Sw::Ok);
    let mut with_rule = view(JPKI_APP);
    assert_eq!(app(&mut with_rule, &mut card, SELECT_JPKI), "9000");
    let mut without = view(OTHER_APP);
    let before = card.open_channels();
    let refused = [
        // Malformed (CommandApduValidator): IllegalArgumentException.
        "0000",
        "00",
        "00A4",
        "00A4040C05D392F0",
        "80CA9F7F0200",
        // CLA FF, INS 6x / 9x.
        "FFA40000",
        "00600000",
        "809A0000",
        // ISO MANAGE CHANNEL other than the open from the basic channel and the close of an
        // app channel (Android CTS: `00708000` throws SecurityException).
        "00708000",
        "0070000101",
        "00700001",
        "00704000",
        "0470000001",
        "0170000001",
    ];
    for apdu in refused {
        for v in [&mut with_rule, &mut without] {
            assert_eq!(app(v, &mut card, apdu), "6982", "{apdu}");
        }
        assert_eq!(card.open_channels(), before, "{apdu} opened or closed a card channel");
    }
    // On the app's open channel: SELECT by DF name through transmit (CTS's
    // `00A40404104A535231373754657374657220312E30` too).
    for apdu in [SELECT_ISD, "00A40404104A535231373754657374657220312E30", SELECT_JPKI] {
        assert_eq!(app(&mut with_rule, &mut card, apdu), "6982", "{apdu}");
        assert!(with_rule.last_decision().unwrap().reason.contains("SELECT by DF name command not allowed"));
    }
    assert_eq!(card.selected(1), Some(&Aid::from_static(JPKI_AID)));
    // Reader 0's session on channel 0 is alive: the next wrapped command answers.
    let r = s.transmit(&mut card, &get_cplc).unwrap();
    assert_eq!(r.sw, gpse::Sw::Ok, "reader 0's SCP03 session survived every refusal");
    assert_eq!(r.data.len(), 45);
}

/// Point 6: an app holds at most MAX_APP_CHANNELS channels, its basic one included, and a card
/// channel only behind an allowed SELECT; reader 0 keeps the rest (before: an app without a
/// rule opened all 19 logical channels with MANAGE CHANNEL and reader 0 got 6A81).
#[test]
fn an_app_holds_at_most_four_channels_and_never_starves_reader_0() {
    assert_eq!(MAX_APP_CHANNELS, 4);
    let mut card = card();
    let mut without = view(OTHER_APP);
    for i in 1..MAX_APP_CHANNELS {
        assert_eq!(app(&mut without, &mut card, "0070000001"), format!("{i:02X}9000"));
    }
    for _ in 0..20 {
        assert_eq!(app(&mut without, &mut card, "0070000001"), "6A81");
    }
    for ch in 0..MAX_APP_CHANNELS {
        assert_eq!(app(&mut without, &mut card, &format!("0{ch}A4040C0AD392F000260100000001")), "6982");
    }
    assert_eq!(card.open_channels(), [0], "an app without a rule holds no card channel");

    let mut with_rule = view(JPKI_APP);
    assert_eq!(app(&mut with_rule, &mut card, SELECT_JPKI), "9000");
    for ch in 1..MAX_APP_CHANNELS {
        assert_eq!(app(&mut with_rule, &mut card, "0070000001"), format!("{ch:02X}9000"));
        assert_eq!(app(&mut with_rule, &mut card, &format!("0{ch}A4040C0AD392F000260100000001")), "9000");
    }
    assert_eq!(app(&mut with_rule, &mut card, "0070000001"), "6A81");
    assert_eq!(card.open_channels().len(), 1 + MAX_APP_CHANNELS);
    // Reader 0 still opens every other channel of the card (19 - 4 = 15).
    let mut opened = 0;
    while r0(&mut card, "0070000001").ends_with("9000") {
        opened += 1;
    }
    assert_eq!(opened, 19 - MAX_APP_CHANNELS);
    // A channel the app gives back goes to reader 0; with the card full, the app's next open
    // fails and holds nothing more: the ACE cannot open its channel to the ARA-M (Android:
    // `MissingResourceException`, openLogicalChannel returns null).
    assert_eq!(app(&mut with_rule, &mut card, "03708003"), "9000");
    assert_eq!(app(&mut with_rule, &mut card, "03708003"), "6200", "closed already");
    assert_eq!(r0(&mut card, "0070000001").len(), 6);
    assert_eq!(app(&mut with_rule, &mut card, "0070000001"), "039000");
    assert_eq!(app(&mut with_rule, &mut card, "03A4040C0AD392F000260100000001"), "6982");
    let why = &with_rule.last_decision().unwrap().reason;
    assert!(why.contains("could not open a logical channel (MANAGE CHANNEL 6A81"), "{why}");
    assert_eq!(with_rule.card_channels().len(), MAX_APP_CHANNELS - 1);
    assert_eq!(card.open_channels().len(), 20);
}
