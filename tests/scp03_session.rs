//! SCP03 session failures on the default card: each gives its exact SW and leaves no session, so
//! a following wrapped command gets `6982`, GET DATA D3 says `00` and a GP command that needs
//! authentication (`gp::scp::require_authenticated`) gets `6982`. Also: what ends a session.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::{Command, Response};
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile, DEFAULT_PROFILE};
use gpse::scp03::host::{initialize_update_command, HostSession, OpenOptions};
use gpse::scp03::prim::AesKey;
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::sw::Sw;
use gpse::transport::scp::SessionIo;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn sw(r: &[u8]) -> u16 {
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

fn card_with(replace: &[(&str, &str)], ov: Overrides) -> Card {
    let mut text = DEFAULT_PROFILE.to_string();
    for (a, b) in replace {
        assert!(text.contains(a), "{a}");
        text = text.replace(a, b);
    }
    let img = Profile::parse(&text, "test").unwrap().build(&ov, &mut CardRng::new(Some(1))).unwrap();
    let mut c = Card::in_memory(img, Some(1)).unwrap();
    c.power_on();
    c
}

fn default_card() -> Card {
    card_with(&[], Overrides::default())
}

fn keys() -> StaticKeys {
    let k = h("404142434445464748494A4B4C4D4E4F");
    StaticKeys::new(&k, &k, &k).unwrap()
}

const HC: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// IU and EA by hand: returns the host session (confirmed at `level`) and the EA wire bytes.
fn open(card: &mut Card, level: SecurityLevel) -> (HostSession, Vec<u8>) {
    let r = card.transmit(&initialize_update_command(0, 0, &HC).unwrap().to_bytes());
    assert_eq!(sw(&r), 0x9000);
    let (mut s, ea) = HostSession::authenticate(&keys(), 0, &HC, &r[..r.len() - 2], level).unwrap();
    assert_eq!(card.transmit(&ea.to_bytes()), vec![0x90, 0x00]);
    s.confirm(level);
    (s, ea.to_bytes())
}

fn get_kdd() -> Command {
    Command::new(0x80, 0xCA, 0x00, 0xCF).with_ne(256)
}

/// The session on channel 0 is gone: wrapped commands get 6982, D3 says 00, commands needing
/// authentication get 6982, and plain GET DATA still works.
fn assert_closed(card: &mut Card, s: &mut HostSession) {
    let w = s.wrap(&get_kdd()).unwrap();
    if s.level().c_mac() {
        assert_eq!(card.transmit(&w.to_bytes()), vec![0x69, 0x82], "wrapped after failure");
    }
    assert_eq!(current_level(card, 0), 0x00);
    assert_eq!(card.transmit(&h("80CA00D300")), h("D301009000"));
    assert!(!card.session(0).is_some_and(|s| s.is_authenticated()), "no authenticated session");
    assert_eq!(sw(&card.transmit(&h("80CA00CF00"))), 0x9000);
}

#[test]
fn bad_mac_is_6982_and_ends_the_session() {
    for level in [SecurityLevel::C_MAC, SecurityLevel::ALL] {
        let mut card = default_card();
        let (mut s, _) = open(&mut card, level);
        let mut w = s.wrap(&get_kdd()).unwrap().to_bytes();
        let n = w.len();
        w[n - 2] ^= 0x01; // last MAC byte (before Le)
        assert_eq!(card.transmit(&w), vec![0x69, 0x82]);
        assert_closed(&mut card, &mut s);
    }
}

#[test]
fn plain_command_in_a_mac_session_is_6982_and_ends_it() {
    let mut card = default_card();
    let (mut s, _) = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(card.transmit(&h("80CA00CF00")), vec![0x69, 0x82]);
    assert_closed(&mut card, &mut s);
}

#[test]
fn bad_padding_is_6982_and_ends_the_session() {
    let mut card = default_card();
    // The card runs at C-DEC + C-MAC; this host MACs only, so it can send a ciphertext of its
    // choice: AES-CBC of 16 × 00 under the right ICV, which decrypts to a block without `80`.
    let r = card.transmit(&initialize_update_command(0, 0, &HC).unwrap().to_bytes());
    let (mut s, ea) =
        HostSession::authenticate(&keys(), 0, &HC, &r[..r.len() - 2], SecurityLevel::C_DEC_C_MAC).unwrap();
    assert_eq!(card.transmit(&ea.to_bytes()), vec![0x90, 0x00]);
    s.confirm(SecurityLevel::C_MAC);
    let s_enc = AesKey::new(s.session_keys().expose()[0]).unwrap();
    let mut icv = 1u128.to_be_bytes(); // the first command after EA
    s_enc.encrypt_block(&mut icv);
    let mut ct = [0u8; 16];
    s_enc.cbc_encrypt(&icv, &mut ct);
    let w = s.wrap(&Command::new(0x80, 0xCA, 0x00, 0xCF).with_data(ct.to_vec()).with_ne(256)).unwrap();
    assert_eq!(card.transmit(&w.to_bytes()), vec![0x69, 0x82]);
    // And a ciphertext that is not a whole number of blocks.
    let mut card = default_card();
    let r = card.transmit(&initialize_update_command(0, 0, &HC).unwrap().to_bytes());
    let (mut s, ea) =
        HostSession::authenticate(&keys(), 0, &HC, &r[..r.len() - 2], SecurityLevel::C_DEC_C_MAC).unwrap();
    assert_eq!(card.transmit(&ea.to_bytes()), vec![0x90, 0x00]);
    s.confirm(SecurityLevel::C_MAC);
    let w = s.wrap(&Command::new(0x80, 0xCA, 0x00, 0xCF).with_data(vec![0; 15])).unwrap();
    assert_eq!(card.transmit(&w.to_bytes()), vec![0x69, 0x82]);
    s.confirm(SecurityLevel::C_DEC_C_MAC);
    assert_closed(&mut card, &mut s);
}

#[test]
fn wrong_length_is_6982_or_6700_and_ends_the_session() {
    // Shorter than a C-MAC.
    let mut card = default_card();
    let (mut s, _) = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(card.transmit(&h("84CA00CF0401020304")), vec![0x69, 0x82]);
    assert_closed(&mut card, &mut s);
    // Lc disagrees with the bytes: a malformed APDU, 6700, and the session ends too.
    let mut card = default_card();
    let (mut s, _) = open(&mut card, SecurityLevel::C_MAC);
    let mut w = s.wrap(&get_kdd()).unwrap().to_bytes();
    w.truncate(w.len() - 3);
    assert_eq!(card.transmit(&w), vec![0x67, 0x00]);
    assert_closed(&mut card, &mut s);
}

#[test]
fn replayed_command_is_6982_and_ends_the_session() {
    let mut card = default_card();
    let (mut s, _) = open(&mut card, SecurityLevel::C_DEC_C_MAC_R_MAC);
    let w = s.wrap(&get_kdd()).unwrap().to_bytes();
    let r = card.transmit(&w);
    assert_eq!(sw(&r), 0x9000);
    s.unwrap(&Response::parse(&r).unwrap()).unwrap();
    assert_eq!(card.transmit(&w), vec![0x69, 0x82]);
    assert_closed(&mut card, &mut s);
}

#[test]
fn external_authenticate_before_initialize_update_is_6982() {
    let mut card = default_card();
    // An EA made for another card's IU, sent to a card with no pending IU.
    let mut other = default_card();
    let (mut s, ea) = open(&mut other, SecurityLevel::C_MAC);
    assert_eq!(card.transmit(&ea), vec![0x69, 0x82]);
    assert_closed(&mut card, &mut s);
    // A command between IU and EA cancels the pending authentication.
    let mut card = default_card();
    let r = card.transmit(&initialize_update_command(0, 0, &HC).unwrap().to_bytes());
    let (mut s, ea) = HostSession::authenticate(&keys(), 0, &HC, &r[..r.len() - 2], SecurityLevel::C_MAC).unwrap();
    assert_eq!(sw(&card.transmit(&h("80CA00CF00"))), 0x9000);
    assert_eq!(card.transmit(&ea.to_bytes()), vec![0x69, 0x82]);
    s.confirm(SecurityLevel::C_MAC);
    assert_closed(&mut card, &mut s);
}

#[test]
fn external_authenticate_twice_is_6982_and_ends_the_session() {
    for level in [SecurityLevel::NONE, SecurityLevel::ALL] {
        let mut card = default_card();
        let (mut s, ea) = open(&mut card, level);
        assert_eq!(card.transmit(&ea), vec![0x69, 0x82]);
        assert_closed(&mut card, &mut s);
    }
}

#[test]
fn wrong_host_cryptogram_is_6300_and_wrong_ea_mac_6982() {
    let mut card = default_card();
    let r = card.transmit(&initialize_update_command(0, 0, &HC).unwrap().to_bytes());
    let (mut s, ea) = HostSession::authenticate(&keys(), 0, &HC, &r[..r.len() - 2], SecurityLevel::C_MAC).unwrap();
    let good = ea.to_bytes();
    let mut bad = good.clone();
    bad[5] ^= 0x80; // first cryptogram byte
    assert_eq!(card.transmit(&bad), vec![0x63, 0x00]);
    // The failed EA ended the authentication: the right one now is out of sequence.
    assert_eq!(card.transmit(&good), vec![0x69, 0x82]);
    s.confirm(SecurityLevel::C_MAC);
    assert_closed(&mut card, &mut s);
    // Right cryptogram, wrong C-MAC.
    let mut card = default_card();
    let r = card.transmit(&initialize_update_command(0, 0, &HC).unwrap().to_bytes());
    let (mut s, ea) = HostSession::authenticate(&keys(), 0, &HC, &r[..r.len() - 2], SecurityLevel::C_MAC).unwrap();
    let mut bad = ea.to_bytes();
    bad[20] ^= 0x01;
    assert_eq!(card.transmit(&bad), vec![0x69, 0x82]);
    s.confirm(SecurityLevel::C_MAC);
    assert_closed(&mut card, &mut s);
}

#[test]
fn malformed_ea_and_iu() {
    let mut card = default_card();
    let iu = |card: &mut Card| {
        let r = card.transmit(&initialize_update_command(0, 0, &HC).unwrap().to_bytes());
        HostSession::authenticate(&keys(), 0, &HC, &r[..r.len() - 2], SecurityLevel::C_MAC).unwrap().1.to_bytes()
    };
    let mut ea = iu(&mut card);
    ea[3] = 0x01; // P2
    assert_eq!(card.transmit(&ea), vec![0x6A, 0x86]);
    let mut ea = iu(&mut card);
    ea[2] = 0x02; // C-DEC without C-MAC: not a level
    assert_eq!(card.transmit(&ea), vec![0x6A, 0x86]);
    let ea = iu(&mut card);
    assert_eq!(card.transmit(&ea[..ea.len() - 1]), vec![0x67, 0x00]);
    let ea = iu(&mut card);
    let mut short = ea[..ea.len() - 1].to_vec();
    short[4] = 0x0F;
    assert_eq!(card.transmit(&short), vec![0x67, 0x00]);
    // INITIALIZE UPDATE: P2, Lc (S16 is not supported), class.
    assert_eq!(card.transmit(&h("8050000108000102030405060700")), h("6A86"));
    assert_eq!(card.transmit(&h("80500000100001020304050607000102030405060700")), h("6700"));
    assert_eq!(card.transmit(&h("0050000008000102030405060700")), h("6E00"));
    assert_eq!(current_level(&card, 0), 0);
}

#[test]
fn unknown_kvn_is_6a88() {
    let mut card = default_card();
    assert_eq!(card.transmit(&h("8050550008000102030405060700")), h("6A88"));
    // The default key set's own KVN (01) and 00 both work.
    assert_eq!(sw(&card.transmit(&h("8050010008000102030405060700"))), 0x9000);
    assert_eq!(sw(&card.transmit(&h("8050000008000102030405060700"))), 0x9000);
    // The counter moved twice, not for the refused KVN.
    assert_eq!(card.image().isd().keys.as_ref().unwrap().key_sets[0].seq_counter, 2);
}

#[test]
fn counter_at_max_is_6985() {
    let mut card = card_with(&[], Overrides { seq_counter: Some(0xFF_FFFE), ..Overrides::default() });
    let r = card.transmit(&h("8050000008000102030405060700"));
    assert_eq!(sw(&r), 0x9000);
    assert_eq!(&r[29..32], &[0xFF, 0xFF, 0xFF]);
    assert_eq!(card.transmit(&h("8050000008000102030405060700")), h("6985"));
    assert_eq!(card.image().isd().keys.as_ref().unwrap().key_sets[0].seq_counter, 0xFF_FFFF);
    // The committed image holds the counter too (it was persisted with the APDU).
    let img = gpse::CardImage::from_bytes(card.committed_payload()).unwrap();
    assert_eq!(img.isd().keys.as_ref().unwrap().key_sets[0].seq_counter, 0xFF_FFFF);
}

#[test]
fn levels_the_i_parameter_does_not_allow_are_6a86() {
    // i = 10: pseudo-random challenge, no R-MAC.
    let mut card = card_with(&[("scp_i = 0x70", "scp_i = 0x10")], Overrides::default());
    for level in [SecurityLevel::C_MAC_R_MAC, SecurityLevel::C_DEC_C_MAC_R_MAC, SecurityLevel::ALL] {
        let r = card.transmit(&initialize_update_command(0, 0, &HC).unwrap().to_bytes());
        let (_, ea) = HostSession::authenticate(&keys(), 0, &HC, &r[..r.len() - 2], level).unwrap();
        assert_eq!(card.transmit(&ea.to_bytes()), h("6A86"), "{level}");
        assert_eq!(current_level(&card, 0), 0);
    }
    let mut rng = CardRng::new(Some(5));
    let s = HostSession::open(&mut card, &keys(), &OpenOptions::new(SecurityLevel::C_DEC_C_MAC), &mut rng).unwrap();
    assert_eq!(s.info().i, 0x10);
    // i = 30: R-MAC without R-ENC.
    let mut card = card_with(&[("scp_i = 0x70", "scp_i = 0x30")], Overrides::default());
    assert!(HostSession::open(&mut card, &keys(), &OpenOptions::new(SecurityLevel::ALL), &mut rng).is_err());
    assert!(
        HostSession::open(&mut card, &keys(), &OpenOptions::new(SecurityLevel::C_DEC_C_MAC_R_MAC), &mut rng).is_ok()
    );
}

#[test]
fn random_challenge_mode_has_no_counter() {
    // i = 60: random card challenge (card RNG), R-MAC and R-ENC.
    let mut card = card_with(&[("scp_i = 0x70", "scp_i = 0x60")], Overrides::default());
    let a = card.transmit(&h("8050000008000102030405060700"));
    let b = card.transmit(&h("8050000008000102030405060700"));
    assert_eq!((a.len(), b.len()), (31, 31));
    assert_ne!(a[13..21], b[13..21]);
    assert_eq!(card.image().isd().keys.as_ref().unwrap().key_sets[0].seq_counter, 0);
    let mut rng = CardRng::new(Some(5));
    let mut s = HostSession::open(&mut card, &keys(), &OpenOptions::new(SecurityLevel::ALL), &mut rng).unwrap();
    assert_eq!(s.info().seq_counter, None);
    let r = s.transmit(&mut card, &get_kdd()).unwrap();
    assert_eq!(r.data, h("CF0A00112233445566778899"));
}

#[test]
fn select_close_and_reset_end_sessions_and_channels_are_independent() {
    let mut card = default_card();
    let mut rng = CardRng::new(Some(5));
    // Channel 1 with the ISD selected on it (the default application).
    assert_eq!(card.transmit(&h("0070000001")), h("019000"));
    let mut o = OpenOptions::new(SecurityLevel::ALL);
    o.channel = 1;
    let mut s1 = HostSession::open(&mut card, &keys(), &o, &mut rng).unwrap();
    let mut s0 = HostSession::open(&mut card, &keys(), &OpenOptions::new(SecurityLevel::C_MAC), &mut rng).unwrap();
    let c1 = Command::new(0x81, 0xCA, 0x00, 0xCF).with_ne(256);
    assert_eq!(s1.transmit(&mut card, &c1).unwrap().sw, Sw::Ok);
    // SELECT on channel 0 ends channel 0's session only.
    assert_eq!(sw(&card.transmit(&h("00A4040008A000000151000000"))), 0x9000);
    assert_eq!(current_level(&card, 0), 0);
    assert_eq!(current_level(&card, 1), 0xB3);
    assert_closed(&mut card, &mut s0);
    assert_eq!(s1.transmit(&mut card, &c1).unwrap().sw, Sw::Ok);
    // A new INITIALIZE UPDATE on channel 1 ends its session.
    let iu = initialize_update_command(1, 0, &HC).unwrap();
    assert_eq!(sw(&card.transmit(&iu.to_bytes())), 0x9000);
    assert_eq!(current_level(&card, 1), 0);
    // Closing the channel ends it.
    let mut s1 = HostSession::open(&mut card, &keys(), &o, &mut rng).unwrap();
    assert_eq!(current_level(&card, 1), 0xB3);
    assert_eq!(card.transmit(&h("00708001")), h("9000"));
    assert_eq!(card.transmit(&h("0070000001")), h("019000"));
    assert_eq!(current_level(&card, 1), 0);
    let w = s1.wrap(&c1).unwrap();
    assert_eq!(card.transmit(&w.to_bytes()), h("6982"));
    // A reset ends every session.
    let _s0 = HostSession::open(&mut card, &keys(), &OpenOptions::new(SecurityLevel::C_MAC), &mut rng).unwrap();
    card.reset();
    assert_eq!(current_level(&card, 0), 0);
    // Selecting the test applet ends the ISD session on that channel.
    let mut s0 = HostSession::open(&mut card, &keys(), &OpenOptions::new(SecurityLevel::C_MAC), &mut rng).unwrap();
    assert_eq!(sw(&card.transmit(&h("00A404000AF047505345544553540100"))), 0x9000);
    assert_eq!(current_level(&card, 0), 0);
    let w = s0.wrap(&Command::new(0x80, 0x01, 0, 0).with_data(vec![1, 2])).unwrap();
    assert_eq!(card.transmit(&w.to_bytes()), h("6982"));
}

#[test]
fn no_panic_on_garbage_in_a_session() {
    use rand_core::RngCore;
    let mut rng = CardRng::new(Some(77));
    for level in SecurityLevel::LEVELS {
        let mut card = default_card();
        let mut _s = open(&mut card, level).0;
        for n in 0..400 {
            let len = (rng.next_u32() % 40) as usize;
            let mut b = vec![0u8; len];
            rng.fill_bytes(&mut b);
            if len > 0 && n % 2 == 0 {
                b[0] = 0x84;
            }
            let r = card.transmit(&b);
            assert!(r.len() >= 2);
        }
    }
}

/// The Current Security Level byte of a channel (GPCS T10-1), as GET DATA `D3` gives it.
fn current_level(card: &Card, ch: u8) -> u8 {
    card.session(ch).map_or(0, |s| s.security_status().bits())
}

/// Issue #18 #13: BEGIN / END R-MAC SESSION (AmdD §7.1.3-§7.1.4, `globalplatform.md` §A.11).
/// BEGIN `80 7A 10 01 01 00` raises C-DEC + C-MAC (`03`) to `13`, from its own response on
/// (each response R-MAC'd, checked by the host); END `80 78 00 03` answers with the R-MAC as its
/// data and the level goes back to `03`. The refusals are `6985` and the session goes on.
#[test]
fn begin_and_end_r_mac_session() {
    let mut card = default_card();
    let (mut s, _) = open(&mut card, SecurityLevel::C_DEC_C_MAC);
    let gd = Command::new(0x80, 0xCA, 0x00, 0x42).with_ne(256);
    let iin = Response::data(h("420447505345"));
    // END before BEGIN; BEGIN R-MAC + R-ENC is allowed at 03 but first plain R-MAC; bad P2.
    assert_eq!(
        s.transmit(&mut card, &Command::new(0x80, 0x78, 0x00, 0x03).with_ne(256)).unwrap().sw,
        Sw::ConditionsNotSatisfied
    );
    let begin = Command::new(0x80, 0x7A, 0x10, 0x01).with_data(vec![0x00]);
    assert_eq!(
        s.transmit(&mut card, &Command::new(0x80, 0x7A, 0x10, 0x02).with_data(vec![0x00])).unwrap().sw,
        Sw::IncorrectP1P2
    );
    assert_eq!(
        s.transmit(&mut card, &Command::new(0x80, 0x7A, 0x10, 0x01).with_data(vec![0x02, 0xAA])).unwrap().sw,
        Sw::WrongData
    );
    // BEGIN: the host expects the R-MAC on BEGIN's own response and checks it.
    s.confirm(SecurityLevel::C_DEC_C_MAC_R_MAC);
    assert_eq!(s.transmit(&mut card, &begin).unwrap(), Response::ok());
    assert_eq!(s.transmit(&mut card, &gd).unwrap(), iin);
    // BEGIN again (R-MAC already there): 6985 (an error SW carries no R-MAC), session alive.
    assert_eq!(s.transmit(&mut card, &begin).unwrap().sw, Sw::ConditionsNotSatisfied);
    assert_eq!(s.transmit(&mut card, &gd).unwrap(), iin);
    // END: its R-MAC is checked and removed by the host, nothing else in the data.
    assert_eq!(s.transmit(&mut card, &Command::new(0x80, 0x78, 0x00, 0x03).with_ne(256)).unwrap(), Response::ok());
    // Back at 03: a response without R-MAC (the host at 13 would fail on it; at 03 it must
    // see exactly the TLV, no 8 extra bytes).
    s.confirm(SecurityLevel::C_DEC_C_MAC);
    assert_eq!(s.transmit(&mut card, &gd).unwrap(), iin);
    // BEGIN with R-ENC (P1 30) at 03: level 33 from BEGIN's response on.
    s.confirm(SecurityLevel::ALL);
    assert_eq!(
        s.transmit(&mut card, &Command::new(0x80, 0x7A, 0x30, 0x01).with_data(vec![0x00])).unwrap(),
        Response::ok()
    );
    assert_eq!(s.transmit(&mut card, &gd).unwrap(), iin);
    // At C-MAC only, P1 30 (R-ENC without C-DECRYPTION) is refused.
    let (mut s, _) = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(
        s.transmit(&mut card, &Command::new(0x80, 0x7A, 0x30, 0x01).with_data(vec![0x00])).unwrap().sw,
        Sw::ConditionsNotSatisfied
    );
    assert_eq!(s.transmit(&mut card, &gd).unwrap(), iin);
    // Without a session: 6982 (GPCS T11-2: needs a secure channel).
    let mut plain = default_card();
    plain.transmit(&h("00A4040008A000000151000000"));
    assert_eq!(plain.transmit(&h("807A10010100")), h("6982"));
}
