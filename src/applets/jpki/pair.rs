//! One JPKI key pair: its state, key, certificates and PIN, as persisted.

use crate::card::OwnerPin;
use crate::crypto::rsa::RsaPrivate;
use crate::crypto::SecretBytes;
pub use crate::proto::jpki::pin_well_formed;
use crate::sw::Sw;
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;
use serde::{Deserialize, Serialize};

use super::command::PairId;

/// Lifecycle of a pair: the type the host shares.
pub use crate::proto::jpki::PairState;

/// What persists of one pair. The private key is PKCS#1 DER in a zeroizing container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    pub state: PairState,
    pub key: Option<SecretBytes>,
    pub cert: Option<Vec<u8>>,
    pub ca_cert: Option<Vec<u8>>,
    pub pin: Option<OwnerPin>,
}

impl Pair {
    pub fn empty() -> Pair {
        Pair { state: PairState::Empty, key: None, cert: None, ca_cert: None, pin: None }
    }

    /// The private key, parsed.
    pub fn private_key(&self) -> Option<RsaPrivate> {
        self.key.as_ref().and_then(|k| RsaPrivate::from_pkcs1_der(k.expose()).ok())
    }

    /// Stores a freshly generated key.
    pub fn set_key(&mut self, key: &RsaPrivate) -> Result<(), Sw> {
        self.key = Some(key.to_pkcs1_der().map_err(|_| Sw::ExecutionError)?);
        self.state = PairState::KeyGenerated;
        Ok(())
    }
}

/// Try limits (OpenSC `jpki.h`, J§4).
pub fn try_limit(pair: PairId) -> u8 {
    match pair {
        PairId::Auth => 3,
        PairId::Sign => 5,
    }
}

/// The ISO 7816-8 public key template `7F49 {81 n, 82 e}`.
pub fn public_key_template(key: &RsaPublicKey) -> Vec<u8> {
    let mut inner = crate::tlv::tlv(0x81, &key.n().to_bytes_be());
    inner.extend(crate::tlv::tlv(0x82, &key.e().to_bytes_be()));
    crate::tlv::tlv(0x7F49, &inner)
}

/// The RSA public key inside a DER X.509 certificate, if it is one.
pub fn certificate_public_key(der: &[u8]) -> Option<RsaPublicKey> {
    use der::{Decode, Encode};
    use rsa::pkcs8::DecodePublicKey;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    RsaPublicKey::from_public_key_der(&spki).ok()
}

/// The public exponent JPKI keys use, 65537.
pub const EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];
