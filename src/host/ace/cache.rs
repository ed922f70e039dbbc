//! The rule cache and the decisions, as Android's `AccessRuleCache`, `ChannelAccess` and
//! `AccessControlEnforcer` make them (`shared/reference/globalplatform.md` §C.5). Pure: no
//! transport, so every branch is unit-testable.

use super::parse::ParsedRule;
use crate::proto::ara_m::rules::{AidRef, ApduRule, ArRule, RefKey};
use std::fmt;

/// `ChannelAccess.ACCESS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Allowed,
    Denied,
    Undefined,
}

/// One APDU filter: allowed when `(cmd[0..4] & mask) == header` (`CommandApdu.compareHeaders`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApduFilter {
    pub header: [u8; 4],
    pub mask: [u8; 4],
}

impl ApduFilter {
    pub fn matches(&self, cmd: &[u8]) -> bool {
        cmd.len() >= 4 && (0..4).all(|i| cmd[i] & self.mask[i] == self.header[i])
    }
}

impl fmt::Display for ApduFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", hex::encode_upper(self.header), hex::encode_upper(self.mask))
    }
}

/// `ChannelAccess`: what one REF-DO grants after merging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelAccess {
    pub access: Access,
    pub reason: String,
    pub apdu_access: Access,
    pub use_apdu_filter: bool,
    pub apdu_filter: Vec<ApduFilter>,
    pub nfc: Access,
}

impl Default for ChannelAccess {
    fn default() -> Self {
        ChannelAccess {
            access: Access::Undefined,
            reason: "no access by default".into(),
            apdu_access: Access::Undefined,
            use_apdu_filter: false,
            apdu_filter: Vec::new(),
            nfc: Access::Undefined,
        }
    }
}

impl ChannelAccess {
    /// Everything denied, with a reason (the conflict cases and "no rule").
    pub fn denied(reason: &str) -> ChannelAccess {
        ChannelAccess {
            access: Access::Denied,
            reason: reason.into(),
            apdu_access: Access::Denied,
            nfc: Access::Denied,
            ..Default::default()
        }
    }

    /// `AccessRuleCache.mapArDo2ChannelAccess`.
    pub fn from_ar(ar: &ArRule) -> ChannelAccess {
        let mut ca = ChannelAccess::default();
        match &ar.apdu {
            Some(apdu) => {
                ca.access = Access::Allowed;
                ca.reason = String::new();
                match apdu {
                    ApduRule::Never => ca.apdu_access = Access::Denied,
                    ApduRule::Always => ca.apdu_access = Access::Allowed,
                    ApduRule::Filters(f) => {
                        ca.use_apdu_filter = true;
                        ca.apdu_filter = f
                            .iter()
                            .map(|b| ApduFilter { header: [b[0], b[1], b[2], b[3]], mask: [b[4], b[5], b[6], b[7]] })
                            .collect();
                    }
                }
            }
            None => {
                ca.access = Access::Denied;
                ca.reason = "No APDU access rule available.!".into();
            }
        }
        if let Some(n) = ar.nfc {
            ca.nfc = if n { Access::Allowed } else { Access::Denied };
        }
        ca
    }

    /// `putWithMerge` for an existing entry: the more restrictive wins, filters add up.
    fn merge(&mut self, new: &ChannelAccess) {
        if new.access == Access::Denied || self.access == Access::Denied {
            self.access = Access::Denied;
            self.reason = new.reason.clone();
        } else if new.access == Access::Undefined && self.access != Access::Undefined {
        } else if new.access != Access::Undefined && self.access == Access::Undefined {
            self.access = new.access;
            self.reason = new.reason.clone();
        } else {
            self.access = Access::Allowed;
        }
        if self.nfc != Access::Denied {
            if new.nfc == Access::Denied {
                self.nfc = Access::Denied;
            } else if new.nfc == Access::Allowed {
                self.nfc = Access::Allowed;
            }
        }
        if new.apdu_access == Access::Denied || self.apdu_access == Access::Denied {
            self.apdu_access = Access::Denied;
        } else if new.apdu_access == Access::Undefined && self.apdu_access != Access::Undefined {
        } else if new.apdu_access == Access::Undefined && self.apdu_access == Access::Undefined && !new.use_apdu_filter
        {
            self.apdu_access = Access::Denied;
        } else if new.apdu_access != Access::Undefined && self.apdu_access == Access::Undefined {
            self.apdu_access = new.apdu_access;
        } else {
            self.apdu_access = Access::Allowed;
        }
        if matches!(self.apdu_access, Access::Allowed | Access::Undefined) {
            if new.use_apdu_filter {
                self.use_apdu_filter = true;
                self.apdu_filter.extend(new.apdu_filter.iter().copied());
            }
        } else {
            self.use_apdu_filter = false;
            self.apdu_filter.clear();
        }
    }

    /// `AccessControlEnforcer.setUpChannelAccess`: may a channel to the AID be opened?
    pub fn channel_allowed(&self) -> bool {
        self.apdu_access == Access::Allowed || self.use_apdu_filter
    }

    /// `AccessControlEnforcer.checkCommand`: `Err` with Android's message when refused.
    pub fn check_command(&self, cmd: &[u8]) -> Result<(), String> {
        let reason = if self.reason.is_empty() { "Command not allowed!" } else { &self.reason };
        if self.access != Access::Allowed {
            return Err(reason.to_string());
        }
        if self.use_apdu_filter {
            if self.apdu_filter.is_empty() {
                return Err(format!("Access Rule not available:{reason}"));
            }
            if self.apdu_filter.iter().any(|f| f.matches(cmd)) {
                return Ok(());
            }
            return Err(format!("Access Rule does not match: {reason}"));
        }
        if self.apdu_access == Access::Allowed {
            Ok(())
        } else {
            Err("APDU access NOT allowed".into())
        }
    }

