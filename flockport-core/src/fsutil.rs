//! Local file helpers shared by the inventory and the state store: an
//! exclusive lock file (fs4) and atomic writes (temp file, fsync, rename).

use crate::error::{Error, Result};
use fs4::fs_std::FileExt;
use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// An exclusive advisory lock, held until dropped.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
}

impl LockGuard {
    /// Blocks until the exclusive lock on `path` (created 0600 if missing) is
    /// held. While another process holds it, says once (a warning) who that
    /// is and since when, as the holder wrote it in the lock file; an
    /// interrupt ([`crate::interrupt`]) ends the wait with
    /// [`Error::Interrupted`]. The holder's line is then replaced by ours.
    pub fn acquire(path: &Path) -> Result<Self> {
        Self::acquire_unless(path, &|| {
            let asked = crate::interrupt::requested();
            if asked {
                crate::interrupt::clear();
            }
            asked
        })
    }

    /// [`LockGuard::acquire`], the wait ended when `interrupted` says so.
    pub fn acquire_unless(path: &Path, interrupted: &dyn Fn() -> bool) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io("opening lock file", path, e))?;
        let mut announced = false;
        while !FileExt::try_lock_exclusive(&file).map_err(|e| Error::io("locking", path, e))? {
            if !announced {
                let holder = std::fs::read_to_string(path).unwrap_or_default();
                tracing::warn!("waiting for the lock {} held by {}", path.display(), describe_holder(&holder));
                announced = true;
            }
            if interrupted() {
                return Err(Error::Interrupted {
                    operation: format!("waiting for the lock {}", path.display()),
                    rolled_back: Vec::new(),
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let line = format!("{}\n", holder_line());
        if file.set_len(0).is_ok() && file.rewind().is_ok() {
            let _ = file.write_all(line.as_bytes());
        }
        Ok(LockGuard { file, path: path.to_path_buf() })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Who holds a lock, for a process that has to wait: `pid 12 (flockport
/// addlb) on HOST since unix time T` (no arguments: they may hold secrets).
pub fn holder_line() -> String {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // The verb: the first argument that is neither a flag nor a flag's value.
    let mut args = std::env::args().skip(1);
    let mut verb = String::new();
    while let Some(a) = args.next() {
        if a == "--config" {
            args.next();
        } else if !a.starts_with('-') {
            verb = a;
            break;
        }
    }
    let program = std::env::args().next().unwrap_or_default();
    let program = Path::new(&program).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    let on = if host.is_empty() { String::new() } else { format!(" on {host}") };
    format!("pid {} ({program} {verb}){on} since unix time {since}", std::process::id())
}

/// A lock file's holder line for people: `pid 12 (flockport addlb) for 3 s`.
pub fn describe_holder(line: &str) -> String {
    let line = line.trim();
    if line.is_empty() {
        return "another flockport process".into();
    }
    match line.rsplit_once(" since unix time ").map(|(who, t)| (who, t.parse::<u64>())) {
        Some((who, Ok(t))) => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            format!("{who} for {} s", now.saturating_sub(t))
        }
        _ => line.to_string(),
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock too; unlocking first is explicit.
        let _ = FileExt::unlock(&self.file);
    }
}

/// The lock file that guards `path`: `path` with `.lock` appended.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Writes `bytes` to `path` atomically with `mode`: a temp file in the same
/// directory, fsync, rename over the target, fsync of the directory.
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating directory", &dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".flockport-tmp-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
        .tempfile_in(&dir)
        .map_err(|e| Error::io("creating temp file in", &dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io("writing", tmp.path().to_path_buf(), e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io("syncing", path, e))?;
    tmp.persist(path).map_err(|e| Error::io("renaming temp file onto", path, e.error))?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json.lock");
        let held = LockGuard::acquire(&p).unwrap();
        let line = std::fs::read_to_string(&p).unwrap();
        assert!(line.starts_with(&format!("pid {} (", std::process::id())), "{line}");
        let shown = describe_holder(&line);
        assert!(shown.ends_with(" for 0 s") || shown.ends_with(" for 1 s"), "{shown}");
        // A second acquirer waits; an interrupt ends the wait.
        let p2 = p.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let waiter = std::thread::spawn(move || {
            LockGuard::acquire_unless(&p2, &|| stop2.load(std::sync::atomic::Ordering::SeqCst)).map(|_| ())
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!waiter.is_finished(), "it waits while the lock is held");
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let r = waiter.join().unwrap();
        assert!(matches!(r, Err(Error::Interrupted { .. })), "{r:?}");
        drop(held);
        assert!(LockGuard::acquire(&p).is_ok());
    }
}
