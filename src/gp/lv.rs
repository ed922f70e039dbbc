//! Reading the length-value fields of INSTALL and similar data (GPCS §11.5.2.3: one-byte
//! lengths, except parameters and tokens, whose lengths are BER `00-7F | 80 | 81 xx | 82 xx xx`).

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
pub fn opt_aid(b: &[u8]) -> Result<Option<crate::card::Aid>, Sw> {
    if b.is_empty() {
        Ok(None)
    } else {
        crate::card::Aid::new(b).map(Some).ok_or(Sw::WrongData)
    }
}

/// An AID field that must be present.
pub fn aid(b: &[u8]) -> Result<crate::card::Aid, Sw> {
    crate::card::Aid::new(b).ok_or(Sw::WrongData)
}
