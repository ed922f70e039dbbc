//! The ARA-M applet against `applet-spec/ara-m.md`, byte for byte: the GP OMAPI test applet's rule
//! set, pySim's store commands, the carrier-privilege STORE DATA seen in the wild, malformed
//! STORE DATA, the secure-channel requirement, GET ALL + NEXT, the refresh tag, persistence.
//!
//! The applet is driven directly with a hand-made context so STORE DATA can be given a secure
//! channel level; what the runtime adds (SELECT, persistence) goes through `Card`.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::Command;
use gpse::applets::ara_m::{self, ARA_M_AID};
use gpse::card::{Aid, Applet, Card, Ctx};
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::scp03::SecurityStatus;
use gpse::store::Durability;

/// AUTHENTICATED + C_MAC (GPCS T10-1).
const MAC: Option<u8> = Some(0x81);

// The GP OMAPI test ARA applet (`ARAapplet.java`): its three REF-AR-DOs and GET ALL answer.
const GP_R1: &str = "E219E10F4F0BA000000600010001EE05FEC100E306D00100D10100";
const GP_R2: &str = "E250E10F4F0BA000000600010001EE0501C100E33DD0380010010000FFFFFF0010020000FFFFFF0030000000FFFFFF0040000000FFFFFF0050000000FFFFFF00A4000000FFFBFF0070000000FF7FE0D10100";
const GP_R3: &str = "E20EE1044F00C100E306D00101D10101";

// pySim `tests/pySim-shell_test/ara_m/test.script`: the four aram_store_ref_ar_do commands.
const PYSIM_STORES: [&str; 4] = [
    "80E2900036F034E232E11E4F06FFFFFFFFFFAAC114AA6872787654334567840DE535C2BBD5A04F0BAAE310D00100D10100DB080000000000000004",
    "80E2900036F034E232E11E4F06FFFFFFFFFFBBC114AA6872F28B340B2345678905D5C2BBD5A04F0BDDE310D00101D10101DB080000000000000004",
    "80E290003DF03BE239E11E4F06FFFFFFFFFFCCC114A1234567890AAABB1F140DE987657891A04F0BDDE317D008AABBCCDD01020304D10101DB080000000000000004",
    "80E290003FF03DE23BE1184F00C114A1234567890123BB1F140DE987AAA891BBBF0BDDE31FD010AABBCCDD010203041122334405060708D10100DB080000000000000004",
];

// The carrier-privilege rule STORE DATA of `globalplatform.md` §C.6.
const CARRIER_STORE: &str =
    "80E2900033F031E22FE11E4F06FFFFFFFFFFFFC114E46872F28B350B7E1F140DE535C2A8D5804F0BE3E30DD00101DB080000000000000001";

struct H {
    applet: Box<dyn Applet>,
    rng: CardRng,
    aid: Aid,
}

impl H {
    fn with_params(params: &str) -> H {
        let mut rng = CardRng::new(Some(7));
        let applet = (ara_m::MODULE.install)(&hex::decode(params).unwrap(), &mut rng).unwrap();
        H { applet, rng, aid: Aid::from_static(ARA_M_AID) }
    }

    fn new() -> H {
        H::with_params("")
    }

    fn tx_on(&mut self, ch: u8, level: Option<u8>, apdu: &str) -> String {
        let cmd = Command::parse(&hex::decode(apdu.replace(' ', "")).unwrap()).unwrap();
        let mut ctx = Ctx::standalone(ch, &self.aid, &mut self.rng, level_of(level));
        let r = self.applet.process(&mut ctx, &cmd).unwrap_or_else(gpse::Response::status);
        hex::encode_upper(r.to_bytes())
    }

    /// Anyone, basic channel.
    fn tx(&mut self, apdu: &str) -> String {
        self.tx_on(0, None, apdu)
    }

    /// Inside the ISD's SCP03 session (C-MAC).
    fn admin(&mut self, apdu: &str) -> String {
        self.tx_on(0, MAC, apdu)
    }

    fn store(&mut self, ref_ar_do: &str) -> String {
        let f0 = format!("F0{:02X}{ref_ar_do}", ref_ar_do.len() / 2);
        self.admin(&format!("80E29000{:02X}{f0}", f0.len() / 2))
    }

