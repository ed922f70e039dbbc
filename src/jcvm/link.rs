//! The linker: a parsed [`Cap`] becomes a [`LinkedPackage`] whose constant pool holds resolved
//! targets (JCVM §4.3 token-based linking, §6.8 constant pool), plus the [`Class`] entries of
//! its classes with full virtual method tables and interface maps (JCVM §6.9).
//!
//! External references resolve against the built-in API ([`crate::jcvm::api`], by package
//! AID and token) or against a package already loaded (its Export component, JCVM §6.13).
//! Everything is resolved once, here: the interpreter indexes vectors and never searches.
//! An import the card cannot satisfy is a [`LinkError`], which the card answers at LOAD
//! (GPCS §11.6.2: a load file whose dependencies are not present is refused).

use crate::jcvm::api::{self, api_class_id, ApiMethod, Native, USER_CLASS_BASE};
use crate::jcvm::cap::Cap;
use crate::jcvm::cap::{ClassRef, CpEntry, StaticRef};
use crate::jcvm::heap::ClassId;
use std::fmt;

/// Bytes of zero padding after a package's method bytes: operand reads of an instruction that
/// starts inside the method bytes never leave the vector (JCVM instructions have at most 4
/// fixed operand bytes; switches read through checked accessors).
pub const CODE_PAD: usize = 16;

/// What a method reference resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Bytecode: the method header's offset in package `pkg`'s Method component.
    Bytecode {
        /// Loaded package slot.
        pkg: u16,
        /// Header offset in the Method component `info`.
        offset: u16,
    },
    /// A Rust native.
    Native(Native),
    /// An abstract method (calling it is a fault; the verifier-level equivalent of
    /// `AbstractMethodError`), with its argument words.
    Abstract(u8),
    /// An API method this VM does not implement (reported at load).
    Missing,
}

/// A resolved constant pool entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cp {
    /// A class or interface (`new`, `checkcast`, catch types...).
    Class(ClassId),
    /// An instance field: the absolute cell index in the object.
    Field(u16),
    /// A virtual method: dispatched on the receiver's class at run time.
    Virtual {
        /// Method token (without the package-visible bit).
        token: u8,
        /// Whether the token indexes the package-visible table.
        package: bool,
        /// Argument words including the receiver.
        nargs: u8,
    },
    /// A statically bound method (`invokestatic`, `invokespecial` of constructors, private
    /// methods and `super.m()`).
    Direct(Target),
    /// A static field: byte offset in package `pkg`'s static image.
    StaticField {
        /// Loaded package slot.
        pkg: u16,
        /// Byte offset in the static field image.
        offset: u16,
    },
    /// Unresolvable (an API static field, a missing class member): a fault when executed.
    Invalid,
}

/// A class or interface as the interpreter sees it.
#[derive(Clone, Debug)]
pub struct Class {
    /// For messages: `javacard/framework/Applet` or `<package AID>@<offset>`.
    pub name: String,
    /// Loaded package slot (`None` for the API).
    pub package: Option<u16>,
    /// Superclass.
    pub super_class: Option<ClassId>,
    /// Interface?
    pub interface: bool,
    /// Cells of the superclasses (where this class's field tokens start).
    pub field_base: u16,
    /// Cells of an instance.
    pub cells: u16,
    /// The cells that hold references, superclasses' included (JCVM §6.8.1
    /// `first_reference_token`, `reference_count`): the collector's roots through objects.
    pub ref_cells: Vec<u16>,
    /// Public virtual methods by token.
    pub vtable: Vec<Target>,
    /// Package-visible virtual methods by token & 0x7F.
    pub ptable: Vec<Target>,
    /// Implemented interfaces with their token maps (interface token → public virtual token).
    pub interfaces: Vec<(ClassId, Vec<u8>)>,
    /// Superinterfaces (of an interface).
    pub super_interfaces: Vec<ClassId>,
    /// Whether this is a known class (false for an API class the VM does not implement).
    pub implemented: bool,
}

