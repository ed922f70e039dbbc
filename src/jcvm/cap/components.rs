//! The components of the compact CAP format (JCVM §6.3-§6.15), parsed into plain data. Every
//! offset kept here is relative to the `info` item of the component it points into, as in the
//! spec (e.g. a method offset indexes [`MethodComponent::info`]).

use super::reader::Reader;
use super::{CapError, CapErrorKind, Tag};
use crate::card::Aid;

/// Header flags (JCVM §6.4 Table 6-3; `ACC_EXTENDED` is JCVM 3.1 §6.4).
pub mod header_flags {
    /// The package uses the 32-bit `int` type.
    pub const ACC_INT: u8 = 0x01;
    /// The package has an Export component.
    pub const ACC_EXPORT: u8 = 0x02;
    /// The package has an Applet component.
    pub const ACC_APPLET: u8 = 0x04;
    /// The 3.1 extended format (more than 64 KB components, several packages).
    pub const ACC_EXTENDED: u8 = 0x08;
}

/// A package's identity: `package_info` (JCVM §6.4), also each Import entry (§6.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    pub minor: u8,
    pub major: u8,
    pub aid: Aid,
}

impl PackageInfo {
    pub(crate) fn parse(r: &mut Reader) -> Result<PackageInfo, CapError> {
        let minor = r.u1()?;
        let major = r.u1()?;
        let at = r.pos;
        let len = r.u1()? as usize;
        let aid = Aid::new(r.bytes(len)?).ok_or_else(|| r.err_at(at, CapErrorKind::BadAid))?;
        Ok(PackageInfo { minor, major, aid })
    }
}

/// The Header component (JCVM §6.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// CAP format version: 2.1 (JC 2.1-3.0.x without Debug), 2.2 (with a package name; Debug
    /// allowed), 2.3 (JC 3.1 compact).
    pub format_major: u8,
    pub format_minor: u8,
    /// [`header_flags`].
    pub flags: u8,
    pub package: PackageInfo,
    /// `package_name_info` (format 2.2 and later; absent in 2.1), `/`-separated.
    pub package_name: Option<String>,
}

impl Header {
    pub(crate) fn parse(b: &[u8]) -> Result<Header, CapError> {
        let mut r = Reader::new(b, Tag::Header);
        if r.u4()? != 0xDECA_FFED {
            return Err(r.err_at(0, CapErrorKind::BadMagic));
        }
        let format_minor = r.u1()?;
        let format_major = r.u1()?;
        let flags = r.u1()?;
        if flags & header_flags::ACC_EXTENDED != 0 {
            return Err(r.err_at(6, CapErrorKind::ExtendedFormat));
        }
        if format_major != 2 || !(1..=3).contains(&format_minor) {
            return Err(r.err_at(4, CapErrorKind::UnsupportedFormat(format_major, format_minor)));
        }
        let package = PackageInfo::parse(&mut r)?;
        let package_name = if format_minor >= 2 && !r.is_empty() {
            let n = r.u1()? as usize;
            // The 3.1 converter writes an empty name in format 2.3: treated as absent.
            Some(String::from_utf8_lossy(r.bytes(n)?).into_owned()).filter(|s| !s.is_empty())
        } else {
            None
        };
        r.finish()?;
        Ok(Header { format_major, format_minor, flags, package, package_name })
    }

    pub fn has_int(&self) -> bool {
        self.flags & header_flags::ACC_INT != 0
    }
}

/// A custom component entry of the Directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomComponent {
    pub tag: u8,
    pub size: u16,
    pub aid: Vec<u8>,
}

/// The Directory component (JCVM §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// `component_sizes[tag - 1]`: 11 entries in format 2.1, 12 in 2.2 and 2.3 (Debug).
    pub component_sizes: Vec<u16>,
    /// Format 2.3 (JC 3.1) adds the StaticResources size as a `u4` after the 12 `u2` sizes
    /// (checked against the 3.1 converter's output: 28 bytes of sizes).
    pub static_resources_size: Option<u32>,
    /// `static_field_size_info`: image size, array init count, array init size.
    pub static_image_size: u16,
    pub array_init_count: u16,
    pub array_init_size: u16,
    pub import_count: u8,
    pub applet_count: u8,
    pub custom_components: Vec<CustomComponent>,
}

