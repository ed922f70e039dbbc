//! The security domain side of SCP03: picks the key set for INITIALIZE UPDATE, keeps the
//! sequence counter in the card image, and asks the channel's session to move through
//! `Idle → Initialized → Authenticated` ([`crate::scp03::card::Session`] owns the transitions). Wrapping and unwrapping of the
//! commands that follow is done by the runtime (`Card::dispatch`).

use super::env::Env;
use crate::apdu::{Class, Command, Response};
use crate::card::{Aid, Outcome};
use crate::scp03::card::{IuParams, Session};
use crate::scp03::i_param;
use crate::sw::Sw;
use rand_core::RngCore;
use zeroize::Zeroizing;

/// The largest 3-byte sequence counter (AmdD §6.2.2.1).
pub const MAX_SEQ_COUNTER: u32 = 0xFF_FFFF;

/// Ends the secure channel session on `ch`, if any.
pub fn end_session(card: &mut Env<'_, '_>, ch: u8) {
    if let Some(s) = card.session_mut(ch) {
        s.end();
    }
}

/// `Ok` when channel `ch` has an authenticated session, else `6982` (GPCS T11-2: DELETE,
/// GET STATUS, INSTALL, LOAD, PUT KEY, SET STATUS and STORE DATA need at least AUTHENTICATED;
/// `globalplatform.md` §A.10).
pub fn require_authenticated(card: &Env<'_, '_>, ch: u8) -> Result<(), Sw> {
    match card.session(ch) {
        Some(s) if s.is_authenticated() => Ok(()),
        _ => Err(Sw::SecurityNotSatisfied),
    }
}

/// INITIALIZE UPDATE `8x 50 KVN 00 08 host_challenge [00]` for the security domain `sd`
/// (AmdD §7.1.1; GPCS D.4.1/E.5.1):
///
/// * it first ends any session on the channel (AmdD §5.6);
/// * P1 = `00` picks the first key set, another KVN that key set; none: `6A88`;
/// * P2 other than `00`: `6A86`; Lc other than 8 (16 when the SD's i has S16, b1): `6700`;
/// * with i b5 (pseudo-random challenge) the key set's sequence counter is incremented first and
///   written to the card image (committed with this APDU); at `FFFFFF` the answer is `6985`
///   (AmdD §6.2.2.1). Without b5 the challenge comes from the card RNG and the counter is not
///   used.
pub fn initialize_update(card: &mut Env<'_, '_>, ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    end_session(card, ch);
    let class = Class::parse(cmd.cla)?;
    if !class.proprietary || class.secure_messaging {
        return Err(Sw::ClaNotSupported);
    }
    if cmd.p2 != 0x00 {
        return Err(Sw::IncorrectP1P2);
    }
    let img = card.image();
    let idx = img.instance_index(sd).ok_or(Sw::ReferencedDataNotFound)?;
    let dk = img.instances[idx].keys.as_ref().ok_or(Sw::ReferencedDataNotFound)?;
    let ks_idx = if cmd.p1 == 0x00 {
        (!dk.key_sets.is_empty()).then_some(0)
    } else {
        dk.key_sets.iter().position(|k| k.kvn == cmd.p1)
    }
    .ok_or(Sw::ReferencedDataNotFound)?;
    let ks = &dk.key_sets[ks_idx];
    super::auth_limit::check(dk, ks.kvn)?;
    if [&ks.enc, &ks.mac, &ks.dek].iter().any(|k| ![16, 24, 32].contains(&k.len())) {
        return Err(Sw::ReferencedDataNotFound);
    }
    let i = dk.scp_i;
    if cmd.data.len() != i_param::challenge_len(i) {
        return Err(Sw::WrongLength);
    }
    let kvn = ks.kvn;
    let key_enc = Zeroizing::new(ks.enc.expose().to_vec());
    let key_mac = Zeroizing::new(ks.mac.expose().to_vec());
    let kdd = img.identity.kdd.clone();
    let pseudo_random = i & i_param::PSEUDO_RANDOM != 0;
    let mut counter = ks.seq_counter;
    let mut random_challenge = vec![0u8; i_param::challenge_len(i)];
    if pseudo_random {
        if counter >= MAX_SEQ_COUNTER {
            return Err(Sw::ConditionsNotSatisfied);
        }
        // Incremented first, then used (AmdD §6.2.2.1); image_mut makes the runtime commit it.
        counter += 1;
        if let Some(k) = card.image_mut().instances[idx].keys.as_mut().and_then(|k| k.key_sets.get_mut(ks_idx)) {
            k.seq_counter = counter;
        }
    } else {
        card.rng().fill_bytes(&mut random_challenge);
    }
    let params = IuParams {
        kvn,
        key_enc: &key_enc,
        key_mac: &key_mac,
        i,
        kdd: &kdd,
        sd_aid: sd.as_bytes(),
        counter,
        random_challenge,
    };
    let rsp = card.session_mut(ch).ok_or(Sw::ChannelNotSupported)?.initialize_update(&cmd.data, &params)?;
    Ok(Response::data(rsp))
}

/// EXTERNAL AUTHENTICATE (AmdD §7.1.2; checks in [`crate::scp03::card::Initialized`]). Without
/// a pending INITIALIZE UPDATE on this channel (none yet, another command came between, or the
/// session is already authenticated) the answer is `6982`. Any failure leaves no session.
pub fn external_authenticate(card: &mut Env<'_, '_>, ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    let s = card.session_mut(ch).ok_or(Sw::ChannelNotSupported)?;
    // The key set of a pending INITIALIZE UPDATE: only an attempt against one counts.
    let pending = match s {
        Session::Initialized(_) => s.kvn(),
        _ => None,
    };
    let r = s.external_authenticate(cmd);
    if let Some(kvn) = pending {
        super::auth_limit::record(card, sd, kvn, r);
    }
    r?;
    Ok(Response::ok())
}

/// BEGIN R-MAC SESSION `8x 7A P1 01 Lc LV(data)` (AmdD §7.1.3): P1 `10` or `30`, P2 `01` (else
/// `6A86`); the data is one LV the card does not interpret (a malformed one: `6A80`). The
/// conditions are the session's ([`crate::scp03::card::Authenticated::begin_rmac`]).
pub fn begin_rmac_session(card: &mut Env<'_, '_>, ch: u8, cmd: &Command) -> Outcome {
    if !matches!(cmd.p1, 0x10 | 0x30) || cmd.p2 != 0x01 {
        return Err(Sw::IncorrectP1P2);
    }
    match cmd.data.split_first() {
        Some((&n, rest)) if n as usize == rest.len() => {}
        _ => return Err(Sw::WrongData),
    }
    card.session_mut(ch).ok_or(Sw::ChannelNotSupported)?.begin_rmac(cmd.p1)?;
    Ok(Response::ok())
}

/// END R-MAC SESSION `8x 78 00 03 [Lc data] 00` (AmdD §7.1.4): P1 `00`, P2 `03` (else `6A86`).
/// The response is `9000` with the R-MAC as its data, added by the session's wrapping.
pub fn end_rmac_session(card: &mut Env<'_, '_>, ch: u8, cmd: &Command) -> Outcome {
    if cmd.p1 != 0x00 || cmd.p2 != 0x03 {
        return Err(Sw::IncorrectP1P2);
    }
    card.session_mut(ch).ok_or(Sw::ChannelNotSupported)?.end_rmac()?;
    Ok(Response::ok())
}
