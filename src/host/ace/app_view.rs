//! The card as one app sees it over OMAPI: every APDU passes the ACE first (`applet-spec/ara-m.md`,
//! "the app's view"). A reader of `gpse serve --app HASH` puts this between pcscd and the card.
//!
//! # Channels: the app's own, never reader 0's
//!
//! On a phone an app never names a card channel: `Session.openBasicChannel(aid, p2)` /
//! `openLogicalChannel(aid, p2)` open one for it (the HAL's MANAGE CHANNEL and SELECT), and
//! `Channel.transmit` writes that channel's number into the CLA after its checks
//! (AOSP `packages/apps/SecureElement` `Channel.setChannelToClassByte`). The PC/SC client plays
//! the app with channel numbers of its own, 0 (its basic channel) to [`MAX_APP_CHANNELS`] - 1,
//! which the view maps to card channels it opened for the app:
//!
//! * a SELECT by DF name on an app channel with nothing open yet is the open: P2 must be one
//!   OMAPI accepts (`00`/`04`/`08`/`0C`, `SecureElementService.openLogicalChannel`), the AID 0 or
//!   5-16 bytes (`Terminal.openLogicalChannel`), the ACE refreshes its rules and decides
//!   (`setUpChannelAccess`), then the view opens a card logical channel with `00 70 00 00 01` and
//!   sends the app's SELECT there, as the eSE HALs do; a failed SELECT closes that card channel
//!   again (NXP and Thales HALs) and the app gets the card's answer;
//! * `00 70 00 00 [01]` (MANAGE CHANNEL open from the basic channel) stands for the first half
//!   of `openLogicalChannel`: it reserves an app channel number and touches nothing on the card;
//!   `0x 70 80 0n` (n ≠ 0) is `Channel.close()` and closes the card channel behind `n`;
//! * everything else passes `Channel.transmit`'s checks (malformed APDU, CLA `FF`, INS `6x`/`9x`,
//!   any other ISO MANAGE CHANNEL, ISO SELECT by DF name on an open channel), then
//!   `checkCommand`, then goes to the card with the card channel's number in the CLA.
//!
//! The app's basic channel is backed by a card *logical* channel: on a phone the basic channel is
//! the SE's channel 0, held by one client at a time (`Terminal.openBasicChannel`: "basic channel
//! in use"); here reader 0 holds channel 0 all the time, so the app gets the semantics (CLA
//! channel 0, opened once by a SELECT, never closed by MANAGE CHANNEL) without sharing the
//! selection, the pending response or the secure channel session of reader 0's channel 0.
//!
//! A card reset (from reader 0, or a power cycle) ends every card channel; the view notices
//! through [`Transport::resets`] (or [`TransportError::ResetByOther`]) and forgets the app's
//! channels, as the SE service closes every channel when the HAL reports the SE's state change
//! (`Terminal.stateChange`). A reset of the app's own reader closes the app's channels and
//! nothing else: an app cannot reset the SE.
//!
//! A refusal answers `6982` (`Decision::refusal_sw`) and never reaches the card; Android throws
//! an exception there, for which no status word exists (`applet-spec/ara-m.md`).

use super::{omapi_transmit_check, Ace, Decision};
use crate::apdu::{Class, Command, MAX_CHANNEL};
use crate::sw::Sw;
use crate::transport::{Transport, TransportError};

/// The channels one app may hold, its basic channel included: 4, the most an eSE HAL gives the
/// whole SE service on the phones we model (NXP's eSE HAL tracks `mOpenedChannels[4]`, basic
/// included, and refuses a fifth; `shared/reference/globalplatform.md` §D.3 for the Thales HAL's
/// `MAX_CHANNELS` 4). Android itself sets no per-app limit: the SE's channels are the limit,
/// and on a phone those are the HAL's. Each app channel holds at most one card logical
/// channel, and only after the ACE allowed its SELECT, so an app without a rule holds none and
/// reader 0 always keeps the card's other channels (15 of the default profile's 19).
pub const MAX_APP_CHANNELS: usize = 4;

/// One app channel.
#[derive(Clone, Debug, PartialEq, Eq)]
enum AppChannel {
    /// Reserved by the app's MANAGE CHANNEL: no card channel yet, nothing selected.
    Reserved,
    /// Open on card channel `card` to `aid` as the app asked for it (`None`: the default
    /// application); the ACE decides its APDUs with the rules of that AID, as Android's
    /// `ChannelAccess` is set up with the AID the app opened.
    Open { card: u8, aid: Option<Vec<u8>> },
}

