//! `Cluster`, the facade: the members written here (`open`, `servers`,
//! `state`, `transport`, `probe_all`, `locate`, `containers_listing`,
//! `exec`), `ProbeResult`, and the shared core cluster every method uses.
//! The core's declared operations are generated into it by `ops.rs`.
//!
//! The core `Cluster` is shared as an `Arc` so that operations run
//! concurrently. Inventory edits (`add_server`, `del_server`) take `&mut` in
//! the core: they run, one at a time, on the shared core `Cluster` reopened
//! (`Cluster::reopen`: same store and transport factory, inventory re-read),
//! which then replaces the shared one. In a forked child the core `Cluster`
//! is reopened on first use, so no SSH master or lock of the parent is reused.

use crate::error;
use crate::records::{record, to_py, Held};
use crate::runtime::{awaitable, awaitable_blocking, block_on};
use crate::transport::{Output, Transport};
use flockport_core::cluster::Cluster as CoreCluster;
use flockport_core::inventory::ServerConfig as CoreServerConfig;
use flockport_core::state::{FileStateStore, StateStore};
use flockport_core::transport::DefaultTransportFactory;
use flockport_core::Result as CoreResult;
use pyo3::exceptions::PyBaseException;
use pyo3::prelude::*;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// One server's answer to `probe_all`: its facts or its error.
#[pyclass(module = "flockport", frozen)]
#[derive(Debug)]
pub struct ProbeResult {
    server: PyObject,
    facts: Option<PyObject>,
    error: Option<Py<PyBaseException>>,
    millis: u64,
}

#[pymethods]
impl ProbeResult {
    /// The server probed.
    #[getter]
    fn server(&self, py: Python<'_>) -> PyObject {
        self.server.clone_ref(py)
    }
    /// What the probe saw, when it succeeded.
    #[getter]
    fn facts(&self, py: Python<'_>) -> Option<PyObject> {
        self.facts.as_ref().map(|f| f.clone_ref(py))
    }
    /// The exception (a `FlockportError`), when it failed.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyBaseException>> {
        self.error.as_ref().map(|e| e.clone_ref(py))
    }
    /// Time of the round trip, including connecting.
    #[getter]
    fn millis(&self) -> u64 {
        self.millis
    }
    /// Whether the probe succeeded.
    #[getter]
    fn ok(&self) -> bool {
        self.facts.is_some()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let name = self.server.bind(py).getattr("name")?.repr()?;
        let outcome = match (&self.facts, &self.error) {
            (Some(f), _) => format!("facts={}", f.bind(py).repr()?),
            (None, Some(e)) => format!("error={}", e.bind(py).repr()?),
            (None, None) => "facts=None".to_string(),
        };
        Ok(format!("ProbeResult(server={name}, {outcome}, millis={})", self.millis))
    }
}

/// `probe_all`'s result before it meets the GIL.
struct Probed(Vec<(CoreServerConfig, CoreResult<flockport_core::lxc::ServerFacts>, u64)>);

impl<'py> IntoPyObject<'py> for Probed {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut out = Vec::new();
        for (server, result, millis) in self.0 {
            let (facts, error) = match result {
                Ok(f) => (Some(record(py, f)?), None),
                Err(e) => (None, Some(error::to_py(py, e).into_value(py))),
            };
            out.push(ProbeResult { server: record(py, server)?, facts, error, millis });
        }
        out.into_pyobject(py).map(Bound::into_any)
    }
}

/// `containers_listing`'s result: the containers read, and `(server, why)`
/// for each server that could not be read.
struct Listing(Vec<flockport_core::lxc::ContainerInfo>, Vec<(String, String)>);

impl<'py> IntoPyObject<'py> for Listing {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (to_py(py, &self.0)?, self.1).into_pyobject(py).map(Bound::into_any)
    }
}

/// `locate`'s result.
struct Located(CoreServerConfig, flockport_core::lxc::ContainerInfo);

impl<'py> IntoPyObject<'py> for Located {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (record(py, self.0)?, record(py, self.1)?).into_pyobject(py).map(Bound::into_any)
    }
}

/// The core cluster of this process, and the lock that serialises inventory edits.
#[derive(Debug)]
struct Current {
    pid: u32,
    cluster: Arc<CoreCluster>,
    edits: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    current: Mutex<Current>,
}

impl Shared {
    fn new(cluster: CoreCluster) -> Arc<Self> {
        Arc::new(Shared {
            current: Mutex::new(Current {
                pid: std::process::id(),
                cluster: Arc::new(cluster),
                edits: Arc::new(tokio::sync::Mutex::new(())),
            }),
        })
    }

