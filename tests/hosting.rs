//! The hosting interface from outside: a test-only kind of applet, registered through the
//! catalog a card is assembled with, is installed by the ISD (GP INSTALL over SCP03), selected,
//! driven, and restored from the image exactly as the native applets are: the hook the JCVM
//! uses. Also the runtime's response-length rules (Ne, `6Cxx`, `61xx` + GET RESPONSE) on every
//! hosted applet, and command chaining (`6884` where the target does not take it).

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::{Command, Response};
use gpse::card::registry::{LoadFile, ELF_LOADED};
use gpse::card::{Applet, Card, CardImage, Catalog, Ctx, InstallRequest, Module, Outcome, Persistent};
use gpse::crypto::CardRng;
use gpse::host::gp::GpClient;
use gpse::platform::catalog;
use gpse::platform::profile::{Overrides, Profile};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::store::Durability;
use gpse::{Aid, Sw};
use proptest::prelude::*;
use std::sync::Arc;

const PKG: &str = "F0475053454B494E44";
const MODULE: &str = "F0475053454B494E4401";
const INSTANCE: &str = "F0475053454B494E440101";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn aid(s: &str) -> Aid {
    s.parse().unwrap()
}

/// A kind of applet the runtime has never heard of: it takes command chaining (CLA b5),
/// gathering the chained data, answers INS `10` with the gathered data and a persistent count
/// of the chains it completed, and says how it was installed in INS `11`.
struct Gather {
    chains: Persistent<(u32, Vec<u8>)>,
    gathered: Vec<u8>,
}

impl Applet for Gather {
    fn process(&mut self, _ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        let chained = cmd.cla & 0x10 != 0;
        match cmd.ins {
            0x10 => {
                self.gathered.extend_from_slice(&cmd.data);
                if chained {
                    return Ok(Response::ok());
                }
                self.chains.0 += 1;
                let mut out = self.chains.0.to_be_bytes().to_vec();
                out.append(&mut self.gathered);
                Ok(Response::data(out))
            }
            0x11 => Ok(Response::data(self.chains.1.clone())),
            _ => Err(Sw::InsNotSupported),
        }
    }
    fn power_reset(&mut self) {
        self.gathered.clear();
    }
    fn take_dirty(&mut self) -> bool {
        self.chains.take_dirty()
    }
    fn save(&self) -> Vec<u8> {
        self.chains.save()
    }
    fn supports_chaining(&self) -> bool {
        true
    }
}

/// Its module: a `Module` implemented here, not a built-in `ModuleImpl`.
struct GatherModule;

impl Module for GatherModule {
    fn name(&self) -> &str {
        "gather"
    }
    fn provides(&self, elf: &Aid, module: &Aid) -> bool {
        elf == &aid(PKG) && module == &aid(MODULE)
    }
    fn install(&self, req: &InstallRequest<'_>, _rng: &mut CardRng) -> Result<Box<dyn Applet>, Sw> {
        if req.params == [0xEE] {
            return Err(Sw::WrongData);
        }
        assert_eq!(req.instance, &aid(INSTANCE));
        Ok(Box::new(Gather { chains: Persistent::new((0, req.params.to_vec())), gathered: Vec::new() }))
    }
    fn restore(&self, _aid: &Aid, state: &[u8]) -> Result<Box<dyn Applet>, String> {
        Ok(Box::new(Gather { chains: Persistent::restore(state).map_err(|e| e.to_string())?, gathered: Vec::new() }))
    }
}

fn with_gather() -> Catalog {
    catalog::builtin().with(Arc::new(GatherModule))
}

/// The default image with the test kind's load file present (as if in ROM).
fn image() -> CardImage {
    let mut img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(3))).unwrap();
    let sd = img.isd().aid.clone();
    img.load_files.push(LoadFile {
        aid: aid(PKG),
        version: vec![1, 0],
        modules: vec![aid(MODULE)],
        sd,
        life_cycle: ELF_LOADED,
    });
    img
}

fn tx(c: &mut Card, apdu: &str) -> String {
    hex::encode_upper(c.transmit(&h(apdu)))
}

