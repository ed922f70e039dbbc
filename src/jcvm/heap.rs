//! The Java Card heap: class instances and arrays, persistent or transient (JCRE §3, §5).
//!
//! Objects are addressed by a 16-bit handle, the value a reference takes in an operand-stack
//! word (JCVM §3.1: a reference fits a 16-bit word). Handle `0` is `null`; handle `h` is slot
//! `h - 1` of [`Heap::objects`]. Persistent objects and their contents survive card restarts
//! (the whole heap is serialised into the card image); transient arrays keep their header but
//! their contents are cleared at the events JCRE §5.1 names (`CLEAR_ON_RESET` at power-on /
//! reset, `CLEAR_ON_DESELECT` when the owning package's applets are deselected) and are never
//! written to the image.
//!
//! - [`Object::owner`]: the firewall context (package slot + 1) that created the object
//!   (JCRE §6.1.2); `0` is the JCRE context (entry-point objects, global arrays). The writes
//!   below take the accessing context and refuse an object of another one (JCRE §6.2.8).
//! - Every persistent write goes through the [`Journal`]: one atomic unit each (JCRE §7.4),
//!   and the old value into the commit buffer while a transaction is open (JCRE §7.5).
//! - Memory is accounted against the profile's [`Limits`] (persistent bytes, transient bytes of
//!   each kind); an allocation past them fails (`SystemException.NO_RESOURCE`).

use crate::jcvm::journal::{Journal, Stop, Undo};
use serde::{Deserialize, Serialize};

/// A reference value: 0 is null.
pub type Handle = u16;

/// Index of a class in the VM-wide class table (API classes first, then loaded ones).
pub type ClassId = u16;

/// `JCSystem.CLEAR_ON_RESET` / `CLEAR_ON_DESELECT` (javacard.framework.JCSystem constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transience {
    /// A persistent object (`JCSystem.NOT_A_TRANSIENT_OBJECT` = 0).
    Persistent,
    /// `CLEAR_ON_RESET` = 1.
    ClearOnReset,
    /// `CLEAR_ON_DESELECT` = 2.
    ClearOnDeselect,
}

impl Transience {
    /// The `JCSystem.isTransient` answer.
    pub fn code(self) -> i8 {
        match self {
            Transience::Persistent => 0,
            Transience::ClearOnReset => 1,
            Transience::ClearOnDeselect => 2,
        }
    }
}

/// The element type of an array (JCVM §7.5.62 `newarray` atype codes 10-13, `anewarray`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElemType {
    /// `T_BOOLEAN` (10).
    Boolean,
    /// `T_BYTE` (11).
    Byte,
    /// `T_SHORT` (12).
    Short,
    /// `T_INT` (13).
    Int,
    /// An array of references to the class (or interface) given.
    Ref(ClassId),
}

/// Array contents, typed so that access needs no conversion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArrayData {
    /// boolean[] and byte[].
    Bytes(Vec<u8>),
    /// short[].
    Shorts(Vec<i16>),
    /// int[].
    Ints(Vec<i32>),
    /// Object[] and friends: handles.
    Refs(Vec<Handle>),
}

impl ArrayData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ArrayData::Bytes(v) => v.len(),
            ArrayData::Shorts(v) => v.len(),
            ArrayData::Ints(v) => v.len(),
            ArrayData::Refs(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn zero(&mut self) {
        match self {
            ArrayData::Bytes(v) => v.fill(0),
            ArrayData::Shorts(v) => v.fill(0),
            ArrayData::Ints(v) => v.fill(0),
            ArrayData::Refs(v) => v.fill(0),
        }
    }

    fn new(elem: ElemType, len: usize) -> ArrayData {
        match elem {
            ElemType::Boolean | ElemType::Byte => ArrayData::Bytes(vec![0; len]),
            ElemType::Short => ArrayData::Shorts(vec![0; len]),
            ElemType::Int => ArrayData::Ints(vec![0; len]),
            ElemType::Ref(_) => ArrayData::Refs(vec![0; len]),
        }
    }

    fn byte_size(&self) -> usize {
        match self {
            ArrayData::Bytes(v) => v.len(),
            ArrayData::Shorts(v) => v.len() * 2,
            ArrayData::Ints(v) => v.len() * 4,
            ArrayData::Refs(v) => v.len() * 2,
        }
    }
}

