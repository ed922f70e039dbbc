//! The card manager, row by row from `applet-spec/isd.md`: exact response bytes of every command,
//! the card and application life cycles, SSDs, PUT KEY, and power cuts at every write of
//! INSTALL, DELETE and PUT KEY.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::{Command, Response};
use gpse::card::{Card, CardImage};
use gpse::crypto::CardRng;
use gpse::gp::cap::{build_applet_cap, AppletCapSpec, CapFile};
use gpse::host::gp::{GpClient, GpError};
use gpse::platform::profile::{Overrides, Profile};
use gpse::scp03::host::{HostSession, OpenOptions};
use gpse::scp03::keydata::{key_component, KeyBlockForm};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::transport::scp::SessionIo;
use gpse::Sw;

mod common;

use common::cards::power_cut_everywhere;

const K: &str = "404142434445464748494A4B4C4D4E4F";
const K30: &str = "303132333435363738393A3B3C3D3E3F";
const FCI: &str = "6F5D8408A000000151000000A551734B06072A864886FC6B01600B06092A864886FC6B020203630906072A864886FC6B03640B06092A864886FC6B040370650D060B2A864886FC6B0507020000660C060A2B060104012A026E01039F6501FF";
const CRD: &str = "734B06072A864886FC6B01600B06092A864886FC6B020203630906072A864886FC6B03640B06092A864886FC6B040370650D060B2A864886FC6B0507020000660C060A2B060104012A026E0103";
const ISD_E3: &str = "E32D4F08A0000001510000009F70010FC5039EFE80CF0140C407A0000001515350CE020100CC08A000000151000000";
const TESTAPP_E3: &str =
    "E32E4F0AF04750534554455354019F700107C503000000C409F04750534554455354CE020100CC08A000000151000000";
const JPKI_E3: &str = "E32B4F0AD392F0002601000000019F700107C503000000C406D392F0002601CE020100CC08A000000151000000";
const ARAM_E3: &str = "E32C4F09A00000015141434C009F700107C503000000C408A00000015141434CCE020100CC08A000000151000000";
const TESTAPP_PKG: &str = "F04750534554455354";
const TESTAPP_MOD: &str = "F0475053455445535401";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn image() -> CardImage {
    Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap()
}

fn card() -> Card {
    let mut c = Card::in_memory(image(), Some(1)).unwrap();
    c.power_on();
    c
}

fn keys(k: &str) -> StaticKeys {
    let k = h(k);
    StaticKeys::new(&k, &k, &k).unwrap()
}

fn open_kvn<'a>(card: &'a mut Card, k: &str, kvn: u8) -> Result<GpClient<'a, Card>, GpError> {
    GpClient::open(card, None, &keys(k), kvn, SecurityLevel::ALL, &mut CardRng::new(Some(9)))
}

fn open(card: &mut Card) -> GpClient<'_, Card> {
    open_kvn(card, K, 0).unwrap()
}

/// A plain command in the session; the plain response in hex.
fn x(c: &mut GpClient<'_, Card>, apdu: &str) -> String {
    let cmd = Command::parse(&h(apdu)).unwrap();
    hex::encode_upper(c.transmit(&cmd).unwrap().to_bytes())
}

/// A command outside any session.
fn tx(c: &mut Card, apdu: &str) -> String {
    hex::encode_upper(c.transmit(&h(apdu)))
}

fn aid(s: &str) -> gpse::Aid {
    s.parse().unwrap()
}

fn cap(package: &str, applet: &str) -> Vec<u8> {
    build_applet_cap(&AppletCapSpec {
        package_name: "t/p".into(),
        package_aid: aid(package),
        version: [1, 1],
        applet_aid: aid(applet),
    })
}

/// `hdr Lc data 00`.
fn apdu_lc(hdr: &str, data: &str) -> String {
    let d = data.replace(' ', "");
    format!("{hdr}{:02X}{d}00", d.len() / 2)
}

fn lv(b: &[u8]) -> String {
    format!("{:02X}{}", b.len(), hex::encode_upper(b))
}

#[test]
fn select_fci_with_management_data() {
    let mut c = card();
    assert_eq!(tx(&mut c, "00A4040008A000000151000000"), format!("{FCI}9000"));
    assert_eq!(tx(&mut c, "00A4040000"), format!("{FCI}9000"));
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "9000");
}

#[test]
fn get_data_rows() {
    let mut c = card();
    assert_eq!(tx(&mut c, "80CA006600"), format!("664D{CRD}9000"));
    // The real card of globalplatform.md §B.3, byte for byte.
    assert_eq!(
        tx(&mut c, "80CA006600"),
        "664D734B06072A864886FC6B01600B06092A864886FC6B020203630906072A864886FC6B03640B06092A864886FC6B040370650D060B2A864886FC6B0507020000660C060A2B060104012A026E01039000"
    );
    assert_eq!(
        tx(&mut c, "80CA00E000"),
        "E012C00401018810C000402018810C00403018810".replace("C000402", "C00402") + "9000"
    );
    assert_eq!(tx(&mut c, "80CA006700"), "6718A0098001038101708201078103FF9E0082031E16008301029000");
    assert_eq!(tx(&mut c, "80CAFF2100"), "FF210A810200038204001000009000");
    assert_eq!(tx(&mut c, "80CA00C100"), "C1030000009000");
    assert_eq!(tx(&mut c, "80CA5F5000"), "6A88");
    assert_eq!(tx(&mut c, "80CA00C200"), "6A88");
}

#[test]
fn every_management_command_needs_a_secure_channel() {
    let mut c = card();
    for apdu in [
        "80F28002024F0000",
        "80E602000300000000",
        "80E800000100",
        "80E400000C4F0AF047505345544553540100",
        "80D8008100",
        "80F0408000",
        "80E2900003420100",
    ] {
        assert_eq!(tx(&mut c, apdu), "6982", "{apdu}");
    }
    // GP commands in the ISO class, unknown INS.
    assert_eq!(tx(&mut c, "00F28002024F0000"), "6E00");
    assert_eq!(tx(&mut c, "80AA000000"), "6D00");
}

#[test]
fn get_status_rows() {
    let mut c = card();
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80F28002024F0000"), format!("{ISD_E3}9000"));
    assert_eq!(x(&mut s, "80F24002024F0000"), format!("{TESTAPP_E3}{JPKI_E3}{ARAM_E3}9000"));
    let elfs = x(&mut s, "80F22002024F0000");
    assert!(
        elfs.starts_with("E31B4F07A00000015153509F700101CE020100CC08A000000151000000E31D4F09F04750534554455354"),
        "{elfs}"
    );
    let with_modules = x(&mut s, "80F21002024F0000");
    assert!(
        with_modules.starts_with("E3254F07A00000015153509F700101CE0201008408A000000151535041CC08"),
        "{with_modules}"
    );
    assert!(with_modules.contains("8408A000000151535041CC08"), "{with_modules}");
    // Legacy format.
    assert_eq!(x(&mut s, "80F28000024F0000"), "08A0000001510000000F9E9000");
    assert_eq!(
        x(&mut s, "80F24000024F0000"),
        "0AF047505345544553540107000AD392F000260100000001070009A00000015141434C0007009000"
    );
    // Search by AID prefix, tag list.
    assert_eq!(x(&mut s, "80F2400207 4F05D392F00026 00"), format!("{JPKI_E3}9000"));
    assert_eq!(x(&mut s, "80F28002074F005C034F9F7000"), "E30E4F08A0000001510000009F70010F9000");
    // Errors.
    assert_eq!(x(&mut s, "80F2400204 4F02 1234 00"), "6A88");
    assert_eq!(x(&mut s, "80F2400200"), "6A80");
    assert_eq!(x(&mut s, "80F2400202 5C00 00"), "6A80");
    assert_eq!(x(&mut s, "80F20102024F0000"), "6A86");
    assert_eq!(x(&mut s, "80F24006024F0000"), "6A86");
    assert_eq!(x(&mut s, "80F28003024F0000"), "6A86");
    assert_eq!(x(&mut s, "80F24003024F0000"), "6A86");
}

