//! The card-wide VM value the runtime hosts: loaded packages, applet instances, heap and
//! statics, with the JCRE's entry points (install, select, process, deselect, power reset)
//! and the card-image form (`save`/`restore`).
//!
//! The image keeps every loaded package whole (its CAP bytes as received) and rebuilds the
//! linked form on restore; class ids are stored with each package so that heap objects keep
//! meaning the same class.
//!
//! ```no_run
//! use gpse::apdu::Command;
//! use gpse::jcvm::{Jcvm, NoEnv};
//!
//! let cap = std::fs::read("hello.cap").unwrap();
//! let mut vm = Jcvm::new();
//! let info = vm.load_package(&cap).map_err(|e| e.sw()).unwrap(); // LOAD
//! let class = &info.applets[0];
//! vm.install(&mut NoEnv, &info.aid, class, class, &[], &[0x00]).unwrap(); // INSTALL
//! let select = Command::new(0x00, 0xA4, 0x04, 0x00).with_data(class.clone());
//! let r = vm.select(&mut NoEnv, class, 0, &select).unwrap();
//! let r = vm.process(&mut NoEnv, class, 0, &Command::new(0x80, 0x10, 0, 0)).unwrap();
//! if vm.take_dirty() {
//!     let image = vm.save(); // into the card image, atomically with the APDU
//!     let _again = Jcvm::restore(&image).unwrap();
//! }
//! # let _ = r;
//! ```

use crate::apdu::{Command, Response};
use crate::jcvm::api::{cls, USER_CLASS_BASE};
use crate::jcvm::cap::ArrayInit;
use crate::jcvm::cap::{Cap, CapError};
use crate::jcvm::heap::{Body, ClassId, ElemType, Handle, Limits, NativeState, Transience, Usage};
use crate::jcvm::interp::{ApduState, Exec, Fault, Instance, Runtime, Session, Thrown, APDU_BUFFER};
use crate::jcvm::link::{LinkError, Program, Target};
use crate::jcvm::Env;
use crate::sw::Sw;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `Applet` virtual method tokens (javacard.framework export: select 6, process 7, deselect 4).
const TOKEN_DESELECT: usize = 4;
const TOKEN_SELECT: usize = 6;
const TOKEN_PROCESS: usize = 7;
/// `MultiSelectable` interface method tokens: select(boolean) 0, deselect(boolean) 1.
const MS_SELECT: u8 = 0;
const MS_DESELECT: u8 = 1;

/// Why a package cannot be loaded; [`JcvmError::sw`] is the LOAD answer.
#[derive(Debug)]
pub enum JcvmError {
    /// The CAP is malformed or uses a format this VM does not run.
    Cap(CapError),
    /// The load-time verifier refused it.
    Verify(String),
    /// An import cannot be satisfied or a reference resolved.
    Link(LinkError),
    /// The card holds the maximum number of classes or packages.
    Full,
    /// The image could not be decoded.
    Image(String),
}

impl JcvmError {
    /// The status word the card answers at LOAD (`applet-spec/jcvm.md` "Status words at
    /// LOAD": `6A80` bad data, `6A88` an import missing or newer than the card's (GPCS
    /// §11.6.2), `6985` a package with this AID already loaded, `6A84` the card is full).
    pub fn sw(&self) -> Sw {
        match self {
            JcvmError::Cap(_) | JcvmError::Verify(_) | JcvmError::Image(_) => Sw::WrongData,
            JcvmError::Link(LinkError::UnknownImport(_)) | JcvmError::Link(LinkError::ImportVersion { .. }) => {
                Sw::ReferencedDataNotFound
            }
            JcvmError::Link(LinkError::AlreadyLoaded(_)) => Sw::ConditionsNotSatisfied,
            JcvmError::Link(LinkError::TooManyClasses) | JcvmError::Full => Sw::NotEnoughMemory,
            JcvmError::Link(LinkError::BadReference(_)) => Sw::WrongData,
        }
    }
}

impl fmt::Display for JcvmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JcvmError::Cap(e) => write!(f, "{e}"),
            JcvmError::Verify(e) => write!(f, "verifier: {e}"),
            JcvmError::Link(e) => write!(f, "{e}"),
            JcvmError::Full => write!(f, "card full"),
            JcvmError::Image(e) => write!(f, "card image: {e}"),
        }
    }
}

impl std::error::Error for JcvmError {}

/// What LOAD reports about a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageInfo {
    /// Package AID.
    pub aid: Vec<u8>,
    /// Version (major, minor).
    pub version: (u8, u8),
    /// Applet class AIDs.
    pub applets: Vec<Vec<u8>>,
    /// API references the VM does not implement (calling one answers `6F00`).
    pub missing: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredPackage {
    raw: Vec<u8>,
    class_base: ClassId,
    /// The Debug component's `info` (JCVM §6.15), for stack traces: from the loaded bytes
    /// when they carried it, or attached from the CAP file ([`Jcvm::attach_debug`]); a Load File
    /// Data Block normally leaves it off the card.
    debug: Option<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct Image {
    version: u8,
    packages: Vec<Option<StoredPackage>>,
    next_class: ClassId,
    rt: Runtime,
}

/// What escaped an applet's entry point (kept until [`Jcvm::take_diagnostics`]).
#[derive(Clone, Debug)]
enum Escape {
    Exception { class: ClassId, reason: Option<i16>, iso: bool, trace: Vec<crate::jcvm::trace::FramePos> },
    Fault(String),
}

/// Escapes kept for the user at most (the oldest go first).
const MAX_ESCAPES: usize = 32;

/// 2: memory limits in the heap (issue #15).
const IMAGE_VERSION: u8 = 2;

/// Memory used by one package's objects and by each of its instances' (`gpse card info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageMemory {
    /// Package AID.
    pub aid: Vec<u8>,
    /// Bytes of the package's objects (its context owns every object its code created) and
    /// static field image.
    pub usage: Usage,
    /// Static field image bytes (included in `usage.persistent`).
    pub statics: usize,
    /// Instances with the memory of the objects their applet object reaches in the package's
    /// context (objects reachable only from static fields count for the package alone).
    pub instances: Vec<(Vec<u8>, Usage)>,
}

