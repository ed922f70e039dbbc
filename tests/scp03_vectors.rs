//! SCP03 against published vectors (`vectors/scp03/*.toml`, each naming its source): the host
//! side alone, the card side alone (session state machine and the whole card), both against each
//! other for every level and key size, and the default card's pseudo-random challenge computed
//! independently.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::{Command, Response};
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile, DEFAULT_PROFILE};
use gpse::scp03::card::{Idle, IuParams};
use gpse::scp03::host::{initialize_update_command, HostSession, OpenOptions};
use gpse::scp03::kdf::{self, SessionKeys};
use gpse::scp03::keydata::{self, KeyBlockForm};
use gpse::scp03::prim::AesKey;
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::sw::Sw;
use gpse::transport::scp::SessionIo;
use serde::Deserialize;
use std::collections::HashMap;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn vector_file(name: &str) -> String {
    std::fs::read_to_string(format!("{}/vectors/scp03/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[derive(Deserialize)]
struct V1 {
    common: Common,
    keysets: HashMap<String, Keyset>,
    kcv: Kcv3,
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Common {
    aid: String,
    kdd: String,
    i: u8,
    get_eid_cmd_plain: String,
    get_eid_rsp_plain: String,
    case1_plain: String,
    case2_plain: String,
    case3_plain: String,
    case4_plain: String,
}

#[derive(Deserialize)]
struct Keyset {
    kvn: u8,
    enc: String,
    mac: String,
    dek: String,
}

#[derive(Deserialize)]
struct Kcv3 {
    enc: String,
    mac: String,
    dek: String,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    keyset: String,
    init_upd_cmd: String,
    init_upd_rsp: String,
    ext_auth_cmd: String,
    get_eid_cmd: String,
    get_eid_rsp: String,
    case1: String,
    case2: String,
    case3: String,
    case4: String,
}

impl Case {
    fn host_challenge(&self) -> [u8; 8] {
        h(&self.init_upd_cmd)[5..13].try_into().unwrap()
    }
    fn level(&self) -> SecurityLevel {
        SecurityLevel::from_p1(h(&self.ext_auth_cmd)[2]).unwrap()
    }
    fn counter(&self) -> u32 {
        let r = h(&self.init_upd_rsp);
        u32::from_be_bytes([0, r[29], r[30], r[31]])
    }
    /// (plain, wire) of the commands after EXTERNAL AUTHENTICATE, in order.
    fn commands(&self, c: &Common) -> Vec<(Vec<u8>, Vec<u8>)> {
        vec![
            (h(&c.get_eid_cmd_plain), h(&self.get_eid_cmd)),
            (h(&c.case1_plain), h(&self.case1)),
            (h(&c.case2_plain), h(&self.case2)),
            (h(&c.case3_plain), h(&self.case3)),
            (h(&c.case4_plain), h(&self.case4)),
        ]
    }
}

fn v1() -> V1 {
    let v: V1 = toml::from_str(&vector_file("pysim_v1.toml")).unwrap();
    assert_eq!(v.case.len(), 9, "3 levels x 3 AES sizes");
    v
}

fn keys(k: &Keyset) -> StaticKeys {
    StaticKeys::new(&h(&k.enc), &h(&k.mac), &h(&k.dek)).unwrap()
}

fn cmd(b: &[u8]) -> Command {
    Command::parse(b).unwrap()
}

#[test]
fn v1_host_side_reproduces_every_byte() {
    let v = v1();
    for c in &v.case {
        let ks = &v.keysets[&c.keyset];
        let hc = c.host_challenge();
        let iu = initialize_update_command(0, ks.kvn, &hc).unwrap();
        assert_eq!(iu.to_bytes(), h(&c.init_upd_cmd), "{} IU", c.name);
        let (mut s, ea) = HostSession::authenticate(&keys(ks), 0, &hc, &h(&c.init_upd_rsp), c.level()).unwrap();
        assert_eq!(ea.to_bytes(), h(&c.ext_auth_cmd), "{} EA", c.name);
        s.confirm(c.level());
        for (n, (plain, wire)) in c.commands(&v.common).iter().enumerate() {
            let w = s.wrap(&cmd(plain)).unwrap();
            assert_eq!(hex::encode(w.to_bytes()), hex::encode(wire), "{} cmd {n}", c.name);
            if n == 0 {
                let rsp = Response { data: h(&c.get_eid_rsp), sw: Sw::Ok };
                let p = s.unwrap(&rsp).unwrap();
                assert_eq!(p.data, h(&v.common.get_eid_rsp_plain), "{} rsp", c.name);
            }
        }
    }
}

#[test]
fn v1_host_rejects_a_bad_card_cryptogram_and_a_bad_rmac() {
    let v = v1();
    let c = &v.case[0];
    let ks = &v.keysets[&c.keyset];
    let mut rsp = h(&c.init_upd_rsp);
    rsp[25] ^= 1;
    let e = HostSession::authenticate(&keys(ks), 0, &c.host_challenge(), &rsp, c.level());
    assert!(matches!(e, Err(gpse::scp03::host::HostError::CardCryptogram)));
    let (mut s, _) =
        HostSession::authenticate(&keys(ks), 0, &c.host_challenge(), &h(&c.init_upd_rsp), c.level()).unwrap();
    s.confirm(c.level());
    s.wrap(&cmd(&h(&v.common.get_eid_cmd_plain))).unwrap();
    let mut bad = h(&c.get_eid_rsp);
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert!(s.unwrap(&Response { data: bad, sw: Sw::Ok }).is_err());
}

#[test]
fn v1_card_session_reproduces_every_byte() {
    let v = v1();
    for c in &v.case {
        let ks = &v.keysets[&c.keyset];
        let (enc, mac, aid, kdd) = (h(&ks.enc), h(&ks.mac), h(&v.common.aid), h(&v.common.kdd));
        let p = IuParams {
            kvn: ks.kvn,
            key_enc: &enc,
            key_mac: &mac,
            i: v.common.i,
            kdd: &kdd,
            sd_aid: &aid,
            counter: c.counter(),
            random_challenge: vec![0xEE; 8],
        };
        let (init, rsp) = Idle.initialize_update(&c.host_challenge(), &p).unwrap();
        assert_eq!(hex::encode(rsp), c.init_upd_rsp, "{} IU response", c.name);
        let mut a = init.external_authenticate(&cmd(&h(&c.ext_auth_cmd))).unwrap();
        assert_eq!(a.level(), c.level());
        for (n, (plain, wire)) in c.commands(&v.common).iter().enumerate() {
            let p = a.unwrap(&cmd(wire)).unwrap();
            assert_eq!(hex::encode(p.to_bytes()), hex::encode(plain), "{} cmd {n}", c.name);
            if n == 0 {
                let r = a.wrap(Response::data(h(&v.common.get_eid_rsp_plain)));
                assert_eq!(hex::encode(r.data), c.get_eid_rsp, "{} rsp", c.name);
                assert_eq!(r.sw, Sw::Ok);
            }
        }
    }
}

/// A card built from the default profile with another ISD AID, KDD, i and key set.
pub fn custom_card(aid: &str, kdd: &str, i: u8, k: (&[u8], &[u8], &[u8]), kvn: u8, counter: u32) -> Card {
    let text = DEFAULT_PROFILE
        .replace("aid = \"A000000151000000\"", &format!("aid = \"{aid}\""))
        .replace("kdd = \"00112233445566778899\"", &format!("kdd = \"{kdd}\""))
        .replace("scp_i = 0x70", &format!("scp_i = 0x{i:02X}"));
    let ov = Overrides {
        keys: Some((k.0.to_vec(), k.1.to_vec(), k.2.to_vec())),
        kvn: Some(kvn),
        seq_counter: Some(counter),
    };
    let img = Profile::parse(&text, "test").unwrap().build(&ov, &mut CardRng::new(Some(1))).unwrap();
    Card::in_memory(img, Some(1)).unwrap()
}

fn sw_of(r: &[u8]) -> u16 {
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

#[test]
fn v1_whole_card_answers_and_accepts_the_vector_bytes() {
    let v = v1();
    for c in &v.case {
        let ks = &v.keysets[&c.keyset];
        let (enc, mac, dek) = (h(&ks.enc), h(&ks.mac), h(&ks.dek));
        let mut card =
            custom_card(&v.common.aid, &v.common.kdd, v.common.i, (&enc, &mac, &dek), ks.kvn, c.counter() - 1);
        card.power_on();
        let r = card.transmit(&h(&format!("00A4040010{}00", v.common.aid)));
        assert_eq!(sw_of(&r), 0x9000);
        let r = card.transmit(&h(&c.init_upd_cmd));
        assert_eq!(hex::encode(&r), format!("{}9000", c.init_upd_rsp), "{}", c.name);
        // The incremented counter is in the card image.
        let isd = card.image().isd();
        assert_eq!(isd.keys.as_ref().unwrap().key_sets[0].seq_counter, c.counter());
        assert_eq!(card.transmit(&h(&c.ext_auth_cmd)), vec![0x90, 0x00], "{}", c.name);
        assert_eq!(current_level(&card, 0), c.level().current().bits());
        for (n, (_, wire)) in c.commands(&v.common).iter().enumerate() {
            // The unwrapped commands reach the ISD and get its answers (9000, or 6A80/6A88 for
            // what this ISD does not have), never the 6982 a failed unwrap gives, and the
            // session stays.
            let r = card.transmit(wire);
            assert!(matches!(sw_of(&r), 0x9000 | 0x6A80 | 0x6A88), "{} cmd {n}: {}", c.name, hex::encode(&r));
            assert_eq!(current_level(&card, 0), c.level().current().bits());
        }
    }
}

#[test]
fn v1_kcvs() {
    let v = v1();
    let k = &v.keysets["aes128"];
    assert_eq!(hex::encode_upper(kdf::kcv(&h(&k.enc)).unwrap()), v.kcv.enc);
    assert_eq!(hex::encode_upper(kdf::kcv(&h(&k.mac)).unwrap()), v.kcv.mac);
    assert_eq!(hex::encode_upper(kdf::kcv(&h(&k.dek)).unwrap()), v.kcv.dek);
}

#[derive(Deserialize)]
struct V3 {
    session_keys: V3Session,
    raw_kdf: V3Raw,
}
#[derive(Deserialize)]
struct V3Session {
    key: String,
    context: String,
    kcv_static: String,
    kcv_s_enc: String,
    kcv_s_mac: String,
    kcv_s_rmac: String,
}
#[derive(Deserialize)]
struct V3Raw {
    key: String,
    prefix: String,
    suffix: String,
    length: usize,
    kcv: String,
}

#[test]
fn v3_gpp_kcvs() {
    let v: V3 = toml::from_str(&vector_file("gpp_v3_kcv.toml")).unwrap();
    let s = &v.session_keys;
    let key = h(&s.key);
    let kcv = |k: &[u8]| hex::encode_upper(kdf::kcv(k).unwrap());
    assert_eq!(kcv(&key), s.kcv_static);
    // GPP passes the whole context as "host challenge ‖ card challenge".
    let sk = SessionKeys::derive(&key, &key, &h(&s.context), &[]).unwrap();
    let [e, m, r] = sk.expose();
    assert_eq!(kcv(e), s.kcv_s_enc);
    assert_eq!(kcv(m), s.kcv_s_mac);
    assert_eq!(kcv(r), s.kcv_s_rmac);
    let raw = &v.raw_kdf;
    let out = kdf::kdf_counter(&AesKey::new(&h(&raw.key)).unwrap(), &h(&raw.prefix), &h(&raw.suffix), raw.length);
    assert_eq!(kcv(&out), raw.kcv);
}

#[derive(Deserialize)]
struct PutKey {
    component: Vec<Component>,
}
#[derive(Deserialize)]
struct Component {
    dek: String,
    key: String,
    kcv: String,
    encrypted: String,
    with_length: String,
    blocks: String,
}

#[test]
fn put_key_components_match_the_independent_computation() {
    let v: PutKey = toml::from_str(&vector_file("put_key_dek.toml")).unwrap();
    assert_eq!(v.component.len(), 9);
    for c in &v.component {
        let (dek, key) = (h(&c.dek), h(&c.key));
        assert_eq!(hex::encode(kdf::kcv(&key).unwrap()), c.kcv);
        assert_eq!(hex::encode(keydata::encrypt_key(&dek, &key).unwrap()), c.encrypted);
        let wl = keydata::key_component(&dek, &key, KeyBlockForm::WithLength).unwrap();
        assert_eq!(hex::encode(&wl), c.with_length);
        let bl = keydata::key_component(&dek, &key, KeyBlockForm::Blocks).unwrap();
        assert_eq!(hex::encode(&bl), c.blocks);
        for form in [wl, bl] {
            let (k, used) = keydata::decode_key_component(&dek, &form).unwrap();
            assert_eq!(k.expose(), &key[..]);
            assert_eq!(used, form.len());
        }
    }
}

/// A KDF written here from AmdD §4.1.5 with the `aes` and `cmac` crates directly, independent of
/// `gpse::scp03`.
fn independent_kdf(key: &[u8; 16], constant: u8, context: &[u8]) -> [u8; 8] {
    use cmac::{Cmac, Mac};
    let mut m = <Cmac<aes::Aes128> as Mac>::new_from_slice(key).unwrap();
    let mut block = vec![0u8; 11];
    block.extend_from_slice(&[constant, 0x00, 0x00, 0x40, 0x01]);
    block.extend_from_slice(context);
    m.update(&block);
    m.finalize().into_bytes()[..8].try_into().unwrap()
}

#[test]
fn default_card_pseudo_random_challenge_and_cryptogram() {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut card = Card::in_memory(img, None).unwrap();
    assert_eq!(card.transmit(&h("00A4040008A000000151000000"))[..2], [0x6F, 0x5D]);
    let r = card.transmit(&h("8050000008000102030405060700"));
    assert_eq!(r.len(), 32 + 2);
    assert_eq!(sw_of(&r), 0x9000);
    // Expected values, computed independently.
    let k: [u8; 16] = h("404142434445464748494A4B4C4D4E4F").try_into().unwrap();
    let mut ctx = vec![0x00, 0x00, 0x01];
    ctx.extend(h("A000000151000000"));
    let cc = independent_kdf(&k, 0x02, &ctx);
    let hc = h("0001020304050607");
    let mut sctx = hc.clone();
    sctx.extend_from_slice(&cc);
    // S-MAC = KDF(Key-MAC, 06, L = 128, hc ‖ cc): one CMAC block.
    let s_mac = {
        use cmac::{Cmac, Mac};
        let mut m = <Cmac<aes::Aes128> as Mac>::new_from_slice(&k).unwrap();
        let mut block = vec![0u8; 11];
        block.extend_from_slice(&[0x06, 0x00, 0x00, 0x80, 0x01]);
        block.extend_from_slice(&sctx);
        m.update(&block);
        let out: [u8; 16] = m.finalize().into_bytes().into();
        out
    };
    let card_cryptogram = independent_kdf(&s_mac, 0x00, &sctx);
    assert_eq!(&r[..10], &h("00112233445566778899")[..], "KDD");
    assert_eq!(&r[10..13], &[0x01, 0x03, 0x70], "KVN, SCP03, i");
    assert_eq!(hex::encode(&r[13..21]), hex::encode(cc), "card challenge");
    assert_eq!(hex::encode(&r[21..29]), hex::encode(card_cryptogram), "card cryptogram");
    assert_eq!(&r[29..32], &[0x00, 0x00, 0x01], "sequence counter");
    // And a python3 `cryptography` one-off (same formulas) gave these bytes:
    assert_eq!(hex::encode(&r[13..29]), PYTHON_CC_CG);
}

/// `python3 -c` one-off with the `cryptography` package:
/// ```text
/// from cryptography.hazmat.primitives.cmac import CMAC
/// from cryptography.hazmat.primitives.ciphers import algorithms
/// def prf(k, d):
///     c = CMAC(algorithms.AES(k)); c.update(d); return c.finalize()
/// K = bytes.fromhex('404142434445464748494A4B4C4D4E4F')
/// cc = prf(K, bytes(11) + bytes([2, 0, 0, 0x40, 1]) + bytes([0, 0, 1]) + bytes.fromhex('A000000151000000'))[:8]
/// ctx = bytes(range(8)) + cc
/// smac = prf(K, bytes(11) + bytes([6, 0, 0, 0x80, 1]) + ctx)
/// cg = prf(smac, bytes(11) + bytes([0, 0, 0, 0x40, 1]) + ctx)[:8]
/// print((cc + cg).hex())
/// ```
const PYTHON_CC_CG: &str = "86c8bd65fa1044ee7ced45f4c595bc4b";

#[test]
fn our_host_against_our_card_every_level_and_key_size() {
    for len in [16usize, 24, 32] {
        let k: Vec<u8> = (0x40..0x40 + len as u8).collect();
        let keys = StaticKeys::new(&k, &k, &k).unwrap();
        for level in SecurityLevel::LEVELS {
            let mut card = custom_card("A000000151000000", "00112233445566778899", 0x70, (&k, &k, &k), 0x30, 0);
            card.power_on();
            let mut rng = CardRng::new(Some(len as u64));
            let mut s = HostSession::open(&mut card, &keys, &OpenOptions::new(level), &mut rng).unwrap();
            assert_eq!(s.info().seq_counter, Some(1));
            for round in 0..3 {
                // GET DATA CF (KDD), with 64 bytes of data the ISD ignores.
                let c = Command::new(0x80, 0xCA, 0x00, 0xCF).with_data(vec![round as u8; 64]).with_ne(256);
                let x = s.exchange(&mut card, &c).unwrap();
                assert_eq!(x.response.sw, Sw::Ok, "AES-{} level {level}", len * 8);
                assert_eq!(x.response.data, h("CF0A00112233445566778899"));
                if level.r_enc() {
                    assert_ne!(&x.wire_response[..12], &x.response.data[..]);
                }
                // Current security level.
                let d3 = s.transmit(&mut card, &Command::new(0x80, 0xCA, 0x00, 0xD3).with_ne(256)).unwrap();
                assert_eq!(d3.data, vec![0xD3, 0x01, level.current().bits()]);
                // An error SW comes back without R-MAC and keeps the session.
                let e = s.transmit(&mut card, &Command::new(0x80, 0xCA, 0x00, 0x77).with_ne(256)).unwrap();
                assert_eq!(e.sw, Sw::ReferencedDataNotFound);
                assert_eq!(current_level(&card, 0), level.current().bits());
            }
        }
    }
}

#[test]
fn our_host_against_the_test_applet_on_a_logical_channel() {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut card = Card::in_memory(img, Some(3)).unwrap();
    let k = h("404142434445464748494A4B4C4D4E4F");
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    // Open channel 1 and select the test applet there.
    assert_eq!(card.transmit(&h("0070000001")), vec![0x01, 0x90, 0x00]);
    assert_eq!(sw_of(&card.transmit(&h("01A404000AF047505345544553540100"))), 0x9000);
    let mut o = OpenOptions::new(SecurityLevel::ALL);
    o.channel = 1;
    let mut s = HostSession::open(&mut card, &keys, &o, &mut CardRng::new(Some(9))).unwrap();
    let payload: Vec<u8> = (0..64).collect();
    let x =
        s.exchange(&mut card, &Command::new(0x81, 0x01, 0x00, 0x00).with_data(payload.clone()).with_ne(256)).unwrap();
    assert_eq!(x.wire_command[0], 0x85);
    assert_eq!(x.response.data, payload);
    assert_eq!(x.wire_response.len(), 80 + 8 + 2);
    // The basic channel has no session.
    assert_eq!(current_level(&card, 0), 0);
    assert_eq!(current_level(&card, 1), 0xB3);
    assert!(!card.session(0).is_some_and(|s| s.is_authenticated()));
    assert!(card.session(1).is_some_and(|s| s.is_authenticated()));
}

#[test]
fn channel_19_uses_the_further_interindustry_class() {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut card = Card::in_memory(img, Some(3)).unwrap();
    let k = h("404142434445464748494A4B4C4D4E4F");
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    for ch in [4u8, 19] {
        assert_eq!(card.transmit(&[0x00, 0x70, 0x00, ch]), vec![0x90, 0x00]);
        let mut o = OpenOptions::new(SecurityLevel::ALL);
        o.channel = ch;
        let mut s = HostSession::open(&mut card, &keys, &o, &mut CardRng::new(Some(9))).unwrap();
        let c = Command::new(gpse::apdu::Class::encode(ch, true, false).unwrap(), 0xCA, 0x00, 0xCF).with_ne(256);
        let x = s.exchange(&mut card, &c).unwrap();
        assert_eq!(x.wire_command[0], 0xE0 + (ch - 4));
        assert_eq!(x.response.data, h("CF0A00112233445566778899"));
        assert_eq!(current_level(&card, ch), 0xB3);
    }
}

/// The Current Security Level byte of a channel (GPCS T10-1), as GET DATA `D3` gives it.
fn current_level(card: &Card, ch: u8) -> u8 {
    card.session(ch).map_or(0, |s| s.security_status().bits())
}

/// One GP KDF output block of 128 bits (L = `0080`), computed with the `cmac` crate directly.
fn independent_kdf16(key: &[u8; 16], constant: u8, context: &[u8]) -> [u8; 16] {
    use cmac::{Cmac, Mac};
    let mut m = <Cmac<aes::Aes128> as Mac>::new_from_slice(key).unwrap();
    let mut block = vec![0u8; 11];
    block.extend_from_slice(&[constant, 0x00, 0x00, 0x80, 0x01]);
    block.extend_from_slice(context);
    m.update(&block);
    m.finalize().into_bytes().into()
}

/// Issue #18 #12: S16 mode as a key-set option (the SD's i with b1, `71`; GPP `--s16`, which
/// reads S16 from `i & 0x01` and then takes 16-byte challenges and cryptograms): INITIALIZE
/// UPDATE `80 50 00 00 10 <16 bytes> 00` answers `KDD ‖ 01 03 71 ‖ card challenge(16) ‖ card
/// cryptogram(16) ‖ counter(3)`, each value computed here independently (L = 128); EXTERNAL
/// AUTHENTICATE carries a 16-byte host cryptogram and an 8-byte C-MAC. A host in the other mode
/// is refused with `6700`.
#[test]
fn s16_mode_challenges_and_cryptograms() {
    let mut img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    img.isd_mut().keys.as_mut().unwrap().scp_i = 0x71;
    let mut card = Card::in_memory(img, None).unwrap();
    assert_eq!(card.transmit(&h("00A4040008A000000151000000"))[..2], [0x6F, 0x5D]);
    // An S8 host challenge on an S16 key set: wrong length.
    assert_eq!(card.transmit(&h("8050000008000102030405060700")), h("6700"));
    let hc = h("000102030405060708090A0B0C0D0E0F");
    let r = card.transmit(&h("8050000010000102030405060708090A0B0C0D0E0F00"));
    assert_eq!(r.len(), 48 + 2);
    assert_eq!(sw_of(&r), 0x9000);
    let k: [u8; 16] = h("404142434445464748494A4B4C4D4E4F").try_into().unwrap();
    let mut ctx = vec![0x00, 0x00, 0x01];
    ctx.extend(h("A000000151000000"));
    let cc = independent_kdf16(&k, 0x02, &ctx);
    let mut sctx = hc.clone();
    sctx.extend_from_slice(&cc);
    let s_mac = independent_kdf16(&k, 0x06, &sctx);
    let card_cryptogram = independent_kdf16(&s_mac, 0x00, &sctx);
    let host_cryptogram = independent_kdf16(&s_mac, 0x01, &sctx);
    assert_eq!(&r[10..13], &[0x01, 0x03, 0x71], "KVN, SCP03, i");
    assert_eq!(hex::encode(&r[13..29]), hex::encode(cc), "card challenge");
    assert_eq!(hex::encode(&r[29..45]), hex::encode(card_cryptogram), "card cryptogram");
    assert_eq!(&r[45..48], &[0x00, 0x00, 0x01], "sequence counter (the refused IU did not count)");
    // The host side derives the same and sends `84 82 33 00 18 host cryptogram(16) C-MAC(8)`.
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    let (_, ea) = HostSession::authenticate(&keys, 0, &hc, &r[..48], SecurityLevel::ALL).unwrap();
    let wire = ea.to_bytes();
    assert_eq!(&wire[..5], &h("8482330018")[..]);
    assert_eq!(&wire[5..21], &host_cryptogram[..]);
    // The whole opening through the host API, and a wrapped command in the session.
    let opts = OpenOptions { kvn: 0, level: SecurityLevel::ALL, host_challenge: None, channel: 0, s16: true };
    let mut s = HostSession::open(&mut card, &keys, &opts, &mut CardRng::new(Some(3))).unwrap();
    assert_eq!(s.info().card_challenge.len(), 16);
    let rsp = s.transmit(&mut card, &Command::new(0x80, 0xCA, 0x00, 0x42).with_ne(256)).unwrap();
    assert_eq!(rsp, Response::data(h("420447505345")));
    // An S8 host on this card, and an S16 host on the default (S8) card: refused.
    let s8 = OpenOptions { s16: false, ..opts.clone() };
    assert!(HostSession::open(&mut card, &keys, &s8, &mut CardRng::new(Some(3))).is_err());
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut plain = Card::in_memory(img, None).unwrap();
    plain.transmit(&h("00A4040008A000000151000000"));
    assert_eq!(plain.transmit(&h("8050000010000102030405060708090A0B0C0D0E0F00")), h("6700"));
}
