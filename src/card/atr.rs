//! The ATR's structure (ISO 7816-3 §8.2).

/// Checks an ATR's structure (ISO 7816-3 §8.2): TS, T0, the interface bytes T0 announces, the
/// historical bytes, and TCK when any protocol other than T=0 is offered. pcscd refuses ATRs over
/// 33 bytes (`pcsc.md` §5).
pub fn check_atr(atr: &[u8]) -> Result<(), String> {
    if atr.len() < 2 || atr.len() > 33 {
        return Err("an ATR is 2 to 33 bytes".into());
    }
    if atr[0] != 0x3B && atr[0] != 0x3F {
        return Err("TS must be 3B or 3F".into());
    }
    let hist = (atr[1] & 0x0F) as usize;
    let mut y = atr[1] >> 4;
    let mut i = 2;
    let mut need_tck = false;
    loop {
        let mut td = None;
        for bit in 0..4 {
            if y & (1 << bit) != 0 {
                if i >= atr.len() {
                    return Err("ATR truncated in its interface bytes".into());
                }
                if bit == 3 {
                    td = Some(atr[i]);
                }
                i += 1;
            }
        }
        match td {
            Some(t) => {
                if t & 0x0F != 0 {
                    need_tck = true;
                }
                y = t >> 4;
            }
            None => break,
        }
    }
    let want = i + hist + usize::from(need_tck);
    if atr.len() != want {
        return Err(format!("ATR length {} does not match its structure ({want})", atr.len()));
    }
    if need_tck && atr[1..].iter().fold(0u8, |a, b| a ^ b) != 0 {
        return Err("ATR checksum TCK is wrong".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atrs() {
        let ok = |h: &str| check_atr(&hex::decode(h).unwrap());
        assert!(ok("3B8C800147502D53452D454D554C21211D").is_ok());
        assert!(ok("3BE000FF8131FE4514").is_ok()); // JPKI contact ATR (pcsc.md §5)
        assert!(ok("3B8C800147502D53452D454D554C21211E").is_err());
        assert!(ok("3B8C8001").is_err());
    }
}
