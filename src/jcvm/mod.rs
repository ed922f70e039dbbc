//! The Java Card VM (issue #14): CAP files parsed and kept whole ([`cap`]), the structural
//! load-time verifier ([`verify`]), the instruction set ([`opcode`]) and a disassembler
//! ([`cap::dump`]). The linker, interpreter, heap and natives build on [`cap::Cap`].
//!
//! References are to the Java Card Virtual Machine Specification, Classic Edition 3.0.5 (JCVM),
//! ch. 6 "The CAP File Format" and ch. 7 "Java Card Virtual Machine Instruction Set"; 3.1
//! additions (CAP format 2.3, StaticResources, the extended format) are marked.

pub mod cap;
pub mod opcode;
pub mod verify;

// Execution half (linker, interpreter, heap, natives, facade).
pub mod api;
pub mod coverage;
pub mod heap;
pub mod hosted;
pub mod interp;
pub mod journal;
pub mod link;
pub mod trace;
pub mod vm;

pub use vm::{Jcvm, JcvmError, PackageInfo};

/// Card services the natives need from the runtime that hosts the VM (the lead's adapter
/// implements it over the card's RNG, registry and channels). Every method has a default so
/// that a bare VM (tests, benches) runs with [`NoEnv`].
pub trait Env {
    /// Random bytes from the card RNG (part 3: `RandomData`).
    fn random(&mut self, out: &mut [u8]) {
        out.fill(0);
    }
    /// Whether an applet with this AID exists outside the VM (native applets, security
    /// domains), for `JCSystem.lookupAID`.
    fn lookup_aid(&self, aid: &[u8]) -> bool {
        let _ = aid;
        false
    }
    /// Whether such an applet is selected on some channel (`JCSystem.isAppletActive`).
    fn is_applet_active(&self, aid: &[u8]) -> bool {
        let _ = aid;
        false
    }
    /// `APDU.getProtocol()`: `0x01` T=1 over the default medium (an eSE behind OMAPI);
    /// `0x80`/`0x81` would be contactless type A.
    fn protocol(&self) -> u8 {
        0x01
    }
    /// The GlobalPlatform Card API services of the card (`org.globalplatform`): the card and
    /// applet life cycle, the secure channel of the applet's associated security domain on the
    /// channel in hand. `None` on a bare VM.
    fn gp(&mut self) -> Option<&mut dyn api::gp::GpCard> {
        None
    }
}

/// The environment of a bare VM: no other applets, zero randomness.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEnv;

impl Env for NoEnv {}

/// A file under `../shared` (tests: `GPSE_SHARED`, `CARGO_MANIFEST_DIR/../shared`, then
/// `/work/shared`), or `None` when absent.
#[cfg(test)]
pub(crate) fn shared_file(rel: &str) -> Option<String> {
    let mut roots = Vec::new();
    if let Ok(s) = std::env::var("GPSE_SHARED") {
        roots.push(std::path::PathBuf::from(s));
    }
    roots.push(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    roots.push(std::path::PathBuf::from("/work/shared"));
    roots.into_iter().find_map(|r| std::fs::read_to_string(r.join(rel)).ok())
}