impl Directory {
    pub(crate) fn parse(b: &[u8], format_minor: u8) -> Result<Directory, CapError> {
        let mut r = Reader::new(b, Tag::Directory);
        let n = if format_minor == 1 { 11 } else { 12 };
        let mut component_sizes = Vec::with_capacity(n);
        for _ in 0..n {
            component_sizes.push(r.u2()?);
        }
        let static_resources_size = if format_minor >= 3 { Some(r.u4()?) } else { None };
        let static_image_size = r.u2()?;
        let array_init_count = r.u2()?;
        let array_init_size = r.u2()?;
        let import_count = r.u1()?;
        let applet_count = r.u1()?;
        let custom_count = r.u1()?;
        let mut custom_components = Vec::new();
        for _ in 0..custom_count {
            let tag = r.u1()?;
            let size = r.u2()?;
            let l = r.u1()? as usize;
            custom_components.push(CustomComponent { tag, size, aid: r.bytes(l)?.to_vec() });
        }
        r.finish()?;
        Ok(Directory {
            component_sizes,
            static_resources_size,
            static_image_size,
            array_init_count,
            array_init_size,
            import_count,
            applet_count,
            custom_components,
        })
    }

    /// The size the Directory records for a component, if it records one.
    pub fn size_of(&self, tag: Tag) -> Option<u32> {
        if tag == Tag::StaticResources {
            return self.static_resources_size;
        }
        self.component_sizes.get(tag as usize - 1).map(|&s| s as u32)
    }
}

/// One applet of the Applet component (JCVM §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppletEntry {
    pub aid: Aid,
    /// Offset of the `install(byte[], short, byte)` method in the Method component.
    pub install_method_offset: u16,
}

pub(crate) fn parse_applets(b: &[u8]) -> Result<Vec<AppletEntry>, CapError> {
    let mut r = Reader::new(b, Tag::Applet);
    let count = r.u1()?;
    let mut out = Vec::new();
    for _ in 0..count {
        let at = r.pos;
        let l = r.u1()? as usize;
        let aid = Aid::new(r.bytes(l)?).ok_or_else(|| r.err_at(at, CapErrorKind::BadAid))?;
        out.push(AppletEntry { aid, install_method_offset: r.u2()? });
    }
    r.finish()?;
    Ok(out)
}

pub(crate) fn parse_imports(b: &[u8]) -> Result<Vec<PackageInfo>, CapError> {
    let mut r = Reader::new(b, Tag::Import);
    let count = r.u1()?;
    let mut out = Vec::new();
    for _ in 0..count {
        out.push(PackageInfo::parse(&mut r)?);
    }
    r.finish()?;
    Ok(out)
}

/// A reference to a class or interface (JCVM §6.8.1 `class_ref`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClassRef {
    /// Offset of the `interface_info`/`class_info` in the Class component's `info`.
    Internal(u16),
    /// `package_token` indexes the Import component; `class_token` the package's classes.
    External { package_token: u8, class_token: u8 },
}

impl ClassRef {
    // Splits the u2 class_ref into its two bytes (JCVM §6.8.1).
    #[allow(clippy::cast_possible_truncation)]
    pub fn from_u2(v: u16) -> ClassRef {
        if v & 0x8000 != 0 {
            ClassRef::External { package_token: ((v >> 8) & 0x7F) as u8, class_token: v as u8 }
        } else {
            ClassRef::Internal(v)
        }
    }

    pub(crate) fn parse(r: &mut Reader) -> Result<ClassRef, CapError> {
        Ok(ClassRef::from_u2(r.u2()?))
    }
}

/// A static field or method (JCVM §6.8.5 `static_field_ref`/`static_method_ref`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaticRef {
    /// Offset in the static field image, or of the method in the Method component.
    Internal(u16),
    External {
        package_token: u8,
        class_token: u8,
        token: u8,
    },
}

impl StaticRef {
    pub(crate) fn from_bytes(b: [u8; 3]) -> StaticRef {
        if b[0] & 0x80 != 0 {
            StaticRef::External { package_token: b[0] & 0x7F, class_token: b[1], token: b[2] }
        } else {
            StaticRef::Internal(u16::from_be_bytes([b[1], b[2]]))
        }
    }
}

