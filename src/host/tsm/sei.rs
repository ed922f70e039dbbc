//! The SEI-TSM, owner of the ISD (`seeds.md` §1, §3.1): prepares a phone for the service (clears
//! what a previous owner left, creates the SP's security domain, hands its keys over, installs
//! the JPKI applet under it, writes the ARA-M rule for the JPKI app) and removes it again. The
//! ARA-M rules go through GPD_SPE_013 STORE DATA on the ARA-M's channel in the ISD's SCP03
//! session (`applet-spec/ara-m.md`); the rest through the card manager (`applet-spec/isd.md`).
//! `applet-spec/flows.md` lists the APDUs.

use super::sp::TsmError;
use crate::card::Aid;
use crate::host::channel;
use crate::host::gp::{GpClient, GpError};
use crate::proto::ara_m::rules::{AidRef, ApduRule, ArRule, NewRule, RefKey};
use crate::proto::ara_m::StoreCommand;
use crate::proto::iso::SelectAid;
use crate::scp03::host::{HostError, HostSession, OpenOptions};
use crate::scp03::{SecurityLevel, StaticKeys};
use crate::sw::Sw;
use crate::transport::scp::{send, SessionIo};
use crate::transport::Transport;
use rand_core::RngCore;

/// ARA-M AID (GPD_SPE_013; `globalplatform.md` §C.1).
pub use crate::proto::ara_m::ARA_M_AID;

/// The rule granting an app (certificate hash) APDU and NFC access to one AID:
/// `E2{E1{4F aid, C1 hash}, E3{D0 01 01, D1 01 01}}`.
pub fn allow_rule(aid: &[u8], cert_hash: &[u8]) -> NewRule {
    NewRule::new(
        RefKey { aid: AidRef::Aid(aid.to_vec()), hash: cert_hash.to_vec(), pkg: None },
        ArRule { apdu: Some(ApduRule::Always), nfc: Some(true), perm: None },
    )
}

/// Runs STORE DATA commands (`80 E2 90 00 <command DO>`) on the ARA-M inside the ISD's SCP03
/// session, on a logical channel of their own.
pub fn ara_store(
    t: &mut dyn Transport,
    keys: &StaticKeys,
    kvn: u8,
    rng: &mut dyn RngCore,
    commands: &[StoreCommand],
) -> Result<(), TsmError> {
    let ch = channel::open(t)?;
    let result = (|| {
        let on_ch = |c: crate::apdu::Command| c.on_channel(ch).map_err(|e| HostError::Channel(e.0));
        let r = send(t, &on_ch(SelectAid::fci(ARA_M_AID).to_command())?)?;
        if r.sw != Sw::Ok {
            return Err(TsmError::Card { what: "SELECT ARA-M", sw: r.sw });
        }
        let opts =
            OpenOptions { kvn, level: SecurityLevel::C_DEC_C_MAC, host_challenge: None, channel: ch, s16: false };
        let mut s = HostSession::open(t, keys, &opts, rng)?;
        for c in commands {
            let r = s.transmit(t, &on_ch(c.to_command())?)?;
            // A delete that finds nothing to delete answers 6A88: the goal is reached.
            let is_delete = matches!(
                c,
                StoreCommand::DeleteAll
                    | StoreCommand::DeleteAid(_)
                    | StoreCommand::DeleteRef(_)
                    | StoreCommand::DeleteRule(_)
            );
            let nothing_to_delete = is_delete && r.sw == Sw::ReferencedDataNotFound;
            if r.sw != Sw::Ok && !nothing_to_delete {
                return Err(TsmError::Card { what: "STORE DATA (ARA-M)", sw: r.sw });
            }
        }
        Ok(())
    })();
    let _ = channel::close(t, ch);
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
    ara_store(t, keys, kvn, rng, &[StoreCommand::Store(allow_rule(aid, cert_hash))])
}

/// JPKI's built-in load file, module and instance (`applet-spec/jpki.md`).
pub const JPKI_ELF: &[u8] = &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01];
/// The JPKI applet class.
pub const JPKI_MODULE: &[u8] = &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01];
/// The JPKI instance.
pub const JPKI_INSTANCE: &[u8] = &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// The SP's (JPKI service's) security domain AID this emulator's SEI-TSM creates.
pub const SP_SSD: &[u8] = &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x4A, 0x50, 0x4B, 0x49];

fn gp(e: GpError) -> TsmError {
    TsmError::Data(e.to_string())
}

