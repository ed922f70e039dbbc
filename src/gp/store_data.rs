//! STORE DATA (GPCS §11.11; `globalplatform.md` §B.10): to the application of an INSTALL [for
//! personalization] on this channel, or to the security domain itself (ISD personalisation:
//! IIN, CIN, its AID).

use super::env::Env;
use super::registry::InstanceKind;
use crate::apdu::{Command, Response};
use crate::card::{Aid, Outcome};
pub use crate::proto::gp::StoreData;
use crate::sw::Sw;
use crate::tlv::{self, Mode};

/// STORE DATA `80 E2 P1 P2 Lc data [00]` received by the security domain `sd`.
pub fn store_data(card: &mut Env<'_, '_>, ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    let s = StoreData::try_from(cmd)?;
    let g = card.channel_state();
    if s.block != g.store_block {
        g.store_block = 0;
        return Err(Sw::IncorrectP1P2);
    }
    g.store_block = if s.last { 0 } else { s.block.wrapping_add(1) };
    if let Some(app) = g.perso.clone() {
        // Personalization: the application gets the command as it came (GP API
        // `Application.processData`); the session ends with the last block.
        if s.last {
            g.perso = None;
        }
        return card.forward(ch, &app, cmd);
    }
    // To the SD itself: BER-TLV or no format; DGI (b5b4 = 01) and encrypted data (b7b6 = 11)
    // are not supported.
    if cmd.p1 & 0x18 == 0x08 || cmd.p1 & 0x60 == 0x60 {
        return Err(Sw::WrongData);
    }
    let tlvs = tlv::parse_all(s.data, Mode::Ber).map_err(|_| Sw::WrongData)?;
    let is_isd = card.image().instance(sd).is_some_and(|i| i.kind == InstanceKind::IssuerSecurityDomain);
    // Check every TLV before changing anything.
    for t in &tlvs {
        match t.tag {
            0x42 | 0x45 if is_isd => {}
            0x4F if is_isd => {
                let new = Aid::new(t.value).ok_or(Sw::WrongData)?;
                if &new != sd && card.image().aid_in_use(&new) {
                    return Err(Sw::ConditionsNotSatisfied);
                }
            }
            _ => return Err(Sw::ReferencedDataNotFound),
        }
    }
    for t in &tlvs {
        let img = card.image_mut();
        match t.tag {
            0x42 => img.identity.iin = t.value.to_vec(),
            0x45 => img.identity.cin = t.value.to_vec(),
            _ => {
                // Renaming the ISD (GPP `--rename-isd`): associations follow it.
                let new = Aid::new(t.value).ok_or(Sw::WrongData)?;
                let old = img.isd().aid.clone();
                for i in img.instances.iter_mut() {
                    if i.sd == old {
                        i.sd = new.clone();
                    }
                }
                for l in img.load_files.iter_mut() {
                    if l.sd == old {
                        l.sd = new.clone();
                    }
                }
                img.isd_mut().aid = new.clone();
                card.rename(&old, &new);
            }
        }
    }
    Ok(Response::ok())
}
