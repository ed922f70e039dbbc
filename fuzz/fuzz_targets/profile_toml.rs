#![no_main]
//! Profile TOML: parsing and building a card from any text never panics; a profile that builds
//! gives an image that assembles into a card.
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = Profile::parse(text, "fuzz") {
        if let Ok(img) = p.build(&Overrides::default(), &mut CardRng::new(Some(0))) {
            let _ = Card::in_memory(img, Some(0)).map(|mut c| c.power_on());
        }
    }
});
