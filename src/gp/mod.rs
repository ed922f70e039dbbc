//! GlobalPlatform card manager: the Issuer Security Domain and supplementary security domains.
//!
//! The runtime hands every command addressed to a security domain to [`process`], with the whole
//! card, since content management touches the registry and other instances.

pub mod isd;
pub mod registry;

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

/// The security domain on channel `ch` is being deselected (its secure channel session ends).
pub fn on_deselect(card: &mut Card, ch: u8) {
    let _ = (card, ch);
}

/// Power off, on or reset: sessions end.
pub fn on_power_reset(card: &mut Card) {
    let _ = card;
}
