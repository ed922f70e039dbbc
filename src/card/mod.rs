//! The card runtime: power, ATR, logical channels, SELECT, dispatch to hosted instances, the
//! response length rules, and one atomic commit of the card image per APDU.
//!
//! Java Card RE semantics where they apply (JCRE spec §3-§4): the runtime intercepts SELECT by
//! DF name and MANAGE CHANNEL in the interindustry class; a SELECT whose AID matches no
//! selectable instance is forwarded to the instance selected on that channel (which is how
//! applets see SELECT EF and foreign SELECTs); everything else goes to the selected instance.
//!
//! The runtime imports nothing above it. Every registry entry, security domains included, is an
//! [`Applet`] made by a [`Module`] of the [`Catalog`] the card was assembled with; the card
//! manager reaches the registry, the sessions and the other instances only through [`Open`],
//! which the runtime hands to instances with the Security Domain privilege.

pub mod aid;
pub mod applet;
pub mod atr;
mod channels;
pub mod cvm;
mod gp_api;
pub mod image;
mod open;
pub mod pin;
pub mod registry;
mod response;

pub use aid::Aid;
pub use applet::{
    Applet, CardEvent, Catalog, Ctx, Diagnostic, InstallFn, InstallRequest, Module, ModuleImpl, Outcome, Persistent,
    RawInstall, RestoreFn, SecureChannelUse, TraceSpec,
};
pub use gp_api::{GpApi, RegistryCall};
pub use image::CardImage;
pub use open::Open;
pub use pin::{OwnerPin, PinCheck};
pub use response::{Ne, PendingResponse};

use crate::apdu::{Class, Command, Response};
use crate::crypto::CardRng;
use crate::scp03::card::Session;
use crate::scp03::SecurityStatus;
use crate::store::{Durability, Store, StoreError};
use crate::sw::Sw;
use registry::{CardLifeCycle, Privileges};
use std::path::Path;

/// Why a card could not be opened or created.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: card image content unreadable ({1})")]
    Content(String, String),
}

/// What is selected on one open logical channel, and its secure channel session.
#[derive(Debug, Clone, Default)]
pub struct Channel {
    pub selected: Option<Aid>,
    /// The SCP03 session of the security domain serving the selected instance (AmdD §5.6: a
    /// session is bound to one logical channel; GPCS §10.2.3).
    pub session: Session,
    /// Response data not yet fetched with GET RESPONSE (ISO 7816-4 §5.3.4).
    pending: PendingResponse,
}

/// One live instance: its registry AID and its object. The object is out of its slot while it
/// runs, so that the code it runs may reach the rest of the card (the card manager installs and
/// deletes other instances) without aliasing.
struct Slot {
    id: u64,
    aid: Aid,
    obj: Option<Box<dyn Applet>>,
}

/// Everything an instance's code may reach through [`Open`]: the registry, the channels, the
/// other instances and the catalog. The RNG is apart, as each call gets it in its [`Ctx`].
struct Runtime {
    image: CardImage,
    slots: Vec<Slot>,
    next_slot: u64,
    channels: Vec<Option<Channel>>,
    catalog: Catalog,
    /// Set by card-manager code that changed the image itself (not an instance's own state).
    image_dirty: bool,
    /// The global PIN's state in this card session (submitted, validated): volatile.
    cvm_session: cvm::CvmSession,
}

/// One emulated secure element.
pub struct Card {
    rt: Runtime,
    rng: CardRng,
    store: Store,
    powered: bool,
    /// The last committed payload, to roll back to when a commit fails.
    committed: Vec<u8>,
    /// A tearing injection cut the power: the card answers nothing useful until reopened.
    torn: bool,
    /// Power-ons, power-offs and warm resets so far: each ends every logical channel, so a
    /// holder of channels (the app's view of `serve --app`) learns from a change that its
    /// channels are gone.
    resets: u64,
}

impl Card {
    /// A card from an image, kept in memory only.
    pub fn in_memory_with(catalog: &Catalog, image: CardImage, seed: Option<u64>) -> Result<Card, CardError> {
        let payload = image.to_bytes();
        let mut store = Store::memory();
        store.commit(&payload)?;
        Card::assemble(catalog, image, payload, store, seed, "memory")
    }

