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
pub mod dap;
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

use crate::apdu::Command;
use crate::card::Aid;
use crate::sw::Sw;

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
    /// A command arriving in ISO chained segments (GPCS §11.1.5.1), not yet complete.
    pub(crate) chain: Option<PendingChain>,
}

/// The segments of a chained command received so far: the header without the chaining bit, and
/// the data (each segment unwrapped by the runtime on its own: secure messaging over chaining).
#[derive(Debug, Clone)]
pub(crate) struct PendingChain {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
}

/// The most data a chained command may bring: `6A86` beyond it (GPCS §11.1.5.1).
pub const MAX_CHAINED_DATA: usize = 0x7FFF;

/// Command chaining for a security domain (GPCS §11.1.5.1, ISO 7816-4 §5.1.1.1): a segment with
/// the chaining bit is kept and answered `9000` with no data (`None`); the last one gives the
/// whole command (`Some`), with the last segment's P1 and Le. Every segment must have the first
/// one's header except Lc and P1 b8, else `6985` and the chain is dropped; over
/// [`MAX_CHAINED_DATA`] `6A86`, the chain dropped too.
pub(crate) fn assemble_chain(pending: &mut Option<PendingChain>, cmd: &Command) -> Result<Option<Command>, Sw> {
    let chaining = crate::apdu::Class::parse(cmd.cla)?.chaining;
    let cla = cmd.cla & !0x10;
    if let Some(p) = pending.as_ref() {
        if (p.cla, p.ins, p.p1 & 0x7F, p.p2) != (cla, cmd.ins, cmd.p1 & 0x7F, cmd.p2) {
            *pending = None;
            return Err(Sw::ConditionsNotSatisfied);
        }
    } else if !chaining {
        return Ok(Some(cmd.clone()));
    }
    let mut p = pending.take().unwrap_or(PendingChain { cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data: Vec::new() });
    if p.data.len() + cmd.data.len() > MAX_CHAINED_DATA {
        return Err(Sw::IncorrectP1P2);
    }
    p.data.extend_from_slice(&cmd.data);
    if chaining {
        *pending = Some(p);
        return Ok(None);
    }
    let mut whole = Command::new(cla, cmd.ins, cmd.p1, cmd.p2).with_data(p.data);
    whole.ne = cmd.ne;
    Ok(Some(whole))
}
