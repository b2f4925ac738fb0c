//! The inventory: the servers of a cluster, in a TOML file.
//!
//! Found at `--config PATH`, `$FLOCKPORT_CONFIG`, or `./flockport.toml`. Edits
//! (addserver, delserver) hold the file's lock and write it atomically.

use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, lock_path, LockGuard};
use crate::names;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The environment variable naming the inventory file.
pub const CONFIG_ENV: &str = "FLOCKPORT_CONFIG";
/// The default inventory file name, in the working directory.
pub const DEFAULT_CONFIG: &str = "flockport.toml";

/// How a server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, crate::api::Record)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Over SSH (the `openssh` crate, multiplexed).
    #[default]
    Ssh,
    /// On this machine, no SSH.
    Local,
}

/// How images (template containers) are built on a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// The `lxc-create` template (`debian`, `download`, ...).
    #[serde(default = "default_template")]
    pub template: String,
    /// Arguments after `--`, e.g. `["-r", "bookworm"]`.
    #[serde(default = "default_template_args")]
    pub args: Vec<String>,
}

fn default_template() -> String {
    "debian".into()
}
fn default_template_args() -> Vec<String> {
    vec!["-r".into(), "bookworm".into()]
}
impl Default for ImageConfig {
    fn default() -> Self {
        ImageConfig { template: default_template(), args: default_template_args() }
    }
}

/// One server of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[serde(deny_unknown_fields)]
#[record(repr(name, transport, host, port, user, subnet, bridge))]
#[record(computed(
    name = "gateway",
    ty = "Ipv4Addr",
    with = "ServerConfig::gateway",
    doc = "Gateway of the container subnet (its first host address unless set)."
))]
pub struct ServerConfig {
    /// Unique name, e.g. `s1`.
    pub name: String,
    /// Host name or address (SSH only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// SSH port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// SSH user.
    #[serde(default = "default_user")]
    pub user: String,
    /// SSH private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    /// known_hosts file (strict checking against it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    /// An ssh_config(5) file read instead of `~/.ssh/config` and
    /// `/etc/ssh/ssh_config` (e.g. `KexAlgorithms`, `ProxyJump`), included
    /// after flockport's own settings, which win: user, port, identity and
    /// strict host-key checking against `known_hosts`, for ProxyJump hops too.
    /// Trusted like code: it can run commands (`ProxyCommand`, `Match exec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_config: Option<PathBuf>,
    /// The container subnet.
    pub subnet: Ipv4Net,
    /// The gateway of the container subnet (default: its first host address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(skip)]
    pub gateway: Option<Ipv4Addr>,
    /// The container bridge on the server.
    #[serde(default = "default_bridge")]
    pub bridge: String,
    /// How the server is reached.
    #[serde(default)]
    pub transport: TransportKind,
    /// LXC's container store on the server.
    #[serde(default = "default_lxcpath")]
    pub lxcpath: String,
    /// How images are built there.
    #[serde(default)]
    pub image: ImageConfig,
    /// Longest one command on this server may run, in seconds: default
    /// [`crate::transport::DEFAULT_COMMAND_TIMEOUT`] (900 s), `0` for no limit.
    /// A command past it is stopped (the local process killed, the SSH
    /// channel closed) and fails with [`Error::Timeout`]. Connecting has its
    /// own limit, [`crate::transport::CONNECT_TIMEOUT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_timeout_secs: Option<u64>,
}

fn default_port() -> u16 {
    22
}
fn default_user() -> String {
    "root".into()
}
fn default_bridge() -> String {
    "lxcbr0".into()
}
fn default_lxcpath() -> String {
    "/var/lib/lxc".into()
}

impl ServerConfig {
    /// The limit of one command ([`ServerConfig::command_timeout_secs`]); `None`: no limit.
    pub fn command_timeout(&self) -> Option<std::time::Duration> {
        match self.command_timeout_secs {
            Some(0) => None,
            Some(s) => Some(std::time::Duration::from_secs(s)),
            None => Some(crate::transport::DEFAULT_COMMAND_TIMEOUT),
        }
    }

    /// The gateway address of the container subnet.
    pub fn gateway(&self) -> Ipv4Addr {
        self.gateway.unwrap_or_else(|| {
            let n = u32::from(self.subnet.network());
            Ipv4Addr::from(n + 1)
        })
    }

    /// Checks every field; the error names the bad value.
    pub fn validate(&self) -> Result<()> {
        names::check_name("server name", &self.name)?;
        names::check_name("bridge", &self.bridge)?;
        names::check_abs_path("lxcpath", &self.lxcpath)?;
        names::check_name("image template", &self.image.template)?;
        if self.subnet.prefix_len() > 30 || self.subnet.network() != self.subnet.addr() {
            return Err(Error::invalid(
                "subnet",
                self.subnet.to_string(),
                "use a network address with a /30 or shorter prefix",
            ));
        }
        if let Some(gw) = self.gateway {
            if !self.subnet.contains(&gw) {
                return Err(Error::invalid("gateway", gw.to_string(), format!("it must be inside {}", self.subnet)));
            }
        }
        match self.transport {
            TransportKind::Ssh => {
                let host = self.host.as_deref().ok_or_else(|| {
                    Error::invalid("host", "", format!("server {} uses ssh and needs a host", self.name))
                })?;
                names::check_host(host)?;
                names::check_name("user", &self.user)?;
            }
            TransportKind::Local => {}
        }
        Ok(())
    }

