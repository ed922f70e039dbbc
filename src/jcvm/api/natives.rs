//! The natives of java.lang and javacard.framework, with the exceptions and reasons the
//! Java Card 3.0.5 API specification gives each method ("JC API" below).

use super::{cls, Native};
use crate::jcvm::heap::{Access, ArrayData, Body, Elem, ElemType, Handle, NativeState, PinState, Transience};
use crate::jcvm::interp::{Exec, Thrown};
use crate::jcvm::journal::TxLog;

type R = Result<Option<i16>, Thrown>;

// Reasons (JC API constant fields).
const SYS_ILLEGAL_VALUE: i16 = 1;
const SYS_ILLEGAL_AID: i16 = 4;
const SYS_NO_RESOURCE: i16 = 5;
const PIN_ILLEGAL_VALUE: i16 = 1;
const APDU_ILLEGAL_USE: i16 = 1;
const APDU_BUFFER_BOUNDS: i16 = 2;
const APDU_BAD_LENGTH: i16 = 3;
const TX_IN_PROGRESS: i16 = 1;
const TX_NOT_IN_PROGRESS: i16 = 2;

// APDU states (JC API `APDU.STATE_*`).
const STATE_INITIAL: i8 = 0;
const STATE_PARTIAL_INCOMING: i8 = 1;
const STATE_FULL_INCOMING: i8 = 2;
const STATE_OUTGOING: i8 = 3;
const STATE_OUTGOING_LENGTH_KNOWN: i8 = 4;
const STATE_PARTIAL_OUTGOING: i8 = 5;
const STATE_FULL_OUTGOING: i8 = 6;

/// `JCSystem.getVersion()`: the API version whose semantics the natives follow (3.0.5).
pub const API_VERSION: i16 = 0x0305;
/// `Applet.getShareableInterfaceObject(AID, byte)`'s virtual token (javacard.framework export).
const TOKEN_GET_SIO: usize = 5;

/// A size as the short the API answers: at most `Short.MAX_VALUE` (JC API
/// `JCSystem.getAvailableMemory`: "if the number of available bytes is greater than 32767,
/// then this method returns 32767").
// Clamped to 0x7FFF first.
#[allow(clippy::cast_possible_truncation)]
fn clamp(n: usize) -> i16 {
    n.min(0x7FFF) as i16
}

fn b(v: bool) -> Option<i16> {
    Some(i16::from(v))
}

/// A checked `(array, offset, length)` window of a byte array: NPE for null, AIOOBE when
/// the window leaves the array (JC API `Util`: "if copying would cause access of data
/// outside array bounds").
/// The array must be accessible from the caller's context (JC API `Util`: "SecurityException
/// if ... not accessible in the caller's context", JCRE §6.2.8).
fn window(x: &mut Exec<'_>, h: i16, off: i16, len: i16) -> Result<(Handle, usize, usize), Thrown> {
    let h = h as u16;
    match x.rt.heap.byte_window(h, off, len, x.rt.session.context) {
        Ok((o, n)) => Ok((h, o, n)),
        Err(a) => Err(x.access(a)),
    }
}

fn heap<T>(x: &mut Exec<'_>, r: Result<T, Access>) -> Result<T, Thrown> {
    r.map_err(|a| x.access(a))
}

fn set_native(x: &mut Exec<'_>, h: i16, n: NativeState) -> Result<(), Thrown> {
    let r = x.rt.heap.set_native(h as u16, n);
    heap(x, r)
}

pub(super) fn read(x: &mut Exec<'_>, h: i16, off: i16, len: i16) -> Result<Vec<u8>, Thrown> {
    let (h, o, n) = window(x, h, off, len)?;
    Ok(x.rt.heap.bytes(h).map(|v| v[o..o + n].to_vec()).unwrap_or_default())
}

// data is an AID (<= 16 bytes) or a slice of one.
#[allow(clippy::cast_possible_truncation)]
fn write(x: &mut Exec<'_>, h: i16, off: i16, data: &[u8]) -> Result<(), Thrown> {
    write_as(x, h, off, data, true)
}

