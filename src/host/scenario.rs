//! Scenarios of the smartphone JPKI lifecycle (`vectors/scenarios/*.toml`): steps across phones
//! (each an emulated GP-SE with its own card image), the SP-TSM, the app, the platform's test CA
//! and revocation list, with the expected state checked after each step. `seeds.md` §3 gives the
//! flows and the failure cases; `applet-spec/flows.md` the APDUs of each role.
//!
//! What the SEI-TSM does through the card manager (preparing a phone: SSD, applet install, key
//! hand-over) comes with the card manager; the steps here cover what the SP-TSM, the app and the
//! platform do, the ARA-M rule, and the failures around them.

use crate::crypto::CardRng;
use crate::hexutil::HexError;
use crate::host::ca::{CaError, TestCa};
use crate::host::harness::{HarnessError, LocalCard, ReaderCard, SeHarness};
use crate::host::jpki::{JpkiClient, JpkiError, PinStatus};
use crate::host::tsm::sp::{PinDesign, SpSession, TsmError};
use crate::proto::jpki::{PairId, PairState, PairStatus};
use crate::scp03::{KeySetError, StaticKeys};
use crate::transport::{Transport, TransportError};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Phone names; each gets a new default card.
    pub phones: Vec<String>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// `both`, `auth` or `sign`.
#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Pairs {
    #[default]
    Both,
    Auth,
    Sign,
}

impl Pairs {
    fn list(self) -> Vec<PairId> {
        match self {
            Pairs::Both => vec![PairId::Auth, PairId::Sign],
            Pairs::Auth => vec![PairId::Auth],
            Pairs::Sign => vec![PairId::Sign],
        }
    }
}

/// The temporary-PIN design.
#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Design {
    /// 案4: the pair waits in its initial state; the temporary PIN is usable at once.
    #[default]
    Initial,
    /// 案3: the temporary PIN is set blocked and released by the SP-TSM.
    Blocked,
}

/// What a step does.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// SEI-TSM: prepare the phone (delete a leftover applet and SP domain, create the SP's
    /// domain with the SP-TSM's keys, install the applet under it, the ARA-M rule for the app).
    SeiPrepare {
        phone: String,
        /// The JPKI app's signing-certificate hash (default: the test app's, as in the profile).
        #[serde(default = "jpki_app_hash")]
        app_hash: String,
    },
    /// SEI-TSM: remove the applet, the SP domain and the rule.
    SeiRemove { phone: String },
    /// SP-TSM: set up pairs (resuming or rolling back a set-up that a failure interrupted).
    SpSetup {
        phone: String,
        #[serde(default)]
        pairs: Pairs,
        #[serde(default)]
        design: Design,
    },
    /// SP-TSM: release a design-a temporary PIN once the user is verified.
    SpRelease { phone: String, pair: PairId },
    /// SP-TSM: PIN forgotten or blocked: a new temporary PIN.
    SpResetPin { phone: String, pair: PairId },
    /// SP-TSM: erase one pair.
    SpErase { phone: String, pair: PairId },
    /// The SP-TSM connects with the wrong SCP03 keys (and must be refused).
    SpWrongKeys { phone: String },
    /// The app: verify the temporary PIN, change it to the user's PIN.
    AppActivate { phone: String, pair: PairId, pin: String },
    /// The app: sign with the pair (fails unless the pair is usable).
    AppSign { phone: String, pair: PairId, pin: String },
    /// The app: wrong PIN entries.
    AppWrongPin { phone: String, pair: PairId, times: u8 },
    /// The platform revokes the phone's certificate of a pair.
    Revoke { phone: String, pair: PairId },
    /// Change of phone / loss: revoke the old phone's certificates and push a remote wipe; an
    /// offline phone or an invalid push token leaves the wipe pending.
    RemoteWipe { phone: String },
    /// The phone comes online or goes offline; a pending wipe is done when it comes online.
    Network {
        phone: String,
        online: bool,
        #[serde(default = "yes")]
        push_token_valid: bool,
    },
    /// The user resets the phone. With the maker server and the SEI-TSM reachable the SE is
    /// wiped through them; otherwise the card-level factory-reset event wipes it and the TSM
    /// records are reconciled later.
    FactoryReset {
        phone: String,
        #[serde(default = "yes")]
        maker_reachable: bool,
    },
    /// The TSMs' records catch up with phones that were wiped behind their back.
    Reconcile,
    /// Power to the phone's SE is cut after this many write steps of the next step's commits;
    /// the phone then reboots (its card image reopens).
    PowerCut { phone: String, after_writes: u64 },
}

