//! gpse: a byte-exact emulator of the embedded secure element (GP-SE) of an Android phone, with
//! the applets that the smartphone JPKI certificates put on it.
//!
//! Three ways in, one card underneath: in-process ([`card::Card`]), the vpcd virtual reader, and
//! the script/vector runner. See `shared/DESIGN.md` for the architecture.

pub mod aid;
pub mod apdu;
pub mod applets;
pub mod card;
pub mod crypto;
pub mod gp;
pub mod hexutil;
pub mod host;
pub mod jcvm;
pub mod platform;
pub mod proto;
pub mod scp03;
pub mod script;
pub mod store;
pub mod sw;
pub mod tlv;
pub mod transport;
pub mod vectors;

pub use apdu::{Command, Response};
pub use card::{Aid, Card, CardImage};
pub use sw::Sw;
