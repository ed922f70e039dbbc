//! PUT KEY (GPCS §11.8, AmdD §7.2; `globalplatform.md` §A.12, §B.8): adds or replaces an AES key
//! set of the selected security domain, or one key of a set. Key components are decrypted with
//! the static Key-DEK of the key set the current session was opened with and checked against
//! their KCV before anything changes.

use super::env::Env;
use super::registry::KeySet;
use crate::apdu::{Command, Response};
use crate::card::{Aid, Outcome};
use crate::crypto::SecretBytes;
pub use crate::proto::gp::PutKey;
use crate::scp03::kdf::kcv;
use crate::scp03::keydata::decode_key_component;
use crate::sw::Sw;

/// The most key sets one security domain holds.
pub const MAX_KEY_SETS: usize = 8;

/// PUT KEY `80 D8 P1 P2 Lc KVN components 00` received by the security domain `sd`. Answers
/// `KVN ‖ KCV…`.
pub fn put_key(card: &mut Env<'_, '_>, ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    let pk = PutKey::try_from(cmd)?;
    let idx = card.image().instance_index(sd).ok_or(Sw::ReferencedDataNotFound)?;
    let session_kvn = card.session(ch).and_then(|s| s.kvn()).ok_or(Sw::SecurityNotSatisfied)?;
    let dk = card.image().instances[idx].keys.as_ref().ok_or(Sw::ReferencedDataNotFound)?;
    let dek = dk.key_set(session_kvn).ok_or(Sw::SecurityNotSatisfied)?.dek.clone();
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
    let mut rsp = vec![pk.new_kvn];
    for k in &keys {
        rsp.extend_from_slice(&kcv(k.expose()).map_err(|_| Sw::WrongData)?);
    }
    let sets = &dk.key_sets;
    let taken = sets.iter().any(|s| s.kvn == pk.new_kvn);
    match pk.replace {
        None => {
            if taken {
                return Err(Sw::WrongData);
            }
            if sets.len() >= MAX_KEY_SETS {
                return Err(Sw::NotEnoughMemory);
            }
            let mut it = keys.into_iter();
            let (enc, mac, dek) = match (it.next(), it.next(), it.next()) {
                (Some(e), Some(m), Some(d)) => (e, m, d),
                _ => return Err(Sw::WrongData),
            };
            if let Some(k) = card.image_mut().instances[idx].keys.as_mut() {
                k.key_sets.push(KeySet { kvn: pk.new_kvn, enc, mac, dek, seq_counter: 0 });
            }
        }
        Some(old) => {
            let pos = sets.iter().position(|s| s.kvn == old).ok_or(Sw::ReferencedDataNotFound)?;
            if pk.new_kvn != old && taken {
                return Err(Sw::WrongData);
            }
            if !pk.multiple && pk.new_kvn != old {
                return Err(Sw::WrongData);
            }
            let cur = &sets[pos];
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
            if let Some(k) = card.image_mut().instances[idx].keys.as_mut() {
                // A replaced key set starts its sequence counter again (AmdD §6.2.2.1).
                k.key_sets[pos] = KeySet { kvn: pk.new_kvn, enc, mac, dek, seq_counter: 0 };
                // New keys: a count of failures against the old ones no longer means anything.
                k.auth_limit.clear(old);
            }
            if old != pk.new_kvn {
                if let Some(s) = card.session_mut(ch) {
                    s.follow_kvn(old, pk.new_kvn);
                }
            }
        }
    }
    Ok(Response::data(rsp))
}
