//! The JCVM as the runtime hosts it: one [`Module`] per card that takes CAP files at LOAD and
//! makes CAP-backed instances at INSTALL, and one [`Applet`] per instance, a handle into the
//! card's one VM. The runtime does not know which kind it hosts: it sees the same hosting
//! interface as for the native applets and the security domains.
//!
//! The VM (packages kept whole, heap, static fields, instance table) is the module's shared
//! state: the runtime commits it with the card image, in the same atomic write as the
//! registry, once per APDU (DESIGN.md "The Java Card VM").

use super::api::gp::GpCard;
use super::{Env, Jcvm};
use crate::apdu::Command;
use crate::card::cvm::CvmCall;
use crate::card::{Aid, Applet, Ctx, GpApi, InstallRequest, Module, Outcome, RegistryCall};
use crate::crypto::CardRng;
use crate::sw::Sw;
use rand_core::RngCore;
use std::sync::{Arc, Mutex, MutexGuard};

/// The module name the card image keys the VM's state by.
pub const NAME: &str = "jcvm";

/// The JCVM module of one card.
#[derive(Default)]
pub struct JcvmModule {
    vm: Arc<Mutex<Jcvm>>,
}

impl JcvmModule {
    pub fn new() -> JcvmModule {
        JcvmModule::default()
    }

    fn vm(&self) -> Result<MutexGuard<'_, Jcvm>, Sw> {
        lock(&self.vm)
    }
}

/// The VM behind its lock; a poisoned lock (a panic elsewhere, which the VM never lets through)
/// answers `6F00`.
fn lock(vm: &Mutex<Jcvm>) -> Result<MutexGuard<'_, Jcvm>, Sw> {
    vm.lock().map_err(|_| Sw::Unknown)
}

/// The card services natives use, over the command's context.
struct CardEnv<'r, 'g> {
    rng: &'r mut CardRng,
    /// The GP Card API services (`Ctx::gp`): absent at INSTALL.
    gp: Option<&'r mut GpApi<'g>>,
}

impl<'r, 'g> CardEnv<'r, 'g> {
    fn of(ctx: &'r mut Ctx<'g>) -> CardEnv<'r, 'g> {
        CardEnv { rng: ctx.rng, gp: ctx.gp.as_mut() }
    }
}

impl Env for CardEnv<'_, '_> {
    fn random(&mut self, out: &mut [u8]) {
        self.rng.fill_bytes(out);
    }

    fn gp(&mut self) -> Option<&mut dyn GpCard> {
        if self.gp.is_some() {
            Some(self)
        } else {
            None
        }
    }
}

/// `org.globalplatform` over the card's [`GpApi`].
impl GpCard for CardEnv<'_, '_> {
    fn card_state(&self) -> u8 {
        self.gp.as_ref().map_or(0, |g| g.card_state())
    }
    fn own_state(&self) -> u8 {
        self.gp.as_ref().map_or(0, |g| g.own_state())
    }
    fn set_own_state(&mut self, state: u8) -> bool {
        self.gp.as_mut().is_some_and(|g| g.set_own_state(state))
    }
    fn lock_card(&mut self) -> bool {
        self.gp.as_mut().is_some_and(|g| g.lock_card())
    }
    fn terminate_card(&mut self) -> bool {
        self.gp.as_mut().is_some_and(|g| g.terminate_card())
    }
    fn process_security(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        let g = self.gp.as_mut().ok_or(Sw::ConditionsNotSatisfied)?;
        g.process_security(self.rng, cmd).map(|r| r.data)
    }
    fn security_level(&self) -> u8 {
        self.gp.as_ref().map_or(0, |g| g.security_level())
    }
    fn unwrap(&mut self, cmd: &Command) -> Result<Command, Sw> {
        self.gp.as_mut().ok_or(Sw::ConditionsNotSatisfied)?.unwrap(cmd)
    }
    fn wrap(&mut self, data: &[u8]) -> Vec<u8> {
        match self.gp.as_mut() {
            Some(g) => g.wrap(data),
            None => data.to_vec(),
        }
    }
    fn reset_security(&mut self) {
        if let Some(g) = self.gp.as_mut() {
            g.reset_security();
        }
    }
    fn crypt_data(&mut self, data: &[u8], encrypt: bool) -> Result<Vec<u8>, Sw> {
        self.gp.as_ref().ok_or(Sw::ConditionsNotSatisfied)?.crypt_data(data, encrypt)
    }
    // `gp()` hands this out only with GP services there; the natives answer a bare VM themselves.
    fn cvm(&mut self, call: CvmCall<'_>) -> i16 {
        self.gp.as_mut().map_or(0, |g| g.cvm(call))
    }
    fn registry_entry(&self, aid: Option<&[u8]>) -> Option<Vec<u8>> {
        self.gp.as_ref()?.registry_entry(aid).map(|a| a.as_bytes().to_vec())
    }
    fn entry_privileges(&self, entry: &[u8]) -> Option<[u8; 3]> {
        self.gp.as_ref()?.entry_privileges(&Aid::new(entry)?)
    }
    fn entry_call(&mut self, entry: &[u8], call: RegistryCall<'_>) -> u8 {
        let (Some(g), Some(aid)) = (self.gp.as_mut(), Aid::new(entry)) else {
            return 0;
        };
        g.entry_call(&aid, call)
    }
}