/// INSTALL [for install and make selectable] of the test kind through the ISD over SCP03.
fn install(card: &mut Card, params: &str) -> String {
    let k = h("404142434445464748494A4B4C4D4E4F");
    let keys = StaticKeys::new(&k, &k, &k).unwrap();
    let mut gp = GpClient::open(card, None, &keys, 0, SecurityLevel::ALL, &mut CardRng::new(Some(9))).unwrap();
    let p = h(params);
    let mut data = Vec::new();
    for f in [h(PKG), h(MODULE), h(INSTANCE), vec![0, 0, 0]] {
        data.push(f.len() as u8);
        data.extend(f);
    }
    let c9 = [vec![0xC9, p.len() as u8], p].concat();
    data.push(c9.len() as u8);
    data.extend(c9);
    data.push(0);
    let cmd = Command::new(0x80, 0xE6, 0x0C, 0x00).with_data(data).with_ne(256);
    hex::encode_upper(gp.transmit(&cmd).unwrap().to_bytes())
}

#[test]
fn a_test_only_kind_is_installed_selected_and_restored_through_the_catalog() {
    let d = tempfile::tempdir().unwrap();
    let mut card = Card::create_with(&with_gather(), d.path(), image(), Durability::NoSync, Some(1), false).unwrap();
    card.power_on();
    // Its install may refuse (its own status word, nothing registered) ...
    assert_eq!(install(&mut card, "EE"), "6A80");
    assert!(card.image().instance(&aid(INSTANCE)).is_none());
    // ... or make an instance, registered after the others.
    assert_eq!(install(&mut card, "C0FFEE"), "009000");
    assert_eq!(card.image().instances.last().unwrap().aid, aid(INSTANCE));
    assert_eq!(tx(&mut card, &format!("00A404000B{INSTANCE}00")), "9000");
    assert_eq!(tx(&mut card, "80110000"), "C0FFEE9000");
    // Chaining reaches it: three commands, one answer.
    assert_eq!(tx(&mut card, "9010000002AABB"), "9000");
    assert_eq!(tx(&mut card, "9010000001CC"), "9000");
    assert_eq!(tx(&mut card, "8010000001DD00"), "00000001AABBCCDD9000");
    drop(card);

    // Reopened with the same catalog, the state is back.
    let mut card = Card::open_with(&with_gather(), d.path(), Durability::NoSync, None).unwrap();
    assert_eq!(tx(&mut card, &format!("00A404000B{INSTANCE}00")), "9000");
    assert_eq!(tx(&mut card, "801000000100"), "00000002009000");
    drop(card);

    // Without the module the image cannot be hosted, and says which module is missing.
    let e = Card::open(d.path(), Durability::NoSync, None).err().unwrap().to_string();
    assert!(e.contains(MODULE) && e.contains("does not have"), "{e}");
}

#[test]
fn chaining_is_refused_where_the_target_does_not_take_it() {
    let mut card = Card::in_memory(image(), Some(1)).unwrap();
    // A security domain takes CLA chaining (GPCS §11.1.5.1, issue #18 #13; rows in
    // tests/gp_card.rs): a segment is kept (9000), the last one runs the command.
    assert_eq!(tx(&mut card, "90CA9F7F00"), "9000");
    assert!(tx(&mut card, "80CA9F7F00").starts_with("9F7F2A"));
    // The test applet does not: 6884.
    assert_eq!(tx(&mut card, "00A404000AF047505345544553540100"), "9000");
    assert_eq!(tx(&mut card, "9001000001AA"), "6884");
    // The same command unchained is answered.
    assert_eq!(tx(&mut card, "8001000001AA00"), "AA9000");
}

