//! `gpse send --scp03`: the plain exchange is printed, the wire only with -v, session keys only
//! with --show-keys.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use assert_cmd::Command;

fn gpse() -> Command {
    Command::cargo_bin("gpse").unwrap()
}

#[test]
fn send_over_scp03_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card");
    gpse().args(["card", "init", "--seed", "1", "--state"]).arg(&state).assert().success();
    for level in ["00", "01", "03", "11", "13", "33"] {
        let out = gpse()
            .args(["send", "--seed", "2", "--state"])
            .arg(&state)
            .args([
                "--scp03",
                "404142434445464748494A4B4C4D4E4F@01",
                "--level",
                level,
                "-v",
                "00A4040008A000000151000000",
                "80CA00CF00",
                "80CA00D300",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("< CF0A001122334455667788999000"), "{out}");
        let current = 0x80 | u8::from_str_radix(level, 16).unwrap();
        assert!(out.contains(&format!("< D301{current:02X}9000")), "{out}");
        assert!(out.contains(">> 8050010008"), "{out}");
        assert!(!out.contains("session keys"), "{out}");
    }
    let out = gpse()
        .args(["send", "--state"])
        .arg(&state)
        .args(["--scp03", "404142434445464748494A4B4C4D4E4F", "--level", "33", "--show-keys", "80CA00D300"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("# session keys: S-ENC "), "{out}");
    assert!(out.contains("< D301B39000"), "{out}");
    // Wrong keys: one line on stderr, exit 2.
    let err = gpse()
        .args(["send", "--state"])
        .arg(&state)
        .args(["--scp03", "00000000000000000000000000000000", "80CA00CF00"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(err).unwrap();
    assert!(err.contains("card cryptogram does not verify"), "{err}");
}

/// Issue #18 #12: `--s16` on `gpse send --scp03` and `gpse gp` (GPP's `--s16`) opens an S16
/// session on a card whose key set has i b1 set (`71`): INITIALIZE UPDATE carries a 16-byte host
/// challenge (Lc `10`), the card answers 48 bytes (AmdD v1.2 S16; `globalplatform.md` §A.5),
/// and EXTERNAL AUTHENTICATE carries a 16-byte host cryptogram (Lc `18` with the C-MAC).
/// Without the flag the same card refuses the 8-byte challenge with `6700`.
#[test]
fn s16_flag_opens_an_s16_session() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card");
    let profile = dir.path().join("s16.toml");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/default.toml")).unwrap();
    assert!(text.contains("scp_i = 0x70"));
    std::fs::write(&profile, text.replace("scp_i = 0x70", "scp_i = 0x71")).unwrap();
    gpse()
        .args(["card", "init", "--seed", "1", "--state"])
        .arg(&state)
        .arg("--profile")
        .arg(&profile)
        .assert()
        .success();
    let send = |s16: bool| {
        let mut c = gpse();
        c.args(["send", "--seed", "2", "--state"]).arg(&state).args([
            "--scp03",
            "404142434445464748494A4B4C4D4E4F",
            "--level",
            "33",
            "--host-challenge",
            "0001020304050607",
            "-v",
            "00A4040008A000000151000000",
            "80CA004200",
        ]);
        if s16 {
            c.arg("--s16");
        }
        c.assert()
    };
    let out = String::from_utf8(send(true).success().get_output().stdout.clone()).unwrap();
    // The given 8 bytes sent twice (OpenOptions::s16), KVN 00, Le 00.
    assert!(out.contains(">> 80500000100001020304050607000102030405060700"), "{out}");
    assert!(out.contains(">> 8482330018"), "{out}");
    assert!(out.contains("i 71"), "{out}");
    assert!(out.contains("< 4204475053459000"), "{out}");
    let err = String::from_utf8(send(false).code(2).get_output().stderr.clone()).unwrap();
    assert!(err.contains("6700"), "{err}");
    // gpse gp with --s16: the session opens and GET DATA works in it.
    let out =
        gpse().args(["gp", "info", "--s16", "--state"]).arg(&state).assert().success().get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("IIN:         47505345"), "{out}");
    let err = gpse().args(["gp", "info", "--state"]).arg(&state).assert().code(2).get_output().stderr.clone();
    assert!(String::from_utf8(err).unwrap().contains("6700"));
}
