//! APDU scripts: every format on files in tests/data, record → replay, mismatch reports, and
//! malformed lines with their file:line messages.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use gpse::script::record::Recorder;
use gpse::script::runner::{run, Options, Summary};
use gpse::script::{detect, parse_file, parse_text, Action, Format, Step};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn card(seed: u64) -> Card {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(seed))).unwrap();
    let mut c = Card::in_memory(img, Some(seed)).unwrap();
    c.power_on();
    c
}

fn exec(steps: &[Step], c: &mut Card, keep_going: bool, rec: Option<&mut Recorder>) -> (Summary, String) {
    let mut out = Vec::new();
    let s = run(steps, c, &Options { keep_going, ..Options::default() }, None, &mut out, rec).unwrap();
    (s, String::from_utf8(out).unwrap())
}

#[test]
fn native_script_with_masks_captures_channels_and_includes() {
    let steps = parse_file(&data("native-basic.gpse"), None).unwrap();
    assert_eq!(detect(&std::fs::read_to_string(data("native-basic.gpse")).unwrap()), Format::Native);
    let (s, out) = exec(&steps, &mut card(1), false, None);
    assert_eq!((s.failed, s.passed), (0, 14), "{out}");
    assert!(out.contains("> 800100000A00112233445566778899"), "{out}");
}

#[test]
fn scriptor_plain_and_apdutool_files_run_unchanged() {
    let sc = parse_file(&data("scriptor.txt"), None).unwrap();
    assert_eq!(detect(&std::fs::read_to_string(data("scriptor.txt")).unwrap()), Format::Scriptor);
    assert_eq!(sc.len(), 5);
    assert_eq!(sc[3].action, Action::Reset);
    let (_, out) = exec(&sc, &mut card(1), false, None);
    assert!(out.contains("> 80010000050102030405\n"), "{out}");
    assert!(out.contains("< 01020304059000"), "{out}");

    let plain = parse_file(&data("plain.hex"), None).unwrap();
    let (_, out) = exec(&plain, &mut card(1), false, None);
    assert!(out.ends_with("> 8001000002CAFE00\n< CAFE9000\n"), "{out}");

    let text = std::fs::read_to_string(data("apdutool.scr")).unwrap();
    assert_eq!(detect(&text), Format::Apdutool);
    let ap = parse_file(&data("apdutool.scr"), None).unwrap();
    // powerup; select ISD; select test applet; echo (spanning two lines); echo "done".
    assert_eq!(ap.len(), 5);
    assert_eq!(ap[0].action, Action::PowerCycle);
    assert_eq!(ap[3].loc.line, 9);
    let (_, out) = exec(&ap, &mut card(1), false, None);
    // LE 0x7F is kept as the command's Le (apdutool sends case 2/4 commands).
    assert!(out.contains("> 00A4040008A0000001510000007F\n< 6F5D8408A000000151000000A551734B06072A864886FC6B01600B06092A864886FC6B020203630906072A864886FC6B03640B06092A864886FC6B040370650D060B2A864886FC6B0507020000660C060A2B060104012A026E01039F6501FF9000"), "{out}");
    assert!(out.contains("> 80010000030102037F\n"), "{out}");
    assert!(out.contains("< 0102039000"));
}

