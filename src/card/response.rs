//! Response length, once for every instance (ISO 7816-4 §5.1, §5.3.4; JCRE §9 and the `APDU`
//! class): an answer never carries more than Ne bytes.
//!
//! The card's choices, those of most Java Card (JCOP) cards:
//! * Ne is the Le field; a command without Le (case 1 or 3) is answered as under T=1, where
//!   the JCRE takes Ne as the largest length the form allows (256 short, 65536 extended), so an
//!   applet's data is not lost.
//! * Data of at most 256 bytes that does not fit Ne: `6Cxx` with the exact length and no data
//!   (ISO 7816-4 §5.3.4, "wrong Le field; xx encodes the exact number"); the host sends again.
//! * Data longer than 256 bytes that does not fit: the first Ne bytes and `61xx`, the rest
//!   served by GET RESPONSE `0x C0 00 00 Le` on the same channel (xx = what remains, `00` for
//!   256 or more), the last part with the instance's own status word. Any other command on
//!   that channel drops what was left.

use super::Runtime;
use crate::apdu::{Command, Response};
use crate::sw::Sw;

/// What GET RESPONSE can still fetch on one channel.
#[derive(Debug, Clone, Default)]
pub struct PendingResponse {
    data: Vec<u8>,
    sw: Option<Sw>,
}

/// Ne as the runtime reads it: the Le field, or, without one, the largest length the form
/// allows (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ne(usize);

impl Ne {
    pub fn of(cmd: &Command) -> Ne {
        Ne(cmd.ne.unwrap_or(if cmd.extended { 65536 } else { 256 }))
    }

    /// The runtime's rule for data of `len` bytes, for an instance that streams its answer
    /// (keeps an offset) and must not advance when the host will have to ask again: `6Cxx`
    /// exactly when [`Runtime::limit_response`] answers it; `Ok` when the data fits, or is
    /// longer than 256 bytes and will come through `61xx` and GET RESPONSE.
    pub fn check(self, len: usize) -> Result<(), Sw> {
        if len > self.0 && len <= 256 {
            // len <= 256 here, and 256 is sent as 00 (ISO 7816-4 §5.1).
            #[allow(clippy::cast_possible_truncation)]
            return Err(Sw::WrongLe(len as u8));
        }
        Ok(())
    }
}

/// `61xx` for what remains.
// n < 256 in the branch that casts.
#[allow(clippy::cast_possible_truncation)]
fn bytes_remaining(n: usize) -> Sw {
    Sw::BytesRemaining(if n >= 256 { 0 } else { n as u8 })
}

impl Runtime {
    /// Serves GET RESPONSE from the channel's pending data; any other command on the channel
    /// drops it. `None`: the command goes on to dispatch.
    pub(super) fn take_pending(&mut self, cmd: &Command) -> Option<Response> {
        let class = self.class_of(cmd.cla).ok()?;
        let c = self.channels.get_mut(class.channel as usize)?.as_mut()?;
        let sw = c.pending.sw?;
        if class.proprietary || class.secure_messaging || cmd.ins != 0xC0 {
            c.pending = PendingResponse::default();
            return None;
        }
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return Some(Response::status(Sw::IncorrectP1P2));
        }
        let ne = cmd.ne.unwrap_or(256).min(c.pending.data.len());
        let part: Vec<u8> = c.pending.data.drain(..ne).collect();
        let left = c.pending.data.len();
        if left == 0 {
            c.pending = PendingResponse::default();
            return Some(Response { data: part, sw });
        }
        Some(Response { data: part, sw: bytes_remaining(left) })
    }

    /// Fits a response to the command's Ne (module doc).
    pub(super) fn limit_response(&mut self, cmd: &Command, mut rsp: Response) -> Response {
        let Ne(ne) = Ne::of(cmd);
        let len = rsp.data.len();
        if len <= ne {
            return rsp;
        }
        if let Err(sw) = Ne(ne).check(len) {
            return Response::status(sw);
        }
        let rest = rsp.data.split_off(ne);
        let left = rest.len();
        if let Some(c) = self.class_of(cmd.cla).ok().and_then(|cl| self.channels.get_mut(cl.channel as usize)?.as_mut())
        {
            c.pending = PendingResponse { data: rest, sw: Some(rsp.sw) };
        }
        Response { data: rsp.data, sw: bytes_remaining(left) }
    }
}
