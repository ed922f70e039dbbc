//! The JPKI AP of the smartphone GP-SE: two RSA-2048 key pairs made in the chip, their
//! certificates and PINs, the card-compatible user path and the SP-TSM management path.
//! The contract is `applet-spec/jpki.md`; the facts behind it are `shared/reference/jpki.md`
//! (J§n) and `shared/reference/seeds.md` (S§n).

mod command;
mod files;
mod pair;

pub use command::{JpkiCommand, PairId, PinSetMode, SignScheme};
pub use pair::{certificate_public_key, PairState};

use crate::apdu::{Command, Response};
use crate::card::{Applet, CardEvent, Ctx, ModuleImpl, Outcome, Persistent, PinCheck};
use crate::crypto::rsa::{PssHash, RsaPrivate};
use crate::crypto::CardRng;
use crate::scp03::SecurityStatus;
use crate::sw::Sw;
use files::Ef;
use pair::{pin_well_formed, public_key_template, try_limit, Pair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The DER prefix of a SHA-256 `DigestInfo` (RFC 8017 §9.2 note 1), before the 32-byte hash.
const SHA256_DIGEST_INFO: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/// JPKI AP AID (J§1).
pub const JPKI_AID: &[u8] = &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// The JPKI module.
pub static MODULE: ModuleImpl = ModuleImpl {
    name: "jpki",
    package_aid: &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01],
    module_aid: &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01],
    default_instance_aid: JPKI_AID,
    install,
    restore,
};

/// Largest certificate accepted by STORE CERTIFICATE.
const MAX_CERT: usize = 8192;
const CHANNELS: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    /// Card profile: EF 000A free and the card's token (install parameter `01`).
    card_profile: bool,
    pairs: [Pair; 2],
}

/// A certificate being uploaded in blocks.
#[derive(Debug, Default)]
struct Upload {
    pair: Option<(PairId, bool)>,
    data: Vec<u8>,
}

/// Per-channel volatile state.
#[derive(Debug, Default)]
struct ChannelState {
    current: Option<Ef>,
    verified: [bool; 2],
    upload: Upload,
}

/// The JPKI applet.
pub struct Jpki {
    p: Persistent<State>,
    channels: Vec<ChannelState>,
    /// Parsed private keys, so a signature does not parse DER each time.
    key_cache: [Option<RsaPrivate>; 2],
}

fn install(params: &[u8], _rng: &mut CardRng) -> Result<Box<dyn Applet>, Sw> {
    let card_profile = match params {
        [] | [0x00] => false,
        [0x01] => true,
        _ => return Err(Sw::WrongData),
    };
    Ok(Box::new(Jpki::new(State { card_profile, pairs: [Pair::empty(), Pair::empty()] }, true)))
}

fn restore(state: &[u8]) -> Result<Box<dyn Applet>, String> {
    let p: Persistent<State> = Persistent::restore(state).map_err(|e| e.to_string())?;
    let mut j = Jpki::new(State { card_profile: false, pairs: [Pair::empty(), Pair::empty()] }, false);
    j.p = p;
    Ok(Box::new(j))
}

impl Jpki {
    fn new(state: State, fresh: bool) -> Jpki {
        let mut p = Persistent::new(state);
        if !fresh {
            p.take_dirty();
        }
        Jpki { p, channels: (0..CHANNELS).map(|_| ChannelState::default()).collect(), key_cache: [None, None] }
    }

    fn ch(&mut self, ctx: &Ctx<'_>) -> &mut ChannelState {
        &mut self.channels[ctx.channel as usize % CHANNELS]
    }

    fn pair(&self, id: PairId) -> &Pair {
        &self.p.pairs[id.index()]
    }

    fn pair_mut(&mut self, id: PairId) -> &mut Pair {
        &mut self.p.pairs[id.index()]
    }

    /// Whether an EF exists now.
    fn exists(&self, ef: Ef) -> bool {
        match ef {
            Ef::Token | Ef::Availability | Ef::Pin(_) => true,
            Ef::Key(p) => self.pair(p).key.is_some(),
            Ef::Cert(p) => self.pair(p).cert.is_some(),
            Ef::CaCert(p) => self.pair(p).ca_cert.is_some(),
        }
    }

    fn resolve(&mut self, ctx: &Ctx<'_>, sfi: Option<u8>) -> Result<Ef, Sw> {
        match sfi {
            Some(s) => {
                let ef = Ef::from_fid(s as u16).filter(|e| self.exists(*e)).ok_or(Sw::FileNotFound)?;
                self.ch(ctx).current = Some(ef);
                Ok(ef)
            }
            None => self.ch(ctx).current.ok_or(Sw::CommandNotAllowed),
        }
    }