#[test]
fn get_status_pages_with_6310() {
    let mut c = card();
    let mut s = open(&mut c);
    for n in 0..8u8 {
        s.install(
            &aid(TESTAPP_PKG),
            &aid(TESTAPP_MOD),
            &aid(&format!("F04750534554455354{n:02X}{n:02X}")),
            &[0],
            &[],
            true,
        )
        .unwrap();
    }
    let first = x(&mut s, "80F24002024F0000");
    assert!(first.ends_with("6310"), "{first}");
    let data = h(&first[..first.len() - 4]);
    assert!(data.len() <= 239);
    // Pages of whole entries until 9000.
    let mut pages = 1;
    loop {
        let rest = x(&mut s, "80F24003024F0000");
        pages += 1;
        assert!(rest.len() / 2 - 2 <= 239, "{rest}");
        if rest.ends_with("9000") {
            break;
        }
        assert!(rest.ends_with("6310"), "{rest}");
    }
    assert!(pages >= 3);
    // Ten entries in all.
    assert_eq!(s.get_status(0x40).unwrap().len(), 11);
    // A "next" after the end: nothing to continue.
    assert_eq!(x(&mut s, "80F24003024F0000"), "6A86");
}

fn install_for_load(elf: &str, sd: &str, hash: &[u8]) -> String {
    format!(
        "80E60200{:02X}{}{}{}0000 00",
        3 + elf.len() / 2 + sd.len() / 2 + hash.len() + 2,
        lv(&h(elf)),
        lv(&h(sd)),
        lv(hash)
    )
    .replace(' ', "")
}

fn install_apdu(p1: u8, elf: &str, module: &str, inst: &str, privs: &str, params: &str) -> String {
    let data = format!("{}{}{}{}{}00", lv(&h(elf)), lv(&h(module)), lv(&h(inst)), lv(&h(privs)), lv(&h(params)));
    format!("80E6{p1:02X}00{:02X}{data}00", data.len() / 2)
}

fn load_blocks(s: &mut GpClient<'_, Card>, file: &[u8]) -> String {
    let blocks: Vec<&[u8]> = file.chunks(200).collect();
    let mut last = String::new();
    for (n, b) in blocks.iter().enumerate() {
        let p1 = if n + 1 == blocks.len() { 0x80 } else { 0 };
        last = x(s, &format!("80E8{p1:02X}{n:02X}{:02X}{}00", b.len(), hex::encode(b)));
        if n + 1 < blocks.len() {
            assert_eq!(last, "009000");
        }
    }
    last
}

#[test]
fn install_for_load_and_load_rows() {
    let mut c = card();
    let mut s = open(&mut c);
    let capfile = cap("F0475053455445535F", "F0475053455445535F01");
    let lfdb = CapFile::parse(&capfile).unwrap().load_file_data_block();
    let file = gpse::tlv::tlv(0xC4, &lfdb);
    // Already in the registry; unknown SD.
    assert_eq!(x(&mut s, &install_for_load(TESTAPP_PKG, "", &[])), "6985");
    assert_eq!(x(&mut s, &install_for_load("F0475053455445535F", "A000000151000001", &[])), "6A88");
    // LOAD without INSTALL [for load].
    assert_eq!(x(&mut s, "80E8800003C4010000"), "6985");
    // Out-of-sequence block: abandoned.
    assert_eq!(x(&mut s, &install_for_load("F0475053455445535F", "", &[])), "009000");
    assert_eq!(x(&mut s, "80E8000103C4010000"), "6A86");
    assert_eq!(x(&mut s, "80E8000003C4010000"), "6985");
    // Wrong hash.
    assert_eq!(x(&mut s, &install_for_load("F0475053455445535F", "", &[0; 32])), "009000");
    assert_eq!(load_blocks(&mut s, &file), "6A80");
    // Package AID not the announced one.
    assert_eq!(x(&mut s, &install_for_load("F0475053455445535E", "", &[])), "009000");
    assert_eq!(load_blocks(&mut s, &file), "6A80");
    // Not a load file.
    assert_eq!(x(&mut s, &install_for_load("F0475053455445535F", "", &[])), "009000");
    assert_eq!(x(&mut s, "80E8800003C101 0000"), "6A80");
    // Right hash, with the SHA-256 of the LFDB: recorded.
    use sha2::Digest;
    let hash = sha2::Sha256::digest(&lfdb);
    assert_eq!(x(&mut s, &install_for_load("F0475053455445535F", "A000000151000000", &hash)), "009000");
    assert_eq!(load_blocks(&mut s, &file), "009000");
    let elf = x(&mut s, "80F210020B 4F09F0475053455445535F 00");
    assert_eq!(elf, "E3294F09F0475053455445535F9F700101CE020101840AF0475053455445535F01CC08A0000001510000009000");
    // Its module has no native code: the JCVM took the package at LOAD and runs its bytecode
    // (`install` registers the instance, `process` returns).
    assert_eq!(
        x(
            &mut s,
            &install_apdu(0x0C, "F0475053455445535F", "F0475053455445535F01", "F0475053455445535F02", "00", "C900")
        ),
        "009000"
    );
    drop(s);
    assert_eq!(tx(&mut c, "00A404000AF0475053455445535F0200"), "9000");
    assert_eq!(tx(&mut c, "80010000"), "9000");
}

#[test]
fn install_rows() {
    let mut c = card();
    let mut s = open(&mut c);
    let new = "F0475053455445535403";
    assert_eq!(x(&mut s, &install_apdu(0x0C, "F0475053455445535F", TESTAPP_MOD, new, "00", "C900")), "6A88");
    assert_eq!(x(&mut s, &install_apdu(0x0C, TESTAPP_PKG, "F0475053455445535499", new, "00", "C900")), "6A88");
    assert_eq!(x(&mut s, &install_apdu(0x0C, TESTAPP_PKG, TESTAPP_MOD, TESTAPP_MOD, "00", "C900")), "6985");
    assert_eq!(x(&mut s, &install_apdu(0x0C, TESTAPP_PKG, TESTAPP_MOD, new, "00", "EF00")), "6A80");
    assert_eq!(x(&mut s, &install_apdu(0x0C, TESTAPP_PKG, TESTAPP_MOD, new, "0000", "C900")), "6A80");
    assert_eq!(x(&mut s, &install_apdu(0x04, TESTAPP_PKG, TESTAPP_MOD, new, "04", "C900")), "6A80");
    assert_eq!(x(&mut s, &install_apdu(0x0C, TESTAPP_PKG, TESTAPP_MOD, new, "80", "C900")), "6A80");
    assert_eq!(x(&mut s, &install_apdu(0x0E, TESTAPP_PKG, TESTAPP_MOD, new, "00", "C900")), "6A86");
    // [for install]: INSTALLED, not selectable; then [for make selectable].
    assert_eq!(x(&mut s, &install_apdu(0x04, TESTAPP_PKG, TESTAPP_MOD, new, "00", "C900")), "009000");
    assert_eq!(
        x(&mut s, "80F240020C4F0AF047505345544553540300"),
        format!("E32E4F0A{new}9F700103C503000000C409F04750534554455354CE020100CC08A0000001510000009000")
    );
    assert_eq!(x(&mut s, &apdu_lc("80E60800", &format!("0000{}010400", lv(&h(new))))), "009000");
    assert_eq!(x(&mut s, &apdu_lc("80E60800", &format!("0000{}010400", lv(&h(new))))), "6985");
    assert_eq!(x(&mut s, &apdu_lc("80E60800", &format!("0000{}0104", lv(&h("F0475053455445535499"))))), "6A88");
    // It got the Card Reset privilege: implicitly selected from now on (CF 01 40).
    assert_eq!(
        x(&mut s, "80F240020C4F0AF047505345544553540300"),
        format!("E3314F0A{new}9F700107C503040000CF0140C409F04750534554455354CE020100CC08A0000001510000009000")
    );
    drop(s);
    c.power_off();
    c.power_on();
    assert_eq!(c.selected(0).unwrap().to_string(), new);
    assert_eq!(tx(&mut c, "8001000002CAFE00"), "CAFE9000");
}

