//! The access control enforcer against Android's `AccessRuleCache`/`AccessControlEnforcer`
//! (`shared/reference/globalplatform.md` §C.4-§C.5, `applet-spec/ara-m.md`): how it reads the ARA-M
//! (exact APDUs, refresh tag, NEXT), every resolution case with a matching and a non-matching hash,
//! merging, missing attributes, APDU filters, and every way the ARA can fail (all denied).

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::applets::ara_m::{self, ARA_M_AID};
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::host::ace::cache::{AccessRuleCache, Case};
use gpse::host::ace::{parse, Ace, AraState, Refresh};
use gpse::platform::profile::{Overrides, Profile};
use gpse::transport::{Transport, TransportError};
use gpse::Sw;
use sha2::Digest;
use std::collections::HashMap;

const JPKI_AID: &str = "D392F000260100000001";
/// SHA-1 of "gpse test JPKI app signing certificate" (the default profile's rule).
const TEST_HASH: &str = "2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD";
/// SHA-1 of "gpse test other app signing certificate".
const OTHER_HASH: &str = "99C7BE01D7ABE74E714766154FB78DF4FBB95031";

const GP_R1: &str = "E219E10F4F0BA000000600010001EE05FEC100E306D00100D10100";
const GP_R2: &str = "E250E10F4F0BA000000600010001EE0501C100E33DD0380010010000FFFFFF0010020000FFFFFF0030000000FFFFFF0040000000FFFFFF0050000000FFFFFF00A4000000FFFBFF0070000000FF7FE0D10100";
const GP_R3: &str = "E20EE1044F00C100E306D00101D10101";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// A card from the default profile whose ARA-M holds `params` (install parameters = rules).
fn card_with_rules(params: Option<&str>) -> Card {
    let mut rng = CardRng::new(Some(5));
    let mut img = Profile::default_profile().build(&Overrides::default(), &mut rng).unwrap();
    if let Some(p) = params {
        let inst = img.instances.iter_mut().find(|i| i.aid.as_bytes() == ARA_M_AID).unwrap();
        inst.state = (ara_m::MODULE.install)(&h(p), &mut rng).unwrap().save();
    }
    let mut c = Card::in_memory(img, Some(5)).unwrap();
    c.power_on();
    c
}

/// Records what goes to the card.
struct Recorder<'a> {
    inner: &'a mut dyn Transport,
    log: Vec<String>,
}

impl Transport for Recorder<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.log.push(hex::encode_upper(apdu));
        self.inner.transmit(apdu)
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.inner.reset()
    }
    fn name(&self) -> String {
        "recorder".into()
    }
}

/// A scripted ARA: exact command → response, `6D00` otherwise.
struct Fake(HashMap<String, String>);