    /// The core cluster and edit lock (reopened in a forked child: the
    /// parent's connections belong to threads the child does not have).
    fn get(&self) -> CoreResult<(Arc<CoreCluster>, Arc<tokio::sync::Mutex<()>>)> {
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if cur.pid != std::process::id() {
            let fresh = Current {
                pid: std::process::id(),
                cluster: Arc::new(cur.cluster.reopen()?),
                edits: Arc::new(tokio::sync::Mutex::new(())),
            };
            // The parent's cluster is never dropped here: dropping its SSH
            // sessions would tell the parent's masters to exit.
            std::mem::forget(std::mem::replace(&mut *cur, fresh));
        }
        Ok((cur.cluster.clone(), cur.edits.clone()))
    }

    fn replace(&self, cluster: CoreCluster) {
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        cur.cluster = Arc::new(cluster);
    }

    /// Runs `edit` on the core cluster reopened (the core's inventory edits
    /// take `&mut`), then makes that one the shared one.
    pub(crate) async fn edit<T, F>(self: Arc<Self>, edit: F) -> CoreResult<T>
    where
        F: for<'c> FnOnce(&'c mut CoreCluster) -> BoxFuture<'c, CoreResult<T>>,
    {
        let (current, edits) = self.get()?;
        let _one_at_a_time = edits.lock().await;
        let mut fresh = current.reopen()?;
        let out = edit(&mut fresh).await?;
        self.replace(fresh);
        Ok(out)
    }
}

/// A boxed future borrowing the cluster being edited.
pub(crate) type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A cluster: an inventory of servers and a state store.
///
/// Every operation that does I/O blocks with the GIL released; its
/// `*_async` twin returns an awaitable for asyncio.
#[pyclass(module = "flockport", frozen)]
#[derive(Debug)]
pub struct Cluster {
    pub(crate) shared: Arc<Shared>,
}

impl Cluster {
    /// The core cluster of this process.
    pub(crate) fn core(&self, py: Python<'_>) -> PyResult<Arc<CoreCluster>> {
        self.shared.get().map(|(c, _)| c).map_err(|e| error::to_py(py, e))
    }
}

/// The futures of the members written here, each used by a blocking and an
/// `*_async` method.
mod manual {
    use super::*;

    pub async fn probe_all(c: Arc<CoreCluster>, servers: Option<Vec<String>>) -> CoreResult<Probed> {
        let configs: Vec<&CoreServerConfig> = match &servers {
            Some(names) => names.iter().map(|n| c.server(n)).collect::<CoreResult<_>>()?,
            None => c.servers().iter().collect(),
        };
        Ok(Probed(c.probe_all(&configs).await.into_iter().map(|(s, r, ms)| (s.clone(), r, ms)).collect()))
    }

    pub async fn containers_listing(c: Arc<CoreCluster>, server: Option<String>) -> CoreResult<Listing> {
        let l = c.containers_listing(server.as_deref()).await?;
        Ok(Listing(l.items, l.unread.into_iter().map(|(s, e)| (s, e.to_string())).collect()))
    }

    pub async fn locate(c: Arc<CoreCluster>, name: String) -> CoreResult<Located> {
        c.locate(&name).await.map(|(s, i)| Located(s, i))
    }

    pub async fn exec(c: Arc<CoreCluster>, container: String, argv: Vec<String>) -> CoreResult<Output> {
        c.exec(&container, &argv).await.map(Output::from)
    }
}

type Awaitable<'py> = PyResult<Bound<'py, PyAny>>;

#[pymethods]
impl Cluster {
    /// Opens the inventory at `config` (or `$FLOCKPORT_CONFIG`, or
    /// `./flockport.toml`) and its state file. A missing file is an empty
    /// inventory.
    #[staticmethod]
    #[pyo3(signature = (config=None))]
    fn open(py: Python<'_>, config: Option<PathBuf>) -> PyResult<Cluster> {
        let core = CoreCluster::open(config.as_deref()).map_err(|e| error::to_py(py, e))?;
        Ok(Cluster { shared: Shared::new(core) })
    }

    /// Opens the inventory at `path` with the state file at `state` (default:
    /// where the inventory says).
    #[staticmethod]
    #[pyo3(signature = (path, state=None))]
    fn open_with(py: Python<'_>, path: PathBuf, state: Option<PathBuf>) -> PyResult<Cluster> {
        let store = state.map(|p| Arc::new(FileStateStore::new(p)) as Arc<dyn StateStore>);
        let core =
            CoreCluster::open_with(&path, Arc::new(DefaultTransportFactory), store).map_err(|e| error::to_py(py, e))?;
        Ok(Cluster { shared: Shared::new(core) })
    }

