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

/// A key added on its own (PUT KEY "add a single new key", P1 `00` P2 b8 = 0, GPCS §11.8.1,
/// T11-65/66) whose key version is not a whole SCP03 key set: a DAP key, or the first keys of a
/// set put one by one. When keys 1, 2 and 3 of one version are all there they become a
/// [`KeySet`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SingleKey {
    pub kvn: u8,
    pub id: u8,
    pub key: SecretBytes,
}

/// A security domain's keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainKeys {
    /// SCP03 i parameter (AmdD T5-1).
    pub scp_i: u8,
    pub key_sets: Vec<KeySet>,
    /// Keys of versions that are not whole key sets (older images have none).
    #[serde(default)]
    pub single_keys: Vec<SingleKey>,
}

impl DomainKeys {
    pub fn key_set(&self, kvn: u8) -> Option<&KeySet> {
        self.key_sets.iter().find(|k| k.kvn == kvn)
    }

    /// The key `id` of version `kvn`, whole set or single key.
    pub fn key(&self, kvn: u8, id: u8) -> Option<&SecretBytes> {
        if let Some(ks) = self.key_set(kvn) {
            return match id {
                1 => Some(&ks.enc),
                2 => Some(&ks.mac),
                3 => Some(&ks.dek),
                _ => None,
            };
        }
        self.single_keys.iter().find(|k| k.kvn == kvn && k.id == id).map(|k| &k.key)
    }

    /// Whether a key version is in use, as a key set or by single keys.
    pub fn has_version(&self, kvn: u8) -> bool {
        self.key_set(kvn).is_some() || self.single_keys.iter().any(|k| k.kvn == kvn)
    }

    /// How many key versions the SD holds.
    pub fn versions(&self) -> usize {
        let mut singles: Vec<u8> = self.single_keys.iter().map(|k| k.kvn).collect();
        singles.sort_unstable();
        singles.dedup();
        self.key_sets.len() + singles.len()
    }
}
