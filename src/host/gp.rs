//! A GlobalPlatform client over any [`Transport`], with GlobalPlatformPro's common verbs: it
//! selects a security domain, opens SCP03 ([`HostSession`]) and sends the card content
//! management commands of `applet-spec/isd.md` (GPCS ch. 11), against the emulator or a card.

use crate::apdu::{Command, Response};
use crate::card::registry::{CardLifeCycle, Privileges};
use crate::card::Aid;
use crate::gp::cap::{CapFile, CapInfo};
use crate::gp::dap;
use crate::gp::registry::{SD_MODULE_AID, SD_PACKAGE_AID};
use crate::proto::gp::{DapBlock, Delete, GetData, GetStatus, Install, Load, LoadFile, PutKey, Scope, SetStatus};
use crate::proto::iso::SelectAid;
use crate::scp03::host::{HostError, HostSession, OpenOptions};
use crate::scp03::keydata::{rsa_public_components, KeyBlockForm};
use crate::scp03::{SecurityLevel, StaticKeys};
use crate::sw::Sw;
use crate::tlv::{self, Mode};
use crate::transport::scp::{ScpError, SessionIo};
use crate::transport::{Transport, TransportError};
use sha2::Digest;

/// A key to sign a Load File with for one security domain (a DAP block, GPCS T11-58).
pub enum DapKey {
    /// PKCS#1 v1.5 with SHA-1 over the Load File Data Block Hash (GPP `DAPSigner`).
    Rsa(Box<rsa::RsaPrivateKey>),
    /// AES-CMAC over the hash, the whole 16 bytes.
    Aes(crate::crypto::SecretBytes),
}

/// One DAP block to build: the SD that verifies it and the key that signs it.
pub struct Dap {
    pub sd: Aid,
    pub key: DapKey,
}

/// The Load File (GPCS T11-58): a DAP block over `hash` for each of `daps`, in order, then
/// `C4 L lfdb`.
pub fn load_file(lfdb: &[u8], hash: &[u8], daps: &[Dap]) -> Result<Vec<u8>, GpError> {
    let mut blocks = Vec::new();
    for d in daps {
        let signature = match &d.key {
            DapKey::Rsa(k) => dap::rsa_dap(k, hash),
            DapKey::Aes(k) => dap::aes_dap(k.expose(), hash).map(|m| m.to_vec()),
        }
        .map_err(GpError::Data)?;
        blocks.push(DapBlock { sd: d.sd.clone(), signature });
    }
    Ok(LoadFile { daps: blocks, lfdb }.encode())
}

/// The GP default ISD AID (GPCS H.1.3).
pub const DEFAULT_ISD: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];

/// LOAD block size: with C-DECRYPTION padding (to 240) and the C-MAC (8) a block still fits a
/// short APDU.
pub const LOAD_BLOCK: usize = 224;

/// Why a GP operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GpError {
    #[error(transparent)]
    Scp(#[from] ScpError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{what}: card answered {sw} ({})", sw.meaning())]
    Card { what: String, sw: Sw },
    #[error("{0}")]
    Data(String),
}

impl From<HostError> for GpError {
    fn from(e: HostError) -> Self {
        GpError::Scp(ScpError::Session(e))
    }
}

/// What kind of registry entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Isd,
    /// An application or a supplementary security domain (privilege byte 1 b8 tells).
    Application,
    LoadFile,
}

/// One GET STATUS entry (GPCS T11-36/37).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    pub kind: EntryKind,
    pub aid: Aid,
    pub life_cycle: u8,
    pub privileges: Vec<u8>,
    pub implicit_selection: Vec<u8>,
    pub load_file: Option<Aid>,
    pub version: Vec<u8>,
    pub modules: Vec<Aid>,
    pub sd: Option<Aid>,
}

impl RegistryEntry {
    /// A supplementary security domain (or the ISD).
    pub fn is_sd(&self) -> bool {
        self.kind == EntryKind::Isd
            || self
                .privileges
                .first()
                .is_some_and(|&p| Privileges::from_bytes([p, 0, 0]).contains(Privileges::SECURITY_DOMAIN))
    }