    fn all(&mut self) -> String {
        self.tx("80CAFF4000")
    }

    fn tag(&mut self) -> String {
        self.tx("80CADF2000")
    }
}

#[test]
fn empty_ara_m_answers_ff40_00_and_an_8_byte_tag() {
    let mut h = H::new();
    assert_eq!(h.all(), "FF40009000");
    let t = h.tag();
    assert_eq!((t.len(), &t[..6], &t[22..]), (26, "DF2008", "9000"));
    // The same seed gives the same tag (deterministic card).
    assert_eq!(H::new().tag(), t);
}

#[test]
fn gp_test_applet_rule_set_stored_and_read_back_byte_for_byte() {
    let mut h = H::new();
    // Newest first: store the GP applet's rules last-to-first to read them in its order.
    for r in [GP_R3, GP_R2, GP_R1] {
        assert_eq!(h.store(r), "9000");
    }
    assert_eq!(h.all(), format!("FF407D{GP_R1}{GP_R2}{GP_R3}9000"));
    // The GP applet's GET DATA [Specific] commands and answers.
    assert_eq!(h.tx("80CAFF5011E10F4F0BA000000600010001EE05FEC10000"), "FF5008E306D00100D101009000");
    assert_eq!(
        h.tx("80CAFF5011E10F4F0BA000000600010001EE0501C10000"),
        "FF503FE33DD0380010010000FFFFFF0010020000FFFFFF0030000000FFFFFF0040000000FFFFFF0050000000FFFFFF00A4000000FFFBFF0070000000FF7FE0D101009000"
    );
    // "Others": any other AID falls to the all-AIDs, all-apps rule (case D).
    assert_eq!(h.tx("80CAFF5011E10F4F0BA000000600010001EE0502C10000"), "FF5008E306D00101D101019000");
}

#[test]
fn get_specific_resolution_conflicts_and_empty() {
    let mut h = H::new();
    assert_eq!(h.tx("80CAFF5006E1044F00C10000"), "FF50009000");
    let hash = "2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD";
    h.store(&format!("E229E1224F0AD392F000260100000001C114{hash}E303D00101"));
    // The app's own rule.
    assert_eq!(h.tx(&format!("80CAFF5024E1224F0AD392F000260100000001C114{hash}00")), "FF5005E303D001019000");
    // Another app on that AID: conflict case A, NEVER.
    let other = "99C7BE01D7ABE74E714766154FB78DF4FBB95031";
    assert_eq!(h.tx(&format!("80CAFF5024E1224F0AD392F000260100000001C114{other}00")), "FF5008E306D00100D101009000");
    // Another AID: nothing.
    assert_eq!(h.tx(&format!("80CAFF5024E1224F0AD392F000260100000002C114{hash}00")), "FF50009000");
    // A malformed REF-DO.
    assert_eq!(h.tx("80CAFF5004E1024F0000"), "6A80");
    assert_eq!(h.tx("80CAFF5000"), "6A80");
}

#[test]
fn pysim_store_commands_and_newest_first_order() {
    let mut h = H::new();
    for s in PYSIM_STORES {
        assert_eq!(h.admin(s), "9000", "{s}");
    }
    // pySim's export of this state (`adf_ara-m.script.ok`) lists "", cc, bb, aa: newest first.
    let rules: Vec<String> = PYSIM_STORES.iter().rev().map(|s| s[14..].to_string()).collect();
    assert_eq!(h.all(), format!("FF4081E0{}9000", rules.concat()));
    // aram_delete_all, twice (the restore script runs it on an empty ARA-M too).
    assert_eq!(h.admin("80E2900002F100"), "9000");
    assert_eq!(h.admin("80E2900002F100"), "9000");
    assert_eq!(h.all(), "FF40009000");
}

#[test]
fn carrier_privilege_store_data_seen_in_the_wild() {
    let mut h = H::new();
    assert_eq!(h.admin(CARRIER_STORE), "9000");
    assert_eq!(h.all(), format!("FF4031{}9000", &CARRIER_STORE[14..]));
}

