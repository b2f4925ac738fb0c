//! The desired state of every managed service, behind the [`StateStore`] trait.
//!
//! The default [`FileStateStore`] keeps JSON in a file of mode 0600, takes an
//! exclusive lock for each transaction (so two concurrent runs never lose an
//! update), writes atomically, and carries a schema version. The
//! [`consul::ConsulStateStore`] keeps the same bytes in Consul's KV, shared by
//! every operator's machine (a session lock, a check-and-set write);
//! [`open_store`] picks the one the inventory's `[state]` names, and
//! `migrate.rs` moves the state between them (`state migrate`).
//!
//! Every change of the file's shape bumps [`SCHEMA_VERSION`] and adds a step
//! to [`migrate`], which brings a file of any older version up to date when
//! it is read; a file of a newer version is refused (read and write), so an
//! older binary never drops what it does not know. `state/testdata/` holds a
//! sample file of every version, and a test checks each migrates to the
//! current sample.
//!
//! Architecture invariant: state is committed only after the servers accepted
//! a change; an aborted transaction (dropped without commit) changes nothing.
//! A state file that does not parse is refused and never overwritten.

use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, lock_path, LockGuard};
use crate::inventory::{Inventory, StateBackend};
use crate::service::ServiceContainer;
use crate::transport::TransportPool;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub mod consul;
mod migrate;
pub use migrate::StateMove;

/// The schema version this build writes and reads.
///
/// - 1: containers (service containers included), counters, lbs with
///   `published: [PORT]`.
/// - 2: service containers are held by their family's record only
///   ([`ServiceContainer`]: family, name, server, address, image, published
///   as `{host_port, port}`), no longer in `containers`.
/// - 3: webservers (`ws`) and floating IPs (`vips`, [`crate::vip::VipRecord`] by name).
/// - 4: database instances (`dbs`, [`crate::db::DbRecord`] by name).
/// - 5: Consul endpoints (`eps`, [`crate::ep::EpRecord`] by name).
/// - 6: ad-hoc services (`adhoc`, [`crate::ep::AdhocService`] by Consul ID).
/// - 7: containers' services (`container_services`,
///   [`crate::ep::ContainerServices`] by container) and the servers running a
///   Consul client agent (`agents`).
pub const SCHEMA_VERSION: u32 = 8;

/// A container flockport created and manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct ContainerRecord {
    /// The server it lives on.
    pub server: String,
    /// Its static address.
    pub address: Ipv4Addr,
    /// The image (template container) it was cloned from.
    pub image: String,
    /// What it is for (`app`, ...).
    pub role: String,
}

/// Everything flockport remembers about a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(schema, containers, lbs))]
pub struct State {
    /// Schema version of the file.
    pub schema: u32,
    /// Managed plain containers by name (`addcontainer`); service containers
    /// are held by their family's record.
    #[serde(default)]
    pub containers: BTreeMap<String, ContainerRecord>,
    /// Counters for generated names, by prefix.
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    /// Load balancers by name.
    #[serde(default)]
    pub lbs: BTreeMap<String, crate::lb::LbRecord>,
    /// Webservers by name.
    #[serde(default)]
    pub ws: BTreeMap<String, crate::ws::WsRecord>,
    /// Floating IPs by name (schema 3).
    #[serde(default)]
    pub vips: BTreeMap<String, crate::vip::VipRecord>,
    /// Database instances by name (schema 4).
    #[serde(default)]
    pub dbs: BTreeMap<String, crate::db::DbRecord>,
    /// Consul endpoints by name (schema 5).
    #[serde(default)]
    pub eps: BTreeMap<String, crate::ep::EpRecord>,
    /// Ad-hoc services (`pubservice`) and their checks by Consul ID (schema 6).
    #[serde(default)]
    pub adhoc: BTreeMap<String, crate::ep::AdhocService>,
    /// Containers' services and checks (`addservice`) by container (schema 7).
    #[serde(default)]
    pub container_services: BTreeMap<String, crate::ep::ContainerServices>,
    /// The servers running a Consul client agent (schema 7).
    #[serde(default)]
    pub agents: Vec<String>,
    /// Jobs by base container (schema 8).
    #[serde(default)]
    pub jobs: BTreeMap<String, crate::jobs::JobRecord>,
}

