//! PUT KEY (GPCS §11.8, AmdD §7.2; `globalplatform.md` §A.12, §B.8): adds or replaces an AES key
//! set of the selected security domain, or one key. Key components are decrypted with the
//! static Key-DEK of the key set the current session was opened with and checked against their
//! KCV before anything changes.

use super::env::Env;
use super::registry::KeySet;
use crate::apdu::{Command, Response};
use crate::card::{Aid, Outcome};
use crate::crypto::SecretBytes;
pub use crate::proto::gp::PutKey;
use crate::scp03::kdf::kcv;
use crate::scp03::keydata::{decode_key_component, decode_rsa_public, KEY_TYPE_RSA_MODULUS};
use crate::scp03::keyset::{DomainKeys, KeyKind, SingleKey};
use crate::sw::Sw;

/// The most key versions one security domain holds.
pub const MAX_KEY_SETS: usize = 8;

/// PUT KEY `80 D8 P1 P2 Lc KVN components 00` received by the security domain `sd`. Answers
/// `KVN ‖ KCV…` (GPCS §11.8.3.1).
pub fn put_key(card: &mut Env<'_, '_>, ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    let pk = PutKey::try_from(cmd)?;
    let idx = card.image().instance_index(sd).ok_or(Sw::ReferencedDataNotFound)?;
    let session_kvn = card.session(ch).and_then(|s| s.kvn()).ok_or(Sw::SecurityNotSatisfied)?;
    let dk = card.image().instances[idx].keys.clone().ok_or(Sw::ReferencedDataNotFound)?;
    let dek = dk.key_set(session_kvn).ok_or(Sw::SecurityNotSatisfied)?.dek.clone();
    let mut rsp = vec![pk.new_kvn];
    let keys = if pk.components.first() == Some(&KEY_TYPE_RSA_MODULUS) {
        // An RSA public key (a DAP key: GPP `--put-key dap.pem`, KVN 73 by default), one key in
        // clear with no KCV, so the answer is the KVN alone.
        let (n, e, used) = decode_rsa_public(pk.components)?;
        if pk.multiple || used != pk.components.len() {
            return Err(Sw::WrongData);
        }
        vec![KeyKind::RsaPublic { modulus: n, exponent: e }.to_stored()]
    } else {
        // Decode and check every component first: a bad one changes nothing.
        let mut keys: Vec<SecretBytes> = Vec::new();
        let mut rest = pk.components;
        while !rest.is_empty() {
            let (k, used) = decode_key_component(dek.expose(), rest)?;
            keys.push(k);
            rest = &rest[used..];
        }
        let want = if pk.multiple { 3 } else { 1 };
        if keys.len() != want || keys.iter().any(|k| k.len() != keys[0].len()) {
            return Err(Sw::WrongData);
        }
        for k in &keys {
            rsp.extend_from_slice(&kcv(k.expose()).map_err(|_| Sw::WrongData)?);
        }
        keys
    };
    let new = apply(dk, &pk, keys)?;
    if let Some(k) = card.image_mut().instances[idx].keys.as_mut() {
        *k = new;
    }
    if let Some(old) = pk.replace.filter(|old| *old != pk.new_kvn) {
        if let Some(s) = card.session_mut(ch) {
            s.follow_kvn(old, pk.new_kvn);
        }
    }
    Ok(Response::data(rsp))
}

