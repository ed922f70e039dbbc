//! `gpse gp`: a GlobalPlatform client with GlobalPlatformPro's common verbs (list, info, load,
//! install, delete, put-key, lock/unlock, create-ssd), over SCP03 with the given keys.

use super::common::{hex_arg, parse_kvn, KeysArg, NewKeysArg};
use super::{Fail, Globals};
use gpse::card::registry::CardLifeCycle;
use gpse::card::Aid;
use gpse::crypto::CardRng;
use gpse::gp::cap::{CapFile, CapInfo};
use gpse::hexutil::upper;
use gpse::host::gp::{life_cycle_name, privilege_names, Dap, DapKey, EntryKind, GpClient};
use gpse::scp03::host::OpenOptions;
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::sw::Sw;
use gpse::tlv::{self, Mode};
use gpse::transport::Transport;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "Options go before or after the verb. Key version numbers are hex (0x accepted).
Examples:
  gpse gp list --state ./card
  gpse gp install --state ./card vectors/gp-cap/testapp.cap        # load and install in one step
  gpse gp load --state ./card vectors/gp-cap/testapp.cap
  gpse gp install --state ./card --cap vectors/gp-cap/testapp.cap --create F0475053455445535402
  gpse gp put-key --state ./card --new-kvn 30 --new-keys 303132333435363738393A3B3C3D3E3F
  gpse gp info --state ./card --kvn 30 --keys 303132333435363738393A3B3C3D3E3F
  gpse gp list --state ./card -d                                     # every APDU on stderr")]
pub struct GpArgs {
    /// SCP03 static keys: --keys, --keys-file or $GPSE_KEYS [default: the test keys].
    #[command(flatten)]
    pub keys: KeysArg,
    /// Key version number (hex, 0x accepted) for INITIALIZE UPDATE; 00 = the card's first key set.
    #[arg(long, value_name = "HEX", default_value = "00", value_parser = parse_kvn, global = true)]
    pub kvn: u8,
    /// The security domain to talk to [default: the ISD, found as GPP does with 00A4040000].
    #[arg(long, value_name = "AID", global = true)]
    pub sd: Option<String>,
    /// SCP03 security level: 00, 01 (C-MAC), 03, 11, 13 or 33.
    #[arg(long, default_value = "01", global = true)]
    pub level: SecurityLevel,
    /// SCP03 S16 mode: 16-byte host challenge, card challenge and cryptograms (Amendment D
    /// v1.2; GPP --s16), for a key set whose i parameter has b1 set.
    #[arg(long, global = true)]
    pub s16: bool,
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
        /// Add a DAP block (GPCS T11-58) signed with this key: a PEM RSA private key (PKCS#1
        /// v1.5 with SHA-1 over the load file data block hash, as GPP's DAP signing) or a file
        /// with an AES key in hex (AES-CMAC over the hash).
        #[arg(long, value_name = "FILE")]
        dap_key: Option<PathBuf>,
        /// The SD the DAP block is for [default: --to, else the session's SD].
        #[arg(long, value_name = "AID", requires = "dap_key")]
        dap_sd: Option<String>,
    },
    /// INSTALL [for install and make selectable] of an applet of a load file; with a CAP FILE,
    /// load it first (as GlobalPlatformPro's --install FILE does).
    Install {
        /// A CAP file to load and install from, in one step.
        #[arg(value_name = "FILE.cap", conflicts_with_all = ["cap", "package"])]
        file: Option<PathBuf>,
        /// Take the package and applet AIDs from this CAP file, already loaded.
        #[arg(long, value_name = "FILE.cap", conflicts_with = "package")]
        cap: Option<PathBuf>,
        /// Load file (package) AID.
        #[arg(long, value_name = "AID", requires = "applet")]
        package: Option<String>,
        /// Module (applet class) AID [with a CAP file: its first applet].
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
        /// KVN of the new key set (hex, 0x accepted).
        #[arg(long, value_name = "HEX", value_parser = parse_kvn)]
        new_kvn: u8,
        /// The new keys: --new-keys, --new-keys-file or $GPSE_NEW_KEYS.
        #[command(flatten)]
        new_keys: NewKeysArg,
        /// The KVN of the key set to replace (hex, 0x accepted).
        #[arg(long, value_name = "HEX", value_parser = parse_kvn)]
        replace: Option<u8>,
    },
    /// PUT KEY of a DAP verification key into the session's SD: the public key of a PEM RSA
    /// key (public or private), or an AES key in hex, as key 1 of --dap-kvn.
    PutDapKey {
        file: PathBuf,
        /// Its key version (hex) [default: 73, GPP's DAP key version].
        #[arg(long, value_name = "HEX", default_value = "73", value_parser = parse_kvn)]
        dap_kvn: u8,
    },
    /// Lock an application or SSD, or with --card the whole card (CARD_LOCKED).
    Lock {
        aid: Option<String>,
        /// Lock the whole card: only the ISD answers until `gp unlock --card`.
        #[arg(long, conflicts_with = "aid")]
        card: bool,
    },
    /// Unlock an application or SSD, or with --card the whole card (back to SECURED).
    Unlock {
        aid: Option<String>,
        /// Unlock the whole card.
        #[arg(long, conflicts_with = "aid")]
        card: bool,
    },
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

