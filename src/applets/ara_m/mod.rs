//! ARA-M, the Access Rule Application Master of GP SE Access Control: the access rules Android's
//! SecureElement service reads before it lets an app talk to an applet of the embedded SE.
//!
//! The contract (every command, state and status word, with sources and decisions) is
//! `applet-spec/ara-m.md`; the facts are in `shared/reference/globalplatform.md` §C. Reads (GET DATA)
//! are open to anyone; updates (STORE DATA) need an authenticated SCP03 session with C-MAC of
//! the ARA-M's security domain on the channel (`Ctx::security_level`).

pub mod rules;

use crate::apdu::{Command, Response};
use crate::card::{Applet, Ctx, ModuleImpl, Ne, Outcome, Persistent};
use crate::crypto::CardRng;
pub use crate::proto::ara_m::{AraCommand, StoreCommand};
use crate::scp03::SecurityStatus;
use crate::sw::Sw;
use crate::tlv;
use rand_core::RngCore;
use rules::{AidRef, NewRule, RefKey, Search, StoredRule};
use serde::{Deserialize, Serialize};

/// The ARA-M instance AID (`AraController.ARA_M_AID`, GP test applet, pySim `ADF_ARAM`).
pub use crate::proto::ara_m::ARA_M_AID;
/// The package (load file) AID of the built-in ARA-M.
pub const PACKAGE_AID: &[u8] = &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x41, 0x43, 0x4C];

/// The most data one response carries (bmartel `APDU_CHUNK`; fits Le `00` and T=0 readers).
pub const CHUNK: usize = 255;
/// The largest rule set (sum of the REF-AR-DO TLVs), so that `FF40 82 LL LL …` stays within a
/// Java Card short (0x7FFF) as on a real ARA-M.
pub const MAX_RULE_SET: usize = 0x7FFF - 5;
/// AUTHENTICATED | C_MAC (GPCS T10-1): what STORE DATA needs.
pub const UPDATE_LEVEL: SecurityStatus = SecurityStatus::AUTHENTICATED.union(SecurityStatus::C_MAC);
/// The interface version this ARA-M reports in GET DATA [Config] (`E6`: major, minor, patch).
pub const INTERFACE_VERSION: [u8; 3] = [1, 1, 0];
/// The Response-AR-DO of a conflict (NEVER): the GP test applet's `RESPONSE_GET_SPECIFIC_DENIED`.
const NEVER_AR_DO: [u8; 8] = [0xE3, 0x06, 0xD0, 0x01, 0x00, 0xD1, 0x01, 0x00];
const LOGICAL_CHANNELS: usize = 20;

/// The ARA-M module.
pub static MODULE: ModuleImpl = ModuleImpl {
    name: "ara-m",
    package_aid: PACKAGE_AID,
    module_aid: ARA_M_AID,
    default_instance_aid: ARA_M_AID,
    install,
    restore,
};

/// What survives power loss.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    /// Newest first (bmartel `RuleEntry` prepends; pySim's export lists rules in reverse store order).
    rules: Vec<StoredRule>,
    refresh_tag: [u8; 8],
}

/// A GET ALL answer not yet fully read with NEXT, per logical channel.
#[derive(Clone, Debug)]
struct Pending {
    data: Vec<u8>,
    offset: usize,
}

/// The ARA-M applet.
pub struct AraM {
    p: Persistent<State>,
    pending: Vec<Option<Pending>>,
}

fn new_tag(rng: &mut CardRng, old: &[u8; 8]) -> [u8; 8] {
    loop {
        let mut t = [0u8; 8];
        rng.fill_bytes(&mut t);
        if &t != old {
            return t;
        }
    }
}

/// Install parameters: zero or more REF-AR-DOs, stored in order as successive STORE DATA would.
fn install(params: &[u8], rng: &mut CardRng) -> Result<Box<dyn Applet>, Sw> {
    let mut state = State { rules: Vec::new(), refresh_tag: [0; 8] };
    for t in tlv::parse_all(params, tlv::Mode::Der).map_err(|_| Sw::WrongData)? {
        if t.tag != rules::TAG_REF_AR_DO {
            return Err(Sw::WrongData);
        }
        let rule = rules::validate_ref_ar_do(t.value)?;
        check_store(&state.rules, &rule)?;
        state.rules.insert(0, rule.stored);
    }
    state.refresh_tag = new_tag(rng, &[0; 8]);
    Ok(Box::new(AraM::with_state(Persistent::new(state))))
}