#[test]
fn le_too_small_gets_6cxx_and_long_answers_get_61xx_then_get_response() {
    let mut card = Card::in_memory(image(), Some(1)).unwrap();
    // CPLC is 45 bytes: Le 01 gets the exact length (ISO 7816-4 §5.3.4), then the data.
    assert_eq!(tx(&mut card, "80CA9F7F01"), "6C2D");
    let cplc = tx(&mut card, "80CA9F7F2D");
    assert!(cplc.starts_with("9F7F2A") && cplc.ends_with("9000") && cplc.len() == 2 * 47, "{cplc}");
    assert_eq!(tx(&mut card, "00A404000AF047505345544553540100"), "9000");
    // 258 pattern bytes with Le 03: the first 3 and 61FF, then GET RESPONSE for the rest.
    assert_eq!(tx(&mut card, "8002010203"), "00010261FF");
    let rest = tx(&mut card, "00C0000000");
    assert_eq!(rest.len(), 2 * 257);
    assert!(rest.starts_with("030405") && rest.ends_with("FF00019000"), "{rest}");
    // 512 bytes: 3, then 256 with 61FD, then the last 253 with the applet's own 9000.
    assert_eq!(tx(&mut card, "8002020003"), "0001026100");
    let part = tx(&mut card, "00C0000000");
    assert!(part.len() == 2 * 258 && part.ends_with("61FD"), "{part}");
    let last = tx(&mut card, "00C0000000");
    assert!(last.len() == 2 * 255 && last.ends_with("FF9000"), "{last}");
    // Nothing left: GET RESPONSE goes to the applet, which does not know it.
    assert_eq!(tx(&mut card, "00C0000000"), "6E00");
    // Another command drops what was left.
    assert_eq!(tx(&mut card, "8002010203"), "00010261FF");
    assert_eq!(tx(&mut card, "8001000001AA00"), "AA9000");
    assert_eq!(tx(&mut card, "00C0000000"), "6E00");
    // Extended Le takes it whole.
    let all = tx(&mut card, "80020102000000");
    assert_eq!(all.len(), 2 * 260);
}

/// Commands that answer data, to each hosted applet kind: the ISD, the test applet, the JPKI AP
/// and the ARA-M (SELECT first when `select` is set).
const DATA_COMMANDS: &[(&str, &str)] = &[
    ("", "80CA9F7F"),
    ("", "80CA0066"),
    ("", "00A4040008A000000151000000"),
    ("F0475053455445535401", "80020100"),
    ("F0475053455445535401", "80020010"),
    ("D392F000260100000001", "00B00000"),
    ("A00000015141434C00", "80CAFF40"),
    ("A00000015141434C00", "80CADF20"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// For any Le, short or extended, the response data never exceeds Ne, and the whole answer
    /// comes back through 6Cxx or 61xx/GET RESPONSE.
    #[test]
    fn ne_is_respected_by_every_applet(which in 0..DATA_COMMANDS.len(), le in 1usize..=300, extended in any::<bool>()) {
        let mut card = Card::in_memory(image(), Some(1)).unwrap();
        let (select, header) = DATA_COMMANDS[which];
        if !select.is_empty() {
            let a = h(select);
            let sel = Command::new(0x00, 0xA4, 0x04, 0x00).with_data(a).with_ne(256);
            prop_assert_eq!(card.transmit_command(&sel).sw, Sw::Ok);
        }
        let hd = h(header);
        let mut cmd = Command::new(hd[0], hd[1], hd[2], hd[3]);
        if hd.len() > 4 {
            cmd = cmd.with_data(hd[5..].to_vec());
        }
        let le = if extended { le } else { le.min(256) };
        cmd = cmd.with_ne(le);
        cmd.extended = extended;
        let whole = {
            let mut c = cmd.clone();
            c.ne = Some(65536);
            c.extended = true;
            card.transmit_command(&c)
        };
        let r = card.transmit_command(&cmd);
        prop_assert!(r.data.len() <= le, "{} bytes for Ne {}", r.data.len(), le);
        if whole.data.len() <= le {
            prop_assert_eq!(&r, &whole);
        } else if whole.data.len() <= 256 {
            prop_assert_eq!(r.sw, Sw::WrongLe(whole.data.len() as u8));
            prop_assert!(r.data.is_empty());
        } else {
            prop_assert!(matches!(r.sw, Sw::BytesRemaining(_)), "{:?}", r.sw);
            let mut got = r.data.clone();
            let mut sw = r.sw;
            while let Sw::BytesRemaining(n) = sw {
                let n = if n == 0 { 256 } else { n as usize };
                let g = card.transmit_command(&Command::new(0x00, 0xC0, 0x00, 0x00).with_ne(n));
                prop_assert!(g.data.len() <= n);
                got.extend_from_slice(&g.data);
                sw = g.sw;
            }
            prop_assert_eq!(got, whole.data);
            prop_assert_eq!(sw, whole.sw);
        }
    }
}