/// One exception handler (JCVM §6.10 `exception_handler_info`), resolved.
#[derive(Clone, Copy, Debug)]
pub struct Handler {
    /// First covered offset.
    pub start: u16,
    /// First offset past the range.
    pub end: u32,
    /// Handler offset.
    pub handler: u16,
    /// Caught class; `None` catches everything (`finally`).
    pub catch: Option<ClassId>,
}

/// An applet class of the package (Applet component, JCVM §6.6).
#[derive(Clone, Debug)]
pub struct AppletClass {
    /// The class AID.
    pub aid: Vec<u8>,
    /// Offset of its static `install` method.
    pub install: u16,
}

/// A loaded package, linked.
#[derive(Clone, Debug)]
pub struct LinkedPackage {
    /// Package AID.
    pub aid: Vec<u8>,
    /// Version.
    pub major: u8,
    /// Version.
    pub minor: u8,
    /// Whether the int type is allowed (Header `ACC_INT`, JCVM §6.4).
    pub int: bool,
    /// Method component `info` + [`CODE_PAD`] zero bytes.
    pub code: Vec<u8>,
    /// Length of the real method bytes.
    pub code_len: usize,
    /// Resolved constant pool.
    pub cp: Vec<Cp>,
    /// Exception handlers in table order.
    pub handlers: Vec<Handler>,
    /// Applets.
    pub applets: Vec<AppletClass>,
    /// The class ids of the Class component entries, by component offset.
    pub class_ids: Vec<(u16, ClassId)>,
    /// The first class id of this package (ids are `class_base..class_base + n`).
    pub class_base: ClassId,
    /// Static image size.
    pub static_size: u16,
    /// Reference fields at the start of the static image (2 bytes each, JCVM §6.11).
    pub static_refs: u16,
    /// Export: static field offsets and static method offsets by class token, and the class
    /// offsets by class token (for packages linking against this one).
    pub export: Vec<ExportedClass>,
    /// Imported loaded packages (slots), for DELETE dependency checks.
    pub depends_on: Vec<u16>,
    /// API references this VM does not implement (human-readable), reported at load.
    pub missing: Vec<String>,
}

/// One Export component class entry, resolved to ids.
#[derive(Clone, Debug)]
pub struct ExportedClass {
    /// The class id.
    pub class: ClassId,
    /// Static field offsets by token.
    pub static_fields: Vec<u16>,
    /// Static method offsets by token.
    pub static_methods: Vec<u16>,
}

/// Why a package cannot be linked (GPCS §11.6.2 answers these at LOAD).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// An import neither built in nor loaded.
    UnknownImport(Vec<u8>),
    /// An import with a major version other than the one present, or a minor version newer.
    ImportVersion {
        /// The package AID.
        aid: Vec<u8>,
        /// What the CAP needs.
        need: (u8, u8),
        /// What the card has.
        have: (u8, u8),
    },
    /// A package with this AID is already loaded.
    AlreadyLoaded(Vec<u8>),
    /// A reference that cannot be resolved (bad token, bad offset).
    BadReference(String),
    /// The card cannot hold more classes.
    TooManyClasses,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::UnknownImport(a) => write!(f, "import {} is neither built in nor loaded", hex::encode_upper(a)),
            LinkError::ImportVersion { aid, need, have } => write!(
                f,
                "import {} v{}.{} needs a newer or other version than the card's v{}.{}",
                hex::encode_upper(aid),
                need.0,
                need.1,
                have.0,
                have.1
            ),
            LinkError::AlreadyLoaded(a) => write!(f, "package {} is already loaded", hex::encode_upper(a)),
            LinkError::BadReference(s) => write!(f, "unresolvable reference: {s}"),
            LinkError::TooManyClasses => write!(f, "class table full"),
        }
    }
}

impl std::error::Error for LinkError {}

/// Everything linked: API classes and loaded packages.
#[derive(Clone, Debug)]
pub struct Program {
    api: Vec<Class>,
    user: Vec<Option<Class>>,
    /// Loaded packages by slot.
    pub packages: Vec<Option<LinkedPackage>>,
}

impl Default for Program {
    fn default() -> Self {
        Program::new()
    }
}

