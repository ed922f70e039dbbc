#![no_main]
//! BER-TLV parser in both modes: never panics; DER input re-encodes to the same bytes.
use gpse::tlv::{Mode, Node};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Node::parse_all(data, Mode::Ber);
    if let Ok(nodes) = Node::parse_all(data, Mode::Der) {
        let again: Vec<u8> = nodes.iter().flat_map(|n| n.to_bytes()).collect();
        assert_eq!(again, data);
    }
});