/// Writes `data` at `off` of byte array `h`: `atomic` as `Util.arrayCopy` (one unit, in the
/// transaction), else as `arrayCopyNonAtomic` (JC API `Util`).
// data is at most a byte array's length (< 32768).
#[allow(clippy::cast_possible_truncation)]
pub(super) fn write_as(x: &mut Exec<'_>, h: i16, off: i16, data: &[u8], atomic: bool) -> Result<(), Thrown> {
    let (h, o, _) = window(x, h, off, data.len() as i16)?;
    let r = x.rt.heap.write_bytes(h, o, data, atomic);
    heap(x, r)
}

fn aid_bytes(x: &Exec<'_>, h: i16) -> Option<Vec<u8>> {
    match x.rt.heap.native(h as u16)? {
        NativeState::Aid(a) => Some(a.clone()),
        _ => None,
    }
}

fn pin<'x>(x: &'x mut Exec<'_>, h: i16) -> Result<&'x mut PinState, Thrown> {
    // A dangling or non-PIN receiver is a VM-level type error.
    let ok = matches!(x.rt.heap.native(h as u16), Some(NativeState::Pin(_)));
    if !ok {
        return Err(x.security());
    }
    // Each PIN update is one atomic write, outside any transaction (JC API OwnerPIN).
    if let Err(s) = x.rt.heap.journal.unit() {
        return Err(x.access(Access::Stop(s)));
    }
    x.rt.heap.mark_dirty();
    match x.rt.heap.native_mut_untracked(h as u16) {
        Some(NativeState::Pin(p)) => Ok(p),
        _ => Err(Thrown::Fault(crate::jcvm::interp::Fault::OutOfMemory)),
    }
}

/// An `OwnerPIN`'s state, read only.
fn pin_ref<'x>(x: &'x mut Exec<'_>, h: i16) -> Result<&'x PinState, Thrown> {
    if !matches!(x.rt.heap.native(h as u16), Some(NativeState::Pin(_))) {
        return Err(x.security());
    }
    match x.rt.heap.native(h as u16) {
        Some(NativeState::Pin(p)) => Ok(p),
        _ => Err(Thrown::Fault(crate::jcvm::interp::Fault::OutOfMemory)),
    }
}

fn apdu_buffer_len(x: &Exec<'_>) -> usize {
    x.rt.heap.array(x.rt.apdu_buffer).map_or(0, ArrayData::len)
}

fn cdata_offset(x: &Exec<'_>) -> usize {
    if x.rt.session.apdu.extended {
        7
    } else {
        5
    }
}

fn apdu_exc(x: &mut Exec<'_>, reason: i16) -> Thrown {
    x.throw(cls::APDU_EXCEPTION, reason)
}

// ne is capped at 0x7FFF or 256 just above.
#[allow(clippy::cast_possible_truncation)]
fn set_outgoing(x: &mut Exec<'_>) -> Result<i16, Thrown> {
    let a = &x.rt.session.apdu;
    if a.state >= STATE_OUTGOING || a.state < 0 {
        return Err(apdu_exc(x, APDU_ILLEGAL_USE));
    }
    let ne = if a.extended { a.ne.min(0x7FFF) } else { a.ne.min(256) };
    x.rt.session.apdu.state = STATE_OUTGOING;
    Ok(ne as i16)
}

fn set_outgoing_length(x: &mut Exec<'_>, len: i16) -> Result<(), Thrown> {
    if x.rt.session.apdu.state != STATE_OUTGOING {
        return Err(apdu_exc(x, APDU_ILLEGAL_USE));
    }
    let max = if x.rt.session.apdu.extended { 0x7FFF } else { 256 };
    if len < 0 || len > max {
        return Err(apdu_exc(x, APDU_BAD_LENGTH));
    }
    x.rt.session.apdu.out_len = len as usize;
    x.rt.session.apdu.state = STATE_OUTGOING_LENGTH_KNOWN;
    Ok(())
}

