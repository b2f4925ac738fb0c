//! `ServerConfig`: one server of the inventory (mirrors `flockport_core::inventory`).

use flockport_core::inventory::{ServerConfig as CoreServerConfig, TransportKind};
use napi_derive::napi;

/// How images (template containers) are built on a server.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ImageConfig {
    /// The `lxc-create` template (`debian`, `download`, ...).
    pub template: String,
    /// Arguments after `--`, e.g. `['-r', 'bookworm']`.
    pub args: Vec<String>,
}

/// One server of the cluster, as the inventory describes it.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Unique name, e.g. `s1`.
    pub name: String,
    /// Host name or address (SSH servers).
    pub host: Option<String>,
    /// SSH port.
    pub port: u32,
    /// SSH user.
    pub user: String,
    /// SSH private key file.
    pub identity: Option<String>,
    /// known_hosts file.
    pub known_hosts: Option<String>,
    /// ssh_config(5) file used instead of `~/.ssh/config` and `/etc/ssh/ssh_config`.
    pub ssh_config: Option<String>,
    /// Container subnet in CIDR form.
    pub subnet: String,
    /// Gateway of the container subnet (its first host address unless set).
    pub gateway: String,
    /// Container bridge on the server.
    pub bridge: String,
    /// How the server is reached.
    #[napi(ts_type = "'ssh' | 'local'")]
    pub transport: String,
    /// LXC's container store on the server.
    pub lxcpath: String,
    /// How images are built there.
    pub image: ImageConfig,
}

/// The name of a transport kind, as the inventory file spells it.
pub fn transport_name(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Ssh => "ssh",
        TransportKind::Local => "local",
    }
}

impl From<&CoreServerConfig> for ServerConfig {
    fn from(c: &CoreServerConfig) -> Self {
        ServerConfig {
            name: c.name.clone(),
            host: c.host.clone(),
            port: u32::from(c.port),
            user: c.user.clone(),
            identity: c.identity.as_ref().map(|p| p.display().to_string()),
            known_hosts: c.known_hosts.as_ref().map(|p| p.display().to_string()),
            ssh_config: c.ssh_config.as_ref().map(|p| p.display().to_string()),
            subnet: c.subnet.to_string(),
            gateway: c.gateway().to_string(),
            bridge: c.bridge.clone(),
            transport: transport_name(c.transport).to_string(),
            lxcpath: c.lxcpath.clone(),
            image: ImageConfig { template: c.image.template.clone(), args: c.image.args.clone() },
        }
    }
}
