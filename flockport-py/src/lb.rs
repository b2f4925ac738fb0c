//! Load balancers (mirrors `flockport_core::lb`): the records `LbRecord`,
//! `LbInfo`, `Backend`, `BackendHealth`, and the `Cluster` operations the
//! core defines there (`add_lb`, `lbs`, `add_backends`, `del_backends`,
//! `set_lb`, `publish`, `unpublish`, `del_lb`), each blocking and `*_async`.

use crate::cluster::{Applied, Cluster, Record};
use crate::convert::{repr_list, repr_opt, repr_str, to_python};
use crate::plan::Progress;
use crate::runtime::{awaitable, block_on};
use flockport_core::cluster::{ApplyOptions, Cluster as CoreCluster};
use flockport_core::lb::{
    Backend as CoreBackend, BackendHealth as CoreBackendHealth, LbInfo as CoreLbInfo, LbRecord as CoreLbRecord,
    LbSetting, LbSpec,
};
use flockport_core::service::ServiceContainer as CoreServiceContainer;
use flockport_core::Result as CoreResult;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// A backend: HAProxy's `name:ip:port` or Nginx's `ip:port` / `host:port`.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    inner: CoreBackend,
}

#[pymethods]
impl Backend {
    /// The HAProxy server name (None for Nginx).
    #[getter]
    fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }
    /// IP address or DNS name.
    #[getter]
    fn host(&self) -> &str {
        &self.inner.host
    }
    /// Port.
    #[getter]
    fn port(&self) -> u16 {
        self.inner.port
    }
    /// What identifies it in its LB: the name (HAProxy) or host:port (Nginx).
    fn key(&self) -> String {
        self.inner.key()
    }
    fn __str__(&self) -> String {
        self.inner.to_string()
    }
    pub(crate) fn __repr__(&self) -> String {
        format!("Backend({})", repr_str(&self.inner.to_string()))
    }
}

/// A load balancer as recorded in state.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct LbRecord {
    pub(crate) inner: CoreLbRecord,
}

impl From<CoreLbRecord> for LbRecord {
    fn from(inner: CoreLbRecord) -> Self {
        LbRecord { inner }
    }
}

#[pymethods]
impl LbRecord {
    /// Name (also its container's name).
    #[getter]
    fn name(&self) -> &str {
        &self.inner.container.name
    }
    /// `"haproxy"` or `"nginx"`.
    #[getter]
    fn kind(&self) -> String {
        self.inner.kind.to_string()
    }
    /// Server it runs on.
    #[getter]
    fn server(&self) -> &str {
        &self.inner.container.server
    }
    /// Its container's address.
    #[getter]
    fn address(&self) -> String {
        self.inner.container.address.to_string()
    }
    /// Balancing mode.
    #[getter]
    fn mode(&self) -> &str {
        &self.inner.mode
    }
    /// The served name (required for Nginx).
    #[getter]
    fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }
    /// Backends.
    #[getter]
    fn backends(&self) -> Vec<Backend> {
        self.inner.backends.iter().cloned().map(|inner| Backend { inner }).collect()
    }
    /// Fingerprint of the installed certificate, when TLS is on.
    #[getter]
    fn tls(&self) -> Option<&str> {
        self.inner.tls.as_deref()
    }
    /// Worker processes (Nginx) or threads (HAProxy).
    #[getter]
    fn workers(&self) -> Option<u32> {
        self.inner.workers
    }
    /// DNS resolvers.
    #[getter]
    fn resolvers(&self) -> Vec<String> {
        self.inner.resolvers.iter().map(|a| a.to_string()).collect()
    }
    /// Host ports forwarded from the server's host addresses.
    #[getter]
    fn published(&self) -> Vec<u16> {
        self.inner.container.host_ports()
    }
    /// The record as plain data (the state file's form).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    pub(crate) fn __repr__(&self) -> String {
        let r = &self.inner;
        let backends: Vec<String> = r.backends.iter().map(|b| b.to_string()).collect();
        format!(
            "LbRecord(name={}, kind={}, server={}, address={}, mode={}, url={}, backends={}, published={:?})",
            repr_str(&r.container.name),
            repr_str(&r.kind.to_string()),
            repr_str(&r.container.server),
            repr_str(&r.container.address.to_string()),
            repr_str(&r.mode),
            repr_opt(r.url.as_deref()),
            repr_list(&backends),
            r.container.host_ports(),
        )
    }
}

