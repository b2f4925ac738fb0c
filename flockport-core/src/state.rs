//! The desired state of every managed service, behind the [`StateStore`] trait.
//!
//! The default [`FileStateStore`] keeps JSON in a file of mode 0600, takes an
//! exclusive lock for each transaction (so two concurrent runs never lose an
//! update), writes atomically, and carries a schema version.
//!
//! Architecture invariant: state is committed only after the servers accepted
//! a change; an aborted transaction (dropped without commit) changes nothing.
//! A state file that does not parse is refused and never overwritten.

use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, lock_path, LockGuard};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A container flockport created and manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRecord {
    /// The server it lives on.
    pub server: String,
    /// Its static address.
    pub address: Ipv4Addr,
    /// The image (template container) it was cloned from.
    pub image: String,
    /// What it is for (`app`, `haproxy`, ...).
    pub role: String,
}

/// Everything flockport remembers about a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Schema version of the file.
    pub schema: u32,
    /// Managed containers by name.
    #[serde(default)]
    pub containers: BTreeMap<String, ContainerRecord>,
    /// Counters for generated names, by prefix.
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    /// Load balancers by name.
    #[serde(default)]
    pub lbs: BTreeMap<String, crate::lb::LbRecord>,
}

impl Default for State {
    fn default() -> Self {
        State { schema: SCHEMA_VERSION, containers: BTreeMap::new(), counters: BTreeMap::new(), lbs: BTreeMap::new() }
    }
}

impl State {
    /// Addresses used by managed containers on `server`.
    pub fn addresses_on(&self, server: &str) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let server = server.to_string();
        self.containers.values().filter(move |c| c.server == server).map(|c| c.address)
    }

    /// The next generated name with `prefix` (e.g. `ha` -> `ha1`, `ha2`, ...),
    /// skipping names in `taken`. Advances the counter.
    pub fn next_name(&mut self, prefix: &str, taken: impl Fn(&str) -> bool) -> String {
        let counter = self.counters.entry(prefix.to_string()).or_insert(0);
        loop {
            *counter += 1;
            let name = format!("{prefix}{counter}");
            if !taken(&name) {
                return name;
            }
        }
    }
}

/// A transaction: the state as read under the lock, and the way to commit it.
pub trait StateTxn: Send {
    /// The state as it was when the transaction began.
    fn state(&self) -> &State;
    /// Writes `new` and ends the transaction (the lock is released).
    fn commit(self: Box<Self>, new: State) -> Result<()>;
}

/// Where the desired state lives.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// Reads the current state without locking.
    async fn load(&self) -> Result<State>;
    /// The same read, on the calling thread. Implementations must not wait
    /// for the transaction lock (as `load` does not): callers use it from
    /// event loops and runtime threads.
    fn load_blocking(&self) -> Result<State>;
    /// Begins a transaction: holds an exclusive lock until committed or dropped.
    async fn begin(&self) -> Result<Box<dyn StateTxn>>;
}

/// The default store: a JSON file.
#[derive(Debug, Clone)]
pub struct FileStateStore {
    path: PathBuf,
}

impl FileStateStore {
    /// A store at `path` (created on first commit).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStateStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(path: &Path) -> Result<State> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(Error::io("reading state", path, e)),
        };
        let state: State = serde_json::from_slice(&bytes)
            .map_err(|e| Error::StateCorrupt { path: path.to_path_buf(), reason: e.to_string() })?;
        if state.schema > SCHEMA_VERSION {
            return Err(Error::StateCorrupt {
                path: path.to_path_buf(),
                reason: format!(
                    "schema {} is newer than this flockport understands ({}); upgrade flockport",
                    state.schema, SCHEMA_VERSION
                ),
            });
        }
        Ok(state)
    }

    /// Blocking transaction start (used by [`StateStore::begin`] on a blocking thread).
    pub fn begin_blocking(&self) -> Result<FileTxn> {
        let lock = LockGuard::acquire(&lock_path(&self.path))?;
        let state = Self::read(&self.path)?;
        Ok(FileTxn { path: self.path.clone(), state, _lock: lock })
    }
}

