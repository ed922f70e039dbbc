//! `gpse gp` round trip through the CLI: every step is a new process, so the card image is closed
//! and reopened between steps (each step survives a restart of the card).

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use assert_cmd::Command;
use std::path::Path;

fn gpse() -> Command {
    let mut c = Command::cargo_bin("gpse").unwrap();
    c.env_remove("GPSE_STATE");
    c
}

const CAP: &str = "vectors/gp-cap/testapp.cap";

fn gp(dir: &Path, args: &[&str]) -> String {
    let out =
        gpse().current_dir(env!("CARGO_MANIFEST_DIR")).arg("gp").arg("--state").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "gp {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn send(dir: &Path, apdus: &[&str]) -> String {
    let out = gpse().args(["send", "-q", "--state"]).arg(dir).args(apdus).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_cap_fixture_is_what_the_builder_writes() {
    let spec = gpse::gp::cap::AppletCapSpec {
        package_name: "gpse/testapp".into(),
        package_aid: "F04750534554455354".parse().unwrap(),
        version: [1, 1],
        applet_aid: "F0475053455445535401".parse().unwrap(),
    };
    let file = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(CAP)).unwrap();
    assert_eq!(file, gpse::gp::cap::build_applet_cap(&spec), "regenerate with `cargo run --example make_test_cap`");
}

#[test]
fn load_install_select_list_delete_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("card");
    gpse().args(["card", "init", "--state"]).arg(&dir).assert().success();
    // The package is in ROM on the default card: delete it (and its instance) first.
    assert!(gp(&dir, &["list"]).contains("PKG: F04750534554455354 (LOADED)"));
    assert_eq!(gp(&dir, &["delete", "--related", "F04750534554455354"]), "deleted F04750534554455354\n");
    assert!(!gp(&dir, &["list"]).contains("F04750534554455354"));
    assert_eq!(gp(&dir, &["load", CAP]), "loaded F04750534554455354 v1.1\n  applet F0475053455445535401\n");
    let l = gp(&dir, &["list"]);
    assert!(l.contains("PKG: F04750534554455354 (LOADED)\n     Parent:  A000000151000000\n     Version: 1.1\n     Applet:  F0475053455445535401\n"), "{l}");
    assert_eq!(
        gp(&dir, &["install", "--cap", CAP, "--create", "F0475053455445535402"]),
        "installed F0475053455445535402 from F04750534554455354 module F0475053455445535401\n"
    );
    // SELECT it and talk to it (the native test applet: echo).
    assert_eq!(send(&dir, &["00A404000AF0475053455445535402", "8001000002CAFE00"]), "9000\nCAFE9000\n");
    let l = gp(&dir, &["list"]);
    assert!(l.contains("APP: F0475053455445535402 (SELECTABLE)\n     Privs:   \n     Parent:  A000000151000000\n     From:    F04750534554455354\n"), "{l}");
    // Its state survives too: the persistent counter of the test applet.
    assert_eq!(send(&dir, &["00A404000AF0475053455445535402", "8003000000"]), "9000\n000000019000\n");
    assert_eq!(send(&dir, &["00A404000AF0475053455445535402", "8003000000"]), "9000\n000000029000\n");
    // Deleting the ELF alone is refused while the instance lives.
    let out = gpse().arg("gp").arg("--state").arg(&dir).args(["delete", "F04750534554455354"]).output().unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "gpse: DELETE F04750534554455354: card answered 6985 (conditions of use not satisfied)\n"
    );
    assert_eq!(gp(&dir, &["delete", "--related", "F04750534554455354"]), "deleted F04750534554455354\n");
    let l = gp(&dir, &["list"]);
    assert!(!l.contains("F04750534554455354"), "{l}");
    assert_eq!(send(&dir, &["00A404000AF0475053455445535402"]), "6A82\n");
}

