//! The SP-TSM: personalises the JPKI applet over SCP03 through the applet's security domain, on a
//! logical channel of its own (`applet-spec/jpki.md`, management path; `seeds.md` §3.2-§3.4).

use crate::apdu::{Class, Command, Response};
use crate::host::ca::{public_key_from_template, TestCa};
use crate::host::jpki::AID as JPKI_AID;
use crate::scp03::host::{HostError, HostSession, OpenOptions};
use crate::scp03::{SecurityLevel, StaticKeys};
use crate::sw::Sw;
use crate::transport::{Transport, TransportError};
use rand_core::RngCore;
use rsa::RsaPublicKey;

/// Which key pair (management P2 coding: 01 auth, 02 sign).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairRef {
    Auth = 1,
    Sign = 2,
}

/// The two temporary-PIN designs of the service (`seeds.md` §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinDesign {
    /// 案3: the temporary PIN is set blocked; the SP-TSM releases it once the user is verified.
    BlockedUntilReleased,
    /// 案4: the pair waits in an initial state where only setting the PIN is possible.
    InitialState,
}

/// A pair's state as PAIR STATUS reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairStatus {
    /// `00` Empty, `01` KeyGenerated, `02` AwaitingPin, `03` TemporaryPin, `04` Active.
    pub state: u8,
    pub tries_left: u8,
    pub try_limit: u8,
    pub temporary: bool,
    pub blocked: bool,
}

impl PairStatus {
    /// The state's name.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            0 => "empty",
            1 => "key generated",
            2 => "awaiting PIN",
            3 => "temporary PIN",
            4 => "active",
            _ => "unknown",
        }
    }
}

/// Why an SP-TSM operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TsmError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("secure channel: {0}")]
    Scp(#[from] HostError),
    #[error("{what}: card answered {sw} ({})", sw.meaning())]
    Card { what: &'static str, sw: Sw },
    #[error("{0}")]
    Data(String),
}

/// An SP-TSM session with the JPKI applet: its own logical channel, the applet selected there,
/// and an SCP03 session of the applet's security domain at full level (C-DEC, C-MAC, R-MAC,
/// R-ENC).
pub struct SpSession<'t> {
    t: &'t mut dyn Transport,
    scp: HostSession,
    channel: u8,
}