/// A service container (a load balancer's today), as `publish` and
/// `unpublish` return it.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceContainer {
    pub(crate) inner: CoreServiceContainer,
}

#[pymethods]
impl ServiceContainer {
    /// The family that owns it (`"lb"`).
    #[getter]
    fn family(&self) -> &str {
        self.inner.family.name()
    }
    /// Its name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// The server it runs on.
    #[getter]
    fn server(&self) -> &str {
        &self.inner.server
    }
    /// Its address.
    #[getter]
    fn address(&self) -> String {
        self.inner.address.to_string()
    }
    /// The image it was cloned from.
    #[getter]
    fn image(&self) -> &str {
        &self.inner.image
    }
    /// Its forwards as `(host_port, port)` pairs.
    #[getter]
    fn forwards(&self) -> Vec<(u16, u16)> {
        self.inner.published.iter().map(|f| (f.host_port, f.port)).collect()
    }
    /// The record as plain data (the state file's form).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    pub(crate) fn __repr__(&self) -> String {
        let fw: Vec<String> = self.inner.published.iter().map(|f| format!("{}:{}", f.host_port, f.port)).collect();
        format!(
            "ServiceContainer(family={}, name={}, server={}, address={}, forwards={})",
            repr_str(self.inner.family.name()),
            repr_str(&self.inner.name),
            repr_str(&self.inner.server),
            repr_str(&self.inner.address.to_string()),
            repr_list(&fw)
        )
    }
}

/// A backend's health as the LB sees it.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct BackendHealth {
    inner: CoreBackendHealth,
}

#[pymethods]
impl BackendHealth {
    /// The backend.
    #[getter]
    fn backend(&self) -> &str {
        &self.inner.backend
    }
    /// UP, DOWN, MAINT, DRAIN, ... or `unknown`.
    #[getter]
    fn health(&self) -> &str {
        &self.inner.health
    }
    fn __repr__(&self) -> String {
        format!("BackendHealth(backend={}, health={})", repr_str(&self.inner.backend), repr_str(&self.inner.health))
    }
}

/// A load balancer as `listlbs` shows it: its record and live backend health.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct LbInfo {
    inner: CoreLbInfo,
}

#[pymethods]
impl LbInfo {
    /// The record.
    #[getter]
    fn record(&self) -> LbRecord {
        LbRecord::from(self.inner.record.clone())
    }
    /// Health per backend.
    #[getter]
    fn health(&self) -> Vec<BackendHealth> {
        self.inner.health.iter().cloned().map(|inner| BackendHealth { inner }).collect()
    }
    /// Why its health could not be read (server unreachable, container
    /// stopped, ...); None when it was.
    #[getter]
    fn error(&self) -> Option<&str> {
        self.inner.error.as_deref()
    }
    /// The LB as plain data (the CLI's `--json` form).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        let health: Vec<String> = self.inner.health.iter().map(|h| format!("{}={}", h.backend, h.health)).collect();
        format!(
            "LbInfo(record={}, health={})",
            LbRecord::from(self.inner.record.clone()).__repr__(),
            repr_list(&health)
        )
    }
}

/// The operations as futures, each used by a blocking and an `*_async` method.
mod ops {
    use super::*;

    fn lb_applied(a: flockport_core::cluster::Applied<CoreLbRecord>) -> Applied {
        Applied::new(a, Record::Lb)
    }

    pub async fn add_lb(
        c: Arc<CoreCluster>,
        spec: LbSpec,
        opts: ApplyOptions,
        progress: Progress,
    ) -> CoreResult<Applied> {
        c.add_lb(spec, opts, &progress).await.map(lb_applied)
    }

    pub async fn lbs(c: Arc<CoreCluster>) -> CoreResult<Vec<LbInfo>> {
        c.lbs().await.map(|v| v.into_iter().map(|inner| LbInfo { inner }).collect())
    }

    pub async fn add_backends(
        c: Arc<CoreCluster>,
        lb: String,
        backends: Vec<String>,
        opts: ApplyOptions,
    ) -> CoreResult<Applied> {
        c.add_backends(&lb, backends, opts).await.map(lb_applied)
    }

    pub async fn del_backends(
        c: Arc<CoreCluster>,
        lb: String,
        backends: Vec<String>,
        opts: ApplyOptions,
    ) -> CoreResult<Applied> {
        c.del_backends(&lb, backends, opts).await.map(lb_applied)
    }