/// A method header (JCVM §6.10 `method_header_info` / `extended_method_header_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// `ACC_EXTENDED` 0x8, `ACC_ABSTRACT` 0x4 (the high nibble of the first byte).
    pub flags: u8,
    /// Max operand stack words.
    pub max_stack: u8,
    /// Argument words (receiver included).
    pub nargs: u8,
    /// Local variable words beyond the arguments.
    pub max_locals: u8,
    /// Offset of the first bytecode.
    pub code: usize,
}

/// Decodes the method header at `off` (None when out of range).
#[inline]
pub fn header(code: &[u8], off: usize) -> Option<Header> {
    let b0 = *code.get(off)?;
    let b1 = *code.get(off + 1)?;
    let flags = b0 >> 4;
    if flags & 0x8 != 0 {
        Some(Header {
            flags,
            max_stack: b1,
            nargs: *code.get(off + 2)?,
            max_locals: *code.get(off + 3)?,
            code: off + 4,
        })
    } else {
        Some(Header { flags, max_stack: b0 & 0xF, nargs: b1 >> 4, max_locals: b1 & 0xF, code: off + 2 })
    }
}

fn api_class_entry(id: ClassId) -> Class {
    match api::api_class(id) {
        Some(c) => Class {
            name: c.name.to_string(),
            package: None,
            super_class: c.super_class,
            interface: c.interface,
            field_base: 0,
            cells: 0,
            ref_cells: Vec::new(),
            vtable: c
                .virtuals
                .iter()
                .map(|m| match m {
                    ApiMethod::Native(n) => Target::Native(*n),
                    ApiMethod::Abstract => Target::Abstract(2),
                })
                .collect(),
            ptable: Vec::new(),
            interfaces: c.implements.iter().map(|(i, m)| (*i, m.to_vec())).collect(),
            super_interfaces: c.super_interfaces.to_vec(),
            implemented: true,
        },
        None => Class {
            name: format!("{}#{}", api::PACKAGES.get(id as usize / 256).map_or("?", |p| p.name), id % 256),
            package: None,
            super_class: Some(api::cls::OBJECT),
            interface: false,
            field_base: 0,
            cells: 0,
            ref_cells: Vec::new(),
            vtable: vec![Target::Native(Native::ObjectEquals)],
            ptable: Vec::new(),
            interfaces: Vec::new(),
            super_interfaces: Vec::new(),
            implemented: false,
        },
    }
}

enum Import {
    Api(usize),
    Loaded(u16),
}

impl Program {
    /// The API alone.
    // api::PACKAGES has a dozen entries: n is far below 65536.
    #[allow(clippy::cast_possible_truncation)]
    pub fn new() -> Program {
        let n = api::PACKAGES.len() * 256;
        Program { api: (0..n as ClassId).map(api_class_entry).collect(), user: Vec::new(), packages: Vec::new() }
    }

    /// The class with this id.
    #[inline(always)]
    pub fn class(&self, id: ClassId) -> Option<&Class> {
        if id < USER_CLASS_BASE {
            self.api.get(id as usize)
        } else {
            self.user.get((id - USER_CLASS_BASE) as usize)?.as_ref()
        }
    }

    /// A loaded package.
    #[inline(always)]
    pub fn package(&self, slot: u16) -> Option<&LinkedPackage> {
        self.packages.get(slot as usize)?.as_ref()
    }

    /// The slot of the loaded package with this AID.
    pub fn package_by_aid(&self, aid: &[u8]) -> Option<u16> {
        self.packages.iter().position(|p| p.as_ref().is_some_and(|p| p.aid == aid)).and_then(|i| u16::try_from(i).ok())
    }

    /// Whether class `sub` is `sup` or a subclass of it, or implements it (JCVM §7.5.8
    /// checkcast rules for class and interface types).
    pub fn is_subclass(&self, sub: ClassId, sup: ClassId) -> bool {
        if sup == api::cls::OBJECT || sub == sup {
            return true;
        }
        let Some(target) = self.class(sup) else { return false };
        let mut c = Some(sub);
        let mut depth = 0;
        while let Some(id) = c {
            if id == sup {
                return true;
            }
            let Some(k) = self.class(id) else { return false };
            if target.interface && k.interfaces.iter().any(|(i, _)| self.interface_extends(*i, sup)) {
                return true;
            }
            if k.interface && self.interface_extends(id, sup) {
                return true;
            }
            c = k.super_class;
            depth += 1;
            if depth > 256 {
                return false;
            }
        }
        false
    }

