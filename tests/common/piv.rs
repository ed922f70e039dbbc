//! OpenFIPS201 (PIV, `../shared/javacard/caps/openfips201.cap`, makinako/OpenFIPS201 @8f8d7097):
//! its pre-personalisation, as the project's documentation and example scripts do it, shared by
//! the in-process test (`tests/jcvm_piv.rs`) and the end to end one (`tests/e2e_piv.rs`).

/// The PIV Card Application AID (SP 800-73-4 Part 1 §2.2, with version `0100`).
pub const PIV: &str = "A000000308000010000100";

/// The 9B (PIV Card Application Administration) key: the 3DES key PIV tools default to
/// (yubico-piv-tool's and OpenSC's tests), `0102030405060708` three times.
pub const ADMIN_KEY: &str = "010203040506070801020304050607080102030405060708";

/// The PIN set (6 ASCII digits padded with `FF` to 8 bytes, SP 800-73-4 Part 2 §2.4.3) and
/// the PUK.
pub const PIN: &str = "123456";
pub const PUK: &str = "12345678";

/// The pre-personalisation commands, plain; each needs the applet's own SCP03 session at
/// C-MAC + C-DECRYPTION (its `putDataAdmin` and `changeReferenceDataAdmin`):
/// PUT DATA `00 DB 3F 00` creates the data objects and the keys (tag 30: 8A operation (01 data
/// object, 02 key), 8B id, 8C contact and 8D contactless access modes (7F always, 01 PIN,
/// 02 PIN always, 00 never), 8E mechanism, 8F role), CHANGE REFERENCE DATA `00 24 03 9B` sets
/// the 3DES administration key, `00 24 FF 80` / `81` the PIN and the PUK.
pub fn personalisation() -> Vec<String> {
    let mut apdus = Vec::new();
    // CCC (07), CHUID (02), the certificates (05 PIV authentication, 0A digital signature,
    // 0B key management, 01 card authentication), the security object (06), the discovery
    // object (7E) and the key history object (0C).
    for (id, contactless) in [
        ("07", "00"),
        ("02", "7F"),
        ("05", "00"),
        ("0A", "00"),
        ("0B", "00"),
        ("01", "7F"),
        ("06", "00"),
        ("7E", "7F"),
        ("0C", "00"),
    ] {
        apdus.push(format!("00DB3F000E300C8A01018B01{id}8C017F8D01{contactless}"));
    }
    // Keys: 9A PIV authentication (RSA-2048 07, PIN), 9B administration (3DES 03, role 03),
    // 9C digital signature (RSA-2048, PIN always), 9D key management, 9E card authentication.
    for (id, contact, mech, role) in [
        ("9A", "01", "07", "04"),
        ("9B", "7F", "03", "03"),
        ("9C", "02", "07", "04"),
        ("9D", "01", "07", "04"),
        ("9E", "7F", "07", "04"),
    ] {
        apdus.push(format!("00DB3F001430128A01028B01{id}8C01{contact}8D01008E01{mech}8F01{role}"));
    }
    apdus.push(format!("0024039B1C301A8018{ADMIN_KEY}"));
    apdus.push(format!("0024FF8008{}FFFF", hex::encode_upper(PIN)));
    apdus.push(format!("0024FF8108{}", hex::encode_upper(PUK)));
    apdus
}