fn restore(bytes: &[u8]) -> Result<Box<dyn Applet>, String> {
    let p: Persistent<State> = Persistent::restore(bytes).map_err(|e| e.to_string())?;
    if let Some(n) = p.rules.iter().position(|r| r.key().is_none() || r.ar().is_none()) {
        return Err(format!("ARA-M rule {} is damaged", n + 1));
    }
    Ok(Box::new(AraM::with_state(p)))
}

/// Whether a new rule may join the set: one rule per REF-DO, and the size limit.
fn check_store(existing: &[StoredRule], rule: &NewRule) -> Result<(), Sw> {
    if existing.iter().any(|r| r.key().as_ref() == Some(&rule.key)) {
        return Err(Sw::AlreadyExists);
    }
    let size: usize = existing.iter().map(|r| r.to_tlv().len()).sum::<usize>() + rule.stored.to_tlv().len();
    if size > MAX_RULE_SET {
        return Err(Sw::NotEnoughMemory);
    }
    Ok(())
}

/// `Ok` with data, or the runtime's `6Cxx` when the command's Le asks for less, checked here
/// before a transfer starts or moves on so that the host's second try gets the same block.
fn reply(ne: Ne, data: Vec<u8>) -> Outcome {
    ne.check(data.len())?;
    Ok(Response::data(data))
}

impl AraM {
    fn with_state(p: Persistent<State>) -> AraM {
        AraM { p, pending: vec![None; LOGICAL_CHANNELS] }
    }

    /// The rules, newest first, as REF-AR-DO TLVs.
    pub fn rules(&self) -> Vec<Vec<u8>> {
        self.p.rules.iter().map(StoredRule::to_tlv).collect()
    }

    /// The refresh tag.
    pub fn refresh_tag(&self) -> [u8; 8] {
        self.p.refresh_tag
    }

    fn slot(&mut self, ch: u8) -> Option<&mut Option<Pending>> {
        self.pending.get_mut(ch as usize)
    }

    /// Answers `FF40 L rules…`, in 255-byte blocks with the rest left for NEXT.
    fn send_all(&mut self, ch: u8, ne: Ne, rules: &[&StoredRule]) -> Outcome {
        let value: Vec<u8> = rules.iter().flat_map(|r| r.to_tlv()).collect();
        let full = tlv::tlv(0xFF40, &value);
        if full.len() <= CHUNK {
            let r = reply(ne, full)?;
            if let Some(s) = self.slot(ch) {
                *s = None;
            }
            return Ok(r);
        }
        let r = reply(ne, full[..CHUNK].to_vec())?;
        if let Some(s) = self.slot(ch) {
            *s = Some(Pending { data: full, offset: CHUNK });
        }
        Ok(r)
    }

    fn send_next(&mut self, ch: u8, ne: Ne) -> Outcome {
        let Some(Some(p)) = self.pending.get_mut(ch as usize) else {
            return Err(Sw::ConditionsNotSatisfied);
        };
        let end = (p.offset + CHUNK).min(p.data.len());
        let r = reply(ne, p.data[p.offset..end].to_vec())?;
        p.offset = end;
        if end == p.data.len() {
            self.pending[ch as usize] = None;
        }
        Ok(r)
    }

    fn get_all(&mut self, ch: u8, ne: Ne) -> Outcome {
        let rules = self.p.rules.clone();
        self.send_all(ch, ne, &rules.iter().collect::<Vec<_>>())
    }

    fn get_specific(&self, ne: Ne, aid: &AidRef, hash: &[u8]) -> Outcome {
        let ar = match rules::search(&self.p.rules, aid, hash) {
            Search::Found(r) => r.ar_do.clone(),
            Search::Never => NEVER_AR_DO.to_vec(),
            Search::NotFound => Vec::new(),
        };
        reply(ne, tlv::tlv(0xFF50, &ar))
    }

