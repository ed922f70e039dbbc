//! LOAD (GPCS §11.6; `globalplatform.md` §B.6): the blocks of a load file announced by INSTALL
//! [for load], gathered on the channel and checked (hash, DAP blocks) and recorded at the last
//! block.

use super::cap::CapFile;
use super::dap;
use super::env::Env;
use super::registry::{LoadFile, ELF_LOADED};
use crate::apdu::{Command, Response};
use crate::card::{Aid, Outcome};
pub use crate::proto::gp::Load;
// The Load File as LOAD carries it; the registry's `LoadFile` is the recorded ELF.
use crate::proto::gp::LoadFile as WireFile;
use crate::sw::Sw;
use sha2::Digest;

/// The largest load file accepted.
pub const MAX_LOAD_FILE: usize = 64 * 1024;

/// A load in progress on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLoad {
    elf: Aid,
    sd: Aid,
    hash: Vec<u8>,
    next_block: u8,
    data: Vec<u8>,
}

impl PendingLoad {
    pub fn new(elf: Aid, sd: Aid, hash: Vec<u8>) -> PendingLoad {
        PendingLoad { elf, sd, hash, next_block: 0, data: Vec::new() }
    }
}

/// The hash of the Load File Data Block with the algorithm its length names.
fn digest(len: usize, b: &[u8]) -> Vec<u8> {
    match len {
        20 => sha1::Sha1::digest(b).to_vec(),
        32 => sha2::Sha256::digest(b).to_vec(),
        48 => sha2::Sha384::digest(b).to_vec(),
        _ => sha2::Sha512::digest(b).to_vec(),
    }
}

/// The DAP checks of a complete Load File (GPCS §9.2.1, T11-58; `applet-spec/isd.md`, "DAP
/// verification"): each SD of [`dap::verifiers`] finds the DAP block addressed to it and it
/// verifies over the Load File Data Block Hash of INSTALL [for load] with one of its DAP keys.
/// A missing or wrong one refuses the load with `6A80`, as does a required DAP without a hash.
/// DAP blocks for other SDs are not checked (GPCS leaves them to their SDs; none is required).
fn check_daps(card: &Env<'_, '_>, target: &Aid, hash: &[u8], file: &WireFile<'_>) -> Result<(), Sw> {
    for sd in dap::verifiers(card.image(), target) {
        let block = file.dap_for(&sd).ok_or(Sw::WrongData)?;
        let keys = card.image().instance(&sd).and_then(|i| i.keys.as_ref()).ok_or(Sw::WrongData)?;
        if hash.is_empty() || !dap::verify(keys, hash, &block.signature) {
            return Err(Sw::WrongData);
        }
    }
    Ok(())
}

/// LOAD `80 E8 P1 P2 Lc block 00`. Any error abandons the load.
pub fn load(card: &mut Env<'_, '_>, cmd: &Command) -> Outcome {
    let g = card.channel_state();
    let mut pending = g.load.take().ok_or(Sw::ConditionsNotSatisfied)?;
    let l = Load::try_from(cmd)?;
    if l.block != pending.next_block {
        return Err(Sw::IncorrectP1P2);
    }
    if pending.data.len() + l.data.len() > MAX_LOAD_FILE {
        return Err(Sw::NotEnoughMemory);
    }
    pending.data.extend_from_slice(l.data);
    if !l.last {
        pending.next_block = pending.next_block.checked_add(1).ok_or(Sw::IncorrectP1P2)?;
        g.load = Some(pending);
        return Ok(Response::data(vec![0x00]));
    }
    let file = WireFile::parse(&pending.data)?;
    let block = file.lfdb;
    if !pending.hash.is_empty() && digest(pending.hash.len(), block) != pending.hash {
        return Err(Sw::WrongData);
    }
    check_daps(card, &pending.sd, &pending.hash, &file)?;
    let cap = CapFile::parse(block).map_err(|_| Sw::WrongData)?;
    if cap.info.package_aid != pending.elf {
        return Err(Sw::WrongData);
    }
    if card.image().aid_in_use(&pending.elf) {
        return Err(Sw::ConditionsNotSatisfied);
    }
    // The code of a package whose every applet the card has natively (its load file is in ROM;
    // a CAP of it only registers, as GPP's test CAPs do) runs natively; anything else goes to
    // the module that runs load files (the JCVM), which may refuse it with its status word.
    let native = !cap.info.applets.is_empty() && cap.info.applets.iter().all(|m| card.has_module(&pending.elf, m));
    let modules = match native {
        true => cap.info.applets,
        false => card.load(&pending.elf, block).unwrap_or(Ok(cap.info.applets))?,
    };
    card.image_mut().load_files.push(LoadFile {
        aid: pending.elf,
        version: cap.info.version.to_vec(),
        modules,
        sd: pending.sd,
        life_cycle: ELF_LOADED,
    });
    Ok(Response::data(vec![0x00]))
}