#[test]
fn extradition_registry_update_and_personalization() {
    let mut c = card();
    let mut s = open(&mut c);
    s.create_ssd(&aid("A00000015153504101"), &[0x80, 0x00, 0x00]).unwrap();
    // Extradition of the test applet to the SSD.
    s.extradite(&aid(TESTAPP_MOD), &aid("A00000015153504101")).unwrap();
    assert_eq!(x(&mut s, &apdu_lc("80E61000", "09A0000001515350410100 0AF0475053455445535499000000")), "6A88");
    assert_eq!(x(&mut s, &apdu_lc("80E61000", "08A000000151000001 00 0AF0475053455445535401 000000")), "6A88");
    let e = s.get_status(0x40).unwrap();
    assert_eq!(
        e.iter().find(|e| e.aid.to_string() == TESTAPP_MOD).unwrap().sd.as_ref().unwrap().to_string(),
        "A00000015153504101"
    );
    // Registry update: back to the ISD, privileges 000000 → 020000 (CVM management).
    assert_eq!(
        x(&mut s, &apdu_lc("80E64000", "08A000000151000000 00 0AF0475053455445535401 03020000 00 00")),
        "009000"
    );
    let e = s.get_status(0x40).unwrap();
    let t = e.iter().find(|e| e.aid.to_string() == TESTAPP_MOD).unwrap();
    assert_eq!(t.sd.as_ref().unwrap().to_string(), "A000000151000000");
    assert_eq!(t.privileges, vec![0x02, 0, 0]);
    // Personalization: STORE DATA goes to the application (the test applet keeps it).
    assert_eq!(x(&mut s, &apdu_lc("80E62000", "0000 0AF0475053455445535401 000000")), "009000");
    assert_eq!(x(&mut s, "80E2800003420100"), "9000");
    // After the last block, STORE DATA is the ISD's again.
    assert_eq!(x(&mut s, "80E2800003990100"), "6A88");
    assert_eq!(x(&mut s, &apdu_lc("80E62000", "0000 0AF0475053455445535499 000000")), "6A88");
    assert_eq!(x(&mut s, &apdu_lc("80E62000", "0000 09A00000015153504101 000000")), "6985");
}

#[test]
fn delete_rows() {
    let mut c = card();
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80E400000A4F08A00000015100000000"), "6985");
    assert_eq!(x(&mut s, "80E400000B4F09F0475053455445535400"), "6985");
    assert_eq!(x(&mut s, "80E400000C4F0AF047505345544553549900"), "6A88");
    assert_eq!(x(&mut s, "80E40001 0C4F0AF047505345544553540100"), "6A86");
    assert_eq!(x(&mut s, "80E400000300010000"), "6A80");
    // The SD package has the ISD as instance: never deleted.
    assert_eq!(x(&mut s, "80E4008009 4F07A0000001515350 00"), "6985");
    // Selected on another channel.
    drop(s);
    assert_eq!(tx(&mut c, "0070000001"), "019000");
    assert_eq!(tx(&mut c, "01A404000AF0475053455445535401"), "9000");
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80E400000C4F0AF047505345544553540100"), "6985");
    drop(s);
    assert_eq!(tx(&mut c, "00708001"), "9000");
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80E400000C4F0AF047505345544553540100"), "009000");
    assert_eq!(x(&mut s, "80E400000B4F09F0475053455445535400"), "009000");
    // JPKI with its package in one DELETE [object and related].
    assert_eq!(x(&mut s, "80E4008008 4F06D392F0002601 00"), "009000");
    assert_eq!(x(&mut s, "80F24002024F0000"), format!("{ARAM_E3}9000"));
    drop(s);
    // Left: the ISD, the ARA-M, and their packages.
    assert!(c.image().instances.len() == 2 && c.image().load_files.len() == 2);
}

#[test]
fn put_key_adds_replaces_and_refuses_a_wrong_kcv() {
    let mut c = card();
    let mut s = open(&mut c);
    let k30 = h(K30);
    let kcv = hex::encode_upper(gpse::scp03::kdf::kcv(&k30).unwrap());
    assert_eq!(hex::encode_upper(s.put_key_set(None, 0x30, &k30, &k30, &k30).unwrap()), format!("30{kcv}{kcv}{kcv}"));
    drop(s);
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "9000");
    // The key information template now lists both sets.
    assert_eq!(
        tx(&mut c, "80CA00E000"),
        "E024C00401018810C00402018810C00403018810C00401308810C00402308810C00403308810".to_owned() + "9000"
    );
    // KVN 30 opens SCP03.
    let mut s = open_kvn(&mut c, K30, 0x30).unwrap();
    assert_eq!(s.session().info().kvn, 0x30);
    // Replace KVN 30 by new keys, KVN 30 again (its counter restarts).
    let k31 = h("505152535455565758595A5B5C5D5E5F");
    s.put_key_set(Some(0x30), 0x30, &k31, &k31, &k31).unwrap();
    drop(s);
    assert!(open_kvn(&mut c, K30, 0x30).is_err());
    let mut s = open_kvn(&mut c, "505152535455565758595A5B5C5D5E5F", 0x30).unwrap();
    // Errors.
    assert_eq!(x(&mut s, "80D8008100"), "6A80");
    assert_eq!(x(&mut s, "80D8000100"), "6A80");
    assert_eq!(x(&mut s, "80D8008200"), "6A86");
    let dek = h("505152535455565758595A5B5C5D5E5F");
    let comp = key_component(&dek, &k30, KeyBlockForm::WithLength).unwrap();
    let three = format!("{0}{0}{0}", hex::encode(&comp));
    assert_eq!(x(&mut s, &format!("80D80081{:02X}01{three}00", 1 + comp.len() * 3)), "6A80"); // KVN 01 exists
    assert_eq!(x(&mut s, &format!("80D84481{:02X}44{three}00", 1 + comp.len() * 3)), "6A88"); // no KVN 44
    assert_eq!(x(&mut s, &format!("80D80081{:02X}32{}00", 1 + comp.len(), hex::encode(&comp))), "6A80"); // one key
                                                                                                         // A wrong KCV: 6982, and nothing changes (a card error is not a secure messaging failure:
                                                                                                         // the session goes on).
    let mut bad = comp.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let wrong = format!("{}{}{}", hex::encode(&comp), hex::encode(&comp), hex::encode(&bad));
    let before = s_image(&mut s);
    assert_eq!(x(&mut s, &format!("80D80081{:02X}32{wrong}00", 1 + comp.len() * 3)), "6982");
    assert_eq!(s_image(&mut s), before);
    // Single-key replace of the DEK of KVN 30 (P2 03).
    let dek2 = key_component(&dek, &h(K), KeyBlockForm::Blocks).unwrap();
    assert_eq!(x(&mut s, &format!("80D83003{:02X}30{}00", 1 + dek2.len(), hex::encode(&dek2))), "30504A779000");
    // Delete key set 01, then the last one cannot go.
    assert_eq!(x(&mut s, "80E4000003D2010100"), "009000");
    assert_eq!(x(&mut s, "80E4000003D2013000"), "6985");
    assert_eq!(x(&mut s, "80E4000003D2017700"), "6A88");
}