    fn interface_extends(&self, i: ClassId, sup: ClassId) -> bool {
        let mut stack = vec![i];
        let mut n = 0;
        while let Some(x) = stack.pop() {
            if x == sup {
                return true;
            }
            n += 1;
            if n > 256 {
                return false;
            }
            if let Some(k) = self.class(x) {
                stack.extend_from_slice(&k.super_interfaces);
            }
        }
        false
    }

    /// The public virtual token implementing interface method `token` of `iface` for an
    /// object of class `class` (JCVM §7.5.49 invokeinterface).
    pub fn interface_token(&self, class: ClassId, iface: ClassId, token: u8) -> Option<u8> {
        let mut c = Some(class);
        let mut depth = 0;
        while let Some(id) = c {
            let k = self.class(id)?;
            for (i, map) in &k.interfaces {
                if *i == iface {
                    return map.get(token as usize).copied();
                }
            }
            c = k.super_class;
            depth += 1;
            if depth > 256 {
                return None;
            }
        }
        None
    }

    fn nargs_of(&self, t: Target, own: Option<(&[u8], u16)>) -> Option<u8> {
        match t {
            Target::Bytecode { pkg, offset } => {
                let code = match own {
                    Some((c, p)) if p == pkg => c,
                    _ => &self.package(pkg)?.code,
                };
                Some(header(code, offset as usize)?.nargs)
            }
            Target::Native(n) => Some(n.signature().0),
            Target::Abstract(n) => Some(n),
            Target::Missing => None,
        }
    }

