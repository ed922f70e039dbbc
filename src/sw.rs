//! Status words: the one place where their wire values live.
//!
//! Every status word the card sends, and every one a host needs to recognise, is a variant here.
//! Card code returns `Err(Sw::…)` from command handlers; the runtime turns that into the two
//! trailing bytes of the response. Sources: ISO 7816-4 §5.6, GPCS 2.3.1 T11-10 and the per-command
//! tables (`shared/reference/globalplatform.md` §B.1), JPKI behaviour (`reference/jpki.md` §3-§5).

use std::fmt;

/// A status word (SW1 SW2).
///
/// Codes with a variable part carry it (`BytesRemaining(n)` is `61 n`, `VerifyFailed(n)` is
/// `63 Cn`). Anything not named here round-trips through [`Sw::Other`], so a host can hold
/// whatever a real card answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sw {
    /// 9000 normal processing.
    Ok,
    /// 61xx: xx more bytes available with GET RESPONSE.
    BytesRemaining(u8),
    /// 6200: warning, no information given (MANAGE CHANNEL close of a closed channel).
    Warning,
    /// 6283: selected file or application invalidated (card locked, GPCS T11-83).
    SelectedFileInvalidated,
    /// 6310: more data available (GET STATUS continuation, GPCS T11-38).
    MoreData,
    /// 63Cx: verification failed, x tries left (ISO 7816-4 §5.6.2).
    VerifyFailed(u8),
    /// 6300: authentication of the host cryptogram failed (GPCS T D-9).
    AuthenticationFailed,
    /// 6381: access rule stored, but a rule for the same target already exists (SEAC v1.1 as
    /// pySim `sw_aram` cites it; the ARA-M never sends it, `applet-spec/ara-m.md`).
    RuleAlreadyExists,
    /// 6382: access rule stored, unknown BER-TLVs in it were discarded (SEAC v1.1, pySim `sw_aram`).
    UnknownDataDiscarded,
    /// 6400: execution error, no specific diagnosis.
    ExecutionError,
    /// 6581: memory failure.
    MemoryFailure,
    /// 6700: wrong length.
    WrongLength,
    /// 6881: logical channel not supported or not open.
    ChannelNotSupported,
    /// 6882: secure messaging not supported.
    SecureMessagingNotSupported,
    /// 6884: command chaining not supported (ISO 7816-4 §5.1.1.1, T5).
    ChainingNotSupported,
    /// 6981: command incompatible with file structure (READ BINARY of a key or PIN EF).
    CommandIncompatible,
    /// 6982: security status not satisfied.
    SecurityNotSatisfied,
    /// 6983: authentication method blocked.
    AuthMethodBlocked,
    /// 6984: reference data not usable (blocked PIN on JPKI, `reference/jpki.md` §4).
    ReferenceDataNotUsable,
    /// 6985: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// 6986: command not allowed (no current EF).
    CommandNotAllowed,
    /// 6999: applet selection failed.
    AppletSelectFailed,
    /// 6A80: incorrect parameters in the data field.
    WrongData,
    /// 6A81: function not supported (also: no logical channel free).
    FunctionNotSupported,
    /// 6A82: file or application not found.
    FileNotFound,
    /// 6A84: not enough memory space.
    NotEnoughMemory,
    /// 6A86: incorrect P1 P2.
    IncorrectP1P2,
    /// 6A88: referenced data not found.
    ReferencedDataNotFound,
    /// 6A89: already exists (ISO 7816-4 "file already exists"; SEAC "conflicting access rule
    /// already exists").
    AlreadyExists,
    /// 6B00: wrong parameters (offset outside the EF).
    WrongP1P2,
    /// 6Cxx: wrong Le, xx is the exact length.
    WrongLe(u8),
    /// 6D00: instruction not supported.
    InsNotSupported,
    /// 6E00: class not supported.
    ClaNotSupported,
    /// 6F00: no precise diagnosis.
    Unknown,
    /// Any other two bytes.
    Other(u16),
}

