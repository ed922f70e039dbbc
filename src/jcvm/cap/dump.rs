//! A disassembler for `gpse cap info` and `gpse cap dump`, close to the converter's `.jca`
//! (Java Card assembly): the same mnemonics and operand order, numbers in decimal, constant
//! pool entries as `kind target signature`. Where the `.jca` prints names the CAP does not
//! hold (without a Debug component), internal targets are printed by offset: `C@o` a class at
//! Class offset `o`, `m@o` a method at Method offset `o`, `s@o` a static field at image offset
//! `o`; external ones by tokens `package.class[.member]`. Branch targets are `L<pc>`, the
//! byte offset from the method's first bytecode.

use super::descriptor::JcType;
use super::{Cap, CapError, CapErrorKind, ClassRef, CpEntry, MethodInfo, StaticRef, Tag};
use crate::jcvm::opcode::{self, Insn, Operand};
use std::fmt::Write;

/// API packages by AID, for display (names and AIDs from the Java Card and GlobalPlatform
/// export files; JC API spec "Package AIDs").
pub const KNOWN_PACKAGES: [(&str, &str); 31] = [
    ("A0000000620001", "java/lang"),
    ("A0000000620002", "java/io"),
    ("A0000000620003", "java/rmi"),
    ("A0000000620101", "javacard/framework"),
    ("A000000062010101", "javacard/framework/service"),
    ("A0000000620102", "javacard/security"),
    ("A0000000620201", "javacardx/crypto"),
    ("A0000000620202", "javacardx/biometry"),
    ("A0000000620203", "javacardx/external"),
    ("A0000000620204", "javacardx/biometry1toN"),
    ("A0000000620205", "javacardx/security"),
    ("A000000062020501", "javacardx/security/cert"),
    ("A000000062020502", "javacardx/security/derivation"),
    ("A000000062020503", "javacardx/security/util"),
    ("A000000062020801", "javacardx/framework/util"),
    ("A00000006202080101", "javacardx/framework/util/intx"),
    ("A000000062020802", "javacardx/framework/math"),
    ("A000000062020803", "javacardx/framework/tlv"),
    ("A000000062020804", "javacardx/framework/string"),
    ("A000000062020805", "javacardx/framework/event"),
    ("A000000062020806", "javacardx/framework/nio"),
    ("A000000062020807", "javacardx/framework/time"),
    ("A0000000620209", "javacardx/apdu"),
    ("A000000062020901", "javacardx/apdu/util"),
    ("A00000015100", "org/globalplatform"),
    ("A00000015102", "org/globalplatform/contactless"),
    ("A00000015103", "org/globalplatform/securechannel"),
    ("A00000015104", "org/globalplatform/securechannel/provider"),
    ("A00000015105", "org/globalplatform/privacy"),
    ("A00000015106", "org/globalplatform/filesystem"),
    ("A00000015107", "org/globalplatform/upgrade"),
];

/// The name of a known API package.
pub fn known_package_name(aid: &[u8]) -> Option<&'static str> {
    let h = crate::hexutil::upper(aid);
    KNOWN_PACKAGES.iter().find(|(a, _)| a.eq_ignore_ascii_case(&h)).map(|(_, n)| *n)
}

/// One decoded instruction at `pc` (from the method's first bytecode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub pc: u16,
    pub insn: Insn,
}

/// The instructions of a method, decoded linearly from its first bytecode to its end
/// ([`MethodInfo::code_end`]). A decode failure is an error naming the Method offset.
pub fn disassemble(cap: &Cap, m: &MethodInfo) -> Result<Vec<Line>, CapError> {
    let code = cap.method.bytecode(m);
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let insn = opcode::decode(code, pc).map_err(|d| {
            let kind = match d {
                opcode::DecodeError::BadOpcode(o) => CapErrorKind::BadOpcode(o),
                _ => CapErrorKind::Truncated,
            };
            CapError::new(Some(Tag::Method), m.header.code_offset as usize + pc, kind)
        })?;
        let len = insn.len;
        // pc lies in the Method component, at most 65535 bytes (JCVM §6.1).
        #[allow(clippy::cast_possible_truncation)]
        out.push(Line { pc: pc as u16, insn });
        pc += len;
    }
    Ok(out)
}

