//! `org.globalplatform` (GP Card API v1.6, package AID `A00000015100`): `GPSystem` and the
//! `SecureChannel` of the applet's associated security domain. The natives reach the card
//! through [`GpCard`] ([`crate::jcvm::Env::gp`]); on a bare VM (no card) `GPSystem` answers
//! the states of a SECURED card with a SELECTABLE applet, and the `SecureChannel` methods act
//! as with no session (`unwrap`/`wrap` pass data through; the others raise `ISOException`).
//!
//! Token numbering: the 1.6 export (`shared/javacard/tokens/globalplatform.json`).

use crate::apdu::Command;
use crate::card::cvm::{CvmCall, CvmSession, GlobalPin};
use crate::card::RegistryCall;
use crate::jcvm::heap::{ClassId, NativeState};
use crate::jcvm::interp::{Exec, Fault, Thrown};
use crate::sw::Sw;

use super::{api_class_id, cls};

type R = Result<Option<i16>, Thrown>;

/// The index of `org/globalplatform` in [`super::PACKAGES`].
pub const GP_PACKAGE: usize = 5;
/// `org.globalplatform.CVM` (interface token 1).
pub const CVM: ClassId = api_class_id(GP_PACKAGE, 1);
/// `org.globalplatform.SecureChannel` (interface token 2).
pub const SECURE_CHANNEL: ClassId = api_class_id(GP_PACKAGE, 2);
/// `org.globalplatform.GPSystem` (class token 3).
pub const GP_SYSTEM: ClassId = api_class_id(GP_PACKAGE, 3);
/// The class of the JCRE-owned object `GPSystem.getSecureChannel()` returns: not in the export
/// (applets see it only as a `SecureChannel`), a token no export uses.
pub const SECURE_CHANNEL_IMPL: ClassId = api_class_id(GP_PACKAGE, 0xF2);
/// The class of the JCRE-owned global PIN object `GPSystem.getCVM(CVM_GLOBAL_PIN)` returns
/// (applets see it as a `CVM`).
pub const CVM_IMPL: ClassId = api_class_id(GP_PACKAGE, 0xF3);
/// `org.globalplatform.GPRegistryEntry` (interface token 4).
pub const REGISTRY_ENTRY: ClassId = api_class_id(GP_PACKAGE, 4);
/// The class of the JCRE-owned objects `GPSystem.getRegistryEntry` returns (applets see them as
/// `GPRegistryEntry`): one per registry entry asked for, found again on the next call.
pub const REGISTRY_ENTRY_IMPL: ClassId = api_class_id(GP_PACKAGE, 0xF4);
/// `GPSystem.CVM_GLOBAL_PIN` (GP Card API): the one CVM this card has.
pub const CVM_GLOBAL_PIN: u8 = 0x11;

