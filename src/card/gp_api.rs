//! What the runtime offers an applet that is not a security domain through the GlobalPlatform
//! Card API (GP Card API v1.6, `org.globalplatform`): the card and its own life cycle states
//! (`GPSystem`), and the secure channel session of the channel in hand as its associated
//! security domain runs it (`SecureChannel`). The runtime hands it (in [`super::Ctx::gp`]) to
//! every instance without the Security Domain privilege; security domains have
//! [`super::Open`] instead.
//!
//! `processSecurity` runs INITIALIZE UPDATE and EXTERNAL AUTHENTICATE on the associated SD
//! exactly as the runtime would for an applet that declares
//! [`super::SecureChannelUse::AssociatedSd`]: the SD's own command code (`gp::scp`), its key set
//! and sequence counter, and the session of the channel (GPCS §10.2.3, AmdD §5.6).

use super::cvm::CvmCall;
use super::registry::{AppLifeCycle, CardLifeCycle, Privileges};
use super::{Aid, Outcome, Runtime};
use crate::apdu::{Command, Response};
use crate::crypto::CardRng;
use crate::scp03::card::Session;
use crate::scp03::prim::AesKey;
use crate::scp03::SecurityStatus;
use crate::sw::Sw;

/// A `GPRegistryEntry` method on one registry entry (GP Card API v1.7), with its arguments.
#[derive(Clone, Copy, Debug)]
pub enum RegistryCall<'a> {
    /// `getState()`: the entry's life cycle byte (the card's for the ISD, GPCS T11-4/5/6).
    GetState,
    /// `isAssociated(sdAID)`: the entry's associated SD is `sdAID`, which is a security domain.
    IsAssociated(&'a [u8]),
    /// `isPrivileged(bPrivilege)`: privilege number 0-17 (`GPRegistryEntry.PRIVILEGE_*`).
    IsPrivileged(u8),
    /// `setState(bState)`.
    SetState(u8),
}

/// The privilege of each `GPRegistryEntry.PRIVILEGE_*` number (0-17, GP Card API v1.7; the
/// bits of GPCS T11-7/8/9).
const PRIVILEGE_NUMBERS: [Privileges; 18] = [
    Privileges::SECURITY_DOMAIN,
    Privileges::DAP_VERIFICATION,
    Privileges::DELEGATED_MANAGEMENT,
    Privileges::CARD_LOCK,
    Privileges::CARD_TERMINATE,
    Privileges::CARD_RESET,
    Privileges::CVM_MANAGEMENT,
    Privileges::MANDATED_DAP_VERIFICATION,
    Privileges::TRUSTED_PATH,
    Privileges::AUTHORIZED_MANAGEMENT,
    Privileges::TOKEN_VERIFICATION,
    Privileges::GLOBAL_DELETE,
    Privileges::GLOBAL_LOCK,
    Privileges::GLOBAL_REGISTRY,
    Privileges::FINAL_APPLICATION,
    Privileges::GLOBAL_SERVICE,
    Privileges::RECEIPT_GENERATION,
    Privileges::CIPHERED_LOAD_FILE_DATA_BLOCK,
];

/// GP Card API services for one command of one applet instance.
pub struct GpApi<'a> {
    rt: &'a mut Runtime,
    /// Borrowed: a GpApi is made for every command to an application (no allocation).
    aid: &'a Aid,
    channel: u8,
}

