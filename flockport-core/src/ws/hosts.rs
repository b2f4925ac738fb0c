//! `addhosts URL IP [--file PATH]` and `delhosts URL`: entries of this
//! machine's `/etc/hosts` (or PATH) inside a block marked as flockport's.
//! Lines outside the block are never changed; the file is written
//! atomically with its mode kept, under a lock (in the temp directory); adding an entry
//! that is there already, or removing one that is not there, writes nothing.
//!
//! Hand-written on purpose: the hosts-file crates parse and re-serialise the
//! whole file, which would normalise lines flockport did not write.

use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, LockGuard};
use crate::names;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The default file.
pub const HOSTS: &str = "/etc/hosts";
/// First line of flockport's block.
pub const BEGIN: &str = "# BEGIN flockport (addhosts/delhosts; lines here are managed by flockport)";
/// Last line of flockport's block.
pub const END: &str = "# END flockport";

/// What `addhosts`/`delhosts` did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct HostsChange {
    /// The file.
    pub file: PathBuf,
    /// The host name.
    pub url: String,
    /// The address (addhosts), or the one removed (delhosts).
    pub ip: Option<Ipv4Addr>,
    /// Whether the file changes (false: it already said so).
    pub changed: bool,
    /// Whether it was written.
    pub executed: bool,
}

/// The entries of flockport's block: (ip, name) per line.
fn parse_block(lines: &[&str]) -> Option<(usize, usize)> {
    let b = lines.iter().position(|l| l.trim_end() == BEGIN)?;
    let e = lines[b..].iter().position(|l| l.trim_end() == END)? + b;
    Some((b, e))
}

/// `text` with `url`'s entry in flockport's block set to `ip` (`None`:
/// removed). Returns the new text and the address it had.
pub fn edit(text: &str, url: &str, ip: Option<Ipv4Addr>) -> (String, Option<Ipv4Addr>) {
    let lines: Vec<&str> = text.lines().collect();
    let (mut before, mut block, after): (Vec<String>, Vec<String>, Vec<String>) = match parse_block(&lines) {
        Some((b, e)) => (
            lines[..b].iter().map(|s| s.to_string()).collect(),
            lines[b + 1..e].iter().map(|s| s.to_string()).collect(),
            lines[e + 1..].iter().map(|s| s.to_string()).collect(),
        ),
        None => (lines.iter().map(|s| s.to_string()).collect(), Vec::new(), Vec::new()),
    };
    let mut old = None;
    block.retain(|l| {
        let mut f = l.split_whitespace();
        let (a, n) = (f.next(), f.next());
        if n == Some(url) {
            old = a.and_then(|a| a.parse().ok());
            false
        } else {
            true
        }
    });
    if let Some(ip) = ip {
        block.push(format!("{ip}\t{url}"));
    }
    let mut out = Vec::new();
    out.append(&mut before);
    if !block.is_empty() {
        out.push(BEGIN.to_string());
        out.extend(block);
        out.push(END.to_string());
    }
    out.extend(after);
    let mut text = out.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    (text, old)
}

fn change(file: Option<&Path>, url: &str, ip: Option<Ipv4Addr>, dry_run: bool) -> Result<HostsChange> {
    names::check_url(url)?;
    let path = file.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(HOSTS));
    let read = |p: &Path| match std::fs::read(p) {
        Ok(b) => String::from_utf8(b).map_err(|_| {
            Error::invalid("hosts file", p.display().to_string(), "is not UTF-8 text; flockport leaves it alone")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Error::io("reading", p, e)),
    };
    // The lock lives in the temp directory, keyed by the file's path: no
    // `/etc/hosts.lock` is left beside the system's file.
    let key = hex::encode(Sha256::digest(path.as_os_str().as_encoded_bytes()));
    let lock = std::env::temp_dir().join(format!("flockport-hosts-{}.lock", &key[..16]));
    let _lock = if dry_run { None } else { Some(LockGuard::acquire(&lock)?) };
    let text = read(&path)?;
    let (next, old) = edit(&text, url, ip);
    let changed = next != text;
    if ip.is_none() && old.is_none() {
        return Err(Error::not_found(
            "hosts entry",
            url,
            format!(
                "{} has no entry of flockport's for it (entries outside its block are not touched)",
                path.display()
            ),
        ));
    }
    let mut out = HostsChange { file: path.clone(), url: url.to_string(), ip: ip.or(old), changed, executed: false };
    if dry_run || !changed {
        return Ok(out);
    }
    let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
    atomic_write(&path, next.as_bytes(), mode)?;
    out.executed = true;
    Ok(out)
}

