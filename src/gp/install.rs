//! INSTALL (GPCS §11.5; `globalplatform.md` §B.5): [for load], [for install], [for make
//! selectable], [for install and make selectable], [for extradition], [for personalization],
//! [for registry update].

use super::dap;
use super::env::Env;
use super::load::PendingLoad;
use super::registry::{AppLifeCycle, DomainKeys, Instance, InstanceKind, Privileges, SD_MODULE_AID, SD_PACKAGE_AID};
use crate::apdu::{Command, Response};
use crate::card::{Aid, Outcome};
pub use crate::proto::gp::Install;
use crate::sw::Sw;

/// The single `00` byte every INSTALL answers without delegated management (GPCS §11.5.3.1).
fn done() -> Outcome {
    Ok(Response::data(vec![0x00]))
}

/// The Card Reset privilege goes to `to`; other applications lose it (GPCS §6.6.1: one
/// implicitly selectable application per channel and interface). The ISD keeps its own.
fn move_card_reset(card: &mut Env<'_, '_>, to: &Aid) {
    for i in card.image_mut().instances.iter_mut() {
        if &i.aid != to && i.kind != InstanceKind::IssuerSecurityDomain {
            i.privileges.remove(Privileges::CARD_RESET);
        }
    }
}

/// An instance other than the ISD, or `6A88`.
fn other_instance<'a>(card: &'a Env<'_, '_>, a: &Aid) -> Result<&'a Instance, Sw> {
    card.image().instance(a).filter(|i| i.kind != InstanceKind::IssuerSecurityDomain).ok_or(Sw::ReferencedDataNotFound)
}

/// INSTALL `80 E6 P1 00 Lc data 00` received by the security domain `sd`.
pub fn install(card: &mut Env<'_, '_>, sd: &Aid, cmd: &Command) -> Outcome {
    match Install::try_from(cmd)? {
        Install::ForLoad { elf, sd: target, hash } => {
            if card.image().aid_in_use(&elf) {
                return Err(Sw::ConditionsNotSatisfied);
            }
            let target = target.unwrap_or_else(|| sd.clone());
            if !card.image().instance(&target).is_some_and(Instance::is_sd) {
                return Err(Sw::ReferencedDataNotFound);
            }
            // A DAP is over the Load File Data Block Hash: with a DAP required the hash is
            // mandatory (GPCS §11.5.2.3.1; `globalplatform.md` §B.5).
            if hash.is_empty() && !dap::verifiers(card.image(), &target).is_empty() {
                return Err(Sw::WrongData);
            }
            let g = card.channel_state();
            g.load = Some(PendingLoad::new(elf, target, hash));
            done()
        }
        Install::ForInstall { elf, module, instance, privileges, params, make_selectable } => {
            let img = card.image();
            let lf = img.load_file(&elf).ok_or(Sw::ReferencedDataNotFound)?;
            if !lf.modules.contains(&module) {
                return Err(Sw::ReferencedDataNotFound);
            }
            if img.aid_in_use(&instance) {
                return Err(Sw::ConditionsNotSatisfied);
            }
            let is_sd_module = elf.as_bytes() == SD_PACKAGE_AID && module.as_bytes() == SD_MODULE_AID;
            let privileges = Privileges::from_bytes(privileges);
            if is_sd_module != privileges.contains(Privileges::SECURITY_DOMAIN) {
                return Err(Sw::WrongData);
            }
            let life_cycle = if make_selectable { AppLifeCycle::SELECTABLE } else { AppLifeCycle::INSTALLED };
            let mut inst = Instance {
                aid: instance.clone(),
                kind: InstanceKind::Application,
                elf: Some(elf.clone()),
                module: Some(module.clone()),
                life_cycle,
                privileges,
                sd: sd.clone(),
                keys: None,
                state: Vec::new(),
            };
            if is_sd_module {
                // A new SSD starts with a copy of its creator's key sets (applet-spec/isd.md,
                // "SSDs and their keys"), counters at 0.
                let mut keys: DomainKeys =
                    img.instance(sd).and_then(|s| s.keys.clone()).ok_or(Sw::ReferencedDataNotFound)?;
                keys.key_sets.iter_mut().for_each(|k| k.seq_counter = 0);
                keys.auth_limit.failures.clear();
                inst.kind = InstanceKind::SecurityDomain;
                inst.keys = Some(keys);
            } else if !card.has_module(&elf, &module) {
                // Code for exactly this package and class (applet-spec/isd.md, "Load files and
                // native code"); anything else would need a bytecode interpreter.
                return Err(Sw::ConditionsNotSatisfied);
            }
            card.install(inst, &params)?;
            if privileges.contains(Privileges::CARD_RESET) {
                move_card_reset(card, &instance);
            }
            done()
        }
        Install::MakeSelectable { app, privileges } => {
            let i = other_instance(card, &app)?;
            if i.life_cycle != AppLifeCycle::INSTALLED {
                return Err(Sw::ConditionsNotSatisfied);
            }
            let idx = card.image().instance_index(&app).ok_or(Sw::ReferencedDataNotFound)?;
            let reset = Privileges::from_bytes(privileges).contains(Privileges::CARD_RESET);
            let inst = &mut card.image_mut().instances[idx];
            inst.life_cycle = AppLifeCycle::SELECTABLE;
            if reset {
                inst.privileges.insert(Privileges::CARD_RESET);
                move_card_reset(card, &app);
            }
            done()
        }
        Install::Extradition { sd: to, object } => {
            if !card.image().instance(&to).is_some_and(Instance::is_sd) {
                return Err(Sw::ReferencedDataNotFound);
            }
            let img = card.image();
            if img.isd().aid == object {
                return Err(Sw::ConditionsNotSatisfied);
            }
            if object == to {
                return Err(Sw::ConditionsNotSatisfied);
            }
            if let Some(idx) = img.instance_index(&object) {
                card.image_mut().instances[idx].sd = to;
            } else if let Some(idx) = img.load_files.iter().position(|l| l.aid == object) {
                card.image_mut().load_files[idx].sd = to;
            } else {
                return Err(Sw::ReferencedDataNotFound);
            }
            done()
        }
        Install::Personalization { app } => {
            let i = other_instance(card, &app)?;
            if i.is_sd() || &i.sd != sd || i.is_locked() {
                return Err(Sw::ConditionsNotSatisfied);
            }
            let g = card.channel_state();
            g.perso = Some(app);
            g.store_block = 0;
            done()
        }
        Install::RegistryUpdate { sd: to, app, privileges } => {
            other_instance(card, &app)?;
            if let Some(to) = &to {
                if !card.image().instance(to).is_some_and(Instance::is_sd) || to == &app {
                    return Err(Sw::ReferencedDataNotFound);
                }
            }
            let idx = card.image().instance_index(&app).ok_or(Sw::ReferencedDataNotFound)?;
            let inst = &mut card.image_mut().instances[idx];
            if let Some(to) = to {
                inst.sd = to;
            }
            if let Some(p) = privileges {
                // The kind of an instance cannot change: the SD bit stays as it is.
                let p = Privileges::from_bytes(p);
                let sd_bit = inst.privileges & Privileges::SECURITY_DOMAIN;
                inst.privileges = (p - Privileges::SECURITY_DOMAIN) | sd_bit;
                if p.contains(Privileges::CARD_RESET) {
                    move_card_reset(card, &app);
                }
            }
            done()
        }
    }
}