    pub async fn set_lb(
        c: Arc<CoreCluster>,
        lb: String,
        setting: String,
        values: Vec<String>,
        opts: ApplyOptions,
    ) -> CoreResult<Applied> {
        let setting = LbSetting::parse(&setting, &values)?;
        c.set_lb(&lb, setting, opts).await.map(lb_applied)
    }

    pub async fn publish(
        c: Arc<CoreCluster>,
        target: String,
        port: u16,
        to_port: Option<u16>,
        opts: ApplyOptions,
    ) -> CoreResult<Applied> {
        let forward = format!("{port}:{}", to_port.unwrap_or(port));
        c.publish(&target, &forward, opts).await.map(|a| Applied::new(a, Record::Service))
    }

    pub async fn unpublish(c: Arc<CoreCluster>, target: String, port: u16, opts: ApplyOptions) -> CoreResult<Applied> {
        c.unpublish(&target, port, opts).await.map(|a| Applied::new(a, Record::Service))
    }

    pub async fn del_lb(c: Arc<CoreCluster>, lb: String, opts: ApplyOptions) -> CoreResult<Applied> {
        c.del_lb(&lb, opts).await.map(lb_applied)
    }
}

type Awaitable<'py> = PyResult<Bound<'py, PyAny>>;

/// `set_lb`'s value: one string or several.
#[derive(FromPyObject)]
enum Values {
    One(String),
    Many(Vec<String>),
}

