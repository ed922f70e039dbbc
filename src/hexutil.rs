//! Hex as people type it: spaces, colons and a `0x` prefix are allowed, case does not matter.

/// Why a string is not hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    #[error("odd number of hex digits")]
    OddLength,
    #[error("'{0}' is not a hex digit")]
    BadDigit(char),
}

/// Parses hex, ignoring white space, `:` separators and a leading `0x`.
// Two hex digits, checked above, make at most 0xFF.
#[allow(clippy::cast_possible_truncation)]
pub fn parse_hex(s: &str) -> Result<Vec<u8>, HexError> {
    let s = s.trim();
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let digits: Vec<char> = s.chars().filter(|c| !c.is_whitespace() && *c != ':').collect();
    if let Some(&c) = digits.iter().find(|c| !c.is_ascii_hexdigit()) {
        return Err(HexError::BadDigit(c));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(HexError::OddLength);
    }
    Ok(digits
        .chunks(2)
        .map(|p| ((p[0].to_digit(16).unwrap_or(0) << 4) | p[1].to_digit(16).unwrap_or(0)) as u8)
        .collect())
}

/// Upper-case hex without separators, the form the CLI prints.
pub fn upper(b: &[u8]) -> String {
    hex::encode_upper(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_people_type() {
        assert_eq!(parse_hex("00 a4:04 00").unwrap(), vec![0, 0xA4, 4, 0]);
        assert_eq!(parse_hex("0x9000").unwrap(), vec![0x90, 0]);
        assert_eq!(parse_hex("123"), Err(HexError::OddLength));
        assert_eq!(parse_hex("12G4"), Err(HexError::BadDigit('G')));
    }
}