/// Constant pool tags (JCVM §6.8 Table 6-6).
pub mod cp_tag {
    pub const CLASSREF: u8 = 1;
    pub const INSTANCE_FIELDREF: u8 = 2;
    pub const VIRTUAL_METHODREF: u8 = 3;
    pub const SUPER_METHODREF: u8 = 4;
    pub const STATIC_FIELDREF: u8 = 5;
    pub const STATIC_METHODREF: u8 = 6;
}

/// One 4-byte constant pool entry (JCVM §6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpEntry {
    ClassRef(ClassRef),
    /// `token` is the instance field token within the class.
    InstanceFieldRef {
        class: ClassRef,
        token: u8,
    },
    /// `token` is the virtual method token (public if < 128, package-private if ≥ 128).
    VirtualMethodRef {
        class: ClassRef,
        token: u8,
    },
    /// `invokespecial` of a superclass method: `class` is the class the call is compiled in.
    SuperMethodRef {
        class: ClassRef,
        token: u8,
    },
    StaticFieldRef(StaticRef),
    /// Static methods, constructors and private methods (`invokestatic`/`invokespecial`).
    StaticMethodRef(StaticRef),
}

impl CpEntry {
    /// The `.jca` keyword of this kind (`classRef`, `staticMethodRef`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            CpEntry::ClassRef(_) => "classRef",
            CpEntry::InstanceFieldRef { .. } => "instanceFieldRef",
            CpEntry::VirtualMethodRef { .. } => "virtualMethodRef",
            CpEntry::SuperMethodRef { .. } => "superMethodRef",
            CpEntry::StaticFieldRef(_) => "staticFieldRef",
            CpEntry::StaticMethodRef(_) => "staticMethodRef",
        }
    }
}

pub(crate) fn parse_constant_pool(b: &[u8]) -> Result<Vec<CpEntry>, CapError> {
    let mut r = Reader::new(b, Tag::ConstantPool);
    let count = r.u2()?;
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let at = r.pos;
        let e = r.bytes(4)?;
        let cref = || ClassRef::from_u2(u16::from_be_bytes([e[1], e[2]]));
        out.push(match e[0] {
            cp_tag::CLASSREF => CpEntry::ClassRef(cref()),
            cp_tag::INSTANCE_FIELDREF => CpEntry::InstanceFieldRef { class: cref(), token: e[3] },
            cp_tag::VIRTUAL_METHODREF => CpEntry::VirtualMethodRef { class: cref(), token: e[3] },
            cp_tag::SUPER_METHODREF => CpEntry::SuperMethodRef { class: cref(), token: e[3] },
            cp_tag::STATIC_FIELDREF => CpEntry::StaticFieldRef(StaticRef::from_bytes([e[1], e[2], e[3]])),
            cp_tag::STATIC_METHODREF => CpEntry::StaticMethodRef(StaticRef::from_bytes([e[1], e[2], e[3]])),
            t => return Err(r.err_at(at, CapErrorKind::BadConstantTag(t))),
        });
    }
    r.finish()?;
    Ok(out)
}

/// Class and interface flags (the high nibble of the bitfield, JCVM §6.9 Table 6-8).
pub mod class_flags {
    pub const ACC_INTERFACE: u8 = 0x8;
    pub const ACC_SHAREABLE: u8 = 0x4;
    pub const ACC_REMOTE: u8 = 0x2;
}

/// `interface_info` (JCVM §6.9.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Offset in the Class component `info` (what an internal [`ClassRef`] holds).
    pub offset: u16,
    pub flags: u8,
    pub superinterfaces: Vec<ClassRef>,
    /// `interface_name_info` of a remote interface.
    pub name: Option<Vec<u8>>,
}

/// `implemented_interface_info` (JCVM §6.9.2): `index[i]` is the class's virtual method token
/// implementing the interface's method token `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImplementedInterface {
    pub interface: ClassRef,
    pub index: Vec<u8>,
}

