//! GlobalPlatform card manager: the Issuer Security Domain and supplementary security domains
//! (GPCS 2.3.1 ch. 5, 9, 11; the contract is `applet-spec/isd.md`).
//!
//! Each security domain is a hosted instance ([`sd::SecurityDomain`]) that the runtime calls as
//! any applet; content management reaches the registry and the other instances through the
//! runtime's OPEN services ([`env::Env`]). Each command has its module; [`command`] parses the
//! APDU into an [`command::IsdCommand`] once, [`lifecycle`] says what the card life cycle state
//! allows, [`isd`] dispatches.

pub mod auth_limit;
pub mod cap;
pub mod command;
pub mod delete;
pub mod env;
pub mod get_data;
pub mod get_status;
pub mod install;
pub mod isd;
pub mod lifecycle;
pub mod load;
pub mod put_key;
pub mod registry;
pub mod scp;
pub mod sd;
pub mod sdk_installer;
pub mod set_status;
pub mod store_data;

use crate::card::Aid;

/// The card manager's volatile state of one logical channel, kept by the security domain
/// selected on it; cleared when its selection ends, the channel closes or the card resets.
#[derive(Debug, Clone, Default)]
pub struct ChannelState {
    /// INSTALL [for load] done, LOAD blocks expected (GPCS §11.6.2).
    pub(crate) load: Option<load::PendingLoad>,
    /// Where GET STATUS goes on after `6310` (GPCS §11.4.2.2).
    pub(crate) status: Option<get_status::Continuation>,
    /// INSTALL [for personalization] target (GPCS §11.5.2.3.6).
    pub(crate) perso: Option<Aid>,
    /// The STORE DATA block number expected next (GPCS §11.11.2.2).
    pub(crate) store_block: u8,
}
