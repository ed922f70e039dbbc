#![no_main]
//! APDU parser: never panics; whatever parses re-encodes to the same bytes.
use gpse::apdu::Command;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Command::parse(data) {
        assert_eq!(c.to_bytes(), data);
    }
});
