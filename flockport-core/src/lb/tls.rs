//! TLS material for load balancers: a PEM certificate and key, checked on this
//! machine (openssl) before anything is touched: readable, parseable, and the
//! key belongs to the certificate.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

/// A checked certificate and key. The key is a secret: never logged or shown.
#[derive(Clone)]
pub struct TlsFiles {
    /// The certificate, PEM.
    pub cert_pem: String,
    key_pem: Vec<u8>,
    /// A short fingerprint of the certificate (names the files in the container).
    pub fingerprint: String,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles").field("fingerprint", &self.fingerprint).field("key_pem", &"<secret>").finish()
    }
}

impl TlsFiles {
    /// Reads and checks `cert` and `key`.
    pub fn load(cert: &Path, key: &Path) -> Result<Self> {
        let read = |field: &'static str, p: &Path| {
            std::fs::read(p).map_err(|e| Error::invalid(field, p.display().to_string(), format!("cannot be read: {e}")))
        };
        let cert_bytes = read("certificate", cert)?;
        let key_bytes = read("key", key)?;
        let x509 = openssl::x509::X509::from_pem(&cert_bytes).map_err(|_| {
            Error::invalid(
                "certificate",
                cert.display().to_string(),
                "is not a PEM certificate (-----BEGIN CERTIFICATE-----)",
            )
        })?;
        let pkey = openssl::pkey::PKey::private_key_from_pem(&key_bytes)
            .map_err(|_| Error::invalid("key", key.display().to_string(), "is not a PEM private key"))?;
        let cert_pub = x509
            .public_key()
            .map_err(|_| Error::invalid("certificate", cert.display().to_string(), "has no usable public key"))?;
        if !cert_pub.public_eq(&pkey) {
            return Err(Error::invalid(
                "key",
                key.display().to_string(),
                format!(
                    "does not match the certificate {}; give the key the certificate was issued for",
                    cert.display()
                ),
            ));
        }
        let cert_pem = String::from_utf8(cert_bytes)
            .map_err(|_| Error::invalid("certificate", cert.display().to_string(), "is not UTF-8 PEM text"))?;
        let fingerprint = hex::encode(Sha256::digest(cert_pem.as_bytes()))[..16].to_string();
        let mut key_pem = key_bytes;
        if !key_pem.ends_with(b"\n") {
            key_pem.push(b'\n');
        }
        let mut cert_pem = cert_pem;
        if !cert_pem.ends_with('\n') {
            cert_pem.push('\n');
        }
        Ok(TlsFiles { cert_pem, key_pem, fingerprint })
    }

    /// The key, PEM (a secret).
    pub fn key_pem(&self) -> &[u8] {
        &self.key_pem
    }
}
