//! Logical channels from the host side, opened and closed in this one place (ISO 7816-4
//! §11.1.2): the SEI-TSM's ARA-M updates, the SP-TSM's JPKI session and the ACE's rule reads
//! each work on a channel of their own. Whatever channel number a card answers, a host gets a
//! typed error rather than a panic when no class byte can code it.

use crate::apdu::{Command, Response};
use crate::proto::iso::{ManageChannel, ManageChannelError};
use crate::transport::{Transport, TransportError};

/// Why a channel could not be opened or closed.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the card's answer to MANAGE CHANNEL is shorter than a status word")]
    NoResponse,
    #[error(transparent)]
    Manage(#[from] ManageChannelError),
}

fn send(t: &mut dyn Transport, c: &Command) -> Result<Response, ChannelError> {
    let raw = t.transmit(&c.to_bytes())?;
    Response::parse(&raw).ok_or(ChannelError::NoResponse)
}

/// MANAGE CHANNEL open on the basic channel; the channel number the card assigned (1-19).
pub fn open(t: &mut dyn Transport) -> Result<u8, ChannelError> {
    let r = send(t, &ManageChannel::Open.to_command()?)?;
    Ok(ManageChannel::opened(&r)?)
}

/// MANAGE CHANNEL close of `ch`, sent on that channel.
pub fn close(t: &mut dyn Transport, ch: u8) -> Result<(), ChannelError> {
    let r = send(t, &ManageChannel::Close(ch).to_command()?)?;
    match r.sw {
        crate::sw::Sw::Ok => Ok(()),
        sw => Err(ManageChannelError::Refused(sw).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card that answers every command with the same bytes.
    struct Fixed(Vec<u8>);

    impl Transport for Fixed {
        fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
            Ok(self.0.clone())
        }
        fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
            Ok(vec![0x3B, 0x00])
        }
        fn name(&self) -> String {
            "fixed".into()
        }
    }

    #[test]
    fn odd_answers_are_errors_not_panics() {
        for (answer, want) in [
            (&[0x14, 0x90, 0x00][..], "channel 20"),
            (&[0x00, 0x90, 0x00][..], "channel 0"),
            (&[0x90, 0x00][..], "instead of one channel number"),
            (&[0x01, 0x02, 0x90, 0x00][..], "0102 instead"),
            (&[0x68, 0x81][..], "6881"),
            (&[0x90][..], "shorter than a status word"),
        ] {
            let e = open(&mut Fixed(answer.to_vec())).unwrap_err().to_string();
            assert!(e.contains(want), "{answer:02X?}: {e}");
        }
        assert_eq!(open(&mut Fixed(vec![0x13, 0x90, 0x00])).unwrap(), 19);
        assert!(close(&mut Fixed(vec![0x90, 0x00]), 20).is_err());
        assert!(close(&mut Fixed(vec![0x62, 0x00]), 1).is_err());
        close(&mut Fixed(vec![0x90, 0x00]), 3).unwrap();
    }
}
