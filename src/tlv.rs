//! BER-TLV (ISO 7816-4 §5.2, X.690 §8.1) parse with nom and build.
//!
//! Two parse modes: [`Mode::Ber`] accepts any valid length encoding, [`Mode::Der`] accepts only the
//! minimal one, as Android's ARA parser demands (`shared/reference/globalplatform.md` §C.3:
//! `81 xx` must be ≥ 0x80, `82` ≥ 0x100, `83` ≥ 0x10000).

use nom::bytes::complete::take;
use nom::number::complete::be_u8;
use nom::IResult;
use std::fmt;

/// A tag as its wire bytes packed big-endian into a number (`4F`, `9F70`, `FF40`, `BF3E`…).
pub type Tag = u32;

/// Length-encoding strictness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Any definite length form.
    Ber,
    /// Minimal definite lengths only.
    Der,
}

/// Why TLV bytes did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    #[error("TLV truncated")]
    Truncated,
    #[error("TLV tag malformed")]
    BadTag,
    #[error("TLV length malformed or not minimal")]
    BadLength,
    #[error("TLV nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// The deepest nesting of constructed TLVs [`Node::parse_all`] descends into. Every structure
/// this card and its hosts exchange is a few levels deep (ARA-M rules, the deepest, have 5);
/// the bound keeps recursion (and the stack) small whatever the input: 14,165 nested levels
/// overflowed the stack of `gpse trace` before (issue #19 §10).
pub const MAX_DEPTH: usize = 64;

/// A parsed TLV borrowing its value from the input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: Tag,
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Whether the tag says constructed (b6 of the first tag byte).
    pub fn constructed(&self) -> bool {
        is_constructed(self.tag)
    }

    /// The children of a constructed TLV.
    pub fn children(&self, mode: Mode) -> Result<Vec<Tlv<'a>>, TlvError> {
        parse_all(self.value, mode)
    }
}

impl fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}[{}]", self.tag, hex::encode_upper(self.value))
    }
}

/// A tag as its bytes are written on the wire, in hex: `06`, `84`, `9F7F`, `BF0C01`; never
/// `6` (a `u32` printed with `{:X}` drops the leading zero of a one-byte tag).
pub fn tag_hex(tag: Tag) -> String {
    let bytes = match tag {
        0..=0xFF => 1,
        0x100..=0xFFFF => 2,
        0x1_0000..=0xFF_FFFF => 3,
        _ => 4,
    };
    format!("{tag:0w$X}", w = bytes * 2)
}

/// Whether a tag is constructed.
pub fn is_constructed(tag: Tag) -> bool {
    let first = tag_bytes(tag)[0];
    first & 0x20 != 0
}

fn tag_bytes(tag: Tag) -> Vec<u8> {
    let b = tag.to_be_bytes();
    let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

fn nom_tag(i: &[u8]) -> IResult<&[u8], Result<Tag, TlvError>> {
    let (mut i, first) = be_u8(i)?;
    // 00 is padding in ISO 7816-4 BER-TLV, never a tag.
    if first == 0x00 {
        return Ok((i, Err(TlvError::BadTag)));
    }
    let mut tag = first as u32;
    if first & 0x1F == 0x1F {
        let mut n = 0;
        loop {
            let (rest, b) = be_u8(i)?;
            i = rest;
            tag = (tag << 8) | b as u32;
            n += 1;
            if b & 0x80 == 0 {
                break;
            }
            if n == 3 {
                return Ok((i, Err(TlvError::BadTag)));
            }
        }
    }
    Ok((i, Ok(tag)))
}

fn nom_len(i: &[u8], mode: Mode) -> IResult<&[u8], Result<usize, TlvError>> {
    let (i, first) = be_u8(i)?;
    if first < 0x80 {
        return Ok((i, Ok(first as usize)));
    }
    let n = (first & 0x7F) as usize;
    if n == 0 || n > 3 {
        // 80 is the indefinite form, not allowed in ISO 7816 BER-TLV; over 3 bytes is absurd here.
        return Ok((i, Err(TlvError::BadLength)));
    }
    let (i, bytes) = take(n)(i)?;
    let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize);
    let min = match n {
        1 => 0x80,
        2 => 0x100,
        _ => 0x10000,
    };
    if mode == Mode::Der && len < min {
        return Ok((i, Err(TlvError::BadLength)));
    }
    Ok((i, Ok(len)))
}

/// Parses one TLV from the front of `input`, returning it and the rest.
pub fn parse_one(input: &[u8], mode: Mode) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let trunc = |_| TlvError::Truncated;
    let (i, tag) = nom_tag(input).map_err(trunc)?;
    let tag = tag?;
    let (i, len) = nom_len(i, mode).map_err(trunc)?;
    let len = len?;
    let (rest, value): (&[u8], &[u8]) = take::<_, _, nom::error::Error<&[u8]>>(len)(i).map_err(trunc)?;
    Ok((Tlv { tag, value }, rest))
}

/// Parses a whole buffer as a sequence of TLVs; trailing bytes that do not form a TLV are an error.
pub fn parse_all(mut input: &[u8], mode: Mode) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (t, rest) = parse_one(input, mode)?;
        out.push(t);
        input = rest;
    }
    Ok(out)
}

/// The first TLV with `tag` among `tlvs`.
pub fn find<'a>(tlvs: &[Tlv<'a>], tag: Tag) -> Option<Tlv<'a>> {
    tlvs.iter().copied().find(|t| t.tag == tag)
}

/// Appends the minimal BER length encoding of `len`.
// Each arm writes only the bytes its range fits (ISO 7816-4 §5.2.2.2 BER length).
#[allow(clippy::cast_possible_truncation)]
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        _ => {
            assert!(len <= 0xFF_FFFF, "TLV length {len} too large");
            out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8])
        }
    }
}

