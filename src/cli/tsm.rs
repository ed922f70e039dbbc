//! `gpse tsm`: the service's roles as host-side operations over SCP03. SP-TSM: setup,
//! reset-pin, unblock, erase-pair, status; the app: activate.

use super::common::{open_transport, parse_keys, CardDir, KeysArg, PinArg};
use gpse::crypto::CardRng;
use gpse::host::ca::TestCa;
use gpse::host::jpki::{JpkiClient, Pair};
use gpse::host::tsm::sp::{PairRef, PinDesign, SpSession};
use gpse::scp03::StaticKeys;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TsmArgs {
    #[command(flatten)]
    pub dir: CardDir,
    /// A PC/SC reader instead of a card image (name, number, or unique part of the name).
    #[arg(long, value_name = "NAME", conflicts_with = "state")]
    pub reader: Option<String>,
    /// The JPKI applet's security domain keys (the SP-TSM's).
    #[command(flatten)]
    pub keys: KeysArg,
    /// Key version number (hex; 00 = the domain's first key set).
    #[arg(long, default_value = "00", value_parser = |s: &str| u8::from_str_radix(s, 16))]
    pub kvn: u8,
    #[command(subcommand)]
    pub cmd: TsmCmd,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PairsArg {
    Auth,
    Sign,
    Both,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PairArg {
    Auth,
    Sign,
}

impl From<PairArg> for PairRef {
    fn from(p: PairArg) -> PairRef {
        match p {
            PairArg::Auth => PairRef::Auth,
            PairArg::Sign => PairRef::Sign,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DesignArg {
    /// 案3: temporary PIN set blocked, released by `tsm unblock` once the user is verified.
    Blocked,
    /// 案4: the pair waits in its initial state; the temporary PIN is usable at once.
    Initial,
}

#[derive(Debug, clap::Subcommand)]
pub enum TsmCmd {
    /// SP-TSM: generate key pairs in the chip, certify them with the test CA, set temporary PINs.
    #[command(
        after_help = "Example: gpse tsm --state ./card setup --pairs both --auth-pin 4711 --sign-pin TEMP01 --ca-dir ./ca"
    )]
    Setup {
        #[arg(long, value_enum, default_value = "both")]
        pairs: PairsArg,
        #[arg(long, value_enum, default_value = "initial")]
        design: DesignArg,
        /// Temporary PIN of the auth pair (4 digits).
        #[arg(long, default_value = "0000")]
        auth_pin: String,
        /// Temporary PIN of the sign pair (6-16 of A-Z0-9).
        #[arg(long, default_value = "TEMP00")]
        sign_pin: String,
        /// The test CA's directory (created with a new CA when missing).
        #[arg(long, default_value = "gpse-ca")]
        ca_dir: PathBuf,
        /// Write the issued certificates (DER) here.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// SP-TSM: a new temporary PIN, tries restored.
    ResetPin {
        #[arg(long, value_enum)]
        pair: PairArg,
        #[command(flatten)]
        pin: PinArg,
    },
    /// SP-TSM: restore the tries (and release a design-a temporary PIN).
    Unblock {
        #[arg(long, value_enum)]
        pair: PairArg,
    },
    /// SP-TSM: erase one pair's key, certificates and PIN.
    ErasePair {
        #[arg(long, value_enum)]
        pair: PairArg,
    },
    /// SP-TSM: the state and tries of both pairs.
    Status,
    /// SEI-TSM: store the ARA-M rule that lets the app with this signing-certificate hash reach
    /// an applet (the keys are then the ISD's).
    #[command(after_help = "Example: gpse tsm --reader 0 ara-allow --cert-hash 0102…14 --aid D392F000260100000001")]
    AraAllow {
        /// SHA-1 or SHA-256 of the app's signing certificate, hex.
        #[arg(long)]
        cert_hash: String,
        /// The applet AID, hex.
        #[arg(long)]
        aid: String,
    },
    /// SEI-TSM: prepare the phone: delete a leftover JPKI applet and SP domain, create the SP's
    /// domain, hand it the SP-TSM's keys, install the JPKI applet under it, store the ARA-M rule
    /// for the JPKI app. --keys are then the ISD's; afterwards the SP-TSM uses --sp-keys.
    #[command(
        after_help = "Example: gpse tsm --state ./card prepare --app-hash 2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD
Then: gpse tsm --state ./card --keys 505152535455565758595A5B5C5D5E5F setup"
    )]
    Prepare {
        /// SHA-1 or SHA-256 of the JPKI app's signing certificate.
        #[arg(long, default_value = "2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD")]
        app_hash: String,
        /// The SP-TSM's key set for the new domain, ENC:MAC:DEK (or one key for all three).
        #[arg(long, default_value = "505152535455565758595A5B5C5D5E5F")]
        sp_keys: String,
    },
    /// SEI-TSM: delete the JPKI applet (with every key in it), the SP domain and the ARA-M rules.
    Remove,
    /// The app: sign the SHA-256 of a file (prints the signature hex).
    Sign {
        #[arg(long, value_enum)]
        pair: PairArg,
        #[command(flatten)]
        pin: PinArg,
        #[arg(long)]
        file: PathBuf,
    },
    /// The app: change the user's PIN.
    ChangePin {
        #[arg(long, value_enum)]
        pair: PairArg,
        #[command(flatten)]
        pin: PinArg,
        #[arg(long)]
        new: String,
    },
    /// The app: verify the temporary PIN, then change it to the user's PIN.
    Activate {
        #[arg(long, value_enum)]
        pair: PairArg,
        #[arg(long)]
        temp_pin: String,
        #[command(flatten)]
        pin: PinArg,
    },
}

pub fn run(a: TsmArgs) -> Result<ExitCode, String> {
    let (e, m, d) = a.keys.or_default()?;
    let keys = StaticKeys::new(&e, &m, &d).map_err(|e| e.to_string())?;
    let mut card = open_transport(&a.dir, a.reader.as_deref(), None)?;
    let mut rng = CardRng::new(None);
    let err = |e: gpse::host::tsm::sp::TsmError| e.to_string();
    let app_pair = |p: &PairArg| match p {
        PairArg::Auth => Pair::Auth,
        PairArg::Sign => Pair::Sign,
    };
    match &a.cmd {
        TsmCmd::Activate { pair, temp_pin, pin } => {
            let mut app = JpkiClient::open(card.as_mut()).map_err(|e| e.to_string())?;
            app.change_pin(app_pair(pair), temp_pin.as_bytes(), pin.require()?.as_bytes())
                .map_err(|e| e.to_string())?;
            println!("PIN set by the user");
            return Ok(ExitCode::SUCCESS);
        }
        TsmCmd::ChangePin { pair, pin, new } => {
            let mut app = JpkiClient::open(card.as_mut()).map_err(|e| e.to_string())?;
            app.change_pin(app_pair(pair), pin.require()?.as_bytes(), new.as_bytes()).map_err(|e| e.to_string())?;
            println!("PIN changed");
            return Ok(ExitCode::SUCCESS);
        }
        TsmCmd::Sign { pair, pin, file } => {
            use sha2::Digest;
            let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let di = gpse::host::jpki::sha256_digest_info(&sha2::Sha256::digest(&bytes).into());
            let mut app = JpkiClient::open(card.as_mut()).map_err(|e| e.to_string())?;
            let sig = app.sign(app_pair(pair), pin.require()?.as_bytes(), &di).map_err(|e| e.to_string())?;
            println!("{}", hex::encode_upper(sig));
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    match &a.cmd {
        TsmCmd::Prepare { app_hash, sp_keys } => {
            let hash = super::common::hex_arg("--app-hash", app_hash)?;
            let (e, m, d) = parse_keys(sp_keys)?;
            let sp = StaticKeys::new(&e, &m, &d).map_err(|e| e.to_string())?;
            let done = gpse::host::tsm::sei::prepare(card.as_mut(), &keys, &sp, &hash, &mut rng).map_err(err)?;
            if done.removed_old_applet {
                println!("deleted the JPKI applet that was on the SE (and every key in it)");
            }
            if done.removed_old_ssd {
                println!("deleted the previous SP security domain");
            }
            println!(
                "prepared: SP domain {}, JPKI applet installed under it, ARA-M rule for app {}",
                hex::encode_upper(gpse::host::tsm::sei::SP_SSD),
                hex::encode_upper(&hash)
            );
            return Ok(ExitCode::SUCCESS);
        }
        TsmCmd::Remove => {
            gpse::host::tsm::sei::remove(card.as_mut(), &keys, &mut rng).map_err(err)?;
            println!("removed: JPKI applet, SP domain, ARA-M rules for the applet");
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    if let TsmCmd::AraAllow { cert_hash, aid } = &a.cmd {
        let hash = super::common::hex_arg("--cert-hash", cert_hash)?;
        if hash.len() != 20 && hash.len() != 32 {
            return Err("--cert-hash is a SHA-1 (20 bytes) or SHA-256 (32 bytes) hash".into());
        }
        let aid: gpse::Aid = aid.parse().map_err(|e: gpse::card::aid::AidError| e.to_string())?;
        gpse::host::tsm::sei::allow_app(card.as_mut(), &keys, a.kvn, &mut rng, aid.as_bytes(), &hash).map_err(err)?;
        println!("ARA-M rule stored: {} may reach {aid}", hex::encode_upper(&hash));
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = SpSession::open(card.as_mut(), &keys, a.kvn, &mut rng).map_err(err)?;
    match a.cmd {
        TsmCmd::Setup { pairs, design, auth_pin, sign_pin, ca_dir, out_dir } => {
            let mut ca = if ca_dir.join("ca.key").exists() {
                TestCa::load(&ca_dir).map_err(|e| e.to_string())?
            } else {
                TestCa::new(&mut rng, "gpse JPKI test CA").map_err(|e| e.to_string())?
            };
            let design = match design {
                DesignArg::Blocked => PinDesign::BlockedUntilReleased,
                DesignArg::Initial => PinDesign::InitialState,
            };
            let todo: &[(PairRef, &str, &str)] = match pairs {
                PairsArg::Auth => &[(PairRef::Auth, "auth", auth_pin.as_str())],
                PairsArg::Sign => &[(PairRef::Sign, "sign", sign_pin.as_str())],
                PairsArg::Both => {
                    &[(PairRef::Auth, "auth", auth_pin.as_str()), (PairRef::Sign, "sign", sign_pin.as_str())]
                }
            };
            for (pair, name, pin) in todo {
                let cert =
                    s.setup(*pair, &mut ca, &format!("gpse test {name}"), design, pin.as_bytes()).map_err(err)?;
                if let Some(dir) = &out_dir {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                    let p = dir.join(format!("{name}.crt"));
                    std::fs::write(&p, &cert).map_err(|e| format!("{}: {e}", p.display()))?;
                }
                println!("{name} pair: key generated in the chip, certificate stored, temporary PIN set");
            }
            ca.save(&ca_dir).map_err(|e| e.to_string())?;
        }
        TsmCmd::ResetPin { pair, pin } => {
            s.reset_pin(pair.into(), pin.require()?.as_bytes()).map_err(err)?;
            println!("temporary PIN set, tries restored");
        }
        TsmCmd::Unblock { pair } => {
            s.unblock(pair.into()).map_err(err)?;
            println!("PIN tries restored");
        }
        TsmCmd::ErasePair { pair } => {
            s.erase(pair.into()).map_err(err)?;
            println!("pair erased");
        }
        TsmCmd::Status => {
            for (name, p) in [("auth", PairRef::Auth), ("sign", PairRef::Sign)] {
                let st = s.status(p).map_err(err)?;
                println!(
                    "{name}: {}, {} of {} tries left{}{}",
                    st.state_name(),
                    st.tries_left,
                    st.try_limit,
                    if st.temporary { ", temporary PIN" } else { "" },
                    if st.blocked { ", blocked" } else { "" }
                );
            }
        }
        TsmCmd::Activate { .. }
        | TsmCmd::ChangePin { .. }
        | TsmCmd::Sign { .. }
        | TsmCmd::AraAllow { .. }
        | TsmCmd::Prepare { .. }
        | TsmCmd::Remove => return Err("handled without the SP-TSM session".into()),
    }
    s.close().map_err(err)?;
    Ok(ExitCode::SUCCESS)
}
