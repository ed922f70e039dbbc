//! A security domain's SCP03 key sets as the card image stores them.

use crate::crypto::SecretBytes;
use serde::{Deserialize, Serialize};

/// One SCP03 key set: Key-ENC (id 1), Key-MAC (id 2), Key-DEK (id 3) (AmdD T6-1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    pub kvn: u8,
    pub enc: SecretBytes,
    pub mac: SecretBytes,
    pub dek: SecretBytes,
    /// The 3-byte SCP03 sequence counter (AmdD §6.2.2.1).
    pub seq_counter: u32,
}

/// A security domain's keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainKeys {
    /// SCP03 i parameter (AmdD T5-1).
    pub scp_i: u8,
    pub key_sets: Vec<KeySet>,
    /// Failed EXTERNAL AUTHENTICATE limit and counts per key set (issue #19 §15; the policy is
    /// `gp::auth_limit`).
    pub auth_limit: AuthLimit,
}

impl DomainKeys {
    pub fn key_set(&self, kvn: u8) -> Option<&KeySet> {
        self.key_sets.iter().find(|k| k.kvn == kvn)
    }
}

/// The failed-authentication policy and counts of one security domain, kept with its keys in
/// the card image. What counts and what blocking answers is `gp::auth_limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthLimit {
    /// Consecutive failures that block a key set; 0: no limit.
    pub limit: u8,
    /// (KVN, consecutive failures) of the key sets that failed since their last success.
    pub failures: Vec<(u8, u8)>,
}

impl AuthLimit {
    /// A policy with `limit` (0 = off) and no failures yet.
    pub fn new(limit: u8) -> AuthLimit {
        AuthLimit { limit, failures: Vec::new() }
    }

    /// Consecutive failures of key set `kvn`.
    pub fn failures(&self, kvn: u8) -> u8 {
        self.failures.iter().find(|(k, _)| *k == kvn).map_or(0, |(_, n)| *n)
    }

    /// Whether key set `kvn` is blocked.
    pub fn is_blocked(&self, kvn: u8) -> bool {
        self.limit != 0 && self.failures(kvn) >= self.limit
    }

    /// Forgets the count of `kvn` (a successful authentication, or the key set was replaced).
    /// Returns whether anything changed, so callers mark the image dirty only then.
    pub fn clear(&mut self, kvn: u8) -> bool {
        let before = self.failures.len();
        self.failures.retain(|(k, _)| *k != kvn);
        before != self.failures.len()
    }

    /// Counts one failure of `kvn` (saturating at the limit). Returns whether anything changed.
    pub fn fail(&mut self, kvn: u8) -> bool {
        if self.limit == 0 {
            return false;
        }
        match self.failures.iter_mut().find(|(k, _)| *k == kvn) {
            Some((_, n)) if *n >= self.limit => false,
            Some((_, n)) => {
                *n += 1;
                true
            }
            None => {
                self.failures.push((kvn, 1));
                true
            }
        }
    }
}