impl Default for State {
    fn default() -> Self {
        State {
            schema: SCHEMA_VERSION,
            containers: BTreeMap::new(),
            counters: BTreeMap::new(),
            lbs: BTreeMap::new(),
            ws: BTreeMap::new(),
            vips: BTreeMap::new(),
            dbs: BTreeMap::new(),
            eps: BTreeMap::new(),
            adhoc: BTreeMap::new(),
            container_services: BTreeMap::new(),
            agents: Default::default(),
            jobs: BTreeMap::new(),
        }
    }
}

impl State {
    /// Every service container, of every family.
    pub fn services(&self) -> impl Iterator<Item = &ServiceContainer> + '_ {
        self.lbs
            .values()
            .map(|l| &l.container)
            .chain(self.ws.values().map(|w| &w.container))
            .chain(self.dbs.values().map(|d| &d.container))
            .chain(self.eps.values().map(|e| &e.container))
    }

    /// The service container called `name`, of any family.
    pub fn service(&self, name: &str) -> Option<&ServiceContainer> {
        self.services().find(|s| s.name == name)
    }

    /// Replaces the service container of the same name in its family's record.
    pub fn set_service(&mut self, sc: ServiceContainer) -> Result<()> {
        use crate::service::Family;
        let slot = match sc.family {
            Family::Lb => self.lbs.get_mut(&sc.name).map(|l| &mut l.container),
            Family::Ws => self.ws.get_mut(&sc.name).map(|w| &mut w.container),
            Family::Db => self.dbs.get_mut(&sc.name).map(|d| &mut d.container),
            Family::Ep => self.eps.get_mut(&sc.name).map(|e| &mut e.container),
        };
        match slot {
            Some(s) => {
                *s = sc;
                Ok(())
            }
            None => Err(Error::not_found(sc.family.noun(), sc.name, "it is not in the state")),
        }
    }

    /// Whether `name` is used by a managed container, service or floating IP.
    pub fn name_taken(&self, name: &str) -> bool {
        self.containers.contains_key(name)
            || self.service(name).is_some()
            || self.vips.contains_key(name)
            || self.job_instance(name).is_some()
    }

    /// The job instance called `name`, with its job.
    pub fn job_instance(&self, name: &str) -> Option<(&crate::jobs::JobRecord, &crate::jobs::Instance)> {
        self.jobs.values().find_map(|j| j.instances.iter().find(|i| i.name == name).map(|i| (j, i)))
    }

    /// Addresses held on `server` by anything in the state: managed
    /// containers, service containers and floating IPs (and, as families add
    /// them, endpoints).
    pub fn addresses_on(&self, server: &str) -> Vec<Ipv4Addr> {
        let plain = self.containers.values().filter(|c| c.server == server).map(|c| c.address);
        let services = self.services().filter(|s| s.server == server).map(|s| s.address);
        let vips = self.vips.values().filter(|v| v.vip.on(server)).map(|v| v.vip.ip);
        let jobs =
            self.jobs.values().flat_map(|j| j.instances.iter()).filter(|i| i.server == server).map(|i| i.address);
        plain.chain(services).chain(vips).chain(jobs).collect()
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

/// Record `name` of a family's map in the state (`kind` is what people
/// call it, e.g. `load balancer`); when absent, the error lists the known
/// names, or says how to add one (`add`, e.g. `flockport addlb`).
pub fn find<'a, T>(map: &'a BTreeMap<String, T>, kind: &'static str, name: &str, add: &str) -> Result<&'a T> {
    crate::names::check_name(kind, name)?;
    map.get(name).ok_or_else(|| {
        let known: Vec<&str> = map.keys().map(String::as_str).collect();
        Error::not_found(
            kind,
            name,
            if known.is_empty() {
                format!("there are none; add one with `{add}`")
            } else {
                format!("known: {}", known.join(", "))
            },
        )
    })
}

/// Brings a state file's JSON of schema `from` up to [`SCHEMA_VERSION`], one
/// version at a time.
pub fn migrate(mut v: serde_json::Value, from: u32) -> std::result::Result<serde_json::Value, String> {
    let mut version = from;
    while version < SCHEMA_VERSION {
        v = match version {
            0 | 1 => v1_to_v2(v)?,
            // 2 -> 3: webservers (`ws`) and floating IPs (`vips`); absent maps are empty ones.
            2 => v,
            // 3 -> 4: database instances (`dbs`); an absent map is an empty one.
            3 => v,
            // 4 -> 5: Consul endpoints (`eps`); an absent map is an empty one.
            4 => v,
            // 5 -> 6: ad-hoc services (`adhoc`); an absent map is an empty one.
            5 => v,
            // 6 -> 7: containers' services (`container_services`) and the servers' Consul
            // agents (`agents`); absent ones are empty.
            6 => v,
            // 7 -> 8: jobs (`jobs`); an absent map is an empty one.
            7 => v,
            other => return Err(format!("no migration from schema {other}")),
        };
        version = if version == 0 { 2 } else { version + 1 };
    }
    if let Some(o) = v.as_object_mut() {
        o.insert("schema".into(), SCHEMA_VERSION.into());
    }
    Ok(v)
}

/// 1 -> 2: an LB's container record moves into the LB (`family`, `image`),
/// `published: [PORT]` becomes `[{host_port, port}]`.
fn v1_to_v2(mut v: serde_json::Value) -> std::result::Result<serde_json::Value, String> {
    use serde_json::{json, Value};
    let root = v.as_object_mut().ok_or("the state is not a JSON object")?;
    let mut containers = root.remove("containers").unwrap_or_else(|| json!({}));
    if let Some(Value::Object(lbs)) = root.get_mut("lbs") {
        for (name, lb) in lbs.iter_mut() {
            let lb = lb.as_object_mut().ok_or_else(|| format!("load balancer {name} is not an object"))?;
            let image = containers
                .as_object_mut()
                .and_then(|c| c.remove(name))
                .and_then(|c| c.get("image").cloned())
                .unwrap_or_else(|| json!(""));
            lb.insert("family".into(), json!("lb"));
            lb.insert("image".into(), image);
            let published: Vec<Value> = lb
                .get("published")
                .and_then(Value::as_array)
                .map(|ps| ps.iter().map(|p| json!({"host_port": p, "port": p})).collect())
                .unwrap_or_default();
            lb.insert("published".into(), Value::Array(published));
        }
    }
    root.insert("containers".into(), containers);
    Ok(v)
}

/// A transaction: the state as read under the lock, and the way to commit it.
#[async_trait::async_trait]
pub trait StateTxn: Send {
    /// The state as it was when the transaction began.
    fn state(&self) -> &State;
    /// Writes `new` and ends the transaction (the lock is released).
    async fn commit(self: Box<Self>, new: State) -> Result<()>;
}

/// The store an inventory names: its `[state]` table's backend (the file
/// store by default), reaching Consul through `pool`'s transports.
pub fn open_store(inv: &Inventory, inv_path: &Path, pool: &Arc<TransportPool>) -> Result<Arc<dyn StateStore>> {
    let cfg = inv.state_config();
    Ok(match cfg.backend {
        StateBackend::File => Arc::new(FileStateStore::new(inv.state_path(inv_path))),
        StateBackend::Consul => Arc::new(consul::ConsulStateStore::open(&cfg, inv, inv_path, pool.clone())?),
    })
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
        Self::parse(path, &bytes)
    }

    /// Parses a state file's bytes: a newer schema is refused, an older one migrated.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<State> {
        let corrupt = |reason: String| Error::StateCorrupt { path: path.to_path_buf(), reason };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        let schema = value.get("schema").and_then(serde_json::Value::as_u64).unwrap_or(0);
        let schema = u32::try_from(schema).map_err(|_| corrupt(format!("schema {schema} is not a version")))?;
        if schema > SCHEMA_VERSION {
            return Err(Error::StateTooNew { path: path.to_path_buf(), found: schema, supported: SCHEMA_VERSION });
        }
        let value = if schema < SCHEMA_VERSION { migrate(value, schema).map_err(corrupt)? } else { value };
        serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))
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

