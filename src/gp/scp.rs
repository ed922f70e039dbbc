//! The security domain side of SCP03: picks the key set for INITIALIZE UPDATE, keeps the
//! sequence counter in the card image, and moves the channel's session through
//! `Idle → Initialized → Authenticated` ([`crate::scp03::card`]). Wrapping and unwrapping of the
//! commands that follow is done by the runtime (`Card::dispatch`).

use crate::apdu::{Class, Command, Response};
use crate::card::{Aid, Card, Outcome};
use crate::scp03::card::{Idle, IuParams, Session};
use crate::scp03::i_param;
use crate::sw::Sw;
use rand_core::RngCore;
use zeroize::Zeroizing;

/// The largest 3-byte sequence counter (AmdD §6.2.2.1).
pub const MAX_SEQ_COUNTER: u32 = 0xFF_FFFF;

/// Ends the secure channel session on `ch`, if any.
pub fn end_session(card: &mut Card, ch: u8) {
    if let Some(s) = card.session_mut(ch) {
        s.take();
    }
}

/// `Ok` when channel `ch` has an authenticated session, else `6982` (GPCS T11-2: DELETE,
/// GET STATUS, INSTALL, LOAD, PUT KEY, SET STATUS and STORE DATA need at least AUTHENTICATED;
/// `globalplatform.md` §A.10).
pub fn require_authenticated(card: &Card, ch: u8) -> Result<(), Sw> {
    match card.session(ch) {
        Some(s) if s.is_authenticated() => Ok(()),
        _ => Err(Sw::SecurityNotSatisfied),
    }
}

/// The Current Security Level of channel `ch` (GPCS T10-1): `00` without an authenticated
/// session, else `80` | the EXTERNAL AUTHENTICATE level.
pub fn current_security_level(card: &Card, ch: u8) -> u8 {
    card.session(ch).map_or(0, Session::current_security_level)
}

/// INITIALIZE UPDATE `8x 50 KVN 00 08 host_challenge [00]` for the security domain `sd`
/// (AmdD §7.1.1; GPCS D.4.1/E.5.1):
///
/// * it first ends any session on the channel (AmdD §5.6);
/// * P1 = `00` picks the first key set, another KVN that key set; none: `6A88`;
/// * P2 other than `00`: `6A86`; Lc other than 8 (S16 is not supported): `6700`;
/// * with i b5 (pseudo-random challenge) the key set's sequence counter is incremented first and
///   written to the card image (committed with this APDU); at `FFFFFF` the answer is `6985`
///   (AmdD §6.2.2.1). Without b5 the challenge comes from the card RNG and the counter is not
///   used.
pub fn initialize_update(card: &mut Card, ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    end_session(card, ch);
    let class = Class::parse(cmd.cla)?;
    if !class.proprietary || class.secure_messaging {
        return Err(Sw::ClaNotSupported);
    }
    if cmd.p2 != 0x00 {
        return Err(Sw::IncorrectP1P2);
    }
    if cmd.data.len() != 8 {
        return Err(Sw::WrongLength);
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
    let kvn = ks.kvn;
    let key_enc = Zeroizing::new(ks.enc.expose().to_vec());
    let key_mac = Zeroizing::new(ks.mac.expose().to_vec());
    let kdd = img.identity.kdd.clone();
    let pseudo_random = i & i_param::PSEUDO_RANDOM != 0;
    let mut counter = ks.seq_counter;
    let mut random_challenge = [0u8; 8];
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
    let (init, rsp) = Idle.initialize_update(&cmd.data, &params)?;
    if let Some(s) = card.session_mut(ch) {
        *s = Session::Initialized(Box::new(init));
    }
    if let Some(g) = card.gp_channel_mut(ch) {
        g.session_kvn = Some(kvn);
    }
    Ok(Response::data(rsp))
}

/// EXTERNAL AUTHENTICATE (AmdD §7.1.2; checks in [`crate::scp03::card::Initialized`]). Without
/// a pending INITIALIZE UPDATE on this channel (none yet, another command came between, or the
/// session is already authenticated) the answer is `6982`. Any failure leaves no session.
pub fn external_authenticate(card: &mut Card, ch: u8, cmd: &Command) -> Outcome {
    let s = card.session_mut(ch).ok_or(Sw::ChannelNotSupported)?;
    match s.take() {
        Session::Initialized(init) => {
            let r = init.external_authenticate(cmd);
            super::auth_limit::record(card, ch, r.as_ref().map(|_| ()).map_err(|sw| *sw));
            if let Some(s) = card.session_mut(ch) {
                *s = Session::Authenticated(Box::new(r?));
            }
            Ok(Response::ok())
        }
        _ => Err(Sw::SecurityNotSatisfied),
    }
}