/// The card's memory as the VM sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryReport {
    /// The limits.
    pub limits: Limits,
    /// Everything in use (JCRE objects included).
    pub used: Usage,
    /// Per package.
    pub packages: Vec<PackageMemory>,
}

/// The Java Card VM of one card.
pub struct Jcvm {
    prog: Program,
    rt: Runtime,
    stored: Vec<Option<StoredPackage>>,
    next_class: ClassId,
    dirty: bool,
    /// Exceptions and faults that escaped applets, for [`Jcvm::take_diagnostics`].
    escapes: Vec<(&'static str, Vec<u8>, Escape)>,
}

impl Default for Jcvm {
    fn default() -> Self {
        Jcvm::new()
    }
}

fn elem_of_init(t: u8) -> Option<ElemType> {
    match t {
        2 => Some(ElemType::Boolean),
        3 => Some(ElemType::Byte),
        4 => Some(ElemType::Short),
        5 => Some(ElemType::Int),
        _ => None,
    }
}

impl Jcvm {
    /// An empty VM (no packages).
    pub fn new() -> Jcvm {
        Jcvm::with_limits(Limits::default())
    }

    /// An empty VM on a card with these memory sizes.
    pub fn with_limits(limits: Limits) -> Jcvm {
        Jcvm {
            prog: Program::new(),
            rt: Runtime::with_limits(limits),
            stored: Vec::new(),
            next_class: USER_CLASS_BASE,
            dirty: false,
            escapes: Vec::new(),
        }
    }

    /// The memory sizes.
    pub fn limits(&self) -> Limits {
        self.rt.heap.limits
    }

    /// Arms a power cut after `budget` more atomic persistent writes (`None`: none), and
    /// counts from zero (JCRE §7.4; the card passes its store's tearing budget).
    pub fn arm_power(&mut self, budget: Option<u64>) {
        self.rt.heap.journal.arm(budget);
    }

    /// Atomic writes since [`Jcvm::arm_power`] and whether the power was lost.
    pub fn power_used(&self) -> (u64, bool) {
        self.rt.heap.journal.used()
    }

    /// Memory per package and instance.
    pub fn memory(&self) -> MemoryReport {
        let packages = self
            .prog
            .packages
            .iter()
            .enumerate()
            .filter_map(|(slot, p)| {
                let p = p.as_ref()?;
                let statics = self.rt.statics.get(slot).map_or(0, Vec::len);
                let mut usage = self.rt.heap.usage_of(u16::try_from(slot + 1).ok()?);
                usage.persistent += statics;
                let instances = self
                    .rt
                    .instances
                    .iter()
                    .filter(|i| i.package as usize == slot)
                    .map(|i| {
                        // What the instance's applet object reaches of its own context.
                        let owner = i.package + 1;
                        let mine = self.reachable(vec![i.applet]);
                        let usage = self.rt.heap.usage_of_handles(
                            mine.into_iter().filter(|h| self.rt.heap.get(*h).is_some_and(|o| o.owner == owner)),
                        );
                        (i.aid.clone(), usage)
                    })
                    .collect();
                Some(PackageMemory { aid: p.aid.clone(), usage, statics, instances })
            })
            .collect();
        let mut used = self.rt.heap.usage();
        used.persistent += self.rt.statics.iter().map(Vec::len).sum::<usize>();
        MemoryReport { limits: self.rt.heap.limits, used, packages }
    }

    /// The linked program (for tools and tests).
    pub fn program(&self) -> &Program {
        &self.prog
    }

    /// Sets the work budget of one call (invokes + taken branches).
    pub fn set_step_budget(&mut self, n: u64) {
        self.rt.step_budget = n;
    }

    /// LOAD: parses, verifies and links a CAP (zip or concatenated components), creates its
    /// static image. Nothing changes on error.
    // slot <= 0x7FFF is checked below; class and interface counts are u1 fields (JCVM §6.8).
    #[allow(clippy::cast_possible_truncation)]
    pub fn load_package(&mut self, bytes: &[u8]) -> Result<PackageInfo, JcvmError> {
        let cap = Cap::parse(bytes).map_err(JcvmError::Cap)?;
        crate::jcvm::verify::verify(&cap).map_err(|e| JcvmError::Verify(e.to_string()))?;
        let slot = self.stored.iter().position(Option::is_none).unwrap_or(self.stored.len());
        if slot > 0x7FFF {
            return Err(JcvmError::Full);
        }
        let nclasses = (cap.class.classes.len() + cap.class.interfaces.len()) as u32;
        if self.next_class as u32 + nclasses > 0xFFFF {
            return Err(JcvmError::Full);
        }
        let base = self.next_class;
        self.prog.link(&cap, slot as u16, base).map_err(JcvmError::Link)?;
        if let Err(e) = self.init_statics(&cap, slot) {
            self.prog.unlink(slot as u16);
            return Err(e);
        }
        self.next_class = base + nclasses as ClassId;
        if self.stored.len() <= slot {
            self.stored.resize(slot + 1, None);
        }
        let debug = cap.component(crate::jcvm::cap::Tag::Debug).map(|c| c.info().to_vec());
        self.stored[slot] = Some(StoredPackage { raw: bytes.to_vec(), class_base: base, debug });
        self.dirty = true;
        let p = self.prog.package(slot as u16).ok_or(JcvmError::Full)?;
        for m in &p.missing {
            tracing::info!(package = %hex::encode_upper(&p.aid), "not implemented: {m}");
        }
        Ok(PackageInfo {
            aid: p.aid.clone(),
            version: (p.major, p.minor),
            applets: p.applets.iter().map(|a| a.aid.clone()).collect(),
            missing: p.missing.clone(),
        })
    }

    /// The static field image (JCVM §6.11): references first (the first ones initialised with
    /// the `array_init` arrays), then default-valued primitives, then the non-default values.
    // slot <= 0x7FFF (load_package checks it).
    #[allow(clippy::cast_possible_truncation)]
    fn init_statics(&mut self, cap: &Cap, slot: usize) -> Result<(), JcvmError> {
        let sf = &cap.static_field;
        let mut img = vec![0u8; sf.image_size as usize];
        let refs = sf.reference_count as usize * 2;
        let start = refs + sf.default_value_count as usize;
        if start + sf.non_default_values.len() > img.len() || sf.array_inits.len() * 2 > refs {
            return Err(JcvmError::Verify("static field image sizes disagree".into()));
        }
        img[start..start + sf.non_default_values.len()].copy_from_slice(&sf.non_default_values);
        let owner = slot as u16 + 1;
        for (i, ai) in sf.array_inits.iter().enumerate() {
            let h = self.new_init_array(ai, owner)?;
            img[2 * i..2 * i + 2].copy_from_slice(&h.to_be_bytes());
        }
        if self.rt.statics.len() <= slot {
            self.rt.statics.resize(slot + 1, Vec::new());
        }
        self.rt.statics[slot] = img;
        Ok(())
    }

