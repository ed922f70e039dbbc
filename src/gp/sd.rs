//! The security domain as a hosted instance: the ISD and every SSD are objects of this one
//! module, in ROM on every card (`globalplatform.md` §B.4). Their persistent data (keys, the
//! registry) is the card manager's, in the registry; the object keeps only the volatile state
//! of each channel it is selected on.

use super::env::Env;
use super::registry::{SD_MODULE_AID, SD_PACKAGE_AID};
use super::{isd, ChannelState};
use crate::apdu::Command;
use crate::card::{Applet, Ctx, ModuleImpl, Outcome, SecureChannelUse};
use crate::crypto::CardRng;
use crate::sw::Sw;

/// Channels a card can have (ISO 7816-4 §5.1.1.2: 0-19).
const CHANNELS: usize = 20;

/// One security domain instance.
#[derive(Default)]
pub struct SecurityDomain {
    channels: [ChannelState; CHANNELS],
}

/// The security domain module.
pub fn module() -> ModuleImpl {
    ModuleImpl {
        name: "security-domain",
        package_aid: SD_PACKAGE_AID,
        module_aid: SD_MODULE_AID,
        default_instance_aid: &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00],
        install: |_, _: &mut CardRng| Ok(Box::<SecurityDomain>::default()),
        restore: |_| Ok(Box::<SecurityDomain>::default()),
    }
}

impl SecurityDomain {
    /// Runs `f` with the environment of this SD on the context's channel; without OPEN (which
    /// the runtime gives every instance with the Security Domain privilege): `6985`.
    fn run(&mut self, ctx: &mut Ctx<'_>, f: impl FnOnce(&mut Env<'_, '_>, u8) -> Outcome) -> Outcome {
        self.run_with_state(ctx, f)
    }

    fn run_with_state<T>(
        &mut self,
        ctx: &mut Ctx<'_>,
        f: impl FnOnce(&mut Env<'_, '_>, u8) -> Result<T, Sw>,
    ) -> Result<T, Sw> {
        let ch = ctx.channel;
        let state = self.channels.get_mut(ch as usize).ok_or(Sw::ChannelNotSupported)?;
        let open = ctx.open.as_mut().ok_or(Sw::ConditionsNotSatisfied)?;
        let mut env = Env::new(open, ctx.rng, state);
        f(&mut env, ch)
    }
}

impl Applet for SecurityDomain {
    fn select(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        let aid = ctx.aid.clone();
        self.run(ctx, |env, ch| isd::select(env, ch, &aid, cmd))
    }

    fn deselect(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(s) = self.channels.get_mut(ctx.channel as usize) {
            *s = ChannelState::default();
        }
    }

    fn process(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        let aid = ctx.aid.clone();
        // Each segment of a chain is admitted like a whole command before it is kept.
        let whole = self.run_with_state(ctx, |env, ch| {
            isd::admit(env, ch, cmd)?;
            let mut pending = env.channel_state().chain.take();
            let r = super::assemble_chain(&mut pending, cmd);
            env.channel_state().chain = pending;
            r
        })?;
        let Some(whole) = whole else {
            return Ok(crate::apdu::Response::ok());
        };
        self.run(ctx, |env, ch| isd::process(env, ch, &aid, &whole))
    }

    /// A security domain takes ISO command chaining (GPCS §11.1.5.1): long INSTALL, STORE DATA
    /// or PUT KEY data in segments, each under secure messaging of its own.
    fn supports_chaining(&self) -> bool {
        true
    }

    fn power_reset(&mut self) {
        self.channels = Default::default();
    }

    fn take_dirty(&mut self) -> bool {
        false
    }

    fn save(&self) -> Vec<u8> {
        Vec::new()
    }

    fn secure_channel(&self) -> SecureChannelUse {
        SecureChannelUse::Own
    }
}
