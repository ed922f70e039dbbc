//! The SP-TSM: personalises the JPKI applet over SCP03 through the applet's security domain, on a
//! logical channel of its own (`applet-spec/jpki.md`, management path; `seeds.md` §3.2-§3.4).

use crate::apdu::Command;
use crate::host::ca::{public_key_from_template, TestCa};
use crate::host::channel::{self, ChannelError};
use crate::proto::iso::SelectAid;
use crate::proto::jpki::{JpkiCommand, PairId, PinSetMode, AID as JPKI_AID};
pub use crate::proto::jpki::{PairState, PairStatus};
use crate::scp03::host::{HostError, HostSession, OpenOptions};
use crate::scp03::{SecurityLevel, StaticKeys};
use crate::sw::Sw;
use crate::transport::scp::{ScpError, SessionIo};
use crate::transport::{Transport, TransportError};
use rand_core::RngCore;
use rsa::RsaPublicKey;

/// The two temporary-PIN designs of the service (`seeds.md` §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinDesign {
    /// 案3: the temporary PIN is set blocked; the SP-TSM releases it once the user is verified.
    BlockedUntilReleased,
    /// 案4: the pair waits in an initial state where only setting the PIN is possible.
    InitialState,
}

/// Why an SP-TSM operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TsmError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("secure channel: {0}")]
    Scp(#[from] ScpError),
    #[error("logical channel: {0}")]
    Channel(#[from] ChannelError),
    #[error("{what}: card answered {sw} ({})", sw.meaning())]
    Card { what: &'static str, sw: Sw },
    #[error("{0}")]
    Data(String),
}

impl From<HostError> for TsmError {
    fn from(e: HostError) -> Self {
        TsmError::Scp(ScpError::Session(e))
    }
}

impl PinDesign {
    /// How SET PIN leaves the PIN in this design.
    pub fn set_mode(self) -> PinSetMode {
        match self {
            PinDesign::InitialState => PinSetMode::Temporary,
            PinDesign::BlockedUntilReleased => PinSetMode::TemporaryBlocked,
        }
    }
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
        let channel = channel::open(t)?;
        let select =
            SelectAid::no_data(&JPKI_AID).to_command().on_channel(channel).map_err(|e| HostError::Channel(e.0))?;
        let r = crate::transport::scp::send(t, &select)?;
        if r.sw != Sw::Ok {
            let _ = channel::close(t, channel);
            return Err(TsmError::Card { what: "SELECT JPKI", sw: r.sw });
        }
        let opts = OpenOptions { kvn, level: SecurityLevel::ALL, host_challenge: None, channel, s16: false };
        let scp = match HostSession::open(t, keys, &opts, rng) {
            Ok(s) => s,
            Err(e) => {
                let _ = channel::close(t, channel);
                return Err(e.into());
            }
        };
        Ok(SpSession { t, scp, channel })
    }

    fn run(&mut self, what: &'static str, cmd: JpkiCommand) -> Result<Vec<u8>, TsmError> {
        let cmd: Command = cmd.to_command().on_channel(self.channel).map_err(|e| HostError::Channel(e.0))?;
        let r = self.scp.transmit(self.t, &cmd)?;
        if r.sw != Sw::Ok {
            return Err(TsmError::Card { what, sw: r.sw });
        }
        Ok(r.data)
    }

    /// GENERATE KEY PAIR: the key is made in the chip; the public key comes back.
    pub fn generate(&mut self, pair: PairId) -> Result<RsaPublicKey, TsmError> {
        let t = self.run("GENERATE KEY PAIR", JpkiCommand::GenerateKeyPair(pair))?;
        public_key_from_template(&t).ok_or_else(|| TsmError::Data("GENERATE KEY PAIR: no public key template".into()))
    }

    /// STORE CERTIFICATE in blocks that fit a wrapped short APDU.
    pub fn store_certificate(&mut self, pair: PairId, ca: bool, der: &[u8]) -> Result<(), TsmError> {
        let chunks: Vec<&[u8]> = der.chunks(200).collect();
        for (i, c) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            self.run("STORE CERTIFICATE", JpkiCommand::StoreCertificate { pair, ca, last, data: c.to_vec() })?;
        }
        Ok(())
    }

    /// SET PIN (temporary), by either design.
    pub fn set_temporary_pin(&mut self, pair: PairId, design: PinDesign, pin: &[u8]) -> Result<(), TsmError> {
        self.run("SET PIN", JpkiCommand::SetPin { pair, mode: design.set_mode(), pin: pin.to_vec() }).map(|_| ())
    }

    /// RESET PIN: a new temporary PIN, tries restored (PIN forgotten or blocked).
    pub fn reset_pin(&mut self, pair: PairId, pin: &[u8]) -> Result<(), TsmError> {
        self.run("RESET PIN", JpkiCommand::SetPin { pair, mode: PinSetMode::Reset, pin: pin.to_vec() }).map(|_| ())
    }

    /// UNBLOCK PIN: tries restored; releases a design-a temporary PIN.
    pub fn unblock(&mut self, pair: PairId) -> Result<(), TsmError> {
        self.run("UNBLOCK PIN", JpkiCommand::UnblockPin(pair)).map(|_| ())
    }

    /// ERASE PAIR: key, certificates and PIN of one pair; the other stays.
    pub fn erase(&mut self, pair: PairId) -> Result<(), TsmError> {
        self.run("ERASE PAIR", JpkiCommand::ErasePair(pair)).map(|_| ())
    }

    /// PAIR STATUS.
    pub fn status(&mut self, pair: PairId) -> Result<PairStatus, TsmError> {
        let d = self.run("PAIR STATUS", JpkiCommand::PairStatus(pair))?;
        PairStatus::parse(pair, &d)
            .ok_or_else(|| TsmError::Data(format!("PAIR STATUS: unexpected data {}", hex::encode_upper(&d))))
    }

    /// The whole set-up of one pair (`seeds.md` §3.2-§3.3): key in the chip, certificate from the
    /// CA for the returned public key, CA certificate, temporary PIN by `design`.
    pub fn setup(
        &mut self,
        pair: PairId,
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
        Ok(channel::close(self.t, self.channel)?)
    }
}
