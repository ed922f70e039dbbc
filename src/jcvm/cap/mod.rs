//! CAP files (JCVM 3.0.5 ch. 6, compact format; 3.1 format 2.3 compact too), parsed into typed
//! components and kept whole.
//!
//! # Using it
//! ```no_run
//! use gpse::jcvm::cap::{Cap, CpEntry, StaticRef};
//! let bytes = std::fs::read("x.cap").unwrap();
//! let cap = Cap::parse(&bytes)?;            // zip (JAR) form or raw concatenated components
//! gpse::jcvm::verify::verify(&cap)?;        // structural load-time checks
//! for a in &cap.applets {                   // Applet component
//!     let m = cap.method.method_at(a.install_method_offset).unwrap();
//!     let code: &[u8] = cap.method.bytecode(m); // bytecode, indexed from m.header.code_offset
//!     let _ = (m.header.max_stack, m.header.max_locals, m.header.nargs, code);
//! }
//! if let CpEntry::StaticMethodRef(StaticRef::External { package_token, class_token, token }) =
//!     cap.constant_pool[2]
//! {
//!     let import = &cap.imports[package_token as usize]; // AID + version of that package
//!     let _ = (import, class_token, token);
//! }
//! # Ok::<(), gpse::jcvm::cap::CapError>(())
//! ```
//!
//! - Every offset is relative to the `info` item of the component it points into, as in the
//!   spec: a method offset (Applet install, vtables, internal `StaticMethodRef`, Export) indexes
//!   [`MethodComponent::info`]; an internal [`ClassRef`] indexes the Class component `info` and
//!   [`ClassComponent::class_at`] finds it; an internal `StaticFieldRef` is a byte offset into
//!   the static image ([`StaticFieldComponent`] describes its initial contents).
//! - [`Cap::raw`] keeps every component as received (`tag, size, info`), for the card image;
//!   [`Cap::load_file_data_block`] is what a host sends in LOAD (JCVM §6.2 order).
//! - [`MethodComponent::methods`] lists the methods. With a Descriptor component (the zip form
//!   always has one) each extent is exact; without it (the LOAD form) methods are found from every
//!   offset that references one and each runs to the next, and the verifier follows control flow.
//! - Parsing never panics: bad input is a [`CapError`] naming the component and offset.
//! - [`dump`] disassembles (`gpse cap dump`), [`crate::jcvm::verify`] checks structure.

mod components;
pub mod debug;
pub mod descriptor;
pub mod dump;
mod error;
mod reader;
pub mod zip;

pub use components::*;
pub use debug::DebugComponent;
pub use descriptor::DescriptorComponent;
pub use error::{CapError, CapErrorKind};

use std::fmt;

/// Component tags (JCVM §6.1 Table 6-1; StaticResources is JCVM 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Tag {
    Header = 1,
    Directory = 2,
    Applet = 3,
    Import = 4,
    ConstantPool = 5,
    Class = 6,
    Method = 7,
    StaticField = 8,
    ReferenceLocation = 9,
    Export = 10,
    Descriptor = 11,
    Debug = 12,
    StaticResources = 13,
}

impl Tag {
    pub const ALL: [Tag; 13] = [
        Tag::Header,
        Tag::Directory,
        Tag::Applet,
        Tag::Import,
        Tag::ConstantPool,
        Tag::Class,
        Tag::Method,
        Tag::StaticField,
        Tag::ReferenceLocation,
        Tag::Export,
        Tag::Descriptor,
        Tag::Debug,
        Tag::StaticResources,
    ];

    pub fn from_u8(t: u8) -> Option<Tag> {
        Tag::ALL.get((t as usize).wrapping_sub(1)).copied()
    }

    /// The component's name, as its file in a CAP zip is called (`Method` → `Method.cap`;
    /// ReferenceLocation is `RefLocation.cap`).
    pub fn name(self) -> &'static str {
        match self {
            Tag::Header => "Header",
            Tag::Directory => "Directory",
            Tag::Applet => "Applet",
            Tag::Import => "Import",
            Tag::ConstantPool => "ConstantPool",
            Tag::Class => "Class",
            Tag::Method => "Method",
            Tag::StaticField => "StaticField",
            Tag::ReferenceLocation => "RefLocation",
            Tag::Export => "Export",
            Tag::Descriptor => "Descriptor",
            Tag::Debug => "Debug",
            Tag::StaticResources => "StaticResources",
        }
    }
}

/// The order of components in a Load File Data Block (JCVM §6.2; GPP `CAPFile.getLoadBlob`);
/// Descriptor and Debug stay off the card.
pub const LOAD_ORDER: [Tag; 11] = [
    Tag::Header,
    Tag::Directory,
    Tag::Import,
    Tag::Applet,
    Tag::Class,
    Tag::Method,
    Tag::StaticField,
    Tag::Export,
    Tag::ConstantPool,
    Tag::ReferenceLocation,
    Tag::StaticResources,
];