/// `class_info` (JCVM §6.9.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInfo {
    pub offset: u16,
    pub flags: u8,
    /// `None` only for `java.lang.Object` (`0xFFFF`).
    pub super_class: Option<ClassRef>,
    /// Instance fields declared by this class, in 16-bit words.
    pub declared_instance_size: u8,
    /// Token of the first reference-typed instance field (`0xFF` when none).
    pub first_reference_token: u8,
    pub reference_count: u8,
    pub public_method_table_base: u8,
    /// Method offsets of public/protected virtual methods, tokens from the base; `0xFFFF`
    /// for an inherited entry the table does not carry.
    pub public_virtual_method_table: Vec<u16>,
    pub package_method_table_base: u8,
    pub package_virtual_method_table: Vec<u16>,
    pub interfaces: Vec<ImplementedInterface>,
    /// The raw `remote_interface_info` of a remote class (JCVM §6.9.2), if any.
    pub remote: Option<Vec<u8>>,
    /// CAP format 2.3 (JC 3.1 "improved API extensibility"): for each public virtual method
    /// token `0..base+count`, the token the converter mapped it to (`0xFF`: not yet assigned,
    /// resolved at link time), followed in the file by one byte equal to the entry count (read
    /// off the 3.1 converter's output; checked). Empty before 2.3.
    pub public_method_token_mapping: Vec<u8>,
}

impl ClassInfo {
    /// The method offset this class's own tables give for virtual method `token` (public if
    /// < 128, package if ≥ 128); `None` below the table base (inherited: look in the
    /// superclass) or for a `0xFFFF` entry.
    pub fn virtual_method(&self, token: u8) -> Option<u16> {
        let (base, table, t) = if token & 0x80 != 0 {
            (self.package_method_table_base, &self.package_virtual_method_table, token & 0x7F)
        } else {
            (self.public_method_table_base, &self.public_virtual_method_table, token)
        };
        let o = *table.get(t.checked_sub(base)? as usize)?;
        (o != 0xFFFF).then_some(o)
    }
}

/// The Class component (JCVM §6.9): the interfaces come first, then the classes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClassComponent {
    /// `signature_pool` (format 2.2+, for remote methods): raw type descriptors.
    pub signature_pool: Vec<u8>,
    pub interfaces: Vec<InterfaceInfo>,
    pub classes: Vec<ClassInfo>,
}

impl ClassComponent {
    pub(crate) fn parse(b: &[u8], format_minor: u8) -> Result<ClassComponent, CapError> {
        let mut r = Reader::new(b, Tag::Class);
        let mut c = ClassComponent::default();
        if format_minor >= 2 {
            let n = r.u2()? as usize;
            c.signature_pool = r.bytes(n)?.to_vec();
        }
        while !r.is_empty() {
            // A component is at most 65535 bytes (u2 size, JCVM §6.1).
            #[allow(clippy::cast_possible_truncation)]
            let offset = r.pos as u16;
            let bits = r.u1()?;
            let (flags, count) = (bits >> 4, bits & 0xF);
            if flags & class_flags::ACC_INTERFACE != 0 {
                if !c.classes.is_empty() {
                    return Err(r.err_at(offset as usize, CapErrorKind::BadValue("interface after a class")));
                }
                let mut superinterfaces = Vec::new();
                for _ in 0..count {
                    superinterfaces.push(ClassRef::parse(&mut r)?);
                }
                let name = if flags & class_flags::ACC_REMOTE != 0 {
                    let n = r.u1()? as usize;
                    Some(r.bytes(n)?.to_vec())
                } else {
                    None
                };
                c.interfaces.push(InterfaceInfo { offset, flags, superinterfaces, name });
                continue;
            }
            let sup = r.u2()?;
            let super_class = (sup != 0xFFFF).then(|| ClassRef::from_u2(sup));
            let declared_instance_size = r.u1()?;
            let first_reference_token = r.u1()?;
            let reference_count = r.u1()?;
            let public_method_table_base = r.u1()?;
            let pub_count = r.u1()?;
            let package_method_table_base = r.u1()?;
            let pkg_count = r.u1()?;
            let mut public_virtual_method_table = Vec::new();
            for _ in 0..pub_count {
                public_virtual_method_table.push(r.u2()?);
            }
            let mut package_virtual_method_table = Vec::new();
            for _ in 0..pkg_count {
                package_virtual_method_table.push(r.u2()?);
            }
            let mut interfaces = Vec::new();
            for _ in 0..count {
                let interface = ClassRef::parse(&mut r)?;
                let n = r.u1()? as usize;
                interfaces.push(ImplementedInterface { interface, index: r.bytes(n)?.to_vec() });
            }
            let remote = if flags & class_flags::ACC_REMOTE != 0 {
                let start = r.pos;
                // remote_interface_info: methods {u2 hash, u2 signature_offset, u1 token}[],
                // hash_modifier, class_name, remote_interfaces (class_ref[]).
                let n = r.u1()? as usize;
                r.bytes(5 * n)?;
                let n = r.u1()? as usize;
                r.bytes(n)?;
                let n = r.u1()? as usize;
                r.bytes(n)?;
                let n = r.u1()? as usize;
                r.bytes(2 * n)?;
                Some(b[start..r.pos].to_vec())
            } else {
                None
            };
            let mut public_method_token_mapping = Vec::new();
            if format_minor >= 3 {
                let n = public_method_table_base as usize + pub_count as usize;
                public_method_token_mapping = r.bytes(n)?.to_vec();
                let at = r.pos;
                if r.u1()? as usize != n {
                    return Err(r.err_at(at, CapErrorKind::BadValue("public method token mapping count")));
                }
            }
            c.classes.push(ClassInfo {
                offset,
                public_method_token_mapping,
                flags,
                super_class,
                declared_instance_size,
                first_reference_token,
                reference_count,
                public_method_table_base,
                public_virtual_method_table,
                package_method_table_base,
                package_virtual_method_table,
                interfaces,
                remote,
            });
        }
        Ok(c)
    }

