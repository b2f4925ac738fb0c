//! Load-balancer types and what the user gives, parsed and validated before
//! anything is contacted: kinds, modes, backends, settings.

use crate::error::{Error, Result};
use crate::names;
use crate::service::ServiceContainer;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// The HAProxy backend of a mode: one per mode, all with the same servers, so
/// the mode is switched at run time through [`HAPROXY_MODE_MAP`].
pub fn haproxy_backend(mode: &str) -> String {
    format!("be_{mode}")
}
/// The map file whose `mode` key names the active backend.
pub const HAPROXY_MODE_MAP: &str = "/etc/haproxy/flockport-mode.map";
/// The HAProxy admin socket inside the container.
pub const HAPROXY_SOCKET: &str = "/run/haproxy/admin.sock";
/// How long a removed HAProxy backend may drain, in tenths of a second.
pub const DRAIN_TENTHS: u32 = 100;

/// The kind of load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[serde(rename_all = "lowercase")]
pub enum LbKind {
    /// HAProxy.
    Haproxy,
    /// Nginx.
    Nginx,
}

impl LbKind {
    /// Parses `haproxy` or `nginx`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "haproxy" => Ok(LbKind::Haproxy),
            "nginx" => Ok(LbKind::Nginx),
            _ => Err(Error::invalid("load balancer type", s, "use haproxy or nginx")),
        }
    }
    /// The modes this kind accepts.
    pub fn modes(self) -> &'static [&'static str] {
        match self {
            LbKind::Haproxy => &["roundrobin", "leastconn", "source"],
            LbKind::Nginx => &["default", "ip_hash", "least_conn"],
        }
    }
    /// The default mode.
    pub fn default_mode(self) -> &'static str {
        self.modes()[0]
    }
    /// Packages of its image.
    pub fn packages(self) -> Vec<String> {
        match self {
            LbKind::Haproxy => vec!["haproxy".into(), "socat".into()],
            LbKind::Nginx => vec!["nginx".into()],
        }
    }
    /// Prefix of generated names (`ha1`, `nginxlb-1`).
    pub fn name_prefix(self) -> &'static str {
        match self {
            LbKind::Haproxy => "ha",
            LbKind::Nginx => "nginxlb-",
        }
    }
    /// The systemd unit inside the container.
    pub fn service(self) -> &'static str {
        match self {
            LbKind::Haproxy => "haproxy",
            LbKind::Nginx => "nginx",
        }
    }
    /// Checks a mode for this kind.
    pub fn check_mode(self, mode: &str) -> Result<()> {
        if self.modes().contains(&mode) {
            Ok(())
        } else {
            Err(Error::invalid(
                "mode",
                mode,
                format!("{} load balancers take one of: {}", self.service(), self.modes().join(", ")),
            ))
        }
    }
}

impl std::fmt::Display for LbKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.service())
    }
}

/// A backend: HAProxy's `name:ip:port` or Nginx's `ip:port` / `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(str = "spec")]
#[record(computed(
    name = "spec",
    ty = "String",
    with = "ToString::to_string",
    doc = "As the CLI writes it (`name:ip:port` or `host:port`)."
))]
#[record(computed(
    name = "key",
    ty = "String",
    with = "Backend::key",
    doc = "What identifies it in its LB: the name (HAProxy) or host:port (Nginx).",
    py_method = "key"
))]
pub struct Backend {
    /// The HAProxy server name (none for Nginx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IP address or DNS name.
    pub host: String,
    /// Port.
    pub port: u16,
}

pub(super) fn parse_port(whole: &str, p: &str) -> Result<u16> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::invalid("backend", whole, format!("port {p:?} is not a number from 1 to 65535"))),
    }
}

pub(super) fn check_dns_name(whole: &str, h: &str) -> Result<()> {
    if names::is_dns_name(h) {
        Ok(())
    } else {
        Err(Error::invalid("backend", whole, format!("{h:?} is neither an IPv4 address nor a DNS name")))
    }
}

