//! `ContainerInfo` and `ServerFacts`: what a probe of a server sees (mirrors
//! `flockport_core::lxc`).

use flockport_core::lxc::{ContainerInfo as CoreContainerInfo, ServerFacts as CoreServerFacts};
use napi_derive::napi;

/// A container as seen on a server.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ContainerInfo {
    /// Its name.
    pub name: String,
    /// The server it lives on.
    pub server: String,
    /// Run state: `running`, `stopped`, or what LXC said, lowercased.
    pub state: String,
    /// Live IPv4 addresses (when running).
    pub ipv4: Vec<String>,
    /// The static address in its config, if any.
    pub configured_ipv4: Option<String>,
    /// The address to show: the live one, else the configured one.
    pub address: Option<String>,
    /// Whether this is an image template rather than a service container.
    pub is_image: bool,
}

impl From<&CoreContainerInfo> for ContainerInfo {
    fn from(c: &CoreContainerInfo) -> Self {
        ContainerInfo {
            name: c.name.clone(),
            server: c.server.clone(),
            state: c.state.to_string(),
            ipv4: c.ipv4.iter().map(|a| a.to_string()).collect(),
            configured_ipv4: c.configured_ipv4.map(|a| a.to_string()),
            address: c.address().map(|a| a.to_string()),
            is_image: c.is_image(),
        }
    }
}

/// What one round trip tells about a server.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ServerFacts {
    /// `lxc-ls --version`.
    pub lxc_version: String,
    /// Whether overlayfs snapshot clones are possible.
    pub overlay: bool,
    /// Every container in the server's lxcpath, images included.
    pub containers: Vec<ContainerInfo>,
}

impl From<&CoreServerFacts> for ServerFacts {
    fn from(f: &CoreServerFacts) -> Self {
        ServerFacts {
            lxc_version: f.lxc_version.clone(),
            overlay: f.overlay,
            containers: f.containers.iter().map(ContainerInfo::from).collect(),
        }
    }
}
