#![no_main]
//! Card image loader: header check, payload decode and card assembly never panic.
use gpse::card::{Card, CardImage};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = gpse::store::decode_image(Path::new("fuzz"), data) {
        if let Ok(img) = CardImage::from_bytes(&payload) {
            if let Ok(mut card) = Card::in_memory(img, Some(0)) {
                card.power_on();
            }
        }
    }
    if let Ok(img) = CardImage::from_bytes(data) {
        let _ = Card::in_memory(img, Some(0));
    }
});
