#![no_main]
//! The four script formats (native with patterns, captures, variables and directives; scriptor;
//! apdutool; plain hex) and `trace`: parsing never panics, and every parsed expectation checks
//! any response without panicking. Includes are refused (the input has no directory).
use gpse::script::{parse_text, trace, Action, Format};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("/nonexistent/fuzz.gpse");
    for f in [None, Some(Format::Native), Some(Format::Scriptor), Some(Format::Apdutool)] {
        let Ok(steps) = parse_text(path, text, f) else { continue };
        let _ = trace::describe(&steps);
        let mut vars: HashMap<String, Vec<u8>> = HashMap::new();
        for s in &steps {
            match &s.action {
                Action::Apdu { expect: Some(p), .. } => {
                    // The response is the script's own bytes: arbitrary but reproducible.
                    let _ = p.check(&data[..data.len().min(300)], &mut vars);
                    let _ = p.to_string();
                }
                Action::Set { name, value } => {
                    vars.insert(name.clone(), value.clone());
                }
                _ => {}
            }
        }
    }
});
