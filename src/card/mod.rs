//! The card runtime: power, ATR, logical channels, SELECT, dispatch to applets and the security
//! domains, and one atomic commit of the card image per APDU.
//!
//! Java Card RE semantics where they apply (JCRE spec §3-§4): the runtime intercepts SELECT by
//! DF name and MANAGE CHANNEL in the interindustry class; a SELECT whose AID matches no
//! selectable instance is forwarded to the applet selected on that channel (which is how
//! applets see SELECT EF and foreign SELECTs); everything else goes to the selected applet.

pub mod aid;
pub mod applet;
mod channels;
pub mod image;
pub mod pin;
pub mod profile;

pub use aid::Aid;
pub use applet::{Applet, CardEvent, Ctx, ModuleImpl, Outcome, Persistent};
pub use image::CardImage;
pub use pin::{OwnerPin, PinCheck};

use crate::apdu::{Class, Command, Response};
use crate::applets::catalog;
use crate::crypto::CardRng;
use crate::gp;
use crate::gp::registry::InstanceKind;
use crate::scp03::card::Session;
use crate::store::{Durability, Store, StoreError};
use crate::sw::Sw;
use std::collections::HashMap;
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
    /// The card manager's volatile state of this channel (LOAD in progress, GET STATUS
    /// continuation, personalization target).
    pub(crate) gp: gp::ChannelState,
}

/// One emulated secure element.
pub struct Card {
    image: CardImage,
    applets: HashMap<Aid, Box<dyn Applet>>,
    channels: Vec<Option<Channel>>,
    rng: CardRng,
    store: Store,
    powered: bool,
    /// Set by runtime or card-manager code that changed the image itself (not an applet's state).
    image_dirty: bool,
    /// The last committed payload, to roll back to when a commit fails.
    committed: Vec<u8>,
    /// A tearing injection cut the power: the card answers nothing useful until reopened.
    torn: bool,
}

impl Card {
    /// A card from an image, kept in memory only.
    pub fn in_memory(image: CardImage, seed: Option<u64>) -> Result<Card, CardError> {
        let payload = image.to_bytes();
        let mut store = Store::memory();
        store.commit(&payload)?;
        Card::assemble(image, payload, store, seed, "memory")
    }

    /// Creates a new card image in `dir`.
    pub fn create(
        dir: &Path,
        image: CardImage,
        durability: Durability,
        seed: Option<u64>,
        overwrite: bool,
    ) -> Result<Card, CardError> {
        let payload = image.to_bytes();
        let store = Store::create(dir, &payload, durability, overwrite)?;
        Card::assemble(image, payload, store, seed, &dir.display().to_string())
    }

    /// Opens the card image in `dir`.
    pub fn open(dir: &Path, durability: Durability, seed: Option<u64>) -> Result<Card, CardError> {
        let (store, payload) = Store::open(dir, durability)?;
        let image = CardImage::from_bytes(&payload)
            .map_err(|e| CardError::Content(dir.display().to_string(), e.to_string()))?;
        Card::assemble(image, payload, store, seed, &dir.display().to_string())
    }

    fn assemble(
        image: CardImage,
        committed: Vec<u8>,
        store: Store,
        seed: Option<u64>,
        origin: &str,
    ) -> Result<Card, CardError> {
        image.validate().map_err(|e| CardError::Content(origin.to_string(), e))?;
        let applets = instantiate(&image).map_err(|e| CardError::Content(origin.to_string(), e))?;
        let n = image.logical_channels as usize;
        Ok(Card {
            image,
            applets,
            channels: vec![None; n],
            rng: CardRng::new(seed),
            store,
            powered: false,
            image_dirty: false,
            committed,
            torn: false,
        })
    }

