//! Secrets on the operator's machine: [`Secret`] (a string whose `Debug` and
//! `Display` never show it) and [`SecretStore`], files of mode 0600 in a
//! directory of mode 0700 next to the state file (`flockport-secrets/`).
//!
//! The state never holds a secret: records name what a secret is for, the
//! store holds its bytes. Secrets reach servers only as the stdin of a step
//! (`plan::Content::secret`), never in argv, plans, JSON or logs.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// `N` bytes from OpenSSL's CSPRNG: every secret flockport makes starts here.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    openssl::rand::rand_bytes(&mut b)
        .map_err(|e| Error::io("reading random bytes", "openssl", std::io::Error::other(e.to_string())))?;
    Ok(b)
}

/// A secret string: shown as `<secret>` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps `s`.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself: only for the stdin of a step, a 0600 file, or a
    /// user's explicit request to see it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// `len` characters from a CSPRNG (OpenSSL's), from an alphabet without
    /// quotes, backslashes or shell and SQL metacharacters.
    pub fn generate(len: usize) -> Result<Self> {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        let mut out = String::with_capacity(len);
        while out.len() < len {
            let buf = random_bytes::<64>()?;
            // Rejection sampling keeps every character equally likely.
            let limit = 256 - (256 % ALPHABET.len());
            for b in buf.iter().map(|&b| usize::from(b)).filter(|&b| b < limit) {
                if out.len() == len {
                    break;
                }
                out.push(char::from(ALPHABET[b % ALPHABET.len()]));
            }
        }
        Ok(Secret(out))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// The secret in file `path` (trimmed), which must be of mode 0600 or
/// stricter: a file others can read is refused, naming the fix.
pub fn read_private(field: &'static str, path: &Path) -> Result<Secret> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| Error::io("reading", path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::invalid(
            field,
            path.display().to_string(),
            format!("its mode is {mode:04o}, readable by others: `chmod 600 {}`", path.display()),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, path.display().to_string(), "the file is empty"));
    }
    Ok(Secret(text.to_string()))
}

/// Secret files under one directory (mode 0700), each mode 0600, named by a
/// key of plain names (checked: never a path of their own).
#[derive(Debug, Clone)]
pub struct SecretStore {
    dir: PathBuf,
}

impl SecretStore {
    /// The store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SecretStore { dir: dir.into() }
    }

    /// The store beside state file `state_path`: `flockport-secrets/` in its directory.
    pub fn beside(state_path: &Path) -> Self {
        let dir = state_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        SecretStore::new(dir.join("flockport-secrets"))
    }

    /// The file of `key` (`db/mysql1/wordpress`).
    pub fn path(&self, key: &[&str]) -> Result<PathBuf> {
        let mut p = self.dir.clone();
        for part in key {
            // File names: the names flockport checked before (instances,
            // users), which may start with '_' and be longer than a container
            // name; never a path of their own.
            let plain = part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if part.is_empty() || part.starts_with('.') || part.len() > 255 || !plain {
                return Err(Error::invalid(
                    "secret name",
                    *part,
                    "use letters, digits, '_', '-' or '.', not starting with '.' (a file name)",
                ));
            }
            p.push(part);
        }
        Ok(p)
    }

    fn ensure_dirs(&self, file: &Path) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true).mode(0o700);
        if let Some(parent) = file.parent() {
            b.create(parent).map_err(|e| Error::io("creating the secrets directory", parent, e))?;
        }
        // An existing directory made by something else is tightened.
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("setting the mode of", &self.dir, e))
    }

    /// Writes `secret` under `key` (atomically, mode 0600).
    pub fn put(&self, key: &[&str], secret: &Secret) -> Result<PathBuf> {
        let p = self.path(key)?;
        self.ensure_dirs(&p)?;
        crate::fsutil::atomic_write(&p, secret.expose().as_bytes(), 0o600)?;
        Ok(p)
    }

    /// The secret under `key`, if there is one.
    pub fn get(&self, key: &[&str]) -> Result<Option<Secret>> {
        let p = self.path(key)?;
        match std::fs::read(&p) {
            Ok(b) => String::from_utf8(b)
                .map(|s| Some(Secret(s)))
                .map_err(|_| Error::invalid("secret file", p.display().to_string(), "it is not UTF-8 text")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("reading", p, e)),
        }
    }

    /// Removes `key` (a file, or a directory of them); absent is fine.
    pub fn remove(&self, key: &[&str]) -> Result<()> {
        let p = self.path(key)?;
        let r = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("removing", p, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_secret_is_never_shown() {
        let s = Secret::new("hunter2hunter2");
        assert_eq!(format!("{s:?} {s}"), "<secret> <secret>");
        assert_eq!(format!("{:?}", Some(s)), "Some(<secret>)");
    }

    #[test]
    fn generated_secrets_are_long_random_and_plain() {
        let a = Secret::generate(24).unwrap();
        let b = Secret::generate(24).unwrap();
        assert_eq!(a.expose().len(), 24);
        assert_ne!(a, b);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()), "{}", a.expose());
    }

    #[test]
    fn files_are_0600_in_a_0700_directory_and_names_are_checked() {
        let d = tempfile::tempdir().unwrap();
        let store = SecretStore::beside(&d.path().join("flockport-state.json"));
        let p = store.put(&["db", "mysql1", "wordpress"], &Secret::new("pw")).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        let dir = d.path().join("flockport-secrets");
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(store.get(&["db", "mysql1", "wordpress"]).unwrap().unwrap().expose(), "pw");
        assert!(store.get(&["db", "mysql1", "other"]).unwrap().is_none());
        assert!(store.path(&["db", "../x"]).is_err());
        assert!(store.path(&["db", ".."]).is_err());
        assert!(store.path(&["db", "_u"]).is_ok());
        assert!(store.path(&["db", &"u".repeat(80)]).is_ok());
        store.remove(&["db", "mysql1"]).unwrap();
        assert!(!p.exists());
        store.remove(&["db", "mysql1"]).unwrap();
    }
}