/// A class reference as text: `p.c` (external tokens), or the Debug name, or `C@offset`.
pub fn class_text(cap: &Cap, r: ClassRef) -> String {
    match r {
        ClassRef::External { package_token, class_token } => format!("{package_token}.{class_token}"),
        ClassRef::Internal(o) => debug_class_name(cap, o).map_or_else(|| format!("C@{o}"), |n| n.to_string()),
    }
}

fn debug_class_name(cap: &Cap, offset: u16) -> Option<&str> {
    let d = cap.debug.as_ref()?;
    d.classes.iter().find(|c| c.location == offset).map(|c| d.string(c.name_index))
}

/// A method's Debug name, `pkg/Class.name(sig)`, when the CAP has a Debug component.
pub fn method_name(cap: &Cap, offset: u16) -> Option<String> {
    let d = cap.debug.as_ref()?;
    let (c, m) = d.method_at(offset)?;
    Some(format!("{}.{}{}", d.string(c.name_index), d.string(m.name_index), d.string(m.descriptor_index)))
}

/// A type in signature form (`S`, `[B`, `L0.10;`).
pub fn type_sig(cap: &Cap, t: &JcType) -> String {
    match t {
        JcType::Void => "V".into(),
        JcType::Boolean => "Z".into(),
        JcType::Byte => "B".into(),
        JcType::Short => "S".into(),
        JcType::Int => "I".into(),
        JcType::Reference(c) => format!("L{};", class_text(cap, *c)),
        JcType::BooleanArray => "[Z".into(),
        JcType::ByteArray => "[B".into(),
        JcType::ShortArray => "[S".into(),
        JcType::IntArray => "[I".into(),
        JcType::ReferenceArray(c) => format!("[L{};", class_text(cap, *c)),
    }
}

/// A field type as the `.jca` writes it in the constant pool (`byte[]`, `short`, a class).
pub fn type_word(cap: &Cap, t: &JcType) -> String {
    match t {
        JcType::Void => "void".into(),
        JcType::Boolean => "boolean".into(),
        JcType::Byte => "byte".into(),
        JcType::Short => "short".into(),
        JcType::Int => "int".into(),
        JcType::Reference(c) => class_text(cap, *c),
        JcType::BooleanArray => "boolean[]".into(),
        JcType::ByteArray => "byte[]".into(),
        JcType::ShortArray => "short[]".into(),
        JcType::IntArray => "int[]".into(),
        JcType::ReferenceArray(c) => format!("{}[]", class_text(cap, *c)),
    }
}

/// The Descriptor's type of constant pool entry `i` (none for class refs or without a
/// Descriptor).
pub fn cp_type(cap: &Cap, i: usize) -> Option<Vec<JcType>> {
    let d = cap.descriptor.as_ref()?;
    let off = *d.types.constant_pool_types.get(i)?;
    if off == 0xFFFF {
        return None;
    }
    d.types.types_at(off).ok()
}

/// A method signature `(args)ret` from a type list whose last entry is the return type.
pub fn signature(cap: &Cap, types: &[JcType]) -> String {
    let Some((ret, args)) = types.split_last() else { return String::new() };
    let a: String = args.iter().map(|t| type_sig(cap, t)).collect();
    format!("({a}){}", type_sig(cap, ret))
}

/// Constant pool entry `i` as `.jca`-like text, e.g. `staticMethodRef 0.8.13(SB)[B`,
/// `.classRef 1.10`, `instanceFieldRef byte[] C@3.0`, `staticFieldRef short s@4`.
pub fn cp_text(cap: &Cap, i: usize) -> String {
    let Some(e) = cap.constant_pool.get(i) else { return format!("<bad index {i}>") };
    let ty = cp_type(cap, i);
    let sig = ty.as_deref().map(|t| signature(cap, t)).unwrap_or_default();
    let field = ty.as_deref().and_then(|t| t.first()).map(|t| format!("{} ", type_word(cap, t))).unwrap_or_default();
    let sref = |r: &StaticRef, method: bool| match r {
        StaticRef::External { package_token, class_token, token } => format!("{package_token}.{class_token}.{token}"),
        StaticRef::Internal(o) if method => {
            method_name(cap, *o).map_or_else(|| format!("m@{o}"), |n| n.split('(').next().unwrap_or("").to_string())
        }
        StaticRef::Internal(o) => format!("s@{o}"),
    };
    match e {
        CpEntry::ClassRef(c) => format!(".classRef {}", class_text(cap, *c)),
        CpEntry::InstanceFieldRef { class, token } => {
            format!("instanceFieldRef {field}{}.{token}", class_text(cap, *class))
        }
        CpEntry::VirtualMethodRef { class, token } => {
            format!("virtualMethodRef {}.{token}{sig}", class_text(cap, *class))
        }
        CpEntry::SuperMethodRef { class, token } => format!("superMethodRef {}.{token}{sig}", class_text(cap, *class)),
        CpEntry::StaticFieldRef(r) => format!("staticFieldRef {field}{}", sref(r, false)),
        CpEntry::StaticMethodRef(r) => format!("staticMethodRef {}{sig}", sref(r, true)),
    }
}

