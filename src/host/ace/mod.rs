//! The access control enforcer: reads the ARA-M's rules from any [`Transport`] the way Android's
//! `AraController`/`AccessRuleApplet` do and decides access as `AccessControlEnforcer` and
//! `AccessRuleCache` do (`shared/reference/globalplatform.md` §C.4-§C.5; decisions in
//! `applet-spec/ara-m.md`).
//!
//! [`Ace::refresh`] is the transport part; [`Ace::check_open`], [`Ace::check_apdu`] and
//! [`Ace::nfc_event_allowed`] are pure, over the cached state. A reader that shows "an app's view"
//! of the SE calls `refresh` before each channel open (Android's `checkRefreshTag`), then checks.

pub mod app_view;
pub mod cache;
pub mod parse;

use crate::apdu::{Class, Command, Response};
use crate::host::channel::{self, ChannelError};
use crate::proto::ara_m::{AraCommand, ARA_M_AID};
use crate::proto::iso::{GetResponse, ManageChannelError, SelectAid};
use crate::sw::Sw;
use crate::transport::{Transport, TransportError};
use cache::{AccessRuleCache, Case, Found};
use parse::ParsedRule;

/// What the last refresh found on the card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AraState {
    /// No refresh yet.
    NotRead,
    /// Rules read (possibly none).
    Ready,
    /// SELECT of the ARA-M answered `6A82`: there is no ARA-M.
    Absent,
    /// The ARA-M misbehaved (a status word or a rule Android cannot parse): everything is denied
    /// ("Problem accessing ARA, Access DENIED").
    Error(String),
}

/// What [`Ace::refresh`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// The refresh tag had not changed: the cache was kept.
    Unchanged,
    /// The rules were read again.
    Reloaded,
    /// The ARA-M is absent or failed; see [`Ace::state`].
    Failed,
}

/// A decision, with what decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Why, in Android's words where it has some.
    pub reason: String,
    /// The rule search result, when the rules were searched.
    pub found: Option<Found>,
    /// Whether NFC events (transactions) of this AID reach the app (`isNfcEventAllowed`).
    pub nfc_allowed: bool,
}

impl Decision {
    fn denied(reason: impl Into<String>, found: Option<Found>) -> Decision {
        Decision { allowed: false, reason: reason.into(), found, nfc_allowed: false }
    }

    /// The status word an app's-view reader answers instead of a denied SELECT or APDU:
    /// `6982` (`applet-spec/ara-m.md`: no SW means SecurityException; `6A82` would mean "absent").
    pub fn refusal_sw() -> Sw {
        Sw::SecurityNotSatisfied
    }
}

/// The enforcer for one SE.
#[derive(Clone, Debug)]
pub struct Ace {
    cache: AccessRuleCache,
    rules: Vec<ParsedRule>,
    state: AraState,
    aid: Vec<u8>,
}

impl Default for Ace {
    fn default() -> Self {
        Ace::new()
    }
}

/// `Terminal.transmit`: resends on `6Cxx` with Le = xx, fetches `61xx` with GET RESPONSE.
fn transmit(t: &mut dyn Transport, cmd: &Command) -> Result<Response, TransportError> {
    let bad = || TransportError::Reader("the card's response is shorter than a status word".into());
    let mut rsp = Response::parse(&t.transmit(&cmd.to_bytes())?).ok_or_else(bad)?;
    if let Sw::WrongLe(n) = rsp.sw {
        let again = cmd.clone().with_ne(if n == 0 { 256 } else { n as usize });
        rsp = Response::parse(&t.transmit(&again.to_bytes())?).ok_or_else(bad)?;
    }
    let mut data = Vec::new();
    for _ in 0..64 {
        let Sw::BytesRemaining(n) = rsp.sw else { break };
        data.extend_from_slice(&rsp.data);
        let mut gr = GetResponse::after(n).to_command();
        gr.cla = cmd.cla;
        rsp = Response::parse(&t.transmit(&gr.to_bytes())?).ok_or_else(bad)?;
    }
    if !data.is_empty() {
        data.extend_from_slice(&rsp.data);
        rsp.data = data;
    }
    Ok(rsp)
}

/// Why reading the ARA failed.
enum Failure {
    Absent,
    Error(String),
    Io(TransportError),
}

