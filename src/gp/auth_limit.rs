//! A per-key-set limit on failed EXTERNAL AUTHENTICATE attempts (issue #19 §15).
//!
//! Without a limit an attacker may try host cryptograms forever (each try costs one INITIALIZE
//! UPDATE). Real cards count consecutive authentication failures per key set and block the key
//! set at a threshold set by the issuer's security policy. GlobalPlatform leaves the mechanism
//! and the number to the card: GPCS lets the OPEN or a privileged application react to a
//! detected security threat (CARD_LOCKED, GPCS §5.1.1), and AmdD §5.2 only says that a failed
//! EXTERNAL AUTHENTICATE ends the session and the host starts again from INITIALIZE UPDATE; no
//! section fixes a counter or its value [the GPCS wording was not re-checked against the spec
//! text; `shared/reference/globalplatform.md` has none]. This module implements that policy:
//!
//! * the limit comes from the profile (`isd.auth_failure_limit`, 0 = off, the default, which
//!   keeps the behaviour of a card without a policy) and is copied to the SSDs the ISD creates;
//! * a failed EXTERNAL AUTHENTICATE (`6300` wrong host cryptogram, GPCS T D-9 / AmdD §7.1.2.4,
//!   or `6982` wrong C-MAC on it) counts one for the key set of the pending session; a success
//!   resets the count to 0. Syntax errors (`6A86`, `6700`, …) do not count: they prove nothing
//!   about the keys. The count is persistent, so a power cycle does not reset it;
//! * at the limit the key set is blocked for good: INITIALIZE UPDATE naming it (or `00` when it
//!   is the first key set) answers `6983` (ISO 7816-4 §5.6 T6 "authentication method blocked";
//!   globalplatform.md §A.3: GPP reads 6982/6983 from INITIALIZE UPDATE as a locked card) and
//!   the sequence counter is not touched. Another key set of the domain still opens, and PUT KEY
//!   replacing the blocked set (through another set) clears its count.
//!
//! The scp module calls [`check`] in INITIALIZE UPDATE and [`record`] after EXTERNAL
//! AUTHENTICATE; everything else is here.

use super::env::Env;
use crate::card::Aid;
use crate::sw::Sw;

pub use crate::scp03::keyset::AuthLimit;
use crate::scp03::keyset::DomainKeys;

/// INITIALIZE UPDATE hook: `6983` when key set `kvn` of `keys` is blocked.
pub fn check(keys: &DomainKeys, kvn: u8) -> Result<(), Sw> {
    if keys.auth_limit.is_blocked(kvn) {
        return Err(Sw::AuthMethodBlocked);
    }
    Ok(())
}

/// EXTERNAL AUTHENTICATE hook: counts the outcome `result` of the attempt against key set
/// `kvn` (the one the pending session was opened with) of security domain `sd`, the domain that
/// answered INITIALIZE UPDATE. Changes the image (committed with this APDU) only when a count
/// changes.
pub fn record(card: &mut Env<'_, '_>, sd: &Aid, kvn: u8, result: Result<(), Sw>) {
    let counts = match result {
        Ok(()) => None,
        Err(Sw::AuthenticationFailed | Sw::SecurityNotSatisfied) => Some(()),
        Err(_) => return,
    };
    let Some(idx) = card.image().instance_index(sd) else { return };
    let limit = match card.image().instances[idx].keys.as_ref() {
        Some(k) => &k.auth_limit,
        None => return,
    };
    // Decide on a read-only view first: an APDU that changes nothing must write nothing.
    let changes = match counts {
        None => limit.failures(kvn) != 0,
        Some(()) => limit.limit != 0 && limit.failures(kvn) < limit.limit,
    };
    if !changes {
        return;
    }
    if let Some(k) = card.image_mut().instances[idx].keys.as_mut() {
        match counts {
            None => k.auth_limit.clear(kvn),
            Some(()) => k.auth_limit.fail(kvn),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_at_the_limit_and_clear() {
        let mut l = AuthLimit::new(3);
        assert!(!l.is_blocked(0x30));
        assert!(l.fail(0x30) && l.fail(0x30));
        assert!(!l.is_blocked(0x30));
        assert!(l.fail(0x30));
        assert!(l.is_blocked(0x30));
        assert!(!l.fail(0x30), "saturated: no further change, no further commit");
        assert_eq!(l.failures(0x30), 3);
        assert!(!l.is_blocked(0x31));
        assert!(l.clear(0x30));
        assert!(!l.clear(0x30));
        let mut off = AuthLimit::default();
        assert!(!off.fail(1));
        assert!(!off.is_blocked(1));
    }
}
