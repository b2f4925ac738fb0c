//! `Cluster`, the facade, with every public operation of
//! `flockport_core::Cluster` under the same name, plus the records only it
//! returns: `ServerStatus`, `ProbeResult`, `Applied`.
//!
//! The load-balancer operations are in `lb.rs`, as in the core.
//!
//! Each operation that does I/O has a blocking form (the GIL is released
//! while it runs) and an `*_async` form returning an awaitable.
//!
//! The core `Cluster` is shared as an `Arc` so that operations run
//! concurrently. The two that edit the inventory (`add_server`,
//! `del_server`) take `&mut` in the core: they run, one at a time, on the
//! shared core `Cluster` reopened (`Cluster::reopen`: same store and
//! transport factory, inventory re-read), which then replaces the shared one.
//! In a forked child the core `Cluster` is reopened on first use, so no SSH
//! master or lock of the parent is reused.

use crate::convert::{repr_bool, repr_list, repr_opt, repr_str};
use crate::error;
use crate::inventory::ServerConfig;
use crate::lb::LbRecord;
use crate::lxc::{ContainerInfo, ServerFacts};
use crate::plan::{Plan, Progress};
use crate::runtime::{awaitable, awaitable_blocking, block_on};
use crate::state::{ContainerRecord, State};
use crate::transport::{Output, Transport};
use flockport_core::cluster::{
    AddServer, Applied as CoreApplied, ApplyOptions, Cluster as CoreCluster, ContainerSpec,
    ServerStatus as CoreServerStatus,
};
use flockport_core::inventory::ServerConfig as CoreServerConfig;
use flockport_core::lb::LbRecord as CoreLbRecord;
use flockport_core::lxc::ContainerInfo as CoreContainerInfo;
use flockport_core::state::{ContainerRecord as CoreContainerRecord, FileStateStore, StateStore};
use flockport_core::transport::DefaultTransportFactory;
use flockport_core::Result as CoreResult;
use pyo3::exceptions::PyBaseException;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use pyo3::IntoPyObjectExt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A server as `listservers` shows it.
#[pyclass(module = "flockport", frozen)]
#[derive(Debug, Clone)]
pub struct ServerStatus {
    inner: CoreServerStatus,
}

#[pymethods]
impl ServerStatus {
    /// Name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// Host, or `local`.
    #[getter]
    fn host(&self) -> &str {
        &self.inner.host
    }
    /// Container subnet.
    #[getter]
    fn subnet(&self) -> String {
        self.inner.subnet.to_string()
    }
    /// Whether the probe succeeded.
    #[getter]
    fn reachable(&self) -> bool {
        self.inner.reachable
    }
    /// Why not, when unreachable.
    #[getter]
    fn error(&self) -> Option<&str> {
        self.inner.error.as_deref()
    }
    /// LXC version.
    #[getter]
    fn lxc_version(&self) -> Option<&str> {
        self.inner.lxc_version.as_deref()
    }
    /// Service containers (images not counted).
    #[getter]
    fn containers(&self) -> usize {
        self.inner.containers
    }
    /// Image templates.
    #[getter]
    fn images(&self) -> usize {
        self.inner.images
    }
    /// Time of the round trip, including connecting.
    #[getter]
    fn millis(&self) -> u64 {
        self.inner.millis
    }
    /// The status as plain data (the CLI's `--json` form).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        crate::convert::to_python(py, &self.inner)
    }
    pub(crate) fn __repr__(&self) -> String {
        let s = &self.inner;
        format!(
            "ServerStatus(name={}, host={}, subnet={}, reachable={}, lxc_version={}, containers={}, images={}, millis={}, error={})",
            repr_str(&s.name),
            repr_str(&s.host),
            repr_str(&s.subnet.to_string()),
            repr_bool(s.reachable),
            repr_opt(s.lxc_version.as_deref()),
            s.containers,
            s.images,
            s.millis,
            repr_opt(s.error.as_deref()),
        )
    }
}

/// One server's answer to `probe_all`: its facts or its error.
#[pyclass(module = "flockport", frozen)]
#[derive(Debug)]
pub struct ProbeResult {
    server: ServerConfig,
    facts: Option<ServerFacts>,
    error: Option<Py<PyBaseException>>,
    millis: u64,
}