/// A transaction on a [`FileStateStore`].
#[derive(Debug)]
pub struct FileTxn {
    path: PathBuf,
    state: State,
    _lock: LockGuard,
}

impl StateTxn for FileTxn {
    fn state(&self) -> &State {
        &self.state
    }

    fn commit(self: Box<Self>, mut new: State) -> Result<()> {
        new.schema = SCHEMA_VERSION;
        let bytes = serde_json::to_vec_pretty(&new)
            .map_err(|e| Error::StateCorrupt { path: self.path.clone(), reason: e.to_string() })?;
        atomic_write(&self.path, &bytes, 0o600)
    }
}

#[async_trait::async_trait]
impl StateStore for FileStateStore {
    async fn load(&self) -> Result<State> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || Self::read(&path))
            .await
            .map_err(|e| Error::io("reading state", &self.path, std::io::Error::other(e)))?
    }

    fn load_blocking(&self) -> Result<State> {
        Self::read(&self.path)
    }

    async fn begin(&self) -> Result<Box<dyn StateTxn>> {
        let me = self.clone();
        let txn = tokio::task::spawn_blocking(move || me.begin_blocking())
            .await
            .map_err(|e| Error::io("locking state", &self.path, std::io::Error::other(e)))??;
        Ok(Box::new(txn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn blocking_load_reads_what_load_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStateStore::new(dir.path().join("state.json"));
        // A missing file is the empty state, both ways.
        assert_eq!(store.load_blocking().unwrap(), State::default());
        let txn = store.begin().await.unwrap();
        let mut st = txn.state().clone();
        st.counters.insert("web".into(), 3);
        txn.commit(st).unwrap();
        assert_eq!(store.load_blocking().unwrap(), store.load().await.unwrap());
        assert_eq!(store.load_blocking().unwrap().counters["web"], 3);
        std::fs::write(store.path(), "{ not json").unwrap();
        assert!(matches!(store.load_blocking(), Err(Error::StateCorrupt { .. })));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn twenty_concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut tasks = Vec::new();
        for i in 0..24u32 {
            let store = FileStateStore::new(&path);
            tasks.push(tokio::spawn(async move {
                let txn = store.begin().await.unwrap();
                let mut s = txn.state().clone();
                *s.counters.entry("n".into()).or_insert(0) += 1;
                s.containers.insert(
                    format!("c{i}"),
                    ContainerRecord {
                        server: "s1".into(),
                        address: Ipv4Addr::new(10, 0, 4, 10 + i as u8),
                        image: "img".into(),
                        role: "app".into(),
                    },
                );
                // Widen the race window.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                txn.commit(s).unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let s = FileStateStore::new(&path).load().await.unwrap();
        assert_eq!(s.counters["n"], 24);
        assert_eq!(s.containers.len(), 24);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn separate_processes_style_locking_with_threads() {
        // Independent file descriptors (as separate processes have) serialise too.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || {
                    let store = FileStateStore::new(&p);
                    let txn = Box::new(store.begin_blocking().unwrap());
                    let mut s = txn.state().clone();
                    *s.counters.entry("n".into()).or_insert(0) += 1;
                    txn.commit(s).unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let store = FileStateStore::new(&path);
        assert_eq!(store.begin_blocking().unwrap().state().counters["n"], 20);
    }

    #[tokio::test]
    async fn corrupt_state_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{ not json").unwrap();
        let store = FileStateStore::new(&path);
        let e = store.begin().await.err().unwrap();
        assert!(matches!(e, Error::StateCorrupt { .. }), "{e}");
        assert!(e.to_string().contains("state.json"));
        assert_eq!(std::fs::read(&path).unwrap(), b"{ not json");
        std::fs::write(&path, br#"{"schema": 99}"#).unwrap();
        assert!(store.load().await.unwrap_err().to_string().contains("newer"));
    }

    #[tokio::test]
    async fn dropped_transaction_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = FileStateStore::new(&path);
        {
            let txn = store.begin().await.unwrap();
            let _ = txn.state();
        }
        assert!(!path.exists());
        let mut s = State::default();
        assert_eq!(s.next_name("ha", |n| n == "ha1"), "ha2");
        assert_eq!(s.next_name("ha", |_| false), "ha3");
    }
}