#[test]
fn store_data_needs_the_secure_channel_with_c_mac() {
    let mut h = H::new();
    let tag = h.tag();
    for level in [None, Some(0x80), Some(0x01), Some(0x02)] {
        assert_eq!(h.tx_on(0, level, CARRIER_STORE), "6982", "{level:?}");
        // Checked before P1P2 and data.
        assert_eq!(h.tx_on(0, level, "80E2000001FF"), "6982");
        assert_eq!(h.tx_on(0, level, "80E2900002F100"), "6982");
    }
    assert_eq!((h.all(), h.tag()), ("FF40009000".to_string(), tag.clone()));
    // C-MAC with C-DEC and R-MAC is more than enough.
    assert_eq!(h.tx_on(0, Some(0x93), CARRIER_STORE), "9000");
    assert_ne!(h.tag(), tag);
}

#[test]
fn malformed_store_data_is_refused_and_changes_nothing() {
    let mut h = H::with_params(GP_R3);
    let (rules, tag) = (h.all(), h.tag());
    let cases = [
        // Non-minimal length of F0, of E2, of E1.
        ("80E2900034F08131E22FE11E4F06FFFFFFFFFFFFC114E46872F28B350B7E1F140DE535C2A8D5804F0BE3E30DD00101DB080000000000000001", "6A80"),
        ("80E2900034F032E2812FE11E4F06FFFFFFFFFFFFC114E46872F28B350B7E1F140DE535C2A8D5804F0BE3E30DD00101DB080000000000000001", "6A80"),
        ("80E2900034F032E230E1811E4F06FFFFFFFFFFFFC114E46872F28B350B7E1F140DE535C2A8D5804F0BE3E30DD00101DB080000000000000001", "6A80"),
        // Truncated (F0 says 31, 30 follow) and trailing bytes.
        ("80E2900032F031E22FE11E4F06FFFFFFFFFFFFC114E46872F28B350B7E1F140DE535C2A8D5804F0BE3E30DD00101DB0800000000000000", "6A80"),
        ("80E2900034F031E22FE11E4F06FFFFFFFFFFFFC114E46872F28B350B7E1F140DE535C2A8D5804F0BE3E30DD00101DB08000000000000000100", "6A80"),
        // A REF-AR-DO without the F0 around it; an unknown command DO; a SEAC DO we do not implement.
        ("80E2900031E22FE11E4F06FFFFFFFFFFFFC114E46872F28B350B7E1F140DE535C2A8D5804F0BE3E30DD00101DB080000000000000001", "6A80"),
        ("80E2900002F900", "6A80"),
        ("80E2900004F7024F00", "6981"),
        ("80E2900002F600", "6981"),
        // F0 holding something else, a REF-DO without C1, an AR-DO with nothing we know, a bad D0.
        ("80E2900004F002E100", "6A80"),
        ("80E290000DF00BE209E1024F00E303D00101", "6A80"),
        ("80E290000FF00DE20BE1044F00C100E303850101", "6A80"),
        ("80E290000FF00DE20BE1044F00C100E303D00102", "6A80"),
        // No data at all.
        ("80E29000", "6A80"),
        // P1 P2: not the last block, not BER-TLV, a block number.
        ("80E2100002F100", "6A86"),
        ("80E2000002F100", "6A86"),
        // Encrypted (b7-b6 01, 11) and RFU bits: 6A86; DGI (b5-b4 01): 6A80 (GPCS T11-89).
        ("80E2B00002F100", "6A86"),
        ("80E2F00002F100", "6A86"),
        ("80E2920002F100", "6A86"),
        ("80E2880002F100", "6A80"),
        ("80E2900102F100", "6A86"),
        // The Get commands return data: a case-3 P1 (90) is refused (GPCS §11.11.3.1).
        ("80E2900002F400", "6A86"),
        // Delete of what is not there.
        ("80E290000BF109E1074F05A000000001", "6A80"),
        ("80E2900009F1074F05A000000001", "6A88"),
        ("80E2900004F102C000", "6A88"),
        // Update refresh tag with a value.
        ("80E2900003F20100", "6A80"),
    ];
    for (apdu, sw) in cases {
        assert_eq!(h.admin(apdu), sw, "{apdu}");
        assert_eq!((h.all(), h.tag()), (rules.clone(), tag.clone()), "{apdu} changed the ARA-M");
    }
}