    /// Creates a new card image in `dir`.
    pub fn create_with(
        catalog: &Catalog,
        dir: &Path,
        image: CardImage,
        durability: Durability,
        seed: Option<u64>,
        overwrite: bool,
    ) -> Result<Card, CardError> {
        let payload = image.to_bytes();
        let store = Store::create(dir, &payload, durability, overwrite)?;
        Card::assemble(catalog, image, payload, store, seed, &dir.display().to_string())
    }

    /// Opens the card image in `dir`.
    pub fn open_with(
        catalog: &Catalog,
        dir: &Path,
        durability: Durability,
        seed: Option<u64>,
    ) -> Result<Card, CardError> {
        let (store, payload) = Store::open(dir, durability)?;
        let image = CardImage::from_bytes(&payload)
            .map_err(|e| CardError::Content(dir.display().to_string(), e.to_string()))?;
        Card::assemble(catalog, image, payload, store, seed, &dir.display().to_string())
    }

    fn assemble(
        catalog: &Catalog,
        image: CardImage,
        committed: Vec<u8>,
        store: Store,
        seed: Option<u64>,
        origin: &str,
    ) -> Result<Card, CardError> {
        image.validate().map_err(|e| CardError::Content(origin.to_string(), e))?;
        let catalog = catalog.for_card();
        for m in catalog.modules() {
            m.restore_shared(image.shared_state(m.name()))
                .map_err(|e| CardError::Content(origin.to_string(), format!("module {}: {e}", m.name())))?;
        }
        let mut rt = Runtime {
            image,
            slots: Vec::new(),
            next_slot: 0,
            channels: Vec::new(),
            catalog,
            image_dirty: false,
            cvm_session: cvm::CvmSession::None,
        };
        rt.instantiate().map_err(|e| CardError::Content(origin.to_string(), e))?;
        rt.channels = vec![None; rt.image.logical_channels as usize];
        Ok(Card { rt, rng: CardRng::new(seed), store, powered: false, committed, torn: false, resets: 0 })
    }

    /// The persistent state as it is now.
    pub fn image(&self) -> &CardImage {
        &self.rt.image
    }

    /// The catalog this card was assembled with.
    pub fn catalog(&self) -> &Catalog {
        &self.rt.catalog
    }

    /// The last committed image payload (what a reopen would load).
    pub fn committed_payload(&self) -> &[u8] {
        &self.committed
    }

    /// The store, to arm tearing injection in tests.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The ATR.
    pub fn atr(&self) -> &[u8] {
        &self.rt.image.atr
    }

    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Power on (cold reset): volatile state cleared, the basic channel open with the default
    /// application selected. Returns the ATR.
    pub fn power_on(&mut self) -> Vec<u8> {
        self.power_cycle();
        self.powered = true;
        self.rt.image.atr.clone()
    }

    /// Power off: volatile state is gone.
    pub fn power_off(&mut self) {
        self.power_cycle();
        self.powered = false;
    }

    /// Warm reset: as power on.
    pub fn reset(&mut self) -> Vec<u8> {
        self.power_on()
    }

    /// How many power-ons, power-offs and warm resets the card has seen since it was opened.
    pub fn resets(&self) -> u64 {
        self.resets
    }

    fn power_cycle(&mut self) {
        self.resets += 1;
        // The global PIN is no longer submitted nor validated (GPCS §8.2.2: card session state).
        self.rt.cvm_session = cvm::CvmSession::None;
        for o in self.rt.slots.iter_mut().filter_map(|s| s.obj.as_mut()) {
            o.power_reset();
        }
        // Every session ends with the channels (AmdD §5.6).
        for c in self.rt.channels.iter_mut() {
            *c = None;
        }
        self.rt.channels[0] = Some(Channel::default());
        let default = self.rt.image.default_selected();
        // The implicitly selected application is selected as by a SELECT without data
        // (GPCS §6.6.1); its answer goes nowhere.
        let _ = self.rt.select_instance(&mut self.rng, 0, &default, &Command::new(0x00, 0xA4, 0x04, 0x00));
    }