#[pymethods]
impl ProbeResult {
    /// The server probed.
    #[getter]
    fn server(&self) -> ServerConfig {
        self.server.clone()
    }
    /// What the probe saw, when it succeeded.
    #[getter]
    fn facts(&self) -> Option<ServerFacts> {
        self.facts.clone()
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
    pub(crate) fn __repr__(&self, py: Python<'_>) -> String {
        let outcome = match (&self.facts, &self.error) {
            (Some(f), _) => format!("facts={}", f.__repr__()),
            (None, Some(e)) => {
                format!("error={}", e.bind(py).repr().map_or_else(|_| "<error>".to_string(), |r| r.to_string()))
            }
            (None, None) => "facts=None".to_string(),
        };
        format!("ProbeResult(server={}, {outcome}, millis={})", repr_str(&self.server.inner.name), self.millis)
    }
}

/// `probe_all`'s result before it meets the GIL.
struct Probed {
    server: CoreServerConfig,
    result: CoreResult<flockport_core::lxc::ServerFacts>,
    millis: u64,
}

impl<'py> IntoPyObject<'py> for Probed {
    type Target = ProbeResult;
    type Output = Bound<'py, ProbeResult>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, ProbeResult>> {
        let (facts, error) = match self.result {
            Ok(f) => (Some(ServerFacts::from(f)), None),
            Err(e) => {
                let exc = error::to_py(py, e).into_value(py);
                (None, Some(exc))
            }
        };
        Bound::new(py, ProbeResult { server: ServerConfig::from(self.server), facts, error, millis: self.millis })
    }
}

/// What `containers_listing` returns: the containers read, and the servers
/// that could not be read with why.
type Listing = (Vec<ContainerInfo>, Vec<(String, String)>);

/// The record an `Applied` carries.
#[derive(Debug, Clone)]
pub(crate) enum Record {
    /// `build_image`: the template name.
    Image(String),
    /// `add_container`, `del_container`.
    Container(CoreContainerRecord),
    /// `set_running`.
    Info(CoreContainerInfo),
    /// The load-balancer operations.
    Lb(CoreLbRecord),
    /// `publish`, `unpublish`.
    Service(flockport_core::service::ServiceContainer),
}

/// What a mutating operation did (or, with `dry_run`, would do).
#[pyclass(module = "flockport", frozen)]
#[derive(Debug, Clone)]
pub struct Applied {
    plan: Plan,
    executed: bool,
    record: Record,
}

impl Applied {
    pub(crate) fn new<T>(a: CoreApplied<T>, wrap: impl FnOnce(T) -> Record) -> Self {
        Applied { plan: Plan::from(a.plan), executed: a.executed, record: wrap(a.record) }
    }
}