impl<'a> GpApi<'a> {
    pub(super) fn new(rt: &'a mut Runtime, aid: &'a Aid, channel: u8) -> GpApi<'a> {
        GpApi { rt, aid, channel }
    }

    /// `GPSystem.getCardState()`: the card life cycle state (GPCS T11-4 coding).
    pub fn card_state(&self) -> u8 {
        self.rt.image.life_cycle.byte()
    }

    /// `GPSystem.getCardContentState()`: the calling applet's life cycle state (GPCS T11-5/6).
    pub fn own_state(&self) -> u8 {
        self.rt.image.instance(self.aid).map_or(0, |i| i.life_cycle.byte())
    }

    /// `GPSystem.setCardContentState(state)`: an application moves itself to an
    /// application-specific state (GP Card API: b1-b2 stay `11`, b8 not set (locked), not back to
    /// INSTALLED); `false` and nothing changed otherwise.
    pub fn set_own_state(&mut self, state: u8) -> bool {
        if state & 0x83 != 0x03 || state == 0x03 {
            return false;
        }
        let Some(i) = self.rt.image.instance(self.aid) else {
            return false;
        };
        if i.life_cycle.is_locked() || i.is_sd() {
            return false;
        }
        self.rt.image_dirty = true;
        if let Some(i) = self.rt.image.instances.iter_mut().find(|i| &i.aid == self.aid) {
            i.life_cycle = AppLifeCycle::from_byte(state);
        }
        true
    }

    fn has(&self, p: Privileges) -> bool {
        self.rt.image.instance(self.aid).is_some_and(|i| i.has_privilege(p))
    }

    /// `GPSystem.lockCard()`: with the Card Lock privilege, SECURED → CARD_LOCKED (GPCS
    /// §5.1.1.4); `false` otherwise.
    pub fn lock_card(&mut self) -> bool {
        if !self.has(Privileges::CARD_LOCK) || self.rt.image.life_cycle != CardLifeCycle::Secured {
            return false;
        }
        self.rt.image_dirty = true;
        self.rt.image.life_cycle = CardLifeCycle::CardLocked;
        true
    }

    /// `GPSystem.terminateCard()`: with the Card Terminate privilege, to TERMINATED from any
    /// state but TERMINATED (GPCS §5.1.1.5); `false` otherwise.
    pub fn terminate_card(&mut self) -> bool {
        if !self.has(Privileges::CARD_TERMINATE) || self.rt.image.life_cycle == CardLifeCycle::Terminated {
            return false;
        }
        self.rt.image_dirty = true;
        self.rt.image.life_cycle = CardLifeCycle::Terminated;
        true
    }

    /// `SecureChannel.processSecurity(apdu)`: INITIALIZE UPDATE and EXTERNAL AUTHENTICATE
    /// (CLA `80`/`84`, INS `50`/`82`) run on the applet's associated security domain; any other
    /// command: `6E00`/`6D00` as the SD answers it would be wrong, so `6D00`.
    pub fn process_security(&mut self, rng: &mut CardRng, cmd: &Command) -> Outcome {
        if cmd.cla & 0x80 == 0 || !matches!(cmd.ins, 0x50 | 0x82) {
            return Err(Sw::InsNotSupported);
        }
        let sd = self.rt.image.instance(self.aid).map(|i| i.sd.clone()).ok_or(Sw::ConditionsNotSatisfied)?;
        let ch = self.channel;
        self.rt.process_on(rng, ch, &sd, cmd)
    }

    /// `SecureChannel.getSecurityLevel()`: the Current Security Level (GPCS T10-1 coding,
    /// `AUTHENTICATED` `80` with C-MAC `01`, C-DECRYPTION `02`, R-MAC `10`, R-ENCRYPTION `20`).
    pub fn security_level(&self) -> u8 {
        self.rt.security_status(self.channel).bits()
    }

    /// `SecureChannel.unwrap`: the command checked and deciphered at the session's level. With
    /// no session, a command without secure messaging passes as it is; one with it: `6982`.
    /// A failure ends the session (AmdD §5.6).
    pub fn unwrap(&mut self, cmd: &Command) -> Result<Command, Sw> {
        let sm = cmd.cla & 0x04 != 0 || (cmd.cla & 0x40 != 0 && cmd.cla & 0x20 != 0);
        let Some(session) = self.rt.session_mut(self.channel) else {
            return Err(Sw::ConditionsNotSatisfied);
        };
        match session {
            Session::Authenticated(a) => match a.unwrap(cmd) {
                Ok(p) => Ok(p),
                Err(sw) => {
                    session.end();
                    Err(sw)
                }
            },
            _ if sm => Err(Sw::SecurityNotSatisfied),
            _ => Ok(cmd.clone()),
        }
    }

    /// `SecureChannel.wrap`: the response data (with `9000`) MAC'd and enciphered at the
    /// session's level (R-MAC, R-ENCRYPTION); as it is without a session or without them.
    pub fn wrap(&mut self, data: &[u8]) -> Vec<u8> {
        let rsp = Response::data(data.to_vec());
        match self.rt.session_mut(self.channel) {
            Some(Session::Authenticated(a)) => a.wrap(rsp).data,
            _ => rsp.data,
        }
    }

    /// `SecureChannel.resetSecurity()`: the session of the channel ends.
    pub fn reset_security(&mut self) {
        if let Some(s) = self.rt.session_mut(self.channel) {
            s.end();
        }
    }

    /// `SecureChannel.decryptData` / `encryptData` with SCP03 (AmdD §6.2.7: sensitive data is
    /// enciphered with the static Key-DEK of the session's key set, AES-CBC with a zero ICV, no
    /// padding). Needs an authenticated session (`6985`); a length that is not a multiple of 16:
    /// `6700`.
    pub fn crypt_data(&self, data: &[u8], encrypt: bool) -> Result<Vec<u8>, Sw> {
        let session = self.rt.session(self.channel).ok_or(Sw::ConditionsNotSatisfied)?;
        if !session.is_authenticated() {
            return Err(Sw::ConditionsNotSatisfied);
        }
        let kvn = session.kvn().ok_or(Sw::ConditionsNotSatisfied)?;
        if !data.len().is_multiple_of(16) {
            return Err(Sw::WrongLength);
        }
        let sd = self.rt.image.instance(self.aid).map(|i| i.sd.clone()).ok_or(Sw::ConditionsNotSatisfied)?;
        let keys = self.rt.image.instance(&sd).and_then(|i| i.keys.as_ref()).ok_or(Sw::ConditionsNotSatisfied)?;
        let ks = keys.key_sets.iter().find(|k| k.kvn == kvn).ok_or(Sw::ConditionsNotSatisfied)?;
        let dek = AesKey::new(ks.dek.expose()).map_err(|_| Sw::ConditionsNotSatisfied)?;
        let mut out = data.to_vec();
        if encrypt {
            dek.cbc_encrypt(&[0; 16], &mut out);
        } else {
            dek.cbc_decrypt(&[0; 16], &mut out);
        }
        Ok(out)
    }

    /// A `CVM` method on the card's global PIN, as this application calls it (the CVM
    /// Management privilege decides what it may change). The image is committed with the
    /// command when the persistent part changed (the try counter included, whatever the result:
    /// a comparison costs a try even if the power goes).
    pub fn cvm(&mut self, call: CvmCall<'_>) -> i16 {
        let may_manage = self.has(Privileges::CVM_MANAGEMENT);
        let before = self.rt.image.global_pin.clone();
        let r = self.rt.image.global_pin.call(may_manage, call, &mut self.rt.cvm_session);
        if self.rt.image.global_pin != before {
            self.rt.image_dirty = true;
        }
        r
    }

    /// `GPSystem.getRegistryEntry(aid)`: the entry the caller may see, by AID. `None` (a null
    /// argument) is the caller's own; another application's needs the caller's Global Registry
    /// privilege. `None` when not allowed or not in the registry.
    pub fn registry_entry(&self, aid: Option<&[u8]>) -> Option<Aid> {
        let Some(aid) = aid.filter(|a| *a != self.aid.as_bytes()) else {
            return Some(self.aid.clone());
        };
        if !self.has(Privileges::GLOBAL_REGISTRY) {
            return None;
        }
        self.rt.image.instances.iter().find(|i| i.aid.as_bytes() == aid).map(|i| i.aid.clone())
    }

    /// `GPRegistryEntry.getPrivileges`: the entry's three privilege bytes (GPCS T11-7/8/9).
    pub fn entry_privileges(&self, entry: &Aid) -> Option<[u8; 3]> {
        self.rt.image.instance(entry).map(|i| i.privileges.to_bytes())
    }

    /// A `GPRegistryEntry` method on `entry` (booleans 0/1, the state byte for `getState`).
    /// `setState` follows the API's rules (GPCS §5.1, §5.3): on the ISD it moves the card
    /// between SECURED and CARD_LOCKED (`7F`, `0F`: Card Lock privilege) or to TERMINATED (`FF`:
    /// Card Terminate privilege); on another entry b8 set locks it (the entry itself, or a caller
    /// with Global Lock), on a locked entry b8 clear unlocks it (Global Lock), and otherwise the
    /// entry itself may move to an application-specific state (never INSTALLED → SELECTABLE, never
    /// for a security domain), as `setCardContentState` does.
    pub fn entry_call(&mut self, entry: &Aid, call: RegistryCall<'_>) -> u8 {
        let Some(i) = self.rt.image.instance(entry) else {
            return 0;
        };
        let (is_isd, state, sd, privileges) =
            (i.kind == super::registry::InstanceKind::IssuerSecurityDomain, i.life_cycle, i.sd.clone(), i.privileges);
        match call {
            RegistryCall::GetState if is_isd => self.card_state(),
            RegistryCall::GetState => state.byte(),
            RegistryCall::IsAssociated(a) => u8::from(
                sd.as_bytes() == a && self.rt.image.instances.iter().any(|i| i.aid.as_bytes() == a && i.is_sd()),
            ),
            RegistryCall::IsPrivileged(n) => {
                u8::from(PRIVILEGE_NUMBERS.get(usize::from(n)).is_some_and(|p| privileges.contains(*p)))
            }
            RegistryCall::SetState(b) => u8::from(self.set_entry_state(entry, is_isd, state, b)),
        }
    }

    fn set_entry_state(&mut self, entry: &Aid, is_isd: bool, state: AppLifeCycle, b: u8) -> bool {
        if is_isd {
            return match (b, self.rt.image.life_cycle) {
                (0x7F, _) => self.lock_card(),
                (0xFF, _) => self.terminate_card(),
                (0x0F, CardLifeCycle::CardLocked) if self.has(Privileges::CARD_LOCK) => {
                    self.rt.image.life_cycle = CardLifeCycle::Secured;
                    self.rt.image_dirty = true;
                    true
                }
                _ => false,
            };
        }
        let itself = entry == self.aid;
        let new = if state.is_locked() {
            if b & 0x80 != 0 || !self.has(Privileges::GLOBAL_LOCK) {
                return false;
            }
            state.unlocked()
        } else if b & 0x80 != 0 {
            if !itself && !self.has(Privileges::GLOBAL_LOCK) {
                return false;
            }
            state.locked()
        } else {
            if !itself || state == AppLifeCycle::INSTALLED && b == AppLifeCycle::SELECTABLE.byte() {
                return false;
            }
            return self.set_own_state(b);
        };
        if let Some(i) = self.rt.image.instances.iter_mut().find(|i| &i.aid == entry) {
            i.life_cycle = new;
            self.rt.image_dirty = true;
        }
        true
    }

    /// Whether the channel's session is authenticated (`SecurityStatus::AUTHENTICATED`).
    pub fn authenticated(&self) -> bool {
        self.rt.security_status(self.channel).contains(SecurityStatus::AUTHENTICATED)
    }
}
