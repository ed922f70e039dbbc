//! The card side of SCP03 as a state machine whose states are types:
//! [`Idle`] → (INITIALIZE UPDATE) → [`Initialized`] → (EXTERNAL AUTHENTICATE) →
//! [`Authenticated`]. Each transition consumes the old state; a failed transition leaves
//! nothing, which is [`Session::Idle`] again (AmdD §5.2: after a failure the host restarts from
//! INITIALIZE UPDATE).
//!
//! This module knows nothing of the card image: the security domain code (`gp::scp`) finds the
//! key set, bumps and persists the sequence counter and hands over what INITIALIZE UPDATE needs
//! in [`IuParams`].

use super::kdf::{self, constant, SessionKeys};
use super::prim::{ct_eq, AesKey};
use super::sm::SecureMessaging;
use super::{i_param, SecurityLevel, SecurityStatus, SCP_ID};
use crate::apdu::{Class, Command, Response};
use crate::sw::Sw;
use std::fmt;

/// What INITIALIZE UPDATE needs from the security domain.
pub struct IuParams<'a> {
    /// The key version number of the key set chosen (returned in the response).
    pub kvn: u8,
    /// Static Key-ENC and Key-MAC of that key set.
    pub key_enc: &'a [u8],
    pub key_mac: &'a [u8],
    /// The SCP03 i parameter (AmdD T5-1).
    pub i: u8,
    /// Key diversification data, 10 bytes (AmdD T7-2).
    pub kdd: &'a [u8],
    /// The security domain's AID (context of the pseudo-random challenge, AmdD §6.2.2.1).
    pub sd_aid: &'a [u8],
    /// The sequence counter after this INITIALIZE UPDATE incremented it (pseudo-random mode).
    pub counter: u32,
    /// The challenge to use when i does not ask for a pseudo-random one (from the card RNG):
    /// 8 bytes in S8 mode, 16 in S16 mode.
    pub random_challenge: Vec<u8>,
}

/// No session, or the last one ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct Idle;

/// INITIALIZE UPDATE done; EXTERNAL AUTHENTICATE expected next.
#[derive(Clone)]
pub struct Initialized {
    kvn: u8,
    i: u8,
    host_challenge: Vec<u8>,
    card_challenge: Vec<u8>,
    keys: SessionKeys,
}

/// Mutual authentication done: commands are unwrapped and responses wrapped at `level`.
#[derive(Clone)]
pub struct Authenticated {
    kvn: u8,
    i: u8,
    sm: SecureMessaging,
    /// The level raised by BEGIN R-MAC SESSION, what END R-MAC SESSION goes back to.
    before_rmac: Option<SecurityLevel>,
    /// END R-MAC SESSION answered: its response still carries the R-MAC, then the level drops.
    end_after_wrap: bool,
}

impl Idle {
    /// INITIALIZE UPDATE (AmdD §7.1.1): derives the session keys and answers
    /// `KDD(10) ‖ KVN ‖ 03 ‖ i ‖ card challenge ‖ card cryptogram [‖ counter(3)]`, the
    /// counter present only in pseudo-random mode (AmdD T7-2); challenges and cryptograms of 8
    /// bytes, or 16 when i has S16 (b1). A host challenge of another length: `6700`.
    pub fn initialize_update(self, host_challenge: &[u8], p: &IuParams<'_>) -> Result<(Initialized, Vec<u8>), Sw> {
        let n = i_param::challenge_len(p.i);
        if host_challenge.len() != n {
            return Err(Sw::WrongLength);
        }
        let hc = host_challenge.to_vec();
        let pseudo_random = p.i & i_param::PSEUDO_RANDOM != 0;
        let enc = AesKey::new(p.key_enc).map_err(|_| Sw::ReferencedDataNotFound)?;
        let cc = if pseudo_random {
            kdf::pseudo_random_challenge_of_len(&enc, p.counter, p.sd_aid, n)
        } else {
            p.random_challenge.clone()
        };
        if cc.len() != n {
            return Err(Sw::ExecutionError);
        }
        let keys = SessionKeys::derive(p.key_enc, p.key_mac, &hc, &cc).map_err(|_| Sw::ReferencedDataNotFound)?;
        let card_cryptogram = kdf::cryptogram_of_len(&keys.mac, constant::CARD_CRYPTOGRAM, &hc, &cc, n);
        let mut rsp = Vec::with_capacity(48);
        rsp.extend_from_slice(p.kdd);
        rsp.extend_from_slice(&[p.kvn, SCP_ID, p.i]);
        rsp.extend_from_slice(&cc);
        rsp.extend_from_slice(&card_cryptogram);
        if pseudo_random {
            rsp.extend_from_slice(&p.counter.to_be_bytes()[1..]);
        }
        Ok((Initialized { kvn: p.kvn, i: p.i, host_challenge: hc, card_challenge: cc, keys }, rsp))
    }
}

