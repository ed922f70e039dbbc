//! The Java Card instruction set (JCVM 3.0.5 ch. 7, summary in §7.5 "Instructions by
//! opcode"): 185 opcodes `0x00`-`0xB8` plus `impdep1`/`impdep2` (`0xFE`/`0xFF`), their operand
//! formats, and a bounds-checked decoder shared by the verifier, the disassembler and tools.
//!
//! Branch offsets are signed and relative to the address of the instruction's opcode (JCVM
//! ch. 7, e.g. `goto`: "execution proceeds at that offset from the address of the opcode of
//! this goto instruction").

/// How an instruction's operands are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// No operand.
    None,
    /// `s1` literal (`bspush`, `bipush`).
    Byte,
    /// `s2` literal (`sspush`, `sipush`).
    Short,
    /// `s4` literal (`iipush`).
    Int,
    /// `u1` local variable index.
    Local,
    /// `u1` index, `s1` constant (`sinc`, `iinc`).
    Inc,
    /// `u1` index, `s2` constant (`sinc_w`, `iinc_w`).
    IncW,
    /// `u1` `mn` nibbles (`dup_x`, `swap_x`).
    Mn,
    /// `s1` branch offset.
    Branch1,
    /// `s2` branch offset.
    Branch2,
    /// `u1` constant pool index (`getfield_x`, `putfield_x`, `*_this`).
    Cp1,
    /// `u2` constant pool index.
    Cp2,
    /// `u1` array type (`newarray`: 10 boolean, 11 byte, 12 short, 13 int).
    ArrayType,
    /// `u1 nargs, u2 cp index, u1 method token` (`invokeinterface`).
    Interface,
    /// `u1 atype, u2 cp index` (`checkcast`, `instanceof`).
    TypeCp,
    /// `s2 default, s2 low, s2 high, s2 offsets[high-low+1]`.
    STableSwitch,
    /// `s2 default, s4 low, s4 high, s2 offsets[high-low+1]`.
    ITableSwitch,
    /// `s2 default, u2 npairs, {s2 match, s2 offset}[npairs]`.
    SLookupSwitch,
    /// `s2 default, u2 npairs, {s4 match, s2 offset}[npairs]`.
    ILookupSwitch,
}

impl Format {
    /// Operand bytes of a fixed format; `None` for the switches.
    pub fn fixed_len(self) -> Option<usize> {
        use Format::*;
        Some(match self {
            None => 0,
            Byte | Local | Mn | Branch1 | Cp1 | ArrayType => 1,
            Short | Inc | Branch2 | Cp2 => 2,
            IncW | TypeCp => 3,
            Int | Interface => 4,
            STableSwitch | ITableSwitch | SLookupSwitch | ILookupSwitch => return Option::None,
        })
    }
}

