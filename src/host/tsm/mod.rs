//! The roles around the card (`shared/reference/seeds.md` §1): the SP-TSM that personalises the
//! JPKI applet. (The SEI-TSM, which owns the ISD, builds on the GP client.)

pub mod sei;
pub mod sp;
