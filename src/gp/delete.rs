//! DELETE (GPCS §11.2; `globalplatform.md` §B.7): card content (an instance, a load file, a load
//! file and its instances) and key sets.

use super::env::Env;
use super::registry::InstanceKind;
use crate::apdu::{Command, Response};
use crate::card::{Aid, Outcome};
pub use crate::proto::gp::Delete;
use crate::sw::Sw;

/// Whether an instance may go: not the ISD, not selected anywhere, and, for an SSD, nothing
/// associated with it any more (`6985` otherwise; GPCS §11.2.2.1). `going` lists the AIDs this
/// same DELETE removes.
fn check_instance(card: &Env<'_, '_>, aid: &Aid, going: &[Aid]) -> Result<(), Sw> {
    let img = card.image();
    let inst = img.instance(aid).ok_or(Sw::ReferencedDataNotFound)?;
    if inst.kind == InstanceKind::IssuerSecurityDomain || card.is_selected_anywhere(aid) {
        return Err(Sw::ConditionsNotSatisfied);
    }
    if inst.is_sd() {
        let used = img.instances.iter().any(|i| &i.sd == aid && &i.aid != aid && !going.contains(&i.aid))
            || img.load_files.iter().any(|l| &l.sd == aid);
        if used {
            return Err(Sw::ConditionsNotSatisfied);
        }
    }
    Ok(())
}

fn remove_instances(card: &mut Env<'_, '_>, aids: &[Aid]) {
    card.remove(aids);
}

/// DELETE `80 E4 00 P2 Lc data 00` received by the security domain `sd`. Answers `00`.
pub fn delete(card: &mut Env<'_, '_>, _ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    match Delete::try_from(cmd)? {
        Delete::Object { aid, related } => {
            super::isd::require_content_management(card, sd)?;
            let img = card.image();
            if img.instance(&aid).is_some() {
                check_instance(card, &aid, &[])?;
                remove_instances(card, std::slice::from_ref(&aid));
            } else if img.load_file(&aid).is_some() {
                let instances: Vec<Aid> =
                    img.instances.iter().filter(|i| i.elf.as_ref() == Some(&aid)).map(|i| i.aid.clone()).collect();
                if !instances.is_empty() && !related {
                    return Err(Sw::ConditionsNotSatisfied);
                }
                for i in &instances {
                    check_instance(card, i, &instances)?;
                }
                // The code first: a package the VM may not free yet (another imports it) keeps
                // everything as it was.
                card.unload(&aid)?;
                remove_instances(card, &instances);
                card.image_mut().load_files.retain(|l| l.aid != aid);
            } else {
                return Err(Sw::ReferencedDataNotFound);
            }
        }
        Delete::KeySet { kvn } => {
            let idx = card.image().instance_index(sd).ok_or(Sw::ReferencedDataNotFound)?;
            let keys = card.image().instances[idx].keys.as_ref().ok_or(Sw::ReferencedDataNotFound)?;
            if !keys.has_version(kvn) {
                return Err(Sw::ReferencedDataNotFound);
            }
            // The last whole key set stays: without it the SD could not open a session again.
            if keys.key_set(kvn).is_some() && keys.key_sets.len() == 1 {
                return Err(Sw::ConditionsNotSatisfied);
            }
            if let Some(k) = card.image_mut().instances[idx].keys.as_mut() {
                k.key_sets.retain(|s| s.kvn != kvn);
                k.single_keys.retain(|s| s.kvn != kvn);
            }
        }
    }
    Ok(Response::data(vec![0x00]))
}
