//! CAP applets from `../shared/javacard/caps/` run on the bare VM (issue #14 acceptance,
//! in-process): load, install with the GP parameter layout, select, commands.

use gpse::apdu::{Command, Response};
use gpse::jcvm::{Jcvm, NoEnv};
use gpse::sw::Sw;
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    let mut c = Vec::new();
    if let Ok(s) = std::env::var("GPSE_SHARED") {
        c.push(PathBuf::from(s));
    }
    c.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    c.push(PathBuf::from("/work/shared"));
    c.into_iter().find(|p| p.join("javacard/caps").is_dir())
}

/// The CAP bytes, or `None` (the test then says it is skipped).
fn cap(name: &str) -> Option<Vec<u8>> {
    let p = shared()?.join("javacard/caps").join(name);
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("SKIPPED: needs ../shared/javacard/caps/{name}");
            None
        }
    }
}

fn expected(rel: &str) -> Option<String> {
    std::fs::read_to_string(shared()?.join("javacard/caps/expected").join(rel)).ok()
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn cmd(s: &str) -> Command {
    Command::parse(&h(s)).unwrap()
}

struct Card {
    vm: Jcvm,
    aid: Vec<u8>,
}

impl Card {
    /// Loads `name`, installs its first applet class under `instance` (or the class AID).
    fn new(name: &str, instance: Option<&str>, params: &[u8]) -> Option<Card> {
        let bytes = cap(name)?;
        let mut vm = Jcvm::new();
        let info = vm.load_package(&bytes).unwrap_or_else(|e| panic!("{name}: load: {e}"));
        let class = info.applets[0].clone();
        let aid = instance.map(h).unwrap_or_else(|| class.clone());
        vm.install(&mut NoEnv, &info.aid, &class, &aid, params, &[0])
            .unwrap_or_else(|e| panic!("{name}: install: {e:?}"));
        Some(Card { vm, aid })
    }

    fn select(&mut self) -> Result<Response, Sw> {
        let mut c = Command::new(0, 0xA4, 4, 0).with_data(self.aid.clone());
        c.ne = Some(256);
        self.vm.select(&mut NoEnv, &self.aid.clone(), 0, &c)
    }

    fn send(&mut self, c: &Command) -> Response {
        let aid = self.aid.clone();
        match self.vm.process(&mut NoEnv, &aid, 0, c) {
            Ok(r) => r,
            Err(sw) => Response::status(sw),
        }
    }

    fn tx(&mut self, c: &str) -> String {
        hex::encode_upper(self.send(&cmd(c)).to_bytes())
    }
}

#[test]
fn hello_world_echoes() {
    let Some(mut c) = Card::new("oracle212-HelloWorld.cap", None, &[]) else { return };
    assert_eq!(c.select().unwrap().sw, Sw::Ok);
    assert_eq!(c.tx("80100000 03 AABBCC 00"), "8010000003AABBCC9000");
}
