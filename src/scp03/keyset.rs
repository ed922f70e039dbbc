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

/// What a key of a security domain is (GPCS T11-16 key types): an AES key (`88`), or an RSA
/// public key (`A1` modulus, `A0` public exponent), a DAP verification key (GPCS §C.3,
/// GPP `--put-key dap.pem`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind<'a> {
    Aes(&'a [u8]),
    RsaPublic { modulus: &'a [u8], exponent: &'a [u8] },
}

/// Tag of the stored form of an RSA public key (the PUT KEY key type of the modulus).
const RSA_TAG: u8 = 0xA1;

impl KeyKind<'_> {
    /// The stored form: an AES key as it is (16, 24 or 32 bytes, what older images hold); an RSA
    /// public key as `A1 ‖ len(2) ‖ modulus ‖ exponent`, which is never 16, 24 or 32 bytes long
    /// (the modulus alone is at least 128).
    pub fn to_stored(&self) -> SecretBytes {
        match self {
            KeyKind::Aes(k) => SecretBytes::new(k.to_vec()),
            KeyKind::RsaPublic { modulus, exponent } => {
                let n = u16::try_from(modulus.len()).unwrap_or(u16::MAX);
                let mut v = vec![RSA_TAG];
                v.extend_from_slice(&n.to_be_bytes());
                v.extend_from_slice(&modulus[..usize::from(n).min(modulus.len())]);
                v.extend_from_slice(exponent);
                SecretBytes::new(v)
            }
        }
    }

    /// Reads a stored key back; `None` for bytes that are neither form.
    pub fn from_stored(b: &[u8]) -> Option<KeyKind<'_>> {
        if matches!(b.len(), 16 | 24 | 32) {
            return Some(KeyKind::Aes(b));
        }
        let (&tag, rest) = b.split_first()?;
        if tag != RSA_TAG || rest.len() < 2 {
            return None;
        }
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        (n < body.len()).then(|| KeyKind::RsaPublic { modulus: &body[..n], exponent: &body[n..] })
    }
}

impl SingleKey {
    /// What this key is.
    pub fn kind(&self) -> Option<KeyKind<'_>> {
        KeyKind::from_stored(self.key.expose())
    }
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
    /// Keys of versions that are not whole key sets (older images have none).
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