/// The ACE view of one app over one card.
pub struct AppView {
    ace: Ace,
    hashes: Vec<Vec<u8>>,
    /// By app channel number; index 0 is the app's basic channel (`None`: not opened yet).
    channels: [Option<AppChannel>; MAX_APP_CHANNELS],
    /// The card's reset count when the view last looked ([`Transport::resets`]).
    resets: Option<u64>,
    /// The last decision, for logs.
    last: Option<Decision>,
}

/// OMAPI's `Channel.setChannelToClassByte` (GPCS §11.1.4): channels 0-3 in the first
/// interindustry coding, 4-19 in the further, where SM is b6.
fn set_channel(cla: u8, ch: u8) -> u8 {
    if ch < 4 {
        (cla & 0xBC) | ch
    } else {
        let sm = if cla & 0x0C != 0 { 0x20 } else { 0 };
        (cla & 0xB0) | 0x40 | (ch - 4) | sm
    }
}

fn is_success_or_warning(rsp: &[u8]) -> bool {
    rsp.len() >= 2 && matches!(rsp[rsp.len() - 2], 0x90 | 0x62 | 0x63)
}

impl AppView {
    /// The view of an app whose signing certificate hashes (SHA-1 and/or SHA-256) are `hashes`.
    pub fn new(hashes: Vec<Vec<u8>>) -> AppView {
        AppView { ace: Ace::new(), hashes, channels: Default::default(), resets: None, last: None }
    }

    /// The app's reader was powered off, on or reset: the app's channels are closed on the card
    /// (not the card itself: on the phone an app cannot reset the SE) and forgotten.
    pub fn reset(&mut self, card: &mut dyn Transport) -> Result<(), TransportError> {
        self.follow_card_resets(card);
        let mut result = Ok(());
        for ch in 0..MAX_APP_CHANNELS {
            if let Err(e) = self.close(card, ch) {
                result = Err(e);
            }
        }
        self.channels = Default::default();
        result
    }

    /// The decision that applied to the last APDU (none for APDUs that pass unchecked).
    pub fn last_decision(&self) -> Option<&Decision> {
        self.last.as_ref()
    }

    /// The card channels the app holds now, by app channel number (for logs and tests).
    pub fn card_channels(&self) -> Vec<(u8, u8)> {
        (0u8..)
            .zip(self.channels.iter())
            .filter_map(|(c, ch)| match ch {
                Some(AppChannel::Open { card, .. }) => Some((c, *card)),
                _ => None,
            })
            .collect()
    }

    /// Sends `apdu` for the app: checked as OMAPI and the ACE check it, forwarded when allowed.
    pub fn transmit(&mut self, card: &mut dyn Transport, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.last = None;
        self.follow_card_resets(card);
        let r = self.dispatch(card, apdu);
        if matches!(r, Err(TransportError::ResetByOther)) {
            // Another client reset the card: every card channel is gone.
            self.channels = Default::default();
        }
        r
    }

    fn dispatch(&mut self, card: &mut dyn Transport, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        // `CommandApduValidator` and the CLA: nothing malformed reaches the card.
        let (cmd, class) = match Command::parse(apdu).ok().and_then(|c| Class::parse(c.cla).ok().map(|k| (c, k))) {
            Some(x) => x,
            None => {
                let why =
                    omapi_transmit_check(apdu).err().unwrap_or_else(|| "IllegalArgumentException: invalid CLA".into());
                return Ok(self.refuse(why));
            }
        };
        let ch = class.channel as usize;
        let iso = !class.proprietary;
        if iso && cmd.ins == 0x70 {
            return self.manage_channel(card, ch, &cmd);
        }
        let state = self.channels.get(ch).cloned().flatten();
        match state {
            // openBasicChannel / openLogicalChannel.
            None if ch == 0 && iso && cmd.ins == 0xA4 && cmd.p1 == 0x04 => self.open(card, ch, &cmd),
            Some(AppChannel::Reserved) if iso && cmd.ins == 0xA4 && cmd.p1 == 0x04 => self.open(card, ch, &cmd),
            Some(AppChannel::Open { card: on, aid }) => {
                let d = self.ace.check_apdu(&self.hashes, aid.as_deref(), apdu);
                let allowed = d.allowed;
                self.last = Some(d);
                if !allowed {
                    return Ok(Decision::refusal_sw().to_bytes().to_vec());
                }
                let mut out = apdu.to_vec();
                out[0] = set_channel(out[0], on);
                card.transmit(&out)
            }
            // No channel opened to an applet: OMAPI gives the app no way to send this.
            _ => {
                Ok(self.refuse(format!("no channel {ch} open to an applet (IllegalStateException: Channel is closed)")))
            }
        }
    }