const NAMES: [&str; 185] = [
    "nop",
    "aconst_null",
    "sconst_m1",
    "sconst_0",
    "sconst_1",
    "sconst_2",
    "sconst_3",
    "sconst_4",
    "sconst_5",
    "iconst_m1",
    "iconst_0",
    "iconst_1",
    "iconst_2",
    "iconst_3",
    "iconst_4",
    "iconst_5",
    "bspush",
    "sspush",
    "bipush",
    "sipush",
    "iipush",
    "aload",
    "sload",
    "iload",
    "aload_0",
    "aload_1",
    "aload_2",
    "aload_3",
    "sload_0",
    "sload_1",
    "sload_2",
    "sload_3",
    "iload_0",
    "iload_1",
    "iload_2",
    "iload_3",
    "aaload",
    "baload",
    "saload",
    "iaload",
    "astore",
    "sstore",
    "istore",
    "astore_0",
    "astore_1",
    "astore_2",
    "astore_3",
    "sstore_0",
    "sstore_1",
    "sstore_2",
    "sstore_3",
    "istore_0",
    "istore_1",
    "istore_2",
    "istore_3",
    "aastore",
    "bastore",
    "sastore",
    "iastore",
    "pop",
    "pop2",
    "dup",
    "dup2",
    "dup_x",
    "swap_x",
    "sadd",
    "iadd",
    "ssub",
    "isub",
    "smul",
    "imul",
    "sdiv",
    "idiv",
    "srem",
    "irem",
    "sneg",
    "ineg",
    "sshl",
    "ishl",
    "sshr",
    "ishr",
    "sushr",
    "iushr",
    "sand",
    "iand",
    "sor",
    "ior",
    "sxor",
    "ixor",
    "sinc",
    "iinc",
    "s2b",
    "s2i",
    "i2b",
    "i2s",
    "icmp",
    "ifeq",
    "ifne",
    "iflt",
    "ifge",
    "ifgt",
    "ifle",
    "ifnull",
    "ifnonnull",
    "if_acmpeq",
    "if_acmpne",
    "if_scmpeq",
    "if_scmpne",
    "if_scmplt",
    "if_scmpge",
    "if_scmpgt",
    "if_scmple",
    "goto",
    "jsr",
    "ret",
    "stableswitch",
    "itableswitch",
    "slookupswitch",
    "ilookupswitch",
    "areturn",
    "sreturn",
    "ireturn",
    "return",
    "getstatic_a",
    "getstatic_b",
    "getstatic_s",
    "getstatic_i",
    "putstatic_a",
    "putstatic_b",
    "putstatic_s",
    "putstatic_i",
    "getfield_a",
    "getfield_b",
    "getfield_s",
    "getfield_i",
    "putfield_a",
    "putfield_b",
    "putfield_s",
    "putfield_i",
    "invokevirtual",
    "invokespecial",
    "invokestatic",
    "invokeinterface",
    "new",
    "newarray",
    "anewarray",
    "arraylength",
    "athrow",
    "checkcast",
    "instanceof",
    "sinc_w",
    "iinc_w",
    "ifeq_w",
    "ifne_w",
    "iflt_w",
    "ifge_w",
    "ifgt_w",
    "ifle_w",
    "ifnull_w",
    "ifnonnull_w",
    "if_acmpeq_w",
    "if_acmpne_w",
    "if_scmpeq_w",
    "if_scmpne_w",
    "if_scmplt_w",
    "if_scmpge_w",
    "if_scmpgt_w",
    "if_scmple_w",
    "goto_w",
    "getfield_a_w",
    "getfield_b_w",
    "getfield_s_w",
    "getfield_i_w",
    "getfield_a_this",
    "getfield_b_this",
    "getfield_s_this",
    "getfield_i_this",
    "putfield_a_w",
    "putfield_b_w",
    "putfield_s_w",
    "putfield_i_w",
    "putfield_a_this",
    "putfield_b_this",
    "putfield_s_this",
    "putfield_i_this",
];

/// Opcode constants used by name elsewhere (JCVM §7.5).
pub mod op {
    pub const SSPUSH: u8 = 0x11;
    pub const JSR: u8 = 0x71;
    pub const RET: u8 = 0x72;
    pub const STABLESWITCH: u8 = 0x73;
    pub const ITABLESWITCH: u8 = 0x74;
    pub const SLOOKUPSWITCH: u8 = 0x75;
    pub const ILOOKUPSWITCH: u8 = 0x76;
    pub const ARETURN: u8 = 0x77;
    pub const RETURN: u8 = 0x7A;
    pub const GETSTATIC_A: u8 = 0x7B;
    pub const PUTSTATIC_I: u8 = 0x82;
    pub const GETFIELD_A: u8 = 0x83;
    pub const PUTFIELD_I: u8 = 0x8A;
    pub const INVOKEVIRTUAL: u8 = 0x8B;
    pub const INVOKESPECIAL: u8 = 0x8C;
    pub const INVOKESTATIC: u8 = 0x8D;
    pub const INVOKEINTERFACE: u8 = 0x8E;
    pub const NEW: u8 = 0x8F;
    pub const NEWARRAY: u8 = 0x90;
    pub const ANEWARRAY: u8 = 0x91;
    pub const ATHROW: u8 = 0x93;
    pub const CHECKCAST: u8 = 0x94;
    pub const INSTANCEOF: u8 = 0x95;
    pub const GOTO: u8 = 0x70;
    pub const GOTO_W: u8 = 0xA8;
    pub const GETFIELD_A_W: u8 = 0xA9;
    pub const PUTFIELD_I_THIS: u8 = 0xB8;
    pub const IMPDEP1: u8 = 0xFE;
    pub const IMPDEP2: u8 = 0xFF;
}

/// One opcode's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpInfo {
    pub opcode: u8,
    pub name: &'static str,
    pub format: Format,
    /// Uses the 32-bit int type: only in packages with the int flag (JCVM §6.4, §7.5).
    pub int: bool,
}

