//! The bytecode interpreter (JCVM §3 runtime structures, §7 instruction set).
//!
//! One operand stack of 16-bit words holds every frame: a frame is its locals (arguments
//! first, JCVM §3.5) followed by its operand stack. Ints take two words, high word first.
//! References are heap handles. The hot loop dispatches directly on the opcode byte over the
//! package's Method component bytes; constant-pool operands index the linked constant pool
//! ([`crate::jcvm::link::Cp`]), so no instruction searches anything.
//!
//! Safety net (no Rust panic on any input): the Method bytes are padded
//! ([`crate::jcvm::link::CODE_PAD`]) so operand reads stay in the vector; the stack has guard
//! words below the first frame and slack above the limit; every instruction starts with a
//! check that the pc is inside the method bytes and the stack pointer inside the frame's
//! operand area; pops of many words, local indices and branch targets are checked where
//! they happen. A failed check raises `SecurityException` (what a card's defensive VM does
//! on code the off-card verifier would refuse). Depth ([`MAX_FRAMES`], [`STACK_WORDS`]) and
//! work ([`Runtime::step_budget`], counted at invokes and taken branches) are bounded.

pub mod exec;

pub use exec::{Exec, Fault, Thrown};

use crate::jcvm::heap::{ClassId, Handle, Heap};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Operand stack + locals words for all frames of one call from the JCRE.
pub const STACK_WORDS: usize = 4096;
/// Words below the first frame, so that a pop past the bottom reads a guard word.
pub const GUARD: usize = 16;
/// Words above [`STACK_WORDS`] that an instruction may push past the checked limit.
pub const SLACK: usize = 16;
/// Frames for one call from the JCRE.
pub const MAX_FRAMES: usize = 128;
/// Default budget of invokes + taken branches per call from the JCRE (a card watchdog).
pub const DEFAULT_STEP_BUDGET: u64 = 200_000_000;

/// One applet instance (JCRE §3: an Applet object registered under an AID).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// The instance AID it registered with.
    pub aid: Vec<u8>,
    /// The loaded package (slot) it belongs to.
    pub package: u16,
    /// The applet object.
    pub applet: Handle,
    /// The JCRE-owned `AID` object for it (`JCSystem.getAID`).
    pub aid_object: Handle,
    /// GP privileges from INSTALL (kept for part 3, `GPSystem`).
    pub privileges: Vec<u8>,
}

/// The state of the `APDU` object during one command (JC API `APDU`, JCRE §9).
#[derive(Clone, Debug, Default)]
pub struct ApduState {
    /// Class byte.
    pub cla: u8,
    /// Incoming data (Nc bytes).
    pub data: Vec<u8>,
    /// Bytes of `data` already received into the buffer.
    pub received: usize,
    /// Ne.
    pub ne: usize,
    /// Extended-length command.
    pub extended: bool,
    /// `APDU.getCurrentState()` value.
    pub state: i8,
    /// Outgoing length declared with `setOutgoingLength`.
    pub out_len: usize,
    /// Response data sent so far.
    pub out: Vec<u8>,
    /// The logical channel.
    pub channel: u8,
}

/// Per-call context (not persistent).
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The instance whose code runs (index into [`Runtime::instances`]).
    pub instance: Option<usize>,
    /// Firewall context of the running code (package slot + 1; 0 = JCRE).
    pub context: u16,
    /// `Applet.selectingApplet()`.
    pub selecting: bool,
    /// `Applet.reSelectingApplet()`.
    pub reselecting: bool,
    /// The AID the INSTALL gave, while `install()` runs.
    pub installing: Option<Vec<u8>>,
    /// What `register()` recorded during `install()`: applet object and AID.
    pub registered: Option<(Handle, Vec<u8>)>,
    /// Contexts (and active instances) to go back to, one per context switch in progress
    /// (JCRE §6.2.8.6 Shareable calls, `getAppletShareableInterfaceObject`); the top is the
    /// previous context of `JCSystem.getPreviousContextAID`.
    pub ctx_stack: Vec<(u16, Option<usize>)>,
    /// `JCSystem.requestObjectDeletion()` was called: collect at the end of the APDU.
    pub gc_requested: bool,
    /// Where the last exception was thrown: the throwing frame first, then its callers
    /// (`trace.rs` renders it for an exception that escapes the applet).
    pub trace: Vec<crate::jcvm::trace::FramePos>,
    /// The APDU.
    pub apdu: ApduState,
    /// Instances selected, by channel (for `isAppletActive`, CLEAR_ON_DESELECT).
    pub selected: BTreeMap<u8, usize>,
}

