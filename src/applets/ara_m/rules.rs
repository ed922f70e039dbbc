//! The ARA-M's rule set: the DOs and their validation live in the protocol layer the host
//! shares ([`crate::proto::ara_m::rules`]); here is the card-side rule search of GET DATA
//! [Specific].

pub use crate::proto::ara_m::rules::*;

/// What the card-side search (SEAC SearchRuleFor, GET DATA [Specific]) found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search<'a> {
    Found(&'a StoredRule),
    /// A conflict: the rule is NEVER.
    Never,
    NotFound,
}

/// SearchRuleFor(hash, AID) over a rule set with one rule per REF-DO: the steps of AOSP
/// `AccessRuleCache.findAccessRuleInternal` with the one hash of the query. Carrier-privilege
/// rules are skipped as Android's cache skips them.
pub fn search<'a>(rules: &'a [StoredRule], aid: &AidRef, hash: &[u8]) -> Search<'a> {
    let keyed: Vec<(RefKey, &StoredRule)> =
        rules.iter().filter_map(|r| r.key().map(|k| (k, r))).filter(|(k, _)| !k.is_carrier_privilege()).collect();
    let find = |aid: &AidRef, hash: &[u8]| {
        keyed.iter().find(|(k, _)| &k.aid == aid && k.hash == hash && k.pkg.is_none()).map(|(_, r)| *r)
    };
    let other_hash = |aid: &AidRef| keyed.iter().any(|(k, _)| &k.aid == aid && !k.hash.is_empty());
    if let Some(r) = find(aid, hash) {
        return Search::Found(r);
    }
    if *aid != AidRef::all() && other_hash(aid) {
        return Search::Never;
    }
    if let Some(r) = find(aid, &[]) {
        return Search::Found(r);
    }
    if let Some(r) = find(&AidRef::all(), hash) {
        return Search::Found(r);
    }
    if other_hash(&AidRef::all()) {
        return Search::Never;
    }
    match find(&AidRef::all(), &[]) {
        Some(r) => Search::Found(r),
        None => Search::NotFound,
    }
}
