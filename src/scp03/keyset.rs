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
}

impl DomainKeys {
    pub fn key_set(&self, kvn: u8) -> Option<&KeySet> {
        self.key_sets.iter().find(|k| k.kvn == kvn)
    }
}