impl Sw {
    /// The two bytes as one big-endian number.
    pub const fn to_u16(self) -> u16 {
        match self {
            Sw::Ok => 0x9000,
            Sw::BytesRemaining(n) => 0x6100 | n as u16,
            Sw::Warning => 0x6200,
            Sw::SelectedFileInvalidated => 0x6283,
            Sw::MoreData => 0x6310,
            Sw::VerifyFailed(n) => 0x63C0 | (n as u16 & 0x0F),
            Sw::AuthenticationFailed => 0x6300,
            Sw::RuleAlreadyExists => 0x6381,
            Sw::UnknownDataDiscarded => 0x6382,
            Sw::ExecutionError => 0x6400,
            Sw::MemoryFailure => 0x6581,
            Sw::WrongLength => 0x6700,
            Sw::ChannelNotSupported => 0x6881,
            Sw::SecureMessagingNotSupported => 0x6882,
            Sw::ChainingNotSupported => 0x6884,
            Sw::CommandIncompatible => 0x6981,
            Sw::SecurityNotSatisfied => 0x6982,
            Sw::AuthMethodBlocked => 0x6983,
            Sw::ReferenceDataNotUsable => 0x6984,
            Sw::ConditionsNotSatisfied => 0x6985,
            Sw::CommandNotAllowed => 0x6986,
            Sw::AppletSelectFailed => 0x6999,
            Sw::WrongData => 0x6A80,
            Sw::FunctionNotSupported => 0x6A81,
            Sw::FileNotFound => 0x6A82,
            Sw::NotEnoughMemory => 0x6A84,
            Sw::IncorrectP1P2 => 0x6A86,
            Sw::ReferencedDataNotFound => 0x6A88,
            Sw::AlreadyExists => 0x6A89,
            Sw::WrongP1P2 => 0x6B00,
            Sw::WrongLe(n) => 0x6C00 | n as u16,
            Sw::InsNotSupported => 0x6D00,
            Sw::ClaNotSupported => 0x6E00,
            Sw::Unknown => 0x6F00,
            Sw::Other(v) => v,
        }
    }

    /// The typed form of two bytes; named codes come back as their variant.
    pub const fn from_u16(v: u16) -> Sw {
        match v {
            0x9000 => Sw::Ok,
            // The low byte of the matched range.
            #[allow(clippy::cast_possible_truncation)]
            0x6100..=0x61FF => Sw::BytesRemaining(v as u8),
            0x6200 => Sw::Warning,
            0x6283 => Sw::SelectedFileInvalidated,
            0x6310 => Sw::MoreData,
            0x63C0..=0x63CF => Sw::VerifyFailed((v & 0x0F) as u8),
            0x6300 => Sw::AuthenticationFailed,
            0x6381 => Sw::RuleAlreadyExists,
            0x6382 => Sw::UnknownDataDiscarded,
            0x6400 => Sw::ExecutionError,
            0x6581 => Sw::MemoryFailure,
            0x6700 => Sw::WrongLength,
            0x6881 => Sw::ChannelNotSupported,
            0x6882 => Sw::SecureMessagingNotSupported,
            0x6884 => Sw::ChainingNotSupported,
            0x6981 => Sw::CommandIncompatible,
            0x6982 => Sw::SecurityNotSatisfied,
            0x6983 => Sw::AuthMethodBlocked,
            0x6984 => Sw::ReferenceDataNotUsable,
            0x6985 => Sw::ConditionsNotSatisfied,
            0x6986 => Sw::CommandNotAllowed,
            0x6999 => Sw::AppletSelectFailed,
            0x6A80 => Sw::WrongData,
            0x6A81 => Sw::FunctionNotSupported,
            0x6A82 => Sw::FileNotFound,
            0x6A84 => Sw::NotEnoughMemory,
            0x6A86 => Sw::IncorrectP1P2,
            0x6A88 => Sw::ReferencedDataNotFound,
            0x6A89 => Sw::AlreadyExists,
            0x6B00 => Sw::WrongP1P2,
            // The low byte of the matched range.
            #[allow(clippy::cast_possible_truncation)]
            0x6C00..=0x6CFF => Sw::WrongLe(v as u8),
            0x6D00 => Sw::InsNotSupported,
            0x6E00 => Sw::ClaNotSupported,
            0x6F00 => Sw::Unknown,
            _ => Sw::Other(v),
        }
    }