/// The key information as the card reports it (the image stand-in for "nothing changed").
fn s_image(s: &mut GpClient<'_, Card>) -> Vec<u8> {
    s.get_data(0x00E0).unwrap()
}

#[test]
fn put_key_response_is_kvn_and_kcvs() {
    let mut c = card();
    let mut s = open(&mut c);
    let k = h(K);
    // KCV of 404142…4F is 504A77 (globalplatform.md §A.14 V3).
    assert_eq!(s.put_key_set(None, 0x30, &k, &k, &k).unwrap(), h("30504A77504A77504A77"));
}

#[test]
fn card_life_cycle() {
    let mut c = card();
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80F0800F"), "6985"); // already SECURED
    assert_eq!(x(&mut s, "80F08007"), "6985"); // backwards
    assert_eq!(x(&mut s, "80F08055"), "6A80");
    assert_eq!(x(&mut s, "80F0807F"), "9000");
    assert_eq!(x(&mut s, "80F28002024F0000"), ISD_E3.replace("9F70010F", "9F70017F") + "9000");
    // CARD_LOCKED: no content management; SET STATUS and GET STATUS stay.
    assert_eq!(x(&mut s, &install_apdu(0x0C, TESTAPP_PKG, TESTAPP_MOD, "F0475053455445535403", "00", "C900")), "6985");
    assert_eq!(x(&mut s, "80E400000C4F0AF047505345544553540100"), "6985");
    assert_eq!(x(&mut s, "80E2900003420100"), "6985");
    drop(s);
    // Only the ISD can be selected, with the warning 6283 (GPCS T11-84); a reset selects it.
    // (Selecting the ISD first ends the session, so that the refused SELECT reaches it plain.)
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "6283");
    assert_eq!(tx(&mut c, "00A404000AF0475053455445535401"), "6A82");
    assert_eq!(tx(&mut c, "00A4040008A000000151000000"), format!("{FCI}6283"));
    c.power_off();
    c.power_on();
    assert_eq!(c.selected(0).unwrap().to_string(), "A000000151000000");
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80F0800F"), "9000");
    drop(s);
    assert_eq!(tx(&mut c, "00A404000AF0475053455445535401"), "9000");
    assert_eq!(tx(&mut c, "00A4040008A000000151000000"), format!("{FCI}9000"));
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80F080FF"), "9000");
    drop(s);
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "9000");
    // TERMINATED: GET DATA only.
    assert_eq!(tx(&mut c, "80CA004200"), "4204475053459000");
    assert_eq!(tx(&mut c, "8050000008000102030405060700"), "6985");
    assert_eq!(tx(&mut c, "00A404000AF0475053455445535401"), "6A82");
    c.power_off();
    c.power_on();
    assert_eq!(tx(&mut c, "80CA9F7F00").len(), (3 + 42 + 2) * 2);
}

#[test]
fn pre_issuance_states_go_forward() {
    let mut img = image();
    img.life_cycle = gpse::card::registry::CardLifeCycle::OpReady;
    img.isd_mut().life_cycle = gpse::card::registry::AppLifeCycle::from_byte(0x01);
    let mut c = Card::in_memory(img, Some(1)).unwrap();
    c.power_on();
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80F08007"), "9000");
    assert_eq!(x(&mut s, "80F08001"), "6985");
    assert_eq!(x(&mut s, "80F0807F"), "6985"); // lock only from SECURED
    assert_eq!(x(&mut s, "80F0800F"), "9000");
}

#[test]
fn application_lock_and_unlock() {
    let mut c = card();
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80F040800AF0475053455445535401"), "9000");
    assert_eq!(x(&mut s, "80F040800AF0475053455445535401"), "6985");
    assert!(x(&mut s, "80F240020C4F0AF047505345544553540100").contains("9F700187"));
    assert_eq!(x(&mut s, "80F040800AF0475053455445535499"), "6A88");
    assert_eq!(x(&mut s, "80F0408008A000000151000000"), "6A80");
    assert_eq!(x(&mut s, "80F0608008A000000151000000"), "6A80");
    assert_eq!(x(&mut s, "80F0208008A000000151000000"), "6A86");
    drop(s);
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "9000");
    assert_eq!(tx(&mut c, "00A404000AF0475053455445535401"), "6A82");
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80F040000AF0475053455445535401"), "9000");
    assert_eq!(x(&mut s, "80F040000AF0475053455445535401"), "6985");
    drop(s);
    assert_eq!(tx(&mut c, "00A404000AF0475053455445535401"), "9000");
}

#[test]
fn store_data_to_the_isd() {
    let mut c = card();
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80E290000A 4203112233 4503445566"), "9000");
    assert_eq!(x(&mut s, "80E29000 05 BF3E025C00"), "6A88");
    assert_eq!(x(&mut s, "80E2900002 4201"), "6A80");
    // DGI `4201`, length 0: well formed, not a DGI the ISD has (issue #18 #14).
    assert_eq!(x(&mut s, "80E2880003420100"), "6A88");
    assert_eq!(x(&mut s, "80E2900103420100"), "6A86");
    assert_eq!(s.get_data(0x42).unwrap(), h("4203112233"));
    assert_eq!(s.get_data(0x45).unwrap(), h("4503445566"));
    // Rename the ISD (GPP --rename-isd); an AID in use is refused.
    assert_eq!(x(&mut s, "80E290000C4F0AF0475053455445535401"), "6985");
    assert_eq!(x(&mut s, "80E290000A4F08A000000151000099"), "9000");
    drop(s);
    c.power_off();
    c.power_on();
    assert_eq!(tx(&mut c, "00A4040008A000000151000000"), "6A82");
    let r = tx(&mut c, "00A4040000");
    assert!(r.starts_with("6F5D8408A000000151000099"), "{r}");
    assert_eq!(c.image().load_files[0].sd.to_string(), "A000000151000099");
}