impl Module for JcvmModule {
    fn name(&self) -> &str {
        NAME
    }

    fn provides(&self, elf: &Aid, module: &Aid) -> bool {
        self.vm().is_ok_and(|vm| {
            vm.packages().iter().any(|p| p.aid == elf.as_bytes() && p.applets.iter().any(|a| a == module.as_bytes()))
        })
    }

    fn install(&self, req: &InstallRequest<'_>, rng: &mut CardRng) -> Result<Box<dyn Applet>, Sw> {
        let mut env = CardEnv { rng, gp: None };
        let mut vm = self.vm()?;
        let (elf, module, instance) = (req.elf.as_bytes(), req.module.as_bytes(), req.instance.as_bytes());
        let privileges = req.privileges.to_bytes();
        match req.raw {
            None => vm.install(&mut env, elf, module, instance, req.params, &privileges)?,
            Some(r) => vm.install_raw(&mut env, elf, module, instance, r.array, r.offset, r.length, &privileges)?,
        }
        drop(vm);
        Ok(Box::new(CapApplet { vm: self.vm.clone(), aid: req.instance.clone() }))
    }

    fn restore(&self, aid: &Aid, _state: &[u8]) -> Result<Box<dyn Applet>, String> {
        let vm = self.vm().map_err(|sw| format!("VM unavailable ({sw})"))?;
        if !vm.instances().iter().any(|(i, _)| i == aid.as_bytes()) {
            return Err(format!("the JCVM has no instance {aid}"));
        }
        Ok(Box::new(CapApplet { vm: self.vm.clone(), aid: aid.clone() }))
    }

    fn load(&self, elf: &Aid, file: &[u8]) -> Option<Result<Vec<Aid>, Sw>> {
        let mut vm = match self.vm() {
            Ok(vm) => vm,
            Err(sw) => return Some(Err(sw)),
        };
        Some(match vm.load_package(file) {
            Ok(p) if p.aid != elf.as_bytes() => {
                // INSTALL [for load] announced another package: nothing is kept.
                let _ = vm.delete_package(&p.aid);
                tracing::warn!(
                    "LOAD refused: the CAP is package {}, INSTALL [for load] said {elf}",
                    hex::encode_upper(&p.aid)
                );
                Err(Sw::WrongData)
            }
            Ok(p) => {
                if !p.missing.is_empty() {
                    tracing::warn!(
                        "LOAD {elf}: {} API reference(s) this JCVM does not implement (calling one answers 6F00): {}",
                        p.missing.len(),
                        p.missing.join(", ")
                    );
                }
                Ok(p.applets.iter().filter_map(|a| Aid::new(a)).collect())
            }
            Err(e) => {
                let sw = e.sw();
                tracing::warn!("LOAD {elf} refused with {sw}: {e}");
                Err(sw)
            }
        })
    }

    fn unload(&self, elf: &Aid) -> Result<(), Sw> {
        let mut vm = self.vm()?;
        if !vm.packages().iter().any(|p| p.aid == elf.as_bytes()) {
            return Ok(());
        }
        // The package's instances go with it (the card manager deletes their registry entries);
        // if the package itself may not go, the VM is left as it was.
        let before = vm.save();
        for (inst, _) in vm.instances().into_iter().filter(|(_, p)| p == elf.as_bytes()) {
            let _ = vm.delete_instance(&inst);
        }
        if let Err(sw) = vm.delete_package(elf.as_bytes()) {
            if let Ok(old) = Jcvm::restore(&before) {
                *vm = old;
            }
            return Err(sw);
        }
        Ok(())
    }

