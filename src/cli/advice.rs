//! Errors with advice: the status word a card answered, turned into what a user should do next.
//! Each function knows the command that failed, so the advice is about that command (a `6985`
//! means "erase first" after GENERATE KEY PAIR and something else after INSTALL).

use super::Fail;
use gpse::host::jpki::{JpkiClient, JpkiError, PinStatus};
use gpse::proto::jpki::{pin_well_formed, PairId as Pair};
use gpse::sw::Sw;

/// The pair's name as the command line writes it.
pub fn pair_name(p: Pair) -> &'static str {
    match p {
        Pair::Auth => "auth",
        Pair::Sign => "sign",
    }
}

/// Checks a PIN's format on the host, before a VERIFY spends a try on it: the JPKI applet
/// counts any wrong bytes as a wrong PIN (`applet-spec/jpki.md`, VERIFY), and refuses a new PIN
/// of the wrong format with `6A80` (CHANGE REFERENCE DATA). Auth: 4 ASCII digits; sign: 6-16
/// of `A-Z0-9` (J§4).
pub fn pin_format(pair: Pair, what: &str, pin: &str) -> Result<(), Fail> {
    if pin_well_formed(pair, pin.as_bytes()) {
        return Ok(());
    }
    let rule = match pair {
        Pair::Auth => "4 digits",
        Pair::Sign => "6 to 16 characters of A-Z and 0-9",
    };
    Err(Fail::from(format!("{what}: the {} PIN is {rule}; nothing was sent to the card", pair_name(pair))))
}

/// A failed JPKI user-path operation on `pair`, with advice. A wrong PIN is exit 1 with the tries
/// left; the rest exit 2.
pub fn jpki(c: &mut JpkiClient<'_>, pair: Pair, e: JpkiError) -> Fail {
    let name = pair_name(pair);
    let JpkiError::Card { what, sw } = &e else { return Fail::from(e.to_string()) };
    match (*what, *sw) {
        ("VERIFY", Sw::VerifyFailed(0)) => Fail::refused(format!(
            "wrong {name} PIN: no tries left, the PIN is now blocked (the SP-TSM releases it: gpse tsm unblock --pair {name})"
        )),
        ("VERIFY", Sw::VerifyFailed(n)) => {
            Fail::refused(format!("wrong {name} PIN: {n} {} left", if n == 1 { "try" } else { "tries" }))
        }
        ("VERIFY", Sw::ReferenceDataNotUsable) => match c.pin_status(pair) {
            Ok(PinStatus::NotUsable) => Fail::from(format!(
                "the {name} pair has no usable PIN (card answered 6984): it is not set up (SP-TSM: gpse tsm setup), or waits for its temporary PIN to be released (gpse tsm unblock --pair {name})"
            )),
            _ => Fail::refused(format!(
                "the {name} PIN is blocked (card answered 6984); the SP-TSM releases it: gpse tsm unblock --pair {name}"
            )),
        },
        ("COMPUTE DIGITAL SIGNATURE", Sw::SecurityNotSatisfied) => Fail::from(format!(
            "COMPUTE DIGITAL SIGNATURE: card answered 6982: the {name} pair is not active; if it still has its temporary PIN, set the user's PIN first: gpse tsm activate --pair {name} --temp-pin TEMP --pin NEW"
        )),
        ("SELECT JPKI AP", Sw::FileNotFound) => Fail::from(
            "SELECT JPKI AP: card answered 6A82: no JPKI applet on this card (the SEI-TSM installs it: gpse tsm prepare)".to_string(),
        ),
        _ => Fail::from(e.to_string()),
    }
}
