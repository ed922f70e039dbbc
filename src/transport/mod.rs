//! How host code reaches a card: the `Transport` trait, implemented by the in-process card and
//! (in `pcsc`) by a PC/SC reader. Host code (GP client, TSMs, ACE, script runner) only ever sees
//! this trait, so every host feature works against the emulator and a real card alike.

pub mod pcsc;
pub mod scp;
pub mod vpcd;

use crate::card::Card;

/// Why an exchange with a card failed (not a status word: the APDU did not complete).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Reader(String),
    #[error("card removed")]
    Removed,
    #[error("card was reset by another client")]
    ResetByOther,
}

/// A connection to one card.
pub trait Transport {
    /// Sends command APDU bytes, returns response bytes (data ‖ SW1 SW2).
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError>;
    /// Warm-resets the card, returning the ATR.
    fn reset(&mut self) -> Result<Vec<u8>, TransportError>;
    /// Power off and on (cold reset), returning the ATR; a reader without power control resets.
    fn power_cycle(&mut self) -> Result<Vec<u8>, TransportError> {
        self.reset()
    }
    /// A short name for messages (`in-process`, a reader name).
    fn name(&self) -> String;
    /// How many times the card was reset (powered on or off, warm reset) since it was opened,
    /// when this transport can tell: every reset ends every logical channel, so a holder of
    /// channels on a card that others share (the app's view of `serve --app`) learns from a
    /// change that its channels are gone. `None` when it cannot tell; a PC/SC reader reports
    /// another client's reset as [`TransportError::ResetByOther`] instead.
    fn resets(&self) -> Option<u64> {
        None
    }
    /// What the card's modules want the user to see since the last call (Java stack traces of
    /// CAP applets), when the card is in this process; a reader cannot tell.
    fn diagnostics(&mut self) -> Vec<crate::card::Diagnostic> {
        Vec::new()
    }
    /// Gives an in-process card a CAP file's debug information (`Card::attach_debug`); `None`
    /// for a reader.
    fn attach_debug(&mut self, file: &[u8]) -> Option<Result<(), String>> {
        let _ = file;
        None
    }
    /// Arms an in-process card's execution traces; false for a reader.
    fn set_trace(&mut self, spec: &crate::card::TraceSpec) -> bool {
        let _ = spec;
        false
    }
    /// Turns an in-process card's code coverage on or off; false for a reader.
    fn set_coverage(&mut self, on: bool) -> bool {
        let _ = on;
        false
    }
    /// An in-process card's coverage report (`Card::coverage_report`): LCOV and tables.
    fn coverage_report(&mut self) -> Option<(String, String)> {
        None
    }
}

impl Transport for Card {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(Card::transmit(self, apdu))
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(Card::reset(self))
    }
    fn power_cycle(&mut self) -> Result<Vec<u8>, TransportError> {
        Card::power_off(self);
        Ok(Card::power_on(self))
    }
    fn name(&self) -> String {
        "in-process".into()
    }
    fn resets(&self) -> Option<u64> {
        Some(Card::resets(self))
    }
    fn diagnostics(&mut self) -> Vec<crate::card::Diagnostic> {
        Card::take_diagnostics(self)
    }
    fn attach_debug(&mut self, file: &[u8]) -> Option<Result<(), String>> {
        Some(Card::attach_debug(self, file))
    }
    fn set_coverage(&mut self, on: bool) -> bool {
        Card::set_coverage(self, on);
        true
    }
    fn set_trace(&mut self, spec: &crate::card::TraceSpec) -> bool {
        Card::set_trace(self, spec);
        true
    }
    fn coverage_report(&mut self) -> Option<(String, String)> {
        Some(Card::coverage_report(self))
    }
}
