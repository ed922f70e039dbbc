//! OpenFIPS201 (PIV, `../shared/javacard/caps/openfips201.cap`, makinako/OpenFIPS201 @8f8d7097)
//! in process, issue #16: LOAD + INSTALL over SCP03, SELECT of the PIV AID, GET DATA before
//! personalisation. Personalisation (PUT DATA P2=00 over SCP03 C-ENC+C-MAC) and the OpenSC
//! end-to-end run are not here yet: they need `GPSystem.getCVM(CVM_GLOBAL_PIN)` (the applet's
//! `CVMPIN` calls `CVM.isVerified()` on it), which still answers `null`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod common;

use common::capcard::{aid, load_install, new_card, select, shared_cap, tx};

/// The PIV Card Application AID (SP 800-73-4 Part 1 §2.2, with version `0100`).
const PIV: &str = "A000000308000010000100";

/// The applet's Application Property Template (its `Config.DEFAULT_APT`, SP 800-73-4 Part 1
/// §3.1.1): AID, coexistent tag allocation authority, label "OpenFIPS201", the SP 800-73-4 URL,
/// and the algorithm template AC (00, 03, 08, 0A, 0C, 06, 07).
fn apt() -> String {
    let url = hex::encode_upper(b"http://nvlpubs.nist.gov/nistpubs/SpecialPublications/NIST.SP.800-73-4.pdf");
    let label = hex::encode_upper(b"OpenFIPS201");
    format!(
        "618189 4F0BA000000308000010000100 79074F05A000000308 500B{label} 5F5049{url} \
         AC18 800100 800103 800108 80010A 80010C 800106 800107 060100"
    )
    .replace(' ', "")
}

#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn openfips201_installs_selects_and_answers_get_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = new_card(dir.path());
    load_install(&mut c, &shared_cap("openfips201.cap"), None, &[]);
    assert_eq!(select(&mut c, &aid(PIV)), format!("{}9000", apt()));
    // GET DATA of the CHUID (5FC102) before personalisation: no such object in the applet's
    // empty data store, SW_FILE_NOT_FOUND (its PIV.getData).
    assert_eq!(tx(&mut c, "00CB3FFF055C035FC10200"), "6A82");
    // P1 P2 other than 3F FF: 6A86 (its processPIV_GET_DATA).
    assert_eq!(tx(&mut c, "00CB3F00055C035FC10200"), "6A86");
}