#[test]
fn ssd_with_its_own_keys_and_secure_channel() {
    let mut c = card();
    let ssd = aid("A00000015153504101");
    let mut s = open(&mut c);
    s.create_ssd(&ssd, &[0x80, 0x00, 0x00]).unwrap();
    assert_eq!(
        s.create_ssd(&ssd, &[0x80]).unwrap_err().to_string(),
        "INSTALL [for install]: card answered 6985 (conditions of use not satisfied)"
    );
    let e = s.get_status(0x40).unwrap();
    let ssd_entry = e.iter().find(|e| e.aid == ssd).unwrap();
    assert!(ssd_entry.is_sd());
    assert_eq!(ssd_entry.life_cycle, 0x07);
    // Move the test applet under the SSD: it then uses the SSD's secure channel.
    s.extradite(&aid(TESTAPP_MOD), &ssd).unwrap();
    drop(s);
    let mut s =
        GpClient::open(&mut c, Some(&ssd), &keys(K), 0, SecurityLevel::ALL, &mut CardRng::new(Some(2))).unwrap();
    // Its own key set: PUT KEY there changes only the SSD.
    let k30 = h(K30);
    s.put_key_set(None, 0x30, &k30, &k30, &k30).unwrap();
    assert_eq!(
        x(&mut s, "80CA00E000"),
        "E024C00401018810C00402018810C00403018810C00401308810C00402308810C00403308810".to_owned() + "9000"
    );
    // An SSD without Authorized Management does no content management.
    assert_eq!(x(&mut s, "80E400000C4F0AF047505345544553540100"), "6982");
    assert_eq!(x(&mut s, "80F0800F"), "6982");
    // SD personalized.
    drop(s);
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "9000");
    assert_eq!(tx(&mut c, "80CA00E000"), "E012C00401018810C00402018810C00403018810".to_owned() + "9000");
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80F040 0F 09A00000015153504101"), "9000");
    // The SSD still has an application: DELETE refused.
    assert_eq!(x(&mut s, "80E400000B4F09A0000001515350410100"), "6985");
    drop(s);
    // The test applet opens SCP03 with the SSD's key set 30.
    assert_eq!(tx(&mut c, "00A404000AF0475053455445535401"), "9000");
    let opts = gpse::scp03::host::OpenOptions {
        kvn: 0x30,
        level: SecurityLevel::C_MAC,
        host_challenge: None,
        channel: 0,
        s16: false,
    };
    let mut hs = gpse::scp03::host::HostSession::open(&mut c, &keys(K30), &opts, &mut CardRng::new(Some(4))).unwrap();
    let r = hs.transmit(&mut c, &Command::new(0x80, 0x01, 0, 0).with_data(vec![0xAB])).unwrap();
    assert_eq!(r, Response::data(vec![0xAB]));
    let mut s = open(&mut c);
    s.extradite(&aid(TESTAPP_MOD), &aid("A000000151000000")).unwrap();
    s.delete(&ssd, false).unwrap();
}

/// The ISD's session at C-MAC on the basic channel, for the power-cut sweeps.
fn isd_session(card: &mut Card) -> HostSession {
    card.power_on();
    let opts =
        OpenOptions { kvn: 0, level: SecurityLevel::C_MAC, host_challenge: Some([7; 8]), channel: 0, s16: false };
    HostSession::open(card, &keys(K), &opts, &mut CardRng::new(Some(5))).unwrap()
}

fn wrapped(card: &mut Card, s: &mut HostSession, apdu: &str) -> Response {
    s.transmit(card, &Command::parse(&h(apdu)).unwrap()).unwrap_or_else(|_| Response::status(Sw::MemoryFailure))
}

#[test]
fn power_cuts_in_install_delete_and_put_key() {
    power_cut_everywhere("INSTALL", &isd_session, &|c, s| {
        wrapped(c, s, &install_apdu(0x0C, TESTAPP_PKG, TESTAPP_MOD, "F0475053455445535402", "00", "C900"))
    });
    power_cut_everywhere("DELETE", &isd_session, &|c, s| wrapped(c, s, "80E40080084F06D392F000260100"));
    let comp = hex::encode(key_component(&h(K), &h(K30), KeyBlockForm::WithLength).unwrap());
    power_cut_everywhere("PUT KEY", &isd_session, &|c, s| {
        wrapped(c, s, &format!("80D80081{:02X}30{comp}{comp}{comp}00", 1 + comp.len() * 3 / 2))
    });
}

/// Issue #18 #1: GET STATUS received by an SSD without the Global Registry privilege: P1 `80` is
/// the ISD's or a Global Registry SD's only (GPCS §11.4.2.1: `6A86`), and the search covers the
/// SSD's associated entities only (§11.4.2.3). With Global Registry the whole registry answers.
#[test]
fn get_status_scope_of_an_ssd() {
    let mut c = card();
    let ssd = aid("A00000015153504101");
    let gr = aid("A00000015153504102");
    let mut s = open(&mut c);
    s.create_ssd(&ssd, &[0x80, 0x00, 0x00]).unwrap();
    s.create_ssd(&gr, &[0x80, 0x04, 0x00]).unwrap();
    s.extradite(&aid(TESTAPP_MOD), &ssd).unwrap();
    drop(s);
    let mut s =
        GpClient::open(&mut c, Some(&ssd), &keys(K), 0, SecurityLevel::ALL, &mut CardRng::new(Some(2))).unwrap();
    assert_eq!(x(&mut s, "80F28002024F0000"), "6A86");
    assert_eq!(x(&mut s, "80F28000024F0000"), "6A86");
    // Only the test applet is associated with the SSD: its entry, with CC = the SSD.
    let mine = TESTAPP_E3.replace("E32E", "E32F").replace("CC08A000000151000000", "CC09A00000015153504101");
    assert_eq!(x(&mut s, "80F24002024F0000"), format!("{mine}9000"));
    // The load files are the ISD's: nothing found.
    assert_eq!(x(&mut s, "80F22002024F0000"), "6A88");
    drop(s);
    // The SD with Global Registry (byte 2 b3, `04`) sees the ISD and everything.
    let mut s = GpClient::open(&mut c, Some(&gr), &keys(K), 0, SecurityLevel::ALL, &mut CardRng::new(Some(2))).unwrap();
    assert_eq!(x(&mut s, "80F28002024F0000"), format!("{ISD_E3}9000"));
    let all = x(&mut s, "80F24002024F0000");
    assert!(all.contains(&mine) && all.contains(JPKI_E3) && all.contains(ARAM_E3), "{all}");
}

/// The sequence counter of KVN 01 as GET DATA `C1` reports it.
fn counter(s: &mut GpClient<'_, Card>) -> String {
    x(s, "80CA00C100")
}

/// Issue #18 #2 and #3: one key replaced keeps the key set's SCP03 counter (AmdD §6.2.2.1 resets
/// it only when a whole key set is created or replaced); "add a single new key" (PUT KEY P1 `00`,
/// P2 `01`-`03`, GPCS §11.8.1, T11-65/66) is accepted, and keys 1-3 of one version put one by
/// one make a key set that opens SCP03.
#[test]
fn put_key_single_keys_and_the_sequence_counter() {
    let mut c = card();
    let mut s = open(&mut c);
    assert_eq!(counter(&mut s), "C1030000019000");
    let dek = h(K);
    // Key 3 (DEK) of KVN 01 replaced by itself: `01 KCV`, counter kept.
    let comp = hex::encode_upper(key_component(&dek, &h(K), KeyBlockForm::WithLength).unwrap());
    assert_eq!(x(&mut s, &apdu_lc("80D80103", &format!("01{comp}"))), "01504A779000");
    assert_eq!(counter(&mut s), "C1030000019000");
    drop(s);
    let mut s = open(&mut c);
    assert_eq!(counter(&mut s), "C103000002900".to_owned() + "0");
    // The whole set replaced: counter back to 0.
    let k = h(K);
    s.put_key_set(Some(0x01), 0x01, &k, &k, &k).unwrap();
    assert_eq!(counter(&mut s), "C1030000009000");
    // Single new keys of KVN 40, one by one: each answers `40 KCV`.
    let k30 = h(K30);
    let kcv30 = hex::encode_upper(gpse::scp03::kdf::kcv(&k30).unwrap());
    let one = hex::encode_upper(key_component(&dek, &k30, KeyBlockForm::WithLength).unwrap());
    assert_eq!(x(&mut s, &apdu_lc("80D80001", &format!("40{one}"))), format!("40{kcv30}9000"));
    // Listed in the key information template after the whole sets.
    assert_eq!(x(&mut s, "80CA00E000"), "E018C00401018810C00402018810C00403018810C00401408810".to_owned() + "9000");
    // The same key again, or a key a whole set has: 6A80; key 4: 6A86.
    assert_eq!(x(&mut s, &apdu_lc("80D80001", &format!("40{one}"))), "6A80");
    assert_eq!(x(&mut s, &apdu_lc("80D80001", &format!("01{one}"))), "6A80");
    assert_eq!(x(&mut s, &apdu_lc("80D80004", &format!("40{one}"))), "6A86");
    // Keys 2 and 3 complete KVN 40: a key set, which opens SCP03.
    assert_eq!(x(&mut s, &apdu_lc("80D80002", &format!("40{one}"))), format!("40{kcv30}9000"));
    assert_eq!(x(&mut s, &apdu_lc("80D80003", &format!("40{one}"))), format!("40{kcv30}9000"));
    assert_eq!(
        x(&mut s, "80CA00E000"),
        "E024C00401018810C00402018810C00403018810C00401408810C00402408810C00403408810".to_owned() + "9000"
    );
    drop(s);
    let mut s = open_kvn(&mut c, K30, 0x40).unwrap();
    assert_eq!(s.session().info().kvn, 0x40);
    // A single key left on its own (a DAP-style key) is deleted with its KVN. This session's
    // DEK is KVN 40's.
    let one = hex::encode_upper(key_component(&k30, &k30, KeyBlockForm::WithLength).unwrap());
    assert_eq!(x(&mut s, &apdu_lc("80D80001", &format!("50{one}"))), format!("50{kcv30}9000"));
    assert_eq!(x(&mut s, "80E4000003D2015000"), "009000");
    assert_eq!(x(&mut s, "80E4000003D2015000"), "6A88");
}

