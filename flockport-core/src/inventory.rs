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

/// The default state file, next to the inventory.
pub const DEFAULT_STATE: &str = "flockport-state.json";

/// `path` relative to the inventory's directory (an absolute one as it is).
pub fn relative_to(inventory_path: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        inventory_path.parent().unwrap_or_else(|| Path::new(".")).join(path)
    }
}

/// `state = "PATH"` (a file store at PATH) or a `[state]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum StateSetting {
    /// The file store at this path.
    Path(PathBuf),
    /// The `[state]` table.
    Table(StateConfig),
}

impl<'de> Deserialize<'de> for StateSetting {
    // By hand rather than `untagged`: a bad table then says what is wrong
    // in it (`unknown variant "etcd"`), not "did not match any variant".
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        match toml::Value::deserialize(d)? {
            toml::Value::String(p) => Ok(StateSetting::Path(PathBuf::from(p))),
            toml::Value::Table(t) => StateConfig::deserialize(t).map(StateSetting::Table).map_err(D::Error::custom),
            other => {
                Err(D::Error::custom(format!("state must be a file path or a [state] table, not {}", other.type_str())))
            }
        }
    }
}

/// Which store keeps the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    /// A JSON file on this machine (the default).
    #[default]
    File,
    /// Consul's KV store on the cluster's endpoints, shared by every operator.
    Consul,
}

/// A Consul endpoint the state store talks to: its server and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateEndpoint {
    /// The server the endpoint's container runs on (reached over its SSH).
    pub server: String,
    /// The endpoint's address.
    pub address: Ipv4Addr,
}

/// The inventory's `[state]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// `file` (default) or `consul`.
    #[serde(default)]
    pub backend: StateBackend,
    /// The state file (file store; with Consul, where `state migrate --to
    /// file` writes it). Default `flockport-state.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Consul: the endpoints to use, tried in turn (written by `state migrate
    /// --to consul` from the state's endpoints).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<StateEndpoint>,
    /// Consul: the file (mode 0600) holding the ACL token for the state's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Consul: the KV prefix (default `flockport`): `PREFIX/state`, `PREFIX/lock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Consul: how long a run waits for another's lock before it gives up
    /// (default 600 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_wait_secs: Option<u64>,
}

impl StateConfig {
    /// The KV prefix.
    pub fn prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or("flockport")
    }

    /// Checks what can be checked without contacting anything.
    pub fn validate(&self, servers: &[ServerConfig]) -> Result<()> {
        if let Some(p) = &self.prefix {
            let ok = !p.is_empty() && p.split('/').all(|seg| names::check_name("state prefix segment", seg).is_ok());
            if !ok {
                return Err(Error::invalid(
                    "[state] prefix",
                    p,
                    "use names of letters, digits, `-` and `_`, separated by `/` (e.g. `flockport` or `teams/blue`)",
                ));
            }
        }
        if self.backend == StateBackend::Consul {
            if self.endpoints.is_empty() {
                return Err(Error::invalid(
                    "[state] endpoints",
                    "[]",
                    "the Consul store needs endpoints; `flockport state migrate --to consul` writes them",
                ));
            }
            for e in &self.endpoints {
                if !servers.iter().any(|s| s.name == e.server) {
                    return Err(Error::invalid(
                        "[state] endpoints",
                        &e.server,
                        "no server of that name in the inventory: add it, or correct the endpoint",
                    ));
                }
            }
            if self.token_file.is_none() {
                return Err(Error::invalid(
                    "[state] token_file",
                    "",
                    "the Consul store needs a token file (mode 0600); `flockport state migrate --to consul` makes one",
                ));
            }
        }
        Ok(())
    }
}

/// The inventory file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Where the state is: a file's path (relative to the inventory's
    /// directory, default `flockport-state.json`), or a `[state]` table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateSetting>,
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

    /// Checks all servers, that names are unique, and the `[state]` table.
    pub fn validate(&self) -> Result<()> {
        self.state_config().validate(&self.servers)?;
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

    /// The state file path for an inventory at `inventory_path` (with the
    /// Consul store, the file it moves from and to, and the place the
    /// secrets directory sits next to).
    pub fn state_path(&self, inventory_path: &Path) -> PathBuf {
        let rel = match &self.state {
            Some(StateSetting::Path(p)) => p.clone(),
            Some(StateSetting::Table(t)) => t.path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_STATE)),
            None => PathBuf::from(DEFAULT_STATE),
        };
        relative_to(inventory_path, &rel)
    }

    /// The `[state]` table: the given one, or the file store's defaults.
    pub fn state_config(&self) -> StateConfig {
        match &self.state {
            Some(StateSetting::Table(t)) => t.clone(),
            Some(StateSetting::Path(p)) => StateConfig { path: Some(p.clone()), ..StateConfig::default() },
            None => StateConfig::default(),
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
    fn state_table_parses_validates_and_round_trips() {
        let servers = LAB.split_once("\n[[server]]").map(|(_, r)| format!("[[server]]{r}")).unwrap();
        let consul = format!(
            "[state]\nbackend = \"consul\"\ntoken_file = \"t.token\"\nprefix = \"teams/blue\"\n\n\
             [[state.endpoints]]\nserver = \"s1\"\naddress = \"10.0.4.10\"\n\n{servers}"
        );
        let inv = Inventory::parse(Path::new("/etc/fp/x.toml"), &consul).unwrap();
        let cfg = inv.state_config();
        assert_eq!((cfg.backend, cfg.prefix()), (StateBackend::Consul, "teams/blue"));
        assert_eq!(cfg.endpoints[0].address, Ipv4Addr::new(10, 0, 4, 10));
        assert_eq!(inv.state_path(Path::new("/etc/fp/x.toml")), PathBuf::from("/etc/fp/flockport-state.json"));
        assert_eq!(Inventory::parse(Path::new("x"), &inv.to_toml().unwrap()).unwrap(), inv);
        // The plain path form is still a file store at that path.
        let plain = Inventory::parse(Path::new("/etc/fp/x.toml"), LAB).unwrap();
        assert_eq!(plain.state_config().backend, StateBackend::File);
        // Each bad table names its value.
        for (bad, named) in [
            (consul.replace("server = \"s1\"", "server = \"s9\""), "s9"),
            (consul.replace("teams/blue", "teams/../x"), "teams/../x"),
            (consul.replace("teams/blue", "a b"), "a b"),
            (consul.replace("token_file = \"t.token\"\n", ""), "token_file"),
            (consul.replace("backend = \"consul\"", "backend = \"etcd\""), "etcd"),
        ] {
            let e = Inventory::parse(Path::new("x"), &bad).unwrap_err().to_string();
            assert!(e.contains(named), "{named}: {e}");
        }
        let no_endpoints = format!("[state]\nbackend = \"consul\"\ntoken_file = \"t\"\n\n{servers}");
        let e = Inventory::parse(Path::new("x"), &no_endpoints).unwrap_err().to_string();
        assert!(e.contains("state migrate --to consul"), "{e}");
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
