//! The host side of SCP03 as a pure state machine (AmdD §6-§7): [`Opening`] gives INITIALIZE
//! UPDATE and consumes its response into [`Authenticating`], which gives EXTERNAL AUTHENTICATE
//! and consumes that response into a [`HostSession`] that wraps commands and unwraps responses.
//! No I/O happens here: `transport::scp` drives these states over a `Transport`, and a test or a
//! vector can drive them byte by byte.
//!
//! ```
//! use gpse::scp03::{host::{Opening, OpenOptions}, SecurityLevel, StaticKeys};
//! let k = [0x40u8, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F];
//! let keys = StaticKeys::new(&k, &k, &k).unwrap();
//! let opts = OpenOptions { host_challenge: Some([0; 8]), ..OpenOptions::new(SecurityLevel::ALL) };
//! let (opening, iu) = Opening::new(&keys, &opts, &mut rand_core::OsRng).unwrap();
//! assert_eq!(hex::encode_upper(iu.to_bytes()), "8050000008000000000000000000");
//! // … send `iu`, then `opening.initialize_update_response(&rsp)` gives EXTERNAL AUTHENTICATE.
//! # let _ = opening;
//! ```

use super::kdf::{self, constant, SessionKeys};
use super::keydata::{self, KeyBlockForm};
use super::prim::ct_eq;
use super::sm::{SecureMessaging, SmError};
use super::{i_param, BadKeyLength, SecurityLevel, StaticKeys, SCP_ID};
use crate::apdu::{Command, Response};
use crate::proto::gp::{ExternalAuthenticate, InitializeUpdate};
use crate::sw::Sw;
use rand_core::RngCore;

/// Why the host side could not open or use a session (the secure channel protocol; what goes
/// wrong on the wire is the driver's error, `host::scp::ScpError`).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("{command} answered {sw} ({})", sw.meaning())]
    Status { command: &'static str, sw: Sw },
    #[error("INITIALIZE UPDATE response: {0}")]
    InitUpdateResponse(String),
    #[error("the card cryptogram does not verify: wrong keys, or not this card's key set")]
    CardCryptogram,
    #[error("logical channel {0} is out of range (0-19)")]
    Channel(u8),
    #[error(transparent)]
    Key(#[from] BadKeyLength),
    #[error(transparent)]
    Sm(#[from] SmError),
}

/// How to open a session.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Key version number for INITIALIZE UPDATE P1; `00` = the card's first key set.
    pub kvn: u8,
    pub level: SecurityLevel,
    /// A given host challenge (vectors, reproducible traces); random when `None`.
    pub host_challenge: Option<[u8; 8]>,
    /// The logical channel (0-19) whose selected security domain opens the session.
    pub channel: u8,
    /// S16 mode (GPP `--s16`): a 16-byte host challenge, and 16-byte card challenge and
    /// cryptograms expected (the key set's i has b1). A given `host_challenge` is then sent twice.
    pub s16: bool,
}

impl OpenOptions {
    /// KVN `00`, basic channel, random host challenge.
    pub fn new(level: SecurityLevel) -> OpenOptions {
        OpenOptions { kvn: 0, level, host_challenge: None, channel: 0, s16: false }
    }
}

/// The INITIALIZE UPDATE response, parsed (AmdD T7-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitUpdateInfo {
    pub kdd: Vec<u8>,
    pub kvn: u8,
    pub i: u8,
    /// 8 bytes, 16 in S16 mode.
    pub card_challenge: Vec<u8>,
    pub card_cryptogram: Vec<u8>,
    /// Present in pseudo-random mode (32-byte response).
    pub seq_counter: Option<u32>,
}

impl InitUpdateInfo {
    /// 29 bytes, or 32 with the sequence counter; in S16 mode (i b1) 45 or 48; SCP identifier
    /// `03`.
    pub fn parse(d: &[u8]) -> Result<InitUpdateInfo, HostError> {
        if d.len() < 13 {
            return Err(HostError::InitUpdateResponse(format!("{} bytes; SCP03 S8 gives 29 or 32", d.len())));
        }
        if d[11] != SCP_ID {
            return Err(HostError::InitUpdateResponse(format!("SCP identifier {:02X}, not 03", d[11])));
        }
        let i = d[12];
        let n = i_param::challenge_len(i);
        let base = 13 + 2 * n;
        if d.len() != base && d.len() != base + 3 {
            let mode = if n == 16 { "S16" } else { "S8" };
            return Err(HostError::InitUpdateResponse(format!(
                "{} bytes; SCP03 {mode} gives {base} or {}",
                d.len(),
                base + 3
            )));
        }
        Ok(InitUpdateInfo {
            kdd: d[..10].to_vec(),
            kvn: d[10],
            i,
            card_challenge: d[13..13 + n].to_vec(),
            card_cryptogram: d[13 + n..base].to_vec(),
            seq_counter: (d.len() == base + 3).then(|| u32::from_be_bytes([0, d[base], d[base + 1], d[base + 2]])),
        })
    }
}