/// Card services for `org.globalplatform`, as the runtime gives them to one command of one
/// applet (the card's `card::GpApi` over the applet's registry entry and its channel).
pub trait GpCard {
    /// The card life cycle state (GPCS T11-4).
    fn card_state(&self) -> u8;
    /// The calling applet's life cycle state (GPCS T11-5).
    fn own_state(&self) -> u8;
    /// `setCardContentState`.
    fn set_own_state(&mut self, state: u8) -> bool;
    /// `lockCard`.
    fn lock_card(&mut self) -> bool;
    /// `terminateCard`.
    fn terminate_card(&mut self) -> bool;
    /// INITIALIZE UPDATE / EXTERNAL AUTHENTICATE on the associated SD: response data.
    fn process_security(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw>;
    /// The Current Security Level (GPCS T10-1).
    fn security_level(&self) -> u8;
    /// The command unwrapped at the session's level.
    fn unwrap(&mut self, cmd: &Command) -> Result<Command, Sw>;
    /// Response data wrapped at the session's level (SW `9000`).
    fn wrap(&mut self, data: &[u8]) -> Vec<u8>;
    /// Ends the session.
    fn reset_security(&mut self);
    /// `decryptData` / `encryptData`: `data` deciphered or enciphered with the session key set's
    /// static DEK.
    fn crypt_data(&mut self, data: &[u8], encrypt: bool) -> Result<Vec<u8>, Sw>;
    /// A `CVM` method on the card's global PIN, as the calling application (its Java value).
    fn cvm(&mut self, call: CvmCall<'_>) -> i16;
    /// `GPSystem.getRegistryEntry`: the AID of the entry the caller may see (`None`: its own).
    fn registry_entry(&self, aid: Option<&[u8]>) -> Option<Vec<u8>>;
    /// `GPRegistryEntry.getPrivileges`: the entry's three privilege bytes.
    fn entry_privileges(&self, entry: &[u8]) -> Option<[u8; 3]>;
    /// A `GPRegistryEntry` method on an entry (booleans 0/1, `getState`'s byte).
    fn entry_call(&mut self, entry: &[u8], call: RegistryCall<'_>) -> u8;
}

/// The `org.globalplatform` natives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpNative {
    /// `static GPSystem.getCardContentState()`.
    GetCardContentState,
    /// `static GPSystem.getCardState()`.
    GetCardState,
    /// `static GPSystem.getCVM(byte)`: the global PIN for `CVM_GLOBAL_PIN`, else `null`.
    GetCvm,
    /// `static GPSystem.getSecureChannel()`.
    GetSecureChannel,
    /// `static GPSystem.lockCard()`.
    LockCard,
    /// `static GPSystem.terminateCard()`.
    TerminateCard,
    /// `static GPSystem.setATRHistBytes(byte[], short, byte)`: `false` (the eSE's ATR is the
    /// profile's).
    SetAtrHistBytes,
    /// `static GPSystem.setCardContentState(byte)`.
    SetCardContentState,
    /// `SecureChannel.processSecurity(APDU)`.
    ProcessSecurity,
    /// `SecureChannel.wrap(byte[], short, short)`.
    Wrap,
    /// `SecureChannel.unwrap(byte[], short, short)`.
    Unwrap,
    /// `SecureChannel.decryptData(byte[], short, short)`.
    DecryptData,
    /// `SecureChannel.encryptData(byte[], short, short)`.
    EncryptData,
    /// `SecureChannel.resetSecurity()`.
    ResetSecurity,
    /// `SecureChannel.getSecurityLevel()`.
    GetSecurityLevel,
    /// A method of the global PIN's `CVM` (its interface method token, 0-10).
    Cvm(CvmMethod),
    /// `static GPSystem.getRegistryEntry(AID)`.
    GetRegistryEntry,
    /// A method of a `GPRegistryEntry` (its interface method token, 0-7).
    Registry(RegistryMethod),
}

/// The methods of `org.globalplatform.GPRegistryEntry`, in token order (the 1.7 export).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryMethod {
    /// `deregisterService(short)`: not supported (`ISOException` 6A81).
    DeregisterService,
    GetAid,
    /// `getPrivileges(byte[], short)`.
    GetPrivileges,
    GetState,
    /// `isAssociated(AID)`.
    IsAssociated,
    /// `isPrivileged(byte)`.
    IsPrivileged,
    /// `registerService(short)`: not supported (`ISOException` 6A81).
    RegisterService,
    /// `setState(byte)`.
    SetState,
}

/// The methods of `org.globalplatform.CVM`, in token order (the 1.7 export).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CvmMethod {
    IsActive,
    IsSubmitted,
    IsVerified,
    IsBlocked,
    GetTriesRemaining,
    /// `update(byte[], short, byte, byte)`.
    Update,
    ResetState,
    BlockState,
    ResetAndUnblockState,
    /// `setTryLimit(byte)`.
    SetTryLimit,
    /// `verify(byte[], short, byte, byte)`.
    Verify,
}