/// Issue #18 #4: SELECT while the card is CARD_LOCKED answers `6283` ("Card Life Cycle State is
/// CARD_LOCKED", GPCS T11-84) with the FCI; an application with the Final Application privilege
/// stays selectable (GPCS §5.1.1.4), other applications `6A82`.
#[test]
fn select_in_card_locked() {
    let mut c = card();
    let mut s = open(&mut c);
    let fin = "F0475053455445535409";
    let r = x(&mut s, &install_apdu(0x0C, TESTAPP_PKG, TESTAPP_MOD, fin, "000200", "C900"));
    assert!(r.ends_with("9000"), "{r}");
    assert_eq!(x(&mut s, "80F0807F"), "9000");
    drop(s);
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "6283");
    assert_eq!(tx(&mut c, "00A4040008A000000151000000"), format!("{FCI}6283"));
    assert_eq!(tx(&mut c, "00A404000AF0475053455445535401"), "6A82");
    assert_eq!(tx(&mut c, &format!("00A404000A{fin}")), "6283");
    // Unlocked: 9000 again.
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, "80F0800F"), "9000");
    drop(s);
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "9000");
    assert_eq!(tx(&mut c, &format!("00A404000A{fin}")), "9000");
}

/// Issue #18 #13, second half: secure messaging over command chaining (GPCS §11.1.5.1). In a
/// session at C-DEC + C-MAC + R-MAC + R-ENC, STORE DATA `42` (IIN) comes in two ISO chained
/// segments (CLA `90` then `80`), each wrapped on its own; the first is answered `9000` with no
/// data, the last runs the whole command. A segment with another header: `6985`, chain dropped;
/// more than 32 767 bytes: `6A86`. The session goes on through all of it.
#[test]
fn secure_messaging_over_command_chaining() {
    let mut c = card();
    let opts = OpenOptions { kvn: 0, level: SecurityLevel::ALL, host_challenge: Some([7; 8]), channel: 0, s16: false };
    let mut s = HostSession::open(&mut c, &keys(K), &opts, &mut CardRng::new(Some(5))).unwrap();
    let mut w = |apdu: &str| hex::encode_upper(wrapped(&mut c, &mut s, apdu).to_bytes());
    assert_eq!(w("90E2900003420447"), "9000");
    assert_eq!(w("80E2900003505346"), "9000");
    assert_eq!(w("80CA004200"), "4204475053469000");
    // Another INS in the middle of a chain.
    assert_eq!(w("90E29000024204"), "9000");
    assert_eq!(w("80CA004200"), "6985");
    assert_eq!(w("80CA004200"), "4204475053469000");
    // Over the limit.
    let seg = format!("90E29000FF{}", "00".repeat(255));
    for _ in 0..128 {
        assert_eq!(w(&seg), "9000");
    }
    assert_eq!(w(&seg), "6A86");
    assert_eq!(w("80CA004200"), "4204475053469000");
    // Without chaining support the answer would be 6884 (the runtime's); a plain chained
    // segment outside a session is refused like any SD command needing one.
    assert_eq!(tx(&mut c, "00A4040C08A000000151000000"), "9000");
    assert_eq!(tx(&mut c, "90E2900003420447"), "6982");
}

// Issue #18 #11: DAP verification. A 1024-bit RSA key, its signature and an AES-CMAC, all made
// by a `python3` one-off with the `cryptography` package (48.0.0), an implementation
// independent of gpse's:
//
//   k = rsa.generate_private_key(public_exponent=65537, key_size=1024)
//   sig = k.sign(HASH_A, padding.PKCS1v15(), hashes.SHA1())       # DAP_RSA
//   c = CMAC(algorithms.AES(DAP_AES_KEY)); c.update(HASH_B)        # DAP_CMAC
//
// HASH_A / HASH_B are the SHA-256 of the Load File Data Blocks of the two test CAPs below
// (what `GpClient::load` puts in INSTALL [for load]).
const DAP_N: &str = "C63E402221A85CA7AA16298494ABA0D6BDF1F0710117111064FBA9EB292759E39530FBC90230591191229B4D7C6AB84E80235C6FE6CDA4D2017A122294CB264C970D5EBAEA1EA42AA67FF5569B2146BE302DDFF939D34F257C328241F1B71393C198DB93BA217423FB0939DAAE2D56F14482C226689E231DC1677062F2072F3F";
const DAP_D: &str = "0837FA76AFC88816D76155D54E48934173DC7CE862702F5FEB9FD75A8D79392BCB3A9DA5A6B6946ABB06A143A41DD488449DB2AE5CF6379811419B50DDB4526115BC7572E2D2387DE892BE40EED208E79B492D4033ACE687ACD1B08B123C25CF6ECFFC95A382C3439BD50B57868DD400AB164331AA1A152BD8726C5DE9B60D31";
const DAP_P: &str = "F6B22D1A7CD24FBA3CF5749223F68FB2FD1FC008FE19EACBD2E7F450053C2F105229CD2AA4984B00156964F2B935CF959C8084B236959727BE4B10140D2321A9";
const DAP_Q: &str = "CDB844704119235666A729A49C936BCB64BAF884A3A4141D0B3F4ED6CF0FF2674C702648A9B55F303B1DB1FD8B1F6D1E1F04617412C690DE058907FDAAF2AAA7";
const HASH_A: &str = "6F13AC6EFF319C573FCA45FF87186DF440A47D75744E5C43D8FA365D2E327A64";
const DAP_RSA: &str = "4E5FAB8837857FF4012098FE6F3CB7C2D80C9574DBFD19E4A17E18ED3CDCF4B917BFAA52CAA2CA83D361CDB6B0F51DEABC4AC9CC2FBCCB66B5C4D68050D81357BA3B995ACD8171339BCD7DA0938A3D07A6A603AE0A539A6E5BEE6224108048E3E060DE374A446FDB7AE9CD208B36CBC30957E30E9256E150D8FF81806C09AF1E";
const HASH_B: &str = "13981F7AE7273DF317E7CE3626CBFCC81AA7C27AFFC91CFE532F815AF9CBA8FC";
const DAP_AES_KEY: &str = "00112233445566778899AABBCCDDEEFF";
const DAP_CMAC: &str = "C24A188ABC657C1A97171573BADE8097";