#[test]
fn one_rule_per_ref_do_and_unknown_dos_discarded() {
    let mut h = H::new();
    assert_eq!(h.store(GP_R3), "9000");
    let (rules, tag) = (h.all(), h.tag());
    // The same REF-DO again, with the same or another AR-DO: 6A89, nothing stored.
    assert_eq!(h.store(GP_R3), "6A89");
    assert_eq!(h.store("E20BE1044F00C100E303D00100"), "6A89");
    // The same REF-DO with its children in the other order is the same REF-DO.
    assert_eq!(h.store("E20BE104C1004F00E303D00100"), "6A89");
    assert_eq!((h.all(), h.tag()), (rules, tag.clone()));
    // Unknown DOs inside (one-byte and FFxx/DFxx tags) are dropped: 6382, the rule is stored.
    assert_eq!(h.store("E215E10B4F05A000000001C1008500E306D00101DF0100"), "6382");
    assert_eq!(h.all(), format!("FF4022E210E1094F05A000000001C100E303D00101{GP_R3}9000"));
    assert_ne!(h.tag(), tag);
    // A multi-byte tag Android would misread is refused instead.
    assert_eq!(h.store("E213E1094F05A000000002C100E3069F0100D00101"), "6A80");
}

#[test]
fn deletes_by_aid_ref_do_and_rule() {
    let mut h = H::new();
    for r in [GP_R3, GP_R2, GP_R1] {
        h.store(r);
    }
    let t0 = h.tag();
    // By REF-AR-DO: the AR-DO must match too.
    assert_eq!(h.admin("80E290001DF11BE219E10F4F0BA000000600010001EE05FEC100E306D00101D10100"), "6A88");
    assert_eq!(h.admin(&format!("80E290001DF11B{GP_R1}")), "9000");
    let t1 = h.tag();
    assert_ne!(t1, t0);
    assert_eq!(h.all(), format!("FF4062{GP_R2}{GP_R3}9000"));
    // By REF-DO.
    assert_eq!(h.admin("80E2900013F111E10F4F0BA000000600010001EE0501C100"), "9000");
    assert_eq!(h.all(), format!("FF4010{GP_R3}9000"));
    // By AID (4F 00 = the all-AIDs rule).
    assert_eq!(h.admin("80E2900004F1024F00"), "9000");
    assert_eq!(h.all(), "FF40009000");
    assert_ne!(h.tag(), t1);
}

#[test]
fn refresh_tag_changes_on_every_update_and_only_then() {
    let mut h = H::new();
    let mut seen = vec![h.tag()];
    for apdu in ["80E2900002F200", "80E2900002F100"] {
        assert_eq!(h.admin(apdu), "9000");
        let t = h.tag();
        assert!(!seen.contains(&t), "{apdu}");
        seen.push(t);
    }
    assert_eq!(h.store(GP_R3), "9000");
    let t = h.tag();
    assert!(!seen.contains(&t));
    // Reads, refusals and Get commands leave it alone.
    for apdu in ["80CAFF4000", "80CADF2000", "80E2910002F400", "80E2900002F900"] {
        h.admin(apdu);
        assert_eq!(h.tag(), t, "{apdu}");
    }
}

/// A rule with a 16-byte AID and a SHA-256: 61 bytes.
fn big_rule(n: u8) -> String {
    format!("E23BE1344F10A00000010203040506070809000000{n:02X}C120{}E303D00101", "AB".repeat(32))
}

