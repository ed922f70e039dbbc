//! The execution loop: frames, the 185 opcodes, invokes, exceptions.
// The bytecode loop narrows by definition: JCVM narrowing is two's-complement truncation
// (JCVM §7.5 i2s, s2b, int halves, shifts, bastore), array lengths stay below 32768 and pcs inside
// a Method component of at most 65535 bytes (§6.1); the opcode macros expand in several places.
#![allow(clippy::cast_possible_truncation)]

use super::{Runtime, GUARD, MAX_FRAMES, SLACK, STACK_WORDS};
use crate::jcvm::api::{cls, natives};
use crate::jcvm::heap::{
    accessible, Access, ArrayData, Body, ClassId, Elem, ElemType, Handle, NativeState, Transience,
};
use crate::jcvm::journal::Stop;
use crate::jcvm::link::{header, Cp, Program, Target};
use crate::jcvm::Env;

/// Why execution stopped without a Java exception: faults a card answers with `6F00`
/// (JCRE: an error the VM cannot hand to the applet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The work budget ran out (a card's watchdog).
    StepBudget,
    /// An API method this VM does not implement was called.
    NotImplemented(String),
    /// An abstract method was invoked.
    AbstractMethod,
    /// The heap is full where the JCRE itself needed an object.
    OutOfMemory,
    /// The card lost power (an armed tearing cut): nothing more runs or is written.
    PowerLoss,
}

/// What escaped from a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thrown {
    /// A Java Card exception object.
    Exception(Handle),
    /// A fault.
    Fault(Fault),
}

/// One call's view: the linked program, the runtime and the card services.
pub struct Exec<'a> {
    /// Linked classes and packages.
    pub prog: &'a Program,
    /// Heap, statics, session.
    pub rt: &'a mut Runtime,
    /// Card services.
    pub env: &'a mut dyn Env,
}

/// A caller's frame, saved at an invoke.
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    pkg: u16,
    ret_pc: usize,
    lp: usize,
    op_base: usize,
    op_limit: usize,
    nlocals: usize,
    /// The invoke switched the firewall context (JCRE §6.2.8: a Shareable interface method of
    /// another context's object); the return switches back.
    switched: bool,
}

/// Most argument words (receiver included) a native takes: the API's longest signatures are
/// 9 words (`AEADCipher.init(Key, byte, byte[], short, short, short, short, short)`,
/// `javacardx.external.MemoryAccess.readData`); 16 leaves room without a heap allocation per
/// call. A native table entry declaring more is refused as a bad invoke.
pub(crate) const MAX_NATIVE_ARGS: usize = 16;

/// Opcodes that need the int type (JCVM §3.3: optional; Header ACC_INT).
const fn int_ops() -> [bool; 256] {
    let mut t = [false; 256];
    let list: [u8; 57] = [
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x12, 0x13, 0x14, 0x17, 0x20, 0x21, 0x22, 0x23, 0x27, 0x2A, 0x33,
        0x34, 0x35, 0x36, 0x3A, 0x42, 0x44, 0x46, 0x48, 0x4A, 0x4C, 0x4E, 0x50, 0x52, 0x54, 0x56, 0x58, 0x5A, 0x5C,
        0x5D, 0x5E, 0x5F, 0x74, 0x76, 0x79, 0x7E, 0x82, 0x86, 0x8A, 0x97, 0xAC, 0xB0, 0xB4, 0xB8, 0xB0, 0xB4, 0xB8,
        0xAC, 0x86, 0x8A,
    ];
    let mut i = 0;
    while i < list.len() {
        t[list[i] as usize] = true;
        i += 1;
    }
    t
}
static INT_OPS: [bool; 256] = int_ops();

#[inline(always)]
fn s16(code: &[u8], p: usize) -> i16 {
    i16::from_be_bytes([code[p], code[p + 1]])
}
#[inline(always)]
fn u16at(code: &[u8], p: usize) -> u16 {
    u16::from_be_bytes([code[p], code[p + 1]])
}
fn get_s16(code: &[u8], p: usize) -> Option<i16> {
    Some(i16::from_be_bytes([*code.get(p)?, *code.get(p + 1)?]))
}
fn get_s32(code: &[u8], p: usize) -> Option<i32> {
    Some(i32::from_be_bytes([*code.get(p)?, *code.get(p + 1)?, *code.get(p + 2)?, *code.get(p + 3)?]))
}

#[inline(always)]
fn join(hi: i16, lo: i16) -> i32 {
    ((hi as i32) << 16) | (lo as u16 as i32)
}

impl<'a> Exec<'a> {
    /// The JCRE-owned instance of an API throwable with `reason`, as a [`Thrown`]
    /// (JCRE §6.2.1: the system exception objects are JCRE entry-point objects).
    pub fn throw(&mut self, class: ClassId, reason: i16) -> Thrown {
        let h = match self.rt.system_exceptions.get(&class) {
            Some(h) if matches!(self.rt.heap.get(*h).map(|o| &o.body), Some(Body::Instance { class: c, .. }) if *c == class) => {
                *h
            }
            _ => match self.rt.heap.new_instance(class, 0, 0) {
                Ok(h) => {
                    self.rt.system_exceptions.insert(class, h);
                    h
                }
                Err(_) => return Thrown::Fault(Fault::OutOfMemory),
            },
        };
        if let Some(n) = self.rt.heap.native_mut_untracked(h) {
            *n = NativeState::Reason(reason);
        }
        Thrown::Exception(h)
    }

    /// `SecurityException`: what code that breaks the verifier's rules gets.
    pub fn security(&mut self) -> Thrown {
        self.throw(cls::SECURITY, 0)
    }

    /// One line of `--trace-bytecode`: package slot, offset, the instruction, the operand
    /// stack's top words (at most four, top last).
    fn trace_insn(&mut self, pkg: u16, code: &[u8], pc: usize, stack: &[i16]) {
        let instance_ok = match self.rt.bytecode_trace.as_ref().and_then(|t| t.aid.as_ref()) {
            Some(aid) => self.rt.session.instance.and_then(|i| self.rt.instances.get(i)).is_some_and(|i| &i.aid == aid),
            None => true,
        };
        if !instance_ok {
            return;
        }
        let insn = match crate::jcvm::opcode::decode(code, pc) {
            Ok(i) => format!("{} {:?}", i.op.name, i.operand),
            Err(e) => format!("{e:?}"),
        };
        let top: Vec<String> = stack.iter().rev().take(4).rev().map(|w| format!("{:04X}", *w as u16)).collect();
        let Some(t) = self.rt.bytecode_trace.as_mut() else { return };
        if t.remaining == 0 {
            return;
        }
        t.remaining -= 1;
        t.lines.push(format!("bytecode {pkg}@{pc}: {insn} | stack [{}]", top.join(" ")));
        if t.remaining == 0 {
            t.lines.push("bytecode trace: limit reached".into());
        }
    }

