//! A test certificate authority: issues X.509 certificates for the public keys the JPKI applet
//! returns, as the JPKI platform (J-LIS) does for real ones (seeds.md §2). Test use only.

use der::{Decode, Encode};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// Why the CA could not issue.
#[derive(Debug, thiserror::Error)]
#[error("test CA: {0}")]
pub struct CaError(String);

fn err(e: impl std::fmt::Display) -> CaError {
    CaError(e.to_string())
}

/// A self-signed RSA-2048 CA.
pub struct TestCa {
    key: RsaPrivateKey,
    name: Name,
    cert_der: Vec<u8>,
    next_serial: u32,
}

impl TestCa {
    /// A new CA with a fresh key from `rng` and a self-signed certificate named `cn`.
    pub fn new(rng: &mut impl rsa::rand_core::CryptoRngCore, cn: &str) -> Result<TestCa, CaError> {
        let key = RsaPrivateKey::new(rng, 2048).map_err(err)?;
        let name = Name::from_str(&format!("CN={cn},O=gpse test CA,C=JP")).map_err(err)?;
        let spki = spki_of(&RsaPublicKey::from(&key))?;
        let signer = SigningKey::<Sha256>::new(key.clone());
        let b =
            CertificateBuilder::new(Profile::Root, SerialNumber::from(1u32), validity()?, name.clone(), spki, &signer)
                .map_err(err)?;
        let cert = b.build::<rsa::pkcs1v15::Signature>().map_err(err)?;
        Ok(TestCa { key, name, cert_der: cert.to_der().map_err(err)?, next_serial: 2 })
    }

    /// Saves the CA (private key as PKCS#8 DER, certificate, next serial) in `dir`, so separate
    /// runs of the CLI issue under the same CA. Test material: the key is stored unencrypted.
    pub fn save(&self, dir: &std::path::Path) -> Result<(), CaError> {
        use rsa::pkcs8::EncodePrivateKey;
        crate::store::create_private_dir(dir).map_err(err)?;
        let key = self.key.to_pkcs8_der().map_err(err)?;
        write_private(&dir.join("ca.key"), key.as_bytes()).map_err(err)?;
        std::fs::write(dir.join("ca.crt"), &self.cert_der).map_err(err)?;
        std::fs::write(dir.join("serial"), self.next_serial.to_string()).map_err(err)?;
        Ok(())
    }

    /// Loads a CA saved by [`TestCa::save`].
    pub fn load(dir: &std::path::Path) -> Result<TestCa, CaError> {
        use rsa::pkcs8::DecodePrivateKey;
        let key = RsaPrivateKey::from_pkcs8_der(&std::fs::read(dir.join("ca.key")).map_err(err)?).map_err(err)?;
        let cert_der = std::fs::read(dir.join("ca.crt")).map_err(err)?;
        let cert = x509_cert::Certificate::from_der(&cert_der).map_err(err)?;
        let name = cert.tbs_certificate.subject.clone();
        let next_serial = std::fs::read_to_string(dir.join("serial")).map_err(err)?.trim().parse().map_err(err)?;
        Ok(TestCa { key, name, cert_der, next_serial })
    }

    /// The CA's own certificate (DER).
    pub fn certificate(&self) -> &[u8] {
        &self.cert_der
    }

    /// Issues an end-entity certificate for `public_key` with subject `CN=cn`.
    pub fn issue(&mut self, public_key: &RsaPublicKey, cn: &str) -> Result<Vec<u8>, CaError> {
        let subject = Name::from_str(&format!("CN={cn},O=gpse test subscriber,C=JP")).map_err(err)?;
        let serial = SerialNumber::from(self.next_serial);
        self.next_serial += 1;
        let signer = SigningKey::<Sha256>::new(self.key.clone());
        let profile =
            Profile::Leaf { issuer: self.name.clone(), enable_key_agreement: false, enable_key_encipherment: false };
        let b = CertificateBuilder::new(profile, serial, validity()?, subject, spki_of(public_key)?, &signer)
            .map_err(err)?;
        let cert = b.build::<rsa::pkcs1v15::Signature>().map_err(err)?;
        cert.to_der().map_err(err)
    }
}

/// Writes `bytes` to `path` with mode 0600, also when the file exists with a wider mode (the
/// mode is set on the open file before anything is written).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(crate::store::SECRET_FILE_MODE)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(crate::store::SECRET_FILE_MODE))?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn spki_of(k: &RsaPublicKey) -> Result<SubjectPublicKeyInfoOwned, CaError> {
    let der = k.to_public_key_der().map_err(err)?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(err)
}

fn validity() -> Result<Validity, CaError> {
    Validity::from_now(Duration::from_secs(5 * 365 * 24 * 3600)).map_err(err)
}

/// The RSA public key of an ISO 7816-8 template `7F49 {81 n, 82 e}` (what GENERATE KEY PAIR
/// returns).
pub fn public_key_from_template(t: &[u8]) -> Option<RsaPublicKey> {
    use crate::tlv::{find, parse_all, Mode};
    let top = parse_all(t, Mode::Ber).ok()?;
    let inner = find(&top, 0x7F49)?.children(Mode::Ber).ok()?;
    let n = rsa::BigUint::from_bytes_be(find(&inner, 0x81)?.value);
    let e = rsa::BigUint::from_bytes_be(find(&inner, 0x82)?.value);
    RsaPublicKey::new(n, e).ok()
}
