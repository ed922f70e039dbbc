//! INSTALL (GPCS §11.5; `globalplatform.md` §B.5): [for load], [for install], [for make
//! selectable], [for install and make selectable], [for extradition], [for personalization],
//! [for registry update].

use super::load::PendingLoad;
use super::lv::{aid, opt_aid, LvReader};
use super::registry::{app_state, privilege, DomainKeys, Instance, InstanceKind, SD_MODULE_AID, SD_PACKAGE_AID};
use crate::apdu::{Command, Response};
use crate::applets::catalog;
use crate::card::{Aid, Card, Outcome};
use crate::sw::Sw;
use crate::tlv::{self, Mode};

/// A typed INSTALL command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// P1 `02` (T11-42).
    ForLoad { elf: Aid, sd: Option<Aid>, hash: Vec<u8> },
    /// P1 `04`, or `0C` with `make_selectable` (T11-43).
    ForInstall { elf: Aid, module: Aid, instance: Aid, privileges: [u8; 3], params: Vec<u8>, make_selectable: bool },
    /// P1 `08` (T11-44).
    MakeSelectable { app: Aid, privileges: [u8; 3] },
    /// P1 `10` (T11-45).
    Extradition { sd: Aid, object: Aid },
    /// P1 `20` (T11-47).
    Personalization { app: Aid },
    /// P1 `40` (T11-46).
    RegistryUpdate { sd: Option<Aid>, app: Aid, privileges: Option<[u8; 3]> },
}

/// Privileges of 1 byte (bytes 2-3 default to `00`, GPCS §11.5.2.3.2) or 3.
fn privileges(b: &[u8]) -> Result<[u8; 3], Sw> {
    match b {
        [p] => Ok([*p, 0, 0]),
        [a, b, c] => Ok([*a, *b, *c]),
        _ => Err(Sw::WrongData),
    }
}

/// The application-specific parameters: the value of `C9`, which must be present (GPCS T11-49).
fn c9_value(params: &[u8]) -> Result<Vec<u8>, Sw> {
    let tlvs = tlv::parse_all(params, Mode::Ber).map_err(|_| Sw::WrongData)?;
    Ok(tlv::find(&tlvs, 0xC9).ok_or(Sw::WrongData)?.value.to_vec())
}

impl TryFrom<&Command> for Install {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        if c.p2 != 0x00 {
            return Err(Sw::IncorrectP1P2);
        }
        let mut r = LvReader::new(&c.data);
        // P1 b8 is "more INSTALL commands follow" (GPCS T11-41), not needed here.
        let cmd = match c.p1 & 0x7F {
            0x02 => {
                let elf = aid(r.lv()?)?;
                let sd = opt_aid(r.lv()?)?;
                let hash = r.lv_opt()?.to_vec();
                if ![0, 20, 32, 48, 64].contains(&hash.len()) {
                    return Err(Sw::WrongData);
                }
                r.ber_lv_opt()?; // load parameters (memory quotas): not enforced
                r.ber_lv_opt()?; // load token: not verified (no delegated management)
                Install::ForLoad { elf, sd, hash }
            }
            p1 @ (0x04 | 0x0C) => {
                let elf = aid(r.lv()?)?;
                let module = aid(r.lv()?)?;
                let instance = aid(r.lv()?)?;
                let privileges = privileges(r.lv()?)?;
                let params = c9_value(r.ber_lv_opt()?)?;
                r.ber_lv_opt()?; // install token
                let make_selectable = p1 == 0x0C;
                if privileges[0] & privilege::CARD_RESET != 0 && !make_selectable {
                    return Err(Sw::WrongData);
                }
                Install::ForInstall { elf, module, instance, privileges, params, make_selectable }
            }
            0x08 => {
                r.lv()?;
                r.lv()?;
                let app = aid(r.lv()?)?;
                let p = r.lv_opt()?;
                let privileges = if p.is_empty() { [0; 3] } else { privileges(p)? };
                r.ber_lv_opt()?;
                r.ber_lv_opt()?;
                Install::MakeSelectable { app, privileges }
            }
            0x10 => {
                let sd = aid(r.lv()?)?;
                r.lv()?;
                let object = aid(r.lv()?)?;
                r.lv_opt()?;
                r.ber_lv_opt()?;
                r.ber_lv_opt()?;
                Install::Extradition { sd, object }
            }
            0x20 => {
                r.lv()?;
                r.lv()?;
                let app = aid(r.lv()?)?;
                r.lv_opt()?;
                r.ber_lv_opt()?;
                r.ber_lv_opt()?;
                Install::Personalization { app }
            }
            0x40 => {
                let sd = opt_aid(r.lv()?)?;
                r.lv()?;
                let app = aid(r.lv()?)?;
                let p = r.lv_opt()?;
                let privileges = if p.is_empty() { None } else { Some(privileges(p)?) };
                r.ber_lv_opt()?;
                r.ber_lv_opt()?;
                Install::RegistryUpdate { sd, app, privileges }
            }
            _ => return Err(Sw::IncorrectP1P2),
        };
        r.finish()?;
        Ok(cmd)
    }
}