impl Fake {
    fn new(pairs: &[(&str, &str)]) -> Fake {
        let mut m: HashMap<String, String> = [
            ("0070000001", "019000"),
            ("01A4040009A00000015141434C0000", "9000"),
            ("81CADF2000", "DF200811223344556677889000"),
            ("01708001", "9000"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        for (a, b) in pairs {
            m.insert(a.to_string(), b.to_string());
        }
        Fake(m)
    }
}

impl Transport for Fake {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(h(self.0.get(&hex::encode_upper(apdu)).map_or("6D00", |s| s.as_str())))
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(vec![0x3B, 0x00])
    }
    fn name(&self) -> String {
        "fake".into()
    }
}

fn ace_of(t: &mut dyn Transport) -> Ace {
    let mut a = Ace::new();
    a.refresh(t).unwrap();
    a
}

#[test]
fn default_card_lets_only_the_test_jpki_app_reach_the_jpki_aid() {
    let mut c = card_with_rules(None);
    let ace = ace_of(&mut c);
    assert_eq!(ace.state(), &AraState::Ready);
    let jpki = h(JPKI_AID);
    let d = ace.check_open(&[h(TEST_HASH)], Some(&jpki));
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.found.as_ref().unwrap().case, Case::A);
    assert!(d.nfc_allowed);
    // Android tries SHA-256 and SHA-1 of each certificate: one matching is enough.
    let sha256 = sha2::Sha256::digest(b"some certificate").to_vec();
    assert!(ace.check_open(&[sha256.clone(), h(TEST_HASH)], Some(&jpki)).allowed);
    // Another app: conflict case A, NEVER.
    let d = ace.check_open(&[h(OTHER_HASH), sha256], Some(&jpki));
    assert!(!d.allowed);
    assert_eq!(d.found.as_ref().unwrap().case, Case::ConflictA);
    assert_eq!(d.reason, "AID has a specific access rule with a different hash. (Case A)");
    assert!(!d.nfc_allowed);
    // Another AID, the default application: no rule.
    for aid in [Some(h("D392F000260100000002")), Some(h("A000000151000000")), None] {
        let d = ace.check_open(&[h(TEST_HASH)], aid.as_deref());
        assert!(!d.allowed);
        assert_eq!(d.reason, "no access rule found!");
    }
    // APDUs on the open channel: ALWAYS, but OMAPI's own refusals stay.
    for (apdu, ok) in [
        ("00A4020C020001", true),
        ("00B0000000", true),
        ("80CA000100", true),
        ("00A4040C0AD392F000260100000001", false),
        ("0070000001", false),
        ("FFA4000000", false),
        ("00600000", false),
        ("00B000", false),
    ] {
        assert_eq!(ace.check_apdu(&[h(TEST_HASH)], Some(&jpki), &h(apdu)).allowed, ok, "{apdu}");
        assert!(!ace.check_apdu(&[h(OTHER_HASH)], Some(&jpki), &h(apdu)).allowed, "{apdu}");
    }
    assert_eq!(gpse::host::ace::Decision::refusal_sw(), Sw::SecurityNotSatisfied);
}

#[test]
fn reads_as_android_and_only_again_when_the_tag_changes() {
    let mut c = card_with_rules(None);
    let mut ace = Ace::new();
    let mut r = Recorder { inner: &mut c, log: Vec::new() };
    assert_eq!(ace.refresh(&mut r).unwrap(), Refresh::Reloaded);
    let tag = hex::encode_upper(ace.refresh_tag().unwrap());
    assert_eq!(r.log, ["0070000001", "01A4040009A00000015141434C0000", "81CADF2000", "81CAFF4000", "01708001"]);
    r.log.clear();
    assert_eq!(ace.refresh(&mut r).unwrap(), Refresh::Unchanged);
    assert_eq!(r.log, ["0070000001", "01A4040009A00000015141434C0000", "81CADF2000", "01708001"]);
    assert_eq!(hex::encode_upper(ace.refresh_tag().unwrap()), tag);
    // The channel was closed: only the basic channel is open.
    assert_eq!(c.open_channels(), vec![0]);
    assert_eq!(ace.rules().len(), 1);
    assert_eq!(
        hex::encode_upper(&ace.rules()[0].raw),
        "E229E1224F0AD392F000260100000001C1142660FE4D4AEB9AF3A70D607B36422DB913BCCFFDE303D00101"
    );
}

#[test]
fn a_long_rule_set_is_read_with_next() {
    let rules: String = (0..10u8)
        .map(|n| format!("E23BE1344F10A00000010203040506070809000000{n:02X}C120{}E303D00101", "AB".repeat(32)))
        .collect();
    let mut c = card_with_rules(Some(&rules));
    let mut ace = Ace::new();
    let mut r = Recorder { inner: &mut c, log: Vec::new() };
    ace.refresh(&mut r).unwrap();
    assert_eq!(r.log.iter().filter(|l| *l == "81CAFF6000").count(), 2);
    assert_eq!(ace.rules().len(), 10);
    let aid = h("A0000001020304050607080900000007");
    assert!(ace.check_open(&[vec![0xAB; 32]], Some(&aid)).allowed);
    assert!(!ace.check_open(&[vec![0xAC; 32]], Some(&aid)).allowed);
}

