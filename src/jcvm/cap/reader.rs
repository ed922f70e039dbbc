//! A bounds-checked big-endian cursor over one component's `info`, whose errors carry the
//! component and the offset (so no parser indexes a slice directly).

use super::{CapError, CapErrorKind, Tag};

pub(crate) struct Reader<'a> {
    pub b: &'a [u8],
    pub pos: usize,
    pub tag: Option<Tag>,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8], tag: Tag) -> Reader<'a> {
        Reader { b, pos: 0, tag: Some(tag) }
    }

    pub fn at(b: &'a [u8], tag: Tag, pos: usize) -> Reader<'a> {
        Reader { b, pos, tag: Some(tag) }
    }

    pub fn err(&self, kind: CapErrorKind) -> CapError {
        CapError::new(self.tag, self.pos, kind)
    }

    pub fn err_at(&self, pos: usize, kind: CapErrorKind) -> CapError {
        CapError::new(self.tag, pos, kind)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], CapError> {
        let s = self.b.get(self.pos..self.pos.saturating_add(n)).ok_or_else(|| self.err(CapErrorKind::Truncated))?;
        self.pos += n;
        Ok(s)
    }

    pub fn u1(&mut self) -> Result<u8, CapError> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u2(&mut self) -> Result<u16, CapError> {
        let s = self.bytes(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    pub fn u4(&mut self) -> Result<u32, CapError> {
        let s = self.bytes(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    pub fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Errors unless every byte was consumed (JCVM §6.1: a component's size is exact).
    pub fn finish(&self) -> Result<(), CapError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.err(CapErrorKind::TrailingBytes))
        }
    }
}
