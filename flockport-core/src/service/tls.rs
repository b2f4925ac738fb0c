//! TLS material of service containers (load balancers, webservers): a PEM
//! certificate and key given by the user, checked on this machine (openssl)
//! before anything is touched (readable, parseable, the key belongs to the
//! certificate), or a self-signed pair made here (rcgen) for a host name.
//! Files in a container are named by the certificate's fingerprint, so a
//! staged change never alters what the running config points at.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

/// How long a self-signed certificate is valid, in days.
pub const SELF_SIGNED_DAYS: i64 = 365;

/// A checked certificate and key. The key is a secret: never logged or shown.
#[derive(Clone)]
pub struct TlsFiles {
    /// The certificate's CERTIFICATE blocks, PEM, in the file's order (leaf
    /// first, then its chain); whatever else the file held is not kept.
    pub cert_pem: String,
    key_pem: Vec<u8>,
    /// A short fingerprint of the certificate (names the files in the container).
    pub fingerprint: String,
    /// When the (leaf) certificate expires, as openssl prints it
    /// (`Dec  2 06:50:20 2027 GMT`).
    pub not_after: String,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("fingerprint", &self.fingerprint)
            .field("not_after", &self.not_after)
            .field("key_pem", &"<secret>")
            .finish()
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
        Ok(Self::from_parts(cert_pem, key_bytes, x509))
    }

    fn from_parts(cert_pem: String, mut key_pem: Vec<u8>, leaf: &openssl::x509::X509Ref) -> Self {
        let fingerprint = hex::encode(Sha256::digest(cert_pem.as_bytes()))[..16].to_string();
        if !key_pem.ends_with(b"\n") {
            key_pem.push(b'\n');
        }
        let not_after = leaf.not_after().to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        TlsFiles { cert_pem, key_pem, fingerprint, not_after }
    }

    /// A self-signed certificate for `host` (subject CN and the only
    /// subject alternative name), valid from a day ago for [`SELF_SIGNED_DAYS`]
    /// days, with a fresh ECDSA P-256 key made here (rcgen): no `openssl`
    /// command, the key never leaves this process but as a secret step input.
    pub fn self_signed(host: &str) -> Result<Self> {
        let failed =
            |e: &dyn std::fmt::Display| Error::invalid("url", host, format!("cannot make a certificate for it: {e}"));
        let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).map_err(|e| failed(&e))?;
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, host);
        params.distinguished_name = dn;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
        let key = rcgen::KeyPair::generate().map_err(|e| failed(&e))?;
        let cert = params.self_signed(&key).map_err(|e| failed(&e))?;
        let x509 = openssl::x509::X509::from_der(cert.der()).map_err(|e| failed(&e))?;
        Ok(Self::from_parts(cert.pem(), key.serialize_pem().into_bytes(), &x509))
    }

    /// The key, PEM (a secret).
    pub fn key_pem(&self) -> &[u8] {
        &self.key_pem
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::tests::{rec, server};
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

    #[test]
    fn a_self_signed_certificate_names_the_host_and_its_key_matches() {
        let t = TlsFiles::self_signed("myminio.org").unwrap();
        let x = openssl::x509::X509::from_pem(t.cert_pem.as_bytes()).unwrap();
        let cn: Vec<String> = x
            .subject_name()
            .entries_by_nid(openssl::nid::Nid::COMMONNAME)
            .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
            .collect();
        assert_eq!(cn, ["myminio.org"]);
        let key = openssl::pkey::PKey::private_key_from_pem(t.key_pem()).unwrap();
        assert!(x.public_key().unwrap().public_eq(&key));
        let year = time::OffsetDateTime::now_utc().year() + 1;
        assert!(t.not_after.contains(&year.to_string()), "{}", t.not_after);
        assert!(!format!("{t:?}").contains("PRIVATE"), "{t:?}");
        assert_ne!(t.fingerprint, TlsFiles::self_signed("myminio.org").unwrap().fingerprint, "a fresh key each time");
    }
}