fn send(x: &mut Exec<'_>, src: Handle, off: i16, len: i16, bounds_is_apdu: bool) -> Result<(), Thrown> {
    // A full response still takes zero more bytes (HelloWorld sends an empty echo tail).
    let st = x.rt.session.apdu.state;
    if !(STATE_OUTGOING_LENGTH_KNOWN..=STATE_FULL_OUTGOING).contains(&st) {
        return Err(apdu_exc(x, APDU_ILLEGAL_USE));
    }
    if src == 0 {
        return Err(x.throw(cls::NULL_POINTER, 0));
    }
    let n = match x.rt.heap.array(src) {
        Some(ArrayData::Bytes(v)) => v.len(),
        _ => return Err(x.security()),
    };
    if off < 0 || len < 0 || off as usize + len as usize > n {
        return Err(if bounds_is_apdu {
            apdu_exc(x, APDU_BUFFER_BOUNDS)
        } else {
            x.throw(cls::ARRAY_INDEX_OUT_OF_BOUNDS, 0)
        });
    }
    let a = &x.rt.session.apdu;
    if a.out.len() + len as usize > a.out_len {
        return Err(apdu_exc(x, APDU_ILLEGAL_USE));
    }
    let a = &mut x.rt.session.apdu;
    if let Some(v) = x.rt.heap.bytes(src) {
        a.out.extend_from_slice(&v[off as usize..off as usize + len as usize]);
    }
    a.state = if a.out.len() == a.out_len { STATE_FULL_OUTGOING } else { STATE_PARTIAL_OUTGOING };
    Ok(())
}

// n is at most the APDU buffer length, below 32768.
#[allow(clippy::cast_possible_truncation)]
fn receive(x: &mut Exec<'_>, off: usize) -> i16 {
    let cap = apdu_buffer_len(x).saturating_sub(off);
    let a = &mut x.rt.session.apdu;
    let n = (a.data.len() - a.received).min(cap);
    let buf = x.rt.apdu_buffer;
    if let Some(v) = x.rt.heap.bytes_mut(buf) {
        v[off..off + n].copy_from_slice(&a.data[a.received..a.received + n]);
    }
    a.received += n;
    a.state = if a.received == a.data.len() { STATE_FULL_INCOMING } else { STATE_PARTIAL_INCOMING };
    n as i16
}

/// Free bytes of `JCSystem.MEMORY_TYPE_PERSISTENT` (0), `_TRANSIENT_RESET` (1) or
/// `_TRANSIENT_DESELECT` (2); another type is `SystemException.ILLEGAL_VALUE`.
fn free_memory(x: &mut Exec<'_>, kind: i16) -> Result<usize, Thrown> {
    let (u, l) = (x.rt.heap.usage(), x.rt.heap.limits);
    Ok(match kind {
        0 => (l.persistent as usize).saturating_sub(u.persistent),
        1 => (l.transient_reset as usize).saturating_sub(u.transient_reset),
        2 => (l.transient_deselect as usize).saturating_sub(u.transient_deselect),
        _ => return Err(x.throw(cls::SYSTEM_EXCEPTION, SYS_ILLEGAL_VALUE)),
    })
}

fn transient_array(x: &mut Exec<'_>, elem: ElemType, len: i16, event: i16) -> R {
    let t = match event {
        1 => Transience::ClearOnReset,
        2 => Transience::ClearOnDeselect,
        _ => return Err(x.throw(cls::SYSTEM_EXCEPTION, SYS_ILLEGAL_VALUE)),
    };
    if len < 0 {
        return Err(x.throw(cls::NEGATIVE_ARRAY_SIZE, 0));
    }
    let owner = x.rt.session.context;
    match x.rt.heap.new_array(elem, len as usize, t, owner) {
        Ok(h) => Ok(Some(h as i16)),
        Err(_) => Err(x.throw(cls::SYSTEM_EXCEPTION, SYS_NO_RESOURCE)),
    }
}

