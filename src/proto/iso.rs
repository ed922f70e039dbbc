//! The interindustry commands host code needs around the applets (ISO 7816-4): SELECT by DF
//! name (§11.2.2), MANAGE CHANNEL (§11.1.2), GET RESPONSE (§11.7.1).

use crate::apdu::{Class, Command, Response, MAX_CHANNEL};
use crate::sw::Sw;

/// SELECT by DF name (`00 A4 04 P2 [Lc AID] [Le]`, ISO 7816-4 §11.2.2, T61-62): an AID or a
/// prefix of one, empty for the default application (GPP's ISD discovery `00A4040000`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectAid {
    pub aid: Vec<u8>,
    /// P2 b2: the next application with this prefix (else the first or only one).
    pub next: bool,
    /// P2 b4-b3 `00`: return the FCI (with Le `00`); `0C`: no response data, no Le.
    pub fci: bool,
}

impl SelectAid {
    /// The first or only application `aid`, with its FCI.
    pub fn fci(aid: &[u8]) -> SelectAid {
        SelectAid { aid: aid.to_vec(), next: false, fci: true }
    }

    /// The first or only application `aid`, no response data (P2 `0C`, as the JPKI clients send).
    pub fn no_data(aid: &[u8]) -> SelectAid {
        SelectAid { aid: aid.to_vec(), next: false, fci: false }
    }

    pub fn to_command(&self) -> Command {
        let p2 = if self.fci { 0x00 } else { 0x0C } | if self.next { 0x02 } else { 0x00 };
        let c = Command::new(0x00, 0xA4, 0x04, p2).with_data(self.aid.clone());
        if self.fci {
            c.with_ne(256)
        } else {
            c
        }
    }
}

impl TryFrom<&Command> for SelectAid {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        if c.ins != 0xA4 {
            return Err(Sw::InsNotSupported);
        }
        if c.p1 != 0x04 {
            return Err(Sw::IncorrectP1P2);
        }
        // P2 b8-b5 RFU; b4-b3 `00` FCI or `0C` none (FCP and FMD are not offered); b2-b1 first
        // or next (last and previous are not offered).
        let fci = match c.p2 & 0x0C {
            0x00 => true,
            0x0C => false,
            _ => return Err(Sw::IncorrectP1P2),
        };
        let next = match c.p2 & 0xF3 {
            0x00 => false,
            0x02 => true,
            _ => return Err(Sw::IncorrectP1P2),
        };
        if c.data.len() > 16 {
            return Err(Sw::WrongLength);
        }
        Ok(SelectAid { aid: c.data.clone(), next, fci })
    }
}

/// MANAGE CHANNEL (ISO 7816-4 §11.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManageChannel {
    /// `00 70 00 00 01`: the card picks the channel and answers its number.
    Open,
    /// `CLA(ch) 70 80 ch`: closes channel `ch`, sent on that channel (what Android's
    /// `Terminal.closeChannel` sends).
    Close(u8),
}

impl ManageChannel {
    pub fn to_command(&self) -> Result<Command, ManageChannelError> {
        match *self {
            ManageChannel::Open => Ok(Command::new(0x00, 0x70, 0x00, 0x00).with_ne(1)),
            ManageChannel::Close(ch) => {
                let cla = Class::encode(ch, false, false).map_err(|_| ManageChannelError::OutOfRange(ch))?;
                Ok(Command::new(cla, 0x70, 0x80, ch))
            }
        }
    }

    /// The channel an answer to [`ManageChannel::Open`] names. A card that answers something
    /// else than one byte naming a channel 1-19 gets a typed error, never a panic: the number
    /// comes from outside.
    pub fn opened(r: &Response) -> Result<u8, ManageChannelError> {
        if r.sw != Sw::Ok {
            return Err(ManageChannelError::Refused(r.sw));
        }
        match r.data.as_slice() {
            [ch] if (1..=MAX_CHANNEL).contains(ch) => Ok(*ch),
            [ch] => Err(ManageChannelError::OutOfRange(*ch)),
            other => Err(ManageChannelError::BadAnswer(other.to_vec())),
        }
    }
}

impl TryFrom<&Command> for ManageChannel {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        if c.ins != 0x70 {
            return Err(Sw::InsNotSupported);
        }
        match (c.p1, c.p2) {
            (0x00, 0x00) => Ok(ManageChannel::Open),
            (0x80, ch) if ch <= MAX_CHANNEL => Ok(ManageChannel::Close(ch)),
            (0x80, _) => Err(Sw::ChannelNotSupported),
            _ => Err(Sw::IncorrectP1P2),
        }
    }
}

/// Why a logical channel could not be opened or closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManageChannelError {
    #[error("MANAGE CHANNEL answered {} ({})", .0, .0.meaning())]
    Refused(Sw),
    #[error("MANAGE CHANNEL named channel {0}, which no class byte codes (1-19)")]
    OutOfRange(u8),
    #[error("MANAGE CHANNEL answered {} instead of one channel number", hex::encode_upper(.0))]
    BadAnswer(Vec<u8>),
}