    fn read_binary(&mut self, ctx: &Ctx<'_>, sfi: Option<u8>, offset: usize, ne: usize) -> Outcome {
        let ef = self.resolve(ctx, sfi)?;
        let verified = self.ch(ctx).verified;
        let content: Vec<u8> = match ef {
            Ef::Key(_) | Ef::Pin(_) => return Err(Sw::CommandIncompatible),
            Ef::Token => files::token(self.p.card_profile),
            Ef::Availability => {
                files::availability(self.pair(PairId::Sign).cert.is_some(), self.pair(PairId::Auth).cert.is_some())
            }
            Ef::Cert(p) => {
                // Sign certificate: sign PIN (J§2); auth certificate on the GP-SE: auth PIN (J§8).
                let needs_pin = p == PairId::Sign || !self.p.card_profile;
                if needs_pin && !verified[p.index()] {
                    return Err(Sw::SecurityNotSatisfied);
                }
                self.pair(p).cert.clone().unwrap_or_default()
            }
            Ef::CaCert(p) => self.pair(p).ca_cert.clone().unwrap_or_default(),
        };
        if offset >= content.len() {
            return Err(Sw::WrongP1P2);
        }
        let end = content.len().min(offset + ne);
        Ok(Response::data(content[offset..end].to_vec()))
    }

    fn verify(&mut self, ctx: &Ctx<'_>, sfi: Option<u8>, pin: Option<Vec<u8>>) -> Outcome {
        let Ef::Pin(id) = self.resolve(ctx, sfi)? else {
            return Err(Sw::CommandNotAllowed);
        };
        if !self.pair(id).state.has_usable_pin() {
            return Err(Sw::ReferenceDataNotUsable);
        }
        let Some(candidate) = pin else {
            // The empty VERIFY always answers 63Cx, verified or not, blocked included (J§4).
            let left = self.pair(id).pin.as_ref().map_or(0, |p| p.tries_left());
            return Err(Sw::VerifyFailed(left));
        };
        self.ch(ctx).verified[id.index()] = false;
        let check = match self.pair_mut(id).pin.as_mut() {
            Some(p) => p.check(&candidate),
            None => return Err(Sw::ReferenceDataNotUsable),
        };
        match check {
            PinCheck::Verified => {
                self.ch(ctx).verified[id.index()] = true;
                Ok(Response::ok())
            }
            PinCheck::Wrong { tries_left } => Err(Sw::VerifyFailed(tries_left)),
            PinCheck::Blocked => Err(Sw::ReferenceDataNotUsable),
        }
    }

    fn change_pin(&mut self, ctx: &Ctx<'_>, new: &[u8]) -> Outcome {
        let Some(Ef::Pin(id)) = self.ch(ctx).current else {
            return Err(Sw::CommandNotAllowed);
        };
        if !self.ch(ctx).verified[id.index()] || !self.pair(id).state.has_usable_pin() {
            return Err(Sw::SecurityNotSatisfied);
        }
        if !pin_well_formed(id, new) {
            return Err(Sw::WrongData);
        }
        let pair = self.pair_mut(id);
        if let Some(p) = pair.pin.as_mut() {
            p.update(new);
        }
        pair.state = PairState::Active;
        Ok(Response::ok())
    }

    fn sign(&mut self, ctx: &mut Ctx<'_>, scheme: SignScheme, sfi: Option<u8>, data: &[u8]) -> Outcome {
        let Ef::Key(id) = self.resolve(ctx, sfi)? else {
            return Err(Sw::CommandIncompatible);
        };
        if !self.ch(ctx).verified[id.index()] || self.pair(id).state != PairState::Active {
            return Err(Sw::SecurityNotSatisfied);
        }
        if self.key_cache[id.index()].is_none() {
            self.key_cache[id.index()] = self.pair(id).private_key();
        }
        let key = self.key_cache[id.index()].as_ref().ok_or(Sw::ExecutionError)?;
        // The card hashes for P1 01, 03 and 05 (myna-card `SignatureScheme`).
        let hashed: Vec<u8> = if scheme.hashes_on_card() { Sha256::digest(data).to_vec() } else { data.to_vec() };
        let sig = match scheme {
            // PKCS#1 v1.5 type-1 padding over the data as given (J§5): the card does not check
            // for a DigestInfo. P1 01 pads the bare hash the same way.
            SignScheme::Verbatim | SignScheme::Sha256Bare => key.sign_pkcs1v15(&hashed),
            SignScheme::PreHashedDigestInfo | SignScheme::Sha256DigestInfo => {
                if hashed.len() != 32 {
                    return Err(Sw::ExecutionError);
                }
                key.sign_pkcs1v15(&[&SHA256_DIGEST_INFO[..], &hashed].concat())
            }
            // RSASSA-PSS with SHA-256 and MGF1-SHA-256, salt as long as the hash (RFC 8017
            // §9.1 default; the card's salt length is not public): random salt, so two
            // signatures of one hash differ, as myna-card observed.
            SignScheme::PreHashedPss | SignScheme::Sha256Pss => key.sign_pss(ctx.rng, PssHash::Sha256, &hashed, 32),
        }
        .map_err(|_| Sw::ExecutionError)?;
        Ok(Response::data(sig))
    }