/// `addhosts`: `IP URL` in flockport's block of `file` (default `/etc/hosts`).
pub fn add_hosts(url: &str, ip: &str, file: Option<&Path>, dry_run: bool) -> Result<HostsChange> {
    let ip = names::parse_ipv4("ip", ip)?;
    change(file, url, Some(ip), dry_run)
}

/// `delhosts`: removes URL's entry from flockport's block.
pub fn del_hosts(url: &str, file: Option<&Path>, dry_run: bool) -> Result<HostsChange> {
    change(file, url, None, dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "127.0.0.1\tlocalhost\n# a comment\n10.0.0.9 myminio.org  # the user's own\n";

    #[test]
    fn entries_go_in_flockports_block_only_and_twice_is_once() {
        let (a, old) = edit(BASE, "myminio.org", Some([10, 0, 4, 100].into()));
        assert_eq!(old, None, "the user's own line is not flockport's");
        assert!(a.starts_with(BASE), "lines before are kept byte for byte:\n{a}");
        assert!(a.ends_with(&format!("{BEGIN}\n10.0.4.100\tmyminio.org\n{END}\n")), "{a}");
        let (b, old) = edit(&a, "myminio.org", Some([10, 0, 4, 100].into()));
        assert_eq!((b.as_str(), old), (a.as_str(), Some([10, 0, 4, 100].into())), "idempotent");
        let (c, _) = edit(&a, "myminio.org", Some([192, 168, 122, 11].into()));
        assert_eq!(c.matches("myminio.org").count(), 2, "one entry of flockport's, the user's kept:\n{c}");
        assert!(c.contains("192.168.122.11\tmyminio.org"));
        let (d, old) = edit(&c, "myminio.org", None);
        assert_eq!((d.as_str(), old), (BASE, Some([192, 168, 122, 11].into())), "an empty block goes");
    }

    #[test]
    fn lines_after_the_block_and_a_missing_final_newline_are_kept() {
        let text = format!("a\n{BEGIN}\n10.0.0.1\tx.org\n{END}\nb after");
        let (t, _) = edit(&text, "y.org", Some([10, 0, 0, 2].into()));
        assert_eq!(t, format!("a\n{BEGIN}\n10.0.0.1\tx.org\n10.0.0.2\ty.org\n{END}\nb after\n"));
    }

    #[test]
    fn files_are_written_atomically_with_their_mode_and_bad_input_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("hosts");
        std::fs::write(&f, BASE).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let r = add_hosts("myminio.org", "10.0.4.100", Some(&f), false).unwrap();
        assert!(r.changed && r.executed);
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o640);
        let again = add_hosts("myminio.org", "10.0.4.100", Some(&f), false).unwrap();
        assert!(!again.changed && !again.executed);
        let before = std::fs::read(&f).unwrap();
        for (url, ip) in [("myminio.org", "10.0.4.300"), ("my minio.org", "10.0.4.1"), ("a;b", "10.0.4.1")] {
            let e = add_hosts(url, ip, Some(&f), false).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{e}");
        }
        assert!(add_hosts("myminio.org", "10.0.4.300", Some(&f), false)
            .unwrap_err()
            .to_string()
            .contains("10.0.4.300"));
        let e = del_hosts("other.org", Some(&f), false).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::NotFound, "{e}");
        assert_eq!(std::fs::read(&f).unwrap(), before, "bad input changed the file");
        let dry = del_hosts("myminio.org", Some(&f), true).unwrap();
        assert!(dry.changed && !dry.executed);
        assert_eq!(std::fs::read(&f).unwrap(), before, "a dry run changed the file");
        del_hosts("myminio.org", Some(&f), false).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), BASE);
    }
}