    fn new_init_array(&mut self, ai: &ArrayInit, owner: u16) -> Result<Handle, JcvmError> {
        let elem = elem_of_init(ai.elem_type).ok_or_else(|| JcvmError::Verify("array_init type".into()))?;
        let size = ai.elem_size().max(1);
        let n = ai.values.len() / size;
        let h = self.rt.heap.new_array(elem, n, Transience::Persistent, owner).map_err(|_| JcvmError::Full)?;
        if let Some(a) = self.rt.heap.array_mut(h) {
            use crate::jcvm::heap::ArrayData;
            match a {
                ArrayData::Bytes(v) => v.copy_from_slice(&ai.values[..n]),
                ArrayData::Shorts(v) => {
                    for (k, c) in ai.values.chunks_exact(2).enumerate() {
                        v[k] = i16::from_be_bytes([c[0], c[1]]);
                    }
                }
                ArrayData::Ints(v) => {
                    for (k, c) in ai.values.chunks_exact(4).enumerate() {
                        v[k] = i32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                    }
                }
                ArrayData::Refs(_) => {}
            }
        }
        Ok(h)
    }

    /// Loaded packages.
    pub fn packages(&self) -> Vec<PackageInfo> {
        self.prog
            .packages
            .iter()
            .flatten()
            .map(|p| PackageInfo {
                aid: p.aid.clone(),
                version: (p.major, p.minor),
                applets: p.applets.iter().map(|a| a.aid.clone()).collect(),
                missing: p.missing.clone(),
            })
            .collect()
    }

    /// Instance AIDs with their package AIDs.
    pub fn instances(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.rt
            .instances
            .iter()
            .map(|i| (i.aid.clone(), self.prog.package(i.package).map(|p| p.aid.clone()).unwrap_or_default()))
            .collect()
    }

    /// DELETE of a package: refused with `6985` while instances of it exist or another
    /// loaded package imports it (GPCS §11.2.2.1); `6A88` when not loaded.
    pub fn delete_package(&mut self, aid: &[u8]) -> Result<(), Sw> {
        let slot = self.prog.package_by_aid(aid).ok_or(Sw::ReferencedDataNotFound)?;
        if self.rt.instances.iter().any(|i| i.package == slot) {
            return Err(Sw::ConditionsNotSatisfied);
        }
        if self.prog.packages.iter().flatten().any(|p| p.depends_on.contains(&slot)) {
            return Err(Sw::ConditionsNotSatisfied);
        }
        for h in self.rt.heap.owned_by(slot + 1) {
            self.rt.heap.free(h);
        }
        if let Some(s) = self.rt.statics.get_mut(slot as usize) {
            s.clear();
        }
        self.prog.unlink(slot);
        self.stored[slot as usize] = None;
        self.dirty = true;
        Ok(())
    }

    /// DELETE of an instance (its applet and AID objects go; the package's other objects stay
    /// until part 2's object deletion). `6A88` when unknown.
    pub fn delete_instance(&mut self, aid: &[u8]) -> Result<(), Sw> {
        let i = self.rt.instances.iter().position(|i| i.aid == aid).ok_or(Sw::ReferencedDataNotFound)?;
        let inst = self.rt.instances.remove(i);
        self.rt.heap.free(inst.applet);
        self.rt.heap.free(inst.aid_object);
        self.rt.session.selected.retain(|_, v| *v != i);
        for v in self.rt.session.selected.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        self.dirty = true;
        Ok(())
    }

    fn begin(&mut self, instance: Option<usize>, context: u16) {
        let s = &mut self.rt.session;
        s.instance = instance;
        s.context = context;
        s.selecting = false;
        s.reselecting = false;
        s.installing = None;
        s.registered = None;
        s.ctx_stack.clear();
    }

    /// The end of a call from the JCRE: a transaction still open is aborted (JCRE §7.6.2: "if
    /// an applet returns with a transaction in progress, the JCRE aborts it"; §7.6.1 after an
    /// uncaught exception), and after a power loss nothing created in it remains.
    fn end_call(&mut self) {
        let lost = self.rt.heap.journal.lost();
        if self.rt.heap.journal.tx.is_some() {
            self.rt.heap.abort(&mut self.rt.statics, lost);
        }
        self.rt.session.ctx_stack.clear();
    }

    /// The status word of an uncaught throwable (JCRE §6/§7: an `ISOException` gives its
    /// reason, anything else `6F00`).
    fn uncaught_sw(&self, t: &Thrown) -> Sw {
        match t {
            Thrown::Exception(h) => {
                let is_iso = match self.rt.heap.get(*h).map(|o| &o.body) {
                    Some(crate::jcvm::heap::Body::Instance { class, .. }) => {
                        self.prog.is_subclass(*class, cls::ISO_EXCEPTION)
                    }
                    _ => false,
                };
                match (is_iso, self.rt.heap.native(*h)) {
                    (true, Some(NativeState::Reason(r))) => Sw::from_u16(*r as u16),
                    _ => {
                        tracing::debug!("uncaught {} {:?} → 6F00", self.class_name(*h), self.rt.heap.native(*h));
                        Sw::Unknown
                    }
                }
            }
            Thrown::Fault(Fault::PowerLoss) => Sw::MemoryFailure,
            Thrown::Fault(f) => {
                tracing::warn!("JCVM fault: {f:?} → 6F00");
                Sw::Unknown
            }
        }
    }