    /// One line of `--trace-api`: the native, its argument words (references are heap handles,
    /// so no array contents such as PINs or keys appear) and its result.
    fn trace_api(&mut self, n: crate::jcvm::api::Native, args: &[i16], r: &Result<Option<i16>, Thrown>) {
        let args: Vec<String> = args.iter().map(|w| format!("{:04X}", *w as u16)).collect();
        let result = match r {
            Ok(Some(v)) => format!("{:04X}", *v as u16),
            Ok(None) => "void".into(),
            Err(Thrown::Exception(h)) => {
                let class = self.class_of(*h).and_then(|c| self.prog.class(c)).map_or("?".into(), |k| k.name.clone());
                format!("throws {class}")
            }
            Err(Thrown::Fault(f)) => format!("fault {f:?}"),
        };
        if let Some(t) = self.rt.api_trace.as_mut() {
            if t.len() < 10_000 {
                t.push(format!("api {n:?}({}) -> {result}", args.join(", ")));
            }
        }
    }

    /// The exception (or fault) for a refused heap access.
    pub fn access(&mut self, a: Access) -> Thrown {
        match a {
            Access::Null => self.throw(cls::NULL_POINTER, 0),
            Access::Security => self.security(),
            Access::Index => self.throw(cls::ARRAY_INDEX_OUT_OF_BOUNDS, 0),
            Access::Stop(Stop::PowerLoss) => Thrown::Fault(Fault::PowerLoss),
            // TransactionException.BUFFER_FULL (JC API).
            Access::Stop(Stop::CommitFull) => self.throw(cls::TRANSACTION_EXCEPTION, 3),
        }
    }

    /// Whether `v` is a reference that may not be stored in a field, a static or an array
    /// component (JCRE §6.2.1: temporary JCRE entry-point objects, the APDU object and the
    /// exception objects the JCRE throws; §6.2.2: global arrays, the APDU and install buffers).
    pub fn not_storable(&self, v: Handle) -> bool {
        if v == 0 || self.rt.heap.get(v).is_none_or(|o| o.owner != 0) {
            return false;
        }
        v == self.rt.apdu_object
            || v == self.rt.apdu_buffer
            || v == self.rt.install_buffer
            // Permanent entry point objects (the SecureChannel, the global PIN) are storable.
            || self.rt.system_exceptions.iter().any(|(c, h)| *h == v && !crate::jcvm::api::gp::PERMANENT_ENTRY_POINTS.contains(c))
    }

    /// Switches to the context of the applet whose package is `owner - 1` (JCRE §6.2.8.6);
    /// [`Exec::restore_context`] goes back.
    pub fn switch_context(&mut self, owner: u16) {
        let s = &mut self.rt.session;
        s.ctx_stack.push((s.context, s.instance));
        s.context = owner;
        // Contexts are per package; the active instance is the package's first (a package with
        // several instances shares one context, JCRE §6.1.1).
        s.instance = self.rt.instances.iter().position(|i| i.package + 1 == owner).or(s.instance);
    }

    /// Back to the context before the last [`Exec::switch_context`].
    pub fn restore_context(&mut self) {
        if let Some((c, i)) = self.rt.session.ctx_stack.pop() {
            self.rt.session.context = c;
            self.rt.session.instance = i;
        }
    }

    /// The class of an instance (None for null, arrays, dangling handles).
    pub fn class_of(&self, h: Handle) -> Option<ClassId> {
        match &self.rt.heap.get(h)?.body {
            Body::Instance { class, .. } => Some(*class),
            Body::Array { .. } => None,
        }
    }

    /// Whether `h` (non-null) is an instance of the type given by a checkcast/instanceof
    /// atype and class (JCVM §7.5.8: 0 class/interface, 10-13 primitive arrays, 14
    /// reference arrays).
    pub fn instance_of(&self, h: Handle, atype: u8, class: ClassId) -> bool {
        let Some(o) = self.rt.heap.get(h) else { return false };
        match (&o.body, atype) {
            (Body::Instance { class: c, .. }, 0) => self.prog.is_subclass(*c, class),
            (Body::Array { .. }, 0) => class == cls::OBJECT,
            (Body::Array { elem, .. }, 10) => *elem == ElemType::Boolean,
            (Body::Array { elem, .. }, 11) => *elem == ElemType::Byte,
            (Body::Array { elem, .. }, 12) => *elem == ElemType::Short,
            (Body::Array { elem, .. }, 13) => *elem == ElemType::Int,
            (Body::Array { elem: ElemType::Ref(e), .. }, 14) => self.prog.is_subclass(*e, class),
            _ => false,
        }
    }

    /// Calls a method from the JCRE with `args` (receiver first) and runs it to the end.
    /// Returns the value an `sreturn`/`areturn` (sign-extended) or `ireturn` gave.
    pub fn call(&mut self, target: Target, args: &[i16]) -> Result<Option<i32>, Thrown> {
        match target {
            Target::Native(n) => {
                let (na, _) = n.signature();
                if na as usize != args.len() {
                    return Err(self.security());
                }
                return natives::call(self, n, args).map(|v| v.map(|v| v as i32));
            }
            Target::Abstract(_) => return Err(Thrown::Fault(Fault::AbstractMethod)),
            Target::Missing => return Err(Thrown::Fault(Fault::NotImplemented("entry point".into()))),
            Target::Bytecode { .. } => {}
        }
        let mut stack = std::mem::take(&mut self.rt.stack);
        if stack.len() != GUARD + STACK_WORDS + SLACK {
            stack = vec![0; GUARD + STACK_WORDS + SLACK];
        }
        stack[GUARD..GUARD + args.len()].copy_from_slice(args);
        let r = self.run(&mut stack, target, args.len());
        self.rt.stack = stack;
        r
    }

    #[allow(clippy::too_many_lines)]
    // The bytecode loop: JCVM narrowing is two's-complement truncation (§7.5 i2s, s2b, int halves, shifts, bastore), array lengths are below 32768 and pcs lie in a Method component of at most 65535 bytes (§6.1).
    #[allow(clippy::cast_possible_truncation)]
    fn run(&mut self, stack: &mut [i16], entry: Target, nargs0: usize) -> Result<Option<i32>, Thrown> {
        let mut frames: Vec<Frame> = std::mem::take(&mut self.rt.frames);
        frames.clear();
        // Coverage and the bytecode trace are a second instance of the loop, so that they cost
        // nothing when off.
        let r = if self.rt.coverage.is_some() || self.rt.bytecode_trace.is_some() {
            self.run_frames::<true>(stack, entry, nargs0, &mut frames)
        } else {
            self.run_frames::<false>(stack, entry, nargs0, &mut frames)
        };
        self.rt.frames = frames;
        r
    }

