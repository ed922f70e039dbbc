//! `gpse jpki`: the JPKI user path for people and scripts (status, verify, change-pin, sign,
//! read-cert).

use super::common::{open_transport, CardDir, PinArg};
use gpse::hexutil::upper;
use gpse::host::jpki::{sha256_digest_info, JpkiClient, Pair, PinStatus};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct JpkiArgs {
    #[command(flatten)]
    pub dir: CardDir,
    /// A PC/SC reader instead of a card image (name, number, or unique part of the name).
    #[arg(long, value_name = "NAME", conflicts_with = "state")]
    pub reader: Option<String>,
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

impl From<PairArg> for Pair {
    fn from(p: PairArg) -> Pair {
        match p {
            PairArg::Auth => Pair::Auth,
            PairArg::Sign => Pair::Sign,
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
        after_help = "Example: gpse jpki --state ./card sign --pair auth --pin 1234 --file doc.pdf --out doc.sig"
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

pub fn run(a: JpkiArgs) -> Result<ExitCode, String> {
    let mut card = open_transport(&a.dir, a.reader.as_deref(), None)?;
    let mut c = JpkiClient::open(card.as_mut()).map_err(|e| e.to_string())?;
    let e = |e: gpse::host::jpki::JpkiError| e.to_string();
    match a.cmd {
        JpkiCmd::Status => {
            for (name, p) in [("auth", Pair::Auth), ("sign", Pair::Sign)] {
                match c.pin_status(p).map_err(e)? {
                    PinStatus::TriesLeft(0) => println!("{name}: blocked"),
                    PinStatus::TriesLeft(n) => println!("{name}: {n} tries left"),
                    PinStatus::NotUsable => println!("{name}: no usable PIN (pair not set up)"),
                    PinStatus::Other(sw) => println!("{name}: card answered {sw}"),
                }
            }
        }
        JpkiCmd::Verify { pair, pin } => {
            c.verify(pair.into(), pin.require()?.as_bytes()).map_err(e)?;
            println!("PIN verified");
        }
        JpkiCmd::ChangePin { pair, pin, new } => {
            c.change_pin(pair.into(), pin.require()?.as_bytes(), new.as_bytes()).map_err(e)?;
            println!("PIN changed");
        }
        JpkiCmd::Sign { pair, pin, file, raw, out } => {
            let data = match (file, raw) {
                (Some(f), None) => {
                    let bytes = std::fs::read(&f).map_err(|er| format!("{}: {er}", f.display()))?;
                    sha256_digest_info(&Sha256::digest(&bytes).into())
                }
                (None, Some(h)) => super::common::hex_arg("--raw", &h)?,
                _ => return Err("give --file or --raw".into()),
            };
            let sig = c.sign(pair.into(), pin.require()?.as_bytes(), &data).map_err(e)?;
            match out {
                Some(p) => std::fs::write(&p, &sig).map_err(|er| format!("{}: {er}", p.display()))?,
                None => println!("{}", upper(&sig)),
            }
        }
        JpkiCmd::ReadCert { pair, ca, pin, out } => {
            if let Some(pin) = pin.get()? {
                c.verify(pair.into(), pin.as_bytes()).map_err(e)?;
            }
            let der = c.read_certificate(pair.into(), ca).map_err(e)?;
            match out {
                Some(p) => std::fs::write(&p, &der).map_err(|er| format!("{}: {er}", p.display()))?,
                None => print!("{}", pem(&der)?),
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
