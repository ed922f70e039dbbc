//! The SEI-TSM, owner of the ISD (`seeds.md` §1): what it does through the ISD's secure channel.
//! So far: the ARA-M rule that lets an app reach an applet (GPD_SPE_013 STORE DATA, through the
//! ARA-M's channel and the ISD's SCP03 session; `applet-spec/ara-m.md`).

use super::sp::TsmError;
use crate::apdu::{Class, Command, Response};
use crate::scp03::host::{HostSession, OpenOptions};
use crate::scp03::{SecurityLevel, StaticKeys};
use crate::sw::Sw;
use crate::tlv::tlv;
use crate::transport::Transport;
use rand_core::RngCore;

/// ARA-M AID (GPD_SPE_013; `globalplatform.md` §C.1).
pub const ARA_M_AID: [u8; 9] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x41, 0x43, 0x4C, 0x00];

/// The REF-AR-DO granting an app (certificate hash) APDU and NFC access to one AID:
/// `E2{E1{4F aid, C1 hash}, E3{D0 01 01, D1 01 01}}`.
pub fn allow_rule(aid: &[u8], cert_hash: &[u8]) -> Vec<u8> {
    let mut ref_do = tlv(0x4F, aid);
    ref_do.extend(tlv(0xC1, cert_hash));
    let mut ar = tlv(0xD0, &[0x01]);
    ar.extend(tlv(0xD1, &[0x01]));
    let mut body = tlv(0xE1, &ref_do);
    body.extend(tlv(0xE3, &ar));
    tlv(0xE2, &body)
}

fn plain(t: &mut dyn Transport, c: &Command) -> Result<Response, TsmError> {
    let raw = t.transmit(&c.to_bytes())?;
    Response::parse(&raw).ok_or_else(|| TsmError::Data("response shorter than a status word".into()))
}

/// Runs STORE DATA commands (`80 E2 90 00 <command DO>`) on the ARA-M inside the ISD's SCP03
/// session, on a logical channel of their own.
pub fn ara_store(
    t: &mut dyn Transport,
    keys: &StaticKeys,
    kvn: u8,
    rng: &mut dyn RngCore,
    command_dos: &[Vec<u8>],
) -> Result<(), TsmError> {
    let r = plain(t, &Command::new(0x00, 0x70, 0x00, 0x00).with_ne(1))?;
    let ch = match (r.sw, r.data.as_slice()) {
        (Sw::Ok, [c]) => *c,
        (sw, _) => return Err(TsmError::Card { what: "MANAGE CHANNEL open", sw }),
    };
    let result = (|| {
        let sel =
            Command::new(Class::encode(ch, false, false), 0xA4, 0x04, 0x00).with_data(ARA_M_AID.to_vec()).with_ne(256);
        let r = plain(t, &sel)?;
        if r.sw != Sw::Ok {
            return Err(TsmError::Card { what: "SELECT ARA-M", sw: r.sw });
        }
        let opts = OpenOptions { kvn, level: SecurityLevel::C_DEC_C_MAC, host_challenge: None, channel: ch };
        let mut s = HostSession::open(t, keys, &opts, rng)?;
        for d in command_dos {
            let c = Command::new(Class::encode(ch, true, false), 0xE2, 0x90, 0x00).with_data(d.clone());
            let r = s.transmit(t, &c)?;
            if r.sw != Sw::Ok {
                return Err(TsmError::Card { what: "STORE DATA (ARA-M)", sw: r.sw });
            }
        }
        Ok(())
    })();
    let _ = plain(t, &Command::new(0x00, 0x70, 0x80, ch));
    result
}

/// Stores the rule that lets the app with `cert_hash` reach `aid`.
pub fn allow_app(
    t: &mut dyn Transport,
    keys: &StaticKeys,
    kvn: u8,
    rng: &mut dyn RngCore,
    aid: &[u8],
    cert_hash: &[u8],
) -> Result<(), TsmError> {
    // Command-Store-REF-AR-DO (F0).
    ara_store(t, keys, kvn, rng, &[tlv(0xF0, &allow_rule(aid, cert_hash))])
}