#[test]
fn gp_test_applet_rules_decide_as_the_omapi_test_suite_expects() {
    let mut c = card_with_rules(Some(&format!("{GP_R3}{GP_R2}{GP_R1}")));
    let ace = ace_of(&mut c);
    let any = [h(OTHER_HASH)];
    // ...EE05FE: NEVER for all apps (case B).
    let d = ace.check_open(&any, Some(&h("A000000600010001EE05FE")));
    assert_eq!(
        (d.allowed, d.found.as_ref().unwrap().case, d.reason.as_str()),
        (false, Case::B, "no APDU access allowed!")
    );
    // ...EE0501: filters (case B); NFC NEVER.
    let aid = h("A000000600010001EE0501");
    let d = ace.check_open(&any, Some(&aid));
    assert!(d.allowed && !d.nfc_allowed);
    for (apdu, ok) in [
        ("00100100", true),
        ("80100200", true),
        ("03100100", true), // the app's channel bits are not part of the check
        ("00300000", true),
        ("00A4000000", true),
        ("00A4020000", false),
        ("00200000", false),
        ("00700000", false), // filter matches, OMAPI refuses MANAGE CHANNEL
        ("80700000", true),
    ] {
        assert_eq!(ace.check_apdu(&any, Some(&aid), &h(apdu)).allowed, ok, "{apdu}");
    }
    assert_eq!(
        ace.check_apdu(&any, Some(&aid), &h("00200000")).reason,
        "Access Rule does not match: Command not allowed!"
    );
    // Anything else: case D, ALWAYS, NFC ALWAYS.
    let d = ace.check_open(&any, Some(&h("A000000600010001EE0502")));
    assert_eq!((d.allowed, d.nfc_allowed, d.found.unwrap().case), (true, true, Case::D));
}

// --- pure resolution over hand-made rule sets ---------------------------------------------------

fn rule(aid: &str, hash: &str, ar: &str) -> String {
    let aid = if aid == "C0" { "C000".to_string() } else { format!("4F{:02X}{aid}", aid.len() / 2) };
    let e1 = format!("{aid}C1{:02X}{hash}", hash.len() / 2);
    let e1 = format!("E1{:02X}{e1}", e1.len() / 2);
    let e3 = format!("E3{:02X}{ar}", ar.len() / 2);
    format!("E2{:02X}{e1}{e3}", (e1.len() + e3.len()) / 2)
}

fn cache(rules: &[String]) -> AccessRuleCache {
    let v = rules.concat();
    let len = v.len() / 2;
    let all = if len < 0x80 { format!("FF40{len:02X}{v}") } else { format!("FF4081{len:02X}{v}") };
    let mut c = AccessRuleCache::default();
    c.put_all(&parse::response_all(&h(&all)).unwrap());
    c
}

const X: &str = "A000000001";
const Y: &str = "A000000002";
const H1: &str = "1111111111111111111111111111111111111111";
const H2: &str = "2222222222222222222222222222222222222222";
const ALWAYS: &str = "D00101";
const NEVER: &str = "D00100";

fn case_of(c: &AccessRuleCache, aid: Option<&str>, hash: &str) -> Option<(Case, bool)> {
    let aid = aid.map(h);
    c.find_access_rule(aid.as_deref(), &[h(hash)]).map(|f| (f.case, f.access.channel_allowed()))
}

