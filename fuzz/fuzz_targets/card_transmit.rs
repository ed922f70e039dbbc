#![no_main]
//! The whole card: any sequence of APDUs (split on a length prefix) always gets a status word.
use gpse::card::Card;
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(0))).unwrap();
    let mut card = Card::in_memory(img, Some(0)).unwrap();
    card.power_on();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = (n as usize).min(tail.len());
        let r = card.transmit(&tail[..n]);
        assert!(r.len() >= 2);
        rest = &tail[n..];
    }
});
