//! Command and response APDUs (ISO 7816-4 §5.1): cases 1-4 in short and extended form, and the
//! class byte with its logical-channel coding (`shared/reference/globalplatform.md` §D.1).

use crate::sw::Sw;
use std::fmt;

/// The largest Ne: an Le field of `00` (short) or `0000` (extended) means this many.
pub const MAX_NE_SHORT: usize = 256;
/// Extended Le `0000`.
pub const MAX_NE_EXTENDED: usize = 65536;

/// ISO 7816-4 command cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// Header only.
    One,
    /// Header and Le.
    Two,
    /// Header, Lc and data.
    Three,
    /// Header, Lc, data and Le.
    Four,
}

/// A command APDU, parsed once and then handled as a typed value.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    /// The command data field (Nc bytes); empty when there is no Lc.
    pub data: Vec<u8>,
    /// Ne, the number of response bytes expected; `None` when there is no Le field.
    pub ne: Option<usize>,
    /// Whether the wire form used (or must use) extended length fields.
    pub extended: bool,
}

impl Command {
    /// A command with no data and no Le (case 1).
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Command { cla, ins, p1, p2, data: Vec::new(), ne: None, extended: false }
    }

    /// Adds a data field.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Adds an Le field asking for `ne` bytes (1..=65536).
    pub fn with_ne(mut self, ne: usize) -> Self {
        self.ne = Some(ne);
        self
    }

    /// The case of this command.
    pub fn case(&self) -> Case {
        match (self.data.is_empty(), self.ne.is_some()) {
            (true, false) => Case::One,
            (true, true) => Case::Two,
            (false, false) => Case::Three,
            (false, true) => Case::Four,
        }
    }

    /// The header as four bytes.
    pub fn header(&self) -> [u8; 4] {
        [self.cla, self.ins, self.p1, self.p2]
    }

    /// P1 and P2 as one number.
    pub fn p1p2(&self) -> u16 {
        u16::from_be_bytes([self.p1, self.p2])
    }

    /// Ne, with 0 when there is no Le.
    pub fn ne_or_zero(&self) -> usize {
        self.ne.unwrap_or(0)
    }

    /// Parses the wire bytes. Anything that is not exactly one of the four cases (bad Lc, bad
    /// Le, trailing bytes, fewer than four bytes) is [`Sw::WrongLength`].
    pub fn parse(b: &[u8]) -> Result<Command, Sw> {
        if b.len() < 4 {
            return Err(Sw::WrongLength);
        }
        let mut c = Command::new(b[0], b[1], b[2], b[3]);
        let body = &b[4..];
        match body.len() {
            0 => {}
            1 => c.ne = Some(short_ne(body[0])),
            _ if body[0] != 0 => {
                // Short Lc.
                let lc = body[0] as usize;
                let rest = &body[1..];
                if rest.len() == lc {
                    c.data = rest.to_vec();
                } else if rest.len() == lc + 1 {
                    c.data = rest[..lc].to_vec();
                    c.ne = Some(short_ne(rest[lc]));
                } else {
                    return Err(Sw::WrongLength);
                }
            }
            3 => {
                // Case 2E: 00 Le1 Le2.
                c.extended = true;
                c.ne = Some(ext_ne(body[1], body[2]));
            }
            n if n > 3 => {
                c.extended = true;
                let lc = u16::from_be_bytes([body[1], body[2]]) as usize;
                if lc == 0 {
                    return Err(Sw::WrongLength);
                }
                let rest = &body[3..];
                if rest.len() == lc {
                    c.data = rest.to_vec();
                } else if rest.len() == lc + 2 {
                    c.data = rest[..lc].to_vec();
                    c.ne = Some(ext_ne(rest[lc], rest[lc + 1]));
                } else {
                    return Err(Sw::WrongLength);
                }
            }
            _ => return Err(Sw::WrongLength),
        }
        Ok(c)
    }

    /// Whether the wire form needs extended length fields (a case 1 command has none).
    pub fn needs_extended(&self) -> bool {
        (self.extended && self.case() != Case::One)
            || self.data.len() > 255
            || self.ne.is_some_and(|n| n > MAX_NE_SHORT)
    }

    /// The wire bytes: short form unless the data, Ne or [`Command::extended`] need extended.
    ///
    /// # Panics
    /// When the data is longer than 65535 bytes or Ne is 0 or above 65536; both are programming
    /// errors of the caller, not of card input.
    // Lengths are asserted above, each form is taken only when its value fits, and Ne 256/65536 encode as 00/0000 (ISO 7816-4 §5.1).
    #[allow(clippy::cast_possible_truncation)]
    pub fn to_bytes(&self) -> Vec<u8> {
        assert!(self.data.len() <= 65535, "command data longer than 65535 bytes");
        if let Some(ne) = self.ne {
            assert!((1..=MAX_NE_EXTENDED).contains(&ne), "Ne out of range: {ne}");
        }
        let mut out = Vec::with_capacity(4 + 3 + self.data.len() + 2);
        out.extend_from_slice(&self.header());
        let ext = self.needs_extended();
        if !self.data.is_empty() {
            if ext {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(ne) = self.ne {
            if ext {
                if self.data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&((ne % MAX_NE_EXTENDED) as u16).to_be_bytes());
            } else {
                out.push((ne % MAX_NE_SHORT) as u8);
            }
        }
        out
    }

    /// The decoded class byte.
    pub fn class(&self) -> Result<Class, Sw> {
        Class::parse(self.cla)
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({})", hex::encode_upper(self.to_bytes()))
    }
}

