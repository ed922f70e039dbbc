//! GET STATUS (GPCS §11.4; `globalplatform.md` §B.4): the registry, in the TLV format (P2 b2,
//! GPCS T11-36/37) or the legacy one (GPCS 2.2.1 T11-35/37), paged with `6310`.

use super::env::Env;
use super::registry::{Instance, InstanceKind, LoadFile, Privileges};
use crate::apdu::{Command, Response};
use crate::card::{Aid, CardImage, Outcome};
pub use crate::proto::gp::{GetStatus, Query, Scope};
use crate::sw::Sw;
use crate::tlv::{self, Tag};

/// The largest response data: whole entries up to this many bytes, so that with R-ENC padding
/// and the R-MAC the wrapped response still fits 256 bytes.
pub const MAX_RESPONSE: usize = 239;

/// Where a listing goes on after `6310`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    query: Query,
    next_entry: usize,
}

/// The implicit selection parameter (GPCS §11.1.8): contact interface, basic channel.
const IMPLICIT_CONTACT_BASIC: u8 = 0x40;

/// The TLVs of an application, SSD or the ISD, in GPCS T11-36 order.
fn instance_fields(img: &CardImage, i: &Instance) -> Vec<(Tag, Vec<u8>)> {
    let mut f = vec![
        (0x4F, i.aid.as_bytes().to_vec()),
        (0x9F70, vec![i.life_cycle.byte()]),
        (0xC5, i.privileges.to_bytes().to_vec()),
    ];
    if img.default_selected() == i.aid {
        f.push((0xCF, vec![IMPLICIT_CONTACT_BASIC]));
    }
    if let Some(elf) = &i.elf {
        f.push((0xC4, elf.as_bytes().to_vec()));
        if let Some(lf) = img.load_file(elf) {
            f.push((0xCE, lf.version.clone()));
        }
    }
    f.push((0xCC, i.sd.as_bytes().to_vec()));
    f
}

/// The TLVs of a load file (GPCS T11-37); modules only for P1 = `10`.
fn load_file_fields(lf: &LoadFile, modules: bool) -> Vec<(Tag, Vec<u8>)> {
    let mut f = vec![(0x4F, lf.aid.as_bytes().to_vec()), (0x9F70, vec![lf.life_cycle]), (0xCE, lf.version.clone())];
    if modules {
        f.extend(lf.modules.iter().map(|m| (0x84, m.as_bytes().to_vec())));
    }
    f.push((0xCC, lf.sd.as_bytes().to_vec()));
    f
}

// AIDs are 5-16 bytes (the Aid invariant).
#[allow(clippy::cast_possible_truncation)]
fn lv(out: &mut Vec<u8>, aid: &Aid) {
    out.push(aid.as_bytes().len() as u8);
    out.extend_from_slice(aid.as_bytes());
}

/// Every entry of the query, encoded, in registry order. `only_of`: the search is limited to
/// the entities associated with that security domain (GPCS §11.4.2.3, for an SD without the
/// Global Registry privilege).
fn entries(img: &CardImage, q: &Query, only_of: Option<&Aid>) -> Vec<Vec<u8>> {
    let tlv_entry = |fields: Vec<(Tag, Vec<u8>)>| {
        let mut v = Vec::new();
        match &q.tags {
            None => fields.iter().for_each(|(t, x)| tlv::encode(*t, x, &mut v)),
            Some(list) => {
                for want in list {
                    fields.iter().filter(|(t, _)| t == want).for_each(|(t, x)| tlv::encode(*t, x, &mut v));
                }
            }
        }
        tlv::tlv(0xE3, &v)
    };
    let matches = |aid: &Aid| aid.starts_with(&q.prefix);
    let associated = |owner: &Aid, aid: &Aid| only_of.is_none_or(|sd| owner == sd && aid != sd);
    match q.scope {
        Scope::Isd | Scope::Applications => img
            .instances
            .iter()
            .filter(|i| (q.scope == Scope::Isd) == (i.kind == InstanceKind::IssuerSecurityDomain))
            .filter(|i| q.scope == Scope::Isd || matches(&i.aid))
            .filter(|i| associated(&i.sd, &i.aid))
            .map(|i| {
                if q.tlv_format {
                    tlv_entry(instance_fields(img, i))
                } else {
                    let mut v = Vec::new();
                    lv(&mut v, &i.aid);
                    v.extend_from_slice(&[i.life_cycle.byte(), i.privileges.to_bytes()[0]]);
                    v
                }
            })
            .collect(),
        Scope::LoadFiles | Scope::LoadFilesAndModules => {
            let modules = q.scope == Scope::LoadFilesAndModules;
            img.load_files
                .iter()
                .filter(|l| matches(&l.aid) && associated(&l.sd, &l.aid))
                .map(|l| {
                    if q.tlv_format {
                        tlv_entry(load_file_fields(l, modules))
                    } else {
                        let mut v = Vec::new();
                        lv(&mut v, &l.aid);
                        v.extend_from_slice(&[l.life_cycle, 0x00]);
                        if modules {
                            // A load file's modules are a CAP's applets, counted in a u1 (JCVM §6.5).
                            #[allow(clippy::cast_possible_truncation)]
                            v.push(l.modules.len() as u8);
                            l.modules.iter().for_each(|m| lv(&mut v, m));
                        }
                        v
                    }
                })
                .collect()
        }
    }
}

/// GET STATUS `80 F2 P1 P2 Lc <4F …> [5C …] 00` received by the security domain `sd`. The ISD
/// and an SD with the Global Registry privilege see the whole registry; any other SD answers
/// P1 = `80` with `6A86` (GPCS §11.4.2.1) and lists only its associated entities (§11.4.2.3).
pub fn get_status(card: &mut Env<'_, '_>, sd: &Aid, cmd: &Command) -> Outcome {
    let gs = GetStatus::try_from(cmd)?;
    let me = card.image().instance(sd).ok_or(Sw::ReferencedDataNotFound)?;
    let global = me.kind == InstanceKind::IssuerSecurityDomain || me.has_privilege(Privileges::GLOBAL_REGISTRY);
    if !global && gs.query.scope == Scope::Isd {
        return Err(Sw::IncorrectP1P2);
    }
    let only_of = (!global).then(|| sd.clone());
    let state = card.channel_state();
    let (query, start) = if gs.next {
        match state.status.take() {
            Some(c) if c.query.scope == gs.query.scope && c.query.tlv_format == gs.query.tlv_format => {
                (c.query, c.next_entry)
            }
            _ => return Err(Sw::IncorrectP1P2),
        }
    } else {
        state.status = None;
        (gs.query, 0)
    };
    let all = entries(card.image(), &query, only_of.as_ref());
    if all.is_empty() {
        return Err(Sw::ReferencedDataNotFound);
    }
    let mut data = Vec::new();
    let mut n = start;
    while let Some(e) = all.get(n) {
        if !data.is_empty() && data.len() + e.len() > MAX_RESPONSE {
            break;
        }
        data.extend_from_slice(e);
        n += 1;
    }
    if n < all.len() {
        card.channel_state().status = Some(Continuation { query, next_entry: n });
        return Ok(Response { data, sw: Sw::MoreData });
    }
    Ok(Response::data(data))
}
