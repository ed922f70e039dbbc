//! `gpse jpki`: the JPKI user path for people and scripts (status, verify, change-pin, sign,
//! read-cert).

use super::advice::{self, pin_format};
use super::common::PinArg;
use super::{Fail, Globals};
use gpse::hexutil::upper;
use gpse::host::jpki::{sha256_digest_info, JpkiClient, PinStatus};
use gpse::proto::jpki::PairId;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "PINs: auth is 4 digits, sign is 6-16 of A-Z0-9; a PIN of the wrong format is refused
before it is sent (a VERIFY would spend a try on it). A wrong PIN exits 1 and says the tries left.
On a fresh card the pairs are not set up yet: run `gpse tsm setup` and `gpse tsm activate` first.")]
pub struct JpkiArgs {
    #[command(subcommand)]
    pub cmd: JpkiCmd,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PairArg {
    /// User authentication (利用者証明用): 4-digit PIN.
    Auth,
    /// Signature (署名用): 6-16 characters A-Z0-9.
    Sign,
}

impl From<PairArg> for PairId {
    fn from(p: PairArg) -> PairId {
        match p {
            PairArg::Auth => PairId::Auth,
            PairArg::Sign => PairId::Sign,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum JpkiCmd {
    /// PIN tries left of both pairs (empty VERIFY; no try is used).
    Status,
    /// Verify a PIN.
    Verify {
        #[arg(long, value_enum)]
        pair: PairArg,
        #[command(flatten)]
        pin: PinArg,
    },
    /// Verify the PIN, then change it.
    ChangePin {
        #[arg(long, value_enum)]
        pair: PairArg,
        #[command(flatten)]
        pin: PinArg,
        #[arg(long)]
        new: String,
    },
    /// Sign: SHA-256 of a file (DigestInfo sent to the card), or raw bytes given as hex.
    #[command(
        after_help = "Example: gpse jpki sign --state ./card --pair auth --pin 1234 --file doc.pdf --out doc.sig"
    )]
    Sign {
        #[arg(long, value_enum)]
        pair: PairArg,
        #[command(flatten)]
        pin: PinArg,
        /// File whose SHA-256 is signed.
        #[arg(long, conflicts_with = "raw")]
        file: Option<PathBuf>,
        /// Bytes (hex) passed to COMPUTE DIGITAL SIGNATURE as they are.
        #[arg(long)]
        raw: Option<String>,
        /// Write the 256-byte signature here instead of printing hex.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Read a certificate (DER to --out, else PEM on stdout).
    ReadCert {
        #[arg(long, value_enum)]
        pair: PairArg,
        /// The CA certificate instead.
        #[arg(long)]
        ca: bool,
        /// PIN to verify first (needed for the sign certificate, and for the auth certificate on
        /// the GP-SE): --pin, --pin-file or GPSE_PIN.
        #[command(flatten)]
        pin: PinArg,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(a: JpkiArgs, g: &Globals) -> Result<ExitCode, Fail> {
    // The PIN from --pin, --pin-file or $GPSE_PIN (issue #19 §9), then its format: nothing
    // reaches the card with a PIN it would count as a wrong try.
    let given = match &a.cmd {
        JpkiCmd::Status => None,
        JpkiCmd::Verify { pin, .. } | JpkiCmd::Sign { pin, .. } | JpkiCmd::ChangePin { pin, .. } => {
            Some(pin.require()?)
        }
        JpkiCmd::ReadCert { pin, .. } => pin.get()?,
    };
    let pin = given.clone().unwrap_or_default();
    match &a.cmd {
        JpkiCmd::Status => {}
        JpkiCmd::Verify { pair, .. } | JpkiCmd::Sign { pair, .. } => pin_format((*pair).into(), "--pin", &pin)?,
        JpkiCmd::ChangePin { pair, new, .. } => {
            pin_format((*pair).into(), "--pin", &pin)?;
            pin_format((*pair).into(), "--new", new)?;
        }
        JpkiCmd::ReadCert { pair, .. } => {
            if given.is_some() {
                pin_format((*pair).into(), "--pin", &pin)?;
            }
        }
    }
    let mut card = g.transport()?;
    let mut c = JpkiClient::open(card.as_mut()).map_err(|e| Fail::from(e.to_string()))?;
    match a.cmd {
        JpkiCmd::Status => {
            for (name, p) in [("auth", PairId::Auth), ("sign", PairId::Sign)] {
                match c.pin_status(p).map_err(|e| e.to_string())? {
                    PinStatus::TriesLeft(0) => outln!("{name}: blocked"),
                    PinStatus::TriesLeft(n) => outln!("{name}: {n} tries left"),
                    PinStatus::NotUsable => outln!("{name}: no usable PIN (pair not set up: gpse tsm setup)"),
                    PinStatus::Other(sw) => outln!("{name}: card answered {sw}"),
                }
            }
        }
        JpkiCmd::Verify { pair, .. } => {
            c.verify(pair.into(), pin.as_bytes()).map_err(|e| advice::jpki(&mut c, pair.into(), e))?;
            outln!("PIN verified");
        }
        JpkiCmd::ChangePin { pair, new, .. } => {
            c.change_pin(pair.into(), pin.as_bytes(), new.as_bytes())
                .map_err(|e| advice::jpki(&mut c, pair.into(), e))?;
            outln!("PIN changed");
        }
        JpkiCmd::Sign { pair, file, raw, out, .. } => {
            let data = match (file, raw) {
                (Some(f), None) => {
                    let bytes = std::fs::read(&f).map_err(|er| format!("{}: {er}", f.display()))?;
                    sha256_digest_info(&Sha256::digest(&bytes).into())
                }
                (None, Some(h)) => super::common::hex_arg("--raw", &h)?,
                _ => return Err("give --file or --raw".into()),
            };
            let sig = c.sign(pair.into(), pin.as_bytes(), &data).map_err(|e| advice::jpki(&mut c, pair.into(), e))?;
            match out {
                Some(p) => std::fs::write(&p, &sig).map_err(|er| format!("{}: {er}", p.display()))?,
                None => outln!("{}", upper(&sig)),
            }
        }
        JpkiCmd::ReadCert { pair, ca, out, .. } => {
            if given.is_some() {
                c.verify(pair.into(), pin.as_bytes()).map_err(|e| advice::jpki(&mut c, pair.into(), e))?;
            }
            let der = c.read_certificate(pair.into(), ca).map_err(|e| advice::jpki(&mut c, pair.into(), e))?;
            match out {
                Some(p) => std::fs::write(&p, &der).map_err(|er| format!("{}: {er}", p.display()))?,
                None => out!("{}", pem(&der)?),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// PEM of a DER certificate (x509-cert's RFC 7468 encoder).
fn pem(der: &[u8]) -> Result<String, String> {
    use der::{Decode, EncodePem};
    let cert =
        x509_cert::Certificate::from_der(der).map_err(|e| format!("certificate on the card is not DER X.509: {e}"))?;
    cert.to_pem(der::pem::LineEnding::LF).map_err(|e| e.to_string())
}
