//! Cryptographic building blocks shared by the card and the host side: the card's RNG and
//! containers for secrets and the
//! card's RSA private key.

pub mod rng;
pub mod rsa;
pub mod secret;

pub use rng::CardRng;
pub use secret::SecretBytes;