#[test]
fn put_key_then_open_with_kvn_30_and_lock_unlock() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("card");
    gpse().args(["card", "init", "--state"]).arg(&dir).assert().success();
    let k30 = "303132333435363738393A3B3C3D3E3F";
    let kcv = hex::encode_upper(gpse::scp03::kdf::kcv(&hex::decode(k30).unwrap()).unwrap());
    assert_eq!(
        gp(&dir, &["put-key", "--new-kvn", "30", "--new-keys", k30]),
        format!("key set 30 stored, KCVs ENC {kcv}, MAC {kcv}, DEK {kcv}\n")
    );
    let info = gp(&dir, &["--kvn", "30", "--keys", k30, "--level", "33", "info"]);
    assert!(info.contains("Key:         version 30 id 03 AES-128"), "{info}");
    // Wrong keys for KVN 30: the card cryptogram does not verify.
    let out = gpse().arg("gp").arg("--state").arg(&dir).args(["--kvn", "30", "list"]).output().unwrap();
    assert!(!out.status.success());
    // Lock and unlock the test applet and the card.
    gp(&dir, &["lock", "F0475053455445535401"]);
    assert_eq!(send(&dir, &["00A404000AF0475053455445535401"]), "6A82\n");
    gp(&dir, &["unlock", "F0475053455445535401"]);
    assert_eq!(send(&dir, &["00A404000AF0475053455445535401"]), "9000\n");
    assert_eq!(gp(&dir, &["lock", "--card"]), "card locked\n");
    assert_eq!(send(&dir, &["00A404000AF0475053455445535401"]), "6A82\n");
    assert!(gp(&dir, &["list"]).contains("ISD: A000000151000000 (CARD_LOCKED)"));
    assert_eq!(gp(&dir, &["unlock", "--card"]), "card unlocked\n");
    assert_eq!(gp(&dir, &["create-ssd", "A00000015153504101"]), "created SSD A00000015153504101\n");
    assert!(gp(&dir, &["--sd", "A00000015153504101", "info"]).contains("SD:          A00000015153504101"));
    assert!(gp(&dir, &["list"]).contains("SSD: A00000015153504101 (SELECTABLE)"));
}

/// `Cipher(algorithms.AES(00112233445566778899AABBCCDDEEFF), modes.ECB()).encryptor().update(b"\x01" * 16)[:3]`.
const AES_KCV: &str = "3544E0";

/// Issue #18 #11 through the CLI: `gp put-dap-key` puts the RSA public key of a PEM file into an
/// SSD with DAP Verification (PUT KEY `80D80001 … 73 A1 80 n A0 03 010001 00`, answered `73`),
/// and `gp load --dap-key` sends the DAP block `E2 81 8E {4F SSD, C3 81 80 signature}` before
/// `C4` (GPCS T11-58). The key is `tests/data/dap-rsa1024.pem`, the key of
/// `gp_card::dap_verification_on_load`, where the signature is checked against Python's.
#[test]
fn load_with_a_dap_block() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("card");
    gpse().args(["card", "init", "--state"]).arg(&dir).assert().success();
    let ssd = "A00000015153504101";
    gp(&dir, &["create-ssd", ssd, "--privs", "C00000"]);
    let pem = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/dap-rsa1024.pem");
    assert_eq!(gp(&dir, &["--sd", ssd, "put-dap-key", pem]), "RSA DAP public key stored as key 01 of version 73\n");
    assert!(gp(&dir, &["--sd", ssd, "info"]).contains("Key:         version 73 id 01 RSA-1024\n"));
    let spec = gpse::gp::cap::AppletCapSpec {
        package_name: "t/p".into(),
        package_aid: "F0475053455445535F".parse().unwrap(),
        version: [1, 1],
        applet_aid: "F0475053455445535F01".parse().unwrap(),
    };
    let cap = d.path().join("a.cap");
    std::fs::write(&cap, gpse::gp::cap::build_applet_cap(&spec)).unwrap();
    let cap = cap.to_str().unwrap();
    // Without the DAP the SSD refuses the load.
    let out = gpse().arg("gp").arg("--state").arg(&dir).args(["load", cap, "--to", ssd]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("6A80"));
    let out = gpse()
        .arg("gp")
        .arg("--state")
        .arg(&dir)
        .args(["-d", "load", cap, "--to", ssd, "--dap-key", pem])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "loaded F0475053455445535F v1.1\n  applet F0475053455445535F01\n");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(trace.contains("E2818E4F09A00000015153504101C381804E5FAB8837857FF4"), "{trace}");
    assert!(gp(&dir, &["list"]).contains("PKG: F0475053455445535F (LOADED)\n     Parent:  A00000015153504101\n"));
    // An SSD with Mandated DAP Verification and an AES DAP key: every load needs its CMAC.
    let msd = "A00000015153504102";
    gp(&dir, &["create-ssd", msd, "--privs", "C10000"]);
    let aes = d.path().join("dap-aes.hex");
    std::fs::write(&aes, "00112233445566778899AABBCCDDEEFF\n").unwrap();
    let aes = aes.to_str().unwrap();
    let out = gp(&dir, &["--sd", msd, "put-dap-key", aes]);
    // KCV: AES-ECB(key, 01×16)[..3] (AmdD §7.2.2), from python3 `cryptography`.
    assert_eq!(out, format!("AES DAP key stored as key 01 of version 73, KCV {AES_KCV}\n"));
    gp(&dir, &["delete", "--related", "F0475053455445535F"]);
    let out = gpse().arg("gp").arg("--state").arg(&dir).args(["load", cap]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(gp(&dir, &["load", cap, "--dap-key", aes, "--dap-sd", msd]).starts_with("loaded F0475053455445535F"));
}
