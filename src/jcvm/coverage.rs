//! Coverage reports of CAP applets (issue #17) from the interpreter's counts
//! ([`crate::jcvm::interp::Coverage`]): LCOV, which `genhtml` (Debian package `lcov`) and IDEs
//! read, from the Debug component's line tables (JCVM §6.15); without Debug, a per-method
//! table of the bytecodes that ran.
//!
//! LCOV (`geninfo(1)` format): per source file `SF:`, per method `FN:`/`FNDA:`, per line
//! `DA:line,count`, per conditional branch `BRDA:line,block,branch,count` (branch 0 taken,
//! 1 not taken). A line's count is how often its first bytecode ran (the most of its ranges, for a
//! line the compiler split, such as a loop header). Source paths are the package's directory
//! and the file name the Debug component gives (`gpse/test/flow/Flow.java`), relative to the
//! source root: run `genhtml` there, or give it `--prefix`.

use crate::jcvm::cap::dump::disassemble;
use crate::jcvm::cap::{Cap, MethodInfo};
use crate::jcvm::interp::Coverage;
use crate::jcvm::opcode::Operand;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Conditional branches (JCVM §7.5: `if<cond>`, `ifnull`, `if_acmp`, `if_scmp`, short and wide).
fn conditional(op: u8) -> bool {
    (0x60..=0x6F).contains(&op) || (0x98..=0xA7).contains(&op)
}

#[derive(Default)]
struct FileReport {
    functions: Vec<(u16, String, u32)>,
    lines: BTreeMap<u16, u32>,
    branches: Vec<(u16, usize, u32, u32)>,
}

/// The LCOV records of package `slot` (its CAP `cap`, with Debug) from `cov`, appended to `out`.
/// Returns false when the CAP has no Debug component.
pub fn lcov(cap: &Cap, slot: u16, cov: &Coverage, out: &mut String) -> bool {
    let Some(d) = &cap.debug else { return false };
    let s = |i: u16| d.strings.get(i as usize).cloned().unwrap_or_default();
    let pkg_dir = s(d.package_name_index);
    let mut files: BTreeMap<String, FileReport> = BTreeMap::new();
    for c in &d.classes {
        let class = s(c.name_index);
        let file = format!("{pkg_dir}/{}", s(c.source_file_index));
        let short = class.rsplit('/').next().unwrap_or(&class).to_string();
        let f = files.entry(file).or_default();
        for m in &c.methods {
            let start = usize::from(m.location) + usize::from(m.header_size);
            let first = m.lines.iter().map(|l| l.source_line).min().unwrap_or(0);
            let name = format!("{short}.{}{}", s(m.name_index), s(m.descriptor_index));
            f.functions.push((first, name, cov.hits_at(slot, start)));
            for l in &m.lines {
                let n = cov.hits_at(slot, start + usize::from(l.start_pc));
                let e = f.lines.entry(l.source_line).or_insert(0);
                *e = (*e).max(n);
            }
            let Some(info) = cap.method.methods.iter().find(|x| x.header.offset == m.location) else { continue };
            branches(cap, info, slot, cov, start, &m.lines, &mut f.branches);
        }
    }
    for (file, f) in files {
        let _ = writeln!(out, "TN:\nSF:{file}");
        for (line, name, _) in &f.functions {
            let _ = writeln!(out, "FN:{line},{name}");
        }
        for (_, name, n) in &f.functions {
            let _ = writeln!(out, "FNDA:{n},{name}");
        }
        let _ = writeln!(out, "FNF:{}\nFNH:{}", f.functions.len(), f.functions.iter().filter(|x| x.2 > 0).count());
        for (k, (line, pc, taken, not)) in f.branches.iter().enumerate() {
            // A branch never reached has no counts ("-", geninfo(1)).
            let reached = taken + not > 0;
            let (t, n) = if reached { (taken.to_string(), not.to_string()) } else { ("-".into(), "-".into()) };
            let _ = writeln!(out, "BRDA:{line},{pc},0,{t}\nBRDA:{line},{pc},1,{n}");
            let _ = k;
        }
        let brh = f.branches.iter().map(|b| usize::from(b.2 > 0) + usize::from(b.3 > 0)).sum::<usize>();
        let _ = writeln!(out, "BRF:{}\nBRH:{brh}", f.branches.len() * 2);
        for (line, n) in &f.lines {
            let _ = writeln!(out, "DA:{line},{n}");
        }
        let _ =
            writeln!(out, "LF:{}\nLH:{}\nend_of_record", f.lines.len(), f.lines.values().filter(|n| **n > 0).count());
    }
    true
}

/// The conditional branches of a method with their line, taken and not-taken counts.
fn branches(
    cap: &Cap,
    info: &MethodInfo,
    slot: u16,
    cov: &Coverage,
    start: usize,
    lines: &[crate::jcvm::cap::debug::LineInfo],
    out: &mut Vec<(u16, usize, u32, u32)>,
) {
    let Ok(insns) = disassemble(cap, info) else { return };
    for l in insns.iter().filter(|l| conditional(l.insn.op.opcode) && matches!(l.insn.operand, Operand::Branch(_))) {
        let pc = start + usize::from(l.pc);
        let line = lines.iter().find(|x| x.start_pc <= l.pc && l.pc <= x.end_pc).map_or(0, |x| x.source_line);
        let ran = cov.hits_at(slot, pc);
        let taken = cov.taken_count(slot, pc);
        out.push((line, pc, taken, ran.saturating_sub(taken)));
    }
}

/// Without Debug: per method, how many of its bytecodes ran, and which did not (offsets).
pub fn table(cap: &Cap, slot: u16, cov: &Coverage, out: &mut String) {
    let _ = writeln!(
        out,
        "# package {}: bytecode coverage per method",
        hex::encode_upper(cap.header.package.aid.as_bytes())
    );
    for m in &cap.method.methods {
        let Ok(insns) = disassemble(cap, m) else { continue };
        let start = usize::from(m.header.code_offset);
        let missed: Vec<u16> =
            insns.iter().filter(|l| cov.hits_at(slot, start + usize::from(l.pc)) == 0).map(|l| l.pc).collect();
        let _ = writeln!(
            out,
            "m@{}: {} of {} bytecodes ran{}",
            m.header.offset,
            insns.len() - missed.len(),
            insns.len(),
            if missed.is_empty() {
                String::new()
            } else {
                format!(" (not: {})", missed.iter().map(u16::to_string).collect::<Vec<_>>().join(" "))
            }
        );
    }
}
