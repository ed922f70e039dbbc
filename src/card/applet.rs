//! The hosting interface: the `Applet` trait every hosted instance implements (native applets,
//! the security domains, CAP-backed applets alike), the per-command context, the `Module`s a
//! catalog offers, and the `Persistent` wrapper whose writes the runtime commits once per APDU.

use crate::apdu::{Command, Response};
use crate::card::registry::{CardLifeCycle, Privileges};
use crate::card::{Aid, GpApi, Open};
use crate::crypto::CardRng;
use crate::scp03::SecurityStatus;
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
    /// The card life cycle state (GPCS §5.1.1).
    pub card_life_cycle: CardLifeCycle,
    /// The Current Security Level of the secure channel session on this channel (GPCS T10-1):
    /// empty without an authenticated session.
    pub security_level: SecurityStatus,
    /// GlobalPlatform's OPEN services (registry changes, sessions, install and delete
    /// requests): present only for instances with the Security Domain privilege.
    pub open: Option<Open<'a>>,
    /// The GlobalPlatform Card API services (`GPSystem`, `SecureChannel`): present for the
    /// instances that do not have OPEN.
    pub gp: Option<GpApi<'a>>,
}

impl<'a> Ctx<'a> {
    /// A context for an instance run outside a card (unit tests of one applet): no OPEN.
    pub fn standalone(channel: u8, aid: &'a Aid, rng: &'a mut CardRng, security_level: SecurityStatus) -> Ctx<'a> {
        Ctx { channel, aid, rng, card_life_cycle: CardLifeCycle::Secured, security_level, open: None, gp: None }
    }
}

/// Whose secure channel an instance's commands go through (AmdD §5.6; GP Card API
/// `GPSystem.getSecureChannel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecureChannelUse {
    /// None: commands reach the instance as they came.
    None,
    /// Its own: a security domain, which answers INITIALIZE UPDATE and EXTERNAL AUTHENTICATE.
    Own,
    /// Its associated security domain's: the runtime hands INITIALIZE UPDATE and EXTERNAL
    /// AUTHENTICATE to that SD, unwraps every command while a session is open and wraps the
    /// responses, and passes the level in [`Ctx::security_level`].
    AssociatedSd,
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

    /// Called on SELECT of this instance while it is already the selection of `ctx.channel`.
    /// By default the selection ends and starts again ([`Applet::deselect`], then
    /// [`Applet::select`]); an applet whose selection-scoped state survives a re-selection of
    /// itself (the JPKI AP's verified PINs, JICSAP 5.1.3) overrides it.
    fn reselect(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        self.deselect(ctx);
        self.select(ctx, cmd)
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

    /// The instance is being deleted (GP DELETE; Java Card's `AppletEvent.uninstall`): what
    /// it keeps outside its own state (a VM's objects) goes now.
    fn uninstall(&mut self) {}

    /// Whose secure channel serves this instance. An applet that hands INITIALIZE UPDATE and
    /// EXTERNAL AUTHENTICATE to `GPSystem.getSecureChannel().processSecurity()` and unwraps its
    /// commands with it (GP Card API `SecureChannel`) says [`SecureChannelUse::AssociatedSd`].
    fn secure_channel(&self) -> SecureChannelUse {
        SecureChannelUse::None
    }

    /// Whether this is a native component of the card that manages content without being a
    /// security domain (the Java Card SDK's reference installer): the runtime hands it OPEN.
    /// Only native catalog code says so; CAP applets never do.
    fn card_manager(&self) -> bool {
        false
    }

    /// Whether the instance takes command chaining (CLA b5, ISO 7816-4 §5.1.1.1); the runtime
    /// answers `6884` to a chained command for one that does not (the JCRE's answer when the
    /// applet does not handle chaining).
    fn supports_chaining(&self) -> bool {
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
    // Serialising owned in-memory data into a Vec cannot fail: a failure is a bug, not input.
    #[allow(clippy::expect_used)]
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

/// What INSTALL [for install] asks of a module (GPCS §11.5.2.3).
#[derive(Clone, Copy, Debug)]
pub struct InstallRequest<'a> {
    /// The Executable Load File (package) and module (applet class).
    pub elf: &'a Aid,
    pub module: &'a Aid,
    /// The new instance's AID.
    pub instance: &'a Aid,
    pub privileges: Privileges,
    /// The application-specific parameters (the value of `C9`).
    pub params: &'a [u8],
    /// An installer with another layout than GP's (the Java Card 2.1 reference installer's
    /// CREATE APPLET): `install(bArray, bOffset, bLength)` gets exactly these, `params` being
    /// `array[offset..offset + length]`.
    pub raw: Option<RawInstall<'a>>,
}

/// `install`'s arguments as an installer gives them.
#[derive(Clone, Copy, Debug)]
pub struct RawInstall<'a> {
    pub array: &'a [u8],
    pub offset: usize,
    pub length: usize,
}