/// INITIALIZE UPDATE `8x 50 KVN 00 08 host_challenge 00` (AmdD §7.1.1; Le `00` as GPP and pySim
/// send it).
pub fn initialize_update_command(channel: u8, kvn: u8, host_challenge: &[u8]) -> Result<Command, HostError> {
    InitializeUpdate { kvn, host_challenge: host_challenge.to_vec() }
        .to_command()
        .on_channel(channel)
        .map_err(|e| HostError::Channel(e.0))
}

/// An open host-side session.
pub struct HostSession {
    sm: SecureMessaging,
    info: InitUpdateInfo,
    dek: crate::crypto::SecretBytes,
    channel: u8,
}

impl std::fmt::Debug for HostSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostSession(channel {}, KVN {:02X}, level {})", self.channel, self.info.kvn, self.sm.level())
    }
}

impl HostSession {
    /// Step two of opening, without I/O: checks the INITIALIZE UPDATE response (`data` without
    /// the SW) and the card cryptogram, derives the session keys and returns the session (not yet
    /// at `level`: it is set when the card accepted the returned EXTERNAL AUTHENTICATE, see
    /// [`HostSession::confirm`]) and the EXTERNAL AUTHENTICATE command to send.
    pub fn authenticate(
        keys: &StaticKeys,
        channel: u8,
        host_challenge: &[u8],
        data: &[u8],
        level: SecurityLevel,
    ) -> Result<(HostSession, Command), HostError> {
        let info = InitUpdateInfo::parse(data)?;
        let n = info.card_challenge.len();
        if n != host_challenge.len() {
            return Err(HostError::InitUpdateResponse(format!(
                "the card answered in S{n} mode to a {}-byte host challenge",
                host_challenge.len()
            )));
        }
        let sk = SessionKeys::from_static(keys, host_challenge, &info.card_challenge)?;
        let card_cg =
            kdf::cryptogram_of_len(&sk.mac, constant::CARD_CRYPTOGRAM, host_challenge, &info.card_challenge, n);
        if !ct_eq(&card_cg, &info.card_cryptogram) {
            return Err(HostError::CardCryptogram);
        }
        let host_cg =
            kdf::cryptogram_of_len(&sk.mac, constant::HOST_CRYPTOGRAM, host_challenge, &info.card_challenge, n);
        let mut sm = SecureMessaging::for_external_authenticate(sk);
        // AmdD §7.1.2: `84 82 P1 00 10 host cryptogram C-MAC`, no Le.
        let ea = ExternalAuthenticate { level: level.p1(), host_cryptogram: host_cg }
            .to_command()
            .on_channel(channel)
            .map_err(|e| HostError::Channel(e.0))?;
        let ea = sm.wrap_command(&ea)?;
        let s = HostSession { sm, info, dek: keys.dek().clone(), channel };
        Ok((s, ea))
    }

    /// The card accepted EXTERNAL AUTHENTICATE: from now on the session runs at `level`.
    pub fn confirm(&mut self, level: SecurityLevel) {
        self.sm.set_level(level);
    }

    pub fn level(&self) -> SecurityLevel {
        self.sm.level()
    }

    pub fn channel(&self) -> u8 {
        self.channel
    }

    /// What the card said in INITIALIZE UPDATE.
    pub fn info(&self) -> &InitUpdateInfo {
        &self.info
    }

    /// The session keys, for an explicit `--show-keys` trace only.
    pub fn session_keys(&self) -> &SessionKeys {
        self.sm.session_keys()
    }

    /// Protects a command at the session level (C-DEC, C-MAC).
    pub fn wrap(&mut self, cmd: &Command) -> Result<Command, HostError> {
        Ok(self.sm.wrap_command(cmd)?)
    }

    /// Verifies and removes the response protection (R-MAC, R-ENC).
    pub fn unwrap(&mut self, rsp: &Response) -> Result<Response, HostError> {
        Ok(self.sm.unwrap_response(rsp)?)
    }

