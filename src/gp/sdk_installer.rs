//! The Java Card SDK's reference installer (cref/jcwde, AID `A0 00 00 00 62 03 01 08 01`), so
//! that the SDK's apdutool scripts and tests written for cref run unchanged. A profile option:
//! the default profile does not have it (`profiles/oracle-sdk.toml` does).
//!
//! Its protocol, as the SDK's `scriptgen` writes it and the reference implementation answers
//! (`shared/javacard/caps/expected/oracle212-demo/demo2.scr.expected.out`):
//!
//! | APDU | meaning | answer |
//! |---|---|---|
//! | `80 B0 00 00 [00]` | CAP begin | `9000` |
//! | `80 B2 tag 00 [00]` | component `tag` begin | `9000` |
//! | `80 B4 tag 00 Lc data [00]` | component data (the component's own bytes, tag and size first) | `9000` |
//! | `80 BC tag 00 [00]` | component `tag` end | `9000` |
//! | `80 BA 00 00 [00]` | CAP end: the package goes to the JCVM (LOAD checks, GPCS §11.6 answers) | `9000` |
//! | `80 B8 00 00 Lc AIDlen AID paramLen params [Le]` | CREATE APPLET of the applet class `AID`, instance AID the same | the AID, `9000` |
//!
//! The 2.1 installer hands `install(bArray, bOffset, bLength)` its CREATE APPLET data with
//! `bOffset` at the parameters (the SDK samples read their PIN from `bArray[bOffset..]`).
//! Out of order: `6985`; unknown INS: `6D00`; wrong P1/P2: `6A86`; the class in no loaded
//! package: `6A88`. Packages and instances it makes are in the registry like GP's (associated
//! with the ISD), so `gpse gp list` and DELETE see them.

use super::cap::CapFile;
use super::registry::{AppLifeCycle, Instance, InstanceKind, LoadFile, Privileges, ELF_LOADED};
use crate::apdu::{Command, Response};
use crate::card::{Aid, Applet, Ctx, ModuleImpl, Outcome, RawInstall};
use crate::crypto::CardRng;
use crate::sw::Sw;

/// The installer's AID (package `A0000000620301`, applet `…0801`).
pub const INSTALLER_AID: &[u8] = &[0xA0, 0x00, 0x00, 0x00, 0x62, 0x03, 0x01, 0x08, 0x01];
const INSTALLER_PACKAGE: &[u8] = &[0xA0, 0x00, 0x00, 0x00, 0x62, 0x03, 0x01];
/// The largest CAP it gathers (as GP LOAD).
const MAX_CAP: usize = super::load::MAX_LOAD_FILE;

/// The installer module.
pub static MODULE: ModuleImpl = ModuleImpl {
    name: "oracle-sdk-installer",
    package_aid: INSTALLER_PACKAGE,
    module_aid: INSTALLER_AID,
    default_instance_aid: INSTALLER_AID,
    install: |_, _: &mut CardRng| Ok(Box::<SdkInstaller>::default()),
    restore: |_| Ok(Box::<SdkInstaller>::default()),
};

/// A CAP download in progress.
#[derive(Default)]
struct Download {
    /// The component being received, if any.
    component: Option<u8>,
    data: Vec<u8>,
}

/// The installer instance (volatile state only: a download in progress).
#[derive(Default)]
pub struct SdkInstaller {
    download: Option<Download>,
}

impl SdkInstaller {
    fn create(ctx: &mut Ctx<'_>, data: &[u8]) -> Outcome {
        let (aid_len, rest) = data.split_first().ok_or(Sw::WrongData)?;
        let aid = rest.get(..*aid_len as usize).and_then(Aid::new).ok_or(Sw::WrongData)?;
        let plen = *rest.get(*aid_len as usize).ok_or(Sw::WrongData)? as usize;
        let offset = 1 + *aid_len as usize + 1;
        if data.len() != offset + plen {
            return Err(Sw::WrongData);
        }
        let open = ctx.open.as_mut().ok_or(Sw::ConditionsNotSatisfied)?;
        let img = open.image();
        if img.aid_in_use(&aid) {
            return Err(Sw::ConditionsNotSatisfied);
        }
        let lf = img.load_files.iter().find(|l| l.modules.contains(&aid)).ok_or(Sw::ReferencedDataNotFound)?;
        let inst = Instance {
            aid: aid.clone(),
            kind: InstanceKind::Application,
            elf: Some(lf.aid.clone()),
            module: Some(aid.clone()),
            life_cycle: AppLifeCycle::SELECTABLE,
            privileges: Privileges::empty(),
            sd: img.isd().aid.clone(),
            keys: None,
            state: Vec::new(),
        };
        let raw = RawInstall { array: data, offset, length: plen };
        open.install_with(inst, &data[offset..], Some(raw), ctx.rng)?;
        Ok(Response::data(aid.as_bytes().to_vec()))
    }

