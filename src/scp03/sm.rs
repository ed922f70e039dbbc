//! SCP03 secure messaging, the same on both sides (AmdD §6.2.3-§6.2.7;
//! `globalplatform.md` §A.7-§A.9).
//!
//! Command (host wraps, card unwraps), when the level has C-MAC:
//!
//! ```text
//! counter += 1                              (C-DECRYPTION levels, every command, AmdD §6.2.6)
//! data'   = AES-CBC(S-ENC, ICV = AES(S-ENC, counter), pad80(data))   (C-DEC and data present)
//! full    = AES-CMAC(S-MAC, chain ‖ CLA' INS P1 P2 Lc' ‖ data')     (AmdD §6.2.4; Le excluded)
//! chain   = full;  wire = CLA INS P1 P2 Lc' data' full[0..8] [Le]
//! ```
//!
//! Response (card wraps, host unwraps), when the level has R-MAC and the SW is `9000`, `62xx` or
//! `63xx` (AmdD §6.2.5):
//!
//! ```text
//! rdata' = AES-CBC(S-ENC, ICV = AES(S-ENC, 80 ‖ counter[1..]), pad80(rdata))  (R-ENC, data present)
//! R-MAC  = AES-CMAC(S-RMAC, chain ‖ rdata' ‖ SW)[0..8];  wire = rdata' ‖ R-MAC ‖ SW
//! ```
//!
//! The MAC'd class byte `CLA'` drops the logical channel: `84` for GP commands on any channel
//! (`8x`/`Cx`/`Ex` → `84`), `04` for interindustry ones, keeping the chaining bit b5. This is the
//! normalisation of AmdD §6.2.4 ("the logical channel number is not protected"); pySim computes
//! the same for channels 0-3; for channels 4-19 implementations differ (`globalplatform.md` open
//! point 1) and this emulator takes the spec's reading.

use super::kdf::SessionKeys;
use super::prim::{ct_eq, pad80, unpad80, BLOCK};
use super::SecurityLevel;
use crate::apdu::{Class, Command, Response};
use crate::sw::Sw;
use std::fmt;

/// A host-side secure messaging failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmError {
    #[error("class byte {0:02X} cannot carry secure messaging")]
    Class(u8),
    #[error("the wrapped command would be longer than 65535 bytes")]
    TooLong,
    #[error("response shorter than its R-MAC")]
    ResponseTooShort,
    #[error("R-MAC of the response does not verify")]
    ResponseMac,
    #[error("R-ENC response data is not a whole number of blocks or badly padded")]
    ResponsePadding,
}

/// The secure messaging state of an authenticated session: session keys, level, MAC chaining
/// value and encryption counter.
#[derive(Clone)]
pub struct SecureMessaging {
    keys: SessionKeys,
    level: SecurityLevel,
    chain: [u8; BLOCK],
    counter: u128,
}

impl fmt::Debug for SecureMessaging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecureMessaging(level {}, counter {})", self.level, self.counter)
    }
}

/// `CLA'` of the MAC input (see the module comment).
fn mac_cla(cla: u8) -> u8 {
    let chaining = Class::parse(cla).map(|c| c.chaining).unwrap_or(false);
    (cla & 0x80) | 0x04 | if chaining { 0x10 } else { 0 }
}

/// Lc' as it enters the MAC: one byte, or `00 hi lo` above 255 (GPP `GPUtils.encodeLcLength`,
/// the extended form of ISO 7816-4).
// Lc is at most 65535 (extended) and the short form takes it only when <= 255.
#[allow(clippy::cast_possible_truncation)]
fn lc_bytes(lc: usize) -> ([u8; 3], usize) {
    if lc > 255 {
        ([0, (lc >> 8) as u8, lc as u8], 3)
    } else {
        ([lc as u8, 0, 0], 1)
    }
}

impl SecureMessaging {
    /// A new state for EXTERNAL AUTHENTICATE: chaining value 16 × `00`, counter 0, level C-MAC
    /// (the EA command is always MAC'd and never encrypted, AmdD §7.1.2).
    pub fn for_external_authenticate(keys: SessionKeys) -> SecureMessaging {
        SecureMessaging { keys, level: SecurityLevel::C_MAC, chain: [0; BLOCK], counter: 0 }
    }

    /// Switches to the level EXTERNAL AUTHENTICATE asked for, after it succeeded; the chaining
    /// value stays the EA's full C-MAC (AmdD §6.2.3) and the counter is still 0.
    pub fn set_level(&mut self, level: SecurityLevel) {
        self.level = level;
    }

    pub fn level(&self) -> SecurityLevel {
        self.level
    }

    /// The session keys (for a `--show-keys` trace).
    pub fn session_keys(&self) -> &SessionKeys {
        &self.keys
    }

    fn counter_block(&self) -> [u8; BLOCK] {
        self.counter.to_be_bytes()
    }

    fn full_mac(&self, cla: u8, cmd: &Command, lc: usize, data: &[u8]) -> [u8; BLOCK] {
        let header = [mac_cla(cla), cmd.ins, cmd.p1, cmd.p2];
        let (lcb, n) = lc_bytes(lc);
        self.keys.mac.cmac(&[&self.chain, &header, &lcb[..n], data])
    }