/// GET RESPONSE (`CLA C0 00 00 Le`, ISO 7816-4 §11.7.1): the rest after `61xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetResponse {
    /// Ne, 1-256 (`61 00` asks for 256).
    pub ne: usize,
}

impl GetResponse {
    /// The GET RESPONSE that `61 xx` asks for.
    pub fn after(remaining: u8) -> GetResponse {
        GetResponse { ne: if remaining == 0 { 256 } else { remaining as usize } }
    }

    pub fn to_command(&self) -> Command {
        Command::new(0x00, 0xC0, 0x00, 0x00).with_ne(self.ne)
    }
}

impl TryFrom<&Command> for GetResponse {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        if c.ins != 0xC0 {
            return Err(Sw::InsNotSupported);
        }
        if c.p1p2() != 0 {
            return Err(Sw::IncorrectP1P2);
        }
        if !c.data.is_empty() {
            return Err(Sw::WrongLength);
        }
        Ok(GetResponse { ne: c.ne.ok_or(Sw::WrongLength)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn wire(c: Command) -> String {
        hex::encode_upper(c.to_bytes())
    }

    #[test]
    fn exact_bytes() {
        assert_eq!(wire(SelectAid::fci(&[]).to_command()), "00A4040000");
        assert_eq!(wire(SelectAid::fci(&[0xA0, 0, 0, 1, 0x51]).to_command()), "00A4040005A00000015100");
        assert_eq!(wire(SelectAid::no_data(&[0xD3, 0x92, 0xF0, 0, 0x26]).to_command()), "00A4040C05D392F00026");
        assert_eq!(wire(ManageChannel::Open.to_command().unwrap()), "0070000001");
        assert_eq!(wire(ManageChannel::Close(2).to_command().unwrap()), "02708002");
        assert_eq!(wire(ManageChannel::Close(7).to_command().unwrap()), "43708007");
        assert_eq!(wire(GetResponse::after(0).to_command()), "00C0000000");
        assert_eq!(wire(GetResponse::after(0x10).to_command()), "00C0000010");
    }

    #[test]
    fn odd_channel_answers_are_errors() {
        let r = |d: &[u8], sw| Response { data: d.to_vec(), sw };
        assert_eq!(ManageChannel::opened(&r(&[3], Sw::Ok)), Ok(3));
        assert_eq!(ManageChannel::opened(&r(&[20], Sw::Ok)), Err(ManageChannelError::OutOfRange(20)));
        assert_eq!(ManageChannel::opened(&r(&[0], Sw::Ok)), Err(ManageChannelError::OutOfRange(0)));
        assert_eq!(ManageChannel::opened(&r(&[0xFF], Sw::Ok)), Err(ManageChannelError::OutOfRange(0xFF)));
        assert_eq!(ManageChannel::opened(&r(&[], Sw::Ok)), Err(ManageChannelError::BadAnswer(vec![])));
        assert_eq!(ManageChannel::opened(&r(&[1, 2], Sw::Ok)), Err(ManageChannelError::BadAnswer(vec![1, 2])));
        assert_eq!(
            ManageChannel::opened(&r(&[], Sw::ChannelNotSupported)),
            Err(ManageChannelError::Refused(Sw::ChannelNotSupported))
        );
        assert_eq!(ManageChannel::Close(20).to_command(), Err(ManageChannelError::OutOfRange(20)));
    }

    #[test]
    fn card_side_refusals() {
        let p = |h: &str| Command::parse(&hex::decode(h).unwrap()).unwrap();
        assert_eq!(SelectAid::try_from(&p("00A4040405A000000151")), Err(Sw::IncorrectP1P2));
        assert_eq!(SelectAid::try_from(&p("00A4020C020001")), Err(Sw::IncorrectP1P2));
        assert_eq!(ManageChannel::try_from(&p("0070801400")), Err(Sw::ChannelNotSupported));
        assert_eq!(ManageChannel::try_from(&p("0070010000")), Err(Sw::IncorrectP1P2));
        assert_eq!(GetResponse::try_from(&p("00C00000")), Err(Sw::WrongLength));
    }

    proptest! {
        #[test]
        fn select_round_trips(aid in proptest::collection::vec(any::<u8>(), 0..=16), next: bool, fci: bool) {
            let s = SelectAid { aid, next, fci };
            prop_assert_eq!(SelectAid::try_from(&s.to_command()), Ok(s));
        }

        #[test]
        fn manage_channel_round_trips(ch in 0u8..=19, open: bool) {
            let m = if open { ManageChannel::Open } else { ManageChannel::Close(ch) };
            prop_assert_eq!(ManageChannel::try_from(&m.to_command().unwrap()), Ok(m));
        }

        #[test]
        fn get_response_round_trips(ne in 1usize..=256) {
            let g = GetResponse { ne };
            prop_assert_eq!(GetResponse::try_from(&g.to_command()), Ok(g));
        }
    }
}
