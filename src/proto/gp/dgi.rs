//! The DGI format of STORE DATA (GPCS §11.11.2.3, P1 b5b4 = `01`; the EMV CPS coding GP takes):
//! a 2-byte Data Grouping Identifier, a length of one byte `00`-`FE` or `FF` and two bytes, the
//! data.

use crate::sw::Sw;

/// One DGI of a STORE DATA data field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dgi<'a> {
    pub tag: u16,
    pub value: &'a [u8],
}

/// Every DGI of `data`, which they must fill exactly (whole DGIs in each block); else `6A80`.
pub fn parse_dgis(mut data: &[u8]) -> Result<Vec<Dgi<'_>>, Sw> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (tag, len, head) = match data {
            [a, b, 0xFF, h, l, ..] => (u16::from_be_bytes([*a, *b]), usize::from(u16::from_be_bytes([*h, *l])), 5),
            [a, b, l, ..] if *l != 0xFF => (u16::from_be_bytes([*a, *b]), usize::from(*l), 3),
            _ => return Err(Sw::WrongData),
        };
        let value = data.get(head..head + len).ok_or(Sw::WrongData)?;
        out.push(Dgi { tag, value });
        data = &data[head + len..];
    }
    Ok(out)
}

/// Appends `tag L value`, the length in one byte below 255 and as `FF xx xx` from 255 on.
pub fn encode_dgi(tag: u16, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&tag.to_be_bytes());
    match u8::try_from(value.len()) {
        Ok(l) if l != 0xFF => out.push(l),
        _ => {
            out.push(0xFF);
            out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        }
    }
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_and_three_byte_lengths() {
        let long = vec![0x5A; 300];
        let mut b = Vec::new();
        encode_dgi(0x0101, &[1, 2], &mut b);
        encode_dgi(0x8010, &long, &mut b);
        encode_dgi(0x0202, &[], &mut b);
        assert_eq!(hex::encode_upper(&b[..10]), "010102010280 10FF012C".replace(' ', ""));
        let d = parse_dgis(&b).unwrap();
        assert_eq!(
            d,
            vec![
                Dgi { tag: 0x0101, value: &[1, 2] },
                Dgi { tag: 0x8010, value: &long },
                Dgi { tag: 0x0202, value: &[] }
            ]
        );
        for bad in ["01", "0101", "010102AA", "0101FF00", "0101FF0001"] {
            assert_eq!(parse_dgis(&hex::decode(bad).unwrap()), Err(Sw::WrongData), "{bad}");
        }
    }
}