impl Values {
    fn into_vec(self) -> Vec<String> {
        match self {
            Values::One(v) => vec![v],
            Values::Many(v) => v,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn lb_spec(
    kind: String,
    server: String,
    name: Option<String>,
    url: Option<String>,
    backends: Vec<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> LbSpec {
    LbSpec { kind, server, name, url, backends, cert, key }
}

#[pymethods]
impl Cluster {
    /// `addlb`: a load balancer (`kind` `"haproxy"` or `"nginx"`) in its own
    /// container on `server`, configured and running. Nginx needs `url`;
    /// `cert` and `key` (PEM files) turn TLS on.
    #[pyo3(signature = (kind, server, *, name=None, url=None, backends=Vec::new(), cert=None, key=None, dry_run=false, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_lb(
        &self,
        py: Python<'_>,
        kind: String,
        server: String,
        name: Option<String>,
        url: Option<String>,
        backends: Vec<String>,
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Applied> {
        let spec = lb_spec(kind, server, name, url, backends, cert, key);
        let fut = ops::add_lb(self.core(py)?, spec, ApplyOptions { dry_run }, Progress(progress));
        block_on(py, fut)
    }
    /// `add_lb` for asyncio: returns an awaitable.
    #[pyo3(signature = (kind, server, *, name=None, url=None, backends=Vec::new(), cert=None, key=None, dry_run=false, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_lb_async<'py>(
        &self,
        py: Python<'py>,
        kind: String,
        server: String,
        name: Option<String>,
        url: Option<String>,
        backends: Vec<String>,
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> Awaitable<'py> {
        let spec = lb_spec(kind, server, name, url, backends, cert, key);
        let fut = ops::add_lb(self.core(py)?, spec, ApplyOptions { dry_run }, Progress(progress));
        awaitable(py, fut)
    }

    /// `listlbs`: every load balancer with live backend health.
    fn lbs(&self, py: Python<'_>) -> PyResult<Vec<LbInfo>> {
        block_on(py, ops::lbs(self.core(py)?))
    }
    /// `lbs` for asyncio: returns an awaitable.
    fn lbs_async<'py>(&self, py: Python<'py>) -> Awaitable<'py> {
        awaitable(py, ops::lbs(self.core(py)?))
    }

    /// `addbackends`: HAProxy `name:ip:port` or Nginx `ip:port`/`host:port`.
    #[pyo3(signature = (lb, backends, *, dry_run=false))]
    fn add_backends(&self, py: Python<'_>, lb: String, backends: Vec<String>, dry_run: bool) -> PyResult<Applied> {
        let fut = ops::add_backends(self.core(py)?, lb, backends, ApplyOptions { dry_run });
        block_on(py, fut)
    }
    /// `add_backends` for asyncio: returns an awaitable.
    #[pyo3(signature = (lb, backends, *, dry_run=false))]
    fn add_backends_async<'py>(
        &self,
        py: Python<'py>,
        lb: String,
        backends: Vec<String>,
        dry_run: bool,
    ) -> Awaitable<'py> {
        let fut = ops::add_backends(self.core(py)?, lb, backends, ApplyOptions { dry_run });
        awaitable(py, fut)
    }

    /// `delbackends`: HAProxy drains then deletes, Nginx reloads.
    #[pyo3(signature = (lb, backends, *, dry_run=false))]
    fn del_backends(&self, py: Python<'_>, lb: String, backends: Vec<String>, dry_run: bool) -> PyResult<Applied> {
        let fut = ops::del_backends(self.core(py)?, lb, backends, ApplyOptions { dry_run });
        block_on(py, fut)
    }
    /// `del_backends` for asyncio: returns an awaitable.
    #[pyo3(signature = (lb, backends, *, dry_run=false))]
    fn del_backends_async<'py>(
        &self,
        py: Python<'py>,
        lb: String,
        backends: Vec<String>,
        dry_run: bool,
    ) -> Awaitable<'py> {
        let fut = ops::del_backends(self.core(py)?, lb, backends, ApplyOptions { dry_run });
        awaitable(py, fut)
    }

    /// `setlb LB SETTING VALUE...`: `setting` is `mode`, `url`, `ssl` (values
    /// cert, key), `workers` or `resolvers`; `value` one string or a list.
    #[pyo3(signature = (lb, setting, value, *, dry_run=false))]
    fn set_lb(&self, py: Python<'_>, lb: String, setting: String, value: Values, dry_run: bool) -> PyResult<Applied> {
        let fut = ops::set_lb(self.core(py)?, lb, setting, value.into_vec(), ApplyOptions { dry_run });
        block_on(py, fut)
    }
    /// `set_lb` for asyncio: returns an awaitable.
    #[pyo3(signature = (lb, setting, value, *, dry_run=false))]
    fn set_lb_async<'py>(
        &self,
        py: Python<'py>,
        lb: String,
        setting: String,
        value: Values,
        dry_run: bool,
    ) -> Awaitable<'py> {
        let fut = ops::set_lb(self.core(py)?, lb, setting, value.into_vec(), ApplyOptions { dry_run });
        awaitable(py, fut)
    }

    /// `pub [SERVER:]NAME PORT[:TO_PORT]`: forwards `port` on the service
    /// container's server to its `to_port` (default the same port).
    #[pyo3(signature = (target, port, to_port=None, *, dry_run=false))]
    fn publish(
        &self,
        py: Python<'_>,
        target: String,
        port: u16,
        to_port: Option<u16>,
        dry_run: bool,
    ) -> PyResult<Applied> {
        let fut = ops::publish(self.core(py)?, target, port, to_port, ApplyOptions { dry_run });
        block_on(py, fut)
    }
    /// `publish` for asyncio: returns an awaitable.
    #[pyo3(signature = (target, port, to_port=None, *, dry_run=false))]
    fn publish_async<'py>(
        &self,
        py: Python<'py>,
        target: String,
        port: u16,
        to_port: Option<u16>,
        dry_run: bool,
    ) -> Awaitable<'py> {
        let fut = ops::publish(self.core(py)?, target, port, to_port, ApplyOptions { dry_run });
        awaitable(py, fut)
    }

    /// `unpub [SERVER:]LB PORT`: removes a forward.
    #[pyo3(signature = (target, port, *, dry_run=false))]
    fn unpublish(&self, py: Python<'_>, target: String, port: u16, dry_run: bool) -> PyResult<Applied> {
        let fut = ops::unpublish(self.core(py)?, target, port, ApplyOptions { dry_run });
        block_on(py, fut)
    }
    /// `unpublish` for asyncio: returns an awaitable.
    #[pyo3(signature = (target, port, *, dry_run=false))]
    fn unpublish_async<'py>(&self, py: Python<'py>, target: String, port: u16, dry_run: bool) -> Awaitable<'py> {
        let fut = ops::unpublish(self.core(py)?, target, port, ApplyOptions { dry_run });
        awaitable(py, fut)
    }

    /// `dellb`: removes the forwards, the container and the state.
    #[pyo3(signature = (lb, *, dry_run=false))]
    fn del_lb(&self, py: Python<'_>, lb: String, dry_run: bool) -> PyResult<Applied> {
        block_on(py, ops::del_lb(self.core(py)?, lb, ApplyOptions { dry_run }))
    }
    /// `del_lb` for asyncio: returns an awaitable.
    #[pyo3(signature = (lb, *, dry_run=false))]
    fn del_lb_async<'py>(&self, py: Python<'py>, lb: String, dry_run: bool) -> Awaitable<'py> {
        awaitable(py, ops::del_lb(self.core(py)?, lb, ApplyOptions { dry_run }))
    }
}