impl Initialized {
    /// EXTERNAL AUTHENTICATE `84 82 P1 00 10 host_cryptogram(8) C-MAC(8)` (AmdD §7.1.2; in S16
    /// mode `84 82 P1 00 18 host_cryptogram(16) C-MAC(8)`):
    ///
    /// * P2 not `00`, or P1 not a level of AmdD T7-3: `6A86`; a level the i parameter does not
    ///   allow (R-MAC or R-ENC without support): `6A86` too (AmdD §7.1.2.1 lists only "incorrect
    ///   P1 P2" for this);
    /// * Lc not 16: `6700`;
    /// * wrong host cryptogram: `6300` (GPCS T D-9/E-12);
    /// * right cryptogram but no SM indication in the CLA or a wrong C-MAC: `6982`, the security
    ///   error of AmdD §5.6 (`globalplatform.md` open point 2).
    ///
    /// The EA is MAC'd with chaining value 16 × `00` and never encrypted; the encryption counter
    /// stays 0 (AmdD §6.2.6).
    pub fn external_authenticate(self, cmd: &Command) -> Result<Authenticated, Sw> {
        let class = Class::parse(cmd.cla)?;
        if cmd.p2 != 0x00 {
            return Err(Sw::IncorrectP1P2);
        }
        let level = SecurityLevel::from_p1(cmd.p1).ok_or(Sw::IncorrectP1P2)?;
        if !level.allowed_by_i(self.i) {
            return Err(Sw::IncorrectP1P2);
        }
        let n = i_param::challenge_len(self.i);
        if cmd.data.len() != n + 8 {
            return Err(Sw::WrongLength);
        }
        let expected = kdf::cryptogram_of_len(
            &self.keys.mac,
            constant::HOST_CRYPTOGRAM,
            &self.host_challenge,
            &self.card_challenge,
            n,
        );
        if !ct_eq(&expected, &cmd.data[..n]) {
            return Err(Sw::AuthenticationFailed);
        }
        if !class.secure_messaging {
            return Err(Sw::SecurityNotSatisfied);
        }
        let mut sm = SecureMessaging::for_external_authenticate(self.keys);
        sm.unwrap_command(cmd)?;
        sm.set_level(level);
        Ok(Authenticated { kvn: self.kvn, i: self.i, sm, before_rmac: None, end_after_wrap: false })
    }
}

impl Authenticated {
    pub fn level(&self) -> SecurityLevel {
        self.sm.level()
    }

    /// Checks and removes the protection of a command (see [`SecureMessaging::unwrap_command`]).
    pub fn unwrap(&mut self, cmd: &Command) -> Result<Command, Sw> {
        self.sm.unwrap_command(cmd)
    }

    /// Adds R-ENC and R-MAC to a response as the level asks. After END R-MAC SESSION this is
    /// the last response of the R-MAC session: its R-MAC is its data (AmdD §7.1.4), then the
    /// level goes back to what it was before BEGIN.
    pub fn wrap(&mut self, rsp: Response) -> Response {
        let r = self.sm.wrap_response(rsp);
        if self.end_after_wrap {
            self.end_after_wrap = false;
            if let Some(l) = self.before_rmac.take() {
                self.sm.set_level(l);
            }
        }
        r
    }

    /// BEGIN R-MAC SESSION `8x 7A P1 01` (AmdD §7.1.3; `globalplatform.md` §A.11), P1 `10`
    /// R-MAC or `30` R-MAC and R-ENC: `6985`, the session going on, when R-ENC is already in
    /// the level, P1 `10` and R-MAC already there, no C-MAC, P1 `30` without C-DECRYPTION, or
    /// the key set's i does not allow the new level. The new level applies from this command's
    /// own response on.
    pub fn begin_rmac(&mut self, p1: u8) -> Result<(), Sw> {
        let level = self.sm.level();
        let want = match p1 {
            0x10 => SecurityLevel::from_p1(level.p1() | 0x10),
            0x30 => SecurityLevel::from_p1(level.p1() | 0x30),
            _ => return Err(Sw::IncorrectP1P2),
        };
        let refused = level.r_enc()
            || (p1 == 0x10 && level.r_mac())
            || !level.c_mac()
            || (p1 == 0x30 && !level.c_dec())
            || self.before_rmac.is_some();
        let want = want.filter(|w| !refused && w.allowed_by_i(self.i)).ok_or(Sw::ConditionsNotSatisfied)?;
        self.before_rmac = Some(level);
        self.sm.set_level(want);
        Ok(())
    }