    /// Sends one APDU (wire bytes) and returns the response bytes. An unpowered card is powered
    /// on first, as a reader does when a client connects.
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let rsp = match Command::parse(apdu) {
            Ok(cmd) => self.transmit_command(&cmd),
            Err(sw) => {
                // A malformed APDU on a channel with a secure channel session is a failed
                // command of that session: the session ends (AmdD §5.6).
                if let Some(ch) = apdu.first().and_then(|&c| self.rt.class_of(c).ok()) {
                    if let Some(s) = self.rt.session_mut(ch.channel) {
                        s.end();
                    }
                }
                Response::status(sw)
            }
        };
        rsp.to_bytes()
    }

    /// Sends one parsed command.
    pub fn transmit_command(&mut self, cmd: &Command) -> Response {
        if !self.powered {
            self.power_on();
        }
        if self.torn {
            return Response::status(Sw::MemoryFailure);
        }
        // Tearing injection reaches inside the command too: modules with their own atomic
        // writes (the JCVM) get the store's budget, and their writes count as its steps.
        let armed = self.store.tearing().is_some();
        if armed {
            let budget = self.store.tearing().and_then(crate::store::Tearing::remaining);
            for m in self.rt.catalog.modules() {
                m.arm_power(budget);
            }
        }
        let rsp = match self.rt.take_pending(cmd) {
            Some(r) => r,
            None => {
                let rsp = self.rt.dispatch(&mut self.rng, cmd).unwrap_or_else(Response::status);
                self.rt.limit_response(cmd, rsp)
            }
        };
        let ch = self.rt.class_of(cmd.cla).ok().map(|c| c.channel);
        if armed && self.power_lost_in_command() {
            return Response::status(Sw::MemoryFailure);
        }
        match self.commit(ch) {
            Ok(()) => rsp,
            Err(sw) => Response::status(sw),
        }
    }

    /// After an armed command: counts the modules' atomic writes as store steps; if one lost
    /// power, what its completed writes left is in its memory as it would be in a card's
    /// EEPROM, so it is committed whatever the injection says, and the card is dead until it
    /// is opened again.
    fn power_lost_in_command(&mut self) -> bool {
        let mut lost = false;
        for m in self.rt.catalog.modules() {
            let (n, l) = m.power_used();
            if let Some(t) = self.store.tearing_mut() {
                t.advance(n);
            }
            lost |= l;
        }
        if lost {
            let t = self.store.tearing().cloned();
            self.store.set_tearing(None);
            if let Err(sw) = self.commit(None) {
                tracing::error!("commit after the power cut failed: {sw}");
            }
            self.store.set_tearing(t);
            self.torn = true;
        }
        lost
    }

    /// What the card's modules want the user to see about the commands since the last call
    /// (Java stack traces of exceptions that escaped CAP applets).
    pub fn take_diagnostics(&self) -> Vec<Diagnostic> {
        self.rt.catalog.modules().flat_map(|m| m.take_diagnostics()).collect()
    }

    /// Turns execution traces of the card's CAP applets on or off; the lines come with
    /// [`Card::take_diagnostics`].
    pub fn set_trace(&mut self, spec: &TraceSpec) {
        for m in self.rt.catalog.modules() {
            m.set_trace(spec);
        }
    }

    /// Turns code coverage of the card's CAP applets on (counting from zero) or off.
    pub fn set_coverage(&mut self, on: bool) {
        for m in self.rt.catalog.modules() {
            m.set_coverage(on);
        }
    }

    /// The coverage so far: LCOV (for CAPs with a Debug component; `genhtml` reads it) and a
    /// per-method bytecode table for the others.
    pub fn coverage_report(&self) -> (String, String) {
        let (mut lcov, mut table) = (String::new(), String::new());
        for m in self.rt.catalog.modules() {
            let (l, t) = m.coverage_report();
            lcov += &l;
            table += &t;
        }
        (lcov, table)
    }

    /// Gives the card a load file's debug information (a CAP file's Debug component, which a
    /// LOAD leaves off the card) for stack traces with source lines, and commits it.
    pub fn attach_debug(&mut self, file: &[u8]) -> Result<(), String> {
        let mut r = Err("no module of this card takes debug information".to_string());
        for m in self.rt.catalog.modules() {
            if let Some(x) = m.attach_debug(file) {
                r = x;
                break;
            }
        }
        r?;
        self.commit(None).map_err(|sw| format!("commit: {sw}"))
    }

    /// Delivers a card-wide event to every instance and commits what they changed.
    pub fn deliver_event(&mut self, ev: CardEvent) -> Result<(), Sw> {
        for o in self.rt.slots.iter_mut().filter_map(|s| s.obj.as_mut()) {
            o.on_event(ev);
        }
        self.commit(None)
    }

    /// The secure channel session of an open channel.
    pub fn session(&self, ch: u8) -> Option<&Session> {
        self.rt.session(ch)
    }

    /// Whether `aid` is selected on any open channel.
    pub fn is_selected_anywhere(&self, aid: &Aid) -> bool {
        self.rt.is_selected_anywhere(aid)
    }

    /// What is selected on a channel.
    pub fn selected(&self, ch: u8) -> Option<&Aid> {
        self.rt.selected(ch)
    }

    /// Channels currently open.
    pub fn open_channels(&self) -> Vec<u8> {
        self.rt.open_channels()
    }

    /// Commits the image if anything persistent changed during this APDU (`ch`: the channel it
    /// came on, `None` for a card-wide event).
    fn commit(&mut self, ch: Option<u8>) -> Result<(), Sw> {
        let mut dirty = std::mem::take(&mut self.rt.image_dirty);
        // Ask every instance (a cheap flag read each); look its registry entry up only when it
        // changed, so an APDU that wrote nothing costs no hashing or searching.
        let mut changed = Vec::new();
        let Runtime { slots, image, .. } = &mut self.rt;
        for s in slots.iter_mut() {
            let Some(o) = s.obj.as_mut() else { continue };
            if o.take_dirty() {
                if let Some(inst) = image.instances.iter_mut().find(|i| i.aid == s.aid) {
                    inst.state = o.save();
                }
                changed.push(s.id);
                dirty = true;
            }
        }
        for m in self.rt.catalog.modules() {
            if m.take_dirty() {
                if let Some(b) = m.save_shared() {
                    self.rt.image.set_shared_state(m.name(), b);
                }
                dirty = true;
            }
        }
        if !dirty {
            return Ok(());
        }
        let payload = self.rt.image.to_bytes();
        match self.store.commit(&payload) {
            Ok(()) => {
                self.committed = payload;
                Ok(())
            }
            Err(StoreError::PowerCut) => {
                self.torn = true;
                Err(Sw::MemoryFailure)
            }
            Err(e) => {
                // A full disk fails this APDU alone (6581, ISO 7816-4 "memory failure"): its
                // changes are undone and everything else (channels, selections, sessions,
                // other instances' volatile state) stays as it was.
                tracing::error!("commit failed, this command's changes are undone: {e}");
                self.undo(&changed, ch);
                Err(Sw::MemoryFailure)
            }
        }
    }

    /// Goes back to the last committed image after a failed commit: the registry as it was,
    /// the instances this APDU changed, added or removed made again from their committed state,
    /// and the session of the APDU's channel ended (what it set up, e.g. an INITIALIZE UPDATE
    /// with its sequence counter, was not kept).
    fn undo(&mut self, changed: &[u64], ch: Option<u8>) {
        let Ok(img) = CardImage::from_bytes(&self.committed) else {
            self.torn = true;
            return;
        };
        let rt = &mut self.rt;
        for m in rt.catalog.modules() {
            if m.restore_shared(img.shared_state(m.name())).is_err() {
                self.torn = true;
                return;
            }
        }
        let mut old: Vec<Slot> = std::mem::take(&mut rt.slots);
        for inst in &img.instances {
            let kept = old.iter().position(|s| s.aid == inst.aid && !changed.contains(&s.id) && s.obj.is_some());
            let slot = match kept {
                Some(p) => old.swap_remove(p),
                None => {
                    let obj = inst
                        .elf
                        .as_ref()
                        .zip(inst.module.as_ref())
                        .and_then(|(e, m)| rt.catalog.find(e, m))
                        .and_then(|m| m.restore(&inst.aid, &inst.state).ok());
                    let Some(obj) = obj else {
                        self.torn = true;
                        return;
                    };
                    rt.next_slot += 1;
                    Slot { id: rt.next_slot, aid: inst.aid.clone(), obj: Some(obj) }
                }
            };
            rt.slots.push(slot);
        }
        rt.image = img;
        let live: Vec<Aid> = rt.slots.iter().map(|s| s.aid.clone()).collect();
        for c in rt.channels.iter_mut().flatten() {
            if c.selected.as_ref().is_some_and(|a| !live.contains(a)) {
                c.selected = None;
            }
        }
        if let Some(s) = ch.and_then(|ch| rt.session_mut(ch)) {
            s.end();
        }
    }
}