fn lfdb_of(package: &str, applet: &str) -> Vec<u8> {
    CapFile::parse(&cap(package, applet)).unwrap().load_file_data_block()
}

/// `E2 L 4F L sd C3 L sig` (GPCS T11-58).
fn dap_block(sd: &str, sig: &str) -> String {
    let inner =
        format!("4F{}C3{}", lv(&h(sd)), if sig.len() / 2 >= 0x80 { format!("81{}", lv(&h(sig))) } else { lv(&h(sig)) });
    let n = inner.len() / 2;
    format!("E2{}{inner}", if n >= 0x80 { format!("81{n:02X}") } else { format!("{n:02X}") })
}

/// INSTALL [for load] to `sd` with `hash`, then LOAD of `daps ‖ C4 L LFDB`.
fn load_with(s: &mut GpClient<'_, Card>, pkg: &str, sd: &str, hash: &str, daps: &str, lfdb: &[u8]) -> String {
    let r = x(s, &install_for_load(pkg, sd, &h(hash)));
    if r != "009000" {
        return r;
    }
    let mut file = h(daps);
    file.extend(gpse::tlv::tlv(0xC4, lfdb));
    load_blocks(s, &file)
}

/// GPCS §9.2.1 (DAP Verification, Mandated DAP Verification), §11.6.2.3 T11-58 (`E2 {4F, C3}`),
/// §11.8.2.3 (PUT KEY of an RSA public key, GPP `GPSession.putKey(RSAPublicKey)`), the schemes
/// of `gpse::gp::dap` (RSA PKCS#1 v1.5 SHA-1 as GPP's `DAPSigner`, AES-CMAC). A load that needs
/// a DAP and has none, or a wrong one, is refused with `6A80` and nothing is recorded; so is an
/// INSTALL [for load] without the hash the DAP is over.
#[test]
fn dap_verification_on_load() {
    let mut c = card();
    let ssd = "A00000015153504101";
    let mut s = open(&mut c);
    // An SSD with DAP Verification (`C0`, T11-7).
    s.create_ssd(&aid(ssd), &[0xC0, 0x00, 0x00]).unwrap();
    drop(s);
    // Its DAP key: PUT KEY P1 00 P2 01, `73 A1 80 n A0 03 010001 00` as GPP sends it; the answer
    // is the KVN alone (no KCV for a public key, §11.8.3.1).
    let mut sd =
        GpClient::open(&mut c, Some(&aid(ssd)), &keys(K), 0, SecurityLevel::ALL, &mut CardRng::new(Some(2))).unwrap();
    let put = apdu_lc("80D80001", &format!("73A180{DAP_N}A003010001 00"));
    assert_eq!(x(&mut sd, &put), "739000");
    // Key information (GPCS §11.3.3.1): the RSA key is `C0 06 01 73 A1 80 A0 03` after the set.
    assert!(x(&mut sd, "80CA00E000").ends_with("C0060173A180A0039000"));
    // The host library sends the same bytes.
    drop(sd);
    let n = rsa::BigUint::from_bytes_be(&h(DAP_N));
    let e = rsa::BigUint::from(65537u32);
    let private = rsa::RsaPrivateKey::from_components(
        n.clone(),
        e.clone(),
        rsa::BigUint::from_bytes_be(&h(DAP_D)),
        vec![rsa::BigUint::from_bytes_be(&h(DAP_P)), rsa::BigUint::from_bytes_be(&h(DAP_Q))],
    )
    .unwrap();
    assert_eq!(
        hex::encode_upper(gpse::scp03::keydata::rsa_public_components(&h(DAP_N), &[1, 0, 1])),
        format!("A180{DAP_N}A00301000100")
    );

    // Hand check of the vector (RFC 8017 §8.2.2, §9.2): DAP_RSA^e mod n is EMSA-PKCS1-v1_5 of
    // HASH_A with SHA-1: 00 01, FF×90, 00, the SHA-1 DigestInfo prefix, SHA-1(HASH_A) =
    // F6EFB04DD5300AD54FB5B9511F04B240845FC913 (python3 hashlib).
    let em = rsa::BigUint::from_bytes_be(&h(DAP_RSA)).modpow(&e, &n).to_bytes_be();
    let want = format!("01{}003021300906052B0E03021A05000414F6EFB04DD5300AD54FB5B9511F04B240845FC913", "FF".repeat(90));
    assert_eq!(hex::encode_upper(em), want, "leading 00 dropped by the integer");

    let (pkg_a, app_a) = ("F0475053455445535F", "F0475053455445535F01");
    let lfdb_a = lfdb_of(pkg_a, app_a);
    let mut s = open(&mut c);
    // No hash: the DAP has nothing to be over.
    assert_eq!(x(&mut s, &install_for_load(pkg_a, ssd, &[])), "6A80");
    // No DAP block, one for another SD, a wrong signature: 6A80, nothing loaded.
    assert_eq!(load_with(&mut s, pkg_a, ssd, HASH_A, "", &lfdb_a), "6A80");
    assert_eq!(load_with(&mut s, pkg_a, ssd, HASH_A, &dap_block("A000000151000000", DAP_RSA), &lfdb_a), "6A80");
    let mut bad = h(DAP_RSA);
    bad[127] ^= 1;
    assert_eq!(load_with(&mut s, pkg_a, ssd, HASH_A, &dap_block(ssd, &hex::encode(&bad)), &lfdb_a), "6A80");
    assert_eq!(x(&mut s, "80F22002 0B 4F09F0475053455445535F 00"), "6A88");
    // Python's signature: loaded, and associated with the SSD.
    let good = dap_block(ssd, DAP_RSA);
    // E2 81 8E { 4F 09 AID, C3 81 80 signature }: BER lengths over 127 (T11-58 is BER-TLV).
    assert_eq!(&good[..34], "E2818E4F09A00000015153504101C38180");
    // The host builds the same Load File with the rsa crate's PKCS#1 v1.5 (deterministic).
    let dap = gpse::host::gp::Dap { sd: aid(ssd), key: gpse::host::gp::DapKey::Rsa(Box::new(private.clone())) };
    let file = gpse::host::gp::load_file(&lfdb_a, &h(HASH_A), std::slice::from_ref(&dap)).unwrap();
    assert_eq!(hex::encode_upper(&file[..good.len() / 2]), good);
    assert_eq!(load_with(&mut s, pkg_a, ssd, HASH_A, &good, &lfdb_a), "009000");
    let elf = x(&mut s, "80F22002 0B 4F09F0475053455445535F 00");
    assert!(elf.ends_with("CC09A000000151535041019000"), "{elf}");
    // A load to the ISD (no DAP privilege, `9EFE80`) needs no DAP.
    let (pkg_b, app_b) = ("F0475053455445535E", "F0475053455445535E01");
    let lfdb_b = lfdb_of(pkg_b, app_b);
    assert_eq!(load_with(&mut s, pkg_b, "", HASH_B, "", &lfdb_b), "009000");
    s.delete(&aid(pkg_b), true).unwrap();
    s.delete(&aid(pkg_a), true).unwrap();

    // Mandated DAP (`C1`, T11-7) with an AES DAP key (key 1 of KVN 73, put encrypted with the
    // DEK as any AES key): every load, to the ISD too, needs this SD's DAP.
    let msd = "A00000015153504102";
    s.create_ssd(&aid(msd), &[0xC1, 0x00, 0x00]).unwrap();
    drop(s);
    let mut m =
        GpClient::open(&mut c, Some(&aid(msd)), &keys(K), 0, SecurityLevel::ALL, &mut CardRng::new(Some(3))).unwrap();
    let comp = key_component(&h(K), &h(DAP_AES_KEY), KeyBlockForm::WithLength).unwrap();
    assert_eq!(
        x(&mut m, &apdu_lc("80D80001", &format!("73{}", hex::encode_upper(&comp)))),
        format!("73{}9000", kcv_hex(DAP_AES_KEY))
    );
    drop(m);
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, &install_for_load(pkg_b, "", &[])), "6A80");
    assert_eq!(load_with(&mut s, pkg_b, "", HASH_B, "", &lfdb_b), "6A80");
    // A CMAC of the wrong hash (HASH_A's RSA block is not it either).
    assert_eq!(load_with(&mut s, pkg_b, "", HASH_B, &dap_block(msd, &DAP_CMAC.replace("C2", "C3")), &lfdb_b), "6A80");
    // Python's CMAC, whole (16) or its leftmost 8 bytes: loaded.
    assert_eq!(load_with(&mut s, pkg_b, "", HASH_B, &dap_block(msd, &DAP_CMAC[..16]), &lfdb_b), "009000");
    s.delete(&aid(pkg_b), true).unwrap();
    let aes = gpse::host::gp::Dap {
        sd: aid(msd),
        key: gpse::host::gp::DapKey::Aes(gpse::crypto::SecretBytes::new(h(DAP_AES_KEY))),
    };
    let file = gpse::host::gp::load_file(&lfdb_b, &h(HASH_B), std::slice::from_ref(&aes)).unwrap();
    assert_eq!(hex::encode_upper(&file[..2 + 11 + 18]), dap_block(msd, DAP_CMAC));
    // Through the host library, GpClient::load_with_daps.
    s.load_with_daps(&cap(pkg_b, app_b), None, &[aes]).unwrap();
    // To the DAP SSD with a mandated DAP SD on the card: both DAPs are needed.
    assert_eq!(
        s.load_with_daps(&cap(pkg_a, app_a), Some(&aid(ssd)), std::slice::from_ref(&dap)).unwrap_err().to_string(),
        "LOAD block 1: card answered 6A80 (incorrect data)"
    );
    let aes = gpse::host::gp::Dap {
        sd: aid(msd),
        key: gpse::host::gp::DapKey::Aes(gpse::crypto::SecretBytes::new(h(DAP_AES_KEY))),
    };
    s.load_with_daps(&cap(pkg_a, app_a), Some(&aid(ssd)), &[dap, aes]).unwrap();
}