/// One component as found: `bytes` is the whole `u1 tag, u2 size, info[size]` (StaticResources,
/// JCVM 3.1 §6.16: `u1 tag, u4 size, info[size]`).
#[derive(Clone, PartialEq, Eq)]
pub struct RawComponent {
    pub tag: u8,
    pub bytes: Vec<u8>,
}

impl RawComponent {
    /// The `info` part (after tag and size).
    pub fn info(&self) -> &[u8] {
        self.bytes.get(size_len(self.tag) + 1..).unwrap_or(&[])
    }
}

impl fmt::Debug for RawComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawComponent({}, {} bytes)", self.tag, self.bytes.len())
    }
}

/// A parsed CAP file: every standard component decoded, and all of them kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cap {
    /// Every component, standard and custom, in the order received.
    pub raw: Vec<RawComponent>,
    pub header: Header,
    pub directory: Directory,
    /// Empty for a library package.
    pub applets: Vec<AppletEntry>,
    /// By package token.
    pub imports: Vec<PackageInfo>,
    /// By constant pool index.
    pub constant_pool: Vec<CpEntry>,
    pub class: ClassComponent,
    pub method: MethodComponent,
    pub static_field: StaticFieldComponent,
    pub ref_location: ReferenceLocation,
    pub export: Option<ExportComponent>,
    pub descriptor: Option<DescriptorComponent>,
    pub debug: Option<DebugComponent>,
}

/// Max inflated size of one zip entry: a compact component's size is a u2 (StaticResources
/// may be larger; 16 MB bounds a hostile zip).
const MAX_ENTRY: usize = 16 << 20;

fn err(tag: Option<Tag>, offset: usize, kind: CapErrorKind) -> CapError {
    CapError::new(tag, offset, kind)
}

/// Bytes of a component's size field: 4 for StaticResources (JCVM 3.1), else 2.
fn size_len(tag: u8) -> usize {
    if tag == Tag::StaticResources as u8 {
        4
    } else {
        2
    }
}

/// Splits concatenated components (`u1 tag, u2 size, info[size]`, JCVM §6.1). Tags 1-13 and
/// custom tags 128-255 are accepted; the offsets in errors are into `b`.
pub fn split_components(b: &[u8]) -> Result<Vec<RawComponent>, CapError> {
    let mut out: Vec<RawComponent> = Vec::new();
    let mut p = 0;
    while p < b.len() {
        let t = b[p];
        let tag = Tag::from_u8(t);
        if tag.is_none() && t < 128 {
            return Err(err(None, p, CapErrorKind::UnknownComponent(t)));
        }
        let sl = size_len(t);
        let size = match b.get(p + 1..p + 1 + sl) {
            Some(s) => s.iter().fold(0usize, |a, &x| (a << 8) | x as usize),
            None => return Err(err(tag, p, CapErrorKind::Truncated)),
        };
        let end = (p + 1 + sl).saturating_add(size);
        if b.len() < end {
            return Err(err(tag, p, CapErrorKind::Truncated));
        }
        if out.iter().any(|c| c.tag == t) {
            return Err(err(tag, p, CapErrorKind::DuplicateComponent));
        }
        out.push(RawComponent { tag: t, bytes: b[p..end].to_vec() });
        p = end;
    }
    Ok(out)
}

/// The components of a CAP zip: each `…/javacard/<Name>.cap` entry (JCVM §6.1 "CAP file
/// format": a JAR whose components are files), in zip order. `.capx` entries mean the 3.1
/// extended format, refused.
pub fn components_from_zip(b: &[u8]) -> Result<Vec<RawComponent>, CapError> {
    let entries = zip::read_entries(
        b,
        |n| {
            let Some((_, file)) = n.rsplit_once("javacard/") else { return false };
            file.ends_with(".capx") || Tag::ALL.iter().any(|t| file.strip_suffix(".cap") == Some(t.name()))
        },
        MAX_ENTRY,
    )?;
    let mut out: Vec<RawComponent> = Vec::new();
    for (name, data) in entries {
        if name.ends_with(".capx") {
            return Err(err(None, 0, CapErrorKind::ExtendedFormat));
        }
        let mut comps = split_components(&data)?;
        let want = Tag::ALL
            .iter()
            .find(|t| name.ends_with(&format!("/{}.cap", t.name())) || name == format!("{}.cap", t.name()));
        // A custom component (tag 128-255, listed in the Directory) may sit in any file: old
        // tools wrote theirs as `Debug.cap` (noakes-ExceptionTests, tag 0xDB).
        let ok = comps.len() == 1 && (comps[0].tag >= 128 || want.is_some_and(|t| *t as u8 == comps[0].tag));
        if !ok {
            return Err(err(want.copied(), 0, CapErrorKind::Zip(format!("{name} does not hold that component"))));
        }
        let c = comps.remove(0);
        if out.iter().any(|o| o.tag == c.tag) {
            return Err(err(Tag::from_u8(c.tag), 0, CapErrorKind::DuplicateComponent));
        }
        out.push(c);
    }
    Ok(out)
}

