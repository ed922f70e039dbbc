//! A JPKI user-path client over any `Transport`: the APDUs public clients send
//! (`shared/reference/jpki.md` §1-§5), for people and scripts, against the emulator or a card.

use crate::apdu::{Command, Response};
use crate::proto::iso::SelectAid;
use crate::proto::jpki::{Ef, JpkiCommand, PairId, SignScheme};
use crate::sw::Sw;
use crate::transport::{Transport, TransportError};

/// The JPKI AP AID.
pub use crate::proto::jpki::AID;

/// Why a JPKI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JpkiError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{what}: card answered {sw} ({})", sw.meaning())]
    Card { what: &'static str, sw: Sw },
    #[error("{0}")]
    Data(String),
}

/// The state of a PIN as the empty VERIFY reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinStatus {
    TriesLeft(u8),
    NotUsable,
    Other(Sw),
}

/// A JPKI session on one transport.
pub struct JpkiClient<'t> {
    t: &'t mut dyn Transport,
}

impl<'t> JpkiClient<'t> {
    /// Selects the JPKI AP (`00 A4 04 0C 0A <AID>`, J§1).
    pub fn open(t: &'t mut dyn Transport) -> Result<JpkiClient<'t>, JpkiError> {
        let mut c = JpkiClient { t };
        c.expect_ok("SELECT JPKI AP", SelectAid::no_data(&AID).to_command())?;
        Ok(c)
    }

    fn send(&mut self, cmd: Command) -> Result<Response, JpkiError> {
        let raw = self.t.transmit(&cmd.to_bytes())?;
        Response::parse(&raw).ok_or_else(|| JpkiError::Data("response shorter than a status word".into()))
    }

    fn expect_ok(&mut self, what: &'static str, cmd: Command) -> Result<Vec<u8>, JpkiError> {
        let r = self.send(cmd)?;
        if r.sw != Sw::Ok {
            return Err(JpkiError::Card { what, sw: r.sw });
        }
        Ok(r.data)
    }

    fn select_ef(&mut self, ef: Ef) -> Result<(), JpkiError> {
        self.expect_ok("SELECT EF", JpkiCommand::SelectEf { fid: ef.fid() }.to_command()).map(|_| ())
    }

    /// Tries left, by the empty VERIFY (`00 20 00 80`, J§4).
    pub fn pin_status(&mut self, pair: PairId) -> Result<PinStatus, JpkiError> {
        self.select_ef(Ef::Pin(pair))?;
        let r = self.send(JpkiCommand::Verify { sfi: None, pin: None }.to_command())?;
        Ok(match r.sw {
            Sw::VerifyFailed(n) => PinStatus::TriesLeft(n),
            Sw::ReferenceDataNotUsable => PinStatus::NotUsable,
            sw => PinStatus::Other(sw),
        })
    }

    /// VERIFY with the PIN.
    pub fn verify(&mut self, pair: PairId, pin: &[u8]) -> Result<(), JpkiError> {
        self.select_ef(Ef::Pin(pair))?;
        self.expect_ok("VERIFY", JpkiCommand::Verify { sfi: None, pin: Some(pin.to_vec()) }.to_command()).map(|_| ())
    }

    /// VERIFY the old PIN, then CHANGE REFERENCE DATA to the new one (J§4).
    pub fn change_pin(&mut self, pair: PairId, old: &[u8], new: &[u8]) -> Result<(), JpkiError> {
        self.verify(pair, old)?;
        self.expect_ok("CHANGE REFERENCE DATA", JpkiCommand::ChangePin { new: new.to_vec() }.to_command()).map(|_| ())
    }

    /// VERIFY, select the key and COMPUTE DIGITAL SIGNATURE over `data` (a DigestInfo or raw
    /// bytes, 1-245; J§5).
    pub fn sign(&mut self, pair: PairId, pin: &[u8], data: &[u8]) -> Result<Vec<u8>, JpkiError> {
        self.verify(pair, pin)?;
        self.select_ef(Ef::Key(pair))?;
        self.expect_ok(
            "COMPUTE DIGITAL SIGNATURE",
            JpkiCommand::Sign { scheme: SignScheme::Verbatim, sfi: None, data: data.to_vec() }.to_command(),
        )
    }

    /// Reads a certificate EF the way OpenSC does: a 4-byte header, then 256-byte chunks (J§3).
    pub fn read_certificate(&mut self, pair: PairId, ca: bool) -> Result<Vec<u8>, JpkiError> {
        self.select_ef(if ca { Ef::CaCert(pair) } else { Ef::Cert(pair) })?;
        let read = |offset: usize, ne: usize| JpkiCommand::ReadBinary { sfi: None, offset, ne }.to_command();
        let head = self.expect_ok("READ BINARY", read(0, 4))?;
        if head.len() != 4 || head[0] != 0x30 || head[1] != 0x82 {
            return Err(JpkiError::Data("certificate EF does not start with 30 82".into()));
        }
        let total = u16::from_be_bytes([head[2], head[3]]) as usize + 4;
        let mut out = Vec::with_capacity(total);
        while out.len() < total {
            let off = out.len();
            let want = (total - off).min(256);
            if off > 0x7FFF {
                // READ BINARY without SFI codes offsets in 15 bits (ISO 7816-4 §11.3.3).
                return Err(JpkiError::Data(format!("certificate EF longer than READ BINARY reaches ({total} bytes)")));
            }
            let chunk = self.expect_ok("READ BINARY", read(off, want))?;
            if chunk.is_empty() {
                return Err(JpkiError::Data("certificate EF shorter than its DER length".into()));
            }
            out.extend(chunk);
        }
        out.truncate(total);
        Ok(out)
    }
}

/// The DER DigestInfo of a SHA-256 digest (RFC 8017 §9.2 note 1; J§5).
pub fn sha256_digest_info(digest: &[u8; 32]) -> Vec<u8> {
    let mut v = vec![
        0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    v.extend_from_slice(digest);
    v
}