    /// A PUT KEY key component for `key`, encrypted with this key set's static Key-DEK.
    pub fn key_component(&self, key: &[u8], form: KeyBlockForm) -> Result<Vec<u8>, HostError> {
        Ok(keydata::key_component(self.dek.expose(), key, form)?)
    }
}

/// Opening a session, before INITIALIZE UPDATE is answered.
pub struct Opening {
    keys: StaticKeys,
    opts: OpenOptions,
    host_challenge: Vec<u8>,
}

impl Opening {
    /// The first state and the INITIALIZE UPDATE to send on `opts.channel` (the security domain
    /// must already be selected there). The host challenge is `opts.host_challenge` or random.
    pub fn new<R: RngCore + ?Sized>(
        keys: &StaticKeys,
        opts: &OpenOptions,
        rng: &mut R,
    ) -> Result<(Opening, Command), HostError> {
        let host_challenge = match (opts.host_challenge, opts.s16) {
            (Some(h), false) => h.to_vec(),
            (Some(h), true) => [h, h].concat(),
            (None, s16) => {
                let mut h = vec![0u8; if s16 { 16 } else { 8 }];
                rng.fill_bytes(&mut h);
                h
            }
        };
        let iu = initialize_update_command(opts.channel, opts.kvn, &host_challenge)?;
        Ok((Opening { keys: keys.clone(), opts: opts.clone(), host_challenge }, iu))
    }

    /// The card answered INITIALIZE UPDATE: checks it and the card cryptogram, and gives the
    /// EXTERNAL AUTHENTICATE to send.
    pub fn initialize_update_response(self, rsp: &Response) -> Result<(Authenticating, Command), HostError> {
        if rsp.sw != Sw::Ok {
            return Err(HostError::Status { command: "INITIALIZE UPDATE", sw: rsp.sw });
        }
        let (session, ea) =
            HostSession::authenticate(&self.keys, self.opts.channel, &self.host_challenge, &rsp.data, self.opts.level)?;
        Ok((Authenticating { session, level: self.opts.level }, ea))
    }
}

/// EXTERNAL AUTHENTICATE sent, its answer pending.
pub struct Authenticating {
    session: HostSession,
    level: SecurityLevel,
}

impl Authenticating {
    /// The card answered EXTERNAL AUTHENTICATE: `9000` opens the session at the level asked
    /// for; anything else ends it (AmdD §7.1.2).
    pub fn external_authenticate_response(mut self, rsp: &Response) -> Result<HostSession, HostError> {
        if rsp.sw != Sw::Ok {
            return Err(HostError::Status { command: "EXTERNAL AUTHENTICATE", sw: rsp.sw });
        }
        self.session.confirm(self.level);
        Ok(self.session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> StaticKeys {
        let k: Vec<u8> = (0x40..0x50).collect();
        StaticKeys::new(&k, &k, &k).unwrap()
    }

    fn opts(channel: u8) -> OpenOptions {
        OpenOptions { kvn: 0x30, level: SecurityLevel::C_MAC, host_challenge: Some([7; 8]), channel, s16: false }
    }

    #[test]
    fn opening_gives_initialize_update_on_its_channel() {
        let (_, iu) = Opening::new(&keys(), &opts(5), &mut rand_core::OsRng).unwrap();
        assert_eq!(hex::encode_upper(iu.to_bytes()), "C150300008070707070707070700");
        // A channel no class byte codes is an error, not a panic.
        assert!(matches!(Opening::new(&keys(), &opts(20), &mut rand_core::OsRng), Err(HostError::Channel(20))));
    }

    #[test]
    fn a_refused_or_short_initialize_update_ends_the_opening() {
        let (o, _) = Opening::new(&keys(), &opts(0), &mut rand_core::OsRng).unwrap();
        let e = o.initialize_update_response(&Response::status(Sw::ReferencedDataNotFound)).err().unwrap();
        assert!(matches!(e, HostError::Status { command: "INITIALIZE UPDATE", sw: Sw::ReferencedDataNotFound }));
        let (o, _) = Opening::new(&keys(), &opts(0), &mut rand_core::OsRng).unwrap();
        let e = o.initialize_update_response(&Response::data(vec![0; 28])).err().unwrap();
        assert!(matches!(e, HostError::InitUpdateResponse(_)), "{e}");
        // 29 bytes of zeros: SCP identifier 00, not 03.
        let (o, _) = Opening::new(&keys(), &opts(0), &mut rand_core::OsRng).unwrap();
        let e = o.initialize_update_response(&Response::data(vec![0; 29])).err().unwrap();
        assert!(e.to_string().contains("SCP identifier 00"), "{e}");
    }
}