/// What the SEI-TSM found and did while preparing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// A JPKI instance was already there (the same user's after a reinstall, or a previous
    /// owner's on a used phone) and was deleted with all its keys.
    pub removed_old_applet: bool,
    /// A previous SP security domain was deleted.
    pub removed_old_ssd: bool,
}

/// Prepares a phone (`seeds.md` §3.1 phase 2): delete a leftover JPKI instance and SP domain,
/// create the SP's security domain, replace its initial keys with the SP-TSM's (`sp_keys`, KVN
/// 01), install the JPKI applet and extradite it to that domain, and store the ARA-M rule that
/// lets only the JPKI app (`app_hash`) reach it (rules a previous owner left for the applet are
/// deleted first).
pub fn prepare(
    t: &mut dyn Transport,
    isd_keys: &StaticKeys,
    sp_keys: &StaticKeys,
    app_hash: &[u8],
    rng: &mut dyn RngCore,
) -> Result<Prepared, TsmError> {
    let jpki = Aid::from_static(JPKI_INSTANCE);
    let ssd = Aid::from_static(SP_SSD);
    let mut done = Prepared::default();
    {
        let mut c = GpClient::open(t, None, isd_keys, 0, SecurityLevel::C_DEC_C_MAC, rng).map_err(gp)?;
        let reg = c.get_status(0x40).map_err(gp)?;
        if reg.iter().any(|e| e.aid == jpki) {
            c.delete(&jpki, false).map_err(gp)?;
            done.removed_old_applet = true;
        }
        if reg.iter().any(|e| e.aid == ssd) {
            c.delete(&ssd, false).map_err(gp)?;
            done.removed_old_ssd = true;
        }
        // A security domain with no further privilege (GPCS §6.6.1: 80 = Security Domain).
        c.create_ssd(&ssd, &[0x80, 0x00, 0x00]).map_err(gp)?;
    }
    {
        // The new domain starts with a copy of the ISD's keys (applet-spec/isd.md); hand it
        // over by replacing them with the SP-TSM's.
        let mut c = GpClient::open(t, Some(&ssd), isd_keys, 0, SecurityLevel::C_DEC_C_MAC, rng).map_err(gp)?;
        let kvn = c.session().info().kvn;
        let (e, m, d) =
            (sp_keys.enc().expose().to_vec(), sp_keys.mac().expose().to_vec(), sp_keys.dek().expose().to_vec());
        c.put_key_set(Some(kvn), kvn, &e, &m, &d).map_err(gp)?;
    }
    {
        let mut c = GpClient::open(t, None, isd_keys, 0, SecurityLevel::C_DEC_C_MAC, rng).map_err(gp)?;
        c.install(&Aid::from_static(JPKI_ELF), &Aid::from_static(JPKI_MODULE), &jpki, &[0x00], &[], true)
            .map_err(gp)?;
        c.extradite(&jpki, &ssd).map_err(gp)?;
    }
    let delete_old = StoreCommand::DeleteAid(AidRef::Aid(JPKI_INSTANCE.to_vec()));
    ara_store(t, isd_keys, 0, rng, &[delete_old, StoreCommand::Store(allow_rule(JPKI_INSTANCE, app_hash))])?;
    Ok(done)
}

/// Removes the service from a phone (revocation, change of phone, factory reset through the
/// maker server; `seeds.md` §3.6-§3.8): the JPKI applet with every key in it, the SP's domain,
/// and the ARA-M rules for the applet. Whatever is already gone is skipped.
pub fn remove(t: &mut dyn Transport, isd_keys: &StaticKeys, rng: &mut dyn RngCore) -> Result<(), TsmError> {
    let jpki = Aid::from_static(JPKI_INSTANCE);
    let ssd = Aid::from_static(SP_SSD);
    {
        let mut c = GpClient::open(t, None, isd_keys, 0, SecurityLevel::C_DEC_C_MAC, rng).map_err(gp)?;
        let reg = c.get_status(0x40).map_err(gp)?;
        if reg.iter().any(|e| e.aid == jpki) {
            c.delete(&jpki, false).map_err(gp)?;
        }
        if reg.iter().any(|e| e.aid == ssd) {
            c.delete(&ssd, false).map_err(gp)?;
        }
    }
    ara_store(t, isd_keys, 0, rng, &[StoreCommand::DeleteAid(AidRef::Aid(JPKI_INSTANCE.to_vec()))])
}
