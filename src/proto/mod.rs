//! The protocol layer card and host share: every command the card's applets answer, as a typed
//! value that both parses (card side: `TryFrom<&Command>` with `Error = Sw`, the status word the
//! card answers for a malformed command) and encodes (host side: `to_command`). One definition
//! per command, so that what the host sends and what the card accepts cannot drift apart.
//!
//! It sits at the bottom beside [`crate::apdu`]: it imports only `apdu`, `sw`, `tlv`, `hexutil`
//! and the [`crate::aid::Aid`] value type (a leaf module of `card` with no imports of its own).
//!
//! * [`iso`]: SELECT by AID, MANAGE CHANNEL, GET RESPONSE (ISO 7816-4).
//! * [`gp`]: the card manager commands (GPCS ch. 11, Amendment D §7).
//! * [`jpki`]: the JPKI AP commands and pair states (`applet-spec/jpki.md`).
//! * [`ara_m`]: the ARA-M's GET DATA and STORE DATA commands and its rule DOs
//!   (`applet-spec/ara-m.md`, GPD_SPE_013).
//!
//! Encoding conventions: commands are built on the basic channel (CLA `00` or `80`); host code
//! moves them with [`crate::apdu::Command::on_channel`]. Where the card parses a command
//! leniently (it ignores an Le, accepts optional trailing fields), `to_command` emits the form
//! the existing clients send (GPP, pySim, OpenSC), and `parse(encode(x)) == x` holds for every
//! value (the round-trip tests below each module).

pub mod ara_m;
pub mod gp;
pub mod iso;
pub mod jpki;
pub mod lv;