/// State that a native API class keeps beside (not inside) the Java-visible fields.
///
/// API classes (`OwnerPIN`, `AID`, the exceptions) are implemented in Rust; their private
/// fields are not instance-field slots, so that a user subclass's own field tokens start at 0
/// (JCVM §4.3.7.5 scopes tokens to the declaring class) and its slots start after its user
/// superclasses' `declared_instance_size`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NativeState {
    /// Nothing (plain user objects, Applet subclasses).
    #[default]
    None,
    /// `Throwable` subclasses of the framework: the reason code (`CardException`,
    /// `CardRuntimeException` and their subclasses).
    Reason(i16),
    /// `OwnerPIN` (javacard.framework API spec): persistent try counter and PIN value; the
    /// validated flag is transient (cleared at power-on, JC API `OwnerPIN`).
    Pin(PinState),
    /// `AID` bytes (5-16).
    Aid(Vec<u8>),
    /// A javacard.security key object (issue #16): its material, zeroised on clear and drop.
    Key(crate::jcvm::api::security::KeyState),
    /// A javacard.security / javacardx.crypto engine (`MessageDigest`, `Signature`, `Cipher`,
    /// `RandomData`, `KeyPair`); its running state is RAM only.
    Crypto(crate::jcvm::api::security::Engine),
    /// A JCRE-owned `GPRegistryEntry` (org.globalplatform): the AID of the registry entry it
    /// stands for.
    RegistryEntry(Vec<u8>),
}

impl NativeState {
    /// Objects this native state references (the collector's edges).
    pub fn refs(&self) -> Vec<Handle> {
        match self {
            NativeState::Crypto(e) => e.refs().into_iter().filter(|h| *h != 0).collect(),
            _ => Vec::new(),
        }
    }

    /// Clears a key whose material lives in transient memory of kind `kind` (JC API
    /// `KeyBuilder.TYPE_*_TRANSIENT_*`), and an engine's running state (RAM).
    fn clear_transient(&mut self, kind: Transience) {
        match self {
            NativeState::Key(k) if k.transience == kind => k.clear(),
            NativeState::Crypto(e) if kind == Transience::ClearOnReset => e.run = Default::default(),
            _ => {}
        }
    }
}

/// `OwnerPIN` state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    /// The try limit given to the constructor.
    pub try_limit: u8,
    /// The maximum PIN size given to the constructor.
    pub max_size: u8,
    /// Tries left.
    pub tries: u8,
    /// The PIN value (empty until `update`).
    pub pin: Vec<u8>,
    /// The transient validated flag.
    #[serde(skip)]
    pub validated: bool,
}

/// What a heap slot holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// A class instance: its instance-field cells (16-bit words; an int takes two, high first).
    Instance {
        /// The object's class.
        class: ClassId,
        /// Field cells; references are handles.
        fields: Vec<i16>,
        /// Native state of API superclasses.
        native: NativeState,
    },
    /// An array.
    Array {
        /// Element type.
        elem: ElemType,
        /// Elements.
        data: ArrayData,
    },
}

/// One heap object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// Instance or array.
    pub body: Body,
    /// Persistent or transient (arrays only; instances are always persistent in Java Card).
    pub transience: Transience,
    /// Firewall context that owns the object (JCRE §6.1.2; 0 = JCRE). Part 2 checks it.
    pub owner: u16,
}

/// Memory of the card for the VM (a profile setting; the default resembles a phone's GP-SE:
/// about a megabyte of flash for applets and a few kilobytes of RAM for transient arrays).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Persistent bytes (object headers, fields, persistent array data).
    pub persistent: u32,
    /// Bytes of `CLEAR_ON_RESET` transient array data.
    pub transient_reset: u32,
    /// Bytes of `CLEAR_ON_DESELECT` transient array data.
    pub transient_deselect: u32,
    /// Bytes of the transaction commit buffer (`JCSystem.getMaxCommitCapacity`).
    pub commit_capacity: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { persistent: 1 << 20, transient_reset: 8 << 10, transient_deselect: 8 << 10, commit_capacity: 4096 }
    }
}