    /// The class at an internal [`ClassRef`] offset.
    pub fn class_at(&self, offset: u16) -> Option<&ClassInfo> {
        self.classes.iter().find(|c| c.offset == offset)
    }

    /// The interface at an internal [`ClassRef`] offset.
    pub fn interface_at(&self, offset: u16) -> Option<&InterfaceInfo> {
        self.interfaces.iter().find(|c| c.offset == offset)
    }
}

/// `exception_handler_info` (JCVM §6.10.1). Offsets are into the Method component `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionHandler {
    /// First bytecode covered.
    pub start_offset: u16,
    /// Bytes covered from `start_offset` (exclusive end = start + length).
    pub active_length: u16,
    /// The `stop_bit`: set on the last handler the search has to consider for this range
    /// (JCVM §6.10.1); the interpreter may stop there. Handlers are searched in table order.
    pub stop: bool,
    pub handler_offset: u16,
    /// Constant pool index of the caught class's `classRef`, or 0 for "any" (`finally`).
    pub catch_type_index: u16,
}

impl ExceptionHandler {
    pub fn end_offset(&self) -> u32 {
        self.start_offset as u32 + self.active_length as u32
    }
}

/// Method header flags (JCVM §6.10.2 Table 6-10).
pub mod method_flags {
    pub const ACC_EXTENDED: u8 = 0x8;
    pub const ACC_ABSTRACT: u8 = 0x4;
}

/// `method_header_info` or `extended_method_header_info` (JCVM §6.10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodHeader {
    /// Offset of the header in the Method component `info` (the method's identity).
    pub offset: u16,
    /// [`method_flags`].
    pub flags: u8,
    /// In 16-bit words.
    pub max_stack: u8,
    /// Arguments including `this`, in words.
    pub nargs: u8,
    /// Locals beyond the arguments, in words.
    pub max_locals: u8,
    /// Offset of the first bytecode (`offset` + 2, or + 4 when extended).
    pub code_offset: u16,
}

impl MethodHeader {
    pub fn is_abstract(&self) -> bool {
        self.flags & method_flags::ACC_ABSTRACT != 0
    }

    pub fn is_extended(&self) -> bool {
        self.flags & method_flags::ACC_EXTENDED != 0
    }
}

/// One method: its header and where its bytecode ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    pub header: MethodHeader,
    /// Exclusive end of the bytecode in the Method `info`. Exact when the Descriptor gave the
    /// method's `bytecode_count`; otherwise the next method's offset (an upper bound).
    pub code_end: u16,
    /// Whether `code_end` came from the Descriptor.
    pub exact: bool,
}

/// The Method component (JCVM §6.10), kept as bytes with a table of its methods.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodComponent {
    info: Vec<u8>,
    pub handlers: Vec<ExceptionHandler>,
    /// Methods sorted by offset (see [`MethodInfo::code_end`]).
    pub methods: Vec<MethodInfo>,
}