    fn parse(kind: EntryKind, e3: &[u8]) -> Result<RegistryEntry, GpError> {
        let bad = |w: &str| GpError::Data(format!("GET STATUS entry: {w}"));
        let tlvs = tlv::parse_all(e3, Mode::Ber).map_err(|e| bad(&e.to_string()))?;
        let aid_of = |v: &[u8]| Aid::new(v).ok_or_else(|| bad("AID length"));
        let mut e = RegistryEntry {
            kind,
            aid: aid_of(tlv::find(&tlvs, 0x4F).ok_or_else(|| bad("no 4F"))?.value)?,
            life_cycle: tlv::find(&tlvs, 0x9F70).and_then(|t| t.value.first().copied()).unwrap_or(0),
            privileges: Vec::new(),
            implicit_selection: Vec::new(),
            load_file: None,
            version: Vec::new(),
            modules: Vec::new(),
            sd: None,
        };
        for t in &tlvs {
            match t.tag {
                0xC5 => e.privileges = t.value.to_vec(),
                0xCF => e.implicit_selection.extend_from_slice(t.value),
                0xC4 => e.load_file = Some(aid_of(t.value)?),
                0xCE => e.version = t.value.to_vec(),
                0x84 => e.modules.push(aid_of(t.value)?),
                0xCC => e.sd = Some(aid_of(t.value)?),
                _ => {}
            }
        }
        Ok(e)
    }
}

/// The names of life cycle states, as GPP prints them (GPCS T11-4/5/6).
pub fn life_cycle_name(kind: EntryKind, lcs: u8) -> String {
    match (kind, lcs) {
        (EntryKind::Isd, 0x01) => "OP_READY".into(),
        (EntryKind::Isd, 0x07) => "INITIALIZED".into(),
        (EntryKind::Isd, 0x0F) => "SECURED".into(),
        (EntryKind::Isd, 0x7F) => "CARD_LOCKED".into(),
        (EntryKind::Isd, 0xFF) => "TERMINATED".into(),
        (EntryKind::LoadFile, 0x01) => "LOADED".into(),
        (_, l) if l & 0x80 != 0 => "LOCKED".into(),
        (_, 0x03) => "INSTALLED".into(),
        (_, 0x07) => "SELECTABLE".into(),
        (_, 0x0F) => "PERSONALIZED".into(),
        (_, l) => format!("{l:02X}"),
    }
}

/// Privilege names of the bits set (GPCS §11.1.2; GPP `Privilege`).
pub fn privilege_names(p: &[u8]) -> Vec<&'static str> {
    const NAMES: [(usize, u8, &str); 22] = [
        (0, 0x80, "SecurityDomain"),
        (0, 0x40, "DAPVerification"),
        (0, 0x20, "DelegatedManagement"),
        (0, 0x10, "CardLock"),
        (0, 0x08, "CardTerminate"),
        (0, 0x04, "CardReset"),
        (0, 0x02, "CVMManagement"),
        (0, 0x01, "MandatedDAPVerification"),
        (1, 0x80, "TrustedPath"),
        (1, 0x40, "AuthorizedManagement"),
        (1, 0x20, "TokenVerification"),
        (1, 0x10, "GlobalDelete"),
        (1, 0x08, "GlobalLock"),
        (1, 0x04, "GlobalRegistry"),
        (1, 0x02, "FinalApplication"),
        (1, 0x01, "GlobalService"),
        (2, 0x80, "ReceiptGeneration"),
        (2, 0x40, "CipheredLoadFileDataBlock"),
        (2, 0x20, "ContactlessActivation"),
        (2, 0x10, "ContactlessSelfActivation"),
        (2, 0x08, "PrivacyTrusted"),
        (0, 0x00, ""),
    ];
    NAMES.iter().filter(|(i, b, _)| *b != 0 && p.get(*i).is_some_and(|x| x & b != 0)).map(|(_, _, n)| *n).collect()
}

/// An open GP session with one security domain.
pub struct GpClient<'t, T: Transport + ?Sized> {
    t: &'t mut T,
    s: HostSession,
    sd: Aid,
}

