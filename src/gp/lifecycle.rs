//! The card life cycle (GPCS §5.1.1, T11-4) and what each state allows (GPCS §5.1.1.1-5):
//!
//! `OP_READY 01 → INITIALIZED 07 → SECURED 0F ↔ CARD_LOCKED 7F`, any → `TERMINATED FF`.

use super::command::IsdCommand;
use super::registry::CardLifeCycle::{self, CardLocked, Initialized, OpReady, Secured, Terminated};
use crate::sw::Sw;

/// Whether the card life cycle state allows a security domain command; `6985` otherwise.
///
/// * CARD_LOCKED: only the ISD can be selected; it answers GET DATA, opens secure channels, and
///   runs GET STATUS and SET STATUS (to unlock or terminate); no content or key management
///   (GPCS §5.1.1.4).
/// * TERMINATED: GET DATA only (GPCS §5.1.1.5).
pub fn check_allowed(card_state: CardLifeCycle, cmd: IsdCommand) -> Result<(), Sw> {
    use IsdCommand::*;
    let ok = match card_state {
        Terminated => matches!(cmd, GetData { .. }),
        CardLocked => {
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
pub fn card_transition_allowed(from: CardLifeCycle, to: CardLifeCycle) -> bool {
    let rank = |s: CardLifeCycle| match s {
        OpReady => Some(0),
        Initialized => Some(1),
        Secured => Some(2),
        _ => None,
    };
    if from == to {
        return false;
    }
    match (from, to) {
        (_, Terminated) => true,
        (Secured, CardLocked) | (CardLocked, Secured) => true,
        _ => matches!((rank(from), rank(to)), (Some(a), Some(b)) if b > a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        assert!(card_transition_allowed(OpReady, Initialized));
        assert!(card_transition_allowed(OpReady, Secured));
        assert!(card_transition_allowed(Initialized, Secured));
        assert!(!card_transition_allowed(Secured, Initialized));
        assert!(!card_transition_allowed(Initialized, CardLocked));
        assert!(card_transition_allowed(Secured, CardLocked));
        assert!(card_transition_allowed(CardLocked, Secured));
        assert!(card_transition_allowed(CardLocked, Terminated));
        assert!(!card_transition_allowed(Terminated, Secured));
        assert!(!card_transition_allowed(Secured, Secured));
        assert!(!card_transition_allowed(Terminated, Terminated));
    }
}