    /// Links `cap` into slot `slot` with class ids from `class_base`. Nothing changes on error.
    pub fn link(&mut self, cap: &Cap, slot: u16, class_base: ClassId) -> Result<(), LinkError> {
        let aid = cap.header.package.aid.as_bytes().to_vec();
        // Loaded class ids live above the API's (a corrupt image must not underflow here).
        if class_base < USER_CLASS_BASE {
            return Err(LinkError::TooManyClasses);
        }
        if self.package_by_aid(&aid).is_some() {
            return Err(LinkError::AlreadyLoaded(aid));
        }
        let mut missing = Vec::new();
        // Imports (JCVM §6.7; version rules JCVM §4.5: same major, minor not newer).
        let mut imports = Vec::new();
        let mut depends_on = Vec::new();
        for imp in &cap.imports {
            let ia = imp.aid.as_bytes();
            if let Some(p) = api::package_by_aid(ia) {
                let have = &api::PACKAGES[p];
                if imp.major != have.major || imp.minor > have.minor {
                    return Err(LinkError::ImportVersion {
                        aid: ia.to_vec(),
                        need: (imp.major, imp.minor),
                        have: (have.major, have.minor),
                    });
                }
                imports.push(Import::Api(p));
            } else if let Some(s) = self.package_by_aid(ia) {
                let have = self.package(s).map(|p| (p.major, p.minor)).unwrap_or_default();
                if imp.major != have.0 || imp.minor > have.1 {
                    return Err(LinkError::ImportVersion { aid: ia.to_vec(), need: (imp.major, imp.minor), have });
                }
                imports.push(Import::Loaded(s));
                depends_on.push(s);
            } else {
                return Err(LinkError::UnknownImport(ia.to_vec()));
            }
        }

        // Class ids for the package's interfaces and classes.
        let mut class_ids: Vec<(u16, ClassId)> = Vec::new();
        let mut next = class_base;
        for o in cap.class.interfaces.iter().map(|i| i.offset).chain(cap.class.classes.iter().map(|c| c.offset)) {
            class_ids.push((o, next));
            next = next.checked_add(1).ok_or(LinkError::TooManyClasses)?;
        }
        let ext_class = |this: &Program, package_token: u8, class_token: u8| -> Result<ClassId, LinkError> {
            match imports.get(package_token as usize) {
                Some(Import::Api(p)) => Ok(api_class_id(*p, class_token)),
                Some(Import::Loaded(s)) => {
                    this.package(*s).and_then(|p| p.export.get(class_token as usize)).map(|e| e.class).ok_or_else(
                        || LinkError::BadReference(format!("class token {class_token} of import {package_token}")),
                    )
                }
                None => Err(LinkError::BadReference(format!("package token {package_token}"))),
            }
        };
        let resolve_class = |this: &Program, r: ClassRef| -> Result<ClassId, LinkError> {
            match r {
                ClassRef::Internal(o) => class_ids
                    .iter()
                    .find(|(x, _)| *x == o)
                    .map(|(_, id)| *id)
                    .ok_or_else(|| LinkError::BadReference(format!("class offset {o}"))),
                ClassRef::External { package_token, class_token } => ext_class(this, package_token, class_token),
            }
        };

        let mut code = cap.method.info().to_vec();
        let code_len = code.len();
        code.extend_from_slice(&[0; CODE_PAD]);

        // Build classes in dependency order (a superclass inside the package first).
        let pkg_name = hex::encode_upper(&aid);
        let mut built: Vec<Option<Class>> = vec![None; class_ids.len()];
        for (k, i) in cap.class.interfaces.iter().enumerate() {
            let mut sup = Vec::new();
            for s in &i.superinterfaces {
                sup.push(resolve_class(self, *s)?);
            }
            built[k] = Some(Class {
                name: format!("{pkg_name}@{}", i.offset),
                package: Some(slot),
                super_class: None,
                interface: true,
                field_base: 0,
                cells: 0,
                ref_cells: Vec::new(),
                vtable: Vec::new(),
                ptable: Vec::new(),
                interfaces: Vec::new(),
                super_interfaces: sup,
                implemented: true,
            });
        }
        let ni = cap.class.interfaces.len();
        let mut pending: Vec<usize> = (0..cap.class.classes.len()).collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut rest = Vec::new();
            for k in pending {
                let ci = &cap.class.classes[k];
                let sup_id = match ci.super_class {
                    Some(r) => Some(resolve_class(self, r)?),
                    None => None,
                };
                // A superclass in this package that is not built yet: later.
                let sup: Option<Class> = match sup_id {
                    Some(id) if id >= class_base && id < next => {
                        match built.get((id - class_base) as usize).and_then(|c| c.clone()) {
                            Some(c) => Some(c),
                            None => {
                                rest.push(k);
                                continue;
                            }
                        }
                    }
                    Some(id) => Some(
                        self.class(id).cloned().ok_or_else(|| LinkError::BadReference(format!("superclass {id}")))?,
                    ),
                    None => None,
                };
                let field_base = sup.as_ref().map_or(0, |s| s.cells);
                let mut ref_cells = sup.as_ref().map_or(Vec::new(), |s| s.ref_cells.clone());
                if ci.first_reference_token != 0xFF {
                    for k in 0..ci.reference_count as u16 {
                        ref_cells.push(field_base + ci.first_reference_token as u16 + k);
                    }
                }
                let mut vtable = sup.as_ref().map_or(Vec::new(), |s| s.vtable.clone());
                let base = ci.public_method_table_base as usize;
                if vtable.len() < base {
                    vtable.resize(base, Target::Missing);
                }
                for (j, off) in ci.public_virtual_method_table.iter().enumerate() {
                    let t = base + j;
                    if vtable.len() <= t {
                        vtable.resize(t + 1, Target::Missing);
                    }
                    if *off != 0xFFFF {
                        vtable[t] = Target::Bytecode { pkg: slot, offset: *off };
                    }
                }
                let mut ptable = match &sup {
                    Some(s) if s.package == Some(slot) => s.ptable.clone(),
                    _ => Vec::new(),
                };
                let base = ci.package_method_table_base as usize;
                if ptable.len() < base {
                    ptable.resize(base, Target::Missing);
                }
                for (j, off) in ci.package_virtual_method_table.iter().enumerate() {
                    let t = base + j;
                    if ptable.len() <= t {
                        ptable.resize(t + 1, Target::Missing);
                    }
                    if *off != 0xFFFF {
                        ptable[t] = Target::Bytecode { pkg: slot, offset: *off };
                    }
                }
                let mut interfaces = Vec::new();
                for ii in &ci.interfaces {
                    interfaces.push((resolve_class(self, ii.interface)?, ii.index.clone()));
                }
                built[ni + k] = Some(Class {
                    name: format!("{pkg_name}@{}", ci.offset),
                    package: Some(slot),
                    super_class: sup_id,
                    interface: false,
                    field_base,
                    cells: field_base + ci.declared_instance_size as u16,
                    ref_cells,
                    vtable,
                    ptable,
                    interfaces,
                    super_interfaces: Vec::new(),
                    implemented: true,
                });
            }
            if rest.len() == before {
                return Err(LinkError::BadReference("cyclic superclasses".into()));
            }
            pending = rest;
        }
        let built: Vec<Class> = built.into_iter().flatten().collect();
        let class_of = |this: &Program, id: ClassId| -> Option<Class> {
            if id >= class_base && id < next {
                built.get((id - class_base) as usize).cloned()
            } else {
                this.class(id).cloned()
            }
        };