    fn generate(&mut self, ctx: &mut Ctx<'_>, id: PairId) -> Outcome {
        if self.pair(id).state != PairState::Empty {
            return Err(Sw::ConditionsNotSatisfied);
        }
        let key = RsaPrivate::generate(ctx.rng, 2048, &pair::EXPONENT).map_err(|_| Sw::ExecutionError)?;
        let template = public_key_template(key.public_key());
        self.pair_mut(id).set_key(&key)?;
        self.key_cache[id.index()] = Some(key);
        Ok(Response::data(template))
    }

    fn store_certificate(&mut self, ctx: &Ctx<'_>, id: PairId, ca: bool, last: bool, data: &[u8]) -> Outcome {
        let up = &mut self.ch(ctx).upload;
        if up.pair != Some((id, ca)) {
            *up = Upload { pair: Some((id, ca)), data: Vec::new() };
        }
        if up.data.len() + data.len() > MAX_CERT {
            *up = Upload::default();
            return Err(Sw::NotEnoughMemory);
        }
        up.data.extend_from_slice(data);
        if !last {
            return Ok(Response::ok());
        }
        let der = std::mem::take(up).data;
        let cert_key = certificate_public_key(&der).ok_or(Sw::WrongData)?;
        let pair = self.pair(id);
        if ca {
            if pair.state == PairState::Empty {
                return Err(Sw::ConditionsNotSatisfied);
            }
            self.pair_mut(id).ca_cert = Some(der);
            return Ok(Response::ok());
        }
        if pair.state != PairState::KeyGenerated {
            return Err(Sw::ConditionsNotSatisfied);
        }
        let own = pair.private_key().map(|k| k.public_key().clone()).ok_or(Sw::ExecutionError)?;
        if own != cert_key {
            return Err(Sw::WrongData);
        }
        let pair = self.pair_mut(id);
        pair.cert = Some(der);
        pair.state = PairState::AwaitingPin;
        Ok(Response::ok())
    }

    fn set_pin(&mut self, id: PairId, mode: PinSetMode, pin: &[u8]) -> Outcome {
        if !pin_well_formed(id, pin) {
            return Err(Sw::WrongData);
        }
        let state = self.pair(id).state;
        let allowed = match mode {
            PinSetMode::Temporary | PinSetMode::TemporaryBlocked => state == PairState::AwaitingPin,
            PinSetMode::Reset => state.has_usable_pin(),
        };
        if !allowed {
            return Err(Sw::ConditionsNotSatisfied);
        }
        let mut p = crate::card::OwnerPin::new(pin, try_limit(id));
        if mode == PinSetMode::TemporaryBlocked {
            p.block();
        }
        let pair = self.pair_mut(id);
        pair.pin = Some(p);
        pair.state = PairState::TemporaryPin;
        self.clear_verified(id);
        Ok(Response::ok())
    }

    fn clear_verified(&mut self, id: PairId) {
        for c in self.channels.iter_mut() {
            c.verified[id.index()] = false;
        }
    }

    fn erase(&mut self, id: PairId) {
        if self.pair(id).state != PairState::Empty || self.pair(id).ca_cert.is_some() {
            *self.pair_mut(id) = Pair::empty();
        }
        self.key_cache[id.index()] = None;
        self.clear_verified(id);
        for c in self.channels.iter_mut() {
            if matches!(c.current, Some(Ef::Key(p) | Ef::Cert(p) | Ef::CaCert(p)) if p == id) {
                c.current = None;
            }
            if c.upload.pair.is_some_and(|(p, _)| p == id) {
                c.upload = Upload::default();
            }
        }
    }

