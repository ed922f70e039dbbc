//! The length-value fields of INSTALL and similar data (GPCS §11.5.2.3: one-byte lengths,
//! except parameters and tokens, whose lengths are BER `00-7F | 80 | 81 xx | 82 xx xx`): a reader
//! for the card and the matching writers for the host.

use crate::aid::Aid;
use crate::sw::Sw;

/// A cursor over a command data field; every malformed length is `6A80`.
pub struct LvReader<'a> {
    rest: &'a [u8],
}

impl<'a> LvReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        LvReader { rest: data }
    }

    /// A field with a one-byte length.
    pub fn lv(&mut self) -> Result<&'a [u8], Sw> {
        let (&l, rest) = self.rest.split_first().ok_or(Sw::WrongData)?;
        let v = rest.get(..l as usize).ok_or(Sw::WrongData)?;
        self.rest = &rest[l as usize..];
        Ok(v)
    }

    /// A one-byte-length field that may be missing at the end (GPP leaves trailing empty
    /// fields out, `globalplatform.md` §B.5).
    pub fn lv_opt(&mut self) -> Result<&'a [u8], Sw> {
        if self.rest.is_empty() {
            Ok(&[])
        } else {
            self.lv()
        }
    }

    /// A field with a BER length (`80` alone stands for 128, as GPCS allows), possibly missing
    /// at the end.
    pub fn ber_lv_opt(&mut self) -> Result<&'a [u8], Sw> {
        let Some((&first, rest)) = self.rest.split_first() else {
            return Ok(&[]);
        };
        let (len, rest) = match first {
            0x00..=0x80 => (first as usize, rest),
            0x81 => (*rest.first().ok_or(Sw::WrongData)? as usize, &rest[1..]),
            0x82 => {
                let b = rest.get(..2).ok_or(Sw::WrongData)?;
                (u16::from_be_bytes([b[0], b[1]]) as usize, &rest[2..])
            }
            _ => return Err(Sw::WrongData),
        };
        let v = rest.get(..len).ok_or(Sw::WrongData)?;
        self.rest = &rest[len..];
        Ok(v)
    }

    /// Everything has been read (trailing bytes are `6A80`).
    pub fn finish(self) -> Result<(), Sw> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Sw::WrongData)
        }
    }
}

/// An AID field: empty (`None`) or 5-16 bytes.
pub fn opt_aid(b: &[u8]) -> Result<Option<Aid>, Sw> {
    if b.is_empty() {
        Ok(None)
    } else {
        Aid::new(b).map(Some).ok_or(Sw::WrongData)
    }
}

/// An AID field that must be present.
pub fn aid(b: &[u8]) -> Result<Aid, Sw> {
    Aid::new(b).ok_or(Sw::WrongData)
}

/// Appends a field with a one-byte length.
///
/// # Panics
/// When `b` is longer than 255 bytes: every caller passes an AID (≤ 16), a hash (≤ 64) or
/// privileges (≤ 3).
// Over-long fields are a caller's programming error (the documented panic).
#[allow(clippy::expect_used)]
pub fn put_lv(out: &mut Vec<u8>, b: &[u8]) {
    let n = u8::try_from(b.len()).expect("LV field longer than 255 bytes");
    out.push(n);
    out.extend_from_slice(b);
}

/// Appends a field with a BER length (parameters, tokens).
pub fn put_ber_lv(out: &mut Vec<u8>, b: &[u8]) {
    crate::tlv::encode_len(b.len(), out);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_and_reader_agree() {
        let long = vec![0x5A; 300];
        let mut v = Vec::new();
        put_lv(&mut v, &[1, 2, 3]);
        put_lv(&mut v, &[]);
        put_ber_lv(&mut v, &long);
        put_ber_lv(&mut v, &[9; 0x80]);
        assert_eq!(&v[..5], &[3, 1, 2, 3, 0]);
        assert_eq!(&v[5..8], &[0x82, 0x01, 0x2C]);
        let mut r = LvReader::new(&v);
        assert_eq!(r.lv().unwrap(), &[1, 2, 3]);
        assert_eq!(r.lv_opt().unwrap(), &[] as &[u8]);
        assert_eq!(r.ber_lv_opt().unwrap(), &long[..]);
        assert_eq!(r.ber_lv_opt().unwrap(), &[9; 0x80][..]);
        r.finish().unwrap();
    }

    #[test]
    fn malformed_lengths_are_6a80() {
        assert_eq!(LvReader::new(&[3, 1]).lv(), Err(Sw::WrongData));
        assert_eq!(LvReader::new(&[0x83, 0, 0, 1]).ber_lv_opt(), Err(Sw::WrongData));
        assert_eq!(LvReader::new(&[0x81]).ber_lv_opt(), Err(Sw::WrongData));
        assert_eq!(LvReader::new(&[0]).finish(), Err(Sw::WrongData));
        assert_eq!(aid(&[1, 2, 3, 4]), Err(Sw::WrongData));
        assert_eq!(opt_aid(&[]), Ok(None));
    }
}