        // Constant pool.
        let mut cp = Vec::with_capacity(cap.constant_pool.len());
        for (idx, e) in cap.constant_pool.iter().enumerate() {
            let r = match *e {
                CpEntry::ClassRef(c) => Cp::Class(resolve_class(self, c)?),
                CpEntry::InstanceFieldRef { class, token } => {
                    let id = resolve_class(self, class)?;
                    match class_of(self, id) {
                        Some(k) if k.package.is_some() => Cp::Field(k.field_base + token as u16),
                        _ => {
                            missing.push(format!("cp[{idx}] instance field {token} of {}", api_name(id)));
                            Cp::Invalid
                        }
                    }
                }
                CpEntry::VirtualMethodRef { class, token } => {
                    let id = resolve_class(self, class)?;
                    let k = class_of(self, id);
                    let package = token & 0x80 != 0;
                    let t = token & 0x7F;
                    let target = k.as_ref().and_then(|k| {
                        if package {
                            k.ptable.get(t as usize).copied()
                        } else {
                            k.vtable.get(t as usize).copied()
                        }
                    });
                    match target.and_then(|t| self.nargs_of(t, Some((&code, slot)))) {
                        Some(nargs) => Cp::Virtual { token: t, package, nargs },
                        None => {
                            missing.push(format!("cp[{idx}] virtual method {token} of {}", api_name(id)));
                            Cp::Invalid
                        }
                    }
                }
                CpEntry::SuperMethodRef { class, token } => {
                    let id = resolve_class(self, class)?;
                    let sup = class_of(self, id).and_then(|k| k.super_class).and_then(|s| class_of(self, s));
                    let t = token & 0x7F;
                    let target = sup.and_then(|k| {
                        if token & 0x80 != 0 {
                            k.ptable.get(t as usize).copied()
                        } else {
                            k.vtable.get(t as usize).copied()
                        }
                    });
                    match target {
                        Some(Target::Missing) | None => {
                            missing.push(format!("cp[{idx}] super method {token} of {}", api_name(id)));
                            Cp::Direct(Target::Missing)
                        }
                        Some(t) => Cp::Direct(t),
                    }
                }
                CpEntry::StaticFieldRef(s) => match s {
                    StaticRef::Internal(o) => Cp::StaticField { pkg: slot, offset: o },
                    StaticRef::External { package_token, class_token, token } => {
                        match imports.get(package_token as usize) {
                            Some(Import::Loaded(q)) => {
                                let off = self
                                    .package(*q)
                                    .and_then(|p| p.export.get(class_token as usize))
                                    .and_then(|e| e.static_fields.get(token as usize).copied());
                                match off {
                                    Some(o) => Cp::StaticField { pkg: *q, offset: o },
                                    None => return Err(LinkError::BadReference(format!("cp[{idx}] static field"))),
                                }
                            }
                            _ => {
                                missing.push(format!(
                                    "cp[{idx}] static field {token} of {}",
                                    api_name(ext_class(self, package_token, class_token).unwrap_or(0))
                                ));
                                Cp::Invalid
                            }
                        }
                    }
                },
                CpEntry::StaticMethodRef(s) => match s {
                    StaticRef::Internal(o) => Cp::Direct(Target::Bytecode { pkg: slot, offset: o }),
                    StaticRef::External { package_token, class_token, token } => {
                        match imports.get(package_token as usize) {
                            Some(Import::Api(p)) => {
                                let id = api_class_id(*p, class_token);
                                match api::api_class(id).and_then(|c| c.statics.get(token as usize)) {
                                    Some(n) => Cp::Direct(Target::Native(*n)),
                                    None => {
                                        missing.push(format!("cp[{idx}] static method {token} of {}", api_name(id)));
                                        Cp::Direct(Target::Missing)
                                    }
                                }
                            }
                            Some(Import::Loaded(q)) => {
                                let off = self
                                    .package(*q)
                                    .and_then(|p| p.export.get(class_token as usize))
                                    .and_then(|e| e.static_methods.get(token as usize).copied());
                                match off {
                                    Some(o) => Cp::Direct(Target::Bytecode { pkg: *q, offset: o }),
                                    None => return Err(LinkError::BadReference(format!("cp[{idx}] static method"))),
                                }
                            }
                            None => {
                                return Err(LinkError::BadReference(format!("cp[{idx}] package token {package_token}")))
                            }
                        }
                    }
                },
            };
            cp.push(r);
        }