/// Bytes an object costs in persistent memory beside its data (class or type, owner, length),
/// as a card's object header does.
pub const HEADER_BYTES: usize = 8;

/// Memory in use, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Persistent bytes.
    pub persistent: usize,
    /// `CLEAR_ON_RESET` bytes.
    pub transient_reset: usize,
    /// `CLEAR_ON_DESELECT` bytes.
    pub transient_deselect: usize,
}

impl Usage {
    fn of(o: &Object) -> Usage {
        let data = match &o.body {
            Body::Instance { fields, native, .. } => {
                fields.len() * 2
                    + match native {
                        NativeState::Pin(p) => 4 + p.max_size as usize,
                        NativeState::Aid(_) | NativeState::RegistryEntry(_) => 17,
                        // The reason of a JCRE-owned exception object lives with the throw.
                        NativeState::Reason(_) => 0,
                        NativeState::None => 0,
                        NativeState::Key(k) => k.bytes(),
                        NativeState::Crypto(e) => e.bytes(),
                    }
            }
            Body::Array { data, .. } => data.byte_size(),
        };
        match o.transience {
            Transience::Persistent => Usage { persistent: HEADER_BYTES + data, ..Usage::default() },
            Transience::ClearOnReset => Usage { persistent: HEADER_BYTES, transient_reset: data, ..Usage::default() },
            Transience::ClearOnDeselect => {
                Usage { persistent: HEADER_BYTES, transient_deselect: data, ..Usage::default() }
            }
        }
    }

    fn add(&mut self, u: Usage) {
        self.persistent += u.persistent;
        self.transient_reset += u.transient_reset;
        self.transient_deselect += u.transient_deselect;
    }

    fn sub(&mut self, u: Usage) {
        self.persistent = self.persistent.saturating_sub(u.persistent);
        self.transient_reset = self.transient_reset.saturating_sub(u.transient_reset);
        self.transient_deselect = self.transient_deselect.saturating_sub(u.transient_deselect);
    }

    fn fits(&self, more: Usage, l: &Limits) -> bool {
        self.persistent + more.persistent <= l.persistent as usize
            && self.transient_reset + more.transient_reset <= l.transient_reset as usize
            && self.transient_deselect + more.transient_deselect <= l.transient_deselect as usize
    }
}

/// Why an access or a write did not happen; the interpreter raises the matching exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `NullPointerException`.
    Null,
    /// `SecurityException`: another context's object (JCRE §6.2.8), or not the kind of object
    /// the instruction needs (what the off-card verifier would have refused).
    Security,
    /// `ArrayIndexOutOfBoundsException`.
    Index,
    /// The write was stopped: power loss or a full commit buffer.
    Stop(Stop),
}

impl From<Stop> for Access {
    fn from(s: Stop) -> Self {
        Access::Stop(s)
    }
}

/// A value for an array element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// boolean or byte.
    Byte(u8),
    /// short.
    Short(i16),
    /// int.
    Int(i32),
    /// reference.
    Ref(Handle),
}

/// The heap. Serialised whole with the card image; transient contents are dropped on save
/// (`serialize_transient_as_empty`) and zero on restore.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Heap {
    objects: Vec<Option<Object>>,
    free: Vec<u16>,
    /// The card's memory sizes.
    pub limits: Limits,
    #[serde(skip)]
    usage: Usage,
    #[serde(skip)]
    dirty: bool,
    /// Transactions and the power meter.
    #[serde(skip)]
    pub journal: Journal,
}

/// Upper bound on live objects: a handle is a 16-bit word and 0 is null.
pub const MAX_OBJECTS: usize = 0xFFFF;

/// Why an allocation failed (maps to `SystemException.NO_RESOURCE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

/// Whether code running in context `ctx` may use an object owned by `owner` (JCRE §6.2.8):
/// the JCRE context may use everything; JCRE-owned objects are entry-point objects or global
/// arrays, usable from every context; otherwise only the owning context.
#[inline(always)]
pub fn accessible(owner: u16, ctx: u16) -> bool {
    owner == ctx || owner == 0 || ctx == 0
}

