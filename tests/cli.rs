//! The `gpse` binary as users call it: output lines, exit codes, one-line errors, nothing damaged.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use assert_cmd::Command;
use std::fs;
use std::path::Path;

fn gpse() -> Command {
    let mut c = Command::cargo_bin("gpse").unwrap();
    c.env_remove("GPSE_STATE");
    c
}

fn init(dir: &Path) {
    gpse().args(["card", "init", "--state"]).arg(dir).assert().success();
}

fn stderr_line(out: &std::process::Output) -> String {
    let e = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(e.lines().count(), 1, "error must be one line: {e:?}");
    e
}

#[test]
fn init_then_send_prints_command_and_response_lines() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("card");
    init(&dir);
    // `00` is no command APDU: only --raw sends it.
    let out = gpse()
        .args(["send", "--raw", "--state"])
        .arg(&dir)
        .args(["00A4040008A000000151000000", "00", "80 ca 9f 7f 00"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(
        lines,
        vec![
            "> 00A4040008A000000151000000",
            "< 6F5D8408A000000151000000A551734B06072A864886FC6B01600B06092A864886FC6B020203630906072A864886FC6B03640B06092A864886FC6B040370650D060B2A864886FC6B0507020000660C060A2B060104012A026E01039F6501FF9000",
            "> 00",
            "< 6700",
            "> 80CA9F7F00",
            "< 9F7F2A4790516747916075030261001234567800014812611048126120000000000000000000000000000000009000",
        ]
    );
}

#[test]
fn quiet_prints_only_responses() {
    let d = tempfile::tempdir().unwrap();
    init(d.path());
    let out = gpse()
        .args(["send", "-q", "--state"])
        .arg(d.path())
        .args(["00A4040C08A000000151000000", "80CA004500"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "9000\n450801020304050607089000\n");
}

#[test]
fn verbose_decodes_status_and_tlv() {
    let d = tempfile::tempdir().unwrap();
    init(d.path());
    let out = gpse().args(["send", "-v", "--state"]).arg(d.path()).arg("00A4040008A000000151000000").output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("status: 9000 normal processing"), "{s}");
    assert!(s.contains("84: A000000151000000"), "{s}");
}

#[test]
fn foreign_or_truncated_image_is_one_line_error_and_untouched() {
    let d = tempfile::tempdir().unwrap();
    init(d.path());
    let img = d.path().join("card.gpse");
    let good = fs::read(&img).unwrap();
    for (bytes, what) in
        [(b"PK\x03\x04 some zip".to_vec(), "not a gpse card image"), (good[..good.len() / 2].to_vec(), "truncated")]
    {
        fs::write(&img, &bytes).unwrap();
        let out = gpse().args(["send", "--state"]).arg(d.path()).arg("00A4040000").output().unwrap();
        assert!(!out.status.success());
        let e = stderr_line(&out);
        assert!(e.contains(what) && e.contains("card.gpse"), "{e}");
        assert!(out.stdout.is_empty());
        assert_eq!(fs::read(&img).unwrap(), bytes, "the image must not be rewritten");
        // `card init` refuses too, and leaves it.
        let out = gpse().args(["card", "init", "--state"]).arg(d.path()).output().unwrap();
        assert!(!out.status.success());
        assert!(stderr_line(&out).contains("already exists"));
        assert_eq!(fs::read(&img).unwrap(), bytes);
    }
}

#[test]
fn missing_image_and_bad_hex_are_clear() {
    let d = tempfile::tempdir().unwrap();
    let out = gpse().args(["send", "--state"]).arg(d.path()).arg("00A4040000").output().unwrap();
    assert!(!out.status.success());
    assert!(stderr_line(&out).contains("no card image here"));
    init(d.path());
    let before = fs::read(d.path().join("card.gpse")).unwrap();
    // The second APDU is bad: nothing is sent, not even the first.
    let out = gpse()
        .args(["send", "--state"])
        .arg(d.path())
        .args(["00A404000AF0475053455445535401", "80030000zz"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr_line(&out).contains("APDU 2"));
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read(d.path().join("card.gpse")).unwrap(), before);
}

#[test]
fn init_with_overrides_and_info() {
    let d = tempfile::tempdir().unwrap();
    let k = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";
    gpse()
        .args(["card", "init", "--state"])
        .arg(d.path())
        .args(["--keys", &format!("{k}:{k}:{k}"), "--kvn", "0x31", "--seq-counter", "5"])
        .assert()
        .success();
    let out = gpse().args(["card", "info", "--state"]).arg(d.path()).output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("KVN 31 AES-256 i=70 sequence counter 000005"), "{s}");
    assert!(!s.contains("000102030405"), "key bytes must never be printed");
    // Bad overrides: one line, nothing created.
    let d2 = tempfile::tempdir().unwrap();
    let out =
        gpse().args(["card", "init", "--state"]).arg(d2.path()).args(["--keys", "0011:0011:0011"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr_line(&out).contains("16, 24 or 32 bytes"));
    assert!(!d2.path().join("card.gpse").exists());
}

#[test]
fn version_and_help() {
    let out = gpse().arg("--version").output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("gpse {}\n", env!("CARGO_PKG_VERSION")));
    let out = gpse().arg("--help").output().unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("Examples:"));
}

#[test]
fn run_replays_scripts_records_and_reports() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let d = tempfile::tempdir().unwrap();
    init(d.path());
    let out = gpse().args(["run", "--state"]).arg(d.path()).arg(data.join("native-basic.gpse")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.ends_with("native-basic.gpse: 14 exchanges, 14 expectations met, 0 not met\n"), "{s}");
    // Record on a fresh seeded card, replay it.
    let rec = d.path().join("rec.gpse");
    let out = gpse()
        .args(["run", "--fresh", "--seed", "5", "-q", "--record"])
        .arg(&rec)
        .arg(data.join("apdutool.scr"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = fs::read_to_string(&rec).unwrap();
    assert!(text.starts_with("# recorded by gpse"), "{text}");
    assert!(text.contains("80010000030102037F => 0102039000"), "{text}");
    let out = gpse().args(["run", "--fresh", "--seed", "5", "-q"]).arg(&rec).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // A mismatch: exit 1 and the line.
    let bad = d.path().join("bad.gpse");
    fs::write(&bad, "00A4040008A000000151000000 => 6A82\n").unwrap();
    let out = gpse().args(["run", "--fresh", "-q"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("bad.gpse:1: response mismatch"));
    // A malformed script: exit 2, one line, nothing sent to the card.
    let before = fs::read(d.path().join("card.gpse")).unwrap();
    fs::write(&bad, "00A404000AF0475053455445535401\n8003000000\nchannel 99\n").unwrap();
    let out = gpse().args(["run", "--state"]).arg(d.path()).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_line(&out).contains("bad.gpse:3: channel '99'"));
    assert_eq!(fs::read(d.path().join("card.gpse")).unwrap(), before);
}