    /// Host side: protects a plain command at the session level. With no C-MAC (level `00`) the
    /// command goes as it is.
    pub fn wrap_command(&mut self, cmd: &Command) -> Result<Command, SmError> {
        if !self.level.c_mac() {
            return Ok(cmd.clone());
        }
        let class = Class::parse(cmd.cla).map_err(|_| SmError::Class(cmd.cla))?;
        let mut data = cmd.data.clone();
        if self.level.c_dec() {
            // Pre-incremented for every command, with or without data (AmdD §6.2.6).
            self.counter = self.counter.wrapping_add(1);
            if !data.is_empty() {
                let mut icv = self.counter_block();
                self.keys.enc.encrypt_block(&mut icv);
                pad80(&mut data);
                self.keys.enc.cbc_encrypt(&icv, &mut data);
            }
        }
        let lc = data.len() + 8;
        if lc > 65535 {
            return Err(SmError::TooLong);
        }
        let full = self.full_mac(cmd.cla, cmd, lc, &data);
        self.chain = full;
        data.extend_from_slice(&full[..8]);
        let mut cla = Class::encode(class.channel, class.proprietary, true).map_err(|_| SmError::Class(cmd.cla))?;
        if class.chaining {
            cla |= 0x10;
        }
        Ok(Command { cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data, ne: cmd.ne, extended: cmd.extended || lc > 255 })
    }

    /// Card side: checks and removes the protection of a command at the session level. Any
    /// failure (no SM indication, too short for a C-MAC, wrong C-MAC, ciphertext not a whole
    /// number of blocks, bad padding) is a security error, `6982` (GP Card API
    /// `SecureChannel.unwrap`; AmdD §5.6); the caller then ends the session.
    pub fn unwrap_command(&mut self, cmd: &Command) -> Result<Command, Sw> {
        if !self.level.c_mac() {
            return Ok(cmd.clone());
        }
        let class = Class::parse(cmd.cla)?;
        if self.level.c_dec() {
            self.counter = self.counter.wrapping_add(1);
        }
        // Every command is checked against the level "regardless of the SM indicator" (AmdD
        // §5.6): a command without it is below the level.
        if !class.secure_messaging || cmd.data.len() < 8 {
            return Err(Sw::SecurityNotSatisfied);
        }
        let (body, mac) = cmd.data.split_at(cmd.data.len() - 8);
        let full = self.full_mac(cmd.cla, cmd, cmd.data.len(), body);
        if !ct_eq(&full[..8], mac) {
            return Err(Sw::SecurityNotSatisfied);
        }
        self.chain = full;
        let mut data = body.to_vec();
        if self.level.c_dec() && !data.is_empty() {
            if !data.len().is_multiple_of(BLOCK) {
                return Err(Sw::SecurityNotSatisfied);
            }
            let mut icv = self.counter_block();
            self.keys.enc.encrypt_block(&mut icv);
            self.keys.enc.cbc_decrypt(&icv, &mut data);
            unpad80(&mut data).ok_or(Sw::SecurityNotSatisfied)?;
        }
        let mut cla = Class::encode(class.channel, class.proprietary, false)?;
        if class.chaining {
            cla |= 0x10;
        }
        Ok(Command { cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data, ne: cmd.ne, extended: false })
    }

    fn response_icv(&self) -> [u8; BLOCK] {
        let mut b = self.counter_block();
        b[0] = 0x80;
        self.keys.enc.encrypt_block(&mut b);
        b
    }

    /// Card side: R-ENC and R-MAC on a response, when the level has them and the SW is a
    /// success or warning (AmdD §6.2.5, §6.2.7); anything else goes as it is.
    pub fn wrap_response(&mut self, rsp: Response) -> Response {
        if !self.level.r_mac() || !rsp.sw.is_success_or_warning() {
            return rsp;
        }
        let mut data = rsp.data;
        if self.level.r_enc() && !data.is_empty() {
            let icv = self.response_icv();
            pad80(&mut data);
            self.keys.enc.cbc_encrypt(&icv, &mut data);
        }
        let sw = rsp.sw.to_bytes();
        let rmac = self.keys.rmac.cmac(&[&self.chain, &data, &sw]);
        data.extend_from_slice(&rmac[..8]);
        Response { data, sw: rsp.sw }
    }

    /// Host side: verifies the R-MAC and removes R-ENC of a response.
    pub fn unwrap_response(&mut self, rsp: &Response) -> Result<Response, SmError> {
        if !self.level.r_mac() || !rsp.sw.is_success_or_warning() {
            return Ok(rsp.clone());
        }
        if rsp.data.len() < 8 {
            return Err(SmError::ResponseTooShort);
        }
        let (body, mac) = rsp.data.split_at(rsp.data.len() - 8);
        let sw = rsp.sw.to_bytes();
        let full = self.keys.rmac.cmac(&[&self.chain, body, &sw]);
        if !ct_eq(&full[..8], mac) {
            return Err(SmError::ResponseMac);
        }
        let mut data = body.to_vec();
        if self.level.r_enc() && !data.is_empty() {
            if !data.len().is_multiple_of(BLOCK) {
                return Err(SmError::ResponsePadding);
            }
            let icv = self.response_icv();
            self.keys.enc.cbc_decrypt(&icv, &mut data);
            unpad80(&mut data).ok_or(SmError::ResponsePadding)?;
        }
        Ok(Response { data, sw: rsp.sw })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_cla_drops_the_channel() {
        for (cla, want) in [
            (0x80, 0x84),
            (0x84, 0x84),
            (0x83, 0x84),
            (0x87, 0x84),
            (0xC5, 0x84),
            (0xE5, 0x84),
            (0x00, 0x04),
            (0x45, 0x04),
            (0x94, 0x94),
        ] {
            assert_eq!(mac_cla(cla), want, "{cla:02X}");
        }
    }

    #[test]
    fn lc_coding() {
        assert_eq!(lc_bytes(8), ([8, 0, 0], 1));
        assert_eq!(lc_bytes(300), ([0, 1, 44], 3));
    }
}