/// A new JCRE-owned `AID` object for these bytes.
pub(super) fn new_aid_object(x: &mut Exec<'_>, aid: &[u8]) -> Result<Handle, Thrown> {
    let h = x.rt.heap.new_instance(cls::AID, 0, 0).map_err(|_| x.throw(cls::SYSTEM_EXCEPTION, SYS_NO_RESOURCE))?;
    set_native(x, h as i16, NativeState::Aid(aid.to_vec()))?;
    Ok(h)
}

/// Runs native `n` with its argument words (receiver first).
// Java Card narrowing: byte arguments arrive widened to short and are narrowed with two's-complement truncation (JCVM §3.1, §7.5.82 s2b); returned lengths are of AIDs and the APDU buffer (< 32768).
#[allow(clippy::cast_possible_truncation)]
pub fn call(x: &mut Exec<'_>, n: Native, a: &[i16]) -> R {
    use Native::*;
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    match n {
        Gp(g) => super::gp::call(x, g, a),
        Nop => Ok(None),
        ObjectEquals => Ok(b(arg(0) == arg(1))),
        ReasonInit | SetReason | ReasonInit0 => {
            let r = if n == ReasonInit0 { 0 } else { arg(1) };
            set_native(x, arg(0), NativeState::Reason(r))?;
            Ok(None)
        }
        GetReason => match x.rt.heap.native(arg(0) as u16) {
            Some(NativeState::Reason(r)) => Ok(Some(*r)),
            Some(_) => Ok(Some(0)),
            None => Err(x.security()),
        },
        ThrowIt(c) => Err(x.throw(c, arg(0))),

        Register | RegisterAid => {
            let Some(install_aid) = x.rt.session.installing.clone() else {
                return Err(x.throw(cls::SYSTEM_EXCEPTION, SYS_ILLEGAL_AID));
            };
            let aid = if n == RegisterAid {
                let len = arg(3);
                if !(5..=16).contains(&len) {
                    return Err(x.throw(cls::SYSTEM_EXCEPTION, SYS_ILLEGAL_VALUE));
                }
                read(x, arg(1), arg(2), len)?
            } else {
                install_aid
            };
            // JC API Applet.register: ILLEGAL_AID if the AID is in use or already registered.
            if x.rt.session.registered.is_some() || x.rt.instances.iter().any(|i| i.aid == aid) {
                return Err(x.throw(cls::SYSTEM_EXCEPTION, SYS_ILLEGAL_AID));
            }
            x.rt.session.registered = Some((arg(0) as u16, aid));
            Ok(None)
        }
        SelectingApplet => Ok(b(x.rt.session.selecting)),
        SelectDefault => Ok(b(true)),
        GetSio => Ok(Some(0)),
        GetAppletSio => get_applet_sio(x, arg(0), arg(1)),
        GetPreviousContextAid => {
            // JCRE §6.2.8 / JC API: the AID of the applet instance active in the context the
            // current one was entered from; null when that is the JCRE's.
            let prev = x.rt.session.ctx_stack.last().and_then(|(_, i)| *i);
            Ok(Some(prev.and_then(|i| x.rt.instances.get(i)).map_or(0, |i| i.aid_object as i16)))
        }
        // The API class itself has no install (ISO7816.SW_FUNC_NOT_SUPPORTED).
        AppletInstall => Err(x.throw(cls::ISO_EXCEPTION, 0x6A81u16 as i16)),
        ReSelectingApplet => Ok(b(x.rt.session.reselecting)),

        AidInit => {
            let len = arg(3);
            if !(5..=16).contains(&len) {
                return Err(x.throw(cls::SYSTEM_EXCEPTION, SYS_ILLEGAL_VALUE));
            }
            let v = read(x, arg(1), arg(2), len)?;
            set_native(x, arg(0), NativeState::Aid(v))?;
            Ok(None)
        }
        AidEqualsObject | AidRidEquals => {
            let me = aid_bytes(x, arg(0));
            let other = if arg(1) == 0 { None } else { aid_bytes(x, arg(1)) };
            Ok(b(match (me, other) {
                (Some(m), Some(o)) if n == AidEqualsObject => m == o,
                (Some(m), Some(o)) => m.len() >= 5 && o.len() >= 5 && m[..5] == o[..5],
                _ => false,
            }))
        }
        AidEqualsBytes | AidPartialEquals => {
            let me = aid_bytes(x, arg(0)).unwrap_or_default();
            let v = read(x, arg(1), arg(2), arg(3).max(0))?;
            Ok(b(if n == AidEqualsBytes { v == me } else { v.len() <= me.len() && me.starts_with(&v) }))
        }
        AidGetBytes => {
            let me = aid_bytes(x, arg(0)).unwrap_or_default();
            write(x, arg(1), arg(2), &me)?;
            Ok(Some(me.len() as i16))
        }
        AidGetPartialBytes => {
            let me = aid_bytes(x, arg(0)).unwrap_or_default();
            let (from, len) = (arg(1), arg(4));
            if from < 0 || from as usize > me.len() || len < 0 {
                return Err(x.throw(cls::ARRAY_INDEX_OUT_OF_BOUNDS, 0));
            }
            let rest = &me[from as usize..];
            let k = if len == 0 { rest.len() } else { (len as usize).min(rest.len()) };
            write(x, arg(2), arg(3), &rest[..k])?;
            Ok(Some(k as i16))
        }

        PinInit => {
            let (limit, max) = (arg(1) as i8, arg(2) as i8);
            if limit < 1 || max < 1 {
                return Err(x.throw(cls::PIN_EXCEPTION, PIN_ILLEGAL_VALUE));
            }
            let st = PinState {
                try_limit: limit as u8,
                max_size: max as u8,
                tries: limit as u8,
                pin: Vec::new(),
                validated: false,
            };
            set_native(x, arg(0), NativeState::Pin(st))?;
            Ok(None)
        }
        PinCheck => {
            // JC API OwnerPIN.check: no tries left → false; the validated flag is cleared and
            // the counter decremented before the comparison (tearing-safe order).
            if pin_ref(x, arg(0))?.tries == 0 {
                return Ok(b(false));
            }
            let p = pin(x, arg(0))?;
            p.validated = false;
            p.tries -= 1;
            let stored = p.pin.clone();
            let len = arg(3) as i8;
            if len < 0 {
                return Ok(b(false));
            }
            let given = read(x, arg(1), arg(2), len as i16)?;
            let p = pin(x, arg(0))?;
            if given == stored && !stored.is_empty() {
                p.validated = true;
                p.tries = p.try_limit;
                Ok(b(true))
            } else {
                Ok(b(false))
            }
        }
        PinTries => Ok(Some(pin_ref(x, arg(0))?.tries as i16)),
        PinIsValidated => Ok(b(pin_ref(x, arg(0))?.validated)),
        PinReset => {
            // Writes (resets the counter) only when validated.
            if pin_ref(x, arg(0))?.validated {
                let p = pin(x, arg(0))?;
                p.validated = false;
                p.tries = p.try_limit;
            }
            Ok(None)
        }
        PinResetAndUnblock => {
            let p = pin(x, arg(0))?;
            p.validated = false;
            p.tries = p.try_limit;
            Ok(None)
        }
        PinSetValidated => {
            // The validated flag is transient: no persistent write.
            let v = arg(1) != 0;
            match x.rt.heap.native_mut_untracked(arg(0) as u16) {
                Some(NativeState::Pin(p)) => p.validated = v,
                _ => return Err(x.security()),
            }
            Ok(None)
        }
        PinUpdate => {
            let max = pin(x, arg(0))?.max_size;
            let len = arg(3) as i8;
            if len < 0 || len as u8 > max {
                return Err(x.throw(cls::PIN_EXCEPTION, PIN_ILLEGAL_VALUE));
            }
            let v = read(x, arg(1), arg(2), len as i16)?;
            let p = pin(x, arg(0))?;
            p.pin = v;
            p.tries = p.try_limit;
            p.validated = false;
            Ok(None)
        }

        ApduGetBuffer | ApduGetCurrentBuffer => Ok(Some(x.rt.apdu_buffer as i16)),
        ApduGetCurrent => Ok(Some(x.rt.apdu_object as i16)),
        ApduGetNad => Ok(Some(0)),
        ApduSetIncomingAndReceive => {
            if x.rt.session.apdu.state != STATE_INITIAL {
                return Err(apdu_exc(x, APDU_ILLEGAL_USE));
            }
            let off = cdata_offset(x);
            Ok(Some(receive(x, off)))
        }
        ApduReceiveBytes => {
            let st = x.rt.session.apdu.state;
            if st != STATE_PARTIAL_INCOMING && st != STATE_FULL_INCOMING {
                return Err(apdu_exc(x, APDU_ILLEGAL_USE));
            }
            let off = arg(1);
            if off < 0 || off as usize >= apdu_buffer_len(x) {
                return Err(apdu_exc(x, APDU_BUFFER_BOUNDS));
            }
            Ok(Some(receive(x, off as usize)))
        }
        ApduSetOutgoing | ApduSetOutgoingNoChaining => Ok(Some(set_outgoing(x)?)),
        ApduSetOutgoingLength => {
            set_outgoing_length(x, arg(1))?;
            Ok(None)
        }
        ApduSendBytes => {
            let buf = x.rt.apdu_buffer;
            send(x, buf, arg(1), arg(2), true)?;
            Ok(None)
        }
        ApduSendBytesLong => {
            send(x, arg(1) as u16, arg(2), arg(3), false)?;
            Ok(None)
        }
        ApduSetOutgoingAndSend => {
            set_outgoing(x)?;
            set_outgoing_length(x, arg(2))?;
            let buf = x.rt.apdu_buffer;
            send(x, buf, arg(1), arg(2), true)?;
            Ok(None)
        }
        ApduGetCurrentState => Ok(Some(x.rt.session.apdu.state as i16)),
        ApduIsChaining => {
            let c = x.rt.session.apdu.cla;
            Ok(b(c & 0x80 == 0 && c & 0x10 != 0))
        }
        ApduIsSecureMessaging => {
            let c = x.rt.session.apdu.cla;
            Ok(b(if c & 0x40 == 0 { c & 0x0C != 0 } else { c & 0x20 != 0 }))
        }
        ApduIsInterindustry => Ok(b(x.rt.session.apdu.cla & 0x80 == 0)),
        ApduIsValidCla => {
            let c = x.rt.session.apdu.cla;
            Ok(b(c != 0xFF && c & 0x60 != 0x20))
        }
        ApduGetIncomingLength => Ok(Some(x.rt.session.apdu.data.len().min(0x7FFF) as i16)),
        ApduGetOffsetCdata => Ok(Some(cdata_offset(x) as i16)),
        ApduGetLcEncoding => Ok(Some(if x.rt.session.apdu.extended { 2 } else { 1 })),
        ApduGetInBlockSize | ApduGetOutBlockSize => Ok(Some(0xFE)),
        ApduGetProtocol => Ok(Some(x.env.protocol() as i8 as i16)),
        ApduWaitExtension => Ok(None),
        ApduGetClaChannel => {
            let c = x.rt.session.apdu.cla;
            Ok(Some(if c & 0x40 == 0 { (c & 0x03) as i16 } else { 4 + (c & 0x0F) as i16 }))
        }

        // JCRE §7.5-7.7 and JC API JCSystem.
        BeginTransaction => {
            if x.rt.heap.journal.tx.is_some() {
                return Err(x.throw(cls::TRANSACTION_EXCEPTION, TX_IN_PROGRESS));
            }
            x.rt.heap.journal.tx = Some(TxLog::default());
            Ok(None)
        }
        CommitTransaction => {
            if x.rt.heap.journal.tx.is_none() {
                return Err(x.throw(cls::TRANSACTION_EXCEPTION, TX_NOT_IN_PROGRESS));
            }
            // The commit is one atomic unit: a power loss before it rolls everything back.
            let r = x.rt.heap.journal.unit().map_err(Access::Stop);
            heap(x, r)?;
            x.rt.heap.journal.tx = None;
            Ok(None)
        }
        AbortTransaction => {
            if x.rt.heap.journal.tx.is_none() {
                return Err(x.throw(cls::TRANSACTION_EXCEPTION, TX_NOT_IN_PROGRESS));
            }
            x.rt.heap.abort(&mut x.rt.statics, false);
            Ok(None)
        }
        GetTransactionDepth => Ok(Some(i16::from(x.rt.heap.journal.tx.is_some()))),
        CommitCapacity => Ok(Some(clamp(x.rt.heap.journal.capacity))),
        UnusedCommitCapacity => Ok(Some(clamp(x.rt.heap.journal.unused()))),
        GetAid => {
            let h = x.rt.session.instance.and_then(|i| x.rt.instances.get(i)).map_or(0, |i| i.aid_object);
            Ok(Some(h as i16))
        }
        GetVersion => Ok(Some(API_VERSION)),
        IsTransient => {
            let h = arg(0) as u16;
            Ok(Some(x.rt.heap.get(h).map_or(0, |o| o.transience.code() as i16)))
        }
        LookupAid => {
            let v = read(x, arg(0), arg(1), (arg(2) as i8).max(0) as i16)?;
            if let Some(i) = x.rt.instances.iter().find(|i| i.aid == v) {
                return Ok(Some(i.aid_object as i16));
            }
            if x.env.lookup_aid(&v) {
                return Ok(Some(new_aid_object(x, &v)? as i16));
            }
            Ok(Some(0))
        }
        MakeTransientBooleans => transient_array(x, ElemType::Boolean, arg(0), arg(1)),
        MakeTransientBytes => transient_array(x, ElemType::Byte, arg(0), arg(1)),
        MakeTransientShorts => transient_array(x, ElemType::Short, arg(0), arg(1)),
        MakeTransientObjects => transient_array(x, ElemType::Ref(cls::OBJECT), arg(0), arg(1)),
        GetAvailableMemory => Ok(Some(clamp(free_memory(x, arg(0))?))),
        MakeGlobalArray => Err(x.throw(cls::SYSTEM_EXCEPTION, SYS_ILLEGAL_VALUE)),
        GetAvailableMemoryInt => {
            let v = u32::try_from(free_memory(x, arg(2))?).unwrap_or(u32::MAX);
            let ctx = x.rt.session.context;
            for (i, w) in [(v >> 16) as u16, v as u16].into_iter().enumerate() {
                let r = x.rt.heap.store(arg(0) as u16, arg(1).wrapping_add(i as i16), Elem::Short(w as i16), ctx);
                heap(x, r)?;
            }
            Ok(None)
        }
        IsObjectDeletionSupported => Ok(b(true)),
        RequestObjectDeletion => {
            // JC API: the collection runs at the latest before the next APDU is processed.
            x.rt.session.gc_requested = true;
            Ok(None)
        }
        GetAssignedChannel => Ok(Some(x.rt.session.apdu.channel as i16)),
        IsAppletActive => {
            let Some(aid) = (if arg(0) == 0 { None } else { aid_bytes(x, arg(0)) }) else {
                return Err(x.throw(cls::NULL_POINTER, 0));
            };
            let active = x.rt.session.selected.values().any(|i| x.rt.instances.get(*i).is_some_and(|i| i.aid == aid))
                || x.env.is_applet_active(&aid);
            Ok(b(active))
        }

        ArrayCompare => {
            let len = arg(4);
            if len < 0 {
                return Err(x.throw(cls::ARRAY_INDEX_OUT_OF_BOUNDS, 0));
            }
            let s = read(x, arg(0), arg(1), len)?;
            let d = read(x, arg(2), arg(3), len)?;
            // Bytes compare as signed values (they are Java bytes).
            let r = s.iter().zip(&d).map(|(a, b)| (*a as i8).cmp(&(*b as i8))).find(|o| o.is_ne());
            Ok(Some(r.map_or(0, |o| o as i16)))
        }
        ArrayCopy | ArrayCopyNonAtomic => {
            let len = arg(4);
            if len < 0 {
                return Err(x.throw(cls::ARRAY_INDEX_OUT_OF_BOUNDS, 0));
            }
            // Both windows are checked before anything is written (JC API Util.arrayCopy).
            window(x, arg(2), arg(3), len)?;
            let s = read(x, arg(0), arg(1), len)?;
            write_as(x, arg(2), arg(3), &s, n == ArrayCopy)?;
            Ok(Some(arg(3).wrapping_add(len)))
        }
        ArrayFill | ArrayFillAtomic => {
            let len = arg(2);
            if len < 0 {
                return Err(x.throw(cls::ARRAY_INDEX_OUT_OF_BOUNDS, 0));
            }
            let (_, _, n_) = window(x, arg(0), arg(1), len)?;
            write_as(x, arg(0), arg(1), &vec![arg(3) as u8; n_], n == ArrayFillAtomic)?;
            Ok(Some(arg(1).wrapping_add(len)))
        }
        GetShort => {
            let v = read(x, arg(0), arg(1), 2)?;
            Ok(Some(i16::from_be_bytes([v[0], v[1]])))
        }
        MakeShort => Ok(Some(i16::from_be_bytes([arg(0) as u8, arg(1) as u8]))),
        SetShort => {
            write(x, arg(0), arg(1), &arg(2).to_be_bytes())?;
            Ok(Some(arg(1).wrapping_add(2)))
        }
        Sec(s) => super::security::call(x, s, a),
    }
}