fn short_ne(b: u8) -> usize {
    if b == 0 {
        MAX_NE_SHORT
    } else {
        b as usize
    }
}

fn ext_ne(hi: u8, lo: u8) -> usize {
    match u16::from_be_bytes([hi, lo]) {
        0 => MAX_NE_EXTENDED,
        n => n as usize,
    }
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: Sw,
}

impl Response {
    /// `9000` with no data.
    pub fn ok() -> Self {
        Response { data: Vec::new(), sw: Sw::Ok }
    }

    /// `9000` with data.
    pub fn data(data: impl Into<Vec<u8>>) -> Self {
        Response { data: data.into(), sw: Sw::Ok }
    }

    /// A status word alone.
    pub fn status(sw: Sw) -> Self {
        Response { data: Vec::new(), sw }
    }

    /// Splits wire bytes into data and SW; fewer than two bytes is not a response.
    pub fn parse(b: &[u8]) -> Option<Response> {
        if b.len() < 2 {
            return None;
        }
        let (d, s) = b.split_at(b.len() - 2);
        Some(Response { data: d.to_vec(), sw: Sw::from_bytes(s[0], s[1]) })
    }

    /// The wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }
}

impl From<Sw> for Response {
    fn from(sw: Sw) -> Self {
        Response::status(sw)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({})", hex::encode_upper(self.to_bytes()))
    }
}

/// The class byte, decoded (ISO 7816-4 §5.4.1; GPCS T11-11/12; `globalplatform.md` §D.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    /// Logical channel 0-19.
    pub channel: u8,
    /// b8 set: proprietary class (GP commands use `8x`/`Cx`/`Ex`).
    pub proprietary: bool,
    /// Secure messaging indicated (b4/b3 in the first interindustry coding, b6 in the further).
    pub secure_messaging: bool,
    /// b5: command chaining, not the last command of a chain.
    pub chaining: bool,
}

