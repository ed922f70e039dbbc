//! MANAGE CHANNEL (ISO 7816-4 §11.1.2; GPCS §11.7; `shared/reference/globalplatform.md` §D.2).

use super::{Channel, Runtime};
use crate::apdu::{Command, Response};
use crate::card::Outcome;
use crate::crypto::CardRng;
use crate::sw::Sw;

impl Runtime {
    /// `0x 70 00 P2 [Le]` opens a channel (P2 = 00: the next free one, returned in the data;
    /// P2 = 01-13: that one); `0x 70 80 P2` closes channel P2 (00: the channel of the CLA).
    pub(super) fn manage_channel(&mut self, rng: &mut CardRng, origin: u8, cmd: &Command) -> Outcome {
        if !cmd.data.is_empty() {
            return Err(Sw::WrongLength);
        }
        match cmd.p1 {
            0x00 => self.open_channel(rng, origin, cmd),
            0x80 => self.close_channel(rng, origin, cmd.p2),
            _ => Err(Sw::IncorrectP1P2),
        }
    }

    fn open_channel(&mut self, rng: &mut CardRng, origin: u8, cmd: &Command) -> Outcome {
        // The channel table has at most 20 entries (ISO 7816-4 §5.1.1).
        #[allow(clippy::cast_possible_truncation)]
        let n = self.channels.len() as u8;
        let ch = match cmd.p2 {
            0x00 => (1..n).find(|&c| !self.channel_open(c)).ok_or(Sw::FunctionNotSupported)?,
            c if c < 20 => {
                if c >= n {
                    return Err(Sw::FunctionNotSupported);
                }
                if self.channel_open(c) {
                    // Already open: ISO gives no better code than "function not supported".
                    return Err(Sw::FunctionNotSupported);
                }
                c
            }
            _ => return Err(Sw::IncorrectP1P2),
        };
        self.channels[ch as usize] = Some(Channel::default());
        // From the basic channel the new channel gets the default application; from channel N
        // the application selected on N (GPCS §11.7.2; Java Card multiselection).
        let app = if origin == 0 { Some(self.image.default_selected()) } else { self.selected(origin).cloned() };
        if let Some(app) = app {
            let _ = self.select_instance(rng, ch, &app, &Command::new(0x00, 0xA4, 0x04, 0x00));
        }
        Ok(if cmd.p2 == 0x00 { Response::data(vec![ch]) } else { Response::ok() })
    }

    fn close_channel(&mut self, rng: &mut CardRng, origin: u8, p2: u8) -> Outcome {
        let ch = if p2 == 0 { origin } else { p2 };
        if ch == 0 {
            // The basic channel can never be closed.
            return Err(Sw::IncorrectP1P2);
        }
        if ch >= 20 {
            return Err(Sw::IncorrectP1P2);
        }
        if !self.channel_open(ch) {
            return Err(Sw::Warning);
        }
        self.deselect_channel(rng, ch);
        self.channels[ch as usize] = None;
        Ok(Response::ok())
    }
}
