//! The structural load-time verifier (issue #14): what a card checks before it links a package,
//! so the interpreter can trust every offset, index and token it reads. It is not Oracle's
//! off-card verifier (no type inference over the operand stack); what it checks:
//!
//! - Import: at most 128 packages (package tokens 0-127, JCVM §4.3.1).
//! - ConstantPool: every internal class reference lands on an `interface_info`/`class_info`,
//!   every external one names an imported package; field and method references point at a class
//!   (not an interface) and their tokens fall inside the class's tables; internal static fields
//!   inside the static image; internal static methods on a method header.
//! - Class: superclass, superinterface and implemented-interface references as above; every
//!   virtual method table entry on a method.
//! - Applet install methods, Export offsets, Descriptor/Debug method locations on methods.
//! - Method: headers sane (abstract methods have no code, locals fit in 255 words); every
//!   instruction a defined opcode with its operands inside the method; int opcodes only with the
//!   int flag; local indices below `nargs + max_locals`; constant pool indices in range and of
//!   the kind the opcode needs (Table below); every branch, switch target and handler range on an
//!   instruction boundary of the same method; no fall-through past the method's end;
//!   ReferenceLocation listing exactly the constant pool operands.
//!
//! With a Descriptor component each method's extent is known and all its bytes are decoded;
//! without one (the LOAD form) the code reachable from the method's start and from its handlers
//! is decoded, following branches (unreachable bytes are never executed).
//!
//! | opcodes | constant pool entry |
//! |---|---|
//! | `getstatic_*`, `putstatic_*` | staticFieldRef |
//! | `getfield_*`, `putfield_*` (all forms) | instanceFieldRef |
//! | `invokevirtual` | virtualMethodRef |
//! | `invokespecial` | staticMethodRef or superMethodRef |
//! | `invokestatic` | staticMethodRef |
//! | `invokeinterface`, `new`, `anewarray`, `checkcast`/`instanceof` (atype 0 or 14) | classRef |

use super::cap::{Cap, CapError, CapErrorKind, ClassRef, CpEntry, MethodInfo, StaticRef, Tag};
use super::opcode::{self, op, Format, Operand};

fn e(tag: Tag, offset: usize, kind: CapErrorKind) -> CapError {
    CapError::new(Some(tag), offset, kind)
}

/// Checks `cap`; the first problem found is the error.
pub fn verify(cap: &Cap) -> Result<(), CapError> {
    if cap.imports.len() > 128 {
        return Err(e(
            Tag::Import,
            0,
            CapErrorKind::BadIndex {
                what: "import count",
                index: cap.imports.len().try_into().unwrap_or(u32::MAX),
                limit: 129,
            },
        ));
    }
    let v = V { cap };
    v.constant_pool()?;
    v.classes()?;
    v.applets_and_export()?;
    let mut one = Vec::new();
    let mut two = Vec::new();
    for m in &cap.method.methods {
        v.method(m, &mut one, &mut two)?;
    }
    v.handlers_owned()?;
    // catch_type_index is a 2-byte constant pool index too (JCVM §6.12).
    for (k, h) in cap.method.handlers.iter().enumerate() {
        if h.catch_type_index != 0 {
            // The handler table lies in the Method component, at most 65535 bytes (JCVM §6.1).
            #[allow(clippy::cast_possible_truncation)]
            two.push((1 + 8 * k + 6) as u16);
        }
    }
    v.ref_location(&one, &two)?;
    v.descriptor_and_debug()?;
    Ok(())
}

struct V<'a> {
    cap: &'a Cap,
}

