//! Expected responses: bytes, masked bytes (`XX` or `..`), any run of bytes (`*`), captures
//! (`$name:N`) and variables (`$name`). A pattern of exactly two bytes checks the SW alone.

use std::collections::HashMap;
use std::fmt;

/// The longest response APDU: 65,536 data bytes (extended Ne `0000`, ISO 7816-4 §5.1) and the
/// status word. A pattern that needs more bytes can never match, so it is refused when parsed,
/// before a capture `$x:999999999999` could ask for that much memory (issue #19 §11).
pub const MAX_RESPONSE: usize = 65_536 + 2;

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternByte {
    Byte(u8),
    /// `XX` or `..`: any one byte.
    Any,
    /// `*`: any number of bytes (at most one per pattern).
    Rest,
    /// `$name:N`: N bytes, stored in the variable.
    Capture(String, usize),
    /// `$name`: the variable's bytes.
    Var(String),
}

/// An expected response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub items: Vec<PatternByte>,
}

/// Parses a hex-ish token stream into pattern items; `Err` says what is wrong.
pub fn parse_items(text: &str, allow_patterns: bool) -> Result<Vec<PatternByte>, String> {
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        if let Some(v) = tok.strip_prefix('$') {
            let (name, len) = match v.split_once(':') {
                Some((n, l)) => {
                    (n, Some(l.parse::<usize>().map_err(|_| format!("'{tok}': capture length is not a number"))?))
                }
                None => (v, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("'{tok}': a variable name is letters, digits and _"));
            }
            match len {
                Some(_) if !allow_patterns => return Err(format!("'{tok}': captures belong in an expected response")),
                Some(0) => return Err(format!("'{tok}': capture length must be at least 1")),
                Some(l) if l > MAX_RESPONSE => {
                    return Err(format!(
                        "'{tok}': capture length {l} exceeds the longest response ({MAX_RESPONSE} bytes)"
                    ))
                }
                Some(l) => out.push(PatternByte::Capture(name.to_string(), l)),
                None => out.push(PatternByte::Var(name.to_string())),
            }
            continue;
        }
        if tok == "*" {
            if !allow_patterns {
                return Err("'*' belongs in an expected response".into());
            }
            if out.contains(&PatternByte::Rest) {
                return Err("only one '*' per expected response".into());
            }
            out.push(PatternByte::Rest);
            continue;
        }
        let b = tok.as_bytes();
        if b.len() % 2 != 0 {
            return Err(format!("'{tok}': odd number of hex digits"));
        }
        for pair in b.chunks(2) {
            let s = std::str::from_utf8(pair).unwrap_or("??");
            if s.eq_ignore_ascii_case("xx") || s == ".." {
                if !allow_patterns {
                    return Err(format!("'{tok}': masks belong in an expected response"));
                }
                out.push(PatternByte::Any);
            } else {
                let v = u8::from_str_radix(s, 16).map_err(|_| format!("'{tok}': '{s}' is not a hex byte"))?;
                out.push(PatternByte::Byte(v));
            }
        }
    }
    Ok(out)
}

/// Why a response did not match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Index of the first response byte that differs (or the response length when too short).
    pub at: usize,
    pub why: String,
}

impl Pattern {
    /// Parses `=> …` text.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let items = parse_items(text, true)?;
        if items.is_empty() {
            return Err("empty expected response".into());
        }
        let fixed: usize = items
            .iter()
            .map(|i| match i {
                PatternByte::Byte(_) | PatternByte::Any => 1,
                PatternByte::Capture(_, l) => *l,
                PatternByte::Var(_) | PatternByte::Rest => 0,
            })
            .sum();
        if fixed > MAX_RESPONSE {
            return Err(format!(
                "expected response of at least {fixed} bytes exceeds the longest response ({MAX_RESPONSE} bytes)"
            ));
        }
        Ok(Pattern { items })
    }

    /// A literal pattern of these bytes.
    pub fn exact(bytes: &[u8]) -> Pattern {
        Pattern { items: bytes.iter().map(|&b| PatternByte::Byte(b)).collect() }
    }

    /// Two plain items only: the status word is checked, the data is not.
    pub fn is_sw_only(&self) -> bool {
        self.items.len() == 2 && self.items.iter().all(|i| matches!(i, PatternByte::Byte(_) | PatternByte::Any))
    }

    /// Checks a response, storing captures into `vars` only when the whole pattern matches.
    pub fn check(&self, rsp: &[u8], vars: &mut HashMap<String, Vec<u8>>) -> Result<(), Mismatch> {
        let items: Vec<PatternByte> = if self.is_sw_only() {
            let mut v = vec![PatternByte::Rest];
            v.extend(self.items.iter().cloned());
            v
        } else {
            self.items.clone()
        };
        // Expand variables to bytes first, then match with at most one '*'.
        let mut flat: Vec<Elem> = Vec::new();
        for it in &items {
            match it {
                PatternByte::Byte(b) => flat.push(Elem::Byte(*b)),
                PatternByte::Any => flat.push(Elem::Any(None)),
                PatternByte::Capture(n, l) => (0..*l).for_each(|i| flat.push(Elem::Any(Some((n.clone(), i))))),
                PatternByte::Var(n) => match vars.get(n) {
                    Some(v) => flat.extend(v.iter().map(|&b| Elem::Byte(b))),
                    None => return Err(Mismatch { at: 0, why: format!("variable ${n} is not set") }),
                },
                PatternByte::Rest => flat.push(Elem::Rest),
            }
        }
        let (head, tail): (&[Elem], &[Elem]) = match flat.iter().position(|e| matches!(e, Elem::Rest)) {
            Some(p) => (&flat[..p], &flat[p + 1..]),
            None => (&flat[..], &[]),
        };
        let has_rest = flat.iter().any(|e| matches!(e, Elem::Rest));
        let min = head.len() + tail.len();
        if rsp.len() < min || (!has_rest && rsp.len() != min) {
            let at = rsp.len().min(min);
            return Err(Mismatch {
                at,
                why: format!("length {} where {} expected", rsp.len(), describe_len(min, has_rest)),
            });
        }
        let mut caps: HashMap<String, Vec<u8>> = HashMap::new();
        let tail_start = rsp.len() - tail.len();
        for (i, e) in head.iter().enumerate().chain(tail.iter().enumerate().map(|(i, e)| (i + tail_start, e))) {
            match e {
                Elem::Byte(b) if rsp[i] != *b => {
                    return Err(Mismatch { at: i, why: format!("byte {i} is {:02X}, expected {b:02X}", rsp[i]) })
                }
                Elem::Any(Some((n, _))) => caps.entry(n.clone()).or_default().push(rsp[i]),
                _ => {}
            }
        }
        vars.extend(caps);
        Ok(())
    }
}