#[test]
fn get_all_longer_than_one_response_continues_with_next() {
    let mut h = H::new();
    for n in 0..10 {
        assert_eq!(h.store(&big_rule(n)), "9000");
    }
    let whole: String = (0..10).rev().map(big_rule).collect();
    let whole = format!("FF40820262{whole}");
    assert_eq!(whole.len() / 2, 615);
    // Le 10 asks for less than the first block: 6CFF, nothing pending.
    assert_eq!(h.tx("80CAFF4010"), "6CFF");
    assert_eq!(h.tx("80CAFF6000"), "6985");
    let first = h.all();
    assert_eq!(first, format!("{}9000", &whole[..510]));
    // Another channel has its own (no) transfer.
    assert_eq!(h.tx_on(1, None, "81CAFF6000"), "6985");
    assert_eq!(h.tx("80CAFF6000"), format!("{}9000", &whole[510..1020]));
    assert_eq!(h.tx("80CAFF6000"), format!("{}9000", &whole[1020..]));
    assert_eq!(h.tx("80CAFF6000"), "6985");
    // STORE DATA Get-All / Get-Next (P1 91) give the same bytes.
    assert_eq!(h.admin("80E2910002F40000"), first);
    assert_eq!(h.admin("80E2910002F50000"), format!("{}9000", &whole[510..1020]));
    // Deselecting ends a transfer.
    h.all();
    let mut ctx = Ctx::standalone(0, &h.aid, &mut h.rng, SecurityStatus::empty());
    h.applet.deselect(&mut ctx);
    assert_eq!(h.tx("80CAFF6000"), "6985");
    // Command-Get by AID.
    assert_eq!(h.admin("80E2910014F3124F10A0000001020304050607080900000003"), format!("FF403D{}9000", big_rule(3)));
    assert_eq!(h.admin("80E2910004F3024F00"), "6A88");
}

#[test]
fn rule_set_size_is_bounded() {
    let mut h = H::new();
    let mut n = 0u32;
    loop {
        let r = format!("E23BE1344F10A00000010203040506070809{:08X}C120{}E303D00101", n, "CD".repeat(32));
        let sw = h.store(&r);
        if sw != "9000" {
            assert_eq!(sw, "6A84");
            break;
        }
        n += 1;
    }
    assert_eq!(n as usize, ara_m::MAX_RULE_SET / 61);
}

#[test]
fn class_instruction_and_parameters() {
    let mut h = H::with_params(GP_R3);
    assert_eq!(h.tx("00CAFF4000"), "6E00");
    assert_eq!(h.tx("84CAFF4000"), "6E00");
    assert_eq!(h.tx("90CAFF4000"), "6E00");
    assert_eq!(h.tx("80CBFF4000"), "6D00");
    assert_eq!(h.tx("80CAFF4100"), "6A86");
    assert_eq!(h.tx("80CA004F00"), "6A86");
    assert_eq!(h.tx("80CAFF400100"), "6700");
    assert_eq!(h.tx("80CAFF6000"), "6985");
    // Channels 1-3 and 4-19 in the GP class.
    assert_eq!(h.tx_on(3, None, "83CAFF4000"), format!("FF4010{GP_R3}9000"));
    assert_eq!(h.tx_on(19, None, "CFCAFF4000"), format!("FF4010{GP_R3}9000"));
    // A SELECT the runtime forwarded (unknown AID).
    assert_eq!(h.tx("00A4040005A000000001"), "6A82");
    // GET DATA [Config]: our interface version 1.1.0.
    assert_eq!(h.tx("80CADF2107E405E60300000100"), "DF2107E505E6030101009000");
    assert_eq!(h.tx("80CADF2105E403E6010000"), "6A80");
    // Refresh tag with a short Le.
    assert_eq!(h.tx("80CADF2005"), "6C0B");
}

#[test]
fn install_parameters_are_rules_and_are_checked() {
    let mut h = H::with_params(&format!("{GP_R3}{GP_R1}"));
    // Stored in order: the last one given is the newest.
    assert_eq!(h.all(), format!("FF402B{GP_R1}{GP_R3}9000"));
    let mut rng = CardRng::new(Some(1));
    for bad in ["E100", "E20EE1044F00C100E306D00101D1010100", &format!("{GP_R3}{GP_R3}")] {
        assert!((ara_m::MODULE.install)(&hex::decode(bad).unwrap(), &mut rng).is_err(), "{bad}");
    }
}

fn default_card_in(dir: &std::path::Path) -> Card {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap();
    Card::create(dir, img, Durability::Fsync, Some(3), false).unwrap()
}

fn card_tx(c: &mut Card, apdu: &str) -> String {
    hex::encode_upper(c.transmit(&hex::decode(apdu).unwrap()))
}