    fn cap_end(ctx: &mut Ctx<'_>, cap: &[u8]) -> Outcome {
        let info = CapFile::parse(cap).map_err(|_| Sw::WrongData)?.info;
        let open = ctx.open.as_mut().ok_or(Sw::ConditionsNotSatisfied)?;
        if open.image().aid_in_use(&info.package_aid) {
            return Err(Sw::ConditionsNotSatisfied);
        }
        let modules = open.load(&info.package_aid, cap).unwrap_or(Err(Sw::ConditionsNotSatisfied))?;
        let sd = open.image().isd().aid.clone();
        open.image_mut().load_files.push(LoadFile {
            aid: info.package_aid,
            version: info.version.to_vec(),
            modules,
            sd,
            life_cycle: ELF_LOADED,
        });
        Ok(Response::ok())
    }
}

impl Applet for SdkInstaller {
    fn process(&mut self, ctx: &mut Ctx<'_>, cmd: &Command) -> Outcome {
        if cmd.cla & 0x80 == 0 {
            // SELECT of an AID nobody has, forwarded by the runtime: not found.
            return Err(if cmd.ins == 0xA4 { Sw::FileNotFound } else { Sw::ClaNotSupported });
        }
        let p2_zero = || if cmd.p2 == 0 { Ok(()) } else { Err(Sw::IncorrectP1P2) };
        match cmd.ins {
            0xB0 => {
                p2_zero()?;
                self.download = Some(Download::default());
                Ok(Response::ok())
            }
            0xB2 => {
                p2_zero()?;
                let d = self.download.as_mut().ok_or(Sw::ConditionsNotSatisfied)?;
                if d.component.is_some() {
                    return Err(Sw::ConditionsNotSatisfied);
                }
                d.component = Some(cmd.p1);
                Ok(Response::ok())
            }
            0xB4 => {
                p2_zero()?;
                let d = self.download.as_mut().ok_or(Sw::ConditionsNotSatisfied)?;
                if d.component != Some(cmd.p1) {
                    return Err(Sw::ConditionsNotSatisfied);
                }
                if d.data.len() + cmd.data.len() > MAX_CAP {
                    self.download = None;
                    return Err(Sw::NotEnoughMemory);
                }
                d.data.extend_from_slice(&cmd.data);
                Ok(Response::ok())
            }
            0xBC => {
                p2_zero()?;
                let d = self.download.as_mut().ok_or(Sw::ConditionsNotSatisfied)?;
                if d.component != Some(cmd.p1) {
                    return Err(Sw::ConditionsNotSatisfied);
                }
                d.component = None;
                Ok(Response::ok())
            }
            0xBA => {
                p2_zero()?;
                let d = self.download.take().ok_or(Sw::ConditionsNotSatisfied)?;
                if d.component.is_some() {
                    return Err(Sw::ConditionsNotSatisfied);
                }
                Self::cap_end(ctx, &d.data)
            }
            0xB8 => {
                if cmd.p1 != 0 || cmd.p2 != 0 {
                    return Err(Sw::IncorrectP1P2);
                }
                Self::create(ctx, &cmd.data)
            }
            _ => Err(Sw::InsNotSupported),
        }
    }

    fn deselect(&mut self, _ctx: &mut Ctx<'_>) {
        self.download = None;
    }

    fn power_reset(&mut self) {
        self.download = None;
    }

    fn take_dirty(&mut self) -> bool {
        false
    }

    fn save(&self) -> Vec<u8> {
        Vec::new()
    }

    fn card_manager(&self) -> bool {
        true
    }
}
