//! What the runtime offers the card manager: GlobalPlatform's OPEN as the security domains see
//! it (GPCS §6.1-6.4). The ISD and SSDs are hosted instances like any applet; this is the narrow
//! door through which they read and change the registry, reach the secure channel sessions of
//! the channels, and ask the runtime to create, delete or rename instances. The runtime hands
//! it (in [`super::Ctx::open`]) only to instances with the Security Domain privilege.

use super::registry::Instance;
use super::{Aid, CardImage, InstallRequest, Outcome, RawInstall, Runtime, Slot};
use crate::apdu::Command;
use crate::crypto::CardRng;
use crate::scp03::card::Session;
use crate::sw::Sw;

/// OPEN services for the duration of one command.
pub struct Open<'a> {
    rt: &'a mut Runtime,
}

impl<'a> Open<'a> {
    pub(super) fn new(rt: &'a mut Runtime) -> Open<'a> {
        Open { rt }
    }

    /// The registry and the rest of the persistent card state.
    pub fn image(&self) -> &CardImage {
        &self.rt.image
    }

    /// The same, to change it; the change is committed with this APDU.
    pub fn image_mut(&mut self) -> &mut CardImage {
        self.rt.image_dirty = true;
        &mut self.rt.image
    }

    /// The secure channel session of an open channel.
    pub fn session(&self, ch: u8) -> Option<&Session> {
        self.rt.session(ch)
    }

    /// The same, to move it through its states.
    pub fn session_mut(&mut self, ch: u8) -> Option<&mut Session> {
        self.rt.session_mut(ch)
    }

    /// Whether the catalog has code for this load file and module.
    pub fn has_module(&self, elf: &Aid, module: &Aid) -> bool {
        self.rt.catalog.find(elf, module).is_some()
    }

    /// Creates an instance: its object from the catalog's module (with the INSTALL `C9`
    /// parameters), then its registry entry after the existing ones. Without code for its
    /// module: `6985`; a refusal of the module's install: its status word. Nothing changes on
    /// failure.
    pub fn install(&mut self, inst: Instance, params: &[u8], rng: &mut CardRng) -> Result<(), Sw> {
        // A Java Card 2.1 card passes the application data alone (`CardImage::jc21`).
        let raw = self.rt.image.jc21.then_some(RawInstall { array: params, offset: 0, length: params.len() });
        self.install_with(inst, params, raw, rng)
    }

    /// [`Open::install`] for an installer that gives `install` its own array layout.
    pub fn install_with(
        &mut self,
        mut inst: Instance,
        params: &[u8],
        raw: Option<RawInstall<'_>>,
        rng: &mut CardRng,
    ) -> Result<(), Sw> {
        let (Some(elf), Some(module)) = (&inst.elf, &inst.module) else {
            return Err(Sw::ConditionsNotSatisfied);
        };
        let m = self.rt.catalog.find(elf, module).ok_or(Sw::ConditionsNotSatisfied)?;
        let req = InstallRequest { elf, module, instance: &inst.aid, privileges: inst.privileges, params, raw };
        let obj = m.install(&req, rng)?;
        inst.state = obj.save();
        let rt = &mut *self.rt;
        rt.slots.push(Slot { id: rt.next_slot, aid: inst.aid.clone(), obj: Some(obj) });
        rt.next_slot += 1;
        rt.image.instances.push(inst);
        rt.image_dirty = true;
        Ok(())
    }

    /// Deletes instances: registry entries and live objects (each told first, Java Card's
    /// `AppletEvent.uninstall`).
    pub fn remove(&mut self, aids: &[Aid]) {
        let rt = &mut *self.rt;
        rt.image.instances.retain(|i| !aids.contains(&i.aid));
        for s in rt.slots.iter_mut().filter(|s| aids.contains(&s.aid)) {
            if let Some(o) = s.obj.as_mut() {
                o.uninstall();
            }
        }
        rt.slots.retain(|s| !aids.contains(&s.aid));
        rt.image_dirty = true;
    }

    /// LOAD of a load file's code: the first module that runs such files takes it and names
    /// its applet classes; `None` when no module does (the registry then records the file as
    /// GP data, instances only of native code).
    pub fn load(&mut self, elf: &Aid, file: &[u8]) -> Option<Result<Vec<Aid>, Sw>> {
        self.rt.catalog.modules().find_map(|m| m.load(elf, file))
    }

    /// DELETE of a load file's code: every module frees what it keeps of it.
    pub fn unload(&mut self, elf: &Aid) -> Result<(), Sw> {
        self.rt.catalog.modules().try_for_each(|m| m.unload(elf))
    }

    /// An instance was renamed in the registry (STORE DATA `4F` to the ISD): its live object
    /// and the channels that have it selected follow.
    pub fn rename(&mut self, old: &Aid, new: &Aid) {
        for s in self.rt.slots.iter_mut().filter(|s| &s.aid == old) {
            s.aid = new.clone();
        }
        for c in self.rt.channels.iter_mut().flatten() {
            if c.selected.as_ref() == Some(old) {
                c.selected = Some(new.clone());
            }
        }
    }

    /// Whether `aid` is selected on any open channel.
    pub fn is_selected_anywhere(&self, aid: &Aid) -> bool {
        self.rt.is_selected_anywhere(aid)
    }

    /// Channels currently open.
    pub fn open_channels(&self) -> Vec<u8> {
        self.rt.open_channels()
    }

    /// Runs a command on another instance on behalf of its security domain (STORE DATA during
    /// INSTALL [for personalization], GPCS §11.11.2.1), with the channel's session level.
    /// `6A88` when it has no live object.
    pub fn forward(&mut self, rng: &mut CardRng, ch: u8, app: &Aid, cmd: &Command) -> Outcome {
        let level = self.rt.security_status(ch);
        self.rt
            .with_instance(rng, ch, app, level, |a, ctx| a.process(ctx, cmd))
            .unwrap_or(Err(Sw::ReferencedDataNotFound))
    }
}