/// `JCSystem.getAppletShareableInterfaceObject(AID serverAID, byte parameter)` (JCRE §6.2.7):
/// the server applet's `getShareableInterfaceObject(clientAID, parameter)` runs in the server's
/// context; what it returns reaches the client only if it is a Shareable object (else null).
/// Null for an unknown server.
// The parameter is a byte argument widened to a word; a returned reference is one word.
#[allow(clippy::cast_possible_truncation)]
fn get_applet_sio(x: &mut Exec<'_>, server: i16, param: i16) -> R {
    let Some(aid) = (if server == 0 { None } else { aid_bytes(x, server) }) else {
        return Err(x.throw(cls::NULL_POINTER, 0));
    };
    let Some(idx) = x.rt.instances.iter().position(|i| i.aid == aid) else { return Ok(Some(0)) };
    let (applet, pkg) = (x.rt.instances[idx].applet, x.rt.instances[idx].package);
    let class = match x.rt.heap.get(applet).map(|o| &o.body) {
        Some(Body::Instance { class, .. }) => *class,
        _ => return Ok(Some(0)),
    };
    let Some(target) = x.prog.class(class).and_then(|k| k.vtable.get(TOKEN_GET_SIO)).copied() else {
        return Ok(Some(0));
    };
    let client = x.rt.session.instance.and_then(|i| x.rt.instances.get(i)).map_or(0, |i| i.aid_object);
    x.switch_context(pkg + 1);
    x.rt.session.instance = Some(idx);
    let r = x.call(target, &[applet as i16, client as i16, param as i8 as i16]);
    x.restore_context();
    let sio = r?.unwrap_or(0) as u16;
    let shareable = match x.rt.heap.get(sio).map(|o| &o.body) {
        Some(Body::Instance { class, .. }) => x.prog.is_subclass(*class, cls::SHAREABLE),
        _ => false,
    };
    Ok(Some(if shareable { sio as i16 } else { 0 }))
}