    /// A one-line summary for people.
    pub fn describe(&self) -> String {
        let apdu = if self.use_apdu_filter {
            let f: Vec<String> = self.apdu_filter.iter().map(|f| f.to_string()).collect();
            format!("APDU filters [{}]", f.join(", "))
        } else {
            format!("APDU {}", access_word(self.apdu_access))
        };
        format!("access {}, {apdu}, NFC events {}", access_word(self.access), access_word(self.nfc))
    }
}

fn access_word(a: Access) -> &'static str {
    match a {
        Access::Allowed => "allowed",
        Access::Denied => "denied",
        Access::Undefined => "undefined",
    }
}

/// Which step of `findAccessRuleInternal` decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// A rule for this AID and one of the app's hashes.
    A,
    /// Another app has a specific rule for this AID: NEVER.
    ConflictA,
    /// A rule for this AID and all apps (`C1 00`).
    B,
    /// A rule for all AIDs (`4F 00`) and one of the app's hashes.
    C,
    /// Another app has a rule for all AIDs: NEVER.
    ConflictC,
    /// A rule for all AIDs and all apps.
    D,
}

/// One cache entry: the merged access of one REF-DO and the rules (indexes into the rule list as
/// read) that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    pub key: RefKey,
    pub access: ChannelAccess,
    pub sources: Vec<usize>,
}

/// What `findAccessRule` returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub case: Case,
    /// The entry that decided (for A-D); for the conflict cases, the other app's rule that caused it.
    pub entry: Option<CacheEntry>,
    /// The access after `findAccessRule`'s completion of missing APDU/NFC attributes.
    pub access: ChannelAccess,
}

/// `AccessRuleCache`: the refresh tag and the merged rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessRuleCache {
    pub refresh_tag: Option<[u8; 8]>,
    pub entries: Vec<CacheEntry>,
}

impl AccessRuleCache {
    /// Clears the rules (`clearCache`).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Adds all rules as `AraController.readAllAccessRules` does.
    pub fn put_all(&mut self, rules: &[ParsedRule]) {
        for (i, r) in rules.iter().enumerate() {
            self.put_with_merge(&r.key, &ChannelAccess::from_ar(&r.ar), i);
        }
    }

    /// `putWithMerge`: carrier-privilege rules are ignored; identical REF-DOs are merged.
    pub fn put_with_merge(&mut self, key: &RefKey, ca: &ChannelAccess, source: usize) {
        if key.is_carrier_privilege() {
            return;
        }
        match self.entries.iter_mut().find(|e| &e.key == key) {
            Some(e) => {
                e.access.merge(ca);
                e.sources.push(source);
            }
            None => self.entries.push(CacheEntry { key: key.clone(), access: ca.clone(), sources: vec![source] }),
        }
    }

    fn get(&self, aid: &AidRef, hash: &[u8]) -> Option<&CacheEntry> {
        self.entries.iter().find(|e| &e.key.aid == aid && e.key.hash == hash && e.key.pkg.is_none())
    }

    fn with_other_hash(&self, aid: &AidRef) -> Option<&CacheEntry> {
        self.entries.iter().find(|e| &e.key.aid == aid && !e.key.hash.is_empty())
    }

    /// `findAccessRule(aid, appCertHashes)`: `aid` `None` (or `0000000000`) is the default
    /// application (`C0 00`).
    pub fn find_access_rule(&self, aid: Option<&[u8]>, hashes: &[Vec<u8>]) -> Option<Found> {
        let aid_ref = match aid {
            None => AidRef::Default,
            Some(a) if a == [0u8; 5] => AidRef::Default,
            Some(a) => AidRef::Aid(a.to_vec()),
        };
        let found = |case, e: &CacheEntry| Found { case, entry: Some(e.clone()), access: e.access.clone() };
        let conflict = |case, e: &CacheEntry, reason: &str| Found {
            case,
            entry: Some(e.clone()),
            access: ChannelAccess::denied(reason),
        };
        let all = AidRef::all();
        let mut f = 'search: {
            for h in hashes {
                if let Some(e) = self.get(&aid_ref, h) {
                    break 'search found(Case::A, e);
                }
            }
            if aid_ref != all {
                if let Some(e) = self.with_other_hash(&aid_ref) {
                    break 'search conflict(
                        Case::ConflictA,
                        e,
                        "AID has a specific access rule with a different hash. (Case A)",
                    );
                }
            }
            if let Some(e) = self.get(&aid_ref, &[]) {
                break 'search found(Case::B, e);
            }
            for h in hashes {
                if let Some(e) = self.get(&all, h) {
                    break 'search found(Case::C, e);
                }
            }
            if let Some(e) = self.with_other_hash(&all) {
                break 'search conflict(
                    Case::ConflictC,
                    e,
                    "An access rule with a different hash and all AIDs was found. (Case C)",
                );
            }
            match self.get(&all, &[]) {
                Some(e) => found(Case::D, e),
                None => return None,
            }
        };
        let ca = &mut f.access;
        if ca.apdu_access == Access::Undefined && !ca.use_apdu_filter {
            ca.apdu_access = Access::Denied;
        }
        if ca.nfc == Access::Undefined {
            ca.nfc = if ca.use_apdu_filter { Access::Allowed } else { ca.apdu_access };
        }
        Some(f)
    }
}
