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
    /// `JCSystem.getTransactionDepth()` (pass-through until part 2).
    pub tx_depth: u8,
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
}

fn default_budget() -> u64 {
    DEFAULT_STEP_BUDGET
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

/// The APDU buffer size for short APDUs: 5 header bytes + 256 (JC API `APDU`: at least
/// 133 bytes; 261 lets a full short case-4 command and a 256-byte response fit).
pub const APDU_BUFFER: usize = 261;

impl Runtime {
    /// A fresh runtime with the JCRE objects (APDU object and buffer, install buffer).
    pub fn new() -> Runtime {
        let mut heap = Heap::new();
        use crate::jcvm::api::cls;
        use crate::jcvm::heap::{ElemType, Transience};
        // A fresh heap has room: these cannot fail.
        let apdu_object = heap.new_instance(cls::APDU, 0, 0).unwrap_or(0);
        let apdu_buffer = heap.new_array(ElemType::Byte, APDU_BUFFER, Transience::ClearOnReset, 0).unwrap_or(0);
        let install_buffer = heap.new_array(ElemType::Byte, 256, Transience::ClearOnReset, 0).unwrap_or(0);
        Runtime {
            heap,
            statics: Vec::new(),
            instances: Vec::new(),
            system_exceptions: BTreeMap::new(),
            apdu_object,
            apdu_buffer,
            install_buffer,
            session: Session::default(),
            step_budget: DEFAULT_STEP_BUDGET,
            stack: Vec::new(),
            frames: Vec::new(),
        }
    }
}
