//! Card profiles (TOML): what a new card looks like. The default is `profiles/default.toml`,
//! built into the binary.

use super::catalog;
use crate::card::atr::check_atr;
use crate::card::image::CardImage;
use crate::card::registry::{AppLifeCycle, CardLifeCycle, Privileges, ELF_LOADED};
use crate::card::Aid;
use crate::crypto::SecretBytes;
use crate::gp::registry::{
    DomainKeys, Identity, Instance, InstanceKind, KeySet, LoadFile, SD_MODULE_AID, SD_PACKAGE_AID,
};
use crate::hexutil::parse_hex;
use crate::jcvm::heap::Limits;
use serde::Deserialize;

/// The built-in default profile's text.
pub const DEFAULT_PROFILE: &str = include_str!("../../profiles/default.toml");

/// Why a profile cannot make a card.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("profile {0}: {1}")]
    Toml(String, String),
    #[error("profile field {field}: {why}")]
    Field { field: &'static str, why: String },
}

fn bad(field: &'static str, why: impl Into<String>) -> ProfileError {
    ProfileError::Field { field, why: why.into() }
}

/// A profile as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub atr: String,
    #[serde(default = "default_channels")]
    pub logical_channels: u8,
    #[serde(default = "default_life_cycle")]
    pub life_cycle: u8,
    pub isd: IsdProfile,
    pub identity: IdentityProfile,
    #[serde(default)]
    pub applets: Vec<AppletProfile>,
    /// Java Card 2.1 compatibility (`CardImage::jc21`); at most 4 logical channels.
    #[serde(default)]
    pub jc21: bool,
    /// The Java Card VM's memory (issue #15); absent: [`Limits::default`].
    #[serde(default)]
    pub jcvm: Option<JcvmProfile>,
}

/// The `[jcvm]` section: memory sizes in bytes. The default resembles a phone's GP-SE (a
/// megabyte of applet flash, 8 KiB of each kind of transient RAM, a 4 KiB commit buffer).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JcvmProfile {
    /// Persistent memory for objects and static fields.
    pub persistent: Option<u32>,
    /// `CLEAR_ON_RESET` transient memory.
    pub transient_reset: Option<u32>,
    /// `CLEAR_ON_DESELECT` transient memory.
    pub transient_deselect: Option<u32>,
    /// The transaction commit buffer (`JCSystem.getMaxCommitCapacity`).
    pub commit_capacity: Option<u32>,
}

impl JcvmProfile {
    /// The limits, defaults filled in.
    pub fn limits(&self) -> Limits {
        let d = Limits::default();
        Limits {
            persistent: self.persistent.unwrap_or(d.persistent),
            transient_reset: self.transient_reset.unwrap_or(d.transient_reset),
            transient_deselect: self.transient_deselect.unwrap_or(d.transient_deselect),
            commit_capacity: self.commit_capacity.unwrap_or(d.commit_capacity),
        }
    }
}

fn default_channels() -> u8 {
    20
}
fn default_life_cycle() -> u8 {
    CardLifeCycle::Secured.byte()
}

/// The ISD section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsdProfile {
    pub aid: String,
    pub privileges: String,
    pub scp_i: u8,
    pub kvn: u8,
    pub enc: String,
    pub mac: String,
    pub dek: String,
    #[serde(default)]
    pub seq_counter: u32,
    /// Consecutive failed EXTERNAL AUTHENTICATE attempts that block a key set (answer `6983`
    /// from then on; `gp::auth_limit`). 0, the default, sets no limit.
    #[serde(default)]
    pub auth_failure_limit: u8,
}

/// The identity section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityProfile {
    pub cplc: String,
    pub iin: String,
    pub cin: String,
    pub kdd: String,
}

/// One applet instance present on a new card.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppletProfile {
    pub module: String,
    pub aid: String,
    #[serde(default = "no_privileges")]
    pub privileges: String,
    /// Install parameters (the value of `C9`), hex.
    #[serde(default)]
    pub params: String,
}

fn no_privileges() -> String {
    "000000".into()
}

/// ENC, MAC and DEK key bytes.
pub type KeyBytes = (Vec<u8>, Vec<u8>, Vec<u8>);

/// Parses `ENC:MAC:DEK` (hex; one key alone stands for all three), as the CLI and scripts write
/// key sets. Lengths are checked where the keys are used.
pub fn parse_key_triple(s: &str) -> Result<KeyBytes, String> {
    let hexk = |what: &str, k: &str| parse_hex(k).map_err(|e| format!("{what} key '{k}': {e}"));
    match s.split(':').collect::<Vec<_>>().as_slice() {
        [e, m, d] => Ok((hexk("ENC", e)?, hexk("MAC", m)?, hexk("DEK", d)?)),
        [k] => {
            let k = hexk("the", k)?;
            Ok((k.clone(), k.clone(), k))
        }
        _ => Err("keys are ENC:MAC:DEK (or one key for all three)".into()),
    }
}

