//! SET STATUS (GPCS §11.10; `globalplatform.md` §B.9): the card life cycle (lock, unlock,
//! terminate, the pre-issuance steps) and the life cycle of applications and SSDs.

use super::env::Env;
use super::lifecycle::card_transition_allowed;
use super::registry::{AppLifeCycle, CardLifeCycle, Instance, InstanceKind, Privileges};
use crate::apdu::{Command, Response};
use crate::card::{Aid, Outcome};
pub use crate::proto::gp::SetStatus;
use crate::sw::Sw;

/// The new life cycle of an application or SSD for P2, or `6985` (GPCS §5.3, §11.10.2.2):
/// `80` locks, b8 = 0 unlocks a locked one, `0F` personalizes a SELECTABLE SSD.
fn new_state(inst: &Instance, p2: u8) -> Result<AppLifeCycle, Sw> {
    let lcs = inst.life_cycle;
    let wanted = AppLifeCycle::from_byte(p2);
    if wanted.is_locked() {
        if inst.is_locked() {
            return Err(Sw::ConditionsNotSatisfied);
        }
        return Ok(lcs.locked());
    }
    if inst.is_locked() {
        return Ok(lcs.unlocked());
    }
    if inst.kind == InstanceKind::SecurityDomain
        && lcs == AppLifeCycle::SELECTABLE
        && wanted == AppLifeCycle::PERSONALIZED
    {
        return Ok(AppLifeCycle::PERSONALIZED);
    }
    Err(Sw::ConditionsNotSatisfied)
}

/// SET STATUS `80 F0 P1 P2 [Lc AID]` received by the security domain `sd`.
pub fn set_status(card: &mut Env<'_, '_>, sd: &Aid, cmd: &Command) -> Outcome {
    let me = card.image().instance(sd).ok_or(Sw::ReferencedDataNotFound)?.clone();
    match SetStatus::try_from(cmd)? {
        SetStatus::Card { to } => {
            let from = card.image().life_cycle;
            // Locking needs the Card Lock privilege, terminating Card Terminate (GPCS §11.1.2);
            // the other steps are the ISD's.
            let allowed_by_privileges = match to {
                CardLifeCycle::CardLocked => me.has_privilege(Privileges::CARD_LOCK),
                CardLifeCycle::Terminated => me.has_privilege(Privileges::CARD_TERMINATE),
                _ => me.kind == InstanceKind::IssuerSecurityDomain,
            };
            if !allowed_by_privileges {
                return Err(Sw::SecurityNotSatisfied);
            }
            if !card_transition_allowed(from, to) {
                return Err(Sw::ConditionsNotSatisfied);
            }
            let img = card.image_mut();
            img.life_cycle = to;
            let isd = img.isd_mut();
            // The ISD's own life cycle is the card's (GPCS §5.1.1).
            isd.life_cycle = AppLifeCycle::from_byte(to.byte());
        }
        SetStatus::Application { aid, with_associated, p2 } => {
            let img = card.image();
            let inst = img.instance(&aid).ok_or(Sw::ReferencedDataNotFound)?;
            if inst.kind == InstanceKind::IssuerSecurityDomain {
                return Err(Sw::WrongData);
            }
            if with_associated && !inst.is_sd() {
                return Err(Sw::ReferencedDataNotFound);
            }
            let mut changes = vec![(aid.clone(), new_state(inst, p2)?)];
            if with_associated {
                for a in img.instances.iter().filter(|i| i.sd == aid && i.aid != aid) {
                    // Already in the target locked/unlocked condition: left as it is.
                    if let Ok(s) = new_state(a, p2 & 0x80) {
                        changes.push((a.aid.clone(), s));
                    }
                }
            }
            for (a, s) in changes {
                if let Some(idx) = card.image().instance_index(&a) {
                    card.image_mut().instances[idx].life_cycle = s;
                }
            }
        }
    }
    Ok(Response::ok())
}