/// The VM's mutable state: heap, statics, instances (serialised with the card image) and
/// the per-call session (not).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Runtime {
    /// The heap.
    pub heap: Heap,
    /// Static field images by package slot (JCVM §6.11; references are 2-byte handles).
    pub statics: Vec<Vec<u8>>,
    /// Applet instances.
    pub instances: Vec<Instance>,
    /// JCRE-owned exception instances by class (`ISOException.throwIt` throws one of these,
    /// JCRE §6.2.1 "JCRE entry point objects").
    pub system_exceptions: BTreeMap<ClassId, Handle>,
    /// The `APDU` object (JCRE-owned).
    pub apdu_object: Handle,
    /// The APDU buffer (a global array).
    pub apdu_buffer: Handle,
    /// The install parameter array (a global array, JCRE §11.1.4).
    pub install_buffer: Handle,
    /// Per-call state.
    #[serde(skip)]
    pub session: Session,
    /// Work budget per call.
    #[serde(skip, default = "default_budget")]
    pub step_budget: u64,
    /// The reusable operand stack.
    #[serde(skip)]
    pub stack: Vec<i16>,
    /// The reusable frame stack.
    #[serde(skip)]
    pub frames: Vec<exec::Frame>,
    /// Bytecode coverage while it is on (`Jcvm::set_coverage`).
    #[serde(skip)]
    pub coverage: Option<Coverage>,
    /// The instruction trace while it is on (`Jcvm::set_trace`).
    #[serde(skip)]
    pub bytecode_trace: Option<BytecodeTrace>,
    /// The API call trace while it is on: one line per native call.
    #[serde(skip)]
    pub api_trace: Option<Vec<String>>,
}

/// `--trace-bytecode`: each instruction executed with the top of the operand stack, for the
/// instances with this AID (all when `None`), at most `remaining` more lines.
#[derive(Clone, Debug, Default)]
pub struct BytecodeTrace {
    /// The instance AID to trace.
    pub aid: Option<Vec<u8>>,
    /// Lines left before the trace stops.
    pub remaining: u64,
    /// Lines not yet taken.
    pub lines: Vec<String>,
}

/// How often each bytecode ran, and each branch was taken, per package slot and Method
/// component offset (issue #17: LCOV and per-method tables from it).
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    /// Executions by package slot, then instruction offset.
    pub hits: Vec<Vec<u32>>,
    /// Taken branches (and switch jumps) by package slot, then instruction offset.
    pub taken_at: Vec<Vec<u32>>,
}

impl Coverage {
    fn slot(v: &mut Vec<Vec<u32>>, pkg: u16, pc: usize) -> &mut u32 {
        let p = pkg as usize;
        if v.len() <= p {
            v.resize(p + 1, Vec::new());
        }
        let row = &mut v[p];
        if row.len() <= pc {
            row.resize(pc + 1, 0);
        }
        &mut row[pc]
    }

    /// One execution of the instruction at `pc`.
    #[inline]
    pub fn hit(&mut self, pkg: u16, pc: usize) {
        let c = Self::slot(&mut self.hits, pkg, pc);
        *c = c.saturating_add(1);
    }

    /// The branch at `pc` jumped.
    #[inline]
    pub fn taken(&mut self, pkg: u16, pc: usize) {
        let c = Self::slot(&mut self.taken_at, pkg, pc);
        *c = c.saturating_add(1);
    }

    /// Executions of the instruction at `pc` of package `pkg`.
    pub fn hits_at(&self, pkg: u16, pc: usize) -> u32 {
        self.hits.get(pkg as usize).and_then(|r| r.get(pc)).copied().unwrap_or(0)
    }