/// Overrides from the command line.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// ENC, MAC, DEK.
    pub keys: Option<KeyBytes>,
    pub kvn: Option<u8>,
    pub seq_counter: Option<u32>,
}

impl Profile {
    /// Parses TOML text; `origin` names the file in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        toml::from_str(text).map_err(|e| ProfileError::Toml(origin.to_string(), e.message().replace('\n', " ")))
    }

    /// The built-in default.
    // The built-in profile is a constant that a test parses: a failure is a bug.
    #[allow(clippy::expect_used)]
    pub fn default_profile() -> Profile {
        Profile::parse(DEFAULT_PROFILE, "default").expect("the built-in profile parses")
    }

    /// A new card image from this profile. The RNG is used by applets that make data at install.
    pub fn build(&self, ov: &Overrides, rng: &mut crate::crypto::CardRng) -> Result<CardImage, ProfileError> {
        let hexf = |field: &'static str, s: &str| parse_hex(s).map_err(|e| bad(field, e.to_string()));
        let atr = hexf("atr", &self.atr)?;
        check_atr(&atr).map_err(|w| bad("atr", w))?;
        if !(1..=20).contains(&self.logical_channels) {
            return Err(bad("logical_channels", "must be 1 to 20"));
        }
        if self.jc21 && self.logical_channels > 4 {
            return Err(bad("jc21", "the ISO 7816-4:1995 class coding has channels 0-3 only (logical_channels <= 4)"));
        }
        let life_cycle = match CardLifeCycle::try_from(self.life_cycle) {
            Ok(s @ (CardLifeCycle::OpReady | CardLifeCycle::Initialized | CardLifeCycle::Secured)) => s,
            _ => return Err(bad("life_cycle", "must be 0x01, 0x07 or 0x0F")),
        };
        let isd_aid = aid("isd.aid", &self.isd.aid)?;
        let privileges = privs("isd.privileges", &self.isd.privileges)?;
        let (enc, mac, dek) = match &ov.keys {
            Some(k) => k.clone(),
            None => (hexf("isd.enc", &self.isd.enc)?, hexf("isd.mac", &self.isd.mac)?, hexf("isd.dek", &self.isd.dek)?),
        };
        for k in [&enc, &mac, &dek] {
            if ![16, 24, 32].contains(&k.len()) {
                return Err(bad("isd keys", "AES keys are 16, 24 or 32 bytes"));
            }
        }
        if enc.len() != mac.len() || mac.len() != dek.len() {
            return Err(bad("isd keys", "ENC, MAC and DEK must have the same length (AmdD §6.1)"));
        }
        let kvn = ov.kvn.unwrap_or(self.isd.kvn);
        if kvn == 0 {
            return Err(bad("isd.kvn", "KVN 00 means 'first available' in INITIALIZE UPDATE; use 01-7F"));
        }
        let seq_counter = ov.seq_counter.unwrap_or(self.isd.seq_counter);
        if seq_counter > 0xFF_FFFF {
            return Err(bad("isd.seq_counter", "the SCP03 sequence counter is 3 bytes"));
        }
        let identity = Identity {
            cplc: hexf("identity.cplc", &self.identity.cplc)?,
            iin: hexf("identity.iin", &self.identity.iin)?,
            cin: hexf("identity.cin", &self.identity.cin)?,
            kdd: hexf("identity.kdd", &self.identity.kdd)?,
        };
        if identity.cplc.len() != 42 {
            return Err(bad("identity.cplc", "CPLC is 42 bytes"));
        }
        if identity.kdd.len() != 10 {
            return Err(bad("identity.kdd", "key diversification data is 10 bytes"));
        }
        let isd = Instance {
            aid: isd_aid.clone(),
            kind: InstanceKind::IssuerSecurityDomain,
            elf: Some(Aid::from_static(SD_PACKAGE_AID)),
            module: Some(Aid::from_static(SD_MODULE_AID)),
            life_cycle: AppLifeCycle::from_byte(life_cycle.byte()),
            privileges,
            sd: isd_aid.clone(),
            keys: Some(DomainKeys {
                scp_i: self.isd.scp_i,
                key_sets: vec![KeySet {
                    kvn,
                    enc: SecretBytes::new(enc),
                    mac: SecretBytes::new(mac),
                    dek: SecretBytes::new(dek),
                    seq_counter,
                }],
                auth_limit: crate::gp::auth_limit::AuthLimit::new(self.isd.auth_failure_limit),
                single_keys: Vec::new(),
            }),
            state: Vec::new(),
        };
        // The security domain package and every built-in module's package are present, as in ROM.
        let rom = std::iter::once((SD_PACKAGE_AID, SD_MODULE_AID))
            .chain(catalog::APPLETS.iter().map(|m| (m.package_aid, m.module_aid)));
        let mut load_files: Vec<LoadFile> = rom
            .map(|(package, module)| LoadFile {
                aid: Aid::from_static(package),
                version: vec![1, 0],
                modules: vec![Aid::from_static(module)],
                sd: isd_aid.clone(),
                life_cycle: ELF_LOADED,
            })
            .collect();
        // The VM starts with the profile's memory sizes (an empty VM, saved as its state).
        let mut shared = Vec::new();
        if let Some(j) = &self.jcvm {
            let l = j.limits();
            if l.persistent < 4096 || l.transient_reset < 1024 || l.commit_capacity < 64 {
                return Err(bad(
                    "jcvm",
                    "persistent >= 4096, transient_reset >= 1024 (the APDU and install buffers), commit_capacity >= 64",
                ));
            }
            shared.push(crate::card::image::SharedState {
                module: crate::jcvm::hosted::NAME.to_string(),
                state: crate::jcvm::Jcvm::with_limits(l).save(),
            });
        }
        let mut instances = vec![isd];
        for a in &self.applets {
            let m = catalog::by_name(&a.module)
                .ok_or_else(|| bad("applets.module", format!("no built-in module named '{}'", a.module)))?;
            let inst_aid = aid("applets.aid", &a.aid)?;
            if instances.iter().any(|i: &Instance| i.aid == inst_aid) {
                return Err(bad("applets.aid", format!("{inst_aid} is used twice")));
            }
            // An optional module's load file is in ROM only on cards whose profile names it.
            if !load_files.iter().any(|l| l.aid.as_bytes() == m.package_aid) {
                load_files.push(LoadFile {
                    aid: Aid::from_static(m.package_aid),
                    version: vec![1, 0],
                    modules: vec![Aid::from_static(m.module_aid)],
                    sd: isd_aid.clone(),
                    life_cycle: ELF_LOADED,
                });
            }
            let params = hexf("applets.params", &a.params)?;
            let applet =
                (m.install)(&params, rng).map_err(|sw| bad("applets.params", format!("install refused with {sw}")))?;
            instances.push(Instance {
                aid: inst_aid,
                kind: InstanceKind::Application,
                elf: Some(Aid::from_static(m.package_aid)),
                module: Some(Aid::from_static(m.module_aid)),
                life_cycle: AppLifeCycle::SELECTABLE,
                privileges: privs("applets.privileges", &a.privileges)?,
                sd: isd_aid.clone(),
                keys: None,
                state: applet.save(),
            });
        }
        Ok(CardImage {
            profile: self.name.clone(),
            atr,
            logical_channels: self.logical_channels,
            life_cycle,
            identity,
            load_files,
            instances,
            shared,
            jc21: self.jc21,
            global_pin: Default::default(),
        })
    }
}