    /// Notes an exception or fault that escaped an applet's entry point, for the user
    /// ([`Jcvm::take_diagnostics`]), and gives the status word it answers.
    fn escaped(&mut self, entry: &'static str, instance: &[u8], t: &Thrown) -> Sw {
        let sw = self.uncaught_sw(t);
        if self.escapes.len() >= MAX_ESCAPES {
            self.escapes.remove(0);
        }
        let e = match t {
            Thrown::Exception(h) => {
                let class = match self.rt.heap.get(*h).map(|o| &o.body) {
                    Some(Body::Instance { class, .. }) => *class,
                    _ => cls::THROWABLE,
                };
                // Only the framework's exceptions have a reason (JC API `CardException`,
                // `CardRuntimeException`).
                let has_reason = self.prog.is_subclass(class, cls::CARD_RUNTIME_EXCEPTION)
                    || self.prog.is_subclass(class, cls::CARD_EXCEPTION);
                let reason = match self.rt.heap.native(*h) {
                    Some(NativeState::Reason(r)) if has_reason => Some(*r),
                    _ => None,
                };
                Escape::Exception {
                    class,
                    reason,
                    iso: self.prog.is_subclass(class, cls::ISO_EXCEPTION),
                    trace: self.rt.session.trace.clone(),
                }
            }
            Thrown::Fault(f) => Escape::Fault(format!("{f:?}")),
        };
        self.escapes.push((entry, instance.to_vec(), e));
        sw
    }

    /// The exceptions and faults that escaped applets since the last call, as text: each its
    /// instance and entry point, the exception's Java class and reason, and one `at …` line per
    /// frame (source lines from the Debug component when the CAP has one). `true` marks an
    /// `ISOException` (an applet's way of answering a status word: detail, not trouble).
    pub fn take_diagnostics(&mut self) -> Vec<(bool, String)> {
        let escapes = std::mem::take(&mut self.escapes);
        let mut caps: std::collections::HashMap<u16, Option<Cap>> = std::collections::HashMap::new();
        let mut out = Vec::new();
        for (entry, aid, e) in escapes {
            let who = format!("{} {entry}()", hex::encode_upper(&aid));
            match e {
                Escape::Fault(f) => out.push((false, format!("{who}: JCVM fault {f} (6F00)"))),
                Escape::Exception { class, reason, iso, trace } => {
                    let mut text = format!("{who}: uncaught {}", self.java_class_name(class, &mut caps));
                    if let Some(r) = reason {
                        text += &format!(" (reason 0x{:04X})", r as u16);
                    }
                    for (pkg, pc) in trace {
                        let cap = caps.entry(pkg).or_insert_with(|| self.parsed(pkg));
                        let line = match cap {
                            Some(c) => crate::jcvm::trace::frame_line(c, pc),
                            None => format!("at package {pkg}@{pc}"),
                        };
                        text += &format!("\n    {line}");
                    }
                    out.push((iso, text));
                }
            }
        }
        out
    }

    /// Turns the traces on or off (issue #17): each instruction of the instances with this AID
    /// (all with `None`), at most `limit` lines; each API call.
    pub fn set_trace(&mut self, bytecode: Option<(Option<Vec<u8>>, u64)>, api: bool) {
        self.rt.bytecode_trace = bytecode.map(|(aid, limit)| crate::jcvm::interp::BytecodeTrace {
            aid,
            remaining: limit,
            lines: Vec::new(),
        });
        self.rt.api_trace = api.then(Vec::new);
    }

    /// The trace lines since the last call (instructions, then API calls).
    pub fn take_traces(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = self.rt.bytecode_trace.as_mut() {
            out.append(&mut t.lines);
        }
        if let Some(t) = self.rt.api_trace.as_mut() {
            out.append(t);
        }
        out
    }

    /// Turns bytecode coverage on (counting from zero) or off (issue #17). Off, the interpreter
    /// runs its uninstrumented loop.
    pub fn set_coverage(&mut self, on: bool) {
        self.rt.coverage = on.then(crate::jcvm::interp::Coverage::default);
    }

    /// The coverage so far: LCOV for the packages with a Debug component, and a per-method
    /// bytecode table for the others (empty strings when coverage is off or nothing ran).
    pub fn coverage_report(&self) -> (String, String) {
        let (mut lcov, mut table) = (String::new(), String::new());
        let Some(cov) = &self.rt.coverage else { return (lcov, table) };
        for slot in 0..self.stored.len() {
            let Ok(s16) = u16::try_from(slot) else { break };
            if cov.hits.get(slot).is_none_or(|r| r.iter().all(|n| *n == 0)) {
                continue;
            }
            let Some(cap) = self.parsed(s16) else { continue };
            if !crate::jcvm::coverage::lcov(&cap, s16, cov, &mut lcov) {
                crate::jcvm::coverage::table(&cap, s16, cov, &mut table);
            }
        }
        (lcov, table)
    }

    /// A loaded package's CAP, parsed again (for names and line tables), with its Debug
    /// component.
    fn parsed(&self, slot: u16) -> Option<Cap> {
        let p = self.stored.get(slot as usize)?.as_ref()?;
        let mut cap = Cap::parse(&p.raw).ok()?;
        if cap.debug.is_none() {
            cap.debug = p.debug.as_deref().and_then(|d| crate::jcvm::cap::DebugComponent::parse(d).ok());
        }
        Some(cap)
    }

    /// Keeps the Debug component of a CAP file for the loaded package it is the CAP of (the same
    /// package AID and the same Method component), so that stack traces name classes, methods
    /// and source lines. Returns the package AID; an error says why not.
    pub fn attach_debug(&mut self, cap_file: &[u8]) -> Result<Vec<u8>, String> {
        use crate::jcvm::cap::Tag;
        let cap = Cap::parse(cap_file).map_err(|e| e.to_string())?;
        let debug = cap.component(Tag::Debug).ok_or("the CAP has no Debug component (build it with -debug)")?;
        let aid = cap.header.package.aid.as_bytes().to_vec();
        let slot = self
            .prog
            .package_by_aid(&aid)
            .ok_or_else(|| format!("package {} is not loaded", hex::encode_upper(&aid)))?;
        let stored = self.stored.get_mut(slot as usize).and_then(Option::as_mut).ok_or("package not stored")?;
        let loaded = Cap::parse(&stored.raw).map_err(|e| e.to_string())?;
        if loaded.component(Tag::Method).map(|c| &c.bytes) != cap.component(Tag::Method).map(|c| &c.bytes) {
            return Err(format!("package {} on the card is another build than this CAP", hex::encode_upper(&aid)));
        }
        stored.debug = Some(debug.info().to_vec());
        self.dirty = true;
        Ok(aid)
    }