impl Class {
    /// Decodes a CLA. `FF` (PPS) and the RFU range `2x`/`3x` (and `Ax`/`Bx`) answer
    /// [`Sw::ClaNotSupported`].
    pub fn parse(cla: u8) -> Result<Class, Sw> {
        if cla == 0xFF {
            return Err(Sw::ClaNotSupported);
        }
        let proprietary = cla & 0x80 != 0;
        let low = cla & 0x7F;
        match low & 0x60 {
            // First interindustry: 000x xxxx.
            0x00 => Ok(Class {
                channel: low & 0x03,
                proprietary,
                secure_messaging: low & 0x0C != 0,
                chaining: low & 0x10 != 0,
            }),
            // Further interindustry: 01xx xxxx.
            0x40 | 0x60 => Ok(Class {
                channel: 4 + (low & 0x0F),
                proprietary,
                secure_messaging: low & 0x20 != 0,
                chaining: low & 0x10 != 0,
            }),
            // Proprietary `A0`-`BF`: neither ISO nor GP codes them, so nothing is read from
            // them: the basic channel, no SM, no chaining (as the Java Card 2.1 RE, whose
            // samples use `B0`, treated every CLA).
            0x20 if proprietary => Ok(Class { channel: 0, proprietary, secure_messaging: false, chaining: false }),
            _ => Err(Sw::ClaNotSupported),
        }
    }

    /// Decodes a CLA as a card of the ISO 7816-4:1995 class coding does (`legacy`: the Java
    /// Card 2.1 RE): `40`-`7F` are RFU there, not channels 4-19, and reach the applet selected
    /// on the basic channel as they came (no SM, no chaining read from them). Otherwise as
    /// [`Class::parse`].
    pub fn parse_for(cla: u8, legacy: bool) -> Result<Class, Sw> {
        if legacy && cla & 0xC0 == 0x40 {
            return Ok(Class { channel: 0, proprietary: false, secure_messaging: false, chaining: false });
        }
        Class::parse(cla)
    }

    /// The CLA byte for a channel: `00`-`03`/`40`-`4F` (ISO) or `80`-`83`/`C0`-`CF` (GP), with
    /// the SM indication GP uses (`04` in the first coding, `20` in the further). A channel above
    /// 19 has no coding (ISO 7816-4 §5.4.1): a typed error, since the number may come from a
    /// card's MANAGE CHANNEL answer.
    pub fn encode(channel: u8, proprietary: bool, secure_messaging: bool) -> Result<u8, ChannelOutOfRange> {
        if channel > MAX_CHANNEL {
            return Err(ChannelOutOfRange(channel));
        }
        let base = if proprietary { 0x80 } else { 0x00 };
        Ok(if channel < 4 {
            base | channel | if secure_messaging { 0x04 } else { 0 }
        } else {
            base | 0x40 | (channel - 4) | if secure_messaging { 0x20 } else { 0 }
        })
    }

    /// The same class moved to another channel, keeping proprietary and SM bits; `6881` for a
    /// channel the class byte cannot code.
    pub fn with_channel(cla: u8, channel: u8) -> Result<u8, Sw> {
        let c = Class::parse(cla)?;
        let mut out = Class::encode(channel, c.proprietary, c.secure_messaging)?;
        if c.chaining {
            out |= 0x10;
        }
        Ok(out)
    }
}

/// The highest logical channel number a class byte can code (ISO 7816-4 §5.4.1: 0-3 in the
/// first interindustry coding, 4-19 in the further).
pub const MAX_CHANNEL: u8 = 19;

/// A logical channel number the class byte cannot code (above [`MAX_CHANNEL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("logical channel {0} is out of range (0-19)")]
pub struct ChannelOutOfRange(pub u8);

impl From<ChannelOutOfRange> for Sw {
    /// A card asked for a channel it cannot code answers "logical channel not supported".
    fn from(_: ChannelOutOfRange) -> Sw {
        Sw::ChannelNotSupported
    }
}

