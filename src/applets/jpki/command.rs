//! JPKI commands, parsed once from the APDU (`applet-spec/jpki.md`): the types live in the
//! protocol layer the host shares ([`crate::proto::jpki`]).

pub use crate::proto::jpki::{JpkiCommand, PairId, PinSetMode, SignScheme};
