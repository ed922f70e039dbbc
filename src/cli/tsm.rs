//! `gpse tsm`: the service's roles as host-side operations over SCP03. SP-TSM: setup,
//! reset-pin, unblock, erase-pair, status; the app: activate.

use super::advice::{self, pin_format};
use super::common::{parse_keys, parse_kvn, KeysArg, PinArg};
use super::jpki::PairArg;
use super::{Fail, Globals};
use gpse::crypto::CardRng;
use gpse::host::ca::TestCa;
use gpse::host::jpki::JpkiClient;
use gpse::host::tsm::sp::{PinDesign, SpSession, TsmError};
use gpse::proto::jpki::PairId;
use gpse::scp03::StaticKeys;
use gpse::sw::Sw;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "Options go before or after the verb. Key version numbers are hex (0x accepted).
On a fresh card: `gpse tsm setup` (SP-TSM: keys, certificates, temporary PINs), then
`gpse tsm activate --pair auth --temp-pin 0000 --pin 1234` and
`gpse tsm activate --pair sign --temp-pin TEMP00 --pin ABC123` (the app: the user's PINs);
after that every `gpse jpki` verb works.")]
pub struct TsmArgs {
    /// The JPKI applet's security domain keys (the SP-TSM's): --keys, --keys-file or $GPSE_KEYS
    /// [default: the test keys].
    #[command(flatten)]
    pub keys: KeysArg,
    /// Key version number (hex, 0x accepted; 00 = the domain's first key set).
    #[arg(long, value_name = "HEX", default_value = "00", value_parser = parse_kvn, global = true)]
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
        after_help = "Example: gpse tsm setup --state ./card --pairs both --auth-pin 4711 --sign-pin TEMP01 --ca-dir ./ca"
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
    #[command(
        after_help = "Example: gpse tsm ara-allow --reader 0 --cert-hash 0102030405060708090A0B0C0D0E0F1011121314 --aid D392F000260100000001"
    )]
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
        after_help = "Example: gpse tsm prepare --state ./card --app-hash 2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD
Then: gpse tsm setup --state ./card --keys 505152535455565758595A5B5C5D5E5F"
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

fn app_pair(p: PairArg) -> PairId {
    PairId::from(p)
}

/// An SP-TSM error, with advice where the command and status word say what to do next.
fn sp_fail(pair: Option<PairId>, e: TsmError) -> Fail {
    let name = match pair {
        Some(PairId::Sign) => "sign",
        _ => "auth",
    };
    match &e {
        TsmError::Card { what: "GENERATE KEY PAIR", sw: Sw::ConditionsNotSatisfied } => Fail::from(format!(
            "{e}: the {name} pair is set up already; erase it first (gpse tsm erase-pair --pair {name}), or give it a new temporary PIN (gpse tsm reset-pin --pair {name} --pin PIN)"
        )),
        _ => Fail::from(e.to_string()),
    }
}

