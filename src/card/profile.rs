//! Card profiles (TOML): what a new card looks like. The default is `profiles/default.toml`,
//! built into the binary.

use crate::applets::catalog;
use crate::card::image::CardImage;
use crate::card::Aid;
use crate::crypto::SecretBytes;
use crate::gp::registry::{
    app_state, card_state, DomainKeys, Identity, Instance, InstanceKind, KeySet, LoadFile, SD_MODULE_AID,
    SD_PACKAGE_AID,
};
use crate::hexutil::parse_hex;
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
}

fn default_channels() -> u8 {
    20
}
fn default_life_cycle() -> u8 {
    card_state::SECURED
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
        if ![card_state::OP_READY, card_state::INITIALIZED, card_state::SECURED].contains(&self.life_cycle) {
            return Err(bad("life_cycle", "must be 0x01, 0x07 or 0x0F"));
        }
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
            life_cycle: self.life_cycle,
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
            }),
            state: Vec::new(),
        };
        // The security domain package and every built-in module's package are present, as in ROM.
        let rom = std::iter::once((SD_PACKAGE_AID, SD_MODULE_AID))
            .chain(catalog::MODULES.iter().map(|m| (m.package_aid, m.module_aid)));
        let load_files = rom
            .map(|(package, module)| LoadFile {
                aid: Aid::from_static(package),
                version: vec![1, 0],
                modules: vec![Aid::from_static(module)],
                sd: isd_aid.clone(),
                life_cycle: app_state::ELF_LOADED,
            })
            .collect();
        let mut instances = vec![isd];
        for a in &self.applets {
            let m = catalog::by_name(&a.module)
                .ok_or_else(|| bad("applets.module", format!("no built-in module named '{}'", a.module)))?;
            let inst_aid = aid("applets.aid", &a.aid)?;
            if instances.iter().any(|i: &Instance| i.aid == inst_aid) {
                return Err(bad("applets.aid", format!("{inst_aid} is used twice")));
            }
            let params = hexf("applets.params", &a.params)?;
            let applet =
                (m.install)(&params, rng).map_err(|sw| bad("applets.params", format!("install refused with {sw}")))?;
            instances.push(Instance {
                aid: inst_aid,
                kind: InstanceKind::Application,
                elf: Some(Aid::from_static(m.package_aid)),
                module: Some(Aid::from_static(m.module_aid)),
                life_cycle: app_state::SELECTABLE,
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
            life_cycle: self.life_cycle,
            identity,
            load_files,
            instances,
        })
    }
}

fn aid(field: &'static str, s: &str) -> Result<Aid, ProfileError> {
    s.parse().map_err(|e: crate::card::aid::AidError| bad(field, e.to_string()))
}

fn privs(field: &'static str, s: &str) -> Result<[u8; 3], ProfileError> {
    let b = parse_hex(s).map_err(|e| bad(field, e.to_string()))?;
    b.try_into().map_err(|_| bad(field, "privileges are 3 bytes"))
}

/// Checks an ATR's structure (ISO 7816-3 §8.2): TS, T0, the interface bytes T0 announces, the
/// historical bytes, and TCK when any protocol other than T=0 is offered. pcscd refuses ATRs over
/// 33 bytes (`pcsc.md` §5).
pub fn check_atr(atr: &[u8]) -> Result<(), String> {
    if atr.len() < 2 || atr.len() > 33 {
        return Err("an ATR is 2 to 33 bytes".into());
    }
    if atr[0] != 0x3B && atr[0] != 0x3F {
        return Err("TS must be 3B or 3F".into());
    }
    let hist = (atr[1] & 0x0F) as usize;
    let mut y = atr[1] >> 4;
    let mut i = 2;
    let mut need_tck = false;
    loop {
        let mut td = None;
        for bit in 0..4 {
            if y & (1 << bit) != 0 {
                if i >= atr.len() {
                    return Err("ATR truncated in its interface bytes".into());
                }
                if bit == 3 {
                    td = Some(atr[i]);
                }
                i += 1;
            }
        }
        match td {
            Some(t) => {
                if t & 0x0F != 0 {
                    need_tck = true;
                }
                y = t >> 4;
            }
            None => break,
        }
    }
    let want = i + hist + usize::from(need_tck);
    if atr.len() != want {
        return Err(format!("ATR length {} does not match its structure ({want})", atr.len()));
    }
    if need_tck && atr[1..].iter().fold(0u8, |a, b| a ^ b) != 0 {
        return Err("ATR checksum TCK is wrong".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atrs() {
        let ok = |h: &str| check_atr(&hex::decode(h).unwrap());
        assert!(ok("3B8C800147502D53452D454D554C21211D").is_ok());
        assert!(ok("3BE000FF8131FE4514").is_ok()); // JPKI contact ATR (pcsc.md §5)
        assert!(ok("3B8C800147502D53452D454D554C21211E").is_err());
        assert!(ok("3B8C8001").is_err());
    }

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
