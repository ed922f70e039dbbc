//! End to end (issue #16): Yubico's ykneo-openpgp applet (`../shared/javacard/caps/
//! ykneo-openpgp.cap`, an OpenPGP card 2.0 whose RSA keys are made in the applet) installed from
//! its CAP and driven through pcscd + vpcd + `gpse serve` by the command sequence OpenSC's own CI
//! runs against jCardSim (OpenSC `.github/test-openpgp.sh`): `opensc-tool -n`, `openpgp-tool
//! --gen-key`, `pkcs15-init --generate-key rsa/2048`, `pkcs11-tool -l -t`; then GnuPG's
//! scdaemon (its own PC/SC driver, no OpenSC) reads the card with `gpg --card-status`.
//!
//! Marked `#[ignore]` (one pcscd serves the machine): scripts/test runs it with `--ignored`.

// Test code: a failing unwrap is a failing run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod common;

use common::e2e::*;
use std::path::Path;
use std::process::Command;

/// OpenPGP card AID with the applet's serial number 00000001 (OpenPGP card spec v2.0 §4.2.1).
const OPENPGP_AID: &str = "D2760001240102000000000000010000";

/// Runs an OpenSC tool and asserts it succeeded; its output.
fn ok(cmd: &str, args: &[&str], serve: &Serve) -> String {
    client_ok("e2e_openpgp", cmd, args, &[], serve)
}

#[test]
#[ignore = "needs pcscd + vpcd + OpenSC + GnuPG scdaemon: scripts/test runs it with --ignored (GPSE_E2E=0 skips)"]
fn e2e_openpgp() {
    let _pcscd = Pcscd::get();
    let (tmp, images, _card) = card_with_shared_cap("ykneo-openpgp.cap");
    let serve = Serve::start(&images, &[]);
    drop(wait_card(R0, &serve));

    // The sequence of OpenSC's .github/test-openpgp.sh (its first line is jCardSim's own
    // install command; here the CAP was installed through the ISD above).
    let name = ok("opensc-tool", &["-r", R0, "-n"], &serve);
    assert!(name.contains("OpenPGP card v2.0"), "opensc-tool -n: {name}");
    let gen = ok("openpgp-tool", &["-r", R0, "--verify", "CHV3", "--pin", "12345678", "--gen-key", "2"], &serve);
    let fpr: String =
        gen.split("Fingerprint:").nth(1).expect("openpgp-tool printed no fingerprint").split_whitespace().collect();
    assert_eq!(fpr.len(), 40, "a v4 fingerprint is 20 bytes: {gen}");
    let init = ok(
        "pkcs15-init",
        &[
            "-r",
            R0,
            "--verify",
            "--auth-id",
            "3",
            "--pin",
            "12345678",
            "--delete-objects",
            "privkey,pubkey",
            "--id",
            "2",
            "--generate-key",
            "rsa/2048",
        ],
        &serve,
    );
    assert!(init.contains("Deleted 2 objects"), "pkcs15-init: {init}");
    let p11 = ok("pkcs11-tool", &["--module", &pkcs11_module(), "-l", "-t", "-p", "123456"], &serve);
    assert!(p11.contains("RSA-PKCS: OK") && p11.contains("No errors"), "pkcs11-tool -t:\n{p11}");

    // GnuPG: scdaemon with its internal PC/SC driver, in a private GNUPGHOME.
    let home = tmp.path().join("gnupg");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let lib = ["/usr/lib/x86_64-linux-gnu/libpcsclite.so.1", "/usr/lib/aarch64-linux-gnu/libpcsclite.so.1"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("libpcsclite.so.1 (package libpcsclite1)");
    std::fs::write(home.join("scdaemon.conf"), format!("disable-ccid\npcsc-driver {lib}\nreader-port {R0}\n")).unwrap();
    let gpg = |args: &[&str]| {
        Command::new("timeout")
            .arg("60")
            .arg("gpg")
            .arg("--homedir")
            .arg(&home)
            .arg("--batch")
            .args(args)
            .output()
            .unwrap()
    };
    let o = gpg(&["--card-status"]);
    let status = String::from_utf8_lossy(&o.stdout).to_string();
    let _ = Command::new("gpgconf").arg("--homedir").arg(&home).args(["--kill", "all"]).status();
    assert!(o.status.success(), "gpg --card-status: {}\n{status}\n{}", o.status, String::from_utf8_lossy(&o.stderr));
    assert!(status.contains(&format!("Application ID ...: {OPENPGP_AID}")), "gpg --card-status:\n{status}");
    assert!(status.contains("Version ..........: 2.0"), "gpg --card-status:\n{status}");
    // The encryption key made by pkcs15-init above: its fingerprint is on the card (C5).
    let enc = status.lines().find(|l| l.starts_with("Encryption key")).expect("no encryption key line");
    let enc: String = enc.split(':').nth(1).unwrap().split_whitespace().collect();
    assert_eq!(enc.len(), 40, "gpg shows the encryption key's fingerprint: {status}");
    say("e2e_openpgp: ykneo-openpgp through OpenSC (opensc-tool, openpgp-tool, pkcs15-init, pkcs11-tool) and gpg --card-status");
}
