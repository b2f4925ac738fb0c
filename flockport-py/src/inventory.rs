//! `ServerConfig`: one server of the inventory (mirrors `flockport_core::inventory`).

use crate::convert::{repr_list, repr_opt, repr_str, to_python};
use flockport_core::inventory::{ServerConfig as CoreServerConfig, TransportKind};
use pyo3::prelude::*;

/// The name of a transport kind, as the inventory file spells it.
pub fn transport_name(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Ssh => "ssh",
        TransportKind::Local => "local",
    }
}

/// One server of the cluster, as the inventory describes it.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub(crate) inner: CoreServerConfig,
}

impl From<CoreServerConfig> for ServerConfig {
    fn from(inner: CoreServerConfig) -> Self {
        ServerConfig { inner }
    }
}

#[pymethods]
impl ServerConfig {
    /// Unique name, e.g. `s1`.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// Host name or address (SSH servers), else None.
    #[getter]
    fn host(&self) -> Option<&str> {
        self.inner.host.as_deref()
    }
    /// SSH port.
    #[getter]
    fn port(&self) -> u16 {
        self.inner.port
    }
    /// SSH user.
    #[getter]
    fn user(&self) -> &str {
        &self.inner.user
    }
    /// SSH private key file.
    #[getter]
    fn identity(&self) -> Option<String> {
        self.inner.identity.as_ref().map(|p| p.display().to_string())
    }
    /// known_hosts file.
    #[getter]
    fn known_hosts(&self) -> Option<String> {
        self.inner.known_hosts.as_ref().map(|p| p.display().to_string())
    }
    /// ssh_config(5) file used instead of `~/.ssh/config` and `/etc/ssh/ssh_config`.
    #[getter]
    fn ssh_config(&self) -> Option<String> {
        self.inner.ssh_config.as_ref().map(|p| p.display().to_string())
    }
    /// Container subnet in CIDR form.
    #[getter]
    fn subnet(&self) -> String {
        self.inner.subnet.to_string()
    }
    /// Gateway of the container subnet (its first host address unless set).
    #[getter]
    fn gateway(&self) -> String {
        self.inner.gateway().to_string()
    }
    /// Container bridge on the server.
    #[getter]
    fn bridge(&self) -> &str {
        &self.inner.bridge
    }
    /// How the server is reached: `"ssh"` or `"local"`.
    #[getter]
    fn transport(&self) -> &'static str {
        transport_name(self.inner.transport)
    }
    /// LXC's container store on the server.
    #[getter]
    fn lxcpath(&self) -> &str {
        &self.inner.lxcpath
    }
    /// The `lxc-create` template images are built with.
    #[getter]
    fn image_template(&self) -> &str {
        &self.inner.image.template
    }
    /// The template's arguments.
    #[getter]
    fn image_args(&self) -> Vec<String> {
        self.inner.image.args.clone()
    }
    /// The inventory entry as plain data.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    pub(crate) fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "ServerConfig(name={}, transport={}, host={}, port={}, user={}, subnet={}, bridge={}, image_args={})",
            repr_str(&c.name),
            repr_str(transport_name(c.transport)),
            repr_opt(c.host.as_deref()),
            c.port,
            repr_str(&c.user),
            repr_str(&c.subnet.to_string()),
            repr_str(&c.bridge),
            repr_list(&c.image.args),
        )
    }
}