fn yes() -> bool {
    true
}

fn jpki_app_hash() -> String {
    "2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD".into()
}

/// A step and what must hold after it.
#[derive(Debug, Deserialize)]
pub struct Step {
    #[serde(flatten)]
    pub op: Op,
    /// The step is expected to fail (a refusal or a power cut).
    #[serde(default)]
    pub fails: bool,
    /// The step may fail or succeed (a power cut that may come after the step's last write).
    #[serde(default)]
    pub may_fail: bool,
    #[serde(default)]
    pub expect: Expect,
}

/// Expected state after a step; absent fields are not checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub phone: Option<String>,
    /// Pair states: `empty`, `key generated`, `awaiting PIN`, `temporary PIN`, `active`.
    pub auth: Option<String>,
    pub sign: Option<String>,
    pub auth_tries: Option<u8>,
    pub sign_tries: Option<u8>,
    pub auth_revoked: Option<bool>,
    pub sign_revoked: Option<bool>,
    pub pending_wipe: Option<bool>,
    /// The TSMs believe the phone's SE holds the service's keys.
    pub tsm_record: Option<bool>,
    /// The JPKI applet is on the SE (SELECT answers 9000, not 6A82).
    pub applet: Option<bool>,
    /// The JPKI app's signing-certificate hash that Android's ACE lets reach the applet.
    pub app_allowed: Option<String>,
}

struct Phone {
    dir: PathBuf,
    /// How the phone's SE is reached: the in-process card image, or a PC/SC reader (`gpse
    /// serve` or a real SE). Card-level events and power cuts need the in-process card.
    card: Box<dyn SeHarness>,
    /// Prepared by the SEI-TSM: the applet sits in the SP's domain with the SP-TSM's keys.
    prepared: bool,
    online: bool,
    push_ok: bool,
    pending_wipe: bool,
    cut: Option<u64>,
}

/// The world a scenario runs in.
pub struct World {
    root: PathBuf,
    phones: BTreeMap<String, Phone>,
    ca: TestCa,
    rng: CardRng,
    revoked: BTreeSet<(String, PairId)>,
    tsm_records: BTreeSet<String>,
    temp_pins: BTreeMap<(String, PairId), String>,
    /// The ISD's keys (the SEI-TSM's).
    keys: StaticKeys,
    /// The SP-TSM's keys, handed to the SP domain when a phone is prepared.
    sp_keys: StaticKeys,
}

/// A failed scenario: which step, and why.
#[derive(Debug, thiserror::Error)]
#[error("{scenario}: step {step} ({op}): {error}")]
pub struct ScenarioError {
    pub scenario: String,
    /// 1-based; 0 for the set-up of the world.
    pub step: usize,
    pub op: String,
    #[source]
    pub error: StepError,
}