impl Heap {
    /// An empty heap with the default limits.
    pub fn new() -> Heap {
        Heap::with_limits(Limits::default())
    }

    /// An empty heap with these limits.
    pub fn with_limits(limits: Limits) -> Heap {
        let mut h = Heap { limits, ..Heap::default() };
        h.journal.capacity = limits.commit_capacity as usize;
        h
    }

    /// Recomputes the memory in use (after the heap was read from a card image) and sets the
    /// commit capacity from the limits.
    pub fn recount(&mut self) {
        let mut u = Usage::default();
        for o in self.objects.iter().flatten() {
            u.add(Usage::of(o));
        }
        self.usage = u;
        self.journal.capacity = self.limits.commit_capacity as usize;
    }

    /// Memory in use.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The object behind a handle (`None` for null or a freed slot).
    #[inline]
    pub fn get(&self, h: Handle) -> Option<&Object> {
        self.objects.get((h as usize).wrapping_sub(1))?.as_ref()
    }

    /// Mutable access for the VM's own bookkeeping (not journaled: the JCRE's writes to objects
    /// it owns, and installs, which are undone whole); marks the heap dirty when persistent.
    #[inline]
    pub fn get_mut(&mut self, h: Handle) -> Option<&mut Object> {
        let o = self.objects.get_mut((h as usize).wrapping_sub(1))?.as_mut()?;
        if o.transience == Transience::Persistent {
            self.dirty = true;
        }
        Some(o)
    }

    /// Records a persistent write that did not go through [`Heap::get_mut`].
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Whether persistent content changed since the last [`Heap::take_dirty`].
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    fn insert(&mut self, o: Object) -> Result<Handle, OutOfMemory> {
        let cost = Usage::of(&o);
        let owner = o.owner;
        if !self.usage.fits(cost, &self.limits) {
            return Err(OutOfMemory);
        }
        if o.transience == Transience::Persistent {
            self.dirty = true;
        }
        let h = if let Some(i) = self.free.pop() {
            self.objects[i as usize] = Some(o);
            i + 1
        } else {
            if self.objects.len() >= MAX_OBJECTS {
                return Err(OutOfMemory);
            }
            self.objects.push(Some(o));
            Handle::try_from(self.objects.len()).map_err(|_| OutOfMemory)?
        };
        self.usage.add(cost);
        self.dirty = true;
        if owner != 0 {
            self.journal.created(h);
        }
        Ok(h)
    }

    /// A new instance with `cells` zeroed field cells.
    pub fn new_instance(&mut self, class: ClassId, cells: usize, owner: u16) -> Result<Handle, OutOfMemory> {
        self.insert(Object {
            body: Body::Instance { class, fields: vec![0; cells], native: NativeState::None },
            transience: Transience::Persistent,
            owner,
        })
    }

    /// A new zeroed array.
    pub fn new_array(
        &mut self,
        elem: ElemType,
        len: usize,
        transience: Transience,
        owner: u16,
    ) -> Result<Handle, OutOfMemory> {
        self.insert(Object { body: Body::Array { elem, data: ArrayData::new(elem, len) }, transience, owner })
    }

    /// A byte array with the given contents.
    pub fn new_bytes(&mut self, bytes: &[u8], owner: u16) -> Result<Handle, OutOfMemory> {
        self.insert(Object {
            body: Body::Array { elem: ElemType::Byte, data: ArrayData::Bytes(bytes.to_vec()) },
            transience: Transience::Persistent,
            owner,
        })
    }

    /// Frees an object (used for the objects of a deleted package or instance).
    pub fn free(&mut self, h: Handle) {
        if let Some(slot) = self.objects.get_mut((h as usize).wrapping_sub(1)) {
            if let Some(o) = slot.take() {
                self.usage.sub(Usage::of(&o));
                self.free.push(h - 1);
                self.dirty = true;
            }
        }
    }

