//! A JPKI user-path client over any `Transport`: the APDUs public clients send
//! (`shared/reference/jpki.md` §1-§5), for people and scripts, against the emulator or a card.

use crate::apdu::{Command, Response};
use crate::sw::Sw;
use crate::transport::{Transport, TransportError};

/// The JPKI AP AID.
pub const AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// Which pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pair {
    Auth,
    Sign,
}

impl Pair {
    fn pin_fid(self) -> u16 {
        match self {
            Pair::Auth => 0x0018,
            Pair::Sign => 0x001B,
        }
    }
    fn key_fid(self) -> u16 {
        match self {
            Pair::Auth => 0x0017,
            Pair::Sign => 0x001A,
        }
    }
    fn cert_fid(self, ca: bool) -> u16 {
        match (self, ca) {
            (Pair::Auth, false) => 0x000A,
            (Pair::Auth, true) => 0x000B,
            (Pair::Sign, false) => 0x0001,
            (Pair::Sign, true) => 0x0002,
        }
    }
}

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
        c.expect_ok("SELECT JPKI AP", Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(AID.to_vec()))?;
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

    fn select_ef(&mut self, fid: u16) -> Result<(), JpkiError> {
        self.expect_ok("SELECT EF", Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(fid.to_be_bytes().to_vec()))
            .map(|_| ())
    }

    /// Tries left, by the empty VERIFY (`00 20 00 80`, J§4).
    pub fn pin_status(&mut self, pair: Pair) -> Result<PinStatus, JpkiError> {
        self.select_ef(pair.pin_fid())?;
        let r = self.send(Command::new(0x00, 0x20, 0x00, 0x80))?;
        Ok(match r.sw {
            Sw::VerifyFailed(n) => PinStatus::TriesLeft(n),
            Sw::ReferenceDataNotUsable => PinStatus::NotUsable,
            sw => PinStatus::Other(sw),
        })
    }

    /// VERIFY with the PIN.
    pub fn verify(&mut self, pair: Pair, pin: &[u8]) -> Result<(), JpkiError> {
        self.select_ef(pair.pin_fid())?;
        self.expect_ok("VERIFY", Command::new(0x00, 0x20, 0x00, 0x80).with_data(pin.to_vec())).map(|_| ())
    }

    /// VERIFY the old PIN, then CHANGE REFERENCE DATA to the new one (J§4).
    pub fn change_pin(&mut self, pair: Pair, old: &[u8], new: &[u8]) -> Result<(), JpkiError> {
        self.verify(pair, old)?;
        self.expect_ok("CHANGE REFERENCE DATA", Command::new(0x00, 0x24, 0x01, 0x80).with_data(new.to_vec()))
            .map(|_| ())
    }

    /// VERIFY, select the key and COMPUTE DIGITAL SIGNATURE over `data` (a DigestInfo or raw
    /// bytes, 1-245; J§5).
    pub fn sign(&mut self, pair: Pair, pin: &[u8], data: &[u8]) -> Result<Vec<u8>, JpkiError> {
        self.verify(pair, pin)?;
        self.select_ef(pair.key_fid())?;
        self.expect_ok(
            "COMPUTE DIGITAL SIGNATURE",
            Command::new(0x80, 0x2A, 0x00, 0x80).with_data(data.to_vec()).with_ne(256),
        )
    }

    /// Reads a certificate EF the way OpenSC does: a 4-byte header, then 256-byte chunks (J§3).
    pub fn read_certificate(&mut self, pair: Pair, ca: bool) -> Result<Vec<u8>, JpkiError> {
        self.select_ef(pair.cert_fid(ca))?;
        let head = self.expect_ok("READ BINARY", Command::new(0x00, 0xB0, 0x00, 0x00).with_ne(4))?;
        if head.len() != 4 || head[0] != 0x30 || head[1] != 0x82 {
            return Err(JpkiError::Data("certificate EF does not start with 30 82".into()));
        }
        let total = u16::from_be_bytes([head[2], head[3]]) as usize + 4;
        let mut out = Vec::with_capacity(total);
        while out.len() < total {
            let off = out.len();
            let want = (total - off).min(256);
            let chunk =
                self.expect_ok("READ BINARY", Command::new(0x00, 0xB0, (off >> 8) as u8, off as u8).with_ne(want))?;
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
    let mut v = hex::decode("3031300D060960864801650304020105000420").expect("constant");
    v.extend_from_slice(digest);
    v
}
