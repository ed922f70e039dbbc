//! The card as one app sees it over OMAPI: every APDU passes the ACE first (`applet-spec/ara-m.md`,
//! "the app's view"). A reader of `gpse serve --app HASH` puts this between pcscd and the card.
//!
//! The PC/SC client plays the app: its MANAGE CHANNEL + SELECT stand for OMAPI's
//! `openLogicalChannel(aid)` / `openBasicChannel(aid)`, so a SELECT by DF name is checked with
//! the ACE's channel decision (after refreshing the rules, as Android does on every channel open);
//! every other APDU on a channel is checked against the rules of the AID selected there. A
//! refusal answers `6982` (`Decision::refusal_sw`) and never reaches the card.

use super::{Ace, Decision};
use crate::apdu::{Class, Command};
use crate::transport::{Transport, TransportError};

/// The ACE view of one app over one card.
pub struct AppView {
    ace: Ace,
    hashes: Vec<Vec<u8>>,
    /// The AID the app selected on each channel (`None`: nothing selected yet).
    selected: [Option<Vec<u8>>; 20],
    /// The last decision, for logs.
    last: Option<Decision>,
}

impl AppView {
    /// The view of an app whose signing certificate hashes (SHA-1 and/or SHA-256) are `hashes`.
    pub fn new(hashes: Vec<Vec<u8>>) -> AppView {
        AppView { ace: Ace::new(), hashes, selected: Default::default(), last: None }
    }

    /// Power off, on or reset: the app's channels are gone.
    pub fn reset(&mut self) {
        self.selected = Default::default();
    }

    /// The decision that applied to the last APDU (none for APDUs that pass unchecked).
    pub fn last_decision(&self) -> Option<&Decision> {
        self.last.as_ref()
    }

    /// Sends `apdu` for the app: checked by the ACE, forwarded when allowed.
    pub fn transmit(&mut self, card: &mut dyn Transport, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.last = None;
        let Ok(cmd) = Command::parse(apdu) else {
            // Malformed: the card answers it as it would (6700); nothing to check.
            return card.transmit(apdu);
        };
        let Ok(class) = Class::parse(cmd.cla) else {
            return card.transmit(apdu);
        };
        let ch = class.channel as usize;
        match (class.proprietary, cmd.ins, cmd.p1) {
            // MANAGE CHANNEL: part of openLogicalChannel; closing forgets the channel.
            (false, 0x70, p1) => {
                let r = card.transmit(apdu)?;
                if p1 == 0x80 && r.ends_with(&[0x90, 0x00]) {
                    let closed = if cmd.p2 == 0 { ch } else { cmd.p2 as usize };
                    if let Some(s) = self.selected.get_mut(closed) {
                        *s = None;
                    }
                }
                Ok(r)
            }
            // SELECT by DF name: openLogicalChannel(aid).
            (false, 0xA4, 0x04) => {
                self.ace.refresh(card)?;
                let aid = (!cmd.data.is_empty()).then(|| cmd.data.clone());
                let d = self.ace.check_open(&self.hashes, aid.as_deref());
                let allowed = d.allowed;
                self.last = Some(d);
                if !allowed {
                    return Ok(Decision::refusal_sw().to_bytes().to_vec());
                }
                let r = card.transmit(apdu)?;
                if r.len() >= 2 && matches!(r[r.len() - 2], 0x90 | 0x62 | 0x63) {
                    self.selected[ch] = aid;
                }
                Ok(r)
            }
            _ => {
                let Some(aid) = self.selected[ch].clone() else {
                    // No channel opened to an applet: OMAPI gives the app no way to send this.
                    return Ok(Decision::refusal_sw().to_bytes().to_vec());
                };
                let d = self.ace.check_apdu(&self.hashes, Some(&aid), apdu);
                let allowed = d.allowed;
                self.last = Some(d);
                if !allowed {
                    return Ok(Decision::refusal_sw().to_bytes().to_vec());
                }
                card.transmit(apdu)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::Card;
    use crate::crypto::CardRng;
    use crate::platform::profile::{Overrides, Profile};

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn the_test_app_reaches_jpki_and_another_app_does_not() {
        let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
        let mut card = Card::in_memory(img, Some(1)).unwrap();
        card.power_on();
        let mut app = AppView::new(vec![h("2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD")]);
        let mut other = AppView::new(vec![h("0102030405060708090A0B0C0D0E0F1011121314")]);
        // Nothing selected yet: refused.
        assert_eq!(app.transmit(&mut card, &h("00A4020C020006")).unwrap(), h("6982"));
        assert_eq!(other.transmit(&mut card, &h("00A4040C0AD392F000260100000001")).unwrap(), h("6982"));
        assert_eq!(app.transmit(&mut card, &h("00A4040C0AD392F000260100000001")).unwrap(), h("9000"));
        assert_eq!(app.transmit(&mut card, &h("00A4020C020006")).unwrap(), h("9000"));
        assert!(app.transmit(&mut card, &h("00B0000004")).unwrap().ends_with(&[0x90, 0x00]));
        // The ISD and the test applet have no rule for this app.
        assert_eq!(app.transmit(&mut card, &h("00A4040008A000000151000000")).unwrap(), h("6982"));
        assert_eq!(app.transmit(&mut card, &h("00A404000AF0475053455445535401")).unwrap(), h("6982"));
        // Logical channels work the same way.
        assert_eq!(app.transmit(&mut card, &h("0070000001")).unwrap(), h("019000"));
        assert_eq!(app.transmit(&mut card, &h("01A4040C0AD392F000260100000001")).unwrap(), h("9000"));
        assert_eq!(app.transmit(&mut card, &h("01A4020C020006")).unwrap(), h("9000"));
        assert_eq!(app.transmit(&mut card, &h("00708001")).unwrap(), h("9000"));
        assert_eq!(app.transmit(&mut card, &h("01A4020C020006")).unwrap(), h("6982"));
    }
}