const JPKI_RULE: &str = "E229E1224F0AD392F000260100000001C1142660FE4D4AEB9AF3A70D607B36422DB913BCCFFDE303D00101";

#[test]
fn default_card_has_the_jpki_rule_and_it_persists() {
    let d = tempfile::tempdir().unwrap();
    let (all, tag) = {
        let mut c = default_card_in(d.path());
        assert_eq!(card_tx(&mut c, "00A4040009A00000015141434C00"), "9000");
        let all = card_tx(&mut c, "80CAFF4000");
        assert_eq!(all, format!("FF402B{JPKI_RULE}9000"));
        // On a logical channel, as Android reads it.
        assert_eq!(card_tx(&mut c, "0070000001"), "019000");
        assert_eq!(card_tx(&mut c, "01A4040009A00000015141434C00"), "9000");
        assert_eq!(card_tx(&mut c, "81CAFF4000"), all);
        (all, card_tx(&mut c, "81CADF2000"))
    };
    let mut c = Card::open(d.path(), Durability::Fsync, None).unwrap();
    card_tx(&mut c, "00A4040009A00000015141434C00");
    assert_eq!(card_tx(&mut c, "80CAFF4000"), all);
    assert_eq!(card_tx(&mut c, "80CADF2000"), tag);
    // Without a secure channel the card refuses updates.
    assert_eq!(card_tx(&mut c, "80E2900002F100"), "6982");
}

#[test]
fn updated_rules_and_tag_live_in_the_card_image() {
    let d = tempfile::tempdir().unwrap();
    let mut img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap();
    let inst = img.instances.iter_mut().find(|i| i.aid.as_bytes() == ARA_M_AID).unwrap();
    // Update the ARA-M as a TSM would, then keep its saved state in the image.
    let mut h = H {
        applet: (ara_m::MODULE.restore)(&inst.state).unwrap(),
        rng: CardRng::new(Some(9)),
        aid: Aid::from_static(ARA_M_AID),
    };
    assert_eq!(h.admin("80E2900002F100"), "9000");
    assert_eq!(h.admin(CARRIER_STORE), "9000");
    let tag = h.tag();
    assert!(h.applet.take_dirty());
    inst.state = h.applet.save();
    Card::create(d.path(), img, Durability::Fsync, None, false).unwrap();
    let mut c = Card::open(d.path(), Durability::Fsync, None).unwrap();
    card_tx(&mut c, "00A4040009A00000015141434C00");
    assert_eq!(card_tx(&mut c, "80CAFF4000"), format!("FF4031{}9000", &CARRIER_STORE[14..]));
    assert_eq!(card_tx(&mut c, "80CADF2000"), tag);
}

/// The Current Security Level the tests write as an optional GPCS T10-1 byte.
fn level_of(l: Option<u8>) -> SecurityStatus {
    SecurityStatus::from_bits_retain(l.unwrap_or(0))
}

/// Issue #18 #5: GPP's `--store-data` sends STORE DATA with P1 `81` (last block, no structure
/// information, case 4), and P1 `80` is its case-3 form; both are valid per GPCS T11-89 and
/// store exactly what P1 `90` stores.
#[test]
fn store_data_p1_80_and_81_as_gpp_sends_them() {
    let mut a = H::new();
    let mut b = H::new();
    assert_eq!(a.admin(CARRIER_STORE), "9000");
    assert_eq!(b.admin(&CARRIER_STORE.replacen("80E290", "80E281", 1)), "9000");
    assert_eq!(a.all(), b.all());
    assert_ne!(b.all(), "FF40009000");
    // Get all through STORE DATA with P1 81 (case 4) answers like 91; with 80 (case 3) 6A86.
    let via_91 = a.admin("80E2910002F400");
    assert!(via_91.starts_with("FF40") && via_91.ends_with("9000"), "{via_91}");
    assert_eq!(b.admin("80E2810002F400"), via_91);
    assert_eq!(b.admin("80E2800002F400"), "6A86");
    // Delete all with P1 80.
    assert_eq!(b.admin("80E2800002F100"), "9000");
    assert_eq!(b.all(), "FF40009000");
}
