//! The Descriptor component (JCVM §6.14): what the off-card verifier and tools need and the card
//! does not (it is not sent in LOAD): each class's token and flags, its fields and methods with
//! tokens, offsets, bytecode lengths and types. The disassembler uses it for method extents.

use super::components::{ClassRef, StaticRef};
use super::reader::Reader;
use super::{CapError, CapErrorKind, Tag};

/// Access flags of classes, fields and methods (JCVM §6.14 Tables 6-13 to 6-15).
pub mod access {
    pub const ACC_PUBLIC: u8 = 0x01;
    pub const ACC_PRIVATE: u8 = 0x02;
    pub const ACC_PROTECTED: u8 = 0x04;
    pub const ACC_STATIC: u8 = 0x08;
    pub const ACC_FINAL: u8 = 0x10;
    /// Class: interface. Method: abstract is 0x40 too.
    pub const ACC_INTERFACE: u8 = 0x40;
    pub const ACC_ABSTRACT: u8 = 0x40;
    /// Class: abstract. Method: constructor (`<init>`).
    pub const ACC_CLASS_ABSTRACT: u8 = 0x80;
    pub const ACC_INIT: u8 = 0x80;
    pub const ACC_SHAREABLE: u8 = 0x20;
    pub const ACC_REMOTE: u8 = 0x20;
}

/// Where a field lives (JCVM §6.14.2 `field_ref`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRef {
    Static(StaticRef),
    Instance { class: ClassRef, token: u8 },
}

/// A field's type: a primitive (`0x8000 | t`: 2 boolean, 3 byte, 4 short, 5 int) or an offset
/// of a type descriptor in [`TypeDescriptorInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Primitive(u8),
    Reference(u16),
}

/// `field_descriptor_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDescriptor {
    pub token: u8,
    pub access_flags: u8,
    pub field_ref: FieldRef,
    pub field_type: FieldType,
}

/// `method_descriptor_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodDescriptor {
    /// Virtual method token, static method token, or `0xFF` (private/package static methods
    /// without an export token).
    pub token: u8,
    pub access_flags: u8,
    /// Offset in the Method component; 0 for an interface method.
    pub method_offset: u16,
    /// Offset of the signature in [`TypeDescriptorInfo`].
    pub type_offset: u16,
    /// Bytes of bytecode (0 for abstract methods).
    pub bytecode_count: u16,
    pub exception_handler_count: u16,
    pub exception_handler_index: u16,
}

/// `class_descriptor_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDescriptor {
    pub token: u8,
    pub access_flags: u8,
    pub this_class: ClassRef,
    pub interfaces: Vec<ClassRef>,
    pub fields: Vec<FieldDescriptor>,
    pub methods: Vec<MethodDescriptor>,
}

/// `type_descriptor_info`: the type of every constant pool entry that has one, and the pool of
/// type descriptors that `type_offset`s point into (offsets are from the start of this item).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypeDescriptorInfo {
    /// By constant pool index: offset of the entry's type descriptor, `0xFFFF` for a class ref.
    pub constant_pool_types: Vec<u16>,
    /// The whole item's bytes, so offsets index it directly.
    pub raw: Vec<u8>,
    /// Offsets of each `type_descriptor` in `raw`, in order.
    pub offsets: Vec<u16>,
}

/// One type of a signature (JCVM §6.14.3 Table 6-16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JcType {
    Void,
    Boolean,
    Byte,
    Short,
    Int,
    Reference(ClassRef),
    BooleanArray,
    ByteArray,
    ShortArray,
    IntArray,
    ReferenceArray(ClassRef),
}