impl FileTxn {
    /// Writes `new` and ends the transaction, on the calling thread.
    pub fn commit_blocking(self, mut new: State) -> Result<()> {
        new.schema = SCHEMA_VERSION;
        let bytes = serde_json::to_vec_pretty(&new)
            .map_err(|e| Error::StateCorrupt { path: self.path.clone(), reason: e.to_string() })?;
        atomic_write(&self.path, &bytes, 0o600)
    }
}

#[async_trait::async_trait]
impl StateTxn for FileTxn {
    fn state(&self) -> &State {
        &self.state
    }

    async fn commit(self: Box<Self>, new: State) -> Result<()> {
        self.commit_blocking(new)
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

    fn sample(version: u32) -> (PathBuf, Vec<u8>) {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/state-v{version}.json"));
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}: every schema needs a sample", p.display()));
        (p, bytes)
    }

    /// The current schema's sample is exactly what this build writes (so a
    /// change of shape without a new schema version and sample fails here),
    /// and every older sample migrates to it.
    #[test]
    fn every_older_schema_migrates_to_the_current_one() {
        let (p, current_bytes) = sample(SCHEMA_VERSION);
        let current = FileStateStore::parse(&p, &current_bytes).unwrap();
        let written = serde_json::to_string_pretty(&current).unwrap();
        assert_eq!(written.trim(), String::from_utf8_lossy(&current_bytes).trim(), "the sample is what is written");
        for v in 1..SCHEMA_VERSION {
            let (p, bytes) = sample(v);
            let migrated = FileStateStore::parse(&p, &bytes).unwrap();
            assert_eq!(migrated, current, "schema {v} migrates to schema {SCHEMA_VERSION}");
        }
        // What the migration keeps: the LB's container is the LB's, not a plain container.
        assert!(!current.containers.contains_key("ha1"));
        assert_eq!(current.service("ha1").unwrap().image, "fp-img-haproxy-b85c08f9");
        assert_eq!(current.service("ha1").unwrap().published[0].host_port, 80);
        assert!(current.addresses_on("s1").contains(&Ipv4Addr::new(10, 0, 4, 100)), "a service's address is taken");
    }

