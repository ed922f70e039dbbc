//! The `Applet` trait and the pieces every applet uses: the per-command context and the
//! `Persistent` wrapper whose writes the runtime commits once per APDU.

use crate::apdu::{Command, Response};
use crate::card::Aid;
use crate::crypto::CardRng;
use crate::sw::Sw;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::ops::{Deref, DerefMut};

/// What an applet's command handler returns: response data with `9000`, or a status word.
pub type Outcome = Result<Response, Sw>;

/// What the runtime tells an applet about the command in hand.
pub struct Ctx<'a> {
    /// The logical channel the command came on (0-19).
    pub channel: u8,
    /// The instance AID being addressed.
    pub aid: &'a Aid,
    /// The card's RNG (seeded when the card was opened with `--seed`).
    pub rng: &'a mut CardRng,
    /// The card life cycle state (GPCS §5.1.1; `01` OP_READY … `FF` TERMINATED).
    pub card_life_cycle: u8,
    /// Whether the secure channel session on this channel belongs to the security domain this
    /// applet is associated with, and at which current security level (GPCS T10-1 bits), if any.
    pub security_level: Option<u8>,
}

/// Card-wide events delivered to applets that care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardEvent {
    /// The phone's factory reset reached the SE: applets erase user data (JPKI wipes keys).
    FactoryReset,
}

/// A Java Card-style applet instance, hosted by the runtime.
///
/// State split (Java Card semantics): whatever must survive power loss lives in a
/// [`Persistent`] value that the runtime commits atomically after each APDU that changed it;
/// everything else is volatile and cleared by [`Applet::power_reset`] on power off, power on and
/// reset. Selection state is per logical channel: `ctx.channel` says which.
pub trait Applet: Send {
    /// Called on SELECT of this instance. The response (FCI or nothing) is returned to the host.
    /// An `Err` makes the selection fail; the channel then has no applet selected.
    fn select(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        let _ = (ctx, cmd);
        Ok(Response::ok())
    }

    /// Called when another SELECT, a channel close or a reset ends this applet's selection on
    /// `ctx.channel`.
    fn deselect(&mut self, ctx: &mut Ctx<'_>) {
        let _ = ctx;
    }

    /// Handles any command while selected (including SELECTs of AIDs the runtime did not find,
    /// as Java Card forwards them; SELECT EF and the like).
    fn process(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome;

    /// Drops volatile state (power off, power on, warm reset).
    fn power_reset(&mut self);

    /// Whether persistent state changed since the last call; the runtime then saves and commits.
    fn take_dirty(&mut self) -> bool;

    /// The persistent state as bytes, for the card image.
    fn save(&self) -> Vec<u8>;

    /// A card-wide event.
    fn on_event(&mut self, ev: CardEvent) {
        let _ = ev;
    }

    /// Whether this applet uses the secure channel of its associated security domain, as a Java
    /// Card applet does that hands INITIALIZE UPDATE and EXTERNAL AUTHENTICATE to
    /// `GPSystem.getSecureChannel().processSecurity()` and unwraps its commands with it (GP Card
    /// API `SecureChannel`). When `true`, the runtime answers those two commands (CLA `8x`/`Cx`,
    /// INS `50`/`82`) with the SD's keys, unwraps every command on the channel while a session is
    /// open, wraps the responses, and passes the level in [`Ctx::security_level`].
    fn uses_secure_channel(&self) -> bool {
        false
    }
}

/// Persistent applet state: reads are free, any mutable access marks it dirty, and the runtime
/// commits it to the card image at the end of the APDU.
#[derive(Debug, Default, Clone)]
pub struct Persistent<T> {
    value: T,
    dirty: bool,
}

impl<T: Serialize + DeserializeOwned> Persistent<T> {
    /// A new value, dirty so that the first commit stores it.
    pub fn new(value: T) -> Self {
        Persistent { value, dirty: true }
    }

    /// Restores from image bytes (clean).
    pub fn restore(bytes: &[u8]) -> Result<Self, postcard::Error> {
        Ok(Persistent { value: postcard::from_bytes(bytes)?, dirty: false })
    }

    /// The image bytes.
    pub fn save(&self) -> Vec<u8> {
        postcard::to_stdvec(&self.value).expect("in-memory state always serialises")
    }

    /// Whether it changed since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }
}

impl<T> Deref for Persistent<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Persistent<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.dirty = true;
        &mut self.value
    }
}

/// Creates a fresh instance from INSTALL parameters (the `C9` value).
pub type InstallFn = fn(params: &[u8], rng: &mut CardRng) -> Result<Box<dyn Applet>, Sw>;
/// Re-creates an instance from its saved persistent state.
pub type RestoreFn = fn(state: &[u8]) -> Result<Box<dyn Applet>, String>;

/// How an applet implementation is created: fresh at INSTALL, or from its saved bytes when a
/// card image is opened. One per module the emulator can run (see `applets::catalog`).
pub struct ModuleImpl {
    /// A stable name, stored in the card image.
    pub name: &'static str,
    /// Package (Executable Load File) AID of the built-in load file.
    pub package_aid: &'static [u8],
    /// Module (applet class) AID.
    pub module_aid: &'static [u8],
    /// The instance AID the default profile gives it.
    pub default_instance_aid: &'static [u8],
    /// A new instance from INSTALL parameters (the `C9` value).
    pub install: InstallFn,
    /// An instance from its saved persistent state.
    pub restore: RestoreFn,
}