#[test]
fn record_then_replay_matches_and_a_changed_card_fails_at_the_line() {
    let steps = parse_file(&data("native-basic.gpse"), None).unwrap();
    let mut rec = Recorder::new("test recording");
    let (s, _) = exec(&steps, &mut card(9), false, Some(&mut rec));
    assert_eq!(s.failed, 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.gpse");
    std::fs::write(&path, rec.text()).unwrap();
    let replay = parse_file(&path, None).unwrap();
    let (s2, out) = exec(&replay, &mut card(9), false, None);
    assert_eq!(s2.failed, 0, "{out}");
    assert_eq!(s2.passed, s2.exchanges);

    // Another card: a different KDD makes the replay fail at the GET DATA CF line.
    let text = Profile::default_profile();
    let mut p = text.clone();
    p.identity.kdd = "00112233445566778800".into();
    p.identity.cin = "0102030405060709".into();
    let img = p.build(&Overrides::default(), &mut CardRng::new(Some(9))).unwrap();
    let mut other = Card::in_memory(img, Some(9)).unwrap();
    let (s3, out) = exec(&replay, &mut other, false, None);
    assert_eq!(s3.failed, 1);
    let f = &s3.failures[0];
    let line = rec.text().lines().position(|l| l.starts_with("80CA00CF00")).unwrap() + 1;
    assert_eq!(f.loc.line, line);
    assert_eq!(f.at, 11);
    assert!(out.contains(&format!("rec.gpse:{line}: response mismatch (byte 11 is 00, expected 99)")), "{out}");
    assert!(out.contains("  expected: CF0A001122334455667788999000"));
    assert!(out.contains("  got:      CF0A001122334455667788009000"));
    assert!(out.contains(&format!("            {}^", " ".repeat(22))));
    // --keep-going reports every mismatch.
    let mut other =
        Card::in_memory(p.build(&Overrides::default(), &mut CardRng::new(Some(9))).unwrap(), Some(9)).unwrap();
    let (s4, _) = exec(&replay, &mut other, true, None);
    assert_eq!(s4.failed, 2, "GET DATA CF and GET DATA 45");
}

#[test]
fn malformed_lines_name_file_and_line() {
    let p = Path::new("bad.gpse");
    let cases: &[(&str, &str)] = &[
        ("00A4040000\n00A4 04", "bad.gpse:2: a command APDU has at least 4 bytes, this has 3"),
        ("00A4040G00", "bad.gpse:1: '00A4040G00': '0G' is not a hex byte"),
        ("00A404000", "bad.gpse:1: '00A404000': odd number of hex digits"),
        ("00A4040000 => ", "bad.gpse:1: empty expected response"),
        ("00A4040000 => 9000 * *", "bad.gpse:1: only one '*' per expected response"),
        ("00A40400XX00", "bad.gpse:1: '00A40400XX00': masks belong in an expected response"),
        ("# ok\n\nchannel 20", "bad.gpse:3: channel '20': a logical channel is 0 to 19"),
        ("channel", "bad.gpse:1: expected 'channel N'"),
        ("power up", "bad.gpse:1: expected 'power cycle'"),
        ("reset now", "bad.gpse:1: 'reset' takes no arguments"),
        ("set $x", "bad.gpse:1: expected 'set $name HEX'"),
        ("set $x 0Z", "bad.gpse:1: set $x: 'Z' is not a hex digit"),
        ("scp03 open 4041 33", "bad.gpse:1: SCP03 keys are 16, 24 or 32 bytes"),
        ("scp03 open 404142434445464748494A4B4C4D4E4F 35", "bad.gpse:1: security level 35: one of 00 01 03 11 13 33"),
        (
            "scp03 open 404142434445464748494A4B4C4D4E4F 33 0011",
            "bad.gpse:1: expected 'scp03 open KEYS [KVN] LEVEL [HOST-CHALLENGE]'",
        ),
        ("scp03 shut", "bad.gpse:1: expected 'scp03 open …' or 'scp03 close'"),
        ("include", "bad.gpse:1: expected 'include FILE'"),
        ("include does-not-exist.gpse", "bad.gpse:1: include does-not-exist.gpse:"),
        ("80CA00CF00 => CF0A $k:x 9000", "bad.gpse:1: '$k:x': capture length is not a number"),
        ("80CA00CF00 $k:2", "bad.gpse:1: '$k:2': captures belong in an expected response"),
    ];
    for (text, want) in cases {
        let e = parse_text(p, text, Some(Format::Native)).unwrap_err().to_string();
        assert!(e.starts_with(want), "{text:?}: got {e:?}, want {want:?}");
    }
    // scriptor and apdutool files.
    let e = parse_text(Path::new("s.txt"), "00A4040000\nhello", Some(Format::Scriptor)).unwrap_err();
    assert_eq!(e.to_string(), "s.txt:2: not an APDU: 'h' is not a hex digit");
    let e = parse_text(Path::new("s.txt"), "00A4", Some(Format::Scriptor)).unwrap_err();
    assert_eq!(e.to_string(), "s.txt:1: a command APDU has at least 4 bytes, this has 2");
    let ap = |t: &str| parse_text(Path::new("a.scr"), t, Some(Format::Apdutool)).unwrap_err().to_string();
    assert_eq!(ap("powerup;\n0x00 0xA4 0x04 0x00 0x02 0x01 0x7F;"), "a.scr:2: LC says 2 data bytes, 1 are given");
    assert_eq!(ap("0x00 0xA4 0x04;"), "a.scr:1: a command is CLA INS P1 P2 LC [data] LE: 3 bytes here");
    assert_eq!(ap("0x00 0xA4 0x04 0x00 0x100 0x7F;"), "a.scr:1: '0x100' is not a byte");
    assert_eq!(ap("powerup;\n0x00 0xA4 0x04 0x00 0x00 0x7F"), "a.scr:2: statement without its closing ';'");
}

#[test]
fn include_cycles_are_refused() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.gpse"), "include b.gpse\n").unwrap();
    std::fs::write(d.path().join("b.gpse"), "00A4040000\ninclude a.gpse\n").unwrap();
    let e = parse_file(&d.path().join("a.gpse"), None).unwrap_err();
    assert!(e.to_string().contains("b.gpse:2: include cycle"), "{e}");
}

