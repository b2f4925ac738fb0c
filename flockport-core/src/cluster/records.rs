//! The records [`Cluster`](super::Cluster)'s operations take and return:
//! [`ApplyOptions`], [`Applied`], [`AddServer`], [`ServerStatus`] (a
//! `listservers` row, also `status`'s), [`Listing`], [`ContainerSpec`].

use crate::error::Error;
use crate::inventory::{ServerConfig, TransportKind};
use crate::lxc::ServerFacts;
use crate::plan::Plan;
use ipnet::Ipv4Net;
use serde::Serialize;
use std::path::PathBuf;

/// Options for mutating operations.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Build and return the plan; touch nothing.
    pub dry_run: bool,
}

/// What a mutating operation did (or, with `dry_run`, would do).
#[derive(Debug, Clone, PartialEq, Serialize, crate::api::Record)]
#[record(repr(executed, record, plan))]
pub struct Applied<T> {
    /// The plan.
    pub plan: Plan,
    /// Whether it was executed.
    pub executed: bool,
    /// The resulting record (also present for a dry run: what it would be).
    pub record: T,
}

/// A server to add to the inventory.
#[derive(Debug, Clone, Default)]
pub struct AddServer {
    /// Name.
    pub name: String,
    /// Host (SSH) or `None` with `local`.
    pub host: Option<String>,
    /// Reach it on this machine without SSH.
    pub local: bool,
    /// Container subnet in CIDR form.
    pub subnet: String,
    /// SSH user (default root).
    pub user: Option<String>,
    /// SSH port (default 22).
    pub port: Option<u16>,
    /// SSH identity file.
    pub identity: Option<PathBuf>,
    /// known_hosts file.
    pub known_hosts: Option<PathBuf>,
    /// ssh_config(5) file used instead of `~/.ssh/config` and
    /// `/etc/ssh/ssh_config` (see [`ServerConfig::ssh_config`]).
    pub ssh_config: Option<PathBuf>,
    /// Container bridge (default lxcbr0).
    pub bridge: Option<String>,
}

/// A server as `listservers` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct ServerStatus {
    /// Name.
    pub name: String,
    /// Host, or `local`.
    pub host: String,
    /// Container subnet.
    pub subnet: Ipv4Net,
    /// Whether the probe succeeded.
    pub reachable: bool,
    /// Why not, when unreachable.
    pub error: Option<String>,
    /// LXC version.
    pub lxc_version: Option<String>,
    /// Service containers (images not counted).
    pub containers: usize,
    /// Image templates.
    pub images: usize,
    /// Time of the round trip, including connecting.
    pub millis: u64,
}

impl ServerStatus {
    /// Server `s` as its probe found it (or why it could not be read).
    pub fn read(s: &ServerConfig, probe: std::result::Result<&ServerFacts, &Error>, millis: u64) -> ServerStatus {
        let host = match s.transport {
            TransportKind::Local => "local".to_string(),
            TransportKind::Ssh => s.host.clone().unwrap_or_default(),
        };
        let (reachable, error) = match probe {
            Ok(_) => (true, None),
            Err(e) => (false, Some(e.to_string())),
        };
        let facts = probe.ok();
        ServerStatus {
            name: s.name.clone(),
            host,
            subnet: s.subnet,
            reachable,
            error,
            lxc_version: facts.map(|f| f.lxc_version.clone()),
            containers: facts.map_or(0, |f| f.containers.iter().filter(|c| !c.is_image()).count()),
            images: facts.map_or(0, |f| f.containers.iter().filter(|c| c.is_image()).count()),
            millis,
        }
    }
}

/// What a list verb read: the items, and each server it could not read with
/// the error (a listing that misses a server says so, and the CLI exits 3).
#[derive(Debug)]
pub struct Listing<T> {
    /// What was read.
    pub items: Vec<T>,
    /// Servers that could not be read, with why.
    pub unread: Vec<(String, Error)>,
}

/// A container to create.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    /// Server.
    pub server: String,
    /// Name (unique across the cluster).
    pub name: String,
    /// Packages of the image it is cloned from.
    pub packages: Vec<String>,
    /// Static address (default: a free one in the server's subnet).
    pub address: Option<String>,
    /// Role recorded in state (default `app`).
    pub role: Option<String>,
    /// Leave it stopped.
    pub no_start: bool,
}