    fn management(&mut self, ctx: &mut Ctx<'_>, cmd: JpkiCommand) -> Outcome {
        // Only inside the SP-TSM's secure channel, with C-MAC; PINs also need C-DECRYPTION
        // (GPCS T10-1).
        let mut needed = SecurityStatus::AUTHENTICATED | SecurityStatus::C_MAC;
        if cmd.carries_pin() {
            needed |= SecurityStatus::C_DECRYPTION;
        }
        if !ctx.security_level.contains(needed) {
            return Err(Sw::SecurityNotSatisfied);
        }
        match cmd {
            JpkiCommand::GenerateKeyPair(id) => self.generate(ctx, id),
            JpkiCommand::StoreCertificate { pair, ca, last, data } => {
                self.store_certificate(ctx, pair, ca, last, &data)
            }
            JpkiCommand::SetPin { pair, mode, pin } => self.set_pin(pair, mode, &pin),
            JpkiCommand::UnblockPin(id) => {
                if !self.pair(id).state.has_usable_pin() {
                    return Err(Sw::ConditionsNotSatisfied);
                }
                if let Some(p) = self.pair_mut(id).pin.as_mut() {
                    p.reset_and_unblock();
                }
                Ok(Response::ok())
            }
            JpkiCommand::ErasePair(id) => {
                self.erase(id);
                Ok(Response::ok())
            }
            JpkiCommand::PairStatus(id) => {
                let p = self.pair(id);
                let (left, limit, blocked) = p
                    .pin
                    .as_ref()
                    .map_or((0, try_limit(id), false), |x| (x.tries_left(), x.try_limit(), x.is_blocked()));
                let temporary = p.state == PairState::TemporaryPin;
                // A pair index is 0..=3.
                #[allow(clippy::cast_possible_truncation)]
                let tag = 0xDF00 | (id.index() as u32 + 1);
                let v = [p.state.code(), left, limit, temporary as u8, blocked as u8];
                Ok(Response::data(crate::tlv::tlv(tag, &v)))
            }
            _ => Err(Sw::InsNotSupported),
        }
    }
}

impl Applet for Jpki {
    fn select(&mut self, ctx: &mut Ctx<'_>, _cmd: &Command) -> Outcome {
        // Selected from another application (or none): a fresh security status (J§4).
        *self.ch(ctx) = ChannelState::default();
        Ok(Response::ok())
    }

    /// SELECT of the AP while it is already selected on this channel keeps the verified PINs
    /// (JICSAP 5.1.3 rule 2 as myna-card documents it; pyjpki selects the AP again between
    /// VERIFY and COMPUTE DIGITAL SIGNATURE): only the current EF and a pending certificate
    /// upload go, since the DF is current again.
    fn reselect(&mut self, ctx: &mut Ctx<'_>, _cmd: &Command) -> Outcome {
        let c = self.ch(ctx);
        c.current = None;
        c.upload = Upload::default();
        Ok(Response::ok())
    }

    fn deselect(&mut self, ctx: &mut Ctx<'_>) {
        *self.ch(ctx) = ChannelState::default();
    }

    fn process(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        // A SELECT by DF name the runtime did not match: a foreign AID (J§10 #2).
        if cmd.ins == 0xA4 && cmd.p1 == 0x04 {
            return Err(Sw::FileNotFound);
        }
        let c = JpkiCommand::try_from(cmd)?;
        if c.is_management() {
            return self.management(ctx, c);
        }
        match c {
            JpkiCommand::SelectEf { fid } => {
                let ef = Ef::from_fid(fid).filter(|e| self.exists(*e)).ok_or(Sw::FileNotFound)?;
                self.ch(ctx).current = Some(ef);
                Ok(Response::ok())
            }
            JpkiCommand::SelectMf => Err(Sw::FileNotFound),
            JpkiCommand::ReadBinary { sfi, offset, ne } => self.read_binary(ctx, sfi, offset, ne),
            JpkiCommand::Verify { sfi, pin } => self.verify(ctx, sfi, pin),
            JpkiCommand::ChangePin { new } => self.change_pin(ctx, &new),
            JpkiCommand::Sign { scheme, sfi, data } => self.sign(ctx, scheme, sfi, &data),
            JpkiCommand::GetChallenge { ne } => {
                // Exactly Ne random bytes, answered directly (J§3: clients never follow 6Cxx).
                let mut v = vec![0u8; ne];
                rand_core::RngCore::fill_bytes(ctx.rng, &mut v);
                Ok(Response::data(v))
            }
            _ => Err(Sw::InsNotSupported),
        }
    }

    fn power_reset(&mut self) {
        for c in self.channels.iter_mut() {
            *c = ChannelState::default();
        }
    }

    fn take_dirty(&mut self) -> bool {
        self.p.take_dirty()
    }

    fn save(&self) -> Vec<u8> {
        self.p.save()
    }

    /// The management path runs inside the SP-TSM's secure channel, opened through this applet
    /// on its own logical channel (GP Card API `SecureChannel` of the associated SD).
    fn secure_channel(&self) -> crate::card::SecureChannelUse {
        crate::card::SecureChannelUse::AssociatedSd
    }

    fn on_event(&mut self, ev: CardEvent) {
        match ev {
            CardEvent::FactoryReset => {
                for id in PairId::both() {
                    self.erase(id);
                }
                // Erase writes even when both pairs were already empty, so the event always
                // leaves a freshly written image.
                let _ = &mut *self.p;
            }
        }
    }
}