impl TypeDescriptorInfo {
    /// Decodes the type descriptor at `offset`: a nibble string of types, a reference taking 4
    /// more nibbles of `class_ref`. For a method signature the last type is the return type.
    pub fn types_at(&self, offset: u16) -> Result<Vec<JcType>, CapError> {
        let mut r = Reader::at(&self.raw, Tag::Descriptor, offset as usize);
        let n = r.u1()? as usize;
        let bytes = r.bytes(n.div_ceil(2))?;
        let nib = |i: usize| if i.is_multiple_of(2) { bytes[i / 2] >> 4 } else { bytes[i / 2] & 0xF };
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            let t = nib(i);
            i += 1;
            let mut cref = || -> Result<ClassRef, CapError> {
                if i + 4 > n {
                    return Err(r.err(CapErrorKind::BadValue("type descriptor class_ref")));
                }
                let v = (0..4).fold(0u16, |a, k| (a << 4) | nib(i + k) as u16);
                i += 4;
                Ok(ClassRef::from_u2(v))
            };
            out.push(match t {
                1 => JcType::Void,
                2 => JcType::Boolean,
                3 => JcType::Byte,
                4 => JcType::Short,
                5 => JcType::Int,
                6 => JcType::Reference(cref()?),
                0xA => JcType::BooleanArray,
                0xB => JcType::ByteArray,
                0xC => JcType::ShortArray,
                0xD => JcType::IntArray,
                0xE => JcType::ReferenceArray(cref()?),
                _ => return Err(r.err(CapErrorKind::BadValue("type descriptor nibble"))),
            });
        }
        Ok(out)
    }
}

/// The Descriptor component.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescriptorComponent {
    pub classes: Vec<ClassDescriptor>,
    pub types: TypeDescriptorInfo,
}

impl DescriptorComponent {
    pub(crate) fn parse(b: &[u8]) -> Result<DescriptorComponent, CapError> {
        let mut r = Reader::new(b, Tag::Descriptor);
        let n = r.u1()?;
        let mut classes = Vec::new();
        for _ in 0..n {
            let token = r.u1()?;
            let access_flags = r.u1()?;
            let this_class = ClassRef::parse(&mut r)?;
            let ni = r.u1()?;
            let nf = r.u2()?;
            let nm = r.u2()?;
            let mut interfaces = Vec::new();
            for _ in 0..ni {
                interfaces.push(ClassRef::parse(&mut r)?);
            }
            let mut fields = Vec::new();
            for _ in 0..nf {
                let token = r.u1()?;
                let access_flags = r.u1()?;
                let f = r.bytes(3)?;
                let field_ref = if access_flags & access::ACC_STATIC != 0 {
                    FieldRef::Static(StaticRef::from_bytes([f[0], f[1], f[2]]))
                } else {
                    FieldRef::Instance { class: ClassRef::from_u2(u16::from_be_bytes([f[0], f[1]])), token: f[2] }
                };
                let t = r.u2()?;
                let field_type =
                    if t & 0x8000 != 0 { FieldType::Primitive((t & 0xFF) as u8) } else { FieldType::Reference(t) };
                fields.push(FieldDescriptor { token, access_flags, field_ref, field_type });
            }
            let mut methods = Vec::new();
            for _ in 0..nm {
                methods.push(MethodDescriptor {
                    token: r.u1()?,
                    access_flags: r.u1()?,
                    method_offset: r.u2()?,
                    type_offset: r.u2()?,
                    bytecode_count: r.u2()?,
                    exception_handler_count: r.u2()?,
                    exception_handler_index: r.u2()?,
                });
            }
            classes.push(ClassDescriptor { token, access_flags, this_class, interfaces, fields, methods });
        }
        let types_start = r.pos;
        let ncp = r.u2()?;
        let mut constant_pool_types = Vec::new();
        for _ in 0..ncp {
            constant_pool_types.push(r.u2()?);
        }
        // type_desc[] fills the rest: walk it so every descriptor start is known.
        let mut offsets = Vec::new();
        while !r.is_empty() {
            // A component is at most 65535 bytes (u2 size, JCVM §6.1).
            #[allow(clippy::cast_possible_truncation)]
            offsets.push((r.pos - types_start) as u16);
            let n = r.u1()? as usize;
            r.bytes(n.div_ceil(2))?;
        }
        let raw = b[types_start..].to_vec();
        Ok(DescriptorComponent { classes, types: TypeDescriptorInfo { constant_pool_types, raw, offsets } })
    }
}
