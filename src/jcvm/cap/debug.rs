//! The Debug component (JCVM §6.15, CAP format 2.2+): names, source files, variable and line
//! tables, for stack traces and coverage. Strings are indices into [`DebugComponent::strings`].

use super::reader::Reader;
use super::{CapError, Tag};

/// `variable_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariableInfo {
    pub index: u8,
    pub name_index: u16,
    pub descriptor_index: u16,
    pub start_pc: u16,
    pub length: u16,
}

/// `line_info`: bytecodes `start_pc..=end_pc` (offsets from the method's first bytecode) come
/// from `source_line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    pub start_pc: u16,
    pub end_pc: u16,
    pub source_line: u16,
}

/// `method_debug_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodDebug {
    pub name_index: u16,
    pub descriptor_index: u16,
    pub access_flags: u16,
    /// Offset of the method header in the Method component.
    pub location: u16,
    pub header_size: u8,
    pub body_size: u16,
    pub variables: Vec<VariableInfo>,
    pub lines: Vec<LineInfo>,
}

/// `field_debug_info`: `contents` is the token (instance), the static image offset (static) or
/// the constant value (static final primitive), as 4 raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDebug {
    pub name_index: u16,
    pub descriptor_index: u16,
    pub access_flags: u16,
    pub contents: [u8; 4],
}

/// `class_debug_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDebug {
    pub name_index: u16,
    pub access_flags: u16,
    /// Offset in the Class component.
    pub location: u16,
    pub superclass_name_index: u16,
    pub source_file_index: u16,
    pub interface_name_indexes: Vec<u16>,
    pub fields: Vec<FieldDebug>,
    pub methods: Vec<MethodDebug>,
}

/// The Debug component.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DebugComponent {
    pub strings: Vec<String>,
    pub package_name_index: u16,
    pub classes: Vec<ClassDebug>,
}

impl DebugComponent {
    pub(crate) fn parse(b: &[u8]) -> Result<DebugComponent, CapError> {
        let mut r = Reader::new(b, Tag::Debug);
        let n = r.u2()?;
        let mut strings = Vec::new();
        for _ in 0..n {
            let l = r.u2()? as usize;
            strings.push(String::from_utf8_lossy(r.bytes(l)?).into_owned());
        }
        let package_name_index = r.u2()?;
        let nc = r.u2()?;
        let mut classes = Vec::new();
        for _ in 0..nc {
            let name_index = r.u2()?;
            let access_flags = r.u2()?;
            let location = r.u2()?;
            let superclass_name_index = r.u2()?;
            let source_file_index = r.u2()?;
            let ni = r.u1()?;
            let nf = r.u2()?;
            let nm = r.u2()?;
            let mut interface_name_indexes = Vec::new();
            for _ in 0..ni {
                interface_name_indexes.push(r.u2()?);
            }
            let mut fields = Vec::new();
            for _ in 0..nf {
                let name_index = r.u2()?;
                let descriptor_index = r.u2()?;
                let access_flags = r.u2()?;
                let c = r.bytes(4)?;
                fields.push(FieldDebug {
                    name_index,
                    descriptor_index,
                    access_flags,
                    contents: [c[0], c[1], c[2], c[3]],
                });
            }
            let mut methods = Vec::new();
            for _ in 0..nm {
                let name_index = r.u2()?;
                let descriptor_index = r.u2()?;
                let access_flags = r.u2()?;
                let location = r.u2()?;
                let header_size = r.u1()?;
                let body_size = r.u2()?;
                let nv = r.u2()?;
                let nl = r.u2()?;
                let mut variables = Vec::new();
                for _ in 0..nv {
                    variables.push(VariableInfo {
                        index: r.u1()?,
                        name_index: r.u2()?,
                        descriptor_index: r.u2()?,
                        start_pc: r.u2()?,
                        length: r.u2()?,
                    });
                }
                let mut lines = Vec::new();
                for _ in 0..nl {
                    lines.push(LineInfo { start_pc: r.u2()?, end_pc: r.u2()?, source_line: r.u2()? });
                }
                methods.push(MethodDebug {
                    name_index,
                    descriptor_index,
                    access_flags,
                    location,
                    header_size,
                    body_size,
                    variables,
                    lines,
                });
            }
            classes.push(ClassDebug {
                name_index,
                access_flags,
                location,
                superclass_name_index,
                source_file_index,
                interface_name_indexes,
                fields,
                methods,
            });
        }
        r.finish()?;
        Ok(DebugComponent { strings, package_name_index, classes })
    }

    /// A string of the table (`""` for an index out of range, which the verifier refuses).
    pub fn string(&self, i: u16) -> &str {
        self.strings.get(i as usize).map_or("", |s| s.as_str())
    }

    /// The method whose header is at `location`, with its class.
    pub fn method_at(&self, location: u16) -> Option<(&ClassDebug, &MethodDebug)> {
        self.classes.iter().find_map(|c| c.methods.iter().find(|m| m.location == location).map(|m| (c, m)))
    }

    /// The source line of bytecode `pc` (from the method's first bytecode) of the method at
    /// `location`.
    pub fn line_of(&self, location: u16, pc: u16) -> Option<u16> {
        let (_, m) = self.method_at(location)?;
        m.lines.iter().find(|l| l.start_pc <= pc && pc <= l.end_pc).map(|l| l.source_line)
    }
}
