//! What a scenario (or a test) needs of a phone's SE beyond APDUs: the card-level events and
//! power cuts that only the in-process card can take. Host code reaches the SE through
//! [`SeHarness::transport`]; the in-process card ([`LocalCard`]) also implements the rest with
//! the `Card` public API (`create`/`open`, `power_on`, `store_mut`, `deliver_event`), and a PC/SC
//! reader ([`ReaderCard`]) answers those with [`HarnessError::NeedsInProcess`].

use crate::card::{Card, CardError, CardEvent};
use crate::crypto::CardRng;
use crate::platform::profile::{Overrides, Profile, ProfileError};
use crate::store::{Durability, Tearing};
use crate::sw::Sw;
use crate::transport::Transport;
use std::path::{Path, PathBuf};

/// Why a harness operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{0} needs the in-process card, not a reader")]
    NeedsInProcess(&'static str),
    #[error("card profile: {0}")]
    Profile(#[from] ProfileError),
    #[error("card image: {0}")]
    Card(#[from] CardError),
    #[error("the card image did not reopen after the power cut; the phone has no SE now")]
    NoCard,
    #[error("{what}: the card answered {sw} ({})", sw.meaning())]
    Event { what: &'static str, sw: Sw },
}

/// A phone's SE as a scenario drives it.
pub trait SeHarness {
    /// The APDU path, as every host role uses it.
    fn transport(&mut self) -> Result<&mut dyn Transport, HarnessError>;
    /// The phone's factory reset reaches the SE as a card-level event (applets wipe user data).
    fn factory_reset_event(&mut self) -> Result<(), HarnessError>;
    /// Power is cut after `writes` write steps of the card image's next commits.
    fn cut_power_after(&mut self, writes: u64) -> Result<(), HarnessError>;
    /// The phone reboots: whatever the SE held in memory is gone, the card image decides.
    fn reboot(&mut self) -> Result<(), HarnessError>;
}

/// The in-process card with its image in a directory.
pub struct LocalCard {
    dir: PathBuf,
    seed: u64,
    /// `None` only after a reboot whose image did not reopen.
    card: Option<Card>,
}

impl LocalCard {
    /// A new card of the default profile in `dir` (created), powered on; `seed` makes the
    /// image, RNG and challenges reproducible.
    pub fn create(dir: &Path, seed: u64) -> Result<LocalCard, HarnessError> {
        let img = Profile::default_profile().build(&Overrides::default(), &mut CardRng::new(Some(seed)))?;
        let mut card = Card::create(dir, img, Durability::NoSync, Some(seed), false)?;
        card.power_on();
        Ok(LocalCard { dir: dir.to_path_buf(), seed, card: Some(card) })
    }

    /// The directory of the card image.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn card(&mut self) -> Result<&mut Card, HarnessError> {
        self.card.as_mut().ok_or(HarnessError::NoCard)
    }
}

impl SeHarness for LocalCard {
    fn transport(&mut self) -> Result<&mut dyn Transport, HarnessError> {
        Ok(self.card()?)
    }

    fn factory_reset_event(&mut self) -> Result<(), HarnessError> {
        self.card()?
            .deliver_event(CardEvent::FactoryReset)
            .map_err(|sw| HarnessError::Event { what: "factory reset", sw })
    }

    fn cut_power_after(&mut self, writes: u64) -> Result<(), HarnessError> {
        self.card()?.store_mut().set_tearing(Some(Tearing::cut_after(writes)));
        Ok(())
    }

    fn reboot(&mut self) -> Result<(), HarnessError> {
        // The old card (and the lock on its directory) goes before the image reopens.
        drop(self.card.take());
        let mut card = Card::open(&self.dir, Durability::NoSync, Some(self.seed))?;
        card.power_on();
        self.card = Some(card);
        Ok(())
    }
}

/// An SE behind a transport (a PC/SC reader: `gpse serve` or a real phone's SE).
pub struct ReaderCard(pub Box<dyn Transport>);

impl SeHarness for ReaderCard {
    fn transport(&mut self) -> Result<&mut dyn Transport, HarnessError> {
        Ok(self.0.as_mut())
    }

    fn factory_reset_event(&mut self) -> Result<(), HarnessError> {
        Err(HarnessError::NeedsInProcess("a factory reset without the servers"))
    }

    fn cut_power_after(&mut self, _: u64) -> Result<(), HarnessError> {
        Err(HarnessError::NeedsInProcess("a power cut"))
    }

    fn reboot(&mut self) -> Result<(), HarnessError> {
        Err(HarnessError::NeedsInProcess("a reboot after a power cut"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_power_cut_and_reboot_keep_the_last_committed_image() {
        let tmp = tempfile::tempdir().unwrap();
        let mut se = LocalCard::create(&tmp.path().join("p"), 3).unwrap();
        let select_jpki = hex::decode("00A4040C0AD392F000260100000001").unwrap();
        assert_eq!(se.transport().unwrap().transmit(&select_jpki).unwrap(), [0x90, 0x00]);
        se.cut_power_after(0).unwrap();
        se.reboot().unwrap();
        assert_eq!(se.transport().unwrap().transmit(&select_jpki).unwrap(), [0x90, 0x00]);
        se.factory_reset_event().unwrap();
    }

    #[test]
    fn a_reader_refuses_what_needs_the_in_process_card() {
        let tmp = tempfile::tempdir().unwrap();
        let card = LocalCard::create(&tmp.path().join("p"), 3).unwrap().card.unwrap();
        let mut r = ReaderCard(Box::new(card));
        assert!(r.transport().is_ok());
        assert_eq!(
            r.cut_power_after(1).unwrap_err().to_string(),
            "a power cut needs the in-process card, not a reader"
        );
        assert!(r.reboot().is_err());
        assert!(r.factory_reset_event().is_err());
    }
}