impl<'t, T: Transport + ?Sized> GpClient<'t, T> {
    /// Selects `sd` (the ISD by GPP's discovery `00A4040000` when `None`) on the basic channel
    /// and opens SCP03 with `keys`, key set `kvn` (`00` = the card's first) at `level`.
    pub fn open(
        t: &'t mut T,
        sd: Option<&Aid>,
        keys: &StaticKeys,
        kvn: u8,
        level: SecurityLevel,
        rng: &mut dyn rand_core::RngCore,
    ) -> Result<GpClient<'t, T>, GpError> {
        let opts = OpenOptions { kvn, level, host_challenge: None, channel: 0, s16: false };
        Self::open_with(t, sd, keys, &opts, rng)
    }

    /// [`GpClient::open`] with every SCP03 option (S16 mode: GPP `--s16`). The session is on
    /// the basic channel whatever `opts.channel` says.
    pub fn open_with(
        t: &'t mut T,
        sd: Option<&Aid>,
        keys: &StaticKeys,
        opts: &OpenOptions,
        rng: &mut dyn rand_core::RngCore,
    ) -> Result<GpClient<'t, T>, GpError> {
        let select = SelectAid::fci(sd.map_or(&[][..], Aid::as_bytes)).to_command();
        let raw = t.transmit(&select.to_bytes())?;
        let r = Response::parse(&raw).ok_or_else(|| GpError::Data("no response to SELECT".into()))?;
        if !matches!(r.sw, Sw::Ok | Sw::SelectedFileInvalidated) {
            return Err(GpError::Card { what: "SELECT of the security domain".into(), sw: r.sw });
        }
        let sd = match sd {
            Some(a) => a.clone(),
            None => fci_aid(&r.data).unwrap_or_else(|| Aid::from_static(&DEFAULT_ISD)),
        };
        let opts = OpenOptions { channel: 0, ..opts.clone() };
        let s = HostSession::open(t, keys, &opts, rng)?;
        Ok(GpClient { t, s, sd })
    }

    /// The security domain this session talks to.
    pub fn sd(&self) -> &Aid {
        &self.sd
    }

    /// The SCP03 session (for its KVN and level).
    pub fn session(&self) -> &HostSession {
        &self.s
    }

    /// The transport under the session (its diagnostics after a refused command).
    pub fn transport(&mut self) -> &mut T {
        self.t
    }

    /// Sends a GP command (CLA `80`) in the session, on the session's channel; the plain
    /// response.
    pub fn transmit(&mut self, cmd: &Command) -> Result<Response, GpError> {
        let mut c = cmd.clone();
        c.cla = 0x80;
        let c = c.on_channel(self.s.channel()).map_err(|e| HostError::Channel(e.0))?;
        Ok(self.s.transmit(self.t, &c)?)
    }

    fn expect_ok(&mut self, what: &str, cmd: Command) -> Result<Vec<u8>, GpError> {
        let r = self.transmit(&cmd)?;
        if r.sw != Sw::Ok {
            return Err(GpError::Card { what: what.to_string(), sw: r.sw });
        }
        Ok(r.data)
    }

    /// GET DATA: the whole TLV the card returns.
    pub fn get_data(&mut self, tag: u16) -> Result<Vec<u8>, GpError> {
        self.expect_ok(&format!("GET DATA {tag:04X}"), GetData { tag }.to_command())
    }

    /// GET STATUS of one part of the registry (P1 `80`, `40`, `20` or `10`), TLV format, every
    /// page (`6310`); an empty list for `6A88`.
    pub fn get_status(&mut self, p1: u8) -> Result<Vec<RegistryEntry>, GpError> {
        let (scope, kind) = match p1 {
            0x80 => (Scope::Isd, EntryKind::Isd),
            0x40 => (Scope::Applications, EntryKind::Application),
            0x20 => (Scope::LoadFiles, EntryKind::LoadFile),
            0x10 => (Scope::LoadFilesAndModules, EntryKind::LoadFile),
            _ => return Err(GpError::Data(format!("GET STATUS P1 {p1:02X}: not 80, 40, 20 or 10"))),
        };
        let mut out = Vec::new();
        let mut next = false;
        loop {
            let r = self.transmit(&GetStatus::all(scope, next).to_command())?;
            match r.sw {
                Sw::Ok | Sw::MoreData => {
                    for e in tlv::parse_all(&r.data, Mode::Ber).map_err(|e| GpError::Data(e.to_string()))? {
                        if e.tag == 0xE3 {
                            out.push(RegistryEntry::parse(kind, e.value)?);
                        }
                    }
                    if r.sw == Sw::Ok {
                        return Ok(out);
                    }
                    next = true;
                }
                Sw::ReferencedDataNotFound if !next => return Ok(out),
                sw => return Err(GpError::Card { what: format!("GET STATUS {p1:02X}"), sw }),
            }
        }
    }

    /// The whole registry: the ISD, applications and SSDs, load files with their modules.
    pub fn registry(&mut self) -> Result<Vec<RegistryEntry>, GpError> {
        let mut all = self.get_status(0x80)?;
        all.extend(self.get_status(0x40)?);
        all.extend(self.get_status(0x10)?);
        Ok(all)
    }

    /// Loads a CAP file (zip or components): INSTALL [for load] with the SHA-256 of the Load
    /// File Data Block, then LOAD blocks of `C4 L LFDB` (GPCS §11.5.2.3.1, §11.6).
    pub fn load(&mut self, cap: &[u8], sd: Option<&Aid>) -> Result<CapInfo, GpError> {
        self.load_with_daps(cap, sd, &[])
    }

    /// [`GpClient::load`] with a DAP block for each of `daps` before `C4` (GPCS T11-58).
    pub fn load_with_daps(&mut self, cap: &[u8], sd: Option<&Aid>, daps: &[Dap]) -> Result<CapInfo, GpError> {
        let cap = CapFile::parse(cap).map_err(|e| GpError::Data(e.to_string()))?;
        let lfdb = cap.load_file_data_block();
        let hash = sha2::Sha256::digest(&lfdb).to_vec();
        let file = load_file(&lfdb, &hash, daps)?;
        let for_load = Install::ForLoad { elf: cap.info.package_aid.clone(), sd: sd.cloned(), hash };
        self.expect_ok("INSTALL [for load]", for_load.to_command())?;
        let blocks: Vec<&[u8]> = file.chunks(LOAD_BLOCK).collect();
        if blocks.len() > 256 {
            return Err(GpError::Data(format!("load file of {} bytes needs more than 256 LOAD blocks", file.len())));
        }
        for (n, b) in blocks.iter().enumerate() {
            let block = u8::try_from(n).map_err(|_| GpError::Data("LOAD block number".into()))?;
            let cmd = Load { last: n + 1 == blocks.len(), block, data: b }.to_command();
            self.expect_ok(&format!("LOAD block {n}"), cmd)?;
        }
        Ok(cap.info)
    }

    /// PUT KEY of one AES key as key `id` of `kvn`, added (P1 `00` P2 `id`, GPCS §11.8.1
    /// "add a single new key"), encrypted with the session's Key-DEK; the card answers
    /// `KVN ‖ KCV`.
    pub fn put_single_aes_key(&mut self, kvn: u8, id: u8, key: &[u8]) -> Result<Vec<u8>, GpError> {
        let comp = self.s.key_component(key, KeyBlockForm::WithLength)?;
        let cmd = PutKey { replace: None, first_id: id, multiple: false, new_kvn: kvn, components: &comp }.to_command();
        self.expect_ok("PUT KEY", cmd)
    }

    /// PUT KEY of an RSA public key as key 1 of `kvn`, added (P1 `00` P2 `01`), in
    /// GlobalPlatformPro's form `KVN A1 L n A0 L e 00` (a DAP key; GPP's default DAP KVN is
    /// `73`). The card answers the KVN alone (no KCV).
    pub fn put_rsa_public_key(&mut self, kvn: u8, key: &rsa::RsaPublicKey) -> Result<(), GpError> {
        use rsa::traits::PublicKeyParts;
        let comps = rsa_public_components(&key.n().to_bytes_be(), &key.e().to_bytes_be());
        let cmd = PutKey { replace: None, first_id: 1, multiple: false, new_kvn: kvn, components: &comps }.to_command();
        let r = self.expect_ok("PUT KEY", cmd)?;
        if r != [kvn] {
            return Err(GpError::Data(format!("PUT KEY answered {} instead of the KVN", hex::encode_upper(r))));
        }
        Ok(())
    }

    /// INSTALL [for install (and make selectable)] (GPCS §11.5.2.3.2); `params` is the value of
    /// `C9` (GPP `buildInstallData`).
    pub fn install(
        &mut self,
        elf: &Aid,
        module: &Aid,
        instance: &Aid,
        privileges: &[u8],
        params: &[u8],
        make_selectable: bool,
    ) -> Result<(), GpError> {
        let cmd = Install::ForInstall {
            elf: elf.clone(),
            module: module.clone(),
            instance: instance.clone(),
            privileges: privilege_bytes(privileges)?,
            params: params.to_vec(),
            make_selectable,
        };
        self.expect_ok("INSTALL [for install]", cmd.to_command())?;
        Ok(())
    }

    /// INSTALL [for make selectable] (GPP's form: no token length).
    pub fn make_selectable(&mut self, app: &Aid, privileges: &[u8]) -> Result<(), GpError> {
        let cmd = Install::MakeSelectable { app: app.clone(), privileges: privilege_bytes(privileges)? };
        self.expect_ok("INSTALL [for make selectable]", cmd.to_command())?;
        Ok(())
    }

    /// INSTALL [for extradition] of an application or load file to another SD.
    pub fn extradite(&mut self, object: &Aid, to: &Aid) -> Result<(), GpError> {
        let cmd = Install::Extradition { sd: to.clone(), object: object.clone() };
        self.expect_ok("INSTALL [for extradition]", cmd.to_command())?;
        Ok(())
    }

    /// Creates an SSD: INSTALL [for install and make selectable] of the ROM SD module.
    pub fn create_ssd(&mut self, aid: &Aid, privileges: &[u8]) -> Result<(), GpError> {
        self.install(&Aid::from_static(SD_PACKAGE_AID), &Aid::from_static(SD_MODULE_AID), aid, privileges, &[], true)
    }

    /// DELETE of an object; `related` deletes a load file with its instances (P2 `80`).
    pub fn delete(&mut self, aid: &Aid, related: bool) -> Result<(), GpError> {
        let cmd = Delete::Object { aid: aid.clone(), related }.to_command();
        self.expect_ok(&format!("DELETE {aid}"), cmd)?;
        Ok(())
    }

    /// PUT KEY of a whole AES key set, added (`replace` `None`) or replacing a KVN; the keys
    /// are encrypted with this session's static DEK (GPP `GPSession.putKeys`). Returns the
    /// card's `KVN ‖ KCVs`, checked against the keys.
    pub fn put_key_set(
        &mut self,
        replace: Option<u8>,
        new_kvn: u8,
        enc: &[u8],
        mac: &[u8],
        dek: &[u8],
    ) -> Result<Vec<u8>, GpError> {
        let mut components = Vec::new();
        let mut want = vec![new_kvn];
        for k in [enc, mac, dek] {
            components.extend(self.s.key_component(k, KeyBlockForm::WithLength)?);
            want.extend(crate::scp03::kdf::kcv(k).map_err(HostError::from)?);
        }
        // Keys 1-3 of the set in one command (P2 `81`, GPCS T11-66).
        let cmd = PutKey { replace, first_id: 1, multiple: true, new_kvn, components: &components }.to_command();
        let r = self.expect_ok("PUT KEY", cmd)?;
        if r != want {
            return Err(GpError::Data(format!(
                "PUT KEY answered {}, expected {}",
                hex::encode_upper(&r),
                hex::encode_upper(&want)
            )));
        }
        Ok(r)
    }

    /// SET STATUS of an application or SSD: lock (`80`) or unlock (`00`).
    pub fn set_app_locked(&mut self, aid: &Aid, lock: bool) -> Result<(), GpError> {
        let cmd =
            SetStatus::Application { aid: aid.clone(), with_associated: false, p2: if lock { 0x80 } else { 0x00 } };
        self.expect_ok(&format!("SET STATUS {aid}"), cmd.to_command())?;
        Ok(())
    }

    /// SET STATUS of the card life cycle (GPCS §11.10): lock, unlock (back to SECURED), terminate.
    pub fn set_card_state(&mut self, state: CardLifeCycle) -> Result<(), GpError> {
        self.expect_ok("SET STATUS card", SetStatus::Card { to: state }.to_command())?;
        Ok(())
    }
}

/// The SD AID of an FCI (`6F … 84 AID`).
pub fn fci_aid(fci: &[u8]) -> Option<Aid> {
    let top = tlv::parse_all(fci, Mode::Ber).ok()?;
    let inner = tlv::find(&top, 0x6F)?.children(Mode::Ber).ok()?;
    Aid::new(tlv::find(&inner, 0x84)?.value)
}

/// Privileges as given (1 or 3 bytes, GPCS §11.5.2.3.2) as the three bytes INSTALL carries.
fn privilege_bytes(p: &[u8]) -> Result<[u8; 3], GpError> {
    match *p {
        [a] => Ok([a, 0, 0]),
        [a, b, c] => Ok([a, b, c]),
        _ => Err(GpError::Data(format!("privileges are 1 or 3 bytes, not {}", p.len()))),
    }
}