    fn store(&mut self, ctx: &mut Ctx<'_>, cmd: StoreCommand, ne: Ne) -> Outcome {
        let ch = ctx.channel;
        // Each update computes the new rule list first; nothing persistent changes on refusal.
        let (rules, sw) = match cmd {
            StoreCommand::Store(rule) => {
                check_store(&self.p.rules, &rule)?;
                let sw = if rule.discarded { Sw::UnknownDataDiscarded } else { Sw::Ok };
                let mut rules = vec![rule.stored];
                rules.extend(self.p.rules.iter().cloned());
                (rules, sw)
            }
            StoreCommand::DeleteAll => (Vec::new(), Sw::Ok),
            StoreCommand::DeleteAid(aid) => self.delete_where(|k, _| k.aid == aid)?,
            StoreCommand::DeleteRef(key) => self.delete_where(|k, _| *k == key)?,
            StoreCommand::DeleteRule(rule) => {
                self.delete_where(|k, r| *k == rule.key && r.ar() == Some(rule.ar.clone()))?
            }
            StoreCommand::UpdateRefreshTag => (self.p.rules.clone(), Sw::Ok),
            StoreCommand::Get(aid) => {
                let rules = self.p.rules.clone();
                let found: Vec<&StoredRule> = rules.iter().filter(|r| r.key().is_some_and(|k| k.aid == aid)).collect();
                if found.is_empty() {
                    return Err(Sw::ReferencedDataNotFound);
                }
                return self.send_all(ch, ne, &found);
            }
            StoreCommand::GetAll => return self.get_all(ch, ne),
            StoreCommand::GetNext => return self.send_next(ch, ne),
        };
        let tag = new_tag(ctx.rng, &self.p.refresh_tag);
        let st = &mut *self.p;
        st.rules = rules;
        st.refresh_tag = tag;
        Ok(Response::status(sw))
    }

    /// The rule list without the rules `pred` picks; `6A88` when it picks none.
    fn delete_where(&self, pred: impl Fn(&RefKey, &StoredRule) -> bool) -> Result<(Vec<StoredRule>, Sw), Sw> {
        let keep: Vec<StoredRule> =
            self.p.rules.iter().filter(|r| !r.key().is_some_and(|k| pred(&k, r))).cloned().collect();
        if keep.len() == self.p.rules.len() {
            return Err(Sw::ReferencedDataNotFound);
        }
        Ok((keep, Sw::Ok))
    }
}

impl Applet for AraM {
    fn deselect(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(s) = self.slot(ctx.channel) {
            *s = None;
        }
    }

    fn process(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        let ne = Ne::of(cmd);
        match AraCommand::try_from(cmd)? {
            AraCommand::GetAll => self.get_all(ctx.channel, ne),
            AraCommand::GetNext => self.send_next(ctx.channel, ne),
            AraCommand::GetSpecific { aid, hash } => self.get_specific(ne, &aid, &hash),
            AraCommand::GetRefreshTag => reply(ne, tlv::tlv(0xDF20, &self.p.refresh_tag)),
            AraCommand::GetConfig { device_version: _ } => {
                let e5 = tlv::tlv(0xE5, &tlv::tlv(0xE6, &INTERFACE_VERSION));
                reply(ne, tlv::tlv(0xDF21, &e5))
            }
            AraCommand::StoreData { p1, p2, data } => {
                // Checked before anything else, as a GP applet's `SecureChannel.unwrap` would.
                if !ctx.security_level.contains(UPDATE_LEVEL) {
                    return Err(Sw::SecurityNotSatisfied);
                }
                let sc = StoreCommand::parse(p1, p2, &data)?;
                self.store(ctx, sc, ne)
            }
        }
    }

    fn power_reset(&mut self) {
        self.pending.iter_mut().for_each(|p| *p = None);
    }

    fn take_dirty(&mut self) -> bool {
        self.p.take_dirty()
    }

    fn save(&self) -> Vec<u8> {
        self.p.save()
    }

    /// Rule updates arrive inside the SEI-TSM's secure channel of the ISD, opened through this
    /// applet on its channel (GP Card API `SecureChannel`).
    fn secure_channel(&self) -> crate::card::SecureChannelUse {
        crate::card::SecureChannelUse::AssociatedSd
    }
}
