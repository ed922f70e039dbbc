//! The Issuer Security Domain's command handling (GPCS ch. 11; facts in
//! `shared/reference/globalplatform.md` §B).

use crate::apdu::{Command, Response};
use crate::card::{Aid, Card, Outcome};
use crate::gp::scp;
use crate::sw::Sw;
use crate::tlv;

/// ISD commands, parsed from the APDU once.
#[derive(Debug, Clone, PartialEq, Eq)]
enum IsdCommand {
    /// GET DATA with the tag in P1P2 (GPCS §11.3).
    GetData { tag: u16 },
    /// INITIALIZE UPDATE (AmdD §7.1.1), GP class only.
    InitializeUpdate,
    /// EXTERNAL AUTHENTICATE (AmdD §7.1.2), GP class only.
    ExternalAuthenticate,
}

impl TryFrom<&Command> for IsdCommand {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        let gp_class = c.cla & 0x80 != 0;
        match c.ins {
            0xCA => Ok(IsdCommand::GetData { tag: c.p1p2() }),
            0x50 if gp_class => Ok(IsdCommand::InitializeUpdate),
            0x82 if gp_class => Ok(IsdCommand::ExternalAuthenticate),
            0x50 | 0x82 => Err(Sw::ClaNotSupported),
            // A SELECT the runtime could not match (unknown AID, or by file ID): the ISD has no
            // files, so "not found", as OpenSC's probes expect (pcsc.md §12.10).
            0xA4 => Err(Sw::FileNotFound),
            _ => Err(Sw::InsNotSupported),
        }
    }
}

/// SELECT: the FCI of GPCS T11-82, `6F L 84 L <AID> A5 L 9F65 01 FF`, the form real ISDs send
/// (`globalplatform.md` §B.2). P2 = 0C asks for no data.
pub fn select(card: &mut Card, _ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
    let _ = card;
    if cmd.p2 & 0x0C == 0x0C {
        return Ok(Response::ok());
    }
    let mut inner = tlv::tlv(0x84, aid.as_bytes());
    inner.extend(tlv::tlv(0xA5, &tlv::tlv(0x9F65, &[0xFF])));
    Ok(Response::data(tlv::tlv(0x6F, &inner)))
}

/// Commands for the ISD.
pub fn process(card: &mut Card, ch: u8, aid: &Aid, cmd: &Command) -> Outcome {
    match IsdCommand::try_from(cmd)? {
        IsdCommand::GetData { tag } => get_data(card, ch, tag),
        IsdCommand::InitializeUpdate => scp::initialize_update(card, ch, aid, cmd),
        IsdCommand::ExternalAuthenticate => scp::external_authenticate(card, ch, cmd),
    }
}

/// GET DATA returns the full TLV whatever the class (what real cards do; `globalplatform.md`
/// §B.3 uncertain point 4).
fn get_data(card: &Card, ch: u8, tag: u16) -> Outcome {
    let img = card.image();
    let isd = img.isd();
    let keys = isd.keys.as_ref();
    let value: Vec<u8> = match tag {
        0x9F7F => img.identity.cplc.clone(),
        0x0042 => img.identity.iin.clone(),
        0x0045 => img.identity.cin.clone(),
        0x00CF => img.identity.kdd.clone(),
        0x00C1 => {
            // Sequence counter of the default key set, 3 bytes for SCP03 (§A.5, uncertain point 3).
            let ks = keys.and_then(|k| k.key_sets.first()).ok_or(Sw::ReferencedDataNotFound)?;
            ks.seq_counter.to_be_bytes()[1..].to_vec()
        }
        // Current Security Level of this channel's session (GPCS T10-1, §11.3.3.1).
        0x00D3 => vec![scp::current_security_level(card, ch)],
        _ => return Err(Sw::ReferencedDataNotFound),
    };
    let t = if tag > 0xFF { tag as u32 } else { tag as u32 & 0xFF };
    Ok(Response::data(tlv::tlv(t, &value)))
}