impl V<'_> {
    fn class_ref(&self, tag: Tag, at: usize, r: ClassRef, want_class: Option<bool>) -> Result<(), CapError> {
        match r {
            ClassRef::External { package_token, .. } => {
                if package_token as usize >= self.cap.imports.len() {
                    return Err(e(
                        tag,
                        at,
                        CapErrorKind::BadIndex {
                            what: "package token",
                            index: package_token as u32,
                            limit: self.cap.imports.len().try_into().unwrap_or(u32::MAX),
                        },
                    ));
                }
            }
            ClassRef::Internal(o) => {
                let is_class = self.cap.class.class_at(o).is_some();
                let is_iface = self.cap.class.interface_at(o).is_some();
                let ok = match want_class {
                    Some(true) => is_class,
                    Some(false) => is_iface,
                    None => is_class || is_iface,
                };
                if !ok {
                    return Err(e(tag, at, CapErrorKind::BadOffset { what: "class", target: o as u32 }));
                }
            }
        }
        Ok(())
    }

    fn static_ref(&self, at: usize, r: StaticRef, method: bool) -> Result<(), CapError> {
        match r {
            StaticRef::External { package_token, class_token, .. } => {
                self.class_ref(Tag::ConstantPool, at, ClassRef::External { package_token, class_token }, None)
            }
            StaticRef::Internal(o) if method => self.method_offset(Tag::ConstantPool, at, o),
            StaticRef::Internal(o) => {
                if o >= self.cap.static_field.image_size {
                    return Err(e(
                        Tag::ConstantPool,
                        at,
                        CapErrorKind::BadOffset { what: "static field", target: o as u32 },
                    ));
                }
                Ok(())
            }
        }
    }

    fn method_offset(&self, tag: Tag, at: usize, o: u16) -> Result<(), CapError> {
        match self.cap.method.method_at(o) {
            Some(_) => Ok(()),
            None => Err(e(tag, at, CapErrorKind::BadOffset { what: "method", target: o as u32 })),
        }
    }

    // Method table counts are u1 fields (JCVM §6.8.1).
    #[allow(clippy::cast_possible_truncation)]
    fn virtual_token(&self, at: usize, class: ClassRef, token: u8) -> Result<(), CapError> {
        let ClassRef::Internal(o) = class else { return Ok(()) };
        let Some(c) = self.cap.class.class_at(o) else { return Ok(()) };
        let (t, limit) = if token & 0x80 != 0 {
            (token & 0x7F, c.package_method_table_base as u32 + c.package_virtual_method_table.len() as u32)
        } else {
            (token, c.public_method_table_base as u32 + c.public_virtual_method_table.len() as u32)
        };
        if t as u32 >= limit {
            return Err(e(
                Tag::ConstantPool,
                at,
                CapErrorKind::BadIndex { what: "virtual method token", index: t as u32, limit },
            ));
        }
        Ok(())
    }

    fn constant_pool(&self) -> Result<(), CapError> {
        for (i, c) in self.cap.constant_pool.iter().enumerate() {
            let at = 2 + 4 * i;
            match *c {
                CpEntry::ClassRef(r) => self.class_ref(Tag::ConstantPool, at, r, None)?,
                // Instance field tokens are checked at link time, against the class's layout.
                CpEntry::InstanceFieldRef { class, .. } => self.class_ref(Tag::ConstantPool, at, class, Some(true))?,
                CpEntry::VirtualMethodRef { class, token } | CpEntry::SuperMethodRef { class, token } => {
                    self.class_ref(Tag::ConstantPool, at, class, Some(true))?;
                    self.virtual_token(at, class, token)?;
                }
                CpEntry::StaticFieldRef(r) => self.static_ref(at, r, false)?,
                CpEntry::StaticMethodRef(r) => self.static_ref(at, r, true)?,
            }
        }
        Ok(())
    }

    fn classes(&self) -> Result<(), CapError> {
        for i in &self.cap.class.interfaces {
            for s in &i.superinterfaces {
                self.class_ref(Tag::Class, i.offset as usize, *s, Some(false))?;
            }
        }
        for c in &self.cap.class.classes {
            let at = c.offset as usize;
            if let Some(s) = c.super_class {
                self.class_ref(Tag::Class, at, s, Some(true))?;
            } else if self.cap.header.package.aid.as_bytes() != [0xA0, 0, 0, 0, 0x62, 0, 1] {
                return Err(e(Tag::Class, at, CapErrorKind::BadValue("no superclass outside java.lang")));
            }
            for &m in c.public_virtual_method_table.iter().chain(&c.package_virtual_method_table) {
                if m != 0xFFFF {
                    self.method_offset(Tag::Class, at, m)?;
                }
            }
            if c.public_method_table_base as usize + c.public_virtual_method_table.len() > 128
                || c.package_method_table_base as usize + c.package_virtual_method_table.len() > 128
            {
                return Err(e(Tag::Class, at, CapErrorKind::BadValue("virtual method tokens beyond 127")));
            }
            for ii in &c.interfaces {
                self.class_ref(Tag::Class, at, ii.interface, Some(false))?;
            }
        }
        Ok(())
    }

    fn applets_and_export(&self) -> Result<(), CapError> {
        for a in &self.cap.applets {
            self.method_offset(Tag::Applet, 0, a.install_method_offset)?;
            // install(byte[] bArray, short bOffset, byte bLength): static, three words.
            if self
                .cap
                .method
                .method_at(a.install_method_offset)
                .is_some_and(|m| m.header.is_abstract() || m.header.nargs != 3)
            {
                return Err(e(
                    Tag::Applet,
                    0,
                    CapErrorKind::BadValue("install method is not static (byte[], short, byte)"),
                ));
            }
        }
        if let Some(x) = &self.cap.export {
            for c in &x.classes {
                self.class_ref(Tag::Export, 0, ClassRef::Internal(c.class_offset), None)?;
                for &m in &c.static_method_offsets {
                    self.method_offset(Tag::Export, 0, m)?;
                }
                for &f in &c.static_field_offsets {
                    if f >= self.cap.static_field.image_size {
                        return Err(e(
                            Tag::Export,
                            0,
                            CapErrorKind::BadOffset { what: "static field", target: f as u32 },
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// One method: header, then its code (linearly when exact, else by reachability).
    fn method(&self, m: &MethodInfo, one: &mut Vec<u16>, two: &mut Vec<u16>) -> Result<(), CapError> {
        let h = &m.header;
        let base = h.code_offset as usize;
        let end = m.code_end as usize;
        let at = h.offset as usize;
        if h.nargs as usize + h.max_locals as usize > 255 {
            return Err(e(Tag::Method, at, CapErrorKind::BadMethodHeader("nargs + max_locals beyond 255")));
        }
        if h.is_abstract() {
            if m.exact && end != base {
                return Err(e(Tag::Method, at, CapErrorKind::BadMethodHeader("abstract method with code")));
            }
            return Ok(());
        }
        if end <= base {
            return Err(e(Tag::Method, at, CapErrorKind::BadMethodHeader("method without code")));
        }
        let code = &self.cap.method.info()[..end];
        // Per byte of [base, end): 0 unseen, 1 instruction start, 2 operand byte.
        let mut state = vec![0u8; end - base];
        let mut work: Vec<usize> = vec![base];
        let mut targets: Vec<(usize, i64)> = Vec::new();
        let mut linear = m.exact;
        if m.exact {
            self.linear(m, code, &mut state, &mut targets, one, two)?;
        } else {
            // LOAD form: a linear decode fixes every instruction boundary, so try it first; a
            // method nobody references lying in the range makes it fail, and then the code
            // reachable from the entry and the handlers is what is checked.
            let (mut s2, mut t2, mut one2, mut two2) = (vec![0u8; end - base], vec![], vec![], vec![]);
            if self.linear(m, code, &mut s2, &mut t2, &mut one2, &mut two2).is_ok() {
                (state, targets, linear) = (s2, t2, true);
                one.extend(one2);
                two.extend(two2);
            }
        }
        if linear {
            work.clear();
        }
        for hd in self.cap.method.handlers_of(m) {
            targets.push((at, hd.start_offset as i64));
            targets.push((at, hd.handler_offset as i64));
            if hd.end_offset() as usize != end {
                targets.push((at, hd.end_offset() as i64));
            }
            if !linear {
                work.push(hd.handler_offset as usize);
            }
            if hd.end_offset() as usize > end
                || hd.handler_offset as usize >= end
                || (hd.handler_offset as usize) < base
            {
                return Err(e(
                    Tag::Method,
                    1,
                    CapErrorKind::BadOffset { what: "handler", target: hd.handler_offset as u32 },
                ));
            }
            if hd.catch_type_index != 0 {
                self.cp_kind(hd.catch_type_index, 1, "classRef", |c| matches!(c, CpEntry::ClassRef(_)))?;
            }
        }
        while let Some(pc) = work.pop() {
            if pc < base || pc >= end {
                return Err(e(Tag::Method, at, CapErrorKind::BadBranch { target: pc as i64 - base as i64 }));
            }
            match state[pc - base] {
                1 => continue,
                2 => return Err(e(Tag::Method, pc, CapErrorKind::BadBranch { target: pc as i64 - base as i64 })),
                _ => self.insn(m, code, pc, &mut state, &mut targets, &mut work, one, two)?,
            }
        }
        for (from, t) in targets {
            // t is checked to lie in base..end before it indexes.
            #[allow(clippy::cast_possible_truncation)]
            if t < base as i64 || t >= end as i64 || state[t as usize - base] != 1 {
                return Err(e(Tag::Method, from, CapErrorKind::BadBranch { target: t - base as i64 }));
            }
        }
        Ok(())
    }

    /// Decodes every instruction of the method in order.
    fn linear(
        &self,
        m: &MethodInfo,
        code: &[u8],
        state: &mut [u8],
        targets: &mut Vec<(usize, i64)>,
        one: &mut Vec<u16>,
        two: &mut Vec<u16>,
    ) -> Result<(), CapError> {
        let mut work = Vec::new();
        let mut pc = m.header.code_offset as usize;
        while pc < m.code_end as usize {
            self.insn(m, code, pc, state, targets, &mut work, one, two)?;
            pc += self.len_at(code, pc)?;
        }
        Ok(())
    }

    fn len_at(&self, code: &[u8], pc: usize) -> Result<usize, CapError> {
        opcode::decode(code, pc).map(|i| i.len).map_err(|_| e(Tag::Method, pc, CapErrorKind::Truncated))
    }

    fn cp_kind(
        &self,
        i: u16,
        at: usize,
        expected: &'static str,
        ok: impl Fn(&CpEntry) -> bool,
    ) -> Result<(), CapError> {
        let n = self.cap.constant_pool.len();
        match self.cap.constant_pool.get(i as usize) {
            None => Err(e(
                Tag::Method,
                at,
                CapErrorKind::BadIndex {
                    what: "constant pool index",
                    index: i as u32,
                    limit: n.try_into().unwrap_or(u32::MAX),
                },
            )),
            Some(c) if !ok(c) => Err(e(Tag::Method, at, CapErrorKind::WrongConstantKind { index: i, expected })),
            _ => Ok(()),
        }
    }

    /// Decodes and checks the instruction at `pc` (absolute in the Method `info`), marking its
    /// bytes and queueing its successors.
    #[allow(clippy::too_many_arguments)]
    fn insn(
        &self,
        m: &MethodInfo,
        code: &[u8],
        pc: usize,
        state: &mut [u8],
        targets: &mut Vec<(usize, i64)>,
        work: &mut Vec<usize>,
        one: &mut Vec<u16>,
        two: &mut Vec<u16>,
    ) -> Result<(), CapError> {
        let base = m.header.code_offset as usize;
        let end = m.code_end as usize;
        let i = opcode::decode(code, pc).map_err(|d| {
            e(
                Tag::Method,
                pc,
                match d {
                    opcode::DecodeError::BadOpcode(o) => CapErrorKind::BadOpcode(o),
                    opcode::DecodeError::Truncated => CapErrorKind::Truncated,
                    opcode::DecodeError::BadSwitch => CapErrorKind::BadValue("table switch high < low"),
                },
            )
        })?;
        let o = i.op.opcode;
        if o == op::IMPDEP1 || o == op::IMPDEP2 {
            return Err(e(Tag::Method, pc, CapErrorKind::BadOpcode(o)));
        }
        if i.op.int && !self.cap.has_int() {
            return Err(e(Tag::Method, pc, CapErrorKind::IntWithoutFlag(o)));
        }
        state[pc - base] = 1;
        for k in 1..i.len {
            match state.get(pc - base + k) {
                Some(0) => state[pc - base + k] = 2,
                Some(_) => return Err(e(Tag::Method, pc, CapErrorKind::BadBranch { target: (pc + k - base) as i64 })),
                None => return Err(e(Tag::Method, pc, CapErrorKind::Truncated)),
            }
        }
        let locals = m.header.nargs as u16 + m.header.max_locals as u16;
        let local = |ix: u16| -> Result<(), CapError> {
            if ix >= locals {
                return Err(e(
                    Tag::Method,
                    pc,
                    CapErrorKind::BadIndex { what: "local variable", index: ix as u32, limit: locals as u32 },
                ));
            }
            Ok(())
        };
        // Implicit local indices: aload_0..iload_3 (0x18-0x23), astore_0..istore_3 (0x2B-0x36).
        match o {
            0x18..=0x23 => local(((o - 0x18) % 4) as u16)?,
            0x2B..=0x36 => local(((o - 0x2B) % 4) as u16)?,
            _ => {}
        }
        // int locals take two words.
        let wide_local = matches!(o, 0x17 | 0x2A | 0x5A | 0x97);
        match &i.operand {
            Operand::Local(ix) | Operand::Inc { index: ix, .. } => {
                local(*ix as u16)?;
                if wide_local {
                    local(*ix as u16 + 1)?;
                }
            }
            Operand::Mn(mn) => {
                let (mm, n) = (mn >> 4, mn & 0xF);
                let ok = if o == 0x3F {
                    (1..=4).contains(&mm) && (n == 0 || (mm..=mm + 4).contains(&n))
                } else {
                    (1..=2).contains(&mm) && (1..=2).contains(&n)
                };
                if !ok {
                    return Err(e(Tag::Method, pc, CapErrorKind::BadValue("dup_x/swap_x mn")));
                }
            }
            Operand::ArrayType(t) if !(10..=13).contains(t) => {
                return Err(e(Tag::Method, pc, CapErrorKind::BadValue("newarray type")));
            }
            Operand::TypeCp { atype, .. } if !matches!(atype, 0 | 10..=14) => {
                return Err(e(Tag::Method, pc, CapErrorKind::BadValue("checkcast/instanceof type")));
            }
            Operand::Interface { nargs: 0, .. } => {
                return Err(e(Tag::Method, pc, CapErrorKind::BadValue("invokeinterface nargs 0")));
            }
            Operand::LookupSwitch { pairs, .. } if pairs.windows(2).any(|w| w[0].0 >= w[1].0) => {
                return Err(e(Tag::Method, pc, CapErrorKind::BadValue("lookupswitch keys not ascending")));
            }
            _ => {}
        }
        if let Some(ix) = i.operand.cp_index() {
            let check_cp = !matches!(i.operand, Operand::TypeCp { atype: 10..=13, .. });
            if check_cp {
                use CpEntry as C;
                let (name, ok): (&str, fn(&CpEntry) -> bool) = match o {
                    0x7B..=0x82 => ("staticFieldRef", |c| matches!(c, C::StaticFieldRef(_))),
                    0x83..=0x8A | 0xA9..=0xB8 => ("instanceFieldRef", |c| matches!(c, C::InstanceFieldRef { .. })),
                    op::INVOKEVIRTUAL => ("virtualMethodRef", |c| matches!(c, C::VirtualMethodRef { .. })),
                    op::INVOKESPECIAL => ("staticMethodRef or superMethodRef", |c| {
                        matches!(c, C::StaticMethodRef(_) | C::SuperMethodRef { .. })
                    }),
                    op::INVOKESTATIC => ("staticMethodRef", |c| matches!(c, C::StaticMethodRef(_))),
                    _ => ("classRef", |c| matches!(c, C::ClassRef(_))),
                };
                self.cp_kind(ix, pc, name, ok)?;
            }
            // pc lies in the Method component, at most 65535 bytes (JCVM §6.1).
            #[allow(clippy::cast_possible_truncation)]
            let operand_at = match i.op.format {
                Format::Interface | Format::TypeCp => pc + 2,
                _ => pc + 1,
            } as u16;
            // checkcast/instanceof of a primitive array carry an unused index, not relocated.
            if check_cp {
                if i.op.format == Format::Cp1 {
                    one.push(operand_at);
                } else {
                    two.push(operand_at);
                }
            }
        }
        for b in i.operand.branches() {
            let t = pc as i64 + b as i64;
            targets.push((pc, t));
            if t >= base as i64 && t < end as i64 {
                // t is checked to lie in base..end just above.
                #[allow(clippy::cast_possible_truncation)]
                work.push(t as usize);
            } else {
                return Err(e(Tag::Method, pc, CapErrorKind::BadBranch { target: t - base as i64 }));
            }
        }
        let terminal = matches!(o, 0x70 | 0xA8 | 0x72..=0x7A | op::ATHROW);
        if !terminal {
            let next = pc + i.len;
            if next >= end {
                return Err(e(Tag::Method, pc, CapErrorKind::BadBranch { target: (next - base) as i64 }));
            }
            work.push(next);
        }
        Ok(())
    }

    /// Every handler lies inside one method.
    fn handlers_owned(&self) -> Result<(), CapError> {
        for (k, h) in self.cap.method.handlers.iter().enumerate() {
            let owner = self.cap.method.method_containing(h.start_offset);
            let ok =
                owner.is_some_and(|m| h.end_offset() <= m.code_end as u32 && h.start_offset >= m.header.code_offset);
            if !ok {
                return Err(e(
                    Tag::Method,
                    1 + 8 * k,
                    CapErrorKind::BadOffset { what: "handler range", target: h.start_offset as u32 },
                ));
            }
        }
        Ok(())
    }

    /// ReferenceLocation lists exactly the constant pool operands (all of them when every
    /// method's extent is exact; at least the reached ones otherwise).
    fn ref_location(&self, one: &[u16], two: &[u16]) -> Result<(), CapError> {
        let exact = self.cap.method.methods.iter().all(|m| m.exact);
        for (seen, listed, what) in [
            (one, &self.cap.ref_location.byte_indices, "1-byte index"),
            (two, &self.cap.ref_location.byte2_indices, "2-byte index"),
        ] {
            let mut s = seen.to_vec();
            s.sort_unstable();
            s.dedup();
            for &x in &s {
                if listed.binary_search(&x).is_err() {
                    return Err(e(
                        Tag::ReferenceLocation,
                        0,
                        CapErrorKind::BadOffset { what: what_missing(what), target: x as u32 },
                    ));
                }
            }
            if exact {
                for &x in listed {
                    if s.binary_search(&x).is_err() {
                        return Err(e(Tag::ReferenceLocation, 0, CapErrorKind::BadOffset { what, target: x as u32 }));
                    }
                }
            }
        }
        Ok(())
    }

    fn descriptor_and_debug(&self) -> Result<(), CapError> {
        if let Some(d) = &self.cap.descriptor {
            if d.types.constant_pool_types.len() != self.cap.constant_pool.len() {
                return Err(e(
                    Tag::Descriptor,
                    0,
                    CapErrorKind::CountMismatch {
                        what: "constant pool types",
                        directory: self.cap.constant_pool.len().try_into().unwrap_or(u16::MAX),
                        actual: d.types.constant_pool_types.len().try_into().unwrap_or(u16::MAX),
                    },
                ));
            }
            for c in &d.classes {
                self.class_ref(Tag::Descriptor, 0, c.this_class, None)?;
                for m in &c.methods {
                    if d.types.offsets.binary_search(&m.type_offset).is_err() {
                        return Err(e(
                            Tag::Descriptor,
                            0,
                            CapErrorKind::BadOffset { what: "type", target: m.type_offset as u32 },
                        ));
                    }
                    let hend = m.exception_handler_index as usize + m.exception_handler_count as usize;
                    if m.exception_handler_count > 0 && hend > self.cap.method.handlers.len() {
                        return Err(e(
                            Tag::Descriptor,
                            0,
                            CapErrorKind::BadIndex {
                                what: "exception handler",
                                index: hend.try_into().unwrap_or(u32::MAX),
                                limit: self.cap.method.handlers.len().try_into().unwrap_or(u32::MAX),
                            },
                        ));
                    }
                }
            }
        }
        if let Some(g) = &self.cap.debug {
            let n = u32::try_from(g.strings.len()).unwrap_or(u32::MAX);
            let s = |i: u16| -> Result<(), CapError> {
                if i as u32 >= n {
                    return Err(e(Tag::Debug, 0, CapErrorKind::BadIndex { what: "string", index: i as u32, limit: n }));
                }
                Ok(())
            };
            s(g.package_name_index)?;
            for c in &g.classes {
                s(c.name_index)?;
                s(c.source_file_index)?;
                for m in &c.methods {
                    s(m.name_index)?;
                    s(m.descriptor_index)?;
                    // Interface and abstract methods have no body; the rest sit on a method.
                    if m.body_size > 0 && self.cap.method.method_at(m.location).is_none() {
                        return Err(e(
                            Tag::Debug,
                            0,
                            CapErrorKind::BadOffset { what: "debug method", target: m.location as u32 },
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn what_missing(what: &'static str) -> &'static str {
    if what.starts_with('1') {
        "unlisted 1-byte index"
    } else {
        "unlisted 2-byte index"
    }
}
