//! The commands a security domain answers, parsed once from the APDU header (GPCS ch. 11). The
//! types live in the protocol layer the host shares ([`crate::proto::gp`]); each command's data
//! field is parsed into its own typed value after the card state and secure channel checks
//! (`applet-spec/isd.md`, "Which commands need what").

pub use crate::proto::gp::IsdCommand;
