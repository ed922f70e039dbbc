//! What a gpse card is assembled from: the built-in catalog of modules (the security domain and
//! the native applets) and the profiles that say what a new card holds. This layer sits above
//! the runtime ([`crate::card`]), the card manager ([`crate::gp`]) and the applets, and is the
//! one place that puts them together.

pub mod catalog;
pub mod profile;

use crate::card::{Card, CardError, CardImage};
use crate::store::Durability;
use std::path::Path;

impl Card {
    /// A card from an image with the built-in catalog, kept in memory only.
    pub fn in_memory(image: CardImage, seed: Option<u64>) -> Result<Card, CardError> {
        Card::in_memory_with(&catalog::builtin(), image, seed)
    }

    /// Creates a new card image in `dir`, with the built-in catalog.
    pub fn create(
        dir: &Path,
        image: CardImage,
        durability: Durability,
        seed: Option<u64>,
        overwrite: bool,
    ) -> Result<Card, CardError> {
        Card::create_with(&catalog::builtin(), dir, image, durability, seed, overwrite)
    }

    /// Opens the card image in `dir`, with the built-in catalog.
    pub fn open(dir: &Path, durability: Durability, seed: Option<u64>) -> Result<Card, CardError> {
        Card::open_with(&catalog::builtin(), dir, durability, seed)
    }
}