impl GpNative {
    /// Argument words (receiver included) and whether a value is returned.
    pub fn signature(self) -> (u8, bool) {
        use GpNative::*;
        match self {
            GetCardContentState | GetCardState | GetSecureChannel | LockCard | TerminateCard => (0, true),
            GetCvm | SetCardContentState => (1, true),
            SetAtrHistBytes => (3, true),
            ProcessSecurity => (2, true),
            Wrap | Unwrap | DecryptData | EncryptData => (4, true),
            ResetSecurity => (1, false),
            GetSecurityLevel => (1, true),
            Cvm(CvmMethod::Update | CvmMethod::Verify) => (5, true),
            Cvm(CvmMethod::SetTryLimit) => (2, true),
            Cvm(_) => (1, true),
            GetRegistryEntry => (1, true),
            Registry(RegistryMethod::GetPrivileges) => (3, true),
            Registry(RegistryMethod::DeregisterService | RegistryMethod::RegisterService) => (2, false),
            Registry(RegistryMethod::IsAssociated | RegistryMethod::IsPrivileged | RegistryMethod::SetState) => {
                (2, true)
            }
            Registry(RegistryMethod::GetAid | RegistryMethod::GetState) => (1, true),
        }
    }
}

/// `ISOException` with this status word (GP Card API: "ISOException ... with the status word
/// of the failure").
fn iso(x: &mut Exec<'_>, sw: Sw) -> Thrown {
    x.throw(cls::ISO_EXCEPTION, sw.to_u16() as i16)
}

fn b(v: bool) -> Option<i16> {
    Some(i16::from(v))
}

/// The JCRE-owned objects of these classes are permanent JCRE entry point objects (JCRE §6.2.1):
/// applets may keep them in fields.
pub const PERMANENT_ENTRY_POINTS: [ClassId; 2] = [SECURE_CHANNEL_IMPL, CVM_IMPL];

/// The one JCRE-owned object of `class` (the `SecureChannel`, the global PIN), made at first
/// use and kept in the JCRE's table of its own instances.
fn jcre_object(x: &mut Exec<'_>, class: ClassId) -> R {
    if let Some(h) = x.rt.system_exceptions.get(&class) {
        return Ok(Some(*h as i16));
    }
    let h = x.rt.heap.new_instance(class, 0, 0).map_err(|_| Thrown::Fault(Fault::OutOfMemory))?;
    x.rt.system_exceptions.insert(class, h);
    Ok(Some(h as i16))
}

/// The command `(header ‖ Lc ‖ data)` at `off` of a byte array, as `unwrap` gets it.
fn command_at(x: &mut Exec<'_>, h: i16, off: i16, len: i16) -> Result<Command, Thrown> {
    let bytes = super::natives::read(x, h, off, len)?;
    Command::parse(&bytes).map_err(|_| iso(x, Sw::WrongLength))
}

/// The CVM value argument of `update` / `verify`: `SecurityException` unless a global array
/// (the APDU or install buffer, or another JCRE-owned array: the GP Card API requires
/// "a global byte array", so no application array reaches the CVM's owner).
fn cvm_value(x: &mut Exec<'_>, h: i16, off: i16, len: i16) -> Result<Vec<u8>, Thrown> {
    let handle = h as u16;
    let global = handle == x.rt.apdu_buffer
        || handle == x.rt.install_buffer
        || x.rt.heap.get(handle).is_some_and(|o| o.owner == 0);
    if handle != 0 && !global {
        return Err(x.throw(cls::SECURITY, 0));
    }
    super::natives::read(x, h, off, len)
}

