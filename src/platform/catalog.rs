//! The modules a gpse card is built with, as a GP-SE has its load files in ROM: the security
//! domain (ISD and SSDs) and the native applets; and the JCVM, which runs what LOAD brings. The runtime gets this catalog when a card is
//! assembled ([`crate::card::Catalog`]); a test or the JCVM adds modules of its own.

use crate::card::{Catalog, ModuleImpl};
use std::sync::Arc;

/// The native applet modules.
pub static APPLETS: &[&ModuleImpl] =
    &[&crate::applets::testapp::MODULE, &crate::applets::jpki::MODULE, &crate::applets::ara_m::MODULE];

/// Native modules a profile may add (their load files are in ROM only on cards whose profile
/// names them): the Java Card SDK's reference installer.
pub static OPTIONAL: &[&ModuleImpl] = &[&crate::gp::sdk_installer::MODULE];

/// The security domain module, every native applet, and the JCVM (CAP files LOAD brings).
pub fn builtin() -> Catalog {
    let mut c = Catalog::new().with(Arc::new(crate::gp::sd::module()));
    for m in APPLETS.iter().chain(OPTIONAL) {
        c = c.with(Arc::new(**m));
    }
    c.with(Arc::new(crate::jcvm::hosted::JcvmModule::new()))
}

/// The native applet module with this name (as profiles write it).
pub fn by_name(name: &str) -> Option<&'static ModuleImpl> {
    APPLETS.iter().chain(OPTIONAL).copied().find(|m| m.name == name)
}