    /// Handles of every live object, for the collector.
    // insert never lets the table outgrow a Handle.
    #[allow(clippy::cast_possible_truncation)]
    pub fn handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.objects.iter().enumerate().filter(|(_, o)| o.is_some()).map(|(i, _)| i as Handle + 1)
    }

    /// A mutable instance's field cells, checked for the context; journaled writes go through
    /// [`Heap::put_cells`].
    fn object_for_write(&mut self, h: Handle, ctx: u16) -> Result<&mut Object, Access> {
        if h == 0 {
            return Err(Access::Null);
        }
        match self.objects.get_mut((h as usize).wrapping_sub(1)).and_then(Option::as_mut) {
            Some(o) if accessible(o.owner, ctx) => Ok(o),
            _ => Err(Access::Security),
        }
    }

    /// `putfield`: writes `vals` (one cell, or two for an int, high first) at `cell` of
    /// instance `h` from context `ctx`, atomically (JCRE §7.4) and in the open transaction.
    // A cell index is below 256 (JCVM: instance field tokens are u1).
    #[allow(clippy::cast_possible_truncation)]
    pub fn put_cells(&mut self, h: Handle, cell: usize, vals: &[i16], ctx: u16) -> Result<(), Access> {
        let o = self.object_for_write(h, ctx)?;
        let Body::Instance { fields, .. } = &mut o.body else { return Err(Access::Security) };
        if cell + vals.len() > fields.len() {
            return Err(Access::Security);
        }
        let olds: [i16; 2] = [fields[cell], fields.get(cell + 1).copied().unwrap_or(0)];
        for (k, _) in vals.iter().enumerate() {
            let old = olds[k];
            let c = (cell + k) as u32;
            self.journal.write((h, c), 2, || Undo::Cell { h, cell: c, old })?;
        }
        self.dirty = true;
        if let Some(Object { body: Body::Instance { fields, .. }, .. }) =
            self.objects.get_mut((h as usize).wrapping_sub(1)).and_then(Option::as_mut)
        {
            fields[cell..cell + vals.len()].copy_from_slice(vals);
        }
        Ok(())
    }

    /// `<t>astore`: element `i` of array `h` from context `ctx` (transient arrays: no journal).
    // i < len <= 32767.
    #[allow(clippy::cast_possible_truncation)]
    pub fn store(&mut self, h: Handle, i: i16, v: Elem, ctx: u16) -> Result<(), Access> {
        let o = self.object_for_write(h, ctx)?;
        let persistent = o.transience == Transience::Persistent;
        let Body::Array { data, .. } = &mut o.body else { return Err(Access::Security) };
        if i < 0 || i as usize >= data.len() {
            return Err(Access::Index);
        }
        let iu = i as usize;
        let key = (h, i as u32);
        let i32_ = i as u32;
        let undo = match (&*data, v) {
            (ArrayData::Bytes(a), Elem::Byte(_)) => Undo::Byte { h, i: i32_, old: a[iu] },
            (ArrayData::Shorts(a), Elem::Short(_)) => Undo::Short { h, i: i32_, old: a[iu] },
            (ArrayData::Ints(a), Elem::Int(_)) => Undo::Int { h, i: i32_, old: a[iu] },
            (ArrayData::Refs(a), Elem::Ref(_)) => Undo::Ref { h, i: i32_, old: a[iu] },
            _ => return Err(Access::Security),
        };
        if persistent {
            let size = match v {
                Elem::Byte(_) => 1,
                Elem::Int(_) => 4,
                _ => 2,
            };
            self.journal.write(key, size, || undo)?;
            self.dirty = true;
        }
        let Some(Object { body: Body::Array { data, .. }, .. }) =
            self.objects.get_mut((h as usize).wrapping_sub(1)).and_then(Option::as_mut)
        else {
            return Err(Access::Security);
        };
        match (data, v) {
            (ArrayData::Bytes(a), Elem::Byte(b)) => a[iu] = b,
            (ArrayData::Shorts(a), Elem::Short(s)) => a[iu] = s,
            (ArrayData::Ints(a), Elem::Int(x)) => a[iu] = x,
            (ArrayData::Refs(a), Elem::Ref(r)) => a[iu] = r,
            _ => return Err(Access::Security),
        }
        Ok(())
    }

    /// The checked window `[off, off + len)` of byte array `h` for context `ctx`.
    pub fn byte_window(&self, h: Handle, off: i16, len: i16, ctx: u16) -> Result<(usize, usize), Access> {
        if h == 0 {
            return Err(Access::Null);
        }
        let o = self.get(h).ok_or(Access::Security)?;
        if !accessible(o.owner, ctx) {
            return Err(Access::Security);
        }
        let Body::Array { data: ArrayData::Bytes(v), .. } = &o.body else { return Err(Access::Security) };
        if off < 0 || len < 0 || off as usize + len as usize > v.len() {
            return Err(Access::Index);
        }
        Ok((off as usize, len as usize))
    }

    /// Writes `data` into byte array `h` at `off` (checked by the caller with
    /// [`Heap::byte_window`]). `atomic`: one unit and, in a transaction, part of it
    /// (`Util.arrayCopy`, `setShort`); otherwise each byte is its own unit and the transaction
    /// does not undo it (`arrayCopyNonAtomic`, `arrayFillNonAtomic`, JC API `Util`): a cut in the
    /// middle leaves a prefix written.
    // off + data.len() <= 32767 (checked window).
    #[allow(clippy::cast_possible_truncation)]
    pub fn write_bytes(&mut self, h: Handle, off: usize, data: &[u8], atomic: bool) -> Result<(), Access> {
        let persistent = self.get(h).is_some_and(|o| o.transience == Transience::Persistent);
        let mut n = data.len();
        let mut stop = None;
        if persistent && !data.is_empty() {
            self.dirty = true;
            if atomic {
                // The old bytes are copied only when a transaction needs them.
                let objects = &self.objects;
                self.journal.write_range(n, || {
                    let old = match objects.get((h as usize).wrapping_sub(1)).and_then(Option::as_ref) {
                        Some(Object { body: Body::Array { data: ArrayData::Bytes(v), .. }, .. }) => {
                            v[off..off + n].to_vec()
                        }
                        _ => Vec::new(),
                    };
                    Undo::Bytes { h, off: off as u32, old }
                })?;
            } else {
                let total = n;
                for k in 0..total {
                    if let Err(s) = self.journal.unit() {
                        n = k;
                        stop = Some(s);
                        break;
                    }
                }
            }
        }
        if let Some(Object { body: Body::Array { data: ArrayData::Bytes(v), .. }, .. }) =
            self.objects.get_mut((h as usize).wrapping_sub(1)).and_then(Option::as_mut)
        {
            v[off..off + n].copy_from_slice(&data[..n]);
        }
        match stop {
            Some(s) => Err(Access::Stop(s)),
            None => Ok(()),
        }
    }

    /// Puts back what the open transaction wrote and closes it (JCRE §7.6: abort, an uncaught
    /// exception, a power loss). `statics` are the static images by package slot. Objects
    /// created in it stay until the collector finds them unreachable (`drop_created`: free them
    /// now, after a power loss, when no frame can reference them).
    pub fn abort(&mut self, statics: &mut [Vec<u8>], drop_created: bool) {
        let Some(tx) = self.journal.tx.take() else { return };
        for u in tx.undo.into_iter().rev() {
            match u {
                Undo::Static { pkg, off, old } => {
                    if let Some(img) = statics.get_mut(pkg as usize) {
                        let o = off as usize;
                        if o + old.len() <= img.len() {
                            img[o..o + old.len()].copy_from_slice(&old);
                        }
                    }
                }
                u => self.undo(u),
            }
        }
        if drop_created {
            for h in tx.created {
                self.free(h);
            }
        }
        self.dirty = true;
    }

    fn undo(&mut self, u: Undo) {
        let h = match &u {
            Undo::Cell { h, .. }
            | Undo::Byte { h, .. }
            | Undo::Short { h, .. }
            | Undo::Int { h, .. }
            | Undo::Ref { h, .. }
            | Undo::Bytes { h, .. } => *h,
            Undo::Static { .. } => return,
        };
        let Some(o) = self.objects.get_mut((h as usize).wrapping_sub(1)).and_then(Option::as_mut) else { return };
        match (&mut o.body, u) {
            (Body::Instance { fields, .. }, Undo::Cell { cell, old, .. }) => {
                if let Some(c) = fields.get_mut(cell as usize) {
                    *c = old;
                }
            }
            (Body::Array { data, .. }, u) => match (data, u) {
                (ArrayData::Bytes(a), Undo::Byte { i, old, .. }) => {
                    if let Some(c) = a.get_mut(i as usize) {
                        *c = old;
                    }
                }
                (ArrayData::Bytes(a), Undo::Bytes { off, old, .. }) => {
                    let o = off as usize;
                    if o + old.len() <= a.len() {
                        a[o..o + old.len()].copy_from_slice(&old);
                    }
                }
                (ArrayData::Shorts(a), Undo::Short { i, old, .. }) => {
                    if let Some(c) = a.get_mut(i as usize) {
                        *c = old;
                    }
                }
                (ArrayData::Ints(a), Undo::Int { i, old, .. }) => {
                    if let Some(c) = a.get_mut(i as usize) {
                        *c = old;
                    }
                }
                (ArrayData::Refs(a), Undo::Ref { i, old, .. }) => {
                    if let Some(c) = a.get_mut(i as usize) {
                        *c = old;
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Clears the contents of every transient array of the given kind whose owner matches
    /// (`None`: every owner). JCRE §5.1: CLEAR_ON_RESET at power-on and card reset;
    /// CLEAR_ON_DESELECT when the applets of the owning context are deselected.
    pub fn clear_transient(&mut self, kind: Transience, owner: Option<u16>) {
        for o in self.objects.iter_mut().flatten() {
            if o.transience == kind && owner.is_none_or(|w| w == o.owner) {
                if let Body::Array { data, .. } = &mut o.body {
                    data.zero();
                }
            }
            if owner.is_none_or(|w| w == o.owner) {
                if let Body::Instance { native, .. } = &mut o.body {
                    native.clear_transient(kind);
                }
            }
        }
    }

    /// Clears the transient parts of native state (OwnerPIN validated flags) at power-on.
    pub fn power_reset(&mut self) {
        self.clear_transient(Transience::ClearOnReset, None);
        self.clear_transient(Transience::ClearOnDeselect, None);
        for o in self.objects.iter_mut().flatten() {
            if let Body::Instance { native: NativeState::Pin(p), .. } = &mut o.body {
                p.validated = false;
            }
        }
    }

    /// Bytes used by persistent objects (headers, fields, persistent array data).
    pub fn bytes_used(&self) -> usize {
        self.usage.persistent
    }

    /// Memory used by the objects owned by `owner`.
    pub fn usage_of(&self, owner: u16) -> Usage {
        let mut u = Usage::default();
        for o in self.objects.iter().flatten().filter(|o| o.owner == owner) {
            u.add(Usage::of(o));
        }
        u
    }

    /// Memory used by these objects.
    pub fn usage_of_handles(&self, hs: impl Iterator<Item = Handle>) -> Usage {
        let mut u = Usage::default();
        for h in hs {
            if let Some(o) = self.get(h) {
                u.add(Usage::of(o));
            }
        }
        u
    }

    /// Number of live objects.
    pub fn live(&self) -> usize {
        self.objects.iter().flatten().count()
    }

    /// Handles of all live objects owned by `owner` (for DELETE).
    // insert never lets the table outgrow a Handle.
    #[allow(clippy::cast_possible_truncation)]
    pub fn owned_by(&self, owner: u16) -> Vec<Handle> {
        self.objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.as_ref().is_some_and(|o| o.owner == owner))
            .map(|(i, _)| i as Handle + 1)
            .collect()
    }

    /// The bytes for the card image: transient contents are written as zeros of the same
    /// length, so that their values never reach the image (JCRE §5: transient data is never
    /// persistent).
    pub fn to_image(&self) -> Heap {
        let mut h = Heap {
            objects: self.objects.clone(),
            free: self.free.clone(),
            limits: self.limits,
            usage: self.usage,
            dirty: false,
            journal: Journal::default(),
        };
        h.clear_transient(Transience::ClearOnReset, None);
        h.clear_transient(Transience::ClearOnDeselect, None);
        for o in h.objects.iter_mut().flatten() {
            if let Body::Instance { native: NativeState::Pin(p), .. } = &mut o.body {
                p.validated = false;
            }
        }
        h
    }

    /// The array behind a handle, for natives.
    pub fn array(&self, h: Handle) -> Option<&ArrayData> {
        match &self.get(h)?.body {
            Body::Array { data, .. } => Some(data),
            _ => None,
        }
    }

    /// Mutable array contents (VM bookkeeping, not journaled).
    pub fn array_mut(&mut self, h: Handle) -> Option<&mut ArrayData> {
        match &mut self.get_mut(h)?.body {
            Body::Array { data, .. } => Some(data),
            _ => None,
        }
    }

    /// A byte (or boolean) array's contents.
    pub fn bytes(&self, h: Handle) -> Option<&[u8]> {
        match self.array(h)? {
            ArrayData::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A byte array's contents, mutable (VM bookkeeping: the APDU and install buffers).
    pub fn bytes_mut(&mut self, h: Handle) -> Option<&mut Vec<u8>> {
        match self.array_mut(h)? {
            ArrayData::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// An instance's native state.
    pub fn native(&self, h: Handle) -> Option<&NativeState> {
        match &self.get(h)?.body {
            Body::Instance { native, .. } => Some(native),
            _ => None,
        }
    }

    /// An instance's native state, mutable, without marking the heap dirty: for the JCRE-owned
    /// system exception instances, whose reason only matters while one is being thrown (a
    /// `throwIt` per APDU must not make every APDU a card-image write).
    pub fn native_mut_untracked(&mut self, h: Handle) -> Option<&mut NativeState> {
        match &mut self.objects.get_mut((h as usize).wrapping_sub(1))?.as_mut()?.body {
            Body::Instance { native, .. } => Some(native),
            _ => None,
        }
    }

    /// An instance's native state, mutable. Native state (OwnerPIN's counter and value, an
    /// AID, a reason) is updated outside transactions (JC API `OwnerPIN`: "shall not
    /// participate in the transaction"); each update is one atomic unit.
    pub fn native_mut(&mut self, h: Handle) -> Result<&mut NativeState, Access> {
        if self.get(h).is_none() {
            return Err(Access::Security);
        }
        self.journal.unit()?;
        match self.get_mut(h) {
            Some(Object { body: Body::Instance { native, .. }, .. }) => Ok(native),
            _ => Err(Access::Security),
        }
    }

    /// Sets native state and accounts its memory.
    pub fn set_native(&mut self, h: Handle, n: NativeState) -> Result<(), Access> {
        let before = self.get(h).map(Usage::of).ok_or(Access::Security)?;
        *self.native_mut(h)? = n;
        if let Some(after) = self.get(h).map(Usage::of) {
            self.usage.sub(before);
            self.usage.add(after);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_transients() {
        let mut h = Heap::new();
        let a = h.new_array(ElemType::Byte, 4, Transience::ClearOnDeselect, 3).unwrap();
        let b = h.new_array(ElemType::Short, 2, Transience::Persistent, 3).unwrap();
        assert_eq!((a, b), (1, 2));
        h.bytes_mut(a).unwrap()[0] = 7;
        if let Some(ArrayData::Shorts(s)) = h.array_mut(b) {
            s[1] = -2;
        }
        let img = postcard::to_allocvec(&h.to_image()).unwrap();
        let back: Heap = postcard::from_bytes(&img).unwrap();
        assert_eq!(back.bytes(a).unwrap(), &[0, 0, 0, 0]);
        assert_eq!(back.array(b), Some(&ArrayData::Shorts(vec![0, -2])));
        h.clear_transient(Transience::ClearOnDeselect, Some(4));
        assert_eq!(h.bytes(a).unwrap()[0], 7);
        h.clear_transient(Transience::ClearOnDeselect, Some(3));
        assert_eq!(h.bytes(a).unwrap()[0], 0);
        h.free(a);
        assert!(h.get(a).is_none());
        assert!(h.get(0).is_none());
        assert_eq!(h.new_bytes(&[1], 0).unwrap(), a);
    }
}