    /// SW1 and SW2.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.to_u16().to_be_bytes()
    }

    /// Typed form of SW1 SW2.
    pub const fn from_bytes(sw1: u8, sw2: u8) -> Sw {
        Sw::from_u16(u16::from_be_bytes([sw1, sw2]))
    }

    /// Whether the response counts as success for secure messaging: `9000`, `62xx`, `63xx`
    /// (AmdD §6.2.5: only these get R-MAC and R-ENC).
    pub const fn is_success_or_warning(self) -> bool {
        let v = self.to_u16();
        v == 0x9000 || (v >> 8) == 0x62 || (v >> 8) == 0x63
    }

    /// A short English meaning, for decoded views and error messages.
    pub fn meaning(self) -> &'static str {
        match self {
            Sw::Ok => "normal processing",
            Sw::BytesRemaining(_) => "more response bytes available",
            Sw::Warning => "warning, no information given",
            Sw::SelectedFileInvalidated => "selected file invalidated (card locked)",
            Sw::MoreData => "more data available",
            Sw::VerifyFailed(_) => "verification failed, tries left in SW2",
            Sw::AuthenticationFailed => "authentication of host cryptogram failed",
            Sw::RuleAlreadyExists => "stored, but a rule for the same target already exists",
            Sw::UnknownDataDiscarded => "stored, unknown data objects discarded",
            Sw::ExecutionError => "execution error",
            Sw::MemoryFailure => "memory failure",
            Sw::WrongLength => "wrong length",
            Sw::ChannelNotSupported => "logical channel not supported or not open",
            Sw::SecureMessagingNotSupported => "secure messaging not supported",
            Sw::ChainingNotSupported => "command chaining not supported",
            Sw::CommandIncompatible => "command incompatible with file structure",
            Sw::SecurityNotSatisfied => "security status not satisfied",
            Sw::AuthMethodBlocked => "authentication method blocked",
            Sw::ReferenceDataNotUsable => "reference data not usable",
            Sw::ConditionsNotSatisfied => "conditions of use not satisfied",
            Sw::CommandNotAllowed => "command not allowed",
            Sw::AppletSelectFailed => "applet selection failed",
            Sw::WrongData => "incorrect data",
            Sw::FunctionNotSupported => "function not supported",
            Sw::FileNotFound => "file or application not found",
            Sw::NotEnoughMemory => "not enough memory",
            Sw::IncorrectP1P2 => "incorrect P1 P2",
            Sw::ReferencedDataNotFound => "referenced data not found",
            Sw::AlreadyExists => "already exists (conflicting access rule)",
            Sw::WrongP1P2 => "wrong parameters P1 P2 (offset)",
            Sw::WrongLe(_) => "wrong Le, exact length in SW2",
            Sw::InsNotSupported => "instruction not supported",
            Sw::ClaNotSupported => "class not supported",
            Sw::Unknown => "no precise diagnosis",
            Sw::Other(_) => "unnamed status",
        }
    }
}

impl fmt::Display for Sw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.to_u16())
    }
}

impl From<u16> for Sw {
    fn from(v: u16) -> Self {
        Sw::from_u16(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_u16_round_trips() {
        for v in 0..=u16::MAX {
            assert_eq!(Sw::from_u16(v).to_u16(), v, "{v:04X}");
        }
    }

    #[test]
    fn wire_values() {
        assert_eq!(Sw::Ok.to_bytes(), [0x90, 0x00]);
        assert_eq!(Sw::VerifyFailed(3).to_bytes(), [0x63, 0xC3]);
        assert_eq!(Sw::WrongLength.to_bytes(), [0x67, 0x00]);
        assert_eq!(Sw::from_bytes(0x6A, 0x82), Sw::FileNotFound);
        assert!(Sw::MoreData.is_success_or_warning());
        assert!(!Sw::WrongLength.is_success_or_warning());
    }
}