/// The operands of an instruction in `.jca` order, branch targets as `L<pc>`.
pub fn operand_text(line: &Line) -> String {
    let pc = line.pc as i32;
    let l = |rel: i16| format!("L{}", pc + rel as i32);
    match &line.insn.operand {
        Operand::None => String::new(),
        Operand::Const(v) => v.to_string(),
        Operand::Local(i) => i.to_string(),
        Operand::Inc { index, value } => format!("{index} {value}"),
        Operand::Mn(v) => v.to_string(),
        Operand::Branch(b) => l(*b),
        Operand::Cp(i) => i.to_string(),
        Operand::ArrayType(t) => t.to_string(),
        Operand::Interface { nargs, cp, token } => format!("{nargs} {cp} {token}"),
        Operand::TypeCp { atype, cp } => format!("{atype} {cp}"),
        Operand::TableSwitch { default, low, high, offsets } => {
            let mut s = format!("{} {low} {high}", l(*default));
            for o in offsets {
                let _ = write!(s, " {}", l(*o));
            }
            s
        }
        Operand::LookupSwitch { default, pairs } => {
            let mut s = format!("{} {}", l(*default), pairs.len());
            for (m, o) in pairs {
                let _ = write!(s, " {m} {}", l(*o));
            }
            s
        }
    }
}

/// One instruction line: `mnemonic operands;` and, for a constant pool operand, `// entry`.
pub fn insn_text(cap: &Cap, line: &Line) -> String {
    let ops = operand_text(line);
    let mut s =
        if ops.is_empty() { format!("{};", line.insn.op.name) } else { format!("{} {ops};", line.insn.op.name) };
    let cp = match line.insn.operand {
        Operand::TypeCp { atype: 10..=13, .. } => None,
        _ => line.insn.operand.cp_index(),
    };
    if let Some(i) = cp {
        let _ = write!(s, "\t\t// {}", cp_text(cap, i as usize));
    }
    s
}

fn aid_jca(b: &[u8]) -> String {
    b.iter().map(|x| format!("0x{x:X}")).collect::<Vec<_>>().join(":")
}

/// `gpse cap info`: format, flags, package, imports, applets, component sizes.
pub fn info_text(cap: &Cap) -> String {
    let h = &cap.header;
    let mut s = String::new();
    let mut flags = vec![];
    for (bit, n) in [(0x01, "int"), (0x02, "export"), (0x04, "applet")] {
        if h.flags & bit != 0 {
            flags.push(n);
        }
    }
    let _ =
        writeln!(s, "CAP format {}.{}, flags 0x{:02X} ({})", h.format_major, h.format_minor, h.flags, flags.join(", "));
    let name = h.package_name.as_deref().or_else(|| known_package_name(h.package.aid.as_bytes()));
    let _ = writeln!(
        s,
        "package {} version {}.{}{}",
        h.package.aid,
        h.package.major,
        h.package.minor,
        name.map(|n| format!(" {n}")).unwrap_or_default()
    );
    let _ = writeln!(s, "imports:");
    for (t, p) in cap.imports.iter().enumerate() {
        let n = known_package_name(p.aid.as_bytes()).unwrap_or("(not an API package)");
        let _ = writeln!(s, "  {t}: {} {}.{} {n}", p.aid, p.major, p.minor);
    }
    if cap.applets.is_empty() {
        let _ = writeln!(s, "applets: none (library)");
    } else {
        let _ = writeln!(s, "applets:");
    }
    for a in &cap.applets {
        let n = method_name(cap, a.install_method_offset).map(|n| format!(" {n}")).unwrap_or_default();
        let _ = writeln!(s, "  {} install method at Method offset {}{n}", a.aid, a.install_method_offset);
    }
    if let Some(x) = &cap.export {
        let n: usize = x.classes.iter().map(|c| c.static_method_offsets.len()).sum();
        let _ = writeln!(s, "exports: {} classes, {n} static methods (a library others may import)", x.classes.len());
    }
    let _ = writeln!(s, "components:");
    for c in &cap.raw {
        let n = Tag::from_u8(c.tag).map_or_else(|| format!("custom 0x{:02X}", c.tag), |t| t.name().to_string());
        let _ = writeln!(s, "  {:>2} {n:<16} {:>6} bytes", c.tag, c.info().len());
    }
    let _ = writeln!(
        s,
        "{} classes, {} interfaces, {} methods, {} constant pool entries, {} exception handlers, static image {} bytes",
        cap.class.classes.len(),
        cap.class.interfaces.len(),
        cap.method.methods.len(),
        cap.constant_pool.len(),
        cap.method.handlers.len(),
        cap.static_field.image_size
    );
    s
}