/// The single `00` byte every INSTALL answers without delegated management (GPCS §11.5.3.1).
fn done() -> Outcome {
    Ok(Response::data(vec![0x00]))
}

/// The Card Reset privilege goes to `to`; other applications lose it (GPCS §6.6.1: one
/// implicitly selectable application per channel and interface). The ISD keeps its own.
fn move_card_reset(card: &mut Card, to: &Aid) {
    for i in card.image_mut().instances.iter_mut() {
        if &i.aid != to && i.kind != InstanceKind::IssuerSecurityDomain {
            i.privileges[0] &= !privilege::CARD_RESET;
        }
    }
}

/// An instance other than the ISD, or `6A88`.
fn other_instance<'a>(card: &'a Card, a: &Aid) -> Result<&'a Instance, Sw> {
    card.image().instance(a).filter(|i| i.kind != InstanceKind::IssuerSecurityDomain).ok_or(Sw::ReferencedDataNotFound)
}

/// INSTALL `80 E6 P1 00 Lc data 00` received by the security domain `sd`.
pub fn install(card: &mut Card, ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    match Install::try_from(cmd)? {
        Install::ForLoad { elf, sd: target, hash } => {
            if card.image().aid_in_use(&elf) {
                return Err(Sw::ConditionsNotSatisfied);
            }
            let target = target.unwrap_or_else(|| sd.clone());
            if !card.image().instance(&target).is_some_and(Instance::is_sd) {
                return Err(Sw::ReferencedDataNotFound);
            }
            let g = card.gp_channel_mut(ch).ok_or(Sw::ChannelNotSupported)?;
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
            if is_sd_module != (privileges[0] & privilege::SECURITY_DOMAIN != 0) {
                return Err(Sw::WrongData);
            }
            let life_cycle = if make_selectable { app_state::SELECTABLE } else { app_state::INSTALLED };
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
                card.image_mut().instances.push(inst);
            } else {
                // Native code for exactly this package and class (applet-spec/isd.md, "Load
                // files and native code"); anything else would need a bytecode interpreter.
                let m = catalog::MODULES
                    .iter()
                    .find(|m| m.package_aid == elf.as_bytes() && m.module_aid == module.as_bytes())
                    .ok_or(Sw::ConditionsNotSatisfied)?;
                let applet = (m.install)(&params, card.rng())?;
                inst.state = applet.save();
                card.image_mut().instances.push(inst);
                card.add_applet(instance.clone(), applet);
            }
            if privileges[0] & privilege::CARD_RESET != 0 {
                move_card_reset(card, &instance);
            }
            done()
        }
        Install::MakeSelectable { app, privileges } => {
            let i = other_instance(card, &app)?;
            if i.life_cycle != app_state::INSTALLED {
                return Err(Sw::ConditionsNotSatisfied);
            }
            let idx = card.image().instance_index(&app).ok_or(Sw::ReferencedDataNotFound)?;
            let reset = privileges[0] & privilege::CARD_RESET != 0;
            let inst = &mut card.image_mut().instances[idx];
            inst.life_cycle = app_state::SELECTABLE;
            if reset {
                inst.privileges[0] |= privilege::CARD_RESET;
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
            let g = card.gp_channel_mut(ch).ok_or(Sw::ChannelNotSupported)?;
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
                let sd_bit = inst.privileges[0] & privilege::SECURITY_DOMAIN;
                inst.privileges = p;
                inst.privileges[0] = (p[0] & !privilege::SECURITY_DOMAIN) | sd_bit;
                if p[0] & privilege::CARD_RESET != 0 {
                    move_card_reset(card, &app);
                }
            }
            done()
        }
    }
}