impl Cap {
    /// Parses either form: the zip a converter writes, or concatenated components (LOAD).
    pub fn parse(b: &[u8]) -> Result<Cap, CapError> {
        let raw = if zip::is_zip(b) { components_from_zip(b)? } else { split_components(b)? };
        Cap::from_components(raw)
    }

    /// Decodes already split components.
    pub fn from_components(raw: Vec<RawComponent>) -> Result<Cap, CapError> {
        let get = |t: Tag| raw.iter().find(|c| c.tag == t as u8).map(|c| c.info());
        let need = |t: Tag| get(t).ok_or_else(|| err(Some(t), 0, CapErrorKind::MissingComponent));
        let header = Header::parse(need(Tag::Header)?)?;
        let directory = Directory::parse(need(Tag::Directory)?, header.format_minor)?;
        for c in &raw {
            let Some(t) = Tag::from_u8(c.tag) else { continue };
            if t == Tag::StaticResources && header.format_minor < 3 {
                return Err(err(Some(t), 0, CapErrorKind::BadValue("StaticResources before CAP format 2.3")));
            }
            match directory.size_of(t) {
                Some(d) if d as usize != c.info().len() => {
                    return Err(err(
                        Some(t),
                        0,
                        CapErrorKind::SizeMismatch {
                            directory: d,
                            actual: c.info().len().try_into().unwrap_or(u32::MAX),
                        },
                    ))
                }
                None if t == Tag::Debug => {
                    return Err(err(Some(t), 0, CapErrorKind::BadValue("Debug component in CAP format 2.1")))
                }
                _ => {}
            }
        }
        for c in raw.iter().filter(|c| c.tag >= 128) {
            let listed = directory.custom_components.iter().find(|d| d.tag == c.tag);
            if listed.is_none_or(|d| d.size as usize != c.info().len()) {
                return Err(err(None, 0, CapErrorKind::BadValue("custom component not in the Directory")));
            }
        }
        let applets = match get(Tag::Applet) {
            Some(b) => parse_applets(b)?,
            None => Vec::new(),
        };
        let has_applet = get(Tag::Applet).is_some();
        if has_applet != (header.flags & header_flags::ACC_APPLET != 0) {
            return Err(err(
                Some(Tag::Header),
                6,
                CapErrorKind::BadValue("ACC_APPLET flag and Applet component disagree"),
            ));
        }
        if get(Tag::Export).is_some() != (header.flags & header_flags::ACC_EXPORT != 0) {
            return Err(err(
                Some(Tag::Header),
                6,
                CapErrorKind::BadValue("ACC_EXPORT flag and Export component disagree"),
            ));
        }
        if applets.len() != directory.applet_count as usize {
            return Err(err(
                Some(Tag::Directory),
                0,
                CapErrorKind::CountMismatch {
                    what: "applet count",
                    directory: directory.applet_count as u16,
                    actual: applets.len().try_into().unwrap_or(u16::MAX),
                },
            ));
        }
        let imports = parse_imports(need(Tag::Import)?)?;
        if imports.len() != directory.import_count as usize {
            return Err(err(
                Some(Tag::Directory),
                0,
                CapErrorKind::CountMismatch {
                    what: "import count",
                    directory: directory.import_count as u16,
                    actual: imports.len().try_into().unwrap_or(u16::MAX),
                },
            ));
        }
        let constant_pool = parse_constant_pool(need(Tag::ConstantPool)?)?;
        let class = ClassComponent::parse(need(Tag::Class)?, header.format_minor)?;
        let mut method = MethodComponent::parse_handlers(need(Tag::Method)?)?;
        let static_field = StaticFieldComponent::parse(need(Tag::StaticField)?)?;
        if static_field.image_size != directory.static_image_size
            || static_field.array_inits.len() != directory.array_init_count as usize
        {
            return Err(err(Some(Tag::Directory), 0, CapErrorKind::BadValue("static_field_size_info")));
        }
        let ref_location = ReferenceLocation::parse(need(Tag::ReferenceLocation)?)?;
        let export = get(Tag::Export).map(ExportComponent::parse).transpose()?;
        let descriptor = get(Tag::Descriptor).map(DescriptorComponent::parse).transpose()?;
        let debug = get(Tag::Debug).map(DebugComponent::parse).transpose()?;
        method.methods = method_table(&method, &applets, &class, &constant_pool, export.as_ref(), descriptor.as_ref())?;
        Ok(Cap {
            raw,
            header,
            directory,
            applets,
            imports,
            constant_pool,
            class,
            method,
            static_field,
            ref_location,
            export,
            descriptor,
            debug,
        })
    }