    /// A class's Java name: the API's, or from the package's Debug component, else the
    /// linker's `<package AID>@<offset>`.
    fn java_class_name(&self, class: ClassId, caps: &mut std::collections::HashMap<u16, Option<Cap>>) -> String {
        let Some(k) = self.prog.class(class) else { return format!("class {class}") };
        let Some(slot) = k.package else { return crate::jcvm::trace::java_name(&k.name) };
        let offset =
            self.prog.package(slot).and_then(|p| p.class_ids.iter().find(|(_, id)| *id == class).map(|(o, _)| *o));
        let cap = caps.entry(slot).or_insert_with(|| self.parsed(slot));
        let named = cap.as_ref().and_then(|c| {
            let d = c.debug.as_ref()?;
            let cd = d.classes.iter().find(|cd| Some(cd.location) == offset)?;
            d.strings.get(cd.name_index as usize).map(|n| crate::jcvm::trace::java_name(n))
        });
        named.unwrap_or_else(|| k.name.clone())
    }

    fn class_name(&self, h: Handle) -> String {
        match self.rt.heap.get(h).map(|o| &o.body) {
            Some(crate::jcvm::heap::Body::Instance { class, .. }) => {
                self.prog.class(*class).map_or_else(|| "?".into(), |c| c.name.clone())
            }
            _ => "array".into(),
        }
    }

    /// INSTALL [for install]: runs the applet class's static `install(byte[] bArray, short
    /// bOffset, byte bLength)` with the GP parameter layout (GPCS §11.5.2.3.7 / JC API
    /// `Applet.install`): `LV instance AID, LV privileges, LV application parameters` where
    /// the last is the value of tag `C9` of the install parameters. The applet must call
    /// `register()` (with the instance AID); otherwise, or on any exception, everything the
    /// install did is undone and the SW says why (`ISOException` reason, else `6F00`;
    /// `6A80` if it registered another AID; `6A88` for an unknown package or class; `6985`
    /// for an instance AID in use).
    pub fn install(
        &mut self,
        env: &mut dyn Env,
        package_aid: &[u8],
        class_aid: &[u8],
        instance_aid: &[u8],
        app_params: &[u8],
        privileges: &[u8],
    ) -> Result<(), Sw> {
        if !(5..=16).contains(&instance_aid.len()) || privileges.len() > 255 || app_params.len() > 255 {
            return Err(Sw::WrongData);
        }
        let mut params = Vec::new();
        for part in [instance_aid, privileges, app_params] {
            // Each part is checked <= 255 bytes above.
            #[allow(clippy::cast_possible_truncation)]
            params.push(part.len() as u8);
            params.extend_from_slice(part);
        }
        if params.len() > 255 {
            return Err(Sw::WrongData);
        }
        let len = params.len();
        self.install_raw(env, package_aid, class_aid, instance_aid, &params, 0, len, privileges)
    }

    /// INSTALL with the `install` arguments given as they are: `bArray` content, offset and
    /// length. This is what an installer with another parameter layout uses: the Java Card
    /// 2.1 reference installer's CREATE APPLET (`80 B8`) passes only the applet parameters
    /// (the SDK samples of 2.1.2 read their PIN straight from `bArray[bOffset..]`).
    #[allow(clippy::too_many_arguments)]
    pub fn install_raw(
        &mut self,
        env: &mut dyn Env,
        package_aid: &[u8],
        class_aid: &[u8],
        instance_aid: &[u8],
        array: &[u8],
        offset: usize,
        length: usize,
        privileges: &[u8],
    ) -> Result<(), Sw> {
        let slot = self.prog.package_by_aid(package_aid).ok_or(Sw::ReferencedDataNotFound)?;
        let pk = self.prog.package(slot).ok_or(Sw::ReferencedDataNotFound)?;
        let ac = pk.applets.iter().find(|a| a.aid == class_aid).ok_or(Sw::ReferencedDataNotFound)?;
        let install = ac.install;
        if self.rt.instances.iter().any(|i| i.aid == instance_aid) {
            return Err(Sw::ConditionsNotSatisfied);
        }
        if !(5..=16).contains(&instance_aid.len()) || array.len() > 256 || offset + length > array.len() || length > 127
        {
            return Err(Sw::WrongData);
        }
        let params = array;
        // Undo log: a failed install leaves no trace (JCRE §11.1.5: the applet is not created).
        let heap_before = self.rt.heap.clone();
        let statics_before = self.rt.statics.clone();
        let sys_before = self.rt.system_exceptions.clone();
        let buf = self.rt.install_buffer;
        if let Some(b) = self.rt.heap.bytes_mut(buf) {
            b.clear();
            b.extend_from_slice(params);
            b.resize(256, 0);
        }
        self.begin(None, slot + 1);
        self.rt.session.installing = Some(instance_aid.to_vec());
        // The install array is <= 256 bytes and offset + length lies in it (checked above).
        #[allow(clippy::cast_possible_truncation)]
        let r = Exec { prog: &self.prog, rt: &mut self.rt, env }
            .call(Target::Bytecode { pkg: slot, offset: install }, &[buf as i16, offset as i16, length as i16]);
        self.end_call();
        let registered = self.rt.session.registered.take();
        self.rt.session.installing = None;
        let outcome = match (r, registered) {
            (Ok(_), Some((obj, aid))) if aid == instance_aid => Ok(obj),
            (Ok(_), Some(_)) => Err(Sw::WrongData),
            (Ok(_), None) => Err(Sw::Unknown),
            (Err(t), _) => Err(self.escaped("install", instance_aid, &t)),
        };
        let obj = match outcome {
            Ok(o) => o,
            Err(sw) => {
                self.rt.heap = heap_before;
                self.rt.statics = statics_before;
                self.rt.system_exceptions = sys_before;
                return Err(sw);
            }
        };
        let aid_object = match self.rt.heap.new_instance(cls::AID, 0, 0) {
            Ok(h) => h,
            Err(_) => {
                self.rt.heap = heap_before;
                self.rt.statics = statics_before;
                return Err(Sw::NotEnoughMemory);
            }
        };
        if self.rt.heap.set_native(aid_object, NativeState::Aid(instance_aid.to_vec())).is_err() {
            self.rt.heap = heap_before;
            self.rt.statics = statics_before;
            return Err(Sw::Unknown);
        }
        self.rt.instances.push(Instance {
            aid: instance_aid.to_vec(),
            package: slot,
            applet: obj,
            aid_object,
            privileges: privileges.to_vec(),
        });
        self.rt.heap.mark_dirty();
        self.dirty = true;
        Ok(())
    }