fn aid(field: &'static str, s: &str) -> Result<Aid, ProfileError> {
    s.parse().map_err(|e: crate::card::aid::AidError| bad(field, e.to_string()))
}

fn privs(field: &'static str, s: &str) -> Result<Privileges, ProfileError> {
    let b = parse_hex(s).map_err(|e| bad(field, e.to_string()))?;
    b.try_into().map(Privileges::from_bytes).map_err(|_| bad(field, "privileges are 3 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_builds() {
        let img =
            Profile::default_profile().build(&Overrides::default(), &mut crate::crypto::CardRng::new(Some(1))).unwrap();
        assert_eq!(img.isd().aid.to_string(), "A000000151000000");
        assert_eq!(img.isd().keys.as_ref().unwrap().scp_i, 0x70);
        assert_eq!(
            img.isd().keys.as_ref().unwrap().key_sets[0].enc.expose(),
            &hex::decode("404142434445464748494A4B4C4D4E4F").unwrap()[..]
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let p = DEFAULT_PROFILE.replace("kdd = \"00112233445566778899\"", "kdd = \"0011\"");
        let e = Profile::parse(&p, "x")
            .unwrap()
            .build(&Overrides::default(), &mut crate::crypto::CardRng::new(Some(1)))
            .unwrap_err();
        assert!(e.to_string().contains("identity.kdd"), "{e}");
        let e = Profile::parse("name = 1", "f.toml").unwrap_err();
        assert!(e.to_string().starts_with("profile f.toml:"), "{e}");
    }
}