impl Runtime {
    /// The class byte as this card codes it (`CardImage::jc21`).
    fn class_of(&self, cla: u8) -> Result<Class, Sw> {
        Class::parse_for(cla, self.image.jc21)
    }

    /// Live objects for every registry entry of the image, from the catalog.
    fn instantiate(&mut self) -> Result<(), String> {
        let mut slots = Vec::with_capacity(self.image.instances.len());
        for inst in &self.image.instances {
            let (Some(elf), Some(module)) = (&inst.elf, &inst.module) else {
                return Err(format!("instance {} has no load file or module", inst.aid));
            };
            let m = self.catalog.find(elf, module).ok_or_else(|| {
                format!("instance {} needs module {module} of {elf}, which this gpse does not have", inst.aid)
            })?;
            let obj = m.restore(&inst.aid, &inst.state).map_err(|e| format!("instance {}: {e}", inst.aid))?;
            slots.push(Slot { id: self.next_slot, aid: inst.aid.clone(), obj: Some(obj) });
            self.next_slot += 1;
        }
        self.slots = slots;
        Ok(())
    }

    fn slot(&self, aid: &Aid) -> Option<&Slot> {
        self.slots.iter().find(|s| &s.aid == aid)
    }

    /// Runs `f` on the live object of `aid` with a context for channel `ch`: the object is
    /// taken out of its slot for the call and put back after (unless the call removed it).
    /// `None` when there is no such live object (or it is running already).
    fn with_instance<R>(
        &mut self,
        rng: &mut CardRng,
        ch: u8,
        aid: &Aid,
        security_level: SecurityStatus,
        f: impl FnOnce(&mut dyn Applet, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let pos = self.slots.iter().position(|s| &s.aid == aid)?;
        let id = self.slots[pos].id;
        let mut obj = self.slots[pos].obj.take()?;
        let inst = self.image.instance(aid);
        // GP's OPEN is for security domains (GPCS §6.1) and the card's own native installer;
        // what each may do with it is the card manager's decision (privileges, life cycle).
        let privileged = inst.is_some_and(|i| i.has_privilege(Privileges::SECURITY_DOMAIN)) || obj.card_manager();
        let card_life_cycle = self.image.life_cycle;
        let r = {
            let mut ctx = Ctx { channel: ch, aid, rng, card_life_cycle, security_level, open: None, gp: None };
            if privileged {
                ctx.open = Some(Open::new(self));
            } else {
                ctx.gp = Some(GpApi::new(self, aid, ch));
            }
            f(obj.as_mut(), &mut ctx)
        };
        if let Some(s) = self.slots.iter_mut().find(|s| s.id == id) {
            s.obj = Some(obj);
        }
        Some(r)
    }

    fn dispatch(&mut self, rng: &mut CardRng, cmd: &Command) -> Outcome {
        let class = self.class_of(cmd.cla)?;
        let ch = class.channel;
        if !self.channel_open(ch) {
            return Err(Sw::ChannelNotSupported);
        }
        // INS 6x and 9x are invalid in ISO 7816-3 (they collide with procedure bytes).
        if matches!(cmd.ins & 0xF0, 0x60 | 0x90) {
            return Err(Sw::InsNotSupported);
        }
        if !class.proprietary && !class.chaining {
            match (cmd.ins, cmd.p1) {
                (0x70, _) => return self.manage_channel(rng, ch, cmd),
                (0xA4, 0x04) => {
                    if let Some(r) = self.select_by_name(rng, ch, cmd) {
                        return r;
                    }
                }
                _ => {}
            }
        }
        let target = self.selected(ch).cloned().ok_or(Sw::FileNotFound)?;
        let slot = self.slot(&target).and_then(|s| s.obj.as_ref()).ok_or(Sw::FileNotFound)?;
        // Command chaining (CLA b5, ISO 7816-4 §5.1.1.1) reaches only instances that take it.
        if class.chaining && !slot.supports_chaining() {
            return Err(Sw::ChainingNotSupported);
        }
        let sd = match slot.secure_channel() {
            SecureChannelUse::None => return self.process_on(rng, ch, &target, cmd),
            SecureChannelUse::Own => target.clone(),
            SecureChannelUse::AssociatedSd => self.image.instance(&target).ok_or(Sw::FileNotFound)?.sd.clone(),
        };
        // Secure channel (AmdD §5.6, §7.1; GPCS §10.2.3). INITIALIZE UPDATE and EXTERNAL
        // AUTHENTICATE go to the security domain, never through unwrap.
        if class.proprietary && matches!(cmd.ins, 0x50 | 0x82) {
            return self.process_on(rng, ch, &sd, cmd);
        }
        let session = self.session_mut(ch).ok_or(Sw::ChannelNotSupported)?;
        match session {
            Session::Authenticated(a) => {
                // Every command is checked against the session level; a failure ends the
                // session and the command does nothing (AmdD §5.6).
                let plain = match a.unwrap(cmd) {
                    Ok(p) => p,
                    Err(sw) => {
                        session.end();
                        return Err(sw);
                    }
                };
                let rsp = self.process_on(rng, ch, &target, &plain).unwrap_or_else(Response::status);
                match self.session_mut(ch) {
                    Some(Session::Authenticated(a)) => Ok(a.wrap(rsp)),
                    _ => Ok(rsp),
                }
            }
            _ => {
                // EXTERNAL AUTHENTICATE must immediately follow INITIALIZE UPDATE (GPCS D.4.2):
                // any other command cancels a pending authentication.
                session.end();
                if class.secure_messaging {
                    // Secure messaging without a session (GP Card API `SecureChannel.unwrap`).
                    return Err(Sw::SecurityNotSatisfied);
                }
                self.process_on(rng, ch, &target, cmd)
            }
        }
    }

    fn session_mut(&mut self, ch: u8) -> Option<&mut Session> {
        self.channels.get_mut(ch as usize).and_then(|c| c.as_mut()).map(|c| &mut c.session)
    }

    fn session(&self, ch: u8) -> Option<&Session> {
        self.channels.get(ch as usize).and_then(|c| c.as_ref()).map(|c| &c.session)
    }

    fn channel_open(&self, ch: u8) -> bool {
        self.channels.get(ch as usize).is_some_and(|c| c.is_some())
    }

    fn security_status(&self, ch: u8) -> SecurityStatus {
        self.session(ch).map_or(SecurityStatus::empty(), Session::security_status)
    }

    /// Runs a command on an instance, with the Current Security Level of the channel.
    fn process_on(&mut self, rng: &mut CardRng, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
        let level = self.security_status(ch);
        self.with_instance(rng, ch, aid, level, |a, ctx| a.process(ctx, cmd)).unwrap_or(Err(Sw::FileNotFound))
    }

    /// SELECT by DF name (P1=04). `None` when no instance matches, so the command goes to the
    /// currently selected applet as Java Card does.
    fn select_by_name(&mut self, rng: &mut CardRng, ch: u8, cmd: &Command) -> Option<Outcome> {
        // P2: b8-b5 must be 0; b4b3 = FCI / FCP / FMD / none; b2b1 = first or next occurrence
        // (ISO 7816-4 T39). Last occurrence and previous are not supported.
        if cmd.p2 & 0xF0 != 0 || !matches!(cmd.p2 & 0x03, 0x00 | 0x02) {
            return Some(Err(Sw::IncorrectP1P2));
        }
        let name = &cmd.data;
        if name.len() > 16 {
            return Some(Err(Sw::WrongLength));
        }
        let found = if name.is_empty() {
            // GPCS §11.9.2.3: Lc and data may be omitted when selecting the ISD.
            Some(self.image.isd().aid.clone())
        } else {
            let current = self.selected(ch);
            let matches: Vec<&Aid> = self
                .image
                .instances
                .iter()
                .filter(|i| self.image.selectable_now(i) && i.aid.starts_with(name))
                .map(|i| &i.aid)
                .collect();
            let pick = if cmd.p2 & 0x03 == 0x02 {
                // Next occurrence: the match after the current one, or the first.
                match current.and_then(|c| matches.iter().position(|a| *a == c)) {
                    Some(p) => matches.get(p + 1).copied(),
                    None => matches.first().copied(),
                }
            } else {
                matches.first().copied()
            };
            pick.cloned()
        };
        let aid = found?;
        Some(self.select_instance(rng, ch, &aid, cmd))
    }

    /// Makes `aid` the selection of channel `ch`, deselecting what was there.
    fn select_instance(&mut self, rng: &mut CardRng, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
        let r = if self.selected(ch) == Some(aid) {
            // Re-selection of the current applet: the secure channel session still ends (AmdD
            // §5.6), the applet decides what else survives.
            if let Some(c) = self.channels.get_mut(ch as usize).and_then(|c| c.as_mut()) {
                c.session.end();
                c.selected = None;
            }
            self.with_instance(rng, ch, aid, SecurityStatus::empty(), |a, ctx| a.reselect(ctx, cmd))
        } else {
            self.deselect_channel(rng, ch);
            self.with_instance(rng, ch, aid, SecurityStatus::empty(), |a, ctx| a.select(ctx, cmd))
        }
        .unwrap_or(Err(Sw::FileNotFound));
        // A selection made while the card is CARD_LOCKED answers the warning `6283` "Card Life
        // Cycle State is CARD_LOCKED", with the FCI if any (GPCS T11-84).
        let r = match r {
            Ok(rsp) if rsp.sw == Sw::Ok && self.image.life_cycle == CardLifeCycle::CardLocked => {
                Ok(Response { sw: Sw::SelectedFileInvalidated, ..rsp })
            }
            r => r,
        };
        if r.is_ok() || matches!(r, Err(sw) if sw.is_success_or_warning()) {
            if let Some(c) = self.channels[ch as usize].as_mut() {
                c.selected = Some(aid.clone());
            }
        }
        r
    }

    /// Ends the selection on `ch`: the channel's secure channel session ends (AmdD §5.6; GPCS
    /// §10.2.3), then the instance hears of it.
    fn deselect_channel(&mut self, rng: &mut CardRng, ch: u8) {
        let Some(c) = self.channels.get_mut(ch as usize).and_then(|c| c.as_mut()) else { return };
        c.session.end();
        let Some(prev) = c.selected.take() else { return };
        self.with_instance(rng, ch, &prev, SecurityStatus::empty(), |a, ctx| a.deselect(ctx));
    }

    /// Whether `aid` is selected on any open channel.
    fn is_selected_anywhere(&self, aid: &Aid) -> bool {
        self.channels.iter().flatten().any(|c| c.selected.as_ref() == Some(aid))
    }

    fn selected(&self, ch: u8) -> Option<&Aid> {
        self.channels.get(ch as usize).and_then(|c| c.as_ref()).and_then(|c| c.selected.as_ref())
    }

    // The channel table has at most 20 entries (ISO 7816-4 §5.1.1).
    #[allow(clippy::cast_possible_truncation)]
    fn open_channels(&self) -> Vec<u8> {
        (0..self.channels.len() as u8).filter(|&c| self.channel_open(c)).collect()
    }
}
