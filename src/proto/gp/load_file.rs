//! The Load File that LOAD blocks carry (GPCS §11.6.2.3, T11-58): zero or more DAP blocks
//! `E2 { 4F SD-AID, C3 signature }`, then the Load File Data Block `C4 BER-length LFDB`.

use crate::aid::Aid;
use crate::sw::Sw;
use crate::tlv::{self, Mode};

/// One DAP block (GPCS T11-58): the Load File Data Block Signature for one security domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DapBlock {
    /// `4F`: the AID of the security domain that verifies it.
    pub sd: Aid,
    /// `C3`: the signature (RSA) or MAC (AES CMAC) over the Load File Data Block Hash.
    pub signature: Vec<u8>,
}

impl DapBlock {
    /// `E2 L 4F L AID C3 L signature`.
    pub fn encode(&self) -> Vec<u8> {
        let mut inner = tlv::tlv(0x4F, self.sd.as_bytes());
        inner.extend(tlv::tlv(0xC3, &self.signature));
        tlv::tlv(0xE2, &inner)
    }
}

/// A whole Load File as the card reassembles it from LOAD blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFile<'a> {
    pub daps: Vec<DapBlock>,
    pub lfdb: &'a [u8],
}

impl<'a> LoadFile<'a> {
    /// `[E2 …]… C4 L LFDB`: anything else, a DAP block without exactly one `4F` (a valid AID)
    /// and one `C3`, or data after `C4`, is `6A80` (incorrect values in the command data).
    pub fn parse(file: &'a [u8]) -> Result<LoadFile<'a>, Sw> {
        let tlvs = tlv::parse_all(file, Mode::Ber).map_err(|_| Sw::WrongData)?;
        let (last, dap) = tlvs.split_last().ok_or(Sw::WrongData)?;
        if last.tag != 0xC4 {
            return Err(Sw::WrongData);
        }
        let mut daps = Vec::new();
        for t in dap {
            if t.tag != 0xE2 {
                return Err(Sw::WrongData);
            }
            let inner = t.children(Mode::Ber).map_err(|_| Sw::WrongData)?;
            let [a, s] = inner.as_slice() else { return Err(Sw::WrongData) };
            if a.tag != 0x4F || s.tag != 0xC3 {
                return Err(Sw::WrongData);
            }
            daps.push(DapBlock { sd: Aid::new(a.value).ok_or(Sw::WrongData)?, signature: s.value.to_vec() });
        }
        Ok(LoadFile { daps, lfdb: last.value })
    }

    /// The file: the DAP blocks in order, then `C4`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.daps.iter().flat_map(DapBlock::encode).collect();
        out.extend(tlv::tlv(0xC4, self.lfdb));
        out
    }

    /// The DAP block addressed to `sd`, if any.
    pub fn dap_for(&self, sd: &Aid) -> Option<&DapBlock> {
        self.daps.iter().find(|d| &d.sd == sd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_bytes_and_refusals() {
        let sd = Aid::new(&[0xA0, 0, 0, 1, 0x51, 0x53, 0x50, 0x41]).unwrap();
        let f = LoadFile { daps: vec![DapBlock { sd: sd.clone(), signature: vec![0xAB; 8] }], lfdb: &[1, 2, 3] };
        let b = f.encode();
        assert_eq!(hex::encode_upper(&b), "E2144F08A000000151535041C308ABABABABABABABABC403010203");
        assert_eq!(LoadFile::parse(&b).unwrap(), f);
        assert_eq!(f.dap_for(&sd).unwrap().signature, vec![0xAB; 8]);
        for bad in ["", "C301AB", "E200C40100", "E2034F0101C40100", "E20AC308ABABABABABABABABC40100", "C40100C40100"] {
            assert_eq!(LoadFile::parse(&hex::decode(bad).unwrap()), Err(Sw::WrongData), "{bad}");
        }
    }
}
