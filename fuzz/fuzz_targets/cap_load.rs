#![no_main]
//! CAP loading (issue #14): parse (zip or raw components), verify, disassemble and describe
//! never panic, verified or not; a CAP the verifier accepts also survives its LOAD-form round trip.
use gpse::jcvm::cap::{dump, Cap};
use gpse::jcvm::verify::verify;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cap) = Cap::parse(data) {
        let _ = dump::info_text(&cap);
        let _ = dump::dump_text(&cap);
        if verify(&cap).is_ok() {
            if let Ok(again) = Cap::parse(&cap.load_file_data_block()) {
                let _ = verify(&again);
            }
        }
    }
});