    fn instance_index(&self, aid: &[u8]) -> Result<usize, Sw> {
        self.rt.instances.iter().position(|i| i.aid == aid).ok_or(Sw::FileNotFound)
    }

    fn applet_method(&self, idx: usize, token: usize) -> Option<(Target, Handle)> {
        let inst = self.rt.instances.get(idx)?;
        let class = match &self.rt.heap.get(inst.applet)?.body {
            crate::jcvm::heap::Body::Instance { class, .. } => *class,
            _ => return None,
        };
        Some((*self.prog.class(class)?.vtable.get(token)?, inst.applet))
    }

    fn implements_extended(&self, idx: usize) -> bool {
        let Some(inst) = self.rt.instances.get(idx) else { return false };
        match self.rt.heap.get(inst.applet).map(|o| &o.body) {
            Some(crate::jcvm::heap::Body::Instance { class, .. }) => {
                self.prog.is_subclass(*class, cls::EXTENDED_LENGTH)
            }
            _ => false,
        }
    }

    /// Fills the APDU buffer and state for `cmd` (JC API `APDU`: the header and P3 at 0-4,
    /// data from `getOffsetCdata()`; extended commands put `00 Lc1 Lc2` at 4-6 and are only
    /// given to applets implementing `javacardx.apdu.ExtendedLength`, others get `6700`).
    // Short form: data <= 255 and Ne % 256; extended: the value is taken modulo 65536.
    #[allow(clippy::cast_possible_truncation)]
    fn prepare_apdu(&mut self, idx: usize, channel: u8, cmd: &Command) -> Result<(), Sw> {
        let extended = cmd.needs_extended();
        if extended && !self.implements_extended(idx) {
            return Err(Sw::WrongLength);
        }
        let off = if extended { 7 } else { 5 };
        let size = if extended { (off + cmd.data.len() + 2).max(APDU_BUFFER) } else { APDU_BUFFER };
        let buf = self.rt.apdu_buffer;
        let b = self.rt.heap.bytes_mut(buf).ok_or(Sw::Unknown)?;
        if b.len() == size {
            b.fill(0);
        } else {
            b.clear();
            b.resize(size, 0);
        }
        b[..4].copy_from_slice(&cmd.header());
        if extended {
            let l = if cmd.data.is_empty() { cmd.ne_or_zero() % 65536 } else { cmd.data.len() };
            b[5..7].copy_from_slice(&(l as u16).to_be_bytes());
        } else {
            b[4] = if cmd.data.is_empty() { (cmd.ne_or_zero() % 256) as u8 } else { cmd.data.len() as u8 };
        }
        // The data is in the buffer already, as on T=1 readers; setIncomingAndReceive copies
        // the same bytes again (applets that read before it still work as on most cards).
        let n = cmd.data.len().min(size - off);
        b[off..off + n].copy_from_slice(&cmd.data[..n]);
        // Reuse the vectors of the last command (no allocation per APDU).
        let a = &mut self.rt.session.apdu;
        let (mut data, mut out) = (std::mem::take(&mut a.data), std::mem::take(&mut a.out));
        data.clear();
        data.extend_from_slice(&cmd.data);
        out.clear();
        *a = ApduState {
            cla: cmd.cla,
            data,
            received: 0,
            ne: cmd.ne.unwrap_or(if extended { 65536 } else { 256 }),
            extended,
            state: 0,
            out_len: 0,
            out,
            channel,
        };
        Ok(())
    }

    fn run_process(&mut self, env: &mut dyn Env, idx: usize) -> Result<Response, Sw> {
        let (target, applet) = self.applet_method(idx, TOKEN_PROCESS).ok_or(Sw::Unknown)?;
        let apdu = self.rt.apdu_object;
        let r = Exec { prog: &self.prog, rt: &mut self.rt, env }.call(target, &[applet as i16, apdu as i16]);
        self.end_call();
        if self.rt.session.gc_requested && !self.rt.heap.journal.lost() {
            self.rt.session.gc_requested = false;
            self.collect();
        }
        let out = std::mem::take(&mut self.rt.session.apdu.out);
        self.rt.session.selecting = false;
        match r {
            Ok(_) => Ok(Response { data: out, sw: Sw::Ok }),
            Err(t) => {
                let aid = self.rt.instances.get(idx).map(|i| i.aid.clone()).unwrap_or_default();
                let sw = self.escaped(if self.rt.session.selecting { "select" } else { "process" }, &aid, &t);
                // Data already sent stays with an ISOException's SW (as jCardSim and cref do);
                // a 6F00 carries none.
                Ok(Response { data: if sw == Sw::Unknown { Vec::new() } else { out }, sw })
            }
        }
    }

    /// The `MultiSelectable` method `token` of an instance's applet class, if it implements
    /// the interface.
    fn multiselect_method(&self, idx: usize, token: u8) -> Option<(Target, Handle)> {
        let inst = self.rt.instances.get(idx)?;
        let class = match &self.rt.heap.get(inst.applet)?.body {
            Body::Instance { class, .. } => *class,
            Body::Array { .. } => return None,
        };
        if !self.prog.is_subclass(class, cls::MULTI_SELECTABLE) {
            return None;
        }
        let vt = self.prog.interface_token(class, cls::MULTI_SELECTABLE, token)?;
        Some((*self.prog.class(class)?.vtable.get(vt as usize)?, inst.applet))
    }

    /// Whether an instance of package `pkg` is selected on some channel (its context is active).
    fn package_active(&self, pkg: u16) -> bool {
        self.rt.session.selected.values().any(|i| self.rt.instances.get(*i).is_some_and(|i| i.package == pkg))
    }