/// `gpse cap dump`: the package, imports, applets, constant pool and every method.
pub fn dump_text(cap: &Cap) -> Result<String, CapError> {
    let h = &cap.header;
    let mut s = String::new();
    let debug_name = cap.debug.as_ref().map(|d| d.string(d.package_name_index).to_string());
    let name = h.package_name.clone().or(debug_name).unwrap_or_else(|| "?".into());
    let _ = writeln!(s, ".package {name} {{");
    let _ = writeln!(s, "\t.aid {};", aid_jca(h.package.aid.as_bytes()));
    let _ = writeln!(s, "\t.version {}.{};\n", h.package.major, h.package.minor);
    let _ = writeln!(s, "\t.imports {{");
    for p in &cap.imports {
        let n = known_package_name(p.aid.as_bytes()).unwrap_or("");
        let _ = writeln!(s, "\t\t{} {}.{};\t\t//{n}", aid_jca(p.aid.as_bytes()), p.major, p.minor);
    }
    let _ = writeln!(s, "\t}}\n");
    if !cap.applets.is_empty() {
        let _ = writeln!(s, "\t.applet {{");
        for a in &cap.applets {
            let _ = writeln!(s, "\t\t{} m@{};", aid_jca(a.aid.as_bytes()), a.install_method_offset);
        }
        let _ = writeln!(s, "\t}}\n");
    }
    let _ = writeln!(s, "\t.constantPool {{");
    for i in 0..cap.constant_pool.len() {
        let _ = writeln!(s, "\t\t// {i}\n\t\t{};", cp_text(cap, i));
    }
    let _ = writeln!(s, "\t}}\n");
    for m in &cap.method.methods {
        let h = &m.header;
        let name = method_name(cap, h.offset).map(|n| format!("\t\t// {n}")).unwrap_or_default();
        let abs = if h.is_abstract() { " abstract" } else { "" };
        let _ = writeln!(s, "\t.method{abs} m@{} {{{name}", h.offset);
        let _ = writeln!(s, "\t\t.stack {};\n\t\t.locals {};\n\t\t.nargs {};", h.max_stack, h.max_locals, h.nargs);
        if !m.exact {
            let _ = writeln!(s, "\t\t// extent not known (no Descriptor): decoded up to the next method");
        }
        match disassemble(cap, m) {
            Ok(lines) => {
                for l in lines {
                    let _ = writeln!(s, "\t\t\tL{}:\t{}", l.pc, insn_text(cap, &l));
                }
            }
            // Only an unverified CAP gets here (or an unreferenced method inside a LOAD-form
            // range): say where decoding stopped instead of failing the whole dump.
            Err(e) => {
                let _ = writeln!(s, "\t\t\t// cannot decode: {e}");
            }
        }
        let hs: Vec<_> = cap.method.handlers_of(m).collect();
        if !hs.is_empty() {
            let _ =
                writeln!(s, "\t\t.exceptionTable {{\n\t\t\t// start_block end_block handler_block catch_type_index");
            for x in hs {
                // Signed: an unverified CAP may hold a handler before its method.
                let base = h.code_offset as i64;
                let _ = writeln!(
                    s,
                    "\t\t\tL{} L{} L{} {};",
                    x.start_offset as i64 - base,
                    x.end_offset() as i64 - base,
                    x.handler_offset as i64 - base,
                    x.catch_type_index
                );
            }
            let _ = writeln!(s, "\t\t}}");
        }
        let _ = writeln!(s, "\t}}\n");
    }
    let _ = writeln!(s, "}}");
    Ok(s)
}