/// Appends tag, minimal length and value.
pub fn encode(tag: Tag, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&tag_bytes(tag));
    encode_len(value.len(), out);
    out.extend_from_slice(value);
}

/// One TLV as a new vector.
pub fn tlv(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    encode(tag, value, &mut out);
    out
}

/// An owned TLV tree, for building nested structures and for round-trip tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Primitive(Tag, Vec<u8>),
    Constructed(Tag, Vec<Node>),
}

impl Node {
    /// The wire bytes (minimal lengths).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Node::Primitive(t, v) => encode(*t, v, out),
            Node::Constructed(t, kids) => {
                let mut inner = Vec::new();
                for k in kids {
                    k.write(&mut inner);
                }
                encode(*t, &inner, out);
            }
        }
    }

    /// Parses a buffer into trees, descending into constructed tags at most [`MAX_DEPTH`]
    /// levels deep (deeper: [`TlvError::TooDeep`]).
    pub fn parse_all(input: &[u8], mode: Mode) -> Result<Vec<Node>, TlvError> {
        Node::parse_at(input, mode, 1)
    }

    fn parse_at(input: &[u8], mode: Mode, depth: usize) -> Result<Vec<Node>, TlvError> {
        // An empty constructed TLV at the deepest level adds no level.
        if depth > MAX_DEPTH && !input.is_empty() {
            return Err(TlvError::TooDeep);
        }
        parse_all(input, mode)?
            .into_iter()
            .map(|t| {
                if t.constructed() {
                    Ok(Node::Constructed(t.tag, Node::parse_at(t.value, mode, depth + 1)?))
                } else {
                    Ok(Node::Primitive(t.tag, t.value.to_vec()))
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gp_fci() {
        // The real ISD SELECT response quoted in globalplatform.md §B.2.
        let b = hex::decode("6F108408A000000151000000A5049F6501FF").unwrap();
        let top = parse_all(&b, Mode::Der).unwrap();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].tag, 0x6F);
        let kids = top[0].children(Mode::Der).unwrap();
        assert_eq!(kids[0].tag, 0x84);
        assert_eq!(kids[0].value, hex::decode("A000000151000000").unwrap());
        let a5 = kids[1].children(Mode::Der).unwrap();
        assert_eq!((a5[0].tag, a5[0].value), (0x9F65, &[0xFF][..]));
    }

    #[test]
    fn der_rejects_non_minimal_lengths() {
        for h in ["4F810100", "4F82000100", "4F8300000100"] {
            let b = hex::decode(h).unwrap();
            assert_eq!(parse_all(&b, Mode::Der), Err(TlvError::BadLength), "{h}");
        }
        let b = hex::decode("4F810100").unwrap();
        assert_eq!(parse_all(&b, Mode::Ber).unwrap()[0].value, &[0u8][..]);
    }

    #[test]
    fn errors() {
        assert_eq!(parse_all(&[0x4F, 0x02, 0x01], Mode::Ber), Err(TlvError::Truncated));
        assert_eq!(parse_all(&[0x4F], Mode::Ber), Err(TlvError::Truncated));
        assert_eq!(parse_all(&[0x4F, 0x80], Mode::Ber), Err(TlvError::BadLength));
        assert_eq!(parse_all(&[0x9F], Mode::Ber), Err(TlvError::Truncated));
        assert_eq!(parse_all(&[0x00, 0x00], Mode::Ber), Err(TlvError::BadTag));
        assert_eq!(parse_all(&[0x5F, 0x81, 0x82, 0x83, 0x01, 0x00], Mode::Ber), Err(TlvError::BadTag));
    }

    /// `depth` constructed `E1` TLVs, each holding the next, the innermost empty.
    fn nested(depth: usize) -> Vec<u8> {
        // Sizes inside out, then headers outside in: linear, unlike wrapping `depth` times.
        let mut sizes = vec![0usize; depth];
        let mut inner = 0;
        for s in sizes.iter_mut().rev() {
            *s = inner;
            let mut h = vec![0xE1];
            encode_len(inner, &mut h);
            inner += h.len();
        }
        let mut out = Vec::with_capacity(inner);
        for s in sizes {
            out.push(0xE1);
            encode_len(s, &mut out);
        }
        out
    }

    #[test]
    fn nesting_is_bounded_with_a_precise_error() {
        let ok = nested(MAX_DEPTH);
        let mut n = &Node::parse_all(&ok, Mode::Der).unwrap()[0];
        let mut levels = 1;
        while let Node::Constructed(_, kids) = n {
            match kids.first() {
                Some(k) => n = k,
                None => break,
            }
            levels += 1;
        }
        assert_eq!(levels, MAX_DEPTH);
        assert_eq!(Node::parse_all(&nested(MAX_DEPTH + 1), Mode::Ber), Err(TlvError::TooDeep));
        // The input that aborted the process before (stack overflow).
        let deep = nested(14_165);
        assert_eq!(Node::parse_all(&deep, Mode::Ber), Err(TlvError::TooDeep));
        assert_eq!(TlvError::TooDeep.to_string(), "TLV nested deeper than 64 levels");
    }

    #[test]
    fn long_lengths() {
        let v = vec![7u8; 300];
        let b = tlv(0xFF40, &v);
        assert_eq!(&b[..5], &[0xFF, 0x40, 0x82, 0x01, 0x2C]);
        let t = parse_all(&b, Mode::Der).unwrap();
        assert_eq!((t[0].tag, t[0].value.len()), (0xFF40, 300));
    }
}