fn kcv_hex(key: &str) -> String {
    hex::encode_upper(gpse::scp03::kdf::kcv(&h(key)).unwrap())
}

/// Issue #18 #14: STORE DATA with DGI and encryption (GPCS §11.11.2, T11-89: P1 b7b6 encryption
/// `00`/`01`/`11`, b5b4 structure `00`/`01` DGI/`10` BER-TLV; `10` and `11` RFU). Encrypted data
/// is AES-CBC with the key set's static Key-DEK and a zero ICV (AmdD §6.2.8, as PUT KEY's keys);
/// for DGIs each DGI's data is encrypted, its identifier and length in clear (EMV CPS).
/// Ciphertexts from a `python3` one-off with `cryptography` (48.0.0):
///   Cipher(algorithms.AES(K), modes.CBC(bytes(16))).encryptor().update(pt)
#[test]
fn store_data_dgi_and_encryption() {
    // E(K, 00112233445566778899AABBCCDDEEFF) and E(K, 42 03 A1B2C3 ‖ 00×11).
    const CT_DGI: &str = "4533BFD23699FC7C142D20BB1A4A191F";
    const CT_IIN: &str = "2C072269E6404F5C1B52D28FB81CA9D9";
    let mut c = card();
    let mut s = open(&mut c);
    // RFU codings of b7b6 (`10`) and b5b4 (`11`).
    assert_eq!(x(&mut s, "80E2C00003420100"), "6A86");
    assert_eq!(x(&mut s, "80E2980003420100"), "6A86");
    // DGIs to the ISD itself: malformed `6A80`, well formed but none it keeps `6A88`.
    assert_eq!(x(&mut s, "80E28800020101"), "6A80");
    assert_eq!(x(&mut s, "80E2880005010102CAFE"), "6A88");
    // Encrypted BER-TLV to the ISD (P1 F0: last, encrypted, BER-TLV): decrypted with Key-DEK,
    // the zero padding skipped (ISO 7816-4 §5.2.2.1).
    assert_eq!(x(&mut s, &format!("80E2F00010{CT_IIN}")), "9000");
    assert_eq!(s.get_data(0x42).unwrap(), h("4203A1B2C3"));
    // Not whole AES blocks: 6A80, nothing changed; the block numbering starts again.
    assert_eq!(x(&mut s, &format!("80E2F0000F{}", &CT_IIN[..30])), "6A80");
    assert_eq!(s.get_data(0x42).unwrap(), h("4203A1B2C3"));

    // Personalization of the test applet, which keeps P1 ‖ data of what it receives.
    let perso = apdu_lc("80E62000", "0000 0AF0475053455445535401 000000");
    let blob = |c: &mut Card| {
        assert_eq!(tx(c, "00A404000AF0475053455445535401"), "9000");
        tx(c, "8005000000")
    };
    // A plain DGI block (P1 88) is forwarded as it came.
    assert_eq!(x(&mut s, &perso), "009000");
    assert_eq!(x(&mut s, "80E2880005010102CAFE"), "9000");
    drop(s);
    assert_eq!(blob(&mut c), "88010102CAFE9000");
    // Two blocks: a malformed DGI block is refused by the SD (6A80) and never reaches the
    // applet; then block 0 plain, block 1 encrypted (P1 E8 = last, encrypted, DGI): the applet
    // gets DGI 8010 in clear with P1 88 (b7b6 cleared, the SD decrypted it).
    let mut s = open(&mut c);
    assert_eq!(x(&mut s, &perso), "009000");
    assert_eq!(x(&mut s, "80E20800020101"), "6A80");
    assert_eq!(x(&mut s, "80E2080005010102CAFE"), "9000");
    assert_eq!(x(&mut s, &format!("80E2E80113801010{CT_DGI}")), "9000");
    // The session ended with the last block: STORE DATA is the ISD's again.
    assert_eq!(x(&mut s, "80E2880005010102CAFE"), "6A88");
    drop(s);
    assert_eq!(blob(&mut c), "8880101000112233445566778899AABBCCDDEEFF9000");
    // The host side's encryption gives Python's bytes.
    assert_eq!(
        hex::encode_upper(gpse::scp03::keydata::encrypt_data(&h(K), &h("00112233445566778899AABBCCDDEEFF")).unwrap()),
        CT_DGI
    );
}

/// Issue #18 #3 (extended PUT KEY "where cheap"): the extended key data format (key type `FF`,
/// GPCS §11.8.2.3.2, with key usage and key access) is not taken: `6A80` (incorrect values in
/// the command data, as any key type this card does not take), and nothing changes.
#[test]
fn put_key_extended_format_is_refused() {
    let mut c = card();
    let mut s = open(&mut c);
    let before = s_image(&mut s);
    let comp = key_component(&h(K), &h(K30), KeyBlockForm::WithLength).unwrap();
    let extended = format!("FF{}0100", hex::encode_upper(&comp));
    assert_eq!(x(&mut s, &apdu_lc("80D80001", &format!("74{extended}"))), "6A80");
    assert_eq!(x(&mut s, &apdu_lc("80D80081", &format!("74{extended}{extended}{extended}"))), "6A80");
    assert_eq!(s_image(&mut s), before);
}
