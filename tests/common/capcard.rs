//! CAP applets on a card: the default card, GP LOAD/INSTALL over SCP03 with the default keys,
//! and the CAPs of `../shared/javacard/caps` and of the project (`tests/applets`).

use gpse::apdu::{Command, Response};
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::host::gp::GpClient;
use gpse::platform::profile::{Overrides, Profile};
use gpse::scp03::host::{HostSession, OpenOptions, Opening};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::store::Durability;
use gpse::sw::Sw;
use gpse::Aid;
use std::path::{Path, PathBuf};

pub const K: &str = "404142434445464748494A4B4C4D4E4F";

pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

pub fn aid(s: &str) -> Aid {
    s.parse().unwrap()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A CAP from `../shared/javacard/caps` as the build script found it (`GPSE_SHARED`, else next
/// to the repository, else `/work/shared`); the tests that use it are ignored without it
/// (`cfg(gpse_shared)`, see `build.rs`).
pub fn shared_cap(name: &str) -> Vec<u8> {
    let root = match option_env!("GPSE_SHARED_DIR") {
        Some(p) => PathBuf::from(p),
        None => panic!("needs ../shared/javacard (set GPSE_SHARED): not found at build time"),
    };
    let p = root.join("javacard/caps").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (these tests need ../shared/javacard)", p.display()))
}

pub fn project_cap(name: &str) -> Vec<u8> {
    std::fs::read(repo().join(format!("tests/applets/{name}/build/{name}.cap"))).unwrap()
}

pub fn new_card(dir: &Path) -> Card {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap();
    let mut c = Card::create(dir, img, Durability::NoSync, Some(1), false).unwrap();
    c.power_on();
    c
}

pub fn gp(card: &mut Card) -> GpClient<'_, Card> {
    let k = h(K);
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    GpClient::open(card, None, &keys, 0, SecurityLevel::ALL, &mut CardRng::new(Some(9))).unwrap()
}

pub fn tx(c: &mut Card, apdu: &str) -> String {
    hex::encode_upper(c.transmit(&h(apdu)))
}

/// LOAD and INSTALL [for install and make selectable] of the CAP's first applet.
pub fn load_install(card: &mut Card, cap: &[u8], instance: Option<&str>, params: &[u8]) -> (Aid, Aid) {
    let mut g = gp(card);
    let info = g.load(cap, None).unwrap();
    let class = info.applets[0].clone();
    let inst = instance.map(aid).unwrap_or_else(|| class.clone());
    g.install(&info.package_aid, &class, &inst, &[0], params, true).unwrap();
    (info.package_aid, inst)
}

pub fn select(card: &mut Card, a: &Aid) -> String {
    tx(card, &format!("00A40400{:02X}{}00", a.as_bytes().len(), hex::encode_upper(a.as_bytes())))
}

/// The SDK installer's CAP download of a CAP's components, in scriptgen's order.
pub fn download(card: &mut Card, cap: &[u8]) {
    let comps = gpse::jcvm::cap::Cap::parse(cap).unwrap();
    let lfdb = comps.load_file_data_block();
    assert_eq!(tx(card, "80B0000000"), "9000");
    let mut i = 0;
    while i < lfdb.len() {
        let tag = lfdb[i];
        let size = u16::from_be_bytes([lfdb[i + 1], lfdb[i + 2]]) as usize;
        let comp = &lfdb[i..i + 3 + size];
        assert_eq!(tx(card, &format!("80B2{tag:02X}0000")), "9000");
        for chunk in comp.chunks(32) {
            assert_eq!(tx(card, &format!("80B4{tag:02X}00{:02X}{}00", chunk.len(), hex::encode_upper(chunk))), "9000");
        }
        assert_eq!(tx(card, &format!("80BC{tag:02X}0000")), "9000");
        i += 3 + size;
    }
    assert_eq!(tx(card, "80BA000000"), "9000");
}

pub fn expected(rel: &str) -> String {
    let root = match option_env!("GPSE_SHARED_DIR") {
        Some(p) => PathBuf::from(p),
        None => panic!("needs ../shared/javacard (set GPSE_SHARED): not found at build time"),
    };
    let p = root.join("javacard/caps/expected").join(rel);
    super::apdutool::latin1(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

pub fn oracle_sdk_card(dir: &Path) -> Card {
    oracle_sdk_card_with(dir, Durability::NoSync)
}

/// An `oracle-sdk` card with the given durability (tearing sweeps need the fsync steps).
pub fn oracle_sdk_card_with(dir: &Path, durability: Durability) -> Card {
    let text = std::fs::read_to_string(repo().join("profiles/oracle-sdk.toml")).unwrap();
    let profile = Profile::parse(&text, "oracle-sdk.toml").unwrap();
    let img = profile.build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap();
    let mut card = Card::create(dir, img, durability, Some(1), false).unwrap();
    card.power_on();
    card
}

/// One command to the card, parsed back.
pub fn send(c: &mut Card, cmd: &Command) -> Response {
    Response::parse(&c.transmit(&cmd.to_bytes())).unwrap()
}

/// INITIALIZE UPDATE and EXTERNAL AUTHENTICATE sent to the selected CAP applet, which hands
/// them to `SecureChannel.processSecurity`, with the default keys: the host checks the card
/// cryptogram (AmdD §6.2.2.2) and the card the host cryptogram and the EA's C-MAC (AmdD §7.1.2).
pub fn open_applet_scp(c: &mut Card, level: SecurityLevel) -> HostSession {
    let k = h(K);
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    let opts = OpenOptions { host_challenge: Some([0x11; 8]), ..OpenOptions::new(level) };
    let (opening, iu) = Opening::new(&keys, &opts, &mut rand_core::OsRng).unwrap();
    let rsp = send(c, &iu);
    assert_eq!(rsp.sw, Sw::Ok);
    // KDD(10) ‖ KVN ‖ 03 ‖ i ‖ card challenge(8) ‖ card cryptogram(8) [‖ counter(3)] (AmdD T7-2).
    assert!(rsp.data.len() == 29 || rsp.data.len() == 32, "{}", hex::encode_upper(&rsp.data));
    assert_eq!(rsp.data[11], 0x03);
    let (auth, ea) = opening.initialize_update_response(&rsp).unwrap();
    let rsp = send(c, &ea);
    assert_eq!(rsp.sw, Sw::Ok);
    auth.external_authenticate_response(&rsp).unwrap()
}
