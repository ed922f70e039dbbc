//! A security domain's command handling: SELECT's FCI and the dispatch of the commands of
//! `applet-spec/isd.md` (GPCS ch. 11; facts in `shared/reference/globalplatform.md` §B).

use super::command::IsdCommand;
use super::env::Env;
use super::registry::{InstanceKind, Privileges};
use super::{delete, get_data, get_status, install, lifecycle, load, put_key, scp, set_status, store_data};
use crate::apdu::{Command, Response};
use crate::card::{Aid, Outcome};
use crate::sw::Sw;
use crate::tlv;

/// SELECT: the FCI of GPCS T11-82, `6F L 84 L <AID> A5 L 73 L <SD management data> 9F65 01 FF`
/// (the form of real ISDs, `globalplatform.md` §B.2, with the management data that GPP reads).
/// P2 = 0C asks for no data.
pub fn select(card: &mut Env<'_, '_>, _ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
    if cmd.p2 & 0x0C == 0x0C {
        return Ok(Response::ok());
    }
    let mut a5 = tlv::tlv(0x73, &get_data::card_recognition_data(card.image(), aid));
    a5.extend(tlv::tlv(0x9F65, &[0xFF]));
    let mut inner = tlv::tlv(0x84, aid.as_bytes());
    inner.extend(tlv::tlv(0xA5, &a5));
    Ok(Response::data(tlv::tlv(0x6F, &inner)))
}

/// The checks every command (and every segment of a chained one) passes first: a known GP
/// command (`6D00`/`6E00`), allowed in the card state (`6985`), with the secure channel it needs
/// (`6982`).
pub fn admit(card: &Env<'_, '_>, ch: u8, cmd: &Command) -> Result<IsdCommand, Sw> {
    let c = IsdCommand::try_from(cmd)?;
    lifecycle::check_allowed(card.image().life_cycle, c)?;
    if c.needs_secure_channel() {
        scp::require_authenticated(card, ch)?;
    }
    Ok(c)
}

/// Commands for a security domain `sd` selected on channel `ch`.
pub fn process(card: &mut Env<'_, '_>, ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    let c = admit(card, ch, cmd)?;
    match c {
        IsdCommand::GetData { tag } => get_data::get_data(card, ch, sd, tag),
        IsdCommand::InitializeUpdate => scp::initialize_update(card, ch, sd, cmd),
        IsdCommand::ExternalAuthenticate => scp::external_authenticate(card, ch, sd, cmd),
        IsdCommand::GetStatus => get_status::get_status(card, sd, cmd),
        IsdCommand::Install => {
            require_content_management(card, sd)?;
            install::install(card, sd, cmd)
        }
        IsdCommand::Load => {
            require_content_management(card, sd)?;
            load::load(card, cmd)
        }
        IsdCommand::Delete => delete::delete(card, ch, sd, cmd),
        IsdCommand::PutKey => put_key::put_key(card, ch, sd, cmd),
        IsdCommand::SetStatus => set_status::set_status(card, sd, cmd),
        IsdCommand::StoreData => store_data::store_data(card, ch, sd, cmd),
        IsdCommand::BeginRmacSession => scp::begin_rmac_session(card, ch, cmd),
        IsdCommand::EndRmacSession => scp::end_rmac_session(card, ch, cmd),
    }
}

/// Content management (INSTALL, LOAD, DELETE of card content) is the ISD's, or an SSD's with
/// the Authorized Management privilege (GPCS §9.2.1, §11.1.2); others: `6982`.
pub(crate) fn require_content_management(card: &Env<'_, '_>, sd: &Aid) -> Result<(), Sw> {
    let inst = card.image().instance(sd).ok_or(Sw::ReferencedDataNotFound)?;
    match inst.kind {
        InstanceKind::IssuerSecurityDomain => Ok(()),
        _ if inst.has_privilege(Privileges::AUTHORIZED_MANAGEMENT) => Ok(()),
        _ => Err(Sw::SecurityNotSatisfied),
    }
}
