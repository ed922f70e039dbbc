//! `gpse gp`: a GlobalPlatform client with GlobalPlatformPro's common verbs (list, info, load,
//! install, delete, put-key, lock/unlock, create-ssd), over SCP03 with the given keys.

use super::common::{hex_arg, open_transport, parse_num, CardDir, KeysArg, NewKeysArg};
use gpse::card::Aid;
use gpse::crypto::CardRng;
use gpse::gp::cap::CapFile;
use gpse::hexutil::upper;
use gpse::host::gp::{life_cycle_name, privilege_names, EntryKind, GpClient};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::tlv::{self, Mode};
use gpse::transport::Transport;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpse gp --state ./card list
  gpse gp --state ./card load vectors/gp-cap/testapp.cap
  gpse gp --state ./card install --cap vectors/gp-cap/testapp.cap --create F0475053455445535402
  gpse gp --state ./card put-key --new-kvn 30 --new-keys 303132333435363738393A3B3C3D3E3F
  gpse gp --state ./card --kvn 30 --keys 303132333435363738393A3B3C3D3E3F info")]
pub struct GpArgs {
    #[command(flatten)]
    pub dir: CardDir,
    /// A PC/SC reader instead of a card image (name, number, or unique part of the name).
    #[arg(long, value_name = "NAME", conflicts_with = "state")]
    pub reader: Option<String>,
    #[command(flatten)]
    pub keys: KeysArg,
    /// Key version number (hex) for INITIALIZE UPDATE; 00 = the card's first key set.
    #[arg(long, value_name = "HEX", default_value = "00", value_parser = hex_byte)]
    pub kvn: u8,
    /// The security domain to talk to [default: the ISD, found as GPP does with 00A4040000].
    #[arg(long, value_name = "AID")]
    pub sd: Option<String>,
    /// SCP03 security level: 00, 01 (C-MAC), 03, 11, 13 or 33.
    #[arg(long, default_value = "01")]
    pub level: SecurityLevel,
    /// Seed the card's RNG (reproducible card challenges) and the host challenge.
    #[arg(long, value_parser = parse_num)]
    pub seed: Option<u64>,
    #[command(subcommand)]
    pub cmd: GpCmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum GpCmd {
    /// The registry: the ISD, applications, SSDs and load files (GET STATUS).
    List,
    /// Card data, CPLC, IIN, CIN, key information (GET DATA).
    Info,
    /// Load a CAP file (zip or concatenated components): INSTALL [for load] and LOAD.
    Load {
        file: PathBuf,
        /// Associate the load file with this SD instead of the one the session is with.
        #[arg(long, value_name = "AID")]
        to: Option<String>,
    },
    /// INSTALL [for install and make selectable] of an applet of a load file.
    Install {
        /// Take the package and applet AIDs from this CAP file (its first applet).
        #[arg(long, conflicts_with_all = ["package", "applet"])]
        cap: Option<PathBuf>,
        /// Load file (package) AID.
        #[arg(long, value_name = "AID", requires = "applet")]
        package: Option<String>,
        /// Module (applet class) AID.
        #[arg(long, value_name = "AID")]
        applet: Option<String>,
        /// Instance AID [default: the module AID].
        #[arg(long, value_name = "AID")]
        create: Option<String>,
        /// Privileges, 1 or 3 bytes hex.
        #[arg(long, default_value = "00")]
        privs: String,
        /// Install parameters: the value of C9, hex.
        #[arg(long, default_value = "")]
        params: String,
        /// INSTALL [for install] only: the instance stays INSTALLED.
        #[arg(long)]
        no_selectable: bool,
    },
    /// DELETE an application, SSD or load file.
    Delete {
        aid: String,
        /// Delete a load file with all its instances (P2 = 80).
        #[arg(long, visible_alias = "force")]
        related: bool,
    },
    /// PUT KEY: add an AES key set, or replace one with --replace.
    PutKey {
        /// KVN of the new key set (hex).
        #[arg(long, value_parser = hex_byte)]
        new_kvn: u8,
        #[command(flatten)]
        new_keys: NewKeysArg,
        /// The KVN of the key set to replace (hex).
        #[arg(long, value_parser = hex_byte)]
        replace: Option<u8>,
    },
    /// Lock an application or SSD, or with no AID the card (CARD_LOCKED).
    Lock { aid: Option<String> },
    /// Unlock an application or SSD, or with no AID the card (back to SECURED).
    Unlock { aid: Option<String> },
    /// Terminate the card (TERMINATED, irreversible).
    Terminate {
        #[arg(long, required = true)]
        really: bool,
    },
    /// Create a supplementary security domain (instance of the ROM SD module).
    CreateSsd {
        aid: String,
        /// Privileges, 1 or 3 bytes hex (Security Domain is always added).
        #[arg(long, default_value = "80")]
        privs: String,
    },
}

fn hex_byte(s: &str) -> Result<u8, String> {
    let h = s.trim_start_matches("0x").trim_start_matches("0X");
    u8::from_str_radix(h, 16).map_err(|_| format!("'{s}' is not one hex byte"))
}

fn aid_arg(what: &str, s: &str) -> Result<Aid, String> {
    s.parse().map_err(|e| format!("{what}: {e}"))
}

pub fn run(a: GpArgs) -> Result<ExitCode, String> {
    let (e, m, d) = a.keys.or_default()?;
    let keys = StaticKeys::new(&e, &m, &d).map_err(|e| format!("--keys: {e}"))?;
    let sd = a.sd.as_deref().map(|s| aid_arg("--sd", s)).transpose()?;
    let mut t: Box<dyn Transport> = open_transport(&a.dir, a.reader.as_deref(), a.seed)?;
    let mut rng = CardRng::new(a.seed.map(|s| s ^ 0x4750_434C_4945_4E54));
    let mut c = GpClient::open(&mut *t, sd.as_ref(), &keys, a.kvn, a.level, &mut rng).map_err(|e| e.to_string())?;
    let err = |e: gpse::host::gp::GpError| e.to_string();
    match a.cmd {
        GpCmd::List => {
            for e in c.registry().map_err(err)? {
                let label = match e.kind {
                    EntryKind::Isd => "ISD",
                    EntryKind::Application if e.is_sd() => "SSD",
                    EntryKind::Application => "APP",
                    EntryKind::LoadFile => "PKG",
                };
                println!("{label}: {} ({})", e.aid, life_cycle_name(e.kind, e.life_cycle));
                if e.kind != EntryKind::LoadFile {
                    println!("     Privs:   {}", privilege_names(&e.privileges).join(", "));
                }
                if let Some(sd) = &e.sd {
                    println!("     Parent:  {sd}");
                }
                if let Some(lf) = &e.load_file {
                    println!("     From:    {lf}");
                }
                if e.kind == EntryKind::LoadFile && e.version.len() == 2 {
                    println!("     Version: {}.{}", e.version[0], e.version[1]);
                }
                for m in &e.modules {
                    println!("     Applet:  {m}");
                }
            }
        }
        GpCmd::Info => {
            println!("SD:          {}", c.sd());
            for (name, tag) in [("IIN", 0x0042u16), ("CIN", 0x0045), ("CPLC", 0x9F7F), ("Card data", 0x0066)] {
                match c.get_data(tag) {
                    Ok(v) => println!("{:<12} {}", format!("{name}:"), upper(&v)),
                    Err(e) => println!("{:<12} {e}", format!("{name}:")),
                }
            }
            let ki = c.get_data(0x00E0).map_err(err)?;
            let top = tlv::parse_all(&ki, Mode::Ber).map_err(|e| e.to_string())?;
            let inner = tlv::find(&top, 0xE0).map(|t| t.children(Mode::Ber)).transpose().map_err(|e| e.to_string())?;
            for k in inner.unwrap_or_default().iter().filter(|k| k.tag == 0xC0 && k.value.len() >= 4) {
                let v = k.value;
                let ty = if v[2] == 0x88 { "AES".to_string() } else { format!("type {:02X}", v[2]) };
                println!("Key:         version {:02X} id {:02X} {ty}-{}", v[1], v[0], v[3] as usize * 8);
            }
        }
        GpCmd::Load { file, to } => {
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let to = to.as_deref().map(|s| aid_arg("--to", s)).transpose()?;
            let info = c.load(&bytes, to.as_ref()).map_err(err)?;
            println!("loaded {} v{}.{}", info.package_aid, info.version[0], info.version[1]);
            for m in &info.applets {
                println!("  applet {m}");
            }
        }
        GpCmd::Install { cap, package, applet, create, privs, params, no_selectable } => {
            let (elf, module) = match (cap, package, applet) {
                (Some(f), _, _) => {
                    let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                    let cap = CapFile::parse(&bytes).map_err(|e| format!("{}: {e}", f.display()))?;
                    let m = cap.info.applets.first().cloned().ok_or_else(|| format!("{}: no applet", f.display()))?;
                    (cap.info.package_aid, m)
                }
                (None, Some(p), Some(m)) => (aid_arg("--package", &p)?, aid_arg("--applet", &m)?),
                _ => return Err("give --cap FILE, or --package AID and --applet AID".into()),
            };
            let instance = create.as_deref().map(|s| aid_arg("--create", s)).transpose()?.unwrap_or(module.clone());
            let privs = hex_arg("--privs", &privs)?;
            let params = hex_arg("--params", &params)?;
            c.install(&elf, &module, &instance, &privs, &params, !no_selectable).map_err(err)?;
            println!("installed {instance} from {elf} module {module}");
        }
        GpCmd::Delete { aid, related } => {
            let aid = aid_arg("AID", &aid)?;
            c.delete(&aid, related).map_err(err)?;
            println!("deleted {aid}");
        }
        GpCmd::PutKey { new_kvn, new_keys, replace } => {
            let (e, m, d) = new_keys.require()?;
            let r = c.put_key_set(replace, new_kvn, &e, &m, &d).map_err(err)?;
            println!("key set {new_kvn:02X} stored, KCVs {}", upper(&r[1..]));
        }
        GpCmd::Lock { aid: Some(aid) } => {
            let aid = aid_arg("AID", &aid)?;
            c.set_app_locked(&aid, true).map_err(err)?;
            println!("locked {aid}");
        }
        GpCmd::Unlock { aid: Some(aid) } => {
            let aid = aid_arg("AID", &aid)?;
            c.set_app_locked(&aid, false).map_err(err)?;
            println!("unlocked {aid}");
        }
        GpCmd::Lock { aid: None } => {
            c.set_card_state(0x7F).map_err(err)?;
            println!("card locked");
        }
        GpCmd::Unlock { aid: None } => {
            c.set_card_state(0x0F).map_err(err)?;
            println!("card unlocked");
        }
        GpCmd::Terminate { .. } => {
            c.set_card_state(0xFF).map_err(err)?;
            println!("card terminated");
        }
        GpCmd::CreateSsd { aid, privs } => {
            let aid = aid_arg("AID", &aid)?;
            let mut p = hex_arg("--privs", &privs)?;
            if let Some(b) = p.first_mut() {
                *b |= 0x80;
            }
            c.create_ssd(&aid, &p).map_err(err)?;
            println!("created SSD {aid}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