/// A `CVM` method: on the card's global PIN, or on a bare VM (no card) as a NOT_READY CVM
/// the applet may not manage (`false`, counter 0, `CVM_FAILURE`). `bLength` comes sign-extended
/// (JCVM §3.1), so a negative one is out of bounds.
// Byte arguments arrive widened: the casts take back the byte.
#[allow(clippy::cast_possible_truncation)]
fn cvm(x: &mut Exec<'_>, m: CvmMethod, a: &[i16]) -> R {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let mut bare = (GlobalPin::default(), CvmSession::None);
    let value;
    let call = match m {
        CvmMethod::IsActive => CvmCall::IsActive,
        CvmMethod::IsSubmitted => CvmCall::IsSubmitted,
        CvmMethod::IsVerified => CvmCall::IsVerified,
        CvmMethod::IsBlocked => CvmCall::IsBlocked,
        CvmMethod::GetTriesRemaining => CvmCall::GetTriesRemaining,
        CvmMethod::ResetState => CvmCall::ResetState,
        CvmMethod::BlockState => CvmCall::BlockState,
        CvmMethod::ResetAndUnblockState => CvmCall::ResetAndUnblockState,
        CvmMethod::SetTryLimit => CvmCall::SetTryLimit(arg(1) as i8),
        CvmMethod::Update | CvmMethod::Verify => {
            match cvm_value(x, arg(1), arg(2), arg(3)) {
                Ok(v) => value = v,
                Err(t) => {
                    // verify: an exception makes the comparison unsuccessful (GP Card API), so
                    // it costs a try as a wrong value does.
                    if m == CvmMethod::Verify {
                        if let Some(g) = x.env.gp() {
                            g.cvm(CvmCall::Verify(&[], 0));
                        }
                    }
                    return Err(t);
                }
            }
            let format = arg(4) as u8;
            if m == CvmMethod::Update {
                CvmCall::Update(&value, format)
            } else {
                CvmCall::Verify(&value, format)
            }
        }
    };
    let r = match x.env.gp() {
        Some(g) => g.cvm(call),
        None => bare.0.call(false, call, &mut bare.1),
    };
    Ok(Some(r))
}

/// `GPSystem.getRegistryEntry(aid)`: the JCRE-owned entry object for the entry the caller may
/// see (the one made by an earlier call when it is still there), or null.
fn registry_entry_object(x: &mut Exec<'_>, aid_ref: i16) -> R {
    let asked = if aid_ref == 0 {
        None
    } else {
        match x.rt.heap.native(aid_ref as u16) {
            Some(NativeState::Aid(a)) => Some(a.clone()),
            _ => return Err(x.throw(cls::NULL_POINTER, 0)),
        }
    };
    let Some(entry) = x.env.gp().and_then(|g| g.registry_entry(asked.as_deref())) else {
        return Ok(Some(0));
    };
    let found = x.rt.heap.owned_by(0).into_iter().find(|h| {
        x.class_of(*h) == Some(REGISTRY_ENTRY_IMPL)
            && matches!(x.rt.heap.native(*h), Some(NativeState::RegistryEntry(a)) if *a == entry)
    });
    if let Some(h) = found {
        return Ok(Some(h as i16));
    }
    let h = x.rt.heap.new_instance(REGISTRY_ENTRY_IMPL, 0, 0).map_err(|_| Thrown::Fault(Fault::OutOfMemory))?;
    x.rt.heap.set_native(h, NativeState::RegistryEntry(entry)).map_err(|a| x.access(a))?;
    Ok(Some(h as i16))
}