impl Backend {
    /// Parses a backend for `kind`.
    pub fn parse(kind: LbKind, s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        match (kind, parts.as_slice()) {
            (LbKind::Haproxy, [name, ip, port]) => {
                names::check_name("backend name", name)?;
                let host: Ipv4Addr = ip.parse().map_err(|_| {
                    Error::invalid(
                        "backend",
                        s,
                        format!("{ip:?} is not an IPv4 address; HAProxy backends are name:ip:port"),
                    )
                })?;
                Ok(Backend { name: Some(name.to_string()), host: host.to_string(), port: parse_port(s, port)? })
            }
            (LbKind::Haproxy, _) => {
                Err(Error::invalid("backend", s, "HAProxy backends need a name: name:ip:port, e.g. web1:10.0.4.20:80"))
            }
            (LbKind::Nginx, [host, port]) => {
                if host.parse::<Ipv4Addr>().is_err() {
                    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
                        return Err(Error::invalid("backend", s, format!("{host:?} is not a valid IPv4 address")));
                    }
                    check_dns_name(s, host)?;
                }
                // The seed's `NAME.consul` is Consul's `NAME.service.consul`.
                let host = crate::ep::catalog::consul_host(host).unwrap_or_else(|| host.to_string());
                Ok(Backend { name: None, host, port: parse_port(s, port)? })
            }
            (LbKind::Nginx, _) => Err(Error::invalid(
                "backend",
                s,
                "Nginx backends are ip:port or host:port, e.g. 10.0.4.20:80 or wordpress.consul:80",
            )),
        }
    }

    /// Whether its host is a name in Consul's domain (resolved at every
    /// request through the server's forwarder, not once at load).
    pub fn is_consul(&self) -> bool {
        self.host.ends_with(".consul")
    }

    /// What identifies it in its LB: the name (HAProxy) or host:port (Nginx).
    pub fn key(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("{}:{}", self.host, self.port))
    }

    /// Whether `s` (a name, `host:port`, or `name:host:port`) designates this backend.
    pub fn matches(&self, s: &str) -> bool {
        let hp = format!("{}:{}", self.host, self.port);
        match &self.name {
            Some(n) => s == n || s == format!("{n}:{hp}"),
            None => s == hp,
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n}:{}:{}", self.host, self.port),
            None => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// A load balancer as recorded in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(name, kind, server, address, mode, url, backends, published))]
pub struct LbRecord {
    /// Its service container: name, server, address, image, published ports
    /// (flattened into the record's JSON).
    #[serde(flatten)]
    pub container: ServiceContainer,
    /// HAProxy or Nginx.
    pub kind: LbKind,
    /// Balancing mode.
    pub mode: String,
    /// The served name (required for Nginx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Backends.
    #[serde(default)]
    pub backends: Vec<Backend>,
    /// Fingerprint of the installed certificate, when TLS is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
    /// Worker processes (Nginx) or threads (HAProxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// DNS resolvers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<Ipv4Addr>,
}

impl LbRecord {
    /// Its name (its container's).
    pub fn name(&self) -> &str {
        &self.container.name
    }
    /// The server it runs on.
    pub fn server(&self) -> &str {
        &self.container.server
    }
}

/// A backend's health as the LB sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct BackendHealth {
    /// The backend.
    pub backend: String,
    /// UP, DOWN, MAINT, DRAIN, ... or `unknown`.
    pub health: String,
}

/// A load balancer as `listlbs` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct LbInfo {
    /// The record.
    #[serde(flatten)]
    #[record(nested)]
    pub record: LbRecord,
    /// Health per backend.
    pub health: Vec<BackendHealth>,
    /// Why its health could not be read (its server unreachable, its
    /// container stopped, ...); `None` when it was.
    pub error: Option<String>,
}

/// What `addlb` takes.
#[derive(Debug, Clone, Default)]
pub struct LbSpec {
    /// `haproxy` or `nginx`.
    pub kind: String,
    /// Server.
    pub server: String,
    /// Name (generated when absent).
    pub name: Option<String>,
    /// URL (required for Nginx).
    pub url: Option<String>,
    /// Backends.
    pub backends: Vec<String>,
    /// Certificate file (PEM).
    pub cert: Option<PathBuf>,
    /// Key file (PEM).
    pub key: Option<PathBuf>,
}

/// What `setlb` changes.
#[derive(Debug, Clone)]
pub enum LbSetting {
    /// The balancing mode.
    Mode(String),
    /// The served name.
    Url(String),
    /// TLS certificate and key files.
    Ssl {
        /// Certificate (PEM).
        cert: PathBuf,
        /// Key (PEM).
        key: PathBuf,
    },
    /// Workers (Nginx processes, HAProxy threads).
    Workers(u32),
    /// DNS resolvers.
    Resolvers(Vec<String>),
}

impl LbSetting {
    /// Parses `setlb LB KEY VALUE...`.
    pub fn parse(key: &str, values: &[String]) -> Result<Self> {
        let one = |what: &str| -> Result<String> {
            match values {
                [v] => Ok(v.clone()),
                _ => Err(Error::invalid("setlb value", values.join(" "), format!("{key} takes one value: {what}"))),
            }
        };
        match key {
            "mode" => Ok(LbSetting::Mode(one("a mode")?)),
            "url" => Ok(LbSetting::Url(one("a host name")?)),
            "ssl" => match values {
                [c, k] => Ok(LbSetting::Ssl { cert: c.into(), key: k.into() }),
                _ => Err(Error::invalid("setlb value", values.join(" "), "ssl takes two values: CERT KEY")),
            },
            "workers" => {
                let v = one("a number")?;
                match v.parse::<u32>() {
                    Ok(n) if (1..=64).contains(&n) => Ok(LbSetting::Workers(n)),
                    _ => Err(Error::invalid("workers", v, "give a number from 1 to 64")),
                }
            }
            "resolvers" if !values.is_empty() => Ok(LbSetting::Resolvers(values.to_vec())),
            "resolvers" => Err(Error::invalid("setlb value", "", "resolvers takes one or more IPv4 addresses")),
            other => Err(Error::invalid("setlb setting", other, "use one of: mode, url, ssl, workers, resolvers")),
        }
    }
}
