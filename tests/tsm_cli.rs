//! The SP-TSM and app operations through the CLI: set-up with the test CA, activation, a
//! signature that verifies against the stored certificate, reset, erase.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use assert_cmd::Command;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

fn gpse() -> Command {
    let mut c = Command::cargo_bin("gpse").unwrap();
    c.env_remove("GPSE_STATE");
    c
}

fn out(args: &[&str], state: &std::path::Path) -> String {
    let o = gpse().args(&args[..1]).arg("--state").arg(state).args(&args[1..]).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn setup_activate_sign_reset_erase() {
    let d = tempfile::tempdir().unwrap();
    let st = d.path().join("card");
    let ca = d.path().join("ca");
    let certs = d.path().join("certs");
    gpse().args(["card", "init", "--state"]).arg(&st).assert().success();
    out(
        &[
            "tsm",
            "setup",
            "--design",
            "blocked",
            "--ca-dir",
            ca.to_str().unwrap(),
            "--out-dir",
            certs.to_str().unwrap(),
        ],
        &st,
    );
    assert_eq!(
        out(&["tsm", "status"], &st),
        "auth: temporary PIN, 0 of 3 tries left, blocked\nsign: temporary PIN, 0 of 5 tries left, blocked\n"
    );
    // Design a: the app cannot activate before the SP-TSM releases the PIN.
    let o = gpse()
        .args(["tsm", "--state"])
        .arg(&st)
        .args(["activate", "--pair", "auth", "--temp-pin", "0000", "--pin", "1234"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("6984"));
    out(&["tsm", "unblock", "--pair", "auth"], &st);
    out(&["tsm", "activate", "--pair", "auth", "--temp-pin", "0000", "--pin", "1234"], &st);
    // Sign a file and check the signature against the certificate the CA issued.
    let doc = d.path().join("doc.txt");
    std::fs::write(&doc, b"gpse").unwrap();
    let sig = d.path().join("doc.sig");
    out(
        &[
            "jpki",
            "sign",
            "--pair",
            "auth",
            "--pin",
            "1234",
            "--file",
            doc.to_str().unwrap(),
            "--out",
            sig.to_str().unwrap(),
        ],
        &st,
    );
    let cert = std::fs::read(certs.join("auth.crt")).unwrap();
    let pk = pubkey(&cert);
    let mut di = hex::decode("3031300D060960864801650304020105000420").unwrap();
    di.extend(Sha256::digest(b"gpse"));
    pk.verify(Pkcs1v15Sign::new_unprefixed(), &di, &std::fs::read(&sig).unwrap()).unwrap();
    // The PEM the app reads is the same certificate.
    let pem = out(&["jpki", "read-cert", "--pair", "auth", "--pin", "1234"], &st);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    // Reset and erase.
    out(&["tsm", "reset-pin", "--pair", "auth", "--pin", "9999"], &st);
    assert!(out(&["tsm", "status"], &st).starts_with("auth: temporary PIN, 3 of 3 tries left\n"));
    out(&["tsm", "erase-pair", "--pair", "sign"], &st);
    assert!(out(&["tsm", "status"], &st).ends_with("sign: empty, 0 of 5 tries left\n"));
    // A second set-up of the erased pair reuses the saved CA.
    out(&["tsm", "setup", "--pairs", "sign", "--ca-dir", ca.to_str().unwrap()], &st);
    // Wrong SD keys: refused, nothing changed.
    let before = std::fs::read(st.join("card.gpse")).unwrap();
    let o = gpse()
        .args(["tsm", "--state"])
        .arg(&st)
        .args(["--keys", "00112233445566778899AABBCCDDEEFF", "erase-pair", "--pair", "auth"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("card cryptogram does not verify"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after = std::fs::read(st.join("card.gpse")).unwrap();
    // Only the SCP03 sequence counter moved (INITIALIZE UPDATE increments it first, AmdD §6.2.2.1).
    assert_eq!(before.len(), after.len());
}

fn pubkey(der: &[u8]) -> RsaPublicKey {
    use der::{Decode, Encode};
    let c = x509_cert::Certificate::from_der(der).unwrap();
    RsaPublicKey::from_public_key_der(&c.tbs_certificate.subject_public_key_info.to_der().unwrap()).unwrap()
}