    #[allow(clippy::too_many_lines)]
    fn run_frames<const COV: bool>(
        &mut self,
        stack: &mut [i16],
        entry: Target,
        nargs0: usize,
        frames: &mut Vec<Frame>,
    ) -> Result<Option<i32>, Thrown> {
        let prog = self.prog;
        let budget = self.rt.step_budget;
        let mut steps: u64 = 0;

        let Target::Bytecode { pkg: p0, offset: o0 } = entry else { return Err(self.security()) };
        let Some(pk0) = prog.package(p0) else { return Err(self.security()) };
        let Some(h0) = header(&pk0.code, o0 as usize) else { return Err(self.security()) };
        if h0.nargs as usize != nargs0 || h0.flags & 0x4 != 0 {
            return Err(self.security());
        }
        let mut pkg = p0;
        let mut code: &[u8] = &pk0.code;
        let mut code_len = pk0.code_len;
        let mut cp: &[Cp] = &pk0.cp;
        let mut int_ok = pk0.int;
        let mut lp = GUARD;
        let mut nlocals = h0.nargs as usize + h0.max_locals as usize;
        let mut op_base = lp + nlocals;
        let mut op_limit = op_base + h0.max_stack as usize;
        if op_limit > GUARD + STACK_WORDS {
            return Err(self.throw(cls::SYSTEM_EXCEPTION, 5));
        }
        stack[lp + nargs0..op_base].fill(0);
        let mut sp = op_base;
        let mut pc = h0.code;

        // The exception being thrown, and the pc to search handlers at.
        let mut pending: Option<(Handle, usize)>;

        'outer: loop {
            // The dispatch loop proper; a `break` out of it means "an exception is pending".
            'dispatch: loop {
                macro_rules! push {
                    ($v:expr) => {{
                        stack[sp] = $v;
                        sp += 1;
                    }};
                }
                macro_rules! pop {
                    () => {{
                        sp -= 1;
                        stack[sp]
                    }};
                }
                macro_rules! push_int {
                    ($v:expr) => {{
                        let v: i32 = $v;
                        stack[sp] = (v >> 16) as i16;
                        stack[sp + 1] = v as i16;
                        sp += 2;
                    }};
                }
                macro_rules! pop_int {
                    () => {{
                        sp -= 2;
                        join(stack[sp], stack[sp + 1])
                    }};
                }
                macro_rules! throw {
                    ($t:expr) => {{
                        match $t {
                            Thrown::Exception(h) => {
                                // The frames' positions, for a stack trace if it escapes.
                                let tr = &mut self.rt.session.trace;
                                tr.clear();
                                tr.push((pkg, pc as u32));
                                tr.extend(frames.iter().rev().map(|f| (f.pkg, f.ret_pc.saturating_sub(1) as u32)));
                                pending = Some((h, pc));
                                break 'dispatch;
                            }
                            f @ Thrown::Fault(_) => return Err(f),
                        }
                    }};
                }
                macro_rules! throw_cls {
                    ($c:expr) => {{
                        let t = self.throw($c, 0);
                        throw!(t)
                    }};
                }
                macro_rules! bad {
                    () => {{
                        let t = self.security();
                        throw!(t)
                    }};
                }
                macro_rules! local {
                    ($i:expr) => {{
                        let i: usize = $i;
                        if i >= nlocals {
                            bad!()
                        }
                        lp + i
                    }};
                }
                macro_rules! local2 {
                    ($i:expr) => {{
                        let i: usize = $i;
                        if i + 1 >= nlocals {
                            bad!()
                        }
                        lp + i
                    }};
                }
                macro_rules! branch {
                    ($off:expr) => {{
                        let t = pc as isize + $off as isize;
                        if t < 0 {
                            bad!()
                        }
                        steps += 1;
                        if steps > budget {
                            return Err(Thrown::Fault(Fault::StepBudget));
                        }
                        if COV {
                            if let Some(c) = self.rt.coverage.as_mut() {
                                c.taken(pkg, pc);
                            }
                        }
                        pc = t as usize;
                        continue 'dispatch;
                    }};
                }
                macro_rules! need {
                    ($n:expr) => {{
                        if sp < op_base + $n {
                            bad!()
                        }
                    }};
                }
                macro_rules! cp_at {
                    ($i:expr) => {{
                        match cp.get($i as usize) {
                            Some(e) => *e,
                            None => bad!(),
                        }
                    }};
                }
                macro_rules! field_slot {
                    ($i:expr) => {{
                        match cp_at!($i) {
                            Cp::Field(s) => s as usize,
                            _ => bad!(),
                        }
                    }};
                }
                macro_rules! static_at {
                    ($i:expr, $w:expr) => {{
                        match cp_at!($i) {
                            Cp::StaticField { pkg: sp_, offset } => {
                                let o = offset as usize;
                                match self.rt.statics.get(sp_ as usize) {
                                    Some(img) if o + $w <= img.len() => (sp_ as usize, o),
                                    _ => bad!(),
                                }
                            }
                            _ => bad!(),
                        }
                    }};
                }
                macro_rules! fields {
                    ($r:expr, $slot:expr, $w:expr) => {{
                        let r = $r as u16;
                        if r == 0 {
                            throw_cls!(cls::NULL_POINTER)
                        }
                        match self.rt.heap.get(r) {
                            Some(o) if accessible(o.owner, self.rt.session.context) => match &o.body {
                                Body::Instance { fields, .. } if $slot + $w <= fields.len() => fields,
                                _ => bad!(),
                            },
                            _ => bad!(),
                        }
                    }};
                }
                macro_rules! array {
                    ($r:expr) => {{
                        let r = $r as u16;
                        if r == 0 {
                            throw_cls!(cls::NULL_POINTER)
                        }
                        match self.rt.heap.get(r) {
                            Some(o) if accessible(o.owner, self.rt.session.context) => match &o.body {
                                Body::Array { data, .. } => data,
                                _ => bad!(),
                            },
                            _ => bad!(),
                        }
                    }};
                }
                macro_rules! heap_try {
                    ($e:expr) => {{
                        match $e {
                            Ok(v) => v,
                            Err(a) => {
                                let t = self.access(a);
                                throw!(t)
                            }
                        }
                    }};
                }
                macro_rules! index {
                    ($i:expr, $len:expr) => {{
                        let i = $i as i32;
                        if i < 0 || i as usize >= $len {
                            throw_cls!(cls::ARRAY_INDEX_OUT_OF_BOUNDS)
                        }
                        i as usize
                    }};
                }

                if pc >= code_len || sp < op_base || sp > op_limit {
                    bad!()
                }
                if COV {
                    if let Some(c) = self.rt.coverage.as_mut() {
                        c.hit(pkg, pc);
                    }
                    if self.rt.bytecode_trace.is_some() {
                        self.trace_insn(pkg, code, pc, &stack[op_base..sp]);
                    }
                }
                let op = code[pc];
                if !int_ok && INT_OPS[op as usize] {
                    bad!()
                }
                match op {
                    0x00 => pc += 1,
                    0x01 => {
                        push!(0);
                        pc += 1
                    }
                    0x02..=0x08 => {
                        push!(op as i16 - 3);
                        pc += 1
                    }
                    0x09..=0x0F => {
                        push_int!(op as i32 - 0x0A);
                        pc += 1
                    }
                    0x10 => {
                        push!(code[pc + 1] as i8 as i16);
                        pc += 2
                    }
                    0x11 => {
                        push!(s16(code, pc + 1));
                        pc += 3
                    }
                    0x12 => {
                        push_int!(code[pc + 1] as i8 as i32);
                        pc += 2
                    }
                    0x13 => {
                        push_int!(s16(code, pc + 1) as i32);
                        pc += 3
                    }
                    0x14 => {
                        push_int!(i32::from_be_bytes([code[pc + 1], code[pc + 2], code[pc + 3], code[pc + 4]]));
                        pc += 5
                    }
                    0x15 | 0x16 => {
                        let l = local!(code[pc + 1] as usize);
                        push!(stack[l]);
                        pc += 2
                    }
                    0x17 => {
                        let l = local2!(code[pc + 1] as usize);
                        push!(stack[l]);
                        push!(stack[l + 1]);
                        pc += 2
                    }
                    0x18..=0x1B => {
                        let l = local!((op - 0x18) as usize);
                        push!(stack[l]);
                        pc += 1
                    }
                    0x1C..=0x1F => {
                        let l = local!((op - 0x1C) as usize);
                        push!(stack[l]);
                        pc += 1
                    }
                    0x20..=0x23 => {
                        let l = local2!((op - 0x20) as usize);
                        push!(stack[l]);
                        push!(stack[l + 1]);
                        pc += 1
                    }
                    // aaload baload saload iaload
                    0x24..=0x27 => {
                        need!(2);
                        let i = pop!();
                        let r = pop!();
                        let a = array!(r);
                        match (op, a) {
                            (0x24, ArrayData::Refs(v)) => {
                                let i = index!(i, v.len());
                                push!(v[i] as i16)
                            }
                            (0x25, ArrayData::Bytes(v)) => {
                                let i = index!(i, v.len());
                                push!(v[i] as i8 as i16)
                            }
                            (0x26, ArrayData::Shorts(v)) => {
                                let i = index!(i, v.len());
                                push!(v[i])
                            }
                            (0x27, ArrayData::Ints(v)) => {
                                let i = index!(i, v.len());
                                push_int!(v[i])
                            }
                            _ => bad!(),
                        }
                        pc += 1
                    }
                    0x28 | 0x29 => {
                        need!(1);
                        let l = local!(code[pc + 1] as usize);
                        stack[l] = pop!();
                        pc += 2
                    }
                    0x2A => {
                        need!(2);
                        let l = local2!(code[pc + 1] as usize);
                        sp -= 2;
                        stack[l] = stack[sp];
                        stack[l + 1] = stack[sp + 1];
                        pc += 2
                    }
                    0x2B..=0x2E => {
                        need!(1);
                        let l = local!((op - 0x2B) as usize);
                        stack[l] = pop!();
                        pc += 1
                    }
                    0x2F..=0x32 => {
                        need!(1);
                        let l = local!((op - 0x2F) as usize);
                        stack[l] = pop!();
                        pc += 1
                    }
                    0x33..=0x36 => {
                        need!(2);
                        let l = local2!((op - 0x33) as usize);
                        sp -= 2;
                        stack[l] = stack[sp];
                        stack[l + 1] = stack[sp + 1];
                        pc += 1
                    }
                    // aastore
                    0x37 => {
                        need!(3);
                        let v = pop!() as u16;
                        let i = pop!();
                        let r = pop!();
                        // ArrayStoreException (JCVM §7.5.2) when the value's class does not fit.
                        let vclass = if v == 0 { None } else { Some(v) };
                        let elem = match self.rt.heap.get(r as u16).map(|o| &o.body) {
                            Some(Body::Array { elem: ElemType::Ref(e), .. }) => Some(*e),
                            _ => None,
                        };
                        if let (Some(v), Some(e)) = (vclass, elem) {
                            let ok = match self.rt.heap.get(v).map(|o| &o.body) {
                                Some(Body::Instance { class, .. }) => prog.is_subclass(*class, e),
                                Some(Body::Array { .. }) => e == cls::OBJECT,
                                None => false,
                            };
                            if !ok {
                                throw_cls!(cls::ARRAY_STORE)
                            }
                        }
                        if self.not_storable(v) {
                            bad!()
                        }
                        heap_try!(self.rt.heap.store(r as u16, i, Elem::Ref(v), self.rt.session.context));
                        pc += 1
                    }
                    // bastore sastore
                    0x38 | 0x39 => {
                        need!(3);
                        let v = pop!();
                        let i = pop!();
                        let r = pop!();
                        // JCVM §7.5.4: truncated to a byte for byte and boolean arrays.
                        let e = if op == 0x38 { Elem::Byte(v as u8) } else { Elem::Short(v) };
                        heap_try!(self.rt.heap.store(r as u16, i, e, self.rt.session.context));
                        pc += 1
                    }
                    0x3A => {
                        need!(4);
                        let v = pop_int!();
                        let i = pop!();
                        let r = pop!();
                        heap_try!(self.rt.heap.store(r as u16, i, Elem::Int(v), self.rt.session.context));
                        pc += 1
                    }
                    0x3B => {
                        need!(1);
                        sp -= 1;
                        pc += 1
                    }
                    0x3C => {
                        need!(2);
                        sp -= 2;
                        pc += 1
                    }
                    0x3D => {
                        need!(1);
                        stack[sp] = stack[sp - 1];
                        sp += 1;
                        pc += 1
                    }
                    0x3E => {
                        need!(2);
                        stack[sp] = stack[sp - 2];
                        stack[sp + 1] = stack[sp - 1];
                        sp += 2;
                        pc += 1
                    }
                    // dup_x mn (JCVM §7.5.18)
                    0x3F => {
                        let mn = code[pc + 1];
                        let (m, n) = ((mn >> 4) as usize, (mn & 0xF) as usize);
                        if !(1..=4).contains(&m) || (n != 0 && (n < m || n > m + 4)) {
                            bad!()
                        }
                        let depth = n.max(m);
                        need!(depth);
                        if sp + m > op_limit {
                            bad!()
                        }
                        if n == 0 {
                            stack.copy_within(sp - m..sp, sp);
                        } else {
                            // ..., wN..w(m+1), wm..w1 → ..., wm..w1, wN..w(m+1), wm..w1
                            let mut top = [0i16; 4];
                            top[..m].copy_from_slice(&stack[sp - m..sp]);
                            stack.copy_within(sp - n..sp, sp - n + m);
                            stack[sp - n..sp - n + m].copy_from_slice(&top[..m]);
                        }
                        sp += m;
                        pc += 2
                    }
                    // swap_x mn (JCVM §7.5.108)
                    0x40 => {
                        let mn = code[pc + 1];
                        let (m, n) = ((mn >> 4) as usize, (mn & 0xF) as usize);
                        if !(1..=2).contains(&m) || !(1..=2).contains(&n) {
                            bad!()
                        }
                        need!(m + n);
                        let mut top = [0i16; 2];
                        top[..m].copy_from_slice(&stack[sp - m..sp]);
                        stack.copy_within(sp - m - n..sp - m, sp - n);
                        stack[sp - m - n..sp - n].copy_from_slice(&top[..m]);
                        pc += 2
                    }
                    // Short arithmetic: results are truncated to 16 bits (JCVM §7.5.x).
                    0x41 | 0x43 | 0x45 | 0x47 | 0x49 | 0x4D | 0x4F | 0x51 | 0x53 | 0x55 | 0x57 => {
                        need!(2);
                        let b = pop!();
                        let a = pop!();
                        let r = match op {
                            0x41 => a.wrapping_add(b),
                            0x43 => a.wrapping_sub(b),
                            0x45 => a.wrapping_mul(b),
                            0x47 => {
                                if b == 0 {
                                    throw_cls!(cls::ARITHMETIC)
                                }
                                a.wrapping_div(b)
                            }
                            0x49 => {
                                if b == 0 {
                                    throw_cls!(cls::ARITHMETIC)
                                }
                                a.wrapping_rem(b)
                            }
                            0x4D => ((a as i32) << (b & 0x1F)) as i16,
                            0x4F => ((a as i32) >> (b & 0x1F)) as i16,
                            // sushr: value sign-extended to 32 bits, then logical shift.
                            0x51 => (((a as i32) as u32) >> (b & 0x1F)) as i16,
                            0x53 => a & b,
                            0x55 => a | b,
                            _ => a ^ b,
                        };
                        push!(r);
                        pc += 1
                    }
                    0x42 | 0x44 | 0x46 | 0x48 | 0x4A | 0x4E | 0x50 | 0x52 | 0x54 | 0x56 | 0x58 => {
                        need!(4);
                        let b = pop_int!();
                        let a = pop_int!();
                        let r = match op {
                            0x42 => a.wrapping_add(b),
                            0x44 => a.wrapping_sub(b),
                            0x46 => a.wrapping_mul(b),
                            0x48 => {
                                if b == 0 {
                                    throw_cls!(cls::ARITHMETIC)
                                }
                                a.wrapping_div(b)
                            }
                            0x4A => {
                                if b == 0 {
                                    throw_cls!(cls::ARITHMETIC)
                                }
                                a.wrapping_rem(b)
                            }
                            0x4E => a.wrapping_shl(b as u32 & 0x1F),
                            0x50 => a >> (b & 0x1F),
                            0x52 => ((a as u32) >> (b & 0x1F)) as i32,
                            0x54 => a & b,
                            0x56 => a | b,
                            _ => a ^ b,
                        };
                        push_int!(r);
                        pc += 1
                    }
                    0x4B => {
                        need!(1);
                        stack[sp - 1] = stack[sp - 1].wrapping_neg();
                        pc += 1
                    }
                    0x4C => {
                        need!(2);
                        let a = pop_int!();
                        push_int!(a.wrapping_neg());
                        pc += 1
                    }
                    // sinc index const
                    0x59 => {
                        let l = local!(code[pc + 1] as usize);
                        stack[l] = stack[l].wrapping_add(code[pc + 2] as i8 as i16);
                        pc += 3
                    }
                    0x5A => {
                        let l = local2!(code[pc + 1] as usize);
                        let v = join(stack[l], stack[l + 1]).wrapping_add(code[pc + 2] as i8 as i32);
                        stack[l] = (v >> 16) as i16;
                        stack[l + 1] = v as i16;
                        pc += 3
                    }
                    0x5B => {
                        need!(1);
                        stack[sp - 1] = stack[sp - 1] as i8 as i16;
                        pc += 1
                    }
                    0x5C => {
                        need!(1);
                        let v = pop!();
                        push_int!(v as i32);
                        pc += 1
                    }
                    0x5D => {
                        need!(2);
                        let v = pop_int!();
                        push!(v as i8 as i16);
                        pc += 1
                    }
                    0x5E => {
                        need!(2);
                        let v = pop_int!();
                        push!(v as i16);
                        pc += 1
                    }
                    0x5F => {
                        need!(4);
                        let b = pop_int!();
                        let a = pop_int!();
                        push!(a.cmp(&b) as i16);
                        pc += 1
                    }
                    // if<cond> (short against zero), ifnull/ifnonnull
                    0x60..=0x67 => {
                        need!(1);
                        let v = pop!();
                        let t = match op {
                            0x60 | 0x66 => v == 0,
                            0x61 | 0x67 => v != 0,
                            0x62 => v < 0,
                            0x63 => v >= 0,
                            0x64 => v > 0,
                            _ => v <= 0,
                        };
                        if t {
                            branch!(code[pc + 1] as i8)
                        }
                        pc += 2
                    }
                    0x68..=0x6F => {
                        need!(2);
                        let b = pop!();
                        let a = pop!();
                        let t = match op {
                            0x68 | 0x6A => a == b,
                            0x69 | 0x6B => a != b,
                            0x6C => a < b,
                            0x6D => a >= b,
                            0x6E => a > b,
                            _ => a <= b,
                        };
                        if t {
                            branch!(code[pc + 1] as i8)
                        }
                        pc += 2
                    }
                    0x70 => branch!(code[pc + 1] as i8),
                    // jsr: the return address is a word on the stack (JCVM §7.5.54).
                    0x71 => {
                        if sp >= op_limit {
                            bad!()
                        }
                        push!((pc + 3) as u16 as i16);
                        branch!(s16(code, pc + 1))
                    }
                    0x72 => {
                        let l = local!(code[pc + 1] as usize);
                        pc = stack[l] as u16 as usize;
                        steps += 1;
                        if steps > budget {
                            return Err(Thrown::Fault(Fault::StepBudget));
                        }
                    }
                    // stableswitch / itableswitch / slookupswitch / ilookupswitch
                    0x73..=0x76 => {
                        let key: i32 = if op == 0x73 || op == 0x75 {
                            need!(1);
                            pop!() as i32
                        } else {
                            need!(2);
                            pop_int!()
                        };
                        let Some(default) = get_s16(code, pc + 1) else { bad!() };
                        let off = match op {
                            0x73 | 0x74 => {
                                let (lo, hi, tbl) = if op == 0x73 {
                                    match (get_s16(code, pc + 3), get_s16(code, pc + 5)) {
                                        (Some(l), Some(h)) => (l as i32, h as i32, pc + 7),
                                        _ => bad!(),
                                    }
                                } else {
                                    match (get_s32(code, pc + 3), get_s32(code, pc + 7)) {
                                        (Some(l), Some(h)) => (l, h, pc + 11),
                                        _ => bad!(),
                                    }
                                };
                                if key >= lo && key <= hi {
                                    let i = (key as i64 - lo as i64) as usize;
                                    match get_s16(code, tbl + 2 * i) {
                                        Some(o) => o,
                                        None => bad!(),
                                    }
                                } else {
                                    default
                                }
                            }
                            _ => {
                                let Some(n) = get_s16(code, pc + 3) else { bad!() };
                                let n = n as u16 as usize;
                                let w = if op == 0x75 { 4 } else { 6 };
                                let mut found = default;
                                for k in 0..n {
                                    let p = pc + 5 + w * k;
                                    let (m, o) = if op == 0x75 {
                                        (get_s16(code, p).map(|v| v as i32), get_s16(code, p + 2))
                                    } else {
                                        (get_s32(code, p), get_s16(code, p + 4))
                                    };
                                    let (Some(m), Some(o)) = (m, o) else { bad!() };
                                    if m == key {
                                        found = o;
                                        break;
                                    }
                                }
                                found
                            }
                        };
                        branch!(off)
                    }
                    // returns
                    0x77..=0x7A => {
                        let words = match op {
                            0x7A => 0,
                            0x79 => 2,
                            _ => 1,
                        };
                        need!(words);
                        let hi = if words > 0 { stack[sp - words] } else { 0 };
                        let lo = stack[sp - 1];
                        let Some(f) = frames.pop() else {
                            return Ok(match words {
                                0 => None,
                                1 => Some(lo as i32),
                                _ => Some(join(hi, lo)),
                            });
                        };
                        sp = lp;
                        if words == 2 {
                            stack[sp] = hi;
                            stack[sp + 1] = lo;
                        } else if words == 1 {
                            stack[sp] = lo;
                        }
                        sp += words;
                        if f.switched {
                            self.restore_context();
                        }
                        lp = f.lp;
                        op_base = f.op_base;
                        op_limit = f.op_limit;
                        nlocals = f.nlocals;
                        pc = f.ret_pc;
                        if f.pkg != pkg {
                            pkg = f.pkg;
                            let Some(pk) = prog.package(pkg) else { bad!() };
                            code = &pk.code;
                            code_len = pk.code_len;
                            cp = &pk.cp;
                            int_ok = pk.int;
                        }
                    }
                    // getstatic_a/b/s/i
                    0x7B..=0x7E => {
                        let w = match op {
                            0x7C => 1,
                            0x7E => 4,
                            _ => 2,
                        };
                        let (s, o) = static_at!(u16at(code, pc + 1), w);
                        let img = &self.rt.statics[s];
                        match op {
                            0x7C => push!(img[o] as i8 as i16),
                            0x7E => push_int!(i32::from_be_bytes([img[o], img[o + 1], img[o + 2], img[o + 3]])),
                            _ => push!(i16::from_be_bytes([img[o], img[o + 1]])),
                        }
                        pc += 3
                    }
                    0x7F..=0x82 => {
                        let w = match op {
                            0x80 => 1,
                            0x82 => 4,
                            _ => 2,
                        };
                        need!(if w == 4 { 2 } else { 1 });
                        let (s, o) = static_at!(u16at(code, pc + 1), w);
                        let mut bytes = [0u8; 4];
                        match op {
                            0x80 => bytes[0] = pop!() as u8,
                            0x82 => bytes = pop_int!().to_be_bytes(),
                            _ => {
                                let v = pop!();
                                if op == 0x7F && self.not_storable(v as u16) {
                                    bad!()
                                }
                                bytes[..2].copy_from_slice(&v.to_be_bytes())
                            }
                        }
                        let old = self.rt.statics[s][o..o + w].to_vec();
                        let (pk16, o16) = (s as u16, o as u16);
                        heap_try!(self
                            .rt
                            .heap
                            .journal
                            .write_range(w, || crate::jcvm::journal::Undo::Static { pkg: pk16, off: o16, old })
                            .map_err(Access::Stop));
                        self.rt.statics[s][o..o + w].copy_from_slice(&bytes[..w]);
                        self.rt.heap.mark_dirty();
                        pc += 3
                    }
                    // getfield_<t> (1-byte index), _w (2-byte), _this (local 0)
                    0x83..=0x86 | 0xA9..=0xAC | 0xAD..=0xB0 => {
                        let (kind, idx, len, r) = match op {
                            0x83..=0x86 => {
                                need!(1);
                                (op - 0x83, code[pc + 1] as u16, 2, pop!())
                            }
                            0xA9..=0xAC => {
                                need!(1);
                                (op - 0xA9, u16at(code, pc + 1), 3, pop!())
                            }
                            _ => {
                                let l = local!(0);
                                (op - 0xAD, code[pc + 1] as u16, 2, stack[l])
                            }
                        };
                        let slot = field_slot!(idx);
                        let w = if kind == 3 { 2 } else { 1 };
                        let f = fields!(r, slot, w);
                        match kind {
                            1 => push!(f[slot] as i8 as i16),
                            3 => {
                                let v = join(f[slot], f[slot + 1]);
                                push_int!(v)
                            }
                            _ => push!(f[slot]),
                        }
                        pc += len
                    }
                    // putfield_<t>, _w, _this
                    0x87..=0x8A | 0xB1..=0xB4 | 0xB5..=0xB8 => {
                        let (kind, idx, len) = match op {
                            0x87..=0x8A => (op - 0x87, code[pc + 1] as u16, 2),
                            0xB1..=0xB4 => (op - 0xB1, u16at(code, pc + 1), 3),
                            _ => (op - 0xB5, code[pc + 1] as u16, 2),
                        };
                        let w = if kind == 3 { 2 } else { 1 };
                        let this = op >= 0xB5;
                        need!(w + usize::from(!this));
                        let v: i32 = if w == 2 { pop_int!() } else { pop!() as i32 };
                        let r = if this {
                            let l = local!(0);
                            stack[l]
                        } else {
                            pop!()
                        };
                        let slot = field_slot!(idx);
                        if kind == 0 && self.not_storable(v as u16) {
                            bad!()
                        }
                        let vals = match kind {
                            1 => [v as i8 as i16, 0],
                            3 => [(v >> 16) as i16, v as i16],
                            _ => [v as i16, 0],
                        };
                        heap_try!(self.rt.heap.put_cells(r as u16, slot, &vals[..w], self.rt.session.context));
                        pc += len
                    }
                    // invokevirtual, invokespecial, invokestatic, invokeinterface
                    0x8B..=0x8E => {
                        let (target, nargs, len, switch) = match op {
                            0x8B => {
                                let Cp::Virtual { token, package, nargs } = cp_at!(u16at(code, pc + 1)) else { bad!() };
                                let n = nargs as usize;
                                need!(n.max(1));
                                let r = stack[sp - n] as u16;
                                if r == 0 {
                                    throw_cls!(cls::NULL_POINTER)
                                }
                                let c = match self.rt.heap.get(r) {
                                    // JCRE §6.2.8.4: the same context's objects and JCRE
                                    // entry-point objects only.
                                    Some(o) if !accessible(o.owner, self.rt.session.context) => bad!(),
                                    Some(o) => match &o.body {
                                        Body::Instance { class, .. } => *class,
                                        // Arrays are Objects: only equals (token 0) exists.
                                        Body::Array { .. } => cls::OBJECT,
                                    },
                                    None => bad!(),
                                };
                                let Some(k) = prog.class(c) else { bad!() };
                                let t =
                                    if package { k.ptable.get(token as usize) } else { k.vtable.get(token as usize) };
                                match t {
                                    Some(t) => (*t, n, 3, None),
                                    None => bad!(),
                                }
                            }
                            0x8C | 0x8D => {
                                let Cp::Direct(t) = cp_at!(u16at(code, pc + 1)) else { bad!() };
                                let n = match t {
                                    Target::Bytecode { pkg: p, offset } => {
                                        match prog.package(p).and_then(|x| header(&x.code, offset as usize)) {
                                            Some(h) => h.nargs as usize,
                                            None => bad!(),
                                        }
                                    }
                                    Target::Native(nv) => nv.signature().0 as usize,
                                    Target::Abstract(n) => n as usize,
                                    Target::Missing => 0,
                                };
                                need!(n);
                                if op == 0x8C && n > 0 && stack[sp - n] == 0 {
                                    throw_cls!(cls::NULL_POINTER)
                                }
                                (t, n, 3, None)
                            }
                            _ => {
                                let n = code[pc + 1] as usize;
                                let Cp::Class(iface) = cp_at!(u16at(code, pc + 2)) else { bad!() };
                                let token = code[pc + 4];
                                need!(n.max(1));
                                let r = stack[sp - n] as u16;
                                if r == 0 {
                                    throw_cls!(cls::NULL_POINTER)
                                }
                                let Some(c) = self.class_of(r) else { bad!() };
                                // JCRE §6.2.8.5-6: another context's object only through a
                                // Shareable interface, with a switch to its owner's context.
                                let owner = self.rt.heap.get(r).map_or(0, |o| o.owner);
                                let switch = if accessible(owner, self.rt.session.context) {
                                    None
                                } else if prog.is_subclass(iface, cls::SHAREABLE) {
                                    Some(owner)
                                } else {
                                    bad!()
                                };
                                let Some(vt) = prog.interface_token(c, iface, token) else { bad!() };
                                let Some(t) = prog.class(c).and_then(|k| k.vtable.get(vt as usize)) else { bad!() };
                                (*t, n, 5, switch)
                            }
                        };
                        steps += 1;
                        if steps > budget {
                            return Err(Thrown::Fault(Fault::StepBudget));
                        }
                        match target {
                            Target::Bytecode { pkg: p, offset } => {
                                let Some(pk) = prog.package(p) else { bad!() };
                                let Some(h) = header(&pk.code, offset as usize) else { bad!() };
                                if h.flags & 0x4 != 0 {
                                    return Err(Thrown::Fault(Fault::AbstractMethod));
                                }
                                if h.nargs as usize != nargs {
                                    bad!()
                                }
                                if frames.len() >= MAX_FRAMES {
                                    throw!(self.throw(cls::SYSTEM_EXCEPTION, 5))
                                }
                                let new_lp = sp - nargs;
                                let new_nlocals = nargs + h.max_locals as usize;
                                let new_base = new_lp + new_nlocals;
                                let new_limit = new_base + h.max_stack as usize;
                                if new_limit > GUARD + STACK_WORDS {
                                    // Stack overflow: SystemException.NO_RESOURCE.
                                    throw!(self.throw(cls::SYSTEM_EXCEPTION, 5))
                                }
                                frames.push(Frame {
                                    pkg,
                                    ret_pc: pc + len,
                                    lp,
                                    op_base,
                                    op_limit,
                                    nlocals,
                                    switched: switch.is_some(),
                                });
                                if let Some(o) = switch {
                                    self.switch_context(o);
                                }
                                stack[new_lp + nargs..new_base].fill(0);
                                lp = new_lp;
                                nlocals = new_nlocals;
                                op_base = new_base;
                                op_limit = new_limit;
                                sp = new_base;
                                pc = h.code;
                                if p != pkg {
                                    pkg = p;
                                    code = &pk.code;
                                    code_len = pk.code_len;
                                    cp = &pk.cp;
                                    int_ok = pk.int;
                                }
                            }
                            Target::Native(nv) => {
                                let (na, ret) = nv.signature();
                                if na as usize != nargs || nargs > MAX_NATIVE_ARGS {
                                    bad!()
                                }
                                let mut args = [0i16; MAX_NATIVE_ARGS];
                                args[..nargs].copy_from_slice(&stack[sp - nargs..sp]);
                                sp -= nargs;
                                let r = natives::call(self, nv, &args[..nargs]);
                                if self.rt.api_trace.is_some() {
                                    self.trace_api(nv, &args[..nargs], &r);
                                }
                                match r {
                                    Ok(v) => {
                                        if ret {
                                            push!(v.unwrap_or(0))
                                        }
                                    }
                                    Err(t) => throw!(t),
                                }
                                pc += len
                            }
                            Target::Abstract(_) => return Err(Thrown::Fault(Fault::AbstractMethod)),
                            Target::Missing => {
                                return Err(Thrown::Fault(Fault::NotImplemented(format!(
                                    "pc {pc} of package {}",
                                    hex::encode_upper(prog.package(pkg).map_or(&[][..], |p| &p.aid))
                                ))))
                            }
                        }
                    }
                    // new
                    0x8F => {
                        let Cp::Class(c) = cp_at!(u16at(code, pc + 1)) else { bad!() };
                        let Some(k) = prog.class(c) else { bad!() };
                        if k.interface || !k.implemented {
                            if !k.implemented {
                                return Err(Thrown::Fault(Fault::NotImplemented(format!("new {}", k.name))));
                            }
                            bad!()
                        }
                        match self.rt.heap.new_instance(c, k.cells as usize, self.rt.session.context) {
                            Ok(h) => push!(h as i16),
                            Err(_) => throw!(self.throw(cls::SYSTEM_EXCEPTION, 5)),
                        }
                        pc += 3
                    }
                    // newarray atype / anewarray class
                    0x90 | 0x91 => {
                        need!(1);
                        let n = pop!();
                        let (elem, len) = if op == 0x90 {
                            let e = match code[pc + 1] {
                                10 => ElemType::Boolean,
                                11 => ElemType::Byte,
                                12 => ElemType::Short,
                                13 => ElemType::Int,
                                _ => bad!(),
                            };
                            if e == ElemType::Int && !int_ok {
                                bad!()
                            }
                            (e, 2)
                        } else {
                            let Cp::Class(c) = cp_at!(u16at(code, pc + 1)) else { bad!() };
                            (ElemType::Ref(c), 3)
                        };
                        if n < 0 {
                            throw_cls!(cls::NEGATIVE_ARRAY_SIZE)
                        }
                        match self.rt.heap.new_array(elem, n as usize, Transience::Persistent, self.rt.session.context)
                        {
                            Ok(h) => push!(h as i16),
                            Err(_) => throw!(self.throw(cls::SYSTEM_EXCEPTION, 5)),
                        }
                        pc += len
                    }
                    0x92 => {
                        need!(1);
                        let r = pop!();
                        let a = array!(r);
                        let n = a.len() as i16;
                        push!(n);
                        pc += 1
                    }
                    0x93 => {
                        need!(1);
                        let r = pop!() as u16;
                        if r == 0 {
                            throw_cls!(cls::NULL_POINTER)
                        }
                        // JCRE §6.2.8.7: the same context's exception objects or the JCRE's.
                        if self.rt.heap.get(r).is_some_and(|o| !accessible(o.owner, self.rt.session.context)) {
                            bad!()
                        }
                        match self.class_of(r) {
                            Some(c) if prog.is_subclass(c, cls::THROWABLE) => throw!(Thrown::Exception(r)),
                            _ => bad!(),
                        }
                    }
                    // checkcast / instanceof
                    0x94 | 0x95 => {
                        need!(1);
                        let atype = code[pc + 1];
                        let class = if atype == 0 || atype == 14 {
                            match cp_at!(u16at(code, pc + 2)) {
                                Cp::Class(c) => c,
                                _ => bad!(),
                            }
                        } else if (10..=13).contains(&atype) {
                            0
                        } else {
                            bad!()
                        };
                        let r = stack[sp - 1] as u16;
                        // JCRE §6.2.8.8-10: another context's object only when it is Shareable.
                        if let Some(o) = self.rt.heap.get(r) {
                            if !accessible(o.owner, self.rt.session.context)
                                && !matches!(o.body, Body::Instance { class, .. } if prog.is_subclass(class, cls::SHAREABLE))
                            {
                                bad!()
                            }
                        }
                        if op == 0x94 {
                            if r != 0 && !self.instance_of(r, atype, class) {
                                throw_cls!(cls::CLASS_CAST)
                            }
                        } else {
                            stack[sp - 1] = i16::from(r != 0 && self.instance_of(r, atype, class));
                        }
                        pc += 4
                    }
                    0x96 => {
                        let l = local!(code[pc + 1] as usize);
                        stack[l] = stack[l].wrapping_add(s16(code, pc + 2));
                        pc += 4
                    }
                    0x97 => {
                        let l = local2!(code[pc + 1] as usize);
                        let v = join(stack[l], stack[l + 1]).wrapping_add(s16(code, pc + 2) as i32);
                        stack[l] = (v >> 16) as i16;
                        stack[l + 1] = v as i16;
                        pc += 4
                    }
                    0x98..=0x9F => {
                        need!(1);
                        let v = pop!();
                        let t = match op {
                            0x98 | 0x9E => v == 0,
                            0x99 | 0x9F => v != 0,
                            0x9A => v < 0,
                            0x9B => v >= 0,
                            0x9C => v > 0,
                            _ => v <= 0,
                        };
                        if t {
                            branch!(s16(code, pc + 1))
                        }
                        pc += 3
                    }
                    0xA0..=0xA7 => {
                        need!(2);
                        let b = pop!();
                        let a = pop!();
                        let t = match op {
                            0xA0 | 0xA2 => a == b,
                            0xA1 | 0xA3 => a != b,
                            0xA4 => a < b,
                            0xA5 => a >= b,
                            0xA6 => a > b,
                            _ => a <= b,
                        };
                        if t {
                            branch!(s16(code, pc + 1))
                        }
                        pc += 3
                    }
                    0xA8 => branch!(s16(code, pc + 1)),
                    // impdep1/2 and undefined opcodes.
                    _ => bad!(),
                }
            }