impl From<TransportError> for Failure {
    fn from(e: TransportError) -> Self {
        Failure::Io(e)
    }
}

impl Ace {
    /// An enforcer for the ARA-M at its standard AID.
    pub fn new() -> Ace {
        Ace::with_aid(ARA_M_AID)
    }

    /// An enforcer for an ARA at another AID (Android's `config_ara_aid_candidate_list_ese`).
    pub fn with_aid(aid: &[u8]) -> Ace {
        Ace { cache: AccessRuleCache::default(), rules: Vec::new(), state: AraState::NotRead, aid: aid.to_vec() }
    }

    pub fn state(&self) -> &AraState {
        &self.state
    }

    /// The rules as last read, in card order.
    pub fn rules(&self) -> &[ParsedRule] {
        &self.rules
    }

    /// The merged cache.
    pub fn cache(&self) -> &AccessRuleCache {
        &self.cache
    }

    /// The refresh tag of the cached rules.
    pub fn refresh_tag(&self) -> Option<[u8; 8]> {
        self.cache.refresh_tag
    }

    /// `AraController.initialize`: a logical channel, SELECT, GET DATA [Refresh tag], and when the
    /// tag changed GET DATA [All] + [Next]; the channel is closed whatever happened. `Err` only
    /// for a transport failure (Android's IOException); an absent or failing ARA is a state.
    pub fn refresh(&mut self, t: &mut dyn Transport) -> Result<Refresh, TransportError> {
        let ch = match Self::open_channel(t) {
            Ok(ch) => ch,
            Err(Failure::Io(e)) => return Err(e),
            Err(Failure::Absent) => return Ok(self.fail(AraState::Absent)),
            Err(Failure::Error(m)) => return Ok(self.fail(AraState::Error(m))),
        };
        let r = self.read_on(t, ch);
        // Close whatever happened (`finally { channel.close() }`); its answer does not matter,
        // only a transport failure does.
        let closed = match channel::close(t, ch) {
            Err(ChannelError::Transport(e)) => Err(e),
            _ => Ok(()),
        };
        match r {
            Ok(refresh) => {
                closed?;
                self.state = AraState::Ready;
                Ok(refresh)
            }
            Err(Failure::Io(e)) => Err(e),
            Err(Failure::Absent) => Ok(self.fail(AraState::Absent)),
            Err(Failure::Error(m)) => Ok(self.fail(AraState::Error(m))),
        }
    }

    fn fail(&mut self, st: AraState) -> Refresh {
        self.state = st;
        Refresh::Failed
    }

    fn open_channel(t: &mut dyn Transport) -> Result<u8, Failure> {
        match channel::open(t) {
            Ok(ch) => Ok(ch),
            Err(ChannelError::Transport(e)) => Err(Failure::Io(e)),
            Err(ChannelError::Manage(ManageChannelError::Refused(sw))) => {
                Err(Failure::Error(format!("could not open a logical channel (MANAGE CHANNEL {sw})")))
            }
            Err(e) => Err(Failure::Error(format!("could not open a logical channel ({e})"))),
        }
    }