/// A `GPRegistryEntry` method on the entry object `a[0]`.
// Byte arguments arrive widened (JCVM §3.1): the casts take back the byte.
#[allow(clippy::cast_possible_truncation)]
fn registry(x: &mut Exec<'_>, m: RegistryMethod, a: &[i16]) -> R {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let Some(NativeState::RegistryEntry(entry)) = x.rt.heap.native(arg(0) as u16).cloned() else {
        return Err(x.throw(cls::NULL_POINTER, 0));
    };
    let call = match m {
        RegistryMethod::DeregisterService | RegistryMethod::RegisterService => {
            // GP Card API: "ISOException if this method is not supported" (no Global Services).
            return Err(iso(x, Sw::FunctionNotSupported));
        }
        RegistryMethod::GetAid => {
            // The instance's own AID object when it is a CAP applet here, else a new JCRE one.
            if let Some(i) = x.rt.instances.iter().find(|i| i.aid == entry) {
                return Ok(Some(i.aid_object as i16));
            }
            return Ok(Some(super::natives::new_aid_object(x, &entry)? as i16));
        }
        RegistryMethod::GetPrivileges => {
            let p = x.env.gp().and_then(|g| g.entry_privileges(&entry)).unwrap_or([0; 3]);
            super::natives::write_as(x, arg(1), arg(2), &p, false)?;
            return Ok(Some(arg(2).wrapping_add(3)));
        }
        RegistryMethod::GetState => RegistryCall::GetState,
        RegistryMethod::IsPrivileged => RegistryCall::IsPrivileged(arg(1) as u8),
        RegistryMethod::SetState => RegistryCall::SetState(arg(1) as u8),
        RegistryMethod::IsAssociated => {
            let sd = match x.rt.heap.native(arg(1) as u16) {
                Some(NativeState::Aid(a)) => a.clone(),
                _ => return Ok(Some(0)),
            };
            let r = x.env.gp().map_or(0, |g| g.entry_call(&entry, RegistryCall::IsAssociated(&sd)));
            return Ok(Some(i16::from(r)));
        }
    };
    let r = x.env.gp().map_or(0, |g| g.entry_call(&entry, call));
    Ok(Some(i16::from(r as i8)))
}

/// The current APDU as a command: header from the APDU buffer, all its data (received now if
/// it was not: `processSecurity` receives the data itself, GP Card API).
fn current_command(x: &mut Exec<'_>) -> Result<Command, Thrown> {
    let buf = x.rt.apdu_buffer;
    let head = x.rt.heap.bytes(buf).map(|v| v[..4].to_vec()).unwrap_or_default();
    if head.len() != 4 {
        return Err(Thrown::Fault(Fault::OutOfMemory));
    }
    let a = &mut x.rt.session.apdu;
    let data = a.data.clone();
    let cmd = Command { cla: a.cla, ins: head[1], p1: head[2], p2: head[3], data, ne: None, extended: a.extended };
    // STATE_FULL_INCOMING: the data is consumed.
    a.received = a.data.len();
    a.state = 2;
    Ok(cmd)
}

