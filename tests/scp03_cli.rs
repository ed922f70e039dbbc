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