    fn read_on(&mut self, t: &mut dyn Transport, ch: u8) -> Result<Refresh, Failure> {
        // `ch` came from channel::open, which only answers codable channels.
        let on_ch = |c: Command| c.on_channel(ch).map_err(|e| Failure::Error(e.to_string()));
        let r = transmit(t, &on_ch(SelectAid::fci(&self.aid).to_command())?)?;
        match r.sw {
            Sw::Ok => {}
            Sw::FileNotFound => return Err(Failure::Absent),
            sw => return Err(Failure::Error(format!("SELECT ARA-M answered {sw}"))),
        }
        let get = |c: AraCommand| on_ch(c.to_command());
        let r = transmit(t, &get(AraCommand::GetRefreshTag)?)?;
        if r.sw != Sw::Ok {
            return Err(Failure::Error(format!("GET REFRESH TAG not successfull ({})", r.sw)));
        }
        let tag = parse::refresh_tag(&r.data).map_err(|e| Failure::Error(format!("GET REFRESH TAG: {e}")))?;
        if self.cache.refresh_tag == Some(tag) {
            return Ok(Refresh::Unchanged);
        }
        // As AraController: the new tag is kept and the cache emptied before the rules are read,
        // so a failed read leaves an empty cache under the new tag.
        self.cache.refresh_tag = Some(tag);
        self.cache.clear();
        self.rules.clear();
        let r = transmit(t, &get(AraCommand::GetAll)?)?;
        let data = match r.sw {
            Sw::Ok => r.data,
            Sw::ReferencedDataNotFound => return Ok(Refresh::Reloaded),
            sw => return Err(Failure::Error(format!("GET DATA (all) not successfull. SW1SW2={sw}"))),
        };
        let head = parse::decode(&data, 0, false)
            .map_err(|_| Failure::Error("GET DATA (all) not successfull. Tlv encoding wrong.".into()))?;
        let total = head.value_index + head.value_len;
        let mut all = data;
        while all.len() < total {
            let r = transmit(t, &get(AraCommand::GetNext)?)?;
            if r.sw != Sw::Ok {
                return Err(Failure::Error(format!("GET DATA (next) not successfull, . SW1SW2={}", r.sw)));
            }
            // Android would loop for ever on an empty block; we stop.
            if r.data.is_empty() {
                return Err(Failure::Error("GET DATA (next) returned no data".into()));
            }
            all.extend_from_slice(&r.data);
        }
        let rules =
            parse::response_all(&all).map_err(|e| Failure::Error(format!("Parsing Data Object Exception: {e}")))?;
        self.cache.put_all(&rules);
        self.rules = rules;
        Ok(Refresh::Reloaded)
    }

    /// Why everything is denied, if it is (`mInitialChannelAccess` DENIED).
    fn blanket_denial(&self) -> Option<String> {
        match &self.state {
            AraState::Ready => None,
            AraState::NotRead => Some("access rules not read".into()),
            AraState::Absent => Some("No ARA applet found (SELECT 6A82): access denied".into()),
            AraState::Error(m) => Some(format!("Problem accessing ARA, Access DENIED {m}")),
        }
    }

    /// The rule search, or why everything is denied.
    fn find(&self, hashes: &[Vec<u8>], aid: Option<&[u8]>) -> Result<Found, String> {
        if let Some(why) = self.blanket_denial() {
            return Err(why);
        }
        self.cache.find_access_rule(aid, hashes).ok_or_else(|| "no access rule found!".to_string())
    }

    /// May an app whose signing certificates hash to `hashes` (Android tries SHA-1 and SHA-256 of
    /// each) open a channel to `aid` (`None` = the default application)?
    pub fn check_open(&self, hashes: &[Vec<u8>], aid: Option<&[u8]>) -> Decision {
        let f = match self.find(hashes, aid) {
            Ok(f) => f,
            Err(why) => return Decision::denied(why, None),
        };
        let nfc = f.access.nfc == cache::Access::Allowed;
        if !f.access.channel_allowed() {
            let reason = match f.case {
                Case::ConflictA | Case::ConflictC => f.access.reason.clone(),
                _ => "no APDU access allowed!".into(),
            };
            return Decision { allowed: false, reason, found: Some(f), nfc_allowed: nfc };
        }
        Decision { allowed: true, reason: "channel access allowed".into(), found: Some(f), nfc_allowed: nfc }
    }

    /// May that app send `apdu` on a channel to `aid`? The channel must open, then OMAPI's
    /// `Channel.transmit` checks and `AccessControlEnforcer.checkCommand` apply. The APDU is taken
    /// as the app wrote it with the channel bits cleared (OMAPI inserts the channel number after
    /// the check).
    pub fn check_apdu(&self, hashes: &[Vec<u8>], aid: Option<&[u8]>, apdu: &[u8]) -> Decision {
        let open = self.check_open(hashes, aid);
        if !open.allowed {
            return open;
        }
        let Decision { found, nfc_allowed, .. } = open;
        let deny = |why: String, found: Option<Found>| Decision { allowed: false, reason: why, found, nfc_allowed };
        if let Err(why) = omapi_transmit_check(apdu) {
            return deny(why, found);
        }
        let mut cmd = apdu.to_vec();
        if let Ok(cla) = Class::with_channel(cmd[0], 0) {
            cmd[0] = cla;
        }
        let Some(f) = found else { return deny("no access rule found!".into(), None) };
        match f.access.check_command(&cmd) {
            Ok(()) => Decision { allowed: true, reason: "APDU allowed".into(), found: Some(f), nfc_allowed },
            Err(why) => deny(why, Some(f)),
        }
    }

