//! The card's persistent state as one serialisable value: what the card image file holds.

use crate::card::cvm::GlobalPin;
use crate::card::registry::{CardLifeCycle, Identity, Instance, InstanceKind, LoadFile, Privileges};
use crate::card::Aid;
use serde::{Deserialize, Serialize};

/// Everything that survives power loss.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardImage {
    /// The profile the card was made from (for `card info`).
    pub profile: String,
    pub atr: Vec<u8>,
    /// Logical channels the card supports, the basic one included (1-20).
    pub logical_channels: u8,
    /// Card life cycle state (the ISD's, GPCS §5.1.1).
    pub life_cycle: CardLifeCycle,
    pub identity: Identity,
    pub load_files: Vec<LoadFile>,
    /// Registry order: the ISD first, then instances in install order (SELECT by partial AID and
    /// GET STATUS follow this order).
    pub instances: Vec<Instance>,
    /// State that a module keeps for all its instances (the JCVM's packages, heap and static
    /// fields), by module name; committed with the rest in the same atomic write.
    pub shared: Vec<SharedState>,
    /// Java Card 2.1 compatibility, as the SDK's 2.1 reference implementation behaved (whose
    /// traces the `oracle-sdk` profile reproduces): the ISO 7816-4:1995 class coding, where
    /// `40`-`7F` are not the further interindustry classes of channels 4-19 but RFU classes
    /// that reach the applet selected on the basic channel as they came (which answers `6E00`
    /// if it does not know them); and INSTALL hands `install` the application data alone
    /// (the `C9` value as `bArray`), the layout of the 2.1 installer, from which the 2.1
    /// samples read their parameters (JC 2.2 introduced the `LV AID, LV control, LV data`
    /// layout, JCRE §11.2.1). Added in image format 4 (last field: older images read `false`).
    pub jc21: bool,
    /// The card's global PIN (`GPSystem.getCVM(CVM_GLOBAL_PIN)`, [`super::cvm`]). Added in image
    /// format 5 (last field: older images read the NOT_READY default, whose encoding
    /// `crate::store` appends).
    pub global_pin: GlobalPin,
}

/// One module's shared state.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedState {
    pub module: String,
    pub state: Vec<u8>,
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedState({}, {} bytes)", self.module, self.state.len())
    }
}

impl CardImage {
    // Serialising owned in-memory data into a Vec cannot fail: a failure is a bug, not input.
    #[allow(clippy::expect_used)]
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("card image always serialises")
    }

    /// Decodes and checks the invariants the runtime relies on, so a damaged payload that still
    /// decodes is refused here and never reaches the card.
    pub fn from_bytes(b: &[u8]) -> Result<CardImage, String> {
        let img: CardImage = postcard::from_bytes(b).map_err(|e| e.to_string())?;
        img.validate()?;
        Ok(img)
    }

    /// The invariants the runtime relies on.
    pub fn validate(&self) -> Result<(), String> {
        let isds = self.instances.iter().filter(|i| i.kind == InstanceKind::IssuerSecurityDomain).count();
        if isds != 1 {
            return Err(format!("{isds} issuer security domains, expected 1"));
        }
        if self.instances.first().map(|i| i.kind) != Some(InstanceKind::IssuerSecurityDomain) {
            return Err("the ISD is not the first registry entry".into());
        }
        if !(1..=20).contains(&self.logical_channels) {
            return Err(format!("{} logical channels", self.logical_channels));
        }
        for (n, i) in self.instances.iter().enumerate() {
            if self.instances[..n].iter().any(|j| j.aid == i.aid) {
                return Err(format!("instance {} appears twice", i.aid));
            }
        }
        crate::card::atr::check_atr(&self.atr)?;
        Ok(())
    }

    /// Whether instances other than the ISD may be selected: not in CARD_LOCKED or TERMINATED
    /// (GPCS §5.1.1.4-5).
    pub fn applications_selectable(&self) -> bool {
        self.life_cycle.applications_selectable()
    }

    /// Whether SELECT may pick this instance now: selectable itself, and either the ISD or an
    /// instance on a card whose life cycle lets applications be selected.
    /// In CARD_LOCKED the application with the Final Application privilege stays selectable
    /// beside the ISD (GPCS §5.1.1.4, §11.1.2 T11-8).
    pub fn selectable_now(&self, i: &Instance) -> bool {
        let final_app = self.life_cycle == CardLifeCycle::CardLocked && i.has_privilege(Privileges::FINAL_APPLICATION);
        i.is_selectable()
            && (i.kind == InstanceKind::IssuerSecurityDomain || self.applications_selectable() || final_app)
    }

    /// The shared state of a module.
    pub fn shared_state(&self, module: &str) -> Option<&[u8]> {
        self.shared.iter().find(|s| s.module == module).map(|s| s.state.as_slice())
    }

    /// Sets the shared state of a module.
    pub fn set_shared_state(&mut self, module: &str, state: Vec<u8>) {
        match self.shared.iter_mut().find(|s| s.module == module) {
            Some(s) => s.state = state,
            None => self.shared.push(SharedState { module: module.to_string(), state }),
        }
    }

    /// The load file with this AID.
    pub fn load_file(&self, aid: &Aid) -> Option<&LoadFile> {
        self.load_files.iter().find(|l| &l.aid == aid)
    }

    /// Whether an AID is taken by an instance or a load file (GPCS §11.5.2.3: AIDs are unique in
    /// the registry).
    pub fn aid_in_use(&self, aid: &Aid) -> bool {
        self.instance(aid).is_some() || self.load_file(aid).is_some()
    }

    // Every constructor and `from_bytes` keep exactly one ISD (a checked invariant).
    #[allow(clippy::expect_used)]
    pub fn isd(&self) -> &Instance {
        self.instances
            .iter()
            .find(|i| i.kind == InstanceKind::IssuerSecurityDomain)
            .expect("a card image always has an ISD")
    }

    // Every constructor and `from_bytes` keep exactly one ISD (a checked invariant).
    #[allow(clippy::expect_used)]
    pub fn isd_mut(&mut self) -> &mut Instance {
        self.instances
            .iter_mut()
            .find(|i| i.kind == InstanceKind::IssuerSecurityDomain)
            .expect("a card image always has an ISD")
    }

    pub fn instance(&self, aid: &Aid) -> Option<&Instance> {
        self.instances.iter().find(|i| &i.aid == aid)
    }

    pub fn instance_index(&self, aid: &Aid) -> Option<usize> {
        self.instances.iter().position(|i| &i.aid == aid)
    }

    /// The instance implicitly selected on the basic channel: the one with the Card Reset
    /// privilege, else the ISD (GPCS §6.6.1); always the ISD when the card is CARD_LOCKED or
    /// TERMINATED (GPCS §5.1.1.4-5).
    pub fn default_selected(&self) -> Aid {
        self.instances
            .iter()
            .filter(|_| self.applications_selectable())
            .find(|i| {
                i.kind != InstanceKind::IssuerSecurityDomain
                    && i.has_privilege(Privileges::CARD_RESET)
                    && i.is_selectable()
            })
            .unwrap_or_else(|| self.isd())
            .aid
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes `crate::store` appends to images of format 4 and older are the encoding of the
    /// NOT_READY global PIN, so an old card reads with no global PIN set.
    #[test]
    fn the_fields_format_5_appended_encode_the_default_global_pin() {
        assert_eq!(postcard::to_stdvec(&GlobalPin::default()).unwrap(), crate::store::V5_FIELDS);
    }
}