#[test]
fn every_resolution_case_with_a_matching_and_a_foreign_hash() {
    // A and conflict A.
    let c = cache(&[rule(X, H1, ALWAYS)]);
    assert_eq!(case_of(&c, Some(X), H1), Some((Case::A, true)));
    assert_eq!(case_of(&c, Some(X), H2), Some((Case::ConflictA, false)));
    assert_eq!(case_of(&c, Some(Y), H1), None);
    // B: every app.
    let c = cache(&[rule(X, "", ALWAYS)]);
    assert_eq!(case_of(&c, Some(X), H1), Some((Case::B, true)));
    assert_eq!(case_of(&c, Some(X), H2), Some((Case::B, true)));
    assert_eq!(case_of(&c, Some(Y), H2), None);
    // A before B; with a specific rule the generic one no longer serves other apps.
    let c = cache(&[rule(X, "", ALWAYS), rule(X, H1, NEVER)]);
    assert_eq!(case_of(&c, Some(X), H1), Some((Case::A, false)));
    assert_eq!(case_of(&c, Some(X), H2), Some((Case::ConflictA, false)));
    // C and conflict C.
    let c = cache(&[rule("", H1, ALWAYS)]);
    assert_eq!(case_of(&c, Some(X), H1), Some((Case::C, true)));
    assert_eq!(case_of(&c, None, H1), Some((Case::C, true)));
    assert_eq!(case_of(&c, Some(X), H2), Some((Case::ConflictC, false)));
    // B comes before C; conflict C for the others.
    let c = cache(&[rule("", H1, NEVER), rule(X, "", ALWAYS)]);
    assert_eq!(case_of(&c, Some(X), H2), Some((Case::B, true)));
    assert_eq!(case_of(&c, Some(X), H1), Some((Case::B, true)));
    assert_eq!(case_of(&c, Some(Y), H2), Some((Case::ConflictC, false)));
    assert_eq!(case_of(&c, Some(Y), H1), Some((Case::C, false)));
    // D.
    let c = cache(&[rule("", "", ALWAYS)]);
    assert_eq!(case_of(&c, Some(X), H1), Some((Case::D, true)));
    assert_eq!(case_of(&c, None, H2), Some((Case::D, true)));
    // The default application (C0 00): AID absent or 0000000000.
    let c = cache(&[rule("C0", "", ALWAYS)]);
    assert_eq!(case_of(&c, None, H1), Some((Case::B, true)));
    assert_eq!(case_of(&c, Some("0000000000"), H1), Some((Case::B, true)));
    assert_eq!(case_of(&c, Some(X), H1), None);
    let c = cache(&[rule("C0", H1, ALWAYS)]);
    assert_eq!(case_of(&c, None, H2), Some((Case::ConflictA, false)));
    // SHA-256 hashes, and the app's hash list tried in order.
    let h256 = "33".repeat(32);
    let c = cache(&[rule(X, &h256, ALWAYS)]);
    let f = c.find_access_rule(Some(&h(X)), &[h(H1), h(&h256)]).unwrap();
    assert_eq!(f.case, Case::A);
    // No rules at all.
    assert!(cache(&[]).find_access_rule(Some(&h(X)), &[h(H1)]).is_none());
}

#[test]
fn identical_ref_dos_merge_restrictively() {
    let filt = |f: &str| format!("D0{:02X}{f}", f.len() / 2);
    let f1 = "00B00000FFFF0000";
    let f2 = "00200000FFFF0000";
    let check = |c: &AccessRuleCache, apdu: &str| {
        c.find_access_rule(Some(&h(X)), &[h(H1)]).unwrap().access.check_command(&h(apdu)).is_ok()
    };
    // NEVER wins over ALWAYS (either order).
    for rules in [[rule(X, H1, ALWAYS), rule(X, H1, NEVER)], [rule(X, H1, NEVER), rule(X, H1, ALWAYS)]] {
        let c = cache(&rules);
        assert_eq!(c.entries.len(), 1);
        assert_eq!(c.entries[0].sources, vec![0, 1]);
        assert_eq!(case_of(&c, Some(X), H1), Some((Case::A, false)));
    }
    // A filter wins over ALWAYS.
    let c = cache(&[rule(X, H1, ALWAYS), rule(X, H1, &filt(f1))]);
    assert!(check(&c, "00B0000000") && !check(&c, "00D60000"));
    // NEVER wins over a filter.
    let c = cache(&[rule(X, H1, &filt(f1)), rule(X, H1, NEVER)]);
    assert_eq!(case_of(&c, Some(X), H1), Some((Case::A, false)));
    // Filters add up.
    let c = cache(&[rule(X, H1, &filt(f1)), rule(X, H1, &filt(f2))]);
    assert!(check(&c, "00B0000000") && check(&c, "00200081") && !check(&c, "00D60000"));
    // NFC: NEVER over ALWAYS.
    let c = cache(&[rule(X, H1, "D00101D10101"), rule(X, H1, "D00101D10100")]);
    assert_eq!(c.find_access_rule(Some(&h(X)), &[h(H1)]).unwrap().access.nfc, gpse::host::ace::cache::Access::Denied);
    // A rule without APDU-AR-DO merged with ALWAYS: the channel opens (APDU ALLOWED) but the
    // overall access is DENIED, so every APDU is refused (Android's setUpChannelAccess vs checkCommand).
    let c = cache(&[rule(X, H1, "D10101"), rule(X, H1, ALWAYS)]);
    assert_eq!(case_of(&c, Some(X), H1), Some((Case::A, true)));
    assert!(!check(&c, "00B0000000"));
}

