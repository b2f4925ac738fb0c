//! `ContainerInfo` and `ServerFacts`: what a probe of a server sees (mirrors
//! `flockport_core::lxc`).

use crate::convert::{repr_bool, repr_list, repr_opt, repr_str, to_python};
use flockport_core::lxc::{ContainerInfo as CoreContainerInfo, ServerFacts as CoreServerFacts};
use pyo3::prelude::*;

/// A container as seen on a server.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerInfo {
    pub(crate) inner: CoreContainerInfo,
}

impl From<CoreContainerInfo> for ContainerInfo {
    fn from(inner: CoreContainerInfo) -> Self {
        ContainerInfo { inner }
    }
}

#[pymethods]
impl ContainerInfo {
    /// Its name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// The server it lives on.
    #[getter]
    fn server(&self) -> &str {
        &self.inner.server
    }
    /// Run state: `"running"`, `"stopped"`, or what LXC said, lowercased.
    #[getter]
    fn state(&self) -> String {
        self.inner.state.to_string()
    }
    /// Live IPv4 addresses (when running).
    #[getter]
    fn ipv4(&self) -> Vec<String> {
        self.inner.ipv4.iter().map(|a| a.to_string()).collect()
    }
    /// The static address in its config, if any.
    #[getter]
    fn configured_ipv4(&self) -> Option<String> {
        self.inner.configured_ipv4.map(|a| a.to_string())
    }
    /// The address to show: the live one, else the configured one.
    #[getter]
    fn address(&self) -> Option<String> {
        self.inner.address().map(|a| a.to_string())
    }
    /// Whether this is an image template rather than a service container.
    #[getter]
    fn is_image(&self) -> bool {
        self.inner.is_image()
    }
    /// The record as plain data.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    pub(crate) fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "ContainerInfo(name={}, server={}, state={}, address={})",
            repr_str(&c.name),
            repr_str(&c.server),
            repr_str(&c.state.to_string()),
            repr_opt(c.address().map(|a| a.to_string()).as_deref()),
        )
    }
}

/// What one round trip tells about a server.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct ServerFacts {
    pub(crate) inner: CoreServerFacts,
}

impl From<CoreServerFacts> for ServerFacts {
    fn from(inner: CoreServerFacts) -> Self {
        ServerFacts { inner }
    }
}

#[pymethods]
impl ServerFacts {
    /// `lxc-ls --version`.
    #[getter]
    fn lxc_version(&self) -> &str {
        &self.inner.lxc_version
    }
    /// Whether overlayfs snapshot clones are possible.
    #[getter]
    fn overlay(&self) -> bool {
        self.inner.overlay
    }
    /// Every container in the server's lxcpath, images included.
    #[getter]
    fn containers(&self) -> Vec<ContainerInfo> {
        self.inner.containers.iter().cloned().map(ContainerInfo::from).collect()
    }
    /// The container called `name`, if present.
    fn container(&self, name: &str) -> Option<ContainerInfo> {
        self.inner.container(name).cloned().map(ContainerInfo::from)
    }
    /// The facts as plain data.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    pub(crate) fn __repr__(&self) -> String {
        let names: Vec<&str> = self.inner.containers.iter().map(|c| c.name.as_str()).collect();
        format!(
            "ServerFacts(lxc_version={}, overlay={}, containers={})",
            repr_str(&self.inner.lxc_version),
            repr_bool(self.inner.overlay),
            repr_list(&names),
        )
    }
}