    /// Answers `6982` with `why` as the decision.
    fn refuse(&mut self, why: impl Into<String>) -> Vec<u8> {
        self.last = Some(Decision::denied(why, None));
        Decision::refusal_sw().to_bytes().to_vec()
    }

    /// MANAGE CHANNEL from the app: open (a reservation) and close, nothing else; never
    /// forwarded.
    fn manage_channel(
        &mut self,
        card: &mut dyn Transport,
        origin: usize,
        cmd: &Command,
    ) -> Result<Vec<u8>, TransportError> {
        let not_allowed = "SecurityException: MANAGE CHANNEL command not allowed";
        if !cmd.data.is_empty() || origin >= MAX_APP_CHANNELS {
            return Ok(self.refuse(not_allowed));
        }
        match (cmd.p1, cmd.p2) {
            // Only the plain open from the basic channel, as the HALs send it.
            (0x00, 0x00) if cmd.cla == 0x00 && matches!(cmd.ne, None | Some(1)) => {
                match (1..MAX_APP_CHANNELS).find(|&c| self.channels[c].is_none()) {
                    Some(c) => {
                        self.channels[c] = Some(AppChannel::Reserved);
                        // c < MAX_APP_CHANNELS (4).
                        #[allow(clippy::cast_possible_truncation)]
                        let c = c as u8;
                        Ok(vec![c, 0x90, 0x00])
                    }
                    // All the app may hold are taken: what a card without a free channel answers
                    // (GPCS T11-63; the HALs' CHANNEL_NOT_AVAILABLE, openLogicalChannel's null).
                    None => {
                        self.last = Some(Decision::denied(
                            format!("the app holds its {MAX_APP_CHANNELS} channels (MissingResourceException)"),
                            None,
                        ));
                        Ok(Sw::FunctionNotSupported.to_bytes().to_vec())
                    }
                }
            }
            (0x80, p2) => {
                let target = if p2 == 0 { origin } else { p2 as usize };
                if target == 0 {
                    // The basic channel is never closed by MANAGE CHANNEL (ISO 7816-4 §11.1.2);
                    // the app's closes with a reset of its reader.
                    return Ok(self.refuse(not_allowed));
                }
                if target >= MAX_APP_CHANNELS || self.channels[target].is_none() {
                    // Closed already: the card's warning (GPCS §11.7).
                    return Ok(Sw::Warning.to_bytes().to_vec());
                }
                self.close(card, target)?;
                Ok(Sw::Ok.to_bytes().to_vec())
            }
            _ => Ok(self.refuse(not_allowed)),
        }
    }