pub fn run(a: TsmArgs, g: &Globals) -> Result<ExitCode, Fail> {
    let (e, m, d) = a.keys.or_default()?;
    let keys = StaticKeys::new(&e, &m, &d).map_err(|e| e.to_string())?;
    // The PIN from --pin, --pin-file or $GPSE_PIN (issue #19 §9).
    let pin = match &a.cmd {
        TsmCmd::ResetPin { pin, .. }
        | TsmCmd::Sign { pin, .. }
        | TsmCmd::ChangePin { pin, .. }
        | TsmCmd::Activate { pin, .. } => pin.require()?,
        _ => String::new(),
    };
    // PIN formats are checked before anything is sent (J§4: any wrong bytes cost a try).
    match &a.cmd {
        TsmCmd::Setup { pairs, auth_pin, sign_pin, .. } => {
            if !matches!(pairs, PairsArg::Sign) {
                pin_format(PairId::Auth, "--auth-pin", auth_pin)?;
            }
            if !matches!(pairs, PairsArg::Auth) {
                pin_format(PairId::Sign, "--sign-pin", sign_pin)?;
            }
        }
        TsmCmd::ResetPin { pair, .. } => pin_format(app_pair(*pair), "--pin", &pin)?,
        TsmCmd::Sign { pair, .. } => pin_format(app_pair(*pair), "--pin", &pin)?,
        TsmCmd::ChangePin { pair, new, .. } => {
            pin_format(app_pair(*pair), "--pin", &pin)?;
            pin_format(app_pair(*pair), "--new", new)?;
        }
        TsmCmd::Activate { pair, temp_pin, .. } => {
            pin_format(app_pair(*pair), "--temp-pin", temp_pin)?;
            pin_format(app_pair(*pair), "--pin", &pin)?;
        }
        _ => {}
    }
    let mut card = g.transport()?;
    let mut rng = CardRng::new(None);
    let err = |e: TsmError| Fail::from(e.to_string());
    match &a.cmd {
        TsmCmd::Activate { pair, temp_pin, .. } => {
            let p = app_pair(*pair);
            let mut app = JpkiClient::open(card.as_mut()).map_err(|e| e.to_string())?;
            app.change_pin(p, temp_pin.as_bytes(), pin.as_bytes()).map_err(|e| advice::jpki(&mut app, p, e))?;
            outln!("PIN set by the user");
            return Ok(ExitCode::SUCCESS);
        }
        TsmCmd::ChangePin { pair, new, .. } => {
            let p = app_pair(*pair);
            let mut app = JpkiClient::open(card.as_mut()).map_err(|e| e.to_string())?;
            app.change_pin(p, pin.as_bytes(), new.as_bytes()).map_err(|e| advice::jpki(&mut app, p, e))?;
            outln!("PIN changed");
            return Ok(ExitCode::SUCCESS);
        }
        TsmCmd::Sign { pair, file, .. } => {
            use sha2::Digest;
            let p = app_pair(*pair);
            let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let di = gpse::host::jpki::sha256_digest_info(&sha2::Sha256::digest(&bytes).into());
            let mut app = JpkiClient::open(card.as_mut()).map_err(|e| e.to_string())?;
            let sig = app.sign(p, pin.as_bytes(), &di).map_err(|e| advice::jpki(&mut app, p, e))?;
            outln!("{}", hex::encode_upper(sig));
            return Ok(ExitCode::SUCCESS);
        }
        TsmCmd::Prepare { app_hash, sp_keys } => {
            let hash = super::common::hex_arg("--app-hash", app_hash)?;
            let (e, m, d) = parse_keys(sp_keys)?;
            let sp = StaticKeys::new(&e, &m, &d).map_err(|e| e.to_string())?;
            let done = gpse::host::tsm::sei::prepare(card.as_mut(), &keys, &sp, &hash, &mut rng).map_err(err)?;
            if done.removed_old_applet {
                outln!("deleted the JPKI applet that was on the SE (and every key in it)");
            }
            if done.removed_old_ssd {
                outln!("deleted the previous SP security domain");
            }
            outln!(
                "prepared: SP domain {}, JPKI applet installed under it, ARA-M rule for app {}",
                hex::encode_upper(gpse::host::tsm::sei::SP_SSD),
                hex::encode_upper(&hash)
            );
            return Ok(ExitCode::SUCCESS);
        }
        TsmCmd::Remove => {
            gpse::host::tsm::sei::remove(card.as_mut(), &keys, &mut rng).map_err(err)?;
            outln!("removed: JPKI applet, SP domain, ARA-M rules for the applet");
            return Ok(ExitCode::SUCCESS);
        }
        TsmCmd::AraAllow { cert_hash, aid } => {
            let hash = super::common::hex_arg("--cert-hash", cert_hash)?;
            if hash.len() != 20 && hash.len() != 32 {
                return Err("--cert-hash is a SHA-1 (20 bytes) or SHA-256 (32 bytes) hash".into());
            }
            let aid: gpse::Aid = aid.parse().map_err(|e: gpse::card::aid::AidError| e.to_string())?;
            gpse::host::tsm::sei::allow_app(card.as_mut(), &keys, a.kvn, &mut rng, aid.as_bytes(), &hash)
                .map_err(err)?;
            outln!("ARA-M rule stored: {} may reach {aid}", hex::encode_upper(&hash));
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let mut s = SpSession::open(card.as_mut(), &keys, a.kvn, &mut rng).map_err(err)?;
    match a.cmd {
        TsmCmd::Setup { pairs, design, auth_pin, sign_pin, ca_dir, out_dir } => {
            let existing = ca_dir.join("ca.key").exists();
            let mut ca = if existing {
                TestCa::load(&ca_dir).map_err(|e| e.to_string())?
            } else {
                TestCa::new(&mut rng, "gpse JPKI test CA").map_err(|e| e.to_string())?
            };
            let design = match design {
                DesignArg::Blocked => PinDesign::BlockedUntilReleased,
                DesignArg::Initial => PinDesign::InitialState,
            };
            let todo: &[(PairId, &str, &str)] = match pairs {
                PairsArg::Auth => &[(PairId::Auth, "auth", auth_pin.as_str())],
                PairsArg::Sign => &[(PairId::Sign, "sign", sign_pin.as_str())],
                PairsArg::Both => {
                    &[(PairId::Auth, "auth", auth_pin.as_str()), (PairId::Sign, "sign", sign_pin.as_str())]
                }
            };
            let mut result = Ok(());
            for (pair, name, pin) in todo {
                match s.setup(*pair, &mut ca, &format!("gpse test {name}"), design, pin.as_bytes()) {
                    Ok(cert) => {
                        if let Some(dir) = &out_dir {
                            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                            let p = dir.join(format!("{name}.crt"));
                            std::fs::write(&p, &cert).map_err(|e| format!("{}: {e}", p.display()))?;
                        }
                        let when = match design {
                            PinDesign::BlockedUntilReleased => " (blocked until `gpse tsm unblock`)",
                            PinDesign::InitialState => "",
                        };
                        outln!("{name} pair: key generated in the chip, certificate stored, temporary PIN {pin}{when}");
                    }
                    Err(e) => {
                        result = Err(sp_fail(Some(*pair), e));
                        break;
                    }
                }
            }
            // The CA is saved even when a pair failed: certificates it issued are on the card.
            ca.save(&ca_dir).map_err(|e| e.to_string())?;
            if !existing {
                outln!("created the test CA in {} (ca.key, ca.crt); later setups issue from it", ca_dir.display());
            }
            result?;
            if let PinDesign::InitialState = design {
                outln!("next, the app sets the user's PIN: gpse tsm activate --pair PAIR --temp-pin TEMP --pin NEW");
            }
        }
        TsmCmd::ResetPin { pair, .. } => {
            s.reset_pin(pair.into(), pin.as_bytes()).map_err(|e| sp_fail(Some(pair.into()), e))?;
            outln!("temporary PIN {pin} set, tries restored");
        }
        TsmCmd::Unblock { pair } => {
            s.unblock(pair.into()).map_err(|e| sp_fail(Some(pair.into()), e))?;
            outln!("PIN tries restored");
        }
        TsmCmd::ErasePair { pair } => {
            s.erase(pair.into()).map_err(|e| sp_fail(Some(pair.into()), e))?;
            outln!("pair erased");
        }
        TsmCmd::Status => {
            for (name, p) in [("auth", PairId::Auth), ("sign", PairId::Sign)] {
                let st = s.status(p).map_err(err)?;
                let state = st.state.name();
                outln!(
                    "{name}: {state}, {} of {} tries left{}{}",
                    st.tries_left,
                    st.try_limit,
                    if st.temporary && state != "temporary PIN" { ", temporary PIN" } else { "" },
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