/// The opcode's facts, `None` for an undefined opcode (`0xB9`-`0xFD`).
pub fn info(opcode: u8) -> Option<OpInfo> {
    let name = match opcode {
        0..=0xB8 => NAMES[opcode as usize],
        0xFE => "impdep1",
        0xFF => "impdep2",
        _ => return None,
    };
    Some(OpInfo { opcode, name, format: format_of(opcode), int: is_int(opcode, name) })
}

fn format_of(o: u8) -> Format {
    use Format::*;
    match o {
        0x10 | 0x12 => Byte,
        0x11 | 0x13 => Short,
        0x14 => Int,
        0x15..=0x17 | 0x28..=0x2A | 0x72 => Local,
        0x3F | 0x40 => Mn,
        0x59 | 0x5A => Inc,
        0x60..=0x70 => Branch1,
        0x71 => Branch2, // jsr
        0x73 => STableSwitch,
        0x74 => ITableSwitch,
        0x75 => SLookupSwitch,
        0x76 => ILookupSwitch,
        0x7B..=0x82 => Cp2,
        0x83..=0x8A => Cp1,
        0x8B..=0x8D | 0x8F | 0x91 => Cp2,
        0x8E => Interface,
        0x90 => ArrayType,
        0x94 | 0x95 => TypeCp,
        0x96 | 0x97 => IncW,
        0x98..=0xA8 => Branch2,
        0xA9..=0xAC | 0xB1..=0xB4 => Cp2,
        0xAD..=0xB0 | 0xB5..=0xB8 => Cp1,
        _ => None,
    }
}

fn is_int(o: u8, name: &str) -> bool {
    // bipush/sipush push an int; s2i/i2b/i2s/icmp convert or compare ints; `_i` field and
    // static accesses and `i`-prefixed ops are int.
    matches!(o, 0x12 | 0x13 | 0x5C)
        || name.ends_with("_i")
        || name.contains("_i_")
        || (name.starts_with('i')
            && !name.starts_with("if")
            && !name.starts_with("invoke")
            && !name.starts_with("instanceof")
            && !name.starts_with("impdep"))
}

/// Why bytes are not an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Undefined opcode.
    BadOpcode(u8),
    /// The operands run past the end of the code.
    Truncated,
    /// A table switch with `high < low`, or one too long to exist.
    BadSwitch,
}

/// Decoded operands. Branch values are relative offsets as encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    None,
    /// `bspush`/`bipush` (s1), `sspush`/`sipush` (s2), `iipush` (s4).
    Const(i32),
    Local(u8),
    Inc {
        index: u8,
        value: i16,
    },
    Mn(u8),
    Branch(i16),
    Cp(u16),
    ArrayType(u8),
    Interface {
        nargs: u8,
        cp: u16,
        token: u8,
    },
    TypeCp {
        atype: u8,
        cp: u16,
    },
    TableSwitch {
        default: i16,
        low: i32,
        high: i32,
        offsets: Vec<i16>,
    },
    LookupSwitch {
        default: i16,
        pairs: Vec<(i32, i16)>,
    },
}

impl Operand {
    /// Every branch offset of the instruction (relative to its opcode).
    pub fn branches(&self) -> Vec<i16> {
        match self {
            Operand::Branch(o) => vec![*o],
            Operand::TableSwitch { default, offsets, .. } => {
                std::iter::once(*default).chain(offsets.iter().copied()).collect()
            }
            Operand::LookupSwitch { default, pairs } => {
                std::iter::once(*default).chain(pairs.iter().map(|p| p.1)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The constant pool index the instruction uses, if any.
    pub fn cp_index(&self) -> Option<u16> {
        match self {
            Operand::Cp(i) => Some(*i),
            Operand::Interface { cp, .. } => Some(*cp),
            Operand::TypeCp { cp, .. } => Some(*cp),
            _ => None,
        }
    }
}

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insn {
    pub op: OpInfo,
    /// Total length in bytes, opcode included.
    pub len: usize,
    pub operand: Operand,
}

struct Cur<'a> {
    b: &'a [u8],
    p: usize,
}

impl Cur<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.b.get(self.p..self.p + N).ok_or(DecodeError::Truncated)?;
        self.p += N;
        let mut a = [0; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u1(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }
    fn s2(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.take()?))
    }
    fn u2(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.take()?))
    }
    fn s4(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take()?))
    }
}