impl MethodComponent {
    pub(crate) fn parse_handlers(b: &[u8]) -> Result<MethodComponent, CapError> {
        let mut r = Reader::new(b, Tag::Method);
        let n = r.u1()?;
        let mut handlers = Vec::new();
        for _ in 0..n {
            let start_offset = r.u2()?;
            let bits = r.u2()?;
            handlers.push(ExceptionHandler {
                start_offset,
                active_length: bits & 0x7FFF,
                stop: bits & 0x8000 != 0,
                handler_offset: r.u2()?,
                catch_type_index: r.u2()?,
            });
        }
        Ok(MethodComponent { info: b.to_vec(), handlers, methods: Vec::new() })
    }

    /// The component's `info`: what method offsets, handler offsets and bytecode offsets index.
    pub fn info(&self) -> &[u8] {
        &self.info
    }

    /// Offset of the first method (after the handler table).
    pub fn methods_start(&self) -> usize {
        1 + 8 * self.handlers.len()
    }

    /// Decodes the method header at `offset` (bounds-checked).
    pub fn header_at(&self, offset: u16) -> Result<MethodHeader, CapError> {
        let o = offset as usize;
        if o < self.methods_start() {
            return Err(CapError::new(
                Some(Tag::Method),
                o,
                CapErrorKind::BadOffset { what: "method", target: o.try_into().unwrap_or(u32::MAX) },
            ));
        }
        let mut r = Reader::at(&self.info, Tag::Method, o);
        let b0 = r.u1()?;
        let b1 = r.u1()?;
        let flags = b0 >> 4;
        let h = if flags & method_flags::ACC_EXTENDED != 0 {
            // extended_method_header_info: {flags, padding}, max_stack, nargs, max_locals.
            let nargs = r.u1()?;
            let max_locals = r.u1()?;
            let code_offset = offset.checked_add(4).ok_or_else(|| r.err(CapErrorKind::Truncated))?;
            MethodHeader { offset, flags, max_stack: b1, nargs, max_locals, code_offset }
        } else {
            MethodHeader {
                offset,
                flags,
                max_stack: b0 & 0xF,
                nargs: b1 >> 4,
                max_locals: b1 & 0xF,
                code_offset: offset.checked_add(2).ok_or_else(|| r.err(CapErrorKind::Truncated))?,
            }
        };
        Ok(h)
    }

    /// The method whose header is at `offset`.
    pub fn method_at(&self, offset: u16) -> Option<&MethodInfo> {
        self.methods.binary_search_by_key(&offset, |m| m.header.offset).ok().map(|i| &self.methods[i])
    }

    /// The method whose bytecode contains `offset` (for stack traces and handler lookup).
    pub fn method_containing(&self, offset: u16) -> Option<&MethodInfo> {
        let i = self.methods.partition_point(|m| m.header.offset <= offset);
        self.methods.get(i.checked_sub(1)?).filter(|m| offset < m.code_end.max(m.header.code_offset))
    }

    /// A method's bytecode (empty for an abstract method).
    pub fn bytecode(&self, m: &MethodInfo) -> &[u8] {
        self.info.get(m.header.code_offset as usize..m.code_end as usize).unwrap_or(&[])
    }

    /// The handlers whose ranges lie in method `m`, in table order (the order the JCVM searches).
    pub fn handlers_of<'a>(&'a self, m: &'a MethodInfo) -> impl Iterator<Item = &'a ExceptionHandler> + 'a {
        self.handlers.iter().filter(move |h| h.start_offset >= m.header.code_offset && (h.start_offset) < m.code_end)
    }
}

/// `array_init_info` (JCVM §6.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayInit {
    /// 2 boolean, 3 byte, 4 short, 5 int.
    pub elem_type: u8,
    /// Initial values, big-endian for short and int.
    pub values: Vec<u8>,
}

impl ArrayInit {
    /// Element size in bytes (0 for an unknown type, which the parser refuses).
    pub fn elem_size(&self) -> usize {
        match self.elem_type {
            2 | 3 => 1,
            4 => 2,
            5 => 4,
            _ => 0,
        }
    }
}

/// The StaticField component (JCVM §6.11). The static image is `reference_count` 2-byte
/// references (the first `array_inits.len()` initialised with those arrays, the rest null),
/// then `default_value_count` zero bytes, then `non_default_values`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaticFieldComponent {
    pub image_size: u16,
    pub reference_count: u16,
    pub array_inits: Vec<ArrayInit>,
    pub default_value_count: u16,
    pub non_default_values: Vec<u8>,
}