/// What a DAP key file holds.
enum DapKeyFile {
    Aes(gpse::crypto::SecretBytes),
    RsaPrivate(Box<rsa::RsaPrivateKey>),
    RsaPublic(rsa::RsaPublicKey),
}

/// A DAP key file: a PEM RSA key (PKCS#8 or PKCS#1, private or public), or an AES key in hex.
fn read_dap_key(f: &std::path::Path) -> Result<DapKeyFile, String> {
    use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
    use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
    let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
    if !text.contains("-----BEGIN") {
        let k = hex_arg(&f.display().to_string(), text.trim())?;
        if !matches!(k.len(), 16 | 24 | 32) {
            return Err(format!("{}: an AES DAP key is 16, 24 or 32 bytes, not {}", f.display(), k.len()));
        }
        return Ok(DapKeyFile::Aes(gpse::crypto::SecretBytes::new(k)));
    }
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(&text).or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&text)) {
        return Ok(DapKeyFile::RsaPrivate(Box::new(k)));
    }
    rsa::RsaPublicKey::from_public_key_pem(&text)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(&text))
        .map(DapKeyFile::RsaPublic)
        .map_err(|_| format!("{}: not a PEM RSA key (PKCS#8 or PKCS#1)", f.display()))
}

fn aid_arg(what: &str, s: &str) -> Result<Aid, String> {
    s.parse().map_err(|e| format!("{what}: {e}"))
}

type Client<'t> = GpClient<'t, dyn Transport>;

