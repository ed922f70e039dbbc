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
//! Hooks for part 2 (issue #15), present and documented but not yet enforced:
//! - [`Object::owner`]: the firewall context (package/context id) that created the object
//!   (JCRE §6.1.2); `0` is the JCRE context. Accesses are not checked yet.
//! - Every persistent write goes through [`Heap::mark_dirty`]; a transaction commit buffer
//!   (JCRE §7) records the old value at that point before the write lands.
//! - [`Heap::bytes_used`] is the memory accounting the profile limits will compare against.

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

/// The heap. Serialised whole with the card image; transient contents are dropped on save
/// (`serialize_transient_as_empty`) and zero on restore.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Heap {
    objects: Vec<Option<Object>>,
    free: Vec<u16>,
    #[serde(skip)]
    dirty: bool,
}

/// Upper bound on live objects: a handle is a 16-bit word and 0 is null.
pub const MAX_OBJECTS: usize = 0xFFFF;

/// Why an allocation failed (maps to `SystemException.NO_RESOURCE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

impl Heap {
    /// An empty heap.
    pub fn new() -> Heap {
        Heap::default()
    }

    /// The object behind a handle (`None` for null or a freed slot).
    #[inline]
    pub fn get(&self, h: Handle) -> Option<&Object> {
        self.objects.get((h as usize).wrapping_sub(1))?.as_ref()
    }

    /// Mutable access; marks the heap dirty when the object is persistent.
    #[inline]
    pub fn get_mut(&mut self, h: Handle) -> Option<&mut Object> {
        let o = self.objects.get_mut((h as usize).wrapping_sub(1))?.as_mut()?;
        if o.transience == Transience::Persistent {
            // Part 2 hook: a transaction records the old value here (JCRE §7.6).
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
        if o.transience == Transience::Persistent {
            self.dirty = true;
        }
        if let Some(i) = self.free.pop() {
            self.objects[i as usize] = Some(o);
            return Ok(i + 1);
        }
        if self.objects.len() >= MAX_OBJECTS {
            return Err(OutOfMemory);
        }
        self.objects.push(Some(o));
        Handle::try_from(self.objects.len()).map_err(|_| OutOfMemory)
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
            if slot.take().is_some() {
                self.free.push(h - 1);
                self.dirty = true;
            }
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

    /// Approximate bytes used by persistent objects (part 2 compares it with the profile's limit).
    pub fn bytes_used(&self) -> usize {
        self.objects
            .iter()
            .flatten()
            .map(|o| {
                8 + match &o.body {
                    Body::Instance { fields, .. } => fields.len() * 2,
                    Body::Array { data, .. } => {
                        if o.transience == Transience::Persistent {
                            data.byte_size()
                        } else {
                            0
                        }
                    }
                }
            })
            .sum()
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
        let mut h = self.clone();
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

    /// Mutable array contents.
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

    /// A byte array's contents, mutable.
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

    /// An instance's native state, mutable.
    pub fn native_mut(&mut self, h: Handle) -> Option<&mut NativeState> {
        match &mut self.get_mut(h)?.body {
            Body::Instance { native, .. } => Some(native),
            _ => None,
        }
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