    #[tokio::test]
    async fn a_newer_schema_is_neither_read_nor_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let newer = format!(r#"{{"schema": {}, "containers": {{}}, "vips": {{"v1": {{}}}}}}"#, SCHEMA_VERSION + 1);
        std::fs::write(&path, &newer).unwrap();
        let store = FileStateStore::new(&path);
        let e = store.begin().await.err().unwrap();
        assert!(matches!(e, Error::StateTooNew { found, .. } if found == SCHEMA_VERSION + 1), "{e}");
        assert!(e.to_string().contains("upgrade flockport"), "{e}");
        assert!(matches!(store.load().await.unwrap_err(), Error::StateTooNew { .. }));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), newer, "left untouched");
    }

    #[tokio::test]
    async fn an_older_file_is_rewritten_at_the_current_schema_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, sample(1).1).unwrap();
        let store = FileStateStore::new(&path);
        let txn = store.begin().await.unwrap();
        let st = txn.state().clone();
        txn.commit(st).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["schema"], SCHEMA_VERSION);
        assert_eq!(v["lbs"]["ha1"]["published"][0]["port"], 80);
    }

    #[tokio::test]
    async fn blocking_load_reads_what_load_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStateStore::new(dir.path().join("state.json"));
        // A missing file is the empty state, both ways.
        assert_eq!(store.load_blocking().unwrap(), State::default());
        let txn = store.begin().await.unwrap();
        let mut st = txn.state().clone();
        st.counters.insert("web".into(), 3);
        txn.commit(st).await.unwrap();
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
                txn.commit(s).await.unwrap();
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
                    let txn = store.begin_blocking().unwrap();
                    let mut s = txn.state().clone();
                    *s.counters.entry("n".into()).or_insert(0) += 1;
                    txn.commit_blocking(s).unwrap();
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
        std::fs::write(&path, br#"{"schema": 2, "lbs": {"x": {"name": 3}}}"#).unwrap();
        assert!(matches!(store.load().await.unwrap_err(), Error::StateCorrupt { .. }));
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
