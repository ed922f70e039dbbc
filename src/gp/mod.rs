//! GlobalPlatform card manager: the Issuer Security Domain and supplementary security domains
//! (GPCS 2.3.1 ch. 5, 9, 11; the contract is `applet-spec/isd.md`).
//!
//! The runtime hands every command addressed to a security domain to [`process`], with the whole
//! card, since content management touches the registry and other instances. Each command has its
//! module; [`command`] parses the APDU into an [`command::IsdCommand`] once, [`lifecycle`] says
//! what the card life cycle state allows, [`isd`] dispatches.

pub mod auth_limit;
pub mod cap;
pub mod command;
pub mod delete;
pub mod get_data;
pub mod get_status;
pub mod install;
pub mod isd;
pub mod lifecycle;
pub mod load;
mod lv;
pub mod put_key;
pub mod registry;
pub mod scp;
pub mod set_status;
pub mod store_data;

use crate::apdu::Command;
use crate::card::{Aid, Card, Outcome};

/// The card manager's volatile state of one logical channel; cleared when the channel's
/// selection changes, the channel closes or the card resets.
#[derive(Debug, Clone, Default)]
pub struct ChannelState {
    /// The KVN of the key set the secure channel session on this channel was opened with
    /// (PUT KEY decrypts with its DEK).
    pub(crate) session_kvn: Option<u8>,
    /// INSTALL [for load] done, LOAD blocks expected (GPCS §11.6.2).
    pub(crate) load: Option<load::PendingLoad>,
    /// Where GET STATUS goes on after `6310` (GPCS §11.4.2.2).
    pub(crate) status: Option<get_status::Continuation>,
    /// INSTALL [for personalization] target (GPCS §11.5.2.3.6).
    pub(crate) perso: Option<Aid>,
    /// The STORE DATA block number expected next (GPCS §11.11.2.2).
    pub(crate) store_block: u8,
}

/// SELECT of a security domain.
pub fn select(card: &mut Card, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
    isd::select(card, ch, aid, cmd)
}

/// A command for a selected security domain.
pub fn process(card: &mut Card, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
    isd::process(card, ch, aid, cmd)
}

/// The instance on channel `ch` is being deselected (SELECT of another application, channel
/// close): the channel's secure channel session ends (AmdD §5.6; GPCS §10.2.3), and so do a
/// LOAD, a GET STATUS continuation and a personalization in progress.
pub fn on_deselect(card: &mut Card, ch: u8) {
    scp::end_session(card, ch);
    if let Some(g) = card.gp_channel_mut(ch) {
        *g = ChannelState::default();
    }
}

/// Power off, on or reset: every session ends (AmdD §5.6).
pub fn on_power_reset(card: &mut Card) {
    for ch in card.open_channels() {
        on_deselect(card, ch);
    }
}