impl<'t> SpSession<'t> {
    /// Opens a channel, selects the JPKI applet on it and authenticates with the SD's keys.
    pub fn open(
        t: &'t mut dyn Transport,
        keys: &StaticKeys,
        kvn: u8,
        rng: &mut dyn RngCore,
    ) -> Result<SpSession<'t>, TsmError> {
        let r = send_plain(t, &Command::new(0x00, 0x70, 0x00, 0x00).with_ne(1))?;
        let channel = match (r.sw, r.data.as_slice()) {
            (Sw::Ok, [c]) => *c,
            (sw, _) => return Err(TsmError::Card { what: "MANAGE CHANNEL open", sw }),
        };
        let select = Command::new(Class::encode(channel, false, false), 0xA4, 0x04, 0x0C).with_data(JPKI_AID.to_vec());
        let r = send_plain(t, &select)?;
        if r.sw != Sw::Ok {
            let _ = close_channel(t, channel);
            return Err(TsmError::Card { what: "SELECT JPKI", sw: r.sw });
        }
        let opts = OpenOptions { kvn, level: SecurityLevel::ALL, host_challenge: None, channel };
        let scp = match HostSession::open(t, keys, &opts, rng) {
            Ok(s) => s,
            Err(e) => {
                let _ = close_channel(t, channel);
                return Err(e.into());
            }
        };
        Ok(SpSession { t, scp, channel })
    }

    fn run(&mut self, what: &'static str, mut cmd: Command) -> Result<Vec<u8>, TsmError> {
        cmd.cla = Class::encode(self.channel, true, false);
        let r = self.scp.transmit(self.t, &cmd)?;
        if r.sw != Sw::Ok {
            return Err(TsmError::Card { what, sw: r.sw });
        }
        Ok(r.data)
    }

    /// GENERATE KEY PAIR: the key is made in the chip; the public key comes back.
    pub fn generate(&mut self, pair: PairRef) -> Result<RsaPublicKey, TsmError> {
        let t = self.run("GENERATE KEY PAIR", Command::new(0x80, 0x47, 0x00, pair as u8).with_ne(65536))?;
        public_key_from_template(&t).ok_or_else(|| TsmError::Data("GENERATE KEY PAIR: no public key template".into()))
    }

    /// STORE CERTIFICATE in blocks that fit a wrapped short APDU.
    pub fn store_certificate(&mut self, pair: PairRef, ca: bool, der: &[u8]) -> Result<(), TsmError> {
        let chunks: Vec<&[u8]> = der.chunks(200).collect();
        for (i, c) in chunks.iter().enumerate() {
            let p1 = if i + 1 == chunks.len() { 0x80 } else { 0x00 } | u8::from(ca);
            self.run("STORE CERTIFICATE", Command::new(0x80, 0xD0, p1, pair as u8).with_data(c.to_vec()))?;
        }
        Ok(())
    }

    /// SET PIN (temporary), by either design.
    pub fn set_temporary_pin(&mut self, pair: PairRef, design: PinDesign, pin: &[u8]) -> Result<(), TsmError> {
        let p1 = match design {
            PinDesign::InitialState => 0x00,
            PinDesign::BlockedUntilReleased => 0x01,
        };
        self.run("SET PIN", Command::new(0x80, 0xD2, p1, pair as u8).with_data(pin.to_vec())).map(|_| ())
    }

    /// RESET PIN: a new temporary PIN, tries restored (PIN forgotten or blocked).
    pub fn reset_pin(&mut self, pair: PairRef, pin: &[u8]) -> Result<(), TsmError> {
        self.run("RESET PIN", Command::new(0x80, 0xD2, 0x02, pair as u8).with_data(pin.to_vec())).map(|_| ())
    }

    /// UNBLOCK PIN: tries restored; releases a design-a temporary PIN.
    pub fn unblock(&mut self, pair: PairRef) -> Result<(), TsmError> {
        self.run("UNBLOCK PIN", Command::new(0x80, 0xD4, 0x00, pair as u8)).map(|_| ())
    }

    /// ERASE PAIR: key, certificates and PIN of one pair; the other stays.
    pub fn erase(&mut self, pair: PairRef) -> Result<(), TsmError> {
        self.run("ERASE PAIR", Command::new(0x80, 0xEE, 0x00, pair as u8)).map(|_| ())
    }

    /// PAIR STATUS.
    pub fn status(&mut self, pair: PairRef) -> Result<PairStatus, TsmError> {
        let d = self.run("PAIR STATUS", Command::new(0x80, 0xCA, 0x00, pair as u8).with_ne(256))?;
        match d.as_slice() {
            [0xDF, _, 0x05, state, left, limit, temp, blocked] => Ok(PairStatus {
                state: *state,
                tries_left: *left,
                try_limit: *limit,
                temporary: *temp != 0,
                blocked: *blocked != 0,
            }),
            _ => Err(TsmError::Data(format!("PAIR STATUS: unexpected data {}", hex::encode_upper(&d)))),
        }
    }

    /// The whole set-up of one pair (`seeds.md` §3.2-§3.3): key in the chip, certificate from the
    /// CA for the returned public key, CA certificate, temporary PIN by `design`.
    pub fn setup(
        &mut self,
        pair: PairRef,
        ca: &mut TestCa,
        subject: &str,
        design: PinDesign,
        pin: &[u8],
    ) -> Result<Vec<u8>, TsmError> {
        let pk = self.generate(pair)?;
        let cert = ca.issue(&pk, subject).map_err(|e| TsmError::Data(e.to_string()))?;
        self.store_certificate(pair, false, &cert)?;
        self.store_certificate(pair, true, ca.certificate())?;
        self.set_temporary_pin(pair, design, pin)?;
        Ok(cert)
    }

    /// Closes the channel (and with it the session).
    pub fn close(self) -> Result<(), TsmError> {
        close_channel(self.t, self.channel)
    }
}

fn send_plain(t: &mut dyn Transport, c: &Command) -> Result<Response, TsmError> {
    let raw = t.transmit(&c.to_bytes())?;
    Response::parse(&raw).ok_or_else(|| TsmError::Data("response shorter than a status word".into()))
}

fn close_channel(t: &mut dyn Transport, ch: u8) -> Result<(), TsmError> {
    let r = send_plain(t, &Command::new(0x00, 0x70, 0x80, ch))?;
    match r.sw {
        Sw::Ok => Ok(()),
        sw => Err(TsmError::Card { what: "MANAGE CHANNEL close", sw }),
    }
}