fn describe_len(n: usize, open: bool) -> String {
    if open {
        format!("at least {n}")
    } else {
        n.to_string()
    }
}

enum Elem {
    Byte(u8),
    Any(Option<(String, usize)>),
    Rest,
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hexrun = String::new();
        let mut parts: Vec<String> = Vec::new();
        for it in &self.items {
            match it {
                PatternByte::Byte(b) => hexrun.push_str(&format!("{b:02X}")),
                PatternByte::Any => hexrun.push_str("XX"),
                other => {
                    if !hexrun.is_empty() {
                        parts.push(std::mem::take(&mut hexrun));
                    }
                    parts.push(match other {
                        PatternByte::Rest => "*".into(),
                        PatternByte::Capture(n, l) => format!("${n}:{l}"),
                        PatternByte::Var(n) => format!("${n}"),
                        _ => String::new(),
                    });
                }
            }
        }
        if !hexrun.is_empty() {
            parts.push(hexrun);
        }
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chk(p: &str, rsp: &str) -> Result<HashMap<String, Vec<u8>>, Mismatch> {
        let mut v = HashMap::new();
        Pattern::parse(p).unwrap().check(&hex::decode(rsp).unwrap(), &mut v).map(|_| v)
    }

    #[test]
    fn masks_rest_and_sw_only() {
        assert!(chk("6F10 84XX A0..0151 9000", "6F1084AAA00001519000").is_ok());
        assert!(chk("9000", "0102039000").is_ok());
        assert!(chk("9000", "6A82").is_err());
        assert!(chk("* 9000", "9000").is_ok());
        assert!(chk("01 * 9000", "01AABB9000").is_ok());
        assert_eq!(chk("0102 9000", "01039000").unwrap_err().at, 1);
        assert!(chk("0102 9000", "0102039000").is_err());
    }

    #[test]
    fn captures_and_variables() {
        let v = chk("CF0A $kdd:10 9000", "CF0A001122334455667788999000").unwrap();
        assert_eq!(v["kdd"], hex::decode("00112233445566778899").unwrap());
        let mut vars = v.clone();
        let p = Pattern::parse("$kdd 9000").unwrap();
        assert!(p.check(&hex::decode("001122334455667788999000").unwrap(), &mut vars).is_ok());
        assert!(p.check(&hex::decode("001122334455667788989000").unwrap(), &mut vars).is_err());
    }

    #[test]
    fn bad_patterns() {
        assert!(Pattern::parse("9G00").is_err());
        assert!(Pattern::parse("900").is_err());
        assert!(Pattern::parse("* * 9000").is_err());
        assert!(Pattern::parse("$:3").is_err());
        assert!(Pattern::parse("$x:0").is_err());
        assert_eq!(
            Pattern::parse("$x:999999999999 9000").unwrap_err(),
            "'$x:999999999999': capture length 999999999999 exceeds the longest response (65538 bytes)"
        );
        assert!(Pattern::parse("$x:65538").is_ok());
        assert_eq!(
            Pattern::parse("$x:65538 $y:1").unwrap_err(),
            "expected response of at least 65539 bytes exceeds the longest response (65538 bytes)"
        );
        assert!(Pattern::parse("").is_err());
    }
}