/// The SD's keys after the command; an error changes nothing.
fn apply(mut dk: DomainKeys, pk: &PutKey<'_>, keys: Vec<SecretBytes>) -> Result<DomainKeys, Sw> {
    let taken = dk.has_version(pk.new_kvn);
    match (pk.replace, pk.multiple) {
        // A new key set.
        (None, true) => {
            if taken {
                return Err(Sw::WrongData);
            }
            if dk.versions() >= MAX_KEY_SETS {
                return Err(Sw::NotEnoughMemory);
            }
            let mut it = keys.into_iter();
            let (enc, mac, dek) = match (it.next(), it.next(), it.next()) {
                (Some(e), Some(m), Some(d)) => (e, m, d),
                _ => return Err(Sw::WrongData),
            };
            // A created key set starts its counter at 0 (AmdD §6.2.2.1).
            dk.key_sets.push(KeySet { kvn: pk.new_kvn, enc, mac, dek, seq_counter: 0 });
        }
        // "Add a single new key" (GPCS §11.8.1, T11-65/66): key `first_id` of version
        // `new_kvn`, which must not have that key yet.
        (None, false) => {
            let key = keys.into_iter().next().ok_or(Sw::WrongData)?;
            if dk.key(pk.new_kvn, pk.first_id).is_some() {
                return Err(Sw::WrongData);
            }
            if !taken && dk.versions() >= MAX_KEY_SETS {
                return Err(Sw::NotEnoughMemory);
            }
            dk.single_keys.push(SingleKey { kvn: pk.new_kvn, id: pk.first_id, key });
            promote(&mut dk, pk.new_kvn);
        }
        (Some(old), _) => {
            if !dk.has_version(old) {
                return Err(Sw::ReferencedDataNotFound);
            }
            if pk.new_kvn != old && taken {
                return Err(Sw::WrongData);
            }
            if !pk.multiple && pk.new_kvn != old {
                return Err(Sw::WrongData);
            }
            if let Some(pos) = dk.key_sets.iter().position(|s| s.kvn == old) {
                let cur = &dk.key_sets[pos];
                let mut slots = [cur.enc.clone(), cur.mac.clone(), cur.dek.clone()];
                for (n, k) in keys.into_iter().enumerate() {
                    let slot = &mut slots[pk.first_id as usize - 1 + n];
                    // Key size and type cannot change on replace (GPCS §11.8.2.3.3).
                    if slot.len() != k.len() {
                        return Err(Sw::WrongData);
                    }
                    *slot = k;
                }
                let [enc, mac, dek] = slots;
                // The counter restarts only when the whole key set is replaced (AmdD §6.2.2.1);
                // replacing one key keeps it, so card challenges never repeat.
                let seq_counter = if pk.multiple { 0 } else { cur.seq_counter };
                dk.key_sets[pos] = KeySet { kvn: pk.new_kvn, enc, mac, dek, seq_counter };
                // New keys: a count of failures against the old ones no longer means anything.
                dk.auth_limit.clear(old);
            } else {
                // Single keys of a version that is not a whole set: replace them one by one.
                for (id, k) in (pk.first_id..).zip(keys) {
                    let slot = dk
                        .single_keys
                        .iter_mut()
                        .find(|s| s.kvn == old && s.id == id)
                        .ok_or(Sw::ReferencedDataNotFound)?;
                    if slot.key.len() != k.len() {
                        return Err(Sw::WrongData);
                    }
                    slot.key = k;
                    slot.kvn = pk.new_kvn;
                }
                dk.single_keys.iter_mut().filter(|s| s.kvn == old).for_each(|s| s.kvn = pk.new_kvn);
            }
        }
    }
    Ok(dk)
}

/// Keys 1, 2 and 3 of one version, all AES of one length, are an SCP03 key set: they leave the
/// single keys and the set's counter starts at 0 (the set was created, AmdD §6.2.2.1).
fn promote(dk: &mut DomainKeys, kvn: u8) {
    let find = |id: u8| dk.single_keys.iter().find(|k| k.kvn == kvn && k.id == id).map(|k| k.key.clone());
    let (Some(enc), Some(mac), Some(dek)) = (find(1), find(2), find(3)) else { return };
    let aes = |k: &SecretBytes| matches!(KeyKind::from_stored(k.expose()), Some(KeyKind::Aes(_)));
    if !(aes(&enc) && aes(&mac) && aes(&dek)) || enc.len() != mac.len() || mac.len() != dek.len() {
        return;
    }
    dk.single_keys.retain(|k| k.kvn != kvn);
    dk.key_sets.push(KeySet { kvn, enc, mac, dek, seq_counter: 0 });
}