    fn for_card(&self) -> Option<Arc<dyn Module>> {
        Some(Arc::new(JcvmModule::new()))
    }

    fn take_dirty(&self) -> bool {
        self.vm().is_ok_and(|mut vm| vm.take_dirty())
    }

    fn save_shared(&self) -> Option<Vec<u8>> {
        self.vm().ok().map(|vm| vm.save())
    }

    fn take_diagnostics(&self) -> Vec<crate::card::Diagnostic> {
        self.vm().map_or_else(
            |_| Vec::new(),
            |mut vm| {
                let mut out: Vec<crate::card::Diagnostic> = vm
                    .take_traces()
                    .into_iter()
                    .map(|text| crate::card::Diagnostic { detail: false, trace: true, text })
                    .collect();
                out.extend(vm.take_diagnostics().into_iter().map(|(detail, text)| crate::card::Diagnostic {
                    detail,
                    trace: false,
                    text,
                }));
                out
            },
        )
    }

    fn set_trace(&self, spec: &crate::card::TraceSpec) {
        if let Ok(mut vm) = self.vm() {
            vm.set_trace(
                spec.bytecode.as_ref().map(|a| (a.as_ref().map(|a| a.as_bytes().to_vec()), spec.limit)),
                spec.api,
            );
        }
    }

    fn set_coverage(&self, on: bool) {
        if let Ok(mut vm) = self.vm() {
            vm.set_coverage(on);
        }
    }

    fn coverage_report(&self) -> (String, String) {
        self.vm().map_or_else(|_| (String::new(), String::new()), |vm| vm.coverage_report())
    }

    fn attach_debug(&self, file: &[u8]) -> Option<Result<(), String>> {
        Some(match self.vm() {
            Ok(mut vm) => vm.attach_debug(file).map(|_| ()),
            Err(sw) => Err(format!("VM unavailable ({sw})")),
        })
    }

    fn arm_power(&self, budget: Option<u64>) {
        if let Ok(mut vm) = self.vm() {
            vm.arm_power(budget);
        }
    }

    fn power_used(&self) -> (u64, bool) {
        self.vm().map_or((0, false), |vm| vm.power_used())
    }

    fn restore_shared(&self, state: Option<&[u8]>) -> Result<(), String> {
        let mut fresh = match state {
            Some(b) => Jcvm::restore(b).map_err(|e| e.to_string())?,
            None => Jcvm::new(),
        };
        // What it was made from is what the image holds (or what a new VM always is): nothing
        // to write until an APDU changes it.
        fresh.take_dirty();
        *self.vm().map_err(|sw| format!("VM unavailable ({sw})"))? = fresh;
        Ok(())
    }
}

/// A CAP-backed instance: its AID in the card's VM.
pub struct CapApplet {
    vm: Arc<Mutex<Jcvm>>,
    aid: Aid,
}

impl Applet for CapApplet {
    fn select(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        let ch = ctx.channel;
        let mut env = CardEnv::of(ctx);
        lock(&self.vm)?.select(&mut env, self.aid.as_bytes(), ch, cmd)
    }

    fn deselect(&mut self, ctx: &mut Ctx<'_>) {
        let ch = ctx.channel;
        let mut env = CardEnv::of(ctx);
        if let Ok(mut vm) = lock(&self.vm) {
            vm.deselect(&mut env, self.aid.as_bytes(), ch);
        }
    }

    fn process(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        let ch = ctx.channel;
        let mut env = CardEnv::of(ctx);
        lock(&self.vm)?.process(&mut env, self.aid.as_bytes(), ch, cmd)
    }

    fn power_reset(&mut self) {
        if let Ok(mut vm) = lock(&self.vm) {
            vm.power_reset();
        }
    }

    /// The instance's state is in the VM, which the module commits.
    fn take_dirty(&mut self) -> bool {
        false
    }

    fn save(&self) -> Vec<u8> {
        Vec::new()
    }

    fn uninstall(&mut self) {
        if let Ok(mut vm) = lock(&self.vm) {
            let _ = vm.delete_instance(self.aid.as_bytes());
        }
    }

    /// A Java Card applet takes chained commands as they come (JCRE §9.4: the applet sees
    /// each one, CLA b5 set); a CAP applet that does not handle them answers itself.
    fn supports_chaining(&self) -> bool {
        true
    }
}
