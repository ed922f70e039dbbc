//! Where a command APDU carries a PIN or key material, so logs (`serve -v`, `run`'s output,
//! `trace`) print `**` instead and recordings (`--record`) refer to it by a variable name
//! (issue #19 §8). One [`Masker`] decides for all of them.
//!
//! Secret data fields (the whole data field of each):
//!
//! | command | what | reference |
//! |---|---|---|
//! | ISO VERIFY `x0 20` with data | PIN | ISO 7816-4 §11.5.6 |
//! | ISO CHANGE REFERENCE DATA `x0 24` | old and new PIN | ISO 7816-4 §11.5.7 |
//! | ISO RESET RETRY COUNTER `x0 2C` | PUK and/or new PIN | ISO 7816-4 §11.5.10 |
//! | JPKI SET PIN / RESET PIN `8x D2` | the temporary PIN | `applet-spec/jpki.md` |
//! | GP PUT KEY `8x D8` | key components (DEK-encrypted) and KCVs | GPCS §11.8.2.3 |
//! | GP STORE DATA `8x E2` with P1 b6-b5 = `11` (encrypted data) | key or PIN DGIs | GPCS §11.11.2.1 |
//!
//! INSTALL parameters are not masked: no applet of this card takes keys in them. A command
//! inside an SCP03 session at a level with C-DECRYPTION is not masked either: its data field is
//! then ciphertext under session keys the log or recording does not hold (and a recording must
//! keep those exact bytes to replay). The masker follows each channel's level from the EXTERNAL
//! AUTHENTICATE P1 it sees (AmdD T7-3) until INITIALIZE UPDATE, SELECT on that channel, reset
//! or power.

use crate::apdu::Class;
use std::ops::Range;

/// What a masked data field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    Pin,
    Key,
}

impl Secret {
    /// The variable-name stem in recordings (`$pin1`, `$key1`).
    pub fn stem(self) -> &'static str {
        match self {
            Secret::Pin => "pin",
            Secret::Key => "key",
        }
    }
}

/// The secret part of `apdu` (wire bytes) by its contents alone: its byte range and kind.
pub fn secret_span(apdu: &[u8]) -> Option<(Range<usize>, Secret)> {
    let cmd = crate::apdu::Command::parse(apdu).ok()?;
    if cmd.data.is_empty() {
        return None;
    }
    let class = Class::parse(cmd.cla).ok()?;
    let kind = match (class.proprietary, cmd.ins) {
        (false, 0x20 | 0x24 | 0x2C) => Secret::Pin,
        (true, 0xD2) => Secret::Pin,
        (true, 0xD8) => Secret::Key,
        (true, 0xE2) if cmd.p1 & 0x60 == 0x60 => Secret::Key,
        _ => return None,
    };
    // Short Lc is one byte after the header, extended Lc three (`00 HH LL`).
    let start = if apdu[4] == 0x00 && apdu.len() > 5 { 7 } else { 5 };
    Some((start..start + cmd.data.len(), kind))
}

/// Follows the secure channel level per logical channel and masks what is secret.
#[derive(Clone, Debug, Default)]
pub struct Masker {
    /// Channels whose session encrypts command data (C-DECRYPTION).
    encrypted: [bool; 20],
}

impl Masker {
    pub fn new() -> Masker {
        Masker::default()
    }

    /// Forgets every session (reset, power cycle).
    pub fn reset(&mut self) {
        self.encrypted = [false; 20];
    }

    /// The secret part of `apdu`, sent in this order after the commands seen before. Call once
    /// per command: it also updates the channel's state.
    pub fn observe(&mut self, apdu: &[u8]) -> Option<(Range<usize>, Secret)> {
        if apdu.len() < 4 {
            return None;
        }
        let Ok(class) = Class::parse(apdu[0]) else { return None };
        let ch = class.channel as usize % 20;
        match (class.proprietary, apdu[1]) {
            (true, 0x50) => self.encrypted[ch] = false,
            (true, 0x82) => self.encrypted[ch] = apdu[2] & 0x02 != 0,
            (false, 0xA4) if apdu[2] == 0x04 => self.encrypted[ch] = false,
            _ => {}
        }
        if class.secure_messaging && self.encrypted[ch] {
            return None;
        }
        secret_span(apdu)
    }

    /// `apdu` as upper-case hex with the secret bytes as `**` each, for logs.
    pub fn masked_hex(&mut self, apdu: &[u8]) -> String {
        let span = self.observe(apdu);
        masked_hex_with(apdu, span.as_ref().map(|(r, _)| r.clone()))
    }
}

/// Upper-case hex of `bytes`, `**` for each byte in `span`.
pub fn masked_hex_with(bytes: &[u8], span: Option<Range<usize>>) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for (i, b) in bytes.iter().enumerate() {
        if span.as_ref().is_some_and(|r| r.contains(&i)) {
            s.push_str("**");
        } else {
            s.push_str(&format!("{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn pins_and_keys_are_masked_by_command() {
        let mut m = Masker::new();
        assert_eq!(m.masked_hex(&h("002000800431323334")), "0020008004********");
        assert_eq!(m.masked_hex(&h("0020008000")), "0020008000");
        assert_eq!(m.masked_hex(&h("00200080")), "00200080");
        assert_eq!(m.masked_hex(&h("002401800431323334")), "0024018004********");
        assert_eq!(m.masked_hex(&h("002C00800431323334")), "002C008004********");
        assert_eq!(m.masked_hex(&h("80D200010430303030")), "80D2000104********");
        assert_eq!(m.masked_hex(&h("80D8300102AABB00")), "80D8300102****00");
        assert_eq!(m.masked_hex(&h("80E2E00002AABB")), "80E2E00002****");
        assert_eq!(m.masked_hex(&h("80E2800002AABB")), "80E2800002AABB");
        assert_eq!(m.masked_hex(&h("0020008000000431323334")), "00200080000004********");
        // Proprietary INS 20 and ISO D8 are other commands.
        assert_eq!(m.masked_hex(&h("802000800431323334")), "802000800431323334");
        assert_eq!(m.masked_hex(&h("00A4040008A000000151000000")), "00A4040008A000000151000000");
    }

    #[test]
    fn encrypted_sessions_are_left_alone_per_channel() {
        let mut m = Masker::new();
        // EA at level 33 on channel 1: wrapped PUT KEY there is ciphertext; channel 0 still masks.
        m.observe(&h("8182330010000102030405060708090A0B0C0D0E0F"));
        assert_eq!(m.masked_hex(&h("85D8300104AABBCCDD")), "85D8300104AABBCCDD");
        assert_eq!(m.masked_hex(&h("84D8300104AABBCCDD")), "84D8300104********");
        // C-MAC only: clear data under a MAC, masked.
        m.observe(&h("8482010010000102030405060708090A0B0C0D0E0F"));
        assert_eq!(m.masked_hex(&h("84D8300104AABBCCDD")), "84D8300104********");
        // A new INITIALIZE UPDATE on channel 1 ends its session.
        m.observe(&h("81500000080102030405060708"));
        assert_eq!(m.masked_hex(&h("85D8300104AABBCCDD")), "85D8300104********");
    }
}