#[test]
fn missing_apdu_or_nfc_attributes_are_completed_as_android_does() {
    let nfc = |ar: &str| {
        let c = cache(&[rule(X, H1, ar)]);
        let f = c.find_access_rule(Some(&h(X)), &[h(H1)]).unwrap();
        (f.access.channel_allowed(), f.access.nfc == gpse::host::ace::cache::Access::Allowed)
    };
    assert_eq!(nfc("D00101"), (true, true));
    assert_eq!(nfc("D00100"), (false, false));
    assert_eq!(nfc("D00800B00000FFFF0000"), (true, true));
    assert_eq!(nfc("D10101"), (false, true));
    assert_eq!(nfc("D00101D10100"), (true, false));
    // Carrier-privilege rules are not OMAPI rules.
    let c = cache(&[format!("E224E116C114{H1}E30ADB080000000000000001")]);
    assert!(c.entries.is_empty());
}

#[test]
fn an_ara_that_fails_denies_everything() {
    let jpki = h(JPKI_AID);
    let hashes = [h(TEST_HASH)];
    let good = "FF402BE229E1224F0AD392F000260100000001C1142660FE4D4AEB9AF3A70D607B36422DB913BCCFFDE303D001019000";
    // The control: the fake ARA with the good rule allows.
    let ace = ace_of(&mut Fake::new(&[("81CAFF4000", good)]));
    assert!(ace.check_open(&hashes, Some(&jpki)).allowed);
    let cases: [(&[(&str, &str)], &str); 8] = [
        (&[("01A4040009A00000015141434C0000", "6A82")], "No ARA applet found"),
        (&[("0070000001", "6A81")], "Problem accessing ARA"),
        (&[("01A4040009A00000015141434C0000", "6999")], "Problem accessing ARA"),
        (&[("81CADF2000", "DF2007112233445566779000")], "Problem accessing ARA"),
        (&[("81CADF2000", "6A88")], "Problem accessing ARA"),
        (&[("81CAFF4000", "6F00")], "Problem accessing ARA"),
        // One rule without C1 spoils the whole set.
        (&[("81CAFF4000", "FF4017E20BE1044F00C100E303D00101E208E102C000E302D0009000")], "Problem accessing ARA"),
        // The first block announces more than comes; NEXT fails.
        (
            &[("81CAFF4000", "FF40822000E20BE1044F00C100E303D001019000"), ("81CAFF6000", "6985")],
            "Problem accessing ARA",
        ),
    ];
    for (script, why) in cases {
        let mut f = Fake::new(script);
        let ace = ace_of(&mut f);
        let d = ace.check_open(&hashes, Some(&jpki));
        assert!(!d.allowed && d.reason.contains(why), "{script:?}: {d:?}");
        assert!(!ace.check_apdu(&hashes, Some(&jpki), &h("00B0000000")).allowed);
        assert!(!ace.nfc_event_allowed(&hashes, Some(&jpki)));
    }
    // No rules (6A88 or FF40 00): every app and AID denied.
    for all in ["6A88", "FF40009000"] {
        let ace = ace_of(&mut Fake::new(&[("81CAFF4000", all)]));
        assert_eq!(ace.state(), &AraState::Ready);
        assert_eq!(ace.check_open(&hashes, Some(&jpki)).reason, "no access rule found!");
    }
    // As AraController: a failed read keeps the new tag with an empty cache, so the next refresh
    // with the same tag uses the (empty) cache: still denied, now for want of a rule.
    let mut ace = Ace::new();
    ace.refresh(&mut Fake::new(&[("81CAFF4000", "6F00")])).unwrap();
    assert!(matches!(ace.state(), AraState::Error(_)));
    assert_eq!(ace.refresh(&mut Fake::new(&[("81CAFF4000", good)])).unwrap(), Refresh::Unchanged);
    assert_eq!(ace.check_open(&hashes, Some(&jpki)).reason, "no access rule found!");
    // A new tag brings the rules.
    let mut f = Fake::new(&[("81CAFF4000", good), ("81CADF2000", "DF200800000000000000019000")]);
    assert_eq!(ace.refresh(&mut f).unwrap(), Refresh::Reloaded);
    assert!(ace.check_open(&hashes, Some(&jpki)).allowed);
}