/// Code the card can make instances of: what a module (an applet class of a load file) is to
/// the runtime. Native Rust applets, the security domain and CAP-backed applets each provide
/// one; the runtime finds them in the [`Catalog`] it was assembled with.
///
/// A module may also take load files (LOAD brings a CAP the JCVM runs) and keep state shared
/// by all its instances (the JCVM's heap and static fields), which the runtime commits with the
/// image as one more part of the same atomic write.
pub trait Module: Send + Sync {
    /// A stable name (profiles write it; the card image keys shared state by it).
    fn name(&self) -> &str;
    /// Whether this module has the code of `module` in load file `elf`.
    fn provides(&self, elf: &Aid, module: &Aid) -> bool;
    /// A new instance (INSTALL).
    fn install(&self, req: &InstallRequest<'_>, rng: &mut CardRng) -> Result<Box<dyn Applet>, Sw>;
    /// An instance `aid` from its saved persistent state (opening a card image).
    fn restore(&self, aid: &Aid, state: &[u8]) -> Result<Box<dyn Applet>, String>;

    /// LOAD of a load file: `None` when this module does not run such files; else the applet
    /// classes the package offers, or the status word refusing it (nothing kept then).
    fn load(&self, elf: &Aid, file: &[u8]) -> Option<Result<Vec<Aid>, Sw>> {
        let _ = (elf, file);
        None
    }
    /// DELETE of a load file: a module that took it frees it (or refuses, e.g. while another
    /// package imports it); others answer `Ok`.
    fn unload(&self, elf: &Aid) -> Result<(), Sw> {
        let _ = elf;
        Ok(())
    }
    /// The module for one card: a module with shared state makes a fresh one per card, so
    /// that two cards of one catalog never share it. Stateless modules are shared as they are.
    fn for_card(&self) -> Option<std::sync::Arc<dyn Module>> {
        None
    }
    /// Whether the shared state changed since the last call.
    fn take_dirty(&self) -> bool {
        false
    }
    /// The shared state as bytes for the card image (`None`: this module has none).
    fn save_shared(&self) -> Option<Vec<u8>> {
        None
    }
    /// Back to shared state saved earlier (opening a card, undoing a failed commit); `None`:
    /// the image has none for this module yet (a new card).
    fn restore_shared(&self, state: Option<&[u8]>) -> Result<(), String> {
        let _ = state;
        Ok(())
    }
    /// Tearing (JCRE §7.4): before a command, the runtime tells a module that keeps its own
    /// atomic persistent writes (the JCVM: every field and array element) how many it may
    /// make before the power is cut (`None`: no cut armed) and that counting starts.
    fn arm_power(&self, budget: Option<u64>) {
        let _ = budget;
    }
    /// After the command: the atomic writes made, and whether the power was lost before one
    /// (then the module's state is what the completed writes left, and the runtime keeps it).
    fn power_used(&self) -> (u64, bool) {
        (0, false)
    }
    /// What the module wants its user to see about the commands since the last call (the
    /// JCVM: Java stack traces of exceptions that escaped an applet).
    fn take_diagnostics(&self) -> Vec<Diagnostic> {
        Vec::new()
    }
    /// Debug information of a load file this module holds (the JCVM: a CAP file's Debug
    /// component for stack traces with source lines). `None`: not this module's.
    fn attach_debug(&self, file: &[u8]) -> Option<Result<(), String>> {
        let _ = file;
        None
    }
    /// Turns code coverage on (from zero) or off, for modules that run code they can count
    /// (the JCVM's bytecodes).
    fn set_coverage(&self, on: bool) {
        let _ = on;
    }
    /// The coverage so far: LCOV text, and a plain-text table for code without line tables.
    fn coverage_report(&self) -> (String, String) {
        (String::new(), String::new())
    }
    /// Turns execution traces on or off (the JCVM: instructions, API calls).
    fn set_trace(&self, spec: &TraceSpec) {
        let _ = spec;
    }
}

/// What to trace (`--trace-bytecode AID[:N]`, `--trace-api`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceSpec {
    /// Trace each instruction of the instances with this AID (`Some(None)`: all), at most
    /// `limit` lines.
    pub bytecode: Option<Option<Aid>>,
    /// The most instruction lines.
    pub limit: u64,
    /// Trace each API (native) call with its arguments and result.
    pub api: bool,
}

/// A message for the user about what an applet did (`gpse send -v`, `gpse serve -v`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Detail (shown with `-vv`): e.g. an `ISOException`, an applet's normal way of answering
    /// a status word.
    pub detail: bool,
    /// A trace line the user asked for (`--trace-bytecode`, `--trace-api`): always shown.
    pub trace: bool,
    /// One or more lines.
    pub text: String,
}

/// A module whose code is a pair of functions (the built-in native applets).
#[derive(Clone, Copy)]
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

impl Module for ModuleImpl {
    fn name(&self) -> &str {
        self.name
    }
    fn provides(&self, elf: &Aid, module: &Aid) -> bool {
        elf.as_bytes() == self.package_aid && module.as_bytes() == self.module_aid
    }
    fn install(&self, req: &InstallRequest<'_>, rng: &mut CardRng) -> Result<Box<dyn Applet>, Sw> {
        (self.install)(req.params, rng)
    }
    fn restore(&self, _aid: &Aid, state: &[u8]) -> Result<Box<dyn Applet>, String> {
        (self.restore)(state)
    }
}

/// The modules a card is assembled with: passed in when a card is made or opened, never read
/// from a global, so that a test (or the JCVM) can add its own kinds of applet.
#[derive(Clone, Default)]
pub struct Catalog {
    modules: Vec<std::sync::Arc<dyn Module>>,
}

impl Catalog {
    /// The catalog one card runs with: modules with shared state made fresh for it.
    pub fn for_card(&self) -> Catalog {
        Catalog { modules: self.modules.iter().map(|m| m.for_card().unwrap_or_else(|| m.clone())).collect() }
    }
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// The catalog with one more module.
    pub fn with(mut self, m: std::sync::Arc<dyn Module>) -> Catalog {
        self.modules.push(m);
        self
    }

    /// Every module, in the order added.
    pub fn modules(&self) -> impl Iterator<Item = &dyn Module> {
        self.modules.iter().map(|m| m.as_ref())
    }

    /// The module of this load file and class.
    pub fn find(&self, package: &Aid, module: &Aid) -> Option<&dyn Module> {
        self.modules().find(|m| m.provides(package, module))
    }

    /// The module with this name (as profiles write it).
    pub fn by_name(&self, name: &str) -> Option<&dyn Module> {
        self.modules().find(|m| m.name() == name)
    }
}