    /// Opens app channel `ch` to the AID of the app's SELECT `cmd`.
    fn open(&mut self, card: &mut dyn Transport, ch: usize, cmd: &Command) -> Result<Vec<u8>, TransportError> {
        // SecureElementSession.openBasicChannel / openLogicalChannel.
        if !matches!(cmd.p2, 0x00 | 0x04 | 0x08 | 0x0C) {
            return Ok(self.refuse(format!("UnsupportedOperationException: p2 not supported: {:02x}", cmd.p2)));
        }
        // Terminal.openLogicalChannel: an empty AID is the default application.
        if !cmd.data.is_empty() && !(5..=16).contains(&cmd.data.len()) {
            return Ok(self.refuse("IllegalArgumentException: AID out of range"));
        }
        self.ace.refresh(card)?;
        let aid = (!cmd.data.is_empty()).then(|| cmd.data.clone());
        let d = self.ace.check_open(&self.hashes, aid.as_deref());
        let allowed = d.allowed;
        self.last = Some(d);
        if !allowed {
            return Ok(Decision::refusal_sw().to_bytes().to_vec());
        }
        // The HAL's MANAGE CHANNEL, from the basic channel as every eSE HAL sends it.
        let r = card.transmit(&[0x00, 0x70, 0x00, 0x00, 0x01])?;
        let on = match r.as_slice() {
            [c, 0x90, 0x00] if (1..=MAX_CHANNEL).contains(c) => *c,
            // The card's refusal (6A81: no channel free) is what the app gets.
            _ if r.len() == 2 => return Ok(r),
            _ => return Ok(Sw::Unknown.to_bytes().to_vec()),
        };
        let mut select = cmd.to_bytes();
        select[0] = set_channel(select[0], on);
        let rsp = match card.transmit(&select) {
            Ok(r) => r,
            Err(e) => {
                let _ = card.transmit(&[set_channel(0x00, on), 0x70, 0x80, on]);
                return Err(e);
            }
        };
        if is_success_or_warning(&rsp) {
            self.channels[ch] = Some(AppChannel::Open { card: on, aid });
        } else {
            // A failed SELECT closes the channel again (NXP, Thales HALs).
            card.transmit(&[set_channel(0x00, on), 0x70, 0x80, on])?;
        }
        Ok(rsp)
    }

    /// Closes app channel `ch`'s card channel, if it has one, and frees the number.
    fn close(&mut self, card: &mut dyn Transport, ch: usize) -> Result<(), TransportError> {
        if let Some(AppChannel::Open { card: on, .. }) = self.channels[ch].take() {
            card.transmit(&[set_channel(0x00, on), 0x70, 0x80, on])?;
        }
        Ok(())
    }

    /// Forgets every app channel when the card was reset since the view last looked.
    fn follow_card_resets(&mut self, card: &dyn Transport) {
        let now = card.resets();
        if now != self.resets {
            if self.resets.is_some() {
                self.channels = Default::default();
            }
            self.resets = now;
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

    /// A PC/SC-like transport: it cannot count resets, and says once that another client reset
    /// the card.
    struct Pcsc<'a> {
        card: &'a mut Card,
        reset_by_other: bool,
    }

    impl Transport for Pcsc<'_> {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            if std::mem::take(&mut self.reset_by_other) {
                return Err(TransportError::ResetByOther);
            }
            Ok(self.card.transmit(apdu))
        }
        fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
            Ok(self.card.reset())
        }
        fn name(&self) -> String {
            "test".into()
        }
    }

    #[test]
    fn a_reset_reported_by_the_reader_ends_the_apps_channels() {
        let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
        let mut card = Card::in_memory(img, Some(1)).unwrap();
        card.power_on();
        let mut app = AppView::new(vec![h("2660FE4D4AEB9AF3A70D607B36422DB913BCCFFD")]);
        let mut t = Pcsc { card: &mut card, reset_by_other: false };
        assert_eq!(app.transmit(&mut t, &h("00A4040C0AD392F000260100000001")).unwrap(), h("9000"));
        assert_eq!(app.card_channels(), [(0, 1)]);
        t.card.reset();
        t.reset_by_other = true;
        assert!(matches!(app.transmit(&mut t, &h("00A4020C020006")), Err(TransportError::ResetByOther)));
        assert!(app.card_channels().is_empty());
        assert_eq!(app.transmit(&mut t, &h("00A4020C020006")).unwrap(), h("6982"));
        assert_eq!(app.transmit(&mut t, &h("00A4040C0AD392F000260100000001")).unwrap(), h("9000"));
    }

    #[test]
    fn channel_numbers_move_as_omapi_moves_them() {
        // GPCS §11.1.4 / `globalplatform.md` §D.1, and Android's SM rule for channels 4-19.
        assert_eq!(set_channel(0x00, 1), 0x01);
        assert_eq!(set_channel(0x03, 2), 0x02);
        assert_eq!(set_channel(0x80, 3), 0x83);
        assert_eq!(set_channel(0x84, 0), 0x84);
        assert_eq!(set_channel(0x00, 4), 0x40);
        assert_eq!(set_channel(0x01, 19), 0x4F);
        assert_eq!(set_channel(0x80, 5), 0xC1);
        assert_eq!(set_channel(0x84, 4), 0xE0);
        assert_eq!(set_channel(0x10, 6), 0x52);
    }
}