    /// END R-MAC SESSION `8x 78 00 03` (AmdD §7.1.4): only inside an R-MAC session BEGIN
    /// started (`6985` otherwise); its response data is the R-MAC.
    pub fn end_rmac(&mut self) -> Result<(), Sw> {
        if self.before_rmac.is_none() {
            return Err(Sw::ConditionsNotSatisfied);
        }
        self.end_after_wrap = true;
        Ok(())
    }
}

/// The session state of one logical channel, as the runtime stores it.
#[derive(Clone, Default)]
pub enum Session {
    #[default]
    Idle,
    Initialized(Box<Initialized>),
    Authenticated(Box<Authenticated>),
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Session::Idle => f.write_str("Idle"),
            Session::Initialized(_) => f.write_str("Initialized"),
            Session::Authenticated(a) => write!(f, "Authenticated({})", a.level()),
        }
    }
}

impl Session {
    /// Takes the state out, leaving `Idle` (every transition consumes the old state).
    pub fn take(&mut self) -> Session {
        std::mem::take(self)
    }

    /// The level of an authenticated session.
    pub fn level(&self) -> Option<SecurityLevel> {
        match self {
            Session::Authenticated(a) => Some(a.level()),
            _ => None,
        }
    }

    /// BEGIN R-MAC SESSION on an authenticated session ([`Authenticated::begin_rmac`]);
    /// `6982` without one.
    pub fn begin_rmac(&mut self, p1: u8) -> Result<(), Sw> {
        match self {
            Session::Authenticated(a) => a.begin_rmac(p1),
            _ => Err(Sw::SecurityNotSatisfied),
        }
    }

    /// END R-MAC SESSION ([`Authenticated::end_rmac`]); `6982` without a session.
    pub fn end_rmac(&mut self) -> Result<(), Sw> {
        match self {
            Session::Authenticated(a) => a.end_rmac(),
            _ => Err(Sw::SecurityNotSatisfied),
        }
    }

    /// The Current Security Level (GPCS T10-1): empty without an authenticated session.
    pub fn security_status(&self) -> SecurityStatus {
        self.level().map_or(SecurityStatus::empty(), SecurityLevel::current)
    }

    /// The KVN of the key set an initialized or authenticated session was opened with (PUT KEY
    /// decrypts with its DEK, AmdD §7.2).
    pub fn kvn(&self) -> Option<u8> {
        match self {
            Session::Idle => None,
            Session::Initialized(i) => Some(i.kvn),
            Session::Authenticated(a) => Some(a.kvn),
        }
    }

    /// The key set this session was opened with was replaced under a new KVN (PUT KEY): the
    /// session follows it.
    pub fn follow_kvn(&mut self, old: u8, new: u8) {
        match self {
            Session::Initialized(i) if i.kvn == old => i.kvn = new,
            Session::Authenticated(a) if a.kvn == old => a.kvn = new,
            _ => {}
        }
    }

    /// Ends the session (a failed command, a deselect, a reset: AmdD §5.6).
    pub fn end(&mut self) {
        *self = Session::Idle;
    }

    /// INITIALIZE UPDATE: any session on the channel ends first (AmdD §5.6), then the channel
    /// is `Initialized` on success; returns the response data.
    pub fn initialize_update(&mut self, host_challenge: &[u8], p: &IuParams<'_>) -> Result<Vec<u8>, Sw> {
        self.end();
        let (init, rsp) = Idle.initialize_update(host_challenge, p)?;
        *self = Session::Initialized(Box::new(init));
        Ok(rsp)
    }

    /// EXTERNAL AUTHENTICATE: only right after INITIALIZE UPDATE (`6982` otherwise, GPCS
    /// D.4.2); any failure leaves no session.
    pub fn external_authenticate(&mut self, cmd: &Command) -> Result<(), Sw> {
        match self.take() {
            Session::Initialized(init) => {
                *self = Session::Authenticated(Box::new(init.external_authenticate(cmd)?));
                Ok(())
            }
            _ => Err(Sw::SecurityNotSatisfied),
        }
    }

    pub fn is_authenticated(&self) -> bool {
        matches!(self, Session::Authenticated(_))
    }
}