/// Runs native `n` with its argument words (receiver first).
// Byte arguments arrive widened (JCVM §3.1); lengths are of the APDU buffer (< 32768).
#[allow(clippy::cast_possible_truncation)]
pub fn call(x: &mut Exec<'_>, n: GpNative, a: &[i16]) -> R {
    use GpNative::*;
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    match n {
        GetCardState => Ok(Some(i16::from(x.env.gp().map_or(0x0F, |g| g.card_state()) as i8))),
        GetCardContentState => Ok(Some(i16::from(x.env.gp().map_or(0x07, |g| g.own_state()) as i8))),
        SetCardContentState => Ok(b(x.env.gp().is_some_and(|g| g.set_own_state(arg(0) as u8)))),
        LockCard => Ok(b(x.env.gp().is_some_and(|g| g.lock_card()))),
        TerminateCard => Ok(b(x.env.gp().is_some_and(|g| g.terminate_card()))),
        GetCvm if arg(0) as u8 == CVM_GLOBAL_PIN => jcre_object(x, CVM_IMPL),
        GetCvm => Ok(Some(0)),
        Cvm(m) => cvm(x, m, a),
        GetRegistryEntry => registry_entry_object(x, arg(0)),
        Registry(m) => registry(x, m, a),
        SetAtrHistBytes => Ok(b(false)),
        GetSecureChannel => jcre_object(x, SECURE_CHANNEL_IMPL),
        GetSecurityLevel => Ok(Some(i16::from(x.env.gp().map_or(0, |g| g.security_level()) as i8))),
        ResetSecurity => {
            if let Some(g) = x.env.gp() {
                g.reset_security();
            }
            Ok(None)
        }
        ProcessSecurity => {
            let cmd = current_command(x)?;
            let r = match x.env.gp() {
                Some(g) => g.process_security(&cmd),
                None => Err(Sw::ConditionsNotSatisfied),
            };
            let data = r.map_err(|sw| iso(x, sw))?;
            // The response data at ISO7816.OFFSET_CDATA; its length returned (GP Card API).
            let buf = x.rt.apdu_buffer as i16;
            super::natives::write_as(x, buf, 5, &data, false)?;
            Ok(Some(data.len() as i16))
        }
        Unwrap => {
            let cmd = command_at(x, arg(1), arg(2), arg(3))?;
            let r = match x.env.gp() {
                Some(g) => g.unwrap(&cmd),
                None => Err(Sw::ConditionsNotSatisfied),
            };
            let plain = r.map_err(|sw| iso(x, sw))?;
            let mut out = vec![plain.cla, plain.ins, plain.p1, plain.p2];
            if !plain.data.is_empty() {
                out.push(plain.data.len() as u8);
                out.extend(&plain.data);
            }
            super::natives::write_as(x, arg(1), arg(2), &out, false)?;
            Ok(Some(out.len() as i16))
        }
        Wrap => {
            let data = super::natives::read(x, arg(1), arg(2), arg(3))?;
            let out = match x.env.gp() {
                Some(g) => g.wrap(&data),
                None => data,
            };
            super::natives::write_as(x, arg(1), arg(2), &out, false)?;
            Ok(Some(out.len() as i16))
        }
        DecryptData | EncryptData => {
            let data = super::natives::read(x, arg(1), arg(2), arg(3))?;
            let r = match x.env.gp() {
                Some(g) => g.crypt_data(&data, n == EncryptData),
                None => Err(Sw::ConditionsNotSatisfied),
            };
            let out = r.map_err(|sw| iso(x, sw))?;
            super::natives::write_as(x, arg(1), arg(2), &out, false)?;
            Ok(Some(out.len() as i16))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::{api_class, ApiMethod, Native};
    use super::*;

    /// The table against the 1.7 export's token facts (`shared/javacard/tokens/globalplatform.json`),
    /// when `shared/javacard` is there: each native sits at the token of its method.
    #[test]
    fn tokens_match_the_gp_export() {
        let Some(json) = crate::jcvm::shared_file("javacard/tokens/globalplatform.json") else {
            eprintln!("ignored: needs ../shared/javacard/tokens");
            return;
        };
        let start = json.find("org.globalplatform-1.7/").unwrap();
        let pkg = &json[start..];
        let class = |name: &str| {
            let at = pkg.find(&format!("\"name\": \"org/globalplatform/{name}\"")).unwrap();
            let body = &pkg[at..];
            let end = body[1..].find("\"name\": \"org/globalplatform/").map_or(body.len(), |e| e + 1);
            let token_line = &pkg[..at].rsplit("\"token\": ").next().unwrap();
            (token_line.split(',').next().unwrap().trim().parse::<u8>().unwrap(), body[..end].to_string())
        };
        let method = |body: &str, token: u8, name: &str| {
            assert!(body.contains(&format!("\"token\": {token},\n      \"name\": \"{name}\"")), "{name} {token}");
        };
        let (t, body) = class("GPSystem");
        assert_eq!(api_class_id(GP_PACKAGE, t), GP_SYSTEM);
        let statics = api_class(GP_SYSTEM).unwrap().statics;
        let names = [
            (GpNative::GetCardContentState, "getCardContentState"),
            (GpNative::GetCardState, "getCardState"),
            (GpNative::GetCvm, "getCVM"),
            (GpNative::GetSecureChannel, "getSecureChannel"),
            (GpNative::LockCard, "lockCard"),
            (GpNative::TerminateCard, "terminateCard"),
            (GpNative::SetAtrHistBytes, "setATRHistBytes"),
            (GpNative::SetCardContentState, "setCardContentState"),
            (GpNative::GetRegistryEntry, "getRegistryEntry"),
        ];
        for (n, name) in names {
            let tok = statics.iter().position(|s| *s == Native::Gp(n)).unwrap();
            method(&body, u8::try_from(tok).unwrap(), name);
        }
        let (t, body) = class("SecureChannel");
        assert_eq!(api_class_id(GP_PACKAGE, t), SECURE_CHANNEL);
        let (t, cvm_body) = class("CVM");
        assert_eq!(api_class_id(GP_PACKAGE, t), CVM);
        let imp = api_class(CVM_IMPL).unwrap();
        let map = imp.implements.iter().find(|(i, _)| *i == CVM).unwrap().1;
        let names = [
            (CvmMethod::IsActive, "isActive"),
            (CvmMethod::IsSubmitted, "isSubmitted"),
            (CvmMethod::IsVerified, "isVerified"),
            (CvmMethod::IsBlocked, "isBlocked"),
            (CvmMethod::GetTriesRemaining, "getTriesRemaining"),
            (CvmMethod::Update, "update"),
            (CvmMethod::ResetState, "resetState"),
            (CvmMethod::BlockState, "blockState"),
            (CvmMethod::ResetAndUnblockState, "resetAndUnblockState"),
            (CvmMethod::SetTryLimit, "setTryLimit"),
            (CvmMethod::Verify, "verify"),
        ];
        for (tok, (m, name)) in names.into_iter().enumerate() {
            assert_eq!(imp.virtuals[map[tok] as usize], ApiMethod::Native(Native::Gp(GpNative::Cvm(m))), "{name}");
            method(&cvm_body, u8::try_from(tok).unwrap(), name);
        }
        let (t, reg_body) = class("GPRegistryEntry");
        assert_eq!(api_class_id(GP_PACKAGE, t), REGISTRY_ENTRY);
        let imp = api_class(REGISTRY_ENTRY_IMPL).unwrap();
        let map = imp.implements.iter().find(|(i, _)| *i == REGISTRY_ENTRY).unwrap().1;
        let names = [
            (RegistryMethod::DeregisterService, "deregisterService"),
            (RegistryMethod::GetAid, "getAID"),
            (RegistryMethod::GetPrivileges, "getPrivileges"),
            (RegistryMethod::GetState, "getState"),
            (RegistryMethod::IsAssociated, "isAssociated"),
            (RegistryMethod::IsPrivileged, "isPrivileged"),
            (RegistryMethod::RegisterService, "registerService"),
            (RegistryMethod::SetState, "setState"),
        ];
        for (tok, (m, name)) in names.into_iter().enumerate() {
            assert_eq!(imp.virtuals[map[tok] as usize], ApiMethod::Native(Native::Gp(GpNative::Registry(m))), "{name}");
            method(&reg_body, u8::try_from(tok).unwrap(), name);
        }
        // The implementation's interface map: interface token → its virtual slot's native.
        let imp = api_class(SECURE_CHANNEL_IMPL).unwrap();
        let map = imp.implements.iter().find(|(i, _)| *i == SECURE_CHANNEL).unwrap().1;
        let names = [
            (GpNative::ProcessSecurity, "processSecurity"),
            (GpNative::Wrap, "wrap"),
            (GpNative::Unwrap, "unwrap"),
            (GpNative::DecryptData, "decryptData"),
            (GpNative::EncryptData, "encryptData"),
            (GpNative::ResetSecurity, "resetSecurity"),
            (GpNative::GetSecurityLevel, "getSecurityLevel"),
        ];
        for (tok, (n, name)) in names.into_iter().enumerate() {
            assert_eq!(imp.virtuals[map[tok] as usize], ApiMethod::Native(Native::Gp(n)), "{name}");
            method(&body, u8::try_from(tok).unwrap(), name);
        }
    }
}