/// Why a step (or the set-up, or a check after a step) failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("no phone named '{0}'")]
    NoPhone(String),
    #[error("the phone is offline: the TSM cannot reach its SE")]
    Offline,
    #[error(transparent)]
    Tsm(#[from] TsmError),
    #[error(transparent)]
    App(#[from] JpkiError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Harness(#[from] HarnessError),
    #[error(transparent)]
    Ca(#[from] CaError),
    #[error(transparent)]
    Keys(#[from] KeySetError),
    #[error("{field}: {error}")]
    Hex { field: &'static str, error: HexError },
    #[error("no temporary PIN was set")]
    NoTemporaryPin,
    #[error("the certificate is revoked: the signature would not be accepted")]
    Revoked,
    #[error("succeeded, but the scenario expects it to fail")]
    UnexpectedSuccess,
    /// What was found after the step differs from what the step expects.
    #[error("{0}")]
    Mismatch(String),
    /// A check after the step failed (a mismatch, or the check itself could not run).
    #[error("expectation: {0}")]
    Check(Box<StepError>),
}

/// Why a scenario file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Toml { path: PathBuf, message: String },
}

impl World {
    /// A world with the scenario's phones as card images under `root`, except those `readers`
    /// maps to a transport (a PC/SC reader).
    pub fn new(
        root: &Path,
        sc: &Scenario,
        seed: u64,
        mut readers: BTreeMap<String, Box<dyn Transport>>,
    ) -> Result<World, StepError> {
        let mut rng = CardRng::new(Some(seed));
        let ca = TestCa::new(&mut rng, "gpse JPKI test CA")?;
        let k = [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F];
        let keys = StaticKeys::new(&k, &k, &k)?;
        let spk: Vec<u8> = (0x50..0x60).collect();
        let sp_keys = StaticKeys::new(&spk, &spk, &spk)?;
        let mut w = World {
            root: root.to_path_buf(),
            phones: BTreeMap::new(),
            ca,
            rng,
            revoked: BTreeSet::new(),
            tsm_records: BTreeSet::new(),
            temp_pins: BTreeMap::new(),
            keys,
            sp_keys,
        };
        for (i, name) in sc.phones.iter().enumerate() {
            let dir = root.join(name);
            let s = seed.wrapping_add(i as u64 + 1);
            let card: Box<dyn SeHarness> = match readers.remove(name) {
                Some(t) => Box::new(ReaderCard(t)),
                None => Box::new(LocalCard::create(&dir, s)?),
            };
            w.phones.insert(
                name.clone(),
                Phone { dir, card, prepared: false, online: true, push_ok: true, pending_wipe: false, cut: None },
            );
        }
        Ok(w)
    }

    fn phone(&mut self, name: &str) -> Result<&mut Phone, StepError> {
        self.phones.get_mut(name).ok_or_else(|| StepError::NoPhone(name.to_string()))
    }

    fn temp_pin(&mut self, phone: &str, pair: PairId) -> String {
        // A fresh one-time temporary PIN (seeds.md §3.3: never typed by the user).
        let mut b = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut self.rng, &mut b);
        let pin: String = match pair {
            PairId::Auth => b[..4].iter().map(|x| char::from(b'0' + x % 10)).collect(),
            PairId::Sign => {
                b.iter().map(|x| char::from(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[(*x % 32) as usize])).collect()
            }
        };
        self.temp_pins.insert((phone.to_string(), pair), pin.clone());
        pin
    }

    /// An SP-TSM session on a phone.
    fn sp<T>(
        &mut self,
        phone: &str,
        f: impl FnOnce(&mut SpSession<'_>, &mut TestCa) -> Result<T, TsmError>,
    ) -> Result<T, StepError> {
        let p = self.phones.get_mut(phone).ok_or_else(|| StepError::NoPhone(phone.to_string()))?;
        // The applet's domain: the SP's on a prepared phone, else the ISD (default profile).
        let keys = if p.prepared { self.sp_keys.clone() } else { self.keys.clone() };
        if !p.online {
            return Err(StepError::Offline);
        }
        let mut s = SpSession::open(p.card.transport()?, &keys, 0, &mut self.rng)?;
        let r = f(&mut s, &mut self.ca);
        let _ = s.close();
        Ok(r?)
    }

    fn status(&mut self, phone: &str, pair: PairId) -> Result<PairStatus, StepError> {
        self.sp(phone, |s, _| s.status(pair))
    }

    /// Wipes a phone through the TSMs (remote wipe, maker-server factory reset): the SEI-TSM
    /// removes the applet of a prepared phone; otherwise the SP-TSM erases both pairs.
    fn wipe_via_tsm(&mut self, phone: &str) -> Result<(), StepError> {
        if self.phone(phone)?.prepared {
            self.sei(phone, |t, keys, _, rng| crate::host::tsm::sei::remove(t, keys, rng))?;
            self.phone(phone)?.prepared = false;
        } else {
            self.sp(phone, |s, _| {
                s.erase(PairId::Auth)?;
                s.erase(PairId::Sign)
            })?;
        }
        self.tsm_records.remove(phone);
        Ok(())
    }

    /// An SEI-TSM operation on a phone.
    fn sei<T>(
        &mut self,
        phone: &str,
        f: impl FnOnce(&mut dyn crate::transport::Transport, &StaticKeys, &StaticKeys, &mut CardRng) -> Result<T, TsmError>,
    ) -> Result<T, StepError> {
        let (keys, sp_keys) = (self.keys.clone(), self.sp_keys.clone());
        let p = self.phones.get_mut(phone).ok_or_else(|| StepError::NoPhone(phone.to_string()))?;
        if !p.online {
            return Err(StepError::Offline);
        }
        Ok(f(p.card.transport()?, &keys, &sp_keys, &mut self.rng)?)
    }

    fn run_op(&mut self, op: &Op) -> Result<(), StepError> {
        match op {
            Op::SeiPrepare { phone, app_hash } => {
                let hash =
                    crate::hexutil::parse_hex(app_hash).map_err(|error| StepError::Hex { field: "app_hash", error })?;
                self.sei(phone, |t, keys, sp_keys, rng| crate::host::tsm::sei::prepare(t, keys, sp_keys, &hash, rng))?;
                let p = self.phone(phone)?;
                p.prepared = true;
                // Whatever a previous owner had is gone with the old applet.
                self.revoked.retain(|(ph, _)| ph != phone);
                self.temp_pins.retain(|(ph, _), _| ph != phone);
                Ok(())
            }
            Op::SeiRemove { phone } => {
                self.sei(phone, |t, keys, _, rng| crate::host::tsm::sei::remove(t, keys, rng))?;
                self.phone(phone)?.prepared = false;
                self.tsm_records.remove(phone);
                Ok(())
            }
            Op::SpSetup { phone, pairs, design } => {
                for pair in pairs.list() {
                    let pin = self.temp_pin(phone, pair);
                    let d = match design {
                        Design::Initial => PinDesign::InitialState,
                        Design::Blocked => PinDesign::BlockedUntilReleased,
                    };
                    let subject = format!("{phone} {pair:?}");
                    self.sp(phone, |s, ca| {
                        // Resume or roll back what an interrupted set-up left: a pair that is
                        // not empty and not yet handed to the user is erased and set up again.
                        if s.status(pair)?.state.is_setup_in_progress() {
                            s.erase(pair)?;
                        }
                        s.setup(pair, ca, &subject, d, pin.as_bytes()).map(|_| ())
                    })?;
                    self.revoked.remove(&(phone.clone(), pair));
                }
                self.tsm_records.insert(phone.clone());
                Ok(())
            }
            Op::SpRelease { phone, pair } => self.sp(phone, |s, _| s.unblock(*pair)),
            Op::SpResetPin { phone, pair } => {
                let pin = self.temp_pin(phone, *pair);
                self.sp(phone, |s, _| s.reset_pin(*pair, pin.as_bytes()))
            }
            Op::SpErase { phone, pair } => self.sp(phone, |s, _| s.erase(*pair)),
            Op::SpWrongKeys { phone } => {
                let k = [0x11u8; 16];
                let keys = StaticKeys::new(&k, &k, &k)?;
                let p = self.phone(phone)?;
                let mut rng = CardRng::new(Some(1));
                SpSession::open(p.card.transport()?, &keys, 0, &mut rng)?;
                Ok(())
            }
            Op::AppActivate { phone, pair, pin } => {
                let temp = self.temp_pins.get(&(phone.clone(), *pair)).cloned().ok_or(StepError::NoTemporaryPin)?;
                let p = self.phone(phone)?;
                let mut app = JpkiClient::open(p.card.transport()?)?;
                Ok(app.change_pin(*pair, temp.as_bytes(), pin.as_bytes())?)
            }
            Op::AppSign { phone, pair, pin } => {
                if self.revoked.contains(&(phone.clone(), *pair)) {
                    // The key still signs, but relying parties check the revocation list.
                    return Err(StepError::Revoked);
                }
                let p = self.phone(phone)?;
                let mut app = JpkiClient::open(p.card.transport()?)?;
                let di = crate::host::jpki::sha256_digest_info(&[0x42; 32]);
                app.sign(*pair, pin.as_bytes(), &di)?;
                Ok(())
            }
            Op::AppWrongPin { phone, pair, times } => {
                let p = self.phone(phone)?;
                let mut app = JpkiClient::open(p.card.transport()?)?;
                let wrong: &[u8] = if *pair == PairId::Auth { b"9999" } else { b"WRONGPIN9" };
                for _ in 0..*times {
                    let _ = app.verify(*pair, wrong);
                }
                Ok(())
            }
            Op::Revoke { phone, pair } => {
                self.revoked.insert((phone.clone(), *pair));
                Ok(())
            }
            Op::RemoteWipe { phone } => {
                // 対策1-1 then 1-2: revoked regardless; the wipe waits for the phone.
                self.revoked.insert((phone.clone(), PairId::Auth));
                self.revoked.insert((phone.clone(), PairId::Sign));
                let p = self.phone(phone)?;
                if p.online && p.push_ok {
                    self.wipe_via_tsm(phone)
                } else {
                    self.phone(phone)?.pending_wipe = true;
                    Ok(())
                }
            }
            Op::Network { phone, online, push_token_valid } => {
                let p = self.phone(phone)?;
                p.online = *online;
                p.push_ok = *push_token_valid;
                if p.online && p.push_ok && p.pending_wipe {
                    p.pending_wipe = false;
                    self.wipe_via_tsm(phone)?;
                }
                Ok(())
            }
            Op::FactoryReset { phone, maker_reachable } => {
                let reachable = *maker_reachable && self.phone(phone)?.online;
                self.revoked.insert((phone.clone(), PairId::Auth));
                self.revoked.insert((phone.clone(), PairId::Sign));
                if reachable {
                    self.wipe_via_tsm(phone)
                } else {
                    // 対策3 without the servers: the card-level event wipes the SE now.
                    Ok(self.phone(phone)?.card.factory_reset_event()?)
                }
            }
            Op::Reconcile => {
                let names: Vec<String> = self.tsm_records.iter().cloned().collect();
                for n in names {
                    let empty = |st: Result<PairStatus, StepError>| st.is_ok_and(|s| s.state == PairState::Empty);
                    if empty(self.status(&n, PairId::Auth)) && empty(self.status(&n, PairId::Sign)) {
                        self.tsm_records.remove(&n);
                    }
                }
                Ok(())
            }
            Op::PowerCut { phone, after_writes } => {
                self.phone(phone)?.cut = Some(*after_writes);
                Ok(())
            }
        }
    }

    fn phone_of(op: &Op) -> Option<&str> {
        match op {
            Op::SeiPrepare { phone, .. }
            | Op::SeiRemove { phone }
            | Op::SpSetup { phone, .. }
            | Op::SpRelease { phone, .. }
            | Op::SpResetPin { phone, .. }
            | Op::SpErase { phone, .. }
            | Op::SpWrongKeys { phone }
            | Op::AppActivate { phone, .. }
            | Op::AppSign { phone, .. }
            | Op::AppWrongPin { phone, .. }
            | Op::Revoke { phone, .. }
            | Op::RemoteWipe { phone }
            | Op::Network { phone, .. }
            | Op::FactoryReset { phone, .. }
            | Op::PowerCut { phone, .. } => Some(phone),
            Op::Reconcile => None,
        }
    }

    /// Runs a step: arms a pending power cut, runs, reboots a phone whose power was cut.
    fn run_step(&mut self, step: &Step) -> Result<(), StepError> {
        let target = Self::phone_of(&step.op).map(str::to_string);
        let mut armed = None;
        if let (Some(name), false) = (&target, matches!(step.op, Op::PowerCut { .. })) {
            if let Some(p) = self.phones.get_mut(name) {
                if let Some(n) = p.cut.take() {
                    p.card.cut_power_after(n)?;
                    armed = Some(name.clone());
                }
            }
        }
        let r = self.run_op(&step.op);
        if let Some(name) = armed {
            // Reboot: whatever the card had in memory is gone; the image decides.
            self.phone(&name)?.card.reboot()?;
        }
        r
    }

    fn check(&mut self, e: &Expect, default_phone: Option<&str>) -> Result<(), StepError> {
        let Some(phone) = e.phone.as_deref().or(default_phone).map(str::to_string) else {
            return Ok(());
        };
        let mismatch = |m: String| Err(StepError::Mismatch(m));
        for (pair, want_state, want_tries, want_revoked) in [
            (PairId::Auth, &e.auth, e.auth_tries, e.auth_revoked),
            (PairId::Sign, &e.sign, e.sign_tries, e.sign_revoked),
        ] {
            if want_state.is_some() || want_tries.is_some() {
                let st = self.status(&phone, pair)?;
                if let Some(w) = want_state {
                    if st.state.name() != w {
                        return mismatch(format!("{phone} {pair:?}: state is '{}', expected '{w}'", st.state.name()));
                    }
                }
                if let Some(t) = want_tries {
                    // What the app sees with the empty VERIFY.
                    let p = self.phone(&phone)?;
                    let mut app = JpkiClient::open(p.card.transport()?)?;
                    let seen = match app.pin_status(pair)? {
                        PinStatus::TriesLeft(n) => n,
                        _ => 0,
                    };
                    if seen != t || st.tries_left != t {
                        return mismatch(format!("{phone} {pair:?}: {seen} tries left, expected {t}"));
                    }
                }
            }
            if let Some(r) = want_revoked {
                let is = self.revoked.contains(&(phone.clone(), pair));
                if is != r {
                    return mismatch(format!("{phone} {pair:?}: revoked is {is}, expected {r}"));
                }
            }
        }
        if let Some(w) = e.pending_wipe {
            let is = self.phone(&phone)?.pending_wipe;
            if is != w {
                return mismatch(format!("{phone}: pending wipe is {is}, expected {w}"));
            }
        }
        if let Some(w) = e.applet {
            let p = self.phone(&phone)?;
            let select = crate::proto::iso::SelectAid::no_data(&crate::proto::jpki::AID).to_command();
            let raw = p.card.transport()?.transmit(&select.to_bytes())?;
            let is = raw == [0x90, 0x00];
            if is != w {
                return mismatch(format!("{phone}: JPKI applet present is {is}, expected {w}"));
            }
        }
        if let Some(h) = &e.app_allowed {
            let hash = crate::hexutil::parse_hex(h).map_err(|error| StepError::Hex { field: "app_allowed", error })?;
            let p = self.phone(&phone)?;
            let mut ace = crate::host::ace::Ace::new();
            ace.refresh(p.card.transport()?)?;
            if !ace.check_open(&[hash], Some(&crate::host::jpki::AID)).allowed {
                return mismatch(format!("{phone}: the ACE does not let app {h} reach the JPKI applet"));
            }
        }
        if let Some(w) = e.tsm_record {
            let is = self.tsm_records.contains(&phone);
            if is != w {
                return mismatch(format!("{phone}: TSM record is {is}, expected {w}"));
            }
        }
        Ok(())
    }

    /// The phones' card directories, for tests that look at the images.
    pub fn phone_dir(&self, name: &str) -> Option<&Path> {
        self.phones.get(name).map(|p| p.dir.as_path())
    }

    /// The scenario root.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Parses a scenario file.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
    toml::from_str(&text)
        .map_err(|e| LoadError::Toml { path: path.to_path_buf(), message: e.message().replace('\n', " ") })
}

/// Runs a scenario in `root` (card images are created there); returns the number of steps.
pub fn run(sc: &Scenario, root: &Path, seed: u64, log: &mut dyn FnMut(&str)) -> Result<usize, ScenarioError> {
    run_with(sc, root, seed, BTreeMap::new(), log)
}

/// Runs a scenario with some phones behind transports (PC/SC readers), the others in-process.
pub fn run_with(
    sc: &Scenario,
    root: &Path,
    seed: u64,
    readers: BTreeMap<String, Box<dyn Transport>>,
    log: &mut dyn FnMut(&str),
) -> Result<usize, ScenarioError> {
    let err = |i: usize, op: &Op, error: StepError| ScenarioError {
        scenario: sc.name.clone(),
        step: i + 1,
        op: format!("{op:?}").split([' ', '{']).next().unwrap_or("").to_string(),
        error,
    };
    let mut w = World::new(root, sc, seed, readers).map_err(|error| ScenarioError {
        scenario: sc.name.clone(),
        step: 0,
        op: "setup".into(),
        error,
    })?;
    for (i, step) in sc.steps.iter().enumerate() {
        let r = w.run_step(step);
        let outcome = match (r, step.fails) {
            (Ok(()), false) => "ok".to_string(),
            (Err(m), true) => format!("failed as expected ({m})"),
            (Err(m), false) if step.may_fail => format!("failed, which it may ({m})"),
            (Ok(()), true) => return Err(err(i, &step.op, StepError::UnexpectedSuccess)),
            (Err(m), false) => return Err(err(i, &step.op, m)),
        };
        w.check(&step.expect, World::phone_of(&step.op))
            .map_err(|m| err(i, &step.op, StepError::Check(Box::new(m))))?;
        // Logged once the expectations hold: "ok" means the whole step passed.
        log(&format!("step {}: {:?}: {outcome}", i + 1, step.op));
    }
    Ok(sc.steps.len())
}