    /// The same cluster opened anew: the inventory file read again (after an
    /// edit elsewhere), the same state file, no connection carried over.
    fn reopen(&self, py: Python<'_>) -> PyResult<Cluster> {
        let core = self.core(py)?.reopen().map_err(|e| error::to_py(py, e))?;
        Ok(Cluster { shared: Shared::new(core) })
    }

    /// The inventory file's path.
    fn inventory_path(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.core(py)?.inventory_path().display().to_string())
    }

    /// The servers in the inventory.
    fn servers(&self, py: Python<'_>) -> PyResult<Vec<PyObject>> {
        self.core(py)?.servers().iter().map(|s| record(py, s.clone())).collect()
    }

    /// The server called `name` (`NotFound` names the known ones).
    fn server(&self, py: Python<'_>, name: &str) -> PyResult<PyObject> {
        let s = self.core(py)?.server(name).cloned().map_err(|e| error::to_py(py, e))?;
        record(py, s)
    }

    /// The transport for a server (one per server per process, reused).
    fn transport(&self, py: Python<'_>, server: &str) -> PyResult<Transport> {
        let c = self.core(py)?;
        let t = c.server(server).and_then(|s| c.transport(s)).map_err(|e| error::to_py(py, e))?;
        Ok(Transport { inner: t })
    }

    /// The desired state: what flockport manages (fields convert when read).
    /// The file is read on the calling thread with the GIL released.
    fn state(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.state_blocking(py)
    }
    /// The same as `state()`: the core's blocking read, by its core name.
    fn state_blocking(&self, py: Python<'_>) -> PyResult<PyObject> {
        let core = self.core(py)?;
        let st = py.allow_threads(|| core.state_blocking()).map_err(|e| error::to_py(py, e))?;
        record(py, st)
    }
    /// `state` for asyncio: returns an awaitable. The file is read on the
    /// runtime's blocking pool.
    fn state_async<'py>(&self, py: Python<'py>) -> Awaitable<'py> {
        let core = self.core(py)?;
        awaitable_blocking(py, move || core.state_blocking().map(Held))
    }

    /// Probes servers in parallel (all, or those named); one `ProbeResult`
    /// each, holding its facts or its exception.
    #[pyo3(signature = (servers=None))]
    fn probe_all(&self, py: Python<'_>, servers: Option<Vec<String>>) -> PyResult<Probed> {
        block_on(py, manual::probe_all(self.core(py)?, servers))
    }
    /// `probe_all` for asyncio: returns an awaitable.
    #[pyo3(signature = (servers=None))]
    fn probe_all_async<'py>(&self, py: Python<'py>, servers: Option<Vec<String>>) -> Awaitable<'py> {
        awaitable(py, manual::probe_all(self.core(py)?, servers))
    }

    /// `listcontainers` as the CLI shows it: the containers of the servers
    /// that answered, and `(server, why)` for each that could not be read.
    #[pyo3(signature = (server=None))]
    fn containers_listing(&self, py: Python<'_>, server: Option<String>) -> PyResult<Listing> {
        block_on(py, manual::containers_listing(self.core(py)?, server))
    }
    /// `containers_listing` for asyncio: returns an awaitable.
    #[pyo3(signature = (server=None))]
    fn containers_listing_async<'py>(&self, py: Python<'py>, server: Option<String>) -> Awaitable<'py> {
        awaitable(py, manual::containers_listing(self.core(py)?, server))
    }

    /// Finds the server that holds container `name`.
    fn locate(&self, py: Python<'_>, name: String) -> PyResult<Located> {
        block_on(py, manual::locate(self.core(py)?, name))
    }
    /// `locate` for asyncio: returns an awaitable.
    fn locate_async<'py>(&self, py: Python<'py>, name: String) -> Awaitable<'py> {
        awaitable(py, manual::locate(self.core(py)?, name))
    }

    /// Runs `argv` inside a container; the output whatever the exit status.
    fn exec(&self, py: Python<'_>, container: String, argv: Vec<String>) -> PyResult<Output> {
        block_on(py, manual::exec(self.core(py)?, container, argv))
    }
    /// `exec` for asyncio: returns an awaitable.
    fn exec_async<'py>(&self, py: Python<'py>, container: String, argv: Vec<String>) -> Awaitable<'py> {
        awaitable(py, manual::exec(self.core(py)?, container, argv))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let c = self.core(py)?;
        let names: Vec<&str> = c.servers().iter().map(|s| s.name.as_str()).collect();
        let path = c.inventory_path().display().to_string();
        Ok(format!(
            "Cluster(inventory={}, servers={})",
            path.into_pyobject(py)?.repr()?,
            names.into_pyobject(py)?.repr()?
        ))
    }
}
