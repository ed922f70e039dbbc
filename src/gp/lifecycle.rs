//! The card life cycle (GPCS §5.1.1, T11-4) and what each state allows (GPCS §5.1.1.1-5):
//!
//! `OP_READY 01 → INITIALIZED 07 → SECURED 0F ↔ CARD_LOCKED 7F`, any → `TERMINATED FF`.

use super::command::IsdCommand;
use super::registry::card_state::{CARD_LOCKED, INITIALIZED, OP_READY, SECURED, TERMINATED};
use crate::sw::Sw;

/// Whether the card life cycle state allows a security domain command; `6985` otherwise.
///
/// * CARD_LOCKED: only the ISD can be selected; it answers GET DATA, opens secure channels, and
///   runs GET STATUS and SET STATUS (to unlock or terminate); no content or key management
///   (GPCS §5.1.1.4).
/// * TERMINATED: GET DATA only (GPCS §5.1.1.5).
pub fn check_allowed(card_state: u8, cmd: IsdCommand) -> Result<(), Sw> {
    use IsdCommand::*;
    let ok = match card_state {
        TERMINATED => matches!(cmd, GetData { .. }),
        CARD_LOCKED => {
            matches!(cmd, GetData { .. } | InitializeUpdate | ExternalAuthenticate | GetStatus | SetStatus)
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Sw::ConditionsNotSatisfied)
    }
}

/// Whether SET STATUS may move the card from `from` to `to` (GPCS §5.1.1, §11.10.2.2): forward
/// through the pre-issuance states (a step may be skipped), SECURED ↔ CARD_LOCKED, and anything
/// to TERMINATED; never to the current state.
pub fn card_transition_allowed(from: u8, to: u8) -> bool {
    let rank = |s: u8| match s {
        OP_READY => Some(0),
        INITIALIZED => Some(1),
        SECURED => Some(2),
        _ => None,
    };
    if from == to {
        return false;
    }
    match (from, to) {
        (_, TERMINATED) => true,
        (SECURED, CARD_LOCKED) | (CARD_LOCKED, SECURED) => true,
        _ => matches!((rank(from), rank(to)), (Some(a), Some(b)) if b > a),
    }
}

/// Whether a byte is a card life cycle state SET STATUS may name.
pub fn is_card_state(s: u8) -> bool {
    matches!(s, OP_READY | INITIALIZED | SECURED | CARD_LOCKED | TERMINATED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        assert!(card_transition_allowed(OP_READY, INITIALIZED));
        assert!(card_transition_allowed(OP_READY, SECURED));
        assert!(card_transition_allowed(INITIALIZED, SECURED));
        assert!(!card_transition_allowed(SECURED, INITIALIZED));
        assert!(!card_transition_allowed(INITIALIZED, CARD_LOCKED));
        assert!(card_transition_allowed(SECURED, CARD_LOCKED));
        assert!(card_transition_allowed(CARD_LOCKED, SECURED));
        assert!(card_transition_allowed(CARD_LOCKED, TERMINATED));
        assert!(!card_transition_allowed(TERMINATED, SECURED));
        assert!(!card_transition_allowed(SECURED, SECURED));
        assert!(!card_transition_allowed(TERMINATED, TERMINATED));
    }
}