            // Exception dispatch (JCVM §7.5.7 athrow, §6.10 handler table order).
            let Some((exc, mut at)) = pending.take() else { continue 'outer };
            let exc_class = self.class_of(exc);
            loop {
                let pk = prog.package(pkg);
                let found = pk.and_then(|pk| {
                    pk.handlers.iter().find(|h| {
                        (h.start as usize) <= at
                            && (at as u32) < h.end
                            && match (h.catch, exc_class) {
                                (None, _) => true,
                                (Some(c), Some(e)) => prog.is_subclass(e, c),
                                _ => false,
                            }
                    })
                });
                if let Some(h) = found {
                    sp = op_base;
                    stack[sp] = exc as i16;
                    sp += 1;
                    pc = h.handler as usize;
                    continue 'outer;
                }
                let Some(f) = frames.pop() else { return Err(Thrown::Exception(exc)) };
                if f.switched {
                    self.restore_context();
                }
                lp = f.lp;
                op_base = f.op_base;
                op_limit = f.op_limit;
                nlocals = f.nlocals;
                at = f.ret_pc.saturating_sub(1);
                if f.pkg != pkg {
                    pkg = f.pkg;
                    let Some(pk) = prog.package(pkg) else { return Err(Thrown::Exception(exc)) };
                    code = &pk.code;
                    code_len = pk.code_len;
                    cp = &pk.cp;
                    int_ok = pk.int;
                }
            }
        }
    }
}