        let mut handlers = Vec::new();
        for h in &cap.method.handlers {
            let catch = if h.catch_type_index == 0 {
                None
            } else {
                match cp.get(h.catch_type_index as usize) {
                    Some(Cp::Class(c)) => Some(*c),
                    _ => return Err(LinkError::BadReference(format!("catch type {}", h.catch_type_index))),
                }
            };
            handlers.push(Handler {
                start: h.start_offset,
                end: h.start_offset as u32 + h.active_length as u32,
                handler: h.handler_offset,
                catch,
            });
        }

        let mut export = Vec::new();
        if let Some(e) = &cap.export {
            for c in &e.classes {
                let id = class_ids
                    .iter()
                    .find(|(o, _)| *o == c.class_offset)
                    .map(|(_, id)| *id)
                    .ok_or_else(|| LinkError::BadReference(format!("export class offset {}", c.class_offset)))?;
                export.push(ExportedClass {
                    class: id,
                    static_fields: c.static_field_offsets.clone(),
                    static_methods: c.static_method_offsets.clone(),
                });
            }
        }

        let pkg = LinkedPackage {
            aid,
            major: cap.header.package.major,
            minor: cap.header.package.minor,
            int: cap.header.has_int(),
            code,
            code_len,
            cp,
            handlers,
            applets: cap
                .applets
                .iter()
                .map(|a| AppletClass { aid: a.aid.as_bytes().to_vec(), install: a.install_method_offset })
                .collect(),
            class_ids,
            class_base,
            static_size: cap.static_field.image_size,
            static_refs: cap.static_field.reference_count,
            export,
            depends_on,
            missing,
        };
        // Commit.
        for (k, c) in built.into_iter().enumerate() {
            let i = (class_base - USER_CLASS_BASE) as usize + k;
            if self.user.len() <= i {
                self.user.resize(i + 1, None);
            }
            self.user[i] = Some(c);
        }
        if self.packages.len() <= slot as usize {
            self.packages.resize(slot as usize + 1, None);
        }
        self.packages[slot as usize] = Some(pkg);
        Ok(())
    }

    /// Removes a package and its classes.
    pub fn unlink(&mut self, slot: u16) {
        if let Some(p) = self.packages.get_mut(slot as usize).and_then(Option::take) {
            for (_, id) in p.class_ids {
                if let Some(c) = self.user.get_mut((id - USER_CLASS_BASE) as usize) {
                    *c = None;
                }
            }
        }
    }
}

fn api_name(id: ClassId) -> String {
    if id < USER_CLASS_BASE {
        let p = api::PACKAGES.get(id as usize / 256).map_or("?", |p| p.name);
        match api::api_class(id) {
            Some(c) => c.name.to_string(),
            None => format!("{p} class {}", id % 256),
        }
    } else {
        format!("class {id}")
    }
}
