//! A small test applet for runtime, transport and benchmark tests.
//!
//! Commands (CLA `80`-`83`/`C0`-`CF`, any channel):
//!
//! | INS | meaning | response |
//! |-----|---------|----------|
//! | 01 | echo | the command data |
//! | 02 | P1P2 bytes of the pattern `00 01 02 … FF 00 …` | those bytes |
//! | 03 | increment the persistent counter | the new counter, 4 bytes |
//! | 04 | replace the persistent blob with the data | nothing |
//! | 05 | read the persistent blob | the blob |
//! | 06 | increment the volatile counter (cleared on reset) | the new counter, 4 bytes |
//! | E2 | STORE DATA forwarded by its SD (personalization, GPCS §11.11): the blob becomes P1 ‖ data, so tests read back what the SD forwarded | nothing |
//!
//! Other INS: `6D00`; an interindustry CLA: `6E00`.
//!
//! It uses its security domain's SCP03 secure channel ([`Applet::uses_secure_channel`]):
//! INITIALIZE UPDATE and EXTERNAL AUTHENTICATE (INS `50`/`82`) open a session with the ISD's keys
//! while it is selected, and its commands are then unwrapped and its responses wrapped.

use crate::apdu::{Command, Response};
use crate::card::{Applet, Ctx, ModuleImpl, Outcome, Persistent};
use crate::crypto::CardRng;
use crate::sw::Sw;
use serde::{Deserialize, Serialize};

/// The test applet's module.
pub static MODULE: ModuleImpl = ModuleImpl {
    name: "testapp",
    package_aid: &[0xF0, 0x47, 0x50, 0x53, 0x45, 0x54, 0x45, 0x53, 0x54],
    module_aid: &[0xF0, 0x47, 0x50, 0x53, 0x45, 0x54, 0x45, 0x53, 0x54, 0x01],
    default_instance_aid: &[0xF0, 0x47, 0x50, 0x53, 0x45, 0x54, 0x45, 0x53, 0x54, 0x01],
    install,
    restore,
};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    counter: u32,
    blob: Vec<u8>,
}

/// The test applet.
pub struct TestApp {
    p: Persistent<State>,
    volatile_counter: u32,
}

fn install(_params: &[u8], _rng: &mut CardRng) -> Result<Box<dyn Applet>, Sw> {
    Ok(Box::new(TestApp { p: Persistent::new(State::default()), volatile_counter: 0 }))
}

fn restore(state: &[u8]) -> Result<Box<dyn Applet>, String> {
    Ok(Box::new(TestApp { p: Persistent::restore(state).map_err(|e| e.to_string())?, volatile_counter: 0 }))
}

impl Applet for TestApp {
    fn process(&mut self, _ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        if cmd.cla & 0x80 == 0 {
            return Err(Sw::ClaNotSupported);
        }
        match cmd.ins {
            0x01 => Ok(Response::data(cmd.data.clone())),
            // The test pattern is the byte index modulo 256.
            #[allow(clippy::cast_possible_truncation)]
            0x02 => Ok(Response::data((0..cmd.p1p2() as usize).map(|i| i as u8).collect::<Vec<u8>>())),
            0x03 => {
                self.p.counter = self.p.counter.wrapping_add(1);
                Ok(Response::data(self.p.counter.to_be_bytes().to_vec()))
            }
            0x04 => {
                self.p.blob = cmd.data.clone();
                Ok(Response::ok())
            }
            0x05 => Ok(Response::data(self.p.blob.clone())),
            0x06 => {
                self.volatile_counter += 1;
                Ok(Response::data(self.volatile_counter.to_be_bytes().to_vec()))
            }
            0xE2 => {
                self.p.blob = [&[cmd.p1][..], &cmd.data].concat();
                Ok(Response::ok())
            }
            _ => Err(Sw::InsNotSupported),
        }
    }

    fn power_reset(&mut self) {
        self.volatile_counter = 0;
    }

    fn secure_channel(&self) -> crate::card::SecureChannelUse {
        crate::card::SecureChannelUse::AssociatedSd
    }

    fn take_dirty(&mut self) -> bool {
        self.p.take_dirty()
    }

    fn save(&self) -> Vec<u8> {
        self.p.save()
    }
}