#[test]
fn cli_rules_and_check() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("card");
    let gpse = || {
        let mut c = assert_cmd::Command::cargo_bin("gpse").unwrap();
        c.env_remove("GPSE_STATE");
        c
    };
    gpse().args(["card", "init", "--seed", "1", "--state"]).arg(&dir).assert().success();
    let out = gpse().args(["ace", "rules", "--state"]).arg(&dir).output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[0].starts_with("refresh tag ") && lines[0].ends_with(", 1 rule(s)"), "{s}");
    assert_eq!(
        &lines[1..],
        [
            "rule 1: AID D392F000260100000001, app SHA-1 2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD -> APDU always, NFC -",
            "  E229E1224F0AD392F000260100000001C1142660FE4D4AEB9AF3A70D607B36422DB913BCCFFDE303D00101",
        ]
    );
    let check = |hash: &str, aid: &str, apdu: Option<&str>| {
        let mut c = gpse();
        c.args(["ace", "check", "--state"]).arg(&dir).args(["--cert-hash", hash, "--aid", aid]);
        if let Some(a) = apdu {
            c.args(["--apdu", a]);
        }
        let o = c.output().unwrap();
        (o.status.code().unwrap(), String::from_utf8(o.stdout).unwrap(), String::from_utf8(o.stderr).unwrap())
    };
    let (code, out, _) = check(TEST_HASH, JPKI_AID, None);
    assert_eq!(code, 0);
    assert_eq!(out.lines().next(), Some("allowed"));
    assert!(out.contains("rule: case A (this AID, this app): AID D392F000260100000001"), "{out}");
    let (code, out, _) = check(TEST_HASH, JPKI_AID, Some("00A4020C020001"));
    assert_eq!((code, out.lines().next()), (0, Some("allowed")));
    let (code, out, _) = check(OTHER_HASH, JPKI_AID, None);
    assert_eq!((code, out.lines().next()), (1, Some("denied")));
    assert!(out.contains("reason: AID has a specific access rule with a different hash. (Case A)"), "{out}");
    let (code, out, _) = check(TEST_HASH, "A000000151000000", None);
    assert_eq!((code, out.lines().next()), (1, Some("denied")));
    // Errors: one line, exit 2.
    for (hash, aid) in [("1234", JPKI_AID), (TEST_HASH, "D392"), (TEST_HASH, "zz")] {
        let (code, out, err) = check(hash, aid, None);
        assert_eq!((code, out.as_str(), err.lines().count()), (2, "", 1), "{hash} {aid}: {err}");
    }
}