    /// SELECT of an instance on a channel (JCRE §4.3): the previously selected applet of the
    /// channel is deselected, then `select()` runs; `false` or an exception answers `6999`.
    /// Then `process()` gets the SELECT command with `selectingApplet()` true, and its answer
    /// is the response. `6A82` for an unknown instance.
    ///
    /// Multiselection (JCRE §4.2): when the package's context is already active on another
    /// channel, `MultiSelectable.select(appInstAlreadyActive)` runs instead of `select()`; an
    /// applet that does not implement `MultiSelectable` is refused with `6985`.
    pub fn select(&mut self, env: &mut dyn Env, instance: &[u8], channel: u8, cmd: &Command) -> Result<Response, Sw> {
        let idx = self.instance_index(instance)?;
        if self.rt.heap.journal.lost() {
            return Err(Sw::MemoryFailure);
        }
        // The applet selected on the channel is deselected first, also when it is the one
        // being selected again (JCRE §4.6.1: deselect() then select(); reSelectingApplet()
        // tells the applet; the 2.1 demo1 wallet relies on deselect() resetting its PIN).
        let reselect = self.rt.session.selected.get(&channel) == Some(&idx);
        if let Some(prev) = self.rt.session.selected.get(&channel).copied() {
            self.deselect_index(env, prev, channel);
        }
        let pkg = self.rt.instances[idx].package;
        let multi = self.package_active(pkg);
        let already = self.rt.session.selected.values().any(|i| *i == idx);
        let (target, applet, args) = if multi {
            let Some((t, a)) = self.multiselect_method(idx, MS_SELECT) else {
                return Err(Sw::ConditionsNotSatisfied);
            };
            (t, a, vec![a as i16, i16::from(already)])
        } else {
            let (t, a) = self.applet_method(idx, TOKEN_SELECT).ok_or(Sw::Unknown)?;
            (t, a, vec![a as i16])
        };
        let _ = applet;
        self.begin(Some(idx), pkg + 1);
        self.rt.session.reselecting = reselect;
        self.prepare_apdu(idx, channel, cmd)?;
        let r = Exec { prog: &self.prog, rt: &mut self.rt, env }.call(target, &args);
        self.end_call();
        match r {
            Ok(Some(v)) if v != 0 => {}
            Err(Thrown::Fault(Fault::PowerLoss)) => return Err(Sw::MemoryFailure),
            other => {
                if let Err(t) = other {
                    self.escaped("select", instance, &t);
                }
                self.rt.session.selected.remove(&channel);
                return Err(Sw::AppletSelectFailed);
            }
        }
        self.rt.session.selected.insert(channel, idx);
        self.rt.session.selecting = true;
        self.run_process(env, idx)
    }

    /// A command to the instance selected on `channel`.
    pub fn process(&mut self, env: &mut dyn Env, instance: &[u8], channel: u8, cmd: &Command) -> Result<Response, Sw> {
        let idx = self.instance_index(instance)?;
        if self.rt.heap.journal.lost() {
            return Err(Sw::MemoryFailure);
        }
        let pkg = self.rt.instances[idx].package;
        self.begin(Some(idx), pkg + 1);
        self.prepare_apdu(idx, channel, cmd)?;
        self.run_process(env, idx)
    }

    /// Deselection on `channel` (JCRE §4.3, §4.2): `Applet.deselect()` when it is the last
    /// active instance of its package, then its CLEAR_ON_DESELECT arrays are cleared (JCRE
    /// §5.1); otherwise `MultiSelectable.deselect(appInstStillActive)` and nothing is cleared.
    fn deselect_index(&mut self, env: &mut dyn Env, idx: usize, channel: u8) {
        let pkg = self.rt.instances.get(idx).map_or(0, |i| i.package);
        self.rt.session.selected.remove(&channel);
        let still_pkg = self.package_active(pkg);
        let still_me = self.rt.session.selected.values().any(|i| *i == idx);
        self.begin(Some(idx), pkg + 1);
        self.rt.session.apdu.channel = channel;
        let call = if still_pkg {
            self.multiselect_method(idx, MS_DESELECT).map(|(t, a)| (t, vec![a as i16, i16::from(still_me)]))
        } else {
            self.applet_method(idx, TOKEN_DESELECT).map(|(t, a)| (t, vec![a as i16]))
        };
        if let Some((target, args)) = call {
            if !self.rt.heap.journal.lost() {
                // JCRE §4.3: exceptions thrown by deselect() are caught and ignored.
                let r = Exec { prog: &self.prog, rt: &mut self.rt, env }.call(target, &args);
                if let Err(Thrown::Fault(f)) = r {
                    tracing::warn!("deselect fault: {f:?}");
                }
            }
        }
        self.end_call();
        if !still_pkg {
            self.rt.heap.clear_transient(Transience::ClearOnDeselect, Some(pkg + 1));
        }
    }

    /// The objects reachable from `roots` through reference cells of instances (the classes'
    /// `ref_cells`) and reference arrays.
    fn reachable(&self, mut todo: Vec<Handle>) -> std::collections::HashSet<Handle> {
        let heap = &self.rt.heap;
        let mut marked = std::collections::HashSet::new();
        while let Some(h) = todo.pop() {
            if h == 0 || !marked.insert(h) {
                continue;
            }
            match heap.get(h).map(|o| &o.body) {
                Some(Body::Instance { class, fields, native }) => {
                    // Keys held by crypto engines (KeyPair, an initialised Signature/Cipher).
                    todo.extend(native.refs());
                    if let Some(k) = self.prog.class(*class) {
                        for c in &k.ref_cells {
                            if let Some(v) = fields.get(*c as usize) {
                                todo.push(*v as u16);
                            }
                        }
                    }
                }
                Some(Body::Array { data: crate::jcvm::heap::ArrayData::Refs(v), .. }) => todo.extend(v.iter().copied()),
                _ => {}
            }
        }
        marked
    }

