//! Java stack traces of exceptions that escape an applet (issue #17): where each frame was,
//! as `at package.Class.method(File.java:LINE)` when the CAP has a Debug component (JCVM §6.15:
//! class and method names, source files, line tables), else as the method's offset in the
//! Method component and the bytecode offset in it (`m@OFFSET+PC`, the names `gpse cap dump`
//! uses).
//!
//! The interpreter records the frames' positions when an exception is thrown (a few words per
//! throw, reused); they are rendered only when someone asks (`Card::take_diagnostics`, the CLI's
//! `-v`), so an applet that answers with `ISOException.throwIt` pays nothing for the text.

use crate::jcvm::cap::{Cap, DebugComponent};

/// A frame: package slot and the offset of the instruction in its Method component `info`.
pub type FramePos = (u16, u32);

/// One line of a stack trace for frame `pc` of a package whose CAP is `cap`.
pub fn frame_line(cap: &Cap, pc: u32) -> String {
    if let Some(d) = &cap.debug {
        if let Some(l) = debug_line(d, pc) {
            return l;
        }
    }
    // Without Debug: the method containing pc (methods are sorted by offset).
    let m = cap.method.methods.iter().rev().find(|m| u32::from(m.header.offset) <= pc);
    let pkg = package_name(cap);
    match m {
        Some(m) => format!("at {pkg}.m@{}+{}", m.header.offset, pc.saturating_sub(u32::from(m.header.code_offset))),
        None => format!("at {pkg}@{pc}"),
    }
}

/// The package's name: from the Debug component or the Header (format 2.2+), else its AID.
fn package_name(cap: &Cap) -> String {
    if let Some(d) = &cap.debug {
        if let Some(n) = d.strings.get(d.package_name_index as usize) {
            return n.replace('/', ".");
        }
    }
    match &cap.header.package_name {
        Some(n) => n.replace('/', "."),
        None => hex::encode_upper(cap.header.package.aid.as_bytes()),
    }
}

fn debug_line(d: &DebugComponent, pc: u32) -> Option<String> {
    let s = |i: u16| d.strings.get(i as usize).map(String::as_str).unwrap_or("?");
    for c in &d.classes {
        for m in &c.methods {
            let start = u32::from(m.location) + u32::from(m.header_size);
            let end = start + u32::from(m.body_size);
            if pc < u32::from(m.location) || pc >= end {
                continue;
            }
            let off = pc.saturating_sub(start);
            let line = m
                .lines
                .iter()
                .find(|l| u32::from(l.start_pc) <= off && off <= u32::from(l.end_pc))
                .map(|l| l.source_line);
            let class = s(c.name_index).replace('/', ".");
            let file = s(c.source_file_index);
            return Some(match line {
                Some(n) => format!("at {class}.{}({file}:{n})", s(m.name_index)),
                None => format!("at {class}.{}({file}, bytecode {off})", s(m.name_index)),
            });
        }
    }
    None
}

/// An exception class name as Java writes it (`java.lang.NullPointerException`).
pub fn java_name(internal: &str) -> String {
    internal.replace('/', ".")
}
