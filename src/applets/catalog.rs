//! The modules this emulator can run, as a GP-SE has its applets' load files in ROM.

use crate::card::{Aid, ModuleImpl};

/// Every built-in module.
pub static MODULES: &[&ModuleImpl] = &[&super::testapp::MODULE, &super::jpki::MODULE, &super::ara_m::MODULE];

/// The module with this name (as profiles write it).
pub fn by_name(name: &str) -> Option<&'static ModuleImpl> {
    MODULES.iter().copied().find(|m| m.name == name)
}

/// The module with this module AID.
pub fn by_module_aid(aid: &Aid) -> Option<&'static ModuleImpl> {
    MODULES.iter().copied().find(|m| m.module_aid == aid.as_bytes())
}