/// Decodes the instruction at `code[pc]`.
pub fn decode(code: &[u8], pc: usize) -> Result<Insn, DecodeError> {
    let opcode = *code.get(pc).ok_or(DecodeError::Truncated)?;
    let op = info(opcode).ok_or(DecodeError::BadOpcode(opcode))?;
    let mut c = Cur { b: code, p: pc + 1 };
    use Format as F;
    let operand = match op.format {
        F::None => Operand::None,
        F::Byte => Operand::Const(c.u1()? as i8 as i32),
        F::Short => Operand::Const(c.s2()? as i32),
        F::Int => Operand::Const(c.s4()?),
        F::Local => Operand::Local(c.u1()?),
        F::Inc => Operand::Inc { index: c.u1()?, value: c.u1()? as i8 as i16 },
        F::IncW => Operand::Inc { index: c.u1()?, value: c.s2()? },
        F::Mn => Operand::Mn(c.u1()?),
        F::Branch1 => Operand::Branch(c.u1()? as i8 as i16),
        F::Branch2 => Operand::Branch(c.s2()?),
        F::Cp1 => Operand::Cp(c.u1()? as u16),
        F::Cp2 => Operand::Cp(c.u2()?),
        F::ArrayType => Operand::ArrayType(c.u1()?),
        F::Interface => Operand::Interface { nargs: c.u1()?, cp: c.u2()?, token: c.u1()? },
        F::TypeCp => Operand::TypeCp { atype: c.u1()?, cp: c.u2()? },
        F::STableSwitch | F::ITableSwitch => {
            let default = c.s2()?;
            let (low, high) =
                if op.format == F::STableSwitch { (c.s2()? as i32, c.s2()? as i32) } else { (c.s4()?, c.s4()?) };
            let n = usize::try_from(high as i64 - low as i64 + 1).unwrap_or(usize::MAX);
            if high < low || n.saturating_mul(2) > code.len().saturating_sub(c.p) {
                return Err(if high < low { DecodeError::BadSwitch } else { DecodeError::Truncated });
            }
            let offsets = (0..n).map(|_| c.s2()).collect::<Result<_, _>>()?;
            Operand::TableSwitch { default, low, high, offsets }
        }
        F::SLookupSwitch | F::ILookupSwitch => {
            let default = c.s2()?;
            let n = c.u2()? as usize;
            let wide = op.format == F::ILookupSwitch;
            if n * if wide { 6 } else { 4 } > code.len().saturating_sub(c.p) {
                return Err(DecodeError::Truncated);
            }
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let m = if wide { c.s4()? } else { c.s2()? as i32 };
                pairs.push((m, c.s2()?));
            }
            Operand::LookupSwitch { default, pairs }
        }
    };
    Ok(Insn { op, len: c.p - pc, operand })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shape() {
        assert_eq!((0..=255u8).filter(|&o| info(o).is_some()).count(), 187);
        assert_eq!(info(0x8D).unwrap().name, "invokestatic");
        assert_eq!(info(0xB8).unwrap().name, "putfield_i_this");
        assert!(info(0xB9).is_none() && info(0xFD).is_none());
        for (o, int) in [(0x41, false), (0x42, true), (0x12, true), (0x10, false), (0x5D, true), (0x8E, false)] {
            assert_eq!(info(o).unwrap().int, int, "{}", info(o).unwrap().name);
        }
    }

    #[test]
    fn decode_switches_and_errors() {
        // stableswitch default=+9 low=1 high=2 offsets +11 +13
        let code = [0x73, 0, 9, 0, 1, 0, 2, 0, 11, 0, 13];
        let i = decode(&code, 0).unwrap();
        assert_eq!(i.len, 11);
        assert_eq!(i.operand.branches(), vec![9, 11, 13]);
        assert_eq!(decode(&code[..10], 0), Err(DecodeError::Truncated));
        assert_eq!(decode(&[0x73, 0, 0, 0, 2, 0, 1], 0), Err(DecodeError::BadSwitch));
        assert_eq!(decode(&[0xC0], 0), Err(DecodeError::BadOpcode(0xC0)));
        // itableswitch with a huge range does not allocate
        assert_eq!(decode(&[0x74, 0, 0, 0x80, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF], 0), Err(DecodeError::Truncated));
    }
}