    /// The raw component with this tag.
    pub fn component(&self, t: Tag) -> Option<&RawComponent> {
        self.raw.iter().find(|c| c.tag == t as u8)
    }

    /// The Load File Data Block: the components in [`LOAD_ORDER`], then custom ones.
    pub fn load_file_data_block(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for t in LOAD_ORDER {
            if let Some(c) = self.component(t) {
                out.extend_from_slice(&c.bytes);
            }
        }
        for c in self.raw.iter().filter(|c| c.tag >= 128) {
            out.extend_from_slice(&c.bytes);
        }
        out
    }

    /// Whether the package may use int bytecodes (Header `ACC_INT`).
    pub fn has_int(&self) -> bool {
        self.header.has_int()
    }

    /// Every method offset something refers to: applet install methods, virtual method tables,
    /// internal static method references, exported static methods (unsorted, with repeats).
    pub fn referenced_method_offsets(&self) -> Vec<u16> {
        referenced_methods(&self.applets, &self.class, &self.constant_pool, self.export.as_ref())
    }
}

fn referenced_methods(
    applets: &[AppletEntry],
    class: &ClassComponent,
    cp: &[CpEntry],
    export: Option<&ExportComponent>,
) -> Vec<u16> {
    let mut v: Vec<u16> = applets.iter().map(|a| a.install_method_offset).collect();
    for c in &class.classes {
        v.extend(c.public_virtual_method_table.iter().chain(&c.package_virtual_method_table).filter(|&&o| o != 0xFFFF));
    }
    for e in cp {
        if let CpEntry::StaticMethodRef(StaticRef::Internal(o)) = e {
            v.push(*o);
        }
    }
    if let Some(x) = export {
        for c in &x.classes {
            v.extend(&c.static_method_offsets);
        }
    }
    v
}

/// The method table: exact from the Descriptor, else from referenced offsets (see the module
/// doc). A header that does not decode is an error; the verifier checks the rest.
fn method_table(
    method: &MethodComponent,
    applets: &[AppletEntry],
    class: &ClassComponent,
    cp: &[CpEntry],
    export: Option<&ExportComponent>,
    descriptor: Option<&DescriptorComponent>,
) -> Result<Vec<MethodInfo>, CapError> {
    let len = method.info().len();
    let mut out: Vec<MethodInfo> = Vec::new();
    if let Some(d) = descriptor {
        for c in &d.classes {
            for m in &c.methods {
                if m.method_offset == 0 && m.access_flags & descriptor::access::ACC_ABSTRACT != 0 {
                    continue; // interface methods have no body and no header
                }
                let header = method.header_at(m.method_offset)?;
                let end = header.code_offset as usize + m.bytecode_count as usize;
                if end > len {
                    return Err(err(
                        Some(Tag::Descriptor),
                        0,
                        CapErrorKind::BadOffset {
                            what: "method bytecode end",
                            target: end.try_into().unwrap_or(u32::MAX),
                        },
                    ));
                }
                // end lies in the Method component, at most 65535 bytes (JCVM §6.1).
                #[allow(clippy::cast_possible_truncation)]
                out.push(MethodInfo { header, code_end: end as u16, exact: true });
            }
        }
        out.sort_by_key(|m| m.header.offset);
        if out.windows(2).any(|w| w[0].header.offset == w[1].header.offset || w[0].code_end > w[1].header.offset) {
            return Err(err(Some(Tag::Descriptor), 0, CapErrorKind::BadValue("methods overlap")));
        }
        return Ok(out);
    }
    let mut offs = referenced_methods(applets, class, cp, export);
    offs.sort_unstable();
    offs.dedup();
    for (i, &o) in offs.iter().enumerate() {
        let header = method.header_at(o)?;
        let next = offs.get(i + 1).map_or(len, |&n| n as usize);
        let end = next.max(header.code_offset as usize).min(len);
        if header.code_offset as usize > len {
            return Err(err(Some(Tag::Method), o as usize, CapErrorKind::Truncated));
        }
        // end lies in the Method component, at most 65535 bytes (JCVM §6.1).
        #[allow(clippy::cast_possible_truncation)]
        out.push(MethodInfo { header, code_end: end as u16, exact: false });
    }
    Ok(out)
}