impl StaticFieldComponent {
    pub(crate) fn parse(b: &[u8]) -> Result<StaticFieldComponent, CapError> {
        let mut r = Reader::new(b, Tag::StaticField);
        let image_size = r.u2()?;
        let reference_count = r.u2()?;
        let n = r.u2()?;
        let mut array_inits = Vec::new();
        for _ in 0..n {
            let at = r.pos;
            let elem_type = r.u1()?;
            let count = r.u2()? as usize;
            let a = ArrayInit { elem_type, values: r.bytes(count)?.to_vec() };
            if a.elem_size() == 0 || !count.is_multiple_of(a.elem_size()) {
                return Err(r.err_at(at, CapErrorKind::BadValue("array_init type or count")));
            }
            array_inits.push(a);
        }
        let default_value_count = r.u2()?;
        let nd = r.u2()? as usize;
        let non_default_values = r.bytes(nd)?.to_vec();
        r.finish()?;
        let s =
            StaticFieldComponent { image_size, reference_count, array_inits, default_value_count, non_default_values };
        let total = 2 * reference_count as usize + default_value_count as usize + nd;
        if total != image_size as usize || s.array_inits.len() > reference_count as usize {
            return Err(CapError::new(Some(Tag::StaticField), 0, CapErrorKind::BadValue("image_size")));
        }
        Ok(s)
    }

    /// Offset of the first non-reference static field in the image.
    pub fn primitive_start(&self) -> u16 {
        2 * self.reference_count
    }

    /// The initial bytes of the primitive part of the static image (from
    /// [`primitive_start`](Self::primitive_start)): the default-valued fields as zeros, then the
    /// non-default values (JCVM §6.11). The reference part starts as the `array_inits` arrays
    /// (created at load) followed by nulls.
    pub fn primitive_image(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.default_value_count as usize];
        v.extend_from_slice(&self.non_default_values);
        v
    }
}

/// The ReferenceLocation component (JCVM §6.12), the deltas decoded to absolute offsets in the
/// Method component `info` of each 1-byte and 2-byte constant pool index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReferenceLocation {
    pub byte_indices: Vec<u16>,
    pub byte2_indices: Vec<u16>,
}

impl ReferenceLocation {
    pub(crate) fn parse(b: &[u8]) -> Result<ReferenceLocation, CapError> {
        let mut r = Reader::new(b, Tag::ReferenceLocation);
        let mut list = || -> Result<Vec<u16>, CapError> {
            let n = r.u2()? as usize;
            let deltas = r.bytes(n)?;
            let mut out = Vec::new();
            let mut at = 0u32;
            for &d in deltas {
                at += d as u32;
                // A delta of 255 carries on to the next byte without a location (JCVM §6.12).
                if d != 255 {
                    out.push(u16::try_from(at).map_err(|_| r.err(CapErrorKind::BadValue("offset beyond 64K")))?);
                }
            }
            Ok(out)
        };
        let byte_indices = list()?;
        let byte2_indices = list()?;
        r.finish()?;
        Ok(ReferenceLocation { byte_indices, byte2_indices })
    }
}

/// `class_export_info` (JCVM §6.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassExport {
    /// Offset in the Class component; the index in [`ExportComponent::classes`] is the class token.
    pub class_offset: u16,
    /// Static field offsets by token.
    pub static_field_offsets: Vec<u16>,
    /// Static method offsets by token (Method component).
    pub static_method_offsets: Vec<u16>,
}

/// The Export component (JCVM §6.13).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportComponent {
    pub classes: Vec<ClassExport>,
}

impl ExportComponent {
    pub(crate) fn parse(b: &[u8]) -> Result<ExportComponent, CapError> {
        let mut r = Reader::new(b, Tag::Export);
        let n = r.u1()?;
        let mut classes = Vec::new();
        for _ in 0..n {
            let class_offset = r.u2()?;
            let nf = r.u1()?;
            let nm = r.u1()?;
            let mut static_field_offsets = Vec::new();
            for _ in 0..nf {
                static_field_offsets.push(r.u2()?);
            }
            let mut static_method_offsets = Vec::new();
            for _ in 0..nm {
                static_method_offsets.push(r.u2()?);
            }
            classes.push(ClassExport { class_offset, static_field_offsets, static_method_offsets });
        }
        r.finish()?;
        Ok(ExportComponent { classes })
    }
}
