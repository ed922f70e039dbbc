//! Typed errors of CAP parsing and verification: which component, where, and what is wrong.

use super::Tag;
use std::fmt;

/// What is wrong. The variants are stable: the card manager maps them to status words
/// ([`CapError::status_word`]) and tests match on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapErrorKind {
    /// The bytes end before the structure does.
    Truncated,
    /// A component's `info` is longer than its structure (JCVM §6.1: sizes are exact).
    TrailingBytes,
    /// A tag outside 1-13 (JCVM T6-1), below the custom range 128-255.
    UnknownComponent(u8),
    /// The same component twice.
    DuplicateComponent,
    /// A component that every package has (JCVM §6.2) is absent.
    MissingComponent,
    /// The Header magic is not `DECAFFED` (JCVM §6.4).
    BadMagic,
    /// CAP format (major, minor) outside 2.1-2.3.
    UnsupportedFormat(u8, u8),
    /// The 3.1 extended format (Header flag `0x08`, JCVM 3.1 §6.4): not supported yet.
    ExtendedFormat,
    /// A component's size disagrees with the Directory (JCVM §6.5).
    SizeMismatch { directory: u32, actual: u32 },
    /// A count in the Directory disagrees with its component (import_count, applet_count).
    CountMismatch { what: &'static str, directory: u16, actual: u16 },
    /// An AID outside 5-16 bytes (JCVM §6.4 package_info).
    BadAid,
    /// A field holds a value the spec does not allow (the text says which).
    BadValue(&'static str),
    /// A constant pool tag outside 1-6 (JCVM §6.8).
    BadConstantTag(u8),
    /// An offset into another component that does not land on a structure there.
    BadOffset { what: &'static str, target: u32 },
    /// An index or token beyond its table.
    BadIndex { what: &'static str, index: u32, limit: u32 },
    /// A bytecode this VM does not know (JCVM ch. 7).
    BadOpcode(u8),
    /// A branch (or handler) target that is not the start of an instruction of the method.
    BadBranch { target: i64 },
    /// A constant pool entry of the wrong kind for the instruction that uses it.
    WrongConstantKind { index: u16, expected: &'static str },
    /// An int (32-bit) instruction in a package without the int flag (JCVM §6.4 ACC_INT).
    IntWithoutFlag(u8),
    /// A method header whose stack, locals or argument counts are impossible.
    BadMethodHeader(&'static str),
    /// The zip (JAR) container is damaged (PKZIP APPNOTE).
    Zip(String),
}

/// A CAP file that cannot be loaded: the component (`None` for the container), the offset
/// inside that component's `info` (or inside the file for the container), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapError {
    pub component: Option<Tag>,
    pub offset: usize,
    pub kind: CapErrorKind,
}

impl CapError {
    pub fn new(component: Option<Tag>, offset: usize, kind: CapErrorKind) -> CapError {
        CapError { component, offset, kind }
    }

    /// The status word a card manager answers LOAD with for this error (GPCS v2.3.1 §11.6.3
    /// "Response Message": `6A80` incorrect values in the command data, `6A84` not enough
    /// memory space; an unresolvable import is `6A88` "referenced data not found"). Everything
    /// structural is `6A80`; see `applet-spec/jcvm.md` "CAP loading and verification".
    pub fn status_word(&self) -> u16 {
        0x6A80
    }
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.component {
            Some(t) => write!(f, "{} component, offset {}: ", t.name(), self.offset)?,
            None => write!(f, "CAP file, offset {}: ", self.offset)?,
        }
        use CapErrorKind::*;
        match &self.kind {
            Truncated => write!(f, "truncated"),
            TrailingBytes => write!(f, "bytes after the end of the structure"),
            UnknownComponent(t) => write!(f, "unknown component tag {t}"),
            DuplicateComponent => write!(f, "component given twice"),
            MissingComponent => write!(f, "required component missing"),
            BadMagic => write!(f, "Header magic is not DECAFFED"),
            UnsupportedFormat(a, b) => write!(f, "CAP format {a}.{b} not supported (2.1-2.3)"),
            ExtendedFormat => write!(f, "extended CAP format (Java Card 3.1 large packages) not supported"),
            SizeMismatch { directory, actual } => {
                write!(f, "size {actual} but the Directory says {directory}")
            }
            CountMismatch { what, directory, actual } => {
                write!(f, "{what} {actual} but the Directory says {directory}")
            }
            BadAid => write!(f, "AID not 5-16 bytes"),
            BadValue(s) => write!(f, "bad value: {s}"),
            BadConstantTag(t) => write!(f, "constant pool tag {t} unknown"),
            BadOffset { what, target } => write!(f, "{what} offset {target} does not point at one"),
            BadIndex { what, index, limit } => write!(f, "{what} {index} out of range (< {limit})"),
            BadOpcode(o) => write!(f, "unknown bytecode 0x{o:02X}"),
            BadBranch { target } => write!(f, "branch target {target} is not an instruction start"),
            WrongConstantKind { index, expected } => {
                write!(f, "constant pool entry {index} is not a {expected}")
            }
            IntWithoutFlag(o) => write!(f, "int bytecode 0x{o:02X} but the package lacks the int flag"),
            BadMethodHeader(s) => write!(f, "bad method header: {s}"),
            Zip(s) => write!(f, "zip: {s}"),
        }
    }
}

impl std::error::Error for CapError {}
