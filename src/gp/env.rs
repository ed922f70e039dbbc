//! What one security domain command runs with: the runtime's OPEN services, the card RNG, and
//! the SD's own volatile state of the channel in hand.

use super::ChannelState;
use crate::apdu::Command;
use crate::card::registry::Instance;
use crate::card::{Aid, CardImage, Open, Outcome};
use crate::crypto::CardRng;
use crate::scp03::card::Session;
use crate::sw::Sw;

/// The environment of a security domain command.
pub struct Env<'e, 'o> {
    open: &'e mut Open<'o>,
    rng: &'e mut CardRng,
    state: &'e mut ChannelState,
}

impl<'e, 'o> Env<'e, 'o> {
    pub fn new(open: &'e mut Open<'o>, rng: &'e mut CardRng, state: &'e mut ChannelState) -> Self {
        Env { open, rng, state }
    }

    pub fn image(&self) -> &CardImage {
        self.open.image()
    }

    /// The image to change; committed with this APDU.
    pub fn image_mut(&mut self) -> &mut CardImage {
        self.open.image_mut()
    }

    pub fn rng(&mut self) -> &mut CardRng {
        self.rng
    }

    pub fn session(&self, ch: u8) -> Option<&Session> {
        self.open.session(ch)
    }

    pub fn session_mut(&mut self, ch: u8) -> Option<&mut Session> {
        self.open.session_mut(ch)
    }

    /// This SD's state of the channel in hand (LOAD, GET STATUS continuation, personalization).
    pub fn channel_state(&mut self) -> &mut ChannelState {
        self.state
    }

    /// Whether the card has code for this load file and module.
    pub fn has_module(&self, elf: &Aid, module: &Aid) -> bool {
        self.open.has_module(elf, module)
    }

    /// Asks the runtime to create an instance (its object and registry entry).
    pub fn install(&mut self, inst: Instance, params: &[u8]) -> Result<(), Sw> {
        self.open.install(inst, params, self.rng)
    }

    /// Asks the runtime to take a load file's code (the JCVM): `None` when no module runs it.
    pub fn load(&mut self, elf: &Aid, file: &[u8]) -> Option<Result<Vec<Aid>, Sw>> {
        self.open.load(elf, file)
    }

    /// Asks the runtime to free a load file's code; a refusal changes nothing.
    pub fn unload(&mut self, elf: &Aid) -> Result<(), Sw> {
        self.open.unload(elf)
    }

    /// Asks the runtime to delete instances.
    pub fn remove(&mut self, aids: &[Aid]) {
        self.open.remove(aids)
    }

    /// The registry renamed an instance: live object and selections follow.
    pub fn rename(&mut self, old: &Aid, new: &Aid) {
        self.open.rename(old, new)
    }

    pub fn is_selected_anywhere(&self, aid: &Aid) -> bool {
        self.open.is_selected_anywhere(aid)
    }

    /// Runs a command on an application for this SD (personalization, GPCS §11.11.2.1).
    pub fn forward(&mut self, ch: u8, app: &Aid, cmd: &Command) -> Outcome {
        self.open.forward(self.rng, ch, app, cmd)
    }
}