pub fn run(a: GpArgs, g: &Globals) -> Result<ExitCode, Fail> {
    let (e, m, d) = a.keys.or_default()?;
    let keys = StaticKeys::new(&e, &m, &d).map_err(|e| format!("--keys: {e}"))?;
    let sd = a.sd.as_deref().map(|s| aid_arg("--sd", s)).transpose()?;
    // Usage errors before the card is opened.
    if let GpCmd::Lock { aid: None, card: false } | GpCmd::Unlock { aid: None, card: false } = &a.cmd {
        return Err(
            "give the AID of an application or SSD, or --card for the whole card (a locked card answers only its ISD)"
                .into(),
        );
    }
    let mut t: Box<dyn Transport> = g.transport()?;
    let mut rng = CardRng::new(g.seed.map(|s| s ^ 0x4750_434C_4945_4E54));
    let opts = OpenOptions { kvn: a.kvn, level: a.level, host_challenge: None, channel: 0, s16: a.s16 };
    let mut c: Client<'_> =
        GpClient::open_with(&mut *t, sd.as_ref(), &keys, &opts, &mut rng).map_err(|e| e.to_string())?;
    let err = |e: gpse::host::gp::GpError| Fail::from(e.to_string());
    // CAP files loaded, whose Debug component an in-process card keeps for stack traces.
    let mut loaded: Vec<Vec<u8>> = Vec::new();
    match a.cmd {
        GpCmd::List => {
            for e in c.registry().map_err(err)? {
                let label = match e.kind {
                    EntryKind::Isd => "ISD",
                    EntryKind::Application if e.is_sd() => "SSD",
                    EntryKind::Application => "APP",
                    EntryKind::LoadFile => "PKG",
                };
                outln!("{label}: {} ({})", e.aid, life_cycle_name(e.kind, e.life_cycle));
                if e.kind != EntryKind::LoadFile {
                    outln!("     Privs:   {}", privilege_names(&e.privileges).join(", "));
                }
                if let Some(sd) = &e.sd {
                    outln!("     Parent:  {sd}");
                }
                if let Some(lf) = &e.load_file {
                    outln!("     From:    {lf}");
                }
                if e.kind == EntryKind::LoadFile && e.version.len() == 2 {
                    outln!("     Version: {}.{}", e.version[0], e.version[1]);
                }
                for m in &e.modules {
                    outln!("     Applet:  {m}");
                }
            }
        }
        GpCmd::Info => info(&mut c)?,
        GpCmd::Load { file, to, dap_key, dap_sd } => {
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let to = to.as_deref().map(|s| aid_arg("--to", s)).transpose()?;
            let mut daps = Vec::new();
            if let Some(k) = &dap_key {
                let sd = match dap_sd.as_deref() {
                    Some(s) => aid_arg("--dap-sd", s)?,
                    None => to.clone().unwrap_or_else(|| c.sd().clone()),
                };
                let key = match read_dap_key(k)? {
                    DapKeyFile::Aes(k) => DapKey::Aes(k),
                    DapKeyFile::RsaPrivate(k) => DapKey::Rsa(k),
                    DapKeyFile::RsaPublic(_) => {
                        return Err(format!(
                            "--dap-key {}: a public key cannot sign; give the private key",
                            k.display()
                        )
                        .into())
                    }
                };
                daps.push(Dap { sd, key });
            }
            load(&mut c, &file, &bytes, to.as_ref(), &daps)?;
            loaded.push(bytes);
        }
        GpCmd::PutDapKey { file, dap_kvn } => {
            let public = match read_dap_key(&file)? {
                DapKeyFile::Aes(k) => {
                    let r = c.put_single_aes_key(dap_kvn, 1, k.expose()).map_err(err)?;
                    outln!(
                        "AES DAP key stored as key 01 of version {dap_kvn:02X}, KCV {}",
                        upper(r.get(1..).unwrap_or_default())
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                DapKeyFile::RsaPrivate(k) => k.to_public_key(),
                DapKeyFile::RsaPublic(k) => k,
            };
            c.put_rsa_public_key(dap_kvn, &public).map_err(err)?;
            outln!("RSA DAP public key stored as key 01 of version {dap_kvn:02X}");
        }
        GpCmd::Install { file, cap, package, applet, create, privs, params, no_selectable } => {
            let privs = hex_arg("--privs", &privs)?;
            let params = hex_arg("--params", &params)?;
            let applet = applet.as_deref().map(|s| aid_arg("--applet", s)).transpose()?;
            let (elf, module) = match (file, cap, package) {
                (Some(f), _, _) => {
                    let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                    let cap = CapFile::parse(&bytes).map_err(|e| format!("{}: {e}", f.display()))?;
                    let m = cap_applet(&f, &cap.info, applet)?;
                    let info = load(&mut c, &f, &bytes, None, &[])?;
                    loaded.push(bytes.clone());
                    (info.package_aid, m)
                }
                (None, Some(f), _) => {
                    let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                    let cap = CapFile::parse(&bytes).map_err(|e| format!("{}: {e}", f.display()))?;
                    let m = cap_applet(&f, &cap.info, applet)?;
                    (cap.info.package_aid, m)
                }
                (None, None, Some(p)) => (aid_arg("--package", &p)?, applet.ok_or("--package needs --applet")?),
                _ => {
                    return Err(
                        "give a CAP FILE (load and install), --cap FILE.cap, or --package AID --applet AID".into()
                    )
                }
            };
            check_installable(&mut c, &elf, &module)?;
            let instance = create.as_deref().map(|s| aid_arg("--create", s)).transpose()?.unwrap_or(module.clone());
            c.install(&elf, &module, &instance, &privs, &params, !no_selectable).map_err(|e| match &e {
                gpse::host::gp::GpError::Card { sw: Sw::ConditionsNotSatisfied, .. } => Fail::from(format!(
                    "{e}: is there already an application {instance}? (gp list; another instance AID with --create)"
                )),
                _ => {
                    // A CAP applet's install() that threw: its Java stack, as `send -v` shows it.
                    for l in super::common::diagnostic_lines(c.transport(), 1) {
                        eprintln!("{l}");
                    }
                    err(e)
                }
            })?;
            outln!("installed {instance} from {elf} module {module}");
        }
        GpCmd::Delete { aid, related } => {
            let aid = aid_arg("AID", &aid)?;
            c.delete(&aid, related).map_err(err)?;
            outln!("deleted {aid}");
        }
        GpCmd::PutKey { new_kvn, new_keys, replace } => {
            let (e, m, d) = new_keys.require()?;
            // GP answers 6A80 when the KVN exists and no key set is replaced (GPCS §11.8.2.3):
            // say what to do instead of relaying the status word.
            if replace.is_none() {
                if let Ok(kis) = key_info(&mut c) {
                    if kis.iter().any(|k| k.kvn == new_kvn) {
                        return Err(format!(
                            "a key set with KVN {new_kvn:02X} exists already: replace it with --replace {new_kvn:02X}, or choose another --new-kvn"
                        )
                        .into());
                    }
                }
            }
            let r = c.put_key_set(replace, new_kvn, &e, &m, &d).map_err(err)?;
            outln!("key set {new_kvn:02X} stored, {}", kcvs(&r[1..]));
        }
        GpCmd::Lock { aid: Some(aid), .. } => {
            let aid = aid_arg("AID", &aid)?;
            c.set_app_locked(&aid, true).map_err(err)?;
            outln!("locked {aid}");
        }
        GpCmd::Unlock { aid: Some(aid), .. } => {
            let aid = aid_arg("AID", &aid)?;
            c.set_app_locked(&aid, false).map_err(err)?;
            outln!("unlocked {aid}");
        }
        GpCmd::Lock { aid: None, .. } => {
            c.set_card_state(CardLifeCycle::CardLocked).map_err(err)?;
            outln!("card locked");
        }
        GpCmd::Unlock { aid: None, .. } => {
            c.set_card_state(CardLifeCycle::Secured).map_err(err)?;
            outln!("card unlocked");
        }
        GpCmd::Terminate { .. } => {
            c.set_card_state(CardLifeCycle::Terminated).map_err(err)?;
            outln!("card terminated");
        }
        GpCmd::CreateSsd { aid, privs } => {
            let aid = aid_arg("AID", &aid)?;
            let mut p = hex_arg("--privs", &privs)?;
            if let Some(b) = p.first_mut() {
                *b |= 0x80;
            }
            c.create_ssd(&aid, &p).map_err(err)?;
            outln!("created SSD {aid}");
        }
    }
    // A CAP built with -debug: its Debug component (which LOAD leaves off the card) goes to
    // an in-process card too, so that its stack traces have source lines (a reader's card: use
    // `gpse serve --debug-cap FILE`).
    for b in loaded.iter().filter(|b| gpse::jcvm::cap::Cap::parse(b).is_ok_and(|c| c.debug.is_some())) {
        if let Some(Err(e)) = t.attach_debug(b) {
            eprintln!("gpse gp: the CAP's debug information was not kept: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The KCVs of a PUT KEY response (after the KVN), one per key: `ENC 5EAADA, MAC …, DEK …`.
fn kcvs(r: &[u8]) -> String {
    if r.len() == 9 {
        let k: Vec<String> =
            ["ENC", "MAC", "DEK"].iter().zip(r.chunks(3)).map(|(n, c)| format!("{n} {}", upper(c))).collect();
        format!("KCVs {}", k.join(", "))
    } else {
        format!("response {}", upper(r))
    }
}

/// Refuses a load the card would refuse for a reason we can name: the package is there already.
fn load(
    c: &mut Client<'_>,
    f: &std::path::Path,
    bytes: &[u8],
    to: Option<&Aid>,
    daps: &[Dap],
) -> Result<CapInfo, Fail> {
    let cap = CapFile::parse(bytes).map_err(|e| format!("{}: {e}", f.display()))?;
    let reg = c.registry().map_err(|e| e.to_string())?;
    let pkg = &cap.info.package_aid;
    if reg.iter().any(|e| e.kind == EntryKind::LoadFile && &e.aid == pkg) {
        return Err(format!(
            "package {pkg} is already loaded: install from it with `gp install --cap {}`, or delete it first with `gp delete --related {pkg}` (which deletes its instances too)",
            f.display()
        )
        .into());
    }
    let info = c.load_with_daps(bytes, to, daps).map_err(|e| e.to_string())?;
    outln!("loaded {} v{}.{}", info.package_aid, info.version[0], info.version[1]);
    for m in &info.applets {
        outln!("  applet {m}");
    }
    Ok(info)
}

/// The applet of a CAP file to install: `--applet` if it is one of the file's, else the first.
fn cap_applet(f: &std::path::Path, info: &CapInfo, applet: Option<Aid>) -> Result<Aid, String> {
    match applet {
        Some(a) if info.applets.contains(&a) => Ok(a),
        Some(a) => Err(format!("{}: no applet {a} in this CAP file", f.display())),
        None => info.applets.first().cloned().ok_or_else(|| format!("{}: the CAP file has no applet", f.display())),
    }
}

/// Refuses an install the card would answer 6A88 to, saying why: the load file is not on the
/// card (load it first), or has no such module.
fn check_installable(c: &mut Client<'_>, elf: &Aid, module: &Aid) -> Result<(), String> {
    let reg = c.registry().map_err(|e| e.to_string())?;
    let Some(lf) = reg.iter().find(|e| e.kind == EntryKind::LoadFile && &e.aid == elf) else {
        return Err(format!(
            "load file {elf} is not on the card: load it first (gp load FILE.cap), or load and install in one step (gp install FILE.cap)"
        ));
    };
    if !lf.modules.is_empty() && !lf.modules.contains(module) {
        let mods: Vec<String> = lf.modules.iter().map(|m| m.to_string()).collect();
        return Err(format!("load file {elf} has no applet {module}; its applets: {}", mods.join(", ")));
    }
    Ok(())
}

/// One entry of the key information template (GET DATA `E0`, GPCS §11.3.3.1, T11-30).
struct KeyInfo {
    kvn: u8,
    id: u8,
    ty: u8,
    len: u8,
}

fn key_info(c: &mut Client<'_>) -> Result<Vec<KeyInfo>, String> {
    let ki = c.get_data(0x00E0).map_err(|e| e.to_string())?;
    let top = tlv::parse_all(&ki, Mode::Ber).map_err(|e| e.to_string())?;
    let inner = tlv::find(&top, 0xE0).map(|t| t.children(Mode::Ber)).transpose().map_err(|e| e.to_string())?;
    Ok(inner
        .unwrap_or_default()
        .iter()
        .filter(|k| k.tag == 0xC0 && k.value.len() >= 4)
        .map(|k| KeyInfo { id: k.value[0], kvn: k.value[1], ty: k.value[2], len: k.value[3] })
        .collect())
}

/// `gp info`: what GlobalPlatformPro's `-i` prints, decoded: IIN, CIN, CPLC field by field,
/// card recognition data (tag 66) OID by OID, and the key information template.
fn info(c: &mut Client<'_>) -> Result<(), Fail> {
    outln!("SD:          {}", c.sd());
    for (name, tag, inner) in [("IIN", 0x0042u16, 0x42u32), ("CIN", 0x0045, 0x45)] {
        match c.get_data(tag) {
            Ok(v) => outln!("{:<12} {}", format!("{name}:"), upper(tlv_value(&v, inner).unwrap_or(&v))),
            Err(e) => outln!("{:<12} {e}", format!("{name}:")),
        }
    }
    match c.get_data(0x9F7F) {
        Ok(v) => out!("{}", cplc_text(tlv_value(&v, 0x9F7F).unwrap_or(&v))),
        Err(e) => outln!("CPLC:        {e}"),
    }
    match c.get_data(0x0066) {
        Ok(v) => out!("{}", card_data_text(tlv_value(&v, 0x66).unwrap_or(&v))),
        Err(e) => outln!("Card Data:   {e}"),
    }
    for k in key_info(c)? {
        // Key types of GPCS T11-16: AES, and an RSA public key by its modulus (a DAP key).
        let ty = match k.ty {
            0x88 => "AES".to_string(),
            0xA1 => "RSA".to_string(),
            t => format!("type {t:02X}"),
        };
        outln!("Key:         version {:02X} id {:02X} {ty}-{}", k.kvn, k.id, k.len as usize * 8);
    }
    Ok(())
}

fn tlv_value(b: &[u8], tag: u32) -> Option<&[u8]> {
    let top = tlv::parse_all(b, Mode::Ber).ok()?;
    tlv::find(&top, tag).map(|t| t.value)
}

/// The CPLC fields and their lengths (GP Card Specification v2.3.1 §H.6 / T H-5; GPP's names).
const CPLC_FIELDS: [(&str, usize); 18] = [
    ("ICFabricator", 2),
    ("ICType", 2),
    ("OperatingSystemID", 2),
    ("OperatingSystemReleaseDate", 2),
    ("OperatingSystemReleaseLevel", 2),
    ("ICFabricationDate", 2),
    ("ICSerialNumber", 4),
    ("ICBatchIdentifier", 2),
    ("ICModuleFabricator", 2),
    ("ICModulePackagingDate", 2),
    ("ICCManufacturer", 2),
    ("ICEmbeddingDate", 2),
    ("ICPrePersonalizer", 2),
    ("ICPrePersonalizationEquipmentDate", 2),
    ("ICPrePersonalizationEquipmentID", 4),
    ("ICPersonalizer", 2),
    ("ICPersonalizationDate", 2),
    ("ICPersonalizationEquipmentID", 4),
];

/// The CPLC as GPP prints it: `CPLC: Name=HEX` lines, dates (YDDD, BCD: the last digit of the
/// year and the day of the year) also as ISO dates in the decade GPP assumes, 201Y.
pub fn cplc_text(v: &[u8]) -> String {
    if v.len() != 42 {
        return format!("CPLC:        {} (not the 42 bytes of a CPLC)\n", upper(v));
    }
    let mut s = String::new();
    let mut off = 0;
    for (i, (name, len)) in CPLC_FIELDS.iter().enumerate() {
        let f = &v[off..off + len];
        off += len;
        s.push_str(if i == 0 { "CPLC: " } else { "      " });
        s.push_str(&format!("{name}={}", upper(f)));
        if name.ends_with("Date") {
            s.push_str(&format!(" ({})", cplc_date(f).unwrap_or_else(|| "invalid date format".into())));
        }
        s.push('\n');
    }
    s
}

/// A CPLC date `YDDD` (BCD) as `201Y-MM-DD`; day 000 is the 1st of January, as GPP shows it.
fn cplc_date(f: &[u8]) -> Option<String> {
    let digits: Vec<u32> = f.iter().flat_map(|b| [u32::from(b >> 4), u32::from(b & 15)]).collect();
    if digits.iter().any(|d| *d > 9) {
        return None;
    }
    let year = 2010 + digits[0];
    let day = (digits[1] * 100 + digits[2] * 10 + digits[3]).max(1);
    let leap = year.is_multiple_of(4);
    let months = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut d = day;
    for (m, len) in months.iter().enumerate() {
        if d <= *len {
            return Some(format!("{year}-{:02}-{d:02}", m + 1));
        }
        d -= len;
    }
    None
}

/// Decodes a BER OID's content octets (X.690 §8.19).
fn oid(b: &[u8]) -> Option<String> {
    let mut arcs = Vec::new();
    let mut v: u64 = 0;
    for (i, byte) in b.iter().enumerate() {
        v = (v << 7) | u64::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            arcs.push(v);
            v = 0;
        } else if i == b.len() - 1 || v > u64::MAX >> 7 {
            return None;
        }
    }
    let first = *arcs.first()?;
    let (a, b0) = if first < 40 {
        (0, first)
    } else if first < 80 {
        (1, first - 40)
    } else {
        (2, first - 80)
    };
    let mut out = vec![a.to_string(), b0.to_string()];
    out.extend(arcs[1..].iter().map(|x| x.to_string()));
    Some(out.join("."))
}

/// Card recognition data (tag 66, GPCS §H.2, T H-1) as GPP prints it: `Tag N: OID` and, where
/// the OID says something, `-> meaning`.
pub fn card_data_text(v: &[u8]) -> String {
    let mut s = String::from("Card Data:\n");
    let Ok(top) = tlv::parse_all(v, Mode::Ber) else {
        return format!("Card Data:   {} (not BER-TLV)\n", upper(v));
    };
    let Some(rec) = tlv::find(&top, 0x73) else {
        return format!("Card Data:   {} (no card recognition data, tag 73)\n", upper(v));
    };
    let Ok(kids) = rec.children(Mode::Ber) else {
        return format!("Card Data:   {}\n", upper(v));
    };
    for k in &kids {
        // Tag 06 carries the OID itself; 60-66 wrap one (an 06 inside).
        let id = if k.tag == 0x06 {
            Some(k.value)
        } else {
            k.children(Mode::Ber).ok().and_then(|c| c.iter().find(|t| t.tag == 0x06).map(|t| t.value))
        };
        let Some(o) = id.and_then(oid) else {
            s.push_str(&format!("Tag {:02X}: {}\n", k.tag, upper(k.value)));
            continue;
        };
        s.push_str(&format!("Tag {:02X}: {o}\n", k.tag));
        let arcs: Vec<&str> = o.split('.').collect();
        let gp = o.strip_prefix("1.2.840.114283.");
        let meaning = match (k.tag, gp) {
            (0x06, Some("1")) => Some("Global Platform card".to_string()),
            (0x60, Some(r)) if r.starts_with("2.") => Some(format!("GP Version: {}", &r[2..])),
            (0x63, Some("3")) => Some("card identified by its IIN and CIN".to_string()),
            // 1.2.840.114283.4.SCP.i: the SCP and its i parameter, printed in hex as GP writes it.
            (0x64, Some(r)) if r.starts_with("4.") && arcs.len() == 7 => {
                arcs[6].parse::<u8>().ok().map(|i| format!("GP SCP{:02} i={i:02X}", arcs[5].parse::<u8>().unwrap_or(0)))
            }
            (0x66, None) if o.starts_with("1.3.6.1.4.1.42.2.110.1.") => {
                Some(format!("JavaCard v{}", arcs[arcs.len() - 1]))
            }
            _ => None,
        };
        if let Some(m) = meaning {
            s.push_str(&format!("-> {m}\n"));
        }
    }
    s
}
