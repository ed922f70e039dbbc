//! STORE DATA (GPCS §11.11; `globalplatform.md` §B.10): to the application of an INSTALL [for
//! personalization] on this channel, or to the security domain itself (ISD personalisation:
//! IIN, CIN, its AID). P1 says the data's structure (none, DGI, BER-TLV) and encryption; data
//! encrypted with the key set's Key-DEK (b7b6 = `11`) is decrypted here before anyone reads it.

use super::env::Env;
use super::registry::InstanceKind;
use crate::apdu::{Command, Response};
use crate::card::{Aid, Outcome};
pub use crate::proto::gp::StoreData;
use crate::proto::gp::{encode_dgi, parse_dgis, StoreEncryption, StoreFormat};
use crate::scp03::keydata::decrypt_data;
use crate::sw::Sw;
use crate::tlv::{self, Mode};

/// P1 b7b6, the encryption information.
const P1_ENCRYPTION: u8 = 0x60;

/// STORE DATA `80 E2 P1 P2 Lc data [00]` received by the security domain `sd`.
pub fn store_data(card: &mut Env<'_, '_>, ch: u8, sd: &Aid, cmd: &Command) -> Outcome {
    let s = StoreData::try_from(cmd)?;
    let g = card.channel_state();
    if s.block != g.store_block {
        g.store_block = 0;
        return Err(Sw::IncorrectP1P2);
    }
    g.store_block = if s.last { 0 } else { s.block.wrapping_add(1) };
    // A refused block restarts the numbering (GPCS §11.11.2.2).
    let clear = decrypted(card, ch, sd, &s).inspect_err(|_| card.channel_state().store_block = 0)?;
    if let Some(app) = card.channel_state().perso.clone() {
        // Personalization: the application gets the command (GP API `Application.processData`);
        // decrypted data comes with b7b6 cleared, the SD having done `SecureChannel.decryptData`
        // for it. The session ends with the last block.
        if s.last {
            card.channel_state().perso = None;
        }
        return match clear {
            None => card.forward(ch, &app, cmd),
            Some(data) => {
                let mut plain = Command::new(cmd.cla, cmd.ins, cmd.p1 & !P1_ENCRYPTION, cmd.p2).with_data(data);
                plain.ne = cmd.ne;
                card.forward(ch, &app, &plain)
            }
        };
    }
    let data = clear.as_deref().unwrap_or(s.data);
    if s.format()? == StoreFormat::Dgi {
        // The SD itself takes no DGI: every one is unknown (T11-90 `6A88`); an empty field is
        // nothing to store.
        return match parse_dgis(data)?.is_empty() {
            true => Ok(Response::ok()),
            false => Err(Sw::ReferencedDataNotFound),
        };
    }
    let tlvs = match clear {
        // Decrypted data fills whole blocks: `00`/`FF` between and after the objects are padding
        // (ISO 7816-4 §5.2.2.1).
        Some(_) => ber_with_padding(data)?,
        None => tlv::parse_all(data, Mode::Ber).map_err(|_| Sw::WrongData)?,
    };
    store_own(card, sd, &tlvs)
}

/// BER-TLV objects with `00`/`FF` padding bytes before, between and after them skipped.
fn ber_with_padding(mut data: &[u8]) -> Result<Vec<tlv::Tlv<'_>>, Sw> {
    let mut out = Vec::new();
    loop {
        while let [0x00 | 0xFF, rest @ ..] = data {
            data = rest;
        }
        if data.is_empty() {
            return Ok(out);
        }
        let (t, rest) = tlv::parse_one(data, Mode::Ber).map_err(|_| Sw::WrongData)?;
        out.push(t);
        data = rest;
    }
}

/// The data field with encrypted parts decrypted (`None`: as it came), after the checks of P1
/// (RFU codings `6A86`) and of the DGI structure (`6A80`). Encrypted DGIs: each DGI's data is
/// decrypted, its identifier and length are in clear (EMV CPS, which GP's DGI format follows);
/// other encrypted data: the whole field.
fn decrypted(card: &Env<'_, '_>, ch: u8, sd: &Aid, s: &StoreData<'_>) -> Result<Option<Vec<u8>>, Sw> {
    let format = s.format()?;
    if s.encryption()? != StoreEncryption::Encrypted {
        if format == StoreFormat::Dgi {
            parse_dgis(s.data)?;
        }
        return Ok(None);
    }
    let kvn = card.session(ch).and_then(|s| s.kvn()).ok_or(Sw::SecurityNotSatisfied)?;
    // The Key-DEK of the key set this SD's session was opened with (as PUT KEY's).
    let sd_keys = card.image().instance(sd).and_then(|i| i.keys.as_ref()).ok_or(Sw::ReferencedDataNotFound)?;
    let dek = sd_keys.key_set(kvn).ok_or(Sw::SecurityNotSatisfied)?.dek.clone();
    if format != StoreFormat::Dgi {
        return Ok(Some(decrypt_data(dek.expose(), s.data)?.to_vec()));
    }
    let mut out = Vec::with_capacity(s.data.len());
    for d in parse_dgis(s.data)? {
        encode_dgi(d.tag, &decrypt_data(dek.expose(), d.value)?, &mut out);
    }
    Ok(Some(out))
}

/// STORE DATA to the SD itself: BER-TLV (or no format) of the data objects it keeps.
fn store_own(card: &mut Env<'_, '_>, sd: &Aid, tlvs: &[tlv::Tlv<'_>]) -> Outcome {
    let is_isd = card.image().instance(sd).is_some_and(|i| i.kind == InstanceKind::IssuerSecurityDomain);
    // Check every TLV before changing anything.
    for t in tlvs {
        match t.tag {
            0x42 | 0x45 if is_isd => {}
            0x4F if is_isd => {
                let new = Aid::new(t.value).ok_or(Sw::WrongData)?;
                if &new != sd && card.image().aid_in_use(&new) {
                    return Err(Sw::ConditionsNotSatisfied);
                }
            }
            _ => return Err(Sw::ReferencedDataNotFound),
        }
    }
    for t in tlvs {
        let img = card.image_mut();
        match t.tag {
            0x42 => img.identity.iin = t.value.to_vec(),
            0x45 => img.identity.cin = t.value.to_vec(),
            _ => {
                // Renaming the ISD (GPP `--rename-isd`): associations follow it.
                let new = Aid::new(t.value).ok_or(Sw::WrongData)?;
                let old = img.isd().aid.clone();
                for i in img.instances.iter_mut() {
                    if i.sd == old {
                        i.sd = new.clone();
                    }
                }
                for l in img.load_files.iter_mut() {
                    if l.sd == old {
                        l.sd = new.clone();
                    }
                }
                img.isd_mut().aid = new.clone();
                card.rename(&old, &new);
            }
        }
    }
    Ok(Response::ok())
}