    /// Jumps of the branch at `pc`.
    pub fn taken_count(&self, pkg: u16, pc: usize) -> u32 {
        self.taken_at.get(pkg as usize).and_then(|r| r.get(pc)).copied().unwrap_or(0)
    }
}

fn default_budget() -> u64 {
    DEFAULT_STEP_BUDGET
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

/// The exception classes the VM and the API natives throw JCRE-owned instances of.
const SYSTEM_THROWABLES: [ClassId; 16] = {
    use crate::jcvm::api::cls::*;
    [
        NULL_POINTER,
        ARRAY_INDEX_OUT_OF_BOUNDS,
        NEGATIVE_ARRAY_SIZE,
        CLASS_CAST,
        ARITHMETIC,
        SECURITY,
        ARRAY_STORE,
        CARD_EXCEPTION,
        CARD_RUNTIME_EXCEPTION,
        ISO_EXCEPTION,
        PIN_EXCEPTION,
        APDU_EXCEPTION,
        SYSTEM_EXCEPTION,
        TRANSACTION_EXCEPTION,
        USER_EXCEPTION,
        CRYPTO_EXCEPTION,
    ]
};

/// The APDU buffer size for short APDUs: 5 header bytes + 256 (JC API `APDU`: at least
/// 133 bytes; 261 lets a full short case-4 command and a 256-byte response fit).
pub const APDU_BUFFER: usize = 261;

impl Runtime {
    /// A fresh runtime with the JCRE objects (APDU object and buffer, install buffer).
    pub fn new() -> Runtime {
        Runtime::with_limits(crate::jcvm::heap::Limits::default())
    }

    /// A fresh runtime on a card with these memory sizes.
    pub fn with_limits(limits: crate::jcvm::heap::Limits) -> Runtime {
        let mut heap = Heap::with_limits(limits);
        use crate::jcvm::api::cls;
        use crate::jcvm::heap::{ElemType, Transience};
        // A fresh heap has room: these cannot fail.
        let apdu_object = heap.new_instance(cls::APDU, 0, 0).unwrap_or(0);
        let apdu_buffer = heap.new_array(ElemType::Byte, APDU_BUFFER, Transience::ClearOnReset, 0).unwrap_or(0);
        let install_buffer = heap.new_array(ElemType::Byte, 256, Transience::ClearOnReset, 0).unwrap_or(0);
        // The JCRE's exception objects (JCRE §6.2.1 temporary entry-point objects) exist from
        // the start, so that throwing one never allocates from the applets' memory.
        let mut system_exceptions = BTreeMap::new();
        for c in SYSTEM_THROWABLES {
            if let Ok(h) = heap.new_instance(c, 0, 0) {
                system_exceptions.insert(c, h);
            }
        }
        Runtime {
            heap,
            statics: Vec::new(),
            instances: Vec::new(),
            system_exceptions,
            apdu_object,
            apdu_buffer,
            install_buffer,
            session: Session::default(),
            step_budget: DEFAULT_STEP_BUDGET,
            stack: Vec::new(),
            frames: Vec::new(),
            coverage: None,
            bytecode_trace: None,
            api_trace: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jcvm::api::cls;
    use crate::jcvm::link::{LinkedPackage, Program, Target, CODE_PAD};
    use crate::jcvm::NoEnv;

    /// Runs `body` as a static method (no handlers; max_stack 15, max_locals 4) of a package
    /// built in place, with the int flag as given.
    fn run(body: &[u8], int: bool, args: &[i16]) -> (Result<Option<i32>, Thrown>, Option<ClassId>) {
        run_cp(body, int, args, Vec::new())
    }

    fn run_cp(
        body: &[u8],
        int: bool,
        args: &[i16],
        cp: Vec<crate::jcvm::link::Cp>,
    ) -> (Result<Option<i32>, Thrown>, Option<ClassId>) {
        // A test method of a few arguments: nargs fits its 4 bits.
        #[allow(clippy::cast_possible_truncation)]
        let mut code = vec![0u8, 0x0F, ((args.len() as u8) << 4) | 4];
        code.extend_from_slice(body);
        let code_len = code.len();
        code.extend_from_slice(&[0; CODE_PAD]);
        let mut prog = Program::new();
        prog.packages.push(Some(LinkedPackage {
            aid: vec![1, 2, 3, 4, 5],
            major: 1,
            minor: 0,
            int,
            code,
            code_len,
            cp,
            handlers: Vec::new(),
            applets: Vec::new(),
            class_ids: Vec::new(),
            class_base: crate::jcvm::api::USER_CLASS_BASE,
            static_size: 0,
            static_refs: 0,
            export: Vec::new(),
            depends_on: Vec::new(),
            missing: Vec::new(),
        }));
        let mut rt = Runtime::new();
        rt.statics.push(Vec::new());
        let mut env = NoEnv;
        let mut x = Exec { prog: &prog, rt: &mut rt, env: &mut env };
        let r = x.call(Target::Bytecode { pkg: 0, offset: 1 }, args);
        let c = match &r {
            Err(Thrown::Exception(h)) => x.class_of(*h),
            _ => None,
        };
        (r, c)
    }

    /// Pops four shorts into locals 0-3 and returns s0*1000 + s1*100 + s2*10 + s3: the stack
    /// order, top first.
    const DIGITS: &[u8] = &[
        0x2F, 0x30, 0x31, 0x32, // sstore_0..3
        0x1C, 0x11, 0x03, 0xE8, 0x45, // sload_0 sspush 1000 smul
        0x1D, 0x10, 100, 0x45, 0x41, // sload_1 bspush 100 smul sadd
        0x1E, 0x10, 10, 0x45, 0x41, // sload_2 bspush 10 smul sadd
        0x1F, 0x41, 0x78, // sload_3 sadd sreturn
    ];

    fn with_digits(prefix: &[u8]) -> Vec<u8> {
        [prefix, DIGITS].concat()
    }

    #[test]
    fn dup_x_and_swap_x() {
        // sconst_1 sconst_2 sconst_3 dup_x 0x12: 1 2 3 → 1 3 2 3 (top first: 3 2 3 1).
        assert_eq!(run(&with_digits(&[0x04, 0x05, 0x06, 0x3F, 0x12]), false, &[]).0, Ok(Some(3231)));
        // dup_x 0x10 (n = 0): like dup. 1 2 3 → 1 2 3 3 (top first 3 3 2 1).
        assert_eq!(run(&with_digits(&[0x04, 0x05, 0x06, 0x3F, 0x10]), false, &[]).0, Ok(Some(3321)));
        // dup_x 0x23: 1 2 3 → 2 3 1 2 3 ... needs 4 pops: push 4 first. 4 1 2 3 → 4 2 3 1 2 3.
        let (r, _) = run(&with_digits(&[0x07, 0x04, 0x05, 0x06, 0x3F, 0x23]), false, &[]);
        assert_eq!(r, Ok(Some(3213)));
        // swap_x 0x11: 1 2 3 → 1 3 2; with a 4 below: 4 1 3 2 → top first 2 3 1 4.
        assert_eq!(run(&with_digits(&[0x07, 0x04, 0x05, 0x06, 0x40, 0x11]), false, &[]).0, Ok(Some(2314)));
        // Bad nibbles are refused.
        assert_eq!(run(&[0x04, 0x3F, 0x51, 0x78], false, &[]).1, Some(cls::SECURITY));
    }

    #[test]
    fn jsr_ret_finally() {
        // sconst_0 sstore_0 jsr +5 | sload_0 sreturn | sub: astore_1 sinc 0 7 ret 1
        let code = [0x03, 0x2F, 0x71, 0x00, 0x05, 0x1C, 0x78, 0x2C, 0x59, 0x00, 0x07, 0x72, 0x01];
        assert_eq!(run(&code, false, &[]).0, Ok(Some(7)));
    }

    #[test]
    fn int_switches_and_int_flag() {
        // iload_0 itableswitch default=+22 low=1 high=2 [+19, +25] ... returns 10/20/30.
        // pc0 iload_0(0x20) pc1 itableswitch: default s2, low s4, high s4, 2 offsets → 15 bytes.
        let mut code = vec![0x20, 0x74, 0x00, 0x18, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x12, 0x00, 0x15];
        // pc16: bspush 10 sreturn (default) — offsets are from the switch at pc1.
        code.extend_from_slice(&[0x10, 10, 0x78]); // pc16..18: unused filler
        code.extend_from_slice(&[0x10, 20, 0x78]); // pc19: key 1 (1 + 0x12 = 19)
        code.extend_from_slice(&[0x10, 30, 0x78]); // pc22: key 2 (1 + 0x15 = 22)
        code.extend_from_slice(&[0x10, 40, 0x78]); // pc25: default (1 + 0x18 = 25)
        assert_eq!(run(&code, true, &[0, 1]).0, Ok(Some(20)));
        assert_eq!(run(&code, true, &[0, 2]).0, Ok(Some(30)));
        assert_eq!(run(&code, true, &[0x7FFF, -1]).0, Ok(Some(40)));
        // Without the int flag the first int opcode is refused.
        assert_eq!(run(&code, false, &[0, 1]).1, Some(cls::SECURITY));
        // ilookupswitch: default s2, npairs u2, (s4 key, s2 offset): key 0x00010000 → 50.
        let mut code = vec![0x20, 0x76, 0x00, 0x0E, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0B];
        code.extend_from_slice(&[0x10, 50, 0x78, 0x10, 60, 0x78]); // pc12 key, pc15 default
        assert_eq!(run(&code, true, &[1, 0]).0, Ok(Some(50)));
        assert_eq!(run(&code, true, &[0, 1]).0, Ok(Some(60)));
        // imul / idiv / ireturn: (a*3)/2 for a = 100000.
        let code = [0x20, 0x0D, 0x46, 0x0C, 0x48, 0x79];
        assert_eq!(run(&code, true, &[1, -31072]).0, Ok(Some(150000)));
    }

    #[test]
    fn faults_become_java_card_exceptions() {
        assert_eq!(run(&[0x3B, 0x7A], false, &[]).1, Some(cls::SECURITY), "pop of an empty stack");
        assert_eq!(run(&[0xFE], false, &[]).1, Some(cls::SECURITY), "impdep1");
        assert_eq!(run(&[0xB9], false, &[]).1, Some(cls::SECURITY), "undefined opcode");
        assert_eq!(run(&[0x70, 0x7F], false, &[]).1, Some(cls::SECURITY), "goto past the code");
        assert_eq!(run(&[0x70, 0x80], false, &[]).1, Some(cls::SECURITY), "goto before the code");
        assert_eq!(run(&[0x1C, 0x03, 0x47, 0x78], false, &[5]).1, Some(cls::ARITHMETIC));
        assert_eq!(run(&[0x15, 0x09, 0x78], false, &[]).1, Some(cls::SECURITY), "local 9 of 4");
        assert_eq!(run(&[0x01, 0x92, 0x78], false, &[]).1, Some(cls::NULL_POINTER), "arraylength of null");
        assert_eq!(run(&[0x02, 0x90, 11, 0x78], false, &[]).1, Some(cls::NEGATIVE_ARRAY_SIZE));
        // new byte[2][2] → AIOOBE.
        assert_eq!(run(&[0x05, 0x90, 11, 0x05, 0x25, 0x78], false, &[]).1, Some(cls::ARRAY_INDEX_OUT_OF_BOUNDS));
        // A constant-pool index with no pool.
        assert_eq!(run(&[0x8D, 0x00, 0x00, 0x7A], false, &[]).1, Some(cls::SECURITY));
        // Unbounded recursion (invokestatic of itself) is SystemException.NO_RESOURCE, not a
        // Rust stack overflow.
        let me = vec![crate::jcvm::link::Cp::Direct(Target::Bytecode { pkg: 0, offset: 1 })];
        assert_eq!(run_cp(&[0x8D, 0x00, 0x00, 0x7A], false, &[], me).1, Some(cls::SYSTEM_EXCEPTION));
        // sneg of -32768 wraps; sushr of a negative short.
        assert_eq!(run(&[0x11, 0x80, 0x00, 0x4B, 0x78], false, &[]).0, Ok(Some(-32768)));
        assert_eq!(run(&[0x02, 0x08, 0x51, 0x78], false, &[]).0, Ok(Some(-1)));
    }
}