    /// The persistent state as it is now.
    pub fn image(&self) -> &CardImage {
        &self.image
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
        &self.image.atr
    }

    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Power on (cold reset): volatile state cleared, the basic channel open with the default
    /// application selected. Returns the ATR.
    pub fn power_on(&mut self) -> Vec<u8> {
        self.power_cycle();
        self.powered = true;
        self.image.atr.clone()
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

    fn power_cycle(&mut self) {
        for a in self.applets.values_mut() {
            a.power_reset();
        }
        gp::on_power_reset(self);
        for c in self.channels.iter_mut() {
            *c = None;
        }
        self.channels[0] = Some(Channel::default());
        let default = self.image.default_selected();
        // The implicitly selected application is selected as by a SELECT without data
        // (GPCS §6.6.1); its answer goes nowhere.
        let _ = self.select_instance(0, &default, &Command::new(0x00, 0xA4, 0x04, 0x00));
    }

    /// Sends one APDU (wire bytes) and returns the response bytes. An unpowered card is powered
    /// on first, as a reader does when a client connects.
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let rsp = match Command::parse(apdu) {
            Ok(cmd) => self.transmit_command(&cmd),
            Err(sw) => {
                // A malformed APDU on a channel with a secure channel session is a failed
                // command of that session: the session ends (AmdD §5.6).
                if let Some(ch) = apdu.first().and_then(|&c| Class::parse(c).ok()) {
                    if let Some(s) = self.session_mut(ch.channel) {
                        s.take();
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
        let rsp = self.dispatch(cmd).unwrap_or_else(Response::status);
        match self.commit() {
            Ok(()) => rsp,
            Err(sw) => Response::status(sw),
        }
    }

    /// Delivers a card-wide event to every applet and commits what they changed.
    pub fn deliver_event(&mut self, ev: CardEvent) -> Result<(), Sw> {
        for a in self.applets.values_mut() {
            a.on_event(ev);
        }
        self.commit()
    }

    fn dispatch(&mut self, cmd: &Command) -> Outcome {
        let class = Class::parse(cmd.cla)?;
        let ch = class.channel;
        if !self.channel_open(ch) {
            return Err(Sw::ChannelNotSupported);
        }
        // INS 6x and 9x are invalid in ISO 7816-3 (they collide with procedure bytes).
        if matches!(cmd.ins & 0xF0, 0x60 | 0x90) {
            return Err(Sw::InsNotSupported);
        }
        if !class.proprietary {
            match (cmd.ins, cmd.p1) {
                (0x70, _) => return self.manage_channel(ch, cmd),
                (0xA4, 0x04) => {
                    if let Some(r) = self.select_by_name(ch, cmd) {
                        return r;
                    }
                }
                _ => {}
            }
        }
        let target = self.channels[ch as usize].as_ref().and_then(|c| c.selected.clone()).ok_or(Sw::FileNotFound)?;
        let Some(sd) = self.secure_channel_provider(&target) else {
            return self.process_on(ch, &target, cmd);
        };
        // Secure channel (AmdD §5.6, §7.1; GPCS §10.2.3). INITIALIZE UPDATE and EXTERNAL
        // AUTHENTICATE go to the session handling itself, never through unwrap.
        if class.proprietary && matches!(cmd.ins, 0x50 | 0x82) {
            if sd == target {
                return self.process_on(ch, &target, cmd);
            }
            return match cmd.ins {
                0x50 => gp::scp::initialize_update(self, ch, &sd, cmd),
                _ => gp::scp::external_authenticate(self, ch, cmd),
            };
        }
        let session = self.session_mut(ch).ok_or(Sw::ChannelNotSupported)?;
        match session {
            Session::Authenticated(a) => {
                // Every command is checked against the session level; a failure ends the
                // session and the command does nothing (AmdD §5.6).
                let plain = match a.unwrap(cmd) {
                    Ok(p) => p,
                    Err(sw) => {
                        session.take();
                        return Err(sw);
                    }
                };
                let rsp = self.process_on(ch, &target, &plain).unwrap_or_else(Response::status);
                match self.session_mut(ch) {
                    Some(Session::Authenticated(a)) => Ok(a.wrap(rsp)),
                    _ => Ok(rsp),
                }
            }
            _ => {
                // EXTERNAL AUTHENTICATE must immediately follow INITIALIZE UPDATE (GPCS D.4.2):
                // any other command cancels a pending authentication.
                session.take();
                if class.secure_messaging {
                    // Secure messaging without a session (GP Card API `SecureChannel.unwrap`).
                    return Err(Sw::SecurityNotSatisfied);
                }
                self.process_on(ch, &target, cmd)
            }
        }
    }

    /// The security domain whose secure channel serves `aid`: itself for a security domain, the
    /// associated one for an applet that uses its SD's secure channel
    /// ([`Applet::uses_secure_channel`]), `None` otherwise.
    fn secure_channel_provider(&self, aid: &Aid) -> Option<Aid> {
        let inst = self.image.instance(aid)?;
        match inst.kind {
            InstanceKind::IssuerSecurityDomain | InstanceKind::SecurityDomain => Some(aid.clone()),
            InstanceKind::Application => {
                self.applets.get(aid).filter(|a| a.uses_secure_channel()).map(|_| inst.sd.clone())
            }
        }
    }

    /// The secure channel session of an open channel.
    pub(crate) fn session_mut(&mut self, ch: u8) -> Option<&mut Session> {
        self.channels.get_mut(ch as usize).and_then(|c| c.as_mut()).map(|c| &mut c.session)
    }

    /// The secure channel session of an open channel.
    pub fn session(&self, ch: u8) -> Option<&Session> {
        self.channels.get(ch as usize).and_then(|c| c.as_ref()).map(|c| &c.session)
    }

    fn channel_open(&self, ch: u8) -> bool {
        self.channels.get(ch as usize).is_some_and(|c| c.is_some())
    }

    /// Runs a command on an instance: security domains go to the card manager, applets to their
    /// implementation.
    fn process_on(&mut self, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
        let kind = self.image.instance(aid).map(|i| i.kind).ok_or(Sw::FileNotFound)?;
        match kind {
            InstanceKind::IssuerSecurityDomain | InstanceKind::SecurityDomain => gp::process(self, ch, aid, cmd),
            InstanceKind::Application => {
                let life_cycle = self.image.life_cycle;
                let security_level = self.session(ch).and_then(|s| s.level()).map(|l| l.current());
                let applet = self.applets.get_mut(aid).ok_or(Sw::FileNotFound)?;
                let mut ctx = Ctx { channel: ch, aid, rng: &mut self.rng, card_life_cycle: life_cycle, security_level };
                applet.process(&mut ctx, cmd)
            }
        }
    }

    /// SELECT by DF name (P1=04). `None` when no instance matches, so the command goes to the
    /// currently selected applet as Java Card does.
    fn select_by_name(&mut self, ch: u8, cmd: &Command) -> Option<Outcome> {
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
            let current = self.channels[ch as usize].as_ref().and_then(|c| c.selected.clone());
            let matches: Vec<&Aid> = self
                .image
                .instances
                .iter()
                .filter(|i| i.is_selectable() && i.aid.starts_with(name))
                .filter(|i| i.kind == InstanceKind::IssuerSecurityDomain || self.image.applications_selectable())
                .map(|i| &i.aid)
                .collect();
            let pick = if cmd.p2 & 0x03 == 0x02 {
                // Next occurrence: the match after the current one, or the first.
                match current.as_ref().and_then(|c| matches.iter().position(|a| *a == c)) {
                    Some(p) => matches.get(p + 1).copied(),
                    None => matches.first().copied(),
                }
            } else {
                matches.first().copied()
            };
            pick.cloned()
        };
        let aid = found?;
        Some(self.select_instance(ch, &aid, cmd))
    }

    /// Makes `aid` the selection of channel `ch`, deselecting what was there.
    fn select_instance(&mut self, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
        self.deselect_channel(ch);
        let kind = self.image.instance(aid).map(|i| i.kind).ok_or(Sw::FileNotFound)?;
        let r = match kind {
            InstanceKind::IssuerSecurityDomain | InstanceKind::SecurityDomain => gp::select(self, ch, aid, cmd),
            InstanceKind::Application => {
                let life_cycle = self.image.life_cycle;
                let applet = self.applets.get_mut(aid).ok_or(Sw::FileNotFound)?;
                let mut ctx =
                    Ctx { channel: ch, aid, rng: &mut self.rng, card_life_cycle: life_cycle, security_level: None };
                applet.select(&mut ctx, cmd)
            }
        };
        if r.is_ok() || matches!(r, Err(sw) if sw.is_success_or_warning()) {
            if let Some(c) = self.channels[ch as usize].as_mut() {
                c.selected = Some(aid.clone());
            }
        }
        r
    }

    fn deselect_channel(&mut self, ch: u8) {
        let Some(prev) = self.channels.get_mut(ch as usize).and_then(|c| c.as_mut()).and_then(|c| c.selected.take())
        else {
            return;
        };
        gp::on_deselect(self, ch);
        let life_cycle = self.image.life_cycle;
        if let Some(a) = self.applets.get_mut(&prev) {
            let mut ctx =
                Ctx { channel: ch, aid: &prev, rng: &mut self.rng, card_life_cycle: life_cycle, security_level: None };
            a.deselect(&mut ctx);
        }
    }

    /// Commits the image if anything persistent changed during this APDU.
    fn commit(&mut self) -> Result<(), Sw> {
        let mut dirty = std::mem::take(&mut self.image_dirty);
        // Ask every applet (a cheap flag read each); look its registry entry up only when it
        // changed, so an APDU that wrote nothing costs no hashing or searching.
        for (aid, a) in self.applets.iter_mut() {
            if a.take_dirty() {
                if let Some(inst) = self.image.instances.iter_mut().find(|i| &i.aid == aid) {
                    inst.state = a.save();
                }
                dirty = true;
            }
        }
        if !dirty {
            return Ok(());
        }
        let payload = self.image.to_bytes();
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
                tracing::error!("commit failed, card rolled back to its last image: {e}");
                self.rollback();
                Err(Sw::MemoryFailure)
            }
        }
    }

    /// Goes back to the last committed image after a failed commit.
    fn rollback(&mut self) {
        if let Ok(img) = CardImage::from_bytes(&self.committed) {
            if let Ok(applets) = instantiate(&img) {
                self.image = img;
                self.applets = applets;
                self.power_cycle();
            }
        }
    }

    /// The RNG, for card-manager code.
    #[allow(dead_code)] // the card manager's SCP03 and key generation use it
    pub(crate) fn rng(&mut self) -> &mut CardRng {
        &mut self.rng
    }

    /// Mutable image access for card-manager code; marks the image for commit.
    #[allow(dead_code)] // the card manager's content management and sequence counter use it
    pub(crate) fn image_mut(&mut self) -> &mut CardImage {
        self.image_dirty = true;
        &mut self.image
    }

    /// The card manager's state of an open channel.
    pub(crate) fn gp_channel_mut(&mut self, ch: u8) -> Option<&mut gp::ChannelState> {
        self.channels.get_mut(ch as usize).and_then(|c| c.as_mut()).map(|c| &mut c.gp)
    }

    /// The card manager's state of an open channel.
    pub(crate) fn gp_channel(&self, ch: u8) -> Option<&gp::ChannelState> {
        self.channels.get(ch as usize).and_then(|c| c.as_ref()).map(|c| &c.gp)
    }

    /// Adds the live object of a newly installed instance (its registry entry is added by the
    /// caller; its state is saved at this APDU's commit).
    pub(crate) fn add_applet(&mut self, aid: Aid, applet: Box<dyn Applet>) {
        self.applets.insert(aid, applet);
    }

    /// Drops the live object of a deleted instance.
    pub(crate) fn remove_applet(&mut self, aid: &Aid) {
        self.applets.remove(aid);
    }

    /// An instance was renamed (STORE DATA `4F` to the ISD): channels that have it selected
    /// follow.
    pub(crate) fn rename_selected(&mut self, old: &Aid, new: &Aid) {
        for c in self.channels.iter_mut().flatten() {
            if c.selected.as_ref() == Some(old) {
                c.selected = Some(new.clone());
            }
        }
    }

    /// Whether `aid` is selected on any open channel.
    pub fn is_selected_anywhere(&self, aid: &Aid) -> bool {
        self.channels.iter().flatten().any(|c| c.selected.as_ref() == Some(aid))
    }

    /// Runs a command on an application on behalf of its security domain (STORE DATA during
    /// INSTALL [for personalization], GPCS §11.11.2.1), with the SD session's level.
    pub(crate) fn process_for_sd(&mut self, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
        let life_cycle = self.image.life_cycle;
        let security_level = self.session(ch).and_then(|s| s.level()).map(|l| l.current());
        let applet = self.applets.get_mut(aid).ok_or(Sw::ReferencedDataNotFound)?;
        let mut ctx = Ctx { channel: ch, aid, rng: &mut self.rng, card_life_cycle: life_cycle, security_level };
        applet.process(&mut ctx, cmd)
    }

    /// What is selected on a channel.
    pub fn selected(&self, ch: u8) -> Option<&Aid> {
        self.channels.get(ch as usize).and_then(|c| c.as_ref()).and_then(|c| c.selected.as_ref())
    }

    /// Channels currently open.
    pub fn open_channels(&self) -> Vec<u8> {
        (0..self.channels.len() as u8).filter(|&c| self.channel_open(c)).collect()
    }
}

/// Live applet objects for every application instance of an image.
fn instantiate(image: &CardImage) -> Result<HashMap<Aid, Box<dyn Applet>>, String> {
    let mut out = HashMap::new();
    for inst in image.instances.iter().filter(|i| i.kind == InstanceKind::Application) {
        let module = inst.module.as_ref().ok_or_else(|| format!("instance {} has no module", inst.aid))?;
        let m = catalog::by_module_aid(module)
            .ok_or_else(|| format!("instance {} needs module {module}, which this gpse does not have", inst.aid))?;
        let a = (m.restore)(&inst.state).map_err(|e| format!("instance {}: {e}", inst.aid))?;
        out.insert(inst.aid.clone(), a);
    }
    Ok(out)
}
