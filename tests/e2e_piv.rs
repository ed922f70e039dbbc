//! End to end (issue #16): OpenFIPS201, a PIV Card Application (`../shared/javacard/caps/
//! openfips201.cap`, makinako/OpenFIPS201 @8f8d7097), installed from its CAP, pre-personalised
//! over its own SCP03 session with `gpse send --scp03` (the commands of its documentation:
//! `common::piv`), then used through pcscd + vpcd + `gpse serve` by the PIV clients people use:
//!
//! - `opensc-tool -n` names OpenSC's PIV driver's card;
//! - `yubico-piv-tool -a generate` (9B mutual authentication with the 3DES administration key,
//!   then GENERATE ASYMMETRIC KEY PAIR for 9A) makes the RSA-2048 key in the applet and writes
//!   its public key;
//! - OpenSC's `pkcs15-tool -D` lists the PIN, the data objects and the 9A key, and `pkcs11-tool`
//!   (OpenSC's PKCS#11 module) logs in with the PIN and signs with 9A (SHA256-RSA-PKCS);
//! - `openssl dgst -verify` checks that signature with the public key from the key generation.
//!
//! Why not OpenSC alone for the key generation: OpenSC's PIV PKCS#11 has no C_GenerateKeyPair
//! ("Generate RSA mechanism not supported"), and Debian 12's OpenSC 0.23 `piv-tool -G` fails on
//! the host after the card generated the key (OpenSC issue #3156, fixed in 0.25), as does its
//! external authentication (`-A A:…`, a length check); so the key comes from Yubico's tool, and
//! OpenSC is told the public key through `PIV_9A_KEY`, as OpenSC's own CI does (`.github/
//! test-piv.sh`) for a card with no certificate yet.
//!
//! Marked `#[ignore]` (one pcscd serves the machine): scripts/test runs it with `--ignored`.

// Test code: a failing unwrap is a failing run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod common;

use common::e2e::*;
use common::piv::{personalisation, ADMIN_KEY, PIN, PIV};
use std::process::Command;

fn ok(cmd: &str, args: &[&str], env: &[(&str, &str)], serve: &Serve) -> String {
    client_ok("e2e_piv", cmd, args, env, serve)
}

#[test]
#[ignore = "needs pcscd + vpcd + OpenSC + yubico-piv-tool: scripts/test runs it with --ignored (GPSE_E2E=0 skips)"]
fn e2e_piv() {
    let _pcscd = Pcscd::get();
    let (tmp, images, card) = card_with_shared_cap("openfips201.cap");
    let card_s = card.as_str();
    // Pre-personalisation: SELECT the PIV application, then its commands wrapped at C-MAC +
    // C-DECRYPTION in the session `gpse send --scp03` opens with the selected applet (which
    // hands INITIALIZE UPDATE and EXTERNAL AUTHENTICATE to SecureChannel.processSecurity).
    let select = format!("00A404000B{PIV}");
    let mut args = vec!["send", "--state", card_s, "-q", "--scp03", common::capcard::K, "--level", "03", &select];
    let perso = personalisation();
    args.extend(perso.iter().map(String::as_str));
    let out = gpse_ok(&args);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), perso.len() + 1, "{out}");
    assert!(lines[0].ends_with("9000"), "SELECT: {out}");
    assert!(lines[1..].iter().all(|l| *l == "9000"), "every personalisation command answers 9000:\n{out}");

    let serve = Serve::start(&images, &["-v"]);
    drop(wait_card(R0, &serve));
    let name = ok("opensc-tool", &["-r", R0, "-n"], &[], &serve);
    assert_eq!(name.trim(), "Personal Identity Verification Card", "opensc-tool -n names the PIV driver's card");

    let pem = tmp.path().join("9a.pem");
    let gen = ok(
        "yubico-piv-tool",
        &[
            "-r",
            R0,
            &format!("--key={ADMIN_KEY}"),
            "-a",
            "generate",
            "-s",
            "9a",
            "-A",
            "RSA2048",
            "-o",
            pem.to_str().unwrap(),
        ],
        &[],
        &serve,
    );
    assert!(gen.contains("Successfully generated a new private key"), "{gen}");
    let der = tmp.path().join("9a.der");
    let conv = Command::new("openssl")
        .args(["pkey", "-pubin", "-in", pem.to_str().unwrap(), "-outform", "DER", "-out", der.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(conv.success(), "openssl pkey: the generated public key is a PEM SubjectPublicKeyInfo");
    let text = Command::new("openssl")
        .args(["pkey", "-pubin", "-in", pem.to_str().unwrap(), "-text", "-noout"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Public-Key: (2048 bit)") && text.contains("Exponent: 65537"), "{text}");
    let env = [("PIV_9A_KEY", der.to_str().unwrap())];

    let dump = ok("pkcs15-tool", &["-r", R0, "-D"], &env, &serve);
    assert!(dump.contains("PIN [PIN]") && dump.contains("PIN [PIV PUK]"), "pkcs15-tool -D:\n{dump}");
    assert!(dump.contains("Private RSA Key [PIV AUTH key]"), "pkcs15-tool -D:\n{dump}");
    assert!(dump.contains("ModLength      : 2048"), "pkcs15-tool -D:\n{dump}");

    let data = tmp.path().join("data");
    std::fs::write(&data, b"signed by OpenFIPS201 under gpse").unwrap();
    let sig = tmp.path().join("sig");
    let signed = ok(
        "pkcs11-tool",
        &[
            "--module",
            &pkcs11_module(),
            "-l",
            "-p",
            PIN,
            "--sign",
            "-m",
            "SHA256-RSA-PKCS",
            "--id",
            "01",
            "-i",
            data.to_str().unwrap(),
            "-o",
            sig.to_str().unwrap(),
        ],
        &env,
        &serve,
    );
    assert!(signed.contains("Using signature algorithm SHA256-RSA-PKCS"), "{signed}");
    assert_eq!(std::fs::metadata(&sig).unwrap().len(), 256);
    let verified = ok(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-verify",
            pem.to_str().unwrap(),
            "-signature",
            sig.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
        &[],
        &serve,
    );
    assert!(verified.contains("Verified OK"), "{verified}");
    // The log never shows the PIN (VERIFY's data is masked).
    assert!(!serve.log().contains(&hex::encode_upper(PIN)), "the PIN is not in the serve log");
    say("e2e_piv: openfips201 personalised over SCP03, key generation (yubico-piv-tool), pkcs15-tool -D, pkcs11-tool signature verified by openssl");
}