impl Command {
    /// The same command on logical channel `channel`: the CLA keeps its proprietary, SM and
    /// chaining bits (used by host code that builds a command once and sends it on the channel
    /// it opened).
    pub fn on_channel(mut self, channel: u8) -> Result<Command, ChannelOutOfRange> {
        let c = Class::parse(self.cla).map_err(|_| ChannelOutOfRange(channel))?;
        let mut cla = Class::encode(channel, c.proprietary, c.secure_messaging)?;
        if c.chaining {
            cla |= 0x10;
        }
        self.cla = cla;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(h: &str) -> Result<Command, Sw> {
        Command::parse(&hex::decode(h).unwrap())
    }

    #[test]
    fn the_four_cases_short() {
        assert_eq!(p("00A40400").unwrap().case(), Case::One);
        let c2 = p("00B0000000").unwrap();
        assert_eq!((c2.case(), c2.ne), (Case::Two, Some(256)));
        let c3 = p("00A4040C02AABB").unwrap();
        assert_eq!((c3.case(), c3.data.clone()), (Case::Three, vec![0xAA, 0xBB]));
        let c4 = p("00A4040008A00000015100000000").unwrap();
        assert_eq!((c4.case(), c4.ne, c4.data.len()), (Case::Four, Some(256), 8));
    }

    #[test]
    fn the_four_cases_extended() {
        let c2 = p("00B00000000000").unwrap();
        assert_eq!((c2.case(), c2.ne, c2.extended), (Case::Two, Some(65536), true));
        let c2b = p("80020000000400").unwrap();
        assert_eq!(c2b.ne, Some(1024));
        let mut b = hex::decode("8001000000012C").unwrap();
        b.extend(std::iter::repeat_n(0x5A, 300));
        let c3 = Command::parse(&b).unwrap();
        assert_eq!((c3.case(), c3.data.len()), (Case::Three, 300));
        b.extend([0, 0]);
        let c4 = Command::parse(&b).unwrap();
        assert_eq!((c4.case(), c4.ne), (Case::Four, Some(65536)));
        assert_eq!(c4.to_bytes(), b);
    }

    #[test]
    fn malformed_is_6700() {
        for h in [
            "",
            "00",
            "00A4",
            "00A404",
            "00A4040002AA",
            "00A4040002AABBCCDD",
            "00A404000000",
            "000100000001",
            "0001000000000001",
        ] {
            assert_eq!(p(h), Err(Sw::WrongLength), "{h}");
        }
        // Extended Lc = 0 is not a valid case 3E.
        assert_eq!(p("00010000000000AA"), Err(Sw::WrongLength));
        // Extended Lc that disagrees with the body.
        assert_eq!(p("0001000000000301"), Err(Sw::WrongLength));
    }

    #[test]
    fn class_coding() {
        assert_eq!(Class::parse(0x00).unwrap().channel, 0);
        assert_eq!(Class::parse(0x03).unwrap().channel, 3);
        let c = Class::parse(0x84).unwrap();
        assert!(c.proprietary && c.secure_messaging && c.channel == 0);
        assert_eq!(Class::parse(0x40).unwrap().channel, 4);
        assert_eq!(Class::parse(0x4F).unwrap().channel, 19);
        let e = Class::parse(0xE3).unwrap();
        assert!(e.proprietary && e.secure_messaging && e.channel == 7);
        assert_eq!(Class::parse(0xFF), Err(Sw::ClaNotSupported));
        assert_eq!(Class::parse(0x20), Err(Sw::ClaNotSupported));
        for ch in 0..20 {
            for prop in [false, true] {
                for sm in [false, true] {
                    let cla = Class::encode(ch, prop, sm).unwrap();
                    let c = Class::parse(cla).unwrap();
                    assert_eq!((c.channel, c.proprietary, c.secure_messaging), (ch, prop, sm));
                }
            }
        }
        assert_eq!(Class::encode(5, true, true), Ok(0xE1));
        assert_eq!(Class::with_channel(0x84, 2).unwrap(), 0x86);
        // A channel number a card might answer that no class byte codes: an error, no panic.
        for ch in [20, 0x55, 0xFF] {
            assert_eq!(Class::encode(ch, true, false), Err(ChannelOutOfRange(ch)));
            assert_eq!(Class::with_channel(0x80, ch), Err(Sw::ChannelNotSupported));
            assert!(Command::new(0x80, 0xCA, 0, 0x66).on_channel(ch).is_err());
        }
        assert_eq!(Command::new(0x90, 0xCA, 0, 0x66).on_channel(5).unwrap().cla, 0xD1);
    }
}
