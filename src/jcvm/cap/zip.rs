//! Reading the zip (JAR) form of a CAP file (PKZIP APPNOTE 6.3.x: local headers, central
//! directory, end of central directory). Entries are read through the central directory (JAR
//! writers that stream put sizes only there); stored and deflated entries are supported.

use super::{CapError, CapErrorKind};

fn zerr(at: usize, s: impl Into<String>) -> CapError {
    CapError::new(None, at, CapErrorKind::Zip(s.into()))
}

fn le16(b: &[u8], at: usize) -> Result<usize, CapError> {
    b.get(at..at.saturating_add(2))
        .map(|x| u16::from_le_bytes([x[0], x[1]]) as usize)
        .ok_or_else(|| zerr(at, "truncated"))
}

fn le32(b: &[u8], at: usize) -> Result<usize, CapError> {
    b.get(at..at.saturating_add(4))
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize)
        .ok_or_else(|| zerr(at, "truncated"))
}

/// Whether `b` starts like a zip file (a local file header).
pub fn is_zip(b: &[u8]) -> bool {
    b.starts_with(b"PK\x03\x04")
}

/// The entries of a zip whose name satisfies `want`, as `(name, data)`, in central directory
/// order; each checked against its size and CRC-32. `limit` bounds each inflated entry.
pub fn read_entries(b: &[u8], want: impl Fn(&str) -> bool, limit: usize) -> Result<Vec<(String, Vec<u8>)>, CapError> {
    let eocd = (0..=b.len().saturating_sub(22))
        .rev()
        .find(|&i| b[i..].starts_with(&[0x50, 0x4B, 0x05, 0x06]))
        .ok_or_else(|| zerr(b.len(), "no end of central directory"))?;
    let entries = le16(b, eocd + 10)?;
    let mut p = le32(b, eocd + 16)?;
    let mut out = Vec::new();
    for _ in 0..entries {
        if le32(b, p)? != 0x0201_4B50 {
            return Err(zerr(p, "central directory damaged"));
        }
        let method = le16(b, p + 10)?;
        // le32 reads four bytes.
        #[allow(clippy::cast_possible_truncation)]
        let crc = le32(b, p + 16)? as u32;
        let csize = le32(b, p + 20)?;
        let usize_ = le32(b, p + 24)?;
        let (nlen, xlen, clen) = (le16(b, p + 28)?, le16(b, p + 30)?, le16(b, p + 32)?);
        let local = le32(b, p + 42)?;
        let name = b.get(p + 46..p + 46 + nlen).ok_or_else(|| zerr(p, "truncated"))?;
        let name = String::from_utf8_lossy(name).to_string();
        p += 46 + nlen + xlen + clen;
        if !want(&name) {
            continue;
        }
        if le32(b, local)? != 0x0403_4B50 {
            return Err(zerr(local, "local header damaged"));
        }
        let start = local + 30 + le16(b, local + 26)? + le16(b, local + 28)?;
        let raw = b.get(start..start.saturating_add(csize)).ok_or_else(|| zerr(start, format!("{name} truncated")))?;
        let data = match method {
            0 => raw.to_vec(),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(raw, limit)
                .map_err(|_| zerr(start, format!("{name}: deflate data damaged")))?,
            m => return Err(zerr(start, format!("{name}: compression method {m}"))),
        };
        if data.len() != usize_ || crc32fast::hash(&data) != crc {
            return Err(zerr(start, format!("{name}: size or CRC mismatch")));
        }
        out.push((name, data));
    }
    Ok(out)
}
