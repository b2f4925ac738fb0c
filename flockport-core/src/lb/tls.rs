//! TLS material for load balancers: a PEM certificate and key, checked on this
//! machine (openssl) before anything is touched: readable, parseable, and the
//! key belongs to the certificate.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

/// A checked certificate and key. The key is a secret: never logged or shown.
#[derive(Clone)]
pub struct TlsFiles {
    /// The certificate's CERTIFICATE blocks, PEM, in the file's order (leaf
    /// first, then its chain); whatever else the file held is not kept.
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
        let not_cert = || {
            Error::invalid(
                "certificate",
                cert.display().to_string(),
                "is not a PEM certificate (-----BEGIN CERTIFICATE-----)",
            )
        };
        // Only the CERTIFICATE blocks, in order (leaf first, then the chain):
        // a private key (or anything else) in the same file is dropped, so it
        // never reaches a plan, the JSON output or a 0644 file.
        let chain = openssl::x509::X509::stack_from_pem(&cert_bytes).map_err(|_| not_cert())?;
        let x509 = chain.first().ok_or_else(not_cert)?;
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
        let mut cert_pem = String::new();
        for c in &chain {
            let pem = c.to_pem().map_err(|_| not_cert())?;
            cert_pem.push_str(&String::from_utf8(pem).map_err(|_| not_cert())?);
        }
        let begins = cert_bytes.windows(11).filter(|w| *w == b"-----BEGIN ").count();
        if begins > chain.len() {
            tracing::warn!(
                certificate = %cert.display(),
                "the certificate file holds other PEM blocks (a private key?): only its certificates are used"
            );
        }
        let fingerprint = hex::encode(Sha256::digest(cert_pem.as_bytes()))[..16].to_string();
        let mut key_pem = key_bytes;
        if !key_pem.ends_with(b"\n") {
            key_pem.push(b'\n');
        }
        Ok(TlsFiles { cert_pem, key_pem, fingerprint })
    }

    /// The key, PEM (a secret).
    pub fn key_pem(&self) -> &[u8] {
        &self.key_pem
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{rec, server};
    use super::*;
    use crate::lb::{config_steps, Activate, LbKind};

    #[test]
    fn a_key_inside_the_certificate_file_is_dropped_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let leaf = rcgen::generate_simple_self_signed(vec!["x.org".to_string()]).unwrap();
        let chain = rcgen::generate_simple_self_signed(vec!["ca.x.org".to_string()]).unwrap();
        let key_pem = leaf.key_pair.serialize_pem();
        let (bundle, clean, k) =
            (dir.path().join("bundle.pem"), dir.path().join("clean.pem"), dir.path().join("k.pem"));
        // As some tools write it: the certificate, its key, then the chain.
        std::fs::write(&bundle, format!("{}{key_pem}{}", leaf.cert.pem(), chain.cert.pem())).unwrap();
        std::fs::write(&clean, format!("{}{}", leaf.cert.pem(), chain.cert.pem())).unwrap();
        std::fs::write(&k, &key_pem).unwrap();
        let tls = TlsFiles::load(&bundle, &k).unwrap();
        assert!(!tls.cert_pem.contains("PRIVATE KEY"), "{}", tls.cert_pem);
        let ders: Vec<Vec<u8>> = openssl::x509::X509::stack_from_pem(tls.cert_pem.as_bytes())
            .unwrap()
            .iter()
            .map(|c| c.to_der().unwrap())
            .collect();
        assert_eq!(ders, [leaf.cert.der().to_vec(), chain.cert.der().to_vec()], "the chain is kept, in order");
        assert_eq!(tls.cert_pem.matches("-----BEGIN ").count(), 2);
        assert_eq!(tls.fingerprint, TlsFiles::load(&clean, &k).unwrap().fingerprint, "fingerprint of the certificates");

        // The plan of an Nginx LB with it shows no key material anywhere.
        let mut rec = rec(LbKind::Nginx);
        rec.tls = Some(tls.fingerprint.clone());
        let steps = config_steps(&server(), &rec, Some(&tls), Activate::Reload).unwrap();
        let shown = format!(
            "{}\n{}",
            serde_json::to_string(&steps).unwrap(),
            steps.iter().map(|s| s.render()).collect::<Vec<_>>().join("\n")
        );
        // A line of the key's base64 body, not only its armour.
        let body = key_pem.lines().nth(1).unwrap();
        assert!(!shown.contains("PRIVATE KEY") && !shown.contains(body), "key material in the plan:\n{shown}");
        assert!(shown.contains("BEGIN CERTIFICATE"), "the certificate itself is shown: {shown}");
    }
}