    /// Object deletion (JC API `JCSystem.requestObjectDeletion`): frees every object that no
    /// root reaches. Roots: the JCRE's objects, each instance's applet and AID objects, and
    /// the reference fields of the static images; objects are traced through their reference
    /// cells (the classes' `ref_cells`) and reference arrays.
    pub fn collect(&mut self) -> usize {
        let mut roots: Vec<Handle> = vec![self.rt.apdu_object, self.rt.apdu_buffer, self.rt.install_buffer];
        roots.extend(self.rt.system_exceptions.values().copied());
        for i in &self.rt.instances {
            roots.push(i.applet);
            roots.push(i.aid_object);
        }
        for (slot, img) in self.rt.statics.iter().enumerate() {
            let refs = self.prog.package(u16::try_from(slot).unwrap_or(u16::MAX)).map_or(0, |p| p.static_refs);
            for k in 0..(refs as usize).min(img.len() / 2) {
                roots.push(u16::from_be_bytes([img[2 * k], img[2 * k + 1]]));
            }
        }
        let marked = self.reachable(roots);
        let heap = &self.rt.heap;
        let dead: Vec<Handle> = heap.handles().filter(|h| !marked.contains(h)).collect();
        for h in &dead {
            self.rt.heap.free(*h);
        }
        if !dead.is_empty() {
            tracing::debug!("object deletion: {} unreachable object(s) freed", dead.len());
        }
        dead.len()
    }

    /// The instance on `channel` is deselected (another SELECT, MANAGE CHANNEL close, reset).
    pub fn deselect(&mut self, env: &mut dyn Env, instance: &[u8], channel: u8) {
        if let Ok(idx) = self.instance_index(instance) {
            self.deselect_index(env, idx, channel);
        }
    }

    /// Power loss or reset: transient contents and PIN validated flags cleared (JCRE §5.1
    /// CLEAR_ON_RESET; CLEAR_ON_DESELECT arrays too, since nothing is selected any more).
    pub fn power_reset(&mut self) {
        self.rt.heap.power_reset();
        self.rt.session = Session::default();
    }

    /// Power is back after a cut (a card reopened from its image is a new VM; this is for a
    /// VM kept in memory): writes are allowed again.
    pub fn power_restored(&mut self) {
        self.rt.heap.journal.arm(None);
    }

    /// Whether persistent state changed since the last call.
    pub fn take_dirty(&mut self) -> bool {
        let h = self.rt.heap.take_dirty();
        std::mem::take(&mut self.dirty) | h
    }

    /// The card-image bytes (postcard): packages as received, class bases, heap (transient
    /// contents zeroed), statics, instances.
    pub fn save(&self) -> Vec<u8> {
        let mut rt = Runtime { heap: self.rt.heap.to_image(), ..Runtime::with_limits(self.rt.heap.limits) };
        rt.statics = self.rt.statics.clone();
        rt.instances = self.rt.instances.clone();
        rt.system_exceptions = self.rt.system_exceptions.clone();
        rt.apdu_object = self.rt.apdu_object;
        rt.apdu_buffer = self.rt.apdu_buffer;
        rt.install_buffer = self.rt.install_buffer;
        let img = Image { version: IMAGE_VERSION, packages: self.stored.clone(), next_class: self.next_class, rt };
        postcard::to_allocvec(&img).unwrap_or_default()
    }

    /// Rebuilds a VM from [`Jcvm::save`] bytes: every package is parsed and linked again with
    /// its stored class ids.
    pub fn restore(bytes: &[u8]) -> Result<Jcvm, JcvmError> {
        let img: Image = postcard::from_bytes(bytes).map_err(|e| JcvmError::Image(e.to_string()))?;
        if img.version != IMAGE_VERSION {
            return Err(JcvmError::Image(format!("image version {}", img.version)));
        }
        let mut prog = Program::new();
        // Link in dependency order: a package whose imports are not linked yet waits a round
        // (slots are reused after DELETE, so slot order is not load order).
        let mut todo: Vec<usize> = (0..img.packages.len()).filter(|i| img.packages[*i].is_some()).collect();
        while !todo.is_empty() {
            let mut rest = Vec::new();
            let mut last = None;
            for slot in todo.iter().copied() {
                let Some(p) = &img.packages[slot] else { continue };
                let cap = Cap::parse(&p.raw).map_err(JcvmError::Cap)?;
                let slot16 = u16::try_from(slot).map_err(|_| JcvmError::Image(format!("package slot {slot}")))?;
                match prog.link(&cap, slot16, p.class_base) {
                    Ok(()) => {}
                    Err(e @ LinkError::UnknownImport(_)) => {
                        rest.push(slot);
                        last = Some(e);
                    }
                    Err(e) => return Err(JcvmError::Link(e)),
                }
            }
            if rest.len() == todo.len() {
                return Err(JcvmError::Link(last.unwrap_or(LinkError::TooManyClasses)));
            }
            todo = rest;
        }
        let mut rt = img.rt;
        rt.step_budget = crate::jcvm::interp::DEFAULT_STEP_BUDGET;
        rt.heap.recount();
        Ok(Jcvm { prog, rt, stored: img.packages, next_class: img.next_class, dirty: false, escapes: Vec::new() })
    }

    /// Calls the static method whose header is at `method_offset` in a loaded package's Method
    /// component, outside any APDU (tests and tools, like [`Jcvm::call_virtual`]).
    pub fn call_static(
        &mut self,
        env: &mut dyn Env,
        package_aid: &[u8],
        method_offset: u16,
        args: &[i16],
    ) -> Result<Option<i32>, Sw> {
        let slot = self.prog.package_by_aid(package_aid).ok_or(Sw::ReferencedDataNotFound)?;
        self.begin(None, slot + 1);
        let r = Exec { prog: &self.prog, rt: &mut self.rt, env }
            .call(Target::Bytecode { pkg: slot, offset: method_offset }, args);
        r.map_err(|t| self.uncaught_sw(&t))
    }

    /// Calls public virtual method `token` of an instance's applet object with `args` after
    /// the receiver, outside any APDU (for tests and tools: a method-level probe like
    /// caprunner's). `Err` carries the SW an uncaught throwable would give.
    pub fn call_virtual(
        &mut self,
        env: &mut dyn Env,
        instance: &[u8],
        token: usize,
        args: &[i16],
    ) -> Result<Option<i32>, Sw> {
        let idx = self.instance_index(instance)?;
        let (target, applet) = self.applet_method(idx, token).ok_or(Sw::FunctionNotSupported)?;
        let pkg = self.rt.instances[idx].package;
        self.begin(Some(idx), pkg + 1);
        let mut a = vec![applet as i16];
        a.extend_from_slice(args);
        let r = Exec { prog: &self.prog, rt: &mut self.rt, env }.call(target, &a);
        r.map_err(|t| self.uncaught_sw(&t))
    }
}