    /// Checks that the identity, known_hosts and ssh_config files exist (used
    /// when adding a server).
    pub fn check_files(&self) -> Result<()> {
        for (field, p) in [
            ("identity file", &self.identity),
            ("known_hosts file", &self.known_hosts),
            ("ssh_config file", &self.ssh_config),
        ] {
            if let Some(p) = p {
                if !p.is_file() {
                    return Err(Error::invalid(
                        field,
                        p.display().to_string(),
                        "no such file; give the path of an existing file",
                    ));
                }
            }
        }
        if self.transport == TransportKind::Ssh {
            // The paths go into the wrapper ssh reads: refused here if it cannot.
            crate::transport::ssh_config_wrapper_text(self)?;
        }
        Ok(())
    }
}

/// The inventory file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Where the state file is, relative to the inventory's directory (default
    /// `flockport-state.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PathBuf>,
    /// The Consul binary copied into endpoint containers (default: `consul`
    /// on PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consul_binary: Option<PathBuf>,
    /// The servers.
    #[serde(default, rename = "server")]
    pub servers: Vec<ServerConfig>,
}

impl Inventory {
    /// Resolves the inventory path: explicit, then `$FLOCKPORT_CONFIG`, then `./flockport.toml`.
    pub fn resolve_path(explicit: Option<&Path>) -> PathBuf {
        explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(CONFIG_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }

    /// Parses and validates an inventory from TOML text.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let inv: Inventory =
            toml::from_str(text).map_err(|e| Error::Inventory { path: path.to_path_buf(), reason: e.to_string() })?;
        inv.validate().map_err(|e| Error::Inventory { path: path.to_path_buf(), reason: e.to_string() })?;
        Ok(inv)
    }

    /// Loads the inventory; a missing file is an empty inventory.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Inventory::default()),
            Err(e) => Err(Error::io("reading inventory", path, e)),
        }
    }

    /// Checks all servers and that names are unique.
    pub fn validate(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for s in &self.servers {
            s.validate()?;
            if !seen.insert(s.name.as_str()) {
                return Err(Error::exists("server", &s.name, "server names must be unique"));
            }
        }
        Ok(())
    }

    /// The server called `name`.
    pub fn server(&self, name: &str) -> Result<&ServerConfig> {
        self.servers.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.servers.iter().map(|s| s.name.as_str()).collect();
            Error::not_found(
                "server",
                name,
                if known.is_empty() {
                    "the inventory has no servers; add one with `flockport addserver`".to_string()
                } else {
                    format!("known servers: {}", known.join(", "))
                },
            )
        })
    }

    /// The state file path for an inventory at `inventory_path`.
    pub fn state_path(&self, inventory_path: &Path) -> PathBuf {
        let rel = self.state.clone().unwrap_or_else(|| PathBuf::from("flockport-state.json"));
        if rel.is_absolute() {
            rel
        } else {
            inventory_path.parent().unwrap_or_else(|| Path::new(".")).join(rel)
        }
    }

    /// Serialises to TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::Inventory { path: PathBuf::new(), reason: e.to_string() })
    }

    /// Read-modify-write of the inventory file under its lock. `f` sees the
    /// current contents; the file is written only if `f` succeeds.
    pub fn update<T>(path: &Path, f: impl FnOnce(&mut Inventory) -> Result<T>) -> Result<(Inventory, T)> {
        let _lock = LockGuard::acquire(&lock_path(path))?;
        let mut inv = Self::load(path)?;
        let out = f(&mut inv)?;
        inv.validate()?;
        atomic_write(path, inv.to_toml()?.as_bytes(), 0o600)?;
        Ok((inv, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB: &str = r#"
state = "flockport-state.json"

[[server]]
name = "s1"
host = "192.168.122.11"
port = 22
user = "root"
identity = "/tmp/id"
known_hosts = "/tmp/kh"
subnet = "10.0.4.0/24"
bridge = "lxcbr0"
transport = "ssh"

[[server]]
name = "local"
subnet = "10.0.3.0/24"
transport = "local"
"#;

    #[test]
    fn parses_lab_format() {
        let inv = Inventory::parse(Path::new("x.toml"), LAB).unwrap();
        assert_eq!(inv.servers.len(), 2);
        let s1 = inv.server("s1").unwrap();
        assert_eq!(s1.gateway(), Ipv4Addr::new(10, 0, 4, 1));
        assert_eq!(s1.lxcpath, "/var/lib/lxc");
        assert_eq!(inv.server("local").unwrap().transport, TransportKind::Local);
        let e = inv.server("nope").unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("s1"), "{e}");
        // Round trip.
        let again = Inventory::parse(Path::new("x.toml"), &inv.to_toml().unwrap()).unwrap();
        assert_eq!(again, inv);
    }

    #[test]
    fn rejects_bad_inventories() {
        let dup = format!("{LAB}\n[[server]]\nname = \"s1\"\nsubnet = \"10.0.9.0/24\"\ntransport = \"local\"\n");
        assert!(Inventory::parse(Path::new("x"), &dup).unwrap_err().to_string().contains("already exists"));
        let bad = "[[server]]\nname = \"a;b\"\nsubnet = \"10.0.9.0/24\"\ntransport = \"local\"\n";
        assert!(Inventory::parse(Path::new("x"), bad).unwrap_err().to_string().contains("a;b"));
        let bad = "[[server]]\nname = \"a\"\nsubnet = \"10.0.9.0/99\"\ntransport = \"local\"\n";
        assert!(Inventory::parse(Path::new("x"), bad).is_err());
    }

    #[test]
    fn update_is_atomic_and_refuses_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("flockport.toml");
        std::fs::write(&p, LAB).unwrap();
        let before = std::fs::read(&p).unwrap();
        let r = Inventory::update(&p, |_| -> Result<()> { Err(Error::invalid("x", "y", "z")) });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), before);
        Inventory::update(&p, |inv| {
            inv.servers.retain(|s| s.name != "local");
            Ok(())
        })
        .unwrap();
        assert_eq!(Inventory::load(&p).unwrap().servers.len(), 1);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