    /// `isNfcEventAllowed` for one app.
    pub fn nfc_event_allowed(&self, hashes: &[Vec<u8>], aid: Option<&[u8]>) -> bool {
        self.find(hashes, aid).is_ok_and(|f| f.access.nfc == cache::Access::Allowed)
    }

    /// Describes the rule that decided, for people.
    pub fn describe(&self, d: &Decision) -> Option<String> {
        let f = d.found.as_ref()?;
        let e = f.entry.as_ref()?;
        let case = match f.case {
            Case::A => "case A (this AID, this app)",
            Case::ConflictA => "conflict case A (this AID belongs to another app's rule)",
            Case::B => "case B (this AID, all apps)",
            Case::C => "case C (all AIDs, this app)",
            Case::ConflictC => "conflict case C (another app's rule for all AIDs)",
            Case::D => "case D (all AIDs, all apps)",
        };
        let src: Vec<String> = e.sources.iter().map(|i| format!("rule {}", i + 1)).collect();
        let whose = if matches!(f.case, Case::ConflictA | Case::ConflictC) { "other app's rule " } else { "" };
        Some(format!("{case}: {whose}{} [{}] -> {}", describe_key(&e.key), src.join(", "), f.access.describe()))
    }
}

/// OMAPI `Channel.transmit` and `CommandApduValidator`: what an app may not send at all.
pub fn omapi_transmit_check(apdu: &[u8]) -> Result<(), String> {
    let cmd = Command::parse(apdu).map_err(|_| "IllegalArgumentException: malformed APDU".to_string())?;
    if cmd.cla == 0xFF {
        return Err("IllegalArgumentException: invalid CLA".into());
    }
    if matches!(cmd.ins & 0xF0, 0x60 | 0x90) {
        return Err("IllegalArgumentException: invalid INS".into());
    }
    if cmd.cla & 0x80 == 0 && cmd.cla & 0x60 != 0x20 {
        if cmd.ins == 0x70 {
            return Err("SecurityException: MANAGE CHANNEL command not allowed".into());
        }
        if cmd.ins == 0xA4 && cmd.p1 == 0x04 {
            return Err("SecurityException: SELECT by DF name command not allowed".into());
        }
    }
    Ok(())
}

/// A REF-DO for people.
pub fn describe_key(k: &crate::proto::ara_m::rules::RefKey) -> String {
    use crate::proto::ara_m::rules::AidRef;
    let aid = match &k.aid {
        AidRef::Default => "default application (C0 00)".to_string(),
        AidRef::Aid(a) if a.is_empty() => "all SE applications (4F 00)".to_string(),
        a if a.is_carrier() => "carrier privilege (FFFFFFFFFFFF)".to_string(),
        AidRef::Aid(a) => format!("AID {}", hex::encode_upper(a)),
    };
    let hash = match k.hash.len() {
        0 => "all device apps (C1 00)".to_string(),
        20 => format!("app SHA-1 {}", hex::encode_upper(&k.hash)),
        _ => format!("app SHA-256 {}", hex::encode_upper(&k.hash)),
    };
    match &k.pkg {
        Some(p) => format!("{aid}, {hash}, package {}", String::from_utf8_lossy(p)),
        None => format!("{aid}, {hash}"),
    }
}

/// An AR-DO for people.
pub fn describe_ar(ar: &crate::proto::ara_m::rules::ArRule) -> String {
    use crate::proto::ara_m::rules::ApduRule;
    let apdu = match &ar.apdu {
        None => "APDU -".to_string(),
        Some(ApduRule::Never) => "APDU never".to_string(),
        Some(ApduRule::Always) => "APDU always".to_string(),
        Some(ApduRule::Filters(f)) => {
            let f: Vec<String> =
                f.iter().map(|b| format!("{}/{}", hex::encode_upper(&b[..4]), hex::encode_upper(&b[4..]))).collect();
            format!("APDU filters [{}]", f.join(", "))
        }
    };
    let nfc = match ar.nfc {
        None => "NFC -",
        Some(true) => "NFC always",
        Some(false) => "NFC never",
    };
    match ar.perm {
        Some(p) => format!("{apdu}, {nfc}, carrier permissions {}", hex::encode_upper(p)),
        None => format!("{apdu}, {nfc}"),
    }
}
