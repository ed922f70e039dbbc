//! GlobalPlatform card manager: the Issuer Security Domain and supplementary security domains.
//!
//! The runtime hands every command addressed to a security domain to [`process`], with the whole
//! card, since content management touches the registry and other instances.

pub mod isd;
pub mod registry;
pub mod scp;

use crate::apdu::Command;
use crate::card::{Aid, Card, Outcome};

/// SELECT of a security domain.
pub fn select(card: &mut Card, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
    isd::select(card, ch, aid, cmd)
}

/// A command for a selected security domain.
pub fn process(card: &mut Card, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
    isd::process(card, ch, aid, cmd)
}

/// The instance on channel `ch` is being deselected (SELECT of another application, channel
/// close): the channel's secure channel session ends (AmdD §5.6; GPCS §10.2.3).
pub fn on_deselect(card: &mut Card, ch: u8) {
    scp::end_session(card, ch);
}

/// Power off, on or reset: every session ends (AmdD §5.6).
pub fn on_power_reset(card: &mut Card) {
    for ch in card.open_channels() {
        scp::end_session(card, ch);
    }
}