fn exec_scp(steps: &[Step], c: &mut Card, host_seed: u64, rec: Option<&mut Recorder>) -> Summary {
    let mut out = Vec::new();
    let mut opener = gpse::script::scp::opener(CardRng::new(Some(host_seed)));
    // Recordings name their keys `$keys` (issue #19 §8): the replay gives them.
    let mut opts = Options::default();
    opts.vars.insert("keys".into(), hex::decode("404142434445464748494A4B4C4D4E4F".repeat(3)).unwrap());
    run(steps, c, &opts, Some(&mut opener), &mut out, rec).unwrap()
}

#[test]
fn seeded_recording_with_scp03_and_key_generation_replays_byte_for_byte() {
    let steps = parse_file(&data("jpki-keygen.gpse"), None).unwrap();
    let mut rec = Recorder::new("seeded");
    let s = exec_scp(&steps, &mut card(11), 100, Some(&mut rec));
    assert_eq!(s.failed, 0);
    // The recording fixes the host challenge the runner chose and holds the exact public key.
    let open = rec.text().lines().find(|l| l.starts_with("scp03 open")).unwrap().to_string();
    assert_eq!(open.split_whitespace().count(), 6, "{open}");
    assert!(open.starts_with("scp03 open $keys "), "{open}");
    assert!(!rec.text().contains("404142434445464748494A4B4C4D4E4F"), "{}", rec.text());
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("rec.gpse");
    std::fs::write(&path, rec.text()).unwrap();
    let replay = parse_file(&path, None).unwrap();
    // Same card seed, another host RNG: the recorded challenge is used, every byte matches.
    let s = exec_scp(&replay, &mut card(11), 555, None);
    assert_eq!((s.failed, s.passed), (0, s.exchanges));
    // Another card seed: another key pair, the replay fails at the key generation line.
    let s = exec_scp(&replay, &mut card(12), 100, None);
    assert_eq!(s.failed, 1);
    let line = rec.text().lines().position(|l| l.starts_with("80470001000000 => 7F49")).unwrap() + 1;
    assert_eq!(s.failures[0].loc.line, line);
}