#[pymethods]
impl Applied {
    /// The plan.
    #[getter]
    fn plan(&self) -> Plan {
        self.plan.clone()
    }
    /// Whether it was executed (False for a dry run).
    #[getter]
    fn executed(&self) -> bool {
        self.executed
    }
    /// The resulting record: an image name (`build_image`), a
    /// `ContainerRecord` (`add_container`, `del_container`) or a
    /// `ContainerInfo` (`set_running`) or an `LbRecord` (load-balancer operations) or a
    /// `ServiceContainer` (`publish`, `unpublish`).
    #[getter]
    fn record(&self, py: Python<'_>) -> PyResult<PyObject> {
        match &self.record {
            Record::Image(name) => name.into_py_any(py),
            Record::Container(r) => ContainerRecord::from(r.clone()).into_py_any(py),
            Record::Info(i) => ContainerInfo::from(i.clone()).into_py_any(py),
            Record::Lb(r) => LbRecord::from(r.clone()).into_py_any(py),
            Record::Service(r) => crate::lb::ServiceContainer { inner: r.clone() }.into_py_any(py),
        }
    }
    pub(crate) fn __repr__(&self) -> String {
        let record = match &self.record {
            Record::Image(name) => repr_str(name),
            Record::Container(r) => ContainerRecord::from(r.clone()).__repr__(),
            Record::Info(i) => ContainerInfo::from(i.clone()).__repr__(),
            Record::Lb(r) => LbRecord::from(r.clone()).__repr__(),
            Record::Service(r) => crate::lb::ServiceContainer { inner: r.clone() }.__repr__(),
        };
        format!("Applied(executed={}, record={record}, plan={})", repr_bool(self.executed), self.plan.__repr__())
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
struct Shared {
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
    async fn edit<T, F>(self: Arc<Self>, edit: F) -> CoreResult<T>
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

fn contents_bytes(contents: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = contents.downcast::<PyBytes>() {
        Ok(b.as_bytes().to_vec())
    } else if let Ok(s) = contents.downcast::<PyString>() {
        Ok(s.to_cow()?.as_bytes().to_vec())
    } else {
        Err(PyTypeError::new_err(format!("contents must be bytes or str, not {}", contents.get_type().name()?)))
    }
}

/// A boxed future borrowing the cluster being edited.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The operations as futures, each used by a blocking and an `*_async` method.
mod ops {
    use super::*;

    pub async fn add_server(shared: Arc<Shared>, spec: AddServer) -> CoreResult<ServerConfig> {
        shared.edit(|c| Box::pin(async move { c.add_server(spec) })).await.map(ServerConfig::from)
    }

    pub async fn del_server(shared: Arc<Shared>, name: String) -> CoreResult<()> {
        shared.edit(|c| Box::pin(async move { c.del_server(&name).await })).await
    }

    pub async fn probe(c: Arc<CoreCluster>, server: String) -> CoreResult<ServerFacts> {
        c.probe(&server).await.map(ServerFacts::from)
    }

    pub async fn probe_all(c: Arc<CoreCluster>, servers: Option<Vec<String>>) -> CoreResult<Vec<Probed>> {
        let configs: Vec<&CoreServerConfig> = match &servers {
            Some(names) => names.iter().map(|n| c.server(n)).collect::<CoreResult<_>>()?,
            None => c.servers().iter().collect(),
        };
        Ok(c.probe_all(&configs)
            .await
            .into_iter()
            .map(|(s, result, millis)| Probed { server: s.clone(), result, millis })
            .collect())
    }

    pub async fn list_servers(c: Arc<CoreCluster>) -> CoreResult<Vec<ServerStatus>> {
        Ok(c.list_servers().await.into_iter().map(|inner| ServerStatus { inner }).collect())
    }

    pub async fn containers(c: Arc<CoreCluster>, server: Option<String>) -> CoreResult<Vec<ContainerInfo>> {
        c.containers(server.as_deref()).await.map(|v| v.into_iter().map(ContainerInfo::from).collect())
    }

    pub async fn containers_listing(c: Arc<CoreCluster>, server: Option<String>) -> CoreResult<Listing> {
        let l = c.containers_listing(server.as_deref()).await?;
        let unread = l.unread.into_iter().map(|(s, e)| (s, e.to_string())).collect();
        Ok((l.items.into_iter().map(ContainerInfo::from).collect(), unread))
    }

    pub async fn locate(c: Arc<CoreCluster>, name: String) -> CoreResult<(ServerConfig, ContainerInfo)> {
        c.locate(&name).await.map(|(s, i)| (ServerConfig::from(s), ContainerInfo::from(i)))
    }

    pub async fn exec(c: Arc<CoreCluster>, container: String, argv: Vec<String>) -> CoreResult<Output> {
        c.exec(&container, &argv).await.map(Output::from)
    }

    pub async fn push(
        c: Arc<CoreCluster>,
        container: String,
        path: String,
        contents: Vec<u8>,
        mode: u32,
    ) -> CoreResult<()> {
        c.push(&container, &path, &contents, mode).await
    }

    pub async fn build_image(
        c: Arc<CoreCluster>,
        server: String,
        packages: Vec<String>,
        opts: ApplyOptions,
        progress: Progress,
    ) -> CoreResult<Applied> {
        c.build_image(&server, packages, opts, &progress).await.map(|a| Applied::new(a, Record::Image))
    }

    pub async fn add_container(
        c: Arc<CoreCluster>,
        spec: ContainerSpec,
        opts: ApplyOptions,
        progress: Progress,
    ) -> CoreResult<Applied> {
        c.add_container(spec, opts, &progress).await.map(|a| Applied::new(a, Record::Container))
    }

    pub async fn del_container(c: Arc<CoreCluster>, name: String, opts: ApplyOptions) -> CoreResult<Applied> {
        c.del_container(&name, opts).await.map(|a| Applied::new(a, Record::Container))
    }

    pub async fn set_running(
        c: Arc<CoreCluster>,
        name: String,
        running: bool,
        opts: ApplyOptions,
    ) -> CoreResult<Applied> {
        c.set_running(&name, running, opts).await.map(|a| Applied::new(a, Record::Info))
    }
}

/// A cluster: an inventory of servers and a state store.
///
/// Every operation that does I/O blocks with the GIL released; its
/// `*_async` twin returns an awaitable for asyncio.
#[pyclass(module = "flockport", frozen)]
#[derive(Debug)]
pub struct Cluster {
    shared: Arc<Shared>,
}

impl Cluster {
    /// The core cluster of this process.
    pub(crate) fn core(&self, py: Python<'_>) -> PyResult<Arc<CoreCluster>> {
        self.shared.get().map(|(c, _)| c).map_err(|e| error::to_py(py, e))
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
    fn servers(&self, py: Python<'_>) -> PyResult<Vec<ServerConfig>> {
        Ok(self.core(py)?.servers().iter().cloned().map(ServerConfig::from).collect())
    }

    /// The server called `name` (`NotFound` names the known ones).
    fn server(&self, py: Python<'_>, name: &str) -> PyResult<ServerConfig> {
        self.core(py)?.server(name).cloned().map(ServerConfig::from).map_err(|e| error::to_py(py, e))
    }

    /// The transport for a server (one per server per process, reused).
    fn transport(&self, py: Python<'_>, server: &str) -> PyResult<Transport> {
        let c = self.core(py)?;
        let t = c.server(server).and_then(|s| c.transport(s)).map_err(|e| error::to_py(py, e))?;
        Ok(Transport { inner: t })
    }

    /// The desired state: the containers flockport manages. The file is read
    /// on the calling thread with the GIL released (no runtime hop).
    fn state(&self, py: Python<'_>) -> PyResult<State> {
        self.state_blocking(py)
    }
    /// The same as `state()`: the core's blocking read, by its core name.
    fn state_blocking(&self, py: Python<'_>) -> PyResult<State> {
        let core = self.core(py)?;
        py.allow_threads(|| core.state_blocking()).map(State::from).map_err(|e| error::to_py(py, e))
    }
    /// `state` for asyncio: returns an awaitable. The file is read on the
    /// runtime's blocking pool.
    fn state_async<'py>(&self, py: Python<'py>) -> Awaitable<'py> {
        let core = self.core(py)?;
        awaitable_blocking(py, move || core.state_blocking().map(State::from))
    }

    /// Adds a server to the inventory (`addserver`). Nothing is contacted.
    #[pyo3(signature = (name, subnet, host=None, *, local=false, user=None, port=None, identity=None, known_hosts=None, ssh_config=None, bridge=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_server(
        &self,
        py: Python<'_>,
        name: String,
        subnet: String,
        host: Option<String>,
        local: bool,
        user: Option<String>,
        port: Option<u16>,
        identity: Option<PathBuf>,
        known_hosts: Option<PathBuf>,
        ssh_config: Option<PathBuf>,
        bridge: Option<String>,
    ) -> PyResult<ServerConfig> {
        let spec = AddServer { name, host, local, subnet, user, port, identity, known_hosts, ssh_config, bridge };
        block_on(py, ops::add_server(self.shared.clone(), spec))
    }
    /// `add_server` for asyncio: returns an awaitable.
    #[pyo3(signature = (name, subnet, host=None, *, local=false, user=None, port=None, identity=None, known_hosts=None, ssh_config=None, bridge=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_server_async<'py>(
        &self,
        py: Python<'py>,
        name: String,
        subnet: String,
        host: Option<String>,
        local: bool,
        user: Option<String>,
        port: Option<u16>,
        identity: Option<PathBuf>,
        known_hosts: Option<PathBuf>,
        ssh_config: Option<PathBuf>,
        bridge: Option<String>,
    ) -> Awaitable<'py> {
        let spec = AddServer { name, host, local, subnet, user, port, identity, known_hosts, ssh_config, bridge };
        awaitable(py, ops::add_server(self.shared.clone(), spec))
    }

    /// Removes a server from the inventory (`delserver`); refused while the
    /// state records containers on it.
    fn del_server(&self, py: Python<'_>, name: String) -> PyResult<()> {
        block_on(py, ops::del_server(self.shared.clone(), name))
    }
    /// `del_server` for asyncio: returns an awaitable.
    fn del_server_async<'py>(&self, py: Python<'py>, name: String) -> Awaitable<'py> {
        awaitable(py, ops::del_server(self.shared.clone(), name))
    }

    /// Probes one server (one round trip): LXC version, overlay support, containers.
    fn probe(&self, py: Python<'_>, server: String) -> PyResult<ServerFacts> {
        block_on(py, ops::probe(self.core(py)?, server))
    }
    /// `probe` for asyncio: returns an awaitable.
    fn probe_async<'py>(&self, py: Python<'py>, server: String) -> Awaitable<'py> {
        awaitable(py, ops::probe(self.core(py)?, server))
    }

    /// Probes servers in parallel (all, or those named); one `ProbeResult`
    /// each, holding its facts or its exception.
    #[pyo3(signature = (servers=None))]
    fn probe_all(&self, py: Python<'_>, servers: Option<Vec<String>>) -> PyResult<Vec<Probed>> {
        block_on(py, ops::probe_all(self.core(py)?, servers))
    }
    /// `probe_all` for asyncio: returns an awaitable.
    #[pyo3(signature = (servers=None))]
    fn probe_all_async<'py>(&self, py: Python<'py>, servers: Option<Vec<String>>) -> Awaitable<'py> {
        awaitable(py, ops::probe_all(self.core(py)?, servers))
    }

    /// `listservers`: every server contacted in parallel, one round trip
    /// each. An unreachable server is reported in its status, not raised.
    fn list_servers(&self, py: Python<'_>) -> PyResult<Vec<ServerStatus>> {
        block_on(py, ops::list_servers(self.core(py)?))
    }
    /// `list_servers` for asyncio: returns an awaitable.
    fn list_servers_async<'py>(&self, py: Python<'py>) -> Awaitable<'py> {
        awaitable(py, ops::list_servers(self.core(py)?))
    }

    /// `listcontainers`: containers (images excluded) on one server or all,
    /// in parallel.
    #[pyo3(signature = (server=None))]
    fn containers(&self, py: Python<'_>, server: Option<String>) -> PyResult<Vec<ContainerInfo>> {
        block_on(py, ops::containers(self.core(py)?, server))
    }
    /// `containers` for asyncio: returns an awaitable.
    #[pyo3(signature = (server=None))]
    fn containers_async<'py>(&self, py: Python<'py>, server: Option<String>) -> Awaitable<'py> {
        awaitable(py, ops::containers(self.core(py)?, server))
    }

    /// `listcontainers` as the CLI shows it: the containers of the servers
    /// that answered, and `(server, why)` for each that could not be read.
    #[pyo3(signature = (server=None))]
    fn containers_listing(&self, py: Python<'_>, server: Option<String>) -> PyResult<Listing> {
        block_on(py, ops::containers_listing(self.core(py)?, server))
    }
    /// `containers_listing` for asyncio: returns an awaitable.
    #[pyo3(signature = (server=None))]
    fn containers_listing_async<'py>(&self, py: Python<'py>, server: Option<String>) -> Awaitable<'py> {
        awaitable(py, ops::containers_listing(self.core(py)?, server))
    }

    /// Finds the server that holds container `name`.
    fn locate(&self, py: Python<'_>, name: String) -> PyResult<(ServerConfig, ContainerInfo)> {
        block_on(py, ops::locate(self.core(py)?, name))
    }
    /// `locate` for asyncio: returns an awaitable.
    fn locate_async<'py>(&self, py: Python<'py>, name: String) -> Awaitable<'py> {
        awaitable(py, ops::locate(self.core(py)?, name))
    }

    /// Runs `argv` inside a container; the output whatever the exit status.
    fn exec(&self, py: Python<'_>, container: String, argv: Vec<String>) -> PyResult<Output> {
        block_on(py, ops::exec(self.core(py)?, container, argv))
    }
    /// `exec` for asyncio: returns an awaitable.
    fn exec_async<'py>(&self, py: Python<'py>, container: String, argv: Vec<String>) -> Awaitable<'py> {
        awaitable(py, ops::exec(self.core(py)?, container, argv))
    }

    /// Writes a file (bytes or str) inside a container with `mode`.
    #[pyo3(signature = (container, path, contents, mode=0o644))]
    fn push(
        &self,
        py: Python<'_>,
        container: String,
        path: String,
        contents: &Bound<'_, PyAny>,
        mode: u32,
    ) -> PyResult<()> {
        let contents = contents_bytes(contents)?;
        block_on(py, ops::push(self.core(py)?, container, path, contents, mode))
    }
    /// `push` for asyncio: returns an awaitable.
    #[pyo3(signature = (container, path, contents, mode=0o644))]
    fn push_async<'py>(
        &self,
        py: Python<'py>,
        container: String,
        path: String,
        contents: &Bound<'_, PyAny>,
        mode: u32,
    ) -> Awaitable<'py> {
        let contents = contents_bytes(contents)?;
        awaitable(py, ops::push(self.core(py)?, container, path, contents, mode))
    }

    /// Builds (or reuses) an image with `packages` on a server; the record is
    /// its template name. `progress(index, total, step)` is called before
    /// each step.
    #[pyo3(signature = (server, packages, *, dry_run=false, progress=None))]
    fn build_image(
        &self,
        py: Python<'_>,
        server: String,
        packages: Vec<String>,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Applied> {
        let fut = ops::build_image(self.core(py)?, server, packages, ApplyOptions { dry_run }, Progress(progress));
        block_on(py, fut)
    }
    /// `build_image` for asyncio: returns an awaitable.
    #[pyo3(signature = (server, packages, *, dry_run=false, progress=None))]
    fn build_image_async<'py>(
        &self,
        py: Python<'py>,
        server: String,
        packages: Vec<String>,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> Awaitable<'py> {
        let fut = ops::build_image(self.core(py)?, server, packages, ApplyOptions { dry_run }, Progress(progress));
        awaitable(py, fut)
    }

    /// Creates a managed container (`addcontainer`): image (built if
    /// missing), clone, static address, start.
    #[pyo3(signature = (server, name, *, packages=Vec::new(), address=None, role=None, no_start=false, dry_run=false, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_container(
        &self,
        py: Python<'_>,
        server: String,
        name: String,
        packages: Vec<String>,
        address: Option<String>,
        role: Option<String>,
        no_start: bool,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Applied> {
        let spec = ContainerSpec { server, name, packages, address, role, no_start };
        let fut = ops::add_container(self.core(py)?, spec, ApplyOptions { dry_run }, Progress(progress));
        block_on(py, fut)
    }
    /// `add_container` for asyncio: returns an awaitable.
    #[pyo3(signature = (server, name, *, packages=Vec::new(), address=None, role=None, no_start=false, dry_run=false, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_container_async<'py>(
        &self,
        py: Python<'py>,
        server: String,
        name: String,
        packages: Vec<String>,
        address: Option<String>,
        role: Option<String>,
        no_start: bool,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> Awaitable<'py> {
        let spec = ContainerSpec { server, name, packages, address, role, no_start };
        let fut = ops::add_container(self.core(py)?, spec, ApplyOptions { dry_run }, Progress(progress));
        awaitable(py, fut)
    }

    /// Destroys a managed container (`delcontainer`).
    #[pyo3(signature = (name, *, dry_run=false))]
    fn del_container(&self, py: Python<'_>, name: String, dry_run: bool) -> PyResult<Applied> {
        block_on(py, ops::del_container(self.core(py)?, name, ApplyOptions { dry_run }))
    }
    /// `del_container` for asyncio: returns an awaitable.
    #[pyo3(signature = (name, *, dry_run=false))]
    fn del_container_async<'py>(&self, py: Python<'py>, name: String, dry_run: bool) -> Awaitable<'py> {
        awaitable(py, ops::del_container(self.core(py)?, name, ApplyOptions { dry_run }))
    }

    /// Starts (`running=True`) or stops a container.
    #[pyo3(signature = (name, running, *, dry_run=false))]
    fn set_running(&self, py: Python<'_>, name: String, running: bool, dry_run: bool) -> PyResult<Applied> {
        block_on(py, ops::set_running(self.core(py)?, name, running, ApplyOptions { dry_run }))
    }
    /// `set_running` for asyncio: returns an awaitable.
    #[pyo3(signature = (name, running, *, dry_run=false))]
    fn set_running_async<'py>(&self, py: Python<'py>, name: String, running: bool, dry_run: bool) -> Awaitable<'py> {
        awaitable(py, ops::set_running(self.core(py)?, name, running, ApplyOptions { dry_run }))
    }

    pub(crate) fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let c = self.core(py)?;
        let names: Vec<&str> = c.servers().iter().map(|s| s.name.as_str()).collect();
        Ok(format!(
            "Cluster(inventory={}, servers={})",
            repr_str(&c.inventory_path().display().to_string()),
            repr_list(&names)
        ))
    }
}
